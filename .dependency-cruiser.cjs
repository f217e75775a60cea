// Layer rules for src/, checked by `npm test` (dependency-cruiser). Arrows point down only:
//   cli (wiring) → adapters (adapters/files, adapters/kube) → core (api, state, controllers, drivers)
// and inside the core: controllers → the drivers' contract → backend folders. Each rule says why.
// Tests (*.test.ts) are not checked: they may reach across layers to set things up.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A cycle makes two modules one: neither can be understood, tested or moved alone.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'api-is-the-base',
      comment: 'api/ (generated types, validators, keys, conditions, errors) is pure and imported by every layer; it imports no other netform module.',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/(?!api/)' },
    },
    {
      name: 'state-imports-only-api',
      comment: 'state/ (admission, store, work queue, state directory) is core: it knows the API types and nothing above them.',
      severity: 'error',
      from: { path: '^src/state/' },
      to: { path: '^src/(?!api/|state/)' },
    },
    {
      name: 'core-never-imports-adapters-or-cli',
      comment: 'The core (api, state, controllers, drivers, and the console view model) must run under any adapter (files, kube, http) and any command: it never imports adapters/ or cli/.',
      severity: 'error',
      from: { path: '^src/(api|state|controllers|drivers|console)/' },
      to: { path: '^src/(adapters|cli)/|^src/main\\.ts$' },
    },
    {
      name: 'only-cli-imports-cli',
      comment: 'cli/ is the composition root: nothing below it may depend on how commands are wired.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/|^src/main\\.ts$' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-cli-reads-config',
      comment: 'The environment and flags are read in one config module; everything else gets its settings injected.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/|^src/main\\.ts$|^src/config\\.ts$' },
      to: { path: '^src/config\\.ts$' },
    },
    {
      name: 'drivers-never-import-controllers',
      comment: 'Drivers know the backend and the driver contract, never the controllers that call them.',
      severity: 'error',
      from: { path: '^src/drivers/' },
      to: { path: '^src/controllers/' },
    },
    {
      name: 'controllers-use-driver-contracts',
      comment: 'Controllers talk to backends through the contracts (drivers/*.ts) only, never a backend folder: a backend is swapped or faked without touching a controller.',
      severity: 'error',
      from: { path: '^src/controllers/' },
      to: { path: '^src/drivers/[^/]+/' },
    },
    {
      name: 'console-reads-through-contracts',
      comment: 'The console view model (console/) reads what the engine knows; like a controller it knows the driver contracts, never a backend folder.',
      severity: 'error',
      from: { path: '^src/console/' },
      to: { path: '^src/drivers/[^/]+/' },
    },
    {
      name: 'drivers-never-import-state',
      comment: 'A driver talks to its backend; records, admission and queues are the engine\'s business.',
      severity: 'error',
      from: { path: '^src/drivers/' },
      to: { path: '^src/state/' },
    },
    {
      name: 'backends-are-independent',
      comment: 'One backend folder never imports another: each is replaceable and testable alone against its own backend.',
      severity: 'error',
      from: { path: '^src/drivers/([^/]+)/' },
      to: { path: '^src/drivers/[^/]+/', pathNot: '^src/drivers/$1/' },
    },
    {
      name: 'adapters-never-import-backends-or-controllers',
      comment:
        'Adapters bring desired state in and records, reports and credentials out; they may know the contracts (api/, state/, the driver contracts drivers/*.ts) but never a backend folder or a controller.',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/controllers/|^src/drivers/[^/]+/' },
    },
    {
      name: 'adapters-are-independent',
      comment: 'The file adapters and the Kubernetes adapters never import each other: either runs without the other (file mode has no Kubernetes).',
      severity: 'error',
      from: { path: '^src/adapters/([^/]+)/' },
      to: { path: '^src/adapters/[^/]+/', pathNot: '^src/adapters/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    moduleSystems: ['es6'],
    parser: 'swc',
  },
};

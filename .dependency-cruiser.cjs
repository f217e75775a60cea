// Layer rules for src/, checked by `npm test` (dependency-cruiser). Arrows point down only:
//   cli (wiring) → adapters (sources/: files, kube) → core (api, state, controllers, drivers)
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
      comment: 'The core (api, state, controllers, drivers) must run under any adapter (files, kube) and any command: it never imports sources/ or cli/.',
      severity: 'error',
      from: { path: '^src/(api|state|controllers|drivers)/' },
      to: { path: '^src/(sources|cli)/|^src/main\\.ts$' },
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
      name: 'sources-never-import-drivers-or-controllers',
      comment:
        'Adapters bring desired state in and records out; they know nothing of backends. Known exception until issue 10 moves it: sources/kube/secrets.ts uses the credential source of controllers/provider and the driver contract\'s Credentials type.',
      severity: 'error',
      from: { path: '^src/sources/', pathNot: '^src/sources/kube/secrets\\.ts$' },
      to: { path: '^src/(drivers|controllers)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    moduleSystems: ['es6'],
    parser: 'swc',
  },
};

// The `netform` command line: validate, convert, plan, apply, run, agent, status, controller. The composition
// root of file mode and cluster mode.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, type Config, type Flags } from '../config.ts';
import { HostAgent } from '../drivers/host/agent.ts';
import { assemblePlan, planText, type AssembledPlan, type PlanTextOptions } from './plan-output.ts';
// Cluster mode's modules (and @kubernetes/client-node, ~50 MB of RSS) are imported by the commands
// that use them, not by every command (validate, plan --dir, run).
import { hostTarget } from './host-target.ts';
import { approve } from './approve.ts';
import type { RuntimeHooks } from '../controllers/runtime/runtime.ts';
import { builtinDrivers, type DriverRegistry } from '../drivers/registry.ts';
import { createLogger } from '../log.ts';
import { readManifests } from '../adapters/files/directory.ts';
import { watchDirectory } from '../adapters/files/watch.ts';
import { admit, formatAdmissionError } from '../state/admit.ts';
import { type AdmissionResult } from '../api/objects.ts';
import type { ObjectRecord } from '../state/records.ts';
import { StateDir } from '../adapters/files/state-dir.ts';
import { FileMode } from './file-mode.ts';
import { compactHeap, governHeap } from './heap.ts';
import { DEFAULT_OVS_DB } from './host-target.ts';
import { startDemoHost, type DemoHost } from './demo.ts';
import { runAgent } from './agent-mode.ts';
import { hostname } from 'node:os';
import { placeTable, statusTable } from './render.ts';
import { placeVm, vmNeeds } from '../controllers/placement/placement.ts';
import { DesiredStore } from '../state/store.ts';
import { MemoryRecords } from '../state/records.ts';
import { readHostReports } from '../adapters/files/host-reports.ts';
import { referencesOf } from '../controllers/index.ts';
import { objectKey } from '../api/kinds.ts';
import { ConsoleFeed } from '../console/feed.ts';
import { checkUi, DEFAULT_UI, parseUi, startConsole } from './console.ts';
import { convertPaths, convertText } from './convert.ts';
import { API_GROUP } from '../api/crds.ts';
import { API_VERSIONS, DEPRECATED_VERSIONS, STORAGE_VERSION, type ApiVersionName } from '../api/versions.ts';

/** What the composition root can be given instead of its defaults (tests use this). */
export interface MainDeps {
  registry?: DriverRegistry;
  hooks?: RuntimeHooks;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  /** Resolves to stop `run` (default: SIGINT or SIGTERM). */
  stopSignal?: Promise<void>;
}

/** A pass over at least this many changed objects is followed by a compacting GC (src/cli/heap.ts). */
const COMPACT_AFTER_CHANGES = 2_000;
/** How often a governed plan checks its RSS (src/cli/heap.ts): a plan of 60,000 objects makes 60 MB
 *  of garbage in well under a second, and a check costs a read of the RSS. (`run` checks every second:
 *  each compaction also drops V8's compiled code, and more of them made its first pass 40% slower.) */
const GOVERN_EVERY_MS = 100;
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `run` reads the manifests this long after the last change to them (an edit reaches the backend
 *  about this much later than it could), and reads again this much later before an object that is
 *  no longer declared counts as removed (FileMode.load). */
const WATCH_DEBOUNCE_MS = 20;
const REMOVAL_CONFIRM_MS = 500;

export const EXIT = { ok: 0, invalid: 1, error: 1, changes: 2 } as const;
/** `netform convert`: a file could not be read as YAML, or a document not converted (nothing was written). */
const EXIT_CONVERT_YAML = 2;

/** Runs the CLI and returns the exit code. */
export async function main(argv: string[], deps: MainDeps = {}): Promise<number> {
  const out = deps.stdout ?? process.stdout;
  const err = deps.stderr ?? process.stderr;
  const print = (s: string) => out.write(s.endsWith('\n') ? s : `${s}\n`);
  const eprint = (s: string) => err.write(s.endsWith('\n') ? s : `${s}\n`);
  let code: number = EXIT.ok;
  const program = new Command('netform')
    .description('Declarative virtual-datacenter networking: Neutron, UCS Manager and Linux hosts, converged from YAML.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) })
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--instance <name>', 'name of this netform installation, part of every owner marker on backends');

  const cfg = (local: Flags): Config => loadConfig({ ...program.opts(), ...local } as Flags, deps.env ?? process.env);
  /** The host-agent options `run` and `apply` share. */
  const hostOptions = (c: Command) =>
    c
      .option('--host <name>', 'run the host agent for this Host (default: the Host named like this machine, if declared)')
      .option('--netns <name>', "the host's devices live in this network namespace")
      .option('--ovs-db <path>', `the host's OVSDB socket (default ${DEFAULT_OVS_DB} when it exists)`)
      .addOption(new Option('--ovs-datapath <type>', 'datapath_type of the integration bridge netform creates').choices(['system', 'netdev']))
      .option('--sysfs <path>', 'sysfs root for link speeds and Cisco VIC dynamic vNICs (default /sys)')
      .option('--demo [netns]', "converge the Host in a demo namespace netform creates (default netform-demo), with its NICs as veth pairs and a private Open vSwitch; removed on exit");
  type HostFlags = { host?: string; netns?: string; ovsDb?: string; ovsDatapath?: string; sysfs?: string; demo?: string | boolean };
  /** With --demo: creates the demo host for the Host the manifests declare, and points the agent at it. */
  const startDemo = async (fm: FileMode, c: Config, o: HostFlags, log: Logger): Promise<DemoHost | undefined> => {
    if (!o.demo) return undefined;
    const hosts = fm.engine.store.list('Host');
    const host = c.host ? hosts.find((h) => h.metadata.name === c.host) : hosts.length === 1 ? hosts[0] : undefined;
    if (!host) throw new Error(c.host ? `--demo: no Host ${c.host} is declared` : '--demo: declare exactly one Host, or name it with --host');
    const demo = await startDemoHost(typeof o.demo === 'string' ? o.demo : 'netform-demo', (host.spec.nics ?? []).map((n) => n.name), c.stateDir, log);
    c.host = host.metadata.name;
    c.netns = demo.netns;
    c.ovsDb = demo.ovsDb;
    c.ovsDatapath = 'netdev';
    return demo;
  };
  const hostFlags = (o: HostFlags): Flags => ({ host: o.host, netns: o.netns, ovsDb: o.ovsDb, ovsDatapath: o.ovsDatapath, sysfs: o.sysfs });
  const logger = (c: Config): Logger => createLogger({ level: c.logLevel });

  program
    .command('validate')
    .description('check manifests: exit 0 when valid, 1 when not, with every error naming file, document, field and reason')
    .argument('<paths...>', 'files or directories of manifests')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (paths: string[], o: { output: string }) => {
      const files = await readManifests(paths);
      const r = admit(files);
      if (o.output === 'json') {
        print(JSON.stringify({ valid: r.errors.length === 0, objects: [...r.objects.keys()], errors: r.errors, skipped: r.skipped, deprecated: r.deprecated ?? [] }, null, 2));
      } else {
        for (const e of r.errors) eprint(formatAdmissionError(e));
        // A deprecated version is admitted, with one warning per file (not per document: 60,000 of them).
        for (const d of r.deprecated ?? []) eprint(`warning: ${d.file}:${d.line}: ${d.documents} document${d.documents === 1 ? '' : 's'} in ${d.apiVersion}: ${d.warning}`);
        for (const s of r.skipped) print(`note: ${s.file}:${s.line}: document ${s.documentIndex + 1} skipped (${s.what})`);
        const verdict = r.errors.length ? `invalid: ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}` : 'valid';
        print(`${verdict}: ${r.objects.size} object${r.objects.size === 1 ? '' : 's'} admitted from ${files.length} file${files.length === 1 ? '' : 's'}`);
      }
      code = r.errors.length ? EXIT.invalid : EXIT.ok;
    });

  program
    .command('convert')
    .description(
      'rewrite manifests in another version of netform.io (default the storage version): the fields moved, comments, key order and other documents kept; prints the converted text unless --write. Exit 0, 1 with --check when a file is not in that version, 2 on a YAML error (nothing written)',
    )
    .argument('<paths...>', 'files or directories of manifests (directories: their .yaml, .yml and .json files, recursively)')
    .addOption(new Option('--to <version>', 'the version to write').choices([...API_VERSIONS]).default(STORAGE_VERSION))
    .option('--write', 'rewrite the files in place instead of printing them')
    .option('--check', 'write nothing; exit 1 and list the files not in that version')
    .action(async (paths: string[], o: { to: ApiVersionName; write?: boolean; check?: boolean }) => {
      if (o.write && o.check) throw new Error('convert: --write or --check, not both');
      const files = await convertPaths(paths);
      const results = await Promise.all(files.map(async (path) => ({ path, ...convertText(await readFile(path, 'utf8'), o.to, path) })));
      const target = `${API_GROUP}/${o.to}`;
      const problems = results.flatMap((r) => r.problems);
      if (problems.length) {
        for (const p of problems) eprint(p);
        eprint(`convert: nothing ${o.write ? 'written' : 'converted'}: ${problems.length === 1 ? 'a problem' : `${problems.length} problems`} above`);
        code = EXIT_CONVERT_YAML;
        return;
      }
      const changed = results.filter((r) => r.converted > 0);
      const documents = changed.reduce((n, r) => n + r.converted, 0);
      const counted = `${documents} document${documents === 1 ? '' : 's'} in ${changed.length} file${changed.length === 1 ? '' : 's'}`;
      if (o.check) {
        for (const r of changed) print(r.path);
        eprint(changed.length ? `${counted} not in ${target}` : `every document is in ${target} (${files.length} file${files.length === 1 ? '' : 's'})`);
        code = changed.length ? EXIT.invalid : EXIT.ok;
        return;
      }
      if (o.write) {
        for (const r of changed) await writeFile(r.path, r.text);
      } else if (results.length === 1) {
        out.write(results[0]!.text);
      } else {
        for (const r of results) print(`---\n# file: ${r.path}\n${r.text.replace(/^---\r?\n/, '')}`);
      }
      const warning = DEPRECATED_VERSIONS[o.to];
      if (warning && documents) eprint(`warning: ${warning}`);
      eprint(`converted ${counted} to ${target}`);
      code = EXIT.ok;
    });

  program
    .command('plan')
    .description(
      'show what would change on each backend and each host (as of its agent\'s last report), with the impact on VMs: exit 0 no changes, 2 changes pending, 1 error',
    )
    .requiredOption('--dir <dir>', 'directory of manifests')
    .option('--state <dir>', 'state directory (default ./.netform)')
    .option('--against <dir>', 'the same as --state: the state directory the manifests are planned against')
    .option('--kubeconfig <path>', "plan against a cluster's records (its netform objects' statuses) instead of a state directory, e.g. in a PR check")
    .option('--context <name>', 'with --kubeconfig: kubeconfig context')
    .option('--namespace <ns>', "against a cluster: the controller's namespace, for Secrets named without one (default $POD_NAMESPACE or netform-system)")
    .option('--require-host-reports', 'fail (exit 1) when a Host\'s agent has not reported, so its changes are unknown')
    .addOption(new Option('-o, --output <format>', 'output format (json: the plan document, schemas/plan.v1.json)').choices(['text', 'json']).default('text'))
    .action(async (o: { dir: string; state?: string; against?: string; kubeconfig?: string; context?: string; namespace?: string; output: string; requireHostReports?: boolean }) => {
      if (o.state && o.against && o.state !== o.against) throw new Error('--against is another name for --state: give one of them');
      const cluster = o.kubeconfig !== undefined || o.context !== undefined;
      if (cluster && (o.state || o.against)) throw new Error('plan against a state directory (--state, --against) or a cluster (--kubeconfig, --context), not both');
      const c = cfg({ dir: o.dir, state: o.state ?? o.against, kubeconfig: o.kubeconfig, namespace: o.namespace });
      const log = logger(c);
      const show = (plan: AssembledPlan, text?: PlanTextOptions) => {
        print(o.output === 'json' ? JSON.stringify(plan.doc, null, 2) : planText(plan, text));
        code = plan.doc.exitCode;
      };
      if (cluster) {
        const { KubeClient } = await import('../adapters/kube/client.ts');
        const { CLUSTER_UNKNOWN_HOST, planAgainstCluster } = await import('./cluster-plan.ts');
        const client = KubeClient.load({ kubeconfig: c.kubeconfig, context: o.context });
        try {
          const plan = await planAgainstCluster({ client, config: c, registry: deps.registry ?? builtinDrivers(), log, dir: c.dir, requireHostReports: o.requireHostReports });
          reportAdmission(plan.admission, eprint);
          show(plan, { unknownHost: CLUSTER_UNKNOWN_HOST });
        } finally {
          await client.close();
        }
        return;
      }
      const fm = await FileMode.open({ config: c, registry: deps.registry ?? builtinDrivers(), log, dryRun: true });
      let ungovern: ReturnType<typeof governHeap> | undefined;
      try {
        const admission = await fm.load();
        reportAdmission(admission, eprint);
        // A large plan runs governed, as a large pass of `run` does (ADR 29): the admission's garbage
        // goes first, then the dry run's as it grows.
        if (admission.objects.size >= COMPACT_AFTER_CHANGES) ungovern = governHeap({ everyMs: GOVERN_EVERY_MS });
        // Only the host driver's pure diff is used: nothing on any host is read or changed.
        const hostDriver = new HostAgent({ target: hostTarget(c), instance: fm.engine.rt.instance, log });
        const plan = await assemblePlan({ engine: fm.engine, admission, reports: await readHostReports(c.stateDir), hostDriver, requireHostReports: o.requireHostReports, checkpoint: ungovern?.check });
        ungovern?.check();
        show(plan);
      } finally {
        ungovern?.();
        await fm.close();
      }
    });

  hostOptions(
    program
      .command('apply')
      .description('converge once and exit: 0 when everything is Ready, 1 otherwise')
      .requiredOption('--dir <dir>', 'directory of manifests')
      .option('--state <dir>', 'state directory (default ./.netform)')
      .option('--timeout <seconds>', 'how long to wait for convergence (default 120)'),
  ).action(async (o: { dir: string; state?: string; timeout?: string } & HostFlags) => {
      const c = cfg({ dir: o.dir, state: o.state, timeout: o.timeout, ...hostFlags(o) });
      const log = logger(c);
      const fm = await FileMode.open({ config: c, registry: deps.registry ?? builtinDrivers(), log, hooks: deps.hooks });
      let demo: DemoHost | undefined;
      try {
        const admission = await fm.load();
        reportAdmission(admission, eprint);
        demo = await startDemo(fm, c, o, log);
        const progress = progressLine(out, fm);
        let settled = await fm.engine.settle(c.timeoutMs, progress.tick);
        // The host agent runs once the networks (and their VLANs) have settled, then the Host's status.
        if (fm.startAgent(c, log, { loop: false })) {
          await fm.agent!.kick();
          settled = (await fm.engine.settle(c.timeoutMs, progress.tick)) && settled;
        }
        progress.done();
        if (fm.lostError) throw fm.lostError; // the state directory was deleted or replaced: stop, say why
        const states = fm.engine.states();
        print(statusTable(fm.records.list(), new Date()));
        const bad = states.filter((s) => s.state !== 'ready');
        if (!settled) eprint(`apply: not converged after ${c.timeoutMs / 1000}s`);
        for (const s of bad) eprint(`${s.key}: ${s.state}${s.message ? ` — ${s.message}` : ''}`);
        code = bad.length || !settled || admission.errors.length ? EXIT.error : EXIT.ok;
      } finally {
        await fm.close();
        await demo?.stop();
      }
    });

  hostOptions(
    program
      .command('run')
      .description('watch a directory of manifests and keep the backends and this host converged (file mode)')
      .requiredOption('--dir <dir>', 'directory of manifests')
      .option('--state <dir>', 'state directory (default ./.netform)')
      .option('--resync <seconds>', 'drift re-check period of converged objects (default 300)')
      .option('--ui <addr>', `serve the console (a web view of networks, hosts, topology, events) on [host:]port (default ${DEFAULT_UI}; "off" for none); an address that is not loopback needs --ui-token-file`)
      .option('--ui-token-file <path>', 'the console\'s bearer token, from a file only its owner can read: required on a non-loopback address, on every /api request, and to approve plans from the console'),
  ).action(async (o: { dir: string; state?: string; resync?: string; ui?: string; uiTokenFile?: string } & HostFlags) => {
      const c = cfg({ dir: o.dir, state: o.state, resync: o.resync, ...hostFlags(o) });
      const log = logger(c);
      // The console's flags are checked before anything is opened.
      checkUi(o);
      const ui = parseUi(o.ui ?? DEFAULT_UI);
      let fmRef: FileMode | undefined;
      const feed = ui ? new ConsoleFeed({ mode: 'file', source: () => fmRef && { store: fmRef.engine.store, records: fmRef.records, reports: fmRef.engine.rt.reports } }) : undefined;
      const fm = await FileMode.open({ config: c, registry: deps.registry ?? builtinDrivers(), log, hooks: deps.hooks, reloads: true, ...(feed ? { observer: feed.observer() } : {}) });
      fmRef = fm;
      let consoleServer: Awaited<ReturnType<typeof startConsole>>;
      try {
        consoleServer = feed
          ? await startConsole({
              ui: o.ui,
              uiTokenFile: o.uiTokenFile,
              feed,
              log,
              approve: async (key, digest) => {
                const r = await approve(c.stateDir, key, digest);
                if (r.ok) fm.approved(key, digest);
                return r;
              },
            })
          : undefined;
      } catch (e) {
        await fm.close();
        throw e;
      }
      let generation = 0;
      let stopping = false;
      let resynced = false;
      const reload = async (confirmRemovalsMs?: number) => {
        const mine = ++generation;
        let changedThisLoad = 0;
        try {
          const a = await fm.load({ confirmRemovalsMs });
          changedThisLoad = fm.lastLoadChanged;
          feed?.changed();
          for (const e of a.errors) log.error({ file: e.file, line: e.line, object: e.key, field: e.field }, formatAdmissionError(e));
          log.info({ objects: a.objects.size, errors: a.errors.length }, 'manifests loaded');
          // Re-check everything once, after the first load: a record whose declaration was not read
          // yet must never look removed (the engine also refuses to decide anything before a load).
          if (!resynced) {
            resynced = true;
            fm.engine.resyncAll();
          }
        } catch (e) {
          if (stopping) return; // the state directory closed under a load that waited (FileMode.load)
          log.error({ err: e }, 'reading manifests failed');
          return;
        }
        // Once this load has converged (and no newer one started), say where everything stands.
        // A large pass runs with its heap governed (src/cli/heap.ts): RSS stays within about 40 MB of
        // what it was after the last compaction, instead of growing with the pass's garbage.
        const stopGoverning =
          changedThisLoad >= COMPACT_AFTER_CHANGES
            ? governHeap({ onCompact: (before, after, ms) => log.debug({ rssBeforeMB: Math.round(before / 2 ** 20), rssAfterMB: Math.round(after / 2 ** 20), ms: Math.round(ms) }, 'heap compacted during a large pass') })
            : undefined;
        let settled: boolean;
        try {
          settled = await fm.engine.settle(c.timeoutMs);
          if (mine !== generation || stopping) return;
          if (!fm.agent && fm.startAgent(c, log, { loop: true })) log.info({ host: c.host ?? hostname() }, 'host agent started');
          await fm.agent?.kick();
          settled = (await fm.engine.settle(c.timeoutMs)) && settled;
          if (mine !== generation || stopping) return;
        } finally {
          stopGoverning?.();
        }
        const { total, notReady } = fm.engine.readiness();
        // A pass over thousands of objects (the first, or a large change) leaves V8 holding the heap it
        // grew for that pass's garbage: given back once the pass has settled (src/cli/heap.ts).
        if (changedThisLoad >= COMPACT_AFTER_CHANGES) {
          const t0 = performance.now();
          compactHeap();
          log.debug({ ms: Math.round(performance.now() - t0), changed: changedThisLoad }, 'heap compacted after a large pass');
        }
        if (settled && !notReady.length) log.info({ objects: total }, 'converged: every object is Ready');
        for (const s of notReady) log.warn({ object: s.key, state: s.state }, s.message ?? s.state);
        if (out.isTTY) print(statusTable(fm.records.list(), new Date()));
      };
      log.info({ dir: resolve(c.dir!), state: resolve(c.stateDir), instance: c.instance }, 'netform run: file mode');
      let demo: DemoHost | undefined;
      if (o.demo) {
        await fm.load();
        try {
          demo = await startDemo(fm, c, o, log);
        } catch (e) {
          await consoleServer?.close();
          await fm.close();
          throw e;
        }
      }
      fm.watchHostReports(c.stateDir);
      fm.watchApprovals();
      void reload();
      const watcher = watchDirectory(c.dir!, () => void reload(REMOVAL_CONFIRM_MS), WATCH_DEBOUNCE_MS, [c.stateDir]);
      // A state directory that lost its lock (deleted or replaced) stops run too, with exit code 1.
      await Promise.race([deps.stopSignal ?? signalled(), fm.lost]);
      log.info('stopping');
      stopping = true;
      await watcher.close();
      await consoleServer?.close();
      await fm.close();
      await demo?.stop();
      if (fm.lostError) throw fm.lostError;
      code = EXIT.ok;
    });

  hostOptions(
    program
      .command('agent')
      .description(
        "converge this host's networking and report it. File mode (--dir): the report goes to <state>/hosts/<host>.json, which netform run reads. Cluster mode (--cluster): the report goes to the Host's status",
      )
      .option('--dir <dir>', 'directory of manifests (file mode)')
      .option('--state <dir>', 'state directory of the netform run this host belongs to (default ./.netform)')
      .option('--cluster', 'read the desired state from the Kubernetes API and write the Host status there')
      .option('--kubeconfig <path>', 'cluster mode: kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the pod\'s service account)')
      .option('--context <name>', 'cluster mode: kubeconfig context')
      .option('--listen <addr>', 'cluster mode: serve /healthz and /readyz on [host:]port')
      .option('--interval <seconds>', 'how often to re-check the host (default 10)')
      .option('--once', 'converge once and exit: 0 when every network of the host is in sync'),
  ).action(async (o: { dir?: string; state?: string; interval?: string; once?: boolean; cluster?: boolean; kubeconfig?: string; context?: string; listen?: string } & HostFlags) => {
    if (o.demo) throw new Error('--demo is for run and apply');
    if (o.cluster && o.dir) throw new Error('use either --dir (file mode) or --cluster');
    if (!o.cluster && !o.dir) throw new Error('netform agent needs --dir DIR (file mode) or --cluster');
    const c = cfg({ dir: o.dir, state: o.state, kubeconfig: o.kubeconfig, ...hostFlags(o) });
    if (!c.host) throw new Error('netform agent needs --host NAME');
    const interval = o.interval === undefined ? 10_000 : Number(o.interval) * 1000;
    if (!Number.isFinite(interval) || interval <= 0) throw new Error('--interval must be a positive number of seconds');
    const stop = deps.stopSignal ?? signalled();
    if (o.cluster) {
      const { ClusterAgent } = await import('./agent-cluster.ts');
      const agent = new ClusterAgent(c, logger(c), { kubeconfig: c.kubeconfig, context: o.context, intervalMs: interval, once: !!o.once, listen: o.listen });
      const report = await agent.run(stop);
      code = !o.once || (report && report.networks.every((n) => n.inSync) && !report.problems.length) ? EXIT.ok : EXIT.error;
      return;
    }
    const ok = await runAgent(c, logger(c), { intervalMs: interval, once: !!o.once, stop });
    code = ok ? EXIT.ok : EXIT.error;
  });

  program
    .command('controller')
    .description('cluster mode: reconcile the netform objects of a Kubernetes cluster (status, finalizers, Events, leader election, /metrics)')
    .option('--kubeconfig <path>', "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the pod's service account)")
    .option('--context <name>', 'kubeconfig context')
    .option('--namespace <ns>', "the controller's namespace: its Lease, and Secrets named without a namespace (default $POD_NAMESPACE or netform-system)")
    .option('--leader-elect', 'reconcile only while holding the Lease, so several replicas never act at once')
    .option('--lease-name <name>', 'name of the Lease (default netform-controller)')
    .option('--shards <n>', 'sharded controllers: N Leases <lease-name>-shard-<i>; each replica holds its share of them and reconciles only their objects (by Provider, VLAN/MAC pool, or key); implies leader election per shard')
    .option('--identity <id>', 'this replica in the Lease and in Events (default $POD_NAME, else hostname and a random suffix)')
    .option('--listen <addr>', 'serve /metrics, /healthz and /readyz on [host:]port (default 0.0.0.0:8080; "off" for none)')
    .option('--resync <seconds>', 'drift re-check period of converged objects (default 300)')
    .option('--concurrency <n>', 'reconciles in parallel (default 4)')
    .option('--ui <addr>', `serve the console on [host:]port (default ${DEFAULT_UI}, e.g. through kubectl port-forward; "off" for none); an address that is not loopback needs --ui-token-file`)
    .option('--ui-token-file <path>', "the console's bearer token, from a file only its owner can read (e.g. a mounted Secret): required on a non-loopback address, on every /api request, and to approve plans from the console")
    .option('--webhook <addr>', 'serve the validating admission webhook (POST /validate, HTTPS) on [host:]port: kubectl apply of what admission refuses (a VLAN clash, a dangling reference…) is refused on the spot (default off)')
    .option('--webhook-cert-file <path>', "the webhook's serving certificate (PEM, e.g. cert-manager's Secret mounted); default: self-signed at start")
    .option('--webhook-key-file <path>', 'its private key (PEM)')
    .option('--webhook-dns-name <name...>', 'names a self-signed certificate is for (default netform-webhook.<namespace>.svc)')
    .option('--webhook-configuration <name>', 'the ValidatingWebhookConfiguration whose caBundle a self-signed certificate is written into')
    .option('--webhook-cert-secret <name>', "keep the self-signed certificate in this Secret (the controller's namespace), shared by every replica and renewed by them in two steps (default: one per process, in memory)")
    .option('--webhook-cert-renew-before <days>', 'with --webhook-cert-secret: renew a certificate that expires within this many days (default 30)')
    .option('--webhook-cert-grace <seconds>', 'with --webhook-cert-secret: how long the CA bundle names both certificates before the new one is served (default 120)')
    .option('--webhook-cert-check <seconds>', 'with --webhook-cert-secret: how often each replica checks the Secret (default 60)')
    .action(async (o: { webhookCertSecret?: string; webhookCertRenewBefore?: string; webhookCertGrace?: string; webhookCertCheck?: string; kubeconfig?: string; context?: string; namespace?: string; leaderElect?: boolean; leaseName?: string; shards?: string; identity?: string; listen?: string; resync?: string; concurrency?: string; ui?: string; uiTokenFile?: string; webhook?: string; webhookCertFile?: string; webhookKeyFile?: string; webhookDnsName?: string[]; webhookConfiguration?: string }) => {
      const c = cfg({ kubeconfig: o.kubeconfig, namespace: o.namespace, identity: o.identity, resync: o.resync, concurrency: o.concurrency });
      const log = logger(c);
      checkUi(o);
      const shards = o.shards === undefined ? undefined : Number(o.shards);
      if (shards !== undefined && !(Number.isInteger(shards) && shards >= 1 && shards <= 256)) throw new Error(`--shards must be a whole number from 1 to 256, not ${o.shards}`);
      const listen = o.listen ?? '0.0.0.0:8080';
      const { ClusterModeController } = await import('./cluster-mode.ts');
      const controller = new ClusterModeController(
        {
          kubeconfig: c.kubeconfig,
          context: o.context,
          namespace: c.namespace,
          leaderElect: !!o.leaderElect,
          leaseName: o.leaseName,
          ...(shards !== undefined ? { shards } : {}),
          identity: c.identity,
          listen: listen === 'off' ? undefined : listen,
          instance: c.instance,
          resyncMs: c.resyncMs,
          concurrency: c.concurrency,
          ui: o.ui ?? 'default',
          ...(o.uiTokenFile ? { uiTokenFile: o.uiTokenFile } : {}),
          ...(o.webhook && o.webhook !== 'off'
            ? {
                webhook: {
                  listen: o.webhook,
                  ...(o.webhookCertFile ? { certFile: o.webhookCertFile } : {}),
                  ...(o.webhookKeyFile ? { keyFile: o.webhookKeyFile } : {}),
                  dnsNames: o.webhookDnsName ?? [`netform-webhook.${c.namespace}.svc`],
                  ...(o.webhookConfiguration ? { configuration: o.webhookConfiguration } : {}),
                  ...(o.webhookCertSecret ? { certSecret: o.webhookCertSecret } : {}),
                  ...(o.webhookCertRenewBefore !== undefined ? { renewBeforeMs: positive(o.webhookCertRenewBefore, '--webhook-cert-renew-before') * 86_400_000 } : {}),
                  ...(o.webhookCertGrace !== undefined ? { graceMs: positive(o.webhookCertGrace, '--webhook-cert-grace') * 1000 } : {}),
                  ...(o.webhookCertCheck !== undefined ? { checkMs: positive(o.webhookCertCheck, '--webhook-cert-check') * 1000 } : {}),
                },
              }
            : {}),
        },
        { log, registry: deps.registry },
      );
      log.info({ server: controller.client.server, namespace: c.namespace, leaderElect: !!o.leaderElect, shards, instance: c.instance }, 'netform controller: cluster mode');
      await controller.start();
      await (deps.stopSignal ?? signalled());
      log.info('stopping');
      await controller.stop();
      code = EXIT.ok;
    });

  program
    .command('migrate-storage')
    .description(
      'after an upgrade of the CRDs (v1beta1 stored): rewrite every netform object unchanged, so the apiserver stores it as v1beta1, then record that only v1beta1 is stored (each CRD\'s status.storedVersions). Run it as a cluster administrator; the conversion webhook must be up while it runs. Exit 0 done, 1 error',
    )
    .option('--kubeconfig <path>', 'kubeconfig (default $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .action(async (o: { kubeconfig?: string; context?: string }) => {
      const c = cfg({ kubeconfig: o.kubeconfig });
      const { KubeClient } = await import('../adapters/kube/client.ts');
      const { migrateStorage } = await import('../adapters/kube/storage-migration.ts');
      const client = KubeClient.load({ kubeconfig: c.kubeconfig, context: o.context });
      const r = await migrateStorage(client, { log: print });
      const total = Object.values(r.rewritten).reduce((a, b) => a + b, 0);
      print(`migrated: ${total} object${total === 1 ? '' : 's'} stored as ${API_GROUP}/${STORAGE_VERSION}; ${r.crds.length} CRD${r.crds.length === 1 ? '' : 's'} updated (status.storedVersions)`);
      code = EXIT.ok;
    });

  program
    .command('approve')
    .description('approve the plan an object with approval Manual holds (its status.pendingPlan), by its digest: exit 0 approved, 1 refused (nothing held, or the plan changed since)')
    .argument('<object>', 'KIND/NAME, e.g. Network/web or Host/hv1')
    .requiredOption('--plan <digest>', 'the digest of the plan approved (netform plan and status.pendingPlan show it)')
    .option('--state <dir>', 'state directory (default ./.netform)')
    .action(async (object: string, o: { plan: string; state?: string }) => {
      const c = cfg({ state: o.state });
      const r = await approve(c.stateDir, object, o.plan);
      (r.ok ? print : eprint)(r.message);
      code = r.ok ? EXIT.ok : EXIT.error;
    });

  program
    .command('status')
    .description('show every object\'s status from the state directory')
    .option('--state <dir>', 'state directory (default ./.netform)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: { state?: string; output: string }) => {
      const c = cfg({ state: o.state });
      const records = (await StateDir.readAll(c.stateDir)) as unknown as ObjectRecord[];
      if (o.output === 'json') {
        print(JSON.stringify(records.map((r) => ({ key: r.key, kind: r.kind, name: r.name, namespace: r.namespace, generation: r.generation, status: r.status })), null, 2));
      } else if (!records.length) {
        print(`no objects in ${resolve(c.stateDir)}`);
      } else {
        print(statusTable(records, new Date()));
      }
    });

  program
    .command('place')
    .description(
      'which hosts can run a VM: every network of its vNICs carried (a NIC or bond reaching its physical network) and in sync, a free Cisco VIC dynamic vNIC where needed (the vNICs and service endpoints on the host hold theirs; a refusal names them); with --from or --migrate, a migration: the same cluster and fabric as the source. Exit 0 when a host fits, 2 when none does, 1 on error',
    )
    .requiredOption('--dir <dir>', 'directory of manifests')
    .option('--state <dir>', 'state directory with the agents\' last reports (default ./.netform)')
    .option('--vm <name>', 'a VM declared in the manifests: its VnicAttachments give the networks')
    .option('-n, --namespace <ns>', 'with --vm: the namespace of its attachments')
    .option('--network <names...>', 'instead of --vm: the network of each vNIC')
    .option('--from <host>', 'a migration from this host')
    .option('--migrate', 'with --vm: a migration from the host the VM runs on')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: { dir: string; state?: string; vm?: string; namespace?: string; network?: string[]; from?: string; migrate?: boolean; output: string }) => {
      const c = cfg({ dir: o.dir, state: o.state });
      const admission = admit(await readManifests([c.dir!]));
      reportAdmission(admission, eprint);
      const store = new DesiredStore(referencesOf);
      store.replace(admission);
      const records = new MemoryRecords();
      for (const r of (await StateDir.readAll(c.stateDir)) as unknown as ObjectRecord[]) await records.put(r);
      const reports = new Map<string, unknown>();
      for (const [host, report] of await readHostReports(c.stateDir)) reports.set(objectKey('Host', host), report);
      const view = { store, records, reports };
      let networks = o.network ?? [];
      let own: string[] = [];
      let from = o.from;
      if (o.vm) {
        const vm = vmNeeds(view, o.vm, o.namespace);
        if (!vm.networks.length) throw new Error(`no VnicAttachment of VM ${o.vm}${o.namespace ? ` in namespace ${o.namespace}` : ''} in ${c.dir}`);
        networks = vm.networks;
        own = vm.own;
        if (o.migrate) {
          if (vm.hosts.length !== 1) throw new Error(`VM ${o.vm} has vNICs on ${vm.hosts.length} hosts (${vm.hosts.join(', ')}); name the source with --from`);
          from ??= vm.hosts[0];
        }
      }
      if (!networks.length) throw new Error('name the VM (--vm) or the networks of its vNICs (--network)');
      const fits = placeVm(view, { networks, own, ...(from ? { from } : {}) });
      if (o.output === 'json') print(JSON.stringify({ networks, from, hosts: fits }, null, 2));
      else print(placeTable(fits));
      code = admission.errors.length ? EXIT.error : fits.some((f) => f.fits) ? EXIT.ok : EXIT.changes;
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.error;
    eprint(`netform: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.error;
  }
  return code;
}

function reportAdmission(a: AdmissionResult, eprint: (s: string) => void): void {
  for (const e of a.errors) eprint(formatAdmissionError(e));
}

function signalled(): Promise<void> {
  return new Promise((res) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      res();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/** On a terminal, one line that keeps saying how far `apply` has got. */
function progressLine(out: NodeJS.WritableStream & { isTTY?: boolean }, fm: FileMode): { tick: () => void; done: () => void } {
  if (!out.isTTY) return { tick: () => {}, done: () => {} };
  let last = 0;
  let shown = false;
  return {
    tick() {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      const s = fm.engine.states();
      const count = (k: string) => s.filter((x) => x.state === k).length;
      out.write(`\r\x1b[2Kapplying: ${count('ready')}/${s.length} ready, ${count('pending') + count('deleting')} in progress, ${count('failed') + count('invalid')} failed`);
      shown = true;
    },
    done() {
      if (shown) out.write('\r\x1b[2K');
    },
  };
}

/** A positive number of an option, or a clear error naming the option. */
function positive(v: string, option: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${option}: "${v}" is not a positive number`);
  return n;
}

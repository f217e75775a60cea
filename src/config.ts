// The one place that reads the environment. Command-line flags (parsed by the CLI) win over
// environment variables, which win over defaults.
import type { LevelWithSilent } from 'pino';

export interface Config {
  /** Directory of manifests (file mode). */
  dir?: string;
  /** State directory (file mode). */
  stateDir: string;
  /** The netform installation name, part of every owner marker on backends. */
  instance: string;
  logLevel: LevelWithSilent;
  /** Drift re-check period of converged objects. */
  resyncMs: number;
  /** How long `apply` waits for everything to converge. */
  timeoutMs: number;
  concurrency: number;
  /** The Host this process runs the agent for (file mode); undefined: the Host named like this machine, if any. */
  host?: string;
  /** Host agent target. */
  netns?: string;
  ovsDb?: string;
  ovsDatapath: 'system' | 'netdev';
  sysfsRoot: string;
  /** Cluster mode: the kubeconfig file (undefined: $KUBECONFIG, ~/.kube/config, or in-cluster). */
  kubeconfig?: string;
  /** Cluster mode: the controller's namespace (its Lease; Secrets named without a namespace). */
  namespace: string;
  /** Cluster mode: this replica's identity in the Lease and in Events (default: the pod name). */
  identity?: string;
}

export interface Flags {
  dir?: string;
  state?: string;
  instance?: string;
  logLevel?: string;
  resync?: string;
  timeout?: string;
  concurrency?: string;
  host?: string;
  netns?: string;
  ovsDb?: string;
  ovsDatapath?: string;
  sysfs?: string;
  kubeconfig?: string;
  namespace?: string;
  identity?: string;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function seconds(v: string | undefined, what: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number of seconds, not "${v}"`);
  return n * 1000;
}

function datapath(v: string): 'system' | 'netdev' {
  if (v !== 'system' && v !== 'netdev') throw new Error(`ovs datapath must be system or netdev, not "${v}"`);
  return v;
}

export function loadConfig(flags: Flags, env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = flags.logLevel ?? env.NETFORM_LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(logLevel)) throw new Error(`log level must be one of ${LEVELS.join(', ')}, not "${logLevel}"`);
  const instance = flags.instance ?? env.NETFORM_INSTANCE ?? 'netform';
  if (!/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/.test(instance)) {
    throw new Error(`instance must be 1-32 lowercase letters, digits and '-', not "${instance}"`);
  }
  const concurrency = Number(flags.concurrency ?? env.NETFORM_CONCURRENCY ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new Error('concurrency must be an integer from 1 to 64');
  const cfg: Config = {
    stateDir: flags.state ?? env.NETFORM_STATE_DIR ?? '.netform',
    instance,
    logLevel: logLevel as LevelWithSilent,
    resyncMs: seconds(flags.resync ?? env.NETFORM_RESYNC_SECONDS, 'resync') ?? 5 * 60_000,
    timeoutMs: seconds(flags.timeout ?? env.NETFORM_TIMEOUT_SECONDS, 'timeout') ?? 120_000,
    concurrency,
    ovsDatapath: datapath(flags.ovsDatapath ?? env.NETFORM_OVS_DATAPATH ?? 'system'),
    sysfsRoot: flags.sysfs ?? env.NETFORM_SYSFS ?? '/sys',
    namespace: flags.namespace ?? env.POD_NAMESPACE ?? env.NETFORM_NAMESPACE ?? 'netform-system',
  };
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(cfg.namespace)) throw new Error(`"${cfg.namespace}" is not a valid namespace`);
  if (flags.dir !== undefined) cfg.dir = flags.dir;
  const host = flags.host ?? env.NETFORM_HOST;
  if (host !== undefined) cfg.host = host;
  const netns = flags.netns ?? env.NETFORM_NETNS;
  if (netns !== undefined) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(netns)) throw new Error(`"${netns}" is not a network namespace name`);
    cfg.netns = netns;
  }
  const ovsDb = flags.ovsDb ?? env.NETFORM_OVS_DB;
  if (ovsDb !== undefined) cfg.ovsDb = ovsDb;
  const kubeconfig = flags.kubeconfig; // else client-node reads $KUBECONFIG (a list) itself
  if (kubeconfig) cfg.kubeconfig = kubeconfig;
  const identity = flags.identity ?? env.POD_NAME;
  if (identity) cfg.identity = identity;
  return cfg;
}

// A private, real Open vSwitch for tests: ovsdb-server (and optionally ovs-vswitchd) started by hand
// from a temp directory, optionally inside a scratch network namespace so that the taps the netdev
// datapath creates never touch the root namespace. Needs Debian's openvswitch-switch (and root for
// the namespace). Daemons are stopped by their own pidfiles, never by name.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureHostTools } from '../harness/hostsim/index.ts';

const run = promisify(execFile);
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface PrivateOvs {
  dir: string;
  /** The ovsdb-server socket path (punix remote). */
  sock: string;
  /** The scratch network namespace the daemons run in, if any. */
  netns: string | undefined;
  /** Runs `ovs-vsctl --db=unix:<sock> <args>` and returns stdout. */
  vsctl(...args: string[]): Promise<string>;
  /** `ovs-vsctl --format=json list <table>` (optionally only `columns`), as {heading: raw datum} rows. */
  list(table: string, columns?: string[]): Promise<Record<string, unknown>[]>;
  /** Stops the daemons (pidfiles), deletes the namespace and the directory. Idempotent. */
  stop(): Promise<void>;
}

let counter = 0;

export async function startPrivateOvs(opts: { vswitchd?: boolean; netns?: boolean } = {}): Promise<PrivateOvs> {
  const dir = mkdtempSync(join(tmpdir(), 'nf-ovs-'));
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
  const sock = join(dir, 'db.sock');
  const netns = opts.netns ? `nf-ovs-${process.pid}-${++counter}` : undefined;
  const inNs = (cmd: string, args: string[]) => (netns ? run('ip', ['netns', 'exec', netns, cmd, ...args], { env }) : run(cmd, args, { env }));
  const daemons: string[] = [];
  const vsctl = async (...args: string[]) => (await run('ovs-vsctl', [`--db=unix:${sock}`, '--timeout=20', ...args], { env })).stdout;

  const stop = async () => {
    for (const name of daemons.splice(0).reverse()) await killByPidfile(join(dir, `${name}.pid`));
    if (netns) await run('ip', ['netns', 'del', netns]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await ensureHostTools(); // a fresh machine: `npm test` installs Open vSwitch itself
    await run('ovsdb-tool', ['create', join(dir, 'conf.db'), SCHEMA], { env });
    if (netns) {
      await run('ip', ['netns', 'add', netns]);
      await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    }
    // --detach returns once the server is listening.
    daemons.push('ovsdb-server');
    await inNs('ovsdb-server', [
      join(dir, 'conf.db'),
      `--remote=punix:${sock}`,
      `--pidfile=${join(dir, 'ovsdb-server.pid')}`,
      `--unixctl=${join(dir, 'ovsdb-server.ctl')}`,
      `--log-file=${join(dir, 'ovsdb-server.log')}`,
      '--detach',
      '--no-chdir',
    ]);
    await vsctl('--no-wait', 'init');
    if (opts.vswitchd) {
      daemons.push('ovs-vswitchd');
      await inNs('ovs-vswitchd', [
        `unix:${sock}`,
        `--pidfile=${join(dir, 'ovs-vswitchd.pid')}`,
        `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`,
        `--log-file=${join(dir, 'ovs-vswitchd.log')}`,
        '--detach',
        '--no-chdir',
      ]);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    dir,
    sock,
    netns,
    vsctl,
    async list(table, columns) {
      const args = ['--format=json'];
      if (columns) args.push(`--columns=${columns.join(',')}`);
      const out = JSON.parse(await vsctl(...args, 'list', table)) as { headings: string[]; data: unknown[][] };
      return out.data.map((row) => Object.fromEntries(out.headings.map((h, i) => [h, row[i]])));
    },
    stop,
  };
}

/** True once the process is gone or a zombie (PID 1 here reaps orphans only every ~2 s). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself contain spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] === 'Z';
  } catch {
    return true;
  }
}

async function killByPidfile(pidfile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidfile, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (let i = 0; i < 300 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 10));
    if (gone(pid)) return;
  }
}

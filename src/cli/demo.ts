// The demo host of the quick start: a network namespace standing in for a hypervisor, its Host's NICs
// as veth pairs cabled to a "switch" namespace, and a private Open vSwitch (userspace datapath)
// inside it — so the host agent converges real kernel devices and a real OVS without touching the
// machine's own networking. Torn down again when netform exits.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { isIfname } from '../drivers/host/model.ts';

const run = promisify(execFile);

export interface DemoHost {
  netns: string;
  ovsDb: string;
  stop(): Promise<void>;
}

const NETNS = /^[a-z][a-z0-9-]{0,30}$/;

async function ipBatch(ns: string, lines: string[]): Promise<void> {
  const child = execFile('ip', ['-n', ns, '-batch', '-']);
  child.stdin!.end(`${lines.join('\n')}\n`);
  await new Promise<void>((res, rej) => child.on('close', (code) => (code === 0 ? res() : rej(new Error(`ip -n ${ns} -batch failed (exit ${code})`)))));
}

async function gone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.split(' ')[2] === 'Z';
  } catch {
    return true;
  }
}

async function killPidfile(file: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(file, 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  for (const [sig, ms] of [['SIGTERM', 2000], ['SIGKILL', 30000]] as const) {
    try {
      process.kill(pid, sig);
    } catch {
      return;
    }
    for (let t = 0; t < ms; t += 20) {
      if (await gone(pid)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function onPath(tool: string): Promise<boolean> {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (d && (await access(join(d, tool), constants.X_OK).then(() => true, () => false))) return true;
  }
  return false;
}

async function delNetns(ns: string): Promise<void> {
  await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

/** Creates (or re-creates) the demo host `netns` with the given NICs, and starts its OVS under `stateDir`. */
export async function startDemoHost(netns: string, nics: string[], stateDir: string, log: Logger): Promise<DemoHost> {
  if (!NETNS.test(netns)) throw new Error(`"${netns}" is not a demo namespace name (lowercase letters, digits, '-')`);
  for (const n of nics) if (!isIfname(n) || n.length > 12) throw new Error(`demo NIC name "${n}" is too long or not an interface name`);
  for (const tool of ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl']) {
    if (!(await onPath(tool))) throw new Error(`the demo needs Open vSwitch (${tool} not found): apt-get install openvswitch-switch (npm start does it)`);
  }
  const sw = `${netns}-sw`;
  const dir = resolve(stateDir, 'demo', 'ovs');
  const stop = async () => {
    await killPidfile(join(dir, 'ovs-vswitchd.pid'));
    await killPidfile(join(dir, 'ovsdb-server.pid'));
    await delNetns(netns);
    await delNetns(sw);
    await rm(dir, { recursive: true, force: true });
  };
  await stop(); // leftovers of an earlier run
  await run('ip', ['netns', 'add', netns]);
  await run('ip', ['netns', 'add', sw]);
  await ipBatch(sw, ['link set lo up', 'link add name swbr type bridge', 'link set swbr up']);
  for (const n of nics) await run('ip', ['-n', netns, 'link', 'add', 'name', n, 'type', 'veth', 'peer', 'name', `sw-${n}`, 'netns', sw]);
  await ipBatch(sw, nics.flatMap((n) => [`link set dev sw-${n} mtu 9000`, `link set dev sw-${n} master swbr`, `link set dev sw-${n} up`]));
  await ipBatch(netns, ['link set lo up', ...nics.map((n) => `link set dev ${n} up`)]);
  await mkdir(dir, { recursive: true });
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
  const db = join(dir, 'db.sock');
  await run('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema'], { env });
  const inNs = (cmd: string, args: string[]) => run('ip', ['netns', 'exec', netns, cmd, ...args], { env });
  await inNs('ovsdb-server', [join(dir, 'conf.db'), `--remote=punix:${db}`, `--pidfile=${join(dir, 'ovsdb-server.pid')}`, `--unixctl=${join(dir, 'ovsdb-server.ctl')}`, `--log-file=${join(dir, 'ovsdb-server.log')}`, '--detach', '--no-chdir']);
  await run('ovs-vsctl', [`--db=unix:${db}`, '--no-wait', 'init'], { env });
  await inNs('ovs-vswitchd', [`unix:${db}`, `--pidfile=${join(dir, 'ovs-vswitchd.pid')}`, `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`, `--log-file=${join(dir, 'ovs-vswitchd.log')}`, '--detach', '--no-chdir']);
  log.info({ netns, nics, ovs: dir }, `demo host ready: see it with "ip -n ${netns} -br link" and "ovs-vsctl --db=unix:${db} show"`);
  return { netns, ovsDb: db, stop };
}

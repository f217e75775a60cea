// hostsim: fake hypervisor hosts for the host agent's tests, built from real kernel state.
//
//   netns nfsw-<id>            the upstream switch: a plain Linux bridge `swbr` (no VLAN filtering, so 802.1Q
//                              frames pass through untouched), one port per host NIC
//   netns nfhv-<id>            a hypervisor host: veth "physical NICs" (ens3, ens4, ...) cabled to the switch,
//                              optionally a private Open vSwitch (ovsdb-server + ovs-vswitchd, netdev datapath)
//   netns nfvm-<hostid>-<name> a VM: `eth0` addressed and up; its veth peer sits DOWN and unattached in the host ns
//
// Facts this relies on are in /work/shared/reference/hostnet.md (§2, §3, §7, §8, §10). Everything is spawned with
// argument arrays or `ip -batch -` on stdin; no shell is involved. Every fixture writes an owner record (pid, process
// start time, thread, module token) into the state root *before* it creates anything, so `sweep()` can tell a
// leftover of a dead (or finished) test file from a fixture another test file is still using.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';

// ---------------------------------------------------------------------------------------------------------------
// Public API

export interface FakeSwitch {
  ns: string;
  bridge: string;
  stop(): Promise<void>;
}

export interface FakeOvs {
  /** private OVS directory: conf.db, sockets, pidfiles, logs (OVS_RUNDIR = OVS_LOGDIR = OVS_DBDIR = OVS_SYSCONFDIR) */
  dir: string;
  /** path of ovsdb-server's unix socket (use as `unix:<db>`) */
  db: string;
  /** runs `ovs-vsctl --db=unix:<db> --timeout=30 <args>` and returns stdout. NB: ovs-vsctl exits 0 on
   *  "could not open network device"; read Interface.error / ofport to know whether a port really works. */
  vsctl(args: string[]): Promise<string>;
  /** runs `ovs-appctl -t <dir>/<daemon>.ctl <args>` and returns stdout (e.g. ['fdb/show', 'br-int']) */
  appctl(args: string[], daemon?: 'ovs-vswitchd' | 'ovsdb-server'): Promise<string>;
  /** [ovs-vswitchd pidfile, ovsdb-server pidfile] */
  pidfiles: string[];
}

export interface FakeHost {
  id: string;
  /** netns `nfhv-<id>` */
  ns: string;
  /** veth "physical NICs" in the host ns, cabled to the switch */
  nics: string[];
  /** name of each NIC's peer port on the switch bridge, same order as `nics` */
  switchPorts: string[];
  ovs: FakeOvs | undefined;
  /** state directory of this host (holds `ovs/` when ovs is on) */
  stateDir: string;
  /** stops the host's VMs, kills the OVS daemons by pidfile (zombie-aware), deletes the namespace, removes state */
  stop(): Promise<void>;
}

export interface CreateHostOptions {
  id: string;
  switch: FakeSwitch;
  /** default ['ens3', 'ens4'] */
  nics?: string[];
  /** start a private OVS inside the host ns (no bridge is created). Default false. */
  ovs?: boolean;
  /** MTU of the switch-side peers of the NICs, default 9000 so jumbo frames can pass. The NICs themselves stay 1500. */
  mtu?: number;
  /** administrative state of the NICs after creation, default true (they have carrier because the switch is up) */
  nicsUp?: boolean;
  /** absolute directory, not under /tmp; default `${NETFORM_CACHE:-$HOME/.cache/netform}/hostsim` */
  stateRoot?: string;
}

export interface FakeVm {
  /** netns `nfvm-<hostid>-<name>` */
  ns: string;
  /** veth end in the host ns (created DOWN, attached to nothing) */
  iface: string;
  /** the VM's IP address without prefix length, ready for ping() */
  address: string;
  /** the address as given, with prefix length */
  cidr: string;
  stop(): Promise<void>;
}

export interface CreateVmOptions {
  /** short name, [a-z0-9]{1,8} */
  name: string;
  /** host-side device name, ≤ 15 chars, e.g. 'vnet-a' */
  device: string;
  /** CIDR for eth0 in the VM ns, e.g. 198.51.100.11/24 */
  address: string;
  /** MTU of both veth ends, default the kernel's (1500) */
  mtu?: number;
}

export interface PingOptions {
  /** ICMP payload bytes (-s) */
  size?: number;
  /** true: -M do (prohibit fragmentation), false: -M dont, undefined: ping's default */
  dontFragment?: boolean;
  /** echo requests per attempt (-c), default 1; success = at least one reply */
  count?: number;
  /** seconds to wait for each reply (-W), default 2 */
  timeoutS?: number;
  /** retry attempts until one succeeds or this many seconds have passed. Use it for "reachable eventually" checks:
   *  a VM's neighbour entry may still be INCOMPLETE/FAILED from an earlier attempt, or the agent still converging. */
  deadlineS?: number;
}

export interface KernelFeatures {
  vlan: boolean;
  bond: boolean;
  dummy: boolean;
  ovsKernel: boolean;
  bridgeVlanFiltering: boolean;
}

export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const NS_PREFIX_RE = /^nf(hv|sw|vm)-/;

/** Default state root: `${NETFORM_CACHE:-$HOME/.cache/netform}/hostsim` (absolute; never /tmp, see hostnet.md appendix). */
export function defaultStateRoot(): string {
  const cache = process.env.NETFORM_CACHE || join(homedir(), '.cache', 'netform');
  return join(resolve(cache), 'hostsim');
}

/** A short random id ([a-z0-9], default 5 chars) for fixture names; interface names stay ≤ 15 chars with it. */
export function uid(len = 5): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(len);
  let s = alphabet[bytes[0]! % 26]!; // start with a letter
  for (let i = 1; i < len; i++) s += alphabet[bytes[i]! % alphabet.length]!;
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Process helpers

interface RunResult {
  stdout: string;
  stderr: string;
}

class CommandError extends Error {
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(cmd: string, args: readonly string[], code: number | string | null, stdout: string, stderr: string) {
    super(`${cmd} ${args.join(' ')} failed (${code}): ${stderr.trim() || stdout.trim()}`);
    this.code = code;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          reject(new CommandError(cmd, args, code, stdout, stderr));
        } else resolvePromise({ stdout, stderr });
      },
    );
  });
}

/** Feeds `lines` to `ip [-n ns] [-force] -batch -`. Fails fast (first failing line) unless force. */
export function ipBatch(ns: string | null, lines: string[], opts: { force?: boolean } = {}): Promise<void> {
  for (const l of lines) if (/[\n\r]/.test(l)) throw new Error(`ip batch line contains a newline: ${JSON.stringify(l)}`);
  const args = [...(ns ? ['-n', ns] : []), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  return new Promise((resolvePromise, reject) => {
    const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new CommandError('ip', [...args, `<<< ${lines.join(' ; ')}`], code, out, errText));
    });
    child.stdin.end(lines.join('\n') + '\n');
  });
}

/** `ip -n ns -j <args>` parsed. */
export async function ipJson<T = unknown>(ns: string, args: string[]): Promise<T> {
  const { stdout } = await run('ip', ['-n', ns, '-j', ...args]);
  return JSON.parse(stdout || '[]') as T;
}

function onPath(cmd: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    try {
      accessSync(join(d, cmd), fsConstants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

let toolsPromise: Promise<void> | undefined;

/** Installs openvswitch-switch and iputils-ping with apt-get when `ovs-vswitchd` or `ping` is missing (CI). */
export function ensureHostTools(): Promise<void> {
  toolsPromise ??= (async () => {
    if (onPath('ovs-vswitchd') && onPath('ovsdb-tool') && onPath('ping')) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = ['install', '-y', '--no-install-recommends', 'openvswitch-switch', 'iputils-ping'];
    try {
      await run('apt-get', install, { env, timeoutMs: 600_000 });
    } catch {
      await run('apt-get', ['update'], { env, timeoutMs: 600_000 });
      await run('apt-get', install, { env, timeoutMs: 600_000 });
    }
    if (!onPath('ovs-vswitchd') || !onPath('ping')) throw new Error('ensureHostTools: ovs-vswitchd/ping still missing after apt-get install');
  })();
  toolsPromise.catch(() => (toolsPromise = undefined));
  return toolsPromise;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

const ID_RE = /^[a-z0-9]{1,8}$/;
const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

function checkId(what: string, id: string): void {
  if (!ID_RE.test(id)) throw new Error(`hostsim: ${what} ${JSON.stringify(id)} must match ${ID_RE} (short keeps interface names ≤ 15 chars)`);
}
function checkIfName(name: string): void {
  if (!IFNAME_RE.test(name)) throw new Error(`hostsim: ${JSON.stringify(name)} is not a valid interface name (≤ 15 chars, ${IFNAME_RE})`);
}
function checkMtu(mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`hostsim: bad MTU ${mtu}`);
}
function checkStateRoot(root: string): string {
  if (!isAbsolute(root)) throw new Error(`hostsim: stateRoot must be absolute, got ${root}`);
  const r = resolve(root);
  if (r === '/tmp' || r.startsWith('/tmp/')) {
    throw new Error(`hostsim: stateRoot ${r} is under /tmp, which is a private tmpfs inside the QEMU guest; use the cache dir`);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// Ownership records and process liveness

const TOKEN = randomBytes(8).toString('hex'); // one per module instance = per test file under vitest isolation

interface OwnerRecord {
  ns: string;
  pid: number;
  start: string;
  thread: number;
  token: string;
  /** state dir of the fixture (OVS under `${dir}/ovs`), if any */
  dir?: string;
}

interface ProcStat {
  state: string;
  start: string;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); field 22 (starttime) is rest[19]
    return { state: rest[0] ?? '', start: rest[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** Exited for our purposes: no such process, or a zombie (PID 1 here reaps orphans only every ~2 s, hostnet.md §7). */
function gone(pid: number): boolean {
  const st = procStat(pid);
  return !st || st.state === '' || st.state === 'Z';
}

/** true when `pid` has exited (a zombie counts as exited). */
export function processGone(pid: number): boolean {
  return gone(pid);
}

let myStart: string | undefined;
function ownRecord(ns: string, dir?: string): OwnerRecord {
  myStart ??= procStat(process.pid)?.start ?? '';
  return { ns, pid: process.pid, start: myStart, thread: threadId, token: TOKEN, ...(dir ? { dir } : {}) };
}

function recordLive(rec: OwnerRecord): boolean {
  const st = procStat(rec.pid);
  if (!st || st.state === 'Z' || st.start !== rec.start) return false;
  // Same worker thread of this very process but another module instance: an earlier test file that has finished.
  if (rec.pid === process.pid && rec.thread === threadId && rec.token !== TOKEN) return false;
  return true;
}

function recordPath(root: string, ns: string): string {
  return join(root, `${ns}.owner.json`);
}

async function writeRecord(ns: string, dir?: string): Promise<void> {
  const root = defaultStateRoot();
  await mkdir(root, { recursive: true });
  await writeFile(recordPath(root, ns), JSON.stringify(ownRecord(ns, dir)) + '\n');
}

async function removeRecord(ns: string): Promise<void> {
  await rm(recordPath(defaultStateRoot(), ns), { force: true });
}

/** Records this process as the owner of a namespace it is about to create (so a concurrent `sweep()` keeps
 *  it while this test file runs); for fixtures built outside this module (e.g. tapvm.ts). */
export function claimNamespace(ns: string): Promise<void> {
  return writeRecord(ns);
}

/** Forgets the owner record of a namespace this process deleted. */
export function releaseNamespace(ns: string): Promise<void> {
  return removeRecord(ns);
}

/** Deletes namespaces (those that exist), in one `ip -batch`. */
export function deleteNamespaces(names: string[]): Promise<void> {
  return nsDelete(names);
}

// ---------------------------------------------------------------------------------------------------------------
// Namespaces

function nsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

async function listNfNamespaces(): Promise<string[]> {
  try {
    return (await readdir('/run/netns')).filter((n) => NS_PREFIX_RE.test(n)).sort();
  } catch {
    return [];
  }
}

async function nsAdd(ns: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
}

async function nsDelete(names: string[]): Promise<void> {
  const present = names.filter(nsExists);
  if (present.length === 0) return;
  await ipBatch(
    null,
    present.map((n) => `netns del ${n}`),
    { force: true },
  ).catch((err: unknown) => {
    const left = present.filter(nsExists);
    if (left.length) throw err;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// OVS daemons

const OVS_DAEMONS = new Set(['ovsdb-server', 'ovs-vswitchd']);

/** Kills the daemon named in `pidfile` if it is an OVS daemon whose command line mentions `dir` (guards against pid reuse). */
async function killByPidfile(pidfile: string, dir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(pidfile, 'utf8')).trim(), 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1 || gone(pid)) return;
  let comm = '';
  let cmdline = '';
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!OVS_DAEMONS.has(comm) || !cmdline.includes(dir)) return;
  // A vswitchd that just removed many ports can sit in D state while the kernel unregisters them.
  for (const [signal, waitMs] of [['SIGTERM', 1500], ['SIGKILL', 30000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (gone(pid)) return;
      await sleep(5);
    }
  }
  throw new Error(`hostsim: ${comm} (pid ${pid}) from ${pidfile} did not exit`);
}

async function killOvsIn(dir: string): Promise<void> {
  // vswitchd first (it holds a connection to the db), then ovsdb-server
  await killByPidfile(join(dir, 'ovs-vswitchd.pid'), dir);
  await killByPidfile(join(dir, 'ovsdb-server.pid'), dir);
}

function ovsEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
}

function makeOvs(dir: string): FakeOvs {
  const db = join(dir, 'db.sock');
  const env = ovsEnv(dir);
  return {
    dir,
    db,
    pidfiles: [join(dir, 'ovs-vswitchd.pid'), join(dir, 'ovsdb-server.pid')],
    vsctl: async (args) => (await run('ovs-vsctl', [`--db=unix:${db}`, '--timeout=30', ...args], { env })).stdout,
    appctl: async (args, daemon = 'ovs-vswitchd') =>
      (await run('ovs-appctl', ['-t', join(dir, `${daemon}.ctl`), ...args], { env })).stdout,
  };
}

async function startVswitchd(dir: string, ns: string): Promise<void> {
  await run(
    'ip',
    [
      'netns', 'exec', ns, 'ovs-vswitchd', `unix:${join(dir, 'db.sock')}`,
      `--pidfile=${join(dir, 'ovs-vswitchd.pid')}`,
      `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`,
      `--log-file=${join(dir, 'ovs-vswitchd.log')}`,
      '--detach', '--no-chdir',
    ],
    { env: ovsEnv(dir) },
  );
}

/**
 * Restarts the host's ovs-vswitchd (killed by its pidfile, zombie-aware; the database and ovsdb-server
 * stay), as after a host reboot. Under the netdev datapath this is what makes OVS notice taps deleted
 * behind its back: their Interface rows turn stale (`ofport -1`, `could not open network device`,
 * hostnet.md §4).
 */
export async function restartVswitchd(host: FakeHost): Promise<void> {
  if (!host.ovs) throw new Error(`hostsim: host ${host.id} has no OVS`);
  const dir = host.ovs.dir;
  await killByPidfile(join(dir, 'ovs-vswitchd.pid'), dir);
  await startVswitchd(dir, host.ns);
}

/** Creates the database (no namespace needed), returning a function that starts both daemons inside `ns`. */
async function prepareOvs(dir: string): Promise<(ns: string) => Promise<FakeOvs>> {
  // sun_path is 108 bytes; the longest socket OVS makes here is <dir>/<bridge≤15>.snoop
  if (join(dir, 'x'.repeat(15) + '.snoop').length > 107) {
    throw new Error(`hostsim: OVS dir ${dir} is too long for unix socket paths (≤ ~85 chars); shorten NETFORM_CACHE/stateRoot`);
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const env = ovsEnv(dir);
  await run('ovsdb-tool', ['create', join(dir, 'conf.db'), OVS_SCHEMA], { env });
  return async (ns) => {
    const ovs = makeOvs(dir);
    await run(
      'ip',
      [
        'netns', 'exec', ns, 'ovsdb-server', join(dir, 'conf.db'),
        `--remote=punix:${ovs.db}`,
        '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
        `--pidfile=${join(dir, 'ovsdb-server.pid')}`,
        `--unixctl=${join(dir, 'ovsdb-server.ctl')}`,
        `--log-file=${join(dir, 'ovsdb-server.log')}`,
        '--detach', '--no-chdir',
      ],
      { env },
    );
    await run('ovs-vsctl', [`--db=unix:${ovs.db}`, '--no-wait', 'init'], { env });
    await startVswitchd(dir, ns);
    return ovs;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

export async function createSwitch(id: string): Promise<FakeSwitch> {
  checkId('switch id', id);
  const ns = `nfsw-${id}`;
  await writeRecord(ns);
  const stop = once(async () => {
    await nsDelete([ns]);
    await removeRecord(ns);
  });
  try {
    await nsAdd(ns);
    await ipBatch(ns, ['link set dev lo up', 'link add name swbr type bridge', 'link set dev swbr up']);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { ns, bridge: 'swbr', stop };
}

const hostVms = new WeakMap<FakeHost, Set<FakeVm>>();

export async function createHost(opts: CreateHostOptions): Promise<FakeHost> {
  const { id } = opts;
  checkId('host id', id);
  const nics = opts.nics ?? ['ens3', 'ens4'];
  nics.forEach(checkIfName);
  if (new Set(nics).size !== nics.length) throw new Error(`hostsim: duplicate NIC names ${nics.join(',')}`);
  const mtu = opts.mtu ?? 9000;
  checkMtu(mtu);
  const sw = opts.switch;
  if (!nsExists(sw.ns)) throw new Error(`hostsim: switch namespace ${sw.ns} does not exist`);
  const stateRoot = checkStateRoot(opts.stateRoot ?? defaultStateRoot());
  const ns = `nfhv-${id}`;
  const stateDir = join(stateRoot, ns);
  const ovsDir = join(stateDir, 'ovs');
  // switch-side port names: unique per switch because host ids are
  const switchPorts = nics.map((nic, i) => (`${id}-${nic}`.length <= 15 ? `${id}-${nic}` : `${id}-n${i}`));

  await writeRecord(ns, stateDir);
  let ovs: FakeOvs | undefined;
  let host: FakeHost | undefined;
  const stop = once(async () => {
    const vms = host ? [...(hostVms.get(host) ?? [])] : [];
    await Promise.all(vms.map((vm) => vm.stop()));
    await killOvsIn(ovsDir);
    await nsDelete([ns]);
    // the switch-side peers vanish with the host-side veth ends
    await rm(stateDir, { recursive: true, force: true });
    await removeRecord(ns);
  });
  try {
    const startOvs = opts.ovs ? prepareOvs(ovsDir) : undefined;
    startOvs?.catch(() => {}); // awaited below; this only keeps an early failure elsewhere from leaving it unhandled
    await nsAdd(ns);
    const hostLines = ['link set dev lo up'];
    nics.forEach((nic, i) => hostLines.push(`link add name ${nic} type veth peer name ${switchPorts[i]} netns ${sw.ns}`));
    if (opts.nicsUp ?? true) for (const nic of nics) hostLines.push(`link set dev ${nic} up`);
    await ipBatch(ns, hostLines);
    const swLines: string[] = [];
    for (const p of switchPorts) swLines.push(`link set dev ${p} mtu ${mtu}`, `link set dev ${p} master ${sw.bridge}`, `link set dev ${p} up`);
    await ipBatch(sw.ns, swLines);
    if (startOvs) ovs = await (await startOvs)(ns);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  host = { id, ns, nics: [...nics], switchPorts, ovs, stateDir, stop };
  hostVms.set(host, new Set());
  return host;
}

function parseCidr(cidr: string): { ip: string; prefix: number } {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(cidr);
  const family = m ? isIP(m[1]!) : 0;
  const prefix = m ? Number(m[2]) : -1;
  if (!m || family === 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`hostsim: ${JSON.stringify(cidr)} is not an address/prefix`);
  return { ip: m[1]!, prefix };
}

export async function createVm(host: FakeHost, opts: CreateVmOptions): Promise<FakeVm> {
  checkId('vm name', opts.name);
  checkIfName(opts.device);
  const { ip } = parseCidr(opts.address);
  if (opts.mtu !== undefined) checkMtu(opts.mtu);
  if (!nsExists(host.ns)) throw new Error(`hostsim: host namespace ${host.ns} does not exist`);
  const ns = `nfvm-${host.id}-${opts.name}`;
  const mtu = opts.mtu !== undefined ? ` mtu ${opts.mtu}` : '';
  await writeRecord(ns);
  let vm: FakeVm | undefined;
  const stop = once(async () => {
    await nsDelete([ns]); // takes the veth pair, host end included, with it
    await removeRecord(ns);
    if (vm) hostVms.get(host)?.delete(vm);
  });
  try {
    await nsAdd(ns);
    await ipBatch(host.ns, [`link add name ${opts.device}${mtu} type veth peer name eth0${mtu} netns ${ns}`]);
    await ipBatch(ns, ['link set dev lo up', `addr add ${opts.address} dev eth0`, 'link set dev eth0 up']);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  vm = { ns, iface: opts.device, address: ip, cidr: opts.address, stop };
  hostVms.get(host)?.add(vm);
  return vm;
}

/** ICMP echo from inside `fromNs`. true: at least one reply; false: none (or unreachable). Throws on misuse. */
export async function ping(fromNs: string, address: string, opts: PingOptions = {}): Promise<boolean> {
  if (!nsExists(fromNs)) throw new Error(`hostsim: ping: namespace ${fromNs} does not exist`);
  if (isIP(address) === 0) throw new Error(`hostsim: ping: ${JSON.stringify(address)} is not an IP address`);
  const count = opts.count ?? 1;
  const timeoutS = opts.timeoutS ?? 2;
  if (opts.deadlineS === undefined) return pingOnce(fromNs, address, count, timeoutS, opts);
  // Retry whole runs rather than use ping's -w: iputils counts errors ("Destination Host Unreachable" from a FAILED
  // neighbour entry) towards -c and stops at the first one.
  const deadline = Date.now() + opts.deadlineS * 1000;
  for (;;) {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    if (await pingOnce(fromNs, address, count, Math.max(1, Math.min(timeoutS, left)), opts)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

async function pingOnce(ns: string, address: string, count: number, timeoutS: number, opts: PingOptions): Promise<boolean> {
  const args = ['netns', 'exec', ns, 'ping', '-n', '-q', '-c', String(count), '-W', String(timeoutS)];
  if (count > 1) args.push('-i', '0.2');
  if (opts.size !== undefined) args.push('-s', String(opts.size));
  if (opts.dontFragment !== undefined) args.push('-M', opts.dontFragment ? 'do' : 'dont');
  args.push(address);
  try {
    await run('ip', args, { timeoutMs: (count * 0.2 + timeoutS + 10) * 1000 });
    return true;
  } catch (err) {
    // 1: no reply (also "local error: message too long" with -M do); 2: e.g. "Network is unreachable"
    if (err instanceof CommandError && (err.code === 1 || err.code === 2)) return false;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sweep

export interface InventoryEntry {
  ns: string;
  /** pid of the owning process per its record, null when there is no record */
  owner: number | null;
  /** the owner is alive and still using it (sweep() keeps exactly these) */
  live: boolean;
}

async function readRecords(root: string): Promise<Map<string, OwnerRecord>> {
  const recs = new Map<string, OwnerRecord>();
  let names: string[] = [];
  try {
    names = await readdir(root);
  } catch {
    return recs;
  }
  for (const n of names) {
    if (!n.endsWith('.owner.json')) continue;
    try {
      const rec = JSON.parse(await readFile(join(root, n), 'utf8')) as OwnerRecord;
      if (typeof rec.ns === 'string' && typeof rec.pid === 'number') recs.set(rec.ns, rec);
    } catch {
      recs.set(n.slice(0, -'.owner.json'.length), { ns: n.slice(0, -'.owner.json'.length), pid: -1, start: '', thread: -1, token: '' });
    }
  }
  return recs;
}

/** Every nf* namespace with its owner, as sweep() sees it. */
export async function inventory(): Promise<InventoryEntry[]> {
  const namespaces = await listNfNamespaces(); // before the records: a record is written before its namespace
  const recs = await readRecords(defaultStateRoot());
  return namespaces.map((ns) => {
    const rec = recs.get(ns);
    return { ns, owner: rec && rec.pid > 0 ? rec.pid : null, live: rec ? recordLive(rec) : false };
  });
}

/**
 * Deletes every leftover `nfhv-*`, `nfsw-*`, `nfvm-*` namespace and kills leftover OVS daemons (by the pidfiles in
 * the state dirs this harness recorded), then removes their state. A fixture counts as leftover when its owner process
 * is gone, or it was made by an earlier test file in this same worker; fixtures of test files still running in
 * parallel are kept. Call at suite start.
 */
export async function sweep(opts: { stateRoot?: string } = {}): Promise<{ namespaces: string[]; dirs: string[] }> {
  const root = defaultStateRoot();
  const extraRoot = opts.stateRoot ? checkStateRoot(opts.stateRoot) : undefined;
  const namespaces = await listNfNamespaces();
  const dirEntries = async (r: string): Promise<string[]> => {
    try {
      return (await readdir(r, { withFileTypes: true })).filter((e) => e.isDirectory() && NS_PREFIX_RE.test(e.name)).map((e) => join(r, e.name));
    } catch {
      return [];
    }
  };
  const dirs = [...(await dirEntries(root)), ...(extraRoot && extraRoot !== root ? await dirEntries(extraRoot) : [])];
  const recs = await readRecords(root);

  const keepNs = new Set<string>();
  const keepDirs = new Set<string>();
  const deadRecs: OwnerRecord[] = [];
  for (const rec of recs.values()) {
    if (recordLive(rec)) {
      keepNs.add(rec.ns);
      if (rec.dir) keepDirs.add(resolve(rec.dir));
    } else deadRecs.push(rec);
  }
  const doomedDirs = new Set<string>();
  for (const rec of deadRecs) if (rec.dir) doomedDirs.add(resolve(rec.dir));
  for (const d of dirs) if (!keepDirs.has(resolve(d))) doomedDirs.add(resolve(d));
  const doomedNs = namespaces.filter((n) => !keepNs.has(n));

  // daemons first: a namespace whose name is deleted lives on while processes are inside it
  await Promise.all([...doomedDirs].map((d) => killOvsIn(join(d, 'ovs'))));
  await nsDelete(doomedNs);
  await Promise.all([...doomedDirs].map((d) => rm(d, { recursive: true, force: true })));
  await Promise.all(deadRecs.map((r) => rm(recordPath(root, r.ns), { force: true })));
  return { namespaces: doomedNs, dirs: [...doomedDirs] };
}

// ---------------------------------------------------------------------------------------------------------------
// Kernel feature probe (hostnet.md §10.2)

async function succeeds(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch {
    return false;
  }
}

/** Probes, in a scratch namespace, what this kernel can do: 802.1Q, bonding, dummy, bridge VLAN filtering, OVS kernel datapath. */
export async function kernelFeatures(): Promise<KernelFeatures> {
  const ns = `nfsw-k${uid(6)}`;
  const stateDir = join(defaultStateRoot(), ns);
  await writeRecord(ns, stateDir);
  try {
    await nsAdd(ns);
    await ipBatch(ns, ['link add name p0 type veth peer name p1', 'link add name br0 type bridge']);
    const ip = (...a: string[]) => run('ip', ['-n', ns, ...a]);
    const [vlan, bond, dummy, bridgeVlanFiltering, ovsKernel] = await Promise.all([
      succeeds(ip('link', 'add', 'link', 'p0', 'name', 'p0.100', 'type', 'vlan', 'id', '100')),
      succeeds(ip('link', 'add', 'name', 'bond0', 'type', 'bond')),
      succeeds(ip('link', 'add', 'name', 'd0', 'type', 'dummy')),
      succeeds(ip('link', 'set', 'dev', 'br0', 'type', 'bridge', 'vlan_filtering', '1')),
      probeOvsKernel(ns, join(stateDir, 'ovs')),
    ]);
    return { vlan, bond, dummy, ovsKernel, bridgeVlanFiltering };
  } finally {
    await killOvsIn(join(stateDir, 'ovs'));
    await nsDelete([ns]);
    await rm(stateDir, { recursive: true, force: true });
    await removeRecord(ns);
  }
}

async function probeOvsKernel(ns: string, dir: string): Promise<boolean> {
  // With loadable modules, ovs-ctl would modprobe; do the same (harmless where modules are off).
  if (existsSync('/proc/modules') && onPath('modprobe')) await succeeds(run('modprobe', ['-q', 'openvswitch']));
  if (!onPath('ovs-vswitchd')) {
    // no OVS userspace: ask generic netlink whether the datapath family exists
    if (!onPath('genl')) return false;
    return succeeds(run('ip', ['netns', 'exec', ns, 'genl', 'ctrl', 'get', 'name', 'ovs_datapath']));
  }
  const ovs = await (await prepareOvs(dir))(ns);
  // ovs-vsctl exits 0 or 1 here depending on the failure; the truth is the bridge's internal port
  await succeeds(ovs.vsctl(['--timeout=10', 'add-br', 'nfk', '--', 'set', 'Bridge', 'nfk', 'datapath_type=system']));
  const out = await ovs.vsctl(['get', 'Interface', 'nfk', 'ofport']).catch(() => '-1');
  return Number.parseInt(out.trim(), 10) > 0;
}

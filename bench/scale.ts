// Scale benchmark (part of `npm run bench`; issue 15, "Memory"): netform's own memory and admission
// time with 10,000 networks and 50,000 vNICs declared. Writes bench/results/scale-latest.json (and a
// dated copy) and prints the figures next to the previous run's. Not a test: nothing here fails.
//
// A manifest directory is generated in a temporary directory: the kinds of the quick start scaled up —
// Clusters, Hosts, a VlanPool and a MacPool, a VnicProfile per cluster, BENCH_SCALE_NETWORKS Networks
// (default 10,000; 100 a file) and BENCH_SCALE_VNICS VnicAttachments (default 50,000; 500 a file). No
// Provider: the networks live on hosts only, so no backend's memory or time is in the figures.
//
// Figures (each command is the real CLI, bin/netform.mjs, as a child process of this one):
//   validate  — `netform validate DIR`: wall time, peak RSS
//   plan      — `netform plan --dir DIR --state EMPTY`: wall time, peak RSS
//   run       — `netform run --dir DIR --state EMPTY --ui off`: when its log says "manifests loaded", and
//               when its first pass is done (the "converged" line, or the not-Ready report that follows
//               a settled pass); then BENCH_SCALE_SETTLE_SECONDS (default 10) more, and its RSS then is
//               the settled RSS. Without a first pass by BENCH_SCALE_RUN_SECONDS (default 60) it is
//               measured as it stands then. Peak RSS, RSS at the stop; then SIGTERM
//   admission — in this process: readManifests + admit() of the directory, 3 times (the first is cold):
//               the median, and the heap the admitted set holds after a GC
// validate and plan are stopped (SIGTERM) after BENCH_SCALE_LIMIT_SECONDS (default 300) and reported
// unfinished, their peak RSS being the peak until then. Peak RSS of validate and plan is the kernel's
// maximum resident set size from `/usr/bin/time -v` (VmHWM polled from /proc when it is missing);
// run's is VmHWM read from /proc before SIGTERM.
//
// `node bench/scale.ts --generate DIR` only writes the manifests to DIR (to profile a command by hand).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readManifests } from '../src/adapters/files/directory.ts';
import { admit } from '../src/state/admit.ts';

const NETWORKS = Number(process.env.BENCH_SCALE_NETWORKS ?? 10_000);
const VNICS = Number(process.env.BENCH_SCALE_VNICS ?? 50_000);
const RUN_SECONDS = Number(process.env.BENCH_SCALE_RUN_SECONDS ?? 60);
const SETTLE_SECONDS = Number(process.env.BENCH_SCALE_SETTLE_SECONDS ?? 10);
/** validate and plan are stopped (SIGTERM) when they take longer, and reported unfinished. */
const LIMIT_SECONDS = Number(process.env.BENCH_SCALE_LIMIT_SECONDS ?? 300);
/** Networks per cluster (about): the clusters are round(NETWORKS / this), at least one. */
const NETWORKS_PER_CLUSTER = 1000;
const HOSTS_PER_CLUSTER = 10;
const VNICS_PER_VM = 5;
const NETWORKS_PER_FILE = 100;
const VNICS_PER_FILE = 500;

const root = fileURLToPath(new URL('../', import.meta.url));
const bin = join(root, 'bin/netform.mjs');
const out = fileURLToPath(new URL('./results/', import.meta.url));
const TIME = '/usr/bin/time';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// ---------------------------------------------------------------------------------------------------
// The manifests.

interface Layout {
  clusters: number;
  hosts: number;
  vms: number;
  files: number;
  bytes: number;
  objects: Record<string, number>;
}

/** Network i of the set: cluster i mod C, index j = floor(i / C) within it. Index 0 of each cluster is
 *  its untagged management network; the rest are VM networks, even ones with a VLAN from the pool, odd
 *  ones with a fixed VLAN, a subnet on every third, an IPv6 one too on every ninth, a few shared. */
function networkDoc(i: number, clusters: number): string {
  const k = i % clusters;
  const j = Math.floor(i / clusters);
  if (j === 0) {
    return `apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: c${k}-mgmt
spec:
  description: Host management of cluster cl-${k}, untagged
  physicalNetwork: mgmt-${k}
  subnets:
    - name: mgmt
      cidr: 172.${16 + (k >> 8)}.${k & 255}.0/24
      gateway: 172.${16 + (k >> 8)}.${k & 255}.1
      dnsServers: [172.${16 + (k >> 8)}.${k & 255}.53]`;
  }
  const lines = [
    'apiVersion: netform.io/v1alpha1',
    'kind: Network',
    'metadata:',
    `  name: c${k}-n${j}`,
    'spec:',
    `  description: Tenant network ${j} of cluster cl-${k}`,
    `  physicalNetwork: fabric-${k}`,
    j % 2 === 0 ? '  vlan:\n    poolRef:\n      name: tenant-vlans' : `  vlan:\n    id: ${2000 + j}`,
    '  label: vm',
  ];
  if (j % 4 === 1) lines.push('  mtu: 9000');
  else if (j % 4 === 3) lines.push('  mtu: 1500');
  if (j % 10 === 1) lines.push('  shared: true');
  else lines.push(`  allowedNamespaces: [tenant-${k}]`);
  if (j % 3 === 0) {
    const a = (i >> 8) & 255;
    const b = i & 255;
    lines.push(
      '  subnets:',
      `    - name: v4`,
      `      cidr: 10.${a}.${b}.0/24`,
      `      gateway: 10.${a}.${b}.1`,
      '      allocationPools:',
      `        - start: 10.${a}.${b}.10`,
      `          end: 10.${a}.${b}.250`,
    );
    if (j % 9 === 0) lines.push('    - name: v6', `      cidr: 2001:db8:${i.toString(16)}::/64`, '      ipv6AddressMode: slaac', '      ipv6RaMode: slaac');
  }
  return lines.join('\n');
}

function networkName(k: number, j: number): string {
  return j === 0 ? `c${k}-mgmt` : `c${k}-n${j}`;
}

/** Networks in cluster k. */
function clusterSize(k: number, clusters: number): number {
  return Math.floor(NETWORKS / clusters) + (k < NETWORKS % clusters ? 1 : 0);
}

function generate(dir: string): Layout {
  const clusters = Math.max(1, Math.round(NETWORKS / NETWORKS_PER_CLUSTER));
  const objects: Record<string, number> = {};
  let files = 0;
  let bytes = 0;
  const write = (name: string, docs: string[], kind: string) => {
    const text = `${docs.join('\n---\n')}\n`;
    writeFileSync(join(dir, name), text);
    files++;
    bytes += Buffer.byteLength(text);
    objects[kind] = (objects[kind] ?? 0) + docs.length;
  };

  const pools = [
    `apiVersion: netform.io/v1alpha1
kind: VlanPool
metadata:
  name: tenant-vlans
spec:
  description: Tenant VLANs of every cluster's fabric
  ranges:
${Array.from({ length: clusters }, (_, k) => `    - {physicalNetwork: fabric-${k}, min: 100, max: 1999}`).join('\n')}
  reserved:
${Array.from({ length: clusters }, (_, k) => `    - {physicalNetwork: fabric-${k}, min: 100, max: 109, reason: native and switch VLANs}`).join('\n')}`,
  ];
  write('pool.yaml', pools, 'VlanPool');
  write(
    'macpool.yaml',
    [
      `apiVersion: netform.io/v1alpha1
kind: MacPool
metadata:
  name: dc-macs
spec:
  description: MACs of the VMs' vNICs
  ranges:
    - {start: "56:6f:00:00:00:00", end: "56:6f:0f:ff:ff:ff"}`,
    ],
    'MacPool',
  );

  const clusterDocs: string[] = [];
  const hostDocs: string[] = [];
  const profileDocs: string[] = [];
  for (let k = 0; k < clusters; k++) {
    const n = clusterSize(k, clusters);
    const atts = Array.from({ length: n }, (_, j) => (j === 0 ? `    - {name: c${k}-mgmt, roles: [management, display, migration]}` : `    - {name: c${k}-n${j}, roles: [vm]}`));
    clusterDocs.push(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: cl-${k}
spec:
  description: Cluster ${k}
  defaultFabric: ovs
  macPoolRef:
    name: dc-macs
  networks:
${atts.join('\n')}`);
    for (let h = 0; h < HOSTS_PER_CLUSTER; h++) {
      hostDocs.push(`apiVersion: netform.io/v1alpha1
kind: Host
metadata:
  name: hv-${k}-${h}
spec:
  cluster: cl-${k}
  address: 172.${16 + (k >> 8)}.${k & 255}.${10 + h}
  nics:
    - name: ens3
      fabric: linux-bridge
      physicalNetworks: [mgmt-${k}]
    - name: ens4
      physicalNetworks: [fabric-${k}]
      labels: [vm]
    - name: ens5
      physicalNetworks: [fabric-${k}]
      labels: [vm]
  bonds:
    - name: bond0
      mode: 802.3ad
      members: [ens4, ens5]
      lacpRate: fast
      physicalNetworks: [fabric-${k}]
      labels: [vm]
  networks:
    - name: c${k}-mgmt
      interface: ens3
      address: 172.${16 + (k >> 8)}.${k & 255}.${10 + h}/24`);
    }
    if (n > 1) {
      profileDocs.push(`apiVersion: netform.io/v1alpha1
kind: VnicProfile
metadata:
  name: limited
  namespace: tenant-${k}
spec:
  network: c${k}-n1
  qos:
    inbound: {averageKbps: 100000, burstKb: 10000}
    outbound: {averageKbps: 100000, burstKb: 10000}`);
    }
  }
  write('clusters.yaml', clusterDocs, 'Cluster');
  write('hosts.yaml', hostDocs, 'Host');
  if (profileDocs.length) write('profiles.yaml', profileDocs, 'VnicProfile');

  for (let f = 0; f * NETWORKS_PER_FILE < NETWORKS; f++) {
    const docs: string[] = [];
    for (let i = f * NETWORKS_PER_FILE; i < Math.min(NETWORKS, (f + 1) * NETWORKS_PER_FILE); i++) docs.push(networkDoc(i, clusters));
    write(`networks-${String(f).padStart(4, '0')}.yaml`, docs, 'Network');
  }

  // VMs go round the clusters, and round the hosts of their cluster. A VM's first vNIC is on one of
  // the cluster's shared networks (with the cluster's profile when it is c<k>-n1), the others on its
  // tenant networks; every fourth vNIC names its MAC, the rest draw one from the MacPool.
  const vms = Math.ceil(VNICS / VNICS_PER_VM);
  const vmClusters = Array.from({ length: clusters }, (_, k) => k).filter((k) => clusterSize(k, clusters) > 1);
  for (let f = 0; f * VNICS_PER_FILE < VNICS; f++) {
    const docs: string[] = [];
    for (let a = f * VNICS_PER_FILE; a < Math.min(VNICS, (f + 1) * VNICS_PER_FILE); a++) {
      const vm = Math.floor(a / VNICS_PER_VM);
      const nic = (a % VNICS_PER_VM) + 1;
      const k = vmClusters[vm % vmClusters.length]!;
      const host = Math.floor(vm / vmClusters.length) % HOSTS_PER_CLUSTER;
      const n = clusterSize(k, clusters);
      const shared = Math.max(1, Math.floor((n - 2) / 10)); // j = 1, 11, 21, … below n
      const j = nic === 1 ? 1 + 10 * (vm % shared) : 1 + ((vm * 7 + nic * 131) % (n - 1));
      const lines = [
        'apiVersion: netform.io/v1alpha1',
        'kind: VnicAttachment',
        'metadata:',
        `  name: vm${vm}-nic${nic}`,
        `  namespace: tenant-${k}`,
        'spec:',
        `  vm: {name: vm${vm}}`,
        `  interfaceName: nic${nic}`,
        `  network: ${networkName(k, j)}`,
        `  host: hv-${k}-${host}`,
      ];
      if (a % 4 === 0) lines.push(`  mac: "52:54:00:${hex((a >> 16) & 255)}:${hex((a >> 8) & 255)}:${hex(a & 255)}"`);
      if (j === 1 && vm % 2 === 0) lines.push('  profileRef: {name: limited}');
      docs.push(lines.join('\n'));
    }
    write(`vnics-${String(f).padStart(4, '0')}.yaml`, docs, 'VnicAttachment');
  }
  return { clusters, hosts: clusters * HOSTS_PER_CLUSTER, vms, files, bytes, objects };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------------
// Child processes.

interface ProcStatus {
  hwmKB: number;
  rssKB: number;
}

function procStatus(pid: number): ProcStatus | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { hwmKB: kb('VmHWM'), rssKB: kb('VmRSS') };
  } catch {
    return undefined;
  }
}

interface Measured {
  exitCode: number | null;
  /** False when it was stopped (SIGTERM) at the time limit. */
  finished: boolean;
  wallMs: number;
  peakRssMB: number;
  method: 'time -v' | 'VmHWM polled';
  stdoutBytes: number;
  stdoutTail: string;
  stderrTail: string;
}

const mb = (kb: number) => Math.round(kb / 1024);

/** The first child of a process (the command `/usr/bin/time` started). */
function firstChild(pid: number): number | undefined {
  try {
    const pids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    return pids[0] || undefined;
  } catch {
    return undefined;
  }
}

/** Runs `netform ARGS` to its end, or stops it with SIGTERM after `limitSeconds`: wall time, peak RSS. */
function measure(args: string[], limitSeconds: number): Promise<Measured> {
  const useTime = existsSync(TIME);
  const argv = useTime ? ['-v', process.execPath, bin, ...args] : [bin, ...args];
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(useTime ? TIME : process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NETFORM_LOG_LEVEL: 'warn' } });
    let stdoutBytes = 0;
    let stdoutTail = '';
    let stderrTail = '';
    let finished = true;
    child.stdout.on('data', (d: Buffer) => {
      stdoutBytes += d.length;
      stdoutTail = (stdoutTail + d.toString()).slice(-4096);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-8192);
    });
    let polledKB = 0;
    const poll = useTime ? undefined : setInterval(() => (polledKB = Math.max(polledKB, procStatus(child.pid!)?.hwmKB ?? 0)), 50);
    const limit = setTimeout(() => {
      finished = false;
      const pid = useTime ? firstChild(child.pid!) : child.pid;
      if (!useTime) polledKB = Math.max(polledKB, procStatus(child.pid!)?.hwmKB ?? 0);
      if (pid) process.kill(pid, 'SIGTERM');
    }, limitSeconds * 1000);
    child.on('error', rej);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      clearTimeout(limit);
      if (poll) clearInterval(poll);
      let peakKB = polledKB;
      let exitCode = code;
      if (useTime) {
        peakKB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderrTail)?.[1] ?? NaN);
        // time -v exits with its command's code, and says it: "Exit status: N".
        exitCode = Number(/Exit status: (\d+)/.exec(stderrTail)?.[1] ?? code);
      }
      res({ exitCode, finished, wallMs, peakRssMB: mb(peakKB), method: useTime ? 'time -v' : 'VmHWM polled', stdoutBytes, stdoutTail, stderrTail });
    });
  });
}

interface RunMeasured {
  loadedMs: number | undefined;
  firstPassMs: number | undefined;
  firstPass: 'converged' | 'not-ready report' | 'not seen';
  objectsLoaded: number | undefined;
  notReadyReported: number;
  notReadyStates: Record<string, number>;
  peakRssMB: number;
  peakRssAtFirstPassMB: number | undefined;
  rssAtStopMB: number;
  /** Records in the state directory when it was stopped, by kind: how far its first pass got. */
  recordsAtStop: Record<string, number>;
  upMs: number;
  exitCode: number | null;
  stderrTail: string;
}

/** Starts `netform run`, waits for its first pass (or RUN_SECONDS), lets it settle, and stops it. */
function measureRun(dir: string, state: string): Promise<RunMeasured> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, 'run', '--dir', dir, '--state', state, '--ui', 'off'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      // The not-Ready report then comes only after a settled pass, not after run's default 120 s wait.
      env: { ...process.env, NETFORM_LOG_LEVEL: 'info', NETFORM_TIMEOUT_SECONDS: '86400' },
    });
    const pid = child.pid!;
    let loadedMs: number | undefined;
    let firstPassMs: number | undefined;
    let firstPass: RunMeasured['firstPass'] = 'not seen';
    let objectsLoaded: number | undefined;
    let notReadyReported = 0;
    const notReadyStates: Record<string, number> = {};
    let hwmKB = 0;
    let peakAtFirstPassKB: number | undefined;
    let stderrTail = '';
    let partial = '';
    let stopping = false;
    const sample = () => {
      const s = procStatus(pid);
      // (Right after start the process re-executes itself: its status may lack the field for a moment.)
      if (s && Number.isFinite(s.hwmKB)) hwmKB = Math.max(hwmKB, s.hwmKB);
      return s;
    };
    const passDone = (how: RunMeasured['firstPass']) => {
      if (firstPassMs !== undefined) return;
      firstPassMs = performance.now() - t0;
      firstPass = how;
      peakAtFirstPassKB = sample()?.hwmKB;
      clearTimeout(deadline);
      setTimeout(stop, SETTLE_SECONDS * 1000);
    };
    child.stderr.on('data', (d: Buffer) => {
      const text = partial + d.toString();
      stderrTail = text.slice(-8192);
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        let entry: { msg?: string; objects?: number; object?: string; state?: string; level?: number };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (entry.msg === 'manifests loaded' && loadedMs === undefined) {
          loadedMs = performance.now() - t0;
          objectsLoaded = entry.objects;
        } else if (entry.msg?.startsWith('converged:')) {
          passDone('converged');
        } else if (loadedMs !== undefined && entry.object !== undefined && entry.state !== undefined && entry.level === 40) {
          // The not-Ready report after a settled pass: one warn line per object, written at once.
          notReadyReported++;
          notReadyStates[entry.state] = (notReadyStates[entry.state] ?? 0) + 1;
          passDone('not-ready report');
        }
      }
    });
    const poll = setInterval(sample, 200);
    let rssAtStopKB = NaN;
    let upMs = 0;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      const s = sample();
      rssAtStopKB = s?.rssKB ?? NaN;
      upMs = performance.now() - t0;
      child.kill('SIGTERM');
    };
    // Not through its first pass by RUN_SECONDS: measured as it stands then.
    const deadline = setTimeout(stop, RUN_SECONDS * 1000);
    child.on('error', rej);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(deadline);
      res({
        loadedMs,
        firstPassMs,
        firstPass,
        objectsLoaded,
        notReadyReported,
        notReadyStates,
        peakRssMB: mb(hwmKB),
        peakRssAtFirstPassMB: peakAtFirstPassKB === undefined ? undefined : mb(peakAtFirstPassKB),
        rssAtStopMB: mb(rssAtStopKB),
        recordsAtStop: recordsIn(state),
        upMs,
        exitCode: code,
        stderrTail,
      });
    });
  });
}

/** Records (`objects/<Kind>/…/*.json`) in a state directory, by kind. */
function recordsIn(state: string): Record<string, number> {
  const out: Record<string, number> = {};
  const count = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(dir, e.name)) : e.name.endsWith('.json') ? 1 : 0), 0);
  const objects = join(state, 'objects');
  if (!existsSync(objects)) return out;
  for (const kind of readdirSync(objects, { withFileTypes: true })) if (kind.isDirectory()) out[kind.name] = count(join(objects, kind.name));
  return out;
}

function total(counts: Record<string, number> | undefined): number | undefined {
  return counts && Object.values(counts).reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------------
// Admission in this process.

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function admission(dir: string) {
  const readMs: number[] = [];
  const admitMs: number[] = [];
  let heapBeforeAdmitMB = 0;
  let heapHeldMB = 0;
  let objects = 0;
  let errors = 0;
  let firstError: string | undefined;
  for (let i = 0; i < 3; i++) {
    gc();
    const t0 = performance.now();
    const files = await readManifests([dir]);
    const t1 = performance.now();
    gc();
    const before = process.memoryUsage().heapUsed;
    const t2 = performance.now();
    let result: ReturnType<typeof admit> | undefined = admit(files);
    const t3 = performance.now();
    readMs.push(t1 - t0);
    admitMs.push(t3 - t2);
    gc();
    heapBeforeAdmitMB = before / 1024 / 1024;
    heapHeldMB = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
    objects = result.objects.size;
    errors = result.errors.length;
    firstError = result.errors[0]?.message;
    result = undefined;
  }
  return {
    readMsRuns: readMs.map(Math.round),
    admitMsRuns: admitMs.map(Math.round),
    readMsMedian: Math.round(median(readMs)),
    admitMsMedian: Math.round(median(admitMs)),
    totalMsMedian: Math.round(median(readMs.map((r, i) => r + admitMs[i]!))),
    heapBeforeAdmitMB: Math.round(heapBeforeAdmitMB * 10) / 10,
    heapHeldByResultMB: Math.round(heapHeldMB * 10) / 10,
    objects,
    errors,
    firstError,
  };
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'netform-scale-'));
  const dir = join(tmp, 'manifests');
  mkdirSync(dir);
  const say = (s: string) => process.stderr.write(`scale: ${s}\n`);
  try {
    const load = loadavg()[0]!;
    const tg = performance.now();
    const layout = generate(dir);
    say(`${NETWORKS} networks, ${VNICS} vNICs (${layout.vms} VMs on ${layout.hosts} hosts in ${layout.clusters} clusters): ${layout.files} files, ${(layout.bytes / 1024 / 1024).toFixed(1)} MB, in ${Math.round(performance.now() - tg)} ms`);

    // Node's compile cache (ADR 29) filled first, as it is for every command after the first one after
    // an install: all three commands run without the type stripper. (A cold cache costs about 20 MB.)
    const warm = await new Promise<boolean>((res) => {
      const c = spawn(process.execPath, [join(root, 'bin/warm-compile-cache.mjs')], { stdio: 'ignore' });
      c.on('exit', (code) => res(code === 0));
      c.on('error', () => res(false));
    });
    say(`compile cache ${warm ? 'filled' : 'NOT filled'} (bin/warm-compile-cache.mjs)`);

    say('validate …');
    const validate = await measure(['validate', dir], LIMIT_SECONDS);
    if (!validate.finished) say(`validate: stopped after ${LIMIT_SECONDS} s`);
    else if (validate.exitCode !== 0) say(`validate exited ${validate.exitCode}:\n${validate.stderrTail}${validate.stdoutTail}`);
    const verdict = /^(valid|invalid)[^\n]*/m.exec(validate.stdoutTail)?.[0];

    say('plan …');
    const planState = join(tmp, 'plan-state');
    mkdirSync(planState);
    const plan = await measure(['plan', '--dir', dir, '--state', planState], LIMIT_SECONDS);
    if (!plan.finished) say(`plan: stopped after ${LIMIT_SECONDS} s`);
    else if (plan.exitCode !== 2) say(`plan exited ${plan.exitCode} (2 is "changes pending"):\n${plan.stderrTail.slice(-2000)}`);

    say(`run (first pass or ${RUN_SECONDS} s, then ${SETTLE_SECONDS} s) …`);
    const run = await measureRun(dir, join(tmp, 'run-state'));
    if (run.firstPass === 'not seen') say(`run: no first pass within ${RUN_SECONDS} s; measured as it stood`);

    say('admission in this process …');
    const adm = await admission(dir);
    if (adm.errors) say(`admission: ${adm.errors} errors, the first: ${adm.firstError}`);

    const cpu = cpus();
    const figures = {
      date: new Date().toISOString(),
      machine: {
        cpu: cpu[0]?.model ?? 'unknown',
        cores: cpu.length,
        memoryGB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
        node: process.version,
        kernel: release(),
        loadAverage1mAtStart: Math.round(load * 100) / 100,
      },
      sizes: {
        networks: NETWORKS,
        vnics: VNICS,
        vms: layout.vms,
        hosts: layout.hosts,
        clusters: layout.clusters,
        objects: layout.objects,
        files: layout.files,
        manifestMB: Math.round((layout.bytes / 1024 / 1024) * 10) / 10,
      },
      targets: { rssMB: 300, admissionMs: 5000 },
      compileCache: warm ? 'warm (bin/warm-compile-cache.mjs before the commands)' : 'cold (filling it failed)',
      limitSeconds: LIMIT_SECONDS,
      validate: { wallMs: Math.round(validate.wallMs), finished: validate.finished, peakRssMB: validate.peakRssMB, exitCode: validate.exitCode, verdict, method: validate.method },
      plan: { wallMs: Math.round(plan.wallMs), finished: plan.finished, peakRssMB: plan.peakRssMB, exitCode: plan.exitCode, outputMB: Math.round((plan.stdoutBytes / 1024 / 1024) * 10) / 10, method: plan.method },
      run: {
        loadedMs: run.loadedMs === undefined ? null : Math.round(run.loadedMs),
        objectsLoaded: run.objectsLoaded ?? null,
        firstPassMs: run.firstPassMs === undefined ? null : Math.round(run.firstPassMs),
        firstPass: run.firstPass,
        notReadyReported: run.notReadyReported,
        notReadyStates: run.notReadyStates,
        peakRssMB: run.peakRssMB,
        peakRssAtFirstPassMB: run.peakRssAtFirstPassMB ?? null,
        rssAtStopMB: run.rssAtStopMB,
        recordsAtStop: run.recordsAtStop,
        settledRssMB: run.firstPass === 'not seen' ? null : run.rssAtStopMB,
        upMs: Math.round(run.upMs),
        runSeconds: RUN_SECONDS,
        settleSeconds: SETTLE_SECONDS,
        exitCode: run.exitCode,
        method: 'VmHWM/VmRSS from /proc',
      },
      admission: { ...adm, maxRssOfThisProcessMB: Math.round(process.resourceUsage().maxRSS / 1024) },
    };

    mkdirSync(out, { recursive: true });
    const latest = `${out}scale-latest.json`;
    const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Partial<typeof figures>) : undefined;
    writeFileSync(latest, `${JSON.stringify(figures, null, 2)}\n`);
    writeFileSync(`${out}scale-${figures.date.slice(0, 10)}.json`, `${JSON.stringify(figures, null, 2)}\n`);
    const p = previous;
    /** Wall time, marked when the command was stopped at the limit. */
    const ms = (x: { wallMs: number; finished?: boolean }) => (x.finished === false ? `>${x.wallMs} (stopped)` : x.wallMs);
    const rows: [string, unknown, unknown][] = [
      ['networks', figures.sizes.networks, p?.sizes?.networks],
      ['vNICs', figures.sizes.vnics, p?.sizes?.vnics],
      ['validate wall ms', ms(figures.validate), p?.validate && ms(p.validate)],
      ['validate peak RSS MB (target 300)', figures.validate.peakRssMB, p?.validate?.peakRssMB],
      ['plan wall ms', ms(figures.plan), p?.plan && ms(p.plan)],
      ['plan peak RSS MB (target 300)', figures.plan.peakRssMB, p?.plan?.peakRssMB],
      ['run: objects loaded', figures.run.objectsLoaded, p?.run?.objectsLoaded],
      ['run: manifests loaded at ms', figures.run.loadedMs, p?.run?.loadedMs],
      ['run: first pass done at ms', figures.run.firstPassMs ?? '-', p?.run?.firstPassMs],
      ['run: first pass', figures.run.firstPass, p?.run?.firstPass],
      ['run peak RSS MB (target 300)', figures.run.peakRssMB, p?.run?.peakRssMB],
      ['run RSS after settling MB', figures.run.settledRssMB ?? '-', p?.run?.settledRssMB],
      ['run RSS at stop MB', figures.run.rssAtStopMB, p?.run?.rssAtStopMB],
      ['run: records written by the stop', total(figures.run.recordsAtStop), total(p?.run?.recordsAtStop)],
      ['admission: read ms (median of 3)', figures.admission.readMsMedian, p?.admission?.readMsMedian],
      ['admission: admit() ms (median of 3)', figures.admission.admitMsMedian, p?.admission?.admitMsMedian],
      ['admission: read+admit ms (target 5000)', figures.admission.totalMsMedian, p?.admission?.totalMsMedian],
      ['admission: heap held by result MB', figures.admission.heapHeldByResultMB, p?.admission?.heapHeldByResultMB],
      ['admission: max RSS of this process MB', figures.admission.maxRssOfThisProcessMB, p?.admission?.maxRssOfThisProcessMB],
      ['admission: objects admitted', figures.admission.objects, p?.admission?.objects],
      ['admission: errors', figures.admission.errors, p?.admission?.errors],
    ];
    process.stdout.write(`${'scale figure'.padEnd(42)}${'now'.padStart(18)}${'previous'.padStart(18)}\n`);
    for (const [k, v, pv] of rows) process.stdout.write(`${k.padEnd(42)}${String(v).padStart(18)}${String(pv ?? '-').padStart(18)}\n`);
    process.stdout.write(`machine: ${figures.machine.cpu}, ${figures.machine.cores} cores, ${figures.machine.memoryGB} GB, node ${figures.machine.node}, load ${figures.machine.loadAverage1mAtStart} at start\n`);
    process.stdout.write(`written to ${latest}\n`);
  } finally {
    if (process.env.BENCH_SCALE_KEEP) say(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

// `node bench/scale.ts --generate DIR`: only writes the manifests to DIR (for profiling by hand).
const at = process.argv.indexOf('--generate');
if (at > 0) {
  const dir = process.argv[at + 1];
  if (!dir) throw new Error('--generate needs a directory');
  mkdirSync(dir, { recursive: true });
  const layout = generate(dir);
  process.stdout.write(`${JSON.stringify({ dir, networks: NETWORKS, vnics: VNICS, ...layout })}\n`);
} else {
  await main();
}

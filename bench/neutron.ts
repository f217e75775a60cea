// Neutron benchmark (part of `npm run bench`): N networks, each with one subnet, on the real Neutron of
// test/harness/neutron.sh (Debian 12's packages, noauth, loopback), every arm from an empty Neutron:
//   netform   — `netform apply` as an operator runs it (a CLI process, manifests in a temporary directory,
//               a fresh state directory): from cold; then BENCH_NEUTRON_VNICS (default 5 × N) vNICs added
//               (VnicAttachments of VMs on 10 Hosts, MACs from a MacPool: a Neutron port each); again
//               with the same state (the no-op, networks and vNICs); again after the state directory is
//               deleted (state loss: everything is adopted by its owner tags)
//   floor     — the same N created by raw bulk API calls: one POST for the networks, one for the subnets
//   openstack — one `openstack` CLI process per operation (network create, subnet create), measured at
//               BENCH_CLI_N (default 50) and extrapolated linearly to N
//   ansible   — Debian's `ansible` with its bundled `openstack.cloud` collection, one playbook creating
//               BENCH_ANSIBLE_N (default 50) networks and subnets, extrapolated to N (the playbook's
//               start-up, measured with an empty playbook, counted once)
// Request counts come from Neutron's own access log, cut into phases by marker requests
// (bench/neutron-log.ts). Writes bench/results/neutron-latest.json and prints the figures with the
// previous run's. Not a test: nothing here fails on a figure.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureCommands } from '../test/harness/apt.ts';
import { startNeutron } from '../test/harness/neutron-server.ts';
import { countRequests, countRoutes, cpuSecondsFromStat, extrapolate, parentPidFromStat, processTree, findMarker, markerQuery, type RequestCounts } from './neutron-log.ts';

const exec = promisify(execFile);
const N = Number(process.env.BENCH_NEUTRON_N ?? 1000);
/** Neutron's API worker processes: 0 (the default) is one API process; Neutron's own default is one per CPU. */
const API_WORKERS = Number(process.env.BENCH_NEUTRON_API_WORKERS ?? 0);
const VNICS = Number(process.env.BENCH_NEUTRON_VNICS ?? 5 * N);
const VNICS_PER_VM = 5;
const HOSTS = 10;
const CLI_N = Math.min(N, Number(process.env.BENCH_CLI_N ?? 50));
const ANSIBLE_N = Math.min(N, Number(process.env.BENCH_ANSIBLE_N ?? 50));
const out = fileURLToPath(new URL('./results/', import.meta.url));
const NETFORM = fileURLToPath(new URL('../bin/netform.mjs', import.meta.url));
const SYSTEM_COLLECTION = '/usr/lib/python3/dist-packages/ansible_collections/openstack/cloud';
/** Debian's tools run under Debian's python3 (openstacksdk is installed there), whatever comes first on the PATH. */
const SYSTEM_PATH = `/usr/bin:${process.env.PATH ?? ''}`;
const work = mkdtempSync(join(tmpdir(), 'netform-bench-neutron-'));

const vlan = (i: number) => 1000 + i;
const cidr = (i: number) => `10.${1 + Math.floor(i / 256)}.${i % 256}.0/24`;
const say = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function api(url: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function inventory(url: string): Promise<{ networks: number; subnets: number; ports: number }> {
  const { networks } = (await api(url, 'GET', '/v2.0/networks?fields=id')) as { networks: unknown[] };
  const { subnets } = (await api(url, 'GET', '/v2.0/subnets?fields=id')) as { subnets: unknown[] };
  const { ports } = (await api(url, 'GET', '/v2.0/ports?fields=id')) as { ports: unknown[] };
  return { networks: networks.length, subnets: subnets.length, ports: ports.length };
}

/** Deletes every port, then every network (with its subnets) and QoS policy, four at a time. */
async function wipe(url: string): Promise<void> {
  const four = async (items: { id: string }[], path: string) => {
    const queue = [...items];
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let x = queue.pop(); x; x = queue.pop()) await api(url, 'DELETE', `/v2.0/${path}/${x.id}`);
    }));
  };
  await four(((await api(url, 'GET', '/v2.0/ports?fields=id')) as { ports: { id: string }[] }).ports, 'ports');
  await four(((await api(url, 'GET', '/v2.0/networks?fields=id')) as { networks: { id: string }[] }).networks, 'networks');
  const { policies } = (await api(url, 'GET', '/v2.0/qos/policies?fields=id')) as { policies: { id: string }[] };
  for (const p of policies) await api(url, 'DELETE', `/v2.0/qos/policies/${p.id}`);
}

/** Neutron's own log, cut into phases by marker requests. */
/** CPU seconds Neutron's API process and its MariaDB used in a phase. */
interface PhaseCpu {
  neutronS: number;
  mariadbS: number;
}

class ServerLog {
  readonly url: string;
  readonly file: string;
  readonly #pids: { neutron: number; mariadb: number };
  constructor(url: string, file: string, pids: { neutron: number; mariadb: number }) {
    this.url = url;
    this.file = file;
    this.#pids = pids;
  }

  /** Neutron's CPU is its server process's and all its workers' (API, RPC, periodic). */
  #cpu(): PhaseCpu {
    const stats = new Map<number, string>();
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        stats.set(Number(e), readFileSync(`/proc/${e}/stat`, 'utf8'));
      } catch {
        // gone meanwhile
      }
    }
    const parents = new Map([...stats].map(([pid, stat]) => [pid, parentPidFromStat(stat)]));
    const cpu = (pid: number) => (stats.has(pid) ? cpuSecondsFromStat(stats.get(pid)!) : 0);
    const neutronS = processTree(this.#pids.neutron, parents).reduce((sum, pid) => sum + cpu(pid), 0);
    return { neutronS, mariadbS: cpu(this.#pids.mariadb) };
  }

  /** Sends the marker request and waits until Neutron has logged it; returns its line's offsets. */
  async mark(label: string): Promise<{ start: number; end: number }> {
    await api(this.url, 'GET', markerQuery(label));
    for (let i = 0; i < 500; i++) {
      const found = findMarker(readFileSync(this.file, 'utf8'), label);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`marker ${label} never reached ${this.file}`);
  }

  /** Runs `fn` between two markers and counts the requests Neutron logged in between. */
  async phase<T>(label: string, fn: () => Promise<T>): Promise<{ result: T; requests: RequestCounts; routes: Record<string, number>; cpu: PhaseCpu }> {
    const from = (await this.mark(`${label}-start`)).end;
    const cpu0 = this.#cpu();
    const result = await fn();
    const cpu1 = this.#cpu();
    const to = (await this.mark(`${label}-end`)).start;
    const text = readFileSync(this.file, 'utf8').slice(from, to);
    const r1 = (x: number) => Math.round(x * 10) / 10;
    return { result, requests: countRequests(text), routes: countRoutes(text), cpu: { neutronS: r1(cpu1.neutronS - cpu0.neutronS), mariadbS: r1(cpu1.mariadbS - cpu0.mariadbS) } };
  }
}

// ---- netform apply ----------------------------------------------------------------------------------

function writeManifests(dir: string, url: string): void {
  mkdirSync(dir, { recursive: true });
  // requestTimeoutSeconds 600: a port bound to a host with no agent (the vNICs below) costs this Neutron
  // about 0.37 s (ML2 tries the binding 10 times), so a bulk of 100 takes about 37 s, and 8 bulks in
  // flight queue in its one API process for minutes; at the default 30 s they would time out.
  writeFileSync(join(dir, 'provider.yaml'), `apiVersion: netform.io/v1beta1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, connection: {endpoint: "${url}", maxConcurrency: 8, requestTimeoutSeconds: 600}, neutron: {auth: noauth}}\n`);
  const docs: string[] = [];
  for (let i = 0; i < N; i++) {
    // allowedNamespaces is netform's own (which namespaces' vNICs may use it): nothing on Neutron.
    docs.push(`apiVersion: netform.io/v1beta1\nkind: Network\nmetadata: {name: nf-${i}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${vlan(i)}}, subnets: [{name: s, cidr: ${cidr(i)}}], allowedNamespaces: [vms], providerRefs: [{name: os}]}\n`);
  }
  writeFileSync(join(dir, 'networks.yaml'), docs.join('---\n'));
}

/**
 * The vNICs, added to the same directory: a Cluster with the N networks (role vm) and a MacPool, 10
 * Hosts whose NIC carries physnet1's VM networks, and VNICS VnicAttachments: VM v's vNICs on networks
 * 5v … 5v+4 (mod N), the VMs round the Hosts, MACs drawn from the pool. The Hosts have no agent here,
 * so they stay not Ready (and `apply` exits 1); each vNIC is a Neutron port on its network, bound to its
 * Host by name (binding:host_id).
 */
function writeVnicManifests(dir: string): void {
  const roles = Array.from({ length: N }, (_, i) => `{name: nf-${i}, roles: [vm]}`).join(', ');
  writeFileSync(
    join(dir, 'cluster.yaml'),
    [
      'apiVersion: netform.io/v1beta1\nkind: MacPool\nmetadata: {name: macs}\nspec: {ranges: [{start: "56:6f:00:00:00:00", end: "56:6f:00:ff:ff:ff"}]}\n',
      `apiVersion: netform.io/v1beta1\nkind: Cluster\nmetadata: {name: bench}\nspec: {macPoolRef: {name: macs}, networks: [${roles}]}\n`,
      ...Array.from({ length: HOSTS }, (_, h) => `apiVersion: netform.io/v1beta1\nkind: Host\nmetadata: {name: hv-${h}}\nspec: {clusterRef: {name: bench}, nics: [{name: ens4, physicalNetworks: [physnet1], labels: [vm]}]}\n`),
    ].join('---\n'),
  );
  const docs: string[] = [];
  for (let a = 0; a < VNICS; a++) {
    const vm = Math.floor(a / VNICS_PER_VM);
    const nic = (a % VNICS_PER_VM) + 1;
    docs.push(`apiVersion: netform.io/v1beta1\nkind: VnicAttachment\nmetadata: {name: vm${vm}-nic${nic}, namespace: vms}\nspec: {vm: {name: vm${vm}}, interfaceName: nic${nic}, networkRef: {name: nf-${a % N}}, hostRef: {name: hv-${vm % HOSTS}}}\n`);
  }
  writeFileSync(join(dir, 'vnics.yaml'), docs.join('---\n'));
}

interface ApplyRun {
  ms: number;
  exitCode: number;
}

/** One `netform apply` process, timed from spawn to exit. */
async function netformApply(dir: string, state: string): Promise<ApplyRun> {
  const args = [NETFORM, '--log-level', 'warn', 'apply', '--dir', dir, '--state', state, '--timeout', '7200'];
  const t0 = performance.now();
  try {
    // 64 reconciles in parallel (NETFORM_CONCURRENCY; the default is 4): creates coalesce into bulk
    // POSTs only as far as reconciles run side by side (ADR 24). Requests in flight stay bounded by the
    // Provider's maxConcurrency (8).
    await exec(process.execPath, args, { maxBuffer: 256 << 20, env: { ...process.env, NETFORM_CONCURRENCY: process.env.NETFORM_CONCURRENCY ?? '64' } });
    return { ms: performance.now() - t0, exitCode: 0 };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    const ms = performance.now() - t0;
    say(`netform apply exited ${err.code}: ${(err.stderr ?? '').split('\n').slice(-6).join(' | ')}`);
    return { ms, exitCode: typeof err.code === 'number' ? err.code : -1 };
  }
}

// ---- the floor --------------------------------------------------------------------------------------

async function floor(url: string): Promise<{ ms: number; networkIds: string[] }> {
  const t0 = performance.now();
  const nets = (await api(url, 'POST', '/v2.0/networks', {
    networks: Array.from({ length: N }, (_, i) => ({ name: `fl-${i}`, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': vlan(i) })),
  })) as { networks: { id: string }[] };
  await api(url, 'POST', '/v2.0/subnets', {
    subnets: nets.networks.map((n, i) => ({ network_id: n.id, name: 's', ip_version: 4, cidr: cidr(i) })),
  });
  return { ms: performance.now() - t0, networkIds: nets.networks.map((n) => n.id) };
}

/**
 * What tagging each floor network once costs on its own: one `PUT …/tags` per network, one at a time,
 * with three tags as netform's (Neutron takes no tags in a network's POST). Not part of the floor.
 */
async function floorTags(url: string, ids: readonly string[]): Promise<{ ms: number }> {
  const t0 = performance.now();
  for (const [i, id] of ids.entries()) await api(url, 'PUT', `/v2.0/networks/${id}/tags`, { tags: ['netform', 'nf-inst:bench', `nf-own:floor-${i}`] });
  return { ms: performance.now() - t0 };
}

// ---- one openstack CLI process per operation --------------------------------------------------------

const openstack = (url: string, ...args: string[]) =>
  exec('openstack', ['--os-auth-type', 'none', '--os-endpoint', url, ...args], { env: { ...process.env, PATH: SYSTEM_PATH } });

async function openstackCli(url: string): Promise<{ ms: number; processes: number }> {
  const t0 = performance.now();
  for (let i = 0; i < CLI_N; i++) {
    const { stdout } = await openstack(url, 'network', 'create', `os-${i}`, '--provider-network-type', 'vlan', '--provider-physical-network', 'physnet1', '--provider-segment', String(vlan(i)), '-f', 'value', '-c', 'id');
    await openstack(url, 'subnet', 'create', 's', '--network', stdout.trim(), '--subnet-range', cidr(i), '-f', 'value', '-c', 'id');
  }
  return { ms: performance.now() - t0, processes: 2 * CLI_N };
}

// ---- Ansible openstack.cloud ------------------------------------------------------------------------

/**
 * A copy of Debian's openstack.cloud collection that accepts Debian's openstacksdk: the collection (1.10.0)
 * caps openstacksdk at 0.98.999 and bookworm ships 0.101.0 (/work/shared/reference/neutron.md §13). The
 * system collection stays untouched. Returns the directory for ANSIBLE_COLLECTIONS_PATH and the version.
 */
function ansibleCollections(): { path: string; version: string } {
  const path = join(work, 'collections');
  const target = join(path, 'ansible_collections', 'openstack', 'cloud');
  cpSync(SYSTEM_COLLECTION, target, { recursive: true });
  const util = join(target, 'plugins', 'module_utils', 'openstack.py');
  const text = readFileSync(util, 'utf8');
  const lifted = text.replace(/^MAXIMUM_SDK_VERSION = .*$/m, 'MAXIMUM_SDK_VERSION = None');
  if (lifted === text) throw new Error(`no MAXIMUM_SDK_VERSION in ${util}`);
  writeFileSync(util, lifted);
  const version = (JSON.parse(readFileSync(join(target, 'MANIFEST.json'), 'utf8')) as { collection_info: { version: string } }).collection_info.version;
  return { path, version };
}

/** The playbook an operator would write: a loop of openstack.cloud.network, then one of openstack.cloud.subnet. JSON is YAML. */
function playbook(url: string, n: number): string {
  const auth = { auth_type: 'none', auth: { endpoint: url } };
  const items = Array.from({ length: n }, (_, i) => ({ name: `an-${i}`, vlan: vlan(i), cidr: cidr(i) }));
  const tasks = n === 0 ? [] : [
    { name: 'networks', 'openstack.cloud.network': { ...auth, name: '{{ item.name }}', provider_network_type: 'vlan', provider_physical_network: 'physnet1', provider_segmentation_id: '{{ item.vlan }}', state: 'present' }, loop: items },
    { name: 'subnets', 'openstack.cloud.subnet': { ...auth, name: '{{ item.name }}-s', network_name: '{{ item.name }}', cidr: '{{ item.cidr }}', state: 'present' }, loop: items },
  ];
  return `${JSON.stringify([{ hosts: 'localhost', gather_facts: false, tasks }], null, 1)}\n`;
}

async function ansiblePlaybook(collections: string, url: string, n: number): Promise<number> {
  const file = join(work, `play-${n}.yml`);
  writeFileSync(file, playbook(url, n));
  const env = {
    ...process.env,
    PATH: SYSTEM_PATH,
    ANSIBLE_COLLECTIONS_PATH: collections,
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_LOCALHOST_WARNING: 'false',
    ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false',
  };
  const t0 = performance.now();
  try {
    await exec('ansible-playbook', ['-i', 'localhost,', '-c', 'local', file], { env, maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { stdout?: string };
    throw new Error(`ansible-playbook failed: ${(err.stdout ?? '').split('\n').filter((l) => l.includes('FAILED') || l.includes('fatal')).slice(0, 3).join(' | ')}`);
  }
  return performance.now() - t0;
}

// ---- the machine ------------------------------------------------------------------------------------

async function dpkgVersion(pkg: string): Promise<string | null> {
  try {
    return (await exec('dpkg-query', ['-W', '-f', '${Version}', pkg])).stdout.trim() || null;
  } catch {
    return null;
  }
}

async function machine(collection: string) {
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : null);
  let commit: string | null = null;
  try {
    commit = (await exec('git', ['rev-parse', '--short', 'HEAD'], { cwd: fileURLToPath(new URL('..', import.meta.url)) })).stdout.trim();
  } catch {}
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    debian: read('/etc/debian_version'),
    kernel: release(),
    node: process.version,
    neutron: await dpkgVersion('python3-neutron'),
    openstackclient: await dpkgVersion('python3-openstackclient'),
    openstacksdk: await dpkgVersion('python3-openstacksdk'),
    ansible: await dpkgVersion('ansible'),
    ansibleCore: await dpkgVersion('ansible-core'),
    openstackCloudCollection: collection,
    loadAverage1mAtStart: Math.round(loadavg()[0]! * 10) / 10,
    commit,
  };
}

// ---- the run ----------------------------------------------------------------------------------------

let collections: { path: string; version: string };
try {
  ensureCommands({ 'ansible-playbook': 'ansible' });
  collections = ansibleCollections();
} catch (e) {
  rmSync(work, { recursive: true, force: true });
  throw e;
}
const host = await machine(collections.version);
const neutron = await startNeutron({ apiWorkers: API_WORKERS });
try {
  const url = neutron.url;
  const pid = (file: string) => Number(readFileSync(join(neutron.dir, file), 'utf8').trim());
  const log = new ServerLog(url, join(neutron.dir, 'log', 'neutron-server.log'), { neutron: pid('state/neutron-server.pid'), mariadb: pid('mysql/mariadbd.bgpid') });
  say(`Neutron on ${url} (${API_WORKERS ? `${API_WORKERS} API workers` : 'one API process'}); N = ${N}; openstack CLI at ${CLI_N}, Ansible at ${ANSIBLE_N}, both extrapolated to N`);

  const manifests = join(work, 'manifests');
  const state = join(work, 'state');
  writeManifests(manifests, url);
  say('netform apply, from cold');
  const cold = await log.phase('cold', () => netformApply(manifests, state));
  const coldHas = await inventory(url);
  let vnics: { result: ApplyRun; requests: RequestCounts; routes: Record<string, number>; cpu: PhaseCpu } | undefined;
  let vnicsHas: Awaited<ReturnType<typeof inventory>> | undefined;
  if (VNICS > 0) {
    writeVnicManifests(manifests);
    say(`netform apply with ${VNICS} vNICs added`);
    vnics = await log.phase('vnics', () => netformApply(manifests, state));
    vnicsHas = await inventory(url);
  }
  say('netform apply again, same state (no-op)');
  const noop = await log.phase('noop', () => netformApply(manifests, state));
  rmSync(state, { recursive: true, force: true });
  say('netform apply after the state directory was deleted (state loss)');
  const lost = await log.phase('state-loss', () => netformApply(manifests, state));
  const lostHas = await inventory(url);
  await wipe(url);

  say('floor: two bulk POSTs');
  const fl = await log.phase('floor', () => floor(url));
  say('the floor networks tagged, one PUT each');
  const ft = await log.phase('floor-tags', () => floorTags(url, fl.result.networkIds));
  await wipe(url);

  say(`openstack CLI, ${CLI_N} networks`);
  await openstack(url, 'network', 'list', '-f', 'value', '-c', 'ID'); // warm the Python caches, as a long-lived script would have
  const os = await log.phase('openstack-cli', () => openstackCli(url));
  await wipe(url);

  say(`Ansible, ${ANSIBLE_N} networks`);
  const ansibleStartupMs = await ansiblePlaybook(collections.path, url, 0); // also the warm-up
  const an = await log.phase('ansible', () => ansiblePlaybook(collections.path, url, ANSIBLE_N));
  const ansibleHas = await inventory(url);
  await wipe(url);

  const r = (x: number) => Math.round(x);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const cliMs = extrapolate(os.result.ms, CLI_N, N);
  const ansibleMs = extrapolate(an.result, ANSIBLE_N, N, ansibleStartupMs);
  const figures = {
    date: new Date().toISOString(),
    n: N,
    machine: { ...host, loadAverage1mAtEnd: Math.round(loadavg()[0]! * 10) / 10 },
    neutronApiWorkers: API_WORKERS,
    measuredThrough: 'netform apply: one CLI process per run (bin/netform.mjs), wall time from spawn to exit',
    requestsFrom: "the Neutron server's own access log (neutron.wsgi lines), between marker requests",
    netformColdMs: r(cold.result.ms),
    netformColdExitCode: cold.result.exitCode,
    netformColdNeutronHas: coldHas,
    netformColdCalls: cold.requests,
    netformColdRoutes: cold.routes,
    netformColdCpu: cold.cpu,
    vnics: VNICS,
    vnicHosts: VNICS > 0 ? HOSTS : 0,
    vnicsMs: vnics ? r(vnics.result.ms) : null,
    vnicsExitCode: vnics ? vnics.result.exitCode : null,
    vnicsCalls: vnics?.requests ?? null,
    vnicsRoutes: vnics?.routes ?? null,
    vnicsCpu: vnics?.cpu ?? null,
    vnicsNeutronHas: vnicsHas ?? null,
    recheckCovers: VNICS > 0 ? `${N} networks and ${VNICS} vNICs` : `${N} networks`,
    recheckMs: r(noop.result.ms),
    recheckExitCode: noop.result.exitCode,
    recheckCalls: noop.requests,
    recheckRoutes: noop.routes,
    stateLossMs: r(lost.result.ms),
    stateLossExitCode: lost.result.exitCode,
    stateLossNeutronHas: lostHas,
    stateLossCalls: lost.requests,
    stateLossRoutes: lost.routes,
    floorMs: r(fl.result.ms),
    floorCalls: fl.requests,
    floorCpu: fl.cpu,
    floorTagsMs: r(ft.result.ms),
    floorTagsCalls: ft.requests,
    floorTagsCpu: ft.cpu,
    floorTagsOverFloor: r2(ft.result.ms / fl.result.ms),
    openstackCliMs: r(cliMs),
    openstackCliMeasured: { n: CLI_N, ms: r(os.result.ms), processes: os.result.processes, requests: os.requests },
    openstackCliExtrapolated: CLI_N < N ? `extrapolated from ${CLI_N} networks, linearly` : false,
    ansibleMs: r(ansibleMs),
    ansibleMeasured: { n: ANSIBLE_N, ms: r(an.result), startupMs: r(ansibleStartupMs), requests: an.requests, neutronHas: ansibleHas },
    ansibleExtrapolated: ANSIBLE_N < N ? `extrapolated from ${ANSIBLE_N} networks: the playbook's start-up once, the rest linearly` : false,
    netformOverFloor: r2(cold.result.ms / fl.result.ms),
    openstackOverNetform: r2(cliMs / cold.result.ms),
    ansibleOverNetform: r2(ansibleMs / cold.result.ms),
    targets: { netformOverFloorAtMost: 1.3, openstackOverNetformAtLeast: 20, ansibleOverNetformAbove: 1 },
  };
  mkdirSync(out, { recursive: true });
  const latest = `${out}neutron-latest.json`;
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(latest, `${JSON.stringify(figures, null, 2)}\n`);
  const cpu = (c: unknown) => {
    const x = c as Partial<PhaseCpu> | null | undefined;
    return x && typeof x.neutronS === 'number' ? `${x.neutronS} / ${x.mariadbS}` : '-';
  };
  const calls = (c: unknown) => {
    const x = c as Partial<RequestCounts> | undefined;
    return x && typeof x.GET === 'number' ? `${x.GET}/${x.POST}/${x.PUT}/${x.DELETE}` : '-';
  };
  const p = previous as Partial<typeof figures>;
  const rows: [string, unknown, unknown][] = [
    ['networks (each with a subnet)', figures.n, p.n],
    ['netform apply from cold, ms', figures.netformColdMs, p.netformColdMs],
    ['  requests GET/POST/PUT/DELETE', calls(figures.netformColdCalls), calls(p.netformColdCalls)],
    ['  CPU s of Neutron / MariaDB', cpu(figures.netformColdCpu), cpu(p.netformColdCpu)],
    ['  Neutron then has nets/subnets', `${coldHas.networks}/${coldHas.subnets}`, p.netformColdNeutronHas ? `${p.netformColdNeutronHas.networks}/${p.netformColdNeutronHas.subnets}` : '-'],
    [`netform apply adding ${VNICS} vNICs, ms`, figures.vnicsMs ?? '-', p.vnicsMs],
    ['  requests GET/POST/PUT/DELETE', calls(figures.vnicsCalls), calls(p.vnicsCalls)],
    ['  CPU s of Neutron / MariaDB', cpu(figures.vnicsCpu), cpu(p.vnicsCpu)],
    ['  Neutron then has nets/subnets/ports', vnicsHas ? `${vnicsHas.networks}/${vnicsHas.subnets}/${vnicsHas.ports}` : '-', p.vnicsNeutronHas ? `${p.vnicsNeutronHas.networks}/${p.vnicsNeutronHas.subnets}/${p.vnicsNeutronHas.ports}` : '-'],
    [`netform apply no-op (${figures.recheckCovers}), ms`, figures.recheckMs, p.recheckMs],
    ['  requests GET/POST/PUT/DELETE', calls(figures.recheckCalls), calls(p.recheckCalls)],
    ['netform apply after state loss, ms', figures.stateLossMs, p.stateLossMs],
    ['  requests GET/POST/PUT/DELETE', calls(figures.stateLossCalls), calls(p.stateLossCalls)],
    ['  Neutron then has nets/subnets/ports', `${lostHas.networks}/${lostHas.subnets}/${lostHas.ports}`, p.stateLossNeutronHas ? `${p.stateLossNeutronHas.networks}/${p.stateLossNeutronHas.subnets}/${p.stateLossNeutronHas.ports ?? '-'}` : '-'],
    ['raw bulk API floor, ms', figures.floorMs, p.floorMs],
    ['  requests GET/POST/PUT/DELETE', calls(figures.floorCalls), calls(p.floorCalls)],
    ['  CPU s of Neutron / MariaDB', cpu(figures.floorCpu), cpu(p.floorCpu)],
    ['its networks tagged, one PUT each, ms', figures.floorTagsMs, p.floorTagsMs],
    ['  tags PUTs / floor', figures.floorTagsOverFloor, p.floorTagsOverFloor],
    ['  CPU s of Neutron / MariaDB', cpu(figures.floorTagsCpu), cpu(p.floorTagsCpu)],
    [`openstack CLI per op, ms (extrap. from ${CLI_N})`, figures.openstackCliMs, p.openstackCliMs],
    [`  measured at ${CLI_N}, ms`, figures.openstackCliMeasured.ms, p.openstackCliMeasured?.ms],
    ['  requests at that n', calls(figures.openstackCliMeasured.requests), calls(p.openstackCliMeasured?.requests)],
    [`Ansible openstack.cloud, ms (extrap. from ${ANSIBLE_N})`, figures.ansibleMs, p.ansibleMs],
    [`  measured at ${ANSIBLE_N}, ms (start-up)`, `${figures.ansibleMeasured.ms} (${figures.ansibleMeasured.startupMs})`, p.ansibleMeasured ? `${p.ansibleMeasured.ms} (${p.ansibleMeasured.startupMs})` : '-'],
    ['  requests at that n', calls(figures.ansibleMeasured.requests), calls(p.ansibleMeasured?.requests)],
    ['netform / floor (target <= 1.3)', figures.netformOverFloor, p.netformOverFloor],
    ['openstack CLI / netform (target >= 20)', figures.openstackOverNetform, p.openstackOverNetform],
    ['Ansible / netform (target > 1)', figures.ansibleOverNetform, p.ansibleOverNetform],
  ];
  process.stdout.write(`${'neutron figure'.padEnd(44)}${'now'.padStart(22)}${'previous'.padStart(22)}\n`);
  for (const [k, v, prev] of rows) process.stdout.write(`${k.padEnd(44)}${String(v).padStart(22)}${String(prev ?? '-').padStart(22)}\n`);
  const routes = (r: Record<string, number>) => Object.entries(r).map(([k, n]) => `${n} ${k}`).join(', ');
  process.stdout.write(`no-op requests by route: ${routes(noop.routes)}\nstate-loss requests by route: ${routes(lost.routes)}\n`);
  process.stdout.write(`written to ${latest}\n`);
} finally {
  await neutron.stop();
  rmSync(work, { recursive: true, force: true });
}

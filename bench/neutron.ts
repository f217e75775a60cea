// Neutron benchmark (part of `npm run bench`): N networks, each with a subnet, on the real Neutron.
//   netform   — the engine with the real Neutron driver, from cold, then the no-op re-check
//   floor     — the same N created by raw bulk API calls (one POST for networks, one for subnets)
//   openstack — one `openstack` CLI process per operation (network create, subnet create), the way
//               the seeds' proof of concept drove Quantum
// Writes bench/results/neutron-latest.json and prints the figures with the previous run's.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Engine } from '../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../src/adapters/files/credentials.ts';
import { NeutronDriver } from '../src/drivers/neutron/driver.ts';
import { DriverRegistry } from '../src/drivers/registry.ts';
import { admit } from '../src/state/admit.ts';
import { MemoryRecords } from '../src/state/records.ts';
import { startNeutron } from '../test/harness/neutron-server.ts';
import { KIND_DEFINITIONS } from '../src/controllers/index.ts';

const exec = promisify(execFile);
const N = Number(process.env.BENCH_NEUTRON_N ?? 40);
/** The i-th subnet's range: 10.1.0.0/24 … 10.1.255.0/24, then 10.2.0.0/24 … (N may exceed 256). */
const cidr = (i: number) => `10.${1 + Math.floor(i / 256)}.${i % 256}.0/24`;
const out = fileURLToPath(new URL('./results/', import.meta.url));

async function api(url: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function wipe(url: string): Promise<void> {
  const { networks } = (await api(url, 'GET', '/v2.0/networks?fields=id')) as { networks: { id: string }[] };
  for (const n of networks) await api(url, 'DELETE', `/v2.0/networks/${n.id}`);
  const { policies } = (await api(url, 'GET', '/v2.0/qos/policies?fields=id')) as { policies: { id: string }[] };
  for (const p of policies) await api(url, 'DELETE', `/v2.0/qos/policies/${p.id}`);
}

async function netform(url: string) {
  const drivers: NeutronDriver[] = [];
  const registry = new DriverRegistry().register('neutron', (c, d) => {
    const x = new NeutronDriver(c, d.log);
    drivers.push(x);
    return x;
  });
  const e = new Engine({ kinds: KIND_DEFINITIONS, records: new MemoryRecords(), registry, credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), concurrency: 64 });
  const docs = [`apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${url}", neutron: {auth: noauth}, maxConcurrency: 8}`];
  for (let i = 0; i < N; i++) {
    docs.push(
      `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: nf-${i}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${1000 + i}}, subnets: [{name: s, cidr: ${cidr(i)}}], providerRefs: [{name: os}]}`,
    );
  }
  const t0 = performance.now();
  e.sync(admit([{ path: 'bench.yaml', text: docs.join('\n---\n') }]));
  await e.settle(1_800_000);
  const coldMs = performance.now() - t0;
  const ready = e.states().filter((s) => s.state === 'ready').length;
  const coldCalls = { ...drivers[0]!.client.calls };
  const t1 = performance.now();
  e.resyncAll();
  await e.settle(600_000);
  const recheckMs = performance.now() - t1;
  const c = drivers[0]!.client.calls;
  const recheckCalls = { GET: c.GET - coldCalls.GET, POST: c.POST - coldCalls.POST, PUT: c.PUT - coldCalls.PUT, DELETE: c.DELETE - coldCalls.DELETE };
  await e.stop();
  return { coldMs, ready, coldCalls, recheckMs, recheckCalls };
}

async function floor(url: string) {
  const t0 = performance.now();
  const nets = (await api(url, 'POST', '/v2.0/networks', {
    networks: Array.from({ length: N }, (_, i) => ({ name: `fl-${i}`, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 1000 + i })),
  })) as { networks: { id: string }[] };
  await api(url, 'POST', '/v2.0/subnets', {
    subnets: nets.networks.map((n, i) => ({ network_id: n.id, name: 's', ip_version: 4, cidr: cidr(i) })),
  });
  return { ms: performance.now() - t0, calls: 2 };
}

async function openstackCli(url: string) {
  const os = (...args: string[]) => exec('openstack', ['--os-auth-type', 'none', '--os-endpoint', url, ...args], { env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` } });
  await os('network', 'list', '-f', 'value', '-c', 'ID'); // warm the Python caches, as a long-lived script would have
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const { stdout } = await os('network', 'create', `os-${i}`, '--provider-network-type', 'vlan', '--provider-physical-network', 'physnet1', '--provider-segment', String(1000 + i), '-f', 'value', '-c', 'id');
    await os('subnet', 'create', 's', '--network', stdout.trim(), '--subnet-range', cidr(i), '-f', 'value', '-c', 'id');
  }
  return { ms: performance.now() - t0, processes: 2 * N };
}

const neutron = await startNeutron();
try {
  process.stderr.write(`[bench] Neutron on ${neutron.url}; N = ${N}\n`);
  const nf = await netform(neutron.url);
  await wipe(neutron.url);
  const fl = await floor(neutron.url);
  await wipe(neutron.url);
  const os = await openstackCli(neutron.url);
  await wipe(neutron.url);
  const figures = {
    date: new Date().toISOString(),
    n: N,
    netformColdMs: Math.round(nf.coldMs),
    netformReady: nf.ready,
    netformColdCalls: nf.coldCalls,
    recheckMs: Math.round(nf.recheckMs),
    recheckCalls: nf.recheckCalls,
    floorMs: Math.round(fl.ms),
    openstackCliMs: Math.round(os.ms),
    netformOverFloor: Math.round((nf.coldMs / fl.ms) * 100) / 100,
    openstackOverNetform: Math.round((os.ms / nf.coldMs) * 100) / 100,
  };
  mkdirSync(out, { recursive: true });
  const latest = `${out}neutron-latest.json`;
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(latest, `${JSON.stringify(figures, null, 2)}\n`);
  const rows: [string, unknown, unknown][] = [
    ['networks (each with a subnet)', figures.n, previous.n],
    ['netform from cold, ms', figures.netformColdMs, previous.netformColdMs],
    ['  API calls (GET/POST/PUT/DELETE)', JSON.stringify(figures.netformColdCalls), JSON.stringify(previous.netformColdCalls ?? '-')],
    ['raw bulk API floor, ms', figures.floorMs, previous.floorMs],
    ['openstack CLI per operation, ms', figures.openstackCliMs, previous.openstackCliMs],
    ['netform / floor', figures.netformOverFloor, previous.netformOverFloor],
    ['openstack CLI / netform', figures.openstackOverNetform, previous.openstackOverNetform],
    ['no-op re-check, ms', figures.recheckMs, previous.recheckMs],
    ['no-op re-check API calls', JSON.stringify(figures.recheckCalls), JSON.stringify(previous.recheckCalls ?? '-')],
  ];
  process.stdout.write(`${'neutron figure'.padEnd(36)}${'now'.padStart(34)}${'previous'.padStart(34)}\n`);
  for (const [k, v, p] of rows) process.stdout.write(`${k.padEnd(36)}${String(v).padStart(34)}${String(p ?? '-').padStart(34)}\n`);
  process.stdout.write(`written to ${latest}\n`);
} finally {
  await neutron.stop();
}

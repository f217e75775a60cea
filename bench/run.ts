// netform benchmarks: `npm run bench`. Writes bench/results/latest.json (and a dated copy) and prints
// the figures next to the previous run's, so changes can be compared. Not a test: nothing here fails.
//
// Figures (N from BENCH_N, default 1000):
//   admission  — parse + schema + semantic checks of N networks (median of 5), and heap growth
//   converge   — the engine bringing N networks to a backend from cold (test driver on the in-memory
//                fake backend: measures the engine, not any real backend), with the backend calls made
//   recheck    — the no-op drift re-check of all N, with the backend calls it makes
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Engine } from '../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../src/drivers/registry.ts';
import { admit } from '../src/state/admit.ts';
import { MemoryRecords } from '../src/state/records.ts';
import { FakeBackend } from '../test/support/fake-backend.ts';
import { testDriverFactory } from '../test/support/test-driver.ts';
import { KIND_DEFINITIONS } from '../src/controllers/index.ts';

const N = Number(process.env.BENCH_N ?? 1000);
const out = fileURLToPath(new URL('./results/', import.meta.url));

function manifests(endpoint: string): string {
  const docs = [
    `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: lab}\nspec: {type: neutron, endpoint: "${endpoint}", neutron: {auth: noauth}}`,
    `apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: pool}\nspec: {ranges: [{physicalNetwork: physnet2, min: 1, max: 4094}]}`,
  ];
  for (let i = 0; i < N; i++) {
    const vlan = i % 2 ? `{id: ${(i % 4000) + 1}}` : '{poolRef: {name: pool}}';
    const physnet = i % 2 ? `physnet${3 + Math.floor(i / 4000)}` : 'physnet2';
    const third = i % 250;
    docs.push(`apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: net-${i}}
spec:
  physicalNetwork: ${physnet}
  vlan: ${vlan}
  mtu: 1500
  subnets:
    - {name: v4, cidr: 10.${Math.floor(i / 250) % 256}.${third}.0/24, gateway: 10.${Math.floor(i / 250) % 256}.${third}.1}
  providerRefs: [{name: lab}]`);
  }
  return docs.join('\n---\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const backend = new FakeBackend();
  const url = await backend.start();
  const text = manifests(url);

  const times: number[] = [];
  let result = admit([{ path: 'bench.yaml', text }]);
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    result = admit([{ path: 'bench.yaml', text }]);
    times.push(performance.now() - t0);
  }
  const heapAfter = process.memoryUsage().heapUsed;
  if (result.errors.length) throw new Error(`bench manifests invalid: ${result.errors[0]!.message}`);

  const records = new MemoryRecords();
  const engine = new Engine({
    kinds: KIND_DEFINITIONS,
    records,
    registry: new DriverRegistry().register('neutron', testDriverFactory),
    credentials: new FileCredentialSource(),
    log: pino({ level: 'silent' }),
    concurrency: 8,
    rateLimit: { perSecond: Infinity, burst: 1 },
  });
  const t1 = performance.now();
  engine.sync(result);
  const settled = await engine.settle(600_000);
  const convergeMs = performance.now() - t1;
  const ready = engine.states().filter((s) => s.state === 'ready').length;
  const convergeCalls = { ...backend.counters };

  const before = { ...backend.counters };
  const t2 = performance.now();
  engine.resyncAll();
  await engine.settle(600_000);
  const recheckMs = performance.now() - t2;
  const recheckCalls = {
    reads: backend.counters.reads - before.reads,
    writes: backend.counters.creates + backend.counters.updates + backend.counters.deletes - before.creates - before.updates - before.deletes,
  };
  await engine.stop();
  await backend.stop();

  const figures = {
    date: new Date().toISOString(),
    node: process.version,
    n: N,
    admissionMsMedian: Math.round(median(times)),
    admissionHeapMB: Math.round(((heapAfter - heapBefore) / 1024 / 1024) * 10) / 10,
    convergeMs: Math.round(convergeMs),
    converged: settled && ready === N + 2,
    convergeBackendCalls: convergeCalls,
    recheckMs: Math.round(recheckMs),
    recheckBackendCalls: recheckCalls,
    rssMB: Math.round(process.memoryUsage().rss / 1024 / 1024),
  };
  mkdirSync(out, { recursive: true });
  const latest = `${out}latest.json`;
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : undefined;
  writeFileSync(latest, `${JSON.stringify(figures, null, 2)}\n`);
  writeFileSync(`${out}${figures.date.slice(0, 10)}.json`, `${JSON.stringify(figures, null, 2)}\n`);
  const rows: [string, unknown, unknown][] = [
    ['networks', figures.n, previous?.n],
    ['admission ms (median of 5)', figures.admissionMsMedian, previous?.admissionMsMedian],
    ['admission heap MB', figures.admissionHeapMB, previous?.admissionHeapMB],
    ['converge ms (engine + test driver)', figures.convergeMs, previous?.convergeMs],
    ['converged', figures.converged, previous?.converged],
    ['no-op re-check ms', figures.recheckMs, previous?.recheckMs],
    ['no-op re-check backend reads', figures.recheckBackendCalls.reads, (previous?.recheckBackendCalls as { reads?: number } | undefined)?.reads],
    ['no-op re-check backend writes', figures.recheckBackendCalls.writes, (previous?.recheckBackendCalls as { writes?: number } | undefined)?.writes],
    ['rss MB', figures.rssMB, previous?.rssMB],
  ];
  process.stdout.write(`${'figure'.padEnd(38)}${'now'.padStart(10)}${'previous'.padStart(12)}\n`);
  for (const [k, v, p] of rows) process.stdout.write(`${k.padEnd(38)}${String(v).padStart(10)}${String(p ?? '-').padStart(12)}\n`);
  process.stdout.write(`written to ${latest}\n`);
}

await main();

// UCSM benchmark (part of `npm run bench`): N networks (default 1000, BENCH_UCSM_N) linked to one UCS
// domain (the emulator Cisco's SDK accepts), each with its VLAN and port profile; reports the XML API
// requests it takes from cold (target: ≤ 10 for 1000 VLANs with their port profiles), and for the
// no-op re-check.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Engine } from '../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../src/adapters/files/credentials.ts';
import { builtinDrivers } from '../src/drivers/registry.ts';
import { admit } from '../src/state/admit.ts';
import { MemoryRecords } from '../src/state/records.ts';
import { startEmulator } from '../test/ucsm-emulator/emulator.ts';
import { KIND_DEFINITIONS } from '../src/controllers/index.ts';

const N = Number(process.env.BENCH_UCSM_N ?? 1000);
const out = fileURLToPath(new URL('./results/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'netform-bench-ucsm-'));
const creds = join(dir, 'creds.yaml');
writeFileSync(creds, 'username: admin\npassword: password\n', { mode: 0o600 });

const ucs = await startEmulator();
try {
  const docs = [`apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: ucs}\nspec: {type: ucsm, endpoint: "${ucs.url}", credentials: {file: ${creds}}}`];
  for (let i = 0; i < N; i++) {
    docs.push(`apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: n${i}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${(i % 3900) + 1}}, providerRefs: [{name: ucs}]}`);
  }
  // Enough reconciles in flight for the driver to coalesce their writes.
  const engine = new Engine({ kinds: KIND_DEFINITIONS, records: new MemoryRecords(), registry: builtinDrivers(), credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), concurrency: 512, rateLimit: { perSecond: Infinity, burst: 1 } });
  const t0 = performance.now();
  engine.sync(admit([{ path: join(dir, 'bench.yaml'), text: docs.join('\n---\n') }]));
  await engine.settle(600_000);
  const coldMs = performance.now() - t0;
  const ready = engine.states().filter((s) => s.state === 'ready').length;
  const cold = { total: ucs.total, ...ucs.counts };
  ucs.resetCounts();
  const t1 = performance.now();
  await new Promise((r) => setTimeout(r, 10_500)); // let the listing age out, as a periodic re-check finds it
  engine.resyncAll();
  await engine.settle(600_000);
  const recheckMs = performance.now() - t1 - 10_500;
  const recheck = { total: ucs.total, ...ucs.counts };
  await engine.stop();
  const figures = {
    date: new Date().toISOString(),
    n: N,
    vlans: ucs.list('fabricVlan').filter((m) => m.attrs.name?.startsWith('nf-')).length,
    portProfiles: ucs.list('vnicProfile').filter((m) => m.attrs.name?.startsWith('nf-pp-')).length,
    ready,
    coldMs: Math.round(coldMs),
    coldRequests: cold,
    recheckMs: Math.round(recheckMs),
    recheckRequests: recheck,
    targetRequests: 10,
  };
  mkdirSync(out, { recursive: true });
  const latest = `${out}ucsm-latest.json`;
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(latest, `${JSON.stringify(figures, null, 2)}\n`);
  const rows: [string, unknown, unknown][] = [
    ['networks', figures.n, previous.n],
    ['VLANs / port profiles on UCSM', `${figures.vlans} / ${figures.portProfiles}`, previous.vlans === undefined ? '-' : `${String(previous.vlans)} / ${String(previous.portProfiles)}`],
    ['from cold: requests (target ≤ 10)', figures.coldRequests.total, (previous.coldRequests as { total?: number } | undefined)?.total],
    ['  by method', JSON.stringify(figures.coldRequests), '-'],
    ['from cold: ms', figures.coldMs, previous.coldMs],
    ['no-op re-check: requests', figures.recheckRequests.total, (previous.recheckRequests as { total?: number } | undefined)?.total],
    ['no-op re-check: ms', figures.recheckMs, previous.recheckMs],
  ];
  process.stdout.write(`${'ucsm figure'.padEnd(36)}${'now'.padStart(12)}${'previous'.padStart(12)}\n`);
  for (const [k, v, p] of rows) process.stdout.write(`${k.padEnd(36)}${String(v).padStart(12)}${String(p ?? '-').padStart(12)}\n`);
  process.stdout.write(`written to ${latest}\n`);
} finally {
  await ucs.close();
}

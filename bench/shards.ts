// Sharded controllers (issue 15, ADR 25; part of `npm run bench`, not of CI): `netform controller
// --shards 4` on a real kube-apiserver + etcd (test/harness/kube), 2,000 networks over 40 Providers
// of the test driver on the FakeBackend (served by this process). The backend answers every write
// after a fixed latency, so a replica's throughput is bounded by its reconcile concurrency over that
// latency, and the figure says how well the work spreads over replicas — not how fast a real Neutron is.
//
//  1. one replica: the networks are applied with no controller running, then the replica is started;
//     timed from its start until every network is Ready (and its backend object exists);
//  2. the same with three replicas started together, on a fresh apiserver and backend;
//     ratio = time(1) / time(3);
//  3. in run 2, after convergence: SIGKILL the replica holding most networks, change the MTU of every
//     network of its shards, time until its shards are held by the others and until the edits are on
//     the backend; then the checker (test/support/write-checker.ts) over every write of the run: no
//     two replicas writing one object at overlapping times, none outside the writer's shard terms.
//
//   BENCH_SHARDS_NETWORKS     (default 2000)   BENCH_SHARDS_PROVIDERS (default 40)
//   BENCH_SHARDS_LATENCY_MS   (default 50)     BENCH_SHARDS_CONCURRENCY (default 2, per replica)
//
// Writes bench/results/shards-latest.json. Not a test: nothing here fails, but the checker's findings
// are printed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startKube, type KubeCluster } from '../test/harness/kube/cluster.ts';
import { ShardScenario, type ScenarioOptions } from '../test/kube/shards-scenario.ts';
import { overlappingWrites, writesOutsideTerms } from '../test/support/write-checker.ts';
import { useConversionWebhook } from '../test/kube/support.ts';

const N = Number(process.env.BENCH_SHARDS_NETWORKS ?? 2000);
const o: ScenarioOptions = {
  networks: N,
  providers: Number(process.env.BENCH_SHARDS_PROVIDERS ?? 40),
  shards: 4,
  writeLatencyMs: Number(process.env.BENCH_SHARDS_LATENCY_MS ?? 50),
  concurrency: Number(process.env.BENCH_SHARDS_CONCURRENCY ?? 2),
};
const out = fileURLToPath(new URL('./results/', import.meta.url));
const crds = fileURLToPath(new URL('../crds/', import.meta.url));
const say = (s: string) => process.stderr.write(`shards: ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function kubectl(kube: KubeCluster, args: string[]): Promise<string> {
  const r = await kube.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function fresh(): Promise<{ kube: KubeCluster; sc: ShardScenario }> {
  const kube = await startKube();
  await kubectl(kube, ['apply', '-f', crds]);
  // The CRDs store v1beta1; the scenario writes v1alpha1, converted by netform's webhook served here.
  await useConversionWebhook(kube);
  const names = (await kubectl(kube, ['get', 'crd', '-o', 'name'])).split('\n').filter((l) => l.includes('netform.io'));
  await kubectl(kube, ['wait', '--for=condition=Established', '--timeout=60s', ...names]);
  const sc = new ShardScenario(kube, o);
  await sc.start();
  const t0 = Date.now();
  await sc.apply();
  say(`applied ${o.providers} providers and ${N} networks in ${Date.now() - t0} ms`);
  return { kube, sc };
}

async function run(replicas: number) {
  const { kube, sc } = await fresh();
  try {
    const t0 = Date.now();
    for (let i = 0; i < replicas; i++) sc.startReplica(`replica-${i + 1}`);
    const samples: [number, number][] = [];
    const ms = await sc.waitReady(N, 30 * 60_000, undefined, undefined, samples);
    // Steady throughput: from the first poll at >= 10 % Ready to the first at >= 90 % (start-up, the
    // shards' balancing and the last replica's tail left out).
    const at = (f: number) => samples.find(([, n]) => n >= f * N)!;
    const [t10, n10] = at(0.1);
    const [t90, n90] = at(0.9);
    const steady = +((n90 - n10) / ((t90 - t10) / 1000)).toFixed(1);
    const writes = sc.backend.writes.length;
    const holders = await sc.holders();
    const perReplica = Object.fromEntries(sc.replicas.map((r) => [r.identity, sc.backend.writes.filter((w) => w.replica === r.identity).length]));
    say(`${replicas} replica(s): ${N} networks Ready ${ms} ms after start (${(N / (ms / 1000)).toFixed(1)} networks/s overall, ${steady}/s from 10 % to 90 % Ready); shard holders ${JSON.stringify(holders)}; backend writes by replica ${JSON.stringify(perReplica)}`);
    const result: Record<string, unknown> = { replicas, readyMs: ms, networksPerS: +(N / (ms / 1000)).toFixed(1), steadyNetworksPerS: steady, holders, backendWrites: writes, writesByReplica: perReplica, sinceStartMs: Date.now() - t0 };
    if (replicas > 1) result.kill = await kill(sc);
    return result;
  } finally {
    await sc.stopAll();
    await sc.backend.stop();
    await kube.stop();
  }
}

async function kill(sc: ShardScenario) {
  const holders = await sc.holders();
  const count = (id: string) => [...Array(N).keys()].filter((i) => holders[sc.shardOfNetwork(i)] === id).length;
  const victim = [...sc.replicas].sort((a, b) => count(b.identity) - count(a.identity))[0]!;
  const shards = holders.flatMap((h, i) => (h === victim.identity ? [i] : []));
  await sc.kill(victim);
  const killedAt = victim.killedAt!;
  const survivors = sc.replicas.filter((r) => r !== victim).map((r) => r.identity);
  // Watched from the kill on, while the edits are being applied.
  const moved = (async () => {
    while (Date.now() - killedAt < 300_000) {
      const h = await sc.holders();
      if (shards.every((s) => survivors.includes(h[s]!))) return Date.now() - killedAt;
      await sleep(250);
    }
    return undefined;
  })();
  const edited = [...Array(N).keys()].filter((i) => shards.includes(sc.shardOfNetwork(i)));
  await sc.apply(1400, edited);
  const appliedMs = Date.now() - killedAt;
  const movedMs = await moved;
  await sc.waitReady(edited.length, 30 * 60_000, 1400, edited);
  const convergedMs = Date.now() - killedAt;
  const writes = sc.backend.writes;
  const overlaps = overlappingWrites(writes);
  const outside = writesOutsideTerms(writes, sc.terms(), sc.shardOfObject);
  const multi = new Map<string, Set<string>>();
  for (const w of writes) multi.set(w.object, (multi.get(w.object) ?? new Set()).add(w.replica));
  const byTwo = [...multi.values()].filter((s) => s.size > 1).length;
  say(
    `SIGKILL ${victim.identity} (shards ${JSON.stringify(shards)}, ${edited.length} networks): MTU edits applied at +${appliedMs} ms; its shards held by the others at +${movedMs} ms; all ${edited.length} edits on the backend at +${convergedMs} ms`,
  );
  say(`checker: ${writes.length} writes, ${byTwo} objects written by two replicas over the run; overlapping writes by two replicas: ${overlaps.length}; writes outside the writer's shard terms: ${outside.length}`);
  return { victim: victim.identity, shards, edited: edited.length, appliedMs, movedMs, convergedMs, checker: { writes: writes.length, objectsWrittenByTwo: byTwo, overlapping: overlaps.length, outsideTerms: outside.length, examples: [...overlaps.slice(0, 3), ...outside.slice(0, 3)] } };
}

say(`${N} networks over ${o.providers} providers, ${o.shards} shards, backend write latency ${o.writeLatencyMs} ms, ${o.concurrency} reconciles in parallel per replica; ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const one = await run(1);
const three = await run(3);
const ratio = +((one.readyMs as number) / (three.readyMs as number)).toFixed(2);
const steadyRatio = +((three.steadyNetworksPerS as number) / (one.steadyNetworksPerS as number)).toFixed(2);
// With 4 shards over 3 replicas one replica holds 2: the best makespan ratio is N / (its networks).
const busiest = Math.max(...Object.values(three.writesByReplica as Record<string, number>));
say(`throughput, 3 replicas over 1: ${ratio}× to all Ready (${one.readyMs} ms vs ${three.readyMs} ms), ${steadyRatio}× from 10 % to 90 % Ready (${one.steadyNetworksPerS} vs ${three.steadyNetworksPerS} networks/s); the busiest of the 3 wrote ${busiest} of ${N}: at best ${(N / busiest).toFixed(2)}× to all Ready`);
mkdirSync(out, { recursive: true });
const result = { date: new Date().toISOString(), cpus: cpus().length, options: o, one, three, ratio, steadyRatio };
writeFileSync(`${out}shards-latest.json`, JSON.stringify(result, null, 2) + '\n');
say(`wrote ${out}shards-latest.json`);

// Leader election against a real kube-apiserver + etcd (test/harness/kube): candidates in this
// process, each with its own KubeClient, racing for coordination.k8s.io/v1 Leases; and the sharded
// controllers' sweep of a gone replica's membership Lease (its delete precondition on the real server).
//  - never two leaders, sampled every 20 ms for 30 s while leaders are killed and released;
//  - a graceful stop releases the Lease and a successor leads within a retry period;
//  - a killed leader (no release) is succeeded only after its Lease expired, and within 20 s;
//  - a leader cut off from the apiserver (a TCP proxy that stops passing bytes) stops leading
//    within its renew deadline, before anyone else starts.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStatus, KubeClient, resourcePath } from '../../src/adapters/kube/client.ts';
import { LEASES } from '../../src/adapters/kube/resources.ts';
import { memberLeaseName, ShardSet } from '../../src/adapters/kube/shard-set.ts';
import { JITTER, LeaderElector, parseMicroTime, type Lease, type LeaderElectorOptions } from '../../src/adapters/kube/leader.ts';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';

const NS = 'netform-system';
const log = pino({ level: process.env.NETFORM_TEST_LOG ?? 'silent' });
const MICROTIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let kube: KubeCluster;
let client: KubeClient;
const electors: LeaderElector[] = [];

interface Term {
  identity: string;
  start: number;
  end?: number;
  startWall: number;
}
const terms: Term[] = [];

/** An elector whose terms are recorded in `terms` (monotonic ms of this process). */
function candidate(lease: string, identity: string, opts: Partial<LeaderElectorOptions> = {}): LeaderElector {
  const e = new LeaderElector({
    client,
    namespace: NS,
    name: lease,
    identity,
    log,
    onStartedLeading: () => {
      terms.push({ identity, start: performance.now(), startWall: Date.now() });
    },
    onStoppedLeading: () => {
      const t = terms.findLast((x) => x.identity === identity && x.end === undefined);
      if (t) t.end = performance.now();
    },
    ...opts,
  });
  electors.push(e);
  void e.run();
  return e;
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

const leaderOf = (es: LeaderElector[]) => {
  const l = es.filter((e) => e.isLeader());
  return l.length === 1 ? l[0] : undefined;
};

/** Samples isLeader() of all `es()` every 20 ms until stopped. */
function sampler(es: () => LeaderElector[]) {
  const s = { samples: 0, maxLeaders: 0, withOne: 0 };
  const t = setInterval(() => {
    const n = es().filter((e) => e.isLeader()).length;
    s.samples++;
    s.maxLeaders = Math.max(s.maxLeaders, n);
    if (n === 1) s.withOne++;
  }, 20);
  return { stats: s, stop: () => clearInterval(t) };
}

function overlaps(ts: Term[]): string[] {
  const out: string[] = [];
  const end = performance.now();
  for (let i = 0; i < ts.length; i++) {
    for (let j = i + 1; j < ts.length; j++) {
      const a = ts[i]!;
      const b = ts[j]!;
      if (a.start < (b.end ?? end) && b.start < (a.end ?? end)) out.push(`${a.identity} and ${b.identity}`);
    }
  }
  return out;
}

async function getLease(name: string): Promise<Lease> {
  const r = await kube.kubectl(['get', 'lease', '-n', NS, name, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Lease;
}

/**
 * A TCP proxy to the apiserver. `blackhole()` makes it swallow every byte in both directions on
 * existing and new connections (the peer sees silence, not a reset); `forward()` restores it for new
 * connections.
 */
class Proxy {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket | undefined]>();
  #blackhole = false;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#server = createServer((down) => {
      down.on('error', () => {});
      if (this.#blackhole) {
        this.#pairs.add([down, undefined]);
        down.on('data', () => {});
        return;
      }
      const up = connect(target.port, target.host);
      up.on('error', () => down.destroy());
      down.on('error', () => up.destroy());
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
      down.pipe(up);
      up.pipe(down);
      this.#pairs.add([down, up]);
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.#server.listen(0, '127.0.0.1', () => {
      this.port = (this.#server.address() as { port: number }).port;
      resolve();
    }));
  }

  blackhole(): void {
    this.#blackhole = true;
    for (const [down, up] of this.#pairs) {
      if (!up) continue;
      down.unpipe(up);
      up.unpipe(down);
      down.on('data', () => {});
      up.on('data', () => {});
      down.resume();
      up.resume();
    }
  }

  forward(): void {
    this.#blackhole = false;
  }

  close(): Promise<void> {
    for (const [down, up] of this.#pairs) {
      down.destroy();
      up?.destroy();
    }
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** A KubeClient for the same cluster and credentials that connects through `proxy`. */
function clientVia(proxy: Proxy): KubeClient {
  const src = new KubeConfig();
  src.loadFromFile(kube.kubeconfig);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: src.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${proxy.port}` })),
    users: src.users,
    contexts: src.contexts,
    currentContext: src.currentContext,
  });
  return new KubeClient(kc);
}

beforeAll(async () => {
  kube = await startKube();
  client = KubeClient.load({ kubeconfig: kube.kubeconfig });
  const r = await kube.kubectl(['create', 'namespace', NS]);
  if (r.code !== 0) throw new Error(r.stderr);
}, 30 * 60_000);

afterAll(async () => {
  await Promise.all(electors.map((e) => e.stop({ release: false })));
  await kube?.stop();
}, 60_000);

describe('LeaderElector on a real apiserver', () => {
  it('creates the Lease with correct fields and renews it, keeping acquireTime', async () => {
    const e = candidate('fields', 'solo');
    await until('solo leads', () => e.isLeader(), 10_000);
    const first = await getLease('fields');
    expect(first.spec).toMatchObject({ holderIdentity: 'solo', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(first.spec!.acquireTime).toMatch(MICROTIME);
    expect(first.spec!.renewTime).toMatch(MICROTIME);
    expect(Math.abs(parseMicroTime(first.spec!.renewTime)! - Date.now())).toBeLessThan(5_000);
    await sleep(4_500); // two renewals at the 2 s retry period
    const later = await getLease('fields');
    expect(later.spec!.acquireTime).toBe(first.spec!.acquireTime);
    expect(parseMicroTime(later.spec!.renewTime)!).toBeGreaterThan(parseMicroTime(first.spec!.renewTime)!);
    expect(Number(later.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
    expect(later.spec!.leaseTransitions).toBe(0);
    const table = await kube.kubectl(['get', 'lease', '-n', NS, 'fields']);
    expect(table.stdout).toMatch(/fields\s+solo\s/);
    await e.stop();
    expect(e.isLeader()).toBe(false);
    const released = await getLease('fields');
    expect(released.spec!.holderIdentity ?? '').toBe('');
    expect(released.spec!.leaseTransitions).toBe(0);
  }, 60_000);

  it('never has two leaders among three candidates while leaders are killed and released (30 s)', async () => {
    // Short timings so that leadership changes hands many times in 30 s.
    const timing = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 };
    const lease = 'churn';
    const live: LeaderElector[] = [];
    const before = terms.length;
    let n = 0;
    const spawn = () => live.push(candidate(lease, `churn-${n++}`, timing));
    for (let i = 0; i < 3; i++) spawn();
    const s = sampler(() => live);
    const t0 = performance.now();
    let round = 0;
    while (performance.now() - t0 < 30_000) {
      const leader = await until('a leader', () => leaderOf(live), 10_000);
      await sleep(1_500);
      // kill the leader (every other round without releasing), start a replacement
      const idx = live.indexOf(leader);
      live.splice(idx, 1);
      await leader.stop({ release: round++ % 2 === 0 });
      spawn();
    }
    s.stop();
    const mine = terms.slice(before);
    console.log(`churn: ${s.stats.samples} samples, ${mine.length} terms, max leaders at once ${s.stats.maxLeaders}`);
    expect(s.stats.samples).toBeGreaterThan(500);
    expect(s.stats.maxLeaders).toBe(1);
    expect(overlaps(mine)).toEqual([]);
    expect(new Set(mine.map((t) => t.identity)).size).toBeGreaterThanOrEqual(6);
    // every term was a new holder; the Lease counted each change of hands
    const current = await until('a leader', () => leaderOf(live), 10_000);
    const final = await getLease(lease);
    expect(final.spec!.holderIdentity).toBe(current.identity);
    expect(final.spec!.leaseTransitions).toBe(terms.slice(before).length - 1);
    await Promise.all(live.map((e) => e.stop()));
  }, 120_000);

  it('hands over within a retry period when the leader stops gracefully and releases', async () => {
    const es = ['a', 'b', 'c'].map((id) => candidate('graceful', `graceful-${id}`));
    const s = sampler(() => es);
    const leader = await until('a leader', () => leaderOf(es), 30_000);
    const before = await getLease('graceful');
    const t0 = performance.now();
    await leader.stop({ release: true });
    const rest = es.filter((e) => e !== leader);
    const next = await until('a successor', () => leaderOf(rest), 15_000);
    const took = performance.now() - t0;
    s.stop();
    console.log(`graceful handover from ${leader.identity} to ${next.identity} in ${Math.round(took)} ms`);
    // a candidate polls every 2 s × [1, 1.2): no waiting for the 15 s lease to expire
    expect(took).toBeLessThan(2_000 * (1 + JITTER) + 1_000);
    expect(s.stats.maxLeaders).toBe(1);
    const after = await getLease('graceful');
    expect(after.spec!.holderIdentity).toBe(next.identity);
    expect(after.spec!.leaseTransitions).toBe(before.spec!.leaseTransitions! + 1); // the release itself is no transition
    expect(parseMicroTime(after.spec!.acquireTime)!).toBeGreaterThan(parseMicroTime(before.spec!.acquireTime)!);
    await Promise.all(rest.map((e) => e.stop()));
  }, 60_000);

  it('takes over from a killed leader only after its Lease expired, and within 20 s', async () => {
    const es = ['a', 'b', 'c'].map((id) => candidate('crash', `crash-${id}`));
    const s = sampler(() => es);
    const leader = await until('a leader', () => leaderOf(es), 30_000);
    await sleep(3_000); // let everyone watch a few renewals
    const tKill = performance.now();
    await leader.stop({ release: false }); // stops renewing, like SIGKILL
    const lastWritten = await getLease('crash');
    expect(lastWritten.spec!.holderIdentity).toBe(leader.identity);
    const lastRenewWall = parseMicroTime(lastWritten.spec!.renewTime)!;
    const rest = es.filter((e) => e !== leader);
    const next = await until('a successor', () => leaderOf(rest), 25_000);
    const took = performance.now() - tKill;
    s.stop();
    const term = terms.findLast((t) => t.identity === next.identity)!;
    console.log(`takeover after a kill by ${next.identity} in ${Math.round(took)} ms, ${term.startWall - lastRenewWall} ms after the last renewal`);
    expect(term.startWall - lastRenewWall).toBeGreaterThanOrEqual(15_000);
    expect(took).toBeLessThanOrEqual(20_000);
    expect(s.stats.maxLeaders).toBe(1);
    const after = await getLease('crash');
    expect(after.spec!.holderIdentity).toBe(next.identity);
    expect(after.spec!.leaseTransitions).toBe(lastWritten.spec!.leaseTransitions! + 1);
    await Promise.all(rest.map((e) => e.stop()));
  }, 60_000);

  it('stops leading within renewDeadline when the apiserver cannot be reached, before anyone else leads', async () => {
    const url = new URL(kube.server);
    const proxy = new Proxy({ host: url.hostname, port: Number(url.port) });
    await proxy.listen();
    try {
      let aborted: number | undefined;
      const cut = candidate('partition', 'partition-cut', {
        client: clientVia(proxy),
        onStartedLeading: (signal) => {
          terms.push({ identity: 'partition-cut', start: performance.now(), startWall: Date.now() });
          signal.addEventListener('abort', () => (aborted = performance.now()));
        },
      });
      await until('the proxied candidate leads', () => cut.isLeader(), 15_000);
      const others = ['b', 'c'].map((id) => candidate('partition', `partition-${id}`));
      const all = [cut, ...others];
      const s = sampler(() => all);
      await sleep(3_000);
      expect(cut.isLeader()).toBe(true);
      const tCut = performance.now();
      proxy.blackhole();
      await until('the cut-off leader to stop', () => !cut.isLeader(), 15_000);
      const stoppedIn = performance.now() - tCut;
      const cutTerm = terms.findLast((t) => t.identity === 'partition-cut')!;
      await until('onStoppedLeading', () => cutTerm.end !== undefined, 1_000);
      const next = await until('a successor', () => leaderOf(others), 25_000);
      const nextTerm = terms.findLast((t) => t.identity === next.identity)!;
      console.log(`cut-off leader stopped ${Math.round(stoppedIn)} ms after the cut; ${next.identity} started ${Math.round(nextTerm.start - cutTerm.end!)} ms after that`);
      expect(stoppedIn).toBeLessThanOrEqual(10_000 + 250);
      expect(aborted).toBeDefined();
      expect(aborted! - tCut).toBeLessThanOrEqual(10_000 + 250);
      expect(nextTerm.start).toBeGreaterThan(cutTerm.end!);
      // the connection comes back: the old leader campaigns again but does not lead while the Lease is held
      proxy.forward();
      await sleep(5_000);
      expect(cut.isLeader()).toBe(false);
      expect(next.isLeader()).toBe(true);
      s.stop();
      expect(s.stats.maxLeaders).toBe(1);
      expect(overlaps(terms.filter((t) => t.identity.startsWith('partition-')))).toEqual([]);
      await Promise.all(all.map((e) => e.stop()));
    } finally {
      await proxy.close();
    }
  }, 90_000);
});

describe('ShardSet membership sweep on a real apiserver', () => {
  it("deletes a gone replica's membership Lease with its resourceVersion as the precondition; a stale one is refused (409)", async () => {
    const prefix = 'sweep';
    const gone = memberLeaseName(prefix, 'gone-replica');
    const spec = { holderIdentity: 'gone-replica', leaseDurationSeconds: 2, renewTime: '2026-01-01T00:00:00.000000Z' };
    const made = await client.create<Lease>(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: gone }, spec }, NS);

    // The apiserver's own precondition check, as the sweep relies on it: a stale resourceVersion is a 409.
    const renewed = await client.replace<Lease>(LEASES, gone, { ...made, spec: { ...spec, renewTime: '2026-01-01T00:00:05.000000Z' } }, { namespace: NS });
    const stale = await client
      .request('DELETE', resourcePath(LEASES, { namespace: NS, name: gone }), { body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: made.metadata.resourceVersion } } })
      .then(() => 'deleted', (e: unknown) => (isStatus(e, 409) ? 'conflict' : String(e)));
    expect(stale).toBe('conflict');
    expect((await getLease(gone)).metadata.resourceVersion).toBe(renewed.metadata.resourceVersion);

    // A replica sweeps it once it has seen it unchanged for sweepAfterMs (3 s here), and keeps its own.
    const set = new ShardSet({
      client,
      namespace: NS,
      prefix,
      shards: 1,
      identity: 'sweeper',
      timing: { durationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 500 },
      sweepAfterMs: 3_000,
      log,
      onGained: (_shard, signal) => new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true })),
    });
    const t0 = performance.now();
    const run = set.run();
    try {
      const deadline = t0 + 15_000;
      let present = true;
      while (present && performance.now() < deadline) {
        await sleep(250);
        present = await client.get(LEASES, gone, NS).then(() => true, (e: unknown) => (isStatus(e, 404) ? false : Promise.reject(e)));
      }
      expect(present).toBe(false);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(3_000);
      expect((await getLease(memberLeaseName(prefix, 'sweeper'))).spec?.holderIdentity).toBe('sweeper');
    } finally {
      await set.stop();
      await run;
    }
  }, 60_000);
});

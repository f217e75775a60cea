// ShardSet (sharded controllers, ADR 25) on a manual clock: several replicas, each a ShardSet with its
// own client, against one in-memory Lease API with the apiserver's compare-and-swap rules
// (lease-fakes.test-support.ts). Time moves in 250 ms steps and after every step the fencing is
// checked: no shard held by two replicas, a held shard's Lease names its holder, and no replica's
// engine for a shard (onGained until its promise settled) runs while another's does. The same code
// against a real apiserver, with processes and SIGKILL: test/kube/shards.test.ts.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { seeded } from '../../../test/harness/fault-proxy.ts';
import { FakeLeaseApi, ManualClock, type FakeLeaseClient } from './lease-fakes.test-support.ts';
import { memberLeaseName, ShardSet, shardLeaseName } from './shard-set.ts';

const NS = 'netform-system';
const PREFIX = 'netform-controller';
const DURATION = 15_000;
const RETRY = 2_000;
const TIMING = { durationMs: DURATION, renewDeadlineMs: 10_000, retryPeriodMs: RETRY };
const STEP = 250;

interface Replica {
  id: string;
  client: FakeLeaseClient;
  set: ShardSet;
  run: Promise<void>;
  /** Shards gained and lost, in order: `+1`, `-1`. */
  terms: string[];
}

/** Replicas on one clock and one Lease API, with the fencing checked after every step. */
class Cluster {
  readonly clock = new ManualClock();
  readonly api: FakeLeaseApi;
  readonly replicas = new Map<string, Replica>();
  /** Per shard, the replica whose engine for it runs (from onGained until its promise settled). */
  readonly engines = new Map<number, string>();
  /** What happened, in order: `t id +shard` (gained), `t id -shard` (signal aborted), `t id stopped shard` (engine done). */
  readonly events: string[] = [];
  /** Each change of who holds what, as `t a:[..] b:[..]`. */
  readonly timeline: string[] = [];
  readonly violations: string[] = [];
  readonly shards: number;
  /** How long an engine takes to stop once its signal aborted. */
  readonly engineStopMs: number;
  readonly random: (id: string) => () => number;
  /** Called after every step's checks. */
  onStep: (() => void) | undefined;

  constructor(o: { shards: number; engineStopMs?: number; latencyMs?: number; random?: (id: string) => () => number }) {
    this.api = new FakeLeaseApi({ clock: this.clock, latencyMs: o.latencyMs ?? 0 });
    this.shards = o.shards;
    this.engineStopMs = o.engineStopMs ?? 0;
    this.random = o.random ?? (() => () => 0);
  }

  start(id: string): Replica {
    const client = this.api.client();
    const terms: string[] = [];
    const set = new ShardSet({
      client,
      namespace: NS,
      prefix: PREFIX,
      shards: this.shards,
      identity: id,
      timing: TIMING,
      log: pino({ level: 'silent' }),
      clock: this.clock,
      random: this.random(id),
      onGained: (shard, signal) => {
        const t = this.clock.now();
        this.events.push(`${t} ${id} +${shard}`);
        terms.push(`+${shard}`);
        const other = this.engines.get(shard);
        if (other !== undefined) this.violations.push(`${t}: ${id} gained shard ${shard} while the engine of ${other} runs`);
        this.engines.set(shard, id);
        return new Promise<void>((resolve) => {
          signal.addEventListener(
            'abort',
            () => {
              this.events.push(`${this.clock.now()} ${id} -${shard}`);
              terms.push(`-${shard}`);
              const done = () => {
                if (this.engineStopMs > 0) this.events.push(`${this.clock.now()} ${id} stopped ${shard}`);
                if (this.engines.get(shard) === id) this.engines.delete(shard);
                resolve();
              };
              if (this.engineStopMs > 0) this.clock.setTimeout(done, this.engineStopMs);
              else done();
            },
            { once: true },
          );
        });
      },
    });
    const r: Replica = { id, client, set, run: set.run(), terms };
    this.replicas.set(id, r);
    this.check();
    return r;
  }

  get(id: string): Replica {
    const r = this.replicas.get(id);
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  }

  /** `a:[0,3] b:[1] c:[2]`: what each replica's held() says now. */
  snapshot(): string {
    return [...this.replicas.values()].map((r) => `${r.id}:[${r.set.held().join(',')}]`).join(' ');
  }

  /** Per shard, its holder by the replicas' held() ('' if none). */
  holders(): string[] {
    return Array.from({ length: this.shards }, (_, s) => [...this.replicas.values()].filter((r) => r.set.holds(s)).map((r) => r.id).join('+'));
  }

  check(): void {
    const t = this.clock.now();
    for (let s = 0; s < this.shards; s++) {
      const by = [...this.replicas.values()].filter((r) => r.set.held().includes(s)).map((r) => r.id);
      if (by.length > 1) this.violations.push(`${t}: shard ${s} held by ${by.join(' and ')}`);
      const lease = this.api.get(NS, shardLeaseName(PREFIX, s));
      for (const id of by) if (lease?.spec?.holderIdentity !== id) this.violations.push(`${t}: ${id} holds shard ${s} but its Lease names ${lease?.spec?.holderIdentity}`);
      for (const id of by) if (this.engines.get(s) !== id) this.violations.push(`${t}: ${id} holds shard ${s} but runs no engine for it`);
    }
    expect(this.violations).toEqual([]);
    this.onStep?.();
    const entry = `${t} ${this.snapshot()}`;
    const last = this.timeline.at(-1);
    if (last?.replace(/^[\d.]+ /, '') === entry.replace(/^[\d.]+ /, '')) return;
    if (last?.startsWith(`${t} `)) this.timeline[this.timeline.length - 1] = entry;
    else this.timeline.push(entry);
  }

  /** The next step's time: the next multiple of STEP, or `t`. */
  #next(t: number): number {
    return Math.min(t, (Math.floor(this.clock.t / STEP) + 1) * STEP);
  }

  /** Moves time to `t` in steps (at the multiples of STEP), checking after each. */
  async runUntil(t: number): Promise<void> {
    while (this.clock.t < t) {
      await this.clock.advanceTo(this.#next(t));
      this.check();
    }
  }

  /** Steps until `pred` holds; returns that time (fails at `limit`). */
  async until(what: string, pred: () => boolean, limit: number): Promise<number> {
    await this.clock.advanceTo(this.clock.t); // what is due now
    this.check();
    while (!pred()) {
      if (this.clock.t >= limit) throw new Error(`${what}: not by ${limit} ms; ${this.snapshot()}`);
      await this.runUntil(this.#next(Infinity));
    }
    return this.clock.t;
  }

  /** Gained shards per replica, in order. */
  gains(id: string): number[] {
    return this.get(id).terms.filter((x) => x.startsWith('+')).map((x) => Number(x.slice(1)));
  }

  /** Stops a replica while the clock moves on; resolves with the time its stop() returned. */
  async stop(id: string, opts: { release?: boolean } = {}): Promise<number> {
    let at: number | undefined;
    void this.get(id).set.stop(opts).then(() => (at = this.clock.now()));
    await this.until(`${id} stopped`, () => at !== undefined, this.clock.t + DURATION);
    return at!;
  }

  /** Ends every replica (hung requests fail, nothing is released). */
  async close(): Promise<void> {
    const all = [...this.replicas.values()];
    for (const r of all) {
      r.client.hang = false;
      r.client.reset();
    }
    let done = false;
    void Promise.all(all.map((r) => r.set.stop({ release: false }).then(() => r.run))).then(() => (done = true));
    for (let i = 0; i < 100 && !done; i++) await this.clock.advanceTo(this.clock.t + 1_000);
    expect(done).toBe(true);
  }
}

/** A seeded PRNG (mulberry32), for jitter and event schedules that are the same on every run. */
const prng = seeded;

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Three replicas a, b, c started together on 4 shards and run until they are settled at 20 s. */
async function threeReplicas(o: { engineStopMs?: number } = {}): Promise<Cluster> {
  const c = (cluster = new Cluster({ shards: 4, ...o }));
  for (const id of ['a', 'b', 'c']) c.start(id);
  await c.runUntil(20_000);
  // The first list (t=0) only observes; at 2 s each takes one; at 4 s the first to ask takes the fourth.
  expect(c.timeline).toEqual(['0 a:[] b:[] c:[]', '2000 a:[0] b:[1] c:[2]', '4000 a:[0,3] b:[1] c:[2]']);
  return c;
}

describe('ShardSet on a manual clock', () => {
  it('three replicas, 4 shards: every shard held by exactly one, each holding 1 or 2, onGained once per shard held', async () => {
    const c = await threeReplicas();
    await c.runUntil(40_000);
    expect(c.timeline.at(-1)).toBe('4000 a:[0,3] b:[1] c:[2]'); // nothing moved since
    expect(c.holders()).toEqual(['a', 'b', 'c', 'a']);
    for (const [id, n] of [['a', 2], ['b', 1], ['c', 1]] as const) {
      const r = c.get(id);
      expect(r.set.held()).toHaveLength(n);
      expect(c.gains(id)).toEqual(r.set.held());
      expect(r.terms.filter((x) => x.startsWith('-'))).toEqual([]);
      expect(r.set.decision()).toEqual({ min: 1, max: 2, mayAcquire: n < 2 });
    }
    // The Leases say the same, and every replica renews its membership.
    expect([0, 1, 2, 3].map((s) => c.api.get(NS, shardLeaseName(PREFIX, s))?.spec?.holderIdentity)).toEqual(['a', 'b', 'c', 'a']);
    for (const id of ['a', 'b', 'c']) expect(c.api.get(NS, memberLeaseName(PREFIX, id))?.spec?.holderIdentity).toBe(id);
    // Every shard Lease was written by its holder only: no replica took a shard beyond its share and gave it back.
    for (const [s, h] of ['a', 'b', 'c', 'a'].entries()) expect(new Set(c.api.writesTo(shardLeaseName(PREFIX, s)))).toEqual(new Set([`POST ${h}`, `PUT ${h}`]));
  });

  it('a replica alone takes all five shards; two joining make it give back one per retry period down to its share', async () => {
    const c = (cluster = new Cluster({ shards: 5 }));
    c.start('a');
    await c.runUntil(10_000);
    // Alone (min = max = 5) the gate lets it take every free shard, after the first list.
    expect(c.timeline).toEqual(['0 a:[]', '2000 a:[0,1,2,3,4]']);
    c.start('b');
    c.start('c');
    await c.runUntil(40_000);
    // b and c are seen at a's list of 12 s (share 1..2). a gives back its highest shard while another
    // is below 1 (12 s, 14 s), then once more because it is above 2 (16 s: a 3, b 1, c 1); each
    // shard is taken at the next try of a replica below its share.
    expect(c.timeline.slice(2)).toEqual([
      '10000 a:[0,1,2,3,4] b:[] c:[]',
      '12000 a:[0,1,2,3] b:[4] c:[]',
      '14000 a:[0,1,2] b:[4] c:[3]',
      '16000 a:[0,1] b:[2,4] c:[3]',
    ]);
    expect(c.events.slice(5)).toEqual(['12000 a -4', '12000 b +4', '14000 a -3', '14000 c +3', '16000 a -2', '16000 b +2']);
  });

  it('requests take 50 ms: electors that ask together are let take one shard between them, so nobody takes more than its share', async () => {
    const c = (cluster = new Cluster({ shards: 4, latencyMs: 50 }));
    for (const id of ['a', 'b', 'c']) c.start(id);
    let most = 0;
    c.onStep = () => (most = Math.max(most, ...['a', 'b', 'c'].map((id) => c.get(id).set.held().length)));
    await c.runUntil(30_000);
    expect(most).toBe(2);
    expect(c.events.filter((e) => / -/.test(e))).toEqual([]); // nothing taken beyond a share and given back
    // In lockstep (no jitter) every replica's electors ask for the lowest free shard at the same
    // moment, one replica wins it and the others' one permission of that list is spent on the lost
    // race: one replica gains per retry period. (With jitter the tries spread out and this is rare.)
    expect(c.timeline).toEqual([
      '0 a:[] b:[] c:[]',
      '4250 a:[0] b:[] c:[]',
      '6250 a:[0] b:[1] c:[]',
      '8500 a:[0] b:[1] c:[2]',
      '10500 a:[0] b:[1] c:[2,3]',
    ]);
  });

  it.each([
    ['its requests hang (a partition: it keeps trying, it never releases)', 'hang'],
    ['it is killed (stop without release)', 'kill'],
  ] as const)('a replica that dies holding two shards: when %s, the survivors take them within the lease time and hold two each', async (_what, how) => {
    const c = await threeReplicas();
    // a's renewals at 20 s went through; then it dies.
    if (how === 'hang') c.get('a').client.hang = true;
    else await c.stop('a', { release: false });
    const lostAt = await c.until('a holds nothing', () => c.get('a').set.held().length === 0, 40_000);
    // Hanging, it keeps its shards until the renew deadline of its last renewal (started at 20 s).
    expect(lostAt).toBe(how === 'hang' ? 30_000 : 20_000);
    expect(c.get('a').terms).toEqual(['+0', '+3', '-0', '-3']);
    // Its Leases are not released: the survivors wait until they have seen them unchanged for the
    // lease duration (15 s after the reads of 20 s), and take them at their next try.
    expect(c.api.get(NS, shardLeaseName(PREFIX, 0))?.spec?.holderIdentity).toBe('a');
    const takenAt = await c.until('b and c hold two each', () => c.get('b').set.held().length === 2 && c.get('c').set.held().length === 2, 60_000);
    expect(takenAt).toBe(36_000);
    expect(takenAt).toBeLessThanOrEqual(20_000 + DURATION + 2 * RETRY);
    expect(c.events.filter((e) => / [bc] \+/.test(e))).toEqual(['2000 b +1', '2000 c +2', '36000 b +0', '36000 c +3']);
    await c.runUntil(60_000);
    expect(c.timeline.at(-1)).toBe('36000 a:[] b:[0,1] c:[2,3]');
    expect(c.get('b').set.decision()).toEqual({ min: 2, max: 2, mayAcquire: false }); // a no longer counts
  });

  it('a replica joining later: an over-share replica gives a shard back, its engine stops before the new holder starts one, and they end balanced', async () => {
    const c = (cluster = new Cluster({ shards: 4, engineStopMs: 300 }));
    c.start('a');
    c.start('b');
    await c.runUntil(20_000);
    expect(c.timeline).toEqual(['0 a:[] b:[]', '2000 a:[0,1] b:[2,3]']);
    c.start('c');
    await c.runUntil(60_000);
    // At 22 s (c's second list; a and b see c's membership) a, the replica holding most (ties: the first
    // identity), gives back its highest shard: engine aborted at 22 s, stopped at 22.3 s, Lease released
    // after that; c takes it at its next try (24 s). b gives nothing: its list at 24 s sees c at 0 but
    // shard 1 free, which covers c's shortfall (one shard moves for one join, not two).
    expect(c.events.filter((e) => Number(e.split(' ')[0]) >= 20_000)).toEqual(['22000 a -1', '22300 a stopped 1', '24000 c +1']);
    expect(c.timeline.slice(1)).toEqual([
      '2000 a:[0,1] b:[2,3]',
      '20000 a:[0,1] b:[2,3] c:[]',
      '22000 a:[0] b:[2,3] c:[]',
      '24000 a:[0] b:[2,3] c:[1]',
    ]);
    // The given-back Leases were released (holder '') before their next holder wrote them: the two
    // writes before `to` first wrote the shard's Lease, and that write.
    const handover = (shard: number, to: string) => {
      const w = c.api.writesTo(shardLeaseName(PREFIX, shard));
      const i = w.indexOf(`PUT ${to}`);
      return w.slice(i - 2, i + 1);
    };
    expect(handover(1, 'c')).toEqual(['PUT a', 'PUT ', 'PUT c']);
    expect(c.api.writesTo(shardLeaseName(PREFIX, 3)).every((w) => w.endsWith(' b'))).toBe(true); // b kept shard 3 throughout
    for (const id of ['a', 'b', 'c']) expect(c.get(id).set.decision()).toMatchObject({ min: 1, max: 2 });
  });

  it('a graceful stop hands its shards over at the survivors’ next try, long before the lease duration', async () => {
    const c = await threeReplicas({ engineStopMs: 300 });
    await c.runUntil(20_100);
    const stoppedAt = await c.stop('a');
    // Its engines are aborted at once and waited for; then its shard and member Leases are released.
    expect(c.events.filter((e) => / a /.test(e)).slice(-4)).toEqual(['20100 a -0', '20100 a -3', '20400 a stopped 0', '20400 a stopped 3']);
    expect(stoppedAt).toBe(20_400);
    for (const name of [shardLeaseName(PREFIX, 0), shardLeaseName(PREFIX, 3), memberLeaseName(PREFIX, 'a')]) expect(c.api.get(NS, name)?.spec?.holderIdentity).toBe('');
    const takenAt = await c.until('b and c hold two each', () => c.get('b').set.held().length === 2 && c.get('c').set.held().length === 2, 40_000);
    expect(takenAt).toBe(22_000);
    expect(takenAt - 20_100).toBeLessThan(DURATION / 5);
    expect(c.holders()).toEqual(['b', 'b', 'c', 'c']);
    await c.runUntil(40_000);
    expect(c.timeline.slice(-2)).toEqual(['20100 a:[] b:[1] c:[2]', '22000 a:[] b:[0,1] c:[2,3]']);
  });

  it.each([1, 2, 3, 4, 5, 6])('seed %i: jitter, latency, staggered starts, joins, kills, hangs and graceful stops never let two replicas hold one shard; the survivors end balanced', async (seed) => {
    const rnd = prng(seed);
    const c = (cluster = new Cluster({ shards: 5, engineStopMs: 200, latencyMs: (seed % 3) * 30, random: (id) => prng(seed * 1000 + id.charCodeAt(0)) }));
    const alive: string[] = [];
    let next = 0;
    const join = () => {
      const id = String.fromCharCode(97 + next++);
      c.start(id);
      alive.push(id);
    };
    join();
    await c.runUntil(Math.floor(rnd() * 3_000));
    join();
    await c.runUntil(c.clock.t + Math.floor(rnd() * 3_000));
    join();
    for (let i = 0; i < 6; i++) {
      await c.runUntil(c.clock.t + 2_000 + Math.floor(rnd() * 20_000));
      const what = rnd();
      if (alive.length <= 2 || (what < 0.3 && next < 10)) {
        join();
        continue;
      }
      const victim = alive.splice(Math.floor(rnd() * alive.length), 1)[0]!;
      if (what < 0.55) c.get(victim).client.hang = true;
      else if (what < 0.8) void c.get(victim).set.stop({ release: false });
      else void c.get(victim).set.stop();
    }
    // Quiet: dead members and their shards expire (15 s seen unchanged), then a few balance rounds.
    await c.runUntil(c.clock.t + DURATION + 10 * RETRY);
    const held = alive.map((id) => c.get(id).set.held().length);
    expect(held.reduce((a, b) => a + b, 0), c.snapshot()).toBe(5);
    for (const n of held) {
      expect(n, c.snapshot()).toBeGreaterThanOrEqual(Math.floor(5 / alive.length));
      expect(n, c.snapshot()).toBeLessThanOrEqual(Math.ceil(5 / alive.length));
    }
  });
});

describe('ShardSet: membership Leases of replicas gone are swept', () => {
  const member = (id: string) => memberLeaseName(PREFIX, id);
  const deletes = (c: Cluster) => c.api.requests.filter((r) => r.startsWith('DELETE '));

  it("a crashed replica's Lease is deleted once unchanged for 10 lease durations, by one replica; the live ones' are kept", async () => {
    const c = await threeReplicas();
    await c.stop('a', { release: false }); // a crash: nothing released
    const lastRenewal = c.clock.t;
    await c.runUntil(lastRenewal + 10 * DURATION - RETRY);
    expect(c.api.get(NS, member('a'))).toBeDefined();
    await c.until('a\'s Lease deleted', () => c.api.get(NS, member('a')) === undefined, lastRenewal + 10 * DURATION + 2 * RETRY);
    expect(c.clock.t - lastRenewal).toBeGreaterThanOrEqual(10 * DURATION);
    expect(c.api.writes.filter((w) => w.method === 'DELETE').map((w) => w.name)).toEqual([member('a')]);
    await c.runUntil(c.clock.t + 10 * DURATION);
    // b and c, renewing all along, keep theirs, and hold all four shards.
    expect(c.api.get(NS, member('b'))?.spec?.holderIdentity).toBe('b');
    expect(c.api.get(NS, member('c'))?.spec?.holderIdentity).toBe('c');
    expect(c.holders().filter(Boolean).sort()).toEqual(['b', 'b', 'c', 'c']);
    // A 404 for the one who lost the race is not an error: at most one delete got through.
    expect(deletes(c).length).toBeLessThanOrEqual(2);
  });

  it('a released Lease (a graceful stop) is swept too; a replica cut off that long comes back with a new one and is counted again', async () => {
    const c = await threeReplicas();
    await c.stop('c'); // released
    c.get('b').client.hang = true; // b cut off: its Lease stops changing, and it loses its shards
    await c.until('both Leases deleted', () => c.api.get(NS, member('c')) === undefined && c.api.get(NS, member('b')) === undefined, c.clock.t + 12 * DURATION);
    expect(c.get('a').set.held()).toEqual([0, 1, 2, 3]);
    c.get('b').client.hang = false;
    c.get('b').client.reset();
    await c.until('b back with a new Lease and two shards', () => c.api.get(NS, member('b'))?.spec?.holderIdentity === 'b' && c.get('b').set.held().length === 2, c.clock.t + 4 * DURATION);
    expect(c.get('a').set.held().length).toBe(2);
  });

  it('a Lease renewed between the list and the delete is kept: the delete carries the resourceVersion listed', async () => {
    const c = await threeReplicas();
    await c.stop('a', { release: false });
    // a comes back just as the first delete of its Lease is on its way: it renews it first.
    let renewed = false;
    c.api.beforeServe = (method, path) => {
      if (renewed || method !== 'DELETE' || path !== FakeLeaseApi.path(NS, member('a'))) return;
      renewed = true;
      const l = c.api.get(NS, member('a'))!;
      c.api.seed(NS, member('a'), { ...l.spec, renewTime: new Date(c.clock.now()).toISOString() });
    };
    await c.until('a delete tried', () => renewed, c.clock.t + 12 * DURATION);
    await c.runUntil(c.clock.t + RETRY);
    expect(c.api.get(NS, member('a'))).toBeDefined();
    expect(c.api.writes.filter((w) => w.method === 'DELETE')).toEqual([]);
  });

  it('without the right to delete Leases: tried once, then left alone; the replicas go on balancing', async () => {
    const c = await threeReplicas();
    c.api.denyDelete = true;
    await c.stop('a', { release: false });
    await c.runUntil(c.clock.t + 20 * DURATION);
    expect(c.api.get(NS, member('a'))).toBeDefined();
    // Each survivor tried once, then stopped trying.
    expect(deletes(c)).toEqual([`DELETE ${FakeLeaseApi.path(NS, member('a'))}`, `DELETE ${FakeLeaseApi.path(NS, member('a'))}`]);
    expect(c.holders().filter(Boolean).sort()).toEqual(['b', 'b', 'c', 'c']);
  });
});

describe('FakeLeaseApi', () => {
  it('keys Leases by path, lists a namespace, creates by POST to the collection and replaces by PUT with the resourceVersion read', async () => {
    const api = new FakeLeaseApi();
    const col = FakeLeaseApi.path(NS);
    expect(col).toBe('/apis/coordination.k8s.io/v1/namespaces/netform-system/leases');
    await api.request('POST', col, { body: { metadata: { name: 'x', namespace: NS }, spec: { holderIdentity: 'a' } } });
    await api.request('POST', FakeLeaseApi.path('other'), { body: { metadata: { name: 'x' }, spec: { holderIdentity: 'z' } } });
    await expect(api.request('POST', col, { body: { metadata: { name: 'x' } } })).rejects.toMatchObject({ status: 409, reason: 'AlreadyExists' });
    await expect(api.request('GET', FakeLeaseApi.path(NS, 'y'))).rejects.toMatchObject({ status: 404 });
    const got = await api.request<{ metadata: { resourceVersion: string } }>('GET', FakeLeaseApi.path(NS, 'x'));
    expect(got.metadata.resourceVersion).toBe('1');
    const put = (rv: string) => api.request('PUT', FakeLeaseApi.path(NS, 'x'), { body: { metadata: { name: 'x', resourceVersion: rv }, spec: { holderIdentity: 'b' } } });
    await put('1');
    await expect(put('1')).rejects.toMatchObject({ status: 409, reason: 'Conflict' });
    const list = await api.request<{ items: { metadata: { name: string; namespace: string }; spec: { holderIdentity: string } }[] }>('GET', col);
    expect(list.items.map((l) => [l.metadata.namespace, l.metadata.name, l.spec.holderIdentity])).toEqual([[NS, 'x', 'b']]);
    expect(api.writes.map((w) => `${w.method} ${w.namespace}/${w.name} ${w.holder}`)).toEqual([`POST ${NS}/x a`, 'POST other/x z', `PUT ${NS}/x b`]);
  });

  it("fails a client's requests by its own switches, and its hanging ones when reset", async () => {
    const api = new FakeLeaseApi();
    const a = api.client();
    const b = api.client();
    a.down = true;
    await expect(a.request('GET', FakeLeaseApi.path(NS))).rejects.toMatchObject({ status: 0 });
    await expect(b.request('GET', FakeLeaseApi.path(NS))).resolves.toEqual({ items: [] });
    a.down = false;
    a.hang = true;
    const hung = a.request('GET', FakeLeaseApi.path(NS));
    a.reset();
    await expect(hung).rejects.toThrow('socket hang up');
  });
});

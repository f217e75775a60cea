// The pure part of leader election (MicroTime formatting, observations, the acquire/renew/wait
// decision, the timing rules) and the elector's deadlines on a manual clock. The elector against a
// real apiserver: test/kube/leader.test.ts.
import { hostname } from 'node:os';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { decide, formatMicroTime, LeaderElector, observe, parseMicroTime, releasedSpec, validateTiming, type DecideInput, type Lease, type LeaseDecision } from './leader.ts';
import { FakeLeaseApi, ManualClock } from './lease-fakes.test-support.ts';

const T0 = Date.UTC(2026, 10, 21, 14, 30, 0, 250);
const NOW = formatMicroTime(T0);

function lease(spec: Lease['spec']): Lease {
  return { metadata: { name: 'netform-controller', namespace: 'netform-system', resourceVersion: '42' }, spec };
}

describe('MicroTime', () => {
  it.each([
    [Date.UTC(2006, 0, 2, 15, 4, 5, 0), '2006-01-02T15:04:05.000000Z'],
    [Date.UTC(2026, 10, 21, 14, 30, 0, 250), '2026-11-21T14:30:00.250000Z'],
    [Date.UTC(1999, 11, 31, 23, 59, 59, 999), '1999-12-31T23:59:59.999000Z'],
  ])('formats %d as %s', (ms, s) => {
    expect(formatMicroTime(ms)).toBe(s);
    expect(parseMicroTime(s)).toBe(ms);
  });

  it.each([
    ['2006-01-02T15:04:05.123456Z', Date.UTC(2006, 0, 2, 15, 4, 5, 123)],
    ['2006-01-02T15:04:05.123456789Z', Date.UTC(2006, 0, 2, 15, 4, 5, 123)],
    ['2006-01-02T15:04:05Z', Date.UTC(2006, 0, 2, 15, 4, 5, 0)],
    ['2006-01-02T17:04:05.5+02:00', Date.UTC(2006, 0, 2, 15, 4, 5, 500)],
  ])('parses %s', (s, ms) => {
    expect(parseMicroTime(s)).toBe(ms);
  });

  it.each([[''], [null], [undefined], ['yesterday'], ['2006-01-02 15:04:05Z'], ['2006-13-02T15:04:05Z']])('rejects %s', (s) => {
    expect(parseMicroTime(s)).toBeUndefined();
  });
});

describe('observe', () => {
  const spec = { holderIdentity: 'a', renewTime: NOW, acquireTime: NOW, leaseTransitions: 3, leaseDurationSeconds: 15 };

  it('starts the clock when it first sees a record', () => {
    expect(observe(undefined, spec, 1000)).toMatchObject({ holder: 'a', sinceMs: 1000 });
  });

  it('keeps the time of first sight while the record is unchanged, so the record ages', () => {
    const o = observe(undefined, spec, 1000);
    expect(observe(o, { ...spec }, 9000).sinceMs).toBe(1000);
  });

  it.each<[string, Partial<typeof spec>]>([
    ['a renewal', { renewTime: formatMicroTime(T0 + 2000) }],
    ['a new holder', { holderIdentity: 'b' }],
    ['a release', { holderIdentity: '' }],
    ['a new duration', { leaseDurationSeconds: 30 }],
    ['a transition count', { leaseTransitions: 4 }],
  ])('restarts the clock on %s', (_what, change) => {
    const o = observe(undefined, spec, 1000);
    const o2 = observe(o, { ...spec, ...change }, 9000);
    expect(o2.sinceMs).toBe(9000);
    expect(o2.holder).toBe(change.holderIdentity ?? 'a');
  });

  it('treats an absent Lease and a Lease without holder as holder ""', () => {
    expect(observe(undefined, undefined, 5).holder).toBe('');
    expect(observe(undefined, { holderIdentity: null }, 5).holder).toBe('');
  });
});

describe('decide', () => {
  const base: DecideInput = { lease: undefined, identity: 'me', leading: false, wallNowMs: T0, observedForMs: 0, leaseDurationSeconds: 15 };
  const other = { holderIdentity: 'other', leaseDurationSeconds: 15, acquireTime: formatMicroTime(T0 - 60_000), renewTime: formatMicroTime(T0 - 1000), leaseTransitions: 4 };
  const mine = { ...other, holderIdentity: 'me' };

  it.each<[string, Partial<DecideInput>, LeaseDecision]>([
    ['no Lease: create it, holding it, 0 transitions', {}, {
      kind: 'create',
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: NOW, renewTime: NOW, leaseTransitions: 0 },
    }],
    ['held by another, seen unchanged for less than its duration: wait', { lease: lease(other), observedForMs: 14_999 }, {
      kind: 'held', holder: 'other', expiresInMs: 1,
    }],
    ['held by another, seen unchanged for its duration: take over, one more transition', { lease: lease(other), observedForMs: 15_000 }, {
      kind: 'update', acquire: true,
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: NOW, renewTime: NOW, leaseTransitions: 5 },
    }],
    ["the holder's own duration counts, not ours", { lease: lease({ ...other, leaseDurationSeconds: 60 }), observedForMs: 30_000 }, {
      kind: 'held', holder: 'other', expiresInMs: 30_000,
    }],
    ['a holder without a duration gets ours', { lease: lease({ ...other, leaseDurationSeconds: null }), observedForMs: 10_000 }, {
      kind: 'held', holder: 'other', expiresInMs: 5_000,
    }],
    ['a renewTime long past by our wall clock is not trusted: first sight means wait', {
      lease: lease({ ...other, renewTime: formatMicroTime(T0 - 3_600_000) }), observedForMs: 0,
    }, { kind: 'held', holder: 'other', expiresInMs: 15_000 }],
    ['a renewTime in our future (our clock is behind) does not delay a takeover', {
      lease: lease({ ...other, renewTime: formatMicroTime(T0 + 3_600_000) }), observedForMs: 15_000,
    }, {
      kind: 'update', acquire: true,
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: NOW, renewTime: NOW, leaseTransitions: 5 },
    }],
    ['released (empty holder): take it at once', { lease: lease({ ...other, holderIdentity: '', leaseDurationSeconds: 1 }) }, {
      kind: 'update', acquire: true,
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: NOW, renewTime: NOW, leaseTransitions: 5 },
    }],
    ['no holder at all and no spec: take it', { lease: { metadata: { name: 'l' } } }, {
      kind: 'update', acquire: true,
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: NOW, renewTime: NOW, leaseTransitions: 1 },
    }],
    ['ours while leading: renew, keeping acquireTime and transitions', { lease: lease(mine), leading: true }, {
      kind: 'update', acquire: false,
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: mine.acquireTime, renewTime: NOW, leaseTransitions: 4 },
    }],
    ['ours but not leading (a lost term): a new term, same holder so same transitions', { lease: lease(mine), leading: false }, {
      kind: 'update', acquire: true,
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: NOW, renewTime: NOW, leaseTransitions: 4 },
    }],
    ['ours, leading, written with another duration: ours replaces it', { lease: lease({ ...mine, leaseDurationSeconds: 99 }), leading: true, leaseDurationSeconds: 20 }, {
      kind: 'update', acquire: false,
      spec: { holderIdentity: 'me', leaseDurationSeconds: 20, acquireTime: mine.acquireTime, renewTime: NOW, leaseTransitions: 4 },
    }],
    ['negative transitions are repaired', { lease: lease({ ...other, holderIdentity: '', leaseTransitions: -3 }) }, {
      kind: 'update', acquire: true,
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: NOW, renewTime: NOW, leaseTransitions: 1 },
    }],
  ])('%s', (_name, input, want) => {
    expect(decide({ ...base, ...input })).toEqual(want);
  });

  it('never hands a Lease held by another to a candidate that has watched it for less than its duration', () => {
    for (let seen = 0; seen < 15_000; seen += 997) {
      for (const leading of [false, true]) {
        expect(decide({ ...base, lease: lease(other), observedForMs: seen, leading }).kind).toBe('held');
      }
    }
  });
});

describe('releasedSpec', () => {
  it('clears the holder, keeps the transitions and uses the shortest duration', () => {
    expect(releasedSpec({ holderIdentity: 'me', leaseTransitions: 7, leaseDurationSeconds: 15, acquireTime: 'x', renewTime: 'y' }, T0)).toEqual({
      holderIdentity: '', leaseDurationSeconds: 1, acquireTime: NOW, renewTime: NOW, leaseTransitions: 7,
    });
    expect(releasedSpec(undefined, T0).leaseTransitions).toBe(0);
  });
});

describe('validateTiming', () => {
  it.each([
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }],
    [{ leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 }],
  ])('accepts %o', (t) => {
    expect(() => validateTiming(t)).not.toThrow();
  });

  it.each([
    [{ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, /leaseDurationMs .* greater than renewDeadlineMs/],
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 }, /renewDeadlineMs .* greater than retryPeriodMs/],
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 }, /retryPeriodMs must be a positive/],
    [{ leaseDurationMs: Number.NaN, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, /leaseDurationMs must be a positive/],
  ])('rejects %o', (t, msg) => {
    expect(() => validateTiming(t)).toThrow(msg);
  });
});

// --- the elector's timing, on a manual clock ----------------------------------------------------
// An in-memory Lease API with the apiserver's compare-and-swap rules (lease-fakes.test-support.ts)
// stands in for the apiserver here only to drive time by hand; test/kube/leader.test.ts runs the
// elector against the real one.

const NS = 'netform-system';
const LEASE = 'netform-controller';

function elector(api: FakeLeaseApi, clock: ManualClock, identity: string, calls: string[] = []) {
  return new LeaderElector({
    client: api,
    namespace: NS,
    name: LEASE,
    identity,
    log: pino({ level: 'silent' }),
    clock,
    random: () => 0,
    onStartedLeading: (signal) => {
      calls.push(`start ${identity}`);
      signal.addEventListener('abort', () => calls.push(`abort ${identity}`));
    },
    onStoppedLeading: () => calls.push(`stop ${identity}`),
    onNewLeader: (id) => calls.push(`new ${identity}: ${id}`),
  });
}

describe('LeaderElector timing', () => {
  it('stops leading exactly renewDeadline after the start of its last successful renewal when the apiserver hangs', async () => {
    const api = new FakeLeaseApi();
    const clock = new ManualClock(T0);
    const calls: string[] = [];
    const e = elector(api, clock, 'a', calls);
    void e.run();
    await clock.advanceTo(0);
    expect(e.isLeader()).toBe(true);
    await clock.advanceTo(2_000); // renewal started at 2000 succeeds
    expect(api.writesTo(LEASE)).toEqual(['POST a', 'PUT a']);
    api.hang = true;
    await clock.advanceTo(11_999);
    expect(e.isLeader()).toBe(true);
    expect(calls).toEqual(['new a: a', 'start a']);
    await clock.advanceTo(12_000);
    expect(e.isLeader()).toBe(false);
    expect(calls).toEqual(['new a: a', 'start a', 'abort a', 'stop a']);
    api.hang = false;
    await e.stop({ release: false });
  });

  it('a request that never settles, even when aborted, neither keeps it leading nor stalls the campaign', async () => {
    const api = new FakeLeaseApi();
    const clock = new ManualClock(T0);
    const calls: string[] = [];
    const e = elector(api, clock, 'a', calls);
    void e.run();
    await clock.advanceTo(2_000);
    expect(api.writesTo(LEASE)).toEqual(['POST a', 'PUT a']);
    api.wedged = true;
    await clock.advanceTo(12_000); // renewDeadline (10 s) after the last renewal's start
    expect(e.isLeader()).toBe(false);
    expect(calls).toEqual(['new a: a', 'start a', 'abort a', 'stop a']);
    // The backend answers again: the campaign goes on and takes its own Lease back once it has
    // watched it unchanged for the lease duration.
    api.wedged = false;
    await clock.advanceTo(60_000);
    expect(e.isLeader()).toBe(true);
    expect(calls.filter((c) => c === 'start a')).toHaveLength(2);
    await e.stop({ release: false });
  });

  it('ends the term even when its deadline timer fires a little early', async () => {
    const api = new FakeLeaseApi();
    const clock = new ManualClock(T0);
    const calls: string[] = [];
    const e = elector(api, clock, 'a', calls);
    const early = clock.setTimeout.bind(clock);
    // Every timer of 100 ms or more fires 1 ms early, as Node's timer clock can against performance.now().
    clock.setTimeout = (fn: () => void, ms: number) => early(fn, ms >= 100 ? ms - 1 : ms);
    void e.run();
    await clock.advanceTo(2_000);
    api.wedged = true;
    await clock.advanceTo(12_500);
    expect(calls).toContain('stop a');
    expect(e.isLeader()).toBe(false);
    api.wedged = false;
    await e.stop({ release: false });
  });

  it('a tick that starts past the deadline ends the term even if the deadline timer never ran', async () => {
    const api = new FakeLeaseApi();
    const clock = new ManualClock(T0);
    const calls: string[] = [];
    const e = elector(api, clock, 'a', calls);
    const set = clock.setTimeout.bind(clock);
    // Drop the deadline timer (the only 10 s timer here), as if it had fired early and done nothing.
    clock.setTimeout = (fn: () => void, ms: number) => (ms === 10_000 ? 0 : set(fn, ms));
    void e.run();
    await clock.advanceTo(2_000);
    api.down = true; // renewals at 4, 6, 8, 10 s fail at once; the one at 12 s starts past the deadline
    await clock.advanceTo(12_500);
    expect(calls).toEqual(['new a: a', 'start a', 'abort a', 'stop a']);
    api.down = false;
    await e.stop({ release: false });
  });

  it('answers isLeader() false past the deadline even when no timer has run yet', async () => {
    const api = new FakeLeaseApi();
    const clock = new ManualClock(T0);
    const e = elector(api, clock, 'a');
    void e.run();
    await clock.advanceTo(0);
    expect(e.isLeader()).toBe(true);
    clock.t = 10_000; // the event loop was blocked: time moved, timers did not fire
    expect(e.isLeader()).toBe(false);
    await e.stop({ release: false });
  });

  it('takes a Lease whose holder stopped renewing only after watching it unchanged for its duration', async () => {
    const api = new FakeLeaseApi();
    const clock = new ManualClock(T0);
    api.seed(NS, LEASE, { holderIdentity: 'dead', leaseDurationSeconds: 15, renewTime: formatMicroTime(T0 - 86_400_000), leaseTransitions: 2 }, '7');
    const calls: string[] = [];
    const e = elector(api, clock, 'b', calls);
    void e.run();
    await clock.advanceTo(14_999);
    expect(e.isLeader()).toBe(false);
    expect(calls).toEqual(['new b: dead']);
    await clock.advanceTo(16_000); // attempts every 2 s: the one at 16 s is the first at or after 15 s
    expect(e.isLeader()).toBe(true);
    expect(api.get(NS, LEASE)!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 3 });
    await e.stop();
    expect(api.get(NS, LEASE)!.spec!.holderIdentity).toBe('');
  });

  it('lets one of two simultaneous candidates win; the loser sees a 409, reads again and follows', async () => {
    const api = new FakeLeaseApi();
    const clock = new ManualClock(T0);
    const calls: string[] = [];
    const a = elector(api, clock, 'a', calls);
    const b = elector(api, clock, 'b', calls);
    void a.run();
    void b.run();
    await clock.advanceTo(6_000);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    const winner = a.isLeader() ? 'a' : 'b';
    const loser = winner === 'a' ? 'b' : 'a';
    expect(api.writesTo(LEASE)[0]).toBe(`POST ${winner}`);
    expect(api.writesTo(LEASE).filter((w) => !w.endsWith(winner))).toEqual([]);
    expect(calls).toContain(`new ${loser}: ${winner}`);
    expect(calls.filter((c) => c.startsWith('start'))).toEqual([`start ${winner}`]);
    await a.stop({ release: false });
    await b.stop({ release: false });
  });

  it('with mayAcquire false only reads: takes the free Lease once allowed, and renews whatever it says', async () => {
    const api = new FakeLeaseApi();
    const clock = new ManualClock(T0);
    let allowed = false;
    const e = new LeaderElector({ client: api, namespace: NS, name: `${LEASE}-shard-0`, identity: 'a', log: pino({ level: 'silent' }), clock, random: () => 0, mayAcquire: () => allowed });
    void e.run();
    await clock.advanceTo(5_000);
    expect(e.isLeader()).toBe(false);
    expect(api.writesTo(LEASE)).toEqual([]);
    allowed = true;
    await clock.advanceTo(7_000);
    expect(e.isLeader()).toBe(true);
    allowed = false;
    await clock.advanceTo(20_000);
    expect(e.isLeader()).toBe(true);
    await e.stop();
    expect(api.get(NS, `${LEASE}-shard-0`)!.spec!.holderIdentity).toBe('');
  });

  it('refuses timings that would let a stale leader overlap a new one', () => {
    const api = new FakeLeaseApi();
    expect(() => new LeaderElector({ client: api, namespace: 'n', name: 'l', log: pino({ level: 'silent' }), leaseDurationMs: 5_000, renewDeadlineMs: 5_000 })).toThrow(RangeError);
  });

  it('defaults the identity to hostname_<8 hex digits>', () => {
    const e = new LeaderElector({ client: new FakeLeaseApi(), namespace: 'n', name: 'l', log: pino({ level: 'silent' }), random: () => 0.5 });
    expect(e.identity).toBe(`${hostname()}_88888888`);
  });
});

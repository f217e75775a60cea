import { describe, expect, it } from 'vitest';
import { FakeClock, flush } from '../../test/support/fake-clock.ts';
import { ItemBackoff } from './backoff.ts';
import { WorkQueue, type Clock, type ReconcileResult, type WorkQueueOptions } from './workqueue.ts';

// ---- helpers ---------------------------------------------------------------

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Outcome = ReconcileResult | void;
/** n = how many times this key has been called before (0 for the first run). */
type Impl = (key: string, n: number, signal: AbortSignal) => Outcome | Promise<Outcome>;

/** Handlers that block until the test releases them. */
class Blocker {
  readonly pending: Array<{ key: string; d: Deferred<Outcome> }> = [];
  readonly impl: Impl = (key) => {
    const d = deferred<Outcome>();
    this.pending.push({ key, d });
    return d.promise;
  };
  /** Release the oldest blocked run of `key`. */
  async release(key: string, result?: Outcome): Promise<void> {
    const i = this.pending.findIndex((p) => p.key === key);
    if (i < 0) throw new Error(`no blocked run of ${key}`);
    const [p] = this.pending.splice(i, 1);
    p!.d.resolve(result);
    await flush();
  }
  /** Release every blocked run, repeatedly, until nothing new blocks. */
  async drain(): Promise<void> {
    for (let guard = 0; guard < 100; guard++) {
      await flush();
      if (this.pending.length === 0) return;
      for (const p of this.pending.splice(0)) p.d.resolve(undefined);
    }
    throw new Error('drain did not converge');
  }
}

interface SetupOpts {
  impl?: Impl;
  concurrency?: number;
  rateLimit?: { perSecond: number; burst: number };
  backoff?: ItemBackoff;
  isRetryable?: (err: unknown) => boolean;
}

function setup(opts: SetupOpts = {}) {
  const clock = new FakeClock();
  const log: Array<{ key: string; at: number; signal: AbortSignal }> = [];
  const calls = new Map<string, number>();
  const active = new Map<string, number>();
  const maxActive = new Map<string, number>();
  let running = 0;
  let maxRunning = 0;
  const errors: Array<{ key: string; err: unknown; retryInMs: number }> = [];
  const backoff = opts.backoff ?? new ItemBackoff({ jitter: 0 });
  const impl: Impl = opts.impl ?? (() => undefined);
  const options: WorkQueueOptions = {
    clock,
    backoff,
    concurrency: opts.concurrency ?? 4,
    rateLimit: opts.rateLimit ?? { perSecond: Infinity, burst: 1 },
    onError: (key, err, retryInMs) => errors.push({ key, err, retryInMs }),
    handler: async (key, signal) => {
      const n = calls.get(key) ?? 0;
      calls.set(key, n + 1);
      log.push({ key, at: clock.now(), signal });
      const a = (active.get(key) ?? 0) + 1;
      active.set(key, a);
      maxActive.set(key, Math.max(maxActive.get(key) ?? 0, a));
      maxRunning = Math.max(maxRunning, ++running);
      try {
        return await impl(key, n, signal);
      } finally {
        active.set(key, (active.get(key) ?? 1) - 1);
        running--;
      }
    },
  };
  if (opts.isRetryable) options.isRetryable = opts.isRetryable;
  const q = new WorkQueue(options);
  return {
    q,
    clock,
    backoff,
    log,
    errors,
    maxActive,
    keys: () => log.map((l) => l.key),
    times: (key?: string) => log.filter((l) => key === undefined || l.key === key).map((l) => l.at),
    runsOf: (key: string) => calls.get(key) ?? 0,
    maxRunning: () => maxRunning,
  };
}

const boom = (): never => {
  throw new Error('boom');
};

// ---- tests -----------------------------------------------------------------

describe('WorkQueue: de-duplication and FIFO', () => {
  it.each([
    { adds: ['a', 'a', 'a'], order: ['a'] },
    { adds: ['a', 'b', 'a'], order: ['a', 'b'] },
    { adds: ['b', 'a', 'b', 'a', 'c', 'c'], order: ['b', 'a', 'c'] },
  ])('a waiting key is queued once: $adds → $order', async ({ adds, order }) => {
    const b = new Blocker();
    const h = setup({ concurrency: 1, impl: b.impl });
    h.q.add('block');
    await flush();
    for (const k of adds) h.q.add(k);
    expect(h.q.stats()).toEqual({ queued: order.length, running: 1, delayed: 0, processed: 0, failed: 0 });
    expect(h.q.len()).toBe(order.length);
    await b.drain();
    expect(h.keys()).toEqual(['block', ...order]);
    expect(h.q.stats()).toEqual({ queued: 0, running: 0, delayed: 0, processed: order.length + 1, failed: 0 });
  });

  it.each([
    { adds: ['a', 'b', 'a', 'a', 'b'], order: ['a', 'b'] },
    { adds: ['x', 'x', 'x'], order: ['x'] },
  ])('dispatch is asynchronous, so a same-tick burst $adds runs $order once each', async ({ adds, order }) => {
    const h = setup();
    for (const k of adds) h.q.add(k);
    expect(h.log).toEqual([]); // nothing ran inside add()
    expect(h.q.stats()).toMatchObject({ queued: order.length, running: 0 });
    expect(h.q.isIdle()).toBe(false);
    await h.clock.advance(1000);
    expect(h.keys()).toEqual(order);
  });

  it.each([
    { concurrency: 1, adds: ['c', 'a', 'b'] },
    { concurrency: 1, adds: ['k3', 'k1', 'k4', 'k2', 'k0'] },
    { concurrency: 2, adds: ['z', 'y', 'x', 'w', 'v'] },
    { concurrency: 3, adds: ['m', 'a', 'q', 'b', 'p', 'c', 'o'] },
  ])('ready keys start in FIFO order (concurrency $concurrency)', async ({ concurrency, adds }) => {
    const b = new Blocker();
    const h = setup({ concurrency, impl: b.impl });
    for (const k of adds) h.q.add(k);
    await flush();
    expect(h.keys()).toEqual(adds.slice(0, concurrency));
    expect(h.q.stats().queued).toBe(adds.length - concurrency);
    await b.drain();
    expect(h.keys()).toEqual(adds);
    expect(h.maxRunning()).toBe(concurrency);
  });
});

describe('WorkQueue: per-key exclusivity', () => {
  it.each([1, 2, 3, 4, 8])('never runs a key twice at once (concurrency %i)', async (concurrency) => {
    const b = new Blocker();
    const h = setup({ concurrency, impl: b.impl });
    for (const k of ['x', 'y', 'z']) h.q.add(k);
    await flush();
    expect(h.q.stats().running).toBe(Math.min(concurrency, 3));
    for (const k of ['x', 'y', 'z', 'x', 'y', 'z']) h.q.add(k);
    await flush();
    await b.drain();
    ['x', 'y', 'z'].forEach((k, i) => {
      expect(h.maxActive.get(k)).toBe(1);
      // keys that were running when re-added run once more; keys still waiting were de-duplicated
      expect(h.runsOf(k)).toBe(i < concurrency ? 2 : 1);
    });
    expect(h.maxRunning()).toBe(Math.min(concurrency, 3));
    expect(h.q.isIdle()).toBe(true);
  });

  it('does not start a running key again even with free workers', async () => {
    const b = new Blocker();
    const h = setup({ concurrency: 4, impl: b.impl });
    h.q.add('x');
    await flush();
    h.q.add('x');
    h.q.add('y');
    await flush();
    expect(h.keys()).toEqual(['x', 'y']);
    expect(h.q.stats()).toMatchObject({ running: 2, queued: 1 });
    await b.release('x');
    expect(h.keys()).toEqual(['x', 'y', 'x']);
    expect(h.maxActive.get('x')).toBe(1);
    await b.drain();
    expect(h.runsOf('x')).toBe(2);
  });
});

describe('WorkQueue: re-add while running', () => {
  it.each([
    { addsDuringRun: 0, runs: 1 },
    { addsDuringRun: 1, runs: 2 },
    { addsDuringRun: 2, runs: 2 },
    { addsDuringRun: 7, runs: 2 },
  ])('$addsDuringRun add(s) during a run → $runs run(s) total', async ({ addsDuringRun, runs }) => {
    const first = deferred<Outcome>();
    const h = setup({ impl: (_k, n) => (n === 0 ? first.promise : undefined) });
    h.q.add('k');
    await flush();
    for (let i = 0; i < addsDuringRun; i++) h.q.add('k');
    expect(h.q.stats()).toMatchObject({ running: 1, queued: addsDuringRun > 0 ? 1 : 0 });
    expect(h.runsOf('k')).toBe(1);
    first.resolve(undefined);
    await flush();
    expect(h.runsOf('k')).toBe(runs);
    expect(h.maxActive.get('k')).toBe(1);
    await h.clock.advance(10_000);
    expect(h.runsOf('k')).toBe(runs);
    expect(h.q.stats()).toEqual({ queued: 0, running: 0, delayed: 0, processed: runs, failed: 0 });
  });

  it('an add during the extra run causes one more run', async () => {
    const b = new Blocker();
    const h = setup({ impl: b.impl });
    h.q.add('k');
    await flush();
    h.q.add('k');
    await b.release('k');
    expect(h.runsOf('k')).toBe(2);
    h.q.add('k');
    h.q.add('k');
    await b.release('k');
    expect(h.runsOf('k')).toBe(3);
    await b.release('k');
    expect(h.runsOf('k')).toBe(3);
    expect(h.q.isIdle()).toBe(true);
  });
});

describe('WorkQueue: retries with per-key backoff', () => {
  it.each([
    { name: 'default base 5ms doubling', backoff: {}, delays: [5, 10, 20, 40, 80, 160, 320] },
    { name: 'capped at maxMs 30', backoff: { maxMs: 30 }, delays: [5, 10, 20, 30, 30, 30] },
    { name: 'base 100 cap 250', backoff: { baseMs: 100, maxMs: 250 }, delays: [100, 200, 250, 250] },
  ])('failing key is retried after growing delays: $name', async ({ backoff, delays }) => {
    const h = setup({ backoff: new ItemBackoff({ ...backoff, jitter: 0 }), impl: boom });
    h.q.add('k');
    await flush();
    let t = 0;
    const wantTimes = [0];
    for (let i = 0; i < delays.length; i++) {
      const d = delays[i]!;
      expect(h.errors.length).toBe(i + 1);
      expect(h.errors[i]).toMatchObject({ key: 'k', retryInMs: d });
      expect((h.errors[i]!.err as Error).message).toBe('boom');
      expect(h.q.stats()).toMatchObject({ delayed: 1, running: 0, failed: i + 1 });
      await h.clock.advance(d - 1);
      expect(h.runsOf('k')).toBe(i + 1); // not early
      await h.clock.advance(1);
      expect(h.runsOf('k')).toBe(i + 2); // exactly on time
      t += d;
      wantTimes.push(t);
    }
    expect(h.times('k')).toEqual(wantTimes);
    expect(h.backoff.failures('k')).toBe(delays.length + 1);
  });

  it.each([
    { outcomes: ['fail', 'fail', 'ok', 'fail', 'fail'], retries: [5, 10, 5, 10], failuresAfter: 2 },
    { outcomes: ['fail', 'ok', 'fail'], retries: [5, 5], failuresAfter: 1 },
    { outcomes: ['fail', 'fail', 'fail', 'ok', 'fail'], retries: [5, 10, 20, 5], failuresAfter: 1 },
    { outcomes: ['fail', 'fail', 'ok'], retries: [5, 10], failuresAfter: 0 },
  ])('success resets backoff: $outcomes → retries $retries', async ({ outcomes, retries, failuresAfter }) => {
    const h = setup({ impl: (_k, n) => (outcomes[n] === 'fail' ? boom() : undefined) });
    // Step 1ms at a time and stop right after the last scripted run.
    for (let guard = 0; h.runsOf('k') < outcomes.length && guard < 1000; guard++) {
      if (h.q.isIdle({ includeDelayed: true })) h.q.add('k'); // re-trigger after a success
      await h.clock.advance(1);
    }
    expect(h.runsOf('k')).toBe(outcomes.length);
    expect(h.errors.map((e) => e.retryInMs)).toEqual(retries);
    expect(h.backoff.failures('k')).toBe(failuresAfter);
  });

  it('a failure returned as a value (retry) is retried with the same backoff as a thrown one, and reported as is', async () => {
    const failure = { errorClass: 'Transient', message: 'neutron 503' };
    const h = setup({ impl: (_k, n) => (n < 2 ? { retry: failure, requeueAfterMs: 60_000 } : { requeueAfterMs: 60_000 }) });
    h.q.add('k');
    await flush();
    expect(h.errors).toEqual([{ key: 'k', err: failure, retryInMs: 5 }]);
    expect(h.q.stats()).toMatchObject({ failed: 1, delayed: 1 });
    await h.clock.advance(5);
    expect(h.errors.map((e) => e.retryInMs)).toEqual([5, 10]);
    await h.clock.advance(10);
    expect(h.runsOf('k')).toBe(3);
    // The success resets the backoff and its requeueAfterMs is honoured (the failures' was not).
    expect(h.backoff.failures('k')).toBe(0);
    expect(h.times('k')).toEqual([0, 5, 15]);
    await h.clock.advance(60_000);
    expect(h.times('k')).toEqual([0, 5, 15, 60_015]);
  });

  it.each([
    { random: 0, want: 4.5 },
    { random: 0.5, want: 5 },
    { random: 1, want: 5.5 },
  ])('retry delay is jittered by the backoff (random $random → $want ms)', async ({ random, want }) => {
    const h = setup({ backoff: new ItemBackoff({ jitter: 0.1, random: () => random }), impl: boom });
    h.q.add('k');
    await flush();
    expect(h.errors[0]!.retryInMs).toBeCloseTo(want, 9);
    await h.clock.advance(want);
    expect(h.times('k')).toEqual([0, want]);
  });

  it('non-retryable errors are reported with -1, dropped and forgotten', async () => {
    class Fatal extends Error {}
    const h = setup({
      isRetryable: (e) => !(e instanceof Fatal),
      impl: (k) => {
        throw k === 'f' ? new Fatal('fatal') : new Error('transient');
      },
    });
    h.q.add('f');
    h.q.add('r');
    await flush();
    expect(h.errors.map((e) => [e.key, e.retryInMs])).toEqual([
      ['f', -1],
      ['r', 5],
    ]);
    expect(h.backoff.failures('f')).toBe(0);
    expect(h.backoff.failures('r')).toBe(1);
    expect(h.q.stats()).toEqual({ queued: 0, running: 0, delayed: 1, processed: 2, failed: 2 });
    await h.clock.advance(5);
    expect(h.keys()).toEqual(['f', 'r', 'r']);
  });

  it('addRateLimited: earliest wins but every call counts as a failure', async () => {
    const h = setup();
    expect([h.q.addRateLimited('k'), h.q.addRateLimited('k'), h.q.addRateLimited('k')]).toEqual([5, 5, 5]);
    expect(h.backoff.failures('k')).toBe(3);
    expect(h.q.stats().delayed).toBe(1);
    h.q.forget('k');
    expect(h.backoff.failures('k')).toBe(0);
    await h.clock.advance(100);
    expect(h.times('k')).toEqual([5]);
  });

  it('a failure while the key was re-added retries immediately (retryInMs 0)', async () => {
    const b = new Blocker();
    const h = setup({ impl: (k, n, s) => (n === 0 ? b.impl(k, n, s) : undefined) });
    h.q.add('k');
    await flush();
    h.q.add('k');
    b.pending[0]!.d.reject(new Error('boom'));
    await flush();
    expect(h.errors.map((e) => e.retryInMs)).toEqual([0]);
    expect(h.times('k')).toEqual([0, 0]);
    expect(h.q.stats()).toMatchObject({ delayed: 0, processed: 2, failed: 1 });
  });
});

describe('WorkQueue: requeueAfter', () => {
  it.each([
    { requeueAfterMs: 100, times: [0, 100] },
    { requeueAfterMs: 1, times: [0, 1] },
    { requeueAfterMs: 2500, times: [0, 2500] },
    { requeueAfterMs: 0, times: [0, 0] },
    { requeueAfterMs: -5, times: [0, 0] },
  ])('requeueAfterMs $requeueAfterMs → runs at $times', async ({ requeueAfterMs, times }) => {
    const h = setup({ impl: (_k, n) => (n === 0 ? { requeueAfterMs } : undefined) });
    h.q.add('k');
    await flush();
    const last = times[1]!;
    if (last > 0) {
      expect(h.q.stats()).toMatchObject({ delayed: 1, queued: 0, running: 0 });
      await h.clock.advance(last - 1);
      expect(h.runsOf('k')).toBe(1);
    }
    await h.clock.advance(10_000);
    expect(h.times('k')).toEqual(times);
    expect(h.errors).toEqual([]);
  });

  it('success with requeueAfter resets backoff', async () => {
    const h = setup({
      impl: (_k, n) => (n === 1 ? { requeueAfterMs: 50 } : n <= 2 ? boom() : undefined),
    });
    h.q.add('k');
    await h.clock.advance(1000);
    // fail@0 (retry 5), ok@5 (requeue 50), fail@55 (retry 5 again, not 10), ok@60
    expect(h.times('k')).toEqual([0, 5, 55, 60]);
    expect(h.errors.map((e) => e.retryInMs)).toEqual([5, 5]);
    expect(h.backoff.failures('k')).toBe(0);
  });

  it.each([Number.NaN, Infinity, 'soon' as unknown as number])(
    'invalid requeueAfterMs %s is a failure',
    async (requeueAfterMs) => {
      const h = setup({ impl: (_k, n) => (n === 0 ? { requeueAfterMs } : undefined) });
      h.q.add('k');
      await flush();
      expect(h.errors).toHaveLength(1);
      expect(h.errors[0]!.err).toBeInstanceOf(TypeError);
      expect(h.errors[0]!.retryInMs).toBe(5);
      await h.clock.advance(5);
      expect(h.times('k')).toEqual([0, 5]);
    },
  );
});

type Op = ['add'] | ['after', number] | ['advance', number] | ['remove'];

describe('WorkQueue: delayed adds', () => {
  it.each<{ name: string; ops: Op[]; times: number[] }>([
    { name: 'a later addAfter does not postpone', ops: [['after', 50], ['after', 100]], times: [50] },
    { name: 'an earlier addAfter wins', ops: [['after', 100], ['after', 50]], times: [50] },
    { name: 'earliest absolute time wins (earlier)', ops: [['after', 100], ['advance', 30], ['after', 50]], times: [80] },
    { name: 'earliest absolute time wins (later)', ops: [['after', 100], ['advance', 30], ['after', 80]], times: [100] },
    { name: 'immediate add supersedes a delayed one', ops: [['after', 100], ['add']], times: [0] },
    { name: 'immediate add later supersedes', ops: [['after', 100], ['advance', 40], ['add']], times: [40] },
    { name: 'addAfter after a completed run schedules again', ops: [['add'], ['after', 100]], times: [0, 100] },
    { name: 'addAfter(0) is immediate', ops: [['after', 0]], times: [0] },
    { name: 'remove cancels a delayed add', ops: [['after', 100], ['remove']], times: [] },
  ])('$name', async ({ ops, times }) => {
    const h = setup();
    for (const op of ops) {
      if (op[0] === 'add') h.q.add('k');
      else if (op[0] === 'after') h.q.addAfter('k', op[1]);
      else if (op[0] === 'remove') h.q.remove('k');
      else await h.clock.advance(op[1]);
      await flush();
    }
    await h.clock.advance(10_000);
    expect(h.times('k')).toEqual(times);
    expect(h.clock.pendingTimers).toBe(0); // superseded timers were cleared
  });

  it('addAfter on a key already waiting to run is a no-op', async () => {
    const b = new Blocker();
    const h = setup({ concurrency: 1, impl: b.impl });
    h.q.add('block');
    await flush();
    h.q.add('k');
    h.q.addAfter('k', 50);
    expect(h.q.stats()).toMatchObject({ queued: 1, delayed: 0 });
    expect(h.q.len()).toBe(1);
    await b.drain();
    await h.clock.advance(1000);
    expect(h.keys()).toEqual(['block', 'k']);
  });

  it('len counts ready + delayed', async () => {
    const b = new Blocker();
    const h = setup({ concurrency: 1, impl: b.impl });
    h.q.add('block');
    await flush();
    h.q.add('a');
    h.q.add('b');
    h.q.addAfter('c', 10);
    h.q.addAfter('d', 20);
    expect(h.q.len()).toBe(4);
    expect(h.q.stats()).toEqual({ queued: 2, running: 1, delayed: 2, processed: 0, failed: 0 });
  });

  it('one clock timer serves every delayed key, which run in due order (ties: the first scheduled first)', async () => {
    const h = setup({ concurrency: 1 });
    const n = 2_000;
    // Keys due at 1..200 ms in a shuffled scheduling order, ten per ms.
    const due = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, at: 1 + (i % 200) }));
    for (let i = due.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [due[i], due[j]] = [due[j]!, due[i]!];
    }
    for (const d of due) h.q.addAfter(d.key, d.at);
    expect(h.clock.pendingTimers).toBe(1);
    expect(h.q.stats().delayed).toBe(n);
    await h.clock.advance(100);
    expect(h.clock.pendingTimers).toBe(1);
    await h.clock.advance(200);
    const expected = due.map((d, order) => ({ ...d, order })).sort((a, b) => a.at - b.at || a.order - b.order);
    expect(h.keys()).toEqual(expected.map((d) => d.key));
    expect(h.log.every((l, i) => l.at === expected[i]!.at)).toBe(true);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('superseded and removed delayed entries neither run nor pile up', async () => {
    const h = setup();
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 100; k++) h.q.addAfter(`k${k}`, 1_000 - round); // each earlier than the last: a new entry
      for (let k = 0; k < 100; k += 2) h.q.remove(`k${k}`);
    }
    expect(h.q.stats().delayed).toBe(50);
    expect(h.clock.pendingTimers).toBe(1);
    await h.clock.advance(950);
    expect(h.keys()).toEqual([]);
    await h.clock.advance(1);
    expect(h.keys()).toEqual(Array.from({ length: 50 }, (_, i) => `k${2 * i + 1}`));
    expect(h.times().every((t) => t === 951)).toBe(true);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('a timer that fires early runs what it was armed for, as a timer of its own would, and is armed again for the rest', async () => {
    const clock = new FakeClock();
    // A timer that fires 2 ms before it is due by the clock (at least 1 ms after it is set).
    const early: Clock = { now: () => clock.now(), setTimeout: (fn, ms) => clock.setTimeout(fn, Math.max(1, ms - 2)), clearTimeout: (t) => clock.clearTimeout(t) };
    const ran: Array<[string, number]> = [];
    const q = new WorkQueue({ clock: early, rateLimit: { perSecond: Infinity, burst: 1 }, handler: async (key) => void ran.push([key, clock.now()]) });
    q.addAfter('a', 10);
    q.addAfter('b', 15);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(8); // armed for 10, fires at 8: a runs, b is not due
    expect(ran).toEqual([['a', 8]]);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(10); // armed for b, 5 ms after a's time: asks 5, fires 3 ms later, at 11
    expect(ran).toEqual([['a', 8], ['b', 11]]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('addAfter rejects non-finite delays', () => {
    const h = setup();
    expect(() => h.q.addAfter('k', Number.NaN)).toThrow(RangeError);
    expect(() => h.q.addAfter('k', Infinity)).toThrow(RangeError);
    expect(h.q.len()).toBe(0);
  });
});

describe('WorkQueue: remove', () => {
  it('drops ready, delayed and re-added entries but not the running handler', async () => {
    const b = new Blocker();
    const h = setup({ concurrency: 1, impl: b.impl });
    h.q.add('block');
    await flush();
    h.q.add('a');
    h.q.add('b');
    h.q.addAfter('c', 10);
    h.q.add('block'); // re-add while running
    expect(h.q.len()).toBe(4);
    h.q.remove('a');
    h.q.remove('c');
    h.q.remove('block');
    expect(h.q.stats()).toEqual({ queued: 1, running: 1, delayed: 0, processed: 0, failed: 0 });
    expect(h.log[0]!.signal.aborted).toBe(false);
    await b.drain();
    await h.clock.advance(100);
    expect(h.keys()).toEqual(['block', 'b']);
  });
});

describe('WorkQueue: global rate limit', () => {
  it.each([
    { perSecond: 10, burst: 3, n: 7, times: [0, 0, 0, 100, 200, 300, 400] },
    { perSecond: 4, burst: 1, n: 4, times: [0, 250, 500, 750] },
    { perSecond: 50, burst: 5, n: 5, times: [0, 0, 0, 0, 0] },
    { perSecond: 1000, burst: 2, n: 5, times: [0, 0, 1, 2, 3] },
    { perSecond: 2, burst: 2, n: 4, times: [0, 0, 500, 1000] },
  ])('burst $burst then one per 1000/$perSecond ms', async ({ perSecond, burst, n, times }) => {
    const h = setup({ concurrency: 100, rateLimit: { perSecond, burst } });
    const keys = Array.from({ length: n }, (_, i) => `k${i}`);
    for (const k of keys) h.q.add(k);
    await flush();
    expect(h.log.length).toBe(Math.min(burst, n));
    expect(h.q.stats().queued).toBe(n - Math.min(burst, n));
    await h.clock.advance(10_000);
    expect(h.keys()).toEqual(keys); // FIFO under rate limiting
    expect(h.times()).toEqual(times);
    expect(h.q.isIdle({ includeDelayed: true })).toBe(true);
  });

  it('non-integer spacing (3/s) stays on the exact 1000/3 ms grid', async () => {
    const h = setup({ concurrency: 100, rateLimit: { perSecond: 3, burst: 1 } });
    for (const k of ['a', 'b', 'c', 'd']) h.q.add(k);
    await h.clock.advance(2000);
    const t = h.times();
    expect(t).toHaveLength(4);
    [0, 1000 / 3, 2000 / 3, 1000].forEach((want, i) => expect(t[i]).toBeCloseTo(want, 6));
  });

  it('tokens refill over time up to burst', async () => {
    const h = setup({ concurrency: 100, rateLimit: { perSecond: 10, burst: 3 } });
    for (const k of ['a', 'b', 'c']) h.q.add(k);
    await h.clock.advance(150); // 1.5 tokens back
    for (const k of ['d', 'e', 'f']) h.q.add(k);
    await h.clock.advance(1000);
    expect(h.times()).toEqual([0, 0, 0, 150, 200, 300]);
    await h.clock.advance(5000); // bucket full again (3, not more)
    for (const k of ['g', 'h', 'i', 'j']) h.q.add(k);
    await h.clock.advance(1000);
    expect(h.times().slice(6)).toEqual([6150, 6150, 6150, 6250]);
  });

  it('retries also consume tokens', async () => {
    const h = setup({ concurrency: 100, rateLimit: { perSecond: 10, burst: 2 }, impl: (k, n) => (k === 'r' && n === 0 ? boom() : undefined) });
    h.q.add('r'); // t=0, fails, retry at 5
    h.q.add('a'); // t=0, bucket now empty
    await h.clock.advance(1000);
    expect(h.log.map((l) => [l.key, l.at])).toEqual([
      ['r', 0],
      ['a', 0],
      ['r', 100], // due at 5, but waits for a token
    ]);
  });
});

describe('WorkQueue: idleness', () => {
  it('a fresh queue is idle', async () => {
    const h = setup();
    expect(h.q.isIdle()).toBe(true);
    expect(h.q.isIdle({ includeDelayed: true })).toBe(true);
    await expect(h.q.onIdle()).resolves.toBeUndefined();
  });

  it.each([
    { includeDelayed: false, idleAfterRunning: true },
    { includeDelayed: true, idleAfterRunning: false },
  ])('onIdle({includeDelayed: $includeDelayed})', async ({ includeDelayed, idleAfterRunning }) => {
    const gate = deferred<Outcome>();
    const h = setup({ impl: (k) => (k === 'a' ? gate.promise : undefined) });
    h.q.add('a');
    h.q.addAfter('b', 100);
    let done = false;
    void h.q.onIdle({ includeDelayed }).then(() => {
      done = true;
    });
    await flush();
    expect(done).toBe(false);
    gate.resolve(undefined);
    await flush();
    expect(done).toBe(idleAfterRunning);
    expect(h.q.isIdle({ includeDelayed })).toBe(idleAfterRunning);
    await h.clock.advance(99);
    expect(done).toBe(idleAfterRunning);
    await h.clock.advance(1);
    expect(done).toBe(true);
    expect(h.keys()).toEqual(['a', 'b']);
  });

  it('onIdle waits for a re-add made during the run', async () => {
    const b = new Blocker();
    const h = setup({ impl: b.impl });
    h.q.add('k');
    await flush();
    h.q.add('k');
    let done = false;
    void h.q.onIdle().then(() => {
      done = true;
    });
    await b.release('k');
    expect(done).toBe(false);
    expect(h.runsOf('k')).toBe(2);
    await b.release('k');
    expect(done).toBe(true);
  });

  it('onIdle (default) resolves while a failed key waits for its retry', async () => {
    const h = setup({ impl: boom });
    h.q.add('k');
    await h.q.onIdle();
    expect(h.q.stats()).toEqual({ queued: 0, running: 0, delayed: 1, processed: 1, failed: 1 });
    expect(h.q.isIdle({ includeDelayed: true })).toBe(false);
  });
});

describe('WorkQueue: shutdown', () => {
  it('aborts running handlers, drops pending work, ignores later adds', async () => {
    const h = setup({
      concurrency: 2,
      impl: (_k, _n, signal) =>
        new Promise<Outcome>((_res, rej) => {
          signal.addEventListener('abort', () => rej(signal.reason), { once: true });
        }),
    });
    for (const k of ['a', 'b', 'c']) h.q.add(k);
    h.q.addAfter('d', 50);
    await flush();
    expect(h.keys()).toEqual(['a', 'b']);
    expect(h.clock.pendingTimers).toBe(1);

    const p = h.q.shutdown();
    expect(h.q.shutdown()).toBe(p);
    expect(h.q.shuttingDown).toBe(true);
    expect(h.log.map((l) => l.signal.aborted)).toEqual([true, true]);
    expect((h.log[0]!.signal.reason as DOMException).name).toBe('AbortError');
    expect(h.clock.pendingTimers).toBe(0);

    h.q.add('e');
    h.q.addAfter('f', 1);
    expect(h.q.addRateLimited('g')).toBe(-1);
    await p;
    await h.clock.advance(1000);
    expect(h.keys()).toEqual(['a', 'b']);
    expect(h.errors.map((e) => [e.key, e.retryInMs])).toEqual([
      ['a', -1],
      ['b', -1],
    ]);
    expect(h.q.stats()).toEqual({ queued: 0, running: 0, delayed: 0, processed: 2, failed: 2 });
    expect(h.clock.pendingTimers).toBe(0);
    await expect(h.q.onIdle({ includeDelayed: true })).resolves.toBeUndefined();
  });

  it('waits for handlers that ignore the signal, and does not requeue them', async () => {
    const b = new Blocker();
    const h = setup({ impl: b.impl });
    h.q.add('k');
    await flush();
    h.q.add('k'); // would normally cause a re-run
    let done = false;
    void h.q.shutdown().then(() => {
      done = true;
    });
    await flush();
    expect(h.log[0]!.signal.aborted).toBe(true);
    expect(done).toBe(false);
    await b.release('k', { requeueAfterMs: 10 });
    expect(done).toBe(true);
    await h.clock.advance(1000);
    expect(h.runsOf('k')).toBe(1);
    expect(h.clock.pendingTimers).toBe(0);
    expect(h.q.stats()).toEqual({ queued: 0, running: 0, delayed: 0, processed: 1, failed: 0 });
  });
});

describe('WorkQueue: defaults', () => {
  it('works with the system clock and default options (no timers involved)', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({
      handler: async (key) => {
        seen.push(key);
      },
    });
    for (const k of ['a', 'b', 'a', 'c']) q.add(k);
    await q.onIdle();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(q.stats()).toEqual({ queued: 0, running: 0, delayed: 0, processed: 3, failed: 0 });
    await q.shutdown();
  });
});

describe('WorkQueue: options validation', () => {
  it.each([
    { opts: { concurrency: 0 }, msg: /concurrency/ },
    { opts: { concurrency: 1.5 }, msg: /concurrency/ },
    { opts: { rateLimit: { perSecond: 0, burst: 1 } }, msg: /perSecond/ },
    { opts: { rateLimit: { perSecond: 10, burst: 0 } }, msg: /burst/ },
  ])('rejects $opts', ({ opts, msg }) => {
    expect(() => new WorkQueue({ handler: async () => {}, ...opts })).toThrow(msg);
  });
});

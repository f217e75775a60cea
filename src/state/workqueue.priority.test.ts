// The work queue's two lines: user work (edits, reports, wakes, retries) before re-checks, and re-checks
// aged into the user line so that a steady stream of edits delays them but never starves them.
import { describe, expect, it } from 'vitest';
import { FakeClock, flush } from '../../test/support/fake-clock.ts';
import { WorkQueue, type Priority, type ReconcileResult } from './workqueue.ts';

/** A queue on a fake clock whose handler takes `runMs` of (fake) time and then does `after(key)`. */
function world(o: { agingMs?: number; runMs?: number; after?: (key: string, q: WorkQueue) => ReconcileResult | void; fail?: (key: string) => boolean }) {
  const clock = new FakeClock();
  const runs: { key: string; at: number }[] = [];
  const q: WorkQueue = new WorkQueue({
    clock,
    concurrency: 1,
    rateLimit: { perSecond: Infinity, burst: 1 },
    ...(o.agingMs !== undefined ? { agingMs: o.agingMs } : {}),
    handler: async (key) => {
      runs.push({ key, at: clock.now() });
      if (o.runMs) await new Promise<void>((r) => clock.setTimeout(r, o.runMs!));
      if (o.fail?.(key)) throw new Error(`${key} failed`);
      return o.after?.(key, q);
    },
  });
  return { clock, q, runs, keys: () => runs.map((r) => r.key) };
}

/** Shuts the queue down; the handler's run in progress waits on the fake clock, so time moves on. */
async function stop(w: { q: WorkQueue; clock: FakeClock }): Promise<void> {
  const done = w.q.shutdown();
  await w.clock.advance(1000);
  await done;
}

/** Runs the clock forward in steps of `step` ms until `until` holds or `maxMs` passed. */
async function runUntil(clock: FakeClock, until: () => boolean, maxMs: number, step = 10): Promise<void> {
  await flush();
  for (let t = 0; t < maxMs && !until(); t += step) await clock.advance(step);
}

describe('WorkQueue: user work before re-checks', () => {
  it('serves waiting user keys first, each line in the order it was queued', async () => {
    const w = world({ runMs: 10 });
    w.q.add('block');
    await flush();
    const adds: [string, Priority][] = [['r1', 'recheck'], ['u1', 'user'], ['r2', 'recheck'], ['u2', 'user']];
    for (const [k, p] of adds) w.q.add(k, p);
    expect(w.q.priorityStats()).toMatchObject({ queuedRecheck: 2 });
    await runUntil(w.clock, () => w.runs.length === 5, 1000);
    expect(w.keys()).toEqual(['block', 'u1', 'u2', 'r1', 'r2']);
    expect(w.q.priorityStats().aged).toBe(0);
  });

  it('moves a waiting re-check to the user line when it is added as user work; a re-check add never demotes', async () => {
    const w = world({ runMs: 10 });
    w.q.add('block');
    await flush();
    w.q.add('r1', 'recheck');
    w.q.add('u1', 'user');
    w.q.add('r1', 'user'); // an edit of what was only due for a re-check
    w.q.add('u1', 'recheck'); // a re-check of what is already queued as user work: no change
    expect(w.q.priorityStats().queuedRecheck).toBe(0);
    await runUntil(w.clock, () => w.runs.length === 3, 1000);
    expect(w.keys()).toEqual(['block', 'u1', 'r1']);
  });

  it('brings a key back after a delay (requeueAfterMs, addAfter) as a re-check, and for a retry (addRateLimited, a failure) as user work', async () => {
    const w = world({ runMs: 1000, after: (k) => (k === 'periodic' ? { requeueAfterMs: 100 } : undefined), fail: (k) => k === 'flaky' });
    w.q.add('periodic');
    await flush();
    w.q.add('flaky'); // runs after periodic, fails, comes back for its retry
    w.q.addAfter('later', 50);
    w.q.addRateLimited('retried');
    await w.clock.advance(60); // later and retried are due; periodic still runs
    expect(w.q.stats()).toMatchObject({ queued: 3, running: 1 });
    expect(w.q.priorityStats().queuedRecheck).toBe(1); // later
    await w.clock.advance(1000); // periodic done (due again at +100), flaky runs
    await w.clock.advance(150);
    expect(w.runs.map((r) => r.key)).toEqual(['periodic', 'flaky']);
    expect(w.q.priorityStats().queuedRecheck).toBe(2); // later, periodic
    await w.clock.advance(1000); // flaky failed: back for its retry in the user line, first of all
    await w.clock.advance(10);
    expect(w.runs.map((r) => r.key)).toEqual(['periodic', 'flaky', 'retried']);
    await w.clock.advance(1000);
    expect(w.runs.map((r) => r.key)).toEqual(['periodic', 'flaky', 'retried', 'flaky']);
    expect(w.q.priorityStats().queuedRecheck).toBe(2);
    await stop(w);
  });
});

describe('WorkQueue: aging (re-checks delayed by edits, never starved)', () => {
  /** A steady stream of edits: every user run queues the next edit, so the user line is never empty. */
  const stream = (agingMs: number | undefined) =>
    world({
      ...(agingMs !== undefined ? { agingMs } : {}),
      runMs: 100,
      after: (key, q) => {
        const m = /^edit-(\d+)$/.exec(key);
        if (m) q.add(`edit-${Number(m[1]) + 1}`, 'user');
      },
    });

  it('runs a re-check within agingMs plus one run under a steady stream of edits', async () => {
    const w = stream(1000);
    w.q.add('edit-0');
    w.q.add('recheck-me', 'recheck');
    await runUntil(w.clock, () => w.keys().includes('recheck-me'), 20_000);
    const at = w.runs.find((r) => r.key === 'recheck-me')!.at;
    expect(at).toBeGreaterThanOrEqual(1000); // edits went first while it was young
    expect(at).toBeLessThanOrEqual(1000 + 100);
    expect(w.q.priorityStats().aged).toBe(1);
    // ... and the edits went on after it.
    await w.clock.advance(500);
    expect(w.runs.filter((r) => r.at > at && r.key.startsWith('edit-')).length).toBeGreaterThanOrEqual(4);
    await stop(w);
  });

  it('every re-check of a large resync runs within a bound while edits keep coming', async () => {
    const w = stream(2000);
    w.q.add('edit-0');
    for (let i = 0; i < 50; i++) w.q.add(`net-${i}`, 'recheck');
    await runUntil(w.clock, () => w.keys().filter((k) => k.startsWith('net-')).length === 50, 60_000, 50);
    const rechecks = w.runs.filter((r) => r.key.startsWith('net-'));
    expect(rechecks).toHaveLength(50);
    // Once aged, re-checks (queued at t=0, before every edit but the first) go first: 50 runs of 100 ms.
    expect(Math.max(...rechecks.map((r) => r.at))).toBeLessThanOrEqual(2000 + 100 + 50 * 100);
    expect(w.keys().filter((k) => k.startsWith('net-'))).toEqual(Array.from({ length: 50 }, (_, i) => `net-${i}`));
    await stop(w);
  });

  it('without aging (agingMs Infinity) the same stream starves the re-check: what aging is for', async () => {
    const w = stream(Infinity);
    w.q.add('edit-0');
    w.q.add('recheck-me', 'recheck');
    await runUntil(w.clock, () => w.keys().includes('recheck-me'), 10_000, 100);
    expect(w.keys()).not.toContain('recheck-me');
    expect(w.runs.length).toBeGreaterThanOrEqual(99);
    expect(w.q.priorityStats()).toMatchObject({ queuedRecheck: 1 });
    expect(w.q.priorityStats().oldestRecheckWaitMs).toBeGreaterThanOrEqual(9_900);
    await stop(w);
  });

  it('refuses a negative agingMs', () => {
    expect(() => new WorkQueue({ handler: async () => undefined, agingMs: -1 })).toThrow(/agingMs/);
  });
});

// The heap governor: compacts once at the start, then only when RSS has grown by the slack since the
// last compaction; stops when told.
import { describe, expect, it } from 'vitest';
import { compactHeap, governHeap } from './heap.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('compactHeap / governHeap', () => {
  it('compactHeap runs a full collection: garbage made before it is gone after it', async () => {
    const ref = (() => new WeakRef(Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }))))();
    // (A WeakRef keeps its target until the end of the job that made or read it.)
    await sleep(0);
    compactHeap();
    expect(ref.deref()).toBeUndefined();
  });

  it('compacts at the start, again only when RSS grew by the slack, and never after stop()', async () => {
    const seen: [number, number][] = [];
    // A slack no test process reaches: only the first compaction.
    const stop = governHeap({ slackMB: 1 << 20, everyMs: 5, onCompact: (before, after) => seen.push([before, after]) });
    await sleep(60);
    stop();
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toBeGreaterThan(0);
    // A slack of nothing: every check compacts; after stop(), none.
    const again: number[] = [];
    const stop2 = governHeap({ slackMB: 0, everyMs: 5, onCompact: (_b, _a, ms) => again.push(ms) });
    await sleep(80);
    stop2();
    const n = again.length;
    expect(n).toBeGreaterThan(2);
    await sleep(40);
    expect(again.length).toBe(n);
  });
});

describe('governHeap().check', () => {
  it('checks now, without a timer: compacts only past the slack', () => {
    const seen: number[] = [];
    // No timer fires within this synchronous test: only the start's compaction and check()'s.
    const g = governHeap({ slackMB: 1 << 20, everyMs: 60_000, onCompact: (b) => seen.push(b) });
    g.check();
    expect(seen).toHaveLength(1); // the start's; the slack is not reached
    g();
    const h = governHeap({ slackMB: 0, everyMs: 60_000, onCompact: (b) => seen.push(b) });
    h.check();
    h.check();
    h();
    expect(seen).toHaveLength(4); // its start's and both checks'
  });
});

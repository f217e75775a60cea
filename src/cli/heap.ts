// Giving memory back after a large pass (issue 15, ADR 29).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => unknown;
let gc: Gc | undefined;

/**
 * One full, compacting garbage collection that also returns V8's free and pooled pages to the system
 * (the "last resort" flavour: what V8 runs before it gives up on memory). After a pass that made or
 * changed thousands of objects, V8 keeps the heap it grew for that pass's garbage (about 60 MB over
 * the live heap at 60,000 objects) until its memory reducer happens to run; this gives it back at
 * once. A pause of about 100–300 ms at that size: called when a large pass starts and has settled, and
 * by governHeap during it; never per edit. (While it compacts, RSS briefly grows by what it copies.)
 */
export function compactHeap(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
  }
  // (The regular flavour frees the garbage but keeps the pages: RSS does not go down.)
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/**
 * While a large pass runs: checks the process's RSS every `everyMs` and, when it has grown `slackMB`
 * over what it was after the last compaction, compacts (compactHeap). V8 grows its heap for a pass's
 * garbage far past what is live (60,000 objects: 110–150 MB live, 300+ MB RSS) and keeps it; this
 * keeps RSS within about `slackMB` of the live heap plus the process's own. It costs a pause of about
 * 100–300 ms per compaction, only when RSS has grown by `slackMB` since the last one. Returns the stop,
 * with `check()`: the same check, now (between steps of synchronous work, where no timer runs).
 */
export function governHeap(o: { slackMB?: number; everyMs?: number; onCompact?: (before: number, after: number, ms: number) => void } = {}): (() => void) & { check: () => void } {
  const slack = (o.slackMB ?? 40) * 1024 * 1024;
  let base = 0;
  const compact = () => {
    const rss = process.memoryUsage.rss();
    const t0 = performance.now();
    compactHeap();
    base = process.memoryUsage.rss();
    o.onCompact?.(rss, base, performance.now() - t0);
  };
  // First what the load before the pass left (the parsed manifests' garbage), then as the pass grows.
  compact();
  const check = () => {
    if (process.memoryUsage.rss() - base >= slack) compact();
  };
  const timer = setInterval(check, o.everyMs ?? 1000);
  timer.unref();
  // `check` too, for work that runs without giving timers a turn (a plan's last steps).
  return Object.assign(() => clearInterval(timer), { check });
}

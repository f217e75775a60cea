/**
 * Deterministic clock for tests. Time only moves in `advance()`; timers fire in
 * (due time, creation order) order, with `now()` equal to each timer's due time
 * while it runs, and pending promise work is allowed to settle after each one.
 */
import type { Clock } from '../../src/state/workqueue.ts';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** Let all queued microtasks (and microtasks they queue) run. Uses no real time. */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { id, at: this.#now + Math.max(ms, 0), fn });
    return id;
  }

  clearTimeout(h: unknown): void {
    if (typeof h === 'number') this.#timers.delete(h);
  }

  /** Number of timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Due times of pending timers, ascending. */
  dueTimes(): number[] {
    return [...this.#timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  /**
   * Move time forward by `ms`, firing every timer due by then (including ones
   * scheduled by earlier timers) in order, settling promise work after each.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flush();
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))) {
          next = t;
        }
      }
      if (!next) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await flush();
    }
    this.#now = target;
    await flush();
  }
}

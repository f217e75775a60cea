// Time for the Kubernetes adapters: the work queue's monotonic clock plus the wall clock that goes into
// API objects (Lease renew times, Event timestamps), and a sleep that a stop cuts short.
import { systemClock, type Clock } from '../../state/workqueue.ts';

export interface WallClock extends Clock {
  /** Wall-clock epoch ms: only written into API objects, never compared with another machine's. */
  wallNow(): number;
}

export const systemWallClock: WallClock = { ...systemClock, wallNow: () => Date.now() };

/** Sleeps on a clock, one sleep at a time; `wake()` ends the current one early (a stop). */
export class Sleeper {
  readonly #clock: Clock;
  #wake: (() => void) | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const h = this.#clock.setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        this.#clock.clearTimeout(h);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  wake(): void {
    this.#wake?.();
  }
}

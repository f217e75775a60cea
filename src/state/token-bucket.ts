// A token bucket on a monotonic timeline (ms): the work queue's global rate limit and the Event
// recorder's per-object spam filter. Pure: time is passed in.

/**
 * Starts full with `burst` tokens and gains one every `refillEveryMs` (which may be fractional, e.g.
 * 1000/3), never more than `burst`. A clock going backwards adds nothing.
 */
export class TokenBucket {
  readonly burst: number;
  readonly refillEveryMs: number;
  /** Tokens × refillEveryMs: elapsed ms add to it one to one, so integer clocks give exact arithmetic. */
  #credit: number;
  #last: number;

  constructor(burst: number, refillEveryMs: number, now: number) {
    this.burst = burst;
    this.refillEveryMs = refillEveryMs;
    this.#credit = burst * refillEveryMs;
    this.#last = now;
  }

  #refill(now: number): void {
    if (now > this.#last) {
      this.#credit = Math.min(this.burst * this.refillEveryMs, this.#credit + (now - this.#last));
      this.#last = now;
    }
  }

  /** Whether a token is there; a relative epsilon absorbs rounding of fractional spacings. */
  #hasToken(): boolean {
    return this.#credit >= this.refillEveryMs * (1 - 1e-9);
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.#refill(now);
    if (!this.#hasToken()) return false;
    this.#credit = Math.max(this.#credit - this.refillEveryMs, 0);
    return true;
  }

  /** Ms until `take()` would succeed (0 if it would now); fractional when the spacing is. */
  msUntilToken(now: number): number {
    this.#refill(now);
    return this.#hasToken() ? 0 : this.refillEveryMs - this.#credit;
  }

  /** Whether the bucket is full again (so forgetting it changes nothing). */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#credit >= this.burst * this.refillEveryMs;
  }
}

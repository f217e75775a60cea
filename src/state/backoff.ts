/**
 * Per-key exponential backoff with jitter (the `ItemExponentialFailureRateLimiter`
 * of client-go, plus jitter). Pure: no timers, no I/O; randomness is injectable.
 */

/**
 * The one backoff curve: after `n` earlier failures (n = 0, 1, …) wait `min(baseMs · 2^n, maxMs)`.
 * The work queue's per-key backoff and the informer's relist backoff add their own jitter to it. Pure.
 */
export function exponentialDelay(n: number, baseMs: number, maxMs: number): number {
  // 2^n overflows to Infinity for large n; Math.min then yields maxMs.
  return Math.min(baseMs * 2 ** Math.max(n, 0), maxMs);
}

export interface ItemBackoffOptions {
  /** Delay for a key's first failure, in ms. Default 5. Must be finite and >= 0. */
  baseMs?: number;
  /** Upper bound of the un-jittered delay, in ms. Default 1_000_000. Must be finite and >= 0. */
  maxMs?: number;
  /**
   * Relative jitter: the delay is scaled by a factor drawn uniformly from
   * [1 - jitter, 1 + jitter]. Default 0.1 (±10%). Must be finite and >= 0.
   */
  jitter?: number;
  /** Source of uniform numbers in [0, 1]. Default `Math.random`. Out-of-range values are clamped. */
  random?: () => number;
}

/**
 * Tracks consecutive failures per key and turns them into retry delays.
 *
 * Callers may rely on:
 * - the n-th consecutive `next(key)` (n = 0, 1, …) returns `min(baseMs * 2^n, maxMs)`
 *   scaled by the jitter factor (exactly that value when `jitter` is 0);
 * - every returned delay is within `[0, maxMs * (1 + jitter)]`;
 * - keys are independent; `forget(key)` resets a key to zero failures.
 */
export class ItemBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly jitter: number;
  readonly #random: () => number;
  readonly #failures = new Map<string, number>();

  constructor(opts: ItemBackoffOptions = {}) {
    const baseMs = opts.baseMs ?? 5;
    const maxMs = opts.maxMs ?? 1_000_000;
    const jitter = opts.jitter ?? 0.1;
    for (const [name, value] of [['baseMs', baseMs], ['maxMs', maxMs], ['jitter', jitter]] as const) {
      if (!Number.isFinite(value) || value < 0) {
        throw new RangeError(`ItemBackoff: ${name} must be a finite number >= 0, got ${String(value)}`);
      }
    }
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.jitter = jitter;
    this.#random = opts.random ?? Math.random;
  }

  /** Records one more failure of `key` and returns the delay (ms) to wait before retrying it. */
  next(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    const raw = exponentialDelay(n, this.baseMs, this.maxMs);
    if (this.jitter === 0) return raw;
    let r = this.#random();
    if (!(r >= 0)) r = 0; // also catches NaN
    if (r > 1) r = 1;
    const jittered = raw * (1 + this.jitter * (2 * r - 1));
    return Math.min(Math.max(jittered, 0), this.maxMs * (1 + this.jitter));
  }

  /** Number of failures recorded for `key` since it was last forgotten. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Resets `key` so its next failure gets the base delay again. */
  forget(key: string): void {
    this.#failures.delete(key);
  }
}

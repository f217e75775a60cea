/**
 * Keyed work queue for reconcilers, modelled on client-go's workqueue
 * (`Type` + `DelayingInterface` + `RateLimitingInterface`) and the way
 * controller-runtime drives it.
 *
 * Pure infrastructure: the only dependencies are `p-queue` (worker
 * concurrency) and the sibling `backoff.ts`. All timing goes through an
 * injectable {@link Clock}, so tests can run it on a fake clock.
 */
import PQueue from 'p-queue';
import { ItemBackoff } from './backoff.ts';
import { TokenBucket } from './token-bucket.ts';

/** What a handler may return. */
export interface ReconcileResult {
  /**
   * On success, run the key again after this many ms (via {@link WorkQueue.addAfter}).
   * Must be a finite number; `<= 0` means "as soon as possible". Any other value is
   * treated as a handler failure (a `TypeError` is passed to `onError`).
   */
  requeueAfterMs?: number;
  /**
   * A failure returned as a value (not thrown): handled exactly like a thrown error — passed to
   * `onError` and, if retryable, the key is retried with backoff. `requeueAfterMs` is then ignored.
   */
  retry?: unknown;
}

/**
 * Time source. `now()` is in ms on a timeline where only differences matter
 * (it need not be wall-clock time). `setTimeout` returns an opaque handle for
 * `clearTimeout`; clearing an already-fired or unknown handle must be a no-op.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

/** Longest delay Node's timers support; longer ones would fire after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Real clock: monotonic `performance.now()` and Node timers. Delays are clamped
 * to [0, ~24.8 days], so an extremely long delay fires early rather than at once.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(Math.max(ms, 0), MAX_TIMER_MS)),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout> | undefined),
};

export interface WorkQueueOptions {
  /**
   * Reconciles one key. Never called twice concurrently for the same key.
   * `signal` aborts when the queue shuts down. A thrown/rejected error is
   * reported to `onError` and, if retryable, the key is retried with backoff.
   */
  handler: (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;
  /** Maximum number of handlers running at once (distinct keys). Default 4. */
  concurrency?: number;
  /**
   * Global token bucket consumed each time a key is dispatched to a worker
   * (initial runs, retries and requeues alike). Default 50/s, burst 100.
   * `perSecond: Infinity` disables the limit.
   */
  rateLimit?: { perSecond: number; burst: number };
  /** Per-key retry backoff. Default `new ItemBackoff()` (5 ms doubling to 1_000_000 ms, ±10% jitter). */
  backoff?: ItemBackoff;
  /** Default {@link systemClock}. */
  clock?: Clock;
  /**
   * Called after a failed run, once the retry (if any) has been scheduled.
   * `retryInMs` is the delay until the key runs again (0 if it is already queued
   * to run as soon as possible), or -1 if it will not be retried (non-retryable
   * error, or the queue is shutting down). Exceptions thrown here are ignored.
   */
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  /**
   * Default: every error is retryable. For a non-retryable error the key's
   * backoff is forgotten and it is not requeued (adds made while it ran still count).
   * If this function throws, the error is treated as retryable.
   */
  isRetryable?: (err: unknown) => boolean;
}

export interface WorkQueueStats {
  /** Keys waiting to run as soon as possible (including keys re-added while running). */
  queued: number;
  /** Handlers currently running. */
  running: number;
  /** Keys with a pending delayed add (`addAfter`/`addRateLimited`). */
  delayed: number;
  /** Handler runs that finished, successfully or not. */
  processed: number;
  /** Handler runs that failed (threw, rejected or returned an invalid result). Subset of `processed`. */
  failed: number;
}

export interface IdleOptions {
  /** Also wait for delayed keys (`addAfter`/retries) to fire and finish. Default false. */
  includeDelayed?: boolean;
}

interface DelayedEntry {
  at: number;
  handle: unknown;
}

interface Waiter {
  includeDelayed: boolean;
  resolve: () => void;
}


/**
 * A de-duplicating, rate-limited, keyed work queue.
 *
 * Callers may rely on:
 * - a key is pending at most once: it is either ready, delayed, or neither
 *   (adding a ready key is a no-op; its FIFO position is kept);
 * - a key never runs concurrently with itself, whatever `concurrency` is;
 * - adds during a run (any number of them) cause exactly one more run after it;
 * - ready keys are dispatched in FIFO order of their first add; dispatch is
 *   asynchronous (a microtask after `add`), never inside the caller's `add()`;
 * - a pending delayed add keeps the EARLIEST requested time; an immediate add
 *   cancels it; `addAfter` on a key already queued to run ASAP is a no-op;
 * - failures are retried with per-key exponential backoff; success resets it;
 * - after `shutdown()` every add is silently ignored.
 */
export class WorkQueue {
  readonly #handler: WorkQueueOptions['handler'];
  readonly #concurrency: number;
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #backoff: ItemBackoff;
  readonly #clock: Clock;
  readonly #onError: WorkQueueOptions['onError'];
  readonly #isRetryable: (err: unknown) => boolean;
  readonly #pq: PQueue;

  /** Keys ready to dispatch, in FIFO order (Set iteration = insertion order). Never contains a running key. */
  readonly #ready = new Set<string>();
  /** Running keys that were added again during their run. */
  readonly #rerun = new Set<string>();
  /** Running keys and the controller of their handler's signal. */
  readonly #running = new Map<string, AbortController>();
  readonly #delayed = new Map<string, DelayedEntry>();
  readonly #runs = new Set<Promise<void>>();
  #waiters: Waiter[] = [];

  /** Available tokens × 1000. */
  /** The global rate limit; undefined when unlimited (perSecond Infinity). */
  readonly #bucket: TokenBucket | undefined;
  #refillTimer: unknown = undefined;
  #refillPending = false;
  #pumpScheduled = false;

  #processed = 0;
  #failed = 0;
  #shutdown: Promise<void> | undefined = undefined;

  constructor(opts: WorkQueueOptions) {
    this.#handler = opts.handler;
    this.#concurrency = opts.concurrency ?? 4;
    if (!(this.#concurrency >= 1 && (Number.isInteger(this.#concurrency) || this.#concurrency === Infinity))) {
      throw new RangeError(`WorkQueue: concurrency must be an integer >= 1, got ${String(opts.concurrency)}`);
    }
    const rl = opts.rateLimit ?? { perSecond: 50, burst: 100 };
    if (!(rl.perSecond > 0)) {
      throw new RangeError(`WorkQueue: rateLimit.perSecond must be > 0, got ${String(rl.perSecond)}`);
    }
    if (!(rl.burst >= 1) || !Number.isFinite(rl.burst)) {
      throw new RangeError(`WorkQueue: rateLimit.burst must be a finite number >= 1, got ${String(rl.burst)}`);
    }
    this.#perSecond = rl.perSecond;
    this.#burst = rl.burst;
    this.#backoff = opts.backoff ?? new ItemBackoff();
    this.#clock = opts.clock ?? systemClock;
    this.#onError = opts.onError;
    this.#isRetryable = opts.isRetryable ?? (() => true);
    this.#pq = new PQueue({ concurrency: this.#concurrency });
    this.#bucket = this.#perSecond === Infinity ? undefined : new TokenBucket(this.#burst, 1000 / this.#perSecond, this.#clock.now());
  }

  /** Queue `key` to run as soon as possible. Cancels a pending delayed add of it. */
  add(key: string): void {
    if (this.#shutdown) return;
    this.#enqueue(key);
    this.#schedulePump();
  }

  /**
   * Queue `key` to run after `ms` milliseconds (`ms <= 0` behaves like `add`).
   * If a delayed add of `key` is already pending, the earlier of the two wins;
   * if `key` is already queued to run as soon as possible, this is a no-op. Throws `RangeError` for NaN or infinite `ms`.
   */
  addAfter(key: string, ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`WorkQueue.addAfter: ms must be finite, got ${String(ms)}`);
    if (this.#shutdown) return;
    this.#schedule(key, ms);
    this.#schedulePump();
  }

  /**
   * Queue `key` after its next per-key backoff delay (records one more failure).
   * Returns the delay until `key` will actually run (see `addAfter`), or -1 after shutdown.
   */
  addRateLimited(key: string): number {
    if (this.#shutdown) return -1;
    const delay = this.#schedule(key, this.#backoff.next(key));
    this.#schedulePump();
    return delay;
  }

  /** Reset `key`'s backoff. Does not affect whether it is queued. */
  forget(key: string): void {
    this.#backoff.forget(key);
  }

  /** Drop `key`'s ready and delayed entries (including a re-add made during its run). A running handler is not affected. */
  remove(key: string): void {
    this.#ready.delete(key);
    this.#rerun.delete(key);
    this.#cancelDelayed(key);
    this.#checkIdle();
  }

  /** Number of pending keys: ready (incl. re-added while running) + delayed. */
  len(): number {
    return this.#ready.size + this.#rerun.size + this.#delayed.size;
  }

  /** True when nothing is ready or running (and, with `includeDelayed`, nothing is delayed). */
  isIdle(opts: IdleOptions = {}): boolean {
    return (
      this.#ready.size === 0 &&
      this.#running.size === 0 &&
      (!opts.includeDelayed || this.#delayed.size === 0)
    );
  }

  /** Resolves once {@link isIdle} holds (immediately if it already does). Never rejects. */
  onIdle(opts: IdleOptions = {}): Promise<void> {
    if (this.isIdle(opts)) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ includeDelayed: opts.includeDelayed ?? false, resolve });
    });
  }

  stats(): WorkQueueStats {
    return {
      queued: this.#ready.size + this.#rerun.size,
      running: this.#running.size,
      delayed: this.#delayed.size,
      processed: this.#processed,
      failed: this.#failed,
    };
  }

  /** True once `shutdown()` has been called. */
  get shuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  /**
   * Stop accepting keys, drop everything pending, abort the signals of running
   * handlers and resolve once they have all returned. Idempotent.
   */
  shutdown(): Promise<void> {
    if (this.#shutdown) return this.#shutdown;
    this.#ready.clear();
    this.#rerun.clear();
    for (const key of [...this.#delayed.keys()]) this.#cancelDelayed(key);
    if (this.#refillPending) {
      this.#clock.clearTimeout(this.#refillTimer);
      this.#refillPending = false;
      this.#refillTimer = undefined;
    }
    const reason = new DOMException('WorkQueue is shutting down', 'AbortError');
    for (const ac of this.#running.values()) ac.abort(reason);
    this.#shutdown = Promise.all([...this.#runs]).then(() => {
      this.#checkIdle();
    });
    this.#checkIdle();
    return this.#shutdown;
  }

  // ---- internals ---------------------------------------------------------

  /** Mark `key` to run ASAP. Does not dispatch. */
  #enqueue(key: string): void {
    this.#cancelDelayed(key);
    if (this.#running.has(key)) this.#rerun.add(key);
    else this.#ready.add(key);
  }

  /** Schedule a delayed add; returns the effective delay until `key` runs. Does not dispatch. */
  #schedule(key: string, ms: number): number {
    if (ms <= 0) {
      this.#enqueue(key);
      return 0;
    }
    if (this.#ready.has(key) || this.#rerun.has(key)) return 0;
    const now = this.#clock.now();
    const at = now + ms;
    const existing = this.#delayed.get(key);
    if (existing) {
      if (existing.at <= at) return Math.max(existing.at - now, 0);
      this.#clock.clearTimeout(existing.handle);
    }
    const entry: DelayedEntry = { at, handle: undefined };
    entry.handle = this.#clock.setTimeout(() => {
      if (this.#delayed.get(key) !== entry) return; // superseded or removed
      this.#delayed.delete(key);
      if (this.#shutdown) return;
      this.#enqueue(key);
      this.#pump();
    }, ms);
    this.#delayed.set(key, entry);
    return ms;
  }

  #cancelDelayed(key: string): void {
    const entry = this.#delayed.get(key);
    if (!entry) return;
    this.#delayed.delete(key);
    this.#clock.clearTimeout(entry.handle);
  }

  /** Try to take one token from the global bucket. */
  #takeToken(): boolean {
    return this.#bucket?.take(this.#clock.now()) ?? true;
  }

  #scheduleRefill(): void {
    if (this.#refillPending) return;
    const waitMs = this.#bucket?.msUntilToken(this.#clock.now()) ?? 0;
    this.#refillPending = true;
    this.#refillTimer = this.#clock.setTimeout(() => {
      this.#refillPending = false;
      this.#refillTimer = undefined;
      this.#pump();
    }, waitMs);
  }

  /**
   * Public adds dispatch in a microtask rather than synchronously: a burst of
   * adds in one tick is de-duplicated before anything starts, and handlers never
   * run re-entrantly inside the caller's `add()`.
   */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Dispatch ready keys while there are free workers and tokens. */
  #pump(): void {
    while (!this.#shutdown && this.#ready.size > 0 && this.#running.size < this.#concurrency) {
      if (!this.#takeToken()) {
        this.#scheduleRefill();
        break;
      }
      const key = this.#ready.values().next().value as string;
      this.#ready.delete(key);
      this.#dispatch(key);
    }
    this.#checkIdle();
  }

  #dispatch(key: string): void {
    const ac = new AbortController();
    this.#running.set(key, ac);
    const run = this.#pq
      .add(() => this.#run(key, ac.signal))
      // #run never rejects; this only guards against p-queue itself rejecting.
      .catch(() => {})
      .finally(() => {
        this.#runs.delete(run);
      });
    this.#runs.add(run);
  }

  async #run(key: string, signal: AbortSignal): Promise<void> {
    let ok = false;
    let result: ReconcileResult | void = undefined;
    let error: unknown = undefined;
    try {
      result = await this.#handler(key, signal);
      ok = true;
    } catch (err) {
      error = err;
    }

    if (ok && result != null && result.retry !== undefined) {
      ok = false;
      error = result.retry;
    } else if (ok && result != null && result.requeueAfterMs !== undefined) {
      const ms = result.requeueAfterMs;
      if (typeof ms !== 'number' || !Number.isFinite(ms)) {
        ok = false;
        error = new TypeError(`WorkQueue: handler for ${JSON.stringify(key)} returned invalid requeueAfterMs ${String(ms)}`);
      }
    }

    this.#processed++;
    if (!ok) this.#failed++;
    this.#running.delete(key);
    const rerun = this.#rerun.delete(key);

    let retryInMs = -1;
    if (!this.#shutdown) {
      if (rerun) this.#ready.add(key);
      if (ok) {
        this.#backoff.forget(key);
        const ms = result?.requeueAfterMs;
        if (ms !== undefined) this.#schedule(key, ms);
      } else if (this.#retryable(error)) {
        retryInMs = this.#schedule(key, this.#backoff.next(key));
      } else {
        this.#backoff.forget(key);
      }
    }

    if (!ok && this.#onError) {
      try {
        this.#onError(key, error, retryInMs);
      } catch {
        // Documented: exceptions from onError are ignored.
      }
    }
    this.#pump();
  }

  #retryable(err: unknown): boolean {
    try {
      return this.#isRetryable(err);
    } catch {
      return true;
    }
  }

  #checkIdle(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (this.isIdle({ includeDelayed: w.includeDelayed })) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }
}

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

/**
 * Which line a ready key waits in. `user`: what someone or something just changed (an edit, an agent's
 * report, a relative's change, a retry of such work). `recheck`: periodic re-checks and forced resyncs.
 * `user` keys go first; a `recheck` key that has waited `agingMs` takes its place among them by the
 * time it was queued, so re-checks are delayed by edits, never starved by them.
 */
export type Priority = 'user' | 'recheck';

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
   * How long a `recheck` key may wait behind `user` keys before it is served by the time it was
   * queued, as if it were one of them. Default 5000 ms. `Infinity`: strict priority (starves
   * re-checks under a steady stream of edits; for tests that show why aging is there).
   */
  agingMs?: number;
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

/** The two lines ({@link Priority}). */
export interface PriorityStats {
  /** Keys waiting in the `recheck` line (not counting re-adds of running keys). */
  queuedRecheck: number;
  /** How long the oldest waiting `recheck` key has waited, ms (0 when none waits). */
  oldestRecheckWaitMs: number;
  /** Runs of `recheck` keys that had waited `agingMs` and were served among `user` keys. */
  aged: number;
}

export interface IdleOptions {
  /** Also wait for delayed keys (`addAfter`/retries) to fire and finish. Default false. */
  includeDelayed?: boolean;
}

interface DelayedEntry {
  key: string;
  at: number;
  priority: Priority;
  /** Order of scheduling: among entries due at the same time, the first scheduled goes first. */
  seq: number;
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
 * - ready keys are dispatched in FIFO order of their first add within their line
 *   ({@link Priority}): `user` keys before `recheck` keys, except that a `recheck`
 *   key waiting `agingMs` or longer goes by the time it was queued among the
 *   `user` keys; adding a waiting `recheck` key as `user` moves it to that line;
 *   dispatch is asynchronous (a microtask after `add`), never inside the caller's `add()`;
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

  /** Keys ready to dispatch in the `user` line, with when they were queued, in FIFO order (Map
   *  iteration = insertion order, and times only grow). Never contains a running key. */
  readonly #ready = new Map<string, number>();
  /** The same for the `recheck` line. A key is in at most one of the two. */
  readonly #readyRecheck = new Map<string, number>();
  /** Running keys that were added again during their run, with the line they go back to. */
  readonly #rerun = new Map<string, Priority>();
  readonly #agingMs: number;
  #aged = 0;
  /** Running keys and the controller of their handler's signal. */
  readonly #running = new Map<string, AbortController>();
  readonly #delayed = new Map<string, DelayedEntry>();
  /** The delayed entries as a binary min-heap by `at` (ties: insertion order), with superseded or
   *  cancelled entries left in place until they surface (an entry counts only while `#delayed` maps its
   *  key to it). One clock timer serves them all, armed for the heap's head: 60,000 keys re-checked
   *  periodically cost one timer, not 60,000 (each a Timeout, a list and a closure). */
  #heap: DelayedEntry[] = [];
  #seq = 0;
  #timer: unknown = undefined;
  /** When the armed timer is due (Infinity: none armed). */
  #timerAt = Infinity;
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
    this.#agingMs = opts.agingMs ?? 5000;
    if (!(this.#agingMs >= 0)) throw new RangeError(`WorkQueue: agingMs must be >= 0, got ${String(opts.agingMs)}`);
    this.#onError = opts.onError;
    this.#isRetryable = opts.isRetryable ?? (() => true);
    this.#pq = new PQueue({ concurrency: this.#concurrency });
    this.#bucket = this.#perSecond === Infinity ? undefined : new TokenBucket(this.#burst, 1000 / this.#perSecond, this.#clock.now());
  }

  /** Queue `key` to run as soon as possible, in `priority`'s line (default `user`). Cancels a pending delayed add of it. */
  add(key: string, priority: Priority = 'user'): void {
    if (this.#shutdown) return;
    this.#enqueue(key, priority);
    this.#schedulePump();
  }

  /**
   * Queue `key` to run after `ms` milliseconds (`ms <= 0` behaves like `add`).
   * If a delayed add of `key` is already pending, the earlier of the two wins;
   * if `key` is already queued to run as soon as possible, this is a no-op. When it comes due it joins
   * `priority`'s line (default `recheck`: what comes back after a delay is a re-check). Throws
   * `RangeError` for NaN or infinite `ms`.
   */
  addAfter(key: string, ms: number, priority: Priority = 'recheck'): void {
    if (!Number.isFinite(ms)) throw new RangeError(`WorkQueue.addAfter: ms must be finite, got ${String(ms)}`);
    if (this.#shutdown) return;
    this.#schedule(key, ms, priority);
    this.#schedulePump();
  }

  /**
   * Queue `key` after its next per-key backoff delay (records one more failure).
   * Returns the delay until `key` will actually run (see `addAfter`), or -1 after shutdown.
   */
  addRateLimited(key: string): number {
    if (this.#shutdown) return -1;
    const delay = this.#schedule(key, this.#backoff.next(key), 'user');
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
    this.#readyRecheck.delete(key);
    this.#rerun.delete(key);
    this.#cancelDelayed(key);
    this.#checkIdle();
  }

  /** Number of pending keys: ready (incl. re-added while running) + delayed. */
  len(): number {
    return this.#ready.size + this.#readyRecheck.size + this.#rerun.size + this.#delayed.size;
  }

  /** True when nothing is ready or running (and, with `includeDelayed`, nothing is delayed). */
  isIdle(opts: IdleOptions = {}): boolean {
    return (
      this.#ready.size === 0 &&
      this.#readyRecheck.size === 0 &&
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
      queued: this.#ready.size + this.#readyRecheck.size + this.#rerun.size,
      running: this.#running.size,
      delayed: this.#delayed.size,
      processed: this.#processed,
      failed: this.#failed,
    };
  }

  priorityStats(): PriorityStats {
    const oldest = this.#readyRecheck.values().next();
    return {
      queuedRecheck: this.#readyRecheck.size,
      oldestRecheckWaitMs: oldest.done ? 0 : Math.max(0, this.#clock.now() - oldest.value),
      aged: this.#aged,
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
    this.#readyRecheck.clear();
    this.#rerun.clear();
    this.#delayed.clear();
    this.#heap = [];
    this.#disarm();
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

  /** Mark `key` to run ASAP in `priority`'s line (a `user` add moves a waiting `recheck` key). Does not dispatch. */
  #enqueue(key: string, priority: Priority): void {
    this.#cancelDelayed(key);
    if (this.#running.has(key)) {
      if (priority === 'user' || !this.#rerun.has(key)) this.#rerun.set(key, priority);
      return;
    }
    if (this.#ready.has(key)) return;
    if (this.#readyRecheck.has(key)) {
      if (priority === 'recheck') return;
      this.#readyRecheck.delete(key);
    }
    (priority === 'user' ? this.#ready : this.#readyRecheck).set(key, this.#clock.now());
  }

  /** The next key to run: the `user` line's first, unless the `recheck` line's first has waited
   *  `agingMs` and was queued before it (or the `user` line is empty). */
  #next(): string | undefined {
    const u = this.#ready.entries().next();
    const r = this.#readyRecheck.entries().next();
    if (r.done) {
      if (u.done) return undefined;
      this.#ready.delete(u.value[0]);
      return u.value[0];
    }
    const [rKey, rAt] = r.value;
    const aged = this.#clock.now() - rAt >= this.#agingMs;
    if (u.done || (aged && rAt <= u.value[1])) {
      this.#readyRecheck.delete(rKey);
      if (!u.done) this.#aged++;
      return rKey;
    }
    this.#ready.delete(u.value[0]);
    return u.value[0];
  }

  /** Schedule a delayed add; returns the effective delay until `key` runs. Does not dispatch. */
  #schedule(key: string, ms: number, priority: Priority): number {
    if (ms <= 0) {
      this.#enqueue(key, priority);
      return 0;
    }
    if (this.#ready.has(key) || this.#readyRecheck.has(key) || this.#rerun.has(key)) return 0;
    const now = this.#clock.now();
    const at = now + ms;
    const existing = this.#delayed.get(key);
    if (existing) {
      if (existing.at <= at) {
        if (priority === 'user') existing.priority = 'user';
        return Math.max(existing.at - now, 0);
      }
      if (existing.priority === 'user') priority = 'user';
    }
    const entry: DelayedEntry = { key, at, priority, seq: this.#seq++ };
    this.#delayed.set(key, entry);
    this.#heapPush(entry);
    this.#arm(now, entry, ms);
    return ms;
  }

  #cancelDelayed(key: string): void {
    if (!this.#delayed.delete(key)) return;
    if (this.#delayed.size === 0) {
      this.#heap = [];
      this.#disarm();
    } else if (this.#heap.length > 2 * this.#delayed.size + 64) {
      this.#compactHeap();
    }
  }

  /** The heap's head that still counts, dropping superseded entries on the way. */
  #head(): DelayedEntry | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || this.#delayed.get(top.key) === top) return top;
      this.#heapPop();
    }
  }

  /** Arms the one timer for the head's due time (re-arms when the head is now earlier). */
  #arm(now: number, added?: DelayedEntry, ms?: number): void {
    const head = this.#head();
    if (head === undefined) return this.#disarm();
    if (head.at >= this.#timerAt) return;
    this.#disarm();
    this.#timerAt = head.at;
    // A key just added asks for exactly its delay (now + ms - now need not be ms in floating point).
    this.#timer = this.#clock.setTimeout(() => this.#fire(), head === added ? ms! : Math.max(head.at - now, 0));
  }

  #disarm(): void {
    if (this.#timerAt === Infinity) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** The timer: every entry due by when it was armed for (or by now, if later) joins its line, then
   *  the timer is armed for the next. A timer may fire before `performance.now()` reaches its time
   *  (Node's timers count from the event loop's cached time, which a long task leaves behind): what it
   *  was armed for runs then, as a timer of its own would have run it. */
  #fire(): void {
    const armedFor = this.#timerAt;
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#shutdown) return;
    const now = Math.max(this.#clock.now(), armedFor);
    let moved = false;
    for (let head = this.#head(); head !== undefined && head.at <= now; head = this.#head()) {
      this.#heapPop();
      this.#delayed.delete(head.key);
      this.#enqueue(head.key, head.priority);
      moved = true;
    }
    this.#arm(now);
    if (moved) this.#pump();
  }

  #before(a: DelayedEntry, b: DelayedEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #heapPush(entry: DelayedEntry): void {
    const h = this.#heap;
    let i = h.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #heapPop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.#before(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.#before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }

  /** Rebuilds the heap from the entries that count (too many superseded ones had piled up). */
  #compactHeap(): void {
    const live = [...this.#delayed.values()].sort((a, b) => (this.#before(a, b) ? -1 : 1));
    this.#heap = live; // a sorted array is a valid min-heap
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
    while (!this.#shutdown && this.#ready.size + this.#readyRecheck.size > 0 && this.#running.size < this.#concurrency) {
      if (!this.#takeToken()) {
        this.#scheduleRefill();
        break;
      }
      this.#dispatch(this.#next()!);
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
    const rerun = this.#rerun.get(key);
    this.#rerun.delete(key);

    let retryInMs = -1;
    if (!this.#shutdown) {
      // Back in its line (a delayed add made during the run stays: only add() cancels those).
      if (rerun) (rerun === 'user' ? this.#ready : this.#readyRecheck).set(key, this.#clock.now());
      if (ok) {
        this.#backoff.forget(key);
        const ms = result?.requeueAfterMs;
        if (ms !== undefined) this.#schedule(key, ms, 'recheck');
      } else if (this.#retryable(error)) {
        retryInMs = this.#schedule(key, this.#backoff.next(key), 'user');
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

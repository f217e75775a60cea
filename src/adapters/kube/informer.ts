// A list+watch cache of one Kubernetes resource type, hardened where watches fail in practice:
// paginated lists that survive an expired continue token, 410 Gone in any of its forms (HTTP status,
// ERROR event) answered by a relist, a watchdog for watches that go silent, capped exponential
// backoff with jitter, periodic relists that catch anything a watch missed, and a health report for
// /readyz. One loop per informer: list, then watch from the list's resourceVersion, then re-watch or
// relist as each watch ends. The loop never throws and never gives up; stop() ends it.
//
// The pure parts (cache keys, the relist diff, the backoff curve, reading a watch ERROR) are the
// exported functions at the top; the Informer class drives the KubeClient (I/O) and timers.
import type { Logger } from 'pino';
import { messageOf } from '../../api/errors.ts';
import { systemClock, type Clock } from '../../state/workqueue.ts';
import { Sleeper } from './clock.ts';
import { KubeApiError, isStatus, type KubeClient, type ResourceType, type WatchEvent } from './client.ts';
import { exponentialDelay } from '../../state/backoff.ts';

/** What the informer needs of an object: its identity and version. */
export interface KubeObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
}

/**
 * A change applied to the cache. For an update `old` is the object it replaced; for a delete `object`
 * is the last state known (the DELETED event's, or the cached one when a relist found it gone) and
 * `old` the object that was cached.
 */
export interface InformerEvent<T> {
  type: 'add' | 'update' | 'delete';
  object: T;
  old?: T;
}

export type InformerListener<T> = (event: InformerEvent<T>) => void;

/** What /readyz needs to know. Times are readings of the informer's clock. */
export interface InformerHealth {
  /** The first complete list has been applied (and delivered). */
  synced: boolean;
  /** A watch is open right now. */
  watching: boolean;
  /** Last sign of life: a watch event, a bookmark, a watch (re)opened, a list completed. */
  lastActivityAt?: number;
  /** Not synced, or no sign of life for `staleAfterMs`. */
  stale: boolean;
  /** Why it is stale or not watching; absent when all is well. Never contains object bodies. */
  reason?: string;
}

export interface BackoffOptions {
  /** Delay after the first failure. Default 500 ms. */
  initialMs?: number;
  /** Cap of the un-jittered delay. Default 30 000 ms. */
  maxMs?: number;
  /** A watch that stays open this long (or delivers an event) resets the failure count. Default 60 000 ms. */
  resetAfterMs?: number;
}

export interface InformerOptions {
  client: KubeClient;
  type: ResourceType;
  /** Only this namespace; undefined = all namespaces (and cluster-scoped types). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  log: Logger;
  /** Items per list page (limit/continue). Default 500. */
  pageSize?: number;
  /** Full relist period, jittered ±10%. Default 10 min. */
  relistMs?: number;
  /** A watch with no data (no event, no bookmark) for this long is restarted. Default 90 s. */
  idleTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Consecutive watch failures after which the next attempt relists instead of re-watching. Default 5. */
  relistAfterFailures?: number;
  /** Health reports stale after this long without activity. Default 2 × idleTimeoutMs. */
  staleAfterMs?: number;
  /** Timers and `now()` for backoff, relists and health. Default: monotonic system clock. */
  clock?: Clock;
  /** Uniform numbers in [0, 1) for jitter. Default Math.random. */
  random?: () => number;
}

// ---- pure helpers ------------------------------------------------------------------------------

/** The cache key of an object: `namespace/name`, or `/name` for cluster-scoped objects. */
export function cacheKey(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/**
 * The events that turn the cache `old` into exactly `items` (a complete list): deletes for keys that
 * are gone (in `old`'s order), then, in `items` order, adds for new keys and updates for keys whose
 * resourceVersion changed. An object replaced by another with the same name (different uid) is a
 * delete followed by an add. Unchanged objects yield nothing. Pure.
 */
export function diffSnapshot<T extends KubeObject>(old: ReadonlyMap<string, T>, items: readonly T[]): InformerEvent<T>[] {
  const next = new Map<string, T>();
  for (const o of items) next.set(cacheKey(o), o);
  const events: InformerEvent<T>[] = [];
  for (const [key, prev] of old) if (!next.has(key)) events.push({ type: 'delete', object: prev, old: prev });
  for (const [key, cur] of next) {
    const prev = old.get(key);
    if (prev === undefined) events.push({ type: 'add', object: cur });
    else if (prev.metadata.uid !== undefined && cur.metadata.uid !== undefined && prev.metadata.uid !== cur.metadata.uid) {
      events.push({ type: 'delete', object: prev, old: prev }, { type: 'add', object: cur });
    } else if (prev.metadata.resourceVersion !== cur.metadata.resourceVersion) events.push({ type: 'update', object: cur, old: prev });
  }
  return events;
}

/**
 * The delay before attempt number `failures` + 1 after `failures` (>= 1) consecutive failures:
 * `min(initialMs · 2^(failures-1), maxMs)`, scaled down by up to 20% with `r` in [0, 1) — so it never
 * exceeds `maxMs` and equals the un-jittered value when `r` is 0. Pure.
 */
export function backoffDelay(failures: number, initialMs: number, maxMs: number, r: number): number {
  const raw = exponentialDelay(failures - 1, initialMs, maxMs);
  const f = Math.min(Math.max(r, 0), 1);
  return Math.round(raw * (1 - 0.2 * f));
}

/** A Status object as it arrives in a watch ERROR event. */
interface Status {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

/** Whether a watch ERROR event says the resourceVersion expired (410 Gone / Expired). Pure. */
export function isGoneStatus(obj: unknown): boolean {
  const st = obj as Status | null | undefined;
  return st?.code === 410 || st?.reason === 'Expired' || st?.reason === 'Gone';
}

// ---- the informer ------------------------------------------------------------------------------

/** How one watch ended. */
type WatchEnd =
  | { kind: 'stopped' }
  | { kind: 'relist' } // the periodic relist timer ended it
  | { kind: 'server-closed' }
  | { kind: 'resume' } // resumeFromForTest()
  | { kind: 'gone'; message: string }
  | { kind: 'idle'; message: string }
  | { kind: 'error'; message: string };

interface ActiveWatch {
  ac: AbortController;
  end?: WatchEnd;
  opened: boolean;
  openedAt: number;
  /** ADDED/MODIFIED/DELETED/BOOKMARK events received. */
  events: number;
}

/** A list that asked us to restart it this many times in a row (410 on continue) fails instead. */
const MAX_LIST_RESTARTS = 3;
/** A watch closed by the server sooner than this, with no event, counts as a failure (no hot loop). */
const MIN_HEALTHY_WATCH_MS = 1_000;

/**
 * A list+watch cache of one resource type.
 *
 * Callers may rely on:
 * - one list/watch loop at a time: a list never runs while a watch is open, and no two watches
 *   are open at once; `start()` twice is a no-op;
 * - events are emitted after they are applied to the cache, in the order they were applied;
 * - nothing is emitted before the first complete list: it is applied to the cache at once, delivered
 *   as one `add` per object, and only then `hasSynced()` turns true and `waitForSync()` resolves;
 * - a listener registered once the first list is applied first gets an `add` for every cached
 *   object (synchronously, inside `onChange`), then the changes that follow;
 * - a relist emits only differences (see {@link diffSnapshot}); a listener that throws is logged and
 *   does not disturb the others or the loop;
 * - the loop never throws and never gives up: errors are retried with capped backoff, 410 Gone
 *   (HTTP status or ERROR event, on a watch or a list continue token) triggers a relist;
 * - `stop()` closes the watch, aborts a list in flight, cancels every timer and resolves once the loop
 *   has ended; the informer cannot be started again.
 */
export class Informer<T extends KubeObject> {
  readonly #client: KubeClient;
  readonly #type: ResourceType;
  readonly #namespace: string | undefined;
  readonly #labelSelector: string | undefined;
  readonly #fieldSelector: string | undefined;
  readonly #log: Logger;
  readonly #pageSize: number;
  readonly #relistMs: number;
  readonly #idleTimeoutMs: number;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #resetAfterMs: number;
  readonly #relistAfterFailures: number;
  readonly #staleAfterMs: number;
  readonly #clock: Clock;
  readonly #random: () => number;

  #cache = new Map<string, T>();
  #listeners = new Set<InformerListener<T>>();
  #rv: string | undefined;
  /** The first list has been applied to the cache (listeners added from now on get a replay). */
  #listed = false;
  #synced = false;
  #syncWaiters = new Set<{ resolve: () => void; reject: (e: unknown) => void }>();

  #started = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #needList = true;
  #listReason = 'initial';
  #failures = 0;
  /** The watch open or opening now. */
  #watch: ActiveWatch | undefined;
  /** The most recent watch, also once it has ended (for the backoff reset rule). */
  #lastWatch: ActiveWatch | undefined;
  #listAbort: AbortController | undefined;
  #relistTimer: unknown;
  readonly #sleeper: Sleeper;
  #lastActivityAt: number | undefined;
  #problem: string | undefined;

  constructor(opts: InformerOptions) {
    this.#client = opts.client;
    this.#type = opts.type;
    this.#namespace = opts.namespace;
    this.#labelSelector = opts.labelSelector;
    this.#fieldSelector = opts.fieldSelector;
    this.#pageSize = positive('pageSize', opts.pageSize ?? 500);
    this.#relistMs = positive('relistMs', opts.relistMs ?? 10 * 60_000);
    this.#idleTimeoutMs = positive('idleTimeoutMs', opts.idleTimeoutMs ?? 90_000);
    this.#initialMs = positive('backoff.initialMs', opts.backoff?.initialMs ?? 500);
    this.#maxMs = positive('backoff.maxMs', opts.backoff?.maxMs ?? 30_000);
    this.#resetAfterMs = positive('backoff.resetAfterMs', opts.backoff?.resetAfterMs ?? 60_000);
    this.#relistAfterFailures = positive('relistAfterFailures', opts.relistAfterFailures ?? 5);
    this.#staleAfterMs = positive('staleAfterMs', opts.staleAfterMs ?? 2 * this.#idleTimeoutMs);
    this.#clock = opts.clock ?? systemClock;
    this.#sleeper = new Sleeper(this.#clock);
    this.#random = opts.random ?? Math.random;
    const resource = opts.type.group ? `${opts.type.plural}.${opts.type.group}` : opts.type.plural;
    this.#log = opts.log.child({ informer: resource, ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}) });
  }

  /** Starts the loop (once; later calls do nothing). Throws if the informer was stopped. */
  start(): void {
    if (this.#stopping) throw new Error('informer: start() after stop()');
    if (this.#started) return;
    this.#started = true;
    this.#loop = this.#run();
  }

  /** Ends the loop; resolves when it has ended and no timer, watch or list is left. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#cancelRelistTimer();
    this.#listAbort?.abort();
    this.#endWatch({ kind: 'stopped' });
    this.#sleeper.wake();
    await this.#loop;
    const err = new Error('informer stopped before it synced');
    for (const w of this.#syncWaiters) w.reject(err);
    this.#syncWaiters.clear();
  }

  /** True once the first complete list has been applied and delivered; stays true. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once synced; rejects if `signal` aborts (with its reason) or the informer stops first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#stopping) return Promise.reject(new Error('informer stopped before it synced'));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#syncWaiters.delete(waiter);
        reject(signal?.reason);
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.#syncWaiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Every cached object (a fresh array; the objects are the cache's own: do not mutate them). */
  list(): T[] {
    return [...this.#cache.values()];
  }

  /** The cached object, or undefined. `namespace` is needed for namespaced types. */
  get(name: string, namespace?: string): T | undefined {
    return this.#cache.get(`${namespace ?? ''}/${name}`);
  }

  /** The resourceVersion the next watch would resume from (undefined before the first list). */
  get resourceVersion(): string | undefined {
    return this.#rv;
  }

  /** Registers a listener (see the class contract for replay); returns a function that removes it. */
  onChange(listener: InformerListener<T>): () => void {
    this.#listeners.add(listener);
    if (this.#listed) for (const o of [...this.#cache.values()]) this.#deliver(listener, { type: 'add', object: o });
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** A snapshot for /readyz; cheap, no I/O. */
  health(): InformerHealth {
    const now = this.#clock.now();
    const watching = this.#watch?.opened === true && this.#watch.end === undefined;
    const quietFor = this.#lastActivityAt === undefined ? undefined : now - this.#lastActivityAt;
    const stale = !this.#synced || quietFor === undefined || quietFor > this.#staleAfterMs;
    let reason: string | undefined;
    if (!this.#synced) reason = this.#problem ? `not synced: ${this.#problem}` : 'not synced yet';
    else if (stale) reason = `no watch activity for ${Math.round(quietFor ?? 0)} ms${this.#problem ? `: ${this.#problem}` : ''}`;
    else if (!watching) reason = this.#problem ?? 'watch not open';
    return { synced: this.#synced, watching, lastActivityAt: this.#lastActivityAt, stale, reason };
  }

  /**
   * Test-only fault injection: ends the current watch and resumes from `resourceVersion` without
   * relisting, as if that were the last version seen (used to provoke a real 410 from an apiserver).
   */
  resumeFromForTest(resourceVersion: string): void {
    this.#rv = resourceVersion;
    this.#endWatch({ kind: 'resume' });
  }

  // ---- the loop ----------------------------------------------------------------------------------

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.#step();
      } catch (err) {
        // #step handles every error it expects; this is a bug guard so the loop never dies
        this.#log.error({ err: messageOf(err) }, 'informer loop: unexpected error; retrying');
        await this.#sleep(this.#nextDelay());
      }
    }
  }

  /** One list (if needed) and one watch, then the wait before the next step. */
  async #step(): Promise<void> {
    if (this.#needList) {
      try {
        await this.#relist();
      } catch (err) {
        if (this.#stopping) return;
        this.#failures++;
        const delayMs = this.#nextDelay();
        this.#problem = `list failed: ${messageOf(err)}`;
        this.#log.warn({ reason: 'list-error', next: 'list', delayMs, failures: this.#failures, err: messageOf(err) }, 'list failed; retrying');
        this.#listReason = 'retry after a failed list';
        await this.#sleep(delayMs);
        return;
      }
      if (this.#stopping) return;
    }
    const end = await this.#watchOnce();
    if (this.#stopping || end.kind === 'stopped') return;
    await this.#afterWatch(end);
  }

  /** Decides what follows a watch, logs it once, and waits out the backoff. */
  async #afterWatch(end: Exclude<WatchEnd, { kind: 'stopped' }>): Promise<void> {
    const w = this.#lastWatch;
    const now = this.#clock.now();
    const lived = w?.opened ? now - w.openedAt : 0;
    const healthy = w !== undefined && w.opened && (w.events > 0 || lived >= this.#resetAfterMs);
    if (healthy) this.#failures = 0;
    const rv = this.#rv;
    switch (end.kind) {
      case 'relist':
        this.#log.info({ reason: 'periodic', next: 'list', delayMs: 0 }, 'periodic relist');
        this.#needList = true;
        this.#listReason = 'periodic';
        return;
      case 'resume':
        this.#log.info({ reason: 'test-resume', next: 'watch', delayMs: 0, resourceVersion: rv }, 'resuming from an injected resourceVersion');
        return;
      case 'server-closed':
        if (healthy || lived >= MIN_HEALTHY_WATCH_MS) {
          this.#log.info({ reason: 'server-closed', next: 'watch', delayMs: 0, resourceVersion: rv }, 'watch closed by the server; resuming');
          return;
        }
        return this.#fail('short-watch', 'the server closed the watch at once', rv);
      case 'gone': {
        // the first 410 relists at once; repeated ones back off like any failure
        const delayMs = this.#failures === 0 ? 0 : this.#nextDelay(this.#failures + 1);
        this.#failures++;
        this.#needList = true;
        this.#listReason = 'resource version expired (410)';
        this.#problem = end.message;
        this.#log.warn({ reason: 'gone', next: 'list', delayMs, failures: this.#failures, resourceVersion: rv, err: end.message }, 'watch expired (410 Gone); relisting');
        await this.#sleep(delayMs);
        return;
      }
      case 'idle':
        // a quiet watch that was open is routine (bookmarks can be minutes apart); one that never
        // opened is not
        return this.#fail('idle', end.message, rv, w?.opened === true);
      case 'error':
        return this.#fail('error', end.message, rv);
    }
  }

  async #fail(reason: string, message: string, rv: string | undefined, routine = false): Promise<void> {
    this.#failures++;
    const delayMs = this.#nextDelay();
    const relist = rv === undefined || this.#failures >= this.#relistAfterFailures;
    if (relist) {
      this.#needList = true;
      this.#listReason = rv === undefined ? 'no resourceVersion to resume from' : `${this.#failures} watch failures in a row`;
    }
    this.#problem = message;
    const fields = { reason, next: relist ? 'list' : 'watch', delayMs, failures: this.#failures, resourceVersion: rv, err: message };
    const msg = relist ? 'watch failed; relisting' : 'watch failed; re-watching';
    if (routine) this.#log.info(fields, msg);
    else this.#log.warn(fields, msg);
    await this.#sleep(delayMs);
  }

  #nextDelay(failures = this.#failures): number {
    return backoffDelay(Math.max(failures, 1), this.#initialMs, this.#maxMs, this.#random());
  }

  // ---- list ------------------------------------------------------------------------------------

  /** Lists every page, replaces the cache, emits the differences, and (the first time) reports sync. */
  async #relist(): Promise<void> {
    // the decision to relist was logged where it was taken; this logs only the result
    const initial = !this.#listed;
    const reason = this.#listReason;
    const ac = new AbortController();
    this.#listAbort = ac;
    let items: T[] = [];
    let rv: string | undefined;
    try {
      let cont: string | undefined;
      let restarts = 0;
      for (;;) {
        let page;
        try {
          page = await this.#client.list<T>(this.#type, {
            namespace: this.#namespace,
            limit: this.#pageSize,
            continue: cont,
            labelSelector: this.#labelSelector,
            fieldSelector: this.#fieldSelector,
            signal: ac.signal,
          });
        } catch (err) {
          if (cont !== undefined && isStatus(err, 410) && restarts < MAX_LIST_RESTARTS && !this.#stopping) {
            restarts++;
            this.#log.warn({ reason: 'continue-expired', next: 'list', delayMs: 0, err: messageOf(err) }, 'list continue token expired (410); restarting the list');
            items = [];
            cont = undefined;
            continue;
          }
          throw err;
        }
        if (!page || !Array.isArray(page.items)) throw new KubeApiError('Transient', 0, `list ${this.#type.plural}: the response has no items`);
        for (const o of page.items) {
          if (typeof o?.metadata?.name === 'string') items.push(o);
          else this.#log.warn('list: an item without metadata.name was ignored');
        }
        rv = page.metadata?.resourceVersion ?? rv;
        cont = page.metadata?.continue || undefined;
        if (cont === undefined) break;
      }
    } finally {
      if (this.#listAbort === ac) this.#listAbort = undefined;
    }
    if (this.#stopping) return;

    const events = diffSnapshot(this.#cache, items);
    const next = new Map<string, T>();
    for (const o of items) next.set(cacheKey(o), o);
    this.#cache = next;
    this.#rv = rv;
    this.#needList = false;
    this.#listed = true;
    this.#activity();
    this.#scheduleRelist();
    const counts = { add: 0, update: 0, delete: 0 };
    for (const e of events) counts[e.type]++;
    this.#log.info({ reason, objects: items.length, resourceVersion: rv, ...counts }, initial ? 'initial list' : 'relisted');
    for (const e of events) this.#emit(e);
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters) w.resolve();
      this.#syncWaiters.clear();
    }
  }

  #scheduleRelist(): void {
    this.#cancelRelistTimer();
    if (this.#stopping) return;
    const ms = Math.round(this.#relistMs * (0.9 + 0.2 * this.#random()));
    this.#relistTimer = this.#clock.setTimeout(() => {
      this.#relistTimer = undefined;
      this.#needList = true;
      this.#listReason = 'periodic';
      this.#endWatch({ kind: 'relist' });
    }, ms);
  }

  #cancelRelistTimer(): void {
    if (this.#relistTimer !== undefined) this.#clock.clearTimeout(this.#relistTimer);
    this.#relistTimer = undefined;
  }

  // ---- watch -----------------------------------------------------------------------------------

  /** Opens one watch from the last resourceVersion and resolves when it has ended. */
  #watchOnce(): Promise<WatchEnd> {
    const w: ActiveWatch = { ac: new AbortController(), opened: false, openedAt: 0, events: 0 };
    this.#watch = w;
    this.#lastWatch = w;
    const query = {
      allowWatchBookmarks: true,
      resourceVersion: this.#rv,
      timeoutSeconds: 300 + Math.floor(this.#random() * 301),
      labelSelector: this.#labelSelector,
      fieldSelector: this.#fieldSelector,
    };
    return new Promise<WatchEnd>((resolve) => {
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        if (this.#watch === w) this.#watch = undefined;
        resolve(w.end ?? endOf(err));
      };
      const opened = () => {
        if (w.opened || settled || w.end) return;
        w.opened = true;
        w.openedAt = this.#clock.now();
        this.#problem = undefined;
        this.#activity();
      };
      const onEvent = (ev: WatchEvent<T>) => {
        if (settled || w.end) return;
        opened();
        try {
          this.#onWatchEvent(ev, w);
        } catch (err) {
          this.#log.error({ err: messageOf(err) }, 'watch: an event could not be applied');
        }
      };
      this.#client
        .watch<T>(this.#type, query, onEvent, settle, { namespace: this.#namespace, idleTimeoutMs: this.#idleTimeoutMs, signal: w.ac.signal })
        .then(opened, settle);
    });
  }

  /** Ends the current watch (if any) for `end`; the loop then sees `end` as its outcome. */
  #endWatch(end: WatchEnd): void {
    const w = this.#watch;
    if (!w || w.end) return;
    w.end = end;
    w.ac.abort();
  }

  #onWatchEvent(ev: WatchEvent<T>, w: ActiveWatch): void {
    if (ev.type === 'ERROR') {
      const st = ev.object as unknown as Status;
      const message = `watch ${this.#type.plural}: ${st?.code ?? '?'} ${st?.reason ?? ''} ${st?.message ?? ''}`.replace(/\s+/g, ' ').trim();
      this.#endWatch(isGoneStatus(st) ? { kind: 'gone', message } : { kind: 'error', message });
      return;
    }
    const obj = ev.object;
    const rv = obj?.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      w.events++;
      if (rv) this.#rv = rv;
      this.#activity();
      return;
    }
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') {
      this.#log.warn({ eventType: String(ev.type) }, 'watch: an event of an unknown type was ignored');
      return;
    }
    if (typeof obj?.metadata?.name !== 'string') {
      this.#log.warn({ eventType: ev.type }, 'watch: an event without metadata.name was ignored');
      return;
    }
    w.events++;
    if (rv) this.#rv = rv;
    this.#activity();
    const key = cacheKey(obj);
    const prev = this.#cache.get(key);
    if (ev.type === 'DELETED') {
      if (prev === undefined) return;
      this.#cache.delete(key);
      this.#emit({ type: 'delete', object: obj, old: prev });
      return;
    }
    this.#cache.set(key, obj);
    if (prev === undefined) this.#emit({ type: 'add', object: obj });
    else if (prev.metadata.resourceVersion !== rv || rv === undefined) this.#emit({ type: 'update', object: obj, old: prev });
  }

  // ---- plumbing --------------------------------------------------------------------------------

  #activity(): void {
    this.#lastActivityAt = this.#clock.now();
  }

  #emit(e: InformerEvent<T>): void {
    for (const l of [...this.#listeners]) if (this.#listeners.has(l)) this.#deliver(l, e);
  }

  #deliver(l: InformerListener<T>, e: InformerEvent<T>): void {
    try {
      l(e);
    } catch (err) {
      this.#log.error({ err: messageOf(err), event: e.type, object: cacheKey(e.object) }, 'informer listener threw');
    }
  }

  /** Waits `ms` on the clock; stop() cuts it short. */
  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopping) return Promise.resolve();
    return this.#sleeper.sleep(ms);
  }
}

/** How a watch ended when we did not end it ourselves. */
function endOf(err: unknown): WatchEnd {
  if (err === undefined) return { kind: 'server-closed' };
  const message = messageOf(err);
  if (isStatus(err, 410)) return { kind: 'gone', message };
  if (err instanceof KubeApiError && err.reason === 'WatchIdle') return { kind: 'idle', message };
  return { kind: 'error', message };
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`informer: ${name} must be a finite number > 0, got ${String(v)}`);
  return v;
}

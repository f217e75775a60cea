// Kubernetes Events (events.k8s.io/v1) about netform's objects, as `kubectl describe` and
// `kubectl get events` show them.
//
// Why events.k8s.io/v1 rather than core/v1: it is the current API (core/v1 Events are the same
// objects seen through the old schema, so `kubectl describe` lists ours too), it has the
// reportingController/reportingInstance and series fields we want, and its validation is strict
// about the fields we set. RBAC: `events.k8s.io` `events`: create, patch.
//
// Behaviour callers may rely on:
//  - `record()` never throws and never waits: it updates an in-memory table and queues a write; one
//    background worker sends the writes in order. A failed write is logged and dropped.
//  - Identical events (same object — by uid —, type, reason, action and note) less than 10 minutes
//    after the previous one are one Event: the first creates it, the others bump
//    `series.count`/`series.lastObservedTime` with a merge patch. Records that arrive while a write
//    is queued are coalesced into it, so `series.count` counts records, not writes. We are the only
//    writer of our Events (the name carries a random part), so the patch needs no resourceVersion.
//  - Each object has a token bucket of writes (creates and series patches alike): a burst of 25,
//    refilled with one token every 5 minutes (client-go's spam filter uses the same numbers), so a
//    flapping object costs etcd at most 25 writes and then 12 an hour. A new Event without a token
//    is dropped (counted in `stats().rateLimited`); a series bump without a token waits for the next
//    token, so its count stays exact, only later.
//  - Notes are cut to 1024 bytes of UTF-8 (the API's limit) ending in "…"; reason and action to 128.
//  - Events about a namespaced object go to its namespace; about a cluster-scoped one (all our kinds
//    but VnicAttachment) to `default`, the Kubernetes convention.
//  - The queue holds at most `maxQueued` (1000) distinct pending Events; beyond it records are dropped.
//  - Notes never reach our logs; callers must not put secrets into notes.
import type { Logger } from 'pino';
import { systemWallClock, type WallClock } from './clock.ts';
import { formatMicroTime } from './leader.ts';
import { KubeApiError, resourcePath, type KubeClient } from './client.ts';
import { EVENTS } from './resources.ts';
import { TokenBucket } from '../../state/token-bucket.ts';


export const REPORTING_CONTROLLER = 'netform.io/controller';
/** events.k8s.io/v1 `note` limit, in bytes. */
export const NOTE_LIMIT_BYTES = 1024;
/** reason, action and reportingInstance limit, in bytes. */
export const FIELD_LIMIT_BYTES = 128;
export const AGGREGATION_WINDOW_MS = 10 * 60_000;
export const RATE_LIMIT = { burst: 25, refillEveryMs: 5 * 60_000 };
/** Namespace of Events about cluster-scoped objects. */
export const CLUSTER_EVENT_NAMESPACE = 'default';
export const DEFAULT_API_VERSION = 'netform.io/v1alpha1';

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about: any Kubernetes object with kind and name. */
export interface EventSubject {
  apiVersion?: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

/** An events.k8s.io/v1 Event, the fields we write. */
export interface KubeEvent {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  eventTime: string;
  series?: { count: number; lastObservedTime: string };
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  regarding: ObjectReference;
  note: string;
  type: EventType;
}

// --- pure ------------------------------------------------------------------------------------

const MARK = '…';

/**
 * `s` if it is at most `maxBytes` bytes of UTF-8; otherwise its longest prefix that, followed by
 * "…", fits, never splitting a character.
 */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  const room = maxBytes - Buffer.byteLength(MARK, 'utf8');
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > room) break;
    bytes += n;
    out += ch;
  }
  return out + MARK;
}

/** The reference to put into `regarding`; undefined when the object has no kind or name. */
export function regardingOf(o: EventSubject): ObjectReference | undefined {
  const name = o.metadata?.name;
  if (!o.kind || !name) return undefined;
  const ref: ObjectReference = { apiVersion: o.apiVersion || DEFAULT_API_VERSION, kind: o.kind, name };
  if (o.metadata.namespace) ref.namespace = o.metadata.namespace;
  if (o.metadata.uid) ref.uid = o.metadata.uid;
  if (o.metadata.resourceVersion) ref.resourceVersion = o.metadata.resourceVersion;
  return ref;
}

/** The object's namespace, or `default` for a cluster-scoped object. */
export function eventNamespace(ref: ObjectReference): string {
  return ref.namespace || CLUSTER_EVENT_NAMESPACE;
}

/** Identifies the object for rate limiting: its uid, else group/kind/namespace/name. */
export function objectIdentity(ref: ObjectReference): string {
  return ref.uid ? `uid:${ref.uid}` : `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** Events with equal keys are aggregated into one. */
export function aggregationKey(ref: ObjectReference, type: EventType, reason: string, action: string, note: string): string {
  return JSON.stringify([objectIdentity(ref), type, reason, action, note]);
}

/** A DNS-subdomain name `<object name>.<time in hex><random hex>`, at most 253 characters. */
export function eventName(objectName: string, wallMs: number, random: () => number): string {
  let rand = '';
  for (let i = 0; i < 6; i++) rand += Math.floor(random() * 16).toString(16);
  const tail = `.${Math.floor(wallMs).toString(16)}${rand}`;
  const head = objectName.toLowerCase().slice(0, 253 - tail.length).replace(/[^a-z0-9]+$/, '');
  return `${head || 'x'}${tail}`;
}

/** The Event for the first write of an aggregated series (`count` ≥ 2 adds the series). */
export function buildEvent(a: {
  name: string;
  ref: ObjectReference;
  type: EventType;
  reason: string;
  action: string;
  note: string;
  reportingInstance: string;
  firstWallMs: number;
  lastWallMs: number;
  count: number;
}): KubeEvent {
  const ev: KubeEvent = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: a.name, namespace: eventNamespace(a.ref) },
    eventTime: formatMicroTime(a.firstWallMs),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: a.reportingInstance,
    action: a.action,
    reason: a.reason,
    regarding: a.ref,
    note: a.note,
    type: a.type,
  };
  if (a.count >= 2) ev.series = seriesOf(a.count, a.lastWallMs);
  return ev;
}

export function seriesOf(count: number, lastWallMs: number): { count: number; lastObservedTime: string } {
  return { count, lastObservedTime: formatMicroTime(lastWallMs) };
}


// --- I/O -------------------------------------------------------------------------------------

/** A monotonic clock with timers plus the wall clock written into Events. */

export interface EventRecorderOptions {
  client: Pick<KubeClient, 'request'>;
  /** reportingInstance: who in the controller wrote it (the leader's identity); cut to 128 bytes. */
  identity: string;
  log: Logger;
  clock?: WallClock;
  /** In [0, 1); for Event names. */
  random?: () => number;
  /** Default 1000. */
  maxQueued?: number;
  /** Default {@link RATE_LIMIT}. */
  rateLimit?: { burst: number; refillEveryMs: number };
  /** Default {@link AGGREGATION_WINDOW_MS}. */
  aggregationWindowMs?: number;
  /** Aggregation entries and token buckets kept in memory at most (each); default 4096. */
  maxTracked?: number;
}

export interface RecorderStats {
  /** Events created. */
  created: number;
  /** Series patches sent. */
  updated: number;
  /** New Events dropped for want of a token. */
  rateLimited: number;
  /** Records dropped because the queue was full. */
  queueFull: number;
  /** Writes that failed (logged and dropped). */
  failed: number;
  /** Series bumps waiting for a token. */
  deferred: number;
}

interface Entry {
  key: string;
  object: string;
  ref: ObjectReference;
  type: EventType;
  reason: string;
  action: string;
  note: string;
  /** Set once the Event exists. */
  name: string | undefined;
  count: number;
  /** The count the apiserver has. */
  written: number;
  firstWallMs: number;
  lastWallMs: number;
  lastMono: number;
  /** Waiting for a token. */
  timer: unknown;
}

/** Records Events about objects without ever throwing or blocking; see the top of this file. */
export class EventRecorder {
  readonly #client: Pick<KubeClient, 'request'>;
  readonly #instance: string;
  readonly #log: Logger;
  readonly #clock: WallClock;
  readonly #random: () => number;
  readonly #maxQueued: number;
  readonly #rate: { burst: number; refillEveryMs: number };
  readonly #window: number;
  readonly #maxTracked: number;
  /** In least-recently-recorded order. */
  readonly #entries = new Map<string, Entry>();
  readonly #buckets = new Map<string, TokenBucket>();
  /** Keys of entries with a write to send, in order. */
  readonly #queue = new Set<string>();
  readonly #idle: (() => void)[] = [];
  readonly #stats: RecorderStats = { created: 0, updated: 0, rateLimited: 0, queueFull: 0, failed: 0, deferred: 0 };
  #working = false;
  #closed = false;

  constructor(opts: EventRecorderOptions) {
    this.#client = opts.client;
    this.#instance = truncateUtf8(opts.identity, FIELD_LIMIT_BYTES);
    this.#log = opts.log.child({ component: 'events' });
    this.#clock = opts.clock ?? systemWallClock;
    this.#random = opts.random ?? Math.random;
    this.#maxQueued = opts.maxQueued ?? 1000;
    this.#rate = opts.rateLimit ?? RATE_LIMIT;
    this.#window = opts.aggregationWindowMs ?? AGGREGATION_WINDOW_MS;
    this.#maxTracked = opts.maxTracked ?? 4096;
    if (!this.#instance) throw new RangeError('identity must not be empty');
  }

  /** Records one occurrence; returns at once and never throws. */
  record(object: EventSubject, type: EventType, reason: string, action: string, note: string): void {
    try {
      if (this.#closed) return;
      const ref = regardingOf(object);
      if (!ref || (type !== 'Normal' && type !== 'Warning') || !reason || !action) {
        this.#log.warn({ kind: object?.kind, name: object?.metadata?.name, type, reason, action }, 'event dropped: no object name/kind, bad type or no reason/action');
        return;
      }
      const r = truncateUtf8(reason, FIELD_LIMIT_BYTES);
      const a = truncateUtf8(action, FIELD_LIMIT_BYTES);
      const n = truncateUtf8(note ?? '', NOTE_LIMIT_BYTES);
      const key = aggregationKey(ref, type, r, a, n);
      const mono = this.#clock.now();
      const wall = this.#clock.wallNow();
      let e = this.#entries.get(key);
      if (e && mono - e.lastMono >= this.#window) {
        this.#forget(e);
        e = undefined;
      }
      if (e) {
        e.count++;
        e.lastWallMs = wall;
        e.lastMono = mono;
        this.#entries.delete(key); // keep the map in recency order
        this.#entries.set(key, e);
        if (e.timer === undefined) this.#enqueue(e);
        return;
      }
      e = { key, object: objectIdentity(ref), ref, type, reason: r, action: a, note: n, name: undefined, count: 1, written: 0, firstWallMs: wall, lastWallMs: wall, lastMono: mono, timer: undefined };
      this.#entries.set(key, e);
      this.#prune(mono);
      this.#enqueue(e);
    } catch (err) {
      try {
        this.#log.error({ err: describe(err) }, 'recording an event failed');
      } catch {
        // nothing left to do
      }
    }
  }

  /** Resolves when every queued write has been sent (or failed); bumps waiting for a token are not waited for. */
  flush(): Promise<void> {
    if (!this.#working && this.#queue.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops accepting records, drops the bumps waiting for a token, and flushes. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const e of this.#entries.values()) {
      if (e.timer !== undefined) {
        this.#clock.clearTimeout(e.timer);
        e.timer = undefined;
        this.#stats.deferred--;
      }
    }
    await this.flush();
  }

  stats(): RecorderStats {
    return { ...this.#stats };
  }

  #enqueue(e: Entry): void {
    if (this.#queue.has(e.key)) return;
    if (this.#queue.size >= this.#maxQueued) {
      this.#stats.queueFull++;
      if (e.name === undefined) this.#entries.delete(e.key);
      if (this.#stats.queueFull === 1 || this.#stats.queueFull % 100 === 0) {
        this.#log.warn({ dropped: this.#stats.queueFull, maxQueued: this.#maxQueued }, 'event queue full; dropping events');
      }
      return;
    }
    this.#queue.add(e.key);
    if (!this.#working) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#working = true;
    try {
      for (;;) {
        const key = this.#queue.values().next();
        if (key.done) break;
        this.#queue.delete(key.value);
        const e = this.#entries.get(key.value);
        if (!e) continue;
        try {
          await this.#write(e);
        } catch (err) {
          this.#stats.failed++;
          this.#log.error({ err: describe(err) }, 'event write failed unexpectedly');
        }
      }
    } finally {
      this.#working = false;
      for (const r of this.#idle.splice(0)) r();
    }
  }

  #bucket(object: string, now: number): TokenBucket {
    let b = this.#buckets.get(object);
    if (!b) {
      b = new TokenBucket(this.#rate.burst, this.#rate.refillEveryMs, now);
      this.#buckets.set(object, b);
    }
    return b;
  }

  async #write(e: Entry): Promise<void> {
    const now = this.#clock.now();
    if (e.name !== undefined && e.count <= e.written) return;
    const bucket = this.#bucket(e.object, now);
    if (!bucket.take(now)) {
      if (e.name === undefined) {
        this.#entries.delete(e.key);
        this.#stats.rateLimited++;
        this.#log.debug({ kind: e.ref.kind, name: e.ref.name, reason: e.reason }, 'event dropped by the per-object rate limit');
      } else {
        const wait = Math.max(1, Math.ceil(bucket.msUntilToken(now)));
        this.#stats.deferred++;
        e.timer = this.#clock.setTimeout(() => {
          e.timer = undefined;
          this.#stats.deferred--;
          if (this.#entries.get(e.key) === e) this.#enqueue(e);
        }, wait);
        (e.timer as { unref?: () => void }).unref?.();
      }
      return;
    }
    const count = e.count;
    const lastWallMs = e.lastWallMs;
    const ns = eventNamespace(e.ref);
    const log = { kind: e.ref.kind, name: e.ref.name, namespace: ns, reason: e.reason, count };
    if (e.name === undefined) {
      for (let attempt = 0; ; attempt++) {
        const name = eventName(e.ref.name, e.firstWallMs, this.#random);
        const body = buildEvent({ ...e, name, reportingInstance: this.#instance, count, lastWallMs });
        try {
          await this.#client.request('POST', resourcePath(EVENTS, { namespace: ns }), { body });
          e.name = name;
          e.written = count;
          this.#stats.created++;
          this.#log.debug(log, 'event created');
          break;
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 409 && attempt < 2) continue; // a name taken: draw another
          this.#stats.failed++;
          if (this.#entries.get(e.key) === e) this.#entries.delete(e.key);
          this.#log.warn({ ...log, err: describe(err) }, 'could not create an event; dropped');
          return;
        }
      }
    } else {
      try {
        await this.#client.request('PATCH', resourcePath(EVENTS, { namespace: ns, name: e.name }), {
          body: { series: seriesOf(count, lastWallMs) },
          contentType: 'application/merge-patch+json',
        });
        e.written = Math.max(e.written, count);
        this.#stats.updated++;
        this.#log.debug(log, 'event series updated');
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) {
          // expired (the apiserver's event TTL) or deleted: the next write creates it again, whole
          e.name = undefined;
          e.written = 0;
        } else {
          this.#stats.failed++;
          this.#log.warn({ ...log, err: describe(err) }, 'could not update an event series; the next occurrence retries');
          return;
        }
      }
    }
    if (e.name === undefined || e.count > e.written) this.#enqueue(e);
  }

  /** Keeps the tables bounded: expired entries and full buckets go first, then the least recent. */
  #prune(now: number): void {
    if (this.#entries.size > this.#maxTracked) {
      for (const e of this.#entries.values()) {
        if (now - e.lastMono >= this.#window && !this.#queue.has(e.key)) this.#forget(e);
      }
      for (const e of this.#entries.values()) {
        if (this.#entries.size <= this.#maxTracked) break;
        if (!this.#queue.has(e.key)) this.#forget(e);
      }
    }
    if (this.#buckets.size > this.#maxTracked) {
      for (const [k, b] of this.#buckets) if (b.isFull(now)) this.#buckets.delete(k);
      for (const k of this.#buckets.keys()) {
        if (this.#buckets.size <= this.#maxTracked) break;
        this.#buckets.delete(k);
      }
    }
  }

  #forget(e: Entry): void {
    if (e.timer !== undefined) {
      this.#clock.clearTimeout(e.timer);
      e.timer = undefined;
      this.#stats.deferred--;
    }
    this.#entries.delete(e.key);
    this.#queue.delete(e.key);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

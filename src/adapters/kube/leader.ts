// Leader election on a coordination.k8s.io/v1 Lease, for running several controller replicas of
// which exactly one acts.
//
// Protocol. Every candidate reads the Lease every retry period. A candidate takes the Lease when it is
// absent (create), released (empty holderIdentity) or expired; the holder renews it every retry
// period. Every write is a create or a PUT carrying the resourceVersion that was read, so of two
// candidates racing for the same Lease the apiserver accepts one and answers 409 to the other, which
// re-reads and finds the winner. Nobody ever writes a Lease it has not just read.
//
// Clocks and the skew assumption. The Lease carries wall-clock MicroTimes (acquireTime, renewTime)
// for people and tools, but no decision compares them with another machine's clock:
//  - a candidate considers a Lease expired once it has seen the *same* record (holder, renewTime,
//    transitions, duration) unchanged for leaseDurationSeconds on its own monotonic clock, counted
//    from when the read that returned it came back (so after the holder's write was committed);
//  - the leader stops leading once renewDeadline has passed on its own monotonic clock since it
//    *started* its last successful renewal (so before that write was committed).
// So the holder stops at most renewDeadline after its last write and a rival acquires no earlier than
// leaseDuration after it: wall clocks may disagree by any amount; what is assumed is that the
// machines' clocks run at about the same *rate* and that a blocked event loop or a stalled process
// does not delay the leader's deadline timer by more than leaseDuration - renewDeadline (5 s by
// default). `isLeader()` checks the deadline itself, so it is right even when a timer fires late.
// The price: a candidate that starts next to a Lease whose holder died long ago still waits one full
// leaseDuration (a released Lease is taken at once).
//
// The pure decision (`decide`, `observe`, MicroTime formatting) is separate from the I/O class
// `LeaderElector` below and is table-tested in leader.test.ts.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Sleeper, systemWallClock, type WallClock } from './clock.ts';
import { KubeApiError, resourcePath, type KubeClient } from './client.ts';
import { LEASES } from './resources.ts';

/** The Lease fields leader election uses (coordination.k8s.io/v1 LeaseSpec). */
export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: LeaseSpec;
}

// --- pure ------------------------------------------------------------------------------------

/** Formats epoch milliseconds as a Kubernetes MicroTime, `2006-01-02T15:04:05.000000Z` (UTC). */
export function formatMicroTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Parses an RFC 3339 time with up to nanosecond fractions (MicroTime or Time); undefined if invalid. */
export function parseMicroTime(s: string | null | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return ms + Math.floor(frac);
}

/**
 * What this candidate knows about the Lease's current record: the record (as a canonical string),
 * its holder, and the monotonic time at which this candidate first saw that exact record.
 */
export interface Observation {
  record: string;
  holder: string;
  sinceMs: number;
}

function recordKey(spec: LeaseSpec | undefined): string {
  const s = spec ?? {};
  return JSON.stringify([s.holderIdentity ?? '', s.renewTime ?? '', s.acquireTime ?? '', s.leaseTransitions ?? 0, s.leaseDurationSeconds ?? 0]);
}

/**
 * Folds a fresh read of the Lease into the observation. `monoNow` must be taken after the read
 * returned. The `sinceMs` only moves when the record changed, so an unchanged record ages.
 */
export function observe(prev: Observation | undefined, spec: LeaseSpec | undefined, monoNow: number): Observation {
  const record = recordKey(spec);
  if (prev && prev.record === record) return prev;
  return { record, holder: spec?.holderIdentity ?? '', sinceMs: monoNow };
}

export interface DecideInput {
  /** The Lease as read, or undefined if it does not exist. */
  lease: Lease | undefined;
  identity: string;
  /** Whether this process currently leads (it keeps acquireTime when renewing). */
  leading: boolean;
  /** Wall-clock now (epoch ms), only written into the Lease. */
  wallNowMs: number;
  /** How long (monotonic ms) this candidate has seen the Lease's current record unchanged. */
  observedForMs: number;
  /** This candidate's lease duration in whole seconds (written when it takes or renews the Lease). */
  leaseDurationSeconds: number;
}

/**
 * - `create`: the Lease does not exist; create it with `spec`.
 * - `update`: write `spec` with the resourceVersion that was read (`acquire`: taking it over from
 *   another holder or from nobody; otherwise renewing our own).
 * - `held`: someone else holds a Lease that has not expired; it expires for us in `expiresInMs`
 *   unless it changes.
 */
export type LeaseDecision =
  | { kind: 'create'; spec: LeaseSpec }
  | { kind: 'update'; acquire: boolean; spec: LeaseSpec }
  | { kind: 'held'; holder: string; expiresInMs: number };

/** The leader-election decision for one read of the Lease. Pure. */
export function decide(input: DecideInput): LeaseDecision {
  const { lease, identity, leading, wallNowMs, observedForMs, leaseDurationSeconds } = input;
  const now = formatMicroTime(wallNowMs);
  if (!lease) {
    return {
      kind: 'create',
      spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
    };
  }
  const spec = lease.spec ?? {};
  const holder = spec.holderIdentity ?? '';
  const transitions = Math.max(0, spec.leaseTransitions ?? 0);
  if (holder !== '' && holder !== identity) {
    const durMs = (spec.leaseDurationSeconds && spec.leaseDurationSeconds > 0 ? spec.leaseDurationSeconds : leaseDurationSeconds) * 1000;
    if (observedForMs < durMs) return { kind: 'held', holder, expiresInMs: durMs - observedForMs };
  }
  if (holder === identity) {
    // Ours already: a renewal. If we are not leading (we lost the renew deadline, or a process with
    // our identity wrote it), this is a new term: new acquireTime, same holder so same transitions.
    return {
      kind: 'update',
      acquire: !leading,
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: leading && spec.acquireTime ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: transitions,
      },
    };
  }
  // Released or expired: take it over.
  return {
    kind: 'update',
    acquire: true,
    spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: transitions + 1 },
  };
}

/** The spec a graceful leader writes to hand the Lease over at once: no holder, the shortest duration. */
export function releasedSpec(spec: LeaseSpec | undefined, wallNowMs: number): LeaseSpec {
  const now = formatMicroTime(wallNowMs);
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: Math.max(0, spec?.leaseTransitions ?? 0) };
}

/** Timing of the election, validated as client-go does; throws a RangeError on nonsense. */
export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** Candidates wait retryPeriod × [1, 1 + JITTER) between attempts, so they do not all ask at once. */
export const JITTER = 0.2;

export function validateTiming(t: ElectionTiming): void {
  for (const [k, v] of Object.entries(t)) if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${k} must be a positive number of ms, not ${v}`);
  if (t.leaseDurationMs <= t.renewDeadlineMs) throw new RangeError(`leaseDurationMs (${t.leaseDurationMs}) must be greater than renewDeadlineMs (${t.renewDeadlineMs})`);
  if (t.renewDeadlineMs <= t.retryPeriodMs * (1 + JITTER)) {
    throw new RangeError(`renewDeadlineMs (${t.renewDeadlineMs}) must be greater than retryPeriodMs × ${1 + JITTER} (${t.retryPeriodMs * (1 + JITTER)})`);
  }
}

// --- I/O -------------------------------------------------------------------------------------

/** A monotonic clock with timers (see workqueue's Clock) plus the wall clock written into the Lease. */

export interface LeaderElectorOptions {
  client: Pick<KubeClient, 'request'>;
  namespace: string;
  name: string;
  /** Unique per process (two processes with one identity would both lead). Default: hostname + '_' + random suffix. */
  identity?: string;
  /** How long a Lease stays valid after its last renewal, for others. Default 15 000; written as whole seconds, rounded up. */
  leaseDurationMs?: number;
  /** The leader stops leading when it has not renewed for this long. Default 10 000; must be < leaseDurationMs. */
  renewDeadlineMs?: number;
  /** Period of renewals and of acquisition attempts. Default 2 000. */
  retryPeriodMs?: number;
  log: Logger;
  clock?: WallClock;
  /** In [0, 1); for jitter and the default identity's suffix. */
  random?: () => number;
  /**
   * Called when this process starts leading. `signal` aborts the moment leadership is lost or
   * `stop()` is called: the caller must stop acting then. If it returns a promise, a graceful
   * `stop()` waits for it (no longer than the renew deadline allows) before releasing the Lease.
   * It may be called again after a loss, when the Lease is won again.
   */
  onStartedLeading?: (signal: AbortSignal) => void | Promise<void>;
  /** Called once after each leadership term ends (after `signal` aborted). */
  onStoppedLeading?: () => void;
  /** Called when the observed holder changes to a new non-empty identity (this one included). */
  onNewLeader?: (identity: string) => void;
  /**
   * Asked before each attempt to take the Lease while not leading (a create, or taking it from nobody
   * or from an expired holder); false: this attempt only reads. Renewals are never gated. Default: yes.
   * Sharded controllers use it to hold no more than their share of the shard Leases.
   */
  mayAcquire?: () => boolean;
}

/**
 * Campaigns for the Lease `namespace/name` until `stop()`. Guarantees (under the clock assumption
 * documented at the top of this file): no two electors on one Lease lead at once; a leader that cannot
 * renew stops leading (isLeader() false, signal aborted) within renewDeadline of the start of its last
 * successful renewal; after losing, it keeps campaigning. Errors are logged and retried, never thrown.
 */
export class LeaderElector {
  readonly identity: string;
  readonly namespace: string;
  readonly name: string;
  readonly #client: Pick<KubeClient, 'request'>;
  readonly #timing: ElectionTiming;
  readonly #leaseSeconds: number;
  readonly #log: Logger;
  readonly #clock: WallClock;
  readonly #random: () => number;
  readonly #opts: LeaderElectorOptions;

  #observed: Observation | undefined;
  #lease: Lease | undefined;
  #leading = false;
  /** Monotonic ms by which the current term ends unless renewed. */
  #deadlineAt = 0;
  #deadlineTimer: unknown;
  #term: AbortController | undefined;
  #work: Promise<void> | undefined;
  #stopping = false;
  #stopCtl = new AbortController();
  #loop: Promise<void> | undefined;
  readonly #sleeper: Sleeper;
  #tickSeq = 0;

  constructor(opts: LeaderElectorOptions) {
    this.#opts = opts;
    this.#client = opts.client;
    this.namespace = opts.namespace;
    this.name = opts.name;
    this.#log = opts.log.child({ lease: `${opts.namespace}/${opts.name}` });
    this.#clock = opts.clock ?? systemWallClock;
    this.#sleeper = new Sleeper(this.#clock);
    this.#random = opts.random ?? Math.random;
    this.#timing = {
      leaseDurationMs: opts.leaseDurationMs ?? 15_000,
      renewDeadlineMs: opts.renewDeadlineMs ?? 10_000,
      retryPeriodMs: opts.retryPeriodMs ?? 2_000,
    };
    validateTiming(this.#timing);
    this.#leaseSeconds = Math.ceil(this.#timing.leaseDurationMs / 1000);
    this.identity = opts.identity ?? `${hostname()}_${suffix(this.#random)}`;
    if (!this.identity) throw new RangeError('identity must not be empty');
  }

  /** True while this process leads and its renew deadline has not passed. */
  isLeader(): boolean {
    return this.#leading && this.#clock.now() < this.#deadlineAt;
  }

  /** The holder last seen in the Lease ('' if none or not read yet). */
  leader(): string {
    return this.#observed?.holder ?? '';
  }

  /** Campaigns (and leads) until `stop()`; resolves after the loop ended. Never rejects. */
  run(): Promise<void> {
    if (this.#loop) throw new Error('LeaderElector.run() was already called');
    this.#loop = this.#campaign();
    return this.#loop;
  }

  /**
   * Stops campaigning. A leader first stops leading (signal aborted, onStoppedLeading), waits for the
   * onStartedLeading promise (bounded by its renew deadline) and then, with `release` (default true),
   * clears holderIdentity so a successor can take over at once. `release: false` leaves the Lease
   * to expire, as a killed process would. Never rejects.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    const release = opts.release ?? true;
    if (this.#stopping) {
      await this.#loop;
      return;
    }
    this.#stopping = true;
    this.#stopCtl.abort();
    this.#sleeper.wake();
    await this.#loop;
    const wasLeading = this.#leading;
    const deadlineAt = this.#deadlineAt;
    if (wasLeading) this.#lose('stopping', true);
    if (this.#work) {
      const left = deadlineAt - this.#clock.now();
      if (left > 0) {
        let timer: unknown;
        await Promise.race([this.#work, new Promise<void>((r) => (timer = this.#clock.setTimeout(r, left)))]);
        this.#clock.clearTimeout(timer);
      }
    }
    if (release && (wasLeading || this.#observed?.holder === this.identity)) await this.#release();
  }

  async #campaign(): Promise<void> {
    this.#log.info({ identity: this.identity }, 'campaigning for leadership');
    while (!this.#stopping) {
      // A tick is bounded by its own budget (its requests are aborted then); should a request ever
      // fail to settle after its abort, the loop must not stall with it: it gives up on that tick
      // (whose late result is ignored, see #tickSeq) and carries on.
      const seq = ++this.#tickSeq;
      const bound = this.#timing.renewDeadlineMs + 1_000;
      let guard: unknown;
      let onStop: (() => void) | undefined;
      const settled = await Promise.race([
        this.#tick(seq).then(() => true),
        new Promise<boolean>((resolve) => (guard = this.#clock.setTimeout(() => resolve(false), bound))),
        new Promise<boolean>((resolve) => {
          onStop = () => resolve(true);
          this.#stopCtl.signal.addEventListener('abort', onStop, { once: true });
        }),
      ]);
      this.#clock.clearTimeout(guard);
      this.#stopCtl.signal.removeEventListener('abort', onStop!);
      if (this.#stopping) break;
      if (!settled) {
        this.#log.error({ boundMs: bound }, 'a Lease request did not settle after its abort; abandoning it');
        if (this.#leading && this.#clock.now() >= this.#deadlineAt) this.#lose('renew deadline passed');
      }
      if (this.#stopping) break;
      const period = this.#timing.retryPeriodMs;
      await this.#sleeper.sleep(this.#leading ? period : period * (1 + JITTER * this.#random()));
    }
  }

  /** One attempt to acquire or renew. Never throws. Its result counts only while `seq` is current. */
  async #tick(seq: number): Promise<void> {
    const start = this.#clock.now();
    // A leader must be done before its deadline; a candidate gives up after a renew deadline, so
    // that a term it wins does not begin already expired.
    const budget = this.#leading ? this.#deadlineAt - start : this.#timing.renewDeadlineMs;
    if (budget <= 0) {
      // Too late to renew: the term is over (whatever the deadline timer did), and only a new
      // acquisition can start another.
      if (this.#leading) this.#lose('renew deadline passed');
      return;
    }
    const timeout = new AbortController();
    const timer = this.#clock.setTimeout(() => timeout.abort(new Error(`no answer within ${Math.round(budget)} ms`)), budget);
    const signal = AbortSignal.any([this.#stopCtl.signal, timeout.signal]);
    try {
      // A leader renews from its cached copy (one PUT); a 409 or a candidate reads first.
      let lease = this.#leading ? this.#lease : undefined;
      let read = !this.#leading || !lease;
      for (let attempt = 0; attempt < 3; attempt++) {
        if (read) lease = await this.#read(signal);
        read = true;
        const d = decide({
          lease,
          identity: this.identity,
          leading: this.#leading,
          wallNowMs: this.#clock.wallNow(),
          observedForMs: this.#clock.now() - (this.#observed?.sinceMs ?? this.#clock.now()),
          leaseDurationSeconds: this.#leaseSeconds,
        });
        if (d.kind === 'held') {
          if (this.#leading) this.#lose(`the Lease is held by ${d.holder}`);
          return;
        }
        if (!this.#leading && this.#opts.mayAcquire && !this.#opts.mayAcquire()) return;
        try {
          const written = d.kind === 'create' ? await this.#create(d.spec, signal) : await this.#update(lease!, d.spec, signal);
          if (seq !== this.#tickSeq) return; // abandoned: a newer tick decides
          this.#noteRead(written);
          this.#won(start);
          return;
        } catch (err) {
          if (!(err instanceof KubeApiError && err.status === 409)) throw err;
          // Someone else wrote first (or created it first): read again and decide on what they wrote.
          this.#log.debug({ attempt }, 'lost a write race for the Lease; reading it again');
        }
      }
    } catch (err) {
      if (this.#stopping) return;
      const level = this.#leading ? 'warn' : 'debug';
      this.#log[level]({ err: describe(err), leading: this.#leading }, 'leader election: cannot read or write the Lease');
    } finally {
      this.#clock.clearTimeout(timer);
      if (this.#leading && this.#clock.now() >= this.#deadlineAt) this.#lose('renew deadline passed');
    }
  }

  async #read(signal: AbortSignal): Promise<Lease | undefined> {
    try {
      const lease = await this.#client.request<Lease>('GET', resourcePath(LEASES, { namespace: this.namespace, name: this.name }), { signal });
      this.#noteRead(lease);
      return lease;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) {
        this.#noteRead(undefined);
        return undefined;
      }
      throw err;
    }
  }

  #noteRead(lease: Lease | undefined): void {
    this.#lease = lease;
    const before = this.#observed?.holder;
    this.#observed = observe(this.#observed, lease?.spec, this.#clock.now());
    const holder = this.#observed.holder;
    if (holder !== before && holder !== '') {
      this.#log.info({ leader: holder }, 'new leader observed');
      try {
        this.#opts.onNewLeader?.(holder);
      } catch (err) {
        this.#log.error({ err: describe(err) }, 'onNewLeader threw');
      }
    }
  }

  #create(spec: LeaseSpec, signal: AbortSignal): Promise<Lease> {
    const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace }, spec };
    return this.#client.request<Lease>('POST', resourcePath(LEASES, { namespace: this.namespace }), { body, signal });
  }

  #update(lease: Lease, spec: LeaseSpec, signal: AbortSignal): Promise<Lease> {
    // PUT with the resourceVersion that was read: the apiserver answers 409 if anyone wrote since.
    const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { ...lease.metadata }, spec: { ...lease.spec, ...spec } };
    return this.#client.request<Lease>('PUT', resourcePath(LEASES, { namespace: this.namespace, name: this.name }), { body, signal });
  }

  /** A write that made us the holder succeeded; the term lasts renewDeadline from `start`. */
  #won(start: number): void {
    const deadlineAt = start + this.#timing.renewDeadlineMs;
    if (this.#clock.now() >= deadlineAt) return; // too late to count; the next tick renews
    this.#deadlineAt = deadlineAt;
    this.#clock.clearTimeout(this.#deadlineTimer);
    this.#armDeadline();
    if (this.#leading || this.#stopping) return;
    this.#leading = true;
    const term = new AbortController();
    this.#term = term;
    this.#log.info({ identity: this.identity }, 'started leading');
    try {
      const r = this.#opts.onStartedLeading?.(term.signal);
      this.#work = r instanceof Promise ? r.catch((err) => this.#log.error({ err: describe(err) }, 'onStartedLeading failed')) : undefined;
    } catch (err) {
      this.#log.error({ err: describe(err) }, 'onStartedLeading threw');
    }
  }

  /** Ends the term at #deadlineAt unless a renewal moves it. Timers may fire a little early (Node's
   *  timer clock is not performance.now()): then it waits for the rest. */
  #armDeadline(): void {
    this.#clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = this.#clock.setTimeout(() => {
      if (!this.#leading) return;
      if (this.#clock.now() >= this.#deadlineAt) this.#lose('renew deadline passed');
      else this.#armDeadline();
    }, Math.max(1, this.#deadlineAt - this.#clock.now()));
  }

  #lose(reason: string, graceful = false): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#deadlineAt = 0;
    this.#clock.clearTimeout(this.#deadlineTimer);
    this.#log[graceful ? 'info' : 'warn']({ identity: this.identity, reason }, 'stopped leading');
    this.#term?.abort(new Error(`leadership lost: ${reason}`));
    this.#term = undefined;
    try {
      this.#opts.onStoppedLeading?.();
    } catch (err) {
      this.#log.error({ err: describe(err) }, 'onStoppedLeading threw');
    }
  }

  /** Clears holderIdentity if the Lease is still ours; a 409 means someone else wrote: leave it. */
  async #release(): Promise<void> {
    const signal = AbortSignal.timeout(this.#timing.renewDeadlineMs);
    try {
      const lease = await this.#read(signal);
      if (!lease || (lease.spec?.holderIdentity ?? '') !== this.identity) return;
      const written = await this.#update(lease, releasedSpec(lease.spec, this.#clock.wallNow()), signal);
      this.#noteRead(written);
      this.#log.info({ identity: this.identity }, 'released the Lease');
    } catch (err) {
      this.#log.warn({ err: describe(err) }, 'could not release the Lease; it will expire');
    }
  }
}

function suffix(random: () => number): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += Math.floor(random() * 16).toString(16);
  return s;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

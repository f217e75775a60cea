// The reconcile engine: desired store + record store + work queue + one controller per kind.
// Sources feed it admission results; it reconciles what changed, wakes dependents when an object's
// readiness changes, re-checks converged objects periodically, and retries failures with backoff.
import type { Logger } from 'pino';
import { isReady, isStalled } from '../../api/conditions.ts';
import { parseKey, type Kind } from '../../api/kinds.ts';
import type { DriverRegistry } from '../../drivers/registry.ts';
import type { AdmissionResult } from '../../api/objects.ts';
import { DesiredStore } from '../../state/store.ts';
import { systemClock, WorkQueue, type Clock } from '../../state/workqueue.ts';
import { Shared } from '../../api/shared.ts';
import type { Slots } from '../../state/slots.ts';
import type { CredentialSource } from '../../api/credentials.ts';
import { ProviderSessions } from '../provider/sessions.ts';
import { reconcileKind, referencesFrom, type AnyKindDefinition } from './kind.ts';
import type { BindingOutcome } from './managed.ts';
import type { PlanItem } from './plan.ts';
import type { ObjectRecord, RecordStore } from '../../state/records.ts';
import { objectFromRecord, type Runtime, type RuntimeHooks } from './runtime.ts';


/** A dry run (plan) gives the event loop a turn after this many reconciles. */
const PLAN_YIELD_EVERY = 500;
export interface EngineOptions {
  /** The kinds to reconcile, in dependency order (controllers/index.ts: KIND_DEFINITIONS). */
  kinds: readonly AnyKindDefinition[];
  records: RecordStore;
  registry: DriverRegistry;
  credentials: CredentialSource;
  log: Logger;
  /** The netform installation name, part of every owner marker. Default `netform`. */
  instance?: string;
  /** Drift re-check period of converged objects. Default 5 minutes. */
  resyncMs?: number;
  /** Re-check period of objects waiting for a dependency. Default 30 s. */
  waitMs?: number;
  concurrency?: number;
  /** Reconciles started per second, all keys together (a guard against a hot requeue loop; backends
   *  are protected by `concurrency` and their clients' own limits). Default 2,000/s, burst 4,000: at
   *  200/s a first pass over 60,000 objects took five minutes waiting for tokens alone. */
  rateLimit?: { perSecond: number; burst: number };
  clock?: Clock;
  now?: () => Date;
  random?: () => number;
  /** Plan mode: observe and decide only; nothing is written anywhere. */
  dryRun?: boolean;
  hooks?: RuntimeHooks;
  observer?: EngineObserver;
  /** Approvals kept outside the objects (file mode's state directory): digest by key. */
  approvals?: (key: string) => string | undefined;
  /** Which keys this engine reconciles (a sharded controller runs one engine per shard it holds, ADR
   *  25); the others are part of its desired state (references, admission) but never reconciled by
   *  it. Default: every key. */
  owns?: (key: string) => boolean;
  /** Reconcile slots shared with other engines of the process (a sharded controller's): a reconcile
   *  runs only while holding one, on top of this engine's own `concurrency`. */
  slots?: Slots;
}

/** What happened in one reconcile, for metrics. */
export interface ReconcileReport {
  kind: Kind;
  ms: number;
  result: 'success' | 'requeue' | 'retry' | 'error';
  /** The object had converged for its current spec, and this reconcile wrote to a backend again:
   *  something changed the backend behind netform's back. */
  driftCorrected: boolean;
  /** Seconds from when this spec was first seen to Ready, when the object just became Ready. */
  becameReadyAfterS?: number;
}

/** Told about reconciles and backend actions (metrics, events). Must not throw. */
export interface EngineObserver {
  reconciled?(key: string, r: ReconcileReport): void;
  binding?(key: string, outcome: BindingOutcome, provider: string): void;
}

const WRITES = new Set(['create', 'update', 'replace', 'delete']);

/** Where one object stands, for `apply`'s verdict and progress line. */
export interface ObjectState {
  key: string;
  state: 'ready' | 'pending' | 'failed' | 'invalid' | 'deleting';
  message?: string;
}

export class Engine {
  readonly store: DesiredStore;
  readonly rt: Runtime;
  readonly #queue: WorkQueue;
  readonly #kinds: Map<Kind, AnyKindDefinition>;
  /** Each kind's place in the dependency order. */
  readonly #rank: Map<Kind, number>;
  readonly #retrying = new Set<string>();
  readonly #summaries = new Map<string, string>();
  readonly #log: Logger;
  readonly #observer: EngineObserver | undefined;
  /** Backend actions of the reconcile in progress, by key. */
  readonly #actions = new Map<string, string[]>();
  /** When each object's current spec was first seen and it was not Ready yet. */
  readonly #pendingSince = new Map<string, { hash: string | undefined; since: number }>();
  #stopped = false;
  /** Whether a desired state was ever loaded (sync). Until then nothing is decided: a record without a
   *  declaration means nothing yet, and treating it as removed would delete what is still declared. */
  #loaded = false;
  /** Keys asked for before the first load; queued by it. */
  readonly #beforeLoad = new Set<string>();
  /** Keys whose record changed since the index of objects being removed was brought up to date; none
   *  when the record store does not report its changes (then #related looks at every record). */
  #recordChanges: Set<string> | undefined;
  readonly #stopWatching: (() => void) | undefined;
  #removedIndex: RemovedIndex | undefined;
  readonly #owns: (key: string) => boolean;
  readonly #slots: Slots | undefined;

  constructor(opts: EngineOptions) {
    this.#log = opts.log;
    this.#owns = opts.owns ?? (() => true);
    this.#slots = opts.slots;
    this.#kinds = new Map(opts.kinds.map((d) => [d.kind, d]));
    this.#rank = new Map(opts.kinds.map((d, i) => [d.kind, i]));
    this.store = new DesiredStore(referencesFrom(opts.kinds));
    const sessions = new ProviderSessions({ registry: opts.registry, credentials: opts.credentials, log: opts.log });
    this.rt = {
      instance: opts.instance ?? 'netform',
      store: this.store,
      records: opts.records,
      sessions,
      log: opts.log,
      now: opts.now ?? (() => new Date()),
      random: opts.random ?? Math.random,
      resyncMs: opts.resyncMs ?? 5 * 60_000,
      waitMs: opts.waitMs ?? 30_000,
      dryRun: opts.dryRun ?? false,
      plan: [],
      reports: new Map(),
      enqueue: (key) => {
        if (!this.rt.dryRun) this.#queue.add(key);
      },
      hooks: opts.hooks,
      ...(opts.approvals ? { approvals: opts.approvals } : {}),
      observer: {
        binding: (key, outcome, provider) => {
          this.#actions.get(key)?.push(outcome.plan.action);
          try {
            this.#observer?.binding?.(key, outcome, provider);
          } catch (err) {
            this.#log.warn({ err: errorSummary(err) }, 'engine observer failed');
          }
        },
      },
    };
    this.#observer = opts.observer;
    if (opts.records.watch) {
      const changes = new Set<string>();
      this.#recordChanges = changes;
      this.#stopWatching = opts.records.watch((k) => changes.add(k));
    }
    this.#queue = new WorkQueue({
      handler: (key, signal) => this.#handle(key, signal),
      concurrency: opts.concurrency ?? 4,
      rateLimit: opts.rateLimit ?? { perSecond: 2000, burst: 4000 },
      clock: opts.clock ?? systemClock,
      onError: (key, err, retryInMs) => {
        this.#log.warn({ object: key, err: errorSummary(err), retryInMs }, 'reconcile failed; retrying');
      },
    });
  }

  /**
   * Takes a new admission result. Keys whose declaration changed are reconciled; so is every
   * object that has a record but is no longer declared (its removal), unless its file is held.
   * Returns the keys queued.
   */
  sync(result: Pick<AdmissionResult, 'objects' | 'invalid' | 'heldFiles'>): string[] {
    const changed = this.store.replace(result);
    if (!this.#loaded) {
      this.#loaded = true;
      for (const k of this.#beforeLoad) changed.add(k);
      this.#beforeLoad.clear();
    }
    for (const r of this.rt.records.list()) {
      if (!this.store.get(r.key) && !this.store.invalid(r.key)) changed.add(r.key);
    }
    const keys = this.#sortKeys([...changed].filter(this.#owns));
    // A plan runs every controller itself, once, in order (plan()); nothing is queued.
    if (!this.rt.dryRun) for (const k of keys) this.#queue.add(k);
    return keys;
  }

  /** Queues every known object (start-up, or a forced re-check) as re-checks: edits and reports go
   *  before them, and they age into that line (WorkQueue agingMs). Before the first load this only
   *  notes the wish: the load queues every recorded and declared object. */
  resyncAll(): void {
    if (!this.#loaded) {
      for (const r of this.rt.records.list()) this.#beforeLoad.add(r.key);
      return;
    }
    const all = new Set([...this.store.keys(), ...this.store.invalidKeys(), ...this.rt.records.list().map((r) => r.key)]);
    for (const k of this.#sortKeys([...all].filter(this.#owns))) this.#queue.add(k, 'recheck');
  }

  /** An object another engine reconciles changed its record (a sharded controller's other shard, seen
   *  through the informers): when its readiness, generation or backend objects changed, the objects
   *  related to it that this engine owns are reconciled, as after one of its own reconciles. */
  recordChanged(key: string): void {
    if (this.#stopped || this.#owns(key)) return;
    this.#wakeIfChanged(key, []);
  }

  /**
   * Resolves true once nothing is queued or running and no key is waiting for a retry after a
   * failure; false if `timeoutMs` passes first. Periodic re-checks do not count as pending.
   */
  async settle(timeoutMs: number, onTick?: () => void): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      onTick?.();
      if (this.#queue.isIdle() && this.#retrying.size === 0) return true;
      if (Date.now() >= deadline || this.#stopped) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs every controller once in dry-run, in dependency order, and returns what would change. */
  async plan(): Promise<PlanItem[]> {
    if (!this.rt.dryRun) throw new Error('plan() needs an engine created with dryRun');
    this.rt.plan.length = 0;
    const keys = new Set([...this.store.keys(), ...this.rt.records.list().map((r) => r.key)]);
    const ac = new AbortController();
    let n = 0;
    for (const key of this.#sortKeys([...keys])) {
      if (this.store.invalid(key)) continue;
      await reconcileKind(this.rt, this.#kinds.get(parseKey(key).kind)!, key, ac.signal);
      // A dry run's reconciles settle without a turn of the event loop: give timers one now and then
      // (signals, and the heap governor of a large plan: src/cli/heap.ts).
      if (++n % PLAN_YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
    }
    return [...this.rt.plan];
  }

  /** Where every declared or recorded object stands. */
  states(): ObjectState[] {
    const out: ObjectState[] = [];
    for (const key of this.#sortKeys(this.#allKeys())) {
      const s = this.#stateOf(key, true);
      if (s) out.push(s);
    }
    return out;
  }

  /** How many objects there are, and where those that are not Ready stand (in states() order): only
   *  those are made (a pass's end with 60,000 objects made a list of all of them to keep 100). */
  readiness(): { total: number; notReady: ObjectState[] } {
    const keys = this.#allKeys();
    const notReady: ObjectState[] = [];
    for (const key of keys) {
      const s = this.#stateOf(key, false);
      if (s) notReady.push(s);
    }
    const order = new Map(this.#sortKeys(notReady.map((s) => s.key)).map((k, i) => [k, i] as const));
    return { total: keys.length, notReady: notReady.sort((a, b) => order.get(a.key)! - order.get(b.key)!) };
  }

  #allKeys(): string[] {
    return [...new Set([...this.store.keys(), ...this.store.invalidKeys(), ...this.rt.records.list().map((r) => r.key)])];
  }

  /** An object's state; undefined for a Ready one unless `ready` asks for it too. */
  #stateOf(key: string, ready: boolean): ObjectState | undefined {
    const rec = this.rt.records.get(key);
    const invalid = this.store.invalid(key);
    if (invalid) return { key, state: 'invalid', message: invalid.map((e) => e.message).join('; ') };
    const adm = this.store.get(key);
    if (!adm) return rec ? { key, state: 'deleting', message: messageOf(rec, 'Synced') ?? messageOf(rec, 'Ready') } : undefined;
    const gen = rec?.generation;
    // A record of an older declaration says nothing about this one yet.
    const current = rec?.specHash === this.store.hashOf(key);
    if (!current) return { key, state: 'pending' };
    if (rec && isReady(rec.status, gen)) return ready ? { key, state: 'ready' } : undefined;
    if (rec && isStalled(rec.status)) return { key, state: 'failed', message: messageOf(rec, 'Synced') ?? messageOf(rec, 'Ready') };
    return { key, state: 'pending', message: rec ? messageOf(rec, 'Ready') : undefined };
  }

  /** Takes what an agent observed for an object (a host agent's report, for its Host) and reconciles
   *  the object, whose kind writes its status from it. */
  report(key: string, report: unknown): void {
    this.rt.reports.set(key, report);
    this.#queue.add(key);
  }

  queueStats() {
    return { ...this.#queue.stats(), ...this.#queue.priorityStats() };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#queue.shutdown();
    await this.rt.sessions.closeAll();
    this.#stopWatching?.();
    // Unwatched from now on: anything still asked looks at every record.
    this.#recordChanges = undefined;
    this.#removedIndex = undefined;
  }

  async #handle(key: string, signal: AbortSignal) {
    // Nothing is decided from a desired state that was not loaded yet (sync queues the key again).
    if (!this.#loaded && !this.rt.dryRun) {
      this.#beforeLoad.add(key);
      return undefined;
    }
    // Another shard's key (woken as a relative, or its shard changed): not this engine's to reconcile.
    if (!this.#owns(key)) return undefined;
    if (!this.#slots) return this.#reconcile(key, signal);
    const release = await this.#slots.acquire(signal);
    try {
      return await this.#reconcile(key, signal);
    } finally {
      release();
    }
  }

  async #reconcile(key: string, signal: AbortSignal) {
    const { kind } = parseKey(key);
    const def = this.#kinds.get(kind)!;
    const started = Date.now();
    // What the object referred to before: a removed object's record is gone afterwards.
    const recBefore = this.rt.records.get(key);
    const before = this.#related(key, recBefore);
    // A record this engine has not seen yet (a new process finding it in the state directory): its
    // first pass here wakes its relatives whatever it finds — its removal included, and a status that
    // only looks unchanged (relatives may have read it before this pass, or a killed process left it
    // half-written). Their passes are cheap; a missed wake leaves them to the wait re-check.
    if (recBefore && !this.#summaries.has(key)) this.#summaries.set(key, UNSEEN);
    const hash = this.store.hashOf(key);
    const wasReady = !!recBefore && recBefore.specHash === hash && isReady(recBefore.status, recBefore.generation);
    if (!wasReady && hash !== undefined && this.#pendingSince.get(key)?.hash !== hash) this.#pendingSince.set(key, { hash, since: Date.now() });
    const actions: string[] = [];
    this.#actions.set(key, actions);
    let result;
    try {
      // A desired object is claimed (cluster mode: the finalizer) before anything is created for it.
      if (!this.rt.dryRun && this.store.get(key) && !this.store.invalid(key)) await this.rt.records.claim?.(key);
      result = await reconcileKind(this.rt, def, key, signal);
    } catch (err) {
      this.#retrying.add(key);
      this.#wakeIfChanged(key, before);
      this.#report(key, kind, started, 'error', wasReady, actions);
      throw err;
    } finally {
      this.#actions.delete(key);
    }
    this.#wakeIfChanged(key, before);
    this.#report(key, kind, started, result.retry !== undefined ? 'retry' : result.requeueAfterMs !== undefined ? 'requeue' : 'success', wasReady, actions);
    this.#log.debug({ object: key, ms: Date.now() - started, requeueAfterMs: result.requeueAfterMs }, 'reconciled');
    if (result.retry !== undefined) this.#retrying.add(key);
    else this.#retrying.delete(key);
    return result;
  }

  /** Keys in dependency order (kind order), then by name. */
  #sortKeys(keys: string[]): string[] {
    // Each key's rank once (parsing a key in the comparison made 2 million short-lived objects for
    // 60,000 keys: a peak of garbage at the end of every pass).
    const ranked = keys.map((k) => ({ k, r: this.#rank.get(parseKey(k).kind) ?? this.#rank.size }));
    ranked.sort((a, b) => a.r - b.r || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    for (let i = 0; i < ranked.length; i++) keys[i] = ranked[i]!.k;
    return keys;
  }

  #report(key: string, kind: Kind, started: number, result: ReconcileReport['result'], wasReady: boolean, actions: string[]): void {
    if (!this.#observer?.reconciled) return;
    const r: ReconcileReport = { kind, ms: Date.now() - started, result, driftCorrected: wasReady && actions.some((a) => WRITES.has(a)) };
    const rec = this.rt.records.get(key);
    const pending = this.#pendingSince.get(key);
    if (!this.store.get(key)) this.#pendingSince.delete(key);
    else if (pending && rec && rec.specHash === pending.hash && isReady(rec.status, rec.generation)) {
      r.becameReadyAfterS = (Date.now() - pending.since) / 1000;
      this.#pendingSince.delete(key);
    }
    try {
      this.#observer.reconciled(key, r);
    } catch (err) {
      this.#log.warn({ err: errorSummary(err) }, 'engine observer failed');
    }
  }

  /** When an object's readiness, generation or existence changed, reconcile the objects related to it
   *  (before and after the change). */
  #wakeIfChanged(key: string, relatedBefore: readonly string[]): void {
    const rec = this.rt.records.get(key);
    const summary = rec ? summaryOf(rec) : 'gone';
    // An object that never had a record and still has none did not change (a failing write of its
    // first record must not wake its relatives every time, which would cancel their backoff).
    if ((this.#summaries.get(key) ?? 'gone') === summary) return;
    if (summary === 'gone') this.#summaries.delete(key);
    else this.#summaries.set(key, summary);
    for (const k of new Set([...relatedBefore, ...this.#related(key, rec)])) this.#queue.add(k);
  }

  #related(key: string, rec: ObjectRecord | undefined): string[] {
    const out = new Set<string>(this.store.referrers(key));
    const adm = this.store.get(key);
    if (adm) for (const r of this.store.referencesOf(adm.object)) out.add(r);
    else if (rec?.spec !== undefined) for (const r of this.store.referencesOf(objectFromRecord(rec))) out.add(r);
    // Objects being removed still refer to what they used.
    for (const k of this.#removedReferring(key)) out.add(k);
    out.delete(key);
    return [...out];
  }

  /** The objects being removed (a record with a spec, no declaration) that refer to `key`, in key
   *  order. From an index of them by what they refer to, when the record store reports its changes:
   *  rebuilt when the desired state is replaced, and brought up to date for the records changed since
   *  (a removed object's record is only ever changed or removed). Else every record is looked at. */
  #removedReferring(key: string): string[] {
    if (!this.#recordChanges) {
      const out: string[] = [];
      for (const r of this.rt.records.list()) {
        if (r.spec === undefined || this.store.get(r.key)) continue;
        if (this.store.referencesOf(objectFromRecord(r)).includes(key)) out.push(r.key);
      }
      return out;
    }
    // A new object from the store each time it is replaced (memo() is dropped then).
    const token = this.store.memo('engine.removed-index', () => ({}));
    let idx = this.#removedIndex;
    if (!idx || idx.token !== token) {
      idx = { token, byRef: new Map(), refsOf: new Map() };
      this.#removedIndex = idx;
      this.#recordChanges.clear();
      for (const r of this.rt.records.list()) this.#indexRemoved(idx, r.key, r);
    } else if (this.#recordChanges.size > 0) {
      for (const k of this.#recordChanges) this.#indexRemoved(idx, k, this.rt.records.get(k));
      this.#recordChanges.clear();
    }
    const holders = idx.byRef.get(key);
    return holders ? [...holders].sort(compareKeys) : [];
  }

  #indexRemoved(idx: RemovedIndex, key: string, rec: ObjectRecord | undefined): void {
    for (const ref of idx.refsOf.get(key) ?? []) {
      const holders = idx.byRef.get(ref)!;
      holders.delete(key);
      if (holders.size === 0) idx.byRef.delete(ref);
    }
    idx.refsOf.delete(key);
    if (!rec || rec.spec === undefined || this.store.get(key)) return;
    const refs = this.store.referencesOf(objectFromRecord(rec));
    idx.refsOf.set(key, refs);
    for (const ref of refs) {
      let holders = idx.byRef.get(ref);
      if (!holders) idx.byRef.set(ref, (holders = new Set()));
      holders.add(key);
    }
  }
}

/** Objects being removed by the keys they refer to (and back), for one desired state. */
interface RemovedIndex {
  token: object;
  byRef: Map<string, Set<string>>;
  refsOf: Map<string, readonly string[]>;
}

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The summary of a record this engine has not reconciled yet: equal to no summary. */
const UNSEEN = '\u0000unseen';

/** What an object's dependents can care about: readiness, generation, and which backend objects
 *  exist (not timestamps, which change on every re-check). */
function summaryOf(rec: ObjectRecord): string {
  const bindings = ((rec.status.providers as { name: string; externalId?: string }[] | undefined) ?? []).map((b) => [b.name, b.externalId]);
  const s = JSON.stringify([rec.generation, rec.status.conditions?.find((c) => c.type === 'Ready')?.status, bindings]);
  // Most objects hold one of a few summaries ('[1,"True",[]]'): one string for all of them.
  return bindings.length === 0 ? summaries.get(s, () => s) : s;
}
const summaries = new Shared<string>(256);

function messageOf(rec: ObjectRecord, type: string): string | undefined {
  return rec.status.conditions?.find((c) => c.type === type)?.message;
}


function errorSummary(err: unknown): string {
  if (err instanceof Error) return err.message;
  // A failure returned as a value: { errorClass, message } (a binding's error) or a string.
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  return String(err);
}

// The reconcile engine: desired store + record store + work queue + one controller per kind.
// Sources feed it admission results; it reconciles what changed, wakes dependents when an object's
// readiness changes, re-checks converged objects periodically, and retries failures with backoff.
import type { Logger } from 'pino';
import { isReady, isStalled } from '../../api/conditions.ts';
import { KINDS, objectKey, parseKey, type Kind } from '../../api/kinds.ts';
import type { HostReport } from '../../drivers/host/agent.ts';
import type { DriverRegistry } from '../../drivers/registry.ts';
import type { AdmissionResult } from '../../state/admit.ts';
import { DesiredStore, referencesOf } from '../../state/store.ts';
import { systemClock, WorkQueue, type Clock } from '../../state/workqueue.ts';
import { ClusterController } from '../cluster/cluster.controller.ts';
import { HostController } from '../host/host.controller.ts';
import { NetworkController } from '../network/network.controller.ts';
import type { CredentialSource } from '../provider/credentials.ts';
import { ProviderController } from '../provider/provider.controller.ts';
import { ProviderSessions } from '../provider/sessions.ts';
import { VlanPoolController } from '../vlanpool/vlanpool.controller.ts';
import { PoolAllocations } from '../vlanpool/allocations.ts';
import { VnicController } from '../vnic/vnic.controller.ts';
import type { PlanItem } from './plan.ts';
import type { ObjectRecord, RecordStore } from '../../state/records.ts';
import { objectFromRecord, type Controller, type Runtime, type RuntimeHooks } from './runtime.ts';

export interface EngineOptions {
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
  rateLimit?: { perSecond: number; burst: number };
  clock?: Clock;
  now?: () => Date;
  random?: () => number;
  /** Plan mode: observe and decide only; nothing is written anywhere. */
  dryRun?: boolean;
  hooks?: RuntimeHooks;
}

/** Where one object stands, for `apply`'s verdict and progress line. */
export interface ObjectState {
  key: string;
  state: 'ready' | 'pending' | 'failed' | 'invalid' | 'deleting';
  message?: string;
}

export class Engine {
  readonly store = new DesiredStore();
  readonly rt: Runtime;
  readonly #queue: WorkQueue;
  readonly #controllers: Map<Kind, Controller>;
  readonly #retrying = new Set<string>();
  readonly #summaries = new Map<string, string>();
  readonly #log: Logger;
  #stopped = false;

  constructor(opts: EngineOptions) {
    this.#log = opts.log;
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
      hostReports: new Map(),
      enqueue: (key) => {
        if (!this.rt.dryRun) this.#queue.add(key);
      },
      hooks: opts.hooks,
    };
    const pools = new PoolAllocations(this.rt);
    const controllers: Controller[] = [
      new ProviderController(this.rt),
      new VlanPoolController(this.rt, pools),
      new NetworkController(this.rt, pools),
      new ClusterController(this.rt),
      new HostController(this.rt),
      new VnicController(this.rt),
    ];
    this.#controllers = new Map(controllers.map((c) => [c.kind, c]));
    this.#queue = new WorkQueue({
      handler: (key, signal) => this.#handle(key, signal),
      concurrency: opts.concurrency ?? 4,
      rateLimit: opts.rateLimit ?? { perSecond: 200, burst: 400 },
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
    for (const r of this.rt.records.list()) {
      if (!this.store.get(r.key) && !this.store.invalid(r.key)) changed.add(r.key);
    }
    const keys = sortKeys([...changed]);
    // A plan runs every controller itself, once, in order (plan()); nothing is queued.
    if (!this.rt.dryRun) for (const k of keys) this.#queue.add(k);
    return keys;
  }

  /** Queues every known object (start-up, or a forced re-check). */
  resyncAll(): void {
    const all = new Set([...this.store.keys(), ...this.store.invalidKeys(), ...this.rt.records.list().map((r) => r.key)]);
    for (const k of sortKeys([...all])) this.#queue.add(k);
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
    for (const key of sortKeys([...keys])) {
      if (this.store.invalid(key)) continue;
      await this.#controllers.get(parseKey(key).kind)!.reconcile(key, ac.signal);
    }
    return [...this.rt.plan];
  }

  /** Where every declared or recorded object stands. */
  states(): ObjectState[] {
    const out: ObjectState[] = [];
    const keys = new Set([...this.store.keys(), ...this.store.invalidKeys(), ...this.rt.records.list().map((r) => r.key)]);
    for (const key of sortKeys([...keys])) {
      const rec = this.rt.records.get(key);
      const invalid = this.store.invalid(key);
      if (invalid) {
        out.push({ key, state: 'invalid', message: invalid.map((e) => e.message).join('; ') });
        continue;
      }
      const adm = this.store.get(key);
      if (!adm) {
        if (rec) out.push({ key, state: 'deleting', message: messageOf(rec, 'Synced') ?? messageOf(rec, 'Ready') });
        continue;
      }
      const gen = rec?.generation;
      // A record of an older declaration says nothing about this one yet.
      const current = rec?.specHash === this.store.hashOf(key);
      if (!current) out.push({ key, state: 'pending' });
      else if (rec && isReady(rec.status, gen)) out.push({ key, state: 'ready' });
      else if (rec && isStalled(rec.status)) out.push({ key, state: 'failed', message: messageOf(rec, 'Synced') ?? messageOf(rec, 'Ready') });
      else out.push({ key, state: 'pending', message: rec ? messageOf(rec, 'Ready') : undefined });
    }
    return out;
  }

  /** Takes a host agent's report; the Host's status is written from it. */
  reportHost(name: string, report: HostReport): void {
    this.rt.hostReports.set(name, report);
    this.#queue.add(objectKey('Host', name));
  }

  queueStats() {
    return this.#queue.stats();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#queue.shutdown();
    await this.rt.sessions.closeAll();
  }

  async #handle(key: string, signal: AbortSignal) {
    const { kind } = parseKey(key);
    const controller = this.#controllers.get(kind)!;
    const started = Date.now();
    // What the object referred to before: a removed object's record is gone afterwards.
    const before = this.#related(key, this.rt.records.get(key));
    let result;
    try {
      result = await controller.reconcile(key, signal);
    } catch (err) {
      this.#retrying.add(key);
      this.#wakeIfChanged(key, before);
      throw err;
    }
    this.#wakeIfChanged(key, before);
    this.#log.debug({ object: key, ms: Date.now() - started, requeueAfterMs: result.requeueAfterMs }, 'reconciled');
    if (result.retry !== undefined) {
      this.#retrying.add(key);
      throw result.retry;
    }
    this.#retrying.delete(key);
    return result.requeueAfterMs === undefined ? undefined : { requeueAfterMs: result.requeueAfterMs };
  }

  /** When an object's readiness, generation or existence changed, reconcile the objects related to it
   *  (before and after the change). */
  #wakeIfChanged(key: string, relatedBefore: readonly string[]): void {
    const rec = this.rt.records.get(key);
    // What dependents can care about: readiness, generation, and which backend objects exist (not
    // timestamps, which change on every re-check).
    const bindings = ((rec?.status.providers as { name: string; externalId?: string }[] | undefined) ?? []).map((b) => [b.name, b.externalId]);
    const summary = rec ? JSON.stringify([rec.generation, rec.status.conditions?.find((c) => c.type === 'Ready')?.status, bindings]) : 'gone';
    if (this.#summaries.get(key) === summary) return;
    if (summary === 'gone') this.#summaries.delete(key);
    else this.#summaries.set(key, summary);
    for (const k of new Set([...relatedBefore, ...this.#related(key, rec)])) this.#queue.add(k);
  }

  #related(key: string, rec: ObjectRecord | undefined): string[] {
    const out = new Set<string>(this.store.referrers(key));
    const adm = this.store.get(key);
    if (adm) for (const r of referencesOf(adm.object)) out.add(r);
    else if (rec?.spec !== undefined) for (const r of referencesOf(objectFromRecord(rec))) out.add(r);
    // Objects being removed still refer to what they used.
    for (const r of this.rt.records.list()) {
      if (r.spec === undefined || this.store.get(r.key)) continue;
      if (referencesOf(objectFromRecord(r)).includes(key)) out.add(r.key);
    }
    out.delete(key);
    return [...out];
  }
}

function messageOf(rec: ObjectRecord, type: string): string | undefined {
  return rec.status.conditions?.find((c) => c.type === type)?.message;
}

/** Keys in dependency order (kind order), then by name. */
export function sortKeys(keys: string[]): string[] {
  const rank = (k: string) => KINDS.indexOf(parseKey(k).kind);
  return keys.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function errorSummary(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

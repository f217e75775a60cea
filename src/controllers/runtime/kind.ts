// A kind is one declaration (KindDefinition); the runtime owns the skeleton every kind shares:
// an invalid declaration only reports; a removed object waits for its users, is unbound from every
// provider, then loses its record; a declared object waits for its dependencies, is bound on each
// provider it wants (and unbound from those it no longer wants), gets its status summarized, and is
// written once per pass and requeued. This file knows no kind by name but Provider, on which every
// binding is made.
import { dirname } from 'node:path';
import type { Outcome, Reason } from '../../api/conditions.ts';
import type { AnyResource, Kind, Provider } from '../../api/kinds.ts';
import type { ImportRef, ProviderDriver, ResourceDriver } from '../../drivers/driver.ts';
import type { ObjectRecord } from '../../state/records.ts';
import { bindOn, deleteEverywhere, mergeBindings } from './binding.ts';
import { summarizeBindings } from './binding-summary.ts';
import type { BindingOutcome, BindingStatus } from './managed.ts';
import { heldPlan, planDigest } from '../plan/document.ts';
import { analyzeImpact, endpointPlaces, vnicPlaces } from '../plan/impact.ts';
import { CHANGING } from './plan.ts';
import {
  approvedPlan,
  blockDeletion,
  isFrozen,
  jittered,
  lookup,
  objectFromRecord,
  recordFor,
  removeRecord,
  reportInvalid,
  setOutcome,
  writeRecord,
  type ReconcileResult,
  type Runtime,
} from './runtime.ts';

export type ObjectOf<K extends Kind> = Extract<AnyResource, { kind: K }>;

/** One pass over one declared object. */
export interface KindContext<K extends Kind> {
  rt: Runtime;
  key: string;
  object: ObjectOf<K>;
  /** The object's record, brought to its current spec; written once at the end of the pass. */
  rec: ObjectRecord;
  /** The directory of the file that declared it (relative credential paths resolve against it). */
  baseDir: string;
  signal: AbortSignal;
}

/** What an object's dependencies resolve to before anything is bound. */
export interface Prepared<P> {
  /** Dependencies not met yet, one message each: the object waits (and is woken when they change). */
  waiting?: string[];
  /** A dependency that cannot be met until the user acts (e.g. a VLAN pool is exhausted). */
  stalled?: string;
  /** The reason of a stall, when more telling than WaitingForDependencies / BackendRejected. */
  stalledReason?: Reason;
  /** What the bindings and the summary are computed from (e.g. the resolved VLAN). */
  value?: P;
}

/** The object's status once the pass is done, for kinds whose status is not (only) their bindings. */
export interface Summary {
  /** The conditions to set; undefined: nothing to write this pass. */
  outcome?: Outcome;
  /** A transient failure: retried with the key's backoff. */
  retry?: unknown;
  /** When to look again: `resync` (the jittered drift period, the default), `wait`, `never`, or after
   *  this many ms (when something is due sooner than the drift period). */
  requeue?: 'resync' | 'wait' | 'never' | number;
}

/** One provider an object wants to be realized on. */
export interface BindingTarget {
  provider: string;
  /** Remove the backend object although the object is declared (e.g. an unplugged vNIC). */
  deleting?: boolean;
  importRef?: ImportRef;
}

/** How a kind's objects become backend objects on providers (a Network: a network per provider). */
export interface KindBindings<K extends Kind, P, D> {
  /** The backend object's kind, in plans and Events (`network`, `port`). */
  resource: string;
  /** What the object is called in condition messages (`network`, `vNIC`). */
  noun: string;
  /** The driver's resource for this kind, if the provider type has one. */
  pick(driver: ProviderDriver): ResourceDriver<D, unknown> | undefined;
  /** The providers the declared object wants (bound in this order). */
  targets(ctx: KindContext<K>, prepared: P | undefined): BindingTarget[];
  /** The backend model on one provider. `prepared` is undefined when the object is being removed. */
  model(object: ObjectOf<K>, rec: ObjectRecord, prepared: P | undefined, provider: string): D;
  policy(object: ObjectOf<K>): {
    managementPolicy: 'Managed' | 'ObserveOnly';
    deletionPolicy: 'Delete' | 'Orphan';
    allowReplace: boolean;
  };
  /** Copies what the backends reported (facts) into the record's status. */
  report?(ctx: KindContext<K>, outcomes: readonly BindingOutcome[]): void;
}

/** Everything the runtime needs to know about one kind. */
export interface KindDefinition<K extends Kind = Kind, P = unknown> {
  kind: K;
  /** The keys of the objects this one refers to (it waits for them, and is woken when they change). */
  references?(object: ObjectOf<K>): string[];
  /** Objects to wake once this one's status is written (an owner that reports its parts' state). */
  notifies?(object: ObjectOf<K>, rt: Runtime): string[];
  /** Objects that keep a removed object in place, and what it says it waits for. */
  usedBy?(rt: Runtime, key: string, rec: ObjectRecord): { users: Iterable<string>; waitingFor: string } | undefined;
  /** Dependencies, resolved before anything is bound. */
  prepare?(ctx: KindContext<K>): Prepared<P> | Promise<Prepared<P>>;
  bindings?: KindBindings<K, P, unknown>;
  /** The status of a kind without bindings. */
  summarize?(ctx: KindContext<K>, prepared: P | undefined): Summary | Promise<Summary>;
  /** Called once the object's backend objects are gone, before its record is dropped. */
  removed?(rt: Runtime, rec: ObjectRecord): Promise<void>;
  /** The kind's key figure in `netform status` (like its CRD's printer column): e.g. `VLAN 100`. */
  keyFigure?(rec: ObjectRecord): string;
  /** Manual: the object's backend changes are held until approved for their plan's digest. */
  approval?(ctx: KindContext<K>): 'Auto' | 'Manual';
}

/** Declares a kind (an identity function that lets TypeScript check the declaration as one piece). */
export function defineKind<K extends Kind, P = undefined, D = unknown>(
  def: Omit<KindDefinition<K, P>, 'bindings'> & {
    bindings?: KindBindings<K, P, D>;
  },
): KindDefinition<K, P> {
  return def as KindDefinition<K, P>;
}

/** A declaration of any kind, as the registration list and the engine hold them (each declaration is
 *  type-checked where it is written). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKindDefinition = KindDefinition<any, any>;

/** The references function of a set of kinds: the keys an object refers to, sorted, no repeats. */
export function referencesFrom(defs: readonly AnyKindDefinition[]): (o: AnyResource) => string[] {
  const byKind = new Map(defs.map((d) => [d.kind, d]));
  return (o) => [...new Set(byKind.get(o.kind)?.references?.(o as never) ?? [])].sort();
}

/** The provider bindings kept in a record's status. */
export function bindingsOf(rec: ObjectRecord | undefined): BindingStatus[] {
  return (rec?.status.providers as BindingStatus[] | undefined) ?? [];
}

function notify<K extends Kind, P>(rt: Runtime, def: KindDefinition<K, P>, object: ObjectOf<K>): void {
  if (rt.dryRun) return;
  for (const k of def.notifies?.(object, rt) ?? []) rt.enqueue(k);
}

/** Runs one pass of the kind's skeleton for one key. */
export async function reconcileKind<K extends Kind, P>(rt: Runtime, def: KindDefinition<K, P>, key: string, signal: AbortSignal): Promise<ReconcileResult> {
  if (isFrozen(rt, key)) return reportInvalid(rt, key);
  const adm = rt.store.get(key);
  if (!adm) return remove(rt, def, key, signal);
  const rec = recordFor(rt, adm);
  const ctx: KindContext<K> = {
    rt,
    key,
    object: adm.object as ObjectOf<K>,
    rec,
    baseDir: dirname(adm.source.file),
    signal,
  };

  // A synchronous hook's result is used without awaiting it: a pass must not yield where it need not,
  // since another writer of the same record (the VLAN allocator writes a pool's allocations under
  // its lock) could change it in between, and this pass's single write would undo that change.
  const pending = def.prepare?.(ctx);
  const prepared = (pending instanceof Promise ? await pending : pending) ?? {};
  const waiting = prepared.waiting ?? [];
  if (prepared.stalled || waiting.length) {
    const stalled = prepared.stalled;
    setOutcome(rt, rec, {
      ready: {
        status: 'False',
        reason: (stalled && prepared.stalledReason) || 'WaitingForDependencies',
        message: stalled ?? waiting.join('; '),
      },
      synced: stalled ? { status: 'False', reason: prepared.stalledReason ?? 'BackendRejected', message: stalled } : { status: 'True', reason: 'ReconcileSuccess' },
      stalled: !!stalled,
      progressing: !stalled,
    });
    if (rt.dryRun) {
      const resource = def.bindings?.noun.toLowerCase() ?? def.kind.toLowerCase();
      for (const w of waiting)
        rt.plan.push({
          object: key,
          target: 'netform',
          resource,
          action: 'wait',
          message: w,
        });
    }
    await writeRecord(rt, rec);
    notify(rt, def, ctx.object);
    return { requeueAfterMs: rt.waitMs };
  }

  let summary: Summary;
  if (def.bindings && !rt.dryRun && def.approval?.(ctx) === 'Manual') {
    const held = await holdForApproval(ctx, def.bindings, prepared.value);
    if (held) return held;
  } else if (rec.status.pendingPlan) {
    delete rec.status.pendingPlan;
  }
  if (def.bindings) {
    const outcomes = await bindAll(ctx, def.bindings, prepared.value);
    rec.status.providers = mergeBindings(outcomes);
    def.bindings.report?.(ctx, outcomes);
    summary = summarizeBindings(outcomes, def.bindings.noun);
  } else {
    const s = def.summarize?.(ctx, prepared.value);
    summary = (s instanceof Promise ? await s : s) ?? {};
  }
  if (!summary.outcome) return requeue(rt, summary);
  setOutcome(rt, rec, summary.outcome);
  await writeRecord(rt, rec);
  notify(rt, def, ctx.object);
  if (summary.retry !== undefined) return { retry: summary.retry };
  return requeue(rt, summary);
}

function requeue(rt: Runtime, s: Summary): ReconcileResult {
  if (typeof s.requeue === 'number') return { requeueAfterMs: s.requeue };
  switch (s.requeue ?? 'resync') {
    case 'resync':
      return { requeueAfterMs: jittered(rt, rt.resyncMs) };
    case 'wait':
      return { requeueAfterMs: rt.waitMs };
    case 'never':
      return {};
  }
}

/**
 * The approval gate: plans the object's bindings (a dry run: backends are read, never written) and,
 * when that changes something and the object is not approved for exactly this plan's digest, records
 * the plan in status.pendingPlan, says AwaitingApproval and applies nothing. Returns undefined when
 * the bindings may go ahead (nothing to change, or approved).
 */
async function holdForApproval<K extends Kind, P, D>(ctx: KindContext<K>, b: KindBindings<K, P, D>, prepared: P | undefined): Promise<ReconcileResult | undefined> {
  const { rt, rec, key } = ctx;
  const planRt: Runtime = { ...rt, dryRun: true, plan: [] };
  await bindAll({ ...ctx, rt: planRt }, b, prepared);
  const changes = planRt.plan.filter((i) => CHANGING.has(i.action));
  if (!changes.length) {
    delete rec.status.pendingPlan;
    return undefined;
  }
  const digest = planDigest(changes);
  if (approvedPlan(rt, key) === digest) {
    rt.log.info({ object: key, digest }, 'plan approved: applying');
    delete rec.status.pendingPlan;
    return undefined;
  }
  analyzeImpact(changes, vnicPlaces(rt.store, rt.records.list()), endpointPlaces(rt.store, rt.records.list()));
  const previous = rec.status.pendingPlan as { digest?: string; computedAt?: string } | undefined;
  rec.status.pendingPlan = heldPlan(changes, previous?.digest === digest && previous.computedAt ? previous.computedAt : rt.now().toISOString());
  const wasReady = rec.status.conditions?.find((c) => c.type === 'Ready');
  setOutcome(rt, rec, {
    // What the backends hold is unchanged: usable as it was, if it was.
    ready:
      wasReady?.status === 'True'
        ? { status: 'True', reason: 'Available', message: 'as last applied; changes await approval' }
        : { status: 'False', reason: 'AwaitingApproval', message: `changes await approval of plan ${digest}` },
    synced: { status: 'False', reason: 'AwaitingApproval', message: `${changes.length} change${changes.length === 1 ? '' : 's'} held: approve plan ${digest} (netform approve ${key} --plan ${digest})` },
  });
  await writeRecord(rt, rec);
  // Look again: the plan may change (a backend drifts) or be approved.
  return { requeueAfterMs: rt.waitMs };
}

/** The approval gate of a removal: the deletions (or orphanings) planned in a dry run are held in
 *  status.pendingPlan like any change, until approved for their digest. */
async function holdRemovalForApproval<K extends Kind, P, D>(
  ctx: { rt: Runtime; rec: ObjectRecord; object: ObjectOf<K>; signal: AbortSignal },
  key: string,
  b: KindBindings<K, P, D>,
): Promise<ReconcileResult | undefined> {
  const { rt, rec, object } = ctx;
  const planRt: Runtime = { ...rt, dryRun: true, plan: [] };
  const probe = { ...ctx, rt: planRt, rec: structuredClone(rec) };
  await deleteEverywhere(planRt, probe.rec, b.noun, (found, s) => bindOne(probe, b, found, b.model(object, probe.rec, undefined, s.name), { deleting: true, current: s }));
  const changes = planRt.plan.filter((i) => CHANGING.has(i.action));
  if (!changes.length) return undefined;
  const digest = planDigest(changes);
  if (approvedPlan(rt, key) === digest) {
    rt.log.info({ object: key, digest }, 'removal approved: carrying it out');
    return undefined;
  }
  analyzeImpact(changes, vnicPlaces(rt.store, rt.records.list()), endpointPlaces(rt.store, rt.records.list()));
  const previous = rec.status.pendingPlan as { digest?: string; computedAt?: string } | undefined;
  rec.status.pendingPlan = heldPlan(changes, previous?.digest === digest && previous.computedAt ? previous.computedAt : rt.now().toISOString());
  setOutcome(rt, rec, {
    ready: { status: 'False', reason: 'Deleting', message: `the removal awaits approval of plan ${digest}` },
    synced: { status: 'False', reason: 'AwaitingApproval', message: `${changes.length} change${changes.length === 1 ? '' : 's'} held: approve plan ${digest} (netform approve ${key} --plan ${digest})` },
  });
  await writeRecord(rt, rec);
  return { requeueAfterMs: rt.waitMs };
}

/** Binds the object on every provider it wants, and unbinds it from those its status still names. */
async function bindAll<K extends Kind, P, D>(ctx: KindContext<K>, b: KindBindings<K, P, D>, prepared: P | undefined): Promise<BindingOutcome[]> {
  const { rt, rec, object } = ctx;
  const current = new Map(bindingsOf(rec).map((s) => [s.name, s]));
  const wanted = new Set<string>();
  const outcomes: BindingOutcome[] = [];
  for (const t of b.targets(ctx, prepared)) {
    const found = lookup(rt, 'Provider', t.provider);
    if (!found) continue;
    wanted.add(t.provider);
    const desired = b.model(object, rec, prepared, t.provider);
    outcomes.push(
      await bindOne(ctx, b, found, desired, {
        deleting: !!t.deleting,
        current: current.get(t.provider),
        importRef: t.importRef,
      }),
    );
  }
  // Providers the object no longer wants: remove it there too (or let it go, per policy).
  for (const [name, s] of current) {
    if (wanted.has(name)) continue;
    const found = lookup(rt, 'Provider', name);
    if (!found) {
      rt.log.warn({ object: ctx.key, provider: name }, `provider gone; forgetting the ${b.noun} on it`);
      continue;
    }
    outcomes.push(
      await bindOne(ctx, b, found, b.model(object, rec, prepared, name), {
        deleting: true,
        current: s,
      }),
    );
  }
  return outcomes;
}

function bindOne<K extends Kind, P, D>(
  ctx: Pick<KindContext<K>, 'rt' | 'rec' | 'object' | 'signal'>,
  b: KindBindings<K, P, D>,
  found: { object: Provider; baseDir?: string },
  desired: D,
  a: { deleting: boolean; current?: BindingStatus; importRef?: ImportRef },
): Promise<BindingOutcome> {
  return bindOn(ctx.rt, {
    rec: ctx.rec,
    provider: found.object,
    baseDir: found.baseDir,
    resource: b.resource,
    pick: b.pick,
    desired,
    deleting: a.deleting,
    current: a.current,
    importRef: a.importRef,
    // A spec not converged before (its record on disk is of another spec): an edit, read fresh.
    fresh: ctx.rt.records.get(ctx.rec.key)?.specHash !== ctx.rec.specHash,
    policy: b.policy(ctx.object),
    signal: ctx.signal,
  });
}

/** A declaration is gone: wait for its users, unbind it everywhere, then drop its record. */
async function remove<K extends Kind, P>(rt: Runtime, def: KindDefinition<K, P>, key: string, signal: AbortSignal): Promise<ReconcileResult> {
  const old = rt.records.get(key);
  if (!old) return {};
  const rec = structuredClone(old);
  const use = def.usedBy?.(rt, key, rec);
  const users = use ? [...use.users] : [];
  if (use && users.length) return blockDeletion(rt, rec, users, use.waitingFor);
  // A record holding only a status (a declaration that was never valid) has nothing on any backend.
  if (rec.spec === undefined) {
    await removeRecord(rt, key);
    return {};
  }
  const b = def.bindings;
  if (b) {
    const object = objectFromRecord<K>(rec);
    const ctx = { rt, rec, object, signal };
    if (!rt.dryRun && def.approval?.({ ...ctx, key, baseDir: undefined } as unknown as KindContext<K>) === 'Manual') {
      const held = await holdRemovalForApproval(ctx, key, b);
      if (held) return held;
    }
    const pending = await deleteEverywhere(rt, rec, b.noun, (found, s) =>
      bindOne(ctx, b, found, b.model(object, rec, undefined, s.name), {
        deleting: true,
        current: s,
      }),
    );
    if (pending) return pending;
  }
  await def.removed?.(rt, rec);
  await removeRecord(rt, key);
  return {};
}

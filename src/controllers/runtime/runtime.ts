// What every controller is given, and the helpers they share for records and conditions.
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { applyOutcome, type Outcome } from '../../api/conditions.ts';
import { APPROVED_PLAN, objectKey, parseKey, type AnyResource, type Kind } from '../../api/kinds.ts';
import type { AdmittedObject } from '../../api/objects.ts';
import { contentHash, type DesiredStore } from '../../state/store.ts';
import type { ReconcileResult } from '../../state/workqueue.ts';
import type { ProviderSessions } from '../provider/sessions.ts';
import type { BindingOutcome } from './managed.ts';
import type { PlanItem } from './plan.ts';
import { sameContent } from '../../api/json.ts';
import type { ObjectRecord, RecordStore } from '../../state/records.ts';

/** Test-only hooks; production code never sets them. */
export interface RuntimeHooks {
  /** Awaited after a backend object was created and before its id is persisted. */
  afterCreate?: (object: string) => Promise<void>;
}

export interface Runtime {
  /** The netform installation, part of every owner marker. */
  instance: string;
  store: DesiredStore;
  records: RecordStore;
  sessions: ProviderSessions;
  log: Logger;
  now(): Date;
  random(): number;
  /** Period of the drift re-check of a converged object; jittered ±20%. */
  resyncMs: number;
  /** How soon an object waiting for a dependency looks again (dependencies also wake it). */
  waitMs: number;
  /** Plan only: observe and decide, never write to a backend or the record store. */
  dryRun: boolean;
  /** Where plan items are collected in dry-run. */
  plan: PlanItem[];
  /** Ask for a key to be reconciled (used to wake objects that depend on one that changed). */
  enqueue(key: string): void;
  /** The latest report an agent made for an object, by key (a host agent's report, under its Host's key). */
  reports: Map<string, unknown>;
  hooks?: RuntimeHooks;
  observer?: RuntimeObserver;
  /**
   * The plan digest an object is approved for, outside its manifest (file mode: `netform approve`
   * writes it to the state directory); undefined: see the object's annotation only.
   */
  approvals?: (key: string) => string | undefined;
}

/** The digest an object's held plan is approved for: from `rt.approvals`, else its annotation (or,
 *  for an object being deleted in cluster mode, the annotation its record kept). */
export function approvedPlan(rt: Pick<Runtime, 'approvals' | 'store'> & { records?: Pick<RecordStore, 'get'> }, key: string): string | undefined {
  return rt.approvals?.(key) ?? rt.store.get(key)?.object.metadata.annotations?.[APPROVED_PLAN] ?? rt.records?.get(key)?.approvedPlan;
}

/** Told of every backend action taken for an object, and every failure (events, metrics). */
export interface RuntimeObserver {
  binding(key: string, outcome: BindingOutcome, provider: string): void;
}

/** What one reconcile returns: when to look again, or a transient failure (`retry`, a value, never
 *  thrown) that the work queue retries with the key's backoff. */
export type { ReconcileResult } from '../../state/workqueue.ts';

export function jittered(rt: Runtime, ms: number): number {
  return Math.round(ms * (0.8 + 0.4 * rt.random()));
}

/** The record for an admitted object, created or brought to its current spec (not yet persisted). */
export function recordFor(rt: Runtime, admitted: AdmittedObject): ObjectRecord {
  const o = admitted.object;
  const hash = contentHash(o);
  const old = rt.records.get(admitted.key);
  if (old && old.specHash === hash) {
    return { ...structuredClone(old), source: admitted.source };
  }
  const rec: ObjectRecord = {
    key: admitted.key,
    kind: o.kind,
    name: o.metadata.name,
    uid: old?.uid ?? randomUUID(),
    generation: (old?.generation ?? 0) + 1,
    specHash: hash,
    createdAt: old?.createdAt ?? rt.now().toISOString(),
    // A frozen spec (admission's, shared between loads) is shared, not copied: records of 60,000
    // objects held a second copy of every spec.
    spec: Object.isFrozen(o.spec) ? o.spec : structuredClone(o.spec),
    source: admitted.source,
    status: old ? structuredClone(old.status) : {},
  };
  if (o.metadata.namespace) rec.namespace = o.metadata.namespace;
  if (o.metadata.labels) rec.labels = { ...o.metadata.labels };
  return rec;
}

/** The object a record was last admitted as: what a removed object is deleted with. */
export function objectFromRecord<K extends Kind>(rec: ObjectRecord): Extract<AnyResource, { kind: K }> {
  const metadata: AnyResource['metadata'] = { name: rec.name, generation: rec.generation, uid: rec.uid };
  if (rec.namespace) metadata.namespace = rec.namespace;
  return { apiVersion: 'netform.io/v1alpha1', kind: rec.kind, metadata, spec: rec.spec } as Extract<AnyResource, { kind: K }>;
}

/** The desired object of a kind and name, or the one its record last held (for objects being removed). */
export function lookup<K extends Kind>(
  rt: Runtime,
  kind: K,
  name: string,
  namespace?: string,
): { object: Extract<AnyResource, { kind: K }>; record?: ObjectRecord; desired: boolean; baseDir?: string } | undefined {
  const key = objectKey(kind, name, namespace);
  const adm = rt.store.get(key);
  const record = rt.records.get(key);
  if (adm) return { object: adm.object as Extract<AnyResource, { kind: K }>, record, desired: true, baseDir: dirname(adm.source.file) };
  if (record?.spec !== undefined) {
    return { object: objectFromRecord<K>(record), record, desired: false, baseDir: record.source ? dirname(record.source.file) : undefined };
  }
  return undefined;
}

export function setOutcome(rt: Runtime, rec: ObjectRecord, outcome: Outcome): void {
  rec.status.conditions = applyOutcome(rec.status.conditions, outcome, rec.generation, rt.now());
  rec.status.observedGeneration = rec.generation;
}

/** Persists a record unless it is unchanged (or this is a dry run). */
export async function writeRecord(rt: Runtime, rec: ObjectRecord): Promise<void> {
  if (rt.dryRun) return;
  const old = rt.records.get(rec.key);
  if (old && sameContent(old, rec)) return;
  await rt.records.put(rec);
}

/** A removed object that others still use: say so on its record, and look again later (the users
 *  going away also wakes it). */
export async function blockDeletion(rt: Runtime, rec: ObjectRecord, users: Iterable<string>, waitingFor: string): Promise<ReconcileResult> {
  const next = structuredClone(rec);
  if (rt.dryRun) {
    // A plan shows the deletion and what holds it back; it cannot be carried out as it stands.
    const by = [...users].sort();
    rt.plan.push({ object: rec.key, target: 'netform', resource: rec.kind.toLowerCase(), action: 'blocked', message: `deletion waits: still used by ${by.join(', ')}` });
  }
  setOutcome(rt, next, {
    ready: { status: 'False', reason: 'Deleting', message: waitingFor },
    synced: { status: 'False', reason: 'DeletionBlocked', message: `still used by ${[...users].sort().join(', ')}` },
    progressing: true,
  });
  await writeRecord(rt, next);
  return { requeueAfterMs: rt.waitMs };
}

export async function removeRecord(rt: Runtime, key: string): Promise<void> {
  if (rt.dryRun) return;
  if (rt.records.get(key)) await rt.records.delete(key);
}

/** Whether the object's declaration is currently invalid or its file is held: then nothing may
 *  change for it (not even a deletion), only its status. */
export function isFrozen(rt: Runtime, key: string): boolean {
  if (rt.store.invalid(key)) return true;
  const rec = rt.records.get(key);
  return !rt.store.get(key) && !!rec?.source && rt.store.isHeld(rec.source.file);
}

/** Reports an invalid declaration on the object's record; the last good spec stays in force. */
export async function reportInvalid(rt: Runtime, key: string): Promise<ReconcileResult> {
  const errors = rt.store.invalid(key);
  if (!errors) return {};
  const rec = rt.records.get(key);
  const { kind, name, namespace } = parseKey(key);
  // A new object that was never valid gets a record holding only its status, so `netform status` shows it.
  const next: ObjectRecord = rec
    ? structuredClone(rec)
    : { key, kind, name, uid: randomUUID(), generation: 1, createdAt: rt.now().toISOString(), status: {} };
  if (!rec && namespace) next.namespace = namespace;
  const message = errors.map((e) => `${e.line > 0 ? `${e.file}:${e.line}: ` : ''}${e.field ? `${e.field}: ` : ''}${e.message}`).join('; ');
  const ready = next.status.conditions?.find((c) => c.type === 'Ready');
  setOutcome(rt, next, {
    ready: { status: ready?.status ?? 'Unknown', reason: (ready?.reason as Outcome['ready']['reason']) ?? 'WaitingForDependencies', message: ready?.message },
    synced: { status: 'False', reason: 'InvalidSpec', message },
    stalled: true,
  });
  await writeRecord(rt, next);
  return {};
}

/** Drops the allocations `holds` matches from a pool's record (`status.allocations`) and requeues the
 *  pool; nothing is written when none matches. Callers hold the pool's lock. */
export async function dropAllocations<A>(rt: Runtime, poolKey: string, holds: (a: A) => boolean): Promise<void> {
  const rec = rt.records.get(poolKey);
  if (!rec) return;
  const existing = (rec.status.allocations as A[] | undefined) ?? [];
  if (!existing.some(holds)) return;
  const next = structuredClone(rec);
  next.status.allocations = existing.filter((a) => !holds(a));
  await writeRecord(rt, next);
  rt.enqueue(poolKey);
}

// What the engine persists per object: status, backend ids, and (in file mode) the last admitted
// spec, so a removed object can still be deleted from its backends.
import type { Condition, Kind } from '../api/kinds.ts';
import type { SourceRef } from '../api/objects.ts';
import type { VlanAllocation } from './semantic.ts';

export interface ObjectStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  [k: string]: unknown;
}

export interface ObjectRecord {
  key: string;
  kind: Kind;
  name: string;
  namespace?: string;
  /** Stable identity assigned when the object was first seen. */
  uid: string;
  /** Bumped each time the spec or labels change (file mode's metadata.generation). */
  generation: number;
  /** Content hash of the spec and labels the generation describes. */
  specHash?: string;
  createdAt: string;
  /** The last admitted spec. */
  spec?: unknown;
  labels?: Record<string, string>;
  /** Where the object was declared (file mode). */
  source?: SourceRef;
  /** Cluster mode: the plan digest the object's annotation netform.io/approved-plan approves (kept
   *  here so that it still counts while the object is being deleted). */
  approvedPlan?: string;
  status: ObjectStatus;
}

/**
 * Where records live: the state directory in file mode, object status in cluster mode.
 * `get`/`list` answer from memory; `put` resolves once the record is durable.
 */
export interface RecordStore {
  get(key: string): ObjectRecord | undefined;
  list(): ObjectRecord[];
  put(record: ObjectRecord): Promise<void>;
  delete(key: string): Promise<void>;
  /** Marks a desired object as netform's before anything is created for it, so its deletion waits
   *  for netform to clean up (cluster mode: the finalizer). Optional. */
  claim?(key: string): Promise<void>;
  /** Calls `changed(key)` synchronously whenever the record of a key is set or removed in memory (what
   *  `get`/`list` answer), for every change, so a caller can keep an index of the records up to date
   *  without listing them all; returns the way to stop. Optional: a store whose records can change
   *  otherwise (cluster mode: the informers) leaves it out. */
  watch?(changed: (key: string) => void): () => void;
  /** Every record, in no particular order and without a copy (list() sorts and copies 60,000 of them):
   *  for scans that collect a set. Optional: allRecords() falls back to list(). */
  values?(): Iterable<ObjectRecord>;
}

/** Every record of the store, in no particular order: for a scan that collects a set or a count. */
export function allRecords(records: RecordStore): Iterable<ObjectRecord> {
  return records.values?.() ?? records.list();
}

/** A RecordStore in memory: for `plan` (which never writes the state directory) and tests. */
export class MemoryRecords implements RecordStore {
  readonly #m = new Map<string, ObjectRecord>();
  readonly #watchers = new Set<(key: string) => void>();
  constructor(initial: Iterable<ObjectRecord> = []) {
    for (const r of initial) this.#m.set(r.key, structuredClone(r));
  }
  get(key: string): ObjectRecord | undefined {
    return this.#m.get(key);
  }
  list(): ObjectRecord[] {
    return [...this.#m.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  values(): Iterable<ObjectRecord> {
    return this.#m.values();
  }
  async put(record: ObjectRecord): Promise<void> {
    this.#m.set(record.key, structuredClone(record));
    for (const w of this.#watchers) w(record.key);
  }
  async delete(key: string): Promise<void> {
    this.#m.delete(key);
    for (const w of this.#watchers) w(key);
  }
  watch(changed: (key: string) => void): () => void {
    const w = (key: string) => changed(key);
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }
}

/** What admission needs to know from the records: current pool allocations, and where known objects came from. Pure. */
export function admissionContext(records: readonly ObjectRecord[]): { allocations: VlanAllocation[]; knownSources: Map<string, string> } {
  const allocations: VlanAllocation[] = [];
  const knownSources = new Map<string, string>();
  for (const r of records) {
    if (r.source) knownSources.set(r.key, r.source.file);
    if (r.kind === 'VlanPool') {
      for (const a of (r.status.allocations as Omit<VlanAllocation, 'pool'>[] | undefined) ?? []) allocations.push({ pool: r.name, ...a });
    }
  }
  return { allocations, knownSources };
}

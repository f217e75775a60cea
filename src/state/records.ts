// What the engine persists per object: status, backend ids, and (in file mode) the last admitted
// spec, so a removed object can still be deleted from its backends.
import type { Condition, Kind } from '../api/kinds.ts';
import type { SourceRef } from './admit.ts';
import type { VlanAllocation } from './semantic.ts';
import type { StateDir, StateRecord } from './state-dir.ts';

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
}

/** A RecordStore in memory: for `plan` (which never writes the state directory) and tests. */
export class MemoryRecords implements RecordStore {
  readonly #m = new Map<string, ObjectRecord>();
  constructor(initial: Iterable<ObjectRecord> = []) {
    for (const r of initial) this.#m.set(r.key, structuredClone(r));
  }
  get(key: string): ObjectRecord | undefined {
    return this.#m.get(key);
  }
  list(): ObjectRecord[] {
    return [...this.#m.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  async put(record: ObjectRecord): Promise<void> {
    this.#m.set(record.key, structuredClone(record));
  }
  async delete(key: string): Promise<void> {
    this.#m.delete(key);
  }
}

/** The state directory as a RecordStore (file mode). */
export class StateDirRecords implements RecordStore {
  readonly dir: StateDir;
  constructor(dir: StateDir) {
    this.dir = dir;
  }
  get(key: string): ObjectRecord | undefined {
    return this.dir.get(key) as ObjectRecord | undefined;
  }
  list(): ObjectRecord[] {
    return this.dir.list() as unknown as ObjectRecord[];
  }
  put(record: ObjectRecord): Promise<void> {
    return this.dir.put(record as unknown as StateRecord);
  }
  delete(key: string): Promise<void> {
    return this.dir.delete(key);
  }
}

/** Whether two records or statuses hold the same content: key order and undefined fields do not count. Pure. */
export function sameContent(a: unknown, b: unknown): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = normalize(x);
    }
    return out;
  }
  return v;
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

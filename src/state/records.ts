// What the engine persists per object: status, backend ids, and (in file mode) the last admitted
// spec, so a removed object can still be deleted from its backends.
import type { Condition, Kind } from '../api/kinds.ts';
import type { SourceRef } from './admit.ts';
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

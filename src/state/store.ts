// The desired-state store: admitted objects with a reverse reference index, plus the keys that
// are currently invalid and the files that are held. Pure in-memory data; no I/O.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../api/json.ts';
import { APPROVED_PLAN, objectKey, type AnyResource, type Kind } from '../api/kinds.ts';
import type { AdmissionError, AdmissionResult, AdmittedObject } from '../api/objects.ts';

/** Digests of frozen objects (admission's, shared between loads: AdmissionCache), by identity. */
const frozenHashes = new WeakMap<AnyResource, string>();

/** A digest of what a reconcile reads from an object (spec, labels, an approval): equal digests need no new work. */
export function contentHash(o: AnyResource): string {
  const known = frozenHashes.get(o);
  if (known !== undefined) return known;
  const hash = digest(o);
  if (Object.isFrozen(o)) frozenHashes.set(o, hash);
  return hash;
}

function digest(o: AnyResource): string {
  return createHash('sha256')
    // An approval (the annotation netform.io/approved-plan) is a change to act on too.
    .update(canonicalJson({ spec: o.spec, labels: o.metadata.labels ?? {}, ...(o.metadata.annotations?.[APPROVED_PLAN] ? { approved: o.metadata.annotations[APPROVED_PLAN] } : {}) }))
    .digest('hex')
    .slice(0, 32);
}

interface Entry {
  admitted: AdmittedObject;
  hash: string;
  refs: readonly string[];
}

/**
 * Holds the latest admitted desired state. `replace` swaps in a new admission result and returns
 * the keys whose desired state changed (added, removed, edited, or became valid/invalid), so only
 * those are reconciled.
 */
export class DesiredStore {
  /** The keys an object refers to (its dependencies): each kind declares its own. */
  readonly #references: (o: AnyResource) => readonly string[];
  #entries = new Map<string, Entry>();
  /** The admitted objects of each kind, in admission order (list()). */
  #byKind = new Map<string, AnyResource[]>();
  /** Values derived from the desired state alone (memo()), dropped at every replace. */
  #memo = new Map<string, unknown>();
  #referrers = new Map<string, Set<string>>();
  #invalid = new Map<string, AdmissionError[]>();
  #heldFiles = new Set<string>();

  constructor(references: (o: AnyResource) => readonly string[] = () => []) {
    this.#references = references;
  }

  /** The keys an object refers to. */
  referencesOf(o: AnyResource): readonly string[] {
    return this.#references(o);
  }

  get(key: string): AdmittedObject | undefined {
    return this.#entries.get(key)?.admitted;
  }

  object<K extends Kind>(kind: K, name: string, namespace?: string): Extract<AnyResource, { kind: K }> | undefined {
    return this.#entries.get(objectKey(kind, name, namespace))?.admitted.object as Extract<AnyResource, { kind: K }> | undefined;
  }

  hashOf(key: string): string | undefined {
    return this.#entries.get(key)?.hash;
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /** The objects of a kind (a new array: callers may sort it). */
  list<K extends Kind>(kind: K): Extract<AnyResource, { kind: K }>[] {
    return [...(this.#byKind.get(kind) ?? [])] as Extract<AnyResource, { kind: K }>[];
  }

  /**
   * A value computed from the desired state alone (never from records or backends), computed once
   * per admission: `compute` runs at the first call after each replace(). For what every object of a
   * kind would otherwise recompute over the whole store (which hosts carry each network).
   */
  memo<T>(name: string, compute: () => T): T {
    if (this.#memo.has(name)) return this.#memo.get(name) as T;
    const v = compute();
    this.#memo.set(name, v);
    return v;
  }

  /** Admission errors of a key whose latest declaration is invalid. */
  invalid(key: string): AdmissionError[] | undefined {
    return this.#invalid.get(key);
  }

  invalidKeys(): string[] {
    return [...this.#invalid.keys()];
  }

  /** Whether the file has errors, so objects that came from it earlier must be kept, not deleted. */
  isHeld(file: string): boolean {
    return this.#heldFiles.has(file);
  }

  /** Keys of desired objects that refer to `key`. */
  referrers(key: string): string[] {
    return [...(this.#referrers.get(key) ?? [])].sort();
  }

  replace(result: Pick<AdmissionResult, 'objects' | 'invalid' | 'heldFiles'>): Set<string> {
    const changed = new Set<string>();
    const next = new Map<string, Entry>();
    /** Whether the keys are the same as before, in the same order (only their content may differ). */
    let sameKeys = result.objects.size === this.#entries.size;
    const before = this.#entries.keys();
    for (const [key, admitted] of result.objects) {
      const old = this.#entries.get(key);
      if (sameKeys && before.next().value !== key) sameKeys = false;
      if (old && old.admitted.object === admitted.object && Object.isFrozen(admitted.object)) {
        // The same frozen object as last time (an unchanged file): same digest, same references.
        next.set(key, { admitted, hash: old.hash, refs: old.refs });
        continue;
      }
      const hash = contentHash(admitted.object);
      // Equal content: the same references (an object refers to others by its spec alone).
      if (old && old.hash === hash) {
        next.set(key, { admitted, hash, refs: old.refs });
        continue;
      }
      changed.add(key);
      // A reference to a declared object is its key string, not an equal copy (60,000 vNICs refer to 100 hosts).
      const refs = this.#references(admitted.object).map((r) => result.objects.get(r)?.key ?? r);
      next.set(key, { admitted, hash, refs });
    }
    for (const key of this.#entries.keys()) if (!next.has(key)) changed.add(key);
    const previous = this.#entries;
    this.#entries = next;
    if (sameKeys && changed.size <= 64) this.#patchIndexes(previous, changed);
    else this.#buildIndexes();
    for (const key of new Set([...this.#invalid.keys(), ...result.invalid.keys()])) {
      if (JSON.stringify(this.#invalid.get(key)) !== JSON.stringify(result.invalid.get(key))) changed.add(key);
    }
    this.#memo = new Map();
    this.#invalid = new Map(result.invalid);
    this.#heldFiles = new Set(result.heldFiles);
    return changed;
  }

  /** The per-kind lists and the reverse references, from every entry. */
  #buildIndexes(): void {
    this.#byKind = new Map();
    this.#referrers = new Map();
    for (const [key, e] of this.#entries) {
      const k = e.admitted.object.kind;
      let list = this.#byKind.get(k);
      if (!list) this.#byKind.set(k, (list = []));
      list.push(e.admitted.object);
      for (const r of e.refs) {
        let set = this.#referrers.get(r);
        if (!set) this.#referrers.set(r, (set = new Set()));
        set.add(key);
      }
    }
  }

  /** The same indexes when the keys are the same and only a few objects changed: the per-kind lists
   *  again (cheap), the reverse references patched for the changed keys only (an edit of one file
   *  among thousands). Same result as #buildIndexes. */
  #patchIndexes(previous: ReadonlyMap<string, Entry>, changed: ReadonlySet<string>): void {
    this.#byKind = new Map();
    for (const e of this.#entries.values()) {
      const k = e.admitted.object.kind;
      let list = this.#byKind.get(k);
      if (!list) this.#byKind.set(k, (list = []));
      list.push(e.admitted.object);
    }
    for (const key of changed) {
      for (const r of previous.get(key)!.refs) {
        const set = this.#referrers.get(r);
        set?.delete(key);
        if (set?.size === 0) this.#referrers.delete(r);
      }
      for (const r of this.#entries.get(key)!.refs) {
        let set = this.#referrers.get(r);
        if (!set) this.#referrers.set(r, (set = new Set()));
        set.add(key);
      }
    }
  }
}

// The desired-state store: admitted objects with a reverse reference index, plus the keys that
// are currently invalid and the files that are held. Pure in-memory data; no I/O.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../api/json.ts';
import { APPROVED_PLAN, objectKey, type AnyResource, type Kind } from '../api/kinds.ts';
import type { AdmissionError, AdmissionResult, AdmittedObject } from '../api/objects.ts';

/** A digest of what a reconcile reads from an object (spec, labels, an approval): equal digests need no new work. */
export function contentHash(o: AnyResource): string {
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

  list<K extends Kind>(kind: K): Extract<AnyResource, { kind: K }>[] {
    const out: Extract<AnyResource, { kind: K }>[] = [];
    for (const e of this.#entries.values()) if (e.admitted.object.kind === kind) out.push(e.admitted.object as Extract<AnyResource, { kind: K }>);
    return out;
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
    for (const [key, admitted] of result.objects) {
      const hash = contentHash(admitted.object);
      const old = this.#entries.get(key);
      if (!old || old.hash !== hash) changed.add(key);
      next.set(key, { admitted, hash, refs: this.#references(admitted.object) });
    }
    for (const key of this.#entries.keys()) if (!next.has(key)) changed.add(key);
    for (const key of new Set([...this.#invalid.keys(), ...result.invalid.keys()])) {
      if (JSON.stringify(this.#invalid.get(key)) !== JSON.stringify(result.invalid.get(key))) changed.add(key);
    }
    this.#entries = next;
    this.#invalid = new Map(result.invalid);
    this.#heldFiles = new Set(result.heldFiles);
    this.#referrers = new Map();
    for (const [key, e] of next) {
      for (const r of e.refs) {
        let set = this.#referrers.get(r);
        if (!set) this.#referrers.set(r, (set = new Set()));
        set.add(key);
      }
    }
    return changed;
  }
}


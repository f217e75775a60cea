// The managed-resource decision tree: given what is desired and what the backend holds, what to do.
// Pure; every reconciler of a backend object goes through it.
import type { FieldChange } from '../../drivers/driver.ts';

export interface DecisionInput {
  /** The netform object is being removed. */
  deleting: boolean;
  /** What observe found; undefined when the backend has no such object. */
  observed?: { owned: boolean };
  /** The object was named by an import reference. */
  imported: boolean;
  changes: readonly FieldChange[];
  managementPolicy: 'Managed' | 'ObserveOnly';
  deletionPolicy: 'Delete' | 'Orphan';
  allowReplace: boolean;
}

export type Decision =
  | { action: 'create' }
  | { action: 'update' }
  | { action: 'replace' }
  | { action: 'delete' }
  | { action: 'noop' }
  /** Stop tracking the backend object and leave it in place. */
  | { action: 'orphan'; why: 'policy' | 'not-owned' | 'gone' }
  /** An immutable field changed and replacing is not allowed, or the object is not netform's to change. */
  | { action: 'blocked'; why: 'immutable' | 'not-owned' }
  /** ObserveOnly: the backend differs from the spec. */
  | { action: 'drift' }
  /** ObserveOnly: the backend object does not exist. */
  | { action: 'missing' };

export function decide(i: DecisionInput): Decision {
  if (i.deleting) {
    if (!i.observed) return { action: 'orphan', why: 'gone' };
    if (i.deletionPolicy === 'Orphan' || i.managementPolicy === 'ObserveOnly') return { action: 'orphan', why: 'policy' };
    if (!i.observed.owned && !i.imported) return { action: 'orphan', why: 'not-owned' };
    return { action: 'delete' };
  }
  if (i.managementPolicy === 'ObserveOnly') {
    if (!i.observed) return { action: 'missing' };
    return i.changes.length ? { action: 'drift' } : { action: 'noop' };
  }
  // An import names an existing object: if it is not there, say so rather than create a new one.
  if (!i.observed) return i.imported ? { action: 'missing' } : { action: 'create' };
  if (!i.changes.length) return { action: 'noop' };
  if (!i.observed.owned && !i.imported) return { action: 'blocked', why: 'not-owned' };
  if (i.changes.some((c) => c.immutable)) return i.allowReplace ? { action: 'replace' } : { action: 'blocked', why: 'immutable' };
  return { action: 'update' };
}

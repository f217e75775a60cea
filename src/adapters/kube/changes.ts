// Which watch events can change admission's result. Pure.
//
// Admission (ADR 7) reads every object's metadata and spec, and of the records only the VlanPools'
// allocations (admissionContext). An update that changed nothing but an object's status (and with it
// its resourceVersion and managedFields) — the controller's own status writes, an agent's report —
// cannot change what admission decides, except a VlanPool's; nor can netform's finalizer being added
// to an object that is not being deleted (the first write for every object). Re-admitting everything on each of them
// cost O(objects) per status write: at 2,000 networks the controller spent its CPU re-admitting.
import type { ApiObject } from '../../api/objects.ts';

function withoutStatus(o: ApiObject): string {
  const { resourceVersion: _rv, managedFields: _mf, finalizers, ...metadata } = (o.metadata ?? {}) as Record<string, unknown>;
  // Finalizers matter once a deletion started (an object without netform's has no record then).
  if (metadata.deletionTimestamp) metadata.finalizers = finalizers;
  const { status: _s, metadata: _m, ...rest } = o as Record<string, unknown>;
  return JSON.stringify([metadata, rest]);
}

/** Whether a watch event may change what admission decides: every add and delete, a VlanPool's any
 *  change, and an update of anything else but the object's status (or, while not being deleted, its
 *  finalizers). */
export function affectsAdmission(kind: string, e: { type: 'add' | 'update' | 'delete'; object: ApiObject; old?: ApiObject }): boolean {
  if (e.type !== 'update' || !e.old || kind === 'VlanPool') return true;
  return withoutStatus(e.old) !== withoutStatus(e.object);
}

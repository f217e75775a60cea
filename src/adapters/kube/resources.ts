// The API resource types netform reads and writes in cluster mode. Pure.
import { API_GROUP, loadCrds } from '../../api/crds.ts';
import { STORAGE_VERSION } from '../../api/versions.ts';
import { KINDS, type Kind } from '../../api/kinds.ts';
import type { ResourceType } from './client.ts';

/** The finalizer netform puts on every object it reconciles, so a deletion first removes the
 *  object's backend state (as its deletionPolicy says) before the API lets the object go. */
export const FINALIZER = 'netform.io/cleanup';

let cache: Record<Kind, ResourceType> | undefined;

/** Our kinds' resource types, from the CRDs in crds/: netform reads and writes the storage version
 *  (no conversion on the way), and converts to the hub's shape itself (admission, records). */
export function resourceTypes(): Record<Kind, ResourceType> {
  if (cache) return cache;
  const byKind = new Map(loadCrds().map((c) => [c.kind, c] as const));
  const out = {} as Record<Kind, ResourceType>;
  for (const kind of KINDS) {
    const crd = byKind.get(kind);
    if (!crd) throw new Error(`crds/ has no CustomResourceDefinition for ${kind}`);
    out[kind] = { group: API_GROUP, version: STORAGE_VERSION, plural: crd.plural, namespaced: crd.namespaced };
  }
  return (cache = out);
}

export const SECRETS: ResourceType = { group: '', version: 'v1', plural: 'secrets', namespaced: true };
export const LEASES: ResourceType = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true };
export const EVENTS: ResourceType = { group: 'events.k8s.io', version: 'v1', plural: 'events', namespaced: true };

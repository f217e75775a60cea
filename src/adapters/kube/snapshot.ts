// A one-time, read-only look at a cluster's netform objects (no informers, no watch): every object of
// every kind, listed page by page, and the records their statuses stand for. What `kubectl netform`
// and `netform plan --kubeconfig` read. Approvals: the annotation a user puts on an object to let
// netform apply exactly the plan its status holds.
import { APPROVED_PLAN, KINDS, type Kind } from '../../api/kinds.ts';
import { API_GROUP } from '../../api/crds.ts';
import type { ApiObject } from '../../api/objects.ts';
import type { ObjectRecord } from '../../state/records.ts';
import { isStatus, KubeApiError, type KubeClient, type ResourceType } from './client.ts';
import { recordOf } from './records.ts';
import { resourceTypes } from './resources.ts';

const PAGE = 500;

/** Every object of one resource type, in all namespaces. */
export async function listAll<T extends ApiObject>(client: KubeClient, type: ResourceType, kind: string): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await client.list<T>(type, { limit: PAGE, ...(token ? { continue: token } : {}) });
    if (!Array.isArray(page.items)) throw new KubeApiError('Transient', 0, `list ${type.plural}: the response has no items`);
    // A list's items may leave out apiVersion and kind; admission reads them.
    for (const o of page.items) if (typeof o?.metadata?.name === 'string') out.push({ ...o, apiVersion: o.apiVersion ?? `${API_GROUP}/${type.version}`, kind: o.kind ?? kind });
    token = page.metadata?.continue || undefined;
  } while (token);
  return out;
}

export interface ClusterSnapshot {
  /** Every netform object, by kind (in KINDS order). */
  objects: ApiObject[];
  /** The records they stand for: their statuses, as cluster mode keeps them. */
  records: ObjectRecord[];
}

/** Lists every kind once. A kind whose CRD is not installed is an error naming it. */
export async function readCluster(client: KubeClient): Promise<ClusterSnapshot> {
  const types = resourceTypes();
  const objects: ApiObject[] = [];
  const records: ObjectRecord[] = [];
  for (const kind of KINDS) {
    let items: ApiObject[];
    try {
      items = await listAll(client, types[kind], kind);
    } catch (err) {
      if (isStatus(err, 404)) throw new Error(`the cluster at ${client.server} does not serve ${types[kind].plural}.netform.io: install the CRDs (kubectl apply -f crds/)`);
      throw err;
    }
    for (const o of items) {
      objects.push(o);
      const rec = recordOf(kind as Kind, o);
      if (rec) records.push(rec);
    }
  }
  records.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { objects, records };
}

/** What `approve` found and did. */
export type ApprovalResult =
  | { outcome: 'approved' | 'already-approved'; pendingPlan: Record<string, unknown> }
  | { outcome: 'not-found' }
  | { outcome: 'nothing-pending' }
  | { outcome: 'plan-changed'; now: string; pendingPlan: Record<string, unknown> };

const MAX_ATTEMPTS = 5;

/**
 * Approves an object's pending plan for exactly `digest`: sets the annotation (a merge patch of the
 * object, guarded by the resourceVersion it was checked at, so a plan that changes in between is
 * checked again) only while status.pendingPlan holds that digest.
 */
export async function approvePlan(client: KubeClient, type: ResourceType, name: string, namespace: string | undefined, digest: string): Promise<ApprovalResult> {
  for (let attempt = 0; ; attempt++) {
    let o: ApiObject;
    try {
      o = await client.get<ApiObject>(type, name, namespace);
    } catch (err) {
      if (isStatus(err, 404)) return { outcome: 'not-found' };
      throw err;
    }
    const pendingPlan = (o.status as { pendingPlan?: Record<string, unknown> } | undefined)?.pendingPlan;
    if (!pendingPlan || typeof pendingPlan.digest !== 'string') return { outcome: 'nothing-pending' };
    if (pendingPlan.digest !== digest) return { outcome: 'plan-changed', now: pendingPlan.digest, pendingPlan };
    if (o.metadata?.annotations?.[APPROVED_PLAN] === digest) return { outcome: 'already-approved', pendingPlan };
    try {
      await client.patch(type, name, 'merge', { metadata: { resourceVersion: o.metadata?.resourceVersion, annotations: { [APPROVED_PLAN]: digest } } }, { namespace });
      return { outcome: 'approved', pendingPlan };
    } catch (err) {
      if (isStatus(err, 404)) return { outcome: 'not-found' };
      if (!isStatus(err, 409) || attempt + 1 >= MAX_ATTEMPTS) throw err;
    }
  }
}

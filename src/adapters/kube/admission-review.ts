// The validating admission webhook's decision (issue 16, first step; not served yet): an
// AdmissionReview in, an AdmissionReview out. The same admission as file mode (schema, names, and the
// checks across objects: VLAN clashes, dangling references, namespaces a network does not allow,
// overlapping subnets), run over the objects the controller's informers hold with the incoming one in
// place of its stored version. Pure: no I/O.
//
// What is refused: a create or update whose object admission finds wrong, and one that would make
// another, valid object wrong (an update of an old network onto a VLAN a newer one holds is the
// update's fault, though admission reports a clash on the later-created object). Never refused:
// deletions, status writes, objects not of netform's group.
import { API_GROUP } from '../../api/crds.ts';
import { isKind, NAMESPACED, objectKey } from '../../api/kinds.ts';
import type { AdmissionError, ApiObject } from '../../api/objects.ts';
import { admitObjects, type AdmissionContext } from '../../state/admit.ts';

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  subResource?: string;
  name?: string;
  namespace?: string;
  object?: ApiObject | null;
  oldObject?: ApiObject | null;
}

export interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: {
    code: number;
    reason: 'Invalid' | 'BadRequest';
    message: string;
    details?: { causes: { reason: 'FieldValueInvalid'; field?: string; message: string }[] };
  };
}

export interface AdmissionReviewAnswer {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** An object's key as admission computes it (a namespaced kind without a namespace is in `default`). */
const keyOfRaw = (o: ApiObject): string | undefined =>
  o.kind && isKind(o.kind) ? objectKey(o.kind, o.metadata?.name ?? '', NAMESPACED[o.kind] ? (o.metadata?.namespace ?? 'default') : undefined) : undefined;

/**
 * Decides an AdmissionReview. `current` is what the informers hold (the incoming object's stored
 * version among them, for an update); `ctx` the same context file mode gives admission (VLAN pool
 * allocations from the records, keys declared elsewhere).
 */
export function reviewAdmission(review: AdmissionReview, current: readonly ApiObject[], ctx: AdmissionContext = {}): AdmissionReviewAnswer {
  const req = review.request;
  const answer = (response: Omit<AdmissionResponse, 'uid'>): AdmissionReviewAnswer => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: req?.uid ?? '', ...response },
  });
  if (!req || typeof req.uid !== 'string' || req.uid === '') {
    return answer({ allowed: false, status: { code: 400, reason: 'BadRequest', message: 'an AdmissionReview with a request and its uid was expected' } });
  }
  const object = req.object ?? undefined;
  // Deletions, status writes, and anything not ours go through: the webhook never blocks them.
  if (req.operation === 'DELETE' || req.operation === 'CONNECT' || (req.subResource ?? '') !== '' || !object || (req.kind?.group ?? API_GROUP) !== API_GROUP) {
    return answer({ allowed: true });
  }
  // A create is the newest object, so a clash is reported on it (the apiserver's creation time has
  // whole seconds: an object made in the same second would otherwise sort by name).
  const incoming: ApiObject = req.operation === 'UPDATE' ? object : { ...object, metadata: { ...object.metadata, creationTimestamp: '9999-12-31T23:59:59Z' } };
  const key = keyOfRaw(incoming);
  if (key === undefined) {
    return answer({ allowed: false, status: { code: 422, reason: 'Invalid', message: `kind: ${String(incoming.kind)} is not a netform kind` } });
  }
  const others = current.filter((o) => keyOfRaw(o) !== key);
  const before = admitObjects(current, ctx);
  const after = admitObjects([...others, incoming], ctx);
  const own = after.invalid.get(key) ?? [];
  const broken: AdmissionError[] = [];
  for (const [k, errors] of after.invalid) {
    if (k === key || before.invalid.has(k)) continue;
    // The other object's field is named in the message; this object's whole spec is the cause.
    for (const e of errors) broken.push({ file: e.file, line: e.line, field: 'spec', message: `would make ${k} invalid: ${e.field ? `${e.field}: ` : ''}${e.message}` });
  }
  const causes = [...own, ...broken];
  if (causes.length === 0) return answer({ allowed: true });
  return answer({
    allowed: false,
    status: {
      code: 422,
      reason: 'Invalid',
      message: causes.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; '),
      details: { causes: causes.map((e) => ({ reason: 'FieldValueInvalid' as const, ...(e.field ? { field: e.field } : {}), message: e.message })) },
    },
  });
}

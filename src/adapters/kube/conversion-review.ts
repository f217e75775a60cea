// The conversion webhook's decision (issue 16, ADR 30): a ConversionReview from the apiserver in, every
// object converted to the desired version out, in the same order; metadata and status untouched (the
// apiserver refuses a conversion that changes metadata other than labels and annotations). Pure.
import { isKind } from '../../api/kinds.ts';
import { API_GROUP } from '../../api/crds.ts';
import { convertObject, versionOf } from '../../api/versions.ts';

export interface ConversionReview {
  apiVersion?: string;
  kind?: string;
  request?: { uid?: string; desiredAPIVersion?: string; objects?: unknown[] };
}

export interface ConversionReviewAnswer {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'ConversionReview';
  response: {
    uid: string;
    convertedObjects: unknown[];
    result: { status: 'Success' } | { status: 'Failure'; message: string };
  };
}

export function convertReview(review: ConversionReview): ConversionReviewAnswer {
  const uid = review.request?.uid ?? '';
  const answer = (convertedObjects: unknown[], failure?: string): ConversionReviewAnswer => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'ConversionReview',
    response: { uid, convertedObjects, result: failure === undefined ? { status: 'Success' } : { status: 'Failure', message: failure } },
  });
  const desired = versionOf(review.request?.desiredAPIVersion);
  if (!desired) return answer([], `${String(review.request?.desiredAPIVersion)} is not a version of ${API_GROUP}`);
  const out: unknown[] = [];
  for (const [i, o] of (review.request?.objects ?? []).entries()) {
    const obj = o as { apiVersion?: unknown; kind?: unknown; spec?: unknown };
    if (!obj || typeof obj !== 'object' || !isKind(obj.kind) || !versionOf(obj.apiVersion)) {
      return answer([], `object ${i}: ${String(obj?.apiVersion)} ${String(obj?.kind)} is not a netform object`);
    }
    out.push(convertObject(obj, obj.kind, desired));
  }
  return answer(out);
}

// The resource model: kinds, object shapes and keys. Pure.
import * as T from './types.gen.ts';
import type { Kind, SpecOf, StatusOf } from './types.gen.ts';

export type { Kind, SpecOf, StatusOf } from './types.gen.ts';

/** Every kind, from the CRDs (sorted by name; the dependency order is the registration order in
 *  src/controllers/index.ts). */
export const KINDS: readonly Kind[] = T.KIND_NAMES;

/** Whether each kind is namespaced, from its CRD's scope. */
export const NAMESPACED: Readonly<Record<Kind, boolean>> = T.NAMESPACED_KINDS;

/** The metadata netform reads; a subset of Kubernetes' ObjectMeta. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
}

/** An admitted object of one kind. */
export interface Resource<K extends Kind = Kind> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: SpecOf[K];
  status?: StatusOf[K];
}

export type Provider = Resource<'Provider'>;
export type VlanPool = Resource<'VlanPool'>;
export type MacPool = Resource<'MacPool'>;
export type Network = Resource<'Network'>;
export type Cluster = Resource<'Cluster'>;
export type Host = Resource<'Host'>;
export type VnicAttachment = Resource<'VnicAttachment'>;
export type VnicProfile = Resource<'VnicProfile'>;
export type Router = Resource<'Router'>;
export type SecurityGroup = Resource<'SecurityGroup'>;
export type ServiceEndpoint = Resource<'ServiceEndpoint'>;
export type VmNetworkTemplate = Resource<'VmNetworkTemplate'>;
export type VmNetworkBinding = Resource<'VmNetworkBinding'>;
export type AnyResource = { [K in Kind]: Resource<K> }[Kind];

export type Condition = T.Condition;

export function isKind(k: unknown): k is Kind {
  return typeof k === 'string' && (KINDS as readonly string[]).includes(k);
}

/** The key of an object: `Kind/name`, or `Kind/namespace/name` for namespaced kinds. */
export function objectKey(kind: Kind, name: string, namespace?: string): string {
  return NAMESPACED[kind] ? `${kind}/${namespace ?? 'default'}/${name}` : `${kind}/${name}`;
}

export function keyOf(obj: { kind: Kind; metadata: { name: string; namespace?: string } }): string {
  return objectKey(obj.kind, obj.metadata.name, obj.metadata.namespace);
}

export interface ParsedKey {
  kind: Kind;
  namespace?: string;
  name: string;
}

export function parseKey(key: string): ParsedKey {
  const parts = key.split('/');
  const kind = parts[0];
  if (!isKind(kind)) throw new Error(`not an object key: ${key}`);
  if (NAMESPACED[kind]) {
    if (parts.length !== 3) throw new Error(`not an object key: ${key}`);
    return { kind, namespace: parts[1]!, name: parts[2]! };
  }
  if (parts.length !== 2) throw new Error(`not an object key: ${key}`);
  return { kind, name: parts[1]! };
}

/** The annotation that approves an object's held plan, by its digest (cluster mode; file mode's
 *  `netform approve` keeps the same in the state directory). */
export const APPROVED_PLAN = 'netform.io/approved-plan';

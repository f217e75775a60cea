// API versions of the netform.io group and the conversion between them. Pure.
//
// v1beta1 is v1alpha1 with its fields moved, never added or dropped (ADR 30), so conversion is lossless
// both ways by construction: each move takes one field (and everything under it) from one place to
// another. What the first waves taught:
//   - a lifecycle concern (approval, managementPolicy, deletionPolicy, allowReplace, syncPolicy) sat among
//     the fields that describe the network: v1beta1 groups them under `spec.lifecycle`;
//   - a Provider mixed how to reach the backend with what kind of backend it is: the endpoint, the
//     credentials, TLS, the timeout and the concurrency move under `spec.connection`;
//   - a reference was sometimes a bare name (`host: demo`) and sometimes an object (`profileRef:
//     {name}`): every reference is now `<kind>Ref: {name}`.
// The internal model (the engine, the controllers, the drivers) keeps v1alpha1's shape, the hub:
// v1beta1 is converted at the edges (admission of files, the Kubernetes adapter, the conversion webhook).
import type { Kind } from './kinds.ts';
import { API_GROUP, API_VERSION, type OpenApiSchema } from './crds.ts';

/** The versions served, oldest first. */
export const API_VERSIONS = ['v1alpha1', 'v1beta1'] as const;
export type ApiVersionName = (typeof API_VERSIONS)[number];
/** The version whose shape the internal model has. */
export const HUB_VERSION: ApiVersionName = API_VERSION;
/** The version stored by the apiserver, and written by `netform convert`. */
export const STORAGE_VERSION: ApiVersionName = 'v1beta1';
/** Versions still served but deprecated, with the warning given for them. */
export const DEPRECATED_VERSIONS: Partial<Record<ApiVersionName, string>> = {
  v1alpha1: 'netform.io/v1alpha1 is deprecated: use netform.io/v1beta1 (`netform convert` rewrites manifests)',
};

/** A field moved between v1alpha1 (`from`) and v1beta1 (`to`): dotted paths under `spec`, where
 *  `name[]` stands for every item of the list `name` (both paths share it). */
export interface Move {
  from: string;
  to: string;
}

const lifecycle = (...fields: string[]): Move[] => fields.map((f) => ({ from: f, to: `lifecycle.${f}` }));
/** A reference by bare name (`host`) becomes `hostRef: {name}`, in the same list when it is in one. */
const ref = (field: string): Move => ({ from: field, to: `${field}Ref.name` });

/** Every field v1beta1 moves, by kind. A kind without moves has the same schema in both versions. */
export const MOVES: Readonly<Record<Kind, readonly Move[]>> = {
  Cluster: [],
  Host: [ref('cluster'), ...lifecycle('approval', 'syncPolicy')],
  MacPool: [],
  Network: lifecycle('approval', 'managementPolicy', 'deletionPolicy', 'allowReplace'),
  Provider: [
    ...['endpoint', 'credentials', 'tls', 'requestTimeoutSeconds', 'maxConcurrency'].map((f) => ({ from: f, to: `connection.${f}` })),
    ...lifecycle('approval'),
  ],
  Router: lifecycle('managementPolicy', 'deletionPolicy', 'approval'),
  SecurityGroup: lifecycle('managementPolicy', 'deletionPolicy'),
  ServiceEndpoint: [ref('network'), ref('host'), ...lifecycle('managementPolicy', 'deletionPolicy', 'approval')],
  VlanPool: [],
  VmNetworkBinding: [ref('host')],
  VmNetworkTemplate: [ref('vnics[].profile'), ref('vnics[].network')],
  VnicAttachment: [ref('network'), ref('host'), ...lifecycle('managementPolicy', 'deletionPolicy')],
  VnicProfile: [ref('network'), ...lifecycle('managementPolicy', 'deletionPolicy')],
};

/** Descriptions of the objects v1beta1 adds to hold moved fields. */
export const GROUP_DESCRIPTIONS: Readonly<Record<string, string>> = {
  lifecycle: 'How netform manages the object over its life: approval of plans, adoption, deletion, replacement.',
  connection: 'How netform reaches the backend: endpoint, credentials, TLS, timeout and concurrency.',
};

export function isApiVersion(v: unknown): v is ApiVersionName {
  return typeof v === 'string' && (API_VERSIONS as readonly string[]).includes(v);
}

/** `netform.io/v1beta1` → `v1beta1`; undefined for anything else. */
export function versionOf(apiVersion: unknown): ApiVersionName | undefined {
  if (typeof apiVersion !== 'string' || !apiVersion.startsWith(`${API_GROUP}/`)) return undefined;
  const v = apiVersion.slice(API_GROUP.length + 1);
  return isApiVersion(v) ? v : undefined;
}

interface Segment {
  key: string;
  each: boolean;
}

function segments(path: string): Segment[] {
  return path.split('.').map((p) => (p.endsWith('[]') ? { key: p.slice(0, -2), each: true } : { key: p, each: false }));
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Moves the value at `from` to `to` inside `node` (mutating it); intermediate objects are created,
 *  and those left empty by the move are removed. */
function moveIn(node: Obj, from: Segment[], to: Segment[]): void {
  if (from[0]!.each) {
    // A list both paths go through: the move happens in each item.
    const list = node[from[0]!.key];
    if (Array.isArray(list)) for (const item of list) if (isObj(item)) moveIn(item, from.slice(1), to.slice(1));
    return;
  }
  // Find the value and remove it.
  const parents: Obj[] = [];
  let at: Obj = node;
  for (const s of from.slice(0, -1)) {
    const next = at[s.key];
    if (!isObj(next)) return;
    parents.push(at);
    at = next;
  }
  const leaf = from[from.length - 1]!.key;
  const found = Object.hasOwn(at, leaf);
  const value = at[leaf];
  if (found) delete at[leaf];
  // A grouping object left empty (or written empty: `lifecycle: {}`) means nothing: it goes.
  for (let i = parents.length - 1; i >= 0; i--) {
    const key = from[i]!.key;
    if (isObj(parents[i]![key]) && Object.keys(parents[i]![key] as Obj).length === 0) delete parents[i]![key];
    else break;
  }
  if (!found) return;
  // Put it in its new place.
  let dest: Obj = node;
  for (const s of to.slice(0, -1)) {
    if (!isObj(dest[s.key])) dest[s.key] = {};
    dest = dest[s.key] as Obj;
  }
  dest[to[to.length - 1]!.key] = value;
}

function movesBetween(kind: Kind, from: ApiVersionName, to: ApiVersionName): { from: Segment[]; to: Segment[] }[] {
  const moves = MOVES[kind];
  if (from === to) return [];
  if (from === 'v1alpha1') return moves.map((m) => ({ from: segments(m.from), to: segments(m.to) }));
  return [...moves].reverse().map((m) => ({ from: segments(m.to), to: segments(m.from) }));
}


/** A copy of a spec of `kind` written in version `from`, written in version `to`. Keys keep their
 *  order where they stay; a moved field goes where `order` (the target version's spec schema, when
 *  given) puts it. */
export function convertSpec(kind: Kind, spec: unknown, from: ApiVersionName, to: ApiVersionName, order?: OpenApiSchema): unknown {
  if (spec === undefined) return undefined;
  return moveSpec(kind, structuredClone(spec), from, to, order);
}

/** convertSpec on a spec the caller owns (a copy already made): its fields are moved in place. */
export function moveSpec(kind: Kind, spec: unknown, from: ApiVersionName, to: ApiVersionName, order?: OpenApiSchema): unknown {
  if (from === to || !isObj(spec)) return spec;
  for (const m of movesBetween(kind, from, to)) moveIn(spec, m.from, m.to);
  return order ? orderLike(spec, order) : spec;
}

/** The value with the keys of each object in the order of the schema's properties (others after,
 *  as they were). */
export function orderLike(v: unknown, schema: OpenApiSchema | undefined): unknown {
  if (!schema) return v;
  if (Array.isArray(v)) return schema.items ? v.map((x) => orderLike(x, schema.items)) : v;
  if (!isObj(v) || !schema.properties) return v;
  const out: Obj = {};
  for (const k of Object.keys(schema.properties)) if (Object.hasOwn(v, k)) out[k] = orderLike(v[k], schema.properties[k]);
  for (const [k, x] of Object.entries(v)) if (!Object.hasOwn(out, k)) {
    if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
    else out[k] = x;
  }
  return out;
}

/** An object of any netform version, as `to`: the spec converted, everything else as it is. */
export function convertObject<T extends { apiVersion?: unknown; kind?: unknown; spec?: unknown }>(
  obj: T,
  kind: Kind,
  to: ApiVersionName,
  order?: OpenApiSchema,
): T {
  const from = versionOf(obj.apiVersion);
  if (!from) throw new Error(`${String(obj.apiVersion)} is not a version of ${API_GROUP}`);
  const out = { ...obj, apiVersion: `${API_GROUP}/${to}` } as T;
  if (obj.spec !== undefined) out.spec = convertSpec(kind, obj.spec, from, to, order);
  return out;
}

/**
 * Where a field of an object written in `from` is in version `to`, as a JSON pointer
 * (`/spec/cluster` in v1alpha1 is `/spec/clusterRef/name` in v1beta1). A pointer under a moved field
 * moves with it; one that no move touches is the same in both.
 */
export function convertPointer(kind: Kind, pointer: string, from: ApiVersionName, to: ApiVersionName): string {
  if (from === to || !pointer.startsWith('/spec/')) return pointer;
  const tokens = pointer.split('/').slice(2);
  for (const m of movesBetween(kind, from, to)) {
    const matched = matchPrefix(tokens, m.from);
    if (matched === undefined) continue;
    const out: string[] = [];
    let i = 0;
    for (const s of m.to) {
      out.push(s.key);
      if (s.each) out.push(matched.indexes[i++]!);
    }
    return `/spec/${[...out, ...tokens.slice(matched.length)].join('/')}`;
  }
  return pointer;
}

function matchPrefix(tokens: string[], path: Segment[]): { length: number; indexes: string[] } | undefined {
  let t = 0;
  const indexes: string[] = [];
  for (const s of path) {
    if (tokens[t] !== s.key) return undefined;
    t++;
    if (s.each) {
      if (!/^\d+$/.test(tokens[t] ?? '')) return undefined;
      indexes.push(tokens[t]!);
      t++;
    }
  }
  return { length: t, indexes };
}

/** A kubectl-style field path (`spec.cluster`) converted like `convertPointer`. */
export function convertFieldPath(kind: Kind, path: string, from: ApiVersionName, to: ApiVersionName): string {
  if (from === to || !path.startsWith('spec.')) return path;
  const pointer = `/${path.replace(/\[(\d+)\]/g, '.$1').split('.').join('/')}`;
  const converted = convertPointer(kind, pointer, from, to);
  if (converted === pointer) return path;
  return converted
    .split('/')
    .slice(1)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

/**
 * v1beta1's spec schema, made from v1alpha1's by the same moves: a moved field keeps its schema; an
 * object made to hold moved fields is required when one of them was, and defaults to `{}` when one of
 * them has a default (so the apiserver and admission fill it as before).
 */
export function specSchemaFor(kind: Kind, v1alpha1Spec: OpenApiSchema, to: ApiVersionName = 'v1beta1'): OpenApiSchema {
  const spec = structuredClone(v1alpha1Spec);
  if (to === 'v1alpha1') return spec;
  for (const m of MOVES[kind]) moveSchema(kind, spec, segments(m.from), segments(m.to));
  return spec;
}

function moveSchema(kind: Kind, node: OpenApiSchema, from: Segment[], to: Segment[]): void {
  if (from[0]!.each) {
    const list = node.properties?.[from[0]!.key];
    if (!list?.items) throw new Error(`${kind}: no list ${from[0]!.key} in the schema`);
    moveSchema(kind, list.items, from.slice(1), to.slice(1));
    return;
  }
  if (from.length !== 1) throw new Error(`${kind}: a move must start at a field of its object`);
  const leaf = from[0]!.key;
  const schema = node.properties?.[leaf];
  if (!schema) throw new Error(`${kind}: no field ${leaf} in the schema`);
  const position = Object.keys(node.properties!).indexOf(leaf);
  delete node.properties![leaf];
  const wasRequired = node.required?.includes(leaf) ?? false;
  if (node.required) {
    node.required = node.required.filter((r) => r !== leaf);
    if (node.required.length === 0) delete node.required;
  }
  const hasDefault = schema.default !== undefined;
  let dest = node;
  for (const s of to.slice(0, -1)) {
    dest.properties ??= {};
    let next = dest.properties[s.key];
    if (!next) {
      next = { type: 'object' };
      const description = GROUP_DESCRIPTIONS[s.key] ?? (s.key.endsWith('Ref') ? `The ${s.key.slice(0, -3)} referred to, by name.` : undefined);
      if (description) next.description = description;
      next.properties = {};
      // A new object takes the place of the first field moved into it.
      if (dest === node) insertAt(dest.properties, s.key, next, position);
      else dest.properties[s.key] = next;
    }
    if (wasRequired && !(dest.required ?? []).includes(s.key)) dest.required = [...(dest.required ?? []), s.key];
    // A reference object always names its target, as the hand-written ones (poolRef, macPoolRef) do.
    const isRefName = s.key.endsWith('Ref') && to.length >= 2 && to[to.length - 1]!.key === 'name' && s === to[to.length - 2];
    if (isRefName && !(next.required ?? []).includes('name')) next.required = [...(next.required ?? []), 'name'];
    if (hasDefault && !wasRequired && next.default === undefined && !(dest.required ?? []).includes(s.key)) next.default = {};
    dest = next;
  }
  const last = to[to.length - 1]!.key;
  dest.properties ??= {};
  dest.properties[last] = schema;
  if (wasRequired && !(dest.required ?? []).includes(last)) dest.required = [...(dest.required ?? []), last];
}

function insertAt(props: Record<string, OpenApiSchema>, key: string, value: OpenApiSchema, index: number): void {
  const entries = Object.entries(props);
  entries.splice(Math.min(index, entries.length), 0, [key, value]);
  for (const k of Object.keys(props)) delete props[k];
  for (const [k, v] of entries) props[k] = v;
}

/** One entry of a CRD's `spec.versions`, as far as netform writes it. */
export interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  subresources?: unknown;
  additionalPrinterColumns?: { jsonPath: string; [k: string]: unknown }[];
  selectableFields?: { jsonPath: string }[];
  schema?: { openAPIV3Schema?: OpenApiSchema };
  [k: string]: unknown;
}

interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  [k: string]: unknown;
}

/**
 * The CRD version entry of `to`, made from v1alpha1's: the spec schema moved (specSchemaFor), the
 * printer columns and the CEL rules on the spec pointed at the fields' new places. Served; stored when
 * it is the storage version; deprecated with its warning when it is.
 */
export function crdVersionFor(kind: Kind, alpha: CrdVersion, to: ApiVersionName): CrdVersion {
  const out = structuredClone(alpha);
  out.name = to;
  out.served = true;
  out.storage = to === STORAGE_VERSION;
  delete out.deprecated;
  delete out.deprecationWarning;
  const warning = DEPRECATED_VERSIONS[to];
  if (warning) {
    out.deprecated = true;
    out.deprecationWarning = warning;
  }
  if (to === HUB_VERSION) return out;
  const root = out.schema?.openAPIV3Schema;
  const spec = root?.properties?.spec;
  if (!root || !spec) throw new Error(`${kind}: the ${alpha.name} version has no spec schema`);
  const moved = specSchemaFor(kind, spec, to);
  moved['x-kubernetes-validations'] = (spec['x-kubernetes-validations'] as CelRule[] | undefined)?.map((r) => celFor(kind, r, to));
  if (moved['x-kubernetes-validations'] === undefined) delete moved['x-kubernetes-validations'];
  root.properties!.spec = moved;
  for (const c of [...(out.additionalPrinterColumns ?? []), ...(out.selectableFields ?? [])]) {
    if (c.jsonPath.startsWith('.spec.')) c.jsonPath = `.${convertFieldPath(kind, c.jsonPath.slice(1), 'v1alpha1', to)}`;
  }
  return out;
}

/** A CEL rule on the spec, with `self.<field>` / `oldSelf.<field>` of a moved field at its new place. */
function celFor(kind: Kind, r: CelRule, to: ApiVersionName): CelRule {
  const out = { ...r };
  for (const m of MOVES[kind]) {
    if (m.from.includes('[]')) {
      if (new RegExp(`\\b${m.from.split('[]')[0]}\\b`).test(r.rule)) throw new Error(`${kind}: a CEL rule reads the list ${m.from}; write its ${to} rule by hand`);
      continue;
    }
    const parts = m.to.split('.');
    for (const self of ['self', 'oldSelf']) {
      const has = parts.map((_, i) => `has(${self}.${parts.slice(0, i + 1).join('.')})`).join(' && ');
      out.rule = out.rule
        .replace(new RegExp(`has\\(${self}\\.${m.from}\\)`, 'g'), `(${has})`)
        .replace(new RegExp(`\\b${self}\\.${m.from}\\b`, 'g'), `${self}.${m.to}`);
    }
    if (out.message) out.message = out.message.replace(new RegExp(`\\bspec\\.${m.from}\\b`, 'g'), `spec.${m.to}`);
    if (out.fieldPath === `.${m.from}`) out.fieldPath = `.${m.to}`;
  }
  return out;
}

/** Where the apiserver sends ConversionReviews: the controller's webhook Service (manifests/). The
 *  controller patches the caBundle in, as it does for its ValidatingWebhookConfiguration. */
export const CONVERSION_SERVICE = { namespace: 'netform-system', name: 'netform-webhook', path: '/convert', port: 443 } as const;

/** A CRD's `spec.conversion`. */
export function conversionFor(): Record<string, unknown> {
  return { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v1'], clientConfig: { service: { ...CONVERSION_SERVICE } } } };
}

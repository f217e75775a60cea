// A generated corpus of malformed manifests (issue 9, "nothing lost"): every case is a set of
// manifest files that admission must refuse - never crash on, never hang on - with errors that name
// file, line, field and reason, while the valid documents beside the bad one are still admitted.
//
// The schema cases are derived from the CRDs (crds/*.yaml) by walking each kind's spec schema, so a new
// field is covered without touching this file: every required field missing, every field of the wrong
// type, numbers out of range, strings too long or of the wrong shape, values outside enums, malformed
// CIDRs and MACs, unsafe names, unknown fields. The rest are written out below: YAML that is not
// YAML, duplicate keys, alias bombs, circular aliases, deep nesting, a 20 MB file, binary garbage,
// dangling references, clashes, and the values Neutron and UCS Manager would refuse later.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump, load } from 'js-yaml';
import { loadCrds, type OpenApiSchema } from '../../src/api/crds.ts';
import type { ManifestFile } from '../../src/api/objects.ts';

export const CASE_FILE = 'case.yaml';
export const BESIDE_FILE = 'beside.yaml';
/** The valid document put beside the bad one (in the same file when the file can be split into
 *  documents, in beside.yaml when the whole file is refused). */
export const BESIDE_KEY = 'Cluster/beside';
const BESIDE = 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: beside\nspec:\n  networks:\n    - name: web\n';

export interface CorpusCase {
  /** Unique, readable: what is wrong and where. */
  name: string;
  category: string;
  /** The bad file is always CASE_FILE; the base files come first. */
  files: ManifestFile[];
  /** A kubectl-style field path the refusal must name (or an ancestor of it), when known. */
  field?: string;
  /** 'document': the bad document is refused alone, BESIDE_KEY shares its file; 'file': the whole file
   *  is refused and BESIDE_KEY is in its own file. */
  level: 'document' | 'file';
  /** Valid base objects this case legitimately holds back (a second declaration holds both, ADR 3). */
  held?: string[];
}

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/** The valid world every case is admitted with: the quick start, the Neutron and the UCSM examples. */
export function baseFiles(): ManifestFile[] {
  const out: ManifestFile[] = [];
  for (const dir of ['quickstart', 'neutron', 'ucsm']) {
    for (const f of readdirSync(join(EXAMPLES, dir)).sort()) {
      if (!/\.ya?ml$/.test(f) || f.includes('credentials')) continue;
      out.push({ path: `base/${dir}/${f}`, text: readFileSync(join(EXAMPLES, dir, f), 'utf8') });
    }
  }
  return out;
}

/** Documents of the examples, one string each (for the fuzzer's seeds). */
export function exampleDocuments(): string[] {
  return baseFiles().flatMap((f) => f.text.split(/^---[ \t]*$/m).map((d) => d.trim()).filter((d) => /^kind:/m.test(d)));
}

type Obj = Record<string, unknown>;

/**
 * One valid object of each kind that fits beside the base: the documents the schema cases mutate.
 * Each kind keeps its own in its folder (src/controllers/<kind>/<kind>.example.yaml), so adding a
 * kind adds its example there.
 */
export function templates(): Record<string, Obj> {
  const root = fileURLToPath(new URL('../../src/controllers/', import.meta.url));
  const out: Record<string, Obj> = {};
  for (const dir of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const f of readdirSync(join(root, dir.name)).filter((n) => n.endsWith('.example.yaml'))) {
      const obj = load(readFileSync(join(root, dir.name, f), 'utf8')) as Obj;
      out[obj.kind as string] = obj;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Schema walking

/** Strings to try as a minimal valid value of a string field, first match wins. */
const STRING_CANDIDATES = ['a', 'https://x.example.net', '10.66.0.0/24', '52:54:00:00:00:01', '2026-01-01T00:00:00Z', 'a1'];
/** Strings that must never reach a command line or a backend name. */
const UNSAFE_STRINGS = ['has space', 'a;reboot', '$(reboot)', '`id`', '-leading', 'a\nb', '../x', 'x'.repeat(300), ''];
const BAD_CIDRS = ['10.0.0.0/33', '10.0.0/24', '300.1.2.0/24', '10.0.0.0', '::/129', 'not-a-cidr', '10.0.0.0/024', '10.0.0.0/-1', '1.2.3.4/24/1'];
const BAD_MACS = ['52:54:00:00:00', 'zz:54:00:00:00:01', '52-54-00-00-00-01', '5254.0000.0001', '52:54:00:00:00:01:02'];

function matches(schema: OpenApiSchema, s: string): boolean {
  if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern as string, 'u').test(s)) return false;
  if (typeof schema.maxLength === 'number' && s.length > schema.maxLength) return false;
  if (typeof schema.minLength === 'number' && s.length < schema.minLength) return false;
  if (schema.format === 'cidr' && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s)) return false;
  if (schema.format === 'mac' && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(s)) return false;
  if (schema.format === 'date-time' && !/T/.test(s)) return false;
  return true;
}

/** A minimal value the schema accepts (semantics aside). */
export function minimal(schema: OpenApiSchema): unknown {
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'string':
      return STRING_CANDIDATES.find((c) => matches(schema, c)) ?? 'a';
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'array':
      return typeof schema.minItems === 'number' && schema.minItems > 0 && schema.items ? [minimal(schema.items)] : [];
    case 'object': {
      const out: Obj = {};
      for (const r of schema.required ?? []) if (schema.properties?.[r]) out[r] = minimal(schema.properties[r]!);
      const oneOf = schema.oneOf as { required?: string[] }[] | undefined;
      const first = oneOf?.[0]?.required?.[0];
      if (first && schema.properties?.[first] && out[first] === undefined) out[first] = minimal(schema.properties[first]!);
      return out;
    }
    default:
      return 'a';
  }
}

/** A value of the wrong type for the schema. */
function wrongType(schema: OpenApiSchema): unknown {
  switch (schema.type) {
    case 'string':
      return 12345;
    case 'integer':
      return 'twelve';
    case 'number':
      return 'twelve';
    case 'boolean':
      return 'yes please';
    case 'array':
      return 'not-a-list';
    case 'object':
      return 'not-a-mapping';
    default:
      return null;
  }
}

/** Every value that must be refused for this leaf, with a label. */
function badValues(schema: OpenApiSchema): [string, unknown][] {
  const out: [string, unknown][] = [['wrong type', wrongType(schema)]];
  if (schema.type === 'integer') {
    out.push(['fraction', 1.5]);
    if (typeof schema.minimum === 'number') out.push([`below minimum ${schema.minimum}`, schema.minimum - 1]);
    if (typeof schema.maximum === 'number') out.push([`above maximum ${schema.maximum}`, schema.maximum + 1]);
    if (schema.format === 'int64') out.push(['beyond a safe integer', 2 ** 64]);
  }
  if (schema.enum) out.push(['outside the enum', 'not-one-of-them']);
  if (schema.type === 'string' && !schema.enum) {
    if (typeof schema.maxLength === 'number') out.push([`longer than ${schema.maxLength}`, 'a'.repeat(schema.maxLength + 1)]);
    if (typeof schema.minLength === 'number' && schema.minLength > 0) out.push(['empty', '']);
    if (schema.format === 'cidr') for (const c of BAD_CIDRS) out.push([`malformed CIDR ${JSON.stringify(c)}`, c]);
    if (schema.format === 'mac') for (const c of BAD_MACS) out.push([`malformed MAC ${JSON.stringify(c)}`, c]);
    if (typeof schema.pattern === 'string') {
      for (const u of UNSAFE_STRINGS) if (!matches({ pattern: schema.pattern }, u)) out.push([`unsafe ${JSON.stringify(u.slice(0, 20))}`, u]);
    }
  }
  if (schema.type === 'array' && typeof schema.minItems === 'number' && schema.minItems > 0) out.push(['empty list', []]);
  return out;
}

interface Located {
  /** JSON pointer segments below the object root (e.g. ['spec', 'subnets', '0', 'cidr']). */
  path: string[];
  schema: OpenApiSchema;
}

/** Every node of a spec schema, arrays entered at item 0. */
function walk(schema: OpenApiSchema, path: string[], out: Located[]): Located[] {
  out.push({ path, schema });
  if (schema.type === 'object' && schema.properties) {
    for (const [k, v] of Object.entries(schema.properties)) walk(v, [...path, k], out);
  }
  if (schema.type === 'array' && schema.items) walk(schema.items, [...path, '0'], out);
  return out;
}

/** The schema nodes along `path` from `root`. */
function schemasAlong(root: OpenApiSchema, path: string[]): OpenApiSchema[] {
  const out: OpenApiSchema[] = [root];
  let s: OpenApiSchema | undefined = root;
  for (const seg of path) {
    s = s?.type === 'array' ? s.items : s?.properties?.[seg];
    if (!s) break;
    out.push(s);
  }
  return out;
}

/** Sets `value` at `path` in a copy of `obj`, creating missing ancestors as minimal valid values. */
function setAt(obj: Obj, root: OpenApiSchema, path: string[], value: unknown): Obj {
  const copy = structuredClone(obj);
  const schemas = schemasAlong(root, path);
  let cur: unknown = copy;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i]!;
    const container = cur as Record<string, unknown>;
    const next = schemas[i + 1]!;
    const kind = next.type === 'array' ? 'array' : 'object';
    const existing = container[seg];
    if (existing === undefined || existing === null || (kind === 'array' ? !Array.isArray(existing) : typeof existing !== 'object' || Array.isArray(existing))) {
      container[seg] = kind === 'array' ? [] : minimal(next);
    }
    if (kind === 'array') {
      const arr = container[seg] as unknown[];
      if (arr.length === 0) arr.push(minimal(next.items ?? {}));
    }
    cur = container[seg];
  }
  (cur as Record<string, unknown>)[path[path.length - 1]!] = value;
  return copy;
}

function deleteAt(obj: Obj, root: OpenApiSchema, path: string[]): Obj {
  // Materialize the parent, then delete the leaf.
  const parent = path.slice(0, -1);
  const schemas = schemasAlong(root, parent);
  const parentSchema = schemas[schemas.length - 1]!;
  let copy = obj;
  const existing = getAt(obj, parent);
  if (existing === undefined || typeof existing !== 'object' || existing === null) copy = setAt(obj, root, parent, minimal(parentSchema));
  else copy = structuredClone(obj);
  const container = getAt(copy, parent) as Record<string, unknown>;
  delete container[path[path.length - 1]!];
  return copy;
}

function getAt(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** `spec.subnets[0].cidr` for ['spec', 'subnets', '0', 'cidr']. */
export function fieldOf(path: string[]): string {
  let out = '';
  for (const p of path) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

function without(obj: Obj, key: string): Obj {
  const { [key]: _gone, ...rest } = obj;
  return rest;
}

function yaml(obj: unknown): string {
  return dump(obj, { lineWidth: -1, noRefs: true });
}

// ---------------------------------------------------------------------------
// The corpus

/** A case whose bad document shares case.yaml with the valid BESIDE document. */
function docCase(category: string, name: string, badDocs: string, field?: string): CorpusCase {
  return { category, name, level: 'document', field, files: [...baseFiles(), { path: CASE_FILE, text: `${BESIDE}---\n${badDocs}` }] };
}

/** A case whose whole file is refused: BESIDE gets its own file. */
function fileCase(category: string, name: string, text: string, field?: string, size?: number): CorpusCase {
  const bad: ManifestFile = size === undefined ? { path: CASE_FILE, text } : { path: CASE_FILE, text, size };
  return { category, name, level: 'file', field, files: [...baseFiles(), { path: BESIDE_FILE, text: BESIDE }, bad] };
}

/** The schema-derived cases: for every kind, every node of its spec schema. */
function schemaCases(): CorpusCase[] {
  const out: CorpusCase[] = [];
  const tpl = templates();
  for (const crd of loadCrds()) {
    const base = tpl[crd.kind];
    if (!base) throw new Error(`no corpus template for kind ${crd.kind}: add one to test/corpus/generate.ts`);
    const root: OpenApiSchema = { type: 'object', properties: { spec: crd.schema.properties!.spec! }, required: ['spec'] };
    for (const node of walk(root.properties!.spec!, ['spec'], [])) {
      const field = fieldOf(node.path);
      // Every required field missing.
      for (const r of node.schema.type === 'object' ? (node.schema.required ?? []) : []) {
        const path = [...node.path, r];
        out.push(docCase('required field missing', `${crd.kind} ${fieldOf(path)} missing`, yaml(deleteAt(base, root, path)), fieldOf(path)));
      }
      // Unknown fields where the schema is closed.
      if (node.schema.type === 'object' && node.schema.properties && !node.schema['x-kubernetes-preserve-unknown-fields']) {
        const path = [...node.path, 'bogusField'];
        out.push(docCase('unknown field', `${crd.kind} ${fieldOf(path)}`, yaml(setAt(base, root, path, 1)), fieldOf(path)));
      }
      // Wrong types, out-of-range numbers, enums, lengths, CIDRs, MACs, unsafe strings.
      if (node.path.length > 1) {
        for (const [label, value] of badValues(node.schema)) {
          const category = label.startsWith('wrong type') ? 'wrong type' : label.startsWith('unsafe') ? 'unsafe string' : label.startsWith('malformed') ? 'malformed value' : 'out of range';
          out.push(docCase(category, `${crd.kind} ${field}: ${label}`, yaml(setAt(base, root, node.path, value)), field));
        }
      }
    }
    // The object around the spec.
    const name = (base.metadata as Obj).name as string;
    const withMeta = (meta: unknown) => yaml({ ...base, metadata: meta });
    for (const u of ['has space', 'a;reboot', '$(reboot)', '-leading', 'UPPER', 'x'.repeat(254), 'a_b', 'a/b', 'trailing-', '']) {
      out.push(docCase('unsafe name', `${crd.kind} metadata.name ${JSON.stringify(u.slice(0, 20))}`, withMeta({ name: u }), 'metadata.name'));
    }
    out.push(docCase('required field missing', `${crd.kind} metadata.name missing`, withMeta({ labels: { a: 'b' } }), 'metadata.name'));
    out.push(docCase('required field missing', `${crd.kind} metadata missing`, yaml(without(base, 'metadata')), 'metadata'));
    out.push(docCase('wrong type', `${crd.kind} metadata.labels not strings`, withMeta({ name, labels: { a: 1 } }), 'metadata'));
    out.push(docCase('required field missing', `${crd.kind} spec missing`, yaml(without(base, 'spec')), 'spec'));
    out.push(docCase('wrong type', `${crd.kind} spec a list`, yaml({ ...base, spec: [1, 2] }), 'spec'));
    out.push(docCase('unknown field', `${crd.kind} unknown top-level field`, yaml({ ...base, extra: 1 }), 'extra'));
    if (crd.namespaced) {
      for (const u of ['Bad_NS', 'has space', '-x', 'x'.repeat(64)]) {
        out.push(docCase('unsafe name', `${crd.kind} metadata.namespace ${JSON.stringify(u.slice(0, 20))}`, withMeta({ name, namespace: u }), 'metadata.namespace'));
      }
    } else {
      out.push(docCase('unknown field', `${crd.kind} namespace on a cluster-scoped kind`, withMeta({ name, namespace: 'shop' }), 'metadata.namespace'));
    }
  }
  return out;
}

const NET = (name: string, spec: string) => `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const SUBNET = (lines: string) => NET('bad-net', `  physicalNetwork: physnet1\n  vlan: {id: 2600}\n  subnets:\n    - name: s\n${lines}`);

function documentCases(): CorpusCase[] {
  const out: CorpusCase[] = [];
  const add = (category: string, name: string, text: string, field?: string) => out.push(docCase(category, name, text, field));
  // Documents that are not objects, or not netform's.
  add('shape', 'a scalar document', 'just a string\n', '(document)');
  add('shape', 'a list document', '- apiVersion: netform.io/v1alpha1\n- kind: Network\n', '(document)');
  add('shape', 'kind without apiVersion', 'kind: Network\nmetadata: {name: x}\nspec: {physicalNetwork: p}\n', 'apiVersion');
  add('shape', 'a version not served', 'apiVersion: netform.io/v2\nkind: Network\nmetadata: {name: x}\nspec: {physicalNetwork: p}\n', 'apiVersion');
  add('shape', 'an unknown kind', 'apiVersion: netform.io/v1alpha1\nkind: Subnet\nmetadata: {name: x}\nspec: {}\n', 'kind');
  add('shape', 'kind of the wrong type', 'apiVersion: netform.io/v1alpha1\nkind: [Network]\nmetadata: {name: x}\nspec: {}\n', 'kind');
  // Duplicate keys, named.
  add('duplicate key', 'kind twice', 'apiVersion: netform.io/v1alpha1\nkind: Network\nkind: Cluster\nmetadata: {name: x}\nspec: {}\n', 'kind');
  add('duplicate key', 'metadata.name twice', 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: x\n  name: y\nspec: {}\n', 'metadata.name');
  add('duplicate key', 'a nested key twice', NET('dk', '  physicalNetwork: physnet1\n  vlan:\n    id: 2601\n    id: 2602\n'), 'spec.vlan.id');
  add('duplicate key', 'a key twice in a flow mapping', NET('dk', '  physicalNetwork: physnet1\n  subnets: [{name: a, cidr: 10.5.0.0/24, name: b}]\n'), 'spec.subnets[0].name');
  add('duplicate key', 'a quoted key and a plain one', 'apiVersion: netform.io/v1alpha1\nkind: Cluster\n"metadata": {name: x}\nmetadata: {name: y}\nspec: {}\n', 'metadata');
  // Alias bombs, circular values, nesting through aliases.
  const laughs = (levels: number, width: number) => {
    let t = 'lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i <= levels; i++) t += `lol${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]\n`;
    return t;
  };
  const NET_HEAD = 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: bomb\n';
  add('alias bomb', 'billion laughs in a subnet name (a list-map key)', `${laughs(9, 10)}${NET_HEAD}spec:\n  physicalNetwork: physnet1\n  subnets:\n    - name: *l9\n      cidr: 10.9.0.0/24\n`, 'lol4[7]');
  add('alias bomb', 'billion laughs in labels', `${laughs(12, 9)}${NET_HEAD}  labels: *l12\nspec: {physicalNetwork: physnet1}\n`);
  add('alias bomb', 'billion laughs as an unknown field', `${laughs(9, 10)}${NET_HEAD}spec:\n  physicalNetwork: physnet1\n  extra: *l9\n`);
  add('alias bomb', 'one wide anchor aliased thousands of times', `wide: &w [${Array.from({ length: 2000 }, (_, i) => i).join(', ')}]\n${NET_HEAD}spec:\n  physicalNetwork: physnet1\n  extra: [${Array.from({ length: 200 }, () => '*w').join(', ')}]\n`, 'spec.extra');
  add('alias bomb', 'billion laughs of mappings', `a0: &a0 {k0: v, k1: v, k2: v, k3: v, k4: v, k5: v, k6: v, k7: v}\n${Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} {${Array.from({ length: 8 }, (_, j) => `k${j}: *a${i}`).join(', ')}}`).join('\n')}\n${NET_HEAD}spec: *a8\n`);
  add('circular alias', 'an alias inside its anchor, as a list-map key', `${NET_HEAD}spec:\n  physicalNetwork: physnet1\n  subnets:\n    - name: &s [*s]\n      cidr: 10.9.0.0/24\n`, 'spec.subnets[0].name[0]');
  add('circular alias', 'the subnets list inside itself', `${NET_HEAD}spec:\n  physicalNetwork: physnet1\n  subnets: &s\n    - name: *s\n      cidr: 10.9.0.0/24\n`, 'spec.subnets[0].name');
  add('circular alias', 'the document inside itself', `&doc\n${NET_HEAD}spec: {physicalNetwork: physnet1}\nself: *doc\n`, 'self');
  add('circular alias', 'metadata inside its labels', `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: &m\n  name: x\n  labels: *m\nspec: {}\n`, 'metadata.labels');
  let deepAlias = 'd0: &d0 x\n';
  for (let i = 1; i <= 12; i++) deepAlias += `d${i}: &d${i} [[[[[[[[*d${i - 1}]]]]]]]]\n`;
  add('deep nesting', 'nesting past the limit through aliases', `${deepAlias}${NET_HEAD}spec: {physicalNetwork: physnet1, extra: *d12}\n`);
  // References to objects that do not exist.
  add('dangling reference', 'a network on a provider that does not exist', NET('dangling', '  physicalNetwork: physnet1\n  vlan: {id: 2603}\n  providerRefs: [{name: nope}]\n'), 'spec.providerRefs[0].name');
  add('dangling reference', 'a network from a pool that does not exist', NET('dangling', '  physicalNetwork: physnet1\n  vlan: {poolRef: {name: nope}}\n'), 'spec.vlan.poolRef.name');
  add('dangling reference', 'a cluster with a network that does not exist', 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: dangling}\nspec:\n  networks: [{name: nope}]\n', 'spec.networks[0].name');
  add('dangling reference', 'a host in a cluster that does not exist', 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: dangling}\nspec:\n  cluster: nope\n', 'spec.cluster');
  add('dangling reference', 'a host placing a network that does not exist', 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: dangling}\nspec:\n  cluster: default\n  nics: [{name: eth0}]\n  networks: [{name: nope, interface: eth0}]\n', 'spec.networks[0].name');
  add('dangling reference', 'a host placing a network on a NIC it lacks', 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: dangling}\nspec:\n  cluster: default\n  nics: [{name: eth0}]\n  networks: [{name: web, interface: eth9}]\n', 'spec.networks[0].interface');
  add('dangling reference', 'a bond of NICs the host lacks', 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: dangling}\nspec:\n  cluster: default\n  nics: [{name: eth0}]\n  bonds: [{name: bond0, mode: 802.3ad, members: [eth8, eth9]}]\n', 'spec.bonds[0].members[0]');
  add('dangling reference', 'a vNIC on a network that does not exist', 'apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: dangling, namespace: shop}\nspec: {vm: {name: v}, interfaceName: nic1, network: nope, host: demo}\n', 'spec.network');
  add('dangling reference', 'a vNIC on a host that does not exist', 'apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: dangling, namespace: shop}\nspec: {vm: {name: v}, interfaceName: nic1, network: web, host: nope}\n', 'spec.host');
  // Clashes.
  add('clash', 'two networks with one VLAN on a physical network', NET('clash', '  physicalNetwork: physnet1\n  vlan: {id: 2101}\n'), 'spec.vlan.id');
  add('clash', 'a VLAN a pool reserves', NET('clash', '  physicalNetwork: physnet1\n  vlan: {id: 155}\n'), 'spec.vlan.id');
  add('clash', 'overlapping subnets', NET('clash', '  physicalNetwork: physnet1\n  vlan: {id: 2604}\n  subnets:\n    - {name: a, cidr: 10.8.0.0/16}\n    - {name: b, cidr: 10.8.4.0/24}\n'), 'spec.subnets[1].cidr');
  add('clash', 'two subnets with one name', NET('clash', '  physicalNetwork: physnet1\n  vlan: {id: 2605}\n  subnets:\n    - {name: a, cidr: 10.8.0.0/24}\n    - {name: a, cidr: 10.9.0.0/24}\n'), 'spec.subnets[1]');
  add('clash', 'overlapping pool ranges', 'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: clash}\nspec:\n  ranges:\n    - {physicalNetwork: physnet8, min: 10, max: 20}\n    - {physicalNetwork: physnet8, min: 15, max: 30}\n', 'spec.ranges[1]');
  add('clash', 'a pool range upside down', 'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: clash}\nspec:\n  ranges:\n    - {physicalNetwork: physnet8, min: 30, max: 20}\n', 'spec.ranges[0].max');
  add('clash', 'a cluster role held twice', 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: clash}\nspec:\n  networks:\n    - {name: web, roles: [migration]}\n    - {name: db, roles: [migration]}\n', 'spec.networks[1].roles');
  add('clash', 'a NIC in two bonds', 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: clash}\nspec:\n  cluster: default\n  nics: [{name: eth0}, {name: eth1}]\n  bonds:\n    - {name: bond0, mode: active-backup, members: [eth0, eth1]}\n    - {name: bond1, mode: active-backup, members: [eth1]}\n', 'spec.bonds[1].members[0]');
  add('clash', 'a vNIC on a network closed to its namespace', 'apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: clash, namespace: other}\nspec: {vm: {name: v}, interfaceName: nic1, network: db, host: demo}\n', 'spec.network');
  for (const [kind, doc] of [
    ['Network', NET('web', '  physicalNetwork: physnet1\n  vlan: {id: 2606}\n')],
    ['VlanPool', 'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: tenant-vlans}\nspec: {ranges: [{physicalNetwork: physnet9, min: 1, max: 2}]}\n'],
    ['Cluster', 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: default}\nspec: {}\n'],
    ['Host', 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: demo}\nspec: {cluster: default}\n'],
    ['Provider', 'apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: openstack}\nspec: {type: neutron, endpoint: "http://127.0.0.1:1", neutron: {auth: noauth}}\n'],
    ['VnicAttachment', 'apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: web1-nic1, namespace: shop}\nspec: {vm: {name: v}, interfaceName: nic1, network: web, host: demo}\n'],
  ] as const) {
    const name = /name: ([^,}\n]+)/.exec(doc)![1]!;
    const key = kind === 'VnicAttachment' ? `${kind}/shop/${name}` : `${kind}/${name}`;
    out.push({ ...docCase('clash', `a second ${kind} with a name already declared`, doc, 'metadata.name'), held: [key] });
  }
  // Values Neutron would refuse later.
  add('neutron refuses', 'allocation pool outside the CIDR', SUBNET('      cidr: 10.20.0.0/24\n      allocationPools: [{start: 10.21.0.1, end: 10.21.0.9}]\n'), 'spec.subnets[0].allocationPools[0].start');
  add('neutron refuses', 'allocation pools overlapping', SUBNET('      cidr: 10.20.0.0/24\n      allocationPools: [{start: 10.20.0.10, end: 10.20.0.20}, {start: 10.20.0.20, end: 10.20.0.30}]\n'), 'spec.subnets[0].allocationPools[1]');
  add('neutron refuses', 'allocation pool upside down', SUBNET('      cidr: 10.20.0.0/24\n      allocationPools: [{start: 10.20.0.20, end: 10.20.0.10}]\n'), 'spec.subnets[0].allocationPools[0].end');
  add('neutron refuses', 'allocation pool holding the gateway', SUBNET('      cidr: 10.20.0.0/24\n      gateway: 10.20.0.15\n      allocationPools: [{start: 10.20.0.10, end: 10.20.0.20}]\n'), 'spec.subnets[0].allocationPools[0]');
  add('neutron refuses', 'allocation pool reaching the broadcast address', SUBNET('      cidr: 10.20.0.0/24\n      allocationPools: [{start: 10.20.0.200, end: 10.20.0.255}]\n'), 'spec.subnets[0].allocationPools[0].end');
  add('neutron refuses', 'gateway on the network address', SUBNET('      cidr: 10.20.0.0/24\n      gateway: 10.20.0.0\n'), 'spec.subnets[0].gateway');
  add('neutron refuses', 'gateway on the broadcast address', SUBNET('      cidr: 10.20.0.0/24\n      gateway: 10.20.0.255\n'), 'spec.subnets[0].gateway');
  add('neutron refuses', 'gateway outside the CIDR', SUBNET('      cidr: 10.20.0.0/24\n      gateway: 10.30.0.1\n'), 'spec.subnets[0].gateway');
  add('neutron refuses', 'gateway that is not an address', SUBNET('      cidr: 10.20.0.0/24\n      gateway: router\n'), 'spec.subnets[0].gateway');
  add('neutron refuses', 'gateway of the other IP version', SUBNET('      cidr: 10.20.0.0/24\n      gateway: "2001:db8::1"\n'), 'spec.subnets[0].gateway');
  add('neutron refuses', 'DNS server that is a name', SUBNET('      cidr: 10.20.0.0/24\n      dnsServers: [dns.example.net]\n'), 'spec.subnets[0].dnsServers[0]');
  add('neutron refuses', 'DNS server with a port', SUBNET('      cidr: 10.20.0.0/24\n      dnsServers: ["10.20.0.53:53"]\n'), 'spec.subnets[0].dnsServers[0]');
  add('neutron refuses', 'DNS server of the other IP version', SUBNET('      cidr: 10.20.0.0/24\n      dnsServers: ["2001:db8::53"]\n'), 'spec.subnets[0].dnsServers[0]');
  add('neutron refuses', 'DNS server given twice', SUBNET('      cidr: 10.20.0.0/24\n      dnsServers: [10.20.0.53, 10.20.0.53]\n'), 'spec.subnets[0].dnsServers[1]');
  add('neutron refuses', 'host route to an address, not a CIDR', SUBNET('      cidr: 10.20.0.0/24\n      hostRoutes: [{destination: 10.30.0.1, nexthop: 10.20.0.1}]\n'), 'spec.subnets[0].hostRoutes[0].destination');
  add('neutron refuses', 'host route with host bits set', SUBNET('      cidr: 10.20.0.0/24\n      hostRoutes: [{destination: 10.30.0.1/16, nexthop: 10.20.0.1}]\n'), 'spec.subnets[0].hostRoutes[0].destination');
  add('neutron refuses', 'host route via a name', SUBNET('      cidr: 10.20.0.0/24\n      hostRoutes: [{destination: 10.30.0.0/16, nexthop: gw}]\n'), 'spec.subnets[0].hostRoutes[0].nexthop');
  add('neutron refuses', 'host route via the other IP version', SUBNET('      cidr: 10.20.0.0/24\n      hostRoutes: [{destination: 10.30.0.0/16, nexthop: "2001:db8::1"}]\n'), 'spec.subnets[0].hostRoutes[0].nexthop');
  add('neutron refuses', 'IPv6 host route on an IPv4 subnet', SUBNET('      cidr: 10.20.0.0/24\n      hostRoutes: [{destination: "2001:db8::/32", nexthop: "2001:db8::1"}]\n'), 'spec.subnets[0].hostRoutes[0].destination');
  add('neutron refuses', 'ipv6RaMode on an IPv4 subnet', SUBNET('      cidr: 10.20.0.0/24\n      ipv6RaMode: slaac\n'), 'spec.subnets[0].ipv6RaMode');
  add('neutron refuses', 'ipv6AddressMode on an IPv4 subnet', SUBNET('      cidr: 10.20.0.0/24\n      ipv6AddressMode: dhcpv6-stateful\n'), 'spec.subnets[0].ipv6AddressMode');
  add('neutron refuses', 'IPv6 modes that differ', SUBNET('      cidr: "2001:db8:20::/64"\n      ipv6RaMode: slaac\n      ipv6AddressMode: dhcpv6-stateless\n'), 'spec.subnets[0].ipv6RaMode');
  add('neutron refuses', 'SLAAC on a /80', SUBNET('      cidr: "2001:db8:20::/80"\n      ipv6AddressMode: slaac\n'), 'spec.subnets[0].cidr');
  add('neutron refuses', 'ipVersion that contradicts the CIDR', SUBNET('      cidr: 10.20.0.0/24\n      ipVersion: 6\n'), 'spec.subnets[0].ipVersion');
  add('neutron refuses', 'CIDR with host bits set', SUBNET('      cidr: 10.20.0.1/24\n'), 'spec.subnets[0].cidr');
  add('neutron refuses', 'two neutron providers on one network', NET('two-neutrons', '  physicalNetwork: physnet1\n  vlan: {id: 2607}\n  providerRefs: [{name: openstack}, {name: second}]\n---\napiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: second}\nspec: {type: neutron, endpoint: "http://127.0.0.1:2", neutron: {auth: noauth}}\n'), 'spec.providerRefs[1]');
  add('neutron refuses', 'keystone without credentials or authUrl', 'apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: ks}\nspec: {type: neutron, endpoint: "https://n.example.net"}\n', 'spec.credentials');
  add('neutron refuses', 'an endpoint carrying a password', 'apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: ks}\nspec: {type: neutron, endpoint: "https://user:pw@n.example.net", neutron: {auth: noauth}}\n', 'spec.endpoint');
  // Values UCS Manager would refuse later (ucsm.md: fabricVlan.id 1-4042, 4048-4093; reserved 3915-4042).
  for (const id of [3915, 4000, 4042, 4043, 4045, 4047, 4094]) {
    add('ucsm refuses', `VLAN ${id} on a UCS Manager provider`, NET('on-ucs', `  physicalNetwork: physnet1\n  vlan: {id: ${id}}\n  providerRefs: [{name: ucs-east}]\n`), 'spec.vlan.id');
  }
  add('ucsm refuses', 'an untagged network on a UCS Manager provider', NET('on-ucs', '  physicalNetwork: physnet5\n  providerRefs: [{name: ucs-west}]\n'), 'spec.providerRefs[0].name');
  add('ucsm refuses', 'a UCS Manager provider without credentials', 'apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: ucs-x}\nspec: {type: ucsm, endpoint: "https://u.example.net"}\n', 'spec.credentials');
  return out;
}

/** A seeded generator of bytes (xorshift32), so binary garbage is the same on every run. */
function bytes(seed: number, n: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function fileCases(): CorpusCase[] {
  const out: CorpusCase[] = [];
  const add = (category: string, name: string, text: string, field?: string, size?: number) => out.push(fileCase(category, name, text, field, size));
  const DOC = 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: broken\n';
  // Not YAML.
  add('syntax', 'a tab in the indentation', `${DOC}spec:\n\tnetworks: []\n`, 'spec');
  add('syntax', 'an unterminated quote', `${DOC}spec:\n  description: "never ends\n`);
  add('syntax', 'bad indentation', `${DOC}spec:\n  networks:\n  - name: a\n     roles: [vm]\n`);
  add('syntax', 'an unclosed flow sequence', `${DOC}spec:\n  networks: [{name: a}\n`);
  add('syntax', 'a stray bracket', `${DOC}spec: {}\n]\n`);
  add('syntax', 'a key with two colons', `${DOC}spec:\n  description: a: b\n`, 'spec.description');
  add('syntax', 'an unknown tag', `${DOC}spec: !!python/object:os.system {}\n`, 'spec');
  add('syntax', 'a custom tag', `${DOC}spec: !vault |\n  abc\n`, 'spec');
  add('syntax', 'an undefined alias', `${DOC}spec: *nowhere\n`, 'spec');
  add('syntax', 'a bad escape', `${DOC}spec: {description: "\\q"}\n`, 'spec.description');
  add('syntax', 'a directive twice', `%YAML 1.2\n%YAML 1.2\n---\n${DOC}spec: {}\n`);
  add('syntax', 'a JSON file cut short', '{"apiVersion": "netform.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "j"}, "spec": {');
  // Too deep: the parser's own limit, on the stack's side.
  add('deep nesting', '100,000 nested flow sequences', `${DOC}spec: {x: ${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`);
  add('deep nesting', '200 nested block sequences', `${DOC}spec:\n  x:\n${Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i + 2)}-`).join('\n')} x\n`);
  add('deep nesting', '70 nested mappings', `${DOC}spec:\n${Array.from({ length: 70 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')} x\n`);
  // Too large.
  const doc = (i: number) => `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: big-${i}}\nspec: {}\n`;
  const big = Array.from({ length: 270_000 }, (_, i) => doc(i)).join('---\n');
  add('size', `a ${Math.round(big.length / 1e6)} MB file`, big, '(file)');
  add('size', 'a 20 MB file a reader did not read', '', '(file)', 20 * 1024 * 1024);
  add('size', 'just over 1 MiB of comments', `${DOC}spec: {}\n#${'x'.repeat(1024 * 1024)}\n`, '(file)');
  // Binary garbage (decoded as UTF-8 with replacement characters, as a reader would).
  for (const seed of [1, 2, 3, 42, 1234]) add('binary garbage', `4 KiB of random bytes (seed ${seed})`, bytes(seed, 4096).toString('utf8'));
  add('binary garbage', 'NUL bytes', '\0'.repeat(1000));
  add('binary garbage', 'a PNG header', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]).toString('latin1'));
  add('binary garbage', 'UTF-16 text read as UTF-8', Buffer.from(`\ufeff${DOC}spec: {}\n`, 'utf16le').toString('utf8'));
  add('binary garbage', 'control characters in a manifest', `${DOC}spec: {description: "a\u0007b"}\n\u0001\n`);
  add('binary garbage', 'a gzip header', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0xcb, 0x48, 0xcd, 0xc9]).toString('latin1'));
  return out;
}

/** The whole corpus, in a stable order. */
export function generateCorpus(): CorpusCase[] {
  const cases = [...schemaCases(), ...documentCases(), ...fileCases()];
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.name)) throw new Error(`duplicate corpus case name: ${c.name}`);
    seen.add(c.name);
  }
  return cases;
}

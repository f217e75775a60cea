// The conversion between netform.io/v1alpha1 and v1beta1 (src/api/versions.ts): lossless both ways on
// every example and on 1,000 generated specs, the moves one by one, and the CRDs generated from them.
import { seeded } from '../../test/harness/fault-proxy.ts'; // mulberry32
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { loadCrds, type CrdInfo, type OpenApiSchema } from './crds.ts';
import { isKind, KINDS, type Kind } from './kinds.ts';
import { hubSpec, validateSpec } from './validate.ts';
import {
  API_VERSIONS,
  DEPRECATED_VERSIONS,
  MOVES,
  conversionFor,
  convertFieldPath,
  convertObject,
  convertPointer,
  convertSpec,
  crdVersionFor,
  specSchemaFor,
  type ApiVersionName,
  type CrdVersion,
} from './versions.ts';

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function crdOf(kind: Kind): CrdInfo {
  const crd = loadCrds().find((c) => c.kind === kind);
  if (!crd) throw new Error(`no CRD for ${kind}`);
  return crd;
}

/** The spec schema of `kind` in `version`, from crds/. */
function specSchema(kind: Kind, version: ApiVersionName): OpenApiSchema {
  const spec = crdOf(kind).schemas[version]?.properties?.spec;
  if (!spec) throw new Error(`crds/ has no ${version} spec schema for ${kind}`);
  return spec;
}

/** The CRD manifest's entry of `spec.versions` for `version`. */
function crdVersion(kind: Kind, version: ApiVersionName): CrdVersion {
  const versions = (crdOf(kind).manifest.spec as { versions: CrdVersion[] }).versions;
  const v = versions.find((x) => x.name === version);
  if (!v) throw new Error(`${kind}: the CRD has no version ${version}`);
  return v;
}

const toBeta = (kind: Kind, spec: unknown): unknown => convertSpec(kind, spec, 'v1alpha1', 'v1beta1');
const toAlpha = (kind: Kind, spec: unknown): unknown => convertSpec(kind, spec, 'v1beta1', 'v1alpha1');

/** Every leaf of a JSON value (scalars, and empty objects and lists) with its JSON pointer. */
function leaves(v: unknown, pointer = ''): [string, unknown][] {
  if (Array.isArray(v)) return v.length === 0 ? [[pointer, v]] : v.flatMap((x, i) => leaves(x, `${pointer}/${i}`));
  if (isObj(v)) {
    const keys = Object.keys(v);
    return keys.length === 0 ? [[pointer, v]] : keys.flatMap((k) => leaves(v[k], `${pointer}/${k}`));
  }
  return [[pointer, v]];
}

/** The value at a JSON pointer (no escapes: netform's field names have neither `/` nor `~`). */
function at(root: unknown, pointer: string): { found: boolean; value?: unknown } {
  let node = root;
  for (const token of pointer.split('/').slice(1)) {
    if (Array.isArray(node) && /^\d+$/.test(token) && Number(token) < node.length) node = node[Number(token)];
    else if (isObj(node) && Object.hasOwn(node, token)) node = node[token];
    else return { found: false };
  }
  return { found: true, value: node };
}

/** Whether a dotted field path (`spec.clusterRef.name`, `spec.vnics[*].network`) names a field of the
 *  object schema `root`. */
function schemaHasPath(root: OpenApiSchema, path: string): boolean {
  let node: OpenApiSchema | undefined = root;
  for (const part of path.split('.')) {
    const m = /^([^[]+)((?:\[[^\]]*\])*)$/.exec(part);
    if (!m) return false;
    node = node?.properties?.[m[1]!];
    for (let i = 0; i < (m[2]!.match(/\[/g) ?? []).length; i++) node = node?.items;
    if (!node) return false;
  }
  return true;
}

/** The schema of a dotted path under `spec` (`vnics[].profileRef` steps into the list's items). */
function schemaAt(spec: OpenApiSchema, path: string): OpenApiSchema | undefined {
  let node: OpenApiSchema | undefined = spec;
  for (const part of path.split('.')) {
    node = node?.properties?.[part.replace(/\[\]$/, '')];
    if (part.endsWith('[]')) node = node?.items;
  }
  return node;
}

/** The parsed YAML files under a directory, recursively. */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []))
    .sort();
}

interface Doc {
  file: string;
  index: number;
  kind: Kind;
  object: { apiVersion: string; kind: string; metadata?: Obj; spec?: unknown };
}

const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

/** Every netform document of every file under examples/, in its v1alpha1 form (the examples are
 *  written in v1beta1). */
function exampleDocs(): Doc[] {
  const out: Doc[] = [];
  for (const file of yamlFiles(EXAMPLES_DIR)) {
    loadAll(readFileSync(file, 'utf8')).forEach((doc, index) => {
      if (!isObj(doc) || typeof doc.apiVersion !== 'string' || !doc.apiVersion.startsWith('netform.io/')) return;
      if (!isKind(doc.kind)) throw new Error(`${file} #${index}: ${doc.apiVersion} kind ${String(doc.kind)} is not a netform kind`);
      const object = convertObject(doc as Doc['object'], doc.kind, 'v1alpha1');
      out.push({ file: file.slice(EXAMPLES_DIR.length), index, kind: doc.kind, object });
    });
  }
  return out;
}

// --- A deterministic generator of specs from a kind's v1alpha1 schema -------------------------------


/** Returned for a value the generator cannot make (a pattern none of its candidates match). */
const SKIP = Symbol('skip');
const OPTIONAL_P = 0.6;

class SpecGenerator {
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = seeded(seed);
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }

  /** A value valid for `schema`; `name` is the property's name (a list's name for its items), a hint
   *  for strings without a format (an address, a prefix, a URL). */
  value(schema: OpenApiSchema, name: string): unknown {
    if (Array.isArray(schema.enum)) return this.pick(schema.enum);
    switch (schema.type) {
      case 'object':
        return this.object(schema);
      case 'array':
        return this.array(schema, name);
      case 'boolean':
        return this.chance(0.5);
      case 'integer':
      case 'number': {
        const lo = typeof schema.minimum === 'number' ? schema.minimum : 0;
        const hi = typeof schema.maximum === 'number' ? schema.maximum : lo + 1000;
        return this.int(lo, Math.min(hi, lo + 100_000));
      }
      case 'string':
        return this.string(schema, name);
      default:
        throw new Error(`the generator knows no schema type ${String(schema.type)} (${name})`);
    }
  }

  private object(schema: OpenApiSchema): Obj {
    const props = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    const forbidden = new Set<string>();
    // oneOf / anyOf of {required: [x]} branches: exactly one branch's fields are set.
    for (const keyword of ['oneOf', 'anyOf'] as const) {
      const branches = schema[keyword] as OpenApiSchema[] | undefined;
      if (!branches) continue;
      if (!branches.every((b) => Array.isArray(b.required) && Object.keys(b).length === 1)) {
        throw new Error(`the generator knows only ${keyword} of {required: [...]} branches`);
      }
      const chosen = this.pick(branches);
      for (const r of chosen.required!) required.add(r);
      for (const b of branches) if (b !== chosen) for (const r of b.required!) if (!chosen.required!.includes(r)) forbidden.add(r);
    }
    const out: Obj = {};
    for (const [k, s] of Object.entries(props)) {
      if (forbidden.has(k)) continue;
      if (!required.has(k) && !this.chance(OPTIONAL_P)) continue;
      const v = this.value(s, k);
      if (v === SKIP) {
        if (required.has(k)) out[k] = 'unmatched'; // counted as invalid: a generator bug
        continue;
      }
      out[k] = v;
    }
    return out;
  }

  private array(schema: OpenApiSchema, name: string): unknown[] {
    const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
    const max = Math.max(min, Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 3, 3));
    const n = this.int(min, max);
    const mapKeys = schema['x-kubernetes-list-map-keys'] as string[] | undefined;
    const unique = schema['x-kubernetes-list-type'] === 'set' || schema.uniqueItems === true;
    const seen = new Set<string>();
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      // A list-map's items are unique by their key fields (a set's by their value): draw again on a clash.
      for (let attempt = 0; attempt < 20; attempt++) {
        const item = this.value(schema.items ?? {}, name);
        if (item === SKIP) break;
        const id = mapKeys ? JSON.stringify(mapKeys.map((k) => (item as Obj)[k])) : unique ? JSON.stringify(item) : undefined;
        if (id !== undefined && seen.has(id)) continue;
        if (id !== undefined) seen.add(id);
        out.push(item);
        break;
      }
    }
    return out;
  }

  private string(schema: OpenApiSchema, name: string): string | typeof SKIP {
    if (schema.format === 'cidr') return this.cidr();
    if (schema.format === 'mac') return this.mac();
    if (schema.format === 'ip' || schema.format === 'ipv4') return this.ipv4();
    if (schema.format === 'date-time') return new Date(Date.UTC(2024, this.int(0, 11), this.int(1, 28), this.int(0, 23))).toISOString();
    const hinted: (() => string)[] = [];
    if (/cidr$|^destination$/i.test(name)) hinted.push(() => this.cidr());
    if (/ipaddress|^address$|^gateway$|^nexthop$|^start$|^end$|^dnsServers$/i.test(name)) hinted.push(() => this.ipv4());
    if (/mac/i.test(name)) hinted.push(() => this.mac());
    if (/url$|^endpoint$/i.test(name)) hinted.push(() => this.url());
    if (/^description$|^reason$/.test(name)) hinted.push(() => `generated ${this.name()} text`);
    const candidates = [...hinted, () => this.name(), () => this.mac(), () => this.url(), () => this.ipv4(), () => this.cidr()];
    const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern) : undefined;
    const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
    for (const make of candidates) {
      const s = make();
      if (s.length >= minLength && s.length <= maxLength && (!pattern || pattern.test(s))) return s;
    }
    return SKIP;
  }

  /** A DNS-label-like name: `a`..`z`, a number, sometimes a dash. */
  private name(): string {
    const letter = String.fromCharCode(97 + this.int(0, 25));
    return this.chance(0.3) ? `${letter}-${this.int(0, 999)}` : `${letter}${this.int(0, 99)}`;
  }
  private cidr(): string {
    return this.chance(0.8) ? `10.${this.int(0, 255)}.${this.int(0, 255)}.0/24` : `2001:db8:${this.int(0, 0xffff).toString(16)}::/64`;
  }
  private ipv4(): string {
    return `10.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }
  private mac(): string {
    return ['02', ...Array.from({ length: 5 }, () => this.int(0, 255).toString(16).padStart(2, '0'))].join(':');
  }
  private url(): string {
    return `${this.pick(['http', 'https'])}://${this.name()}.example.net:${this.int(1024, 65535)}`;
  }
}

interface Generated {
  kind: Kind;
  spec: Obj;
}

const GENERATED_COUNT = 1000;

/** `count` specs spread over every kind (kind i % 13), from one seed. */
function generateSpecs(count: number, seed: number): Generated[] {
  const g = new SpecGenerator(seed);
  return Array.from({ length: count }, (_, i) => {
    const kind = KINDS[i % KINDS.length]!;
    return { kind, spec: g.value(specSchema(kind, 'v1alpha1'), 'spec') as Obj };
  });
}

// ---------------------------------------------------------------------------------------------------
// 1. The examples
// ---------------------------------------------------------------------------------------------------

describe('examples/: every v1alpha1 document converts to v1beta1 and back without loss', () => {
  const docs = exampleDocs();

  it('finds documents to check, some of which change shape in v1beta1', () => {
    expect(docs.length).toBeGreaterThan(0);
    const changed = docs.filter((d) => JSON.stringify(toBeta(d.kind, d.object.spec)) !== JSON.stringify(d.object.spec));
    expect(changed.length).toBeGreaterThan(0);
    // Every kind with moves that the examples use is changed by them.
    expect(new Set(changed.map((d) => d.kind)).size).toBeGreaterThan(3);
  });

  it.each(docs.map((d) => [`${d.file} #${d.index} ${d.kind}/${String(d.object.metadata?.name)}`, d] as const))('%s', (_, d) => {
    const original = structuredClone(d.object);
    const beta = convertObject(d.object, d.kind, 'v1beta1');
    expect(beta.apiVersion).toBe('netform.io/v1beta1');
    expect(beta.metadata).toStrictEqual(d.object.metadata);
    const back = convertObject(beta, d.kind, 'v1alpha1');
    // Deep-equal whatever the key order; and the original is left as it was.
    expect(back).toStrictEqual(d.object);
    expect(d.object).toStrictEqual(original);

    // The v1beta1 form is valid v1beta1, and means the same once the defaults are filled.
    const betaChecked = validateSpec(d.kind, beta.spec, 'v1beta1');
    expect(betaChecked.violations).toStrictEqual([]);
    const alphaChecked = validateSpec(d.kind, d.object.spec, 'v1alpha1');
    expect(alphaChecked.violations).toStrictEqual([]);
    const hub = hubSpec(d.kind, beta.spec, 'v1beta1');
    expect(hub.violations).toStrictEqual([]);
    expect(hub.spec).toStrictEqual(alphaChecked.spec);
  });
});

// ---------------------------------------------------------------------------------------------------
// 2. Generated specs
// ---------------------------------------------------------------------------------------------------

describe(`${GENERATED_COUNT} generated specs over every kind`, () => {
  const generated = generateSpecs(GENERATED_COUNT, 0x5eed);
  const checked = generated.map((g) => ({ ...g, violations: validateSpec(g.kind, g.spec, 'v1alpha1').violations }));
  const valid = checked.filter((c) => c.violations.length === 0);

  it('the generator is deterministic and makes valid specs (>= 95%, and some of every kind)', () => {
    expect(generateSpecs(20, 0x5eed)).toStrictEqual(generated.slice(0, 20));
    const invalid = checked.filter((c) => c.violations.length > 0);
    const failedFields = [...new Set(invalid.flatMap((c) => c.violations.map((v) => `${c.kind} ${v.pointer.replace(/\/\d+/g, '/*')}: ${v.message}`)))];
    expect(valid.length / generated.length, `invalid generated specs, by field: ${failedFields.join('; ')}`).toBeGreaterThanOrEqual(0.95);
    for (const kind of KINDS) expect(valid.filter((c) => c.kind === kind).length, kind).toBeGreaterThan(0);
    // Some moved fields were generated, or the round trips below would prove little.
    expect(valid.filter((c) => JSON.stringify(toBeta(c.kind, c.spec)) !== JSON.stringify(c.spec)).length).toBeGreaterThan(GENERATED_COUNT / 4);
  });

  it('v1alpha1 -> v1beta1 -> v1alpha1 and v1beta1 -> v1alpha1 -> v1beta1 are the identity', () => {
    const failures: string[] = [];
    for (const { kind, spec } of valid) {
      const beta = toBeta(kind, spec);
      const alpha = toAlpha(kind, beta);
      try {
        expect(alpha).toStrictEqual(spec);
        expect(toBeta(kind, alpha)).toStrictEqual(beta);
        // With the target's schema as the order of keys: the same values.
        expect(convertSpec(kind, spec, 'v1alpha1', 'v1beta1', specSchema(kind, 'v1beta1'))).toStrictEqual(beta);
      } catch {
        failures.push(`${kind} ${JSON.stringify(spec)} -> ${JSON.stringify(beta)} -> ${JSON.stringify(alpha)}`);
      }
    }
    expect(failures.slice(0, 5)).toStrictEqual([]);
  });

  it('the v1beta1 form is valid v1beta1 and means the same after defaults', () => {
    const failures: string[] = [];
    for (const { kind, spec } of valid) {
      const beta = toBeta(kind, spec);
      const { violations } = validateSpec(kind, beta, 'v1beta1');
      if (violations.length) failures.push(`${kind} ${JSON.stringify(beta)}: ${JSON.stringify(violations)}`);
      const hub = hubSpec(kind, beta, 'v1beta1').spec;
      const direct = validateSpec(kind, spec, 'v1alpha1').spec;
      if (JSON.stringify(sortKeys(hub)) !== JSON.stringify(sortKeys(direct))) {
        failures.push(`${kind} ${JSON.stringify(spec)}: hubSpec ${JSON.stringify(hub)} != ${JSON.stringify(direct)}`);
      }
    }
    expect(failures.slice(0, 5)).toStrictEqual([]);
  });

  it('convertPointer maps every leaf to where the same value is, both ways', () => {
    const failures: string[] = [];
    let checkedLeaves = 0;
    let movedLeaves = 0;
    for (const { kind, spec } of valid) {
      const alpha = { spec };
      const beta = { spec: toBeta(kind, spec) };
      for (const [from, to, a, b] of [
        ['v1alpha1', 'v1beta1', alpha, beta],
        ['v1beta1', 'v1alpha1', beta, alpha],
      ] as const) {
        for (const [pointer, value] of leaves(a.spec, '/spec')) {
          checkedLeaves++;
          const target = convertPointer(kind, pointer, from, to);
          if (target !== pointer) movedLeaves++;
          const found = at(b, target);
          if (!found.found || JSON.stringify(found.value) !== JSON.stringify(value)) {
            failures.push(`${kind} ${from} ${pointer} -> ${to} ${target}: ${found.found ? JSON.stringify(found.value) : 'absent'}, not ${JSON.stringify(value)}`);
          }
          const back = convertPointer(kind, target, to, from);
          if (back !== pointer) failures.push(`${kind} ${from} ${pointer} -> ${target} -> ${back}`);
        }
      }
    }
    expect(failures.slice(0, 10)).toStrictEqual([]);
    expect(checkedLeaves).toBeGreaterThan(GENERATED_COUNT);
    expect(movedLeaves).toBeGreaterThan(GENERATED_COUNT / 4);
  });
});

/** The value with every object's keys sorted (to compare whatever the order). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

// ---------------------------------------------------------------------------------------------------
// 3. The moves, one by one
// ---------------------------------------------------------------------------------------------------

describe('convertSpec: the moves', () => {
  it('Host: a bare cluster name becomes clusterRef.name, approval and syncPolicy go under lifecycle', () => {
    expect(toBeta('Host', { cluster: 'c' })).toStrictEqual({ clusterRef: { name: 'c' } });
    expect(toBeta('Host', { cluster: 'c', address: '10.0.0.1', approval: 'Manual', syncPolicy: 'Auto' })).toStrictEqual({
      clusterRef: { name: 'c' },
      address: '10.0.0.1',
      lifecycle: { approval: 'Manual', syncPolicy: 'Auto' },
    });
    expect(toAlpha('Host', { clusterRef: { name: 'c' } })).toStrictEqual({ cluster: 'c' });
  });

  const providerAlpha = {
    type: 'neutron',
    endpoint: 'https://neutron.example.net:9696',
    credentials: { secretRef: { name: 's', namespace: 'ns' } },
    tls: { insecureSkipVerify: true },
    requestTimeoutSeconds: 10,
    maxConcurrency: 2,
    approval: 'Manual',
    physicalNetworks: ['physnet1'],
  };
  const providerBeta = {
    type: 'neutron',
    connection: {
      endpoint: 'https://neutron.example.net:9696',
      credentials: { secretRef: { name: 's', namespace: 'ns' } },
      tls: { insecureSkipVerify: true },
      requestTimeoutSeconds: 10,
      maxConcurrency: 2,
    },
    lifecycle: { approval: 'Manual' },
    physicalNetworks: ['physnet1'],
  };

  it('Provider: endpoint, credentials, tls, requestTimeoutSeconds and maxConcurrency go under connection, approval under lifecycle', () => {
    expect(toBeta('Provider', providerAlpha)).toStrictEqual(providerBeta);
    expect(toAlpha('Provider', providerBeta)).toStrictEqual(providerAlpha);
    expect(validateSpec('Provider', providerBeta, 'v1beta1').violations).toStrictEqual([]);
    // Only what is there moves: no empty groups are made.
    expect(toBeta('Provider', { type: 'neutron', endpoint: 'http://x' })).toStrictEqual({ type: 'neutron', connection: { endpoint: 'http://x' } });
  });

  it('VmNetworkTemplate: vnics[i].network and vnics[i].profile become vnics[i].networkRef.name / profileRef.name in every item', () => {
    const alpha = {
      vnics: [
        { name: 'nic1', network: 'a', linked: true },
        { name: 'nic2', profile: 'p' },
        { name: 'nic3' },
        { name: 'nic4', network: 'b', profile: 'q' },
      ],
    };
    const beta = {
      vnics: [
        { name: 'nic1', networkRef: { name: 'a' }, linked: true },
        { name: 'nic2', profileRef: { name: 'p' } },
        { name: 'nic3' },
        { name: 'nic4', networkRef: { name: 'b' }, profileRef: { name: 'q' } },
      ],
    };
    expect(toBeta('VmNetworkTemplate', alpha)).toStrictEqual(beta);
    expect(toAlpha('VmNetworkTemplate', beta)).toStrictEqual(alpha);
  });

  it('converting back removes the grouping objects it empties, and leaves the others', () => {
    const back = toAlpha('Network', { physicalNetwork: 'p', lifecycle: { approval: 'Manual', allowReplace: true } }) as Obj;
    expect(back).toStrictEqual({ physicalNetwork: 'p', approval: 'Manual', allowReplace: true });
    expect(back).not.toHaveProperty('lifecycle');
    const provider = toAlpha('Provider', { type: 'ucsm', connection: { endpoint: 'https://u' }, ucsm: {} }) as Obj;
    expect(provider).toStrictEqual({ type: 'ucsm', endpoint: 'https://u', ucsm: {} });
    expect(provider).not.toHaveProperty('connection');
    const vnic = toAlpha('VnicAttachment', { networkRef: { name: 'n' }, hostRef: { name: 'h' }, profileRef: { name: 'p' } });
    // profileRef is a v1alpha1 field already: it stays.
    expect(vnic).toStrictEqual({ network: 'n', host: 'h', profileRef: { name: 'p' } });
  });

  it('leaves its input alone, and kinds without moves unchanged', () => {
    const input = structuredClone(providerAlpha);
    toBeta('Provider', input);
    expect(input).toStrictEqual(providerAlpha);
    const pool = { ranges: [{ min: 1, max: 10 }] };
    expect(toBeta('VlanPool', pool)).toStrictEqual(pool);
    expect(toBeta('VlanPool', pool)).not.toBe(pool);
    for (const kind of ['Cluster', 'MacPool', 'VlanPool'] as const) expect(MOVES[kind]).toStrictEqual([]);
  });

  it('puts moved fields in the order of the target schema when given one', () => {
    const beta = convertSpec('Network', { approval: 'Manual', mtu: 9000, physicalNetwork: 'p' }, 'v1alpha1', 'v1beta1', specSchema('Network', 'v1beta1'));
    const schemaOrder = Object.keys(specSchema('Network', 'v1beta1').properties!);
    expect(Object.keys(beta as Obj)).toStrictEqual(schemaOrder.filter((k) => ['physicalNetwork', 'mtu', 'lifecycle'].includes(k)));
  });

  it('convertObject converts the spec and the apiVersion, and refuses other groups', () => {
    const obj = { apiVersion: 'netform.io/v1alpha1', kind: 'Host', metadata: { name: 'h' }, spec: { cluster: 'c' }, status: { x: 1 } };
    expect(convertObject(obj, 'Host', 'v1beta1')).toStrictEqual({ ...obj, apiVersion: 'netform.io/v1beta1', spec: { clusterRef: { name: 'c' } } });
    expect(convertObject(obj, 'Host', 'v1alpha1')).toStrictEqual(obj);
    expect(() => convertObject({ ...obj, apiVersion: 'v1' }, 'Host', 'v1beta1')).toThrow(/not a version of netform.io/);
  });
});

describe('convertPointer and convertFieldPath', () => {
  it.each<[Kind, string, string]>([
    ['Host', '/spec/cluster', '/spec/clusterRef/name'],
    ['Host', '/spec/approval', '/spec/lifecycle/approval'],
    ['VmNetworkTemplate', '/spec/vnics/2/network', '/spec/vnics/2/networkRef/name'],
    ['VmNetworkTemplate', '/spec/vnics/0/profile', '/spec/vnics/0/profileRef/name'],
    ['Provider', '/spec/credentials/secretRef/name', '/spec/connection/credentials/secretRef/name'],
    ['Provider', '/spec/endpoint', '/spec/connection/endpoint'],
    ['Network', '/spec/allowReplace', '/spec/lifecycle/allowReplace'],
  ])('%s %s <-> %s', (kind, alpha, beta) => {
    expect(convertPointer(kind, alpha, 'v1alpha1', 'v1beta1')).toBe(beta);
    expect(convertPointer(kind, beta, 'v1beta1', 'v1alpha1')).toBe(alpha);
  });

  it('leaves untouched pointers as they are', () => {
    expect(convertPointer('Provider', '/spec/type', 'v1alpha1', 'v1beta1')).toBe('/spec/type');
    expect(convertPointer('VmNetworkTemplate', '/spec/vnics/2/name', 'v1alpha1', 'v1beta1')).toBe('/spec/vnics/2/name');
    expect(convertPointer('Host', '/metadata/name', 'v1alpha1', 'v1beta1')).toBe('/metadata/name');
    expect(convertPointer('Host', '/spec/clusterName', 'v1alpha1', 'v1beta1')).toBe('/spec/clusterName');
    expect(convertPointer('Host', '/spec/cluster', 'v1alpha1', 'v1alpha1')).toBe('/spec/cluster');
  });

  it('converts kubectl field paths', () => {
    expect(convertFieldPath('VnicAttachment', 'spec.host', 'v1alpha1', 'v1beta1')).toBe('spec.hostRef.name');
    expect(convertFieldPath('VnicAttachment', 'spec.hostRef.name', 'v1beta1', 'v1alpha1')).toBe('spec.host');
    expect(convertFieldPath('VnicAttachment', 'spec.interfaceName', 'v1alpha1', 'v1beta1')).toBe('spec.interfaceName');
    expect(convertFieldPath('VmNetworkTemplate', 'spec.vnics[2].network', 'v1alpha1', 'v1beta1')).toBe('spec.vnics[2].networkRef.name');
    expect(convertFieldPath('VmNetworkTemplate', 'spec.vnics[2].networkRef.name', 'v1beta1', 'v1alpha1')).toBe('spec.vnics[2].network');
    expect(convertFieldPath('Provider', 'spec.tls.caFile', 'v1alpha1', 'v1beta1')).toBe('spec.connection.tls.caFile');
    expect(convertFieldPath('Network', 'status.vlan', 'v1alpha1', 'v1beta1')).toBe('status.vlan');
  });
});

// ---------------------------------------------------------------------------------------------------
// 4. The CRDs
// ---------------------------------------------------------------------------------------------------

/** The objects v1beta1 makes to hold moved fields (`lifecycle`, `vnics[].networkRef`), by kind, with
 *  the moves into each. */
function groups(kind: Kind): Map<string, { from: string; to: string }[]> {
  const out = new Map<string, { from: string; to: string }[]>();
  for (const m of MOVES[kind]) {
    const parent = m.to.split('.').slice(0, -1).join('.');
    if (!parent || m.from.split('.').slice(0, -1).join('.') === parent) continue;
    out.set(parent, [...(out.get(parent) ?? []), m]);
  }
  return out;
}

describe('crds/: both versions, generated from v1alpha1 and the moves', () => {
  it('loadCrds has every kind with a schema for both versions', () => {
    expect(loadCrds().map((c) => c.kind).sort()).toStrictEqual([...KINDS].sort());
    for (const kind of KINDS) {
      const crd = crdOf(kind);
      expect(Object.keys(crd.schemas).sort(), kind).toStrictEqual([...API_VERSIONS].sort());
      expect(crd.schema, kind).toBe(crd.schemas.v1alpha1);
    }
  });

  it.each(KINDS.map((k) => [k] as const))('%s: version flags and conversion webhook', (kind) => {
    const beta = crdVersion(kind, 'v1beta1');
    const alpha = crdVersion(kind, 'v1alpha1');
    expect(beta).toMatchObject({ served: true, storage: true });
    expect(beta.deprecated).toBeUndefined();
    expect(alpha).toMatchObject({ served: true, storage: false, deprecated: true, deprecationWarning: DEPRECATED_VERSIONS.v1alpha1 });
    expect(alpha.deprecationWarning).toMatch(/v1beta1/);
    const spec = crdOf(kind).manifest.spec as { conversion?: { strategy?: string; webhook?: { conversionReviewVersions?: string[] } } };
    expect(spec.conversion?.strategy).toBe('Webhook');
    expect(spec.conversion?.webhook?.conversionReviewVersions).toStrictEqual(['v1']);
    expect(spec.conversion).toStrictEqual(conversionFor());
  });

  it.each(KINDS.map((k) => [k] as const))('%s: the printer columns of v1beta1 name fields of its schema', (kind) => {
    const root = crdOf(kind).schemas.v1beta1!;
    const columns = crdVersion(kind, 'v1beta1').additionalPrinterColumns ?? [];
    const alphaColumns = crdVersion(kind, 'v1alpha1').additionalPrinterColumns ?? [];
    expect(columns.map((c) => c.name)).toStrictEqual(alphaColumns.map((c) => c.name));
    for (const c of columns.filter((x) => x.jsonPath.startsWith('.spec.'))) {
      expect(schemaHasPath(root, c.jsonPath.slice(1)), `${kind} column ${String(c.name)}: ${c.jsonPath}`).toBe(true);
    }
    // A column of a moved field follows it.
    for (const [a, b] of alphaColumns.map((c, i) => [c, columns[i]!] as const)) {
      if (a.jsonPath.startsWith('.spec.')) expect(b.jsonPath).toBe(`.${convertFieldPath(kind, a.jsonPath.slice(1), 'v1alpha1', 'v1beta1')}`);
    }
  });

  it('Network: the CEL rule of v1beta1 reads lifecycle.allowReplace', () => {
    const rules = specSchema('Network', 'v1beta1')['x-kubernetes-validations'] as { rule: string; message?: string }[];
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.some((r) => r.rule.includes('self.lifecycle.allowReplace'))).toBe(true);
    for (const r of rules) {
      expect(r.rule).not.toMatch(/\bself\.allowReplace\b/);
      expect(r.message ?? '').not.toMatch(/\bspec\.allowReplace\b/);
    }
    // v1alpha1 keeps its own.
    const alphaRules = specSchema('Network', 'v1alpha1')['x-kubernetes-validations'] as { rule: string }[];
    expect(alphaRules.some((r) => /\bself\.allowReplace\b/.test(r.rule))).toBe(true);
  });

  it.each(KINDS.map((k) => [k] as const))('%s: a grouping object holding fields with defaults defaults to {}', (kind) => {
    const alphaSpec = specSchema(kind, 'v1alpha1');
    const betaSpec = specSchema(kind, 'v1beta1');
    for (const [group, moves] of groups(kind)) {
      const schema = schemaAt(betaSpec, group);
      expect(schema, `${kind} ${group}`).toBeDefined();
      expect(schema!.type).toBe('object');
      const withDefault = moves.filter((m) => schemaAt(alphaSpec, m.from)?.default !== undefined);
      const parentPath = group.split('.').slice(0, -1).join('.');
      const parent = parentPath ? schemaAt(betaSpec, parentPath) : betaSpec;
      const required = (parent?.required ?? []).includes(group.split('.').pop()!.replace(/\[\]$/, ''));
      if (withDefault.length > 0 && !required) expect(schema!.default, `${kind} ${group}`).toStrictEqual({});
      if (withDefault.length === 0) expect(schema!.default, `${kind} ${group}`).toBeUndefined();
    }
  });

  it('the defaults of moved fields are filled in v1beta1 as in v1alpha1', () => {
    expect(validateSpec('Network', { physicalNetwork: 'p' }, 'v1beta1').spec).toMatchObject({
      lifecycle: { approval: 'Auto', managementPolicy: 'Managed', deletionPolicy: 'Delete', allowReplace: false },
    });
    expect(specSchema('Network', 'v1beta1').properties!.lifecycle!.default).toStrictEqual({});
    expect(validateSpec('Provider', { type: 'neutron', connection: { endpoint: 'http://x' } }, 'v1beta1').spec).toMatchObject({
      connection: { endpoint: 'http://x', requestTimeoutSeconds: 30, maxConcurrency: 4 },
      lifecycle: { approval: 'Auto' },
    });
  });

  it.each(KINDS.map((k) => [k] as const))('%s: specSchemaFor and crdVersionFor give what crds/ holds', (kind) => {
    const alphaSpec = specSchema(kind, 'v1alpha1');
    const betaSpec = specSchema(kind, 'v1beta1');
    const made = specSchemaFor(kind, alphaSpec);
    // CEL rules are rewritten by crdVersionFor, not specSchemaFor: compared with the whole entry below.
    const withoutCel = (s: OpenApiSchema): OpenApiSchema => {
      const { 'x-kubernetes-validations': _, ...rest } = s;
      return rest;
    };
    expect(withoutCel(made)).toStrictEqual(withoutCel(betaSpec));
    expect(specSchemaFor(kind, alphaSpec, 'v1alpha1')).toStrictEqual(alphaSpec);
    expect(crdVersionFor(kind, crdVersion(kind, 'v1alpha1'), 'v1beta1')).toStrictEqual(crdVersion(kind, 'v1beta1'));
    // Moves change where fields are, never how many: the same number of leaf schemas.
    const count = (s: OpenApiSchema): number =>
      s.properties ? Object.values(s.properties).reduce((n, p) => n + count(p), 0) : s.items ? count(s.items) : 1;
    expect(count(betaSpec)).toBe(count(alphaSpec));
  });
});

// ---------------------------------------------------------------------------------------------------
// Known gaps
// ---------------------------------------------------------------------------------------------------

describe('empty grouping objects', () => {
  it('an optional reference object must name its target in v1beta1, as the hand-written ones do', () => {
    const beta = { service: 'dns', networkRef: { name: 'n' }, hostRef: {} };
    expect(validateSpec('ServiceEndpoint', beta, 'v1beta1').violations).toStrictEqual([{ pointer: '/spec/hostRef/name', message: 'is required' }]);
  });

  it('a grouping object written empty (`lifecycle: {}`) converts to nothing, not to an unknown field', () => {
    const beta = { service: 'dns', networkRef: { name: 'n' }, lifecycle: {} };
    const alpha = convertSpec('ServiceEndpoint', beta, 'v1beta1', 'v1alpha1');
    expect(alpha).toStrictEqual({ service: 'dns', network: 'n' });
    expect(validateSpec('ServiceEndpoint', alpha, 'v1alpha1').violations).toStrictEqual([]);
  });
});

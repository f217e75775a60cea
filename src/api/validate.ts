// Schema validation of netform objects with ajv, compiled from the CRD schemas. Pure apart from
// compiling once per process.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Kind } from './kinds.ts';
import { moveSpec, HUB_VERSION, type ApiVersionName } from './versions.ts';
import { loadCrds, type OpenApiSchema } from './crds.ts';
import { isMac, parsePrefix } from './ip.ts';
import { Shared } from './shared.ts';

/** A schema violation: `pointer` is the JSON pointer of the offending field in the object. */
export interface SchemaViolation {
  pointer: string;
  message: string;
}

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, validateFormats: true, verbose: true });
  // Kubernetes formats used in our schemas. Anything else is refused by strict mode at compile time.
  ajv.addFormat('cidr', { type: 'string', validate: (s: string) => parsePrefix(s) !== undefined });
  ajv.addFormat('mac', { type: 'string', validate: isMac });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) =>
      /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
  });
  ajv.addKeyword({ keyword: 'x-kubernetes-list-type', schemaType: 'string' });
  // CEL rules the apiserver runs: transition rules (comparing with the object before an update), which
  // file mode has no earlier object for; the same edits are reported by the engine (Synced=False).
  ajv.addKeyword({ keyword: 'x-kubernetes-validations', schemaType: 'array' });
  // A list-type map's items are unique by their key fields, as the apiserver enforces.
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-map-keys',
    type: 'array',
    schemaType: 'array',
    errors: true,
    validate: function listMapKeys(keys: string[], data: unknown[], _parent?: unknown, cxt?: { instancePath: string }) {
      const seen = new Map<string, number>();
      const errors: Partial<ErrorObject>[] = [];
      data.forEach((item, i) => {
        if (!item || typeof item !== 'object') return;
        const id = JSON.stringify(keys.map((k) => (item as Record<string, unknown>)[k]));
        const first = seen.get(id);
        if (first === undefined) seen.set(id, i);
        else
          errors.push({
            keyword: 'x-kubernetes-list-map-keys',
            instancePath: `${cxt?.instancePath ?? ''}/${i}`,
            message: `duplicate entry: ${keys.map((k) => `${k}=${String((item as Record<string, unknown>)[k])}`).join(', ')} already given at index ${first}`,
            params: { first },
          });
      });
      (listMapKeys as unknown as { errors: Partial<ErrorObject>[] }).errors = errors;
      return errors.length === 0;
    },
  });
  return ajv;
}

/** A copy of a structural schema in which objects with declared properties refuse unknown fields,
 *  the way the apiserver's strict field validation does (it would otherwise prune them silently). */
function closed(schema: OpenApiSchema): OpenApiSchema {
  const s: OpenApiSchema = { ...schema };
  if (s.properties) {
    s.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, closed(v)]));
    if (s.additionalProperties === undefined && !s['x-kubernetes-preserve-unknown-fields']) s.additionalProperties = false;
  }
  if (s.items) s.items = closed(s.items);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    s.additionalProperties = closed(s.additionalProperties as OpenApiSchema);
  }
  return s;
}

let ajv: Ajv | undefined;
/** By `version/kind`: compiled when first used (most runs read one version). */
const validators = new Map<string, ValidateFunction>();

function compiled(kind: Kind, version: ApiVersionName): ValidateFunction {
  const id = `${version}/${kind}`;
  let v = validators.get(id);
  if (v) return v;
  const crd = loadCrds().find((c) => c.kind === kind);
  const crdSchema = crd?.schemas[version];
  if (!crd || !crdSchema) throw new Error(`crds/ has no ${version} schema for ${kind}`);
  // Validate spec only: metadata is checked by admission, status is written by netform.
  const schema: OpenApiSchema = {
    type: 'object',
    required: ['spec'],
    properties: { spec: closed(crdSchema.properties!.spec!) },
  };
  ajv ??= createAjv();
  v = ajv.compile(schema);
  validators.set(id, v);
  return v;
}

/**
 * Validates a spec against its kind's CRD schema (of the hub version unless told). Returns a copy of
 * it with the schema's defaults filled in (the spec given is left as it is), and the violations:
 * unknown fields are violations (like `kubectl apply --validate=strict`).
 */
export function validateSpec<S = unknown>(kind: Kind, spec: unknown, version: ApiVersionName = HUB_VERSION): { spec: S; violations: SchemaViolation[] } {
  const validate = compiled(kind, version);
  // ajv fills defaults into what it validates: a copy.
  const wrapper = { spec: copyShared(spec) };
  const violations = validate(wrapper) ? [] : explain(validate.errors ?? []);
  return { spec: wrapper.spec as S, violations };
}

/**
 * A spec written in `version`, validated against that version's schema (violations point into it, as
 * written), then converted to the hub's shape: what admission and the records hold.
 */
export function hubSpec<S = unknown>(kind: Kind, spec: unknown, version: ApiVersionName): { spec: S; violations: SchemaViolation[] } {
  const checked = validateSpec<S>(kind, spec, version);
  if (version === HUB_VERSION) return checked;
  // (validateSpec's spec is a copy of its own: its fields move in place.)
  return { spec: moveSpec(kind, checked.spec, version, HUB_VERSION, hubOrder(kind)) as S, violations: checked.violations };
}

/** The hub spec schema of a kind, for the order of the fields a conversion puts back. */
function hubOrder(kind: Kind): OpenApiSchema | undefined {
  orders ??= new Map(loadCrds().map((c) => [c.kind, c.schema.properties?.spec] as const));
  return orders.get(kind);
}
let orders: Map<string, OpenApiSchema | undefined> | undefined;

function explain(errors: ErrorObject[]): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  // oneOf branches of the form {required:[x]} are reported once, as "exactly one of".
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  // A value of the wrong type (e.g. `credentials: file.yaml`) passes every {required:[x]} branch,
  // since `required` ignores non-objects; its oneOf error would wrongly say "not several".
  const typePaths = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  for (const e of errors) {
    const branch = /\/oneOf\/\d+\//.test(e.schemaPath);
    if (branch && oneOfPaths.has(e.instancePath)) continue;
    if (e.keyword === 'oneOf' && typePaths.has(e.instancePath)) continue;
    out.push(toViolation(e));
  }
  // Stable, de-duplicated order.
  const seen = new Set<string>();
  return out
    .filter((v) => {
      const k = `${v.pointer}\0${v.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0));
}

/** A property name as a JSON pointer token (RFC 6901): `~` -> `~0`, `/` -> `~1`. */
function pointerToken(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

function toViolation(e: ErrorObject): SchemaViolation {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { pointer: `${e.instancePath}/${pointerToken(String(p.missingProperty))}`, message: 'is required' };
    case 'additionalProperties':
      return { pointer: `${e.instancePath}/${pointerToken(String(p.additionalProperty))}`, message: 'is not a known field' };
    case 'enum':
      return {
        pointer: e.instancePath,
        message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'oneOf': {
      const schemas = (e.schema as { required?: string[] }[]).map((s) => s.required?.[0]).filter(Boolean);
      const passing = p.passingSchemas;
      return {
        pointer: e.instancePath,
        message:
          passing == null
            ? `needs exactly one of ${schemas.join(', ')}`
            : `must set only one of ${schemas.join(', ')}, not several`,
      };
    }
    case 'type':
      return { pointer: e.instancePath, message: `must be of type ${String(p.type)}` };
    case 'format':
      return { pointer: e.instancePath, message: `is not a valid ${String(p.format)}` };
    case 'pattern':
      return { pointer: e.instancePath, message: `does not match the pattern ${String(p.pattern)}` };
    default:
      return { pointer: e.instancePath, message: e.message ?? e.keyword };
  }
}

const scalars = new Shared<string>(16_384);

/**
 * The string as a string of its own. A string the YAML parser returns of 13 characters or more is a
 * slice of the whole file's text (V8's sliced strings), and keeps all of that text alive for as long
 * as it lives: 60,000 admitted objects held every manifest file's text (13 MB) through their specs.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/** A deep copy of parsed YAML (plain objects, arrays and scalars), whose short strings are shared
 *  with other specs: 50,000 vNICs name the same 100 hosts, 5 interfaces and their VMs. Anything else
 *  (not produced by the CORE schema) is copied by structuredClone. */
export function copyShared(v: unknown): unknown {
  if (typeof v === 'string') return v.length <= 64 ? scalars.get(v, () => ownString(v)) : ownString(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copyShared);
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    // A key named __proto__ stays a key (an assignment would set the copy's prototype).
    if (k === '__proto__') Object.defineProperty(out, k, { value: copyShared(x), enumerable: true, writable: true, configurable: true });
    else out[k] = copyShared(x);
  }
  return out;
}

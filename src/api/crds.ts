// Loads the CustomResourceDefinitions in crds/ — the single source of truth for every kind's schema.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';

export const API_GROUP = 'netform.io';
/** The hub version: the internal model has its shape (src/api/versions.ts converts the others). */
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** An OpenAPI v3 schema object as found in a structural CRD schema. */
export interface OpenApiSchema {
  type?: string;
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  [k: string]: unknown;
}

/** What netform needs to know of one CRD. */
export interface CrdInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** The openAPIV3Schema of the hub version (API_VERSION), the internal model's shape. */
  schema: OpenApiSchema;
  /** The openAPIV3Schema of each served version, by version name. */
  schemas: Readonly<Record<string, OpenApiSchema>>;
  /** Path of the CRD file. */
  file: string;
  /** The whole CRD object, as `kubectl apply` would send it. */
  manifest: Record<string, unknown>;
}

export const CRD_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));

let cache: CrdInfo[] | undefined;

/** Every CRD in crds/, sorted by kind name. Throws if a file is not a netform CRD of the served version. */
export function loadCrds(dir: string = CRD_DIR): CrdInfo[] {
  if (dir === CRD_DIR && cache) return cache;
  const out: CrdInfo[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    const file = join(dir, f);
    const crd = load(readFileSync(file, 'utf8')) as {
      kind?: string;
      spec?: {
        group?: string;
        scope?: string;
        names?: { kind: string; plural: string; singular: string; shortNames?: string[] };
        versions?: { name: string; served?: boolean; schema?: { openAPIV3Schema?: OpenApiSchema } }[];
      };
    };
    const version = crd.spec?.versions?.find((v) => v.name === API_VERSION && v.served);
    const schema = version?.schema?.openAPIV3Schema;
    const schemas: Record<string, OpenApiSchema> = {};
    for (const v of crd.spec?.versions ?? []) if (v.served && v.schema?.openAPIV3Schema) schemas[v.name] = v.schema.openAPIV3Schema;
    if (crd.kind !== 'CustomResourceDefinition' || crd.spec?.group !== API_GROUP || !crd.spec.names || !schema) {
      throw new Error(`${file}: not a ${API_GROUP} CustomResourceDefinition serving ${API_VERSION}`);
    }
    out.push({
      kind: crd.spec.names.kind,
      plural: crd.spec.names.plural,
      singular: crd.spec.names.singular,
      shortNames: crd.spec.names.shortNames ?? [],
      namespaced: crd.spec.scope === 'Namespaced',
      schema,
      schemas,
      file,
      manifest: crd as Record<string, unknown>,
    });
  }
  out.sort((a, b) => a.kind.localeCompare(b.kind));
  if (dir === CRD_DIR) cache = out;
  return out;
}

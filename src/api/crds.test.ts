import { describe, expect, it } from 'vitest';
import { KINDS, NAMESPACED } from './kinds.ts';
import { loadCrds, type OpenApiSchema } from './crds.ts';

const crds = loadCrds();

/** Every property below `root` that lacks a description, as dotted paths. */
function undescribed(schema: OpenApiSchema, path: string, out: string[]): string[] {
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const p = path ? `${path}.${name}` : name;
    if (name !== 'metadata' && !sub.description) out.push(p);
    undescribed(sub, p, out);
  }
  if (schema.items) {
    if (!schema.items.description) out.push(`${path}[]`);
    undescribed(schema.items, `${path}[]`, out);
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    undescribed(schema.additionalProperties as OpenApiSchema, `${path}{}`, out);
  }
  return out;
}

/** Structural-schema rules the apiserver enforces: every node has a type (or int-or-string /
 *  preserve-unknown-fields), and oneOf/anyOf/allOf/not carry no type, description or default. */
function structuralProblems(schema: OpenApiSchema, path: string, out: string[]): string[] {
  if (!schema.type && !schema['x-kubernetes-int-or-string'] && !schema['x-kubernetes-preserve-unknown-fields']) out.push(`${path}: no type`);
  for (const k of ['oneOf', 'anyOf', 'allOf'] as const) {
    for (const branch of (schema[k] as OpenApiSchema[] | undefined) ?? []) {
      for (const bad of ['type', 'description', 'default', 'additionalProperties', 'nullable'] as const) {
        if (bad in branch) out.push(`${path}.${k}: has ${bad}`);
      }
    }
  }
  for (const [name, sub] of Object.entries(schema.properties ?? {})) structuralProblems(sub, `${path}.${name}`, out);
  if (schema.items) structuralProblems(schema.items, `${path}[]`, out);
  return out;
}

describe('CRDs', () => {
  it('there is one CRD per kind', () => {
    expect(crds.map((c) => c.kind).sort()).toEqual([...KINDS].sort());
  });

  it.each(crds.map((c) => [c.kind, c] as const))('%s: scope, status subresource, names, category, printer columns', (kind, crd) => {
    const m = crd.manifest as {
      spec: { scope: string; names: { categories: string[]; shortNames: string[] }; versions: { subresources?: { status?: object }; additionalPrinterColumns: { name: string; jsonPath: string }[] }[] };
    };
    expect(m.spec.scope).toBe(NAMESPACED[kind as keyof typeof NAMESPACED] ? 'Namespaced' : 'Cluster');
    expect(m.spec.names.categories).toContain('netform');
    expect(m.spec.names.shortNames.length).toBeGreaterThan(0);
    const v = m.spec.versions[0]!;
    expect(v.subresources?.status).toEqual({});
    const cols = v.additionalPrinterColumns.map((c) => c.name);
    expect(cols).toEqual(expect.arrayContaining(['READY', 'SYNCED', 'AGE']));
    expect(cols.length).toBeGreaterThanOrEqual(4);
    expect(v.additionalPrinterColumns.find((c) => c.name === 'READY')!.jsonPath).toBe('.status.conditions[?(@.type=="Ready")].status');
  });

  it.each(crds.map((c) => [c.kind, c] as const))('%s: every field has a description', (_kind, crd) => {
    expect(undescribed(crd.schema, '', [])).toEqual([]);
  });

  it.each(crds.map((c) => [c.kind, c] as const))('%s: the schema is structural', (_kind, crd) => {
    expect(structuralProblems(crd.schema, '', [])).toEqual([]);
  });

  it('short names are unique', () => {
    const all = crds.flatMap((c) => c.shortNames);
    expect(new Set(all).size).toBe(all.length);
  });
});

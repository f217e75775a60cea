// LOCAL_FIELDS (admit.ts) names spec fields no check across objects reads, so that an edit of only
// those reuses the last checks across files. Shown here over the whole corpus of good and bad inputs:
// every check runs with those fields behind a trap that records any read (or enumeration), and with
// them changed, and finds the same.
import { describe, expect, it } from 'vitest';
import { generateCorpus, baseFiles } from '../../test/corpus/generate.ts';
import { isKind, keyOf, type AnyResource } from '../api/kinds.ts';
import { validateSpec } from '../api/validate.ts';
import type { ManifestFile } from '../api/objects.ts';
import { admit, AdmissionCache, LOCAL_FIELDS } from './admit.ts';
import { checkSemantics } from './semantic.ts';
import { parseYamlFile } from './yaml-docs.ts';

/** The schema-valid objects of `files`, defaults applied (what the checks across objects see). */
function objectsOf(files: readonly ManifestFile[]): AnyResource[] {
  const out: AnyResource[] = [];
  for (const f of files) {
    // Admission's own parser and limits (the corpus holds alias bombs).
    for (const d of parseYamlFile(f.text, f.path).documents.map((x) => x.value)) {
      const o = d as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; spec?: unknown } | null;
      if (!o || typeof o !== 'object' || typeof o.kind !== 'string' || !isKind(o.kind) || typeof o.metadata?.name !== 'string') continue;
      const { spec, violations } = validateSpec(o.kind, o.spec ?? {});
      if (violations.length) continue;
      const metadata: Record<string, unknown> = { name: o.metadata.name };
      if (typeof o.metadata.namespace === 'string') metadata.namespace = o.metadata.namespace;
      out.push({ apiVersion: 'netform.io/v1alpha1', kind: o.kind, metadata, spec } as unknown as AnyResource);
    }
  }
  return out;
}

function trapped(o: AnyResource, reads: string[]): AnyResource {
  const local = LOCAL_FIELDS[o.kind];
  if (!local) return o;
  const spec = new Proxy(o.spec as object, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && local.includes(prop)) reads.push(`${keyOf(o)}: read spec.${prop}`);
      return Reflect.get(target, prop, receiver);
    },
    ownKeys(target) {
      reads.push(`${keyOf(o)}: enumerated its spec`);
      return Reflect.ownKeys(target);
    },
  });
  return { ...o, spec } as AnyResource;
}

const changed = (o: AnyResource): AnyResource =>
  o.kind === 'Network' ? ({ ...o, spec: { ...o.spec, mtu: 1234, description: 'changed', adminStateUp: !(o.spec.adminStateUp ?? true) } } as AnyResource) : o;

describe('LOCAL_FIELDS', () => {
  const cases = [{ name: 'the examples', files: baseFiles() }, ...generateCorpus()];

  it('no check across objects reads them, and changing them changes nothing the checks find (every corpus case)', () => {
    let checked = 0;
    let networks = 0;
    for (const c of cases) {
      const objects = objectsOf(c.files);
      let plain: ReturnType<typeof checkSemantics>;
      try {
        plain = checkSemantics(objects);
      } catch {
        continue; // not what admission would hand the checks
      }
      const reads: string[] = [];
      expect(checkSemantics(objects.map((o) => trapped(o, reads))), c.name).toEqual(plain);
      expect(reads, c.name).toEqual([]);
      expect(checkSemantics(objects.map(changed)), c.name).toEqual(plain);
      checked++;
      networks += objects.filter((o) => o.kind === 'Network').length;
    }
    expect(checked).toBeGreaterThan(100);
    expect(networks).toBeGreaterThan(100);
  });
});

describe('admit with a cache: the checks across files', () => {
  const net = (name: string, vlan: number, mtu: number) =>
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${name}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${vlan}}, mtu: ${mtu}}\n`;
  // b.yaml holds a Provider too: parsed again with the edit, equal, another object.
  const provider = 'apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "https://neutron.example:9696", neutron: {auth: noauth}}\n---\n';
  const files = (bVlan: number, bMtu: number): ManifestFile[] => [
    { path: 'a.yaml', text: net('a', 100, 1500) },
    { path: 'b.yaml', text: provider + net('b', bVlan, bMtu) },
  ];

  it('an edit of local fields only reuses what they found; any other edit checks again', () => {
    const cache = new AdmissionCache();
    const first = admit(files(101, 1500), {}, { cache });
    expect(first.errors).toEqual([]);
    const memo = cache.semantics!;
    const mtu = admit(files(101, 9000), {}, { cache });
    expect(mtu.errors).toEqual([]);
    expect(cache.semantics!.violations).toBe(memo.violations);
    expect((mtu.objects.get('Network/b')!.object.spec as { mtu: number }).mtu).toBe(9000);
    // The VLAN is read by the clash check: checked again, and the clash is found.
    const clash = admit(files(100, 9000), {}, { cache });
    expect(cache.semantics!.violations).not.toBe(memo.violations);
    expect(clash.errors.map((e) => [e.file, e.field])).toEqual([['b.yaml', 'spec.vlan.id']]);
    // And what changes the context (a VLAN allocation) checks again too.
    const before = cache.semantics!.violations;
    admit(files(100, 9000), { allocations: [{ pool: 'p', network: 'x', physicalNetwork: 'physnet1', vlan: 7 }] }, { cache });
    expect(cache.semantics!.violations).not.toBe(before);
  });
});

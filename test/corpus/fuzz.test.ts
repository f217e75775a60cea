// Property-based fuzzing of admission (fast-check): arbitrary mutations of the examples' manifests, of
// their values and of their text, and arbitrary YAML. Admission never throws and always answers with
// admitted objects or errors that name file, line, field and reason; a valid document in another file
// is admitted whatever happens to its neighbour. Seeded: NETFORM_FUZZ_SEED=<n> replays a run.
import fc from 'fast-check';
import { dump, load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { admit } from '../../src/state/admit.ts';
import { type AdmissionError } from '../../src/api/objects.ts';
import { exampleDocuments } from './generate.ts';

const SEED = Number(process.env.NETFORM_FUZZ_SEED ?? 20261121);
const RUNS = 500;
const BESIDE = { path: 'beside.yaml', text: 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: fuzz-beside\nspec: {}\n' };

function problem(e: AdmissionError): string | undefined {
  if (!e.file) return 'no file';
  if (!Number.isInteger(e.line) || e.line < 1) return `line ${e.line}`;
  if (!e.field) return 'no field';
  if (!e.message) return 'no message';
  if (e.documentIndex === undefined && e.field !== '(file)') return 'no document';
  return undefined;
}

/** Admits `text` as fuzz.yaml beside a valid file; throws (failing the property) on any breach. */
function check(text: string): void {
  const t0 = performance.now();
  const r = admit([BESIDE, { path: 'fuzz.yaml', text }]);
  const ms = performance.now() - t0;
  if (ms > 2000) throw new Error(`admission took ${Math.round(ms)} ms`);
  for (const e of r.errors) {
    const p = problem(e);
    if (p) throw new Error(`error without ${p}: ${JSON.stringify(e)}`);
    if (e.file !== 'fuzz.yaml') throw new Error(`error outside fuzz.yaml: ${JSON.stringify(e)}`);
  }
  if (!r.objects.has('Cluster/fuzz-beside') && !r.errors.some((e) => e.key === 'Cluster/fuzz-beside')) {
    throw new Error('the valid file beside was not admitted');
  }
  for (const key of r.invalid.keys()) if (r.objects.has(key)) throw new Error(`${key} is both invalid and admitted`);
}

const docs = exampleDocuments().map((d) => load(d) as Record<string, unknown>);

/** Values worth putting anywhere in a manifest. */
const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('', ' ', '-x', '$(reboot)', 'a;b', '10.0.0.0/33', '::', '0.0.0.0', '4095', 'x'.repeat(300), '\u0000', '\ud800', 'true', '~', null, -1, 0, 4094, 4095, 2 ** 53, 1e309, 1.5),
  fc.string({ maxLength: 20 }),
);

/** Every path into a value (objects and arrays), as key lists. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

type Mutation = { op: 'set' | 'delete' | 'add'; at: number; key: string; value: unknown };

function mutate(doc: Record<string, unknown>, muts: Mutation[]): unknown {
  let root: unknown = structuredClone(doc);
  for (const m of muts) {
    const all = paths(root);
    const path = all[m.at % all.length]!;
    if (path.length === 0) {
      if (m.op === 'set') root = m.value;
      continue;
    }
    let parent = root as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    if (m.op === 'set') parent[last] = m.value;
    else if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      const target = parent[last];
      if (target && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, unknown>)[m.key] = m.value;
      else if (Array.isArray(target)) target.push(m.value);
    }
  }
  return root;
}

const mutation = fc.record({
  op: fc.constantFrom('set', 'delete', 'add') as fc.Arbitrary<Mutation['op']>,
  at: fc.nat(),
  key: fc.oneof(fc.constantFrom('name', 'spec', 'vlan', 'id', 'cidr', 'kind', 'apiVersion', 'metadata', 'subnets'), fc.string({ maxLength: 8 })),
  value: nasty,
});

/** YAML-ish text: the pieces YAML is made of, in any order. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom('\n', '  ', '- ', ': ', '---\n', '...\n', '[', ']', '{', '}', ', ', '&a ', '*a', '&b ', '*b', '!!str ', '!foo ', '? ', '#', '"', "'", '|\n', '>\n', '\t', '<<: ', '%YAML 1.2\n'),
      fc.constantFrom('apiVersion: netform.io/v1alpha1\n', 'kind: Network\n', 'kind: Cluster\n', 'metadata:\n  name: x\n', 'spec:\n', '  physicalNetwork: p\n', '  vlan: {id: 5}\n'),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

describe(`fuzzing admission (fast-check, seed ${SEED}, ${RUNS} runs per property)`, () => {
  console.log(`fuzz: seed ${SEED} (NETFORM_FUZZ_SEED=${SEED} to replay), ${RUNS} runs per property, ${docs.length} example documents`);
  const params = { seed: SEED, numRuns: RUNS, endOnFailure: true };

  it('mutated values of the examples: never a throw, every error well-formed', () => {
    fc.assert(
      fc.property(fc.nat(docs.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (i, muts, asJson) => {
        const value = mutate(docs[i]!, muts);
        let text: string;
        try {
          text = asJson ? JSON.stringify(value) ?? 'null' : dump(value, { lineWidth: -1, skipInvalid: true });
        } catch {
          return; // a value js-yaml cannot write (never reaches admission)
        }
        check(text);
      }),
      params,
    );
  });

  it('mutated text of the examples (characters inserted, deleted, replaced): never a throw, every error well-formed', () => {
    const texts = exampleDocuments();
    fc.assert(
      fc.property(
        fc.nat(texts.length - 1),
        fc.array(fc.record({ at: fc.nat(), del: fc.nat(8), ins: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('\t', '&a ', '*a', ': ', '\n- ', '---\n', '"', '[', '{')) }), { minLength: 1, maxLength: 5 }),
        (i, edits) => {
          let text = texts[i]!;
          for (const e of edits) {
            const at = e.at % (text.length + 1);
            text = text.slice(0, at) + e.ins + text.slice(at + e.del);
          }
          check(text);
        },
      ),
      params,
    );
  });

  it('arbitrary YAML-ish text, and arbitrary strings: never a throw, every error well-formed', () => {
    fc.assert(fc.property(fc.oneof(yamlish, fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), check), params);
  });

  it('the properties hold on the examples themselves (they are admitted)', () => {
    for (const d of exampleDocuments()) check(d);
    expect(docs.length).toBeGreaterThan(5);
  });
});

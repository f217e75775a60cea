// AdmissionCache: admitting with the files of earlier loads remembered gives exactly what admitting
// from scratch gives, whatever the edits in between; unchanged files are not parsed again.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdmissionCache, admit } from './admit.ts';
import type { ManifestFile } from '../api/objects.ts';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;

function files(dir: string): ManifestFile[] {
  const out: ManifestFile[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.ya?ml$/.test(name) && !/credential|secret/i.test(name)) out.push({ path: p.slice(EXAMPLES.length), text: readFileSync(p, 'utf8') });
  }
  return out;
}

/** The examples' sets of files, one per directory (each is admitted on its own). */
const SETS = readdirSync(EXAMPLES)
  .filter((d) => statSync(join(EXAMPLES, d)).isDirectory())
  .map((d) => files(join(EXAMPLES, d)))
  .filter((s) => s.length > 1);

/** An edit of one file's text: a value changed, a line dropped, a document duplicated into it. */
const edit = fc.oneof(
  fc.record({ op: fc.constant('mtu' as const), n: fc.integer({ min: 1280, max: 9000 }) }),
  fc.record({ op: fc.constant('dropLine' as const), n: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), n: fc.nat() }),
  fc.record({ op: fc.constant('copyFrom' as const), n: fc.nat() }),
  fc.record({ op: fc.constant('remove' as const), n: fc.nat() }),
  fc.record({ op: fc.constant('restore' as const), n: fc.nat() }),
);

function apply(base: readonly ManifestFile[], now: ManifestFile[], i: number, e: { op: string; n: number }): ManifestFile[] {
  const at = i % base.length;
  const path = base[at]!.path;
  const cur = now.find((f) => f.path === path);
  const others = now.filter((f) => f.path !== path);
  const text = cur?.text ?? base[at]!.text;
  const lines = text.split('\n');
  switch (e.op) {
    case 'mtu':
      return [...others, { path, text: /mtu: \d+/.test(text) ? text.replace(/mtu: \d+/, `mtu: ${e.n}`) : `${text}\n# ${e.n}\n` }].sort(byPath);
    case 'dropLine':
      lines.splice(e.n % lines.length, 1);
      return [...others, { path, text: lines.join('\n') }].sort(byPath);
    case 'truncate':
      return [...others, { path, text: text.slice(0, e.n % (text.length + 1)) }].sort(byPath);
    case 'copyFrom': {
      const from = base[e.n % base.length]!;
      return [...others, { path, text: `${text}\n---\n${from.text}` }].sort(byPath);
    }
    case 'remove':
      return others;
    default:
      return [...others, { path, text: base[at]!.text }].sort(byPath);
  }
}

const byPath = (a: ManifestFile, b: ManifestFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

describe('AdmissionCache', () => {
  it('has example sets to work on', () => {
    expect(SETS.length).toBeGreaterThanOrEqual(4);
  });

  it('admits exactly as from scratch after any sequence of edits (fast-check, 150 runs)', () => {
    fc.assert(
      fc.property(fc.nat({ max: SETS.length - 1 }), fc.array(fc.tuple(fc.nat(), edit), { minLength: 1, maxLength: 6 }), (s, edits) => {
        const base = SETS[s]!;
        const cache = new AdmissionCache();
        let now = [...base];
        expect(admit(now, {}, { cache })).toEqual(admit(now));
        for (const [i, e] of edits) {
          now = apply(base, now, i, e);
          expect(admit(now, {}, { cache })).toEqual(admit(now));
          expect(cache.size).toBe(now.length);
        }
      }),
      { numRuns: 150, seed: 20261205 },
    );
  });

  it('hands out the same frozen objects for a file that did not change, new ones for the file that did', () => {
    const set = SETS.find((s) => s.some((f) => /kind: Network\b/.test(f.text)))!;
    const cache = new AdmissionCache();
    const first = admit(set, {}, { cache });
    const edited = set.map((f) => (/kind: Network\b/.test(f.text) && /mtu: \d+/.test(f.text) ? { ...f, text: f.text.replace(/mtu: \d+/, 'mtu: 1234') } : f));
    const changedFile = edited.find((f, i) => f !== set[i])!.path;
    const second = admit(edited, {}, { cache });
    let same = 0;
    let fresh = 0;
    for (const [key, a] of second.objects) {
      const before = first.objects.get(key)!;
      if (a.source.file === changedFile) {
        expect(a.object).not.toBe(before.object);
        fresh++;
      } else if (!/^VnicAttachment/.test(key) || before.object === a.object) {
        // (attachments generated from VM templates are made at every admission)
        expect(a.object).toBe(before.object);
        expect(Object.isFrozen(a.object) && Object.isFrozen(a.object.spec)).toBe(true);
        same++;
      }
    }
    expect(same).toBeGreaterThan(0);
    expect(fresh).toBeGreaterThan(0);
  });

  it('names the right line for a clash between a remembered file and an edited one', () => {
    const net = (name: string, vlan: number, pad = '') => `${pad}apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: ${name}\nspec:\n  physicalNetwork: physnet1\n  vlan:\n    id: ${vlan}\n`;
    const cache = new AdmissionCache();
    const a = { path: 'a.yaml', text: `# a comment\n\n${net('a', 100)}` };
    expect(admit([a, { path: 'b.yaml', text: net('b', 200) }], {}, { cache }).errors).toEqual([]);
    const b = { path: 'b.yaml', text: net('b', 100, '# moved down\n# by two lines\n') };
    const cached = admit([a, b], {}, { cache });
    expect(cached.errors.length).toBeGreaterThan(0);
    expect(cached).toEqual(admit([a, b]));
    // And the other way round: the remembered file is the one reported.
    const cache2 = new AdmissionCache();
    admit([b, { path: 'a.yaml', text: net('a', 300) }], {}, { cache: cache2 });
    expect(admit([a, b], {}, { cache: cache2 })).toEqual(admit([a, b]));
  });

  it("knows a reader's file by its stamp: its text is not read unless a problem across files points into it", () => {
    const net = (name: string, vlan: number) => `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: ${name}\nspec:\n  physicalNetwork: physnet1\n  vlan:\n    id: ${vlan}\n`;
    let reads = 0;
    const known = (path: string, stamp: string, text: string): ManifestFile => ({
      path,
      stamp,
      get text() {
        reads++;
        return text;
      },
    });
    const cache = new AdmissionCache();
    const first = admit([{ path: 'a.yaml', stamp: 's1', text: net('a', 100) }, { path: 'b.yaml', stamp: 's1', text: net('b', 200) }], {}, { cache });
    expect(first.errors).toEqual([]);
    // Same stamps: nothing is read, and the objects are the ones admitted before.
    const again = admit([known('a.yaml', 's1', net('a', 100)), known('b.yaml', 's1', net('b', 200))], {}, { cache });
    expect(reads).toBe(0);
    expect(again.objects.get('Network/a')!.object).toBe(first.objects.get('Network/a')!.object);
    // b.yaml changed (a new stamp) to clash with a.yaml: only b is parsed; a's text is read for the
    // position of the clash only if a is the one reported (the newer declaration, b, is).
    const clash = admit([known('a.yaml', 's1', net('a', 100)), { path: 'b.yaml', stamp: 's2', text: net('b', 100) }], {}, { cache });
    expect(clash.errors.map((e) => [e.file, e.field])).toEqual(admit([{ path: 'a.yaml', text: net('a', 100) }, { path: 'b.yaml', text: net('b', 100) }]).errors.map((e) => [e.file, e.field]));
    expect(clash.errors.length).toBeGreaterThan(0);
    // A stamp that differs from the one remembered is admitted again even with the same path.
    const changed = admit([{ path: 'a.yaml', stamp: 's3', text: net('a', 300) }, { path: 'b.yaml', stamp: 's2', text: net('b', 100) }], {}, { cache });
    expect(changed.errors).toEqual([]);
  });
});

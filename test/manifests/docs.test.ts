// What README.md and manifests/README.md say of cluster mode stays true: the controller watches (and
// its ClusterRole covers) every kind in crds/, as many as the documents count, and the agent's row of
// the permissions table lists what its ClusterRole lets it read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { loadCrds } from '../../src/api/crds.ts';
import { KINDS } from '../../src/api/kinds.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen', 'twenty'];
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
const clusterRole = (file: string, name: string): Rule[] =>
  (loadAll(read(file)) as { kind: string; metadata: { name: string }; rules?: Rule[] }[]).find((o) => o.kind === 'ClusterRole' && o.metadata.name === name)!.rules!;

describe('the cluster-mode documents count the kinds there are', () => {
  const plurals = loadCrds().map((c) => c.plural).sort();
  const word = WORDS[plurals.length]!;

  it('the controller watches every kind of crds/, and its ClusterRole reads each', () => {
    expect(KINDS).toHaveLength(plurals.length);
    const reads = clusterRole('manifests/controller/rbac.yaml', 'netform-controller').find((r) => r.verbs.includes('watch'))!;
    expect([...reads.resources].sort()).toEqual(plurals);
  });

  it(`README.md and manifests/README.md say "${word}"`, () => {
    expect(read('README.md')).toContain(`\`netform controller\` watches all ${word} kinds of [\`crds/\`](crds/)`);
    const m = read('manifests/README.md');
    expect(m).toContain(`| the ${word} CRDs |`);
    expect(m).toContain(`Reads the ${word} kinds,`);
    expect(m).toContain(`patch (for the finalizer) the ${word} kinds;`);
    expect(m).not.toMatch(/\bsix (kinds|CRDs)\b/);
  });

  it("manifests/README.md's agent row lists what the agent's ClusterRole lets it read", () => {
    const reads = clusterRole('manifests/agent/rbac.yaml', 'netform-agent').find((r) => r.verbs.includes('watch'))!;
    expect(reads.resources).toContain('serviceendpoints');
    const row = read('manifests/README.md')
      .split('\n')
      .find((l) => l.startsWith('| `netform-agent` (ClusterRole) |'))!;
    const listed = /get\/list\/watch ([a-z, ]+);/.exec(row)![1]!.split(', ');
    expect(listed).toEqual(reads.resources);
  });
});

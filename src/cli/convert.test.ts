// `netform convert`: manifests rewritten between versions with the fields moved and everything else
// kept as written; the command on a copy of an example.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { load, loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { isKind } from '../api/kinds.ts';
import { convertSpec, versionOf } from '../api/versions.ts';
import { admit } from '../state/admit.ts';
import { isCredentialsName } from '../adapters/files/directory.ts';
import { convertText } from './convert.ts';
import { main } from './main.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');

function manifests(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? manifests(p) : /\.(ya?ml|json)$/.test(n) ? [p] : [];
    });
}
const examples = manifests(EXAMPLES).map((p) => relative(ROOT, p));
/** A file of the repository; an example as it was in v1alpha1 (the examples are written in v1beta1:
 *  converting them back is itself checked below, by the round trips of its output). */
const read = (file: string) => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return file.startsWith('examples/') ? convertText(text, 'v1alpha1', file).text : text;
};

type Doc = { apiVersion?: string; kind?: string; metadata?: unknown; spec?: unknown };
const isNetform = (d: unknown): d is Doc & { kind: string } => !!d && typeof d === 'object' && !!versionOf((d as Doc).apiVersion) && isKind((d as Doc).kind);

describe('convertText on the examples', () => {
  it('finds the examples, written in v1beta1, and converts them to v1alpha1 (the input of what follows)', () => {
    expect(examples.length).toBeGreaterThan(20);
    const raw = readFileSync(join(ROOT, 'examples/quickstart/host.yaml'), 'utf8');
    expect(raw).toContain('apiVersion: netform.io/v1beta1');
    expect(read('examples/quickstart/host.yaml')).toContain('apiVersion: netform.io/v1alpha1');
    expect(convertText(read('examples/quickstart/host.yaml'), 'v1beta1').text).toBe(raw);
  });

  it.each(examples)('%s: to v1beta1 and back gives the same documents', (file) => {
    const text = read(file);
    const beta = convertText(text, 'v1beta1', file);
    expect(beta.problems).toEqual([]);
    const netform = loadAll(text).filter(isNetform).length;
    expect(beta.converted).toBe(netform);
    if (!netform) expect(beta.text).toBe(text);
    const back = convertText(beta.text, 'v1alpha1', file);
    expect(back.problems).toEqual([]);
    expect(back.converted).toBe(netform);
    expect(loadAll(back.text)).toEqual(loadAll(text));
  });

  it.each(examples)('%s: the v1beta1 specs are convertSpec of the v1alpha1 ones', (file) => {
    const text = read(file);
    const before = loadAll(text) as Doc[];
    const after = loadAll(convertText(text, 'v1beta1', file).text) as Doc[];
    expect(after).toHaveLength(before.length);
    after.forEach((doc, i) => {
      const was = before[i]!;
      if (!isNetform(was)) return expect(doc).toEqual(was);
      expect(doc.apiVersion).toBe('netform.io/v1beta1');
      expect({ ...doc, apiVersion: was.apiVersion, spec: undefined }).toEqual({ ...was, spec: undefined });
      expect(doc.spec).toEqual(convertSpec(was.kind as never, was.spec, 'v1alpha1', 'v1beta1'));
    });
  });

  it('the v1beta1 examples are admitted as the same objects as the v1alpha1 ones', () => {
    const files = examples.filter((f) => !isCredentialsName(f.split('/').pop()!));
    const alpha = admit(files.map((path) => ({ path, text: read(path) })));
    const beta = admit(files.map((path) => ({ path, text: convertText(read(path), 'v1beta1', path).text })));
    expect(alpha.errors).toEqual([]);
    expect(beta.errors).toEqual([]);
    expect(alpha.objects.size).toBeGreaterThan(30);
    expect([...beta.objects.keys()]).toEqual([...alpha.objects.keys()]);
    for (const [key, o] of alpha.objects) expect(beta.objects.get(key)!.object.spec, key).toEqual(o.object.spec);
  });

  it('puts a new object where the first field moved into it was', () => {
    const host = load(convertText(read('examples/quickstart/host.yaml'), 'v1beta1').text) as { spec: object };
    expect(Object.keys(host.spec)).toEqual(['clusterRef', 'description', 'nics', 'networks']);
    const provider = load(convertText(read('examples/l3/provider.yaml'), 'v1beta1').text) as { spec: Record<string, object> };
    expect(Object.keys(provider.spec)).toEqual(['type', 'description', 'connection', 'neutron']);
    expect(Object.keys(provider.spec.connection!)).toEqual(['endpoint']);
  });
});

const NETWORK = `# The web tier.
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: web   # the name the VMs know
spec:
  physicalNetwork: physnet1
  # Changes wait for \`netform approve\`.
  approval: Manual
  vlan: {id: 100}
  deletionPolicy: "Orphan" # keep it on the backend
  shared: true
`;
const CONFIGMAP = `---
# Not netform's.
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  cluster:   "x"   # odd spacing, kept
`;
const BETA_HOST = `---
apiVersion: netform.io/v1beta1
kind: Host
metadata:
  name: hv1
spec:
  clusterRef: {name: prod}   # already moved
  nics:
  - name: eno1
`;

describe('convertText', () => {
  it('moves the fields, keeping comments, quoting and the order of the others', () => {
    const r = convertText(NETWORK, 'v1beta1', 'n.yaml');
    expect(r).toEqual({ converted: 1, problems: [], text: expect.any(String) });
    expect(r.text).toBe(`# The web tier.
apiVersion: netform.io/v1beta1
kind: Network
metadata:
  name: web   # the name the VMs know
spec:
  physicalNetwork: physnet1
  # Changes wait for \`netform approve\`.
  lifecycle:
    approval: Manual
    deletionPolicy: "Orphan" # keep it on the backend
  vlan: {id: 100}
  shared: true
`);
    // And back: the fields where the object was, the object gone.
    const back = convertText(r.text, 'v1alpha1', 'n.yaml');
    expect(back.text).toBe(`# The web tier.
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: web   # the name the VMs know
spec:
  physicalNetwork: physnet1
  # Changes wait for \`netform approve\`.
  approval: Manual
  deletionPolicy: "Orphan" # keep it on the backend
  vlan: {id: 100}
  shared: true
`);
    expect(loadAll(back.text)).toEqual(loadAll(NETWORK));
  });

  it('leaves other documents, and documents already in the version, byte for byte', () => {
    const text = NETWORK + CONFIGMAP + BETA_HOST;
    const r = convertText(text, 'v1beta1', 'all.yaml');
    expect(r.problems).toEqual([]);
    expect(r.converted).toBe(1);
    expect(r.text.endsWith(CONFIGMAP + BETA_HOST)).toBe(true);
    expect(r.text).toContain('lifecycle:');
    expect(convertText(CONFIGMAP + BETA_HOST, 'v1beta1')).toEqual({ text: CONFIGMAP + BETA_HOST, converted: 0, problems: [] });
    expect(convertText(r.text, 'v1beta1')).toEqual({ text: r.text, converted: 0, problems: [] });
  });

  it('moves a reference in every item of a list, and a comment on it with it', () => {
    const text = `apiVersion: netform.io/v1alpha1
kind: VmNetworkTemplate
metadata: {name: web, namespace: shop}
spec:
  vnics:
  - name: nic1
    network: web # the front
  - name: nic2
    profile: 'fast'
    network: db
`;
    const r = convertText(text, 'v1beta1');
    expect(r.text).toBe(`apiVersion: netform.io/v1beta1
kind: VmNetworkTemplate
metadata: {name: web, namespace: shop}
spec:
  vnics:
  - name: nic1
    networkRef:
      name: web # the front
  - name: nic2
    profileRef:
      name: 'fast'
    networkRef:
      name: db
`);
    expect(convertText(r.text, 'v1alpha1').text).toBe(text);
  });

  it('leaves a text with a YAML error unchanged, naming the file and the document', () => {
    const text = `${NETWORK}---\napiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv1}\nspec:\n  cluster: [prod\n  nics: []\n`;
    const r = convertText(text, 'v1beta1', 'bad.yaml');
    expect(r.text).toBe(text);
    expect(r.converted).toBe(0);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(/^bad\.yaml:\d+:\d+: document 2: YAML syntax error: /);
  });

  it('refuses a field that is already at its new place', () => {
    const text = 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv1}\nspec:\n  cluster: a\n  clusterRef: {name: b}\n';
    const r = convertText(text, 'v1beta1', 'h.yaml');
    expect(r.text).toBe(text);
    expect(r.problems).toEqual(['h.yaml: document 1 (Host/hv1): cannot move spec.cluster to spec.clusterRef.name: that field is set already']);
  });

  it('keeps CRLF line ends, and writes JSON as JSON', () => {
    const crlf = NETWORK.replace(/\n/g, '\r\n');
    const r = convertText(crlf, 'v1beta1');
    expect(r.text).toBe(convertText(NETWORK, 'v1beta1').text.replace(/\n/g, '\r\n'));
    const json = `${JSON.stringify({ apiVersion: 'netform.io/v1alpha1', kind: 'Host', metadata: { name: 'hv1' }, spec: { cluster: 'prod', nics: [] } }, null, 2)}\n`;
    const j = convertText(json, 'v1beta1', 'h.json');
    expect(j.converted).toBe(1);
    expect(j.text).toBe(`${JSON.stringify({ apiVersion: 'netform.io/v1beta1', kind: 'Host', metadata: { name: 'hv1' }, spec: { clusterRef: { name: 'prod' }, nics: [] } }, null, 2)}\n`);
  });
});

describe('netform convert', () => {
  const run = async (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const sink = (onChunk: (s: string) => void) =>
      new Writable({
        write(chunk: Buffer | string, _enc, done) {
          onChunk(chunk.toString());
          done();
        },
      });
    const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
    return { code, stdout, stderr };
  };

  it('rewrites a directory in place, which still validates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netform-convert-'));
    try {
      cpSync(join(EXAMPLES, 'quickstart'), dir, { recursive: true });
      const files = readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort();
      for (const n of files) writeFileSync(join(dir, n), read(`examples/quickstart/${n}`));
      const before = new Map(files.map((n) => [n, readFileSync(join(dir, n), 'utf8')]));

      const check = await run(['convert', '--check', dir]);
      expect(check.code).toBe(1);
      expect(check.stdout.trim().split('\n')).toEqual(files.map((n) => join(dir, n)));

      const w = await run(['convert', '--to', 'v1beta1', '--write', dir]);
      expect(w.stderr).toMatch(/^converted \d+ documents in 7 files to netform\.io\/v1beta1\n$/);
      expect(w.code).toBe(0);
      for (const n of files) {
        const text = readFileSync(join(dir, n), 'utf8');
        expect(text).not.toBe(before.get(n));
        expect(text).not.toContain('netform.io/v1alpha1');
      }
      expect(readFileSync(join(dir, 'host.yaml'), 'utf8')).toContain('  clusterRef:\n    name: default\n');

      const v = await run(['validate', dir]);
      expect(v.stdout).toMatch(/^valid: 13 objects admitted from 7 files$/m);
      expect(v.code).toBe(0);
      expect((await run(['convert', '--check', dir])).code).toBe(0);

      // Printed, not written: one file as it is, several as one YAML stream, each after `---` and a `# file:` line.
      const one = await run(['convert', '--to', 'v1alpha1', join(dir, 'host.yaml')]);
      expect(one.stdout).toBe(before.get('host.yaml'));
      const two = await run(['convert', '--to', 'v1alpha1', join(dir, 'host.yaml'), join(dir, 'pool.yaml')]);
      expect(two.stdout).toBe(`---\n# file: ${join(dir, 'host.yaml')}\n${before.get('host.yaml')}---\n# file: ${join(dir, 'pool.yaml')}\n${before.get('pool.yaml')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 on a YAML error, naming the file, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netform-convert-'));
    try {
      writeFileSync(join(dir, 'host.yaml'), read('examples/quickstart/host.yaml'));
      const bad = `${read('examples/quickstart/host.yaml')}---\nkind: [\n`;
      writeFileSync(join(dir, 'bad.yaml'), bad);
      const r = await run(['convert', '--write', dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${join(dir, 'bad.yaml')}:`);
      expect(r.stderr).toContain('document 2: YAML syntax error');
      expect(readFileSync(join(dir, 'host.yaml'), 'utf8')).toBe(read('examples/quickstart/host.yaml'));
      expect(readFileSync(join(dir, 'bad.yaml'), 'utf8')).toBe(bad);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

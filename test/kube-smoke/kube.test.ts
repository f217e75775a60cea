// Smoke test of test/harness/kube: a real kube-apiserver + etcd (built from the Go module proxy by
// test/harness/kube/build.sh and cached outside the repository), driven with the real kubectl.
// netform's CRDs are installed, explained and validated by the apiserver itself; an example Network
// survives an apiserver restart. A cold build takes 10-15 minutes: it fails the suite, never skips it.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKube, type KubeCluster, type KubectlResult } from '../harness/kube/cluster.ts';
import { useConversionWebhook } from '../kube/support.ts';
import { KINDS } from '../../src/api/kinds.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CRDS = `${ROOT}crds/`;
const EXAMPLE = `${ROOT}examples/cluster/cluster.yaml`;

const crdNames = readdirSync(CRDS)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();

let kube: KubeCluster;

/** kubectl that must succeed; the failure message carries its output. */
async function ok(args: string[], input?: string): Promise<string> {
  const r = await kube.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Retries `fn` until it stops throwing (for eventually-consistent things like the OpenAPI publisher). */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const words = (s: string) => s.replace(/\s+/g, ' ').trim();

describe('kube-apiserver test plane', () => {
  beforeAll(async () => {
    kube = await startKube();
    console.log(
      `kube test plane: Kubernetes ${kube.versions.kubernetes}, etcd ${kube.versions.etcd}, ` +
        `${kube.server}, ready in ${kube.startupMs} ms, dir ${kube.dir}`,
    );
  }, 30 * 60_000);

  afterAll(async () => {
    await kube?.stop();
  }, 60_000);

  it('reports the versions it was built at', async () => {
    const v = JSON.parse(await ok(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string; minor: string } };
    console.log(`server /version: ${v.serverVersion.gitVersion}; etcd ${kube.versions.etcd}`);
    expect(v.serverVersion.gitVersion).toBe(kube.versions.kubernetes);
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(kube.versions.etcd).toMatch(/^3\.\d+\.\d+$/);
  });

  it('accepts the bearer token as well as the client certificate', async () => {
    expect(kube.token).toBeTruthy();
    expect(words(await ok(['--context', 'netform-test-token', 'auth', 'whoami']))).toContain('admin-token');
    expect(words(await ok(['auth', 'whoami']))).toMatch(/system:masters/);
  });

  it('installs every netform CRD and they become Established', async () => {
    expect(crdNames).toHaveLength(KINDS.length);
    const out = await ok(['apply', '-f', CRDS]);
    for (const n of crdNames) expect(out).toContain(`customresourcedefinition.apiextensions.k8s.io/${n}`);
    await ok(['wait', '--for=condition=Established', '--timeout=60s', ...crdNames.map((n) => `crd/${n}`)]);
    // They store v1beta1: v1alpha1 goes through netform's conversion webhook, served by this process.
    await useConversionWebhook(kube);
    const names = JSON.parse(await ok(['get', 'crd', '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    expect(names.items.map((i) => i.metadata.name).filter((n) => n.endsWith('.netform.io')).sort()).toEqual(crdNames);
  }, 120_000);

  it('kubectl explain shows the field descriptions of the CRD schema', async () => {
    const crd = load(readFileSync(`${CRDS}networks.netform.io.yaml`, 'utf8')) as {
      spec: { versions: { name: string; schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, Schema> } } } } }[] };
    };
    interface Schema {
      description: string;
      properties?: Record<string, Schema>;
    }
    const vlan = crd.spec.versions.find((v) => v.name === 'v1beta1')!.schema.openAPIV3Schema.properties.spec.properties.vlan!;
    // the OpenAPI v3 document for a new CRD is published asynchronously: retry until it lists the field
    const out = await eventually(async () => {
      const o = await ok(['explain', 'network.spec.vlan']);
      if (!words(o).includes(words(vlan.description))) throw new Error(`explain has no vlan description yet:\n${o}`);
      return o;
    });
    expect(out).toMatch(/KIND:\s+Network/);
    expect(out).toMatch(/GROUP:\s+netform\.io/);
    expect(out).toMatch(/VERSION:\s+v1beta1/); // the preferred version
    for (const [field, s] of Object.entries(vlan.properties ?? {})) {
      expect(out).toContain(field);
      expect(words(out)).toContain(words(s.description));
    }
  }, 120_000);

  it('stores the example Networks and prints their printer columns', async () => {
    const applied = await ok(['apply', '-f', EXAMPLE]);
    expect(applied).toContain('network.netform.io/migration created');
    expect(applied).toContain('cluster.netform.io/prod created');
    const got = JSON.parse(await ok(['get', 'network', 'migration', '-o', 'json'])) as {
      spec: { physicalNetwork: string; vlan: { id: number }; mtu: number; shared: boolean };
      metadata: { uid: string };
    };
    expect(got.spec).toMatchObject({ physicalNetwork: 'physnet1', vlan: { id: 20 }, mtu: 9000 });
    expect(got.spec.shared).toBe(false); // structural-schema default applied by the apiserver
    const mgmt = JSON.parse(await ok(['get', 'network', 'mgmt', '-o', 'json'])) as { spec: { mtu: number } };
    expect(mgmt.spec.mtu).toBe(1500); // default

    const table = await ok(['get', 'networks']);
    console.log(table);
    const [header, ...rows] = table.trimEnd().split('\n');
    expect(header!.trim().split(/\s+/)).toEqual(['NAME', 'VLAN', 'PHYSNET', 'MTU', 'READY', 'SYNCED', 'AGE']);
    // Server-side table printing leaves cells of absent fields empty (no "<none>" as with custom-columns),
    // so cut the rows at the header's column starts.
    const starts = [...header!.matchAll(/\S+/g)].map((m) => m.index);
    const cells = (row: string) => starts.map((s, i) => row.slice(s, starts[i + 1]).trim());
    const byName = new Map(rows.map((r) => [cells(r)[0], cells(r)]));
    expect([...byName.keys()].sort()).toEqual(['mgmt', 'migration', 'tenant-a']);
    // no controller has written status: VLAN, READY and SYNCED are empty
    expect(byName.get('migration')!.slice(0, 6)).toEqual(['migration', '', 'physnet1', '9000', '', '']);
    expect(byName.get('mgmt')!.slice(0, 6)).toEqual(['mgmt', '', 'physnet1', '1500', '', '']);
    expect(byName.get('tenant-a')![6]).toMatch(/^\d+s$/);
    // the short name and category work too
    expect(await ok(['get', 'nnet', '-o', 'name'])).toContain('network.netform.io/tenant-a');
    expect(await ok(['get', 'netform', '-o', 'name'])).toContain('cluster.netform.io/prod');
  });

  it('rejects invalid Networks with messages naming the field', async () => {
    const bad = (spec: string) =>
      `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: bad\nspec:\n  physicalNetwork: physnet1\n${spec}`;
    const tooBig: KubectlResult = await kube.kubectl(['apply', '-f', '-'], bad('  mtu: 100000\n'));
    expect(tooBig.code).not.toBe(0);
    expect(tooBig.stderr).toContain('spec.mtu');
    expect(tooBig.stderr).toMatch(/should be less than or equal to 9216/);

    const unknown = await kube.kubectl(['apply', '--validate=strict', '-f', '-'], bad('  bogusField: 1\n'));
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown field "spec\.bogusField"/);

    const badVlan = await kube.kubectl(['create', '-f', '-'], bad('  vlan:\n    id: 5000\n'));
    expect(badVlan.code).not.toBe(0);
    expect(badVlan.stderr).toContain('spec.vlan.id');

    const missing = await kube.kubectl(['create', '-f', '-'], 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: bad\nspec: {}\n');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('spec.physicalNetwork');

    console.log([tooBig.stderr, unknown.stderr, badVlan.stderr, missing.stderr].join(''));
    expect((await kube.kubectl(['get', 'network', 'bad'])).code).not.toBe(0);
  });

  it('restarts the apiserver on the same port and etcd; the objects are still there', async () => {
    const before = JSON.parse(await ok(['get', 'network', 'migration', '-o', 'json'])) as { metadata: { uid: string } };
    const t0 = Date.now();
    await kube.restartApiserver();
    console.log(`apiserver restarted in ${Date.now() - t0} ms`);
    const after = JSON.parse(await ok(['get', 'network', 'migration', '-o', 'json'])) as {
      metadata: { uid: string };
      spec: { mtu: number };
    };
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.spec.mtu).toBe(9000);
    // the CRDs are served again after the restart and still validate
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/networks.netform.io']);
    const tooBig = await kube.kubectl(['apply', '-f', '-'],
      'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: bad\nspec:\n  physicalNetwork: p\n  mtu: 100000\n');
    expect(tooBig.code).not.toBe(0);
    expect(tooBig.stderr).toContain('spec.mtu');
  }, 180_000);
});

// An upgrade to v1beta1 (ADR 30) on a real kube-apiserver + etcd, as an operator would do it:
//   1. the previous release (its CRDs store v1alpha1, its controller speaks only v1alpha1) runs with
//      objects written in v1alpha1;
//   2. the new CRDs are applied (v1beta1 stored, v1alpha1 served and deprecated, conversions sent to
//      netform's webhook): the old objects read back as v1beta1, and the OLD controller keeps
//      converging edits made in either version;
//   3. a rolling upgrade: a new controller joins, the old one goes, the new one converges;
//   4. the storage migration (`netform migrate-storage`) leaves nothing stored as v1alpha1: with the
//      conversion webhook unreachable, every object still reads as v1beta1 (before, they did not).
// The previous release is this repository at PREVIOUS (git archive), run with this checkout's
// node_modules; both controllers use the test driver on a FakeBackend served by this process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import { FakeBackend } from '../support/fake-backend.ts';
import { startCli } from '../support/cli.ts';
import { conversionWebhook, getObj, ok, ROOT, useConversionWebhook, waitFor } from './support.ts';

/** The last commit before v1beta1: its CRDs serve and store v1alpha1 only. */
const PREVIOUS = '5a033ec';
const NS = 'netform-system';
const NETWORKS = 6;

let kube: KubeCluster;
let old: string;
const backend = new FakeBackend();
const controllers: { id: string; child: ChildProcess; err: () => string }[] = [];

function startController(id: string, root: string): (typeof controllers)[number] {
  const cli = join(root, 'test/support/netform-test-cli.ts');
  const args = [cli, 'controller', '--kubeconfig', kube.kubeconfig, '--namespace', NS, '--leader-elect', '--listen', 'off', '--ui', 'off', '--identity', id, '--resync', '600'];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, NETFORM_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const c = { id, child, err: () => err };
  controllers.push(c);
  return c;
}

async function stop(c: (typeof controllers)[number], signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  const done = new Promise<void>((r) => c.child.once('close', () => r()));
  c.child.kill(signal);
  await done;
}

const network = (version: 'v1alpha1' | 'v1beta1', i: number, mtu: number) =>
  version === 'v1alpha1'
    ? `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: net-${i}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${100 + i}}, mtu: ${mtu}, providerRefs: [{name: fake}], deletionPolicy: Delete}`
    : `apiVersion: netform.io/v1beta1\nkind: Network\nmetadata: {name: net-${i}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${100 + i}}, mtu: ${mtu}, providerRefs: [{name: fake}], lifecycle: {deletionPolicy: Delete}}`;

/** Network i is Ready for its current generation and the backend holds it with `mtu`. */
async function converged(i: number, mtu: number): Promise<boolean> {
  const o = await getObj(kube, 'networks.v1beta1.netform.io', `net-${i}`);
  const ready = o?.status?.conditions?.find((c) => c.type === 'Ready');
  if (!o || ready?.status !== 'True' || o.status?.observedGeneration !== o.metadata.generation) return false;
  return backend.list('network').some((b) => b.fields.name === `net-${i}` && b.fields.mtu === mtu);
}

async function allConverged(mtus: number[], timeoutMs = 90_000): Promise<void> {
  await waitFor(`networks converged at ${mtus.join(',')}`, async () => (await Promise.all(mtus.map((m, i) => converged(i, m)))).every(Boolean) || undefined, timeoutMs);
}

/** The apiVersion each netform object is stored in, as etcd holds it (its v3 JSON gateway), by
 *  `plural/[namespace/]name`. */
async function stored(): Promise<Map<string, string>> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const prefix = '/registry/netform.io/';
  const res = await fetch(`${kube.etcd}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64(prefix), range_end: b64(prefix.slice(0, -1) + '0') }) });
  if (!res.ok) throw new Error(`etcd range: ${res.status}`);
  const body = (await res.json()) as { kvs?: { key: string; value: string }[] };
  const out = new Map<string, string>();
  for (const kv of body.kvs ?? []) {
    const o = JSON.parse(Buffer.from(kv.value, 'base64').toString('utf8')) as { apiVersion: string };
    out.set(Buffer.from(kv.key, 'base64').toString('utf8').slice(prefix.length), o.apiVersion);
  }
  return out;
}

/** Points the CRDs' conversion webhook at a port nobody serves: what a controller outage looks like. */
async function breakConversion(): Promise<void> {
  const { caBundle } = await conversionWebhook();
  const patch = JSON.stringify({ spec: { conversion: { webhook: { clientConfig: { url: 'https://127.0.0.1:9/convert', caBundle } } } } });
  for (const crd of ['networks.netform.io', 'providers.netform.io', 'hosts.netform.io', 'clusters.netform.io']) await ok(kube, ['patch', 'crd', crd, '--type=merge', '-p', patch]);
}

beforeAll(async () => {
  old = mkdtempSync(join(tmpdir(), 'netform-previous-'));
  // The previous release's sources, run with this checkout's dependencies.
  const archive = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', PREVIOUS, 'crds', 'src', 'test/support', 'package.json', 'tsconfig.json'], { maxBuffer: 256 << 20 });
  execFileSync('tar', ['-x', '-C', old], { input: archive });
  symlinkSync(join(ROOT, 'node_modules'), join(old, 'node_modules'));
  [kube] = await Promise.all([startKube(), backend.start()]);
  await ok(kube, ['create', 'namespace', NS]);
  await ok(kube, ['apply', '-f', join(old, 'crds')]);
  await ok(kube, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/networks.netform.io', 'crd/providers.netform.io']);
}, 30 * 60_000);

afterAll(async () => {
  for (const c of controllers) await stop(c);
  await backend.stop();
  await kube?.stop();
  if (old) rmSync(old, { recursive: true, force: true });
}, 120_000);

describe('an upgrade from v1alpha1 to v1beta1', () => {
  let previous: (typeof controllers)[number];

  it('the previous release stores v1alpha1 and converges its objects', async () => {
    const crd = JSON.parse(await ok(kube, ['get', 'crd', 'networks.netform.io', '-o', 'json']));
    expect(crd.spec.versions.map((v: { name: string }) => v.name)).toEqual(['v1alpha1']);
    const docs = [
      `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: fake}\nspec: {type: neutron, endpoint: "${backend.url}", neutron: {auth: noauth}}`,
      ...[...Array(NETWORKS).keys()].map((i) => network('v1alpha1', i, 1500)),
    ];
    await ok(kube, ['apply', '-f', '-'], docs.join('\n---\n'));
    previous = startController('previous', old);
    // Read through v1alpha1 here: v1beta1 does not exist yet.
    await waitFor('the previous controller to converge', async () => {
      const list = JSON.parse(await ok(kube, ['get', 'networks.v1alpha1.netform.io', '-o', 'json'])) as { items: { metadata: { generation: number }; status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } }[] };
      return list.items.length === NETWORKS && list.items.every((o) => o.status?.observedGeneration === o.metadata.generation && o.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
    }, 90_000);
    expect(backend.list('network').length).toBe(NETWORKS);
  }, 120_000);

  it('after the new CRDs, objects written in v1alpha1 read back as v1beta1, and v1alpha1 warns it is deprecated', async () => {
    // As the previous release stored them.
    const before = await stored();
    expect(before.size).toBe(NETWORKS + 1);
    expect(new Set(before.values())).toEqual(new Set(['netform.io/v1alpha1']));
    await ok(kube, ['apply', '-f', join(ROOT, 'crds')]);
    await useConversionWebhook(kube);
    await ok(kube, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/networks.netform.io']);
    const crd = JSON.parse(await ok(kube, ['get', 'crd', 'networks.netform.io', '-o', 'json']));
    // Both versions have been stored now (the old objects, and anything written from here on).
    expect(crd.status.storedVersions.sort()).toEqual(['v1alpha1', 'v1beta1']);
    const beta = await getObj(kube, 'networks.v1beta1.netform.io', 'net-0');
    expect(beta?.apiVersion).toBe('netform.io/v1beta1');
    expect(beta?.spec).toMatchObject({ physicalNetwork: 'physnet1', vlan: { id: 100 }, mtu: 1500, lifecycle: { deletionPolicy: 'Delete', approval: 'Auto', managementPolicy: 'Managed', allowReplace: false } });
    expect(beta?.spec).not.toHaveProperty('deletionPolicy');
    const provider = await getObj(kube, 'providers.v1beta1.netform.io', 'fake');
    expect(provider?.spec).toMatchObject({ type: 'neutron', connection: { endpoint: backend.url, requestTimeoutSeconds: 30, maxConcurrency: 4 } });
    // Status is the same in both versions: the old controller's conditions are there.
    expect(beta?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    // The same object in v1alpha1, with kubectl's deprecation warning.
    const r = await kube.kubectl(['get', 'networks.v1alpha1.netform.io', 'net-0', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('netform.io/v1alpha1 is deprecated');
    expect(JSON.parse(r.stdout).spec).toMatchObject({ deletionPolicy: 'Delete', mtu: 1500 });
  }, 120_000);

  it('the previous controller keeps converging against the new CRDs: edits in v1alpha1 and in v1beta1, and a new object in v1beta1', async () => {
    await ok(kube, ['apply', '-f', '-'], network('v1alpha1', 0, 1400));
    await ok(kube, ['apply', '-f', '-'], network('v1beta1', 1, 1450));
    await ok(kube, ['apply', '-f', '-'], network('v1beta1', NETWORKS, 1300));
    const mtus = [1400, 1450, ...Array(NETWORKS - 2).fill(1500), 1300];
    await allConverged(mtus);
    expect(previous.child.exitCode).toBeNull();
    expect(previous.err()).not.toMatch(/"level":50.*(conversion|decode)/);
  }, 120_000);

  it('a rolling upgrade: a new controller joins, the previous one goes, the new one converges', async () => {
    const next = startController('next', ROOT);
    // The previous one holds the Lease; the new one waits, then takes it once the previous one is gone.
    await new Promise((r) => setTimeout(r, 2_000));
    await stop(previous);
    await ok(kube, ['apply', '-f', '-'], network('v1beta1', 2, 1350));
    await allConverged([1400, 1450, 1350, ...Array(NETWORKS - 3).fill(1500), 1300], 120_000);
    expect(next.child.exitCode).toBeNull();
  }, 180_000);

  it('after `netform migrate-storage`, nothing is stored as v1alpha1: every object reads as v1beta1 with the conversion webhook down', async () => {
    // Before: what nobody wrote since the upgrade is still stored as v1alpha1 (the controllers rewrite
    // an object when they write its status or finalizer; what they left alone, the migration must do).
    const before = await stored();
    const stale = [...before].filter(([, v]) => v === 'netform.io/v1alpha1').map(([k]) => k);
    console.log(`before the migration: ${stale.length} of ${before.size} objects stored as v1alpha1 (${stale.join(', ')})`);
    if (stale.length) {
      // Then reading them as v1beta1 needs the webhook.
      await breakConversion();
      const r = await kube.kubectl(['get', `${stale[0]!.split('/')[0]}.v1beta1.netform.io`, '-o', 'json']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/conversion webhook/);
      await useConversionWebhook(kube);
    }

    const p = startCli(['migrate-storage', '--kubeconfig', kube.kubeconfig], { real: true });
    const r = await p.result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Network: \d+ objects rewritten/);

    const after = await stored();
    expect(after.size).toBe(before.size);
    expect(new Set(after.values())).toEqual(new Set(['netform.io/v1beta1']));
    for (const crd of ['networks.netform.io', 'providers.netform.io', 'vnicattachments.netform.io']) {
      expect(JSON.parse(await ok(kube, ['get', 'crd', crd, '-o', 'json'])).status.storedVersions, crd).toEqual(['v1beta1']);
    }
    await breakConversion();
    const read = JSON.parse(await ok(kube, ['get', 'networks.v1beta1.netform.io', '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    expect(read.items.map((o) => o.metadata.name).sort()).toEqual([...Array(NETWORKS + 1).keys()].map((i) => `net-${i}`).sort());
    expect((await getObj(kube, 'providers.v1beta1.netform.io', 'fake'))?.spec?.connection).toMatchObject({ endpoint: backend.url });
    // v1alpha1 clients still need the webhook (that is what it is for), and get it back.
    expect((await kube.kubectl(['get', 'networks.v1alpha1.netform.io', 'net-0'])).code).not.toBe(0);
    await useConversionWebhook(kube);
    expect((await kube.kubectl(['get', 'networks.v1alpha1.netform.io', 'net-0'])).code).toBe(0);
    // The controller converges on: an edit after the migration.
    await ok(kube, ['apply', '-f', '-'], network('v1beta1', 3, 1280));
    await allConverged([1400, 1450, 1350, 1280, ...Array(NETWORKS - 4).fill(1500), 1300], 120_000);
  }, 240_000);
});

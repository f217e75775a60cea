// KubeRecords on the real apiserver: the finalizer goes on first, status goes through /status with the
// resourceVersion, a write that lost a race (409) re-reads and succeeds, an unchanged status is not
// written, the host agent's fields survive the controller's writes, and deleting the record removes
// the finalizer so the API lets the object go.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyOf, KINDS, type Kind } from '../../src/api/kinds.ts';
import { KubeClient } from '../../src/adapters/kube/client.ts';
import { KubeRecords, type KindCache } from '../../src/adapters/kube/records.ts';
import { resourceTypes } from '../../src/adapters/kube/resources.ts';
import type { ApiObject } from '../../src/api/objects.ts';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import { getObj, installCrds, ok } from './support.ts';

let kube: KubeCluster;
let client: KubeClient;

/** A cache that reads through to the API on demand (`refresh`), standing in for the informers. */
class ReadThrough implements KindCache {
  readonly #objects = new Map<string, ApiObject>();
  readonly #kind: Kind;
  constructor(kind: Kind) {
    this.#kind = kind;
  }
  async refresh(name: string): Promise<void> {
    try {
      this.#objects.set(name, await client.get<ApiObject>(resourceTypes()[this.#kind], name));
    } catch {
      this.#objects.delete(name);
    }
  }
  list(): ApiObject[] {
    return [...this.#objects.values()];
  }
  get(name: string): ApiObject | undefined {
    return this.#objects.get(name);
  }
}

const caches = Object.fromEntries(KINDS.map((k) => [k, new ReadThrough(k)])) as Record<Kind, ReadThrough>;
const requests: string[] = [];
let records: KubeRecords;

beforeAll(async () => {
  kube = await startKube();
  await installCrds(kube);
  client = KubeClient.load({ kubeconfig: kube.kubeconfig });
  const request = client.request.bind(client);
  client.request = ((method: string, path: string, opts?: unknown) => {
    requests.push(`${method} ${path}`);
    return request(method as never, path, opts as never);
  }) as typeof client.request;
  records = new KubeRecords({ client, caches, log: pino({ level: 'silent' }) });
}, 30 * 60_000);

afterAll(async () => {
  await client?.close();
  await kube?.stop();
});

describe('KubeRecords on a real apiserver', () => {
  it('claims with the finalizer, writes status, retries a lost race, skips an unchanged status', async () => {
    await ok(kube, ['apply', '-f', '-'], 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: web}\nspec: {physicalNetwork: physnet1, vlan: {id: 10}}');
    await caches.Network.refresh('web');
    const key = keyOf({ kind: 'Network', metadata: { name: 'web' } });
    await records.claim(key);
    expect((await getObj(kube, 'network', 'web'))!.metadata.finalizers).toEqual(['netform.io/cleanup']);

    // Someone else writes the object after our cache read it: our write answers 409, is re-read and retried.
    await ok(kube, ['label', 'network', 'web', 'team=a']);
    const rec = records.get(key)!;
    expect(rec.generation).toBe(1);
    rec.status = { observedGeneration: 1, vlan: 10, conditions: [{ type: 'Ready', status: 'True', reason: 'Available', observedGeneration: 1, lastTransitionTime: '2026-11-21T10:00:00.000Z' }] };
    requests.length = 0;
    await records.put(rec);
    expect(requests.filter((r) => r.startsWith('PUT'))).toHaveLength(2); // 409, then success
    expect(requests.some((r) => r.startsWith('GET'))).toBe(true);
    const stored = (await getObj(kube, 'network', 'web'))!;
    expect(stored.status).toEqual(rec.status);
    expect((stored.metadata as { labels?: Record<string, string> }).labels).toEqual({ team: 'a' });
    // Our own write is visible at once, before any informer caught up.
    expect(records.get(key)!.status).toEqual(rec.status);

    requests.length = 0;
    await records.put(structuredClone(records.get(key)!));
    expect(requests).toEqual([]);
  });

  it('never overwrites the host agent\u2019s fields of a Host status', async () => {
    await ok(kube, ['apply', '-f', '-'], 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv1}\nspec: {cluster: c, nics: [{name: eno1}]}');
    const agentStatus = { agent: { lastObservedTime: '2026-11-21T10:00:00.000Z', networks: [{ name: 'apps', inSync: true }] }, interfaces: [{ name: 'eno1' }], lastObservedTime: '2026-11-21T10:00:00.000Z' };
    await ok(kube, ['patch', 'host', 'hv1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: agentStatus })]);
    await caches.Host.refresh('hv1');
    const key = 'Host/hv1';
    const rec = records.get(key)!;
    // The controller's copy carries stale agent fields; the write must keep the agent's.
    rec.status = { ...rec.status, interfaces: [{ name: 'stale' }], agent: { lastObservedTime: '2020-01-01T00:00:00.000Z' }, networkCount: 1, observedGeneration: 1 };
    await records.put(rec);
    const stored = (await getObj(kube, 'host', 'hv1'))!;
    expect(stored.status?.interfaces).toEqual([{ name: 'eno1' }]);
    expect(stored.status?.agent).toEqual(agentStatus.agent);
    expect(stored.status?.networkCount).toBe(1);
  });

  it('deleting the record removes the finalizer, and the API lets a deleted object go', async () => {
    await ok(kube, ['delete', 'network', 'web', '--wait=false']);
    await caches.Network.refresh('web');
    const key = 'Network/web';
    expect(records.get(key)).toBeDefined(); // being deleted, but ours to clean up
    await records.delete(key);
    await ok(kube, ['wait', '--for=delete', 'network/web', '--timeout=30s']);
    await caches.Network.refresh('web');
    expect(records.get(key)).toBeUndefined();
  });
});

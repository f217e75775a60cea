// EventRecorder against a real kube-apiserver + etcd (test/harness/kube): Events about a Network
// (cluster-scoped) and a VnicAttachment (namespaced) created with kubectl from crds/, read back
// through kubectl (the core/v1 view, as `kubectl get events` and `describe` see them) and through
// events.k8s.io/v1: fields, namespaces, aggregation into a series, the per-object rate limit,
// note truncation at the API's own limit, and failures that never reach the caller.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, KubeClient } from '../../src/adapters/kube/client.ts';
import { EventRecorder, type EventSubject, type KubeEvent } from '../../src/adapters/kube/events.ts';
import { type WallClock } from '../../src/adapters/kube/clock.ts';
import { EVENTS } from '../../src/adapters/kube/resources.ts';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import { useConversionWebhook } from './support.ts';

const CRDS = fileURLToPath(new URL('../../crds/', import.meta.url));
const log = pino({ level: process.env.NETFORM_TEST_LOG ?? 'silent' });
const MICROTIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

const MANIFESTS = `
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: tenant-a
spec:
  physicalNetwork: physnet2
  vlan:
    id: 301
  allowedNamespaces: [team-a]
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: flappy
spec:
  physicalNetwork: physnet2
  vlan:
    id: 302
---
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: web1-nic1
  namespace: team-a
spec:
  vm:
    name: web1
    uid: 6f1c2f0e-6c55-4c5e-9a43-3c2f8b7e0a11
  interfaceName: nic1
  mac: 56:6f:00:00:00:01
  network: tenant-a
  host: hv1
`;

let kube: KubeCluster;
let client: KubeClient;
let network: EventSubject & { metadata: { uid: string; resourceVersion: string; name: string } };
let flappy: EventSubject & { metadata: { uid: string; name: string } };
let vnic: EventSubject & { metadata: { uid: string; namespace: string; name: string } };
const recorders: EventRecorder[] = [];

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kube.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function recorder(identity: string, opts: { clock?: WallClock; client?: KubeClient } = {}): EventRecorder {
  const r = new EventRecorder({ client: opts.client ?? client, identity, log, clock: opts.clock });
  recorders.push(r);
  return r;
}

/** Core/v1 Events, as `kubectl get events -A` returns them. */
interface CoreEvent {
  metadata: { name: string; namespace: string };
  involvedObject: { apiVersion: string; kind: string; name: string; namespace?: string; uid: string; resourceVersion?: string };
  reason: string;
  message: string;
  type: string;
  action: string;
  reportingComponent: string;
  reportingInstance: string;
  eventTime: string;
  series?: { count: number; lastObservedTime: string };
}

async function coreEvents(instance: string): Promise<CoreEvent[]> {
  const all = JSON.parse(await ok(['get', 'events', '-A', '-o', 'json'])) as { items: CoreEvent[] };
  return all.items.filter((e) => e.reportingInstance === instance);
}

/** events.k8s.io/v1 Events of one reporting instance, read with our client. */
async function eventsOf(instance: string, namespace?: string): Promise<KubeEvent[]> {
  const page = await client.list<KubeEvent>(EVENTS, { namespace });
  return page.items.filter((e) => e.reportingInstance === instance);
}

/** Wall time from the system clock; monotonic time that `advance()` can move forward, firing due timers. */
class SkippableClock implements WallClock {
  #skip = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #seq = 0;
  now(): number {
    return performance.now() + this.#skip;
  }
  wallNow(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.now() + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.#timers.delete(h as number);
  }
  advance(ms: number): void {
    this.#skip += ms;
    for (const [id, t] of [...this.#timers]) {
      if (t.at <= this.now()) {
        this.#timers.delete(id);
        t.fn();
      }
    }
  }
}

beforeAll(async () => {
  kube = await startKube();
  client = KubeClient.load({ kubeconfig: kube.kubeconfig });
  await ok(['apply', '-f', CRDS]);
  await useConversionWebhook(kube);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/networks.netform.io', 'crd/vnicattachments.netform.io']);
  await ok(['apply', '-f', '-'], MANIFESTS);
  network = JSON.parse(await ok(['get', 'network', 'tenant-a', '-o', 'json']));
  flappy = JSON.parse(await ok(['get', 'network', 'flappy', '-o', 'json']));
  vnic = JSON.parse(await ok(['get', 'vnicattachment', 'web1-nic1', '-n', 'team-a', '-o', 'json']));
}, 30 * 60_000);

afterAll(async () => {
  await Promise.all(recorders.map((r) => r.close()));
  await kube?.stop();
}, 60_000);

describe('EventRecorder on a real apiserver', () => {
  it('writes an Event about a cluster-scoped Network into default, with every field', async () => {
    const rec = recorder('fields-0');
    rec.record(network, 'Normal', 'Synced', 'Reconcile', 'network created in Neutron as 6c1f…');
    await rec.flush();
    expect(rec.stats()).toMatchObject({ created: 1, failed: 0 });
    const [core, ...more] = await coreEvents('fields-0');
    expect(more).toEqual([]);
    expect(core!.metadata.namespace).toBe('default');
    expect(core!.involvedObject).toEqual({
      apiVersion: 'netform.io/v1beta1', // the version the Network was read in (the storage version),
      kind: 'Network',
      name: 'tenant-a',
      uid: network.metadata.uid,
      resourceVersion: network.metadata.resourceVersion,
    });
    expect(core).toMatchObject({
      reason: 'Synced',
      message: 'network created in Neutron as 6c1f…',
      type: 'Normal',
      action: 'Reconcile',
      reportingComponent: 'netform.io/controller',
      reportingInstance: 'fields-0',
    });
    expect(core!.eventTime).toMatch(MICROTIME);
    expect(core!.series).toBeUndefined();
    const [ev] = await eventsOf('fields-0', 'default');
    expect(ev!.regarding.kind).toBe('Network');
    expect(ev!.note).toBe('network created in Neutron as 6c1f…');
    expect(ev!.reportingController).toBe('netform.io/controller');
  });

  it("writes an Event about a namespaced VnicAttachment into the object's namespace", async () => {
    const rec = recorder('fields-1');
    rec.record(vnic, 'Warning', 'WaitingForDependencies', 'Reconcile', 'network tenant-a is not Ready');
    await rec.flush();
    const evs = await coreEvents('fields-1');
    expect(evs).toHaveLength(1);
    expect(evs[0]!.metadata.namespace).toBe('team-a');
    expect(evs[0]!.involvedObject).toMatchObject({ kind: 'VnicAttachment', name: 'web1-nic1', namespace: 'team-a', uid: vnic.metadata.uid });
    expect(evs[0]!.type).toBe('Warning');
    const out = await ok(['get', 'events', '-n', 'team-a', '--field-selector', 'involvedObject.name=web1-nic1']);
    expect(out).toContain('WaitingForDependencies');
  });

  it('aggregates n identical records into one Event with series count n', async () => {
    const rec = recorder('aggregate-0');
    const n = 12;
    // five with a flush after each (one write each), then seven at once (coalesced)
    for (let i = 0; i < 5; i++) {
      rec.record(network, 'Warning', 'BackendRejected', 'Create', 'Neutron: VLAN 301 on physnet2 is in use');
      await rec.flush();
    }
    for (let i = 5; i < n; i++) rec.record(network, 'Warning', 'BackendRejected', 'Create', 'Neutron: VLAN 301 on physnet2 is in use');
    rec.record(network, 'Warning', 'BackendRejected', 'Create', 'Neutron: VLAN 302 on physnet2 is in use'); // another note: its own Event
    await rec.flush();
    const evs = await eventsOf('aggregate-0');
    expect(evs).toHaveLength(2);
    const series = evs.find((e) => e.note.includes('VLAN 301'))!;
    expect(series.series!.count).toBe(n);
    expect(series.series!.lastObservedTime).toMatch(MICROTIME);
    expect(Date.parse(series.series!.lastObservedTime)).toBeGreaterThanOrEqual(Date.parse(series.eventTime));
    expect(evs.find((e) => e.note.includes('VLAN 302'))!.series).toBeUndefined();
    const writes = rec.stats();
    expect(writes.created).toBe(2);
    expect(writes.updated).toBeLessThan(n - 1); // the burst shared writes
    expect((await coreEvents('aggregate-0')).find((e) => e.message.includes('VLAN 301'))!.series!.count).toBe(n);
  });

  it('kubectl describe lists the Events of a Network and a VnicAttachment', async () => {
    const rec = recorder('describe-0');
    for (let i = 0; i < 3; i++) rec.record(network, 'Warning', 'DriftDetected', 'Observe', 'MTU is 1500 in Neutron, 9000 declared');
    rec.record(vnic, 'Normal', 'Attached', 'Create', 'tap plugged into tenant-a on hv1');
    await rec.flush();
    const out = await ok(['describe', 'network', 'tenant-a']);
    console.log(out.slice(out.indexOf('Events:')));
    const events = out.slice(out.indexOf('Events:'));
    const line = events.split('\n').find((l) => l.includes('DriftDetected'));
    expect(line).toBeDefined();
    expect(line).toMatch(/^\s*Warning\s+DriftDetected\s/);
    expect(line).toContain('(x3 over');
    expect(line).toContain('netform.io/controller');
    expect(line).toContain('MTU is 1500 in Neutron, 9000 declared');
    const vout = await ok(['describe', 'vnicattachment', 'web1-nic1', '-n', 'team-a']);
    expect(vout.slice(vout.indexOf('Events:'))).toMatch(/Normal\s+Attached\s.*tap plugged into tenant-a on hv1/);
  });

  it('cuts a long note to the 1 KiB the API allows, which rejects one byte more', async () => {
    const rec = recorder('truncate-0');
    rec.record(network, 'Warning', 'BackendRejected', 'Create', `Neutron said: ${'é'.repeat(3000)}`);
    await rec.flush();
    expect(rec.stats()).toMatchObject({ created: 1, failed: 0 });
    const [ev] = await eventsOf('truncate-0');
    expect(Buffer.byteLength(ev!.note)).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(ev!.note)).toBeGreaterThan(1020);
    expect(ev!.note.startsWith('Neutron said: éé')).toBe(true);
    expect(ev!.note.endsWith('…')).toBe(true);
    // the limit is the apiserver's, not ours, and it counts bytes: 1024 are taken, 1025 refused even
    // when they are only 513 characters
    const post = (name: string, note: string) =>
      client.create(EVENTS, { ...ev!, metadata: { name, namespace: 'default' }, note }, 'default').then(() => undefined, (e: unknown) => e);
    expect(await post('exactly-1024', 'é'.repeat(512))).toBeUndefined();
    for (const [name, note] of [['ascii-1025', 'x'.repeat(1025)], ['utf8-1025', `${'é'.repeat(512)}x`]] as const) {
      const err = await post(name, note);
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).status).toBe(422);
      expect((err as KubeApiError).message).toMatch(/at most 1024/);
    }
  });

  it('lets a flapping object write 25 Events, then holds series bumps until the next token', async () => {
    const clock = new SkippableClock();
    const rec = recorder('ratelimit-0', { clock });
    for (let i = 0; i < 40; i++) rec.record(flappy, 'Warning', 'Flapping', 'Reconcile', `attempt ${i}: link down`);
    rec.record(network, 'Normal', 'Synced', 'Reconcile', 'another object is not limited');
    await rec.flush();
    expect(rec.stats()).toMatchObject({ created: 26, rateLimited: 15, failed: 0 });
    const evs = await eventsOf('ratelimit-0');
    expect(evs.filter((e) => e.regarding.name === 'flappy')).toHaveLength(25);
    expect(evs.filter((e) => e.regarding.name === 'tenant-a')).toHaveLength(1);
    // the bucket is empty: repeats of attempt 0 wait for the next token (one per 5 minutes)
    for (let i = 0; i < 3; i++) rec.record(flappy, 'Warning', 'Flapping', 'Reconcile', 'attempt 0: link down');
    await rec.flush();
    expect(rec.stats().deferred).toBe(1);
    const first = async () => (await eventsOf('ratelimit-0')).find((e) => e.note === 'attempt 0: link down')!;
    expect((await first()).series).toBeUndefined();
    clock.advance(5 * 60_000);
    await rec.flush();
    expect((await first()).series!.count).toBe(4);
    expect(rec.stats()).toMatchObject({ deferred: 0, updated: 1 });
    // a new Event still has no token
    rec.record(flappy, 'Warning', 'Flapping', 'Reconcile', 'attempt 41: link down');
    await rec.flush();
    expect(rec.stats().rateLimited).toBe(16);
  });

  it('never throws and drops what the apiserver refuses or cannot take', async () => {
    // an object in a namespace that does not exist
    const rec = recorder('failures-0');
    const ghost: EventSubject = { kind: 'VnicAttachment', metadata: { name: 'ghost', namespace: 'no-such-ns', uid: 'u-1' } };
    expect(() => rec.record(ghost, 'Normal', 'Attached', 'Create', 'x')).not.toThrow();
    await rec.flush();
    expect(rec.stats()).toMatchObject({ created: 0, failed: 1 });
    // an apiserver nobody listens on
    const src = new KubeConfig();
    src.loadFromFile(kube.kubeconfig);
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: src.clusters.map((c) => ({ ...c, server: 'https://127.0.0.1:1' })), users: src.users, contexts: src.contexts, currentContext: src.currentContext });
    const down = recorder('failures-1', { client: new KubeClient(kc, { timeoutMs: 5_000 }) });
    expect(() => down.record(network, 'Warning', 'BackendRejected', 'Create', 'x')).not.toThrow();
    await down.flush();
    expect(down.stats()).toMatchObject({ created: 0, failed: 1 });
    expect(await eventsOf('failures-1')).toEqual([]);
  });
});

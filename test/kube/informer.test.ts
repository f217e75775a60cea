// The informer against a real kube-apiserver + etcd (test/harness/kube): netform's CRDs installed
// with kubectl, objects changed with kubectl, the apiserver restarted under a running watch, and a
// real 410 Gone provoked by resuming from a resourceVersion older than the apiserver's watch window.
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkSpec, VnicAttachmentSpec } from '../../src/api/types.gen.ts';
import { KubeClient, type ResourceType, type WatchEvent } from '../../src/adapters/kube/client.ts';
import { Informer, type InformerEvent, type InformerOptions } from '../../src/adapters/kube/informer.ts';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import { useConversionWebhook } from './support.ts';

const CRDS = fileURLToPath(new URL('../../crds/', import.meta.url));
const NETWORKS: ResourceType = { group: 'netform.io', version: 'v1alpha1', plural: 'networks', namespaced: false };
const VNICS: ResourceType = { group: 'netform.io', version: 'v1alpha1', plural: 'vnicattachments', namespaced: true };

interface Meta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
}
interface Network {
  metadata: Meta;
  spec: NetworkSpec;
}
interface Vnic {
  metadata: Meta;
  spec: VnicAttachmentSpec;
}

let kube: KubeCluster;
let client: KubeClient;
const informers: { stop(): Promise<void> }[] = [];

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kube.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const networkYaml = (name: string, vlan: number, mtu = 1500) =>
  `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: ${name}\nspec:\n  physicalNetwork: physnet1\n  vlan:\n    id: ${vlan}\n  mtu: ${mtu}\n`;
const vnicYaml = (name: string, namespace: string, network: string) =>
  `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n` +
  `spec:\n  vm:\n    name: vm-${name}\n  interfaceName: nic1\n  network: ${network}\n  host: hv1\n`;

/** The server's view, for comparing with the cache: `name@resourceVersion`, sorted. */
async function serverView(resource: string): Promise<string[]> {
  const out = JSON.parse(await ok(['get', resource, '-A', '-o', 'json'])) as { items: { metadata: Meta }[] };
  return out.items.map((o) => `${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
}
const cacheView = (inf: { list(): { metadata: Meta }[] }) =>
  inf.list().map((o) => `${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}@${o.metadata.resourceVersion}`).sort();

interface LogRecord {
  level: number;
  msg: string;
  reason?: string;
  next?: string;
  delayMs?: number;
  err?: string;
  [k: string]: unknown;
}

function captureLog(): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = pino({ level: 'debug', base: undefined }, { write: (s: string) => void records.push(JSON.parse(s) as LogRecord) });
  return { log, records };
}

interface Harness<T extends Network | Vnic> {
  informer: Informer<T>;
  events: { type: InformerEvent<T>['type']; key: string; rv?: string; synced: boolean }[];
  records: LogRecord[];
}

function informer<T extends Network | Vnic>(opts: Partial<InformerOptions> & { type: ResourceType }, c: KubeClient = client): Harness<T> {
  const { log, records } = captureLog();
  const inf = new Informer<T>({ client: c, log, backoff: { initialMs: 100, maxMs: 1_000 }, ...opts });
  informers.push(inf);
  const events: Harness<T>['events'] = [];
  inf.onChange((e) =>
    events.push({
      type: e.type,
      key: `${e.object.metadata.namespace ? `${e.object.metadata.namespace}/` : ''}${e.object.metadata.name}`,
      rv: e.object.metadata.resourceVersion,
      synced: inf.hasSynced(),
    }),
  );
  return { informer: inf, events, records };
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const decisions = (h: { records: LogRecord[] }) =>
  h.records.filter((r) => r.next !== undefined).map((r) => ({ reason: r.reason, next: r.next, delayMs: r.delayMs, err: r.err }));

describe('Informer against a real kube-apiserver', () => {
  beforeAll(async () => {
    kube = await startKube();
    console.log(`kube: Kubernetes ${kube.versions.kubernetes}, etcd ${kube.versions.etcd}, ${kube.server}`);
    await ok(['apply', '-f', CRDS]);
    await useConversionWebhook(kube);
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/networks.netform.io', 'crd/vnicattachments.netform.io']);
    await ok(['create', 'namespace', 'team-a']);
    await ok(['create', 'namespace', 'team-b']);
    await ok(['apply', '-f', '-'], [networkYaml('net-a', 101), networkYaml('net-b', 102), networkYaml('net-c', 103)].join('---\n'));
    await ok(['apply', '-f', '-'], [vnicYaml('web1', 'team-a', 'net-a'), vnicYaml('web2', 'team-a', 'net-a'), vnicYaml('db1', 'team-b', 'net-b')].join('---\n'));
    client = KubeClient.load({ kubeconfig: kube.kubeconfig });
  }, 30 * 60_000);

  afterAll(async () => {
    await Promise.all(informers.splice(0).map((i) => i.stop()));
    await kube?.stop();
  }, 120_000);

  it('syncs the existing Networks and VnicAttachments, in pages, as adds before reporting sync', async () => {
    // records the pages the real apiserver hands out
    const pages: { continueSent?: string; items: number; continueGot?: string }[] = [];
    class PageSpy extends KubeClient {
      override async list<T>(...args: Parameters<KubeClient['list']>) {
        const page = await super.list<T>(...args);
        pages.push({ continueSent: args[1]?.continue, items: page.items.length, continueGot: page.metadata.continue });
        return page;
      }
    }
    const nets = informer<Network>({ type: NETWORKS, pageSize: 2 });
    const vnics = informer<Vnic>({ type: VNICS, pageSize: 1 }, new PageSpy(client.config));
    const teamA = informer<Vnic>({ type: VNICS, namespace: 'team-a' });
    for (const h of [nets, vnics, teamA]) h.informer.start();
    await Promise.all([nets, vnics, teamA].map((h) => h.informer.waitForSync(AbortSignal.timeout(60_000))));

    expect(cacheView(nets.informer)).toEqual(await serverView('networks'));
    expect(nets.informer.list().map((n) => n.metadata.name).sort()).toEqual(['net-a', 'net-b', 'net-c']);
    expect(nets.informer.get('net-b')?.spec).toMatchObject({ physicalNetwork: 'physnet1', vlan: { id: 102 }, mtu: 1500 });
    expect(cacheView(vnics.informer)).toEqual(await serverView('vnicattachments'));
    expect(vnics.informer.get('db1', 'team-b')?.spec.network).toBe('net-b');
    expect(vnics.informer.get('db1')).toBeUndefined();
    expect(teamA.informer.list().map((v) => v.metadata.name).sort()).toEqual(['web1', 'web2']);

    for (const h of [nets, vnics, teamA]) {
      expect(h.events.every((e) => e.type === 'add' && !e.synced)).toBe(true);
      expect(h.events).toHaveLength(h.informer.list().length);
      await waitFor('an open watch', () => h.informer.health().watching);
      expect(h.informer.health()).toMatchObject({ synced: true, watching: true, stale: false });
    }
    const initial = vnics.records.find((r) => r.msg === 'initial list');
    expect(initial).toMatchObject({ objects: 3, add: 3 });
    // three pages of one, chained by the server's continue tokens
    expect(pages.map((p) => p.items)).toEqual([1, 1, 1]);
    expect(pages[0]!.continueSent).toBeUndefined();
    expect(pages[1]!.continueSent).toBe(pages[0]!.continueGot);
    expect(pages[2]!.continueSent).toBe(pages[1]!.continueGot);
    expect(pages[2]!.continueGot).toBeFalsy();
  });

  it('delivers kubectl creates, updates and deletes', async () => {
    const nets = informer<Network>({ type: NETWORKS });
    const vnics = informer<Vnic>({ type: VNICS });
    nets.informer.start();
    vnics.informer.start();
    await nets.informer.waitForSync();
    await vnics.informer.waitForSync();
    await waitFor('open watches', () => nets.informer.health().watching && vnics.informer.health().watching);
    nets.events.length = 0;
    vnics.events.length = 0;

    await ok(['apply', '-f', '-'], networkYaml('net-d', 104));
    await waitFor('add net-d', () => nets.events.some((e) => e.type === 'add' && e.key === 'net-d'));
    await ok(['patch', 'network', 'net-d', '--type', 'merge', '-p', '{"spec":{"mtu":9000}}']);
    await waitFor('mtu 9000', () => nets.informer.get('net-d')?.spec.mtu === 9000);
    await ok(['delete', 'network', 'net-d', '--wait=true']);
    await waitFor('delete net-d', () => nets.events.some((e) => e.type === 'delete' && e.key === 'net-d'));
    expect(nets.events.map((e) => `${e.type} ${e.key}`)).toEqual(['add net-d', 'update net-d', 'delete net-d']);
    expect(nets.informer.get('net-d')).toBeUndefined();

    await ok(['apply', '-f', '-'], vnicYaml('web3', 'team-b', 'net-c'));
    await ok(['delete', 'vnicattachment', 'web2', '-n', 'team-a']);
    await waitFor('web3 and web2', () => vnics.events.length === 2);
    expect(vnics.events.map((e) => `${e.type} ${e.key}`)).toEqual(['add team-b/web3', 'delete team-a/web2']);
    expect(cacheView(vnics.informer)).toEqual(await serverView('vnicattachments'));
    expect(cacheView(nets.informer)).toEqual(await serverView('networks'));
  });

  it('recovers from an apiserver restart and sees the changes made after it', async () => {
    const nets = informer<Network>({ type: NETWORKS, idleTimeoutMs: 10_000, staleAfterMs: 1_000 });
    nets.informer.start();
    await nets.informer.waitForSync();
    await waitFor('an open watch', () => nets.informer.health().watching);
    await ok(['apply', '-f', '-'], networkYaml('before-restart', 201));
    await waitFor('add before-restart', () => nets.informer.get('before-restart') !== undefined);
    expect(nets.informer.health()).toMatchObject({ watching: true, stale: false });

    const seen = { notWatching: false, stale: false, reasons: new Set<string>() };
    const probe = setInterval(() => {
      const h = nets.informer.health();
      if (!h.watching) seen.notWatching = true;
      if (h.stale) seen.stale = true;
      if (h.reason) seen.reasons.add(h.reason.replace(/\d+ ms/, 'N ms'));
    }, 20);
    const t0 = Date.now();
    try {
      await kube.restartApiserver();
    } finally {
      clearInterval(probe);
    }
    console.log(`apiserver restarted in ${Date.now() - t0} ms; health during the outage: ${JSON.stringify({ ...seen, reasons: [...seen.reasons] })}`);
    expect(seen.notWatching).toBe(true);
    expect(seen.stale).toBe(true);

    await ok(['apply', '-f', '-'], networkYaml('after-restart', 202));
    await ok(['delete', 'network', 'before-restart']);
    await waitFor('the changes after the restart', () => nets.informer.get('after-restart') !== undefined && nets.informer.get('before-restart') === undefined);
    await waitFor('a fresh, open watch', () => nets.informer.health().watching && !nets.informer.health().stale, 30_000);
    expect(cacheView(nets.informer)).toEqual(await serverView('networks'));
    const d = decisions(nets);
    console.log(`informer decisions across the restart:\n${d.map((x) => JSON.stringify(x)).join('\n')}`);
    expect(d.length).toBeGreaterThan(0);
  }, 180_000);

  it('relists after a real 410 from the apiserver and emits the delete it had missed', async () => {
    // A client that drops DELETED events for one object: the informer misses that delete (as if
    // the event were lost), so only a relist can bring the cache back in line.
    let drop: string | undefined;
    class LossyClient extends KubeClient {
      override watch<T>(
        t: ResourceType,
        q: Record<string, string | number | boolean | undefined>,
        onEvent: (e: WatchEvent<T>) => void,
        done: (err?: unknown) => void,
        opts?: Parameters<KubeClient['watch']>[4],
      ) {
        const filtered = (e: WatchEvent<T>) => {
          const name = (e.object as { metadata?: { name?: string } }).metadata?.name;
          if (e.type === 'DELETED' && name !== undefined && name === drop) return;
          onEvent(e);
        };
        return super.watch<T>(t, q, filtered, done, opts);
      }
    }
    const nets = informer<Network>({ type: NETWORKS }, new LossyClient(client.config));
    nets.informer.start();
    await nets.informer.waitForSync();
    await waitFor('an open watch', () => nets.informer.health().watching);

    await ok(['apply', '-f', '-'], networkYaml('doomed', 301));
    await waitFor('add doomed', () => nets.informer.get('doomed') !== undefined);
    drop = 'doomed';
    await ok(['delete', 'network', 'doomed']);
    await ok(['apply', '-f', '-'], networkYaml('marker', 302)); // once this arrives, the delete has passed by
    await waitFor('add marker', () => nets.informer.get('marker') !== undefined);
    expect(nets.informer.get('doomed')).toBeDefined(); // missed
    const listsBefore = nets.records.filter((r) => r.msg === 'relisted').length;
    nets.events.length = 0;

    // resourceVersion 1 is far older than the start of the apiserver's watch cache for this CRD
    nets.informer.resumeFromForTest('1');
    await waitFor('the relist', () => nets.records.filter((r) => r.msg === 'relisted').length > listsBefore);
    const gone = nets.records.find((r) => r.reason === 'gone');
    console.log(`the apiserver's 410: ${gone?.err}`);
    expect(gone).toMatchObject({ next: 'list' });
    expect(gone?.err).toMatch(/410/);
    expect(gone?.err).toMatch(/too old resource version/);
    expect(nets.events.map((e) => `${e.type} ${e.key}`)).toEqual(['delete doomed']);
    expect(nets.informer.get('doomed')).toBeUndefined();
    expect(cacheView(nets.informer)).toEqual(await serverView('networks'));

    // and it keeps following the server afterwards
    await waitFor('an open watch', () => nets.informer.health().watching);
    drop = undefined;
    await ok(['delete', 'network', 'marker']);
    await waitFor('delete marker', () => nets.events.some((e) => e.type === 'delete' && e.key === 'marker'));
  }, 120_000);
});

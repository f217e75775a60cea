// vNIC ports tagged in their POST on the real Neutron (ML2's extension driver
// `tag_ports_during_bulk_creation`, which the test Neutron loads): the bulk POST carries each port's
// owner tags and no tags PUT follows; with the option off, the other way (made with the pending
// marker, one tags PUT each) gives the same ports. Either way a restart with no records adopts every
// port with no write. The wire is counted by a recording proxy; every check reads Neutron directly.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { NeutronDriver, TAG_PORTS_ON_CREATE } from '../../src/drivers/neutron/driver.ts';
import { ownerTags, pendingMarker } from '../../src/drivers/neutron/mapping.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { HoldProxy } from '../harness/hold-proxy.ts';
import { reserveVlans } from '../support/vlans.ts';
import { api, neutronUrl, uniq } from './support.ts';

let proxy: HoldProxy;
let engines: Engine[] = [];
beforeAll(async () => {
  proxy = new HoldProxy(neutronUrl());
  await proxy.start();
});
afterAll(async () => {
  await proxy.stop();
});
afterEach(async () => {
  for (const e of engines) await e.stop();
  engines = [];
});

function engine(records: MemoryRecords, tagPortsOnCreate: boolean): Engine {
  const registry = new DriverRegistry().register('neutron', (c, d) => new NeutronDriver(c, d.log, { snapshotTtlMs: 100, tagPortsOnCreate }));
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 600_000, waitMs: 200, concurrency: 8 });
  engines.push(e);
  return e;
}

const N = 12;

function docs(run: string, vlan: number): string {
  const vnic = (i: number) =>
    `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm${i}-nic0, namespace: t-${run}}\nspec: {vm: {name: vm${i}, uid: ${run}-vm${i}}, interfaceName: nic0, network: net-${run}, host: hv-${run}}`;
  return [
    `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${proxy.url}", neutron: {auth: noauth}, maxConcurrency: 8}`,
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: net-${run}}\nspec: {physicalNetwork: physnet3, vlan: {id: ${vlan}}, shared: true, providerRefs: [{name: os}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: MacPool\nmetadata: {name: pool-${run}}\nspec: {ranges: [{start: "56:6f:7f:00:00:00", end: "56:6f:7f:00:03:ff"}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${run}}\nspec: {macPoolRef: {name: pool-${run}}, networks: [{name: net-${run}}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv-${run}}\nspec: {cluster: c-${run}, nics: [{name: eth1}], networks: [{name: net-${run}, interface: eth1}]}`,
    ...Array.from({ length: N }, (_, i) => vnic(i)),
  ].join('\n---\n');
}

interface RawPort {
  id: string;
  device_id: string;
  description: string;
  tags: string[];
  revision_number: number;
}

const owner = (run: string, i: number) => ({ instance: 'netform', kind: 'VnicAttachment' as const, namespace: `t-${run}`, name: `vm${i}-nic0` });

async function portsOf(run: string): Promise<RawPort[]> {
  const net = (await api<{ networks: { id: string }[] }>('GET', `/v2.0/networks?name=net-${run}`)).body.networks[0];
  return net ? (await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?network_id=${net.id}`)).body.ports : [];
}

const isPortPost = (r: { method: string; path: string }) => r.method === 'POST' && r.path.split('?')[0] === '/v2.0/ports';
const isPortTagsPut = (r: { method: string; path: string }) => r.method === 'PUT' && /^\/v2\.0\/ports\/[^/]+\/tags$/.test(r.path);
const writes = (since: number) => proxy.log.slice(since).filter((r) => r.method !== 'GET');

describe('vNIC ports tagged in their POST', () => {
  it(`the test Neutron advertises ${TAG_PORTS_ON_CREATE}`, async () => {
    const aliases = (await api<{ extensions: { alias: string }[] }>('GET', '/v2.0/extensions?fields=alias')).body.extensions.map((e) => e.alias);
    expect(aliases).toContain(TAG_PORTS_ON_CREATE);
  });

  for (const tagPortsOnCreate of [true, false]) {
    it(`tagPortsOnCreate ${tagPortsOnCreate}: ${N} ports, each with its owner's tags and marker, ${tagPortsOnCreate ? 'no tags PUT' : 'one tags PUT each'}; a restart with no records adopts them with no write`, async () => {
      const run = uniq();
      const vlan = reserveVlans('physnet3', 1, 3700, 3799);
      const records = new MemoryRecords();
      const since = proxy.log.length;
      engine(records, tagPortsOnCreate).sync(admit([{ path: 'm.yaml', text: docs(run, vlan) }]));
      expect(await engines[0]!.settle(300_000)).toBe(true);

      const ports = await portsOf(run);
      expect(ports).toHaveLength(N);
      for (let i = 0; i < N; i++) {
        const mine = ports.filter((p) => p.device_id === `${run}-vm${i}`);
        expect(mine).toHaveLength(1);
        expect(mine[0]!.tags.sort()).toEqual(ownerTags(owner(run, i)).sort());
        expect(mine[0]!.description).toBe(pendingMarker(owner(run, i)));
      }
      const posts = proxy.log.slice(since).filter(isPortPost);
      const posted = posts.flatMap((r) => (JSON.parse(r.body) as { ports?: Record<string, unknown>[]; port?: Record<string, unknown> }).ports ?? [JSON.parse(r.body).port]);
      expect(posted).toHaveLength(N);
      expect(posted.every((b) => Array.isArray(b.tags))).toBe(tagPortsOnCreate);
      expect(proxy.log.slice(since).filter(isPortTagsPut)).toHaveLength(tagPortsOnCreate ? 0 : N);
      expect(proxy.log.slice(since).filter((r) => r.method === 'PUT' && r.path.startsWith('/v2.0/ports/') && !isPortTagsPut(r))).toEqual([]);
      await engines[0]!.stop();

      // The state lost: a new engine with no records finds every port by its owner and writes nothing.
      const before = new Map(ports.map((p) => [p.id, p.revision_number]));
      const again = proxy.log.length;
      engine(new MemoryRecords(), tagPortsOnCreate).sync(admit([{ path: 'm.yaml', text: docs(run, vlan) }]));
      expect(await engines[1]!.settle(300_000)).toBe(true);
      expect(writes(again)).toEqual([]);
      expect(new Map((await portsOf(run)).map((p) => [p.id, p.revision_number]))).toEqual(before);

      // Removed: every port deleted.
      engines[1]!.sync(admit([{ path: 'm.yaml', text: docs(run, vlan).split('\n---\n')[0]! }]));
      expect(await engines[1]!.settle(300_000)).toBe(true);
      expect(await portsOf(run)).toEqual([]);
    }, 600_000);
  }
});

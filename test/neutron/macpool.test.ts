// MAC pools on the real Neutron: 200 attachments get distinct MACs from their cluster's pool, and
// their ports carry exactly those; a restart gives the same MACs and makes no port; a duplicate
// explicit MAC is refused and nothing is made for it - no port in Neutron, no device for the host.
import { afterEach, describe, expect, it } from 'vitest';
import { reserveVlans } from '../support/vlans.ts';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { hostInputs } from '../../src/controllers/host/host.inputs.ts';
import { api, neutronUrl, uniq } from './support.ts';

let engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines) await e.stop();
  engines = [];
});

function engine(records: MemoryRecords): Engine {
  const registry = new DriverRegistry().register('neutron', (c, d) => new NeutronDriver(c, d.log, { snapshotTtlMs: 100 }));
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 600_000, waitMs: 200, concurrency: 8 });
  engines.push(e);
  return e;
}

interface RawPort {
  id: string;
  mac_address: string;
  device_id: string;
  revision_number: number;
}

const N = 200;
const vlan = reserveVlans('physnet3', 1, 3700, 3799);

function docs(run: string, extra: string[] = [], n = N): string {
  const vnic = (i: number) =>
    `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm${String(i).padStart(3, '0')}-nic0, namespace: t-${run}}\nspec: {vm: {name: vm${i}, uid: ${run}-vm${i}}, interfaceName: nic0, network: net-${run}, host: hv-${run}}`;
  return [
    `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}`,
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: net-${run}}\nspec: {physicalNetwork: physnet3, vlan: {id: ${vlan}}, shared: true, providerRefs: [{name: os}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: MacPool\nmetadata: {name: pool-${run}}\nspec: {ranges: [{start: "56:6f:7e:00:00:00", end: "56:6f:7e:00:03:ff"}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${run}}\nspec: {macPoolRef: {name: pool-${run}}, networks: [{name: net-${run}}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv-${run}}\nspec: {cluster: c-${run}, nics: [{name: eth1}], networks: [{name: net-${run}, interface: eth1}]}`,
    ...Array.from({ length: n }, (_, i) => vnic(i)),
    ...extra,
  ].join('\n---\n');
}

const portsOf = async (run: string): Promise<RawPort[]> => {
  const net = (await api<{ networks: { id: string }[] }>('GET', `/v2.0/networks?name=net-${run}`)).body.networks[0];
  return net ? (await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?network_id=${net.id}`)).body.ports : [];
};

describe('MAC pools on Neutron', () => {
  it('200 attachments: distinct pool MACs on their ports, the same after a restart with no port made; a duplicate explicit MAC makes nothing', async () => {
    const run = uniq();
    const records = new MemoryRecords();
    const e = engine(records);
    const load = (en: Engine, text: string) => {
      const r = admit([{ path: 'm.yaml', text }]);
      expect(r.errors).toEqual([]);
      en.sync(r);
    };
    const t0 = Date.now();
    load(e, docs(run));
    expect(await e.settle(400_000)).toBe(true);
    const created = Date.now() - t0;
    const ports = await portsOf(run);
    expect(ports).toHaveLength(N);
    const macs = new Set(ports.map((p) => p.mac_address));
    expect(macs.size).toBe(N);
    // The lowest N of the pool, and each port's MAC is its attachment's status.mac.
    const want = Array.from({ length: N }, (_, i) => `56:6f:7e:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
    expect([...macs].sort()).toEqual(want);
    for (const p of ports) {
      const i = Number(p.device_id.slice(`${run}-vm`.length));
      expect(records.get(`VnicAttachment/t-${run}/vm${String(i).padStart(3, '0')}-nic0`)?.status.mac).toBe(p.mac_address);
    }
    await e.stop();

    // A restart: the same MACs, not one port made or changed.
    const before = new Map(ports.map((p) => [p.id, `${p.mac_address}@${p.revision_number}`]));
    const again = engine(records);
    load(again, docs(run));
    const t1 = Date.now();
    expect(await again.settle(400_000)).toBe(true);
    process.stderr.write(`macpool on Neutron: ${N} ports made in ${created} ms; restart settled in ${Date.now() - t1} ms\n`);
    const after = await portsOf(run);
    expect(new Map(after.map((p) => [p.id, `${p.mac_address}@${p.revision_number}`]))).toEqual(before);

    // A new attachment naming a MAC vm007 holds: refused, naming the holder; no port, no device.
    const dup = `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: dup-nic0, namespace: t-${run}}\nspec: {vm: {name: dup, uid: ${run}-dup}, interfaceName: nic0, network: net-${run}, host: hv-${run}, mac: "56:6f:7e:00:00:07"}`;
    load(again, docs(run, [dup]));
    expect(await again.settle(60_000)).toBe(true);
    const d = records.get(`VnicAttachment/t-${run}/dup-nic0`);
    expect(d?.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True' });
    expect(d?.status.conditions?.find((c) => c.type === 'Ready')?.message).toContain(`t-${run}/vm007-nic0`);
    expect((await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?device_id=${run}-dup`)).body.ports).toEqual([]);
    expect(await portsOf(run)).toHaveLength(N);
    const onHost = hostInputs({ store: again.store, records }, `hv-${run}`)!.vnics.map((v) => v.key);
    expect(onHost).toHaveLength(N);
    expect(onHost).not.toContain(`t-${run}/dup-nic0`);

    load(again, docs(run, [], 0));
    expect(await again.settle(400_000)).toBe(true);
    expect(await portsOf(run)).toEqual([]);
  }, 900_000);
});

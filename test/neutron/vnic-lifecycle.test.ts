// A vNIC's life on the real Neutron: fixed IPs, unplug/replug, a live move to another network (never
// two ports on the VM, nothing leaked when interrupted), and a make-before-break migration. The engine
// runs the real Neutron driver; every check reads Neutron through its own API (support.ts `api`).
import { afterEach, describe, expect, it } from 'vitest';
import { vlanSource } from '../support/vlans.ts';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { pendingMarker } from '../../src/drivers/neutron/mapping.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { hostInputs } from '../../src/controllers/host/host.inputs.ts';
import { objectKey } from '../../src/api/kinds.ts';
import { emptyHostReport } from '../support/host-report.ts';
import { waitFor } from '../support/cli.ts';
import { vnicDeviceName } from '../../src/drivers/host-driver.ts';
import { api, neutronUrl, uniq } from './support.ts';

let engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines) await e.stop();
  engines = [];
});

function engine(records = new MemoryRecords()): { e: Engine; records: MemoryRecords } {
  const registry = new DriverRegistry().register('neutron', (c, d) => new NeutronDriver(c, d.log, { snapshotTtlMs: 100 }));
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 60_000, waitMs: 100 });
  engines.push(e);
  return { e, records };
}

interface RawPort {
  id: string;
  network_id: string;
  mac_address: string;
  device_id: string;
  description: string;
  tags: string[];
  'binding:host_id': string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}

const ports = async (query: string) => (await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?${query}`)).body.ports;
const netId = async (name: string) => (await api<{ networks: { id: string }[] }>('GET', `/v2.0/networks?name=${name}`)).body.networks[0]!.id;

const nextVlan = vlanSource('physnet2', 3900, 3999);
/** Each run's two VLANs, fixed for the run. */
const vlans = new Map<string, number>();
const vlanOf = (name: string) => vlans.get(name) ?? (vlans.set(name, nextVlan()), vlans.get(name)!);

/** Provider, networks A and B (a v4 and a v6 subnet each), a cluster with both, hosts h1 and h2. */
function base(run: string): string[] {
  const net = (n: string, third: number) =>
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${n}-${run}}\nspec:\n  physicalNetwork: physnet2\n  vlan: {id: ${vlanOf(`${n}-${run}`)}}\n  shared: true\n  providerRefs: [{name: os}]\n  subnets: [{name: v4, cidr: 10.79.${third}.0/24}, {name: v6, cidr: "fd00:79:${third}::/64"}]`;
  const host = (h: string) =>
    `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${h}-${run}}\nspec: {cluster: c-${run}, nics: [{name: eth1}], networks: [{name: a-${run}, interface: eth1}, {name: b-${run}, interface: eth1}]}`;
  return [
    `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}`,
    net('a', 1),
    net('b', 2),
    `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${run}}\nspec: {networks: [{name: a-${run}}, {name: b-${run}}]}`,
    host('h1'),
    host('h2'),
  ];
}

interface VnicOpts {
  network?: string;
  host?: string;
  plugged?: boolean;
  fixedIps?: string;
}
const vnic = (run: string, o: VnicOpts = {}) =>
  `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm1-nic1, namespace: t-${run}}\nspec:\n  vm: {name: vm1, uid: vm1-${run}}\n  interfaceName: nic1\n  network: ${o.network ?? 'a'}-${run}\n  host: ${o.host ?? 'h1'}-${run}\n  plugged: ${o.plugged ?? true}${o.fixedIps ? `\n  fixedIps: ${o.fixedIps}` : ''}`;

function load(e: Engine, run: string, o: VnicOpts = {}): void {
  e.sync(admit([{ path: 'm.yaml', text: [...base(run), vnic(run, o)].join('\n---\n') }]));
}

const KEY = (run: string) => `VnicAttachment/t-${run}/vm1-nic1`;

async function settled(e: Engine, run: string): Promise<void> {
  expect(await e.settle(60_000)).toBe(true);
  const st = e.states().filter((s) => s.state !== "ready");
  expect(st.filter((s) => s.key === KEY(run)), JSON.stringify(st)).toEqual([]);
}

describe('a vNIC on Neutron, over its life', () => {
  it('fixed IPs: the named address and one allocated on the other subnet; a new address is written in place, the allocated one kept; status shows them', async () => {
    const run = uniq();
    const { e, records } = engine();
    load(e, run, { fixedIps: '[{subnet: v4, ipAddress: 10.79.1.50}, {subnet: v6}]' });
    await settled(e, run);
    const [p, ...more] = await ports(`device_id=vm1-${run}`);
    expect(more).toEqual([]);
    const v4 = p!.fixed_ips.find((f) => f.ip_address.includes('.'));
    const v6 = p!.fixed_ips.find((f) => f.ip_address.includes(':'));
    expect(p!.fixed_ips).toHaveLength(2);
    expect(v4!.ip_address).toBe('10.79.1.50');
    expect(v6!.ip_address.startsWith('fd00:79:1:')).toBe(true);
    expect(records.get(KEY(run))?.status.addresses).toEqual(expect.arrayContaining(['10.79.1.50', v6!.ip_address]));

    load(e, run, { fixedIps: '[{subnet: v4, ipAddress: 10.79.1.60}, {subnet: v6}]' });
    await settled(e, run);
    const [q] = await ports(`device_id=vm1-${run}`);
    expect(q!.id).toBe(p!.id);
    expect(q!.fixed_ips.map((f) => f.ip_address).sort()).toEqual(['10.79.1.60', v6!.ip_address].sort());

    load(e, run, { plugged: false, fixedIps: '[{subnet: v4, ipAddress: 10.79.1.60}, {subnet: v6}]' });
    await settled(e, run);
    // Unplugged: the port stays as it is (only the host's device goes).
    expect((await ports(`device_id=vm1-${run}`)).map((x) => x.id)).toEqual([p!.id]);
    expect(hostInputs({ store: e.store, records }, `h1-${run}`)!.vnics).toMatchObject([{ key: `t-${run}/vm1-nic1`, plugged: false }]);
    load(e, run, { fixedIps: '[{subnet: v4, ipAddress: 10.79.1.60}, {subnet: v6}]' });
    await settled(e, run);
    expect((await ports(`device_id=vm1-${run}`)).map((x) => x.id)).toEqual([p!.id]);

    e.sync(admit([{ path: 'm.yaml', text: base(run).join('\n---\n') }]));
    expect(await e.settle(60_000)).toBe(true);
    expect(await ports(`device_id=vm1-${run}`)).toEqual([]);
  });

  it('a live move to another network: one new port on it with the same MAC, the old one gone, never two ports on the VM (polled throughout), the move in status', async () => {
    const run = uniq();
    const { e, records } = engine();
    load(e, run);
    await settled(e, run);
    const [before] = await ports(`device_id=vm1-${run}`);
    expect(before!.network_id).toBe(await netId(`a-${run}`));

    let polling = true;
    let most = 0;
    let polls = 0;
    const poller = (async () => {
      while (polling) {
        most = Math.max(most, (await ports(`device_id=vm1-${run}`)).length);
        polls++;
      }
    })();
    load(e, run, { network: 'b' });
    await settled(e, run);
    polling = false;
    await poller;
    expect(polls).toBeGreaterThan(3);
    expect(most).toBe(1);

    const all = await ports(`name=vm1-nic1&network_id=${await netId(`a-${run}`)}`);
    expect(all).toEqual([]);
    const [after, ...more] = await ports(`device_id=vm1-${run}`);
    expect(more).toEqual([]);
    expect(after!.network_id).toBe(await netId(`b-${run}`));
    expect(after!.id).not.toBe(before!.id);
    expect(after!.mac_address).toBe(before!.mac_address);
    expect(after!.description).toBe('');
    expect(after!.tags).toContain('netform');
    const st = records.get(KEY(run))!.status;
    expect(st.network).toBe(`b-${run}`);
    expect(st.moves).toEqual([{ type: 'network', from: `a-${run}`, to: `b-${run}`, time: expect.any(String) }]);
    // The host moves the same device to the new network, with the MAC the ports keep.
    expect(hostInputs({ store: e.store, records }, `h1-${run}`)!.vnics).toMatchObject([{ network: `b-${run}`, mac: before!.mac_address }]);
  });

  it('a live move interrupted after the new port was made, and one interrupted after the old port was deleted: each finished on restart with exactly one port, on the new network', async () => {
    for (const stage of ['made', 'deleted'] as const) {
      const run = uniq();
      const first = engine();
      load(first.e, run);
      await settled(first.e, run);
      await first.e.stop();
      const [old] = await ports(`device_id=vm1-${run}`);
      const owner = { instance: 'netform', kind: 'VnicAttachment' as const, namespace: `t-${run}`, name: 'vm1-nic1' };
      // What a move leaves when it dies there: the successor made (pending marker, no device) …
      const made = await api<{ port: RawPort }>('POST', '/v2.0/ports', {
        port: { network_id: await netId(`b-${run}`), name: 'vm1-nic1', mac_address: old!.mac_address, description: pendingMarker(owner), device_owner: 'compute:netform', project_id: '11111111111111111111111111111111' },
      });
      expect(made.status).toBe(201);
      // … and, one step later, the old port deleted.
      if (stage === 'deleted') expect((await api('DELETE', `/v2.0/ports/${old!.id}`)).status).toBe(204);

      const { e } = engine(first.records);
      load(e, run, { network: 'b' });
      await settled(e, run);
      const [now, ...more] = await ports(`device_id=vm1-${run}`);
      expect(more, stage).toEqual([]);
      expect(now!.id, stage).toBe(made.body.port.id);
      expect(now!.network_id).toBe(await netId(`b-${run}`));
      expect(now!.tags).toContain('netform');
      expect(await ports(`name=vm1-nic1&network_id=${await netId(`a-${run}`)}`)).toEqual([]);
      expect(await ports(`description=${pendingMarker(owner)}`)).toEqual([]);
      await e.stop();
    }
  });

  it('a migration is make-before-break: the ports stay on the source until the destination reports the vNIC plugged; then binding:host_id follows, and the source lets go once it reports the device released', async () => {
    const run = uniq();
    const { e, records } = engine();
    load(e, run);
    await settled(e, run);
    const [p] = await ports(`device_id=vm1-${run}`);
    expect(p!['binding:host_id']).toBe(`h1-${run}`);

    load(e, run, { host: 'h2' });
    await e.settle(3_000); // a waiting object counts as settled
    await new Promise((r) => setTimeout(r, 500));
    const waiting = e.states().find((s) => s.key === KEY(run));
    expect(waiting?.state).not.toBe('ready');
    expect(records.get(KEY(run))?.status.migration).toMatchObject({ from: `h1-${run}`, to: `h2-${run}` });
    expect((await ports(`device_id=vm1-${run}`))[0]!['binding:host_id']).toBe(`h1-${run}`);
    // Both hosts hold the vNIC meanwhile: the source keeps its device.
    expect(hostInputs({ store: e.store, records }, `h1-${run}`)!.vnics.map((v) => v.key)).toEqual([`t-${run}/vm1-nic1`]);
    expect(hostInputs({ store: e.store, records }, `h2-${run}`)!.vnics.map((v) => v.key)).toEqual([`t-${run}/vm1-nic1`]);

    // The destination's agent plugs it and reports the network in sync.
    // A report with the network in sync but without the vNIC's device does not count …
    e.report(objectKey('Host', `h2-${run}`), { ...emptyHostReport(Date.now() + 1000), networks: [{ name: `a-${run}`, inSync: true }] });
    await new Promise((r) => setTimeout(r, 1000));
    expect(records.get(KEY(run))?.status.migration).toBeDefined();
    expect((await ports(`device_id=vm1-${run}`))[0]!['binding:host_id']).toBe(`h1-${run}`);
    // … one with its device there does.
    const device = vnicDeviceName(`t-${run}/vm1-nic1`);
    e.report(objectKey('Host', `h2-${run}`), { ...emptyHostReport(Date.now() + 1000), interfaces: [{ name: device, network: `a-${run}` }], networks: [{ name: `a-${run}`, inSync: true }] });
    // The waiting vNIC looks again after the engine's wait period.
    await waitFor('the vNIC Ready after the migration', () => e.states().find((s) => s.key === KEY(run))?.state === 'ready' || undefined, 20_000);
    await settled(e, run);
    const [q, ...more] = await ports(`device_id=vm1-${run}`);
    expect(more).toEqual([]);
    expect(q!.id).toBe(p!.id);
    expect(q!['binding:host_id']).toBe(`h2-${run}`);
    const st = records.get(KEY(run))!.status;
    expect(st.host).toBe(`h2-${run}`);
    expect(st.moves).toEqual([{ type: 'host', from: `h1-${run}`, to: `h2-${run}`, time: expect.any(String) }]);
    // The source keeps the device, departing, until the VM there releases it and h1 reports it gone.
    expect(st.migration).toMatchObject({ from: `h1-${run}`, to: `h2-${run}`, phase: 'releasing' });
    expect(hostInputs({ store: e.store, records }, `h1-${run}`)!.vnics).toMatchObject([{ key: `t-${run}/vm1-nic1`, departing: true }]);
    expect(hostInputs({ store: e.store, records }, `h2-${run}`)!.vnics[0]!.departing).toBeUndefined();
    e.report(objectKey('Host', `h1-${run}`), { ...emptyHostReport(Date.now() + 2000), interfaces: [{ name: 'eth1' }] });
    await waitFor('the source released the device', () => (records.get(KEY(run))!.status.migration === undefined ? true : undefined), 20_000);
    expect(hostInputs({ store: e.store, records }, `h1-${run}`)!.vnics).toEqual([]);
  });
});

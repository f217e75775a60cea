// Networks on the real Neutron: the engine with the real Neutron driver; every check reads Neutron
// through its own API (support.ts `api`), never through the driver.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { reconcileBinding } from '../../src/controllers/runtime/managed.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import type { NetworkModel } from '../../src/drivers/model.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../../src/state/records.ts';
import { waitFor } from '../support/cli.ts';
import { api, driver, neutronUrl, networksNamed, subnetsOf, uniq, type RawNetwork } from './support.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';

let engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines) await e.stop();
  engines = [];
});

function engine(resyncMs = 60_000): { e: Engine; records: MemoryRecords } {
  const records = new MemoryRecords();
  const registry = new DriverRegistry().register('neutron', (c, d) => new NeutronDriver(c, d.log, { snapshotTtlMs: 100 }));
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: process.env.TEST_LOG ? 'debug' : 'silent' }, pino.destination(process.env.TEST_LOG ?? '/dev/null')), resyncMs, waitMs: 200 });
  engines.push(e);
  return { e, records };
}

function load(e: Engine, docs: Record<string, string>): void {
  e.sync(admit(Object.entries(docs).map(([path, text]) => ({ path, text }))));
}

const provider = () => `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: os}
spec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}`;

function network(name: string, body: string): string {
  return `apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: ${name}}
spec:
  physicalNetwork: physnet1
  providerRefs: [{name: os}]
${body.replace(/^/gm, '  ')}`;
}

const cond = (r: ObjectRecord | undefined, type: string) => r?.status.conditions?.find((c) => c.type === type);
/** Ready for the spec now declared (not a Ready left over from before an edit). */
const ready = (e: Engine, key: string) => e.states().find((s) => s.key === key)?.state === 'ready';
const idOf = (records: MemoryRecords, key: string) => (records.get(key)?.status.providers as { externalId: string }[] | undefined)?.[0]?.externalId;

async function one(name: string): Promise<RawNetwork> {
  const nets = await networksNamed(name);
  expect(nets).toHaveLength(1);
  return nets[0]!;
}

describe('Neutron networks', () => {
  it('create → Ready with subnets; edits of MTU, description, admin state and subnets converge; delete → gone', async () => {
    const name = `life-${uniq()}`;
    const { e, records } = engine();
    const v1 = `description: first\nvlan: {id: 2101}\nmtu: 1500\nsubnets:
  - {name: a, cidr: 192.0.2.0/24, gateway: 192.0.2.1, dnsServers: [192.0.2.53], allocationPools: [{start: 192.0.2.10, end: 192.0.2.99}]}`;
    load(e, { 'p.yaml': provider(), 'n.yaml': network(name, v1) });
    await waitFor('Ready', () => ready(e, `Network/${name}`), 60_000);
    let net = await one(name);
    expect(net).toMatchObject({ description: 'first', mtu: 1500, admin_state_up: true, 'provider:segmentation_id': 2101, 'provider:physical_network': 'physnet1' });
    expect(net.tags).toEqual(expect.arrayContaining(['netform', 'nf-inst:netform']));
    expect(idOf(records, `Network/${name}`)).toBe(net.id);
    let subs = await subnetsOf(net.id);
    expect(subs).toHaveLength(1);
    expect(subs[0]).toMatchObject({ name: 'a', cidr: '192.0.2.0/24', gateway_ip: '192.0.2.1', dns_nameservers: ['192.0.2.53'], allocation_pools: [{ start: '192.0.2.10', end: '192.0.2.99' }] });

    const v2 = `description: second\nvlan: {id: 2101}\nmtu: 9000\nadminStateUp: false\nsubnets:
  - {name: a, cidr: 192.0.2.0/24, gateway: 192.0.2.254, dnsServers: [192.0.2.54], dhcp: false}
  - {name: b, cidr: 2001:db8:1::/64, ipv6AddressMode: slaac, ipv6RaMode: slaac}`;
    load(e, { 'p.yaml': provider(), 'n.yaml': network(name, v2) });
    await waitFor('the edit to converge', async () => {
      const n = await one(name);
      return n.mtu === 9000 && n.description === 'second' && !n.admin_state_up && n.subnets.length === 2 && ready(e, `Network/${name}`);
    }, 60_000);
    net = await one(name);
    subs = await subnetsOf(net.id);
    const a = subs.find((s) => s.name === 'a')!;
    expect(a).toMatchObject({ gateway_ip: '192.0.2.254', dns_nameservers: ['192.0.2.54'], enable_dhcp: false });
    expect(subs.find((s) => s.name === 'b')).toMatchObject({ ip_version: 6, cidr: '2001:db8:1::/64', ipv6_address_mode: 'slaac' });
    expect(net.id).toBe(idOf(records, `Network/${name}`)); // updated in place

    load(e, { 'p.yaml': provider() });
    await waitFor('the record to go', () => !records.get(`Network/${name}`), 60_000);
    expect(await networksNamed(name)).toEqual([]);
    expect((await api('GET', `/v2.0/subnets?network_id=${net.id}`)).body).toEqual({ subnets: [] });
  });

  it('heals an out-of-band edit and recreates an out-of-band delete on the periodic re-check', async () => {
    const name = `drift-${uniq()}`;
    const { e, records } = engine(300);
    load(e, { 'p.yaml': provider(), 'n.yaml': network(name, 'vlan: {id: 2102}\nmtu: 1500\nsubnets: [{name: a, cidr: 198.51.100.0/24}]') });
    await waitFor('Ready', () => ready(e, `Network/${name}`), 60_000);
    const net = await one(name);
    const put = await api('PUT', `/v2.0/networks/${net.id}`, { network: { mtu: 1400, description: 'someone was here' } });
    expect(put.status).toBe(200);
    await waitFor('the edit to be healed', async () => {
      const n = await one(name);
      return n.mtu === 1500 && n.description === '';
    }, 30_000);
    expect((await api('DELETE', `/v2.0/networks/${net.id}`)).status).toBe(204);
    await waitFor('the network to be recreated', async () => {
      const n = await networksNamed(name);
      return n.length === 1 && n[0]!.id !== net.id && idOf(records, `Network/${name}`) === n[0]!.id && ready(e, `Network/${name}`);
    }, 30_000);
    const again = await one(name);
    expect((await subnetsOf(again.id)).map((s) => s.cidr)).toEqual(['198.51.100.0/24']);
  });

  it('ObserveOnly import adopts an existing network without a single write (revision unchanged)', async () => {
    const name = `legacy-${uniq()}`;
    const created = await api<{ network: RawNetwork }>('POST', '/v2.0/networks', {
      network: { name, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 2103, mtu: 1500 },
    });
    expect(created.status).toBe(201);
    const before = created.body.network;
    const { e, records } = engine(200);
    const spec = (mtu: number) =>
      `vlan: {id: 2103}\nmtu: ${mtu}\nmanagementPolicy: ObserveOnly\ndeletionPolicy: Orphan\nproviderRefs: [{name: os, import: {name: ${name}}}]`;
    const doc = (mtu: number) => network(`imp-${name}`, spec(mtu)).replace('  providerRefs: [{name: os}]\n', '');
    load(e, { 'p.yaml': provider(), 'n.yaml': doc(9000) });
    await waitFor('drift reported', () => cond(records.get(`Network/imp-${name}`), 'Synced')?.reason === 'DriftDetected', 30_000);
    expect(cond(records.get(`Network/imp-${name}`), 'Synced')?.message).toContain('mtu');
    load(e, { 'p.yaml': provider(), 'n.yaml': doc(1500) });
    await waitFor('Ready', () => ready(e, `Network/imp-${name}`), 30_000);
    expect(idOf(records, `Network/imp-${name}`)).toBe(before.id);
    await new Promise((r) => setTimeout(r, 800)); // several re-checks
    load(e, { 'p.yaml': provider() });
    await waitFor('the record to go', () => !records.get(`Network/imp-${name}`), 30_000);
    const after = await one(name);
    expect(after.revision_number).toBe(before.revision_number);
    expect(after.tags).toEqual([]);
  });

  it('a VLAN already used by a network netform does not own is a terminal condition with Neutron\'s message', async () => {
    const squat = `squatter-${uniq()}`;
    expect(
      (await api('POST', '/v2.0/networks', { network: { name: squat, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 2104 } })).status,
    ).toBe(201);
    const name = `victim-${uniq()}`;
    const { e, records } = engine();
    load(e, { 'p.yaml': provider(), 'n.yaml': network(name, 'vlan: {id: 2104}') });
    expect(await e.settle(30_000)).toBe(true);
    const r = records.get(`Network/${name}`);
    expect(cond(r, 'Stalled')?.status).toBe('True');
    expect(cond(r, 'Synced')?.reason).toBe('BackendRejected');
    expect(cond(r, 'Synced')?.message).toContain('Unable to create the network. The VLAN 2104 on physical network physnet1 is in use.');
    expect(await networksNamed(name)).toEqual([]);
    expect(await networksNamed(squat)).toHaveLength(1);
  });

  it('a 412 from a racing writer is resolved by observing and planning again', async () => {
    const d = driver({ snapshotTtlMs: 0 });
    const owner = { instance: 'race', kind: 'Network' as const, name: `race-${uniq()}` };
    const model: NetworkModel = { name: owner.name, physicalNetwork: 'physnet1', vlan: 2105, mtu: 1500, shared: false, adminStateUp: true, portSecurity: true, portMirroring: false, subnets: [] };
    const created = await d.networks.create({ signal: new AbortController().signal, log: pino({ level: 'silent' }) }, owner, model);
    // A driver whose first update is preceded by another writer's change, so Neutron answers 412.
    let raced = 0;
    const racing = Object.create(d.networks) as typeof d.networks;
    racing.observe = d.networks.observe.bind(d.networks);
    racing.diff = d.networks.diff.bind(d.networks);
    racing.update = async (ctx, o, obs, desired, changes) => {
      if (raced++ === 0) expect((await api('PUT', `/v2.0/networks/${obs.externalId}`, { network: { description: 'racer' } })).status).toBe(200);
      return d.networks.update(ctx, o, obs, desired, changes);
    };
    const outcome = await reconcileBinding({
      object: `Network/${owner.name}`,
      owner,
      provider: { name: 'os', type: 'neutron' },
      resource: 'network',
      driver: racing,
      desired: { ...model, mtu: 1450 },
      deleting: false,
      current: { name: 'os', type: 'neutron', externalId: created.externalId },
      policy: { managementPolicy: 'Managed', deletionPolicy: 'Delete', allowReplace: false },
      dryRun: false,
      ctx: { signal: new AbortController().signal, log: pino({ level: 'silent' }) },
      persist: async () => {},
      now: () => new Date(),
    });
    expect(raced).toBe(2); // the first update lost the race (412), the second won
    expect(outcome.done).toBe(true);
    const n = (await api<{ network: RawNetwork }>('GET', `/v2.0/networks/${created.externalId}`)).body.network;
    expect(n.mtu).toBe(1450);
    expect(n.description).toBe(''); // the racer's edit was seen on the re-observe and corrected
    await d.networks.delete({ signal: new AbortController().signal, log: pino({ level: 'silent' }) }, created);
    await d.close();
  });

  it('changing the VLAN is refused until allowReplace, then the network is replaced', async () => {
    const name = `repl-${uniq()}`;
    const { e, records } = engine();
    load(e, { 'p.yaml': provider(), 'n.yaml': network(name, 'vlan: {id: 2106}') });
    await waitFor('Ready', () => ready(e, `Network/${name}`), 60_000);
    const first = await one(name);
    load(e, { 'p.yaml': provider(), 'n.yaml': network(name, 'vlan: {id: 2107}') });
    await waitFor('ReplaceRequired', () => cond(records.get(`Network/${name}`), 'Synced')?.reason === 'ReplaceRequired', 30_000);
    expect((await one(name))['provider:segmentation_id']).toBe(2106);
    load(e, { 'p.yaml': provider(), 'n.yaml': network(name, 'vlan: {id: 2107}\nallowReplace: true') });
    await waitFor('the replacement', async () => (await networksNamed(name))[0]?.['provider:segmentation_id'] === 2107 && ready(e, `Network/${name}`), 60_000);
    expect((await one(name)).id).not.toBe(first.id);
    load(e, { 'p.yaml': provider() });
    await waitFor('cleanup', () => !records.get(`Network/${name}`), 30_000);
  });

  it('QoS: a bandwidth limit becomes the network\'s own policy; removing it removes the policy', async () => {
    const name = `qos-${uniq()}`;
    const { e, records } = engine();
    load(e, { 'p.yaml': provider(), 'n.yaml': network(name, 'vlan: {id: 2108}\nqos: {maxRateKbps: 10000, maxBurstKbps: 1000}') });
    await waitFor('Ready', () => ready(e, `Network/${name}`), 60_000);
    const net = await one(name);
    expect(net.qos_policy_id).toBeTruthy();
    const policy = (await api<{ policy: { rules: { type: string; max_kbps: number; max_burst_kbps: number }[] } }>('GET', `/v2.0/qos/policies/${net.qos_policy_id}`)).body.policy;
    expect(policy.rules).toEqual([expect.objectContaining({ type: 'bandwidth_limit', max_kbps: 10000, max_burst_kbps: 1000 })]);
    load(e, { 'p.yaml': provider(), 'n.yaml': network(name, 'vlan: {id: 2108}') });
    await waitFor('the policy to be detached', async () => (await one(name)).qos_policy_id === null && ready(e, `Network/${name}`), 30_000);
    expect((await api('GET', `/v2.0/qos/policies/${net.qos_policy_id}`)).status).toBe(404);
    load(e, { 'p.yaml': provider() });
    await waitFor('cleanup', () => !records.get(`Network/${name}`), 30_000);
  });
});

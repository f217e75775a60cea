// vNIC profiles on the real Neutron: the engine with the real Neutron driver; every check reads
// Neutron through its own API (support.ts `api`), never through the driver.
import { afterEach, describe, expect, it } from 'vitest';
import { reserveVlans } from '../support/vlans.ts';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { policyName } from '../../src/drivers/neutron/mapping.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { api, neutronUrl, uniq } from './support.ts';
import { waitFor } from '../support/cli.ts';

let engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines) await e.stop();
  engines = [];
});

function engine(): { e: Engine; records: MemoryRecords } {
  const records = new MemoryRecords();
  const registry = new DriverRegistry().register('neutron', (c, d) => new NeutronDriver(c, d.log, { snapshotTtlMs: 100 }));
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 60_000, waitMs: 200 });
  engines.push(e);
  return { e, records };
}

interface RawPort {
  id: string;
  name: string;
  qos_policy_id: string | null;
  port_security_enabled: boolean;
  security_groups: string[];
  allowed_address_pairs: { ip_address: string; mac_address: string }[];
  mac_address: string;
}
interface RawPolicy {
  id: string;
  name: string;
  tags: string[];
  rules: { type: string; max_kbps: number; max_burst_kbps: number; direction: string }[];
}

const portsOf = async (vm: string) => (await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?device_id=${vm}`)).body.ports;
const policiesNamed = async (name: string) => (await api<{ policies: RawPolicy[] }>('GET', `/v2.0/qos/policies?name=${name}`)).body.policies;
const limits = (p: RawPolicy) =>
  p.rules
    .filter((r) => r.type === 'bandwidth_limit')
    .map((r) => ({ direction: r.direction, max_kbps: r.max_kbps, max_burst_kbps: r.max_burst_kbps }))
    .sort((a, b) => (a.direction < b.direction ? -1 : 1));

const vlanBase = reserveVlans('physnet1', 3, 1000, 2099);

/** Provider, a network (port security on by default), a cluster and a host, for run `run`. */
function base(run: string, vlan: number): string[] {
  return [
    `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}`,
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: net-${run}}\nspec:\n  physicalNetwork: physnet1\n  vlan: {id: ${vlan}}\n  shared: true\n  qos: {maxRateKbps: 50000}\n  providerRefs: [{name: os}]\n  subnets: [{name: v4, cidr: 10.77.0.0/24}]`,
    `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${run}}\nspec: {networks: [{name: net-${run}}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv-${run}}\nspec: {cluster: c-${run}, nics: [{name: eth1}], networks: [{name: net-${run}, interface: eth1}]}`,
  ];
}

const profile = (run: string, body: string) => `apiVersion: netform.io/v1alpha1\nkind: VnicProfile\nmetadata: {name: capped, namespace: t-${run}}\nspec:\n  network: net-${run}\n${body.replace(/^/gm, '  ')}`;
const vnic = (run: string, name: string, profileRef: boolean) =>
  `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: ${name}, namespace: t-${run}}\nspec: {vm: {name: ${name}, uid: ${name}-${run}}, interfaceName: nic1, mac: "56:6f:00:77:00:0${name.endsWith('2') ? 2 : 1}", network: net-${run}, host: hv-${run}${profileRef ? ', profileRef: {name: capped}' : ''}}`;

function load(e: Engine, docs: string[]): void {
  e.sync(admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]));
}

async function settled(e: Engine, keys: string[]): Promise<void> {
  expect(await e.settle(60_000)).toBe(true);
  for (const k of keys) expect(e.states().find((s) => s.key === k), k).toMatchObject({ state: 'ready' });
}

describe('vNIC profiles on Neutron', () => {
  it('a profile is one QoS policy with a limit per direction; its vNICs port points at it with its port security and address pairs; a vNIC without one keeps the network defaults; edits converge; the policy goes with the profile', async () => {
    const run = uniq();
    const owner = { instance: 'netform', kind: 'VnicProfile' as const, namespace: `t-${run}`, name: 'capped' };
    const { e, records } = engine();
    const limited = profile(
      run,
      `qos:\n  inbound: {averageKbps: 10000, burstKb: 1000}\n  outbound: {averageKbps: 5000, peakKbps: 8000}\nportSecurity:\n  enabled: true\n  allowedAddressPairs: [{ipAddress: 10.77.0.99}, {ipAddress: 10.77.1.0/24, macAddress: "56:6F:00:77:00:99"}]`,
    );
    load(e, [...base(run, vlanBase), limited, vnic(run, 'vm1', true), vnic(run, 'vm2', false)]);
    await settled(e, [`VnicProfile/t-${run}/capped`, `VnicAttachment/t-${run}/vm1`, `VnicAttachment/t-${run}/vm2`]);

    // One policy, named for its owner, tagged, a rule per direction (Neutron has no peak).
    const [policy, ...more] = await policiesNamed(policyName(owner));
    expect(more).toEqual([]);
    expect(policy!.tags).toContain('netform');
    expect(limits(policy!)).toEqual([
      { direction: 'egress', max_kbps: 5000, max_burst_kbps: 0 },
      { direction: 'ingress', max_kbps: 10000, max_burst_kbps: 1000 },
    ]);
    expect((records.get(`VnicProfile/t-${run}/capped`)?.status.providers as { externalId: string }[])[0]!.externalId).toBe(policy!.id);

    const [p1] = await portsOf(`vm1-${run}`);
    expect(p1).toMatchObject({ qos_policy_id: policy!.id, port_security_enabled: true });
    expect(p1!.allowed_address_pairs.map((a) => `${a.ip_address} ${a.mac_address}`).sort()).toEqual(['10.77.0.99 56:6f:00:77:00:01', '10.77.1.0/24 56:6f:00:77:00:99']);
    // No profile: the network's own policy applies (the port has none of its own), no extra pairs.
    const [p2] = await portsOf(`vm2-${run}`);
    expect(p2).toMatchObject({ qos_policy_id: null, port_security_enabled: true, allowed_address_pairs: [] });
    const net = (await api<{ networks: { qos_policy_id: string | null }[] }>('GET', `/v2.0/networks?name=net-${run}`)).body.networks[0]!;
    expect(net.qos_policy_id).toBeTruthy();
    expect(net.qos_policy_id).not.toBe(policy!.id);

    // Edit: only inbound limited, at a new rate; port security off (its security groups go with it).
    load(e, [...base(run, vlanBase), profile(run, `qos:\n  inbound: {averageKbps: 20000}\nportSecurity: {enabled: false}`), vnic(run, 'vm1', true), vnic(run, 'vm2', false)]);
    await settled(e, [`VnicProfile/t-${run}/capped`, `VnicAttachment/t-${run}/vm1`]);
    const [edited] = await policiesNamed(policyName(owner));
    expect(edited!.id).toBe(policy!.id);
    expect(limits(edited!)).toEqual([{ direction: 'ingress', max_kbps: 20000, max_burst_kbps: 0 }]);
    const [p1b] = await portsOf(`vm1-${run}`);
    expect(p1b).toMatchObject({ id: p1!.id, qos_policy_id: policy!.id, port_security_enabled: false, security_groups: [], allowed_address_pairs: [] });

    // The vNIC leaves the profile, then the profile is removed: the port keeps only the network's
    // default, and the policy is deleted.
    load(e, [...base(run, vlanBase), vnic(run, 'vm1', false), vnic(run, 'vm2', false)]);
    await settled(e, [`VnicAttachment/t-${run}/vm1`]);
    // The profile goes once no vNIC uses it any more (it looks again after the wait period).
    await waitFor('the policy gone', async () => ((await policiesNamed(policyName(owner))).length === 0 ? true : undefined), 30_000);
    const [p1c] = await portsOf(`vm1-${run}`);
    expect(p1c).toMatchObject({ id: p1!.id, qos_policy_id: null, port_security_enabled: true });
    await waitFor('the profile record gone', () => (records.get(`VnicProfile/t-${run}/capped`) === undefined ? true : undefined), 30_000);

    load(e, []);
    expect(await e.settle(60_000)).toBe(true);
    await waitFor('the port gone', async () => ((await portsOf(`vm1-${run}`)).length === 0 ? true : undefined), 30_000);
  });

  it('a policy left by a create that died after the POST (untagged, no rules) is adopted and finished, not duplicated', async () => {
    const run = uniq();
    const owner = { instance: 'netform', kind: 'VnicProfile' as const, namespace: `t-${run}`, name: 'capped' };
    const left = await api<{ policy: RawPolicy }>('POST', '/v2.0/qos/policies', { policy: { name: policyName(owner), project_id: '11111111111111111111111111111111' } });
    expect(left.status).toBe(201);
    const { e } = engine();
    load(e, [...base(run, vlanBase + 1), profile(run, `qos:\n  outbound: {averageKbps: 3000}`), vnic(run, 'vm1', true)]);
    await settled(e, [`VnicProfile/t-${run}/capped`, `VnicAttachment/t-${run}/vm1`]);
    const all = await policiesNamed(policyName(owner));
    expect(all.map((p) => p.id)).toEqual([left.body.policy.id]);
    expect(all[0]!.tags).toContain('netform');
    expect(limits(all[0]!)).toEqual([{ direction: 'egress', max_kbps: 3000, max_burst_kbps: 0 }]);
    expect((await portsOf(`vm1-${run}`))[0]!.qos_policy_id).toBe(left.body.policy.id);
    load(e, []);
    expect(await e.settle(60_000)).toBe(true);
    await waitFor('the policy gone', async () => ((await policiesNamed(policyName(owner))).length === 0 ? true : undefined), 30_000);
  });

  it('a profile without limits of its own has no policy; its port security still reaches the port', async () => {
    const run = uniq();
    const owner = { instance: 'netform', kind: 'VnicProfile' as const, namespace: `t-${run}`, name: 'capped' };
    const { e } = engine();
    load(e, [...base(run, vlanBase + 2), profile(run, `portSecurity: {enabled: false}`), vnic(run, 'vm1', true)]);
    await settled(e, [`VnicProfile/t-${run}/capped`, `VnicAttachment/t-${run}/vm1`]);
    expect(await policiesNamed(policyName(owner))).toEqual([]);
    expect((await portsOf(`vm1-${run}`))[0]).toMatchObject({ qos_policy_id: null, port_security_enabled: false, security_groups: [] });
    load(e, []);
    expect(await e.settle(60_000)).toBe(true);
  });
});

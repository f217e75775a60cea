import { describe, expect, it } from 'vitest';
import type { PlanItem } from '../runtime/plan.ts';
import { renderImpact } from '../runtime/plan.ts';
import type { ObjectRecord } from '../../state/records.ts';
import { analyzeImpact, endpointImpactCounts, endpointPlaces, impactCounts, impactSummary, type EndpointPlace, type VnicPlace } from './impact.ts';

const v = (vnic: string, network: string, host: string, extra: Partial<VnicPlace> = {}): VnicPlace => ({
  vnic: `shop/${vnic}`,
  vm: `shop/${vnic.split('-')[0]}`,
  network,
  host,
  plugged: true,
  declared: true,
  desiredHost: host,
  ...extra,
});
const VNICS = [v('vm1-nic0', 'web', 'h1'), v('vm2-nic0', 'web', 'h2'), v('vm3-nic0', 'db', 'h1'), v('vm4-nic0', 'web', 'h1', { plugged: false })];
const kinds = (it: PlanItem) => (it.impact ?? []).map((i) => `${i.kind}:${i.vm ?? i.network}`);
const one = (it: PlanItem) => analyzeImpact([it], VNICS)[0]!;

describe('analyzeImpact: backend changes of a network', () => {
  it('a Neutron network replaced: the network is replaced and every plugged VM on it loses connectivity', () => {
    const it = one({ object: 'Network/web', target: 'neutron:os', resource: 'network', action: 'replace', changes: [{ path: 'segmentationId', from: 100, to: 200, immutable: true }] });
    expect(kinds(it)).toEqual(['replace:web', 'connectivity-loss:shop/vm1', 'connectivity-loss:shop/vm2']);
  });
  it('an MTU update: a re-plug for every plugged VM on the network (an unplugged one is not reached)', () => {
    expect(kinds(one({ object: 'Network/web', target: 'neutron:os', resource: 'network', action: 'update', changes: [{ path: 'mtu', from: 1500, to: 9000 }] }))).toEqual([
      'replug:shop/vm1',
      'replug:shop/vm2',
    ]);
  });
  it('a UCSM VLAN renumbered in place: connectivity loss', () => {
    expect(kinds(one({ object: 'Network/db', target: 'ucsm:fi', resource: 'vlan', action: 'update', changes: [{ path: 'vlan.id', from: 100, to: 101 }] }))).toEqual(['connectivity-loss:shop/vm3']);
  });
  it.each([
    { path: 'qos', from: undefined, to: { maxRateKbps: 1000 } },
    { path: 'description', from: 'a', to: 'b' },
    { path: 'portProfile.qosPolicy', from: '', to: 'gold' },
  ])('$path: no VM is affected', (c) => {
    expect(one({ object: 'Network/web', target: 'neutron:os', resource: 'network', action: 'update', changes: [c] }).impact).toBeUndefined();
  });
  it('a deletion blocked by vNICs lists each vNIC holding it', () => {
    const it = one({ object: 'Network/db', target: 'netform', resource: 'network', action: 'blocked', message: 'deletion waits: still used by VnicAttachment/shop/vm3-nic0' });
    expect(kinds(it)).toEqual(['blocking:shop/vm3']);
  });
});

describe('analyzeImpact: host device changes', () => {
  const host = (object: string, resource: string, action: PlanItem['action'], details: string[], target = 'host:h1'): PlanItem => ({ object, target, resource, action, externalId: 'dev', details });
  it('an MTU change on a network device reaches the VMs of that network on that host only', () => {
    expect(kinds(one(host('Network/web', 'bridge', 'update', ['mtu 1500→9000'])))).toEqual(['replug:shop/vm1']);
  });
  it('a shared NIC changing MTU reaches the VMs of every network it carries there', () => {
    const it = one({ ...host('Host/h1', 'nic', 'update', ['mtu 1500→9000']), networks: ['db', 'web'] });
    expect(kinds(it).sort()).toEqual(['replug:shop/vm1', 'replug:shop/vm3']);
  });
  it('a VLAN tag change: connectivity loss; a master change: a link flap; tc, meters, mirrors: nothing', () => {
    expect(kinds(one(host('Network/web', 'ovs-port', 'update', ['trunks 100→101'])))).toEqual(['connectivity-loss:shop/vm1']);
    expect(kinds(one(host('Network/web', 'vlan', 'replace', ['vlan ens3.100→ens3.101'])))).toEqual(['connectivity-loss:shop/vm1']);
    expect(kinds(one(host('Network/web', 'nic', 'update', ['master none→web-br'])))).toEqual(['link-flap:shop/vm1']);
    for (const r of ['tc', 'openflow-meter', 'openflow-flow', 'ovs-mirror', 'ovs-qos', 'address']) expect(one(host('Network/web', r, 'create', ['rate 1000kbps'])).impact).toBeUndefined();
  });
  it('the network leaving the host: its VMs there lose connectivity, and the reason says so', () => {
    const it = one(host('Network/web', 'bridge', 'delete', ['not wanted']));
    expect(kinds(it)).toEqual(['connectivity-loss:shop/vm1']);
    expect(it.impact![0]!.reason).toBe('the host loses network web, which the VM uses');
  });
  it("a vNIC's own device: removed while still declared here is a loss; removed after it migrated away is not", () => {
    expect(kinds(one(host('VnicAttachment/shop/vm1-nic0', 'tap', 'delete', ['not wanted'])))).toEqual(['connectivity-loss:shop/vm1']);
    const moved = analyzeImpact([host('VnicAttachment/shop/vm1-nic0', 'tap', 'delete', ['not wanted'])], [v('vm1-nic0', 'web', 'h1', { desiredHost: 'h2' })])[0]!;
    expect(moved.impact).toBeUndefined();
    expect(kinds(one(host('VnicAttachment/shop/vm1-nic0', 'tap', 'create', ['missing'])))).toEqual([]);
    expect(kinds(one(host('VnicAttachment/shop/vm1-nic0', 'tap', 'update', ['down'])))).toEqual(['link-flap:shop/vm1']);
  });
});

describe('impactSummary and impactCounts', () => {
  it('counts distinct VMs per kind, in words', () => {
    const items = analyzeImpact(
      [
        { object: 'Network/web', target: 'neutron:os', resource: 'network', action: 'update', changes: [{ path: 'mtu', from: 1500, to: 9000 }] },
        { object: 'Network/web', target: 'host:h1', resource: 'bridge', action: 'update', details: ['mtu 1500→9000'] },
        { object: 'Network/db', target: 'ucsm:fi', resource: 'vlan', action: 'update', changes: [{ path: 'vlan.id', from: 1, to: 2 }] },
      ],
      VNICS,
    );
    expect(impactCounts(items)).toEqual({ replug: 2, 'connectivity-loss': 1, 'link-flap': 0, blocking: 0 });
    expect(impactSummary(items)).toBe('1 VM loses connectivity during the change, 2 VMs need a re-plug');
    expect(impactSummary([])).toBe('');
  });
});

const ep = (name: string, network: string, service: string, host?: string, extra: Partial<EndpointPlace> = {}): EndpointPlace => ({
  endpoint: `edge/${name}`,
  service,
  network,
  ...(host ? { host, desiredHost: host } : {}),
  declared: true,
  ...extra,
});
// A firewall's device on h1 and a VIP bound to no host on web; an IDS on db on h2.
const ENDPOINTS = [ep('fw', 'web', 'firewall', 'h1'), ep('vip', 'web', 'loadbalancer'), ep('ids', 'db', 'ids', 'h2')];
const both = (it: PlanItem) => analyzeImpact([it], VNICS, ENDPOINTS)[0]!;
const who = (it: PlanItem) => (it.impact ?? []).map((i) => `${i.kind}:${i.vm ?? (i.endpoint ? `endpoint ${i.endpoint}` : i.network)}`);

describe('analyzeImpact: service endpoints, as vNICs', () => {
  it('a Neutron network replaced: its endpoints lose connectivity, their ports re-made on the new network', () => {
    const it = both({ object: 'Network/web', target: 'neutron:os', resource: 'network', action: 'replace', changes: [{ path: 'segmentationId', from: 100, to: 200, immutable: true }] });
    expect(who(it)).toEqual(['replace:web', 'connectivity-loss:shop/vm1', 'connectivity-loss:shop/vm2', 'connectivity-loss:endpoint edge/fw', 'connectivity-loss:endpoint edge/vip']);
    expect(it.impact![3]).toEqual({ kind: 'connectivity-loss', endpoint: 'edge/fw', service: 'firewall', host: 'h1', network: 'web', reason: "the endpoint's port is re-made on the new network" });
    expect(renderImpact(it.impact![3]!)).toBe("service endpoint edge/fw (firewall on h1) loses connectivity during the change: the endpoint's port is re-made on the new network");
  });

  it('an MTU update: every endpoint on the network needs a re-plug, on a host or not; a VLAN renumbered: they lose connectivity', () => {
    const mtu = both({ object: 'Network/web', target: 'neutron:os', resource: 'network', action: 'update', changes: [{ path: 'mtu', from: 1500, to: 9000 }] });
    expect(who(mtu)).toEqual(['replug:shop/vm1', 'replug:shop/vm2', 'replug:endpoint edge/fw', 'replug:endpoint edge/vip']);
    expect(mtu.impact![3]).toEqual({ kind: 'replug', endpoint: 'edge/vip', service: 'loadbalancer', network: 'web', reason: 'the change reaches the endpoint only after its device is re-plugged' });
    expect(renderImpact(mtu.impact![3]!)).toBe('service endpoint edge/vip (loadbalancer) needs a re-plug: the change reaches the endpoint only after its device is re-plugged');
    expect(who(both({ object: 'Network/db', target: 'ucsm:fi', resource: 'vlan', action: 'update', changes: [{ path: 'vlan.id', from: 100, to: 101 }] }))).toEqual([
      'connectivity-loss:shop/vm3',
      'connectivity-loss:endpoint edge/ids',
    ]);
  });

  it("the endpoint's own port: re-made (a new network or MAC) or given new addresses: connectivity loss; its filtering: nothing", () => {
    const port = (action: PlanItem['action'], path: string): PlanItem => ({ object: 'ServiceEndpoint/edge/fw', target: 'neutron:os', resource: 'port', action, changes: [{ path, from: 'a', to: 'b' }] });
    const remade = both(port('replace', 'network'));
    expect(remade.impact).toEqual([{ kind: 'connectivity-loss', endpoint: 'edge/fw', service: 'firewall', host: 'h1', network: 'web', reason: "the endpoint's port is re-made" }]);
    expect(renderImpact(remade.impact![0]!)).toBe("service endpoint edge/fw (firewall on h1) loses connectivity during the change: the endpoint's port is re-made");
    expect(both(port('update', 'fixedIps')).impact).toEqual([{ kind: 'connectivity-loss', endpoint: 'edge/fw', service: 'firewall', host: 'h1', network: 'web', reason: "the endpoint's address changes" }]);
    for (const path of ['securityGroups', 'promiscuous', 'allowedAddressPairs', 'service', 'description']) expect(both(port('update', path)).impact, path).toBeUndefined();
  });

  it("a vNIC's allowed address pairs changing are not a change of the VM's address", () => {
    const it = both({ object: 'VnicAttachment/shop/vm1-nic0', target: 'neutron:os', resource: 'port', action: 'update', changes: [{ path: 'allowedAddressPairs', from: [], to: [{ ipAddress: '10.0.0.9' }] }] });
    expect(it.impact).toBeUndefined();
    expect(who(both({ object: 'VnicAttachment/shop/vm1-nic0', target: 'neutron:os', resource: 'port', action: 'update', changes: [{ path: 'fixedIps', from: ['10.0.0.5'], to: ['10.0.0.6'] }] }))).toEqual([
      'connectivity-loss:shop/vm1',
    ]);
  });

  it('a deletion held back: each vNIC and endpoint it waits for, for a Network or a Host alike', () => {
    const net = both({ object: 'Network/db', target: 'netform', resource: 'network', action: 'blocked', message: 'deletion waits: still used by ServiceEndpoint/edge/ids, VnicAttachment/shop/vm3-nic0' });
    expect(who(net)).toEqual(['blocking:endpoint edge/ids', 'blocking:shop/vm3']);
    expect(renderImpact(net.impact![0]!)).toBe('service endpoint edge/ids (ids on h2) holds back the deletion: the service endpoint still uses it; the deletion waits until it is gone');
    const host = both({ object: 'Host/h1', target: 'netform', resource: 'host', action: 'blocked', message: 'deletion waits: still used by ServiceEndpoint/edge/fw, VnicAttachment/shop/vm1-nic0' });
    expect(who(host)).toEqual(['blocking:endpoint edge/fw', 'blocking:shop/vm1']);
    // Any other blocked change (an immutable field) holds nobody.
    expect(both({ object: 'Network/db', target: 'neutron:os', resource: 'network', action: 'blocked', message: 'vlan cannot change in place' }).impact).toBeUndefined();
  });

  it('host devices: a change of the network device reaches the endpoints whose device is on that host only', () => {
    const host = (object: string, resource: string, action: PlanItem['action'], details: string[]): PlanItem => ({ object, target: 'host:h1', resource, action, externalId: 'dev', details });
    expect(who(both(host('Network/web', 'bridge', 'update', ['mtu 1500→9000'])))).toEqual(['replug:shop/vm1', 'replug:endpoint edge/fw']);
    const gone = both(host('Network/web', 'bridge', 'delete', ['not wanted']));
    expect(who(gone)).toEqual(['connectivity-loss:shop/vm1', 'connectivity-loss:endpoint edge/fw']);
    expect(gone.impact!.map((i) => i.reason)).toEqual(['the host loses network web, which the VM uses', 'the host loses network web, which the endpoint uses']);
    // Its own device (the host side): removed while still declared on h1 is a loss; after it moved to h2, not.
    expect(both(host('ServiceEndpoint/edge/fw', 'veth', 'delete', ['not wanted'])).impact).toEqual([
      { kind: 'connectivity-loss', endpoint: 'edge/fw', service: 'firewall', host: 'h1', network: 'web', reason: "the endpoint's device goes while it is still declared there" },
    ]);
    const moved = analyzeImpact([host('ServiceEndpoint/edge/fw', 'veth', 'delete', ['not wanted'])], [], [ep('fw', 'web', 'firewall', 'h1', { desiredHost: 'h2' })])[0]!;
    expect(moved.impact).toBeUndefined();
    expect(who(both(host('ServiceEndpoint/edge/fw', 'veth', 'update', ['mtu 1500→9000'])))).toEqual(['replug:endpoint edge/fw']);
  });

  it('the summary counts distinct endpoints after the VMs, per kind', () => {
    const items = analyzeImpact(
      [
        { object: 'Network/web', target: 'neutron:os', resource: 'network', action: 'update', changes: [{ path: 'mtu', from: 1500, to: 9000 }] },
        { object: 'Network/web', target: 'host:h1', resource: 'bridge', action: 'update', details: ['mtu 1500→9000'] },
        { object: 'Network/db', target: 'ucsm:fi', resource: 'vlan', action: 'update', changes: [{ path: 'vlan.id', from: 1, to: 2 }] },
      ],
      VNICS,
      ENDPOINTS,
    );
    expect(impactCounts(items)).toEqual({ replug: 2, 'connectivity-loss': 1, 'link-flap': 0, blocking: 0 });
    expect(endpointImpactCounts(items)).toEqual({ replug: 2, 'connectivity-loss': 1, 'link-flap': 0, blocking: 0 });
    expect(impactSummary(items)).toBe('1 VM loses connectivity during the change, 1 service endpoint loses connectivity during the change, 2 VMs need a re-plug, 2 service endpoints need a re-plug');
    // Endpoints alone: the summary is not empty ("no VM is affected" would be wrong).
    const only = analyzeImpact([{ object: 'ServiceEndpoint/edge/fw', target: 'neutron:os', resource: 'port', action: 'replace' }], VNICS, ENDPOINTS);
    expect(impactSummary(only)).toBe('1 service endpoint loses connectivity during the change');
  });
});

describe('endpointPlaces', () => {
  const decl = (name: string, spec: Record<string, unknown>) => ({ kind: 'ServiceEndpoint', metadata: { name, namespace: 'edge' }, spec });
  const rec = (name: string, spec: Record<string, unknown> | undefined, status: Record<string, unknown>): ObjectRecord => ({
    key: `ServiceEndpoint/edge/${name}`,
    kind: 'ServiceEndpoint',
    name,
    namespace: 'edge',
    uid: name,
    generation: 1,
    createdAt: '2026-12-04T10:00:00.000Z',
    ...(spec ? { spec } : {}),
    status,
  });
  it('where its ports are as its record says once placed, else as declared; a removed one from its record', () => {
    const store = {
      list: (kind: string) =>
        kind === 'ServiceEndpoint'
          ? [
              decl('fw', { network: 'web2', service: 'firewall', host: 'h2' }), // moving: its port is still on web at h1
              decl('vip', { network: 'web', service: 'loadbalancer', host: 'h1' }), // the host is new: its port is bound to none yet
              decl('new', { network: 'db', service: 'ids', host: 'h2' }), // not placed yet
            ]
          : [],
    } as unknown as Parameters<typeof endpointPlaces>[0];
    const records = [
      rec('fw', { network: 'web2', service: 'firewall', host: 'h2' }, { network: 'web', host: 'h1' }),
      rec('vip', { network: 'web', service: 'loadbalancer', host: 'h1' }, { network: 'web' }),
      rec('old', { network: 'db', service: 'router', host: 'h1' }, { network: 'db', host: 'h1' }),
      rec('never', undefined, {}),
    ];
    expect(endpointPlaces(store, records)).toEqual([
      { endpoint: 'edge/fw', service: 'firewall', network: 'web', host: 'h1', declared: true, desiredHost: 'h2' },
      { endpoint: 'edge/new', service: 'ids', network: 'db', host: 'h2', declared: true, desiredHost: 'h2' },
      { endpoint: 'edge/old', service: 'router', network: 'db', host: 'h1', declared: false },
      { endpoint: 'edge/vip', service: 'loadbalancer', network: 'web', declared: true, desiredHost: 'h1' },
    ]);
  });
});

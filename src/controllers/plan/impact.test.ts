import { describe, expect, it } from 'vitest';
import type { PlanItem } from '../runtime/plan.ts';
import { analyzeImpact, impactCounts, impactSummary, type VnicPlace } from './impact.ts';

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

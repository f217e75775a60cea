import { describe, expect, it } from 'vitest';
import { describeHostDiff } from './describe.ts';
import type { HostDiff } from './diff.ts';
import type { DesiredHost, ObservedLink, ObservedOvsPort } from './model.ts';

const LAYOUT: DesiredHost = {
  links: [
    { name: 'ens3', kind: 'nic', mtu: 9000 },
    { name: 'br-web', kind: 'bridge', mtu: 9000, purpose: 'network/web' },
    { name: 'nfvaaaaaaaaaaaa', kind: 'tap', mtu: 9000, purpose: 'vnic/shop/vm1-nic0' },
  ],
  addresses: [],
  ovs: { bridge: 'br-int', datapath: 'netdev', ports: [{ name: 'nfvbbbbbbbbbbbb', type: 'system', tag: 100, network: 'db', external: { 'iface-id': 'shop/vm2-nic0' } }] },
  networks: [
    { name: 'web', fabric: 'linux-bridge', interface: 'ens3', mtu: 9000, devices: ['br-web'], ovsPorts: [] },
    { name: 'db', fabric: 'ovs', interface: 'ens3', mtu: 1500, vlan: 100, devices: [], ovsPorts: ['ens3'] },
  ],
  problems: [],
};

const link = (name: string, extra: Partial<ObservedLink> = {}): ObservedLink => ({ name, ifindex: 1, kind: '', mtu: 1500, up: true, operstate: 'UP', mac: '', group: 0, ...extra });
const port = (name: string, ifaceId?: string): ObservedOvsPort => ({
  uuid: 'u',
  name,
  tag: 100,
  trunks: [],
  vlanMode: undefined,
  bondMode: undefined,
  lacp: undefined,
  interfaces: [{ name, type: '', ofport: 1, error: undefined, mtuRequest: undefined, external: ifaceId ? { 'iface-id': ifaceId } : {} }],
  external: { 'netform-network': 'db' },
});

describe('describeHostDiff', () => {
  it('names each change with the network or the vNIC it serves', () => {
    const d: HostDiff = {
      links: [
        { name: 'ens3', op: 'modify', want: LAYOUT.links[0], have: link('ens3'), fields: ['mtu 1500→9000'] },
        { name: 'br-web', op: 'modify', want: LAYOUT.links[1], have: link('br-web', { kind: 'bridge' }), fields: ['mtu 1500→9000'] },
        { name: 'nfvaaaaaaaaaaaa', op: 'modify', want: LAYOUT.links[2], have: link('nfvaaaaaaaaaaaa', { kind: 'tun' }), fields: ['mtu 1500→9000'] },
        { name: 'nfvcccccccccccc', op: 'delete', have: link('nfvcccccccccccc', { kind: 'tun', alias: 'netform:vnic/shop/gone-nic0' }), fields: ['not wanted'] },
        { name: 'br-old', op: 'delete', have: link('br-old', { kind: 'bridge', alias: 'netform:network/old' }), fields: ['not wanted'] },
      ],
      ports: [
        { name: 'nfvbbbbbbbbbbbb', op: 'modify', want: LAYOUT.ovs!.ports[0], have: port('nfvbbbbbbbbbbbb', 'shop/vm2-nic0'), fields: ['tag 99→100'] },
        { name: 'nfvdddddddddddd', op: 'delete', have: port('nfvdddddddddddd', 'shop/vm9-nic0'), fields: ['stale, not wanted'], stale: true },
      ],
      addresses: [{ device: 'br-web', cidr: '10.0.0.2/24', op: 'add' }],
      problems: [],
    };
    expect(describeHostDiff(LAYOUT, d)).toEqual([
      { resource: 'nic', name: 'ens3', action: 'update', fields: ['mtu 1500→9000'], networks: ['db', 'web'] },
      { resource: 'bridge', name: 'br-web', action: 'update', fields: ['mtu 1500→9000'], network: 'web' },
      { resource: 'tap', name: 'nfvaaaaaaaaaaaa', action: 'update', fields: ['mtu 1500→9000'], vnic: 'shop/vm1-nic0' },
      { resource: 'tap', name: 'nfvcccccccccccc', action: 'delete', fields: ['not wanted'], vnic: 'shop/gone-nic0' },
      { resource: 'bridge', name: 'br-old', action: 'delete', fields: ['not wanted'], network: 'old' },
      { resource: 'ovs-port', name: 'nfvbbbbbbbbbbbb', action: 'update', fields: ['tag 99→100'], vnic: 'shop/vm2-nic0', network: 'db' },
      { resource: 'ovs-port', name: 'nfvdddddddddddd', action: 'delete', fields: ['stale, not wanted'], vnic: 'shop/vm9-nic0', network: 'db' },
      { resource: 'address', name: '10.0.0.2/24 on br-web', action: 'create', fields: [], network: 'web' },
    ]);
  });

  it('an empty diff describes nothing', () => {
    expect(describeHostDiff(LAYOUT, { links: [], ports: [], addresses: [], problems: [] })).toEqual([]);
  });
});

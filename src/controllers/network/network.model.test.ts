import { describe, expect, it } from 'vitest';
import { GROUP_VERSION } from '../../api/crds.ts';
import type { Network } from '../../api/kinds.ts';
import type { NetworkSpec } from '../../api/types.gen.ts';
import type { SubnetModel } from '../../drivers/model.ts';
import { toNetworkModel } from './network.model.ts';

type SubnetSpec = NonNullable<NetworkSpec['subnets']>[number];

function network(spec: Partial<NetworkSpec> = {}): Network {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'Network',
    metadata: { name: 'web', labels: { tier: 'web' } },
    spec: {
      approval: 'Auto',
      external: false,
      physicalNetwork: 'physnet1',
      vlan: { id: 100 },
      mtu: 9000,
      shared: true,
      adminStateUp: false,
      portSecurity: true,
      portMirroring: true,
      managementPolicy: 'Managed',
      deletionPolicy: 'Delete',
      allowReplace: false,
      ...spec,
    },
  };
}

const subnet = (s: Partial<SubnetSpec>): SubnetSpec => ({ name: 'app', cidr: '192.0.2.0/24', dhcp: true, ...s });
const only = (s: Partial<SubnetSpec>): SubnetModel => {
  const m = toNetworkModel(network({ subnets: [subnet(s)] }), 100);
  expect(m.subnets).toHaveLength(1);
  return m.subnets[0]!;
};

describe('toNetworkModel: network fields', () => {
  it('copies the spec and the VLAN', () => {
    expect(toNetworkModel(network({ description: 'web tier', qos: { maxRateKbps: 1000, maxBurstKbps: 200 } }), 123)).toEqual({
      name: 'web',
      description: 'web tier',
      physicalNetwork: 'physnet1',
      vlan: 123,
      mtu: 9000,
      shared: true,
      external: false,
      adminStateUp: false,
      portSecurity: true,
      portMirroring: true,
      qos: { maxRateKbps: 1000, maxBurstKbps: 200 },
      subnets: [],
    });
  });

  it.each([
    { name: 'flat network (no vlan in spec)', spec: { vlan: undefined }, vlan: undefined },
    { name: 'pool network without an allocation yet', spec: { vlan: { poolRef: { name: 'p' } } }, vlan: undefined },
  ])('vlan left undefined: $name', ({ spec, vlan }) => {
    const m = toNetworkModel(network(spec), vlan);
    expect(m.vlan).toBeUndefined();
    expect('vlan' in m).toBe(false);
  });

  it.each([
    { name: 'no description', key: 'description' },
    { name: 'no qos', key: 'qos' },
  ])('optional fields absent from the spec are absent from the model: $name', ({ key }) => {
    expect(key in toNetworkModel(network(), 100)).toBe(false);
  });

  it('qos is a copy, not the spec object', () => {
    const n = network({ qos: { maxRateKbps: 1 } });
    const m = toNetworkModel(n, 1);
    m.qos!.maxRateKbps = 2;
    expect(n.spec.qos).toEqual({ maxRateKbps: 1 });
  });
});

describe('toNetworkModel: subnets', () => {
  it.each([
    { name: "'none' → null (no gateway)", gateway: 'none', want: null },
    { name: 'address kept', gateway: '192.0.2.1', want: '192.0.2.1' },
  ])('gateway $name', ({ gateway, want }) => {
    const s = only({ gateway });
    expect(s.gateway).toBe(want);
    expect('gateway' in s).toBe(true);
  });

  it('gateway omitted stays undefined (the backend chooses)', () => {
    const s = only({});
    expect(s.gateway).toBeUndefined();
    expect('gateway' in s).toBe(false);
  });

  it.each([
    { cidr: '192.0.2.0/24', want: '192.0.2.0/24', version: 4 },
    { cidr: '192.0.2.77/24', want: '192.0.2.0/24', version: 4 },
    { cidr: '10.1.2.3/8', want: '10.0.0.0/8', version: 4 },
    { cidr: '10.1.2.3/32', want: '10.1.2.3/32', version: 4 },
    { cidr: '2001:DB8:0:0::1/64', want: '2001:db8::/64', version: 6 },
    { cidr: '2001:0db8:0000:0000:0000:0000:0000:0000/48', want: '2001:db8::/48', version: 6 },
    { cidr: 'fd00::5/128', want: 'fd00::5/128', version: 6 },
  ])('cidr $cidr canonicalised to $want, ipVersion $version derived', ({ cidr, want, version }) => {
    const s = only({ cidr });
    expect(s.cidr).toBe(want);
    expect(s.ipVersion).toBe(version);
  });

  it('an explicit ipVersion is kept', () => {
    expect(only({ cidr: '2001:db8::/64', ipVersion: 6 }).ipVersion).toBe(6);
  });

  it('all subnet fields carried, as copies', () => {
    const spec = subnet({
      name: 'v6',
      cidr: '2001:db8:1::/64',
      gateway: '2001:db8:1::1',
      dhcp: false,
      allocationPools: [{ start: '2001:db8:1::10', end: '2001:db8:1::20' }],
      dnsServers: ['2001:db8::53'],
      hostRoutes: [{ destination: '2001:db8:2::/64', nexthop: '2001:db8:1::2' }],
      ipv6AddressMode: 'slaac',
      ipv6RaMode: 'slaac',
    });
    const n = network({ subnets: [spec, subnet({ name: 'v4', cidr: '198.51.100.9/25', gateway: 'none' })] });
    const m = toNetworkModel(n, 7);
    expect(m.subnets).toEqual([
      {
        name: 'v6',
        cidr: '2001:db8:1::/64',
        ipVersion: 6,
        gateway: '2001:db8:1::1',
        dhcp: false,
        allocationPools: [{ start: '2001:db8:1::10', end: '2001:db8:1::20' }],
        dnsServers: ['2001:db8::53'],
        hostRoutes: [{ destination: '2001:db8:2::/64', nexthop: '2001:db8:1::2' }],
        ipv6AddressMode: 'slaac',
        ipv6RaMode: 'slaac',
      },
      { name: 'v4', cidr: '198.51.100.0/25', ipVersion: 4, gateway: null, dhcp: true },
    ]);
    m.subnets[0]!.dnsServers!.push('x');
    m.subnets[0]!.allocationPools![0]!.start = 'x';
    expect(spec.dnsServers).toEqual(['2001:db8::53']);
    expect(spec.allocationPools![0]!.start).toBe('2001:db8:1::10');
  });

  it('a subnet without optional fields has only the required keys', () => {
    expect(Object.keys(only({})).sort()).toEqual(['cidr', 'dhcp', 'ipVersion', 'name']);
  });
});

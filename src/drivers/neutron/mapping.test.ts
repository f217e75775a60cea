import { describe, expect, it } from 'vitest';
import { BackendError, type ErrorClass } from '../../api/errors.ts';
import type { FieldChange, Owner } from '../driver.ts';
import type { NetworkModel, SubnetModel, VnicModel } from '../model.ts';
import {
  classifyNeutronError,
  diffNetwork,
  diffPort,
  fixedIpsBody,
  portMutableBody,
  sortedPairs,
  type PortState,
  foreignOwner,
  instanceTag,
  isOurs,
  NETFORM_TAG,
  networkBody,
  neutronError,
  normalizeNetwork,
  normalizePort,
  normalizeSubnet,
  ownerTag,
  ownerTags,
  pendingMarker,
  policyName,
  portBody,
  subnetBody,
  subnetMarker,
  type NetworkState,
  type NeutronNetwork,
  type NeutronPort,
  type NeutronQosPolicy,
  type NeutronSubnet,
} from './mapping.ts';

const owner: Owner = { instance: 'lab', kind: 'Network', name: 'app' };
const other: Owner = { instance: 'lab', kind: 'Network', name: 'db' };

// ---- realistic Neutron bodies (shapes taken from the Zed responses in the reference doc) ----------

/** GET /v2.0/networks/{id} of a VLAN network netform created and tagged. */
function neutronNet(over: Partial<NeutronNetwork> = {}): NeutronNetwork {
  return {
    id: '6a256192-e9dc-4c49-9070-b9cba4187f82',
    name: 'app',
    tenant_id: '11111111111111111111111111111111',
    admin_state_up: true,
    mtu: 1500,
    status: 'ACTIVE',
    subnets: ['b1856c1e-a1d7-47a0-a6af-88ff50f9e34a'],
    shared: false,
    project_id: '11111111111111111111111111111111',
    port_security_enabled: true,
    qos_policy_id: null,
    'router:external': false,
    'provider:network_type': 'vlan',
    'provider:physical_network': 'physnet1',
    'provider:segmentation_id': 101,
    availability_zone_hints: [],
    availability_zones: [],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    description: 'app tier',
    l2_adjacency: true,
    tags: ownerTags(owner),
    created_at: '2026-11-21T11:59:09Z',
    updated_at: '2026-11-21T11:59:09Z',
    revision_number: 4,
    ...over,
  } as NeutronNetwork;
}

/** GET /v2.0/subnets/{id}, tagged. */
function neutronSubnet(over: Partial<NeutronSubnet> = {}): NeutronSubnet {
  return {
    id: 'b1856c1e-a1d7-47a0-a6af-88ff50f9e34a',
    name: 'v4',
    tenant_id: 'fake_project_id',
    network_id: '6a256192-e9dc-4c49-9070-b9cba4187f82',
    ip_version: 4,
    subnetpool_id: null,
    enable_dhcp: false,
    ipv6_ra_mode: null,
    ipv6_address_mode: null,
    gateway_ip: '10.10.0.1',
    cidr: '10.10.0.0/24',
    allocation_pools: [{ start: '10.10.0.100', end: '10.10.0.200' }],
    host_routes: [{ destination: '10.20.0.0/16', nexthop: '10.10.0.254' }],
    dns_nameservers: ['10.0.0.53', '10.0.0.54'],
    description: subnetMarker(owner.instance),
    service_types: [],
    segment_id: null,
    tags: [],
    created_at: '2026-11-21T11:59:22Z',
    updated_at: '2026-11-21T11:59:22Z',
    revision_number: 0,
    project_id: 'fake_project_id',
    ...over,
  } as NeutronSubnet;
}

/** An IPv6 SLAAC subnet as Neutron returns it. */
function neutronSubnetV6(over: Partial<NeutronSubnet> = {}): NeutronSubnet {
  return neutronSubnet({
    id: 'f45d1fac-93da-4339-b500-cf6b3deb36c4',
    name: 'v6',
    ip_version: 6,
    cidr: 'fd00:10::/64',
    gateway_ip: 'fd00:10::',
    allocation_pools: [{ start: 'fd00:10::2', end: 'fd00:10::ffff:ffff:ffff:ffff' }],
    host_routes: [],
    dns_nameservers: ['2001:db8::53'],
    enable_dhcp: true,
    ipv6_address_mode: 'slaac',
    ipv6_ra_mode: 'slaac',
    revision_number: 2,
    ...over,
  });
}

function qosPolicy(rules: NeutronQosPolicy['rules']): NeutronQosPolicy {
  return {
    id: '5df855e9-a833-49a3-9c82-c0839a5f103f',
    name: policyName(owner),
    rules,
    tags: ownerTags(owner),
    revision_number: 1,
  };
}

function subnetModel(over: Partial<SubnetModel> = {}): SubnetModel {
  return {
    name: 'v4',
    cidr: '10.10.0.0/24',
    ipVersion: 4,
    gateway: '10.10.0.1',
    allocationPools: [{ start: '10.10.0.100', end: '10.10.0.200' }],
    dnsServers: ['10.0.0.53', '10.0.0.54'],
    hostRoutes: [{ destination: '10.20.0.0/16', nexthop: '10.10.0.254' }],
    dhcp: false,
    ...over,
  };
}

function model(over: Partial<NetworkModel> = {}): NetworkModel {
  return {
    name: 'app',
    description: 'app tier',
    physicalNetwork: 'physnet1',
    vlan: 101,
    mtu: 1500,
    shared: false,
    adminStateUp: true,
    portSecurity: true,
    portMirroring: false,
    subnets: [subnetModel()],
    ...over,
  };
}

function state(net: Partial<NeutronNetwork> = {}, subnets: NeutronSubnet[] = [neutronSubnet()], qos?: NeutronQosPolicy, ownPolicyId: string | null = null): NetworkState {
  return normalizeNetwork(neutronNet(net), subnets, qos, owner, ownPolicyId);
}

// ---- diffNetwork --------------------------------------------------------------------------------

describe('diffNetwork', () => {
  it('finds nothing when Neutron matches the model (realistic bodies, round trip through normalize)', () => {
    expect(diffNetwork(model(), state())).toEqual([]);
    const v6 = subnetModel({
      name: 'v6',
      cidr: 'fd00:10::/64',
      ipVersion: 6,
      gateway: 'fd00:10::',
      allocationPools: undefined,
      dnsServers: ['2001:db8::53'],
      hostRoutes: [],
      dhcp: true,
      ipv6AddressMode: 'slaac',
      ipv6RaMode: 'slaac',
    });
    expect(diffNetwork(model({ subnets: [v6, subnetModel()] }), state({}, [neutronSubnetV6(), neutronSubnet()]))).toEqual([]);
  });

  it.each<{ name: string; m?: Partial<NetworkModel>; net?: Partial<NeutronNetwork>; want: FieldChange[] }>([
    { name: 'description', m: { description: 'app tier v2' }, want: [{ path: 'description', from: 'app tier', to: 'app tier v2' }] },
    { name: 'no description in the model means empty', m: { description: undefined }, want: [{ path: 'description', from: 'app tier', to: '' }] },
    { name: 'no description on either side', m: { description: undefined }, net: { description: '' }, want: [] },
    { name: 'description missing from the body', m: { description: undefined }, net: { description: undefined }, want: [] },
    { name: 'mtu', m: { mtu: 1400 }, want: [{ path: 'mtu', from: 1500, to: 1400 }] },
    { name: 'shared', m: { shared: true }, want: [{ path: 'shared', from: false, to: true }] },
    { name: 'external (router:external)', m: { external: true }, want: [{ path: 'external', from: false, to: true }] },
    { name: 'adminStateUp', m: { adminStateUp: false }, want: [{ path: 'adminStateUp', from: true, to: false }] },
    { name: 'portSecurity', m: { portSecurity: false }, want: [{ path: 'portSecurity', from: true, to: false }] },
    { name: 'port security absent from the body counts as enabled', net: { port_security_enabled: undefined }, want: [] },
    { name: 'name of our own network', m: { name: 'app2' }, want: [{ path: 'name', from: 'app', to: 'app2' }] },
    {
      name: 'several mutable fields at once, in a stable order',
      m: { name: 'x', mtu: 9000, shared: true, adminStateUp: false, portSecurity: false, description: 'd' },
      want: [
        { path: 'name', from: 'app', to: 'x' },
        { path: 'description', from: 'app tier', to: 'd' },
        { path: 'mtu', from: 1500, to: 9000 },
        { path: 'shared', from: false, to: true },
        { path: 'adminStateUp', from: true, to: false },
        { path: 'portSecurity', from: true, to: false },
      ],
    },
    // immutable provider attributes
    { name: 'vlan id', m: { vlan: 102 }, want: [{ path: 'vlan', from: 101, to: 102, immutable: true }] },
    { name: 'physical network', m: { physicalNetwork: 'physnet2' }, want: [{ path: 'physicalNetwork', from: 'physnet1', to: 'physnet2', immutable: true }] },
    {
      name: 'vlan → flat',
      m: { vlan: undefined },
      want: [
        { path: 'networkType', from: 'vlan', to: 'flat', immutable: true },
        { path: 'vlan', from: 101, to: null, immutable: true },
      ],
    },
    {
      name: 'flat → vlan',
      net: { 'provider:network_type': 'flat', 'provider:segmentation_id': null },
      want: [
        { path: 'networkType', from: 'flat', to: 'vlan', immutable: true },
        { path: 'vlan', from: null, to: 101, immutable: true },
      ],
    },
    { name: 'flat network matching a flat model', m: { vlan: undefined }, net: { 'provider:network_type': 'flat', 'provider:segmentation_id': null }, want: [] },
    {
      name: 'network without provider attributes visible (non-admin view)',
      net: { 'provider:network_type': undefined, 'provider:physical_network': undefined, 'provider:segmentation_id': undefined },
      want: [
        { path: 'networkType', from: null, to: 'vlan', immutable: true },
        { path: 'physicalNetwork', from: null, to: 'physnet1', immutable: true },
        { path: 'vlan', from: null, to: 101, immutable: true },
      ],
    },
  ])('$name', ({ m, net, want }) => {
    expect(diffNetwork(model(m), state(net))).toEqual(want);
  });

  describe('ownership: name and tags', () => {
    it('does not diff the name of a network that is not ours (imported), but still its other fields', () => {
      const s = state({ name: 'legacy-net', tags: ['env:prod'] });
      expect(s.ours).toBe(false);
      expect(diffNetwork(model({ mtu: 1400 }), s)).toEqual([{ path: 'mtu', from: 1500, to: 1400 }]);
    });

    it('asks for no tags on a foreign network even though it carries none of ours', () => {
      const s = state({ tags: [] }, [neutronSubnet({ tags: [] })]);
      expect(s).toMatchObject({ ours: false, tagged: false });
      expect(diffNetwork(model(), s)).toEqual([]);
    });

    it('an untagged network found by its pending marker is ours: description back to the model, and tags', () => {
      const s = state({ tags: [], description: pendingMarker(owner), name: 'app' });
      expect(s).toMatchObject({ ours: true, tagged: false, description: pendingMarker(owner) });
      expect(diffNetwork(model(), s)).toEqual([
        { path: 'description', from: pendingMarker(owner), to: 'app tier' },
        { path: 'tags', from: 'untagged', to: 'owner tags' },
      ]);
    });

    it('the pending marker on a tagged network reads as no description (ADR 24): a change only where the spec gives one', () => {
      const s = state({ description: pendingMarker(owner) });
      expect(s).toMatchObject({ ours: true, tagged: true, description: '' });
      expect(diffNetwork(model(), s)).toEqual([{ path: 'description', from: '', to: 'app tier' }]);
      expect(diffNetwork({ ...model(), description: undefined }, s)).toEqual([]);
    });

    it("another owner's marker is a description like any other", () => {
      const other = { ...owner, name: 'someone-else' };
      expect(state({ description: pendingMarker(other) }).description).toBe(pendingMarker(other));
    });

    it('another owner\'s pending marker does not make the network ours', () => {
      const s = state({ tags: [], description: pendingMarker(other), name: 'db' });
      expect(s.ours).toBe(false);
      expect(diffNetwork(model(), s)).toEqual([{ path: 'description', from: pendingMarker(other), to: 'app tier' }]);
    });

    it('a subnet of our network without the mark (tagged before ADR 24, or left unmarked) gets the mark', () => {
      for (const sub of [neutronSubnet({ tags: ownerTags(owner), description: '' }), neutronSubnet({ tags: ['netform'], description: '' })]) {
        expect(diffNetwork(model(), state({}, [sub]))).toEqual([{ path: 'subnets[v4].mark', from: 'unmarked', to: 'marked' }]);
      }
    });
  });

  describe('subnets', () => {
    const v4 = (over: Partial<SubnetModel>) => model({ subnets: [subnetModel(over)] });
    it.each<{ name: string; m: NetworkModel; subnets?: NeutronSubnet[]; want: FieldChange[] }>([
      {
        name: 'added',
        m: model({ subnets: [subnetModel(), subnetModel({ name: 'v6', cidr: 'fd00:20::/64', ipVersion: 6 })] }),
        want: [{ path: 'subnets[v6]', to: 'fd00:20::/64' }],
      },
      {
        name: 'removed',
        m: model({ subnets: [] }),
        want: [{ path: 'subnets[v4]', from: '10.10.0.0/24' }],
      },
      {
        name: 'one renamed = one added and one removed',
        m: v4({ name: 'apps' }),
        want: [
          { path: 'subnets[apps]', to: '10.10.0.0/24' },
          { path: 'subnets[v4]', from: '10.10.0.0/24' },
        ],
      },
      { name: 'cidr (immutable)', m: v4({ cidr: '10.11.0.0/24' }), want: [{ path: 'subnets[v4].cidr', from: '10.10.0.0/24', to: '10.11.0.0/24', immutable: true }] },
      { name: 'cidr written with host bits is the same prefix', m: v4({ cidr: '10.10.0.7/24' }), want: [] },
      {
        name: 'cidr in a non-canonical IPv6 form is the same prefix',
        m: model({ subnets: [subnetModel({ name: 'v6', cidr: 'fd00:0010:0000:0000::/64', ipVersion: 6, gateway: 'fd00:10::', allocationPools: undefined, dnsServers: ['2001:db8::53'], hostRoutes: [], dhcp: true, ipv6AddressMode: 'slaac', ipv6RaMode: 'slaac' })] }),
        subnets: [neutronSubnetV6()],
        want: [],
      },
      { name: 'ipVersion (immutable)', m: v4({ ipVersion: 6 }), want: [{ path: 'subnets[v4].ipVersion', from: 4, to: 6, immutable: true }] },
      {
        name: 'IPv6 address and RA modes (immutable)',
        m: model({ subnets: [subnetModel({ name: 'v6', cidr: 'fd00:10::/64', ipVersion: 6, gateway: undefined, allocationPools: undefined, dnsServers: ['2001:db8::53'], hostRoutes: [], dhcp: true, ipv6AddressMode: 'dhcpv6-stateful', ipv6RaMode: 'dhcpv6-stateful' })] }),
        subnets: [neutronSubnetV6()],
        want: [
          { path: 'subnets[v6].ipv6AddressMode', from: 'slaac', to: 'dhcpv6-stateful', immutable: true },
          { path: 'subnets[v6].ipv6RaMode', from: 'slaac', to: 'dhcpv6-stateful', immutable: true },
        ],
      },
      {
        name: 'IPv6 modes dropped from the model (immutable, to null)',
        m: model({ subnets: [subnetModel({ name: 'v6', cidr: 'fd00:10::/64', ipVersion: 6, gateway: undefined, allocationPools: undefined, dnsServers: ['2001:db8::53'], hostRoutes: [], dhcp: true })] }),
        subnets: [neutronSubnetV6()],
        want: [
          { path: 'subnets[v6].ipv6AddressMode', from: 'slaac', to: null, immutable: true },
          { path: 'subnets[v6].ipv6RaMode', from: 'slaac', to: null, immutable: true },
        ],
      },
      { name: 'gateway changed', m: v4({ gateway: '10.10.0.254' }), want: [{ path: 'subnets[v4].gateway', from: '10.10.0.1', to: '10.10.0.254' }] },
      { name: 'gateway null = no gateway', m: v4({ gateway: null }), want: [{ path: 'subnets[v4].gateway', from: '10.10.0.1', to: null }] },
      { name: 'gateway null matches Neutron\'s null', m: v4({ gateway: null }), subnets: [neutronSubnet({ gateway_ip: null })], want: [] },
      { name: 'gateway not set in the model is Neutron\'s choice', m: v4({ gateway: undefined }), subnets: [neutronSubnet({ gateway_ip: '10.10.0.77' })], want: [] },
      { name: 'gateway not set in the model, Neutron has none', m: v4({ gateway: undefined }), subnets: [neutronSubnet({ gateway_ip: null })], want: [] },
      { name: 'gateway wanted where Neutron has none', m: v4({ gateway: '10.10.0.1' }), subnets: [neutronSubnet({ gateway_ip: null })], want: [{ path: 'subnets[v4].gateway', from: null, to: '10.10.0.1' }] },
      {
        name: 'IPv6 gateway in a long form equals Neutron\'s short form',
        m: model({ subnets: [subnetModel({ name: 'v6', cidr: 'fd00:10::/64', ipVersion: 6, gateway: '2001:0db8:0:0:0:0:0:1', allocationPools: undefined, dnsServers: ['2001:db8::53'], hostRoutes: [], dhcp: true, ipv6AddressMode: 'slaac', ipv6RaMode: 'slaac' })] }),
        subnets: [neutronSubnetV6({ gateway_ip: '2001:db8::1' })],
        want: [],
      },
      {
        name: 'IPv6 gateway really different',
        m: model({ subnets: [subnetModel({ name: 'v6', cidr: 'fd00:10::/64', ipVersion: 6, gateway: 'fd00:10::1', allocationPools: undefined, dnsServers: ['2001:db8::53'], hostRoutes: [], dhcp: true, ipv6AddressMode: 'slaac', ipv6RaMode: 'slaac' })] }),
        subnets: [neutronSubnetV6()],
        want: [{ path: 'subnets[v6].gateway', from: 'fd00:10::', to: 'fd00:10::1' }],
      },
      { name: 'allocation pools not set in the model are Neutron\'s choice', m: v4({ allocationPools: undefined }), subnets: [neutronSubnet({ allocation_pools: [{ start: '10.10.0.2', end: '10.10.0.254' }] })], want: [] },
      {
        name: 'allocation pool changed',
        m: v4({ allocationPools: [{ start: '10.10.0.100', end: '10.10.0.150' }] }),
        want: [{ path: 'subnets[v4].allocationPools', from: [{ start: '10.10.0.100', end: '10.10.0.200' }], to: [{ start: '10.10.0.100', end: '10.10.0.150' }] }],
      },
      {
        name: 'allocation pool added',
        m: v4({ allocationPools: [{ start: '10.10.0.100', end: '10.10.0.200' }, { start: '10.10.0.210', end: '10.10.0.220' }] }),
        want: [
          {
            path: 'subnets[v4].allocationPools',
            from: [{ start: '10.10.0.100', end: '10.10.0.200' }],
            to: [{ start: '10.10.0.100', end: '10.10.0.200' }, { start: '10.10.0.210', end: '10.10.0.220' }],
          },
        ],
      },
      {
        name: 'IPv6 allocation pool in long form equals the short form',
        m: model({ subnets: [subnetModel({ name: 'v6', cidr: 'fd00:10::/64', ipVersion: 6, gateway: undefined, allocationPools: [{ start: 'fd00:0010:0000:0000:0000:0000:0000:0002', end: 'FD00:10::FFFF:FFFF:FFFF:FFFF' }], dnsServers: ['2001:db8::53'], hostRoutes: [], dhcp: true, ipv6AddressMode: 'slaac', ipv6RaMode: 'slaac' })] }),
        subnets: [neutronSubnetV6()],
        want: [],
      },
      { name: 'DNS server replaced', m: v4({ dnsServers: ['10.0.0.53', '10.0.0.55'] }), want: [{ path: 'subnets[v4].dnsServers', from: ['10.0.0.53', '10.0.0.54'], to: ['10.0.0.53', '10.0.0.55'] }] },
      { name: 'DNS servers in another order (a list: order matters)', m: v4({ dnsServers: ['10.0.0.54', '10.0.0.53'] }), want: [{ path: 'subnets[v4].dnsServers', from: ['10.0.0.53', '10.0.0.54'], to: ['10.0.0.54', '10.0.0.53'] }] },
      { name: 'DNS servers not set in the model mean none', m: v4({ dnsServers: undefined }), want: [{ path: 'subnets[v4].dnsServers', from: ['10.0.0.53', '10.0.0.54'], to: [] }] },
      { name: 'no DNS servers anywhere', m: v4({ dnsServers: undefined }), subnets: [neutronSubnet({ dns_nameservers: [] })], want: [] },
      { name: 'IPv6 DNS server in long form equals the short form', m: v4({ dnsServers: ['2001:0db8:0:0:0:0:0:1'] }), subnets: [neutronSubnet({ dns_nameservers: ['2001:db8::1'] })], want: [] },
      {
        name: 'host route nexthop changed',
        m: v4({ hostRoutes: [{ destination: '10.20.0.0/16', nexthop: '10.10.0.253' }] }),
        want: [{ path: 'subnets[v4].hostRoutes', from: [{ destination: '10.20.0.0/16', nexthop: '10.10.0.254' }], to: [{ destination: '10.20.0.0/16', nexthop: '10.10.0.253' }] }],
      },
      { name: 'host routes not set in the model mean none', m: v4({ hostRoutes: undefined }), want: [{ path: 'subnets[v4].hostRoutes', from: [{ destination: '10.20.0.0/16', nexthop: '10.10.0.254' }], to: [] }] },
      {
        name: 'IPv6 host route in long forms equals the short forms',
        m: v4({ hostRoutes: [{ destination: '2001:0db8:0000::/48', nexthop: '2001:0db8:0:0:0:0:0:1' }] }),
        subnets: [neutronSubnet({ host_routes: [{ destination: '2001:db8::/48', nexthop: '2001:db8::1' }] })],
        want: [],
      },
      { name: 'dhcp', m: v4({ dhcp: true }), want: [{ path: 'subnets[v4].dhcp', from: false, to: true }] },
    ])('$name', ({ m, subnets, want }) => {
      expect(diffNetwork(m, state({}, subnets))).toEqual(want);
    });

    it('matches subnets by name whatever order Neutron lists them in', () => {
      const m = model({ subnets: [subnetModel(), subnetModel({ name: 'v6', cidr: 'fd00:10::/64', ipVersion: 6, gateway: 'fd00:10::', allocationPools: undefined, dnsServers: ['2001:db8::53'], hostRoutes: [], dhcp: true, ipv6AddressMode: 'slaac', ipv6RaMode: 'slaac' })] });
      expect(diffNetwork(m, state({}, [neutronSubnetV6(), neutronSubnet()]))).toEqual([]);
      expect(diffNetwork(m, state({}, [neutronSubnet(), neutronSubnetV6()]))).toEqual([]);
    });
  });

  describe('QoS', () => {
    const limit = (max_kbps: number, max_burst_kbps?: number) =>
      qosPolicy([{ type: 'bandwidth_limit', max_kbps, ...(max_burst_kbps === undefined ? {} : { max_burst_kbps }), direction: 'egress' }]);
    it.each<{ name: string; m?: NetworkModel['qos']; policy?: NeutronQosPolicy; ownPolicyId?: string | null; want: FieldChange[] }>([
      { name: 'none wanted, none there', want: [] },
      { name: 'wanted, none there', m: { maxRateKbps: 10000 }, want: [{ path: 'qos', from: null, to: { maxRateKbps: 10000 } }] },
      { name: 'wanted with burst, none there', m: { maxRateKbps: 10000, maxBurstKbps: 1000 }, want: [{ path: 'qos', from: null, to: { maxRateKbps: 10000, maxBurstKbps: 1000 } }] },
      { name: 'there, not wanted', policy: limit(10000, 1000), want: [{ path: 'qos', from: { maxRateKbps: 10000, maxBurstKbps: 1000 }, to: null }] },
      { name: 'same rate and burst', m: { maxRateKbps: 10000, maxBurstKbps: 1000 }, policy: limit(10000, 1000), want: [] },
      { name: 'rate changed', m: { maxRateKbps: 20000, maxBurstKbps: 1000 }, policy: limit(10000, 1000), want: [{ path: 'qos', from: { maxRateKbps: 10000, maxBurstKbps: 1000 }, to: { maxRateKbps: 20000, maxBurstKbps: 1000 } }] },
      { name: 'burst changed', m: { maxRateKbps: 10000, maxBurstKbps: 2000 }, policy: limit(10000, 1000), want: [{ path: 'qos', from: { maxRateKbps: 10000, maxBurstKbps: 1000 }, to: { maxRateKbps: 10000, maxBurstKbps: 2000 } }] },
      { name: 'burst dropped', m: { maxRateKbps: 10000 }, policy: limit(10000, 1000), want: [{ path: 'qos', from: { maxRateKbps: 10000, maxBurstKbps: 1000 }, to: { maxRateKbps: 10000 } }] },
      { name: 'burst 0 in Neutron equals no burst', m: { maxRateKbps: 10000 }, policy: limit(10000, 0), want: [] },
      { name: 'burst 0 in the model equals no burst', m: { maxRateKbps: 10000, maxBurstKbps: 0 }, policy: limit(10000), want: [] },
      { name: 'a qos block without a rate is no qos', m: { maxBurstKbps: 1000 }, want: [] },
      { name: 'a policy without a bandwidth-limit rule is no qos', policy: qosPolicy([{ type: 'dscp_marking' }]), want: [] },
      {
        name: 'a left-over own policy, not attached, no qos wanted',
        ownPolicyId: '5df855e9-a833-49a3-9c82-c0839a5f103f',
        want: [{ path: 'qos', from: 'an unattached policy of this network', to: null }],
      },
      {
        name: 'own policy attached and wanted: no extra change',
        m: { maxRateKbps: 10000, maxBurstKbps: 1000 },
        policy: limit(10000, 1000),
        ownPolicyId: '5df855e9-a833-49a3-9c82-c0839a5f103f',
        want: [],
      },
      {
        name: 'own policy exists unattached and qos wanted: one qos change only',
        m: { maxRateKbps: 10000 },
        ownPolicyId: '5df855e9-a833-49a3-9c82-c0839a5f103f',
        want: [{ path: 'qos', from: null, to: { maxRateKbps: 10000 } }],
      },
      {
        name: 'own policy attached, not wanted: one qos change only',
        policy: limit(10000),
        ownPolicyId: '5df855e9-a833-49a3-9c82-c0839a5f103f',
        want: [{ path: 'qos', from: { maxRateKbps: 10000 }, to: null }],
      },
    ])('$name', ({ m, policy, ownPolicyId, want }) => {
      const s = state({ qos_policy_id: policy?.id ?? null }, [neutronSubnet()], policy, ownPolicyId ?? null);
      expect(diffNetwork(model(m === undefined ? {} : { qos: m }), s)).toEqual(want);
    });
  });
});

// ---- normalize ----------------------------------------------------------------------------------

describe('normalizeNetwork', () => {
  it('maps a realistic VLAN network with subnets and a QoS policy', () => {
    const policy = qosPolicy([
      { type: 'dscp_marking' },
      { type: 'bandwidth_limit', max_kbps: 10000, max_burst_kbps: 1000, direction: 'egress' },
    ]);
    const s = normalizeNetwork(neutronNet({ qos_policy_id: policy.id }), [neutronSubnetV6(), neutronSubnet()], policy, owner, policy.id);
    expect(s).toEqual({
      ours: true,
      tagged: true,
      name: 'app',
      description: 'app tier',
      networkType: 'vlan',
      physicalNetwork: 'physnet1',
      vlan: 101,
      mtu: 1500,
      shared: false,
      external: false,
      adminStateUp: true,
      portSecurity: true,
      qos: { maxRateKbps: 10000, maxBurstKbps: 1000 },
      qosPolicyId: '5df855e9-a833-49a3-9c82-c0839a5f103f',
      ownPolicyId: '5df855e9-a833-49a3-9c82-c0839a5f103f',
      subnets: [
        {
          id: 'b1856c1e-a1d7-47a0-a6af-88ff50f9e34a',
          revision: 0,
          marked: true,
          name: 'v4',
          cidr: '10.10.0.0/24',
          ipVersion: 4,
          gateway: '10.10.0.1',
          allocationPools: [{ start: '10.10.0.100', end: '10.10.0.200' }],
          dnsServers: ['10.0.0.53', '10.0.0.54'],
          hostRoutes: [{ destination: '10.20.0.0/16', nexthop: '10.10.0.254' }],
          dhcp: false,
        },
        {
          id: 'f45d1fac-93da-4339-b500-cf6b3deb36c4',
          revision: 2,
          marked: true,
          name: 'v6',
          cidr: 'fd00:10::/64',
          ipVersion: 6,
          gateway: 'fd00:10::',
          allocationPools: [{ start: 'fd00:10::2', end: 'fd00:10::ffff:ffff:ffff:ffff' }],
          dnsServers: ['2001:db8::53'],
          hostRoutes: [],
          dhcp: true,
          ipv6AddressMode: 'slaac',
          ipv6RaMode: 'slaac',
        },
      ],
    });
  });

  it('maps a flat network with no QoS, no port security field, no description, not ours', () => {
    const s = normalizeNetwork(
      neutronNet({
        name: 'legacy',
        'provider:network_type': 'flat',
        'provider:physical_network': 'anyphys',
        'provider:segmentation_id': null,
        port_security_enabled: undefined,
        description: undefined,
        tags: [],
        subnets: [],
      }),
      [],
      undefined,
      owner,
    );
    expect(s).toEqual({
      ours: false,
      tagged: false,
      name: 'legacy',
      description: '',
      networkType: 'flat',
      physicalNetwork: 'anyphys',
      vlan: null,
      mtu: 1500,
      shared: false,
      external: false,
      adminStateUp: true,
      portSecurity: true,
      qos: null,
      qosPolicyId: null,
      ownPolicyId: null,
      subnets: [],
    });
  });

  it('a network with only another owner\'s tags is neither ours nor tagged', () => {
    const s = normalizeNetwork(neutronNet({ tags: ownerTags(other) }), [], undefined, owner);
    expect(s.ours).toBe(false);
    expect(s.tagged).toBe(false);
  });

  it('reads a bandwidth limit without burst as rate only', () => {
    const s = normalizeNetwork(neutronNet(), [], qosPolicy([{ type: 'bandwidth_limit', max_kbps: 5000, max_burst_kbps: 0 }]), owner);
    expect(s.qos).toEqual({ maxRateKbps: 5000 });
  });
});

describe('normalizeSubnet', () => {
  it('canonicalizes addresses and prefixes written in long IPv6 forms', () => {
    const s = normalizeSubnet(
      neutronSubnetV6({
        cidr: 'FD00:0010:0000:0000::/64',
        gateway_ip: 'fd00:0010:0000:0000:0000:0000:0000:0001',
        allocation_pools: [{ start: 'fd00:10:0:0::10', end: 'fd00:10::00ff' }],
        dns_nameservers: ['2001:0DB8::0053'],
        host_routes: [{ destination: '2001:0db8:0001::/48', nexthop: 'fd00:10:0:0:0:0:0:fe' }],
        ipv6_address_mode: 'dhcpv6-stateless',
        ipv6_ra_mode: null,
        tags: undefined,
      }),
      ownerTag(owner),
    );
    expect(s).toEqual({
      id: 'f45d1fac-93da-4339-b500-cf6b3deb36c4',
      revision: 2,
      marked: false,
      name: 'v6',
      cidr: 'fd00:10::/64',
      ipVersion: 6,
      gateway: 'fd00:10::1',
      allocationPools: [{ start: 'fd00:10::10', end: 'fd00:10::ff' }],
      dnsServers: ['2001:db8::53'],
      hostRoutes: [{ destination: '2001:db8:1::/48', nexthop: 'fd00:10::fe' }],
      dhcp: true,
      ipv6AddressMode: 'dhcpv6-stateless',
    });
  });

  it('a null gateway stays null; no installation asked means not marked', () => {
    const s = normalizeSubnet(neutronSubnet({ gateway_ip: null }));
    expect(s.gateway).toBeNull();
    expect(s.marked).toBe(false);
    expect('ipv6AddressMode' in s).toBe(false);
    expect('ipv6RaMode' in s).toBe(false);
  });

  it("marked when its description is the installation's mark; tags alone (a subnet made before ADR 24) are not", () => {
    expect(normalizeSubnet(neutronSubnet({ tags: [], description: 'nf-inst:lab' }), 'lab').marked).toBe(true);
    expect(normalizeSubnet(neutronSubnet({ tags: [], description: 'nf-inst:other' }), 'lab').marked).toBe(false);
    expect(normalizeSubnet(neutronSubnet({ tags: ownerTags(owner), description: '' }), 'lab').marked).toBe(false);
  });
});

describe('normalizePort', () => {
  /** The verbatim port body of the reference doc (POST /v2.0/ports → 201), plus our tags. */
  const port = (over: Partial<NeutronPort & { description: string }> = {}): NeutronPort & { description?: string } =>
    ({
      id: '07019bae-839b-48e0-badd-4b29b82c32b4',
      name: 'vm1-eth0',
      network_id: '6a256192-e9dc-4c49-9070-b9cba4187f82',
      tenant_id: 'fake_project_id',
      mac_address: 'FA:16:3E:00:00:01',
      admin_state_up: true,
      status: 'DOWN',
      device_id: 'vm-0001',
      device_owner: 'compute:netform',
      fixed_ips: [
        { subnet_id: 'b1856c1e-a1d7-47a0-a6af-88ff50f9e34a', ip_address: '10.10.0.150' },
        { subnet_id: 'f45d1fac-93da-4339-b500-cf6b3deb36c4', ip_address: 'fd00:10::f816:3eff:fe00:1' },
      ],
      allowed_address_pairs: [],
      extra_dhcp_opts: [],
      security_groups: [],
      description: '',
      'binding:vnic_type': 'normal',
      'binding:profile': {},
      'binding:host_id': 'ucs-blade-1',
      'binding:vif_type': 'binding_failed',
      'binding:vif_details': {},
      port_security_enabled: false,
      qos_policy_id: null,
      tags: ownerTags({ ...owner, kind: 'VnicAttachment', namespace: 'default', name: 'vm1-eth0' }),
      created_at: '2026-11-21T11:59:26Z',
      updated_at: '2026-11-21T11:59:26Z',
      revision_number: 1,
      project_id: 'fake_project_id',
      ...over,
    }) as NeutronPort & { description?: string };
  const portOwner: Owner = { instance: 'lab', kind: 'VnicAttachment', namespace: 'default', name: 'vm1-eth0' };

  it('maps a realistic port body', () => {
    expect(normalizePort(port(), portOwner)).toEqual({
      ours: true,
      tagged: true,
      description: '',
      name: 'vm1-eth0',
      networkId: '6a256192-e9dc-4c49-9070-b9cba4187f82',
      mac: 'fa:16:3e:00:00:01',
      deviceId: 'vm-0001',
      deviceOwner: 'compute:netform',
      projectId: 'fake_project_id',
      host: 'ucs-blade-1',
      adminStateUp: true,
      addresses: ['10.10.0.150', 'fd00:10::f816:3eff:fe00:1'],
      fixedIps: [
        { subnetId: 'b1856c1e-a1d7-47a0-a6af-88ff50f9e34a', ipAddress: '10.10.0.150' },
        { subnetId: 'f45d1fac-93da-4339-b500-cf6b3deb36c4', ipAddress: 'fd00:10::f816:3eff:fe00:1' },
      ],
      qosPolicyId: null,
      portSecurity: false,
      allowedAddressPairs: [],
      securityGroups: [],
    });
  });

  it("address pairs: the port's MAC where Neutron was given none, lower case, sorted", () => {
    const p = port({
      port_security_enabled: true,
      qos_policy_id: 'q-1',
      allowed_address_pairs: [{ ip_address: '10.0.1.0/24', mac_address: '56:6F:00:00:00:01' }, { ip_address: '10.0.0.100', mac_address: 'fa:16:3e:00:00:01' }],
    });
    expect(normalizePort(p, portOwner)).toMatchObject({
      qosPolicyId: 'q-1',
      portSecurity: true,
      allowedAddressPairs: [
        { ipAddress: '10.0.0.100', macAddress: 'fa:16:3e:00:00:01' },
        { ipAddress: '10.0.1.0/24', macAddress: '56:6f:00:00:00:01' },
      ],
    });
  });

  it('an untagged port with the pending marker is ours; no host and no description fields map to empty strings', () => {
    const p = port({ tags: [], description: pendingMarker(portOwner) });
    delete (p as { 'binding:host_id'?: string })['binding:host_id'];
    expect(normalizePort(p, portOwner)).toMatchObject({ ours: true, tagged: false, description: pendingMarker(portOwner), host: '' });
    const q = port({ tags: [] });
    delete q.description;
    expect(normalizePort(q, portOwner)).toMatchObject({ ours: false, tagged: false, description: '' });
  });
});

describe('diffPort: the profile fields', () => {
  const state = (over: Partial<PortState> = {}): PortState => ({
    ours: true,
    tagged: true,
    description: '',
    name: 'vm1-eth0',
    networkId: 'net-1',
    mac: 'fa:16:3e:00:00:01',
    deviceId: 'vm1',
    deviceOwner: 'compute:netform',
    projectId: 'p1',
    host: 'h1',
    adminStateUp: true,
    addresses: [],
    fixedIps: [],
    qosPolicyId: null,
    portSecurity: true,
    allowedAddressPairs: [],
    securityGroups: [],
    ...over,
  });
  const m = (over: Partial<VnicModel> = {}): VnicModel => ({
    name: 'default/vm1-eth0',
    vmName: 'vm1',
    interfaceName: 'eth0',
    host: 'h1',
    networkExternalId: 'net-1',
    network: 'app',
    plugged: true,
    linked: true,
    portSecurity: true,
    allowedAddressPairs: [],
    ...over,
  });

  it('in sync: nothing', () => {
    expect(diffPort(m(), state())).toEqual([]);
  });

  it("the profile's policy, set and taken away", () => {
    expect(diffPort(m({ profileExternalId: 'q-1' }), state())).toEqual([{ path: 'profile', from: null, to: 'q-1' }]);
    expect(diffPort(m(), state({ qosPolicyId: 'q-1' }))).toEqual([{ path: 'profile', from: 'q-1', to: null }]);
  });

  it('security groups: compared (in any order) only when the vNIC names some; the body carries them, or none without port security', () => {
    expect(diffPort(m(), state({ securityGroups: ['sg-default'] }))).toEqual([]);
    expect(diffPort(m({ securityGroupIds: ['sg-b', 'sg-a'] }), state({ securityGroups: ['sg-a', 'sg-b'] }))).toEqual([]);
    expect(diffPort(m({ securityGroupIds: ['sg-a'] }), state({ securityGroups: ['sg-default'] }))).toEqual([{ path: 'securityGroups', from: ['sg-default'], to: ['sg-a'] }]);
    expect(portMutableBody(m({ securityGroupIds: ['sg-b', 'sg-a'] })).security_groups).toEqual(['sg-a', 'sg-b']);
    expect(portMutableBody(m({ portSecurity: false, securityGroupIds: ['sg-a'] })).security_groups).toEqual([]);
    expect(portMutableBody(m())).not.toHaveProperty('security_groups');
  });

  it("a pair without a MAC matches the port's own MAC; order does not matter", () => {
    const pairs = [
      { ipAddress: '10.0.1.0/24', macAddress: '56:6f:00:00:00:01' },
      { ipAddress: '10.0.0.100', macAddress: 'fa:16:3e:00:00:01' },
    ];
    expect(diffPort(m({ allowedAddressPairs: [{ ipAddress: '10.0.1.0/24', macAddress: '56:6f:00:00:00:01' }, { ipAddress: '10.0.0.100' }] }), state({ allowedAddressPairs: sortedPairs(pairs) }))).toEqual([]);
    expect(diffPort(m({ allowedAddressPairs: [{ ipAddress: '10.0.0.101' }] }), state({ allowedAddressPairs: sortedPairs(pairs) }))[0]).toMatchObject({ path: 'allowedAddressPairs' });
  });

  it('fixed IPs: a named address must be there; an entry without one is any address on its subnet, kept on update', () => {
    const have = [
      { subnetId: 's4', ipAddress: '10.0.0.7' },
      { subnetId: 's6', ipAddress: 'fd00::7' },
    ];
    expect(diffPort(m({ fixedIps: [{ subnetId: 's4', ipAddress: '10.0.0.7' }, { subnetId: 's6' }] }), state({ fixedIps: have }))).toEqual([]);
    expect(diffPort(m({ fixedIps: [{ subnetId: 's4' }, { subnetId: 's6', ipAddress: 'fd00:0::7' }] }), state({ fixedIps: have }))).toEqual([]);
    expect(diffPort(m({ fixedIps: [{ subnetId: 's4', ipAddress: '10.0.0.8' }] }), state({ fixedIps: have }))).toEqual([{ path: 'fixedIps', from: ['10.0.0.7', 'fd00::7'], to: ['10.0.0.8'] }]);
    expect(diffPort(m({ fixedIps: [{ subnetId: 's4' }, { subnetId: 's4' }] }), state({ fixedIps: have }))[0]).toMatchObject({ path: 'fixedIps' });
    // No fixed IPs in the model: whatever Neutron allocated is fine.
    expect(diffPort(m(), state({ fixedIps: have }))).toEqual([]);
    // The update body keeps the allocated address of an entry that names none, and adds a named one.
    expect(fixedIpsBody([{ subnetId: 's4' }, { subnetId: 's4', ipAddress: '10.0.0.9' }], have)).toEqual([
      { subnet_id: 's4', ip_address: '10.0.0.7' },
      { subnet_id: 's4', ip_address: '10.0.0.9' },
    ]);
    expect(fixedIpsBody([{ subnetId: 's4', ipAddress: '10.0.0.7' }, { subnetId: 's4' }], have)).toEqual([{ subnet_id: 's4', ip_address: '10.0.0.7' }, { subnet_id: 's4' }]);
  });

  it('port security off: no pairs wanted, and the change is seen', () => {
    expect(diffPort(m({ portSecurity: false, allowedAddressPairs: [{ ipAddress: '10.0.0.100' }] }), state())).toEqual([{ path: 'portSecurity', from: true, to: false }]);
    const body = portMutableBody(m({ portSecurity: false, allowedAddressPairs: [{ ipAddress: '10.0.0.100' }] }));
    expect(body).toMatchObject({ port_security_enabled: false, allowed_address_pairs: [], security_groups: [] });
    expect(portMutableBody(m())).not.toHaveProperty('security_groups');
  });
});

// ---- request bodies ------------------------------------------------------------------------------

describe('networkBody', () => {
  it('a VLAN network: provider attributes, the pending marker as description, no tags, no project', () => {
    const b = networkBody(model(), owner, undefined);
    expect(b).toEqual({
      name: 'app',
      description: pendingMarker(owner),
      'provider:network_type': 'vlan',
      'provider:physical_network': 'physnet1',
      'provider:segmentation_id': 101,
      mtu: 1500,
      shared: false,
      'router:external': false,
      admin_state_up: true,
      port_security_enabled: true,
    });
    expect(b).not.toHaveProperty('tags');
    expect(b).not.toHaveProperty('project_id');
  });

  it('a flat network has no segmentation id', () => {
    const b = networkBody(model({ vlan: undefined, physicalNetwork: 'anyphys', mtu: 9000, shared: true, adminStateUp: false, portSecurity: false }), owner, undefined);
    expect(b).toEqual({
      name: 'app',
      description: pendingMarker(owner),
      'provider:network_type': 'flat',
      'provider:physical_network': 'anyphys',
      mtu: 9000,
      shared: true,
      'router:external': false,
      admin_state_up: false,
      port_security_enabled: false,
    });
    expect(b).not.toHaveProperty('provider:segmentation_id');
  });

  it('project_id only when given', () => {
    expect(networkBody(model(), owner, '11111111111111111111111111111111').project_id).toBe('11111111111111111111111111111111');
    expect(networkBody(model(), owner, '')).not.toHaveProperty('project_id');
  });

  it('the pending marker is the owner\'s, distinct per owner, and short enough for a description', () => {
    expect(networkBody(model(), owner, undefined).description).toMatch(/^netform-pending:[0-9a-f]{20}$/);
    expect(pendingMarker(owner)).not.toBe(pendingMarker(other));
  });
});

describe('subnetBody', () => {
  it('a full IPv4 subnet', () => {
    const b = subnetBody(subnetModel(), 'net-1', owner, undefined);
    expect(b).toEqual({
      name: 'v4',
      enable_dhcp: false,
      dns_nameservers: ['10.0.0.53', '10.0.0.54'],
      host_routes: [{ destination: '10.20.0.0/16', nexthop: '10.10.0.254' }],
      gateway_ip: '10.10.0.1',
      allocation_pools: [{ start: '10.10.0.100', end: '10.10.0.200' }],
      network_id: 'net-1',
      ip_version: 4,
      cidr: '10.10.0.0/24',
      description: 'nf-inst:lab',
    });
    expect(b).not.toHaveProperty('tags');
  });

  it('gateway null is sent as null (no gateway); unset gateway and pools are left to Neutron; empty lists sent', () => {
    expect(subnetBody(subnetModel({ gateway: null }), 'net-1', owner, undefined).gateway_ip).toBeNull();
    const b = subnetBody(subnetModel({ gateway: undefined, allocationPools: undefined, dnsServers: undefined, hostRoutes: undefined }), 'net-1', owner, undefined);
    expect(b).not.toHaveProperty('gateway_ip');
    expect(b).not.toHaveProperty('allocation_pools');
    expect(b.dns_nameservers).toEqual([]);
    expect(b.host_routes).toEqual([]);
  });

  it('IPv6 modes and project_id only when given', () => {
    const b = subnetBody(subnetModel({ name: 'v6', cidr: 'fd00:10::/64', ipVersion: 6, dhcp: true, ipv6AddressMode: 'slaac', ipv6RaMode: 'slaac' }), 'net-1', owner, 'p2');
    expect(b).toMatchObject({ ip_version: 6, cidr: 'fd00:10::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac', project_id: 'p2' });
    const c = subnetBody(subnetModel(), 'net-1', owner, undefined);
    expect(c).not.toHaveProperty('ipv6_address_mode');
    expect(c).not.toHaveProperty('ipv6_ra_mode');
    expect(c).not.toHaveProperty('project_id');
  });
});

describe('portBody', () => {
  const vnic = (over: Partial<VnicModel> = {}): VnicModel => ({
    name: 'default/vm1-eth0',
    vmName: 'vm1',
    interfaceName: 'eth0',
    host: 'ucs-blade-1',
    networkExternalId: '6a256192-e9dc-4c49-9070-b9cba4187f82',
    network: 'app',
    plugged: true,
    linked: true,
    portSecurity: true,
    allowedAddressPairs: [],
    ...over,
  });
  const portOwner: Owner = { instance: 'lab', kind: 'VnicAttachment', namespace: 'default', name: 'vm1-eth0' };

  it('a port without a MAC or VM uid: device id is the VM name, the pending marker as description, no tags', () => {
    const b = portBody(vnic(), portOwner, undefined);
    expect(b).toEqual({
      name: 'vm1-eth0',
      device_id: 'vm1',
      'binding:host_id': 'ucs-blade-1',
      admin_state_up: true,
      qos_policy_id: null,
      port_security_enabled: true,
      allowed_address_pairs: [],
      network_id: '6a256192-e9dc-4c49-9070-b9cba4187f82',
      device_owner: 'compute:netform',
      description: pendingMarker(portOwner),
    });
    expect(b).not.toHaveProperty('tags');
    expect(b).not.toHaveProperty('mac_address');
    expect(b).not.toHaveProperty('project_id');
  });

  it('MAC, VM uid, link state and project when given', () => {
    expect(portBody(vnic({ mac: 'fa:16:3e:00:00:01', vmUid: 'uid-1', linked: false }), portOwner, 'p2')).toMatchObject({
      mac_address: 'fa:16:3e:00:00:01',
      device_id: 'uid-1',
      admin_state_up: false,
      project_id: 'p2',
    });
  });
});

// ---- ownership -----------------------------------------------------------------------------------

describe('owner tags', () => {
  it('are netform, the instance and a digest of the owner', () => {
    const tags = ownerTags(owner);
    expect(tags).toHaveLength(3);
    expect(tags[0]).toBe(NETFORM_TAG);
    expect(tags[1]).toBe('nf-inst:lab');
    expect(tags[1]).toBe(instanceTag('lab'));
    expect(tags[2]).toBe(ownerTag(owner));
    expect(tags[2]).toMatch(/^nf-own:[0-9a-f]{20}$/);
  });

  it('stay within Neutron\'s 60 characters for a 63-character name and a 32-character instance', () => {
    const long: Owner = { instance: 'i'.repeat(32), kind: 'VnicAttachment', namespace: 'n'.repeat(63), name: 'a'.repeat(63) };
    for (const t of ownerTags(long)) expect(t.length).toBeLessThanOrEqual(60);
    expect(ownerTags(long)[1]).toBe(`nf-inst:${'i'.repeat(32)}`);
    expect(policyName(long).length).toBeLessThanOrEqual(60);
  });

  it('differ between owners that differ in name, kind, namespace or instance', () => {
    const variants: Owner[] = [
      owner,
      { ...owner, name: 'app2' },
      { ...owner, kind: 'VnicAttachment' },
      { ...owner, namespace: 'x' },
      { ...owner, instance: 'lab2' },
    ];
    expect(new Set(variants.map(ownerTag)).size).toBe(variants.length);
    expect(ownerTag({ ...owner })).toBe(ownerTag(owner));
  });
});

describe('isOurs', () => {
  it.each([
    { name: 'owner tag', o: { tags: ['x', ownerTag(owner)] }, want: true },
    { name: 'pending marker', o: { tags: [], description: pendingMarker(owner) }, want: true },
    { name: 'pending marker, no tags field', o: { description: pendingMarker(owner) }, want: true },
    { name: 'nothing', o: {}, want: false },
    { name: 'only netform and instance tags', o: { tags: [NETFORM_TAG, instanceTag('lab')] }, want: false },
    { name: 'another owner\'s tag', o: { tags: ownerTags(other) }, want: false },
    { name: 'another owner\'s pending marker', o: { description: pendingMarker(other) }, want: false },
    { name: 'our marker inside a longer description', o: { description: `${pendingMarker(owner)} ` }, want: false },
  ])('$name → $want', ({ o, want }) => {
    expect(isOurs(o, owner)).toBe(want);
  });
});

describe('foreignOwner', () => {
  it.each([
    { name: 'no tags', tags: undefined, want: undefined },
    { name: 'empty', tags: [], want: undefined },
    { name: 'ours', tags: ownerTags(owner), want: undefined },
    { name: 'unrelated tags only', tags: ['env:prod', NETFORM_TAG, instanceTag('other')], want: undefined },
    { name: 'another owner', tags: ['env:prod', ...ownerTags(other)], want: ownerTag(other) },
    { name: 'ours and another', tags: [...ownerTags(owner), ownerTag(other)], want: ownerTag(other) },
    { name: 'another installation, same object', tags: ownerTags({ ...owner, instance: 'prod' }), want: ownerTag({ ...owner, instance: 'prod' }) },
  ])('$name', ({ tags, want }) => {
    expect(foreignOwner(tags, owner)).toBe(want);
  });
});

// ---- errors --------------------------------------------------------------------------------------

describe('classifyNeutronError', () => {
  it.each<[number, string | undefined, ErrorClass]>([
    [404, 'NetworkNotFound', 'NotFound'],
    [404, 'PortNotFound', 'NotFound'],
    [404, undefined, 'NotFound'],
    [412, 'RevisionNumberConstraintFailed', 'Conflict'],
    [412, undefined, 'Conflict'],
    [409, 'VlanIdInUse', 'Terminal'],
    [409, 'FlatNetworkInUse', 'Terminal'],
    [409, 'MacAddressInUse', 'Terminal'],
    [409, 'IpAddressAlreadyAllocated', 'Terminal'],
    [409, 'OverQuota', 'Terminal'],
    [409, 'GatewayConflictWithAllocationPools', 'Terminal'],
    [409, 'ParentPortInUse', 'Terminal'],
    [409, 'NetworkInUse', 'Transient'],
    [409, 'SubnetInUse', 'Transient'],
    [409, undefined, 'Transient'],
    [400, 'HTTPBadRequest', 'Terminal'],
    [400, 'InvalidInput', 'Terminal'],
    [400, undefined, 'Terminal'],
    [401, undefined, 'Terminal'],
    [403, 'HTTPForbidden', 'Terminal'],
    [408, undefined, 'Transient'],
    [429, undefined, 'Transient'],
    [500, 'HTTPInternalServerError', 'Transient'],
    [502, undefined, 'Transient'],
    [503, undefined, 'Transient'],
    [504, undefined, 'Transient'],
  ])('%i %s → %s', (status, type, want) => {
    expect(classifyNeutronError(status, type)).toBe(want);
  });
});

describe('neutronError', () => {
  it.each([
    {
      status: 409,
      body: { NeutronError: { type: 'VlanIdInUse', message: 'Unable to create the network. The VLAN 102 on physical network physnet1 is in use.', detail: '' } },
      what: 'POST /v2.0/networks',
      cls: 'Terminal',
      code: 'VlanIdInUse',
      message: 'POST /v2.0/networks: Unable to create the network. The VLAN 102 on physical network physnet1 is in use.',
    },
    {
      status: 412,
      body: { NeutronError: { type: 'RevisionNumberConstraintFailed', message: 'Constrained to 1, but current revision is 9', detail: '' } },
      what: 'PUT /v2.0/networks/6a256192-e9dc-4c49-9070-b9cba4187f82',
      cls: 'Conflict',
      code: 'RevisionNumberConstraintFailed',
      message: 'PUT /v2.0/networks/6a256192-e9dc-4c49-9070-b9cba4187f82: Constrained to 1, but current revision is 9',
    },
    {
      status: 404,
      body: { NeutronError: { type: 'NetworkNotFound', message: 'Network 00000000-0000-0000-0000-000000000000 could not be found.', detail: '' } },
      what: 'GET /v2.0/networks/00000000-0000-0000-0000-000000000000',
      cls: 'NotFound',
      code: 'NetworkNotFound',
      message: 'GET /v2.0/networks/00000000-0000-0000-0000-000000000000: Network 00000000-0000-0000-0000-000000000000 could not be found.',
    },
    {
      status: 409,
      body: { NeutronError: { type: 'NetworkInUse', message: 'Unable to complete operation on network 6a256192. There are one or more ports still in use on the network.', detail: '' } },
      what: 'DELETE /v2.0/networks/6a256192',
      cls: 'Transient',
      code: 'NetworkInUse',
      message: 'DELETE /v2.0/networks/6a256192: Unable to complete operation on network 6a256192. There are one or more ports still in use on the network.',
    },
    { status: 502, body: undefined, what: 'GET /v2.0/networks', cls: 'Transient', code: 'HTTP502', message: 'GET /v2.0/networks: HTTP 502' },
    { status: 400, body: { error: 'not neutron' }, what: 'POST /v2.0/ports', cls: 'Terminal', code: 'HTTP400', message: 'POST /v2.0/ports: HTTP 400' },
    { status: 403, body: 'Forbidden', what: 'GET /v2.0/ports', cls: 'Terminal', code: 'HTTP403', message: 'GET /v2.0/ports: HTTP 403' },
  ])('$status $code', ({ status, body, what, cls, code, message }) => {
    const e = neutronError(status, body, what);
    expect(e).toBeInstanceOf(BackendError);
    expect(e.errorClass).toBe(cls);
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
  });
});

describe('diffNetwork on an imported network', () => {
  // state() builds a network without owner tags: not ours, like an imported one.
  it('keeps its description unless the spec gives one', () => {
    const s = state({ description: 'made by hand', tags: [] });
    expect(s.ours).toBe(false);
    expect(diffNetwork(model({ description: undefined }), s).filter((c) => c.path === 'description')).toEqual([]);
    expect(diffNetwork(model({ description: 'managed now' }), s).filter((c) => c.path === 'description')).toEqual([
      { path: 'description', from: 'made by hand', to: 'managed now' },
    ]);
  });
});


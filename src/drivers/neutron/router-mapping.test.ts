import { describe, expect, it } from 'vitest';
import type { FieldChange, Owner } from '../driver.ts';
import type { RouterModel } from '../model.ts';
import { NETFORM_TAG, instanceTag, ownerTags, pendingMarker } from './mapping.ts';
import {
  canonicalRoutes,
  diffRouter,
  gatewayBody,
  keptRoutes,
  normalizeRouter,
  routerBody,
  routesBody,
  type NeutronRouter,
  type NeutronRouterPort,
  type RouterState,
} from './router-mapping.ts';

const owner: Owner = { instance: 'lab', kind: 'Router', name: 'edge' };
const other: Owner = { instance: 'lab', kind: 'Router', name: 'core' };

const ROUTER = '80ff6a47-1821-4478-8348-e7deb7ca47fb';
const EXT_NET = '6138f602-b2dd-452d-ae71-806942d37f28';
const EXT_SUBNET = 'e4425aab-c610-42b8-953a-daeda6c64465';
const SUBNET_A = 'bbf29e78-ccfd-4b6a-93ce-67a4db0fe518';
const SUBNET_B = '6c81b591-9a09-4b9d-ac6a-7704dab32ca3';

// ---- realistic Neutron bodies (shapes as Zed answered GET /v2.0/routers/{id} and GET /v2.0/ports?device_id=…) ----

function router(over: Partial<NeutronRouter> = {}): NeutronRouter {
  return {
    id: ROUTER,
    name: 'edge',
    description: '',
    admin_state_up: true,
    external_gateway_info: { network_id: EXT_NET, external_fixed_ips: [{ subnet_id: EXT_SUBNET, ip_address: '203.0.113.10' }], enable_snat: true },
    routes: [{ destination: '192.168.0.0/16', nexthop: '10.1.0.254' }],
    tags: ownerTags(owner),
    revision_number: 7,
    ...over,
  };
}

const ports: NeutronRouterPort[] = [
  { id: '0124082d-7fbb-4e73-8aca-d7283703c016', device_id: ROUTER, device_owner: 'network:router_interface', network_id: 'n-b', fixed_ips: [{ subnet_id: SUBNET_B, ip_address: '10.2.0.1' }] },
  { id: '67b232b7-e7cd-4151-957c-36d1fdb3c961', device_id: ROUTER, device_owner: 'network:router_interface', network_id: 'n-a', fixed_ips: [{ subnet_id: SUBNET_A, ip_address: '10.1.0.1' }] },
  { id: 'c3a1f4f0-0d63-4d6e-9f2c-5b7f0b1f0a11', device_id: ROUTER, device_owner: 'network:router_gateway', network_id: EXT_NET, fixed_ips: [{ subnet_id: EXT_SUBNET, ip_address: '203.0.113.10' }] },
];

function model(over: Partial<RouterModel> = {}): RouterModel {
  return {
    name: 'edge',
    adminStateUp: true,
    gateway: { networkId: EXT_NET, snat: true, fixedIp: { subnetId: EXT_SUBNET, ipAddress: '203.0.113.10' } },
    interfaces: [{ subnetId: SUBNET_A }, { subnetId: SUBNET_B }],
    routes: [{ destination: '192.168.0.0/16', nexthop: '10.1.0.254' }],
    ...over,
  };
}

const state = (over: Partial<NeutronRouter> = {}, p = ports, name = 'edge'): RouterState => normalizeRouter(router(over), p, owner, name);
const paths = (changes: FieldChange[]) => changes.map((c) => c.path);

describe('normalizeRouter', () => {
  it('reads the gateway, routes, interfaces (the interface ports only, by subnet) and the marks', () => {
    expect(state()).toEqual({
      ours: true,
      tagged: true,
      name: 'edge',
      description: '',
      adminStateUp: true,
      gateway: { networkId: EXT_NET, snat: true, fixedIps: [{ subnetId: EXT_SUBNET, ipAddress: '203.0.113.10' }] },
      routes: [{ destination: '192.168.0.0/16', nexthop: '10.1.0.254' }],
      interfaces: [
        { subnetId: SUBNET_B, portId: '0124082d-7fbb-4e73-8aca-d7283703c016', ipAddress: '10.2.0.1' },
        { subnetId: SUBNET_A, portId: '67b232b7-e7cd-4151-957c-36d1fdb3c961', ipAddress: '10.1.0.1' },
      ].sort((a, b) => (a.subnetId < b.subnetId ? -1 : 1)),
      revision: 7,
    });
  });

  it('no gateway (null, or an empty object) is null; SNAT missing from the answer is Neutron’s default (on)', () => {
    expect(state({ external_gateway_info: null }).gateway).toBeNull();
    expect(state({ external_gateway_info: {} as NeutronRouter['external_gateway_info'] }).gateway).toBeNull();
    expect(state({ external_gateway_info: { network_id: EXT_NET } }).gateway).toEqual({ networkId: EXT_NET, snat: true, fixedIps: [] });
  });

  it('routes and addresses canonical, sorted, duplicates dropped', () => {
    const s = state({
      routes: [
        { destination: '2001:DB8:0:0::/64', nexthop: '2001:db8:1:0:0:0:0:1' },
        { destination: '10.9.0.1/16', nexthop: '10.1.0.254' },
        { destination: '10.9.0.0/16', nexthop: '10.1.0.254' },
      ],
    });
    expect(s.routes).toEqual([
      { destination: '10.9.0.0/16', nexthop: '10.1.0.254' },
      { destination: '2001:db8::/64', nexthop: '2001:db8:1::1' },
    ]);
  });

  it('an interface port with two subnets (dual stack) gives two interfaces; ports of another device are not its interfaces', () => {
    const s = state({}, [
      { id: 'p6', device_id: ROUTER, device_owner: 'network:router_interface', network_id: 'n6', fixed_ips: [{ subnet_id: 's6a', ip_address: 'fd00:0:0:0::1' }, { subnet_id: 's6b', ip_address: 'fd00:1::1' }] },
      { id: 'px', device_id: 'another-router', device_owner: 'network:router_interface', network_id: 'n6', fixed_ips: [{ subnet_id: 's9', ip_address: '10.9.0.1' }] },
    ]);
    expect(s.interfaces).toEqual([
      { subnetId: 's6a', portId: 'p6', ipAddress: 'fd00::1' },
      { subnetId: 's6b', portId: 'p6', ipAddress: 'fd00:1::1' },
    ]);
  });

  it('marks: a pending marker is ours but untagged; another owner’s tag is neither; half-marked under its name is ours', () => {
    expect(state({ tags: [], description: pendingMarker(owner) })).toMatchObject({ ours: true, tagged: false });
    expect(state({ tags: ownerTags(other) })).toMatchObject({ ours: false, tagged: false });
    expect(state({ tags: [NETFORM_TAG, instanceTag('lab')] })).toMatchObject({ ours: true, tagged: false });
    expect(state({ tags: [NETFORM_TAG, instanceTag('lab')] }, ports, 'other-name')).toMatchObject({ ours: false });
    expect(state().tagged).toBe(true);
  });
});

describe('diffRouter', () => {
  it('none when the router is as modelled, whatever the order of interfaces and routes and however addresses are written', () => {
    const s = state({
      routes: [
        { destination: '10.20.0.0/16', nexthop: '10.2.0.9' },
        { destination: '192.168.0.0/16', nexthop: '10.1.0.254' },
      ],
    });
    const m = model({
      interfaces: [{ subnetId: SUBNET_B }, { subnetId: SUBNET_A }],
      routes: [
        { destination: '192.168.7.7/16', nexthop: '10.1.0.254' },
        { destination: '10.20.0.0/16', nexthop: '10.2.0.9' },
      ],
    });
    expect(diffRouter(m, s)).toEqual([]);
    const v6 = state({ external_gateway_info: { network_id: EXT_NET, enable_snat: false, external_fixed_ips: [{ subnet_id: EXT_SUBNET, ip_address: '2001:db8:ff::10' }] } });
    expect(diffRouter(model({ gateway: { networkId: EXT_NET, snat: false, fixedIp: { subnetId: EXT_SUBNET, ipAddress: '2001:DB8:FF:0::10' } } }), v6)).toEqual([]);
  });

  it('IPv6 routes written differently are the same', () => {
    const s = state({ routes: [{ destination: '2001:db8::/64', nexthop: 'fd00::1' }] });
    expect(diffRouter(model({ routes: [{ destination: '2001:DB8:0::/64', nexthop: 'FD00:0::1' }] }), s).filter((c) => c.path === 'routes')).toEqual([]);
  });

  it('each field on its own path, none immutable', () => {
    const cases: [Partial<RouterModel>, string][] = [
      [{ name: 'edge2' }, 'name'],
      [{ description: 'the way out' }, 'description'],
      [{ adminStateUp: false }, 'adminStateUp'],
      [{ gateway: { networkId: EXT_NET, snat: false, fixedIp: { subnetId: EXT_SUBNET, ipAddress: '203.0.113.10' } } }, 'gateway.snat'],
      [{ gateway: { networkId: EXT_NET, snat: true, fixedIp: { subnetId: EXT_SUBNET, ipAddress: '203.0.113.11' } } }, 'gateway.fixedIp'],
      [{ gateway: { networkId: 'other-ext', snat: true } }, 'gateway'],
      [{ gateway: undefined }, 'gateway'],
      [{ interfaces: [{ subnetId: SUBNET_A }] }, 'interfaces'],
      [{ interfaces: [{ subnetId: SUBNET_A }, { subnetId: SUBNET_B }, { subnetId: 's-c' }] }, 'interfaces'],
      [{ routes: [] }, 'routes'],
      [{ routes: [{ destination: '192.168.0.0/16', nexthop: '10.1.0.253' }] }, 'routes'],
    ];
    for (const [over, path] of cases) {
      const changes = diffRouter(model(over), state());
      expect(paths(changes), path).toEqual([path]);
      expect(changes[0]!.immutable, path).toBeUndefined();
    }
  });

  it('a gateway where there is none; a description where the pending marker still is; tags where there are none', () => {
    expect(diffRouter(model(), state({ external_gateway_info: null }))).toEqual([{ path: 'gateway', from: null, to: { networkId: EXT_NET, snat: true } }]);
    const pending = diffRouter(model(), state({ tags: [], description: pendingMarker(owner) }));
    expect(pending).toEqual([
      { path: 'description', from: pendingMarker(owner), to: '' },
      { path: 'tags', from: 'untagged', to: 'owner tags' },
    ]);
  });

  it('without a fixed gateway address, the one Neutron chose is kept (no change)', () => {
    expect(diffRouter(model({ gateway: { networkId: EXT_NET, snat: true } }), state())).toEqual([]);
  });

  it('a changed network is one gateway change (not also SNAT)', () => {
    const c = diffRouter(model({ gateway: { networkId: 'other-ext', snat: false } }), state());
    expect(c).toEqual([{ path: 'gateway', from: { networkId: EXT_NET, snat: true }, to: { networkId: 'other-ext', snat: false } }]);
  });
});

describe('bodies', () => {
  it('the POST: name, pending marker, admin state, gateway with SNAT and the fixed address, project', () => {
    expect(routerBody(model(), owner, 'p1')).toEqual({
      name: 'edge',
      description: pendingMarker(owner),
      admin_state_up: true,
      external_gateway_info: { network_id: EXT_NET, enable_snat: true, external_fixed_ips: [{ subnet_id: EXT_SUBNET, ip_address: '203.0.113.10' }] },
      project_id: 'p1',
    });
    expect(routerBody(model({ gateway: undefined, adminStateUp: false }), owner, undefined)).toEqual({ name: 'edge', description: pendingMarker(owner), admin_state_up: false });
  });

  it('the gateway: {} clears it; without a fixed address none is sent', () => {
    expect(gatewayBody(undefined)).toEqual({});
    expect(gatewayBody({ networkId: EXT_NET, snat: false })).toEqual({ network_id: EXT_NET, enable_snat: false });
  });

  it('routes canonical and sorted; the routes kept while interfaces change are those wanted and present', () => {
    expect(routesBody([{ destination: '10.0.0.5/8', nexthop: '10.1.0.254' }, { destination: '0.0.0.0/0', nexthop: '10.2.0.9' }])).toEqual([
      { destination: '0.0.0.0/0', nexthop: '10.2.0.9' },
      { destination: '10.0.0.0/8', nexthop: '10.1.0.254' },
    ]);
    const have = canonicalRoutes([{ destination: '10.0.0.0/8', nexthop: '10.1.0.254' }, { destination: '172.16.0.0/12', nexthop: '10.2.0.9' }]);
    expect(keptRoutes([{ destination: '10.0.0.1/8', nexthop: '10.1.0.254' }, { destination: '0.0.0.0/0', nexthop: '10.1.0.1' }], have)).toEqual([{ destination: '10.0.0.0/8', nexthop: '10.1.0.254' }]);
  });
});

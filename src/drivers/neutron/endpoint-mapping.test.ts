import { describe, expect, it } from 'vitest';
import type { Owner } from '../driver.ts';
import type { ServiceEndpointModel } from '../model.ts';
import { deviceOwnerOf, diffEndpoint, endpointBody, endpointMutableBody } from './endpoint-mapping.ts';
import { normalizePort, ownerTags, pendingMarker, type NeutronPort, type PortState } from './mapping.ts';

const owner: Owner = { instance: 'lab', kind: 'ServiceEndpoint', namespace: 'edge', name: 'lb' };

const model = (over: Partial<ServiceEndpointModel> = {}): ServiceEndpointModel => ({
  name: 'edge/lb',
  service: 'loadbalancer',
  network: 'app',
  networkExternalId: 'net-1',
  promiscuous: false,
  allowedAddressPairs: [{ ipAddress: '10.1.0.50' }, { ipAddress: '10.1.0.0/28', macAddress: '56:6f:00:00:0a:02' }],
  ...over,
});

/** A port as Neutron answers for the model above (normalized), tagged and described. */
const port = (over: Partial<NeutronPort & { description: string }> = {}): PortState =>
  normalizePort(
    {
      id: 'port-1',
      name: 'edge/lb',
      network_id: 'net-1',
      mac_address: 'fa:16:3e:00:00:01',
      device_id: '',
      device_owner: 'netform:loadbalancer',
      admin_state_up: true,
      'binding:host_id': '',
      project_id: 'p1',
      fixed_ips: [{ subnet_id: 'sub-4', ip_address: '10.1.0.100' }],
      port_security_enabled: true,
      allowed_address_pairs: [
        { ip_address: '10.1.0.0/28', mac_address: '56:6f:00:00:0a:02' },
        { ip_address: '10.1.0.50', mac_address: 'fa:16:3e:00:00:01' },
      ],
      security_groups: ['sg-default'],
      description: '',
      tags: ownerTags(owner),
      revision_number: 4,
      ...over,
    },
    owner,
    'edge/lb',
  );

describe('service endpoint ports on Neutron', () => {
  it('device_owner is netform:<service>, none of the prefixes Neutron reserves', () => {
    for (const s of ['loadbalancer', 'firewall', 'ids', 'router']) {
      const o = deviceOwnerOf(s);
      expect(o).toBe(`netform:${s}`);
      expect(['network:', 'compute:', 'neutron:', 'baremetal:'].some((p) => o.startsWith(p))).toBe(false);
    }
  });

  it('the POST body: pending marker, the service, pairs, no binding or groups unless named, MAC and addresses when given', () => {
    expect(endpointBody(model(), owner, undefined)).toEqual({
      name: 'edge/lb',
      description: pendingMarker(owner),
      device_owner: 'netform:loadbalancer',
      network_id: 'net-1',
      port_security_enabled: true,
      allowed_address_pairs: [{ ip_address: '10.1.0.50' }, { ip_address: '10.1.0.0/28', mac_address: '56:6f:00:00:0a:02' }],
    });
    const full = endpointBody(model({ host: 'hv1', mac: 'fa:16:3e:aa:bb:cc', fixedIps: [{ subnetId: 'sub-4', ipAddress: '10.1.0.100' }, { subnetId: 'sub-6' }], securityGroupIds: ['sg-b', 'sg-a'] }), owner, 'proj');
    expect(full).toMatchObject({
      'binding:host_id': 'hv1',
      mac_address: 'fa:16:3e:aa:bb:cc',
      fixed_ips: [{ subnet_id: 'sub-4', ip_address: '10.1.0.100' }, { subnet_id: 'sub-6' }],
      security_groups: ['sg-a', 'sg-b'],
      project_id: 'proj',
    });
  });

  it('promiscuous: port security off, no pairs, no groups', () => {
    const b = endpointBody(model({ promiscuous: true, allowedAddressPairs: [] }), owner, undefined);
    expect(b).toMatchObject({ port_security_enabled: false, allowed_address_pairs: [], security_groups: [] });
  });

  it('an update of an imported port leaves its name, description, device_owner and binding alone', () => {
    expect(endpointMutableBody(model(), false)).toEqual({
      port_security_enabled: true,
      allowed_address_pairs: [{ ip_address: '10.1.0.50' }, { ip_address: '10.1.0.0/28', mac_address: '56:6f:00:00:0a:02' }],
    });
    expect(endpointMutableBody(model({ host: 'hv2' }), false)).toMatchObject({ 'binding:host_id': 'hv2' });
    // Its own port: unbound when it names no host.
    expect(endpointMutableBody(model(), true)).toMatchObject({ name: 'edge/lb', description: '', device_owner: 'netform:loadbalancer', 'binding:host_id': '' });
  });

  it('port security back on without named groups: the project default group, never otherwise', () => {
    expect(endpointMutableBody(model(), true, 'sg-default').security_groups).toEqual(['sg-default']);
    expect(endpointMutableBody(model({ securityGroupIds: ['sg-x'] }), true, 'sg-default').security_groups).toEqual(['sg-x']);
    expect(endpointMutableBody(model(), true).security_groups).toBeUndefined();
  });

  it('no change when the port is as the model says (pairs compared canonical, the port MAC filled in)', () => {
    expect(diffEndpoint(model({ allowedAddressPairs: [{ ipAddress: '10.1.0.50' }, { ipAddress: '10.1.0.7/28', macAddress: '56:6F:00:00:0A:02' }] }), port())).toEqual([]);
    expect(diffEndpoint(model(), port({ allowed_address_pairs: [{ ip_address: '10.1.0.50/32' }, { ip_address: '10.1.0.0/28', mac_address: '56:6f:00:00:0a:02' }] }))).toEqual([
      {
        path: 'allowedAddressPairs',
        from: [
          { ipAddress: '10.1.0.0/28', macAddress: '56:6f:00:00:0a:02' },
          { ipAddress: '10.1.0.50/32', macAddress: 'fa:16:3e:00:00:01' },
        ],
        to: [
          { ipAddress: '10.1.0.0/28', macAddress: '56:6f:00:00:0a:02' },
          { ipAddress: '10.1.0.50', macAddress: 'fa:16:3e:00:00:01' },
        ],
      },
    ]);
  });

  it.each([
    ['a new network', model({ networkExternalId: 'net-2' }), port(), [{ path: 'network', immutable: true }]],
    ['a new MAC', model({ mac: 'fa:16:3e:00:00:02' }), port(), [{ path: 'mac', immutable: true }, { path: 'allowedAddressPairs' }]],
    ['another service', model({ service: 'firewall' }), port(), [{ path: 'service', from: 'netform:loadbalancer', to: 'netform:firewall' }]],
    ['a host', model({ host: 'hv1' }), port(), [{ path: 'host', from: '', to: 'hv1' }]],
    ['promiscuous on', model({ promiscuous: true, allowedAddressPairs: [] }), port(), [{ path: 'promiscuous', from: false, to: true }, { path: 'allowedAddressPairs' }, { path: 'securityGroups', from: ['sg-default'], to: [] }]],
    ['promiscuous off', model(), port({ port_security_enabled: false, allowed_address_pairs: [], security_groups: [] }), [{ path: 'promiscuous', from: true, to: false }, { path: 'allowedAddressPairs' }]],
    ['named groups', model({ securityGroupIds: ['sg-b', 'sg-a'] }), port(), [{ path: 'securityGroups', from: ['sg-default'], to: ['sg-a', 'sg-b'] }]],
    ['a fixed address', model({ fixedIps: [{ subnetId: 'sub-4', ipAddress: '10.1.0.101' }] }), port(), [{ path: 'fixedIps', from: ['10.1.0.100'], to: ['10.1.0.101'] }]],
    ['a create cut short (pending, untagged)', model(), port({ description: pendingMarker(owner), tags: [] }), [{ path: 'description' }, { path: 'tags' }]],
  ] as const)('%s', (_what, m, s, want) => {
    const got = diffEndpoint(m, s);
    expect(got.map((c) => c.path)).toEqual(want.map((w) => w.path));
    want.forEach((w, i) => expect(got[i]).toMatchObject(w));
    for (const c of got) if (c.path !== 'network' && c.path !== 'mac') expect(c.immutable).toBeUndefined();
  });

  it('IPv6 pairs compare in canonical form', () => {
    const v6 = port({ allowed_address_pairs: [{ ip_address: 'FD00:1:0::0:5', mac_address: 'fa:16:3e:00:00:01' }] });
    expect(diffEndpoint(model({ allowedAddressPairs: [{ ipAddress: 'fd00:1::5' }] }), v6)).toEqual([]);
    expect(diffEndpoint(model({ allowedAddressPairs: [{ ipAddress: 'fd00:1::6' }] }), v6).map((c) => c.path)).toEqual(['allowedAddressPairs']);
  });

  it('an allocated address is kept where the model names only the subnet', () => {
    expect(diffEndpoint(model({ fixedIps: [{ subnetId: 'sub-4' }] }), port())).toEqual([]);
  });

  it('an imported port: its own name, description, device_owner and binding are not drift; what the model names is', () => {
    const theirs = port({ name: 'octavia-lb-vip', description: 'made by Octavia', device_owner: 'Octavia', tags: [], 'binding:host_id': 'amphora-host' });
    expect(theirs.ours).toBe(false);
    expect(diffEndpoint(model(), theirs)).toEqual([]);
    expect(diffEndpoint(model({ host: 'hv1', allowedAddressPairs: [] }), theirs).map((c) => c.path)).toEqual(['host', 'allowedAddressPairs']);
  });
});

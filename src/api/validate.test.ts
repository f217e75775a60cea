import { describe, expect, it } from 'vitest';
import type { Kind } from './kinds.ts';
import { validateSpec, type SchemaViolation } from './validate.ts';

/** Validates a copy of `spec` and returns the violations and the (defaulted) copy. */
function run(kind: Kind, spec: unknown): { violations: SchemaViolation[]; spec: unknown } {
  return validateSpec(kind, spec);
}

const NETWORK_DEFAULTS = {
  approval: 'Auto',
  external: false,
  mtu: 1500,
  shared: false,
  adminStateUp: true,
  portSecurity: true,
  portMirroring: false,
  managementPolicy: 'Managed',
  deletionPolicy: 'Delete',
  allowReplace: false,
};

const VNIC = { vm: { name: 'web1' }, interfaceName: 'nic1', network: 'tenant', host: 'hv1' };

describe('validateSpec: a minimal valid spec per kind passes and gets its defaults', () => {
  it.each<[Kind, unknown, unknown]>([
    [
      'Provider',
      { type: 'neutron', endpoint: 'http://127.0.0.1:9696' },
      { type: 'neutron', endpoint: 'http://127.0.0.1:9696', requestTimeoutSeconds: 30, maxConcurrency: 4, approval: 'Auto' },
    ],
    [
      'Provider',
      { type: 'ucsm', endpoint: 'https://ucsm.example.net', credentials: { file: 'c.yaml' }, ucsm: {}, tls: {} },
      {
        type: 'ucsm',
        endpoint: 'https://ucsm.example.net',
        credentials: { file: 'c.yaml' },
        ucsm: { vlanNamePrefix: 'nf-', portProfilePrefix: 'nf-pp-', vnics: ['eth0', 'eth1'], maxPorts: 64 },
        tls: { insecureSkipVerify: false },
        requestTimeoutSeconds: 30,
        maxConcurrency: 4,
        approval: 'Auto',
      },
    ],
    [
      'Provider',
      { type: 'neutron', endpoint: 'https://n.example.net:9696', neutron: {} },
      { type: 'neutron', endpoint: 'https://n.example.net:9696', neutron: { auth: 'keystone' }, requestTimeoutSeconds: 30, maxConcurrency: 4, approval: 'Auto' },
    ],
    [
      'VlanPool',
      { ranges: [{ physicalNetwork: 'physnet1', min: 100, max: 199 }] },
      { ranges: [{ physicalNetwork: 'physnet1', min: 100, max: 199 }] },
    ],
    ['Network', { physicalNetwork: 'physnet1' }, { physicalNetwork: 'physnet1', ...NETWORK_DEFAULTS }],
    [
      'Network',
      { physicalNetwork: 'physnet1', vlan: { id: 10 }, subnets: [{ name: 'a', cidr: '192.0.2.0/24' }] },
      { physicalNetwork: 'physnet1', vlan: { id: 10 }, subnets: [{ name: 'a', cidr: '192.0.2.0/24', dhcp: true }], ...NETWORK_DEFAULTS },
    ],
    ['Cluster', {}, { defaultFabric: 'linux-bridge' }],
    [
      'Cluster',
      { networks: [{ name: 'mgmt' }, { name: 'db', required: false }] },
      { defaultFabric: 'linux-bridge', networks: [{ name: 'mgmt', required: true }, { name: 'db', required: false }] },
    ],
    ['Host', { cluster: 'prod' }, { cluster: 'prod', syncPolicy: 'Auto', approval: 'Auto', agentTimeoutSeconds: 180 }],
    [
      'VnicAttachment',
      VNIC,
      { ...VNIC, plugged: true, linked: true, managementPolicy: 'Managed', deletionPolicy: 'Delete' },
    ],
  ])('%s %j', (kind, spec, expected) => {
    const r = run(kind, spec);
    expect(r.violations).toEqual([]);
    expect(r.spec).toEqual(expected);
  });

  it('keeps values that are given instead of the defaults', () => {
    const r = run('Network', {
      physicalNetwork: 'physnet1',
      mtu: 9000,
      shared: true,
      managementPolicy: 'ObserveOnly',
      deletionPolicy: 'Orphan',
      subnets: [{ name: 'a', cidr: '192.0.2.0/24', dhcp: false }],
    });
    expect(r.violations).toEqual([]);
    expect(r.spec).toMatchObject({
      mtu: 9000,
      shared: true,
      managementPolicy: 'ObserveOnly',
      deletionPolicy: 'Orphan',
      subnets: [{ name: 'a', cidr: '192.0.2.0/24', dhcp: false }],
    });
  });

  it('fills defaults into a copy, leaving the spec it is given as it was', () => {
    const given = { cluster: 'prod' } as Record<string, unknown>;
    const r = validateSpec<Record<string, unknown>>('Host', given);
    expect(r.violations).toEqual([]);
    expect(r.spec.syncPolicy).toBe('Auto');
    expect(given).toEqual({ cluster: 'prod' });
    expect(r.spec).not.toBe(given);
  });

  it('does not add optional objects that were left out', () => {
    const r = run('Provider', { type: 'neutron', endpoint: 'http://x.example' });
    expect(r.spec).not.toHaveProperty('neutron');
    expect(r.spec).not.toHaveProperty('tls');
    expect(r.spec).not.toHaveProperty('ucsm');
  });
});

describe('validateSpec: violations', () => {
  it.each<[string, Kind, unknown, SchemaViolation[]]>([
    // The spec itself.
    ['missing spec', 'Network', undefined, [{ pointer: '/spec', message: 'is required' }]],
    ['null spec', 'Network', null, [{ pointer: '/spec', message: 'must be of type object' }]],
    ['list spec', 'Cluster', [], [{ pointer: '/spec', message: 'must be of type object' }]],
    ['scalar spec', 'Host', 'prod', [{ pointer: '/spec', message: 'must be of type object' }]],
    // Required.
    [
      'Provider without type and endpoint',
      'Provider',
      {},
      [
        { pointer: '/spec/endpoint', message: 'is required' },
        { pointer: '/spec/type', message: 'is required' },
      ],
    ],
    ['Network without physicalNetwork', 'Network', {}, [{ pointer: '/spec/physicalNetwork', message: 'is required' }]],
    ['VlanPool without ranges', 'VlanPool', {}, [{ pointer: '/spec/ranges', message: 'is required' }]],
    ['Host without cluster', 'Host', {}, [{ pointer: '/spec/cluster', message: 'is required' }]],
    [
      'VnicAttachment without anything',
      'VnicAttachment',
      {},
      [
        { pointer: '/spec/host', message: 'is required' },
        { pointer: '/spec/interfaceName', message: 'is required' },
        { pointer: '/spec/network', message: 'is required' },
        { pointer: '/spec/vm', message: 'is required' },
      ],
    ],
    [
      'required fields of list items',
      'VlanPool',
      { ranges: [{ physicalNetwork: 'physnet1' }], reserved: [{}] },
      [
        { pointer: '/spec/ranges/0/max', message: 'is required' },
        { pointer: '/spec/ranges/0/min', message: 'is required' },
        { pointer: '/spec/reserved/0/min', message: 'is required' },
      ],
    ],
    ['nested required', 'Network', { physicalNetwork: 'p', vlan: { poolRef: {} } }, [{ pointer: '/spec/vlan/poolRef/name', message: 'is required' }]],
    // Closed objects: unknown fields at every level.
    ['unknown spec field', 'Network', { physicalNetwork: 'p', mtus: 9000 }, [{ pointer: '/spec/mtus', message: 'is not a known field' }]],
    ['unknown field in vlan', 'Network', { physicalNetwork: 'p', vlan: { id: 5, tag: 5 } }, [{ pointer: '/spec/vlan/tag', message: 'is not a known field' }]],
    [
      'unknown field in a list item',
      'Network',
      { physicalNetwork: 'p', subnets: [{ name: 'a', cidr: '10.0.0.0/24' }, { name: 'b', cidr: '10.0.1.0/24', gw: '10.0.1.1' }] },
      [{ pointer: '/spec/subnets/1/gw', message: 'is not a known field' }],
    ],
    [
      'unknown field in a deeply nested item',
      'Network',
      { physicalNetwork: 'p', subnets: [{ name: 'a', cidr: '10.0.0.0/24', hostRoutes: [{ destination: '0.0.0.0/0', nexthop: '10.0.0.1', metric: 1 }] }] },
      [{ pointer: '/spec/subnets/0/hostRoutes/0/metric', message: 'is not a known field' }],
    ],
    ['unknown field in provider neutron', 'Provider', { type: 'neutron', endpoint: 'http://x.example', neutron: { password: 'x' } }, [{ pointer: '/spec/neutron/password', message: 'is not a known field' }]],
    ['unknown field in a host NIC', 'Host', { cluster: 'c', nics: [{ name: 'eno1', speed: 10 }] }, [{ pointer: '/spec/nics/0/speed', message: 'is not a known field' }]],
    ['status is not part of the spec', 'Cluster', { status: {} }, [{ pointer: '/spec/status', message: 'is not a known field' }]],
    ['unknown field in vm', 'VnicAttachment', { ...VNIC, vm: { name: 'a', os: 'linux' } }, [{ pointer: '/spec/vm/os', message: 'is not a known field' }]],
    // Field names are JSON-pointer escaped (RFC 6901).
    ['unknown field with a slash', 'Cluster', { 'app.kubernetes.io/name': 'web' }, [{ pointer: '/spec/app.kubernetes.io~1name', message: 'is not a known field' }]],
    ['unknown field with a tilde', 'Cluster', { 'a~b': 1 }, [{ pointer: '/spec/a~0b', message: 'is not a known field' }]],
    // Enum.
    ['enum', 'Network', { physicalNetwork: 'p', managementPolicy: 'Sometimes' }, [{ pointer: '/spec/managementPolicy', message: 'must be one of "Managed", "ObserveOnly"' }]],
    ['enum is case-sensitive', 'Cluster', { defaultFabric: 'OVS' }, [{ pointer: '/spec/defaultFabric', message: 'must be one of "linux-bridge", "ovs"' }]],
    ['enum in a list of strings', 'Cluster', { networks: [{ name: 'a', roles: ['vm', 'storage'] }] }, [{ pointer: '/spec/networks/0/roles/1', message: 'must be one of "vm", "migration", "display", "management"' }]],
    ['integer enum', 'Network', { physicalNetwork: 'p', subnets: [{ name: 'a', cidr: '10.0.0.0/24', ipVersion: 5 }] }, [{ pointer: '/spec/subnets/0/ipVersion', message: 'must be one of 4, 6' }]],
    // Minimum / maximum.
    ['mtu below minimum', 'Network', { physicalNetwork: 'p', mtu: 67 }, [{ pointer: '/spec/mtu', message: 'must be >= 68' }]],
    ['mtu above maximum', 'Network', { physicalNetwork: 'p', mtu: 9217 }, [{ pointer: '/spec/mtu', message: 'must be <= 9216' }]],
    ['vlan id 0', 'Network', { physicalNetwork: 'p', vlan: { id: 0 } }, [{ pointer: '/spec/vlan/id', message: 'must be >= 1' }]],
    ['vlan id 4095', 'Network', { physicalNetwork: 'p', vlan: { id: 4095 } }, [{ pointer: '/spec/vlan/id', message: 'must be <= 4094' }]],
    [
      'pool range bounds',
      'VlanPool',
      { ranges: [{ physicalNetwork: 'p', min: 0, max: 4095 }] },
      [
        { pointer: '/spec/ranges/0/max', message: 'must be <= 4094' },
        { pointer: '/spec/ranges/0/min', message: 'must be >= 1' },
      ],
    ],
    ['empty ranges', 'VlanPool', { ranges: [] }, [{ pointer: '/spec/ranges', message: 'must NOT have fewer than 1 items' }]],
    ['bond without members', 'Host', { cluster: 'c', bonds: [{ name: 'bond0', mode: 'active-backup', members: [] }] }, [{ pointer: '/spec/bonds/0/members', message: 'must NOT have fewer than 1 items' }]],
    ['request timeout above maximum', 'Provider', { type: 'neutron', endpoint: 'http://x.example', requestTimeoutSeconds: 601 }, [{ pointer: '/spec/requestTimeoutSeconds', message: 'must be <= 600' }]],
    ['empty physicalNetwork', 'Network', { physicalNetwork: '' }, [
      { pointer: '/spec/physicalNetwork', message: 'must NOT have fewer than 1 characters' },
      { pointer: '/spec/physicalNetwork', message: 'does not match the pattern ^[A-Za-z0-9][A-Za-z0-9_.-]*$' },
    ]],
    ['description too long', 'Cluster', { description: 'x'.repeat(256) }, [{ pointer: '/spec/description', message: 'must NOT have more than 255 characters' }]],
    // Type.
    ['string for integer', 'Network', { physicalNetwork: 'p', mtu: '9000' }, [{ pointer: '/spec/mtu', message: 'must be of type integer' }]],
    ['fraction for integer', 'Network', { physicalNetwork: 'p', vlan: { id: 10.5 } }, [{ pointer: '/spec/vlan/id', message: 'must be of type integer' }]],
    ['string for boolean', 'Network', { physicalNetwork: 'p', shared: 'yes' }, [{ pointer: '/spec/shared', message: 'must be of type boolean' }]],
    ['mapping for list', 'Host', { cluster: 'c', nics: { name: 'eno1' } }, [{ pointer: '/spec/nics', message: 'must be of type array' }]],
    ['number for string', 'Host', { cluster: 7 }, [{ pointer: '/spec/cluster', message: 'must be of type string' }]],
    // oneOf.
    ['vlan with both id and poolRef', 'Network', { physicalNetwork: 'p', vlan: { id: 5, poolRef: { name: 'pool' } } }, [{ pointer: '/spec/vlan', message: 'must set only one of id, poolRef, not several' }]],
    ['vlan with neither id nor poolRef', 'Network', { physicalNetwork: 'p', vlan: {} }, [{ pointer: '/spec/vlan', message: 'needs exactly one of id, poolRef' }]],
    [
      'vlan with an out-of-range id and nothing else wrong',
      'Network',
      { physicalNetwork: 'p', vlan: { id: 5000 } },
      [{ pointer: '/spec/vlan/id', message: 'must be <= 4094' }],
    ],
    ['credentials with neither', 'Provider', { type: 'ucsm', endpoint: 'https://u.example', credentials: {} }, [{ pointer: '/spec/credentials', message: 'needs exactly one of secretRef, file' }]],
    [
      'credentials with both',
      'Provider',
      { type: 'ucsm', endpoint: 'https://u.example', credentials: { file: 'c.yaml', secretRef: { name: 's' } } },
      [{ pointer: '/spec/credentials', message: 'must set only one of secretRef, file, not several' }],
    ],
    [
      'import with both id and name',
      'Network',
      { physicalNetwork: 'p', providerRefs: [{ name: 'os', import: { id: 'x', name: 'y' } }] },
      [{ pointer: '/spec/providerRefs/0/import', message: 'must set only one of id, name, not several' }],
    ],
    // A value of the wrong type where a oneOf object is expected: only the type is wrong.
    ['vlan that is a number', 'Network', { physicalNetwork: 'p', vlan: 10 }, [{ pointer: '/spec/vlan', message: 'must be of type object' }]],
    ['vlan that is null (an empty YAML value)', 'Network', { physicalNetwork: 'p', vlan: null }, [{ pointer: '/spec/vlan', message: 'must be of type object' }]],
    ['credentials that are a file name', 'Provider', { type: 'ucsm', endpoint: 'https://u.example', credentials: 'c.yaml' }, [{ pointer: '/spec/credentials', message: 'must be of type object' }]],
    ['import that is a string', 'Network', { physicalNetwork: 'p', providerRefs: [{ name: 'os', import: 'public' }] }, [{ pointer: '/spec/providerRefs/0/import', message: 'must be of type object' }]],
    // Duplicate keys of list-type maps.
    [
      'two subnets with the same name',
      'Network',
      { physicalNetwork: 'p', subnets: [{ name: 'a', cidr: '10.0.0.0/24' }, { name: 'b', cidr: '10.0.1.0/24' }, { name: 'a', cidr: '10.0.2.0/24' }] },
      [{ pointer: '/spec/subnets/2', message: 'duplicate entry: name=a already given at index 0' }],
    ],
    [
      'two providerRefs with the same name',
      'Network',
      { physicalNetwork: 'p', providerRefs: [{ name: 'os' }, { name: 'os' }] },
      [{ pointer: '/spec/providerRefs/1', message: 'duplicate entry: name=os already given at index 0' }],
    ],
    [
      'three cluster networks with the same name',
      'Cluster',
      { networks: [{ name: 'a' }, { name: 'a' }, { name: 'a' }] },
      [
        { pointer: '/spec/networks/1', message: 'duplicate entry: name=a already given at index 0' },
        { pointer: '/spec/networks/2', message: 'duplicate entry: name=a already given at index 0' },
      ],
    ],
    ['two NICs with the same name', 'Host', { cluster: 'c', nics: [{ name: 'eno1' }, { name: 'eno1' }] }, [{ pointer: '/spec/nics/1', message: 'duplicate entry: name=eno1 already given at index 0' }]],
    [
      'two host placements of one network',
      'Host',
      { cluster: 'c', nics: [{ name: 'eno1' }], networks: [{ name: 'mgmt', interface: 'eno1' }, { name: 'mgmt', interface: 'eno1' }] },
      [{ pointer: '/spec/networks/1', message: 'duplicate entry: name=mgmt already given at index 0' }],
    ],
    // Formats and patterns.
    ['cidr without length', 'Network', { physicalNetwork: 'p', subnets: [{ name: 'a', cidr: '10.0.0.0' }] }, [{ pointer: '/spec/subnets/0/cidr', message: 'is not a valid cidr' }]],
    ['cidr with a bad length', 'Network', { physicalNetwork: 'p', subnets: [{ name: 'a', cidr: '10.0.0.0/33' }] }, [{ pointer: '/spec/subnets/0/cidr', message: 'is not a valid cidr' }]],
    ['host route destination', 'Network', { physicalNetwork: 'p', subnets: [{ name: 'a', cidr: '10.0.0.0/24', hostRoutes: [{ destination: 'default', nexthop: '10.0.0.1' }] }] }, [{ pointer: '/spec/subnets/0/hostRoutes/0/destination', message: 'is not a valid cidr' }]],
    ['subnet name pattern', 'Network', { physicalNetwork: 'p', subnets: [{ name: 'A', cidr: '10.0.0.0/24' }] }, [{ pointer: '/spec/subnets/0/name', message: 'does not match the pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }]],
    [
      'MAC address',
      'VnicAttachment',
      { ...VNIC, mac: '56-6f-00-00-00-01' },
      [
        { pointer: '/spec/mac', message: 'does not match the pattern ^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$' },
        { pointer: '/spec/mac', message: 'is not a valid mac' },
      ],
    ],
    ['endpoint scheme', 'Provider', { type: 'neutron', endpoint: 'ftp://x.example' }, [{ pointer: '/spec/endpoint', message: 'does not match the pattern ^https?://[^\\s/$.?#][^\\s]*$' }]],
    ['NIC name too long for Linux', 'Host', { cluster: 'c', nics: [{ name: 'a'.repeat(16) }] }, [{ pointer: '/spec/nics/0/name', message: 'does not match the pattern ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$' }]],
  ])('%s', (_what, kind, spec, expected) => {
    expect(run(kind, spec).violations).toEqual(expected);
  });

  it('reports every violation of a spec, sorted by pointer', () => {
    const r = run('Network', {
      physicalNetwork: '-bad',
      mtu: 1,
      vlan: { id: 1, poolRef: { name: 'x' } },
      subnets: [{ name: 'a', cidr: 'nope' }, { name: 'a' }],
      color: 'blue',
    });
    expect(r.violations).toEqual([
      { pointer: '/spec/color', message: 'is not a known field' },
      { pointer: '/spec/mtu', message: 'must be >= 68' },
      { pointer: '/spec/physicalNetwork', message: 'does not match the pattern ^[A-Za-z0-9][A-Za-z0-9_.-]*$' },
      { pointer: '/spec/subnets/0/cidr', message: 'is not a valid cidr' },
      { pointer: '/spec/subnets/1', message: 'duplicate entry: name=a already given at index 0' },
      { pointer: '/spec/subnets/1/cidr', message: 'is required' },
      { pointer: '/spec/vlan', message: 'must set only one of id, poolRef, not several' },
    ]);
  });

  it('gives the same answer twice (no state kept between calls)', () => {
    const spec = { physicalNetwork: 'p', subnets: [{ name: 'a', cidr: '10.0.0.0/24' }, { name: 'a', cidr: '10.0.1.0/24' }] };
    const first = run('Network', spec).violations;
    expect(run('Network', { physicalNetwork: 'p' }).violations).toEqual([]);
    expect(run('Network', spec).violations).toEqual(first);
    expect(first).toEqual([{ pointer: '/spec/subnets/1', message: 'duplicate entry: name=a already given at index 0' }]);
  });
});

describe('validateSpec copies what it validates', () => {
  it('leaves the input untouched and keeps a __proto__ key a key', () => {
    const a = { vm: 'vm1', interfaceName: 'nic0', network: 'web', host: 'hv-0-0' };
    const va = validateSpec<typeof a>('VnicAttachment', a).spec;
    expect(va).not.toBe(a);
    expect(va).toMatchObject(a);
    expect(a).toEqual({ vm: 'vm1', interfaceName: 'nic0', network: 'web', host: 'hv-0-0' }); // defaults went into the copy
    expect(Object.keys(va).length).toBeGreaterThan(Object.keys(a).length);
    const evil = JSON.parse('{"vm":"vm1","interfaceName":"nic0","network":"web","__proto__":{"polluted":true}}') as object;
    const { spec, violations } = validateSpec<Record<string, unknown>>('VnicAttachment', evil);
    expect(Object.getPrototypeOf(spec)).toBe(Object.prototype);
    expect((spec as { polluted?: unknown }).polluted).toBeUndefined();
    expect(violations.length).toBeGreaterThan(0); // an unknown field
  });
});

// Admission of Routers (issue 13): each refusal names the file, the document's line, the field and
// the reason, and leaves the other objects admitted.
import { describe, expect, it } from 'vitest';
import { admit } from './admit.ts';

const WORLD = `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: os}
spec: {type: neutron, endpoint: "http://127.0.0.1:9696", neutron: {auth: noauth}}
---
apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: fi}
spec: {type: ucsm, endpoint: "https://ucsm.example.net", credentials: {file: c.yaml}}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: outside}
spec: {physicalNetwork: physnet1, vlan: {id: 100}, external: true, subnets: [{name: o4, cidr: 198.18.0.0/24}], providerRefs: [{name: os}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: app}
spec: {physicalNetwork: physnet1, vlan: {id: 101}, subnets: [{name: a4, cidr: 10.1.0.0/24}], providerRefs: [{name: os}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: db}
spec: {physicalNetwork: physnet1, vlan: {id: 102}, subnets: [{name: d4, cidr: 10.2.0.0/24}], providerRefs: [{name: os}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: copy}
spec: {physicalNetwork: physnet2, vlan: {id: 103}, subnets: [{name: c4, cidr: 10.1.0.0/25}], providerRefs: [{name: os}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: local}
spec: {physicalNetwork: physnet1, vlan: {id: 104}, subnets: [{name: l4, cidr: 10.4.0.0/24}]}
`;

const router = (name: string, spec: string) => `apiVersion: netform.io/v1alpha1
kind: Router
metadata: {name: ${name}}
spec:
  providerRef: {name: os}
${spec}`;

function run(text: string) {
  const r = admit([
    { path: 'world.yaml', text: WORLD },
    { path: 'routers.yaml', text },
  ]);
  return r;
}

describe('Router admission', () => {
  it('a router with a gateway, two interfaces and a route through one of them is admitted', () => {
    const r = run(router('edge', '  gateway: {network: outside, snat: false, ipAddress: 198.18.0.10}\n  interfaces: [{network: app, subnet: a4}, {network: db, subnet: d4}]\n  routes: [{destination: 10.9.0.0/16, nexthop: 10.1.0.254}]\n'));
    expect(r.errors).toEqual([]);
    expect(r.objects.get('Router/edge')?.object.spec).toMatchObject({ adminStateUp: true, gateway: { network: 'outside', snat: false }, managementPolicy: 'Managed', deletionPolicy: 'Delete', approval: 'Auto' });
  });

  it.each([
    { name: 'a gateway network that is not external', spec: '  gateway: {network: app}\n', field: 'spec.gateway.network', message: 'Network "app" is not external (spec.external)' },
    { name: 'a gateway address on no subnet of it', spec: '  gateway: {network: outside, ipAddress: 10.1.0.9}\n', field: 'spec.gateway.ipAddress', message: '10.1.0.9 is on no subnet of Network "outside"' },
    { name: 'an interface on a missing network', spec: '  interfaces: [{network: nope, subnet: x}]\n', field: 'spec.interfaces[0].network', message: 'Network "nope" does not exist' },
    { name: 'an interface on a missing subnet', spec: '  interfaces: [{network: app, subnet: b4}]\n', field: 'spec.interfaces[0].subnet', message: 'Network "app" has no subnet "b4"' },
    { name: 'an interface on a network not on its provider', spec: '  interfaces: [{network: local, subnet: l4}]\n', field: 'spec.interfaces[0].network', message: 'Network "local" is not on Provider "os"' },
    { name: 'overlapping subnets on one router', spec: '  interfaces: [{network: app, subnet: a4}, {network: copy, subnet: c4}]\n', field: 'spec.interfaces[1].subnet', message: 'subnet copy/c4 (10.1.0.0/25) overlaps the subnet of interfaces[0]' },
    { name: 'a route whose nexthop is on no attached subnet', spec: '  interfaces: [{network: app, subnet: a4}]\n  routes: [{destination: 10.9.0.0/16, nexthop: 10.2.0.1}]\n', field: 'spec.routes[0].nexthop', message: '10.2.0.1 is on none of the router\'s attached subnets' },
    { name: 'a route to something that is not a CIDR', spec: '  interfaces: [{network: app, subnet: a4}]\n  routes: [{destination: 10.9.0.0/33, nexthop: 10.1.0.1}]\n', field: 'spec.routes[0].destination', message: '"10.9.0.0/33" is not a CIDR' },
  ])('refuses $name, naming file, line and field', ({ spec, field, message }) => {
    const r = run(router('edge', spec));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: 'routers.yaml', documentIndex: 0, key: 'Router/edge', field });
    expect(r.errors[0]!.message).toContain(message);
    expect(r.errors[0]!.line).toBeGreaterThan(1);
    // The world is untouched by a bad router.
    expect([...r.objects.keys()].filter((k) => k.startsWith('Network/'))).toHaveLength(5);
  });

  it('refuses a subnet already routed by another router (the second one), and a router on a UCS Manager provider', () => {
    const r = run(
      [router('first', '  interfaces: [{network: app, subnet: a4}]\n'), router('second', '  interfaces: [{network: app, subnet: a4}]\n'), router('ucs', '  interfaces: [{network: db, subnet: d4}]\n').replace('{name: os}', '{name: fi}')].join('---\n'),
    );
    expect(r.errors.map((e) => [e.key, e.field, e.documentIndex])).toEqual([
      ['Router/second', 'spec.interfaces[0].subnet', 1],
      ['Router/ucs', 'spec.providerRef.name', 2],
      ['Router/ucs', 'spec.interfaces[0].network', 2],
    ]);
    expect(r.errors[0]!.message).toContain('subnet app/a4 is already routed by Router "first"');
    expect(r.errors[1]!.message).toContain('routers are realized on Neutron providers');
    expect(r.objects.has('Router/first')).toBe(true);
  });
});

describe('Router admission: routers on hosts (spec.hostRef)', () => {
  const HOSTS = `apiVersion: netform.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {}
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: hv1}
spec: {cluster: c, nics: [{name: ens3}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: priv}
spec: {physicalNetwork: physnet1, subnets: [{name: p4, cidr: 10.7.0.0/24, gateway: none}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: edge-out}
spec: {physicalNetwork: physnet1, external: true, subnets: [{name: e4, cidr: 198.18.5.0/24, gateway: 198.18.5.1}]}
`;
  const onHost = (spec: string) => `apiVersion: netform.io/v1alpha1\nkind: Router\nmetadata: {name: h}\nspec:\n  hostRef: {name: hv1}\n${spec}`;
  const runHost = (text: string) => admit([{ path: 'world.yaml', text: WORLD }, { path: 'hosts.yaml', text: HOSTS }, { path: 'routers.yaml', text }]);

  it('a host router on networks of no provider, with an address on a subnet without gateway, is admitted', () => {
    const r = runHost(onHost('  gateway: {network: edge-out, ipAddress: 198.18.5.2}\n  interfaces: [{network: priv, subnet: p4, ipAddress: 10.7.0.1}, {network: local, subnet: l4, ipAddress: 10.4.0.1}]\n'));
    expect(r.errors).toEqual([]);
    expect(r.objects.has('Router/h')).toBe(true);
  });

  it.each([
    { name: 'neither providerRef nor hostRef', text: 'apiVersion: netform.io/v1alpha1\nkind: Router\nmetadata: {name: h}\nspec: {interfaces: [{network: app, subnet: a4}]}\n', field: 'spec.providerRef', message: 'give providerRef (a Neutron router) or hostRef' },
    { name: 'both providerRef and hostRef', text: onHost('  providerRef: {name: os}\n'), field: 'spec.hostRef', message: 'give providerRef or hostRef, not both' },
    { name: 'a Host that does not exist', text: onHost('  interfaces: [{network: local, subnet: l4, ipAddress: 10.4.0.1}]\n').replace('{name: hv1}', '{name: hv9}'), field: 'spec.hostRef.name', message: 'Host "hv9" does not exist' },
    { name: 'a gateway without its address', text: onHost('  gateway: {network: edge-out}\n'), field: 'spec.gateway.ipAddress', message: 'a router on a host needs its gateway address' },
    { name: 'an interface on a subnet with no gateway and no ipAddress', text: onHost('  interfaces: [{network: priv, subnet: p4}]\n'), field: 'spec.interfaces[0].ipAddress', message: 'subnet p4 has no gateway address: give the router\'s address on it' },
    { name: 'an interface address outside its subnet', text: onHost('  interfaces: [{network: priv, subnet: p4, ipAddress: 10.8.0.1}]\n'), field: 'spec.interfaces[0].ipAddress', message: '10.8.0.1 is not in subnet p4 (10.7.0.0/24)' },
  ])('refuses $name, naming file, line and field', ({ text, field, message }) => {
    const r = runHost(text);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: 'routers.yaml', documentIndex: 0, key: 'Router/h', field });
    expect(r.errors[0]!.message).toContain(message);
  });

  it('an interface address on a Neutron router is refused (it takes the subnet\'s gateway)', () => {
    const r = run(router('edge', '  interfaces: [{network: app, subnet: a4, ipAddress: 10.1.0.5}]\n'));
    expect(r.errors.map((e) => [e.field, e.message])).toEqual([['spec.interfaces[0].ipAddress', expect.stringContaining('ipAddress is for routers on hosts')]]);
  });
});

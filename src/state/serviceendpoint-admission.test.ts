// Admission of ServiceEndpoints (issue 13): each refusal names the file, the document's line, the
// field and the reason, and leaves the other objects admitted.
import { describe, expect, it } from 'vitest';
import { admit } from './admit.ts';

const WORLD = `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: os}
spec: {type: neutron, endpoint: "http://127.0.0.1:9696", neutron: {auth: noauth}}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: app}
spec: {physicalNetwork: physnet1, vlan: {id: 101}, shared: true, subnets: [{name: a4, cidr: 10.1.0.0/24}, {name: a6, cidr: "fd00:1::/64"}], providerRefs: [{name: os}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: v4only}
spec: {physicalNetwork: physnet1, vlan: {id: 102}, allowedNamespaces: [edge], subnets: [{name: b4, cidr: 10.2.0.0/24}], providerRefs: [{name: os}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: elsewhere}
spec: {physicalNetwork: physnet1, vlan: {id: 103}, shared: true}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec: {networks: [{name: app}]}
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: hv1}
spec: {cluster: c1}
---
apiVersion: netform.io/v1alpha1
kind: SecurityGroup
metadata: {name: fw, namespace: edge}
spec: {providerRefs: [{name: os}], rules: [{direction: ingress, protocol: tcp, portRangeMin: 443}]}
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata: {name: vm1-nic1, namespace: edge}
spec: {vm: {name: vm1}, interfaceName: nic1, network: app, host: hv1, fixedIps: [{subnet: a4, ipAddress: 10.1.0.10}]}
`;

const endpoint = (spec: string, name = 'lb', ns = 'edge') => `apiVersion: netform.io/v1alpha1
kind: ServiceEndpoint
metadata: {name: ${name}, namespace: ${ns}}
spec:
${spec}`;

const run = (text: string) =>
  admit([
    { path: 'world.yaml', text: WORLD },
    { path: 'endpoints.yaml', text },
  ]);

describe('ServiceEndpoint admission', () => {
  it('admits an endpoint with every field, its defaults applied', () => {
    const r = run(
      endpoint(
        '  network: app\n  service: loadbalancer\n  host: hv1\n  mac: 56:6f:00:00:0a:01\n  fixedIps: [{subnet: a4, ipAddress: 10.1.0.100}, {subnet: a6}]\n  allowedAddressPairs: [{ipAddress: 10.1.0.101}, {ipAddress: "fd00:1::/80", macAddress: "56:6f:00:00:0a:02"}]\n  securityGroups: [{name: fw}]\n',
      ),
    );
    expect(r.errors).toEqual([]);
    expect(r.objects.get('ServiceEndpoint/edge/lb')?.object.spec).toMatchObject({ promiscuous: false, managementPolicy: 'Managed', deletionPolicy: 'Delete', approval: 'Auto' });
  });

  it('admits a promiscuous endpoint without a host, groups or pairs, and an ObserveOnly import by name', () => {
    const r = run(
      [endpoint('  network: app\n  service: ids\n  promiscuous: true\n', 'ids'), endpoint('  network: app\n  service: loadbalancer\n  import: {name: octavia-vip}\n  managementPolicy: ObserveOnly\n', 'vip')].join('---\n'),
    );
    expect(r.errors).toEqual([]);
    expect([...r.objects.keys()]).toEqual(expect.arrayContaining(['ServiceEndpoint/edge/ids', 'ServiceEndpoint/edge/vip']));
  });

  it.each([
    { name: 'a network that does not exist', spec: '  network: nope\n  service: firewall\n', field: 'spec.network', message: 'Network "nope" does not exist' },
    { name: 'a network closed to its namespace', spec: '  network: v4only\n  service: firewall\n', ns: 'other', field: 'spec.network', message: 'Network "v4only" is neither shared nor open to namespace "other"' },
    { name: 'a service name with a prefix of its own', spec: '  network: app\n  service: "network:dhcp"\n', field: 'spec.service', message: 'does not match the pattern' },
    { name: 'a service name in upper case', spec: '  network: app\n  service: Firewall\n', field: 'spec.service', message: 'does not match the pattern' },
    { name: 'a host that does not exist', spec: '  network: app\n  service: firewall\n  host: hv9\n', field: 'spec.host', message: 'Host "hv9" does not exist' },
    { name: 'a host that does not carry the network', spec: '  network: elsewhere\n  service: firewall\n  host: hv1\n', field: 'spec.host', message: 'Host "hv1" does not carry Network "elsewhere" (not attached to its cluster "c1")' },
    { name: 'a fixed IP outside its subnet', spec: '  network: app\n  service: router\n  fixedIps: [{subnet: a4, ipAddress: 10.9.0.1}]\n', field: 'spec.fixedIps[0].ipAddress', message: '10.9.0.1 is outside subnet a4 (10.1.0.0/24)' },
    { name: 'a fixed IP on a subnet the network lacks', spec: '  network: app\n  service: router\n  fixedIps: [{subnet: zz}]\n', field: 'spec.fixedIps[0].subnet', message: 'Network "app" has no subnet "zz"' },
    { name: 'a fixed IP a vNIC holds', spec: '  network: app\n  service: router\n  fixedIps: [{subnet: a4, ipAddress: 10.1.0.10}]\n', field: 'spec.fixedIps[0].ipAddress', message: '10.1.0.10 is already the address of VnicAttachment edge/vm1-nic1' },
    { name: 'an address pair that is no address', spec: '  network: app\n  service: loadbalancer\n  allowedAddressPairs: [{ipAddress: 10.1.0.300}]\n', field: 'spec.allowedAddressPairs[0].ipAddress', message: '"10.1.0.300" is neither an IP address nor a CIDR' },
    { name: 'an address pair of an IP version the network lacks', spec: '  network: v4only\n  service: loadbalancer\n  allowedAddressPairs: [{ipAddress: "2001:db8::1"}]\n', field: 'spec.allowedAddressPairs[0].ipAddress', message: '2001:db8::1 is IPv6, but Network "v4only" has only IPv4 subnets' },
    { name: 'promiscuous with security groups', spec: '  network: app\n  service: ids\n  promiscuous: true\n  securityGroups: [{name: fw}]\n', field: 'spec.securityGroups', message: 'a promiscuous endpoint has no security groups' },
    { name: 'promiscuous with address pairs', spec: '  network: app\n  service: ids\n  promiscuous: true\n  allowedAddressPairs: [{ipAddress: 10.1.0.0/24}]\n', field: 'spec.allowedAddressPairs', message: 'a promiscuous endpoint may already send from any address' },
    { name: 'a security group missing from its namespace', spec: '  network: app\n  service: firewall\n  securityGroups: [{name: web}]\n', field: 'spec.securityGroups[0].name', message: 'SecurityGroup "web" does not exist in namespace edge' },
    { name: 'an import naming neither id nor name', spec: '  network: app\n  service: loadbalancer\n  import: {}\n', field: 'spec.import', message: 'needs exactly one of id, name' },
  ])('refuses $name, naming file, line and field', ({ spec, ns, field, message }) => {
    const r = run(endpoint(spec, 'lb', ns));
    const mine = r.errors.filter((e) => e.key === `ServiceEndpoint/${ns ?? 'edge'}/lb` || e.file === 'endpoints.yaml');
    expect(mine.length, JSON.stringify(r.errors)).toBeGreaterThanOrEqual(1);
    expect(mine.some((e) => e.file === 'endpoints.yaml' && e.documentIndex === 0 && e.field === field && e.message.includes(message)), JSON.stringify(mine)).toBe(true);
    expect(mine.every((e) => (e.line ?? 0) >= 1)).toBe(true);
    expect(r.errors.filter((e) => e.file !== 'endpoints.yaml')).toEqual([]);
    expect(r.objects.has(`ServiceEndpoint/${ns ?? 'edge'}/lb`)).toBe(false);
    expect(r.objects.has('VnicAttachment/edge/vm1-nic1')).toBe(true);
  });

  it('two endpoints claiming one fixed address: the later one is refused', () => {
    const r = run([endpoint('  network: app\n  service: router\n  fixedIps: [{subnet: a4, ipAddress: 10.1.0.254}]\n', 'r1'), endpoint('  network: app\n  service: router\n  fixedIps: [{subnet: a4, ipAddress: 10.1.0.254}]\n', 'r2')].join('---\n'));
    expect(r.errors.map((e) => [e.key, e.field, e.message])).toEqual([['ServiceEndpoint/edge/r2', 'spec.fixedIps[0].ipAddress', '10.1.0.254 is already the address of ServiceEndpoint edge/r1']]);
    expect(r.objects.has('ServiceEndpoint/edge/r1')).toBe(true);
  });
});

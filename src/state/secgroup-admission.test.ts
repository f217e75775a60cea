// Admission of SecurityGroups and of the vNICs and profiles that name them (issue 13): each refusal
// names the file, the document, the field and the reason.
import { describe, expect, it } from 'vitest';
import { admit } from './admit.ts';

const WORLD = `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: os}
spec: {type: neutron, endpoint: "http://127.0.0.1:9696", neutron: {auth: noauth}}
---
apiVersion: netform.io/v1alpha1
kind: SecurityGroup
metadata: {name: web, namespace: shop}
spec: {providerRefs: [{name: os}], rules: [{direction: ingress, protocol: tcp, portRangeMin: 80}]}
`;

const group = (rule: string) => `apiVersion: netform.io/v1alpha1
kind: SecurityGroup
metadata: {name: app, namespace: shop}
spec:
  providerRefs: [{name: os}]
  rules:
    - ${rule}
`;

const run = (text: string) => admit([{ path: 'world.yaml', text: WORLD }, { path: 'groups.yaml', text }]);

describe('SecurityGroup admission', () => {
  it('admits rules from a CIDR, from another group, from itself', () => {
    const r = run(group('{direction: ingress, protocol: tcp, portRangeMin: 8080, remoteGroup: web}') + '    - {direction: ingress, protocol: icmp, remoteGroup: app}\n    - {direction: ingress, ethertype: IPv6, remoteCidr: "2001:db8::/64"}\n');
    expect(r.errors).toEqual([]);
    expect(r.objects.get('SecurityGroup/shop/app')?.object.spec).toMatchObject({ stateful: true, defaultEgress: 'Allow' });
  });

  it.each([
    { name: 'an inverted port range', rule: '{direction: ingress, protocol: tcp, portRangeMin: 9000, portRangeMax: 8000}', field: 'spec.rules[0].portRangeMax', message: '8000 is below portRangeMin 9000' },
    { name: 'ports on icmp', rule: '{direction: ingress, protocol: icmp, portRangeMin: 8}', field: 'spec.rules[0].portRangeMin', message: 'a port range needs protocol tcp or udp, not icmp' },
    { name: 'a port range without a protocol', rule: '{direction: ingress, portRangeMin: 22}', field: 'spec.rules[0].portRangeMin', message: 'a port range needs protocol tcp or udp, not any' },
    { name: 'a remote group that does not exist', rule: '{direction: ingress, remoteGroup: db}', field: 'spec.rules[0].remoteGroup', message: 'SecurityGroup "db" does not exist in namespace shop' },
    { name: 'a CIDR and a group at once', rule: '{direction: ingress, remoteCidr: 10.0.0.0/8, remoteGroup: web}', field: 'spec.rules[0].remoteGroup', message: 'give remoteCidr or remoteGroup, not both' },
    { name: 'an IPv6 prefix on an IPv4 rule', rule: '{direction: ingress, remoteCidr: "2001:db8::/64"}', field: 'spec.rules[0].remoteCidr', message: '2001:db8::/64 is not an IPv4 prefix' },
    { name: 'icmpv6 on IPv4', rule: '{direction: ingress, protocol: icmpv6}', field: 'spec.rules[0].protocol', message: 'icmpv6 does not go with IPv4' },
  ])('refuses $name, naming file, line and field', ({ rule, field, message }) => {
    const r = run(group(rule));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: 'groups.yaml', documentIndex: 0, key: 'SecurityGroup/shop/app', field });
    expect(r.errors[0]!.message).toContain(message);
    expect(r.errors[0]!.line).toBeGreaterThan(1);
    expect(r.objects.has('SecurityGroup/shop/web')).toBe(true);
  });

  it('a vNIC profile naming a group that does not exist in its namespace is refused; one in the namespace is admitted', () => {
    const net = 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: n1}\nspec: {physicalNetwork: physnet1, vlan: {id: 10}, shared: true}';
    const profile = (ns: string, sg: string) => `apiVersion: netform.io/v1alpha1\nkind: VnicProfile\nmetadata: {name: p-${sg}, namespace: ${ns}}\nspec: {network: n1, securityGroups: [{name: ${sg}}]}`;
    const r = run([net, profile('shop', 'web'), profile('other', 'web')].join('\n---\n'));
    expect(r.errors.map((e) => [e.key, e.field, e.message])).toEqual([['VnicProfile/other/p-web', 'spec.securityGroups[0].name', 'SecurityGroup "web" does not exist in namespace other']]);
    expect(r.objects.has('VnicProfile/shop/p-web')).toBe(true);
  });
});

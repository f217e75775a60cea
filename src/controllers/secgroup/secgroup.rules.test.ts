import { describe, expect, it } from 'vitest';
import type { SecurityGroup } from '../../api/kinds.ts';
import { groupRules } from './secgroup.rules.ts';

const spec = (rules: NonNullable<SecurityGroup['spec']['rules']>, defaultEgress: 'Allow' | 'Deny' = 'Deny'): SecurityGroup['spec'] => ({ stateful: true, defaultEgress, rules, managementPolicy: 'Managed', deletionPolicy: 'Delete' });

describe('groupRules', () => {
  it('canonical rules, sorted: ports only for tcp/udp (max defaults to min), CIDRs canonical, any protocol left out', () => {
    const got = groupRules(
      spec([
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 8080, remoteCidr: '10.10.1.7/24' },
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'any' },
        { direction: 'ingress', ethertype: 'IPv6', protocol: 'icmpv6' },
      ]),
      () => undefined,
    );
    expect(got).toEqual({
      rules: [
        { direction: 'ingress', ethertype: 'IPv4' },
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8080, remoteIpPrefix: '10.10.1.0/24' },
        { direction: 'ingress', ethertype: 'IPv6', protocol: 'icmpv6' },
      ],
    });
  });

  it('defaultEgress Allow adds allow-all egress per IP version, once; Deny adds nothing', () => {
    const allow = groupRules(spec([{ direction: 'egress', ethertype: 'IPv4', protocol: 'any' }], 'Allow'), () => undefined);
    expect(allow).toEqual({ rules: [{ direction: 'egress', ethertype: 'IPv4' }, { direction: 'egress', ethertype: 'IPv6' }] });
    expect(groupRules(spec([], 'Deny'), () => undefined)).toEqual({ rules: [] });
  });

  it('remote groups: resolved to ids, the group itself as self, unresolved ones reported', () => {
    const r = (remoteGroup: string) => ({ direction: 'ingress' as const, ethertype: 'IPv4' as const, protocol: 'tcp' as const, portRangeMin: 5432, remoteGroup });
    expect(groupRules(spec([r('app'), r('db')]), (n) => (n === 'app' ? 'id-app' : 'self'))).toEqual({
      rules: [
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 5432, portRangeMax: 5432, remoteGroupSelf: true },
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 5432, portRangeMax: 5432, remoteGroupId: 'id-app' },
      ],
    });
    expect(groupRules(spec([r('web'), r('app'), r('web')]), () => undefined)).toEqual({ missing: ['app', 'web'] });
  });

  it('is independent of the order rules are declared in, and drops duplicates', () => {
    const a = { direction: 'ingress' as const, ethertype: 'IPv4' as const, protocol: 'udp' as const, portRangeMin: 53 };
    const b = { direction: 'egress' as const, ethertype: 'IPv6' as const, protocol: 'tcp' as const, portRangeMin: 443 };
    expect(groupRules(spec([a, b, a]), () => undefined)).toEqual(groupRules(spec([b, a]), () => undefined));
  });
});

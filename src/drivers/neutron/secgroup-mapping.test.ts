import { describe, expect, it } from 'vitest';
import type { FieldChange, Owner } from '../driver.ts';
import type { SecurityGroupModel, SecurityGroupRuleModel } from '../model.ts';
import { ownerTags, pendingMarker } from './mapping.ts';
import {
  canonicalProtocol,
  canonicalRemotePrefix,
  canonicalRule,
  desiredRules,
  diffSecurityGroup,
  normalizeSecurityGroup,
  ruleBody,
  rulePlan,
  ruleText,
  securityGroupBody,
  securityGroupName,
  SECURITY_GROUP_NAME_MAX,
  type NeutronSecurityGroup,
  type NeutronSecurityGroupRule,
  type SecurityGroupState,
} from './secgroup-mapping.ts';

const owner: Owner = { instance: 'lab', kind: 'SecurityGroup', namespace: 'shop', name: 'web' };
const SG = 'd8a6b6f2-c6a3-428e-ba2f-5b7f35b2069c';
const DB_SG = 'b8c4c03a-cee3-47ea-9332-cc2dbe039701';

// ---- realistic Neutron bodies (shapes as Zed answered POST/GET /v2.0/security-groups) ----

function rule(over: Partial<NeutronSecurityGroupRule> & { id: string }): NeutronSecurityGroupRule {
  return {
    security_group_id: SG,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: null,
    remote_address_group_id: null,
    ...over,
  };
}

/** The two allow-all egress rules Neutron puts in every new group. */
const DEFAULT_EGRESS = [
  rule({ id: '82d85856-255c-4cf1-8f65-b11d50c49622', direction: 'egress', ethertype: 'IPv6' }),
  rule({ id: 'be41c52c-7c1d-4895-b93f-380850232600', direction: 'egress', ethertype: 'IPv4' }),
];

const WEB = rule({ id: '499d7dad-76b9-455e-9528-f9dab05ebedc', protocol: 'tcp', port_range_min: 8080, port_range_max: 8080, remote_ip_prefix: '10.0.0.0/24' });
const DB = rule({ id: 'e2b09e60-0164-422b-a48f-d8fb20bd4361', protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: DB_SG });
const PING = rule({ id: 'f9cc5d4d-203f-41cd-838d-b695cdbe11da', protocol: 'icmp' });
const SELF = rule({ id: 'e94147af-8788-4dbd-8d63-91494aeb1f6a', remote_group_id: SG });

function group(over: Partial<NeutronSecurityGroup> = {}): NeutronSecurityGroup {
  return {
    id: SG,
    name: 'shop_web',
    description: 'the web tier',
    stateful: true,
    security_group_rules: [WEB, DB, PING, SELF],
    tags: ownerTags(owner),
    revision_number: 9,
    ...over,
  };
}

function model(over: Partial<SecurityGroupModel> = {}): SecurityGroupModel {
  return {
    name: 'shop/web',
    description: 'the web tier',
    stateful: true,
    rules: [
      { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8080, remoteIpPrefix: '10.0.0.0/24' },
      { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 5432, portRangeMax: 5432, remoteGroupId: DB_SG },
      { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' },
      { direction: 'ingress', ethertype: 'IPv4', remoteGroupSelf: true },
    ],
    ...over,
  };
}

const state = (over: Partial<NeutronSecurityGroup> = {}): SecurityGroupState => normalizeSecurityGroup(group(over), owner, 'shop_web');
const paths = (changes: FieldChange[]) => changes.map((c) => c.path);

describe('securityGroupName', () => {
  it('is the namespace and name joined by _', () => {
    expect(securityGroupName({ name: 'shop/web' })).toBe('shop_web');
  });
  it('fits Neutron’s 255 characters, distinct names staying distinct', () => {
    const long = `${'n'.repeat(63)}/${'a'.repeat(253)}`;
    const other = `${'n'.repeat(63)}/${'a'.repeat(252)}b`;
    expect(securityGroupName({ name: long })).toHaveLength(SECURITY_GROUP_NAME_MAX);
    expect(securityGroupName({ name: long })).not.toBe(securityGroupName({ name: other }));
    expect(securityGroupName({ name: long })).toBe(securityGroupName({ name: long }));
  });
});

describe('canonical rules', () => {
  it('spells protocols as Neutron counts them the same: numbers and names, case, ICMP on IPv6', () => {
    expect(canonicalProtocol('6', 'IPv4')).toBe('tcp');
    expect(canonicalProtocol('TCP', 'IPv4')).toBe('tcp');
    expect(canonicalProtocol(17, 'IPv4')).toBe('udp');
    expect(canonicalProtocol('1', 'IPv4')).toBe('icmp');
    expect(canonicalProtocol('icmp', 'IPv6')).toBe('icmpv6');
    expect(canonicalProtocol('1', 'IPv6')).toBe('icmpv6');
    expect(canonicalProtocol('58', 'IPv6')).toBe('icmpv6');
    expect(canonicalProtocol('ipv6-icmp', 'IPv6')).toBe('icmpv6');
    expect(canonicalProtocol('112', 'IPv4')).toBe('112');
    expect(canonicalProtocol('vrrp', 'IPv4')).toBe('vrrp');
    expect(canonicalProtocol(null, 'IPv4')).toBeUndefined();
    expect(canonicalProtocol('any', 'IPv4')).toBeUndefined();
  });

  it('reads prefixes as their network; anywhere is no prefix; an address is a host prefix', () => {
    expect(canonicalRemotePrefix('10.0.0.5/24')).toBe('10.0.0.0/24');
    expect(canonicalRemotePrefix('2001:DB8::1/64')).toBe('2001:db8::/64');
    expect(canonicalRemotePrefix('0.0.0.0/0')).toBeUndefined();
    expect(canonicalRemotePrefix('::/0')).toBeUndefined();
    expect(canonicalRemotePrefix('192.0.2.7')).toBe('192.0.2.7/32');
    expect(canonicalRemotePrefix(null)).toBeUndefined();
  });

  it('makes a port range whole: a single port, the full range as none, none without a protocol; ICMP type and code as given', () => {
    const r = (x: Partial<SecurityGroupRuleModel>): SecurityGroupRuleModel => canonicalRule({ direction: 'ingress', ethertype: 'IPv4', ...x });
    expect(r({ protocol: 'udp', portRangeMin: 53 })).toEqual({ direction: 'ingress', ethertype: 'IPv4', protocol: 'udp', portRangeMin: 53, portRangeMax: 53 });
    expect(r({ protocol: 'tcp', portRangeMin: 1, portRangeMax: 65535 })).toEqual({ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp' });
    expect(r({ portRangeMin: 80, portRangeMax: 80 })).toEqual({ direction: 'ingress', ethertype: 'IPv4' });
    expect(r({ protocol: 'icmp', portRangeMin: 8 })).toEqual({ direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portRangeMin: 8 });
    expect(r({ protocol: 'icmp', portRangeMin: 8, portRangeMax: 0 })).toEqual({ direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portRangeMin: 8, portRangeMax: 0 });
  });

  it('reads the group’s own id as a self reference; a remote group wins over a prefix', () => {
    expect(canonicalRule({ direction: 'ingress', ethertype: 'IPv4', remoteGroupId: SG }, SG)).toEqual({ direction: 'ingress', ethertype: 'IPv4', remoteGroupSelf: true });
    expect(canonicalRule({ direction: 'ingress', ethertype: 'IPv4', remoteGroupId: DB_SG }, SG)).toEqual({ direction: 'ingress', ethertype: 'IPv4', remoteGroupId: DB_SG });
  });

  it('renders a rule as one readable line', () => {
    const t = (x: SecurityGroupRuleModel) => ruleText(canonicalRule(x));
    expect(t({ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8080, remoteIpPrefix: '10.0.0.0/24' })).toBe('ingress IPv4 tcp 8080-8080 from 10.0.0.0/24');
    expect(t({ direction: 'egress', ethertype: 'IPv6' })).toBe('egress IPv6 any to anywhere');
    expect(t({ direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portRangeMin: 8, portRangeMax: 0, remoteGroupSelf: true })).toBe('ingress IPv4 icmp type 8 code 0 from self');
    expect(t({ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 5432, portRangeMax: 5432, remoteGroupId: DB_SG })).toBe(`ingress IPv4 tcp 5432-5432 from group ${DB_SG}`);
  });
});

describe('normalizeSecurityGroup', () => {
  it('reads the group, its marks and every rule canonical, sorted by text, the self reference as self', () => {
    const s = normalizeSecurityGroup(group({ security_group_rules: [...DEFAULT_EGRESS, WEB, DB, PING, SELF] }), owner, 'shop_web');
    expect(s).toMatchObject({ id: SG, ours: true, tagged: true, name: 'shop_web', description: 'the web tier', stateful: true, revision: 9 });
    expect(s.rules.map((r) => r.text)).toEqual([
      'egress IPv4 any to anywhere',
      'egress IPv6 any to anywhere',
      'ingress IPv4 any from self',
      'ingress IPv4 icmp from anywhere',
      `ingress IPv4 tcp 5432-5432 from group ${DB_SG}`,
      'ingress IPv4 tcp 8080-8080 from 10.0.0.0/24',
    ]);
    expect(s.rules.find((r) => r.text === 'ingress IPv4 any from self')).toEqual({ id: SELF.id, text: 'ingress IPv4 any from self', rule: { direction: 'ingress', ethertype: 'IPv4', remoteGroupSelf: true } });
  });

  it('a group a create left untagged (pending marker) is ours but not tagged; a stateless one reads so', () => {
    const s = normalizeSecurityGroup(group({ tags: [], description: pendingMarker(owner), stateful: false }), owner, 'shop_web');
    expect(s).toMatchObject({ ours: true, tagged: false, description: pendingMarker(owner), stateful: false });
    expect(normalizeSecurityGroup(group({ tags: [], description: '' }), owner, 'shop_web').ours).toBe(false);
  });

  it('a rule with an address group peer never reads as a rule a model can have', () => {
    const s = state({ security_group_rules: [rule({ id: 'a1', remote_address_group_id: '5b1c1b22-6df4-4b65-a1b0-6f1a07a8a0e1' })] });
    expect(s.rules[0]!.text).toBe('ingress IPv4 any from anywhere (address group 5b1c1b22-6df4-4b65-a1b0-6f1a07a8a0e1)');
    expect(rulePlan(model({ rules: [{ direction: 'ingress', ethertype: 'IPv4' }] }), s)).toEqual({ create: [{ direction: 'ingress', ethertype: 'IPv4' }], delete: ['a1'] });
  });
});

describe('rulePlan', () => {
  it('a new group: the model’s rules to create, Neutron’s two default egress rules to delete', () => {
    const p = rulePlan(model(), state({ security_group_rules: DEFAULT_EGRESS }));
    expect(p.delete.sort()).toEqual(DEFAULT_EGRESS.map((r) => r.id).sort());
    expect(p.create.map((r) => ruleText(r))).toEqual(desiredRules(model(), SG).map((w) => w.text));
  });

  it('nothing to do when Neutron has exactly the rules, however they are spelled there', () => {
    const spelled = [
      { ...WEB, remote_ip_prefix: '10.0.0.77/24' },
      { ...DB, protocol: '6' },
      { ...PING, protocol: '1' },
      SELF,
    ];
    expect(rulePlan(model(), state({ security_group_rules: spelled }))).toEqual({ create: [], delete: [] });
  });

  it('an edit: a rule removed, one added, a port changed — the untouched rules stay', () => {
    const edited = model({
      rules: [
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 8443, portRangeMax: 8443, remoteIpPrefix: '10.0.0.0/24' },
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 5432, portRangeMax: 5432, remoteGroupId: DB_SG },
        { direction: 'ingress', ethertype: 'IPv4', remoteGroupSelf: true },
        { direction: 'egress', ethertype: 'IPv4', protocol: 'udp', portRangeMin: 53, portRangeMax: 53, remoteIpPrefix: '10.0.0.2/32' },
      ],
    });
    const p = rulePlan(edited, state());
    expect(p.delete.sort()).toEqual([WEB.id, PING.id].sort());
    expect(p.create.map((r) => ruleText(r)).sort()).toEqual(['egress IPv4 udp 53-53 to 10.0.0.2/32', 'ingress IPv4 tcp 8443-8443 from 10.0.0.0/24']);
  });

  it('a rule Neutron holds twice (two spellings of one canonical rule) keeps one copy', () => {
    const p = rulePlan(model(), state({ security_group_rules: [WEB, { ...WEB, id: 'f81e3958-66a3-47d0-ba85-765d76b8441c', remote_ip_prefix: '10.0.0.5/24' }, DB, PING, SELF] }));
    expect(p.create).toEqual([]);
    expect(p.delete).toHaveLength(1);
    expect([WEB.id, 'f81e3958-66a3-47d0-ba85-765d76b8441c']).toContain(p.delete[0]);
  });
});

describe('diffSecurityGroup', () => {
  it('none when equal, whatever the order of the model’s rules and with duplicates in it', () => {
    const m = model();
    expect(diffSecurityGroup(m, state())).toEqual([]);
    expect(diffSecurityGroup({ ...m, rules: [...m.rules].reverse() }, state())).toEqual([]);
    expect(diffSecurityGroup({ ...m, rules: [...m.rules, m.rules[0]!] }, state())).toEqual([]);
    expect(diffSecurityGroup(m, state({ security_group_rules: [SELF, PING, DB, WEB] }))).toEqual([]);
  });

  it('a self reference given as the group’s own id is the same rule', () => {
    const m = model();
    const byId = { ...m, rules: [...m.rules.slice(0, 3), { direction: 'ingress' as const, ethertype: 'IPv4' as const, remoteGroupId: SG }] };
    expect(diffSecurityGroup(byId, state())).toEqual([]);
    // … while a reference to another group is not a self reference.
    const other = { ...m, rules: [...m.rules.slice(0, 3), { direction: 'ingress' as const, ethertype: 'IPv4' as const, remoteGroupId: DB_SG }] };
    expect(paths(diffSecurityGroup(other, state()))).toEqual(['rules']);
  });

  it('name, description, tags', () => {
    expect(diffSecurityGroup(model(), state({ name: 'web' }))).toEqual([{ path: 'name', from: 'web', to: 'shop_web' }]);
    expect(diffSecurityGroup(model({ description: undefined }), state())).toEqual([{ path: 'description', from: 'the web tier', to: '' }]);
    expect(diffSecurityGroup(model(), state({ tags: [], description: pendingMarker(owner) }))).toEqual([
      { path: 'description', from: pendingMarker(owner), to: 'the web tier' },
      { path: 'tags', from: 'untagged', to: 'owner tags' },
    ]);
  });

  it('stateful is immutable (Neutron refuses the change while a port uses the group)', () => {
    expect(diffSecurityGroup(model({ stateful: false }), state())).toEqual([{ path: 'stateful', from: true, to: false, immutable: true }]);
  });

  it('rules: the lists before and after, readable; each field of a rule counts', () => {
    const m = model({ rules: [{ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8080, remoteIpPrefix: '10.0.0.0/24' }] });
    const s = state({ security_group_rules: [WEB] });
    expect(diffSecurityGroup(m, s)).toEqual([]);
    const variants: Partial<SecurityGroupRuleModel>[] = [
      { direction: 'egress' },
      { ethertype: 'IPv6', remoteIpPrefix: '2001:db8::/64' },
      { protocol: 'udp' },
      { portRangeMax: 8081 },
      { portRangeMin: 8000 },
      { remoteIpPrefix: '10.0.1.0/24' },
      { remoteIpPrefix: undefined },
      { remoteIpPrefix: undefined, remoteGroupId: DB_SG },
      { remoteIpPrefix: undefined, remoteGroupSelf: true },
    ];
    for (const v of variants) {
      const changed = { ...m, rules: [{ ...m.rules[0]!, ...v }] };
      const d = diffSecurityGroup(changed, s);
      expect(d, JSON.stringify(v)).toHaveLength(1);
      expect(d[0]!.path).toBe('rules');
      expect(d[0]!.immutable).toBeUndefined();
      expect(d[0]!.from).toEqual(['ingress IPv4 tcp 8080-8080 from 10.0.0.0/24']);
      expect(d[0]!.to).toEqual([ruleText(canonicalRule(changed.rules[0]!, SG))]);
    }
  });

  it('Neutron’s default egress rules in a group are a change (they go)', () => {
    const d = diffSecurityGroup(model(), state({ security_group_rules: [...DEFAULT_EGRESS, WEB, DB, PING, SELF] }));
    expect(paths(d)).toEqual(['rules']);
    expect(d[0]!.from).toContain('egress IPv4 any to anywhere');
    expect(d[0]!.to).not.toContain('egress IPv4 any to anywhere');
  });
});

describe('bodies', () => {
  it('a group POST: its name, the pending marker as description, stateful; the project under noauth', () => {
    expect(securityGroupBody(model({ stateful: false }), owner, undefined)).toEqual({ name: 'shop_web', description: pendingMarker(owner), stateful: false });
    expect(securityGroupBody(model(), owner, 'p1')).toEqual({ name: 'shop_web', description: pendingMarker(owner), stateful: true, project_id: 'p1' });
  });

  it('a rule POST: canonical fields only; self as the group’s own id; anywhere as no prefix', () => {
    expect(ruleBody({ direction: 'ingress', ethertype: 'IPv4', protocol: '6', portRangeMin: 8080, remoteIpPrefix: '10.0.0.9/24' }, SG, undefined)).toEqual({
      security_group_id: SG,
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'tcp',
      port_range_min: 8080,
      port_range_max: 8080,
      remote_ip_prefix: '10.0.0.0/24',
    });
    expect(ruleBody({ direction: 'ingress', ethertype: 'IPv6', remoteGroupSelf: true }, SG, 'p1')).toEqual({ security_group_id: SG, direction: 'ingress', ethertype: 'IPv6', remote_group_id: SG, project_id: 'p1' });
    expect(ruleBody({ direction: 'egress', ethertype: 'IPv4', remoteIpPrefix: '0.0.0.0/0' }, SG, undefined)).toEqual({ security_group_id: SG, direction: 'egress', ethertype: 'IPv4' });
    expect(ruleBody({ direction: 'ingress', ethertype: 'IPv6', protocol: 'icmpv6', portRangeMin: 128 }, SG, undefined)).toEqual({
      security_group_id: SG,
      direction: 'ingress',
      ethertype: 'IPv6',
      protocol: 'icmpv6',
      port_range_min: 128,
    });
  });
});

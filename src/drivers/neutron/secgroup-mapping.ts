// Neutron security groups ⇄ netform's SecurityGroupModel: the group and rule fields read, rules in
// one canonical form (so a rule is the same rule however it was written), the normalized observed
// state, the diff and the request bodies. Pure.
//
// What the canonical form follows (checked against Neutron Zed): Neutron stores a rule's protocol and
// remote_ip_prefix as they were given, but refuses a second rule that differs only in spelling
// (SecurityGroupRuleExists): `6` is `tcp`, `17` `udp`, `1` `icmp`; on IPv6 `icmp`, `1`, `58`,
// `icmpv6` and `ipv6-icmp` are all ICMPv6 (`icmp` and `icmpv6` are stored as `ipv6-icmp`, the
// numbers as given); a name is lower-cased; a TCP or UDP range 1-65535 is stored as no range; a
// prefix 0.0.0.0/0 or ::/0 is the same as none. Prefixes with host bits (10.0.0.5/24) are NOT
// the same rule as their network to Neutron; netform writes canonical prefixes only, and reads a
// stray one as its network (a duplicate of it is then an extra rule to delete).
import { createHash } from 'node:crypto';
import { sameContent } from '../../api/json.ts';
import { formatAddress, parseAddress, parsePrefix } from '../../api/ip.ts';
import type { FieldChange, Owner } from '../driver.ts';
import type { SecurityGroupModel, SecurityGroupRuleModel } from '../model.ts';
import { hasTag, isOurs, ownerTag, pendingMarker } from './mapping.ts';

// ---- what Neutron returns (the fields we read) -----------------------------------------------------

export interface NeutronSecurityGroupRule {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  remote_address_group_id?: string | null;
}

export interface NeutronSecurityGroup {
  id: string;
  name: string;
  description?: string;
  stateful?: boolean;
  security_group_rules?: NeutronSecurityGroupRule[];
  tags?: string[];
  revision_number: number;
}

// ---- names ---------------------------------------------------------------------------------------

/** Neutron's limit on a security group's name. */
export const SECURITY_GROUP_NAME_MAX = 255;

/**
 * The Neutron name of a SecurityGroup's group: its `<namespace>/<name>` with the slash as `_` (which
 * neither a namespace nor a name can contain, so the name reads back unambiguously, and the CLI does
 * not take it for a path). A name longer than Neutron allows keeps its first characters and ends in
 * a digest of the whole.
 */
export function securityGroupName(m: Pick<SecurityGroupModel, 'name'>): string {
  const name = m.name.replace('/', '_');
  if (name.length <= SECURITY_GROUP_NAME_MAX) return name;
  const digest = createHash('sha256').update(m.name).digest('hex').slice(0, 16);
  return `${name.slice(0, SECURITY_GROUP_NAME_MAX - digest.length - 1)}-${digest}`;
}

// ---- canonical rules ------------------------------------------------------------------------------

/** Protocol numbers Neutron takes as the same rule as a name. */
const PROTOCOL_NAMES: Readonly<Record<string, string>> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'icmpv6', 'ipv6-icmp': 'icmpv6' };

/** The protocol of a rule in one spelling: undefined for any, names for tcp/udp/icmp/icmpv6, ICMP on IPv6 as icmpv6. */
export function canonicalProtocol(protocol: string | number | null | undefined, ethertype: 'IPv4' | 'IPv6'): string | undefined {
  if (protocol === null || protocol === undefined) return undefined;
  let p = String(protocol).trim().toLowerCase();
  if (p === '' || p === 'any') return undefined;
  if (/^\d+$/.test(p)) p = String(Number(p));
  p = PROTOCOL_NAMES[p] ?? p;
  if (ethertype === 'IPv6' && p === 'icmp') p = 'icmpv6';
  return p;
}

const isIcmp = (p: string | undefined) => p === 'icmp' || p === 'icmpv6';

/** A prefix as its network (an address alone is a host prefix); anywhere (0.0.0.0/0, ::/0) is undefined. */
export function canonicalRemotePrefix(prefix: string | null | undefined): string | undefined {
  if (prefix === null || prefix === undefined || prefix === '') return undefined;
  let p = parsePrefix(prefix);
  if (!p) {
    const a = parseAddress(prefix);
    if (!a) return prefix;
    p = parsePrefix(`${formatAddress(a)}/${a.version === 4 ? 32 : 128}`)!;
  }
  return p.prefixLength === 0 ? undefined : p.canonical;
}

/**
 * A rule in the one form both sides are compared in. `selfId` is the group's own id (unknown before
 * it exists): a rule whose remote group is the group itself reads as `remoteGroupSelf`. Fields that
 * do not apply are absent, never undefined-valued, so two canonical rules compare by content.
 */
export function canonicalRule(r: SecurityGroupRuleModel, selfId?: string): SecurityGroupRuleModel {
  const protocol = canonicalProtocol(r.protocol, r.ethertype);
  const out: SecurityGroupRuleModel = { direction: r.direction, ethertype: r.ethertype };
  if (protocol !== undefined) out.protocol = protocol;
  let min = r.portRangeMin ?? undefined;
  let max = r.portRangeMax ?? undefined;
  if (protocol === undefined) {
    // Neutron refuses a port range without a protocol; what is left is any traffic.
    min = max = undefined;
  } else if (!isIcmp(protocol)) {
    // A single port may be given as its minimum alone; the whole range is no range.
    if (min !== undefined && max === undefined) max = min;
    if (min === undefined && max !== undefined) min = max;
    if (min === 1 && max === 65535) min = max = undefined;
  }
  // ICMP: the minimum is the type, the maximum the code; each stands on its own.
  if (min !== undefined) out.portRangeMin = min;
  if (max !== undefined) out.portRangeMax = max;
  if (r.remoteGroupSelf || (selfId !== undefined && r.remoteGroupId === selfId)) out.remoteGroupSelf = true;
  else if (r.remoteGroupId) out.remoteGroupId = r.remoteGroupId;
  else {
    const prefix = canonicalRemotePrefix(r.remoteIpPrefix);
    if (prefix !== undefined) out.remoteIpPrefix = prefix;
  }
  return out;
}

/**
 * A canonical rule as one line of text, e.g. `ingress IPv4 tcp 8080-8080 from 10.0.0.0/24`,
 * `egress IPv6 any to anywhere`, `ingress IPv4 icmp type 8 from self`. Two canonical rules are the
 * same rule exactly when their texts are equal: the text is the rule's identity in the diff.
 */
export function ruleText(c: SecurityGroupRuleModel): string {
  let ports = '';
  if (isIcmp(c.protocol)) {
    if (c.portRangeMin !== undefined) ports += ` type ${c.portRangeMin}`;
    if (c.portRangeMax !== undefined) ports += ` code ${c.portRangeMax}`;
  } else if (c.portRangeMin !== undefined || c.portRangeMax !== undefined) {
    ports = ` ${c.portRangeMin ?? ''}-${c.portRangeMax ?? ''}`;
  }
  const peer = c.remoteGroupSelf ? 'self' : c.remoteGroupId ? `group ${c.remoteGroupId}` : (c.remoteIpPrefix ?? 'anywhere');
  return `${c.direction} ${c.ethertype} ${c.protocol ?? 'any'}${ports} ${c.direction === 'ingress' ? 'from' : 'to'} ${peer}`;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The model's rules, canonical, de-duplicated and sorted by their text. */
export function desiredRules(m: SecurityGroupModel, selfId?: string): { text: string; rule: SecurityGroupRuleModel }[] {
  const seen = new Map<string, SecurityGroupRuleModel>();
  for (const r of m.rules) {
    const c = canonicalRule(r, selfId);
    seen.set(ruleText(c), c);
  }
  return [...seen.entries()].sort(([a], [b]) => byText(a, b)).map(([text, rule]) => ({ text, rule }));
}

/** A Neutron rule as a canonical rule of the group `selfId`. */
export function ruleFromNeutron(r: NeutronSecurityGroupRule, selfId: string): SecurityGroupRuleModel {
  const m: SecurityGroupRuleModel = { direction: r.direction, ethertype: r.ethertype };
  if (r.protocol !== null) m.protocol = r.protocol;
  if (r.port_range_min !== null) m.portRangeMin = r.port_range_min;
  if (r.port_range_max !== null) m.portRangeMax = r.port_range_max;
  if (r.remote_ip_prefix !== null) m.remoteIpPrefix = r.remote_ip_prefix;
  if (r.remote_group_id !== null) m.remoteGroupId = r.remote_group_id;
  return canonicalRule(m, selfId);
}

// ---- normalized observed state -------------------------------------------------------------------

export interface ObservedRule {
  /** Neutron's id of the rule (to delete it). */
  id: string;
  /** `ruleText` of the canonical rule. */
  text: string;
  rule: SecurityGroupRuleModel;
}

export interface SecurityGroupState {
  /** The group's Neutron id (a rule naming it as its remote group is a self reference). */
  id: string;
  /** Whether netform created it (owner tag, pending marker, or half-marked under its name). */
  ours: boolean;
  /** Whether it carries the owner tags (false right after a create that did not get to tag it). */
  tagged: boolean;
  name: string;
  description: string;
  stateful: boolean;
  /** Every rule, canonical, sorted by text (duplicates kept: one of them is extra). */
  rules: ObservedRule[];
  revision: number;
}

export function normalizeSecurityGroup(g: NeutronSecurityGroup, owner: Owner, name?: string): SecurityGroupState {
  const rules = (g.security_group_rules ?? [])
    .filter((r) => r.security_group_id === undefined || r.security_group_id === g.id)
    .map((r) => {
      const rule = ruleFromNeutron(r, g.id);
      // A peer in an address group is nothing a model says: such a rule never matches one.
      const text = ruleText(rule) + (r.remote_address_group_id ? ` (address group ${r.remote_address_group_id})` : '');
      return { id: r.id, text, rule };
    })
    .sort((a, b) => byText(a.text, b.text) || byText(a.id, b.id));
  return {
    id: g.id,
    ours: isOurs(g, owner, name),
    tagged: hasTag(g.tags, ownerTag(owner)),
    name: g.name,
    description: g.description ?? '',
    // Neutron without the stateful-security-group extension has only stateful groups.
    stateful: g.stateful ?? true,
    rules,
    revision: g.revision_number,
  };
}

/** What the rules need: those to create (the model's missing ones) and the ids to delete (rules not
 *  in the model, and every copy of a rule after its first). */
export function rulePlan(m: SecurityGroupModel, s: SecurityGroupState): { create: SecurityGroupRuleModel[]; delete: string[] } {
  const want = desiredRules(m, s.id);
  const wanted = new Set(want.map((w) => w.text));
  const kept = new Set<string>();
  const del: string[] = [];
  for (const r of s.rules) {
    if (wanted.has(r.text) && !kept.has(r.text)) kept.add(r.text);
    else del.push(r.id);
  }
  return { create: want.filter((w) => !kept.has(w.text)).map((w) => w.rule), delete: del };
}

// ---- diff ----------------------------------------------------------------------------------------

/**
 * What differs between the model and the observed group. Neutron changes the name and description in
 * place, and the rules by adding and deleting rules of the same group (its id, and so the ports'
 * membership, stay). `stateful` it changes only while no port uses the group (409
 * SecurityGroupInUse otherwise): immutable, a replace.
 */
export function diffSecurityGroup(m: SecurityGroupModel, s: SecurityGroupState): FieldChange[] {
  const out: FieldChange[] = [];
  const cmp = (path: string, to: unknown, from: unknown, immutable = false) => {
    if (!sameContent(to, from)) out.push(immutable ? { path, from, to, immutable } : { path, from, to });
  };
  cmp('name', securityGroupName(m), s.name);
  cmp('description', m.description ?? '', s.description);
  if (!s.tagged) out.push({ path: 'tags', from: 'untagged', to: 'owner tags' });
  cmp('stateful', m.stateful, s.stateful, true);
  const plan = rulePlan(m, s);
  if (plan.create.length || plan.delete.length) {
    out.push({ path: 'rules', from: s.rules.map((r) => r.text), to: desiredRules(m, s.id).map((w) => w.text) });
  }
  return out;
}

// ---- request bodies ------------------------------------------------------------------------------

/** The body of a group POST: its description is the pending marker until it is tagged. Rules are
 *  added after (Neutron adds its two allow-all egress rules to every new group; they go then too). */
export function securityGroupBody(m: SecurityGroupModel, owner: Owner, projectId: string | undefined): Record<string, unknown> {
  const b: Record<string, unknown> = { name: securityGroupName(m), description: pendingMarker(owner), stateful: m.stateful };
  if (projectId) b.project_id = projectId;
  return b;
}

/** The body of a rule POST for the group `groupId`, from a canonical rule. */
export function ruleBody(r: SecurityGroupRuleModel, groupId: string, projectId: string | undefined): Record<string, unknown> {
  const c = canonicalRule(r, groupId);
  const b: Record<string, unknown> = { security_group_id: groupId, direction: c.direction, ethertype: c.ethertype };
  if (c.protocol !== undefined) b.protocol = c.protocol;
  if (c.portRangeMin !== undefined) b.port_range_min = c.portRangeMin;
  if (c.portRangeMax !== undefined) b.port_range_max = c.portRangeMax;
  if (c.remoteGroupSelf) b.remote_group_id = groupId;
  else if (c.remoteGroupId) b.remote_group_id = c.remoteGroupId;
  else if (c.remoteIpPrefix) b.remote_ip_prefix = c.remoteIpPrefix;
  if (projectId) b.project_id = projectId;
  return b;
}

// A SecurityGroup's rules as a backend keeps them: canonical, sorted, with the default egress made
// explicit and remote groups resolved to the backend's ids. Pure.
import { parsePrefix } from '../../api/ip.ts';
import type { SecurityGroup } from '../../api/kinds.ts';
import type { SecurityGroupRuleModel } from '../../drivers/model.ts';

/** How a remote group resolves on one provider: its id, `self` (this group), or undefined (not there yet). */
export type RemoteGroupId = (name: string) => string | 'self' | undefined;

const ruleKey = (r: SecurityGroupRuleModel) => JSON.stringify([r.direction, r.ethertype, r.protocol ?? '', r.portRangeMin ?? 0, r.portRangeMax ?? 0, r.remoteIpPrefix ?? '', r.remoteGroupId ?? '', r.remoteGroupSelf ?? false]);

/**
 * The rules, or the names of the remote groups that are not resolved yet. Ports only for tcp and
 * udp (portRangeMax defaults to portRangeMin); `defaultEgress: Allow` adds an allow-all egress rule
 * per IP version unless one is declared; duplicates are dropped.
 */
export function groupRules(spec: SecurityGroup['spec'], remote: RemoteGroupId): { rules: SecurityGroupRuleModel[] } | { missing: string[] } {
  const missing: string[] = [];
  const out = new Map<string, SecurityGroupRuleModel>();
  const add = (r: SecurityGroupRuleModel) => out.set(ruleKey(r), r);
  for (const x of spec.rules ?? []) {
    const r: SecurityGroupRuleModel = { direction: x.direction, ethertype: x.ethertype };
    if (x.protocol !== 'any') r.protocol = x.protocol;
    if ((x.protocol === 'tcp' || x.protocol === 'udp') && x.portRangeMin !== undefined) {
      r.portRangeMin = x.portRangeMin;
      r.portRangeMax = x.portRangeMax ?? x.portRangeMin;
    }
    if (x.remoteCidr !== undefined) r.remoteIpPrefix = parsePrefix(x.remoteCidr)?.canonical ?? x.remoteCidr;
    if (x.remoteGroup !== undefined) {
      const id = remote(x.remoteGroup);
      if (id === undefined) missing.push(x.remoteGroup);
      else if (id === 'self') r.remoteGroupSelf = true;
      else r.remoteGroupId = id;
    }
    add(r);
  }
  if (missing.length) return { missing: [...new Set(missing)].sort() };
  if (spec.defaultEgress === 'Allow') {
    for (const ethertype of ['IPv4', 'IPv6'] as const) add({ direction: 'egress', ethertype });
  }
  return { rules: [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r) };
}

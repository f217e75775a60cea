// Security groups on the linux-bridge fabric as nftables rules: the tables as they should be, the
// script that removes them, and the digest read back from the kernel. Pure: the caller feeds the
// script to `nft -f -` on stdin (never through a shell).
//
// Layout (the kernel has br_netfilter but no nf_conntrack_bridge, so `ct` only works in `inet`):
//
//   table bridge netform   chain forward (hook forward, priority -10, before br_netfilter's hook at 0)
//     sees the real bridge ports in iifname/oifname. For a packet from or to one of our taps it clears
//     mark bits 0-11 and 16-27 (the rest of the mark is left alone: kube-proxy & co. use 14/15), then
//     writes the sender tap's id into bits 16-27 and the receiver tap's id into bits 0-11
//     (`iifname vmap` / `oifname vmap` → one-rule chains mark_from_<id> / mark_to_<id>).
//   table inet netform     chain forward (hook forward, priority filter), reached by bridged IPv4/IPv6
//     through br_netfilter, with conntrack, but with iifname = the bridge; it reads the ids back:
//       - neither id set: accept (the packet is not ours; later chains still see it);
//       - a reply-direction packet of an established connection, or a related one (ICMP errors):
//         accepted, except that a stateless tap's own chain still judges it;
//       - otherwise (every original-direction packet, not only the first): the sender's egress chain
//         and the receiver's ingress chain (`meta mark & mask vmap { id : jump egress_<id> }`).
//     egress_<id> / ingress_<id>: implicit infrastructure traffic (below) returns, then `ct state
//     invalid drop` (stateful taps only), then one `return` per allow rule, then `drop`.
//
// Both tables are replaced in one `nft -f` transaction (conntrack entries survive it): a flow whose
// rule is gone is dropped at its next original-direction packet, flows still allowed keep going.
//
// Implicit rules (as Neutron's firewall drivers have them; without them IPv6 and DHCP would not work
// behind a deny-by-default ingress): in, IPv6 neighbour discovery (NS/NA/RA), MLD queries, DHCP and
// DHCPv6 server replies; out, IPv6 NS/NA/RS, MLD reports, DHCP and DHCPv6 client requests (conntrack
// leaves ND and MLD untracked; they are matched before the invalid drop all the same).
//
// The digest of the tables is in each table's comment `netform:<digest>` and, because nft 1.0.6 (Debian
// 12) prints neither table nor chain comments in JSON, also in the comment of a named counter `digest`
// in each table: `nft -j list counters` shows it (and `nft -j list tables` does on newer nft).
import { createHash } from 'node:crypto';
import { formatAddress, parseAddress, parsePrefix } from '../../api/ip.ts';
import { isIfname } from './model.ts';

export interface FirewallRule {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** tcp, udp, icmp, icmpv6; undefined: any protocol. */
  protocol?: 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  portRangeMin?: number;
  portRangeMax?: number;
  /** Where the peer must be: CIDRs or single addresses (a remote group's members' addresses, resolved by the caller); undefined: anywhere; [] : nowhere (the rule matches nothing). */
  remote?: string[];
}

export interface FirewallPort {
  /** The tap (validated as an interface name). */
  device: string;
  /** Stateful (default true): replies of allowed connections pass. */
  stateful?: boolean;
  /** The union of the rules of the port's groups. */
  rules: FirewallRule[];
}

export const FIREWALL_TABLE = 'netform'; // table names: `inet netform` and `bridge netform`

/** Mark bits holding the sending tap's id (16-27) and the receiving tap's id (0-11). */
const SENDER_MASK = 0x0fff0000;
const RECEIVER_MASK = 0x00000fff;
/** Everything but the two id fields: what `meta mark` keeps of other software's bits. */
const KEEP_MASK = ~(SENDER_MASK | RECEIVER_MASK) >>> 0; // 0xf000f000
const MAX_ID = 0xfff;
/** The named counter whose comment carries the digest (visible in `nft -j list counters` on nft 1.0.6). */
const DIGEST_OBJECT = 'digest';
const COMMENT_PREFIX = 'netform:';
const PLACEHOLDER = '@DIGEST@';

const hex = (n: number, width = 8) => `0x${n.toString(16).padStart(width, '0')}`;

/**
 * The id (1..4095) of each tap: a hash of its name, the next free one on a clash (names in sorted
 * order, so the same set of names always gets the same ids). Throws past 4095 taps.
 */
function firewallIds(names: string[]): Map<string, number> {
  if (names.length > MAX_ID) throw new Error(`firewall: ${names.length} ports, at most ${MAX_ID} fit in the mark`);
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const n of [...names].sort()) {
    let id = (Number.parseInt(createHash('sha256').update(n).digest('hex').slice(0, 4), 16) % MAX_ID) + 1;
    while (used.has(id)) id = (id % MAX_ID) + 1;
    used.add(id);
    out.set(n, id);
  }
  return out;
}

// ---- addresses ------------------------------------------------------------------------------------

interface Interval {
  first: bigint;
  last: bigint;
}

/** The peer addresses of one IP version as nft set elements (merged, sorted); 'any' when they cover everything. */
function peerElements(remote: string[], version: 4 | 6): string[] | 'any' {
  const bits = version === 4 ? 32 : 128;
  const intervals: Interval[] = [];
  for (const text of remote) {
    const p = parsePrefix(text);
    const a = p ? undefined : parseAddress(text);
    if (!p && !a) throw new Error(`firewall: ${JSON.stringify(text)} is not an address or a CIDR`);
    if ((p?.version ?? a!.version) !== version) continue; // the other IP version's members: not this rule's
    intervals.push(p ? { first: p.first, last: p.last } : { first: a!.value, last: a!.value });
  }
  intervals.sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
  const merged: Interval[] = [];
  for (const i of intervals) {
    const top = merged[merged.length - 1];
    if (top && i.first <= top.last + 1n) {
      if (i.last > top.last) top.last = i.last;
    } else merged.push({ ...i });
  }
  const all = (1n << BigInt(bits)) - 1n;
  if (merged.length === 1 && merged[0]!.first === 0n && merged[0]!.last === all) return 'any';
  const out: string[] = [];
  const fmt = (value: bigint) => formatAddress({ version, value });
  for (const { first, last } of merged) {
    // Split each interval into the largest aligned prefixes (nft would refuse overlapping elements;
    // merged intervals never overlap, and prefixes read better than ranges in `nft list`).
    let at = first;
    while (at <= last) {
      let len = bits;
      while (len > 0) {
        const size = 1n << BigInt(bits - len + 1);
        if (at % size !== 0n || at + size - 1n > last) break;
        len--;
      }
      out.push(len === bits ? fmt(at) : `${fmt(at)}/${len}`);
      at += 1n << BigInt(bits - len);
    }
  }
  return out;
}

// ---- rules -----------------------------------------------------------------------------------------

function checkInt(v: number | undefined, lo: number, hi: number, what: string): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi)) throw new Error(`firewall: ${what} ${String(v)} is not an integer in ${lo}..${hi}`);
}

/**
 * One allow rule as the match part of an nft rule (the caller appends `return`), or undefined when it
 * matches nothing. Ports: tcp/udp, min alone is one port, max alone too (as Neutron reads them); ICMP:
 * min is the type and max the code (Neutron's convention). ICMP on IPv6 is ICMPv6.
 */
function ruleMatch(r: FirewallRule): string | undefined {
  if (r.direction !== 'ingress' && r.direction !== 'egress') throw new Error(`firewall: bad direction ${JSON.stringify(r.direction)}`);
  if (r.ethertype !== 'IPv4' && r.ethertype !== 'IPv6') throw new Error(`firewall: bad ethertype ${JSON.stringify(r.ethertype)}`);
  const v6 = r.ethertype === 'IPv6';
  const parts = [`meta nfproto ${v6 ? 'ipv6' : 'ipv4'}`];
  if (r.remote !== undefined) {
    if (!Array.isArray(r.remote)) throw new Error('firewall: remote must be a list of addresses');
    const peers = peerElements(r.remote, v6 ? 6 : 4);
    if (peers !== 'any') {
      if (!peers.length) return undefined;
      parts.push(`${v6 ? 'ip6' : 'ip'} ${r.direction === 'ingress' ? 'saddr' : 'daddr'} { ${peers.join(', ')} }`);
    }
  }
  const { portRangeMin: min, portRangeMax: max } = r;
  switch (r.protocol) {
    case undefined:
      if (min !== undefined || max !== undefined) throw new Error('firewall: a port range needs a protocol');
      break;
    case 'tcp':
    case 'udp': {
      checkInt(min, 1, 65535, 'port');
      checkInt(max, 1, 65535, 'port');
      const lo = min ?? max;
      const hi = max ?? min;
      parts.push(`meta l4proto ${r.protocol}`);
      if (lo !== undefined && hi !== undefined) {
        if (lo > hi) throw new Error(`firewall: port range ${lo}-${hi} is empty`);
        if (!(lo === 1 && hi === 65535)) parts.push(`th dport ${lo === hi ? lo : `${lo}-${hi}`}`);
      }
      break;
    }
    case 'icmp':
    case 'icmpv6': {
      if (r.protocol === 'icmpv6' && !v6) throw new Error('firewall: icmpv6 on IPv4');
      checkInt(min, 0, 255, 'ICMP type');
      checkInt(max, 0, 255, 'ICMP code');
      if (min === undefined && max !== undefined) throw new Error('firewall: an ICMP code needs a type');
      const icmp = v6 ? 'icmpv6' : 'icmp';
      parts.push(`meta l4proto ${v6 ? 'ipv6-icmp' : 'icmp'}`);
      if (min !== undefined) parts.push(`${icmp} type ${min}`);
      if (max !== undefined) parts.push(`${icmp} code ${max}`);
      break;
    }
    default:
      throw new Error(`firewall: bad protocol ${JSON.stringify(r.protocol)}`);
  }
  return parts.join(' ');
}

/** What every tap may receive and send whatever its rules say (Neutron's implicit rules). */
const IMPLICIT_INGRESS = [
  'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, mld-listener-query } return',
  'meta nfproto ipv4 udp sport 67 udp dport 68 return',
  'meta nfproto ipv6 udp sport 547 udp dport 546 return',
];
const IMPLICIT_EGRESS = [
  'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, mld-listener-report, mld2-listener-report } return',
  'meta nfproto ipv4 udp sport 68 udp dport 67 return',
  'meta nfproto ipv6 udp sport 546 udp dport 547 return',
];

// ---- script ----------------------------------------------------------------------------------------

const quote = (s: string) => `"${s}"`;

/** `table F netform {}` + `delete table F netform`: removes the table whether or not it exists. */
function dropTables(): string[] {
  return ['inet', 'bridge'].flatMap((f) => [`table ${f} ${FIREWALL_TABLE} {}`, `delete table ${f} ${FIREWALL_TABLE}`]);
}

function digestObject(): string[] {
  return [`\tcounter ${DIGEST_OBJECT} {`, `\t\tcomment "${COMMENT_PREFIX}${PLACEHOLDER}"`, '\t}'];
}

/** The nft tables as they should be, and a digest of them. Throws on a bad device name or address. */
export function renderFirewall(ports: FirewallPort[]): { script: string; digest: string } {
  const seen = new Set<string>();
  for (const p of ports) {
    if (typeof p.device !== 'string' || !isIfname(p.device)) throw new Error(`firewall: ${JSON.stringify(p.device)} is not an interface name`);
    if (seen.has(p.device)) throw new Error(`firewall: port ${p.device} given twice`);
    seen.add(p.device);
  }
  const ids = firewallIds([...seen]);
  const sorted = [...ports].sort((a, b) => ids.get(a.device)! - ids.get(b.device)!);
  const senderMark = (id: number) => hex(id << 16);
  const receiverMark = (id: number) => hex(id);

  const bridge: string[] = [`table bridge ${FIREWALL_TABLE} {`, `\tcomment "${COMMENT_PREFIX}${PLACEHOLDER}"`, ...digestObject()];
  const inet: string[] = [`table inet ${FIREWALL_TABLE} {`, `\tcomment "${COMMENT_PREFIX}${PLACEHOLDER}"`, ...digestObject()];

  if (sorted.length) {
    const devices = sorted.map((p) => quote(p.device));
    bridge.push(
      '\tset ports {',
      '\t\ttype ifname',
      `\t\telements = { ${devices.join(', ')} }`,
      '\t}',
      '\tchain forward {',
      '\t\ttype filter hook forward priority -10; policy accept;',
      `\t\tiifname @ports meta mark set meta mark & ${hex(KEEP_MASK)}`,
      `\t\toifname @ports meta mark set meta mark & ${hex(KEEP_MASK)}`,
      `\t\tiifname vmap { ${sorted.map((p) => `${quote(p.device)} : jump mark_from_${ids.get(p.device)}`).join(', ')} }`,
      `\t\toifname vmap { ${sorted.map((p) => `${quote(p.device)} : jump mark_to_${ids.get(p.device)}`).join(', ')} }`,
      '\t}',
    );
    for (const p of sorted) {
      const id = ids.get(p.device)!;
      bridge.push(
        `\tchain mark_from_${id} {`,
        `\t\tcomment ${quote(p.device)}`,
        `\t\tmeta mark set meta mark | ${senderMark(id)}`,
        '\t}',
        `\tchain mark_to_${id} {`,
        `\t\tcomment ${quote(p.device)}`,
        `\t\tmeta mark set meta mark | ${receiverMark(id)}`,
        '\t}',
      );
    }

    const egressVmap = (ps: FirewallPort[]) =>
      `meta mark & ${hex(SENDER_MASK)} vmap { ${ps.map((p) => `${senderMark(ids.get(p.device)!)} : jump egress_${ids.get(p.device)}`).join(', ')} }`;
    const ingressVmap = (ps: FirewallPort[]) =>
      `meta mark & ${hex(RECEIVER_MASK)} vmap { ${ps.map((p) => `${receiverMark(ids.get(p.device)!)} : jump ingress_${ids.get(p.device)}`).join(', ')} }`;
    const stateless = sorted.filter((p) => p.stateful === false);
    inet.push(
      '\tchain forward {',
      '\t\ttype filter hook forward priority filter; policy accept;',
      `\t\tmeta mark & ${hex(SENDER_MASK | RECEIVER_MASK)} == 0 accept`,
      // Replies (and ICMP errors) of connections whose original direction was allowed.
      `\t\tct direction reply ct state established ${stateless.length ? 'goto replies' : 'accept'}`,
      `\t\tct state related ${stateless.length ? 'goto replies' : 'accept'}`,
      `\t\t${egressVmap(sorted)}`,
      `\t\t${ingressVmap(sorted)}`,
      '\t}',
    );
    if (stateless.length) {
      // A stateless tap takes no reply on trust: its own rules judge what it sends and receives.
      inet.push('\tchain replies {', `\t\t${egressVmap(stateless)}`, `\t\t${ingressVmap(stateless)}`, '\t\taccept', '\t}');
    }
    for (const p of sorted) {
      const id = ids.get(p.device)!;
      if (!Array.isArray(p.rules)) throw new Error(`firewall: port ${p.device} has no rule list`);
      const matches = p.rules.map((r) => ({ direction: r.direction, match: ruleMatch(r) }));
      for (const dir of ['egress', 'ingress'] as const) {
        // Deduplicated and sorted: the same rules in another order are the same tables (and digest).
        const allow = [...new Set(matches.flatMap((r) => (r.direction === dir && r.match !== undefined ? [r.match] : [])))].sort();
        inet.push(
          `\tchain ${dir}_${id} {`,
          `\t\tcomment ${quote(p.device)}`,
          ...(dir === 'ingress' ? IMPLICIT_INGRESS : IMPLICIT_EGRESS).map((l) => `\t\t${l}`),
          ...(p.stateful === false ? [] : ['\t\tct state invalid drop']),
          ...allow.map((m) => `\t\t${m} return`),
          '\t\tdrop',
          '\t}',
        );
      }
    }
  }
  bridge.push('}');
  inet.push('}');
  const body = [...dropTables(), ...inet, ...bridge, ''].join('\n');
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 32);
  return { script: body.split(PLACEHOLDER).join(digest), digest };
}

/** The script that removes netform's tables (safe when they do not exist). */
export function removeFirewallScript(): string {
  return [...dropTables(), ''].join('\n');
}

interface NftObject {
  table?: { family?: string; name?: string; comment?: string };
  counter?: { family?: string; table?: string; name?: string; comment?: string };
}

/**
 * Reads the digest back from `nft -j` output (the tables' comment), undefined if absent or the two
 * tables disagree. nft 1.0.6 leaves table comments out of `nft -j list tables`; there the digest is read
 * from the comment of each table's counter `digest`: pass `nft -j list counters` (or `nft -j list
 * ruleset`). Output of newer nft that prints table comments works as `nft -j list tables`.
 */
export function parseFirewallDigest(nftJsonListTables: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(nftJsonListTables);
  } catch {
    return undefined;
  }
  const items = (doc as { nftables?: unknown })?.nftables;
  if (!Array.isArray(items)) return undefined;
  const found = new Map<string, Set<string>>(); // family → digests seen
  const note = (family: unknown, comment: unknown) => {
    if ((family !== 'inet' && family !== 'bridge') || typeof comment !== 'string' || !comment.startsWith(COMMENT_PREFIX)) return;
    const d = comment.slice(COMMENT_PREFIX.length);
    if (!/^[0-9a-f]+$/.test(d)) return;
    if (!found.has(family)) found.set(family, new Set());
    found.get(family)!.add(d);
  };
  for (const item of items as NftObject[]) {
    if (item?.table?.name === FIREWALL_TABLE) note(item.table.family, item.table.comment);
    if (item?.counter?.table === FIREWALL_TABLE && item.counter.name === DIGEST_OBJECT) note(item.counter.family, item.counter.comment);
  }
  const inet = found.get('inet');
  const bridge = found.get('bridge');
  if (!inet || !bridge || inet.size !== 1 || bridge.size !== 1) return undefined;
  const [a] = inet;
  const [b] = bridge;
  return a === b ? a : undefined;
}

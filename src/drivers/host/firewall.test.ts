// Security groups as nftables rules, the pure part: the script renderFirewall writes (layout, ids,
// matches, validation), its digest, and reading the digest back. The real kernel: test/host/firewall.test.ts.
import { describe, expect, it } from 'vitest';
import { FIREWALL_TABLE, parseFirewallDigest, removeFirewallScript, renderFirewall, type FirewallPort, type FirewallRule } from './firewall.ts';

const rule = (r: Partial<FirewallRule> = {}): FirewallRule => ({ direction: 'ingress', ethertype: 'IPv4', ...r });
const port = (device: string, rules: FirewallRule[] = [], stateful?: boolean): FirewallPort => ({ device, rules, ...(stateful === undefined ? {} : { stateful }) });

/** The id of each tap, as the script's per-tap chains name it (and the marks the bridge table writes). */
function ids(script: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of script.matchAll(/chain egress_(\d+) \{\n\t\tcomment "([^"]+)"/g)) out.set(m[2]!, Number(m[1]));
  return out;
}

/** The body of one chain of the script. */
function chain(script: string, name: string): string[] {
  const m = new RegExp(`\\tchain ${name} \\{\\n([^]*?)\\n\\t\\}`).exec(script);
  if (!m) throw new Error(`no chain ${name} in\n${script}`);
  return m[1]!.split('\n').map((l) => l.trim());
}

/** The inet and the bridge table's definitions in a script. */
const inetPart = (script: string) => script.slice(script.indexOf('\ntable inet netform {\n'), script.indexOf('\ntable bridge netform {\n'));
const bridgePart = (script: string) => script.slice(script.indexOf('\ntable bridge netform {\n'));

/** The allow rules (`… return`) of a tap's chain, without the implicit ones every chain has. */
function allows(script: string, device: string, dir: 'ingress' | 'egress' = 'ingress'): string[] {
  const id = ids(script).get(device);
  return chain(script, `${dir}_${id}`).filter((l) => l.endsWith(' return') && !l.startsWith('icmpv6 type {') && !/udp sport (67|68|546|547) /.test(l));
}

function oneRule(r: Partial<FirewallRule>): string[] {
  return allows(renderFirewall([port('tap0', [rule(r)])]).script, 'tap0', r.direction ?? 'ingress');
}

describe('renderFirewall: layout', () => {
  const { script, digest } = renderFirewall([
    port('tap-web', [rule({ direction: 'egress' })]),
    port('tap-app', [rule({ protocol: 'tcp', portRangeMin: 8080 })]),
    port('tap-db', [rule({ protocol: 'tcp', portRangeMin: 5432, remote: ['10.77.0.2'] })], false),
  ]);
  const id = ids(script);

  it('replaces both tables in one script, working whether or not they exist', () => {
    expect(script.split('\n').slice(0, 4)).toEqual([
      `table inet ${FIREWALL_TABLE} {}`,
      `delete table inet ${FIREWALL_TABLE}`,
      `table bridge ${FIREWALL_TABLE} {}`,
      `delete table bridge ${FIREWALL_TABLE}`,
    ]);
    expect(script).toContain(`\ntable inet ${FIREWALL_TABLE} {\n\tcomment "netform:${digest}"\n`);
    expect(script).toContain(`\ntable bridge ${FIREWALL_TABLE} {\n\tcomment "netform:${digest}"\n`);
    // The digest also in each table's counter `digest` (nft 1.0.6 prints no table comment in JSON).
    expect(script.split(`counter digest {\n\t\tcomment "netform:${digest}"\n\t}`)).toHaveLength(3);
    expect(digest).toMatch(/^[0-9a-f]{32}$/);
  });

  it('the bridge table writes the sender id into mark bits 16-27 and the receiver id into bits 0-11, keeping the rest', () => {
    expect(chain(bridgePart(script), 'forward').slice(0, 3)).toEqual([
      'type filter hook forward priority -10; policy accept;',
      'iifname @ports meta mark set meta mark & 0xf000f000',
      'oifname @ports meta mark set meta mark & 0xf000f000',
    ]);
    for (const [dev, n] of id) {
      expect(script).toContain(`"${dev}" : jump mark_from_${n}`);
      expect(script).toContain(`"${dev}" : jump mark_to_${n}`);
      expect(chain(script, `mark_from_${n}`)).toEqual([`comment "${dev}"`, `meta mark set meta mark | 0x${(n << 16).toString(16).padStart(8, '0')}`]);
      expect(chain(script, `mark_to_${n}`)).toEqual([`comment "${dev}"`, `meta mark set meta mark | 0x${n.toString(16).padStart(8, '0')}`]);
    }
  });

  it('the inet table: not ours untouched, replies accepted, every original-direction packet judged by both ends', () => {
    const fwd = chain(inetPart(script), 'forward');
    expect(fwd.slice(0, 4)).toEqual([
      'type filter hook forward priority filter; policy accept;',
      'meta mark & 0x0fff0fff == 0 accept',
      'ct direction reply ct state established goto replies',
      'ct state related goto replies',
    ]);
    const byId = [...id.values()].sort((x, y) => x - y);
    const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
    expect(fwd[4]).toBe(`meta mark & 0x0fff0000 vmap { ${byId.map((n) => `${hex8(n << 16)} : jump egress_${n}`).join(', ')} }`);
    expect(fwd[5]).toBe(`meta mark & 0x00000fff vmap { ${byId.map((n) => `${hex8(n)} : jump ingress_${n}`).join(', ')} }`);
    expect(fwd).toHaveLength(6);
    // The stateless tap's own chains judge its replies; the stateful ones take them on trust.
    const dbId = id.get('tap-db')!;
    expect(chain(script, 'replies')).toEqual([
      `meta mark & 0x0fff0000 vmap { 0x${(dbId << 16).toString(16).padStart(8, '0')} : jump egress_${dbId} }`,
      `meta mark & 0x00000fff vmap { 0x${dbId.toString(16).padStart(8, '0')} : jump ingress_${dbId} }`,
      'accept',
    ]);
  });

  it('per-tap chains: implicit ND/DHCP, invalid dropped (stateful only), the allow rules, then drop', () => {
    const app = chain(script, `ingress_${id.get('tap-app')}`);
    expect(app[0]).toBe('comment "tap-app"');
    expect(app.slice(1, 4)).toEqual([
      'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, mld-listener-query } return',
      'meta nfproto ipv4 udp sport 67 udp dport 68 return',
      'meta nfproto ipv6 udp sport 547 udp dport 546 return',
    ]);
    expect(app.slice(4)).toEqual(['ct state invalid drop', 'meta nfproto ipv4 meta l4proto tcp th dport 8080 return', 'drop']);
    expect(chain(script, `egress_${id.get('tap-app')}`).slice(-2)).toEqual(['ct state invalid drop', 'drop']); // no egress rule: nothing leaves
    const db = chain(script, `ingress_${id.get('tap-db')}`);
    expect(db).not.toContain('ct state invalid drop');
    expect(db.slice(-2)).toEqual(['meta nfproto ipv4 ip saddr { 10.77.0.2 } meta l4proto tcp th dport 5432 return', 'drop']);
    expect(chain(script, `egress_${id.get('tap-web')}`).slice(-2)).toEqual(['meta nfproto ipv4 return', 'drop']);
  });

  it('all stateful: replies accepted at once, no replies chain', () => {
    const s = renderFirewall([port('tap0'), port('tap1', [], true)]).script;
    expect(chain(inetPart(s), 'forward')).toContain('ct direction reply ct state established accept');
    expect(chain(inetPart(s), 'forward')).toContain('ct state related accept');
    expect(s).not.toContain('chain replies');
  });

  it('no ports: both tables with their digest, no chains (nothing hooked)', () => {
    const e = renderFirewall([]);
    expect(e.script).not.toContain('chain ');
    expect(e.script).toContain(`table inet netform {\n\tcomment "netform:${e.digest}"`);
    expect(e.script).toContain(`table bridge netform {\n\tcomment "netform:${e.digest}"`);
    expect(e.digest).not.toBe(digest);
  });
});

describe('renderFirewall: deterministic, ids stable and distinct', () => {
  it('the same ports in another order, rules repeated or reordered: the same script', () => {
    const a = [port('tapA', [rule({ protocol: 'tcp', portRangeMin: 22 }), rule({ direction: 'egress' })]), port('tapB', [rule({ protocol: 'udp', portRangeMin: 53 })])];
    const b = [port('tapB', [rule({ protocol: 'udp', portRangeMin: 53 }), rule({ protocol: 'udp', portRangeMin: 53 })]), port('tapA', [rule({ direction: 'egress' }), rule({ protocol: 'tcp', portRangeMin: 22 })])];
    expect(renderFirewall(b)).toEqual(renderFirewall(a));
    expect(renderFirewall(a)).toEqual(renderFirewall(a));
  });

  it('a tap keeps its id when others come and go (no clash), ids are 1..4095', () => {
    const alone = ids(renderFirewall([port('vnet-a')]).script).get('vnet-a');
    const many = ids(renderFirewall(['vnet-a', 'vnet-b', 'vnet-c', 'vnet-d'].map((d) => port(d))).script);
    expect(many.get('vnet-a')).toBe(alone);
    for (const n of many.values()) expect(n >= 1 && n <= 4095).toBe(true);
  });

  it('1000 taps get 1000 distinct ids (clashes take the next free one)', () => {
    const devs = Array.from({ length: 1000 }, (_, i) => `tap${i}`);
    const got = ids(renderFirewall(devs.map((d) => port(d))).script);
    expect(got.size).toBe(1000);
    expect(new Set(got.values()).size).toBe(1000);
    for (const n of got.values()) expect(n >= 1 && n <= 4095).toBe(true);
  });

  it('two names that hash to the same id: the first in name order keeps it, the other takes the next', () => {
    const idOf = (d: string) => ids(renderFirewall([port(d)]).script).get(d)!;
    const byId = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const d = `t${i}`;
      const n = idOf(d);
      const other = byId.get(n);
      if (other) pair = [other, d].sort() as [string, string];
      byId.set(n, d);
    }
    const both = ids(renderFirewall([port(pair[1]), port(pair[0])]).script);
    const n = idOf(pair[0]);
    expect(both.get(pair[0])).toBe(n);
    expect(both.get(pair[1])).toBe((n % 4095) + 1);
  });

  it('more than 4095 taps: refused', () => {
    expect(() => renderFirewall(Array.from({ length: 4096 }, (_, i) => port(`t${i}`)))).toThrow(/at most 4095/);
  });
});

describe('renderFirewall: matches', () => {
  it('tcp/udp port ranges: a range, one port (min alone, max alone), the whole range is no range', () => {
    expect(oneRule({ protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8090 })).toEqual(['meta nfproto ipv4 meta l4proto tcp th dport 8080-8090 return']);
    expect(oneRule({ protocol: 'udp', portRangeMin: 53, portRangeMax: 53 })).toEqual(['meta nfproto ipv4 meta l4proto udp th dport 53 return']);
    expect(oneRule({ protocol: 'udp', portRangeMin: 53 })).toEqual(['meta nfproto ipv4 meta l4proto udp th dport 53 return']);
    expect(oneRule({ protocol: 'udp', portRangeMax: 53 })).toEqual(['meta nfproto ipv4 meta l4proto udp th dport 53 return']);
    expect(oneRule({ protocol: 'tcp', portRangeMin: 1, portRangeMax: 65535 })).toEqual(['meta nfproto ipv4 meta l4proto tcp return']);
    expect(oneRule({ protocol: 'tcp' })).toEqual(['meta nfproto ipv4 meta l4proto tcp return']);
    expect(oneRule({})).toEqual(['meta nfproto ipv4 return']);
  });

  it('bad port ranges: refused', () => {
    expect(() => oneRule({ protocol: 'tcp', portRangeMin: 90, portRangeMax: 80 })).toThrow(/empty/);
    expect(() => oneRule({ protocol: 'tcp', portRangeMin: 0 })).toThrow(/1\.\.65535/);
    expect(() => oneRule({ protocol: 'tcp', portRangeMin: 70000 })).toThrow(/1\.\.65535/);
    expect(() => oneRule({ protocol: 'tcp', portRangeMin: 80.5 })).toThrow(/integer/);
    expect(() => oneRule({ portRangeMin: 80 })).toThrow(/needs a protocol/);
    expect(() => oneRule({ protocol: 'sctp' as 'tcp' })).toThrow(/bad protocol/);
    expect(() => oneRule({ direction: 'both' as 'ingress' })).toThrow(/bad direction/);
    expect(() => oneRule({ ethertype: 'IPX' as 'IPv4' })).toThrow(/bad ethertype/);
  });

  it('icmp: any, a type, a type and code (Neutron: min is the type, max the code); ICMP on IPv6 is ICMPv6', () => {
    expect(oneRule({ protocol: 'icmp' })).toEqual(['meta nfproto ipv4 meta l4proto icmp return']);
    expect(oneRule({ protocol: 'icmp', portRangeMin: 8 })).toEqual(['meta nfproto ipv4 meta l4proto icmp icmp type 8 return']);
    expect(oneRule({ protocol: 'icmp', portRangeMin: 3, portRangeMax: 4 })).toEqual(['meta nfproto ipv4 meta l4proto icmp icmp type 3 icmp code 4 return']);
    expect(oneRule({ protocol: 'icmp', ethertype: 'IPv6', portRangeMin: 128 })).toEqual(['meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type 128 return']);
    expect(oneRule({ protocol: 'icmpv6', ethertype: 'IPv6' })).toEqual(['meta nfproto ipv6 meta l4proto ipv6-icmp return']);
    expect(() => oneRule({ protocol: 'icmpv6' })).toThrow(/icmpv6 on IPv4/);
    expect(() => oneRule({ protocol: 'icmp', portRangeMax: 0 })).toThrow(/code needs a type/);
    expect(() => oneRule({ protocol: 'icmp', portRangeMin: 256 })).toThrow(/0\.\.255/);
  });

  it('IPv6 peers: ip6 saddr for ingress, ip6 daddr for egress', () => {
    expect(oneRule({ ethertype: 'IPv6', protocol: 'tcp', portRangeMin: 443, remote: ['2001:db8::/64', '2001:DB8:1::5'] })).toEqual([
      'meta nfproto ipv6 ip6 saddr { 2001:db8::/64, 2001:db8:1::5 } meta l4proto tcp th dport 443 return',
    ]);
    expect(oneRule({ direction: 'egress', ethertype: 'IPv6', remote: ['2001:db8::1'] })).toEqual(['meta nfproto ipv6 ip6 daddr { 2001:db8::1 } return']);
    expect(oneRule({ direction: 'egress', remote: ['192.0.2.0/24'] })).toEqual(['meta nfproto ipv4 ip daddr { 192.0.2.0/24 } return']);
  });

  it('peers: canonical, merged, the other IP version left out; everything is no match on addresses', () => {
    expect(oneRule({ remote: ['10.0.0.5/24', '10.0.1.0/24', '10.0.0.7', '2001:db8::1'] })).toEqual(['meta nfproto ipv4 ip saddr { 10.0.0.0/23 } return']);
    expect(oneRule({ remote: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] })).toEqual(['meta nfproto ipv4 ip saddr { 10.0.0.1, 10.0.0.2/31 } return']);
    expect(oneRule({ remote: ['0.0.0.0/0', '10.0.0.1'] })).toEqual(['meta nfproto ipv4 return']);
  });

  it('remote [] (or only peers of the other IP version) matches nothing: no rule at all', () => {
    expect(oneRule({ protocol: 'tcp', portRangeMin: 22, remote: [] })).toEqual([]);
    expect(oneRule({ protocol: 'tcp', portRangeMin: 22, remote: ['2001:db8::1'] })).toEqual([]);
    const s = renderFirewall([port('tap0', [rule({ remote: [] })])]).script;
    expect(chain(s, `ingress_${ids(s).get('tap0')}`).slice(-2)).toEqual(['ct state invalid drop', 'drop']);
  });

  it('bad addresses: refused, wherever they are', () => {
    for (const bad of ['10.0.0.256', '10.0.0.0/33', '10.0.0.0/024', 'example.com', '10.0.0.1; drop', '10.0.0.1 }', '', 'fe80::1%eth0']) {
      expect(() => oneRule({ remote: [bad] }), bad).toThrow(/not an address or a CIDR/);
      expect(() => oneRule({ direction: 'egress', ethertype: 'IPv6', remote: ['2001:db8::1', bad] }), bad).toThrow(/not an address or a CIDR/);
    }
  });

  it('bad device names: refused; a device given twice: refused', () => {
    for (const bad of ['', 'a b', 'x'.repeat(16), '-tap', 'tap"0', 'tap;0', 'tap}', '.', '..', 'tap*']) {
      expect(() => renderFirewall([port(bad)]), bad).toThrow(/not an interface name/);
    }
    expect(() => renderFirewall([port('tap0'), port('tap0')])).toThrow(/twice/);
  });
});

describe('digest', () => {
  const base = () => [port('tap0', [rule({ protocol: 'tcp', portRangeMin: 22 })]), port('tap1', [rule({ direction: 'egress' })])];
  const d = (ports: FirewallPort[]) => renderFirewall(ports).digest;

  it('changes with every rule, port and flag; not with order', () => {
    const seen = new Set([
      d(base()),
      d([port('tap0', [rule({ protocol: 'tcp', portRangeMin: 23 })]), port('tap1', [rule({ direction: 'egress' })])]),
      d([port('tap0', [rule({ protocol: 'tcp', portRangeMin: 22, remote: ['10.0.0.1'] })]), port('tap1', [rule({ direction: 'egress' })])]),
      d([port('tap0', [rule({ protocol: 'tcp', portRangeMin: 22 })]), port('tap1', [rule({ direction: 'egress' })], false)]),
      d([port('tap0', [rule({ protocol: 'tcp', portRangeMin: 22 })]), port('tap2', [rule({ direction: 'egress' })])]),
      d([port('tap0', [rule({ protocol: 'tcp', portRangeMin: 22 })])]),
      d([]),
    ]);
    expect(seen.size).toBe(7);
    expect(d(base().reverse())).toBe(d(base()));
  });

  it('stateful: true is the default', () => {
    expect(d([port('tap0', [], true)])).toBe(d([port('tap0')]));
  });
});

describe('parseFirewallDigest', () => {
  const meta = { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } };
  const counter = (family: string, comment: string, table = 'netform', name = 'digest') => ({ counter: { family, name, table, handle: 1, comment, packets: 0, bytes: 0 } });
  const table = (family: string, comment?: string, name = 'netform') => ({ table: { family, name, handle: 1, ...(comment ? { comment } : {}) } });
  const doc = (...items: object[]) => JSON.stringify({ nftables: [meta, ...items] });
  const D = renderFirewall([port('tap0')]).digest;

  it('nft 1.0.6 `nft -j list counters`: the two tables\' digest counters', () => {
    expect(parseFirewallDigest(doc(counter('inet', `netform:${D}`), counter('bridge', `netform:${D}`), counter('ip', 'other', 'filter', 'c')))).toBe(D);
  });

  it('newer nft `nft -j list tables` (table comments printed)', () => {
    expect(parseFirewallDigest(doc(table('ip', 'x', 'filter'), table('inet', `netform:${D}`), table('bridge', `netform:${D}`)))).toBe(D);
  });

  it('undefined: tables disagree, one missing, no comment (nft 1.0.6 `list tables`), not ours, garbage', () => {
    expect(parseFirewallDigest(doc(counter('inet', `netform:${D}`), counter('bridge', 'netform:0123abcd')))).toBeUndefined();
    expect(parseFirewallDigest(doc(counter('inet', `netform:${D}`)))).toBeUndefined();
    expect(parseFirewallDigest(doc(table('inet'), table('bridge')))).toBeUndefined();
    expect(parseFirewallDigest(doc(counter('inet', `netform:${D}`, 'other'), counter('bridge', `netform:${D}`, 'other')))).toBeUndefined();
    expect(parseFirewallDigest(doc(counter('inet', `other:${D}`), counter('bridge', `other:${D}`)))).toBeUndefined();
    expect(parseFirewallDigest(doc(table('inet', `netform:${D}`), counter('inet', 'netform:0123abcd'), counter('bridge', `netform:${D}`)))).toBeUndefined();
    expect(parseFirewallDigest(doc())).toBeUndefined();
    expect(parseFirewallDigest('')).toBeUndefined();
    expect(parseFirewallDigest('{"nftables": 3}')).toBeUndefined();
    expect(parseFirewallDigest('null')).toBeUndefined();
  });
});

describe('removeFirewallScript', () => {
  it('removes both tables, safe when absent', () => {
    expect(removeFirewallScript()).toBe('table inet netform {}\ndelete table inet netform\ntable bridge netform {}\ndelete table bridge netform\n');
  });
});

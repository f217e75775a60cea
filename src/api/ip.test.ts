import { describe, expect, it } from 'vitest';
import { formatAddress, isMac, parseAddress, parsePrefix, prefixContains, prefixesOverlap, type Prefix } from './ip.ts';

const TWO32 = 1n << 32n;
const TWO128 = 1n << 128n;

/** 2001:db8:: as an integer. */
const DB8 = 0x20010db8n << 96n;

function prefix(text: string): Prefix {
  const p = parsePrefix(text);
  if (!p) throw new Error(`test setup: ${text} should parse`);
  return p;
}

describe('parseAddress', () => {
  it.each([
    ['192.0.2.1', 4, 0xc0000201n],
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, TWO32 - 1n],
    ['10.0.0.0', 4, 0x0a000000n],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['1::', 6, 1n << 112n],
    ['2001:db8::1', 6, DB8 + 1n],
    ['2001:DB8::1', 6, DB8 + 1n],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, DB8 + 1n],
    ['2001:db8:1:2:3:4::1', 6, DB8 | (1n << 80n) | (2n << 64n) | (3n << 48n) | (4n << 32n) | 1n],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6, TWO128 - 1n],
    ['::ffff:192.0.2.1', 6, (0xffffn << 32n) | 0xc0000201n],
    ['fe80::1', 6, (0xfe80n << 112n) | 1n],
  ] as const)('%s is IPv%d %d', (text, version, value) => {
    expect(parseAddress(text)).toEqual({ version, value });
  });

  it.each([
    ['empty', ''],
    ['three parts', '192.0.2'],
    ['five parts', '192.0.2.1.5'],
    ['octet above 255', '256.0.2.1'],
    ['negative octet', '192.0.2.-1'],
    ['leading zero (octal ambiguity)', '010.0.2.1'],
    ['leading zero in last octet', '192.0.2.01'],
    ['hex octet', '0x7f.0.0.1'],
    ['short form', '127.1'],
    ['with a prefix length', '192.0.2.1/32'],
    ['IPv6 with a prefix length', '2001:db8::1/128'],
    ['leading space', ' 192.0.2.1'],
    ['trailing space', '192.0.2.1 '],
    ['IPv6 zone id', 'fe80::1%eth0'],
    ['two double colons', '2001::db8::1'],
    ['triple colon', ':::'],
    ['non-hex IPv6 digit', '2001:db8::g'],
    ['nine IPv6 groups', '1:2:3:4:5:6:7:8:9'],
    ['IPv6 group of five digits', '12345::1'],
    ['bracketed IPv6', '[::1]'],
    ['trailing single colon', '::1:'],
    ['IPv4-mapped with bad octet', '::ffff:256.0.2.1'],
    ['a host name', 'example.net'],
    ['a MAC address', '56:6f:00:00:00:01'],
  ])('rejects %s: %j', (_what, text) => {
    expect(parseAddress(text)).toBeUndefined();
  });

  it.each([[42], [null], [undefined], [{}]])('rejects the non-string %j', (v) => {
    expect(parseAddress(v as unknown as string)).toBeUndefined();
  });
});

describe('parsePrefix', () => {
  it.each([
    ['192.0.2.0/24', { version: 4, first: 0xc0000200n, last: 0xc00002ffn, prefixLength: 24, address: 0xc0000200n, canonical: '192.0.2.0/24' }],
    ['10.0.0.0/8', { version: 4, first: 0x0a000000n, last: 0x0affffffn, prefixLength: 8, address: 0x0a000000n, canonical: '10.0.0.0/8' }],
    ['0.0.0.0/0', { version: 4, first: 0n, last: TWO32 - 1n, prefixLength: 0, address: 0n, canonical: '0.0.0.0/0' }],
    ['192.0.2.1/32', { version: 4, first: 0xc0000201n, last: 0xc0000201n, prefixLength: 32, address: 0xc0000201n, canonical: '192.0.2.1/32' }],
    // Host bits set: `address` keeps what was written, `first` and `canonical` are the network.
    ['192.0.2.77/24', { version: 4, first: 0xc0000200n, last: 0xc00002ffn, prefixLength: 24, address: 0xc000024dn, canonical: '192.0.2.0/24' }],
    ['10.0.0.1/8', { version: 4, first: 0x0a000000n, last: 0x0affffffn, prefixLength: 8, address: 0x0a000001n, canonical: '10.0.0.0/8' }],
    ['198.51.100.128/25', { version: 4, first: 0xc6336480n, last: 0xc63364ffn, prefixLength: 25, address: 0xc6336480n, canonical: '198.51.100.128/25' }],
    ['2001:db8::/32', { version: 6, first: DB8, last: DB8 + (1n << 96n) - 1n, prefixLength: 32, address: DB8, canonical: '2001:db8::/32' }],
    ['2001:db8::/64', { version: 6, first: DB8, last: DB8 + (1n << 64n) - 1n, prefixLength: 64, address: DB8, canonical: '2001:db8::/64' }],
    ['2001:DB8:0:0::/64', { version: 6, first: DB8, last: DB8 + (1n << 64n) - 1n, prefixLength: 64, address: DB8, canonical: '2001:db8::/64' }],
    ['2001:db8::1/64', { version: 6, first: DB8, last: DB8 + (1n << 64n) - 1n, prefixLength: 64, address: DB8 + 1n, canonical: '2001:db8::/64' }],
    ['::/0', { version: 6, first: 0n, last: TWO128 - 1n, prefixLength: 0, address: 0n, canonical: '::/0' }],
    ['::1/128', { version: 6, first: 1n, last: 1n, prefixLength: 128, address: 1n, canonical: '::1/128' }],
  ] as const)('%s', (text, expected) => {
    expect(parsePrefix(text)).toEqual(expected);
  });

  it.each([
    ['no prefix length', '192.0.2.0'],
    ['empty prefix length', '192.0.2.0/'],
    ['IPv4 length above 32', '192.0.2.0/33'],
    ['IPv6 length above 128', '2001:db8::/129'],
    ['negative length', '192.0.2.0/-1'],
    ['signed length', '192.0.2.0/+24'],
    ['length with a letter', '192.0.2.0/2a'],
    ['four-digit length', '192.0.2.0/1000'],
    ['space before length', '192.0.2.0/ 24'],
    ['two slashes', '192.0.2.0/24/1'],
    ['no address', '/24'],
    ['invalid address', '192.0.2.256/24'],
    ['short-form address', '10/8'],
    ['zone id', 'fe80::%eth0/64'],
    ['netmask instead of length', '192.0.2.0/255.255.255.0'],
    ['length with a leading zero (Neutron refuses it)', '192.0.2.0/024'],
    ['IPv6 length with a leading zero', '2001:db8::/064'],
    ['empty', ''],
  ])('rejects %s: %j', (_what, text) => {
    expect(parsePrefix(text)).toBeUndefined();
  });

  it('rejects non-strings', () => {
    expect(parsePrefix(24 as unknown as string)).toBeUndefined();
    expect(parsePrefix(undefined as unknown as string)).toBeUndefined();
  });
});

describe('prefixesOverlap', () => {
  it.each([
    ['identical', '10.0.0.0/24', '10.0.0.0/24', true],
    ['one contains the other', '10.0.0.0/16', '10.0.1.0/24', true],
    ['contained in the other', '10.0.1.0/24', '10.0.0.0/16', true],
    ['same network written with host bits', '10.0.0.0/24', '10.0.0.9/24', true],
    ['adjacent below', '10.0.0.0/24', '10.0.1.0/24', false],
    ['adjacent above', '10.0.1.0/24', '10.0.0.0/24', false],
    ['halves of a /24', '198.51.100.0/25', '198.51.100.128/25', false],
    ['default route covers everything', '0.0.0.0/0', '203.0.113.7/32', true],
    ['last address shared', '10.0.0.255/32', '10.0.0.0/24', true],
    ['IPv6 nested', '2001:db8::/32', '2001:db8:1::/48', true],
    ['IPv6 disjoint', '2001:db8:1::/48', '2001:db8:2::/48', false],
    // Numerically equal ranges of different versions never overlap.
    ['IPv4 and IPv6 at the same integers', '0.0.0.0/0', '::/96', false],
    ['IPv4 and the IPv6 default route', '10.0.0.0/8', '::/0', false],
  ] as const)('%s: %s and %s -> %s', (_what, a, b, expected) => {
    expect(prefixesOverlap(prefix(a), prefix(b))).toBe(expected);
    expect(prefixesOverlap(prefix(b), prefix(a))).toBe(expected);
  });
});

describe('prefixContains', () => {
  it.each([
    ['network address', '192.0.2.0/24', '192.0.2.0', true],
    ['broadcast address', '192.0.2.0/24', '192.0.2.255', true],
    ['middle', '192.0.2.0/24', '192.0.2.77', true],
    ['just below', '192.0.2.0/24', '192.0.1.255', false],
    ['just above', '192.0.2.0/24', '192.0.3.0', false],
    ['a /32 contains itself', '192.0.2.1/32', '192.0.2.1', true],
    ['a /32 does not contain its neighbour', '192.0.2.1/32', '192.0.2.2', false],
    ['host bits in the prefix do not narrow it', '192.0.2.77/24', '192.0.2.1', true],
    ['IPv6 first', '2001:db8::/64', '2001:db8::', true],
    ['IPv6 last', '2001:db8::/64', '2001:db8::ffff:ffff:ffff:ffff', true],
    ['IPv6 outside', '2001:db8::/64', '2001:db8:0:1::', false],
    ['IPv6 address in an IPv4 prefix', '0.0.0.0/0', '::1', false],
    ['IPv4-mapped address in an IPv4 prefix', '192.0.2.0/24', '::ffff:192.0.2.1', false],
    ['IPv4 address in the IPv6 default route', '::/0', '192.0.2.1', false],
  ] as const)('%s: %s contains %s -> %s', (_what, p, a, expected) => {
    const addr = parseAddress(a);
    expect(addr).toBeDefined();
    expect(prefixContains(prefix(p), addr!)).toBe(expected);
  });
});

describe('formatAddress', () => {
  it.each([
    [4, 0xc0000201n, '192.0.2.1'],
    [4, 0n, '0.0.0.0'],
    [4, TWO32 - 1n, '255.255.255.255'],
    [6, 0n, '::'],
    [6, 1n, '::1'],
    [6, DB8 + 1n, '2001:db8::1'],
    [6, DB8 | (1n << 64n), '2001:db8:0:1::'],
  ] as const)('IPv%d %d -> %s', (version, value, text) => {
    expect(formatAddress({ version, value })).toBe(text);
    expect(parseAddress(text)).toEqual({ version, value });
  });
});

describe('isMac', () => {
  it.each([
    ['56:6f:00:00:00:01', true],
    ['56:6F:AA:bb:0c:D1', true],
    ['56-6f-00-00-00-01', false],
    ['566f.0000.0001', false],
    ['56:6f:00:00:00', false],
    ['56:6f:00:00:00:01:02', false],
    ['56:6f:00:00:00:0g', false],
    ['5:6f:00:00:00:01', false],
    ['', false],
  ] as const)('%j -> %s', (text, expected) => {
    expect(isMac(text)).toBe(expected);
  });
});

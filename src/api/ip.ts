// IP address and prefix arithmetic for admission checks. Pure.
import ipaddr from 'ipaddr.js';

export interface Prefix {
  version: 4 | 6;
  /** First address of the prefix, as an integer. */
  first: bigint;
  /** Last address of the prefix, as an integer. */
  last: bigint;
  prefixLength: number;
  /** The address as written, as an integer (differs from `first` when host bits are set). */
  address: bigint;
  /** The canonical form, e.g. 192.0.2.0/24. */
  canonical: string;
}

export interface Address {
  version: 4 | 6;
  value: bigint;
}

function toBig(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/**
 * Parse results by text (admission parses every subnet's addresses at every load; most are the same
 * as last time). Results are frozen: callers share them. Emptied when it grows past MEMO_MAX.
 */
const MEMO_MAX = 200_000;
const addresses = new Map<string, Address | undefined>();
const prefixes = new Map<string, Prefix | undefined>();

function memo<T extends object>(m: Map<string, T | undefined>, text: string, parse: (t: string) => T | undefined): T | undefined {
  if (m.has(text)) return m.get(text);
  const v = parse(text);
  if (m.size >= MEMO_MAX) m.clear();
  m.set(text, v && Object.freeze(v));
  return v;
}

/** Parses an IPv4 or IPv6 address in its usual textual forms; undefined if it is not one. */
export function parseAddress(text: string): Address | undefined {
  if (typeof text !== 'string') return undefined;
  return memo(addresses, text, parseAddressText);
}

function parseAddressText(text: string): Address | undefined {
  if (text.includes('/')) return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return { version: 4, value: toBig(ipaddr.IPv4.parse(text).toByteArray()) };
  if (ipaddr.IPv6.isValid(text) && text.includes(':')) {
    const a = ipaddr.IPv6.parse(text);
    if (a.zoneId) return undefined;
    return { version: 6, value: toBig(a.toByteArray()) };
  }
  return undefined;
}

/** Parses a prefix in CIDR notation; undefined if it is not one. */
export function parsePrefix(text: string): Prefix | undefined {
  if (typeof text !== 'string') return undefined;
  return memo(prefixes, text, parsePrefixText);
}

function parsePrefixText(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseAddress(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  // The length in plain decimal: `/024` is refused, as Neutron refuses it.
  if (!addr || !/^(?:0|[1-9]\d{0,2})$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  const bits = addr.version === 4 ? 32 : 128;
  if (prefixLength > bits) return undefined;
  const hostBits = BigInt(bits - prefixLength);
  const first = (addr.value >> hostBits) << hostBits;
  const last = first + (1n << hostBits) - 1n;
  return {
    version: addr.version,
    first,
    last,
    prefixLength,
    address: addr.value,
    canonical: `${formatAddress({ version: addr.version, value: first })}/${prefixLength}`,
  };
}

export function formatAddress(a: Address): string {
  const n = a.version === 4 ? 4 : 16;
  const bytes: number[] = [];
  let v = a.value;
  for (let i = 0; i < n; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return a.version === b.version && a.first <= b.last && b.first <= a.last;
}

export function prefixContains(p: Prefix, a: Address): boolean {
  return p.version === a.version && p.first <= a.value && a.value <= p.last;
}

/** True for text that is a MAC address in the colon-separated form. */
export function isMac(text: string): boolean {
  return /^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/.test(text);
}

// Deterministic MAC allocation from pools. Pure.
import type { MacPoolSpec } from '../api/types.gen.ts';

/** One MAC held by one attachment (`namespace/name`). */
export interface MacAllocation {
  attachment: string;
  mac: string;
  /** The attachment asked for this MAC itself (reserved) rather than being given one. */
  explicit?: boolean;
}

export interface MacRequest {
  attachment: string;
  /** The MAC the attachment names, if any (lower case). */
  mac?: string;
}

export interface MacAllocationResult {
  /** The pool's allocations afterwards, sorted by MAC, then attachment. */
  allocations: MacAllocation[];
  /** Requests refused: the pool is exhausted, or the MAC is another attachment's. */
  refused: { attachment: string; why: string }[];
}

/** A MAC as a number (48 bits fit a double exactly), or undefined if it is not `xx:xx:xx:xx:xx:xx`. */
export function macToNumber(mac: string): number | undefined {
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(mac)) return undefined;
  return parseInt(mac.replace(/:/g, ''), 16);
}

export function numberToMac(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return hex.match(/../g)!.join(':');
}

/** Whether `mac` lies in one of the pool's ranges. */
export function inPool(pool: MacPoolSpec, mac: string): boolean {
  const n = macToNumber(mac);
  return n !== undefined && pool.ranges.some((r) => n >= macToNumber(r.start)! && n <= macToNumber(r.end)!);
}

/** How many MACs the pool's ranges hold (overlapping ranges counted once). */
export function poolSize(pool: MacPoolSpec): number {
  let total = 0;
  let upTo = -1;
  for (const [a, b] of ranges(pool)) {
    const from = Math.max(a, upTo + 1);
    if (b >= from) total += b - from + 1;
    upTo = Math.max(upTo, b);
  }
  return total;
}

function ranges(pool: MacPoolSpec): [number, number][] {
  return pool.ranges.map((r) => [macToNumber(r.start)!, macToNumber(r.end)!] as [number, number]).sort((x, y) => x[0] - y[0]);
}

/**
 * Brings a pool's allocations to the attachments that draw from it now. Existing allocations never move
 * (an attachment keeps its MAC); an explicit MAC inside the pool is recorded for its attachment; every
 * attachment without a MAC gets the lowest free MAC, served in attachment order — so the result depends
 * only on the inputs, not on the order reconciles run in, and is the same after a restart. A MAC held by
 * another attachment is refused unless the pool allows duplicates. Allocations of attachments that no
 * longer draw from the pool are dropped.
 */
export function allocateMacs(pool: MacPoolSpec, existing: readonly MacAllocation[], requests: readonly MacRequest[]): MacAllocationResult {
  const wanted = new Map([...requests].sort((a, b) => (a.attachment < b.attachment ? -1 : 1)).map((r) => [r.attachment, r] as const));
  const kept = new Map<string, MacAllocation>();
  for (const a of existing) {
    const r = wanted.get(a.attachment);
    if (!r) continue; // gone from the pool
    if (r.mac !== undefined && r.mac !== a.mac) continue; // now names another MAC: recorded below
    if (r.mac === undefined && a.explicit) continue; // no longer names one: allocated below
    kept.set(a.attachment, a);
  }
  const holders = new Map<string, string[]>();
  const hold = (mac: string, attachment: string) => holders.set(mac, [...(holders.get(mac) ?? []), attachment]);
  for (const a of kept.values()) hold(a.mac, a.attachment);
  const refused: MacAllocationResult['refused'] = [];
  // Explicit MACs first (they are the attachments' own), then the lowest free ones.
  for (const r of wanted.values()) {
    if (r.mac === undefined || kept.has(r.attachment) || !inPool(pool, r.mac)) continue;
    const other = holders.get(r.mac)?.[0];
    if (other && !pool.allowDuplicates) {
      refused.push({ attachment: r.attachment, why: `MAC ${r.mac} is already held by VnicAttachment ${other}` });
      continue;
    }
    kept.set(r.attachment, { attachment: r.attachment, mac: r.mac, explicit: true });
    hold(r.mac, r.attachment);
  }
  const rs = ranges(pool);
  let ri = 0;
  let next = rs[0]?.[0] ?? 0;
  for (const r of wanted.values()) {
    if (r.mac !== undefined || kept.has(r.attachment)) continue;
    let got: string | undefined;
    while (ri < rs.length) {
      if (next < rs[ri]![0]) next = rs[ri]![0];
      if (next > rs[ri]![1]) {
        ri++;
        continue;
      }
      const mac = numberToMac(next++);
      if (!holders.has(mac)) {
        got = mac;
        break;
      }
    }
    if (!got) {
      refused.push({ attachment: r.attachment, why: 'the MacPool has no free MAC left' });
      continue;
    }
    kept.set(r.attachment, { attachment: r.attachment, mac: got });
    hold(got, r.attachment);
  }
  const allocations = [...kept.values()].sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : a.attachment < b.attachment ? -1 : 1));
  return { allocations, refused };
}

// Shard assignment for sharded controllers (`netform controller --shards N`, ADR 25). Pure: every
// replica computes the same shard for the same object from the same desired state.
//
// An object is first mapped to a *shard token* — the unit that must stay together on one replica —
// and the token to a shard by rendezvous (highest-random-weight) hashing over 0..N-1:
//  - Provider `p`, and objects that name providers (Network, Router, SecurityGroup): `provider:<p>`,
//    for several providerRefs the smallest name, so a backend endpoint's objects share a replica;
//  - a Network that draws its VLAN from a pool: `vlanpool:<pool>`, as the VlanPool itself, because the
//    allocation writes the pool's record and is serialized per pool inside one engine (ADR 5): all
//    networks of a pool and the pool must be reconciled by one replica. Pools whose ranges overlap on a
//    physical network draw from the same VLANs, so they are one group (`vlanPoolGroups`), named by its
//    smallest pool name: `vlanpool:<that name>`;
//  - a VnicAttachment whose Cluster (through its Host) names a MacPool: `macpool:<pool>`, as the
//    MacPool itself, for the same reason;
//  - everything else (Hosts, Clusters, other vNICs, templates…): its own key.
// Rendezvous hashing keeps a token's shard when N changes for all but ~1/N of the tokens.
import { createHash } from 'node:crypto';
import { objectKey, type Kind } from '../api/kinds.ts';

/** The parts of an object the assignment reads (an admitted object or a raw API object). */
export interface ShardableObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
}

/** Looks up another object (a VnicAttachment's Host, a Host's Cluster); undefined if unknown. */
export type ObjectLookup = (kind: 'Host' | 'Cluster', name: string) => ShardableObject | undefined;

/** The group a VLAN pool allocates in (see `vlanPoolGroups`): the pool's own name when alone. */
export type PoolGroupLookup = (pool: string) => string;

interface PoolRange {
  physicalNetwork: string;
  min: number;
  max: number;
}

function rangesOf(o: ShardableObject): PoolRange[] {
  const ranges = (o.spec as { ranges?: unknown } | undefined)?.ranges;
  if (!Array.isArray(ranges)) return [];
  return ranges.filter(
    (r): r is PoolRange => typeof r?.physicalNetwork === 'string' && typeof r?.min === 'number' && typeof r?.max === 'number',
  );
}

/**
 * VLAN pools that must allocate together: two pools whose ranges overlap on one physical network hand
 * out from the same VLANs, so their allocations are serialized together (one lock, one shard), and so
 * are pools that overlap through a third. Returns each pool's group name, the smallest pool name of
 * its group; a pool overlapping no other is its own group (absent from the map).
 */
export function vlanPoolGroups(pools: readonly ShardableObject[]): Map<string, string> {
  // Union-find over the pools (a few per installation: no path compression needed); a root is the
  // smallest name of its group.
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  const union = (a: string, b: string) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  // Ranges by physical network, sorted by start: each overlaps the ones before it that reach it.
  const byPhys = new Map<string, { pool: string; min: number; max: number }[]>();
  for (const p of pools) {
    parent.set(p.metadata.name, p.metadata.name);
    for (const r of rangesOf(p)) {
      const list = byPhys.get(r.physicalNetwork) ?? [];
      list.push({ pool: p.metadata.name, min: Math.min(r.min, r.max), max: Math.max(r.min, r.max) });
      byPhys.set(r.physicalNetwork, list);
    }
  }
  for (const list of byPhys.values()) {
    list.sort((a, b) => a.min - b.min || a.max - b.max);
    // The range reaching furthest so far: a range starting at or before its end overlaps it.
    let reach: { pool: string; max: number } | undefined;
    for (const r of list) {
      if (reach && r.min <= reach.max) union(reach.pool, r.pool);
      if (!reach || r.max > reach.max) reach = { pool: r.pool, max: r.max };
    }
  }
  const roots = new Map([...parent.keys()].map((name) => [name, find(name)]));
  const size = new Map<string, number>();
  for (const root of roots.values()) size.set(root, (size.get(root) ?? 0) + 1);
  return new Map([...roots].filter(([, root]) => size.get(root)! > 1));
}

interface Ref {
  name?: unknown;
}

function providersOf(spec: Record<string, unknown>): string[] {
  const out: string[] = [];
  const refs = spec.providerRefs;
  if (Array.isArray(refs)) for (const r of refs as Ref[]) if (typeof r?.name === 'string') out.push(r.name);
  const one = spec.providerRef as Ref | undefined;
  if (one && typeof one.name === 'string') out.push(one.name);
  return out.sort();
}

/** The unit an object shards by (see the top of this file). */
export function shardToken(o: ShardableObject, lookup: ObjectLookup = () => undefined, poolGroup: PoolGroupLookup = (p) => p): string {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const name = o.metadata.name;
  switch (o.kind) {
    case 'Provider':
      return `provider:${name}`;
    case 'VlanPool':
      return `vlanpool:${poolGroup(name)}`;
    case 'MacPool':
      return `macpool:${name}`;
    case 'Network': {
      const pool = ((spec.vlan as { poolRef?: Ref } | undefined)?.poolRef as Ref | undefined)?.name;
      if (typeof pool === 'string') return `vlanpool:${poolGroup(pool)}`;
      break;
    }
    case 'VnicAttachment': {
      const host = typeof spec.host === 'string' ? lookup('Host', spec.host) : undefined;
      const cluster = (host?.spec as { cluster?: unknown } | undefined)?.cluster;
      const c = typeof cluster === 'string' ? lookup('Cluster', cluster) : undefined;
      const pool = ((c?.spec as { macPoolRef?: Ref } | undefined)?.macPoolRef as Ref | undefined)?.name;
      if (typeof pool === 'string') return `macpool:${pool}`;
      break;
    }
  }
  const providers = providersOf(spec);
  if (providers.length) return `provider:${providers[0]}`;
  return `key:${objectKey(o.kind as Kind, name, o.metadata.namespace)}`;
}

function weight(token: string, shard: number): bigint {
  return createHash('sha256').update(`${shard}\u0000${token}`).digest().readBigUInt64BE(0);
}

/** The shard (0..shards-1) of a token: the shard with the highest hash of (shard, token). */
export function shardOfToken(token: string, shards: number): number {
  if (!(Number.isInteger(shards) && shards >= 1)) throw new RangeError(`shards must be an integer >= 1, not ${shards}`);
  let best = 0;
  let bestW = -1n;
  for (let i = 0; i < shards; i++) {
    const w = weight(token, i);
    if (w > bestW) {
      best = i;
      bestW = w;
    }
  }
  return best;
}

/** The shard of an object. */
export function shardOf(o: ShardableObject, shards: number, lookup?: ObjectLookup, poolGroup?: PoolGroupLookup): number {
  return shardOfToken(shardToken(o, lookup, poolGroup), shards);
}

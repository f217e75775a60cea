// Deterministic VLAN allocation from pools. Pure.
import type { VlanPoolSpec } from '../api/types.gen.ts';

export interface Allocation {
  network: string;
  physicalNetwork: string;
  vlan: number;
}

export interface AllocationRequest {
  network: string;
  physicalNetwork: string;
}

export interface AllocationInput {
  pool: VlanPoolSpec;
  /** The pool's current allocations (from its status); they are kept as they are. */
  existing: readonly Allocation[];
  /** Every network that currently draws from this pool. */
  requests: readonly AllocationRequest[];
  /** VLANs held elsewhere, as `physnet/vlan`: fixed VLANs of networks, other pools' allocations. */
  taken: ReadonlySet<string>;
}

export interface AllocationResult {
  /** The pool's allocations afterwards, sorted by physical network, then VLAN. */
  allocations: Allocation[];
  /** Allocations made by this call. */
  added: Allocation[];
  /** Requests that could not be served: the pool has no free VLAN on that physical network. */
  exhausted: AllocationRequest[];
}

/** Whether `vlan` on `physnet` is reserved by the pool. */
export function isReserved(pool: VlanPoolSpec, physnet: string, vlan: number): boolean {
  return (pool.reserved ?? []).some(
    (r) => (r.physicalNetwork === undefined || r.physicalNetwork === physnet) && vlan >= r.min && vlan <= (r.max ?? r.min),
  );
}

/**
 * Serves every request that has no allocation yet with the lowest free VLAN of the pool on its
 * physical network, handling requests in network-name order. Existing allocations never move (an
 * allocation on another physical network than the request's is replaced). Because the result
 * depends only on the inputs — not on the order reconciles happen to run in — two processes, or a
 * process before and after a restart, allocate the same way.
 */
export function allocate(input: AllocationInput): AllocationResult {
  const wanted = new Map(input.requests.map((r) => [r.network, r] as const));
  const kept: Allocation[] = [];
  for (const a of input.existing) {
    const req = wanted.get(a.network);
    if (req && req.physicalNetwork !== a.physicalNetwork) continue; // moved: re-allocate below
    kept.push(a);
  }
  const used = new Set(input.taken);
  for (const a of kept) used.add(`${a.physicalNetwork}/${a.vlan}`);
  const have = new Set(kept.map((a) => a.network));
  const added: Allocation[] = [];
  const exhausted: AllocationRequest[] = [];
  for (const req of [...input.requests].sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0))) {
    if (have.has(req.network)) continue;
    const vlan = lowestFree(input.pool, req.physicalNetwork, used);
    if (vlan === undefined) {
      exhausted.push(req);
      continue;
    }
    const a = { network: req.network, physicalNetwork: req.physicalNetwork, vlan };
    used.add(`${a.physicalNetwork}/${vlan}`);
    have.add(req.network);
    added.push(a);
  }
  const allocations = [...kept, ...added].sort(
    (a, b) => (a.physicalNetwork < b.physicalNetwork ? -1 : a.physicalNetwork > b.physicalNetwork ? 1 : a.vlan - b.vlan),
  );
  return { allocations, added, exhausted };
}

function lowestFree(pool: VlanPoolSpec, physnet: string, used: ReadonlySet<string>): number | undefined {
  const ranges = pool.ranges.filter((r) => r.physicalNetwork === physnet).sort((a, b) => a.min - b.min);
  for (const r of ranges) {
    for (let v = r.min; v <= r.max; v++) {
      if (!used.has(`${physnet}/${v}`) && !isReserved(pool, physnet, v)) return v;
    }
  }
  return undefined;
}

export interface PoolUsage {
  physicalNetwork: string;
  allocated: number;
  free: number;
}

/** Allocated and free counts per physical network (free excludes reserved and taken VLANs). */
export function usage(pool: VlanPoolSpec, allocations: readonly Allocation[], taken: ReadonlySet<string>): PoolUsage[] {
  const physnets = [...new Set(pool.ranges.map((r) => r.physicalNetwork))].sort();
  return physnets.map((physnet) => {
    const mine = new Set(allocations.filter((a) => a.physicalNetwork === physnet).map((a) => a.vlan));
    const ids = new Set<number>();
    for (const r of pool.ranges) if (r.physicalNetwork === physnet) for (let v = r.min; v <= r.max; v++) ids.add(v);
    let free = 0;
    for (const v of ids) {
      if (!mine.has(v) && !taken.has(`${physnet}/${v}`) && !isReserved(pool, physnet, v)) free++;
    }
    return { physicalNetwork: physnet, allocated: mine.size, free };
  });
}

// VLAN allocations, kept in each pool's status (its record). Allocation for one pool is serialized,
// and persisted before the VLAN is used anywhere, so a crash never leaves a backend holding a VLAN
// the pool does not know it handed out.
import { objectKey, type Network, type VlanPool } from '../../api/kinds.ts';
import type { VlanAllocation } from '../../state/semantic.ts';
import { allocate, type Allocation } from '../../state/vlan-allocator.ts';
import { dropAllocations, recordFor, writeRecord, type Runtime } from '../runtime/runtime.ts';
import { KeyedLock } from '../../state/keyed-lock.ts';
import { allRecords } from '../../state/records.ts';
import { vlanPoolGroups } from '../../state/shards.ts';

const perRuntime = new WeakMap<Runtime, PoolAllocations>();

/** The one allocator of a runtime (the Network and VlanPool kinds share it). */
export function poolsOf(rt: Runtime): PoolAllocations {
  let p = perRuntime.get(rt);
  if (!p) perRuntime.set(rt, (p = new PoolAllocations(rt)));
  return p;
}

const indexKey = (network: string, physicalNetwork: string) => `${network}\u0000${physicalNetwork}`;

/** Each recorded allocations list (records are replaced, never changed in place, when they are
 *  written), indexed by network and physical network: built once per list. */
const indexes = new WeakMap<readonly Allocation[], { length: number; index: Map<string, Allocation> }>();

/** A pool's allocations by network and physical network (the first one of each, as `find` gave). */
export function byNetwork(allocations: readonly Allocation[]): ReadonlyMap<string, Allocation> {
  const known = indexes.get(allocations);
  // (A list whose length changed was edited in place after all: indexed again.)
  if (known && known.length === allocations.length) return known.index;
  const index = new Map<string, Allocation>();
  for (const a of allocations) {
    const k = indexKey(a.network, a.physicalNetwork);
    if (!index.has(k)) index.set(k, a);
  }
  indexes.set(allocations, { length: allocations.length, index });
  return index;
}

/** The lock a pool allocates under: its group's (pools overlapping on a physical network hand out
 *  the same VLANs, so their allocations are serialized together; `vlanPoolGroups`). */
const lockName = (rt: Runtime, pool: string): string =>
  rt.store.memo('vlanpool.groups', () => vlanPoolGroups(rt.store.list('VlanPool'))).get(pool) ?? pool;

/** An object that stands for the current desired state: a new one after each replace. */
const planToken = (rt: Runtime): object => rt.store.memo('vlanpool.plan-token', () => ({}));

export class PoolAllocations {
  readonly #rt: Runtime;
  readonly #lock = new KeyedLock();
  /** Dry-run only: each pool's allocation (by network), as computed from the desired state (`token`);
   *  all are dropped when any record changes (the allocation depends on every pool's and network's). */
  readonly #plans = new Map<string, { token: object; got: Map<string, Allocation> }>();
  #watching = false;

  constructor(rt: Runtime) {
    this.#rt = rt;
  }

  /** Whether record changes are being followed (then a plan may keep what it computed); starts to. */
  #watchRecords(): boolean {
    if (!this.#watching && this.#rt.records.watch) {
      this.#rt.records.watch(() => this.#plans.clear());
      this.#watching = true;
    }
    return this.#watching;
  }

  #planned(poolName: string): { got: Map<string, Allocation> } | undefined {
    const p = this.#plans.get(poolName);
    return p && p.token === planToken(this.#rt) ? p : undefined;
  }

  /** Every allocation of every pool, from the pools' records. */
  all(): VlanAllocation[] {
    const out: VlanAllocation[] = [];
    for (const r of allRecords(this.#rt.records)) {
      if (r.kind !== 'VlanPool') continue;
      for (const a of (r.status.allocations as Allocation[] | undefined) ?? []) out.push({ pool: r.name, ...a });
    }
    return out;
  }

  /** VLANs held outside `pool`: fixed VLANs of networks (desired, or still on backends) and other pools' allocations. */
  taken(pool: string): Set<string> {
    const rt = this.#rt;
    const out = new Set<string>();
    for (const n of rt.store.list('Network')) {
      if (n.spec.vlan?.id !== undefined) out.add(`${n.spec.physicalNetwork}/${n.spec.vlan.id}`);
    }
    for (const r of allRecords(rt.records)) {
      if (r.kind === 'Network' && typeof r.status.vlan === 'number' && typeof r.status.physicalNetwork === 'string') {
        const spec = r.spec as Network['spec'] | undefined;
        if (spec?.vlan?.poolRef?.name !== pool) out.add(`${r.status.physicalNetwork}/${r.status.vlan}`);
      }
    }
    for (const a of this.all()) if (a.pool !== pool) out.add(`${a.physicalNetwork}/${a.vlan}`);
    return out;
  }

  /**
   * The VLAN of a network that draws from a pool. When the network has none yet, every waiting
   * network of the pool is served at once, deterministically (see `allocate`), and the pool's
   * record is persisted before this returns. In dry-run nothing is persisted.
   */
  async vlanFor(network: Network): Promise<{ vlan: number; allocated: boolean } | { error: string }> {
    const poolName = network.spec.vlan!.poolRef!.name;
    return this.#lock.run(lockName(this.#rt, poolName), async () => {
      const rt = this.#rt;
      const adm = rt.store.get(objectKey('VlanPool', poolName));
      if (!adm) return { error: `VlanPool "${poolName}" is not available` };
      const pool = adm.object as VlanPool;
      // The pool's allocations as recorded (what recordFor would copy): looked up in an index, without
      // copying the record, so re-checking a network that has its VLAN costs O(1).
      const existing = (rt.records.get(adm.key)?.status.allocations as Allocation[] | undefined) ?? [];
      const mine = byNetwork(existing).get(indexKey(network.metadata.name, network.spec.physicalNetwork));
      if (mine) return { vlan: mine.vlan, allocated: false };
      // A plan persists nothing, so every network the pool has not recorded would serve the whole pool
      // again, from the same inputs, to the same result: that result is kept for the plan.
      const planned = rt.dryRun ? this.#planned(poolName) : undefined;
      if (planned) {
        const got = planned.got.get(network.metadata.name);
        if (!got) return { error: `VlanPool "${poolName}" has no free VLAN left on ${network.spec.physicalNetwork}` };
        return { vlan: got.vlan, allocated: true };
      }
      const rec = recordFor(rt, adm);
      const requests = rt.store
        .list('Network')
        .filter((n) => n.spec.vlan?.poolRef?.name === poolName)
        .map((n) => ({ network: n.metadata.name, physicalNetwork: n.spec.physicalNetwork }));
      const result = allocate({ pool: pool.spec, existing, requests, taken: this.taken(poolName) });
      if (rt.dryRun && this.#watchRecords()) {
        const got = new Map<string, Allocation>();
        for (const a of result.allocations) if (!got.has(a.network)) got.set(a.network, a);
        this.#plans.set(poolName, { token: planToken(rt), got });
      }
      const got = result.allocations.find((a) => a.network === network.metadata.name);
      if (!got) {
        return { error: `VlanPool "${poolName}" has no free VLAN left on ${network.spec.physicalNetwork}` };
      }
      rec.status.allocations = result.allocations;
      await writeRecord(rt, rec);
      for (const a of result.added) if (a.network !== network.metadata.name) rt.enqueue(objectKey('Network', a.network));
      rt.enqueue(adm.key);
      return { vlan: got.vlan, allocated: true };
    });
  }

  /** Gives a network's VLAN back to the pool. */
  async release(poolName: string, network: string): Promise<void> {
    await this.#lock.run(lockName(this.#rt, poolName), () => dropAllocations<Allocation>(this.#rt, objectKey('VlanPool', poolName), (a) => a.network === network));
  }
}

// VlanPool: publishes allocated/free counts. Allocation itself happens when a network needs a VLAN
// (PoolAllocations). A removed pool goes once no network holds one of its VLANs.
import type { VlanPool } from '../../api/kinds.ts';
import type { Allocation } from '../../state/vlan-allocator.ts';
import { usage } from '../../state/vlan-allocator.ts';
import {
  blockDeletion,
  isFrozen,
  jittered,
  recordFor,
  removeRecord,
  reportInvalid,
  setOutcome,
  writeRecord,
  type Controller,
  type ReconcileResult,
  type Runtime,
} from '../runtime/runtime.ts';
import type { PoolAllocations } from './allocations.ts';

export class VlanPoolController implements Controller {
  readonly kind = 'VlanPool' as const;
  readonly #rt: Runtime;
  readonly #allocations: PoolAllocations;

  constructor(rt: Runtime, allocations: PoolAllocations) {
    this.#rt = rt;
    this.#allocations = allocations;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const rt = this.#rt;
    if (isFrozen(rt, key)) return reportInvalid(rt, key);
    const adm = rt.store.get(key);
    if (!adm) return this.#remove(key);
    const pool = adm.object as VlanPool;
    const rec = recordFor(rt, adm);
    const allocations = (rec.status.allocations as Allocation[] | undefined) ?? [];
    const per = usage(pool.spec, allocations, this.#allocations.taken(pool.metadata.name));
    rec.status.physicalNetworks = per;
    rec.status.allocated = per.reduce((n, p) => n + p.allocated, 0);
    rec.status.free = per.reduce((n, p) => n + p.free, 0);
    setOutcome(rt, rec, {
      ready: { status: 'True', reason: 'Available', message: `${rec.status.allocated} allocated, ${rec.status.free} free` },
      synced: { status: 'True', reason: 'ReconcileSuccess' },
    });
    await writeRecord(rt, rec);
    return { requeueAfterMs: jittered(rt, rt.resyncMs) };
  }

  async #remove(key: string): Promise<ReconcileResult> {
    const rt = this.#rt;
    const rec = rt.records.get(key);
    if (!rec) return {};
    const holders = new Set(rt.store.referrers(key));
    for (const a of (rec.status.allocations as Allocation[] | undefined) ?? []) holders.add(`Network/${a.network}`);
    if (holders.size) return blockDeletion(rt, rec, holders, 'waiting for networks to give their VLANs back');
    await removeRecord(rt, key);
    return {};
  }
}

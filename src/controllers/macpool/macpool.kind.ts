// MacPool: publishes allocated/free counts. Allocation happens when a vNIC attachment needs a MAC
// (MacAllocations). A removed pool goes once no attachment holds one of its MACs.
import type { MacAllocation } from '../../state/mac-allocator.ts';
import { poolSize } from '../../state/mac-allocator.ts';
import { defineKind } from '../runtime/kind.ts';

export const macPoolKind = defineKind({
  kind: 'MacPool',

  keyFigure: (r) => (r.status.allocated === undefined ? '' : `${String(r.status.allocated)} allocated, ${String(r.status.free)} free`),

  usedBy(rt, key, rec) {
    const holders = new Set(rt.store.referrers(key));
    for (const a of (rec.status.allocations as MacAllocation[] | undefined) ?? []) holders.add(`VnicAttachment/${a.attachment}`);
    return { users: holders, waitingFor: 'waiting for vNIC attachments to give their MACs back' };
  },

  summarize({ object: pool, rec }) {
    const allocations = (rec.status.allocations as MacAllocation[] | undefined) ?? [];
    const distinct = new Set(allocations.map((a) => a.mac)).size;
    rec.status.allocated = allocations.length;
    rec.status.free = Math.max(poolSize(pool.spec) - distinct, 0);
    return {
      outcome: {
        ready: { status: 'True', reason: 'Available', message: `${rec.status.allocated} allocated, ${rec.status.free} free` },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
      },
    };
  },
});

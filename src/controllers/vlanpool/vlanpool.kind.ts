// VlanPool: publishes allocated/free counts. Allocation itself happens when a network needs a VLAN
// (PoolAllocations). A removed pool goes once no network holds one of its VLANs.
import type { Allocation } from '../../state/vlan-allocator.ts';
import { usage } from '../../state/vlan-allocator.ts';
import { defineKind } from '../runtime/kind.ts';
import { poolsOf } from './allocations.ts';

export const vlanPoolKind = defineKind({
  kind: 'VlanPool',

  keyFigure: (r) => (r.status.allocated === undefined ? '' : `${String(r.status.allocated)} allocated, ${String(r.status.free)} free`),

  usedBy(rt, key, rec) {
    const holders = new Set(rt.store.referrers(key));
    for (const a of (rec.status.allocations as Allocation[] | undefined) ?? []) holders.add(`Network/${a.network}`);
    return {
      users: holders,
      waitingFor: 'waiting for networks to give their VLANs back',
    };
  },

  summarize({ rt, object: pool, rec }) {
    const allocations = (rec.status.allocations as Allocation[] | undefined) ?? [];
    const per = usage(pool.spec, allocations, poolsOf(rt).taken(pool.metadata.name));
    rec.status.physicalNetworks = per;
    rec.status.allocated = per.reduce((n, p) => n + p.allocated, 0);
    rec.status.free = per.reduce((n, p) => n + p.free, 0);
    return {
      outcome: {
        ready: {
          status: 'True',
          reason: 'Available',
          message: `${rec.status.allocated} allocated, ${rec.status.free} free`,
        },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
      },
    };
  },
});

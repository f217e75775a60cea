// MAC allocations, kept in each MacPool's status (its record). Allocation for one pool is serialized
// and persisted before the MAC is used anywhere, so a crash never leaves a backend holding a MAC the
// pool does not know it handed out (like VLAN pools).
import { objectKey, type MacPool, type VnicAttachment } from '../../api/kinds.ts';
import { allocateMacs, inPool, type MacAllocation, type MacRequest } from '../../state/mac-allocator.ts';
import { dropAllocations, recordFor, writeRecord, type Runtime } from '../runtime/runtime.ts';
import { KeyedLock } from '../../state/keyed-lock.ts';

const perRuntime = new WeakMap<Runtime, MacAllocations>();

/** The one MAC allocator of a runtime (the VnicAttachment and MacPool kinds share it). */
export function macsOf(rt: Runtime): MacAllocations {
  let m = perRuntime.get(rt);
  if (!m) perRuntime.set(rt, (m = new MacAllocations(rt)));
  return m;
}

/** `namespace/name` of an attachment, as pools record it. */
export const attachmentName = (v: VnicAttachment): string => `${v.metadata.namespace ?? 'default'}/${v.metadata.name}`;

/** The MacPool an attachment draws from: the one its host's cluster names, if any. */
export function poolOf(rt: Pick<Runtime, 'store'>, v: VnicAttachment): string | undefined {
  const host = rt.store.object('Host', v.spec.host);
  const cluster = host ? rt.store.object('Cluster', host.spec.cluster) : undefined;
  return cluster?.spec.macPoolRef?.name;
}

/** Each recorded allocations list (records are replaced, never changed in place, when they are
 *  written), indexed by attachment: built once per list, so a lookup does not walk the pool. */
const indexes = new WeakMap<readonly MacAllocation[], { length: number; index: Map<string, MacAllocation> }>();

/** The allocations of a pool by attachment (the first one of an attachment, as `find` gave). */
export function byAttachment(allocations: readonly MacAllocation[]): ReadonlyMap<string, MacAllocation> {
  const known = indexes.get(allocations);
  // (A list whose length changed was edited in place after all: indexed again.)
  if (known && known.length === allocations.length) return known.index;
  const index = new Map<string, MacAllocation>();
  for (const a of allocations) if (!index.has(a.attachment)) index.set(a.attachment, a);
  indexes.set(allocations, { length: allocations.length, index });
  return index;
}

interface PlannedPool {
  token: object;
  record: unknown;
  refused: Map<string, { attachment: string; why: string }>;
  got: ReadonlyMap<string, MacAllocation>;
}

/** An object that stands for the current desired state: a new one after each replace. */
const planToken = (rt: Runtime): object => rt.store.memo('macpool.plan-token', () => ({}));

export type MacResult = { mac: string | undefined; allocated: boolean } | { waiting: string } | { refused: string };

export class MacAllocations {
  readonly #rt: Runtime;
  readonly #lock = new KeyedLock();
  /** Dry-run only: each pool's allocation, as computed from the desired state (`token`) and the
   *  pool's record (`record`) it was computed from. */
  readonly #plans = new Map<string, PlannedPool>();

  constructor(rt: Runtime) {
    this.#rt = rt;
  }

  /** The allocation a plan already computed for a pool, when nothing it depends on has changed since:
   *  the desired state (replaced, never changed in place) and the pool's record (a dry run writes
   *  none; a record is replaced when written). */
  #planned(poolName: string, record: unknown): PlannedPool | undefined {
    const p = this.#plans.get(poolName);
    return p && p.token === planToken(this.#rt) && p.record === record ? p : undefined;
  }

  /**
   * The MAC of an attachment: its own (recorded in its pool when it lies inside it), or the one its
   * pool gives it. When a pool serves one attachment it serves every waiting one at once, in name
   * order, and persists the pool's record before this returns. Without a pool, its own MAC or none
   * (the backend chooses).
   */
  async macFor(v: VnicAttachment): Promise<MacResult> {
    const own = v.spec.mac?.toLowerCase();
    const poolName = poolOf(this.#rt, v);
    if (!poolName) return { mac: own, allocated: false };
    return this.#lock.run(poolName, async () => {
      const rt = this.#rt;
      const adm = rt.store.get(objectKey('MacPool', poolName));
      if (!adm) return { waiting: `MacPool ${poolName} is not available` };
      const pool = adm.object as MacPool;
      // The pool's allocations as recorded (what recordFor would copy): looked up by attachment in an
      // index, without copying the record, so re-checking an attachment that has its MAC costs O(1).
      const existing = (rt.records.get(adm.key)?.status.allocations as MacAllocation[] | undefined) ?? [];
      const held = byAttachment(existing);
      const me = attachmentName(v);
      const mine = held.get(me);
      if (mine && (own === undefined ? !mine.explicit : mine.mac === own)) return { mac: mine.mac, allocated: false };
      if (own !== undefined && !inPool(pool.spec, own)) return { mac: own, allocated: false };
      // A plan persists nothing, so every attachment the pool has not recorded would serve the whole
      // pool again, from the same inputs, to the same result: that result is kept for the plan.
      const planned = rt.dryRun ? this.#planned(poolName, rt.records.get(adm.key)) : undefined;
      if (planned) {
        const refused = planned.refused.get(me);
        if (refused) return { refused: `MacPool ${poolName}: ${refused.why}` };
        return { mac: planned.got.get(me)!.mac, allocated: true };
      }
      const rec = recordFor(rt, adm);
      const requests: MacRequest[] = rt.store
        .list('VnicAttachment')
        .filter((x) => poolOf(rt, x) === poolName)
        .map((x) => ({ attachment: attachmentName(x), ...(x.spec.mac ? { mac: x.spec.mac.toLowerCase() } : {}) }));
      const result = allocateMacs(pool.spec, existing, requests);
      if (rt.dryRun) this.#plans.set(poolName, { token: planToken(rt), record: rt.records.get(adm.key), refused: new Map(result.refused.toReversed().map((r) => [r.attachment, r])), got: byAttachment(result.allocations) });
      const refusal = result.refused.find((r) => r.attachment === me);
      // Others' allocations are recorded even when this one is refused.
      rec.status.allocations = result.allocations;
      await writeRecord(rt, rec);
      rt.enqueue(adm.key);
      if (refusal) return { refused: `MacPool ${poolName}: ${refusal.why}` };
      const got = result.allocations.find((a) => a.attachment === me)!;
      for (const a of result.allocations) {
        if (a.attachment !== me && !held.has(a.attachment)) {
          const [ns, name] = a.attachment.split('/');
          rt.enqueue(objectKey('VnicAttachment', name!, ns));
        }
      }
      return { mac: got.mac, allocated: true };
    });
  }

  /** Gives an attachment's MAC back to its pool. */
  async release(poolName: string, attachment: string): Promise<void> {
    await this.#lock.run(poolName, () => dropAllocations<MacAllocation>(this.#rt, objectKey('MacPool', poolName), (a) => a.attachment === attachment));
  }
}

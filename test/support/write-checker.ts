// The checker of sharded controllers' writes (ADR 25): from the FakeBackend's write log (who wrote
// which object, from when to when) and the replicas' shard terms (from their logs), it finds
//  - writes by two replicas to one object that overlap in time, and
//  - writes by a replica that did not hold the object's shard when the write arrived.
// Pure. test/support/write-checker.test.ts shows it fails on such writes.
import type { WriteRecord } from './fake-backend.ts';

/** A replica's hold of one shard: from when it gained it until its engine for it stopped (no end:
 *  still held, or until the replica was killed, given as `end`). Date.now() ms. */
export interface ShardTerm {
  replica: string;
  shard: number;
  start: number;
  end?: number;
}

export interface Overlap {
  object: string;
  a: WriteRecord;
  b: WriteRecord;
}

/** Pairs of writes to one object by two different replicas whose [start, end] intervals overlap. */
export function overlappingWrites(writes: readonly WriteRecord[]): Overlap[] {
  const byObject = new Map<string, WriteRecord[]>();
  for (const w of writes) {
    let l = byObject.get(w.object);
    if (!l) byObject.set(w.object, (l = []));
    l.push(w);
  }
  const out: Overlap[] = [];
  for (const [object, list] of byObject) {
    list.sort((x, y) => x.start - y.start);
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length && list[j]!.start <= list[i]!.end; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.replica !== b.replica && b.start <= a.end && a.start <= b.end) out.push({ object, a, b });
      }
    }
  }
  return out;
}

/** Writes whose replica held no term of the object's shard covering the write's arrival. Objects
 *  `shardOf` does not know are not judged. */
export function writesOutsideTerms(writes: readonly WriteRecord[], terms: readonly ShardTerm[], shardOf: (object: string) => number | undefined): WriteRecord[] {
  return writes.filter((w) => {
    const shard = shardOf(w.object);
    if (shard === undefined) return false;
    return !terms.some((t) => t.replica === w.replica && t.shard === shard && t.start <= w.start && w.start <= (t.end ?? Infinity));
  });
}

/** A replica's shard terms from its pino log records ('shard N gained' … 'shard N: engine stopped'). */
export function termsFromLogs(replica: string, logs: readonly Record<string, unknown>[], killedAt?: number): ShardTerm[] {
  const open = new Map<number, ShardTerm>();
  const out: ShardTerm[] = [];
  for (const l of logs) {
    const msg = typeof l.msg === 'string' ? l.msg : '';
    const shard = typeof l.shard === 'number' ? l.shard : undefined;
    const time = typeof l.time === 'number' ? l.time : undefined;
    if (shard === undefined || time === undefined) continue;
    if (msg === `shard ${shard} gained`) {
      const t: ShardTerm = { replica, shard, start: time };
      open.set(shard, t);
      out.push(t);
    } else if (msg === `shard ${shard}: engine stopped` || (msg === `shard ${shard} lost` && !open.has(shard))) {
      const t = open.get(shard);
      if (t) t.end = time;
      open.delete(shard);
    }
  }
  if (killedAt !== undefined) for (const t of open.values()) t.end = killedAt;
  return out;
}

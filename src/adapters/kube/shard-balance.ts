// How many shards a replica of a sharded controller should hold (ADR 25). Pure; the I/O around it
// is shard-set.ts.
//
// With L live replicas and N shards a replica holds between floor(N/L) and ceil(N/L). A replica
// takes a free (or expired) shard only while it holds fewer than ceil(N/L), and — while some live
// replica holds fewer than floor(N/L) — only when it is itself below floor(N/L). A replica above
// floor(N/L) gives one shard back when another live replica is below floor(N/L) and the free shards
// cannot make up for it (only the replica holding most, so two do not both give; a shard already
// given back counts as free), and any replica above ceil(N/L) gives one back. Giving back
// is a graceful release: the Lease is cleared and taken by a replica below its share at its next try.
// Every shard ends up held: the shares' upper bounds add up to at least N.

export interface BalanceInput {
  shards: number;
  me: string;
  /** Live replicas (this one included or not: it is added). */
  live: readonly string[];
  /** Per shard, its holder as last read ('' or undefined: none). */
  holders: readonly (string | undefined)[];
  /** The shards this replica holds now (its own electors know best). */
  mine: readonly number[];
}

export interface BalanceDecision {
  min: number;
  max: number;
  /** Whether this replica may take a free or expired shard now. */
  mayAcquire: boolean;
  /** A shard to give back now, if any: the highest-numbered one held. */
  release?: number;
}

export function balance(input: BalanceInput): BalanceDecision {
  const live = [...new Set([...input.live, input.me])].sort();
  const min = Math.floor(input.shards / live.length);
  const max = Math.ceil(input.shards / live.length);
  const counts = new Map<string, number>(live.map((r) => [r, 0]));
  input.holders.forEach((h, i) => {
    if (h && h !== input.me && counts.has(h) && i < input.shards) counts.set(h, counts.get(h)! + 1);
  });
  const mine = input.mine.length;
  counts.set(input.me, mine);
  const someoneBelow = live.some((r) => r !== input.me && counts.get(r)! < min);
  const mayAcquire = mine < max && (mine < min || !someoneBelow);
  const highest = mine ? Math.max(...input.mine) : undefined;
  if (mine > max) return { min, max, mayAcquire, release: highest };
  // Shards nobody live holds (released, or their holder gone) go to those below their share first:
  // a shard is given back only for a shortfall they cannot cover (else a join moved two shards where
  // one would do: the second holder gave one back too, seeing the first's still free).
  let free = 0;
  for (let i = 0; i < input.shards; i++) {
    if (input.mine.includes(i)) continue;
    const h = input.holders[i];
    // No holder, one that is not live, or this replica as last read (it holds it no more).
    if (!h || !counts.has(h) || h === input.me) free++;
  }
  const shortfall = live.reduce((n, r) => (r === input.me ? n : n + Math.max(0, min - counts.get(r)!)), 0);
  if (mine > min && someoneBelow && free < shortfall) {
    // Only the replica holding most (ties: the first identity) gives one back.
    const top = [...live].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : a > b ? 1 : 0))[0];
    if (top === input.me) return { min, max, mayAcquire, release: highest };
  }
  return { min, max, mayAcquire };
}

import { describe, expect, it } from 'vitest';
import { balance, type BalanceInput } from './shard-balance.ts';

const b = (i: Partial<BalanceInput> & Pick<BalanceInput, 'me' | 'live' | 'holders' | 'mine'>) => balance({ shards: 4, ...i });

describe('balance', () => {
  it('alone: takes all four shards', () => {
    expect(b({ me: 'a', live: ['a'], holders: [], mine: [] })).toEqual({ min: 4, max: 4, mayAcquire: true });
    expect(b({ me: 'a', live: ['a'], holders: ['a', 'a', 'a'], mine: [0, 1, 2] }).mayAcquire).toBe(true);
  });

  it('three replicas: at most two each; a replica at two takes no more', () => {
    expect(b({ me: 'a', live: ['a', 'b', 'c'], holders: ['a', 'a', 'b', 'c'], mine: [0, 1] })).toEqual({ min: 1, max: 2, mayAcquire: false });
    expect(b({ me: 'b', live: ['a', 'b', 'c'], holders: ['a', 'c', 'b', undefined], mine: [2] }).mayAcquire).toBe(true);
  });

  it('while a live replica holds none, only a replica below its share takes a shard', () => {
    expect(b({ me: 'b', live: ['a', 'b', 'c'], holders: ['a', 'a', 'b', undefined], mine: [2] }).mayAcquire).toBe(false);
    expect(b({ me: 'c', live: ['a', 'b', 'c'], holders: ['a', 'a', 'b', undefined], mine: [] }).mayAcquire).toBe(true);
  });

  it('a replica that took everything gives shards back, one at a time, when others join', () => {
    const d = b({ me: 'a', live: ['a', 'b', 'c'], holders: ['a', 'a', 'a', 'a'], mine: [0, 1, 2, 3] });
    expect(d).toMatchObject({ max: 2, release: 3 });
  });

  it('of two replicas above the share, only the one holding most gives back (ties: first identity)', () => {
    const holders = ['a', 'a', 'b', 'b'];
    expect(b({ me: 'a', live: ['a', 'b', 'c'], holders, mine: [0, 1] }).release).toBe(1);
    expect(b({ me: 'b', live: ['a', 'b', 'c'], holders, mine: [2, 3] }).release).toBeUndefined();
  });

  it('a free shard covers a replica below its share: nobody gives one back for it (one move per join)', () => {
    // a gave shard 1 back for c; b, now holding most, would give one too if the free shard did not count.
    expect(b({ me: 'b', live: ['a', 'b', 'c'], holders: ['a', undefined, 'b', 'b'], mine: [2, 3] }).release).toBeUndefined();
    // A shard held by a replica that is gone is as free.
    expect(b({ me: 'b', live: ['a', 'b', 'c'], holders: ['a', 'dead', 'b', 'b'], mine: [2, 3] }).release).toBeUndefined();
    // Seven shards, three replicas (2..3 each): c holds none, short by two; one is free: one still to give.
    const seven = { shards: 7, live: ['a', 'b', 'c'], holders: ['a', 'a', 'a', 'b', 'b', 'b', undefined] };
    expect(balance({ ...seven, me: 'a', mine: [0, 1, 2] })).toMatchObject({ min: 2, max: 3, release: 2 });
    expect(balance({ ...seven, me: 'b', mine: [3, 4, 5] }).release).toBeUndefined(); // not the one holding most (ties: a)
  });

  it('holders that are not live do not count (a killed replica\u2019s shards are free to its share)', () => {
    const d = b({ me: 'a', live: ['a', 'b'], holders: ['a', 'dead', 'b', 'dead'], mine: [0] });
    expect(d).toEqual({ min: 2, max: 2, mayAcquire: true });
  });

  it('balanced holdings are stable: nobody takes or gives', () => {
    const holders = ['a', 'b', 'c', 'a'];
    for (const me of ['a', 'b', 'c']) {
      const mine = holders.flatMap((h, i) => (h === me ? [i] : []));
      const d = b({ me, live: ['a', 'b', 'c'], holders, mine });
      expect(d.release).toBeUndefined();
    }
  });

  it('simulated: any start converges to every shard held and each replica within [floor, ceil]', () => {
    for (const start of [['a', 'a', 'a', 'a'], [undefined, undefined, undefined, undefined], ['b', 'b', 'b', 'a']]) {
      const holders: (string | undefined)[] = [...start];
      const live = ['a', 'b', 'c'];
      for (let round = 0; round < 20; round++) {
        for (const me of live) {
          const mine = holders.flatMap((h, i) => (h === me ? [i] : []));
          const d = b({ me, live, holders, mine });
          if (d.release !== undefined) holders[d.release] = undefined;
          else if (d.mayAcquire) {
            const free = holders.findIndex((h) => !h);
            if (free >= 0) holders[free] = me;
          }
        }
      }
      expect(holders.every((h) => h)).toBe(true);
      for (const r of live) {
        const n = holders.filter((h) => h === r).length;
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(2);
      }
    }
  });
});

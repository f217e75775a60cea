import { describe, expect, it } from 'vitest';
import type { VlanPoolSpec } from '../api/types.gen.ts';
import { allocate, isReserved, usage, type Allocation, type AllocationInput, type AllocationRequest } from './vlan-allocator.ts';

const req = (network: string, physicalNetwork = 'physnet1'): AllocationRequest => ({ network, physicalNetwork });
const al = (network: string, vlan: number, physicalNetwork = 'physnet1'): Allocation => ({ network, physicalNetwork, vlan });

/** physnet1 and physnet2 both 100-110; 100-101 reserved everywhere, 102 reserved on physnet1 only. */
const RESERVED_POOL: VlanPoolSpec = {
  ranges: [
    { physicalNetwork: 'physnet1', min: 100, max: 110 },
    { physicalNetwork: 'physnet2', min: 100, max: 110 },
  ],
  reserved: [
    { min: 100, max: 101, reason: 'native' },
    { min: 102, physicalNetwork: 'physnet1' },
  ],
};

const PLAIN_POOL: VlanPoolSpec = { ranges: [{ physicalNetwork: 'physnet1', min: 10, max: 14 }] };

function run(input: Partial<AllocationInput> & { pool: VlanPoolSpec }) {
  return allocate({ existing: [], requests: [], taken: new Set(), ...input });
}

/** Deterministic Fisher-Yates shuffle (mulberry32), so a failure is reproducible. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('allocate: the lowest free VLAN', () => {
  it.each([
    { name: 'empty pool gives the range minimum', pool: PLAIN_POOL, physnet: 'physnet1', taken: [], existing: [], want: 10 },
    { name: 'reserved on every physnet is skipped (physnet2)', pool: RESERVED_POOL, physnet: 'physnet2', taken: [], existing: [], want: 102 },
    { name: 'physnet-restricted reservation also skipped on its physnet', pool: RESERVED_POOL, physnet: 'physnet1', taken: [], existing: [], want: 103 },
    { name: 'taken VLAN is skipped', pool: PLAIN_POOL, physnet: 'physnet1', taken: ['physnet1/10', 'physnet1/11'], existing: [], want: 12 },
    { name: 'taken on another physnet does not matter', pool: PLAIN_POOL, physnet: 'physnet1', taken: ['physnet2/10'], existing: [], want: 10 },
    { name: 'hole below other allocations is filled', pool: PLAIN_POOL, physnet: 'physnet1', taken: [], existing: [al('x', 11), al('y', 13)], want: 10 },
    { name: 'existing allocations of others are skipped', pool: PLAIN_POOL, physnet: 'physnet1', taken: ['physnet1/12'], existing: [al('x', 10), al('y', 11)], want: 13 },
    { name: 'reserved + taken combined', pool: RESERVED_POOL, physnet: 'physnet2', taken: ['physnet2/102', 'physnet2/103'], existing: [al('x', 104, 'physnet2')], want: 105 },
  ])('$name', ({ pool, physnet, taken, existing, want }) => {
    const r = run({ pool, existing, requests: [...existing.map((e) => req(e.network, e.physicalNetwork)), req('new', physnet)], taken: new Set(taken) });
    expect(r.added).toEqual([al('new', want, physnet)]);
    expect(r.exhausted).toEqual([]);
    expect(r.allocations).toContainEqual(al('new', want, physnet));
  });
});

describe('isReserved', () => {
  it.each([
    { physnet: 'physnet1', vlan: 100, want: true },
    { physnet: 'physnet1', vlan: 101, want: true },
    { physnet: 'physnet1', vlan: 102, want: true },
    { physnet: 'physnet1', vlan: 103, want: false },
    { physnet: 'physnet2', vlan: 100, want: true },
    { physnet: 'physnet2', vlan: 101, want: true },
    { physnet: 'physnet2', vlan: 102, want: false },
    { physnet: 'physnet3', vlan: 101, want: true },
    { physnet: 'physnet1', vlan: 99, want: false },
  ])('$physnet/$vlan → $want', ({ physnet, vlan, want }) => {
    expect(isReserved(RESERVED_POOL, physnet, vlan)).toBe(want);
  });

  it('a pool without reservations reserves nothing', () => {
    expect(isReserved(PLAIN_POOL, 'physnet1', 10)).toBe(false);
  });
});

describe('allocate: determinism', () => {
  const pool: VlanPoolSpec = {
    ranges: [
      { physicalNetwork: 'physnet1', min: 100, max: 104 },
      { physicalNetwork: 'physnet2', min: 200, max: 201 },
    ],
    reserved: [{ min: 101 }],
  };
  const requests = [req('web'), req('app'), req('db'), req('cache', 'physnet2'), req('mq', 'physnet2'), req('zz', 'physnet2'), req('log')];
  const expected = {
    // Name order per physnet: app, db, log, web on physnet1 (101 reserved); cache, mq on physnet2; zz exhausted.
    allocations: [al('app', 100), al('db', 102), al('log', 103), al('web', 104), al('cache', 200, 'physnet2'), al('mq', 201, 'physnet2')],
    added: [al('app', 100), al('cache', 200, 'physnet2'), al('db', 102), al('log', 103), al('mq', 201, 'physnet2'), al('web', 104)],
    exhausted: [req('zz', 'physnet2')],
  };

  it('serves requests in network-name order', () => {
    expect(run({ pool, requests })).toEqual(expected);
  });

  it.each([1, 2, 3, 42, 1234, 99999])('shuffled input (seed %i) gives the same result', (seed) => {
    expect(run({ pool, requests: shuffled(requests, seed) })).toEqual(expected);
  });

  it('shuffling existing allocations and taken does not change the result', () => {
    const existing = [al('b', 103), al('a', 100)];
    const reqs = [req('a'), req('b'), req('c'), req('d')];
    const base = run({ pool, existing, requests: reqs, taken: new Set(['physnet1/102']) });
    expect(base.added).toEqual([al('c', 104)]);
    expect(base.exhausted).toEqual([req('d')]);
    for (const seed of [7, 8, 9]) {
      expect(run({ pool, existing: shuffled(existing, seed), requests: shuffled(reqs, seed + 1), taken: new Set(['physnet1/102']) })).toEqual(base);
    }
  });
});

describe('allocate: existing allocations', () => {
  it('never move, even when a lower VLAN is free or they are now reserved/taken', () => {
    const pool: VlanPoolSpec = { ranges: [{ physicalNetwork: 'physnet1', min: 10, max: 20 }], reserved: [{ min: 15 }] };
    const existing = [al('a', 14), al('b', 15), al('c', 16)];
    const r = run({ pool, existing, requests: [req('a'), req('b'), req('c'), req('d')], taken: new Set(['physnet1/16']) });
    expect(r.allocations).toEqual([al('d', 10), al('a', 14), al('b', 15), al('c', 16)]);
    expect(r.added).toEqual([al('d', 10)]);
  });

  it('are kept even without a request (release is separate)', () => {
    const r = run({ pool: PLAIN_POOL, existing: [al('gone', 10)], requests: [req('new')] });
    expect(r.allocations).toEqual([al('gone', 10), al('new', 11)]);
    expect(r.added).toEqual([al('new', 11)]);
  });

  it.each([
    {
      name: 'physnet changed: re-allocated on the new physnet, old VLAN freed',
      existing: [al('a', 100, 'physnet1')],
      requests: [req('a', 'physnet2'), req('b', 'physnet1')],
      allocations: [al('b', 100, 'physnet1'), al('a', 200, 'physnet2')],
      added: [al('a', 200, 'physnet2'), al('b', 100, 'physnet1')],
    },
    {
      name: 'physnet unchanged: kept',
      existing: [al('a', 101, 'physnet1')],
      requests: [req('a', 'physnet1')],
      allocations: [al('a', 101, 'physnet1')],
      added: [],
    },
  ])('$name', ({ existing, requests, allocations, added }) => {
    const pool: VlanPoolSpec = {
      ranges: [
        { physicalNetwork: 'physnet1', min: 100, max: 105 },
        { physicalNetwork: 'physnet2', min: 200, max: 205 },
      ],
    };
    const r = run({ pool, existing, requests });
    expect(r.allocations).toEqual(allocations);
    expect(r.added).toEqual(added);
    expect(r.exhausted).toEqual([]);
  });

  it('a moved request that cannot be served is exhausted and its old allocation dropped', () => {
    const r = run({ pool: PLAIN_POOL, existing: [al('a', 10)], requests: [req('a', 'physnet9')] });
    expect(r.allocations).toEqual([]);
    expect(r.added).toEqual([]);
    expect(r.exhausted).toEqual([req('a', 'physnet9')]);
  });
});

describe('allocate: ranges', () => {
  // Two ranges on physnet1, listed high first; one on physnet2 below both.
  const pool: VlanPoolSpec = {
    ranges: [
      { physicalNetwork: 'physnet1', min: 300, max: 301 },
      { physicalNetwork: 'physnet2', min: 50, max: 60 },
      { physicalNetwork: 'physnet1', min: 100, max: 101 },
    ],
  };

  it.each([
    { n: 1, want: [100] },
    { n: 2, want: [100, 101] },
    { n: 3, want: [100, 101, 300] },
    { n: 4, want: [100, 101, 300, 301] },
  ])('lowest range first, other physnets ignored: $n requests → $want', ({ n, want }) => {
    const requests = Array.from({ length: n }, (_, i) => req(`n${i}`));
    const r = run({ pool, requests });
    expect(r.added.map((a) => a.vlan)).toEqual(want);
    expect(r.added.every((a) => a.physicalNetwork === 'physnet1')).toBe(true);
    expect(r.exhausted).toEqual([]);
  });

  it('a physnet without a range in the pool is exhausted', () => {
    const r = run({ pool, requests: [req('x', 'physnet3')] });
    expect(r.added).toEqual([]);
    expect(r.allocations).toEqual([]);
    expect(r.exhausted).toEqual([req('x', 'physnet3')]);
  });
});

describe('allocate: exhaustion', () => {
  it.each([
    {
      name: 'more requests than VLANs: the last names are exhausted',
      pool: PLAIN_POOL,
      taken: [] as string[],
      requests: ['f', 'e', 'd', 'c', 'b', 'a', 'g'],
      added: [al('a', 10), al('b', 11), al('c', 12), al('d', 13), al('e', 14)],
      exhausted: ['f', 'g'],
    },
    {
      name: 'everything taken or reserved',
      pool: { ranges: [{ physicalNetwork: 'physnet1', min: 10, max: 12 }], reserved: [{ min: 10, max: 11 }] } satisfies VlanPoolSpec,
      taken: ['physnet1/12'],
      requests: ['a', 'b'],
      added: [],
      exhausted: ['a', 'b'],
    },
  ])('$name', ({ pool, taken, requests, added, exhausted }) => {
    const r = run({ pool, requests: requests.map((n) => req(n)), taken: new Set(taken) });
    expect(r.added).toEqual(added);
    expect(r.allocations).toEqual(added);
    expect(r.exhausted).toEqual(exhausted.map((n) => req(n)));
    for (const n of exhausted) expect(r.allocations.some((a) => a.network === n)).toBe(false);
  });
});

describe('allocate: survives restarts', () => {
  it.each([
    { name: 'plain', pool: PLAIN_POOL, requests: [req('c'), req('a'), req('b')], taken: ['physnet1/11'] },
    { name: 'reserved, two physnets', pool: RESERVED_POOL, requests: [req('x'), req('y', 'physnet2'), req('z')], taken: [] },
    { name: 'with exhaustion', pool: PLAIN_POOL, requests: 'abcdefg'.split('').map((n) => req(n)), taken: [] },
  ])('feeding the result back as existing adds nothing: $name', ({ pool, requests, taken }) => {
    const first = run({ pool, requests, taken: new Set(taken) });
    expect(first.added.length).toBeGreaterThan(0);
    const second = run({ pool, existing: first.allocations, requests: shuffled(requests, 5), taken: new Set(taken) });
    expect(second.added).toEqual([]);
    expect(second.allocations).toEqual(first.allocations);
    expect(second.exhausted).toEqual(first.exhausted);
  });
});

describe('usage', () => {
  it.each([
    {
      name: 'empty pool: everything free except reserved',
      pool: RESERVED_POOL,
      allocations: [] as Allocation[],
      taken: [] as string[],
      // physnet1: 11 ids - 3 reserved (100,101,102) = 8; physnet2: 11 - 2 = 9
      want: [
        { physicalNetwork: 'physnet1', allocated: 0, free: 8 },
        { physicalNetwork: 'physnet2', allocated: 0, free: 9 },
      ],
    },
    {
      name: 'allocated and taken are not free',
      pool: RESERVED_POOL,
      allocations: [al('a', 103), al('b', 104), al('c', 102, 'physnet2')],
      taken: ['physnet1/110', 'physnet2/105', 'physnet3/105', 'physnet2/999'],
      want: [
        { physicalNetwork: 'physnet1', allocated: 2, free: 5 },
        { physicalNetwork: 'physnet2', allocated: 1, free: 7 },
      ],
    },
    {
      name: 'overlapping ranges count each id once; sorted by physnet',
      pool: {
        ranges: [
          { physicalNetwork: 'pz', min: 1, max: 2 },
          { physicalNetwork: 'pa', min: 10, max: 15 },
          { physicalNetwork: 'pa', min: 13, max: 20 },
        ],
      } satisfies VlanPoolSpec,
      allocations: [al('x', 10, 'pa')],
      taken: ['pa/20'],
      want: [
        { physicalNetwork: 'pa', allocated: 1, free: 9 },
        { physicalNetwork: 'pz', allocated: 0, free: 2 },
      ],
    },
  ])('$name', ({ pool, allocations, taken, want }) => {
    expect(usage(pool, allocations, new Set(taken))).toEqual(want);
  });

  it('matches allocate: free drops by exactly the number added', () => {
    const before = usage(RESERVED_POOL, [], new Set());
    const r = run({ pool: RESERVED_POOL, requests: [req('a'), req('b'), req('c', 'physnet2')] });
    const after = usage(RESERVED_POOL, r.allocations, new Set());
    expect(after).toEqual([
      { physicalNetwork: 'physnet1', allocated: 2, free: before[0]!.free - 2 },
      { physicalNetwork: 'physnet2', allocated: 1, free: before[1]!.free - 1 },
    ]);
  });
});

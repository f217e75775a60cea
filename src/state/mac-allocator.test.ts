import { describe, expect, it } from 'vitest';
import type { MacPoolSpec } from '../api/types.gen.ts';
import { allocateMacs, inPool, macToNumber, numberToMac, poolSize } from './mac-allocator.ts';

const pool = (o: Partial<MacPoolSpec> = {}): MacPoolSpec => ({ ranges: [{ start: '56:6f:00:00:00:00', end: '56:6f:00:00:00:ff' }], allowDuplicates: false, ...o });
const req = (attachment: string, mac?: string) => ({ attachment, ...(mac ? { mac } : {}) });

describe('MAC arithmetic', () => {
  it.each([
    ['00:00:00:00:00:00', 0],
    ['56:6f:00:00:00:01', 0x566f00000001],
    ['ff:ff:ff:ff:ff:ff', 0xffffffffffff],
  ])('%s ↔ %d', (mac, n) => {
    expect(macToNumber(mac)).toBe(n);
    expect(numberToMac(n)).toBe(mac);
  });
  it('refuses what is not a MAC', () => expect(macToNumber('56:6f:00:00:00')).toBeUndefined());
  it('size and membership, overlapping ranges counted once', () => {
    const p = pool({ ranges: [{ start: '56:6f:00:00:00:10', end: '56:6f:00:00:00:1f' }, { start: '56:6f:00:00:00:18', end: '56:6f:00:00:00:27' }] });
    expect(poolSize(p)).toBe(24);
    expect(inPool(p, '56:6f:00:00:00:27')).toBe(true);
    expect(inPool(p, '56:6f:00:00:00:28')).toBe(false);
  });
});

describe('allocateMacs', () => {
  it('gives the lowest free MACs in attachment order, whatever the request order', () => {
    const a = allocateMacs(pool(), [], [req('t/c'), req('t/a'), req('t/b')]);
    const b = allocateMacs(pool(), [], [req('t/b'), req('t/c'), req('t/a')]);
    expect(a).toEqual(b);
    expect(a.allocations).toEqual([
      { attachment: 't/a', mac: '56:6f:00:00:00:00' },
      { attachment: 't/b', mac: '56:6f:00:00:00:01' },
      { attachment: 't/c', mac: '56:6f:00:00:00:02' },
    ]);
  });

  it('existing allocations never move; a gap is filled; the departed are dropped', () => {
    const existing = [
      { attachment: 't/a', mac: '56:6f:00:00:00:00' },
      { attachment: 't/gone', mac: '56:6f:00:00:00:01' },
      { attachment: 't/c', mac: '56:6f:00:00:00:02' },
    ];
    expect(allocateMacs(pool(), existing, [req('t/c'), req('t/a'), req('t/d')]).allocations).toEqual([
      { attachment: 't/a', mac: '56:6f:00:00:00:00' },
      { attachment: 't/d', mac: '56:6f:00:00:00:01' },
      { attachment: 't/c', mac: '56:6f:00:00:00:02' },
    ]);
  });

  it('an explicit MAC in the pool is reserved for its attachment and skipped by allocation', () => {
    const r = allocateMacs(pool(), [], [req('t/a'), req('t/z', '56:6f:00:00:00:00')]);
    expect(r.allocations).toEqual([
      { attachment: 't/z', mac: '56:6f:00:00:00:00', explicit: true },
      { attachment: 't/a', mac: '56:6f:00:00:00:01' },
    ]);
  });

  it('an explicit MAC outside the pool is not the pool’s to record', () => {
    expect(allocateMacs(pool(), [], [req('t/a', '02:00:00:00:00:01')]).allocations).toEqual([]);
  });

  it('a MAC another attachment holds is refused, naming it; allowed with allowDuplicates', () => {
    const existing = [{ attachment: 't/a', mac: '56:6f:00:00:00:05' }];
    const r = allocateMacs(pool(), existing, [req('t/a'), req('t/b', '56:6f:00:00:00:05')]);
    expect(r.refused).toEqual([{ attachment: 't/b', why: 'MAC 56:6f:00:00:00:05 is already held by VnicAttachment t/a' }]);
    expect(r.allocations).toEqual(existing);
    expect(allocateMacs(pool({ allowDuplicates: true }), existing, [req('t/a'), req('t/b', '56:6f:00:00:00:05')]).refused).toEqual([]);
  });

  it('an exhausted pool refuses the rest', () => {
    const p = pool({ ranges: [{ start: '56:6f:00:00:00:00', end: '56:6f:00:00:00:01' }] });
    const r = allocateMacs(p, [], [req('t/a'), req('t/b'), req('t/c')]);
    expect(r.allocations.map((a) => a.attachment)).toEqual(['t/a', 't/b']);
    expect(r.refused).toEqual([{ attachment: 't/c', why: 'the MacPool has no free MAC left' }]);
  });

  it('200 attachments get 200 distinct MACs, the same again from their own result', () => {
    const reqs = Array.from({ length: 200 }, (_, i) => req(`t/vm${String(i).padStart(3, '0')}`));
    const first = allocateMacs(pool(), [], reqs);
    expect(new Set(first.allocations.map((a) => a.mac)).size).toBe(200);
    expect(allocateMacs(pool(), first.allocations, [...reqs].reverse())).toEqual(first);
  });
});

import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('gives a burst, then one token per refill period, never more than the burst', () => {
    const b = new TokenBucket(3, 1000, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.msUntilToken(0)).toBe(1000);
    expect(b.take(999)).toBe(false);
    expect(b.msUntilToken(999)).toBe(1);
    expect(b.take(1000)).toBe(true);
    expect(b.take(1000)).toBe(false);
    expect(b.isFull(100_000)).toBe(true);
    expect([b.take(100_000), b.take(100_000), b.take(100_000), b.take(100_000)]).toEqual([true, true, true, false]);
  });

  it('gains nothing from a clock going backwards', () => {
    const b = new TokenBucket(1, 1000, 5000);
    expect(b.take(5000)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(5999)).toBe(false);
    expect(b.take(6000)).toBe(true);
  });
});

describe('TokenBucket: fractional spacing', () => {
  it('3 per second stays on the exact 1000/3 ms grid', () => {
    const b = new TokenBucket(1, 1000 / 3, 0);
    expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.msUntilToken(0)).toBeCloseTo(1000 / 3, 9);
    for (let i = 1; i <= 30; i++) {
      const at = (i * 1000) / 3;
      expect(b.take(at - 0.01)).toBe(false);
      expect(b.take(at)).toBe(true);
    }
  });
});

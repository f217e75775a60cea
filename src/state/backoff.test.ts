import { describe, expect, it } from 'vitest';
import { ItemBackoff } from './backoff.ts';

function seq(b: ItemBackoff, key: string, n: number): number[] {
  return Array.from({ length: n }, () => b.next(key));
}

describe('ItemBackoff', () => {
  it.each([
    { name: 'defaults double from 5ms', opts: {}, n: 8, want: [5, 10, 20, 40, 80, 160, 320, 640] },
    { name: 'cap at maxMs', opts: { maxMs: 30 }, n: 6, want: [5, 10, 20, 30, 30, 30] },
    { name: 'custom base', opts: { baseMs: 100, maxMs: 1000 }, n: 5, want: [100, 200, 400, 800, 1000] },
    { name: 'cap not a power-of-two multiple', opts: { baseMs: 3, maxMs: 50 }, n: 6, want: [3, 6, 12, 24, 48, 50] },
    { name: 'zero base stays zero', opts: { baseMs: 0 }, n: 3, want: [0, 0, 0] },
  ])('grows base*2^n and caps: $name', ({ opts, n, want }) => {
    const b = new ItemBackoff({ ...opts, jitter: 0 });
    expect(seq(b, 'k', n)).toEqual(want);
    expect(b.failures('k')).toBe(n);
  });

  it('stays at maxMs (never Infinity/NaN) after very many failures', () => {
    const b = new ItemBackoff({ jitter: 0 });
    let last = 0;
    for (let i = 0; i < 5000; i++) last = b.next('k');
    expect(last).toBe(1_000_000);
    expect(b.failures('k')).toBe(5000);
  });

  it('forget resets a key and keys are independent', () => {
    const b = new ItemBackoff({ jitter: 0 });
    expect(seq(b, 'a', 3)).toEqual([5, 10, 20]);
    expect(seq(b, 'b', 2)).toEqual([5, 10]);
    b.forget('a');
    expect(b.failures('a')).toBe(0);
    expect(b.failures('b')).toBe(2);
    expect(b.next('a')).toBe(5);
    expect(b.next('b')).toBe(20);
    b.forget('never-seen'); // no-op
    expect(b.failures('never-seen')).toBe(0);
  });

  it.each([
    { name: 'random 0 → -10%', random: 0, jitter: 0.1, failures: 1, want: 4.5 },
    { name: 'random 1 → +10%', random: 1, jitter: 0.1, failures: 1, want: 5.5 },
    { name: 'random 0.5 → exact', random: 0.5, jitter: 0.1, failures: 3, want: 20 },
    { name: 'random 1 at cap → maxMs*(1+jitter)', random: 1, jitter: 0.1, failures: 40, want: 1_100_000 },
    { name: 'random 0 at cap', random: 0, jitter: 0.1, failures: 40, want: 900_000 },
    { name: 'jitter > 1 never below 0', random: 0, jitter: 1.5, failures: 1, want: 0 },
    { name: 'jitter 1, random 1 doubles', random: 1, jitter: 1, failures: 2, want: 20 },
    { name: 'random < 0 clamped to 0', random: -3, jitter: 0.1, failures: 1, want: 4.5 },
    { name: 'random > 1 clamped to 1', random: 7, jitter: 0.1, failures: 1, want: 5.5 },
    { name: 'random NaN treated as 0', random: Number.NaN, jitter: 0.1, failures: 1, want: 4.5 },
  ])('jitter bounds: $name', ({ random, jitter, failures, want }) => {
    const b = new ItemBackoff({ jitter, random: () => random });
    let d = Number.NaN;
    for (let i = 0; i < failures; i++) d = b.next('k');
    expect(d).toBeCloseTo(want, 6);
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThanOrEqual(1_000_000 * (1 + jitter));
  });

  it('jittered delays stay within [raw*(1-j), raw*(1+j)] for many random draws', () => {
    let state = 12345;
    const lcg = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const b = new ItemBackoff({ maxMs: 1000, jitter: 0.2, random: lcg });
    const raws = [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000];
    for (const raw of raws) {
      const d = b.next('k');
      expect(d).toBeGreaterThanOrEqual(raw * 0.8 - 1e-9);
      expect(d).toBeLessThanOrEqual(raw * 1.2 + 1e-9);
    }
  });

  it.each([
    { opts: { baseMs: -1 }, msg: /baseMs/ },
    { opts: { maxMs: Number.NaN }, msg: /maxMs/ },
    { opts: { jitter: -0.1 }, msg: /jitter/ },
    { opts: { jitter: Infinity }, msg: /jitter/ },
  ])('rejects invalid options $opts', ({ opts, msg }) => {
    expect(() => new ItemBackoff(opts)).toThrow(msg);
  });
});

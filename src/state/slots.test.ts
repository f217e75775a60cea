import { describe, expect, it } from 'vitest';
import { Slots } from './slots.ts';

describe('Slots', () => {
  it('holds at most size at once, served in arrival order', async () => {
    const s = new Slots(2);
    const a = await s.acquire();
    const b = await s.acquire();
    const order: string[] = [];
    const c = s.acquire().then((r) => (order.push('c'), r));
    const d = s.acquire().then((r) => (order.push('d'), r));
    await Promise.resolve();
    expect(s.held).toBe(2);
    expect(order).toEqual([]);
    a();
    a(); // twice is once
    const rc = await c;
    expect(order).toEqual(['c']);
    b();
    const rd = await d;
    expect(order).toEqual(['c', 'd']);
    rc();
    rd();
    expect(s.held).toBe(0);
  });

  it('a waiter whose signal aborts takes no slot', async () => {
    const s = new Slots(1);
    const a = await s.acquire();
    const ac = new AbortController();
    const w = s.acquire(ac.signal);
    ac.abort(new Error('stopped'));
    await expect(w).rejects.toThrow('stopped');
    a();
    expect(s.held).toBe(0);
    await expect(s.acquire(ac.signal)).rejects.toThrow('stopped');
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new Slots(0)).toThrow(RangeError);
  });
});

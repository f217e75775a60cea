import { describe, expect, it } from 'vitest';
import { Shared } from './shared.ts';

describe('Shared', () => {
  it('returns the first value made for a key while the key is among the last ~size distinct ones', () => {
    const t = new Shared<object>(4);
    let made = 0;
    const make = () => ({ n: ++made });
    const a = t.get('a', make);
    expect(t.get('a', make)).toBe(a);
    for (const k of ['b', 'c', 'd']) t.get(k, make);
    expect(made).toBe(4);
    // 'e' starts a new generation; 'a' is found in the older one and moves to the newer.
    t.get('e', make);
    expect(t.get('a', make)).toBe(a);
    for (const k of ['f', 'g', 'h', 'i']) t.get(k, make); // two more generations: 'b' is forgotten
    const before = made;
    expect(t.get('b', make)).toEqual({ n: before + 1 });
  });
});

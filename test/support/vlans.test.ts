import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reserveVlans, vlanSource } from './vlans.ts';

describe('reserveVlans', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'netform-vlans-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('hands out disjoint aligned blocks until the range is full, then says so', () => {
    const d = dir();
    const got = Array.from({ length: 5 }, () => reserveVlans('physnet1', 4, 100, 119, d));
    expect(got.map((b) => (b - 100) % 4)).toEqual([0, 0, 0, 0, 0]);
    expect([...got].sort((a, b) => a - b)).toEqual([100, 104, 108, 112, 116]);
    expect(readdirSync(d)).toHaveLength(20);
    expect(() => reserveVlans('physnet1', 4, 100, 119, d)).toThrow(/no 4 free consecutive VLANs of physnet1 in 100..119/);
    // Another physical network has its own ids.
    expect(reserveVlans('physnet2', 4, 100, 103, d)).toBe(100);
  });

  it('skips a block another holder has one VLAN of, and leaves nothing of a block it could not take', () => {
    const d = dir();
    mkdirSync(join(d, 'physnet3-11'));
    for (let i = 0; i < 20; i++) {
      expect(reserveVlans('physnet3', 2, 10, 13, d)).toBe(12);
      expect(readdirSync(d).sort()).toEqual(['physnet3-11', 'physnet3-12', 'physnet3-13']);
      rmSync(join(d, 'physnet3-12'), { recursive: true });
      rmSync(join(d, 'physnet3-13'), { recursive: true });
    }
    const one = vlanSource('physnet3', 10, 12, d);
    expect([one(), one()].sort()).toEqual([10, 12]);
    expect(() => one()).toThrow(/no 1 free/);
  });

  it('refuses a malformed request', () => {
    expect(() => reserveVlans('phys net', 1, 1, 10, dir())).toThrow(/bad request/);
    expect(() => reserveVlans('physnet1', 5, 1, 3, dir())).toThrow(/bad request/);
  });
});

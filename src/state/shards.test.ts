import { describe, expect, it } from 'vitest';
import { shardOf, shardOfToken, shardToken, vlanPoolGroups, type ShardableObject } from './shards.ts';

const obj = (kind: string, name: string, spec: unknown = {}, namespace?: string): ShardableObject => ({ kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec });

describe('shardToken', () => {
  it.each([
    ['a Provider by its name', obj('Provider', 'p1'), 'provider:p1'],
    ['a Network by its provider', obj('Network', 'n', { providerRefs: [{ name: 'p2' }] }), 'provider:p2'],
    ['a Network with several providers by the smallest name', obj('Network', 'n', { providerRefs: [{ name: 'zeta' }, { name: 'alpha' }] }), 'provider:alpha'],
    ['a Network drawing from a VLAN pool by the pool', obj('Network', 'n', { vlan: { poolRef: { name: 'pool' } }, providerRefs: [{ name: 'p' }] }), 'vlanpool:pool'],
    ['a VlanPool by itself', obj('VlanPool', 'pool'), 'vlanpool:pool'],
    ['a MacPool by itself', obj('MacPool', 'macs'), 'macpool:macs'],
    ['a Router by its providerRef', obj('Router', 'r', { providerRef: { name: 'p3' } }), 'provider:p3'],
    ['a Host by its key', obj('Host', 'hv1', { cluster: 'c' }), 'key:Host/hv1'],
    ['a Network without providers by its key', obj('Network', 'n'), 'key:Network/n'],
    ['a VnicAttachment without a MAC pool by its key', obj('VnicAttachment', 'v', { host: 'hv1' }, 'team'), 'key:VnicAttachment/team/v'],
  ])('%s', (_what, o, token) => {
    expect(shardToken(o)).toBe(token);
  });

  it('a VnicAttachment whose Cluster names a MacPool goes with the pool', () => {
    const lookup = (kind: 'Host' | 'Cluster', name: string) =>
      kind === 'Host' && name === 'hv1' ? obj('Host', 'hv1', { cluster: 'prod' }) : kind === 'Cluster' && name === 'prod' ? obj('Cluster', 'prod', { macPoolRef: { name: 'macs' } }) : undefined;
    expect(shardToken(obj('VnicAttachment', 'v', { host: 'hv1' }, 'team'), lookup)).toBe('macpool:macs');
    expect(shardOf(obj('VnicAttachment', 'v', { host: 'hv1' }, 'team'), 4, lookup)).toBe(shardOf(obj('MacPool', 'macs'), 4));
  });
});

describe('vlanPoolGroups: pools overlapping on a physical network allocate together', () => {
  const pool = (name: string, ...ranges: [string, number, number][]) => obj('VlanPool', name, { ranges: ranges.map(([physicalNetwork, min, max]) => ({ physicalNetwork, min, max })) });

  it('groups pools whose ranges overlap, also through a third, by the smallest name; disjoint pools and other physical networks stay alone', () => {
    const groups = vlanPoolGroups([
      pool('zulu', ['physnet1', 100, 199]),
      pool('mike', ['physnet1', 150, 250]), // overlaps zulu
      pool('alpha', ['physnet1', 250, 300], ['physnet2', 1, 10]), // touches mike at 250: overlaps
      pool('bravo', ['physnet1', 301, 400]), // adjacent to alpha, not overlapping
      pool('charlie', ['physnet2', 11, 20]), // physnet2 only, disjoint
      pool('delta', ['physnet3', 100, 199]), // same numbers, another physical network
      pool('echo', ['physnet3', 150, 150], ['physnet4', 1, 1]),
    ]);
    expect(Object.fromEntries(groups)).toEqual({ zulu: 'alpha', mike: 'alpha', alpha: 'alpha', delta: 'delta', echo: 'delta' });
  });

  it('a range inside another one far before it still overlaps (the furthest reach is kept)', () => {
    const groups = vlanPoolGroups([pool('wide', ['p', 1, 4000]), pool('x', ['p', 10, 20]), pool('y', ['p', 3000, 3001])]);
    expect(Object.fromEntries(groups)).toEqual({ wide: 'wide', x: 'wide', y: 'wide' });
  });

  it('the shard token of a pool and of a network drawing from it is the group', () => {
    const groups = vlanPoolGroups([pool('b', ['p', 1, 10]), pool('a', ['p', 5, 6])]);
    const group = (p: string) => groups.get(p) ?? p;
    expect(shardToken(obj('VlanPool', 'b'), undefined, group)).toBe('vlanpool:a');
    expect(shardToken(obj('Network', 'n', { vlan: { poolRef: { name: 'b' } } }), undefined, group)).toBe('vlanpool:a');
    expect(shardToken(obj('VlanPool', 'c'), undefined, group)).toBe('vlanpool:c');
  });
});

describe('shardOfToken', () => {
  it('is stable: fixed answers (every replica, every release, computes these)', () => {
    expect(['provider:p0', 'provider:p1', 'key:Host/hv1', 'vlanpool:pool'].map((t) => shardOfToken(t, 4))).toMatchSnapshot();
  });

  it('is always within 0..N-1 and one shard means shard 0', () => {
    for (let i = 0; i < 200; i++) {
      expect(shardOfToken(`key:Host/h${i}`, 1)).toBe(0);
      const s = shardOfToken(`key:Host/h${i}`, 7);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(7);
    }
  });

  it('spreads 2,000 keys over 4 shards within ±10% of 500 each', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 2000; i++) counts[shardOf(obj('Host', `hv${i}`), 4)]!++;
    for (const c of counts) expect(Math.abs(c - 500)).toBeLessThanOrEqual(50);
  });

  it('2,000 networks over 40 providers: every shard has providers, none more than twice its share', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 2000; i++) counts[shardOf(obj('Network', `net${i}`, { providerRefs: [{ name: `p${i % 40}` }] }), 4)]!++;
    for (const c of counts) {
      expect(c).toBeGreaterThan(0);
      expect(c).toBeLessThanOrEqual(1000);
    }
  });

  it('growing from 4 to 5 shards moves only the tokens the new shard takes (rendezvous)', () => {
    let moved = 0;
    for (let i = 0; i < 2000; i++) {
      const a = shardOfToken(`key:Host/hv${i}`, 4);
      const b = shardOfToken(`key:Host/hv${i}`, 5);
      if (a !== b) {
        moved++;
        expect(b).toBe(4);
      }
    }
    expect(moved).toBeGreaterThan(300);
    expect(moved).toBeLessThan(500);
  });

  it('refuses a shard count that is not a positive integer', () => {
    expect(() => shardOfToken('x', 0)).toThrow(RangeError);
    expect(() => shardOfToken('x', 1.5)).toThrow(RangeError);
  });
});

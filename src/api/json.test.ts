import { describe, expect, it } from 'vitest';
import type { AnyResource } from './kinds.ts';
import { canonicalJson, sameContent } from './json.ts';
import { contentHash } from '../state/store.ts';

describe('canonicalJson / sameContent', () => {
  it.each([
    { name: 'key order does not count', a: { a: 1, b: { c: 2, d: 3 } }, b: { b: { d: 3, c: 2 }, a: 1 }, same: true },
    { name: 'undefined fields do not count', a: { a: 1, b: undefined }, b: { a: 1 }, same: true },
    { name: 'array order counts', a: [1, 2], b: [2, 1], same: false },
    { name: 'null is not absent', a: { a: null }, b: {}, same: false },
    { name: 'types count', a: { a: '1' }, b: { a: 1 }, same: false },
    { name: 'nested objects in arrays', a: [{ end: '10.0.0.9', start: '10.0.0.2' }], b: [{ start: '10.0.0.2', end: '10.0.0.9' }], same: true },
  ])('$name', ({ a, b, same }) => {
    expect(sameContent(a, b)).toBe(same);
    expect(canonicalJson(a) === canonicalJson(b)).toBe(same);
  });

  it('sorts keys recursively with no spaces', () => {
    expect(canonicalJson({ b: [{ y: 1, x: 'é' }], a: true })).toBe('{"a":true,"b":[{"x":"é","y":1}]}');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('contentHash is unchanged by the move to canonicalJson (a changed hash would bump every recorded generation on upgrade)', () => {
    const o = {
      apiVersion: 'netform.io/v1alpha1',
      kind: 'Network',
      metadata: { name: 'web', labels: { tier: 'web', a: '1' } },
      spec: { physicalNetwork: 'physnet1', vlan: { id: 100 }, subnets: [{ name: 'a', cidr: '10.0.0.0/24', dhcp: true }], mtu: 1500, description: 'ü "q"' },
    } as unknown as AnyResource;
    // Computed with the previous implementation (its own recursive key-sorting serializer) at 55858fb.
    expect(contentHash(o)).toBe('60c633c693b5ff8df12917fa0ba3f34c');
  });
});

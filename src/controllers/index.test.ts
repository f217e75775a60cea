import { describe, expect, it } from 'vitest';
import { KINDS } from '../api/kinds.ts';
import { KIND_DEFINITIONS } from './index.ts';

describe('the registration list', () => {
  it('declares every kind in crds/ exactly once', () => {
    expect(KIND_DEFINITIONS.map((d) => d.kind).sort()).toEqual([...KINDS].sort());
  });

  it('lists each kind after the kinds it refers to (the engine reconciles in this order)', () => {
    // The kinds a declaration's references may name, by the CRD fields that hold references.
    const order = KIND_DEFINITIONS.map((d) => d.kind);
    const before = (a: string, b: string) => order.indexOf(a as never) < order.indexOf(b as never);
    expect(before('Provider', 'Network') && before('VlanPool', 'Network') && before('MacPool', 'Cluster') && before('Network', 'Cluster')).toBe(true);
    expect(before('Cluster', 'Host') && before('Host', 'VnicAttachment') && before('Network', 'VnicAttachment')).toBe(true);
  });
});

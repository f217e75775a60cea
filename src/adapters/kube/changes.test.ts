import { describe, expect, it } from 'vitest';
import { affectsAdmission } from './changes.ts';

const net = (over: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'netform.io/v1alpha1',
  kind: 'Network',
  metadata: { name: 'n', generation: 1, resourceVersion: '10', finalizers: ['netform.io/cleanup'], ...meta },
  spec: { physicalNetwork: 'physnet1', mtu: 1500 },
  ...over,
});

describe('affectsAdmission', () => {
  it.each([
    ['an add', 'Network', { type: 'add' as const, object: net() }, true],
    ['a delete', 'Network', { type: 'delete' as const, object: net() }, true],
    ['a status-only update', 'Network', { type: 'update' as const, old: net(), object: net({ status: { conditions: [] } }, { resourceVersion: '11' }) }, false],
    ['a spec update', 'Network', { type: 'update' as const, old: net(), object: net({ spec: { physicalNetwork: 'physnet1', mtu: 1400 } }, { generation: 2 }) }, true],
    ['an annotation (approval) update', 'Network', { type: 'update' as const, old: net(), object: net({}, { annotations: { 'netform.io/approved-plan': 'x' } }) }, true],
    ['a deletion starting', 'Network', { type: 'update' as const, old: net(), object: net({}, { deletionTimestamp: '2026-12-05T00:00:00Z' }) }, true],
    ['the finalizer added (not being deleted)', 'Network', { type: 'update' as const, old: net({}, { finalizers: [] }), object: net() }, false],
    ['the finalizer removed while being deleted', 'Network', { type: 'update' as const, old: net({}, { deletionTimestamp: 'x' }), object: net({}, { deletionTimestamp: 'x', finalizers: [] }) }, true],
    ['a VlanPool status update (its allocations)', 'VlanPool', { type: 'update' as const, old: net(), object: net({ status: { allocations: [] } }) }, true],
    ['an update without the old object', 'Network', { type: 'update' as const, object: net() }, true],
  ])('%s: %s', (_what, kind, e, want) => {
    expect(affectsAdmission(kind, e)).toBe(want);
  });
});

import { describe, expect, it } from 'vitest';
import { eventFor } from './binding-events.ts';
import type { BindingOutcome } from './managed.ts';

const outcome = (action: string, { plan, ...extra }: Partial<BindingOutcome> = {}): BindingOutcome =>
  ({ plan: { object: 'Network/web', target: 'neutron:n1', resource: 'network', action, externalId: 'id-1', ...(plan ?? {}) }, done: true, ...extra }) as BindingOutcome;

describe('eventFor', () => {
  it.each([
    ['create', 'Normal', 'Created', 'created network on n1 (id-1)'],
    ['delete', 'Normal', 'Deleted', 'deleted network on n1 (id-1)'],
    ['replace', 'Normal', 'Replaced', 'replaced network on n1 (id-1)'],
    ['orphan', 'Normal', 'Orphaned', 'left network on n1 (id-1) in place'],
  ])('%s → %s %s', (action, type, reason, note) => {
    expect(eventFor(outcome(action), 'n1')).toMatchObject({ type, reason, note });
  });

  it('an update names the changed fields', () => {
    const o = outcome('update', { plan: { changes: [{ path: 'mtu' }, { path: 'shared' }] } as never });
    expect(eventFor(o, 'n1')?.note).toBe('updated network on n1 (id-1): mtu, shared');
  });

  it('a failure is a Warning whose reason says whether retrying can help', () => {
    const t = eventFor(outcome('create', { done: false, error: { errorClass: 'Transient', message: 'create network on n1: ECONNREFUSED' } }), 'n1');
    expect(t).toEqual({ type: 'Warning', reason: 'BackendError', action: 'Create', note: 'create network on n1: ECONNREFUSED' });
    const r = eventFor(outcome('unknown', { done: false, error: { errorClass: 'Terminal', message: 'VLAN 10 in use' } }), 'n1');
    expect(r).toMatchObject({ type: 'Warning', reason: 'BackendRejected', action: 'Reconcile' });
  });

  it('no event for a no-op', () => {
    expect(eventFor(outcome('noop'), 'n1')).toBeUndefined();
  });
});

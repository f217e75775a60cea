// The feed between the engine and the console server: the engine's hooks become timeline events and
// change signals; the view carries the timeline.
import { describe, expect, it } from 'vitest';
import { admit } from '../state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../state/records.ts';
import { DesiredStore } from '../state/store.ts';
import { referencesOf } from '../controllers/index.ts';
import type { BindingOutcome } from '../controllers/runtime/managed.ts';
import { ConsoleFeed } from './feed.ts';

const NOW = new Date('2026-12-05T04:00:00Z');

function setup() {
  const store = new DesiredStore(referencesOf);
  store.replace(admit([{ path: 'n.yaml', text: 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: web}\nspec: {physicalNetwork: physnet1}' }]));
  const records = new MemoryRecords();
  const feed = new ConsoleFeed({ mode: 'file', source: () => ({ store, records, reports: new Map() }), now: () => NOW });
  let signals = 0;
  feed.subscribe(() => signals++);
  return { feed, records, signals: () => signals };
}

const rec = (ready: 'True' | 'False', reason: string): ObjectRecord =>
  ({ key: 'Network/web', kind: 'Network', name: 'web', uid: 'u', generation: 1, createdAt: 'x', status: { conditions: [{ type: 'Ready', status: ready, reason, lastTransitionTime: NOW.toISOString() }] } }) as ObjectRecord;

describe('console feed', () => {
  it('a reconcile notes the record\'s transitions and signals a change; a backend action is an event', async () => {
    const t = setup();
    expect(t.feed.view().networks.map((n) => [n.name, n.health])).toEqual([['web', 'unknown']]);
    await t.records.put(rec('False', 'Creating'));
    const o = t.feed.observer();
    o.reconciled('Network/web', { kind: 'Network', ms: 1, result: 'success', driftCorrected: false });
    expect(t.signals()).toBe(1);
    await t.records.put(rec('True', 'Available'));
    o.binding('Network/web', { done: true, plan: { object: 'Network/web', target: 'neutron:os', resource: 'network', action: 'create', externalId: 'n-1' } } as BindingOutcome, 'os');
    o.reconciled('Network/web', { kind: 'Network', ms: 1, result: 'success', driftCorrected: false });
    expect(t.signals()).toBe(3);
    const v = t.feed.view(true);
    expect(v.canApprove).toBe(true);
    expect(v.networks[0]!.health).toBe('ok');
    expect(v.events.map((e) => [e.type, e.status, e.reason])).toEqual([
      ['Ready', 'False', 'Creating'],
      ['action', 'Normal', 'Created'],
      ['Ready', 'True', 'Available'],
    ]);
    expect(v.events[1]!.message).toBe('created network on os (n-1)');
  });

  it('a listener that throws does not stop the others', () => {
    const t = setup();
    t.feed.subscribe(() => {
      throw new Error('boom');
    });
    let after = 0;
    t.feed.subscribe(() => after++);
    t.feed.changed();
    expect(after).toBe(1);
    expect(t.signals()).toBe(1);
  });
});

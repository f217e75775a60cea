// The console's event timeline: seeded from the records, condition transitions after that, backend
// actions, a host agent's applied changes; bounded.
import { describe, expect, it } from 'vitest';
import type { Condition } from '../api/kinds.ts';
import type { ObjectRecord } from '../state/records.ts';
import { EventLog } from './events.ts';

const rec = (key: string, conditions: Condition[]): ObjectRecord =>
  ({ key, kind: key.split('/')[0], name: key.split('/')[1], uid: 'u', generation: 1, createdAt: 't', status: { conditions } }) as ObjectRecord;
const c = (type: string, status: Condition['status'], reason: string, lastTransitionTime?: string, message?: string): Condition => ({
  type,
  status,
  reason,
  ...(lastTransitionTime ? { lastTransitionTime } : {}),
  ...(message ? { message } : {}),
});
const NOW = new Date('2026-12-05T04:00:00Z');

describe('console events', () => {
  it('seeds from the records, oldest first; then only transitions are events', () => {
    const log = new EventLog();
    log.seed([rec('Network/b', [c('Ready', 'True', 'Available', '2026-12-05T02:00:00Z')]), rec('Network/a', [c('Ready', 'False', 'Creating', '2026-12-05T01:00:00Z'), c('Reconciling', 'True', 'Creating', '2026-12-05T01:00:00Z')])]);
    expect(log.list().map((e) => `${e.key} ${e.type} ${e.status}`)).toEqual(['Network/a Ready False', 'Network/b Ready True']);
    // Nothing changed: nothing new.
    expect(log.observe('Network/b', rec('Network/b', [c('Ready', 'True', 'Available', '2026-12-05T02:00:00Z')]), NOW)).toBe(0);
    // A transition, at its lastTransitionTime; a reason change alone, at `now`.
    expect(log.observe('Network/a', rec('Network/a', [c('Ready', 'True', 'Available', '2026-12-05T03:00:00Z', 'ok'), c('Synced', 'False', 'BackendRejected', '2026-12-05T03:00:00Z', 'no')]), NOW)).toBe(2);
    expect(log.observe('Network/b', rec('Network/b', [c('Ready', 'True', 'Updating', '2026-12-05T02:00:00Z')]), NOW)).toBe(1);
    expect(log.list().slice(2)).toEqual([
      { time: '2026-12-05T03:00:00Z', key: 'Network/a', type: 'Ready', status: 'True', reason: 'Available', message: 'ok' },
      { time: '2026-12-05T03:00:00Z', key: 'Network/a', type: 'Synced', status: 'False', reason: 'BackendRejected', message: 'no' },
      { time: NOW.toISOString(), key: 'Network/b', type: 'Ready', status: 'True', reason: 'Updating' },
    ]);
    // Stalled counts by its status only (its reason follows Synced's).
    expect(log.observe('Network/b', rec('Network/b', [c('Ready', 'True', 'Updating'), c('Stalled', 'False', 'ReconcileSuccess')]), NOW)).toBe(1);
    expect(log.observe('Network/b', rec('Network/b', [c('Ready', 'True', 'Updating'), c('Stalled', 'False', 'ReconcileError')]), NOW)).toBe(0);
    // A record gone: one event.
    expect(log.observe('Network/b', undefined, NOW)).toBe(1);
    expect(log.list().at(-1)).toMatchObject({ key: 'Network/b', type: 'action', reason: 'Removed' });
    expect(log.observe('Network/b', undefined, NOW)).toBe(0);
  });

  it('backend actions and a host agent\'s applied changes are action events, each once', () => {
    const log = new EventLog();
    log.action('Network/web', { type: 'Normal', reason: 'Created', note: 'created network on os (n-1)' }, NOW);
    log.report('Host/hv1', { lastApply: { time: '2026-12-05T04:00:01Z', result: 'applied', changes: 3 } });
    log.report('Host/hv1', { lastApply: { time: '2026-12-05T04:00:01Z', result: 'applied', changes: 3 } });
    log.report('Host/hv1', { lastApply: { time: '2026-12-05T04:00:05Z', result: 'rolled back', changes: 1, error: 'verify failed' } });
    expect(log.list()).toEqual([
      { time: NOW.toISOString(), key: 'Network/web', type: 'action', status: 'Normal', reason: 'Created', message: 'created network on os (n-1)' },
      { time: '2026-12-05T04:00:01Z', key: 'Host/hv1', type: 'action', status: 'Normal', reason: 'Applied', message: '3 changes applied on the host' },
      { time: '2026-12-05T04:00:05Z', key: 'Host/hv1', type: 'action', status: 'Warning', reason: 'RolledBack', message: '1 change rolled back on the host: verify failed' },
    ]);
  });

  it('keeps the last `limit` events', () => {
    const log = new EventLog(5);
    for (let i = 0; i < 12; i++) log.action(`Network/n${i}`, { type: 'Normal', reason: 'Created', note: String(i) }, NOW);
    expect(log.list().map((e) => e.message)).toEqual(['7', '8', '9', '10', '11']);
    expect(log.seq).toBe(12);
  });
});

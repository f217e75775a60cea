// The kind runtime's skeleton, with declarations written for the test (no backend): what a pass writes
// for a summary, a wait, a stall, a blocked and a finished removal, and that synchronous hooks never
// yield (another writer of the same record could otherwise be undone by the pass's write).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FileCredentialSource } from '../../adapters/files/credentials.ts';
import { DriverRegistry } from '../../drivers/registry.ts';
import { admit } from '../../state/admit.ts';
import { MemoryRecords } from '../../state/records.ts';
import { Engine } from './engine.ts';
import { defineKind, reconcileKind, type KindDefinition } from './kind.ts';

const CLUSTER = 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {}\n';

function setup(def: KindDefinition<'Cluster', unknown>, opts: { dryRun?: boolean } = {}) {
  const records = new MemoryRecords();
  const e = new Engine({
    kinds: [def],
    records,
    registry: new DriverRegistry(),
    credentials: new FileCredentialSource(),
    log: pino({ level: 'silent' }),
    resyncMs: 1000,
    waitMs: 50,
    random: () => 0.5,
    dryRun: opts.dryRun,
  });
  const declare = (text: string | undefined) => e.store.replace(admit(text === undefined ? [] : [{ path: 'c.yaml', text }]));
  const pass = () => reconcileKind(e.rt, def, 'Cluster/c', new AbortController().signal);
  const conditions = () => Object.fromEntries((records.get('Cluster/c')?.status.conditions ?? []).map((c) => [c.type, [c.status, c.reason, c.message]]));
  return { e, records, declare, pass, conditions };
}

const ready = { ready: { status: 'True', reason: 'Available', message: 'fine' }, synced: { status: 'True', reason: 'ReconcileSuccess' } } as const;

describe('reconcileKind', () => {
  it('a summary is written once and the object is re-checked after the drift period', async () => {
    const t = setup(defineKind({ kind: 'Cluster', summarize: ({ rec }) => ((rec.status.seen = 1), { outcome: ready }) }));
    t.declare(CLUSTER);
    expect(await t.pass()).toEqual({ requeueAfterMs: 1000 });
    expect(t.conditions()).toMatchObject({ Ready: ['True', 'Available', 'fine'], Synced: ['True', 'ReconcileSuccess', undefined] });
    expect(t.records.get('Cluster/c')).toMatchObject({ generation: 1, status: { seen: 1, observedGeneration: 1 } });
  });

  it('a summary without an outcome writes nothing; requeue never means no requeue', async () => {
    const t = setup(defineKind({ kind: 'Cluster', summarize: () => ({ requeue: 'never' }) }));
    t.declare(CLUSTER);
    expect(await t.pass()).toEqual({});
    expect(t.records.get('Cluster/c')).toBeUndefined();
  });

  it('a transient failure in the summary is returned as a value, after the status is written', async () => {
    const failure = { errorClass: 'Transient', message: 'backend 503' };
    const t = setup(defineKind({ kind: 'Cluster', summarize: () => ({ outcome: ready, retry: failure }) }));
    t.declare(CLUSTER);
    expect(await t.pass()).toEqual({ retry: failure });
    expect(t.conditions().Ready).toEqual(['True', 'Available', 'fine']);
  });

  it('waiting dependencies: Ready False WaitingForDependencies, looked at again after waitMs, summary not run', async () => {
    let summarized = 0;
    const t = setup(defineKind({ kind: 'Cluster', prepare: () => ({ waiting: ['Network a is not Ready', 'Network b is not available'] }), summarize: () => (summarized++, {}) }));
    t.declare(CLUSTER);
    expect(await t.pass()).toEqual({ requeueAfterMs: 50 });
    expect(summarized).toBe(0);
    expect(t.conditions()).toMatchObject({
      Ready: ['False', 'WaitingForDependencies', 'Network a is not Ready; Network b is not available'],
      Synced: ['True', 'ReconcileSuccess', undefined],
      Reconciling: ['True', expect.any(String), expect.anything()],
    });
  });

  it('in a plan, each wait is a plan item and nothing is written', async () => {
    const t = setup(defineKind({ kind: 'Cluster', prepare: () => ({ waiting: ['Network a is not Ready'] }) }), { dryRun: true });
    t.declare(CLUSTER);
    await t.pass();
    expect(t.e.rt.plan).toEqual([{ object: 'Cluster/c', target: 'netform', resource: 'cluster', action: 'wait', message: 'Network a is not Ready' }]);
    expect(t.records.get('Cluster/c')).toBeUndefined();
  });

  it('a dependency only the user can fix: Synced False BackendRejected and Stalled', async () => {
    const t = setup(defineKind({ kind: 'Cluster', prepare: () => ({ stalled: 'VlanPool "p" has no free VLAN left on physnet1' }) }));
    t.declare(CLUSTER);
    await t.pass();
    expect(t.conditions()).toMatchObject({
      Ready: ['False', 'WaitingForDependencies', 'VlanPool "p" has no free VLAN left on physnet1'],
      Synced: ['False', 'BackendRejected', 'VlanPool "p" has no free VLAN left on physnet1'],
      Stalled: ['True', expect.any(String), expect.anything()],
    });
  });

  it('a removal waits for the users usedBy names, then runs removed() and drops the record', async () => {
    let users: string[] = ['Host/h1'];
    const removed: string[] = [];
    const t = setup(
      defineKind({
        kind: 'Cluster',
        usedBy: () => ({ users, waitingFor: 'waiting for its hosts to go' }),
        summarize: () => ({ outcome: ready }),
        removed: async (_rt, rec) => void removed.push(rec.key),
      }),
    );
    t.declare(CLUSTER);
    await t.pass();
    t.declare(undefined);
    expect(await t.pass()).toEqual({ requeueAfterMs: 50 });
    expect(t.conditions()).toMatchObject({ Ready: ['False', 'Deleting', 'waiting for its hosts to go'], Synced: ['False', 'DeletionBlocked', 'still used by Host/h1'] });
    expect(removed).toEqual([]);
    users = [];
    expect(await t.pass()).toEqual({});
    expect(removed).toEqual(['Cluster/c']);
    expect(t.records.get('Cluster/c')).toBeUndefined();
  });

  it('synchronous hooks run without yielding between reading the record and writing it', async () => {
    let yielded = false;
    let seen: boolean | undefined;
    const t = setup(
      defineKind({
        kind: 'Cluster',
        prepare: () => (queueMicrotask(() => (yielded = true)), {}),
        summarize: () => ((seen = yielded), { outcome: ready }),
      }),
    );
    t.declare(CLUSTER);
    await t.pass();
    expect(seen).toBe(false);
    expect(yielded).toBe(true);
  });
});

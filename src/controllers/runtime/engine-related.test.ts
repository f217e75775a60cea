// Engine#related: the objects being removed that refer to an object are found from an index kept up
// to date from the record store's changes, not by listing every record at every reconcile; which
// objects are woken is the same as when every record is looked at (a store that does not report its
// changes, as in cluster mode).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FileCredentialSource } from '../../adapters/files/credentials.ts';
import { objectKey, parseKey } from '../../api/kinds.ts';
import { DriverRegistry } from '../../drivers/registry.ts';
import { admit } from '../../state/admit.ts';
import { MemoryRecords, type ObjectRecord, type RecordStore } from '../../state/records.ts';
import { Engine } from './engine.ts';
import { defineKind } from './kind.ts';

const ready = { ready: { status: 'True', reason: 'Available', message: 'fine' }, synced: { status: 'True', reason: 'ReconcileSuccess' } } as const;

/** Hosts whose removal something outside holds back (their records stay, with their spec). */
const pinned = new Set<string>();

const clusterDef = defineKind({
  kind: 'Cluster',
  usedBy: (rt, key) => ({
    users: rt.records
      .list()
      .filter((r) => r.kind === 'Host' && (r.spec as { cluster?: string } | undefined)?.cluster === parseKey(key).name)
      .map((r) => r.key),
    waitingFor: 'waiting for its hosts to go',
  }),
  // A Cluster reported down is not Ready (a change of readiness without a new declaration).
  summarize: ({ rt, key }) => ({
    outcome: rt.reports.get(key) ? { ready: { status: 'False', reason: 'WaitingForDependencies', message: 'down' }, synced: ready.synced } : ready,
  }),
});
const hostDef = defineKind({
  kind: 'Host',
  references: (h) => [objectKey('Cluster', h.spec.cluster)],
  usedBy: (_rt, key) => (pinned.has(key) ? { users: ['Outside/x'], waitingFor: 'held outside' } : undefined),
  summarize: () => ({ outcome: ready }),
});

/** The same records, without `watch` (and counting `list`): the engine looks at every record. */
class Unwatched implements RecordStore {
  lists = 0;
  readonly inner: MemoryRecords;
  constructor(inner: MemoryRecords) {
    this.inner = inner;
  }
  get(key: string): ObjectRecord | undefined {
    return this.inner.get(key);
  }
  list(): ObjectRecord[] {
    this.lists++;
    return this.inner.list();
  }
  put(r: ObjectRecord): Promise<void> {
    return this.inner.put(r);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

class CountingRecords extends MemoryRecords {
  lists = 0;
  override list(): ObjectRecord[] {
    this.lists++;
    return super.list();
  }
}

function engine(records: RecordStore, seen: Map<string, number>): Engine {
  return new Engine({
    kinds: [clusterDef, hostDef],
    records,
    registry: new DriverRegistry(),
    credentials: new FileCredentialSource(),
    log: pino({ level: 'silent' }),
    resyncMs: 600_000,
    waitMs: 600_000,
    random: () => 0.5,
    concurrency: 1,
    observer: { reconciled: (key) => seen.set(key, (seen.get(key) ?? 0) + 1) },
  });
}

const cluster = (i: number, label?: string) =>
  `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c${i}${label ? `, labels: {rev: "${label}"}` : ''}}\nspec: {}`;
const host = (i: number, clusters: number) =>
  `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h${i}}\nspec: {cluster: c${i % clusters}, nics: [{name: eth0}]}`;
const load = (e: Engine, docs: string[]) => {
  const r = admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]);
  expect(r.errors).toEqual([]);
  e.sync(r);
};

/** Hosts on 3 clusters; all hosts removed, the first 4 held back; then c0 is reported down (its
 *  readiness changes, nothing is declared anew). Returns how often each key was reconciled in each
 *  phase, and the records left. */
async function scenario(records: RecordStore, hosts: number): Promise<{ phases: Record<string, number>[]; left: string[] }> {
  pinned.clear();
  for (let i = 0; i < 4; i++) pinned.add(`Host/h${i}`);
  const phases: Record<string, number>[] = [];
  const clusters = [0, 1, 2].map((i) => cluster(i));
  const seen = new Map<string, number>();
  const e = engine(records, seen);
  const phase = async (step: () => void) => {
    seen.clear();
    step();
    expect(await e.settle(10_000)).toBe(true);
    phases.push(Object.fromEntries([...seen].sort()));
  };
  await phase(() => load(e, [...clusters, ...Array.from({ length: hosts }, (_, i) => host(i, 3))]));
  await phase(() => load(e, clusters));
  await phase(() => e.report('Cluster/c0', { down: true }));
  await e.stop();
  return { phases, left: records.list().map((r) => r.key) };
}

describe('Engine: objects being removed that refer to one that changed', () => {
  it('wakes the same objects with the index as when every record is looked at', async () => {
    const watched = await scenario(new MemoryRecords(), 9);
    const scanned = await scenario(new Unwatched(new MemoryRecords()), 9);
    expect(watched).toEqual(scanned);
    // The removed hosts held back on c0 (h0, h3) were woken by c0's new generation; h1, h2 were not.
    const last = watched.phases[2]!;
    expect(last['Host/h0']).toBeGreaterThan(0);
    expect(last['Host/h3']).toBeGreaterThan(0);
    expect(last['Host/h1']).toBeUndefined();
    expect(last['Host/h2']).toBeUndefined();
    expect(watched.left).toEqual(['Cluster/c0', 'Cluster/c1', 'Cluster/c2', 'Host/h0', 'Host/h1', 'Host/h2', 'Host/h3']);
  });

  it('does not list every record per reconcile: the lists taken do not grow with the objects', async () => {
    const lists = async (hosts: number) => {
      const records = new CountingRecords();
      // The kinds here list records themselves (Cluster.usedBy, while removing): counted from
      // the first phase only, where nothing is removed.
      pinned.clear();
      const seen = new Map<string, number>();
      const e = engine(records, seen);
      load(e, [cluster(0), ...Array.from({ length: hosts }, (_, i) => host(i, 1))]);
      expect(await e.settle(10_000)).toBe(true);
      await e.stop();
      expect(seen.size).toBe(hosts + 1);
      return records.lists;
    };
    const small = await lists(20);
    const large = await lists(80);
    expect(large).toBe(small);
    expect(large).toBeLessThanOrEqual(3);
    // (Looking at every record lists them twice per reconcile.)
    const scanning = new Unwatched(new MemoryRecords());
    const seen = new Map<string, number>();
    const e = engine(scanning, seen);
    load(e, [cluster(0), ...Array.from({ length: 20 }, (_, i) => host(i, 1))]);
    expect(await e.settle(10_000)).toBe(true);
    await e.stop();
    expect(scanning.lists).toBeGreaterThanOrEqual(2 * 21);
  });
});

describe('Engine#readiness', () => {
  it('gives what states() gives without the Ready ones, in the same order, and the count of all', async () => {
    pinned.clear();
    pinned.add('Host/h1');
    const seen = new Map<string, number>();
    const e = engine(new MemoryRecords(), seen);
    load(e, [cluster(0), cluster(1), ...Array.from({ length: 6 }, (_, i) => host(i, 2))]);
    expect(await e.settle(10_000)).toBe(true);
    // h1 removed but held back (deleting), c0 reported down (not Ready), the rest Ready.
    load(e, [cluster(0), cluster(1), ...[0, 2, 3, 4, 5].map((i) => host(i, 2))]);
    e.report('Cluster/c0', { down: true });
    expect(await e.settle(10_000)).toBe(true);
    const states = e.states();
    const { total, notReady } = e.readiness();
    await e.stop();
    expect(total).toBe(states.length);
    expect(notReady).toEqual(states.filter((s) => s.state !== 'ready'));
    expect(notReady.map((s) => [s.key, s.state])).toEqual([
      ['Cluster/c0', 'pending'],
      ['Host/h1', 'deleting'],
    ]);
  });
});

// The engine wakes the objects related to one whose record goes away, also when that happens in the
// first reconcile of the object by this engine (a new process — `netform apply` — finding the record
// of a removed declaration in the state directory): a removal blocked on it is not left to its
// periodic re-check, which `apply` does not wait for.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FileCredentialSource } from '../../adapters/files/credentials.ts';
import { objectKey, parseKey } from '../../api/kinds.ts';
import { DriverRegistry } from '../../drivers/registry.ts';
import { admit } from '../../state/admit.ts';
import { MemoryRecords } from '../../state/records.ts';
import { Engine } from './engine.ts';
import { defineKind } from './kind.ts';

const ready = { ready: { status: 'True', reason: 'Available', message: 'fine' }, synced: { status: 'True', reason: 'ReconcileSuccess' } } as const;

// A Cluster whose removal waits for the Hosts recorded on it; a Host whose removal takes a moment.
const clusterDef = defineKind({
  kind: 'Cluster',
  usedBy: (rt, key) => ({
    users: rt.records
      .list()
      .filter((r) => r.kind === 'Host' && (r.spec as { cluster?: string } | undefined)?.cluster === parseKey(key).name)
      .map((r) => r.key),
    waitingFor: 'waiting for its hosts to go',
  }),
  summarize: () => ({ outcome: ready }),
});
const hostDef = defineKind({
  kind: 'Host',
  references: (h) => [objectKey('Cluster', h.spec.cluster)],
  summarize: () => ({ outcome: ready }),
  removed: async () => {
    await sleep(200);
  },
});

const MANIFESTS = [
  'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {}',
  'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec: {cluster: c, nics: [{name: eth0}]}',
].join('\n---\n');

function engine(records: MemoryRecords): Engine {
  return new Engine({
    kinds: [clusterDef, hostDef],
    records,
    registry: new DriverRegistry(),
    credentials: new FileCredentialSource(),
    log: pino({ level: 'silent' }),
    resyncMs: 600_000,
    // Far beyond the test: only a wake can let the Cluster go on.
    waitMs: 600_000,
    random: () => 0.5,
  });
}

describe('Engine: waking the relatives of a removed object', () => {
  it('a new engine that finishes a removal in its first reconcile wakes the removal blocked on it', async () => {
    const records = new MemoryRecords();
    const first = engine(records);
    first.sync(admit([{ path: 'm.yaml', text: MANIFESTS }]));
    expect(await first.settle(5_000)).toBe(true);
    await first.stop();
    expect(records.list().map((r) => r.key).sort()).toEqual(['Cluster/c', 'Host/h']);

    // A new process: both declarations gone. The Cluster is looked at while the Host is still being
    // removed (blocked), and must be woken when the Host's record goes.
    const second = engine(records);
    second.sync(admit([]));
    expect(await second.settle(5_000)).toBe(true);
    await second.stop();
    expect(records.list().map((r) => r.key)).toEqual([]);
  });
});

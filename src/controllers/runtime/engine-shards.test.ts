// An engine of a sharded controller (ADR 25) reconciles only the keys it owns, though its desired
// state holds everything; a change of another engine's record wakes the relatives it owns.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FileCredentialSource } from '../../adapters/files/credentials.ts';
import { objectKey } from '../../api/kinds.ts';
import { DriverRegistry } from '../../drivers/registry.ts';
import { admit } from '../../state/admit.ts';
import { MemoryRecords } from '../../state/records.ts';
import { Engine } from './engine.ts';
import { defineKind } from './kind.ts';

const ready = { ready: { status: 'True', reason: 'Available', message: 'fine' }, synced: { status: 'True', reason: 'ReconcileSuccess' } } as const;
const waiting = { ready: { status: 'False', reason: 'WaitingForDependencies', message: 'cluster not ready' }, synced: { status: 'True', reason: 'ReconcileSuccess' } } as const;
const reconciled: string[] = [];

const clusterDef = defineKind({
  kind: 'Cluster',
  summarize: ({ key }) => {
    reconciled.push(key);
    return { outcome: ready };
  },
});
const hostDef = defineKind({
  kind: 'Host',
  references: (h) => [objectKey('Cluster', h.spec.cluster)],
  summarize: ({ rt, key, object }) => {
    reconciled.push(key);
    const c = rt.records.get(objectKey('Cluster', object.spec.cluster));
    return { outcome: c?.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ? ready : waiting };
  },
});

const MANIFESTS = [
  'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {}',
  'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h1}\nspec: {cluster: c, nics: [{name: eth0}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h2}\nspec: {cluster: c, nics: [{name: eth0}]}',
].join('\n---\n');

const engine = (records: MemoryRecords, owns: (key: string) => boolean) =>
  new Engine({ kinds: [clusterDef, hostDef], records, registry: new DriverRegistry(), credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 600_000, waitMs: 600_000, random: () => 0.5, owns });

describe('Engine with owns (one shard of a sharded controller)', () => {
  it('reconciles only its keys; another engine\u2019s record change wakes its relatives at once', async () => {
    reconciled.length = 0;
    const records = new MemoryRecords();
    const hosts = engine(records, (k) => k.startsWith('Host/'));
    hosts.sync(admit([{ path: 'm.yaml', text: MANIFESTS }]));
    expect(await hosts.settle(5_000)).toBe(true);
    expect(reconciled.sort()).toEqual(['Host/h1', 'Host/h2']);
    expect(records.get('Cluster/c')).toBeUndefined();
    expect(records.get('Host/h1')?.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');

    const clusters = engine(records, (k) => k.startsWith('Cluster/'));
    clusters.sync(admit([{ path: 'm.yaml', text: MANIFESTS }]));
    expect(await clusters.settle(5_000)).toBe(true);
    expect(reconciled.filter((k) => k.startsWith('Cluster/'))).toEqual(['Cluster/c']);
    expect(records.get('Host/h1')?.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');

    // What the informers tell a sharded controller: the Cluster's record changed.
    hosts.recordChanged('Cluster/c');
    expect(await hosts.settle(5_000)).toBe(true);
    for (const h of ['Host/h1', 'Host/h2']) expect(records.get(h)?.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(reconciled.filter((k) => k === 'Cluster/c')).toHaveLength(1);
    await hosts.stop();
    await clusters.stop();
  });
});

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KINDS, type Kind } from '../../api/kinds.ts';
import { compareResourceVersions, KubeRecords, prunedPaths, recordOf, type KindCache } from './records.ts';
import { FINALIZER } from './resources.ts';

const network = (meta: Record<string, unknown> = {}, spec: Record<string, unknown> = { physicalNetwork: 'physnet1', vlan: { id: 10 } }) => ({
  apiVersion: 'netform.io/v1alpha1',
  kind: 'Network',
  metadata: { name: 'web', uid: 'u-1', generation: 3, resourceVersion: '42', creationTimestamp: '2026-11-21T10:00:00Z', labels: { team: 'a' }, ...meta },
  spec,
  status: { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] },
});

describe('recordOf', () => {
  it('takes identity and generation from the API and the status as written', () => {
    const rec = recordOf('Network', network())!;
    expect(rec).toMatchObject({ key: 'Network/web', kind: 'Network', name: 'web', uid: 'u-1', generation: 3, createdAt: '2026-11-21T10:00:00Z', labels: { team: 'a' } });
    expect(rec.status).toEqual({ observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] });
    // schema defaults applied, as admission does
    expect(rec.spec).toMatchObject({ managementPolicy: 'Managed', deletionPolicy: 'Delete' });
    expect(rec.specHash).toMatch(/^[0-9a-f]{32}$/);
  });

  it('hashes spec and labels: a label change is a new spec, a status change is not', () => {
    const a = recordOf('Network', network())!;
    const b = recordOf('Network', network({ labels: { team: 'b' } }))!;
    const c = recordOf('Network', { ...network(), status: {} })!;
    expect(b.specHash).not.toBe(a.specHash);
    expect(c.specHash).toBe(a.specHash);
  });

  it('namespaced kinds get the namespace in the key', () => {
    const rec = recordOf('VnicAttachment', {
      apiVersion: 'netform.io/v1alpha1',
      kind: 'VnicAttachment',
      metadata: { name: 'n1', namespace: 'team-a' },
      spec: { vm: { name: 'vm' }, interfaceName: 'nic1', network: 'web', host: 'hv1' },
    })!;
    expect(rec.key).toBe('VnicAttachment/team-a/n1');
    expect(rec.namespace).toBe('team-a');
  });

  it('an object being deleted is a record only while it carries the finalizer', () => {
    expect(recordOf('Network', network({ deletionTimestamp: '2026-11-21T11:00:00Z', finalizers: [FINALIZER] }))).toBeDefined();
    expect(recordOf('Network', network({ deletionTimestamp: '2026-11-21T11:00:00Z', finalizers: ['other.io/x'] }))).toBeUndefined();
    expect(recordOf('Network', network({ finalizers: [] }))).toBeDefined();
  });
});

describe('compareResourceVersions', () => {
  it.each([
    ['9', '10', -1],
    ['10', '10', 0],
    ['123456789012345678901', '123456789012345678900', 1],
    ['abc', '10', undefined],
    [undefined, '10', undefined],
  ])('%s vs %s', (a, b, want) => {
    expect(compareResourceVersions(a, b)).toBe(want);
  });
});

describe('prunedPaths', () => {
  it('names fields the API dropped, at any depth, and nothing else', () => {
    const sent = { observedGeneration: 1, vlan: 5, providers: [{ name: 'n', externalId: 'x', extra: 1 }], conditions: [] };
    const stored = { observedGeneration: 1, providers: [{ name: 'n', externalId: 'x' }], conditions: [] };
    expect(prunedPaths(sent, stored)).toEqual(['status.vlan', 'status.providers[0].extra']);
    expect(prunedPaths(sent, sent)).toEqual([]);
    expect(prunedPaths({ a: undefined }, {})).toEqual([]);
  });
});

describe('KubeRecords.watch', () => {
  it('tells watchers of informer changes reported to it, of forgotten objects, and stops when asked', () => {
    const caches = Object.fromEntries(KINDS.map((k) => [k, { list: () => [], get: () => undefined }])) as unknown as Record<Kind, KindCache>;
    const records = new KubeRecords({ client: {} as never, caches, log: pino({ level: 'silent' }) });
    const seen: string[] = [];
    const stop = records.watch((k) => seen.push(k));
    records.changed('Network/a');
    records.forget('Network/b');
    stop();
    records.changed('Network/c');
    expect(seen).toEqual(['Network/a', 'Network/b']);
  });
});

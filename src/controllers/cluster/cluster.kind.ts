// Cluster: counts its hosts in and out of sync. Ready when every host carries the cluster's networks.
import { isReady } from '../../api/conditions.ts';
import { objectKey } from '../../api/kinds.ts';
import { defineKind } from '../runtime/kind.ts';

export const clusterKind = defineKind({
  kind: 'Cluster',

  keyFigure: (r) => (r.status.hosts === undefined ? '' : `${String(r.status.hostsInSync)}/${String(r.status.hosts)} hosts in sync`),

  references: (c) => [...(c.spec.networks ?? []).map((n) => objectKey('Network', n.name)), ...(c.spec.macPoolRef ? [objectKey('MacPool', c.spec.macPoolRef.name)] : [])],

  usedBy: (rt, key) => ({
    users: rt.store.referrers(key),
    waitingFor: 'waiting for its hosts to go',
  }),

  summarize({ rt, object: cluster, rec }) {
    const hosts = rt.store
      .list('Host')
      .filter((h) => h.spec.cluster === cluster.metadata.name)
      .map((h) => h.metadata.name)
      .sort();
    const outOfSync = hosts.filter((h) => !isReady(rt.records.get(objectKey('Host', h))?.status));
    rec.status.hosts = hosts.length;
    rec.status.hostsInSync = hosts.length - outOfSync.length;
    rec.status.hostsOutOfSync = outOfSync.length;
    rec.status.outOfSyncHosts = outOfSync;
    return {
      outcome: outOfSync.length
        ? {
            ready: {
              status: 'False',
              reason: 'OutOfSync',
              message: `hosts out of sync: ${outOfSync.join(', ')}`,
            },
            synced: { status: 'True', reason: 'ReconcileSuccess' },
          }
        : {
            ready: {
              status: 'True',
              reason: 'Available',
              message: `${hosts.length} host${hosts.length === 1 ? '' : 's'} in sync`,
            },
            synced: { status: 'True', reason: 'ReconcileSuccess' },
          },
    };
  },
});

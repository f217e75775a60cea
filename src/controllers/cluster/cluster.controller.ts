// Cluster: counts its hosts in and out of sync. Ready when every host carries the cluster's networks.
import { isReady } from '../../api/conditions.ts';
import { objectKey, type Cluster } from '../../api/kinds.ts';
import {
  blockDeletion,
  isFrozen,
  jittered,
  recordFor,
  removeRecord,
  reportInvalid,
  setOutcome,
  writeRecord,
  type Controller,
  type ReconcileResult,
  type Runtime,
} from '../runtime/runtime.ts';

export class ClusterController implements Controller {
  readonly kind = 'Cluster' as const;
  readonly #rt: Runtime;

  constructor(rt: Runtime) {
    this.#rt = rt;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const rt = this.#rt;
    if (isFrozen(rt, key)) return reportInvalid(rt, key);
    const adm = rt.store.get(key);
    if (!adm) {
      const hosts = rt.store.referrers(key);
      const rec = rt.records.get(key);
      if (hosts.length && rec) return blockDeletion(rt, rec, hosts, 'waiting for its hosts to go');
      await removeRecord(rt, key);
      return {};
    }
    const cluster = adm.object as Cluster;
    const rec = recordFor(rt, adm);
    const hosts = rt.store.list('Host').filter((h) => h.spec.cluster === cluster.metadata.name).map((h) => h.metadata.name).sort();
    const outOfSync = hosts.filter((h) => !isReady(rt.records.get(objectKey('Host', h))?.status));
    rec.status.hosts = hosts.length;
    rec.status.hostsInSync = hosts.length - outOfSync.length;
    rec.status.hostsOutOfSync = outOfSync.length;
    rec.status.outOfSyncHosts = outOfSync;
    if (outOfSync.length) {
      setOutcome(rt, rec, {
        ready: { status: 'False', reason: 'OutOfSync', message: `hosts out of sync: ${outOfSync.join(', ')}` },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
      });
    } else {
      setOutcome(rt, rec, {
        ready: { status: 'True', reason: 'Available', message: `${hosts.length} host${hosts.length === 1 ? '' : 's'} in sync` },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
      });
    }
    await writeRecord(rt, rec);
    return { requeueAfterMs: jittered(rt, rt.resyncMs) };
  }
}

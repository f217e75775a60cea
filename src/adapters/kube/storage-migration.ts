// Storage-version migration (ADR 30): after the CRDs that store v1beta1 are applied, objects written
// before stay stored as v1alpha1 in etcd until something writes them again, and reading them in
// v1beta1 needs the conversion webhook meanwhile. This rewrites every netform object unchanged through
// the storage version (the apiserver stores what it writes in the storage version), then records in
// each CRD's status that only the storage version is stored. The same as kube-storage-version-migrator.
import { API_GROUP, loadCrds } from '../../api/crds.ts';
import type { ApiObject } from '../../api/objects.ts';
import { STORAGE_VERSION } from '../../api/versions.ts';
import { isStatus, type KubeClient, type ResourceType } from './client.ts';

export interface MigrationReport {
  /** Objects rewritten, by kind. */
  rewritten: Record<string, number>;
  /** CRDs whose status.storedVersions was set to the storage version alone. */
  crds: string[];
}

const PAGE = 500;
const MAX_ATTEMPTS = 5;

export async function migrateStorage(client: KubeClient, o: { log?: (line: string) => void } = {}): Promise<MigrationReport> {
  const report: MigrationReport = { rewritten: {}, crds: [] };
  for (const crd of loadCrds()) {
    const type: ResourceType = { group: API_GROUP, version: STORAGE_VERSION, plural: crd.plural, namespaced: crd.namespaced };
    let n = 0;
    let token: string | undefined;
    do {
      const page = await client.list<ApiObject>(type, { limit: PAGE, ...(token ? { continue: token } : {}) });
      for (const item of page.items ?? []) if (await rewrite(client, type, item)) n++;
      token = page.metadata?.continue || undefined;
    } while (token);
    report.rewritten[crd.kind] = n;
    // Every object is now stored in the storage version: older versions are no longer stored.
    const name = `${crd.plural}.${API_GROUP}`;
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}/status`;
    for (let attempt = 1; ; attempt++) {
      const live = await client.request<{ status?: { storedVersions?: string[] } }>('GET', path);
      if (live.status?.storedVersions?.length === 1 && live.status.storedVersions[0] === STORAGE_VERSION) break;
      live.status = { ...live.status, storedVersions: [STORAGE_VERSION] };
      try {
        await client.request('PUT', path, { body: live });
        report.crds.push(name);
        break;
      } catch (err) {
        if (!isStatus(err, 409) || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
    o.log?.(`${crd.kind}: ${n} objects rewritten in ${API_GROUP}/${STORAGE_VERSION}`);
  }
  return report;
}

/** Writes the object back as it is (a conflict: read it again and retry); false when it is gone. */
async function rewrite(client: KubeClient, type: ResourceType, item: ApiObject): Promise<boolean> {
  let o = item;
  const name = o.metadata?.name ?? '';
  const namespace = o.metadata?.namespace;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.replace(type, name, o, { namespace });
      return true;
    } catch (err) {
      if (isStatus(err, 404)) return false;
      if (!isStatus(err, 409) || attempt >= MAX_ATTEMPTS) throw err;
      try {
        o = await client.get<ApiObject>(type, name, namespace);
      } catch (e) {
        if (isStatus(e, 404)) return false;
        throw e;
      }
    }
  }
}

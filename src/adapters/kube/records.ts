// Cluster mode's RecordStore: a record is the API object itself. Its status is what the controllers
// wrote (conditions, backend ids), its spec the one in force, its generation and uid the API's.
// Writes go to the /status subresource with the object's resourceVersion (a 409 re-reads and
// retries), are skipped when nothing changed, and put netform's finalizer on the object first; a
// record's deletion removes the finalizer, which lets the API delete the object.
import type { Logger } from 'pino';
import { APPROVED_PLAN, objectKey, parseKey, type AnyResource, type Kind } from '../../api/kinds.ts';
import { hubSpec } from '../../api/validate.ts';
import { HUB_VERSION, versionOf } from '../../api/versions.ts';
import type { ApiObject } from '../../api/objects.ts';
import { sameContent } from '../../api/json.ts';
import type { ObjectRecord, ObjectStatus, RecordStore } from '../../state/records.ts';
import { contentHash } from '../../state/store.ts';
import { isStatus, type KubeClient } from './client.ts';
import { FINALIZER, resourceTypes } from './resources.ts';

/** Read access to the informer cache of one kind. */
export interface KindCache {
  list(): ApiObject[];
  get(name: string, namespace?: string): ApiObject | undefined;
}

/** Host status fields the host agent owns (it patches them); the controller never overwrites them. */
export const HOST_AGENT_FIELDS = ['agent', 'interfaces', 'dynamicVnics', 'lastObservedTime'] as const;

const MAX_ATTEMPTS = 6;

/** Orders two resourceVersions: etcd's are integers; anything else compares as unknown (undefined). */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function hasFinalizer(o: ApiObject): boolean {
  return (o.metadata?.finalizers ?? []).includes(FINALIZER);
}

/** The record an API object stands for, or undefined when netform has nothing (more) to do with it:
 *  an object being deleted that no longer carries netform's finalizer. Pure. */
export function recordOf(kind: Kind, o: ApiObject): ObjectRecord | undefined {
  const m = o.metadata ?? {};
  if (m.deletionTimestamp && !hasFinalizer(o)) return undefined;
  // The spec as admission sees it (schema defaults applied), so the content hash matches the
  // admitted object's and the record stays at the API's generation.
  const { spec } = hubSpec(kind, o.spec, versionOf(o.apiVersion) ?? HUB_VERSION);
  const name = m.name ?? '';
  const rec: ObjectRecord = {
    key: objectKey(kind, name, m.namespace),
    kind,
    name,
    uid: m.uid ?? '',
    generation: m.generation ?? 1,
    // (An approval annotation counts in the hash, as in admission's.)
    specHash: contentHash({ kind, metadata: { name, labels: m.labels, annotations: m.annotations }, spec } as AnyResource),
    createdAt: m.creationTimestamp ?? '',
    spec,
    status: structuredClone((o.status as ObjectStatus | undefined) ?? {}),
  };
  if (m.namespace) rec.namespace = m.namespace;
  if (m.labels) rec.labels = { ...m.labels };
  const approved = m.annotations?.[APPROVED_PLAN];
  if (approved) rec.approvedPlan = approved;
  return rec;
}

export interface KubeRecordsOptions {
  client: KubeClient;
  caches: Record<Kind, KindCache>;
  log: Logger;
  /** Fencing: writes are refused (an error, so the reconcile is retried by whoever leads) unless
   *  this says yes. A replica that lost its lease must not write, even from a reconcile in flight. */
  mayWrite?: (key: string) => boolean;
}

export class KubeRecords implements RecordStore {
  readonly #o: KubeRecordsOptions;
  /** Objects as our own writes returned them, newer than the informer's copy until it catches up. */
  readonly #written = new Map<string, ApiObject>();
  /** Converted records by key, valid for one resourceVersion. */
  readonly #converted = new Map<string, { rv: string | undefined; rec: ObjectRecord | undefined }>();
  readonly #watchers = new Set<(key: string) => void>();

  constructor(o: KubeRecordsOptions) {
    this.#o = o;
  }

  /** RecordStore.watch: told of every change of a record — its own writes here, and the informers'
   *  changes, which the owner of the informers must report with `changed(key)` from their listeners
   *  (synchronously, as they deliver). Engines keep their index of removed objects with it instead of
   *  listing every record on each wake. */
  watch(changed: (key: string) => void): () => void {
    this.#watchers.add(changed);
    return () => this.#watchers.delete(changed);
  }

  /** An informer changed (or removed) the object of `key`. */
  changed(key: string): void {
    for (const w of this.#watchers) w(key);
  }

  /** The freshest copy of an object: our last write's response, or the informer's, whichever is newer. */
  object(key: string): ApiObject | undefined {
    const { kind, name, namespace } = parseKey(key);
    const cached = this.#o.caches[kind].get(name, namespace);
    const written = this.#written.get(key);
    if (!written) return cached;
    if (!cached) return written;
    if (cached.metadata?.uid !== written.metadata?.uid) {
      this.#written.delete(key);
      return cached;
    }
    const order = compareResourceVersions(cached.metadata?.resourceVersion, written.metadata?.resourceVersion);
    if (order === undefined || order >= 0) {
      this.#written.delete(key);
      return cached;
    }
    return written;
  }

  /** Informs the store that an object is gone from the API (an informer delete). */
  forget(key: string): void {
    this.#written.delete(key);
    this.#converted.delete(key);
    this.changed(key);
  }

  get(key: string): ObjectRecord | undefined {
    const o = this.object(key);
    if (!o) return undefined;
    return this.#convert(key, parseKey(key).kind, o);
  }

  list(): ObjectRecord[] {
    const out: ObjectRecord[] = [];
    for (const [kind, cache] of Object.entries(this.#o.caches) as [Kind, KindCache][]) {
      for (const c of cache.list()) {
        const key = objectKey(kind, c.metadata?.name ?? '', c.metadata?.namespace);
        const o = this.object(key);
        const rec = o && this.#convert(key, kind, o);
        if (rec) out.push(rec);
      }
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Puts netform's finalizer on a live object that lacks it, before anything is created for it. */
  async claim(key: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const o = this.object(key);
      if (!o || o.metadata?.deletionTimestamp || hasFinalizer(o)) return;
      const { kind, name, namespace } = parseKey(key);
      this.#fence(key);
      try {
        const updated = await this.#o.client.patch<ApiObject>(resourceTypes()[kind], name, 'merge', {
          metadata: { resourceVersion: o.metadata?.resourceVersion, finalizers: [...(o.metadata?.finalizers ?? []), FINALIZER] },
        }, { namespace });
        this.#remember(key, updated);
        return;
      } catch (err) {
        if (isStatus(err, 404)) return;
        if (!isStatus(err, 409)) throw err;
        if (!(await this.#refetch(key))) return;
      }
    }
    throw new Error(`${key}: could not add the finalizer after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  async put(record: ObjectRecord): Promise<void> {
    const key = record.key;
    const { kind, name, namespace } = parseKey(key);
    const type = resourceTypes()[kind];
    await this.claim(key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const o = this.object(key);
      if (!o) return; // gone: nothing to report on
      const status = structuredClone(record.status) as Record<string, unknown>;
      if (kind === 'Host') {
        // The agent's fields stay as the agent last wrote them.
        const current = (o.status ?? {}) as Record<string, unknown>;
        for (const f of HOST_AGENT_FIELDS) {
          if (current[f] === undefined) delete status[f];
          else status[f] = current[f];
        }
      }
      if (sameContent(status, o.status ?? {})) return;
      this.#fence(key);
      try {
        const updated = await this.#o.client.replace<ApiObject>(
          type,
          name,
          { apiVersion: o.apiVersion, kind: o.kind, metadata: { name, namespace, resourceVersion: o.metadata?.resourceVersion }, status },
          { namespace, subresource: 'status' },
        );
        this.#remember(key, updated);
        const pruned = prunedPaths(status, updated.status);
        if (pruned.length) this.#o.log.error({ object: key, pruned }, 'the API dropped status fields its schema does not declare (a netform bug)');
        return;
      } catch (err) {
        if (isStatus(err, 404)) return;
        if (!isStatus(err, 409)) throw err;
        if (!(await this.#refetch(key))) return;
      }
    }
    throw new Error(`${key}: status write kept conflicting (${MAX_ATTEMPTS} attempts)`);
  }

  /** The record is done with: remove netform's finalizer so the API can delete the object. */
  async delete(key: string): Promise<void> {
    const { kind, name, namespace } = parseKey(key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const o = this.object(key);
      if (!o || !hasFinalizer(o)) return;
      this.#fence(key);
      try {
        const updated = await this.#o.client.patch<ApiObject>(resourceTypes()[kind], name, 'merge', {
          metadata: { resourceVersion: o.metadata?.resourceVersion, finalizers: (o.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER) },
        }, { namespace });
        this.#remember(key, updated);
        return;
      } catch (err) {
        if (isStatus(err, 404)) {
          this.forget(key);
          return;
        }
        if (!isStatus(err, 409)) throw err;
        if (!(await this.#refetch(key))) return;
      }
    }
    throw new Error(`${key}: could not remove the finalizer after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  #fence(key: string): void {
    if (this.#o.mayWrite && !this.#o.mayWrite(key)) throw new Error(`${key}: not written, this replica is not the leader (or does not hold its shard)`);
  }

  #convert(key: string, kind: Kind, o: ApiObject): ObjectRecord | undefined {
    const rv = o.metadata?.resourceVersion;
    const hit = this.#converted.get(key);
    if (hit && hit.rv === rv && rv !== undefined) return hit.rec;
    const rec = recordOf(kind, o);
    this.#converted.set(key, { rv, rec });
    return rec;
  }

  #remember(key: string, o: ApiObject): void {
    this.#written.set(key, o);
    this.#converted.delete(key);
    this.changed(key);
  }

  /** Re-reads an object after a conflict; false when it no longer exists. */
  async #refetch(key: string): Promise<boolean> {
    const { kind, name, namespace } = parseKey(key);
    try {
      this.#remember(key, await this.#o.client.get<ApiObject>(resourceTypes()[kind], name, namespace));
      return true;
    } catch (err) {
      if (isStatus(err, 404)) return false;
      throw err;
    }
  }
}

/** Paths present in what was sent but missing from what the API stored. Pure. */
export function prunedPaths(sent: unknown, stored: unknown, path = 'status'): string[] {
  if (sent === undefined || sent === null || typeof sent !== 'object') return [];
  if (stored === undefined || stored === null || typeof stored !== 'object') return [path];
  const out: string[] = [];
  if (Array.isArray(sent)) {
    sent.forEach((x, i) => out.push(...prunedPaths(x, (stored as unknown[])[i], `${path}[${i}]`)));
    return out;
  }
  for (const [k, v] of Object.entries(sent)) {
    if (v === undefined) continue;
    const s = (stored as Record<string, unknown>)[k];
    if (s === undefined) out.push(`${path}.${k}`);
    else out.push(...prunedPaths(v, s, `${path}.${k}`));
  }
  return out;
}

// Helpers every Neutron resource driver shares: reads and deletes that treat "gone" as an answer,
// finding an owner's object whatever step its create died at, marking an object as an owner's in one
// request, and creates whose answer was lost.
import { BackendError, terminal } from '../../api/errors.ts';
import { ownerKey, type Owner } from '../driver.ts';
import { sleep, type NeutronClient } from './client.ts';
import { halfMarked, instanceTag, NETFORM_TAG, OWNER_PREFIX, ownerTag, ownerTags, pendingMarker } from './mapping.ts';

export const isNotFound = (err: unknown) => err instanceof BackendError && err.errorClass === 'NotFound';

/** One object by id (`GET /v2.0/<collection>/<id>`, answered as `{<key>: …}`), or undefined when Neutron has none. */
export async function getIfAny<T>(c: NeutronClient, collection: 'networks' | 'ports' | 'qos/policies' | 'routers', id: string, signal: AbortSignal): Promise<T | undefined> {
  const key = { networks: 'network', ports: 'port', 'qos/policies': 'policy', routers: 'router' }[collection];
  try {
    return (await c.request<Record<string, T>>('GET', `/v2.0/${collection}/${id}`, { signal }))[key];
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** `DELETE /v2.0/<path>`; an object already gone is as good as deleted. */
export async function deleteIfAny(c: NeutronClient, path: string, signal: AbortSignal): Promise<void> {
  try {
    await c.request('DELETE', `/v2.0/${path}`, { signal });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * The object of a collection that this owner created: by owner tag; or, if a create died before
 * tagging it, by the pending marker in its description; or, if a write of an earlier version was
 * interrupted half-way (some of netform's tags, no owner tag, marker gone), by its name among the
 * half-marked objects of this installation. More than one is an error to look at.
 */
export async function findOwned<T extends { id: string; name: string; tags?: string[] }>(
  c: NeutronClient,
  collection: string,
  owner: Owner,
  name: string,
  signal: AbortSignal,
): Promise<T | undefined> {
  let hits = await c.list<T>(collection, { tags: ownerTag(owner) }, signal);
  if (!hits.length) hits = await c.list<T>(collection, { description: pendingMarker(owner) }, signal);
  if (!hits.length) hits = (await c.list<T>(collection, { tags: NETFORM_TAG, name }, signal)).filter((h) => halfMarked(h, owner, name));
  if (hits.length > 1) throw terminal(`${hits.length} Neutron ${collection} belong to ${owner.kind}/${owner.name}: ${hits.map((h) => h.id).join(', ')}`);
  return hits[0];
}

/**
 * Marks an object as this owner's in one request: `PUT …/tags` with the whole set, its other tags
 * kept. Neutron replaces the set atomically, so the object is never left half-marked.
 */
export async function markOwned(c: NeutronClient, collection: string, id: string, owner: Owner, signal: AbortSignal): Promise<void> {
  // The object's own tags (Zed answers 500 to GET …/tags of a QoS policy); the body is {<singular>: {…}}.
  const body = await c.request<Record<string, { tags?: string[] }>>('GET', `/v2.0/${collection}/${id}`, { signal });
  const tags = Object.values(body)[0]?.tags ?? [];
  const want = [...new Set([...tags, ...ownerTags(owner)])];
  if (want.length === tags.length) return;
  await c.request('PUT', `/v2.0/${collection}/${id}/tags`, { body: { tags: want }, signal });
}

/**
 * Creates whose outcome is unknown: a POST that timed out, was reset or answered 5xx may still be
 * committed — even after the client gave up, when the request was held up on its way. Before looking
 * for its result again (and creating anew if there is none), the next create of that owner waits one
 * request timeout, so a late commit is found by its pending marker and adopted, not duplicated.
 */
export class UncertainCreates {
  readonly #waitMs: number;
  readonly #until = new Map<string, number>();

  constructor(waitMs: number) {
    this.#waitMs = waitMs;
  }

  /** Runs a POST; a transient failure (outcome unknown) marks the owner's create uncertain. */
  async post<T>(owner: Owner, send: () => Promise<T>, what = ''): Promise<T> {
    const key = ownerKey(owner) + what;
    try {
      const r = await send();
      this.#until.delete(key);
      return r;
    } catch (err) {
      if (err instanceof BackendError && err.errorClass === 'Transient') this.#until.set(key, Date.now() + this.#waitMs);
      throw err;
    }
  }

  /** Whether a create of this owner (and `what`) failed with an unknown outcome and is not settled yet. */
  uncertain(owner: Owner, what = ''): boolean {
    return this.#until.has(ownerKey(owner) + what);
  }

  /** Resolves once an uncertain create of this owner (and `what`) can no longer land (at once when there is none). */
  async settled(owner: Owner, signal: AbortSignal, what = ''): Promise<void> {
    const key = ownerKey(owner) + what;
    const until = this.#until.get(key);
    if (until === undefined) return;
    const ms = until - Date.now();
    if (ms > 0) await sleep(ms, signal);
    this.#until.delete(key);
  }
}

/**
 * The API extensions a resource needs, checked once against the Neutron it talks to: a Terminal
 * error when one is missing; a failed look-up (not a refusal) is tried again at the next call.
 */
export class RequiredExtensions {
  readonly #c: NeutronClient;
  readonly #aliases: readonly string[];
  readonly #what: string;
  #checked: Promise<void> | undefined;

  constructor(c: NeutronClient, aliases: readonly string[], what: string) {
    this.#c = c;
    this.#aliases = aliases;
    this.#what = what;
  }

  check(signal: AbortSignal): Promise<void> {
    this.#checked ??= (async () => {
      const ext = await this.#c.request<{ extensions: { alias: string }[] }>('GET', '/v2.0/extensions', { query: { fields: 'alias' }, signal });
      const have = new Set(ext.extensions.map((e) => e.alias));
      const missing = this.#aliases.filter((a) => !have.has(a));
      if (missing.length) throw terminal(`this Neutron lacks the API extensions ${missing.join(', ')} that ${this.#what} need`);
    })();
    this.#checked.catch((err) => {
      if (!(err instanceof BackendError && err.errorClass === 'Terminal')) this.#checked = undefined;
    });
    return this.#checked;
  }
}

/**
 * Recent listings of a netform installation's objects, one per instance, shared by every caller
 * within `ttlMs`. A caller that needs a listing newer than some time (the driver's last write to the
 * object it wants) gets a new one, at most one a second and one at a time, so a burst of re-checks
 * right after a burst of writes costs one listing, not a read each.
 */
export class Snapshots<L extends { startedAt: number }> {
  readonly #cache = new Map<string, Promise<L>>();
  readonly #ttlMs: number;
  readonly #take: (instance: string, signal: AbortSignal) => Promise<L>;
  /** Younger than this, a listing is not taken again for a newer write: the caller reads directly. */
  static readonly MIN_INTERVAL_MS = 1000;

  constructor(ttlMs: number, take: (instance: string, signal: AbortSignal) => Promise<L>) {
    this.#ttlMs = ttlMs;
    this.#take = take;
  }

  /** A listing (undefined when listings are off or taking one failed); newer than `after` when that
   *  was possible. */
  async get(instance: string, signal: AbortSignal, after = -1): Promise<L | undefined> {
    if (this.#ttlMs <= 0) return undefined;
    const p = this.#cache.get(instance);
    const cached = p ? await p.catch(() => undefined) : undefined;
    const now = Date.now();
    const expired = !cached || now - cached.startedAt > this.#ttlMs;
    const older = !!cached && cached.startedAt <= after && now - cached.startedAt >= Snapshots.MIN_INTERVAL_MS;
    if (!expired && !older) return cached;
    // Someone may have started a new one while this caller waited: take theirs.
    const current = this.#cache.get(instance);
    if (current && current !== p) return current.catch(() => undefined);
    const next = this.#take(instance, signal);
    this.#cache.set(instance, next);
    next.catch(() => {
      if (this.#cache.get(instance) === next) this.#cache.delete(instance);
    });
    return next.catch(() => undefined);
  }
}

/**
 * A recent listing of one collection's objects of a netform installation (`?tags=<instance tag>`),
 * shared by every re-check within `ttlMs`: N re-checks cost one list request, not N reads. An object
 * is served from it only if the listing started after this driver's last write to it (`touch`), so a
 * listing never undoes what this process just wrote; anything else (not listed, stale, two of one
 * owner) is the caller's to read directly.
 */
export class InstanceListing<T extends { id: string; tags?: string[] }> {
  readonly #snapshots: Snapshots<{ startedAt: number; byId: Map<string, T>; byOwnerTag: Map<string, T[]> }>;
  readonly #lastWrite = new Map<string, number>();
  readonly #c: NeutronClient;
  readonly #collection: string;

  constructor(c: NeutronClient, collection: string, ttlMs: number) {
    this.#c = c;
    this.#collection = collection;
    this.#snapshots = new Snapshots(ttlMs, (instance, signal) => this.#list(instance, signal));
  }

  /** This driver wrote object `id` (created, changed or deleted it) just now. */
  touch(id: string): void {
    this.#lastWrite.set(id, Date.now());
  }

  /** The listed object of this id, if the listing may answer for it. */
  async byId(instance: string, id: string, signal: AbortSignal): Promise<T | undefined> {
    const l = await this.#snapshots.get(instance, signal, this.#lastWrite.get(id));
    const o = l?.byId.get(id);
    return o && this.#fresh(o.id, l!.startedAt) ? o : undefined;
  }

  /** The one listed object tagged as `owner`'s, if the listing may answer for it. */
  async byOwner(owner: Owner, signal: AbortSignal): Promise<T | undefined> {
    const l = await this.#snapshots.get(owner.instance, signal);
    const hits = l?.byOwnerTag.get(ownerTag(owner)) ?? [];
    return hits.length === 1 && this.#fresh(hits[0]!.id, l!.startedAt) ? hits[0] : undefined;
  }

  #fresh(id: string, startedAt: number): boolean {
    return (this.#lastWrite.get(id) ?? -1) < startedAt;
  }

  async #list(instance: string, signal: AbortSignal) {
    const startedAt = Date.now();
    const all = await this.#c.list<T>(this.#collection, { tags: instanceTag(instance) }, signal);
    return { startedAt, byId: new Map(all.map((o) => [o.id, o])), byOwnerTag: byOwnerTag(all) };
  }
}

/** Listed objects by their owner tag (one each, unless something went wrong). */
export function byOwnerTag<T extends { tags?: string[] }>(all: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const o of all) for (const t of o.tags ?? []) if (t.startsWith(OWNER_PREFIX)) out.set(t, [...(out.get(t) ?? []), o]);
  return out;
}

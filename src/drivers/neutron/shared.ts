// Helpers every Neutron resource driver shares: reads and deletes that treat "gone" as an answer,
// finding an owner's object whatever step its create died at, marking an object as an owner's in one
// request, and creates whose answer was lost.
import { BackendError, terminal } from '../../api/errors.ts';
import { ownerKey, type Owner } from '../driver.ts';
import { sleep, type NeutronClient } from './client.ts';
import { halfMarked, NETFORM_TAG, ownerTag, ownerTags, pendingMarker } from './mapping.ts';

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

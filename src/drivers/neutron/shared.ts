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
 * A create whose outcome is unknown, and for how long after its failure it may still land: a bulk
 * create is given more time than one object's (`BulkCreates`), and may be committed that much later.
 */
export class InDoubt extends BackendError {
  readonly inDoubtMs: number;
  constructor(err: BackendError, inDoubtMs: number, what: string) {
    super('Transient', `${err.message} (${what})`, { code: err.code, cause: err });
    this.inDoubtMs = inDoubtMs;
  }
}

/**
 * Creates whose outcome is unknown: a POST that timed out, was reset or answered 5xx may still be
 * committed — even after the client gave up, when the request was held up on its way. Before looking
 * for its result again (and creating anew if there is none), the next create of that owner waits one
 * request timeout (the failed request's own: a bulk's is longer, `InDoubt`), so a late commit is found
 * by its pending marker and adopted, not duplicated. The doubt stays until a create of that owner
 * succeeds or its object is found (`resolved`): a look-up that failed, or a create refused for another
 * reason, leaves the next create looking again.
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
      if (err instanceof BackendError && err.errorClass === 'Transient') {
        const waitMs = Math.max(this.#waitMs, err instanceof InDoubt ? err.inDoubtMs : 0);
        this.#until.set(key, Math.max(this.#until.get(key) ?? 0, Date.now() + waitMs));
      }
      throw err;
    }
  }

  /** Whether a create of this owner (and `what`) failed with an unknown outcome and is not resolved yet. */
  uncertain(owner: Owner, what = ''): boolean {
    return this.#until.has(ownerKey(owner) + what);
  }

  /** Resolves once an uncertain create of this owner (and `what`) can no longer land (at once when
   *  there is none). The doubt stays: only a look-up that answered ends it (`resolved`). */
  async settled(owner: Owner, signal: AbortSignal, what = ''): Promise<void> {
    const until = this.#until.get(ownerKey(owner) + what);
    if (until === undefined) return;
    const ms = until - Date.now();
    if (ms > 0) await sleep(ms, signal);
  }

  /** The owner's object was found (or its create succeeded): no create of it is in doubt any more. */
  resolved(owner: Owner, what = ''): void {
    this.#until.delete(ownerKey(owner) + what);
  }
}

/**
 * The API extensions one Neutron advertises, looked up once and shared by its resource drivers; a
 * failed look-up is tried again at the next call. `refresh` (the driver's probe) looks again, unless
 * a look-up is on its way: its answer is fresh enough.
 */
export class AdvertisedExtensions {
  readonly #c: NeutronClient;
  #aliases: Promise<ReadonlySet<string>> | undefined;
  #asking: Promise<ReadonlySet<string>> | undefined;

  constructor(c: NeutronClient) {
    this.#c = c;
  }

  refresh(signal: AbortSignal): Promise<ReadonlySet<string>> {
    if (this.#asking) return this.#asking;
    const p = this.#c
      .request<{ extensions: { alias: string }[] }>('GET', '/v2.0/extensions', { query: { fields: 'alias' }, signal })
      .then((ext): ReadonlySet<string> => new Set(ext.extensions.map((e) => e.alias)));
    this.#aliases = p;
    this.#asking = p;
    p.then(
      () => {
        if (this.#asking === p) this.#asking = undefined;
      },
      () => {
        if (this.#asking === p) this.#asking = undefined;
        if (this.#aliases === p) this.#aliases = undefined;
      },
    );
    return p;
  }

  async has(alias: string, signal: AbortSignal): Promise<boolean> {
    return (await (this.#aliases ?? this.refresh(signal))).has(alias);
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

/** The collections whose creates are coalesced, with the key of one object in a request body. */
const SINGULAR = { networks: 'network', subnets: 'subnet', ports: 'port' } as const;

/**
 * How much longer than one object's create a bulk request may take, per object in it: Neutron
 * creates a bulk's objects one after the other in one transaction (73 ms a network, 110 ms a subnet
 * on the loaded 2-core harness, ADR 24), so a bulk of 100 is not answered within a single create's
 * timeout, and one given up on may be committed that much later.
 */
export const BULK_MS_PER_OBJECT = 250;

/**
 * Whether Neutron makes a port in a bulk POST as it would alone. Zed's bulk port create
 * (`Ml2Plugin._create_port_bulk`) takes the allowed address pairs (and extra DHCP options) from the
 * port it built from its database row, not from the request: they are silently dropped. And it
 * answers 500 to a bulk of ports without MACs on a network with an IPv6 SLAAC subnet (reference
 * §10.1), which would fail them again at every retry. Such ports go alone.
 */
export function bulkablePort(body: Record<string, unknown>): boolean {
  const some = (v: unknown) => Array.isArray(v) && v.length > 0;
  return body.mac_address !== undefined && !some(body.allowed_address_pairs) && !some(body.extra_dhcp_opts);
}

interface BulkMember<T> {
  body: Record<string, unknown>;
  resolve: (v: T) => void;
  reject: (err: unknown) => void;
}

/**
 * Creates of one collection coalesced into bulk POSTs (ADR 24). A create that arrives within
 * `windowMs` of another, or while an earlier bulk is on its way, goes out with the others in one
 * `POST /v2.0/<collection>` of at most `maxBatch` objects; each caller gets its own object back.
 * Neutron's bulk create is atomic: a bulk it refuses (a 4xx: one member's VLAN taken, one invalid
 * CIDR…) created nothing, so its members are sent again one by one and each gets its own answer. A
 * bulk is given `BULK_MS_PER_OBJECT` per member more than one create's timeout; one whose outcome is
 * unknown all the same (timeout, reset, 5xx) fails every member with an `InDoubt` error carrying that
 * time: each may have been created, and each caller's `UncertainCreates` makes its next create wait
 * that long and look first.
 */
export class BulkCreates<T> {
  readonly #c: NeutronClient;
  readonly #collection: keyof typeof SINGULAR;
  readonly #maxBatch: number;
  readonly #windowMs: number;
  readonly #maxInFlight: number;
  readonly #queue: BulkMember<T>[] = [];
  #inFlight = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Bulk requests sent, and objects in them (for tests and benchmarks). */
  readonly sent = { requests: 0, objects: 0, fallbacks: 0 };

  constructor(c: NeutronClient, collection: keyof typeof SINGULAR, opts: { maxBatch?: number; windowMs?: number; maxInFlight?: number } = {}) {
    this.#c = c;
    this.#collection = collection;
    this.#maxBatch = opts.maxBatch ?? 100;
    this.#windowMs = opts.windowMs ?? 10;
    this.#maxInFlight = opts.maxInFlight ?? 1;
  }

  /** Creates one object (`body` as in a single POST); resolves with Neutron's answer for it. A caller
   *  that gives up (`signal`) before its bulk went out is taken out of it. */
  create(body: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const m: BulkMember<T> = { body, resolve, reject };
      this.#queue.push(m);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.#queue.indexOf(m);
          if (i >= 0) (this.#queue.splice(i, 1), reject(signal.reason));
        },
        { once: true },
      );
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#timer || this.#inFlight >= this.#maxInFlight || !this.#queue.length) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, this.#windowMs);
  }

  async #flush(): Promise<void> {
    while (this.#queue.length && this.#inFlight < this.#maxInFlight) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        // Whatever arrived meanwhile goes out at once: it has waited for this bulk already.
        if (this.#queue.length && !this.#timer) void this.#flush();
      });
    }
  }

  async #send(batch: BulkMember<T>[]): Promise<void> {
    const one = SINGULAR[this.#collection];
    // Ports that a bulk would make differently (or fail) go alone (`bulkablePort`).
    if (this.#collection === 'ports') {
      const alone = batch.filter((m) => !bulkablePort(m.body));
      if (alone.length) {
        batch = batch.filter((m) => bulkablePort(m.body));
        await Promise.all([...alone.map((m) => this.#single(m)), ...(batch.length ? [this.#send(batch)] : [])]);
        return;
      }
    }
    if (batch.length === 1) return this.#single(batch[0]!);
    this.sent.requests++;
    this.sent.objects += batch.length;
    const timeoutMs = this.#c.timeoutMs + batch.length * BULK_MS_PER_OBJECT;
    const inDoubt = (err: BackendError) => new InDoubt(err, timeoutMs, `a bulk create of ${batch.length} ${this.#collection}: each may have been created`);
    let created: T[];
    try {
      const answer = await this.#c.request<Record<string, T[]>>('POST', `/v2.0/${this.#collection}`, { body: { [this.#collection]: batch.map((m) => m.body) }, timeoutMs });
      created = answer[this.#collection] ?? [];
    } catch (err) {
      if (err instanceof BackendError && err.errorClass !== 'Transient') {
        // Refused as a whole, so nothing was created: each member on its own, so that the bad one
        // reports its own error and the others are made.
        this.sent.fallbacks++;
        await Promise.all(batch.map((m) => this.#single(m)));
      } else {
        const e = inDoubt(err instanceof BackendError ? err : new BackendError('Transient', `POST /v2.0/${this.#collection}: ${String(err)}`, { cause: err }));
        for (const m of batch) m.reject(e);
      }
      return;
    }
    if (created.length !== batch.length) {
      const err = inDoubt(new BackendError('Transient', `POST /v2.0/${this.#collection}: ${created.length} ${one}s answered for ${batch.length}`));
      for (const m of batch) m.reject(err);
      return;
    }
    batch.forEach((m, i) => m.resolve(created[i]!));
  }

  async #single(m: BulkMember<T>): Promise<void> {
    const one = SINGULAR[this.#collection];
    this.sent.requests++;
    this.sent.objects++;
    try {
      m.resolve((await this.#c.request<Record<string, T>>('POST', `/v2.0/${this.#collection}`, { body: { [one]: m.body } }))[one]!);
    } catch (err) {
      m.reject(err);
    }
  }
}

interface LookupMember<T> {
  owner: Owner;
  name: string;
  resolve: (v: T | undefined) => void;
  reject: (err: unknown) => void;
}

/**
 * `findOwned` for many owners at once: lookups arriving within `windowMs` of each other, or while
 * the previous batch is on its way (a cold start observes every object that has no id yet), are answered by three list requests per batch —
 * by owner tag (`tags-any`), by pending marker (`description`, repeated), and half-marked by name
 * (`tags=netform&name=…`) — instead of up to three per object. Same answers as `findOwned`: the
 * owner-tagged object, else the marked one, else the half-marked one of that name; more than one is
 * a Terminal error for that owner alone.
 */
export class OwnerLookups<T extends { id: string; name: string; tags?: string[]; description?: string }> {
  readonly #c: NeutronClient;
  readonly #collection: string;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  #queue: LookupMember<T>[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight = false;

  constructor(c: NeutronClient, collection: string, opts: { windowMs?: number; maxBatch?: number } = {}) {
    this.#c = c;
    this.#collection = collection;
    this.#windowMs = opts.windowMs ?? 10;
    // Three filters of ~40 characters per owner: 50 owners keep a request line well under 8 KiB.
    this.#maxBatch = opts.maxBatch ?? 50;
  }

  find(owner: Owner, name: string, signal: AbortSignal): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      this.#queue.push({ owner, name, resolve, reject });
      this.#schedule();
    });
  }

  /** One batch on its way at a time: look-ups arriving meanwhile wait for it, and go out together. */
  #schedule(): void {
    if (this.#timer || this.#inFlight || !this.#queue.length) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const all = this.#queue;
      this.#queue = [];
      const batches: LookupMember<T>[][] = [];
      for (let i = 0; i < all.length; i += this.#maxBatch) batches.push(all.slice(i, i + this.#maxBatch));
      this.#inFlight = true;
      void Promise.all(batches.map((b) => this.#run(b))).finally(() => {
        this.#inFlight = false;
        this.#schedule();
      });
    }, this.#windowMs);
  }

  async #run(batch: LookupMember<T>[]): Promise<void> {
    const signal = AbortSignal.timeout(120_000);
    let tagged: T[], pending: T[], named: T[];
    try {
      [tagged, pending, named] = await Promise.all([
        this.#c.list<T>(this.#collection, { 'tags-any': [...new Set(batch.map((m) => ownerTag(m.owner)))].join(',') }, signal),
        this.#c.list<T>(this.#collection, { description: [...new Set(batch.map((m) => pendingMarker(m.owner)))] }, signal),
        this.#c.list<T>(this.#collection, { tags: NETFORM_TAG, name: [...new Set(batch.map((m) => m.name))] }, signal),
      ]);
    } catch (err) {
      for (const m of batch) m.reject(err);
      return;
    }
    for (const m of batch) {
      let hits = tagged.filter((h) => (h.tags ?? []).includes(ownerTag(m.owner)));
      if (!hits.length) hits = pending.filter((h) => h.description === pendingMarker(m.owner));
      if (!hits.length) hits = named.filter((h) => halfMarked(h, m.owner, m.name));
      if (hits.length > 1) m.reject(terminal(`${hits.length} Neutron ${this.#collection} belong to ${m.owner.kind}/${m.owner.name}: ${hits.map((h) => h.id).join(', ')}`));
      else m.resolve(hits[0]);
    }
  }
}

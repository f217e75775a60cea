// The Neutron (Quantum) driver: networks with their subnets and QoS policy, ports for vNICs, QoS
// policies for vNIC profiles, L3 routers (routers.ts), security groups (secgroups.ts) and ports for
// service endpoints (endpoints.ts).
// Every object carries netform's owner tags; the Neutron UUIDs are kept by the engine in status.
import type { Logger } from 'pino';
import { BackendError, terminal } from '../../api/errors.ts';
import {
  type DriverContext,
  type DriverFactory,
  type FieldChange,
  type NeutronProviderConfig,
  type Observed,
  type ObserveRequest,
  ownerKey,
  type Owner,
  type ProviderDriver,
  type ResourceDriver,
} from '../driver.ts';
import type { NetworkModel, VnicModel, VnicProfileModel } from '../model.ts';
import { NeutronClient, type NeutronAuth } from './client.ts';
import {
  diffNetwork,
  diffPort,
  diffProfilePolicy,
  fixedIpsBody,
  limitRule,
  normalizeProfilePolicy,
  type ProfilePolicyState,
  foreignOwner,
  halfMarked,
  hasTag,
  instanceTag,
  isOurs,
  pendingMarker,
  policyName,
  networkBody,
  NETWORK_MUTABLE_ATTRIBUTES,
  normalizeNetwork,
  normalizePort,
  ownerTag,
  ownerTags,
  portBody,
  portMutableBody,
  portName,
  qosOf,
  subnetBody,
  subnetMarker,
  subnetMutableBody,
  type NetworkState,
  type NeutronNetwork,
  type NeutronPort,
  type NeutronQosPolicy,
  type NeutronSubnet,
  type PortState,
} from './mapping.ts';
import { NeutronServiceEndpoints } from './endpoints.ts';
import { NeutronRouters } from './routers.ts';
import { NeutronSecurityGroups } from './secgroups.ts';
import { AdvertisedExtensions, BulkCreates, byOwnerTag, deleteIfAny, findOwned, getIfAny, InstanceListing, isNotFound, markOwned, OwnerLookups, Snapshots, UncertainCreates } from './shared.ts';

export { UncertainCreates };

/** Extensions the driver relies on; the probe refuses a Neutron without them. */
export const REQUIRED_EXTENSIONS = ['provider', 'net-mtu', 'standard-attr-tag', 'revision-if-match', 'pagination', 'port-security'];

export interface NeutronDriverOptions {
  /** How long a listing of netform's objects may serve periodic re-checks. Default 10 s. */
  snapshotTtlMs?: number;
  /** Test hook: awaited after Neutron answered a network create, before the driver returns. */
  afterNetworkCreate?: (id: string) => Promise<void>;
  /** Most objects in one bulk create (ADR 24). Default 100. */
  bulkMax?: number;
  /**
   * Whether a port's POST carries its owner tags where Neutron advertises
   * `tag-ports-during-bulk-creation` (no tags PUT after it). Default false: with it on, a chaos journey
   * (test/chaos/vnic-journeys.test.ts, case 6) failed in 3 of 4 runs, not yet understood (ADR 24).
   */
  tagPortsOnCreate?: boolean;
}

/** The extension that lets a port POST carry tags (ML2's extension driver `tag_ports_during_bulk_creation`). */
export const TAG_PORTS_ON_CREATE = 'tag-ports-during-bulk-creation';

/** The creates of one Neutron, coalesced into bulk POSTs per collection (ADR 24). */
export interface NeutronBulk {
  networks: BulkCreates<NeutronNetwork>;
  subnets: BulkCreates<NeutronSubnet>;
  ports: BulkCreates<NeutronPort>;
}

export function neutronBulk(c: NeutronClient, maxBatch?: number): NeutronBulk {
  return {
    networks: new BulkCreates<NeutronNetwork>(c, 'networks', { maxBatch }),
    subnets: new BulkCreates<NeutronSubnet>(c, 'subnets', { maxBatch }),
    ports: new BulkCreates<NeutronPort>(c, 'ports', { maxBatch }),
  };
}

/**
 * Marks a QoS policy as this owner's. A policy is found by its name, so its tags need not be set
 * atomically; and Zed's PUT of a policy's whole tag set does not answer, while one tag at a time works.
 */
async function tagPolicy(c: NeutronClient, id: string, owner: Owner, signal: AbortSignal): Promise<void> {
  for (const tag of ownerTags(owner)) await c.request('PUT', `/v2.0/qos/policies/${id}/tags/${encodeURIComponent(tag)}`, { signal });
}

export class NeutronDriver implements ProviderDriver {
  readonly type = 'neutron' as const;
  readonly client: NeutronClient;
  readonly networks: NeutronNetworks;
  readonly vnics: NeutronPorts;
  readonly profiles: NeutronProfiles;
  readonly routers: NeutronRouters;
  readonly securityGroups: NeutronSecurityGroups;
  readonly serviceEndpoints: NeutronServiceEndpoints;
  /** Bulk creates (for tests and benchmarks: `bulk.networks.sent`). */
  readonly bulk: NeutronBulk;
  /** The API extensions this Neutron advertises (looked up again by each probe). */
  readonly extensions: AdvertisedExtensions;

  constructor(config: NeutronProviderConfig, log: Logger, opts: NeutronDriverOptions = {}) {
    const o = config.options;
    let auth: NeutronAuth;
    if (o.auth === 'noauth') auth = { kind: 'noauth' };
    else {
      if (!o.authUrl || !config.credentials) throw terminal('neutron.auth keystone needs neutron.authUrl and credentials');
      auth = { kind: 'keystone', authUrl: o.authUrl, credentials: config.credentials };
    }
    this.client = new NeutronClient({
      endpoint: config.endpoint,
      auth,
      tls: config.tls,
      timeoutMs: config.requestTimeoutMs,
      maxConcurrency: config.maxConcurrency,
      log,
    });
    const projectId = o.auth === 'noauth' ? o.projectId : undefined;
    const creates = new UncertainCreates(config.requestTimeoutMs);
    this.bulk = neutronBulk(this.client, opts.bulkMax);
    this.extensions = new AdvertisedExtensions(this.client);
    this.networks = new NeutronNetworks(this.client, projectId, opts, creates, this.bulk);
    this.vnics = new NeutronPorts(this.client, projectId, creates, opts, this.bulk, this.extensions);
    this.profiles = new NeutronProfiles(this.client, projectId, creates);
    this.routers = new NeutronRouters(this.client, projectId, creates);
    this.securityGroups = new NeutronSecurityGroups(this.client, projectId, creates);
    this.serviceEndpoints = new NeutronServiceEndpoints(this.client, projectId, creates);
  }

  async probe(ctx: DriverContext): Promise<{ version?: string }> {
    const have = await this.extensions.refresh(ctx.signal);
    const missing = REQUIRED_EXTENSIONS.filter((a) => !have.has(a));
    if (missing.length) throw terminal(`this Neutron lacks the API extensions ${missing.join(', ')}`);
    return { version: `v2.0 (${have.size} extensions)` };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

interface Listing {
  startedAt: number;
  networks: Map<string, NeutronNetwork>;
  /** The listed networks by owner tag (one each, unless something went wrong). */
  byOwnerTag: Map<string, NeutronNetwork[]>;
  subnets: Map<string, NeutronSubnet[]>;
  policies: Map<string, NeutronQosPolicy>;
}

/** How recent an observe that found no network must be for create not to look again. */
const JUST_LOOKED_MS = 5_000;
/** How long what a write left of a network stands in for reading it before an edit of its own attributes (#recent). */
const RECENT_WRITE_MS = 60_000;

/** Networks, with their subnets and bandwidth-limit QoS policy, as one backend object. */
export class NeutronNetworks implements ResourceDriver<NetworkModel, NetworkState> {
  readonly #c: NeutronClient;
  readonly #projectId: string | undefined;
  readonly #opts: NeutronDriverOptions;
  /** Recent listings of every object of one netform installation (re-checks read them). */
  readonly #listings: Snapshots<Listing>;
  /** When this driver's observe last found no network of an owner (see create). */
  readonly #absent = new Map<string, number>();
  /** When this driver last wrote each network: a listing older than that is not used for it. */
  readonly #lastWrite = new Map<string, number>();
  /** The network as this driver's last successful write left it, by id, for RECENT_WRITE_MS: an
   *  edit of a network's own attributes right after is decided from it (no reads before the PUT,
   *  which is compare-and-swap on the revision, so a change by anyone else meanwhile is a 412 and a
   *  retry that reads). Oldest first; what is older is dropped as new entries come. */
  readonly #recent = new Map<string, { at: number; owner: string; observed: Observed<NetworkState> }>();

  readonly #creates: UncertainCreates;
  readonly #bulk: NeutronBulk;
  /** Owners' networks looked up together when the listing does not have them (a cold start). */
  readonly #lookups: OwnerLookups<NeutronNetwork>;

  constructor(client: NeutronClient, projectId: string | undefined, opts: NeutronDriverOptions, creates = new UncertainCreates(30_000), bulk = neutronBulk(client, opts.bulkMax)) {
    this.#c = client;
    this.#projectId = projectId;
    this.#opts = opts;
    this.#creates = creates;
    this.#bulk = bulk;
    this.#lookups = new OwnerLookups<NeutronNetwork>(client, 'networks');
    this.#listings = new Snapshots(opts.snapshotTtlMs ?? 10_000, (instance, signal) => this.#list(signal, instance));
  }

  async observe(ctx: DriverContext, req: ObserveRequest<NetworkModel>): Promise<Observed<NetworkState> | undefined> {
    const owner = req.owner;
    if (req.externalId) {
      if (req.fresh) {
        const recent = this.#recentFor(req.externalId, owner, req.desired);
        if (recent) return recent;
      }
      const listed = req.fresh ? undefined : await this.#fromListing(ctx, owner, req.externalId);
      if (listed) return this.#observed(listed.net, listed.subnets, listed.policy, owner, true, listed.ownPolicyId, req.desired.name);
      // The network, its subnets and this owner's QoS policy read side by side (an edit's reads:
      // one round trip, not three).
      const [fresh, subnets, own] = await Promise.all([
        this.#get(ctx, req.externalId),
        this.#c.list<NeutronSubnet>('subnets', { network_id: req.externalId }, ctx.signal),
        this.#c.list<NeutronQosPolicy>('qos/policies', { name: policyName(owner) }, ctx.signal).then((l) => l[0]),
      ]);
      if (fresh) return this.#observedFresh(ctx, fresh, owner, true, req.desired.name, { subnets, own });
    }
    if (req.import) {
      let found: NeutronNetwork | undefined;
      if (req.import.id) found = await this.#get(ctx, req.import.id);
      else {
        const query: Record<string, string> = { name: req.import.name! };
        if (req.import.project) query.project_id = req.import.project;
        const hits = await this.#c.list<NeutronNetwork>('networks', query, ctx.signal);
        if (hits.length > 1) throw terminal(`${hits.length} Neutron networks are named ${req.import.name}; import by id`);
        found = hits[0];
      }
      return found ? this.#observedFresh(ctx, found, owner, false) : undefined;
    }
    // No id recorded (a first create, or a state directory lost): the installation's listing finds a
    // network tagged as this owner's with no request of its own — re-adopting N networks after a
    // state loss costs the listing, not N lookups. Anything else (not in the listing, a create that
    // died before tagging, a listing older than this driver's last write) is looked up directly.
    const tagged = await this.#fromListing(ctx, owner);
    if (tagged) return this.#observed(tagged.net, tagged.subnets, tagged.policy, owner, false, tagged.ownPolicyId, req.desired.name);
    const mine = await this.#lookups.find(owner, req.desired.name, ctx.signal);
    if (!mine) this.#absent.set(ownerKey(owner), Date.now());
    return mine ? this.#observedFresh(ctx, mine, owner, false, req.desired.name) : undefined;
  }

  diff(desired: NetworkModel, observed: NetworkState): FieldChange[] {
    return diffNetwork(desired, observed);
  }

  async create(ctx: DriverContext, owner: Owner, desired: NetworkModel): Promise<Observed<NetworkState>> {
    // Adopt what an earlier attempt created (the process may have died before recording it; or its
    // answer was lost, and the request may still be on its way: wait for that first). Not looked up
    // again when this driver's own observe found nothing moments ago and no create of it was in doubt:
    // a reconcile observes, then creates, and no other writer makes this owner's network meanwhile
    // (one process, or one replica per shard; the work queue never runs one key twice at once).
    const inDoubt = this.#creates.uncertain(owner);
    await this.#creates.settled(owner, ctx.signal);
    const absentAt = this.#absent.get(ownerKey(owner));
    this.#absent.delete(ownerKey(owner));
    const justLooked = !inDoubt && absentAt !== undefined && Date.now() - absentAt < JUST_LOOKED_MS;
    const existing = justLooked ? undefined : await this.#byOwner(ctx, owner, desired.name);
    if (existing) {
      this.#creates.resolved(owner);
      return this.#adopt(ctx, owner, existing, desired);
    }
    const policyId = qosOf(desired) ? (await this.#ensurePolicy(ctx, owner, desired)).id : undefined;
    const body = networkBody(desired, owner, this.#projectId);
    if (policyId) body.qos_policy_id = policyId;
    let network: NeutronNetwork;
    try {
      // Coalesced with other reconciles' creates into one bulk POST; refused alone if it is the bad one.
      network = await this.#creates.post(owner, () => this.#bulk.networks.create(body, ctx.signal));
    } catch (err) {
      // The segment is taken: if a network of this owner holds it (marked, or half-marked by an
      // interrupted write), it is adopted; anything else is a real clash.
      if (!(err instanceof BackendError && err.code === 'VlanIdInUse' && desired.vlan !== undefined)) throw err;
      const holder = await this.#segmentHolder(ctx, owner, desired);
      if (!holder) throw err;
      this.#creates.resolved(owner);
      // Claimed in one request, so that it is this owner's from now on whatever its name.
      await markOwned(this.#c, 'networks', holder.id, owner, ctx.signal);
      return this.#adopt(ctx, owner, (await this.#get(ctx, holder.id)) ?? fail(holder.id), desired);
    }
    this.#touch(network.id);
    await this.#opts.afterNetworkCreate?.(network.id);
    // From here on the network is found by its marker (then its tags); whatever fails below, an
    // update finishes. A network whose spec gives a description gets it last, replacing the marker:
    // until then the network says it is being made. One without keeps the marker, which on a
    // network tagged as this owner's reads as no description (ADR 24): a network update is
    // Neutron's dearest write, dearer than the create's share of a bulk POST.
    const { tags } = await this.#c.request<{ tags: string[] }>('PUT', `/v2.0/networks/${network.id}/tags`, { body: { tags: ownerTags(owner) }, signal: ctx.signal });
    const subnets = await this.#addSubnets(ctx, owner, network.id, desired.subnets);
    let done: NeutronNetwork = { ...network, tags, subnets: subnets?.map((x) => x.id) ?? network.subnets };
    if (desired.description) {
      done = (await this.#c.request<{ network: NeutronNetwork }>('PUT', `/v2.0/networks/${network.id}`, { body: { network: { description: desired.description } }, signal: ctx.signal })).network;
    }
    // Again after the last write: a listing taken during the writes (tagged, no subnets yet) is stale.
    this.#touch(network.id);
    // The answers are the network as it now is (tags, subnets; its revision may be older, which a
    // compare-and-swap finds out — so it is not kept as #recent): no read back, unless a QoS policy
    // or subnets made by an earlier attempt are part of it.
    if (policyId || !subnets) return this.#observedFresh(ctx, done, owner, true, desired.name);
    return this.#observed(done, subnets, undefined, owner, true, null, desired.name);
  }

  /** Takes over a network an earlier attempt created (or half-marked), and finishes it: what differs
   *  in place is brought to the model (what cannot change in place is left to the next reconcile). */
  async #adopt(ctx: DriverContext, owner: Owner, net: NeutronNetwork, desired: NetworkModel): Promise<Observed<NetworkState>> {
    const observed = await this.#observedFresh(ctx, net, owner, false, desired.name);
    const changes = diffNetwork(desired, observed.state).filter((c) => !c.immutable);
    return changes.length ? this.update(ctx, owner, observed, desired, changes) : observed;
  }

  /** Subnets in bulk requests, marked in them. Returns them as they now are when they are all the
   *  network has (undefined when an earlier attempt's may be there too). */
  async #addSubnets(ctx: DriverContext, owner: Owner, networkId: string, wanted: NetworkModel['subnets']): Promise<NeutronSubnet[] | undefined> {
    if (!wanted.length) return [];
    let subnets = wanted;
    if (this.#creates.uncertain(owner, '/subnets')) {
      // An earlier bulk create's answer was lost: wait until it can no longer land, then add only what is still missing.
      await this.#creates.settled(owner, ctx.signal, '/subnets');
      const have = new Set((await this.#c.list<NeutronSubnet>('subnets', { network_id: networkId }, ctx.signal)).map((x) => x.name));
      this.#creates.resolved(owner, '/subnets');
      subnets = wanted.filter((x) => !have.has(x.name));
      if (!subnets.length) return undefined;
      await this.#addSubnetsNow(ctx, owner, networkId, subnets);
      return undefined;
    }
    return this.#addSubnetsNow(ctx, owner, networkId, subnets);
  }

  /** The subnets created, coalesced with other networks' into bulk POSTs. They are marked as
   *  netform's by their description (`subnetMarker`), set in the POST: no tags to add. A subnet
   *  refused on its own fails the create; an update adds it later. */
  async #addSubnetsNow(ctx: DriverContext, owner: Owner, networkId: string, subnets: NetworkModel['subnets']): Promise<NeutronSubnet[]> {
    return this.#creates.post(
      owner,
      async () => {
        const settled = await Promise.allSettled(subnets.map((x) => this.#bulk.subnets.create(subnetBody(x, networkId, owner, this.#projectId), ctx.signal)));
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        return settled.map((r) => (r as PromiseFulfilledResult<NeutronSubnet>).value);
      },
      '/subnets',
    );
  }

  async update(ctx: DriverContext, owner: Owner, observed: Observed<NetworkState>, desired: NetworkModel, changes: FieldChange[]): Promise<Observed<NetworkState>> {
    const id = observed.externalId;
    const s = observed.state;
    this.#recent.delete(id); // until this write has succeeded
    const body: Record<string, unknown> = {};
    for (const c of changes) {
      const attribute = NETWORK_MUTABLE_ATTRIBUTES[c.path];
      if (attribute) body[attribute] = c.to;
    }
    let dropPolicy: string | undefined;
    if (changes.some((c) => c.path === 'qos')) {
      if (qosOf(desired)) {
        const policy = await this.#ensurePolicy(ctx, owner, desired, s.qosPolicyId ?? undefined);
        if (policy.id !== s.qosPolicyId) body.qos_policy_id = policy.id;
      } else {
        if (s.qosPolicyId) body.qos_policy_id = null;
        dropPolicy = s.ownPolicyId ?? undefined;
      }
    }
    this.#touch(id);
    let revision = Number(observed.version);
    if (changes.some((c) => c.path === 'tags')) {
      // Marked as this owner's first, in one request; only then is the pending marker cleared. An
      // interruption anywhere leaves a network found by its owner tag or by its marker.
      await markOwned(this.#c, 'networks', id, owner, ctx.signal);
      revision = ((await this.#get(ctx, id)) ?? fail(id)).revision_number;
    }
    if (Object.keys(body).length) {
      await this.#c.request('PUT', `/v2.0/networks/${id}`, { body: { network: body }, ifMatchRevision: revision, signal: ctx.signal });
    }
    if (dropPolicy) await this.#deletePolicy(ctx, dropPolicy);
    // Subnets: add the missing ones in bulk, change the changed ones (each compare-and-swap), remove extra ones.
    const want = new Map(desired.subnets.map((x) => [x.name, x]));
    const have = new Map(s.subnets.map((x) => [x.name, x]));
    await this.#addSubnets(ctx, owner, id, desired.subnets.filter((x) => !have.has(x.name)));
    const touched = new Map<string, Set<string>>();
    for (const c of changes) {
      const m = /^subnets\[([^\]]+)\]\.(\w+)$/.exec(c.path);
      if (m) touched.set(m[1]!, (touched.get(m[1]!) ?? new Set()).add(m[2]!));
    }
    for (const [name, what] of touched) {
      const h = have.get(name)!;
      // One PUT: the changed fields, and the installation's mark for a subnet without it (one made
      // before ADR 24, tagged instead, or one a crash left unmarked).
      const body: Record<string, unknown> = [...what].some((f) => f !== 'mark') ? subnetMutableBody(want.get(name)!) : {};
      if (what.has('mark')) body.description = subnetMarker(owner.instance);
      await this.#c.request('PUT', `/v2.0/subnets/${h.id}`, { body: { subnet: body }, ifMatchRevision: h.revision, signal: ctx.signal });
    }
    for (const [name, h] of have) {
      if (want.has(name)) continue;
      await deleteIfAny(this.#c, `subnets/${h.id}`, ctx.signal);
    }
    // Again after the last write: a listing taken during the writes is stale.
    this.#touch(id);
    return this.#remember(owner, await this.#observedFresh(ctx, (await this.#get(ctx, id)) ?? fail(id), owner, true, desired.name));
  }

  /** Keeps what a write left (see #recent). */
  #remember(owner: Owner, observed: Observed<NetworkState>): Observed<NetworkState> {
    const now = Date.now();
    for (const [id, r] of this.#recent) {
      if (now - r.at < RECENT_WRITE_MS) break;
      this.#recent.delete(id);
    }
    this.#recent.delete(observed.externalId);
    if (observed.owned) this.#recent.set(observed.externalId, { at: now, owner: ownerKey(owner), observed });
    return observed;
  }

  /** What the last write left of network `id`, when it is recent, this owner's, and the model differs
   *  from it in the network's own attributes only (a compare-and-swap PUT guards those; subnets, tags
   *  and QoS are read afresh before they are changed). */
  #recentFor(id: string, owner: Owner, desired: NetworkModel): Observed<NetworkState> | undefined {
    const r = this.#recent.get(id);
    if (!r || r.owner !== ownerKey(owner) || Date.now() - r.at >= RECENT_WRITE_MS) return undefined;
    const changes = diffNetwork(desired, r.observed.state);
    return changes.every((c) => !c.immutable && NETWORK_MUTABLE_ATTRIBUTES[c.path] !== undefined) ? r.observed : undefined;
  }

  async delete(ctx: DriverContext, observed: Observed<NetworkState>): Promise<void> {
    this.#touch(observed.externalId);
    this.#recent.delete(observed.externalId);
    await deleteIfAny(this.#c, `networks/${observed.externalId}`, ctx.signal);
    // The network's own QoS policy goes with it (never a policy netform did not create).
    if (observed.state.ownPolicyId) await this.#deletePolicy(ctx, observed.state.ownPolicyId);
  }

  // ---- reading ----

  #get(ctx: DriverContext, id: string): Promise<NeutronNetwork | undefined> {
    return getIfAny<NeutronNetwork>(this.#c, 'networks', id, ctx.signal);
  }

  async #byOwner(ctx: DriverContext, owner: Owner, name: string): Promise<NeutronNetwork | undefined> {
    return findOwned<NeutronNetwork>(this.#c, 'networks', owner, name, ctx.signal);
  }

  /** The network holding the model's VLAN segment, if it is this owner's by any netform mark. */
  async #segmentHolder(ctx: DriverContext, owner: Owner, m: NetworkModel): Promise<NeutronNetwork | undefined> {
    const query = { 'provider:physical_network': m.physicalNetwork, 'provider:segmentation_id': String(m.vlan) };
    const hits = await this.#c.list<NeutronNetwork>('networks', query, ctx.signal);
    return hits.find((n) => isOurs(n, owner) || halfMarked(n, owner));
  }

  /** The network from a recent listing — the one of id `id`, or without it the one tagged as
   *  `owner`'s — if the listing is newer than this driver's last write to it. */
  async #fromListing(
    ctx: DriverContext,
    owner: Owner,
    id?: string,
  ): Promise<{ net: NeutronNetwork; subnets: NeutronSubnet[]; policy?: NeutronQosPolicy; ownPolicyId: string | null } | undefined> {
    const l = await this.#listings.get(owner.instance, ctx.signal, id === undefined ? undefined : this.#lastWrite.get(id));
    if (!l) return undefined;
    let net: NeutronNetwork | undefined;
    if (id !== undefined) net = l.networks.get(id);
    else {
      const tag = ownerTag(owner);
      const hits = l.byOwnerTag.get(tag) ?? [];
      // Two of one owner: findOwned says so (a terminal error to look at).
      if (hits.length !== 1) return undefined;
      net = hits[0];
    }
    if (!net || (this.#lastWrite.get(net.id) ?? -1) >= l.startedAt) return undefined;
    const policy = net.qos_policy_id ? l.policies.get(net.qos_policy_id) : undefined;
    if (net.qos_policy_id && !policy) return undefined; // a policy netform does not own: read it directly
    const own = [...l.policies.values()].find((x) => x.name === policyName(owner));
    const subnets = l.subnets.get(net.id) ?? [];
    // A subnet without our marks (someone else's, or one a crash left untagged) is not in the listing.
    if ((net.subnets ?? []).length !== subnets.length) return undefined;
    return { net, subnets, policy, ownPolicyId: own?.id ?? null };
  }

  async #list(signal: AbortSignal, instance: string): Promise<Listing> {
    const startedAt = Date.now();
    const tag = instanceTag(instance);
    // Subnets: those marked by their description. A network with a subnet not marked (made before ADR
    // 24, tagged instead) is read directly, and its update marks that subnet.
    const [nets, marked, pols] = await Promise.all([
      this.#c.list<NeutronNetwork>('networks', { tags: tag }, signal),
      this.#c.list<NeutronSubnet>('subnets', { description: subnetMarker(instance) }, signal),
      this.#c.list<NeutronQosPolicy>('qos/policies', { tags: tag }, signal).catch(() => [] as NeutronQosPolicy[]),
    ]);
    const subnets = new Map<string, NeutronSubnet[]>();
    for (const s of marked) {
      const list = subnets.get(s.network_id);
      if (list) list.push(s);
      else subnets.set(s.network_id, [s]);
    }
    return {
      startedAt,
      networks: new Map(nets.map((n) => [n.id, n])),
      byOwnerTag: byOwnerTag(nets),
      subnets,
      policies: new Map(pols.map((p) => [p.id, p])),
    };
  }

  async #observedFresh(
    ctx: DriverContext,
    net: NeutronNetwork,
    owner: Owner,
    recorded: boolean,
    name?: string,
    read?: { subnets: NeutronSubnet[]; own: NeutronQosPolicy | undefined },
  ): Promise<Observed<NetworkState>> {
    const subnets = read?.subnets ?? (await this.#c.list<NeutronSubnet>('subnets', { network_id: net.id }, ctx.signal));
    let policy: NeutronQosPolicy | undefined;
    if (read && (!net.qos_policy_id || net.qos_policy_id === read.own?.id)) {
      policy = net.qos_policy_id ? read.own : undefined;
      return this.#observed(net, subnets, policy, owner, recorded, read.own?.id ?? null, name);
    }
    if (net.qos_policy_id) {
      try {
        policy = (await this.#c.request<{ policy: NeutronQosPolicy }>('GET', `/v2.0/qos/policies/${net.qos_policy_id}`, { signal: ctx.signal })).policy;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    const own = policy?.name === policyName(owner) ? policy : (await this.#c.list<NeutronQosPolicy>('qos/policies', { name: policyName(owner) }, ctx.signal))[0];
    return this.#observed(net, subnets, policy, owner, recorded, own?.id ?? null, name);
  }

  #observed(
    net: NeutronNetwork,
    subnets: NeutronSubnet[],
    policy: NeutronQosPolicy | undefined,
    owner: Owner,
    recorded: boolean,
    ownPolicyId: string | null,
    name?: string,
  ): Observed<NetworkState> {
    const other = foreignOwner(net.tags, owner);
    const state = normalizeNetwork(net, subnets, policy, owner, ownPolicyId, name);
    if (recorded && other && !state.ours) throw terminal(`Neutron network ${net.id} belongs to another owner (${other})`);
    const externalIds: Record<string, string> = {};
    for (const s of state.subnets) externalIds[`subnet/${s.name}`] = s.id;
    if (state.qosPolicyId) externalIds.qosPolicy = state.qosPolicyId;
    return { externalId: net.id, externalIds, state, version: String(net.revision_number), owned: state.ours || (recorded && !other) };
  }

  // ---- QoS ----

  /** The network's own bandwidth-limit policy, created or brought to the model. */
  async #ensurePolicy(ctx: DriverContext, owner: Owner, m: NetworkModel, currentId?: string): Promise<NeutronQosPolicy> {
    const q = qosOf(m)!;
    let policy: NeutronQosPolicy | undefined;
    if (currentId) {
      policy = (await this.#c.request<{ policy: NeutronQosPolicy }>('GET', `/v2.0/qos/policies/${currentId}`, { signal: ctx.signal })).policy;
      if (policy.name !== policyName(owner)) policy = undefined; // someone else's policy: use our own
    }
    policy ??= (await this.#c.list<NeutronQosPolicy>('qos/policies', { name: policyName(owner) }, ctx.signal))[0];
    if (!policy) {
      const body: Record<string, unknown> = { name: policyName(owner), description: `bandwidth limit of netform network ${m.name}` };
      if (this.#projectId) body.project_id = this.#projectId;
      policy = (await this.#c.request<{ policy: NeutronQosPolicy }>('POST', '/v2.0/qos/policies', { body: { policy: body }, signal: ctx.signal })).policy;
    }
    if (!hasTag(policy.tags, ownerTag(owner))) {
      await tagPolicy(this.#c, policy.id, owner, ctx.signal);
    }
    const rule = (policy.rules ?? []).find((r) => r.type === 'bandwidth_limit') as { id?: string; max_kbps?: number; max_burst_kbps?: number } | undefined;
    const want = { max_kbps: q.maxRateKbps, max_burst_kbps: q.maxBurstKbps ?? 0 };
    if (!rule) {
      await this.#c.request('POST', `/v2.0/qos/policies/${policy.id}/bandwidth_limit_rules`, { body: { bandwidth_limit_rule: want }, signal: ctx.signal });
    } else if (rule.max_kbps !== want.max_kbps || (rule.max_burst_kbps ?? 0) !== want.max_burst_kbps) {
      await this.#c.request('PUT', `/v2.0/qos/policies/${policy.id}/bandwidth_limit_rules/${rule.id}`, { body: { bandwidth_limit_rule: want }, signal: ctx.signal });
    }
    return policy;
  }

  #deletePolicy(ctx: DriverContext, id: string): Promise<void> {
    return deleteIfAny(this.#c, `qos/policies/${id}`, ctx.signal);
  }

  #touch(id: string): void {
    this.#lastWrite.set(id, Date.now());
  }
}

function fail(id: string): never {
  throw new BackendError('Transient', `Neutron network ${id} vanished during the update`);
}

/** Ports for VM vNICs. */
export class NeutronPorts implements ResourceDriver<VnicModel, PortState> {
  readonly #c: NeutronClient;
  readonly #projectId: string | undefined;

  readonly #creates: UncertainCreates;
  /** When this driver's observe last found no port of an owner (see create). */
  readonly #absent = new Map<string, number>();
  /** The installation's ports, listed once for many re-checks (and for re-adoption after a state loss). */
  readonly #listing: InstanceListing<NeutronPort>;
  readonly #bulk: NeutronBulk;
  /** Owners' ports looked up together when the listing does not have them (a cold start). */
  readonly #lookups: OwnerLookups<NeutronPort & { description?: string }>;
  readonly #extensions: AdvertisedExtensions;
  readonly #tagOnCreate: boolean;

  constructor(
    client: NeutronClient,
    projectId: string | undefined,
    creates = new UncertainCreates(30_000),
    opts: { snapshotTtlMs?: number; bulkMax?: number; tagPortsOnCreate?: boolean } = {},
    bulk = neutronBulk(client, opts.bulkMax),
    extensions = new AdvertisedExtensions(client),
  ) {
    this.#c = client;
    this.#projectId = projectId;
    this.#creates = creates;
    this.#bulk = bulk;
    this.#extensions = extensions;
    this.#tagOnCreate = opts.tagPortsOnCreate ?? false;
    this.#listing = new InstanceListing<NeutronPort>(client, 'ports', opts.snapshotTtlMs ?? 10_000);
    this.#lookups = new OwnerLookups<NeutronPort & { description?: string }>(client, 'ports');
  }

  async observe(ctx: DriverContext, req: ObserveRequest<VnicModel>): Promise<Observed<PortState> | undefined> {
    if (req.externalId) {
      const listed = req.fresh ? undefined : await this.#listing.byId(req.owner.instance, req.externalId, ctx.signal);
      const p = listed ?? (await this.#get(ctx, req.externalId));
      if (p) return this.#observed(p, req.owner, true, portName(req.desired));
    }
    const mine = (await this.#listing.byOwner(req.owner, ctx.signal)) ?? (await this.#lookups.find(req.owner, portName(req.desired), ctx.signal));
    if (!mine) this.#absent.set(ownerKey(req.owner), Date.now());
    return mine ? this.#observed(mine, req.owner, false, portName(req.desired)) : undefined;
  }

  diff(desired: VnicModel, observed: PortState): FieldChange[] {
    return diffPort(desired, observed);
  }

  async create(ctx: DriverContext, owner: Owner, desired: VnicModel): Promise<Observed<PortState>> {
    // Looked up again unless this driver's observe found none moments ago with no create in doubt
    // (as NeutronNetworks.create).
    const inDoubt = this.#creates.uncertain(owner);
    await this.#creates.settled(owner, ctx.signal);
    const absentAt = this.#absent.get(ownerKey(owner));
    this.#absent.delete(ownerKey(owner));
    const justLooked = !inDoubt && absentAt !== undefined && Date.now() - absentAt < JUST_LOOKED_MS;
    const existing = justLooked ? undefined : await this.observe(ctx, { owner, desired });
    if (existing) {
      this.#creates.resolved(owner);
      // Adopted: finished here (marked, marker cleared, brought to the model), as a network is.
      const changes = diffPort(desired, existing.state);
      return changes.length ? this.update(ctx, owner, existing, desired, changes) : existing;
    }
    // Coalesced with other reconciles' creates into one bulk POST; refused alone if it is the bad one.
    // Where Neutron takes tags in a port POST, the port is made tagged; otherwise it is made with the
    // pending marker (found again by it if the tags PUT never comes) and tagged after (ADR 24).
    const body = portBody(desired, owner, this.#projectId);
    const want = ownerTags(owner);
    if (this.#tagOnCreate && (await this.#extensions.has(TAG_PORTS_ON_CREATE, ctx.signal))) body.tags = want;
    const port = await this.#creates.post(owner, () => this.#bulk.ports.create(body, ctx.signal));
    this.#listing.touch(port.id);
    let tags = port.tags ?? [];
    if (!want.every((t) => tags.includes(t))) {
      ({ tags } = await this.#c.request<{ tags: string[] }>('PUT', `/v2.0/ports/${port.id}/tags`, { body: { tags: want }, signal: ctx.signal }));
      this.#listing.touch(port.id);
    }
    // The pending marker stays: tagged, it reads as no description (ownedDescription). Clearing it
    // would be a PUT of the port, and Neutron tries to bind a port to its host again on each (ADR 24).
    // The revision is the POST's, older than the tags': a compare-and-swap update is refused and re-reads.
    return this.#observed({ ...port, tags }, owner, true, portName(desired));
  }

  async update(ctx: DriverContext, owner: Owner, observed: Observed<PortState>, desired: VnicModel, changes: FieldChange[]): Promise<Observed<PortState>> {
    if (desired.networkExternalId !== observed.state.networkId) return this.#move(ctx, owner, observed, desired);
    const body: Record<string, unknown> = portMutableBody(desired);
    if (observed.state.ours) body.description = '';
    // Addresses are written only when they differ, keeping those already allocated where the spec names none.
    if (desired.fixedIps && changes.some((c) => c.path === 'fixedIps')) body.fixed_ips = fixedIpsBody(desired.fixedIps, observed.state.fixedIps);
    let revision = Number(observed.version);
    this.#listing.touch(observed.externalId);
    if (changes.some((c) => c.path === 'tags')) {
      // Marked first, the pending marker cleared after (see NeutronNetworks.update).
      await markOwned(this.#c, 'ports', observed.externalId, owner, ctx.signal);
      const now = await this.#get(ctx, observed.externalId);
      if (!now) throw new BackendError('Transient', `Neutron port ${observed.externalId} vanished during the update`);
      revision = now.revision_number;
    }
    const { port } = await this.#c.request<{ port: NeutronPort }>('PUT', `/v2.0/ports/${observed.externalId}`, {
      body: { port: body },
      ifMatchRevision: revision,
      signal: ctx.signal,
    });
    this.#listing.touch(observed.externalId);
    return this.#observed(port, owner, true, portName(desired));
  }

  /**
   * A vNIC moved to another network: Neutron cannot change a port's network, so a successor port is
   * made on the new network, the old one deleted, and only then does the successor become the VM's
   * (device, host, owner tags). Until then it carries the pending marker and no device, so the VM
   * never has two ports, and a move interrupted at any step is found again and finished: before the
   * delete, the old port is still the recorded one and the successor is found by its marker on the
   * new network; after it, the successor is found by its marker alone. The successor keeps the old
   * port's MAC where the spec names none.
   */
  async #move(ctx: DriverContext, owner: Owner, old: Observed<PortState>, desired: VnicModel): Promise<Observed<PortState>> {
    const want: VnicModel = { ...desired, mac: desired.mac ?? old.state.mac };
    await this.#creates.settled(owner, ctx.signal, 'move');
    let [next, ...more] = await this.#c.list<NeutronPort>('ports', { description: pendingMarker(owner), network_id: want.networkExternalId }, ctx.signal);
    if (more.length) throw terminal(`${more.length + 1} Neutron ports are pending for ${owner.kind}/${owner.namespace}/${owner.name} on network ${want.networkExternalId}: ${[next!, ...more].map((p) => p.id).join(', ')}`);
    if (!next) {
      const body = { ...portBody(want, owner, this.#projectId), device_id: '', 'binding:host_id': '' };
      next = (await this.#creates.post(owner, () => this.#c.request<{ port: NeutronPort }>('POST', '/v2.0/ports', { body: { port: body }, signal: ctx.signal }), 'move')).port;
    }
    this.#listing.touch(next.id);
    await this.delete(ctx, old);
    const successor = this.#observed(next, owner, false, portName(want));
    return this.update(ctx, owner, successor, want, diffPort(want, successor.state));
  }

  async delete(ctx: DriverContext, observed: Observed<PortState>): Promise<void> {
    this.#listing.touch(observed.externalId);
    await deleteIfAny(this.#c, `ports/${observed.externalId}`, ctx.signal);
    this.#listing.touch(observed.externalId);
  }

  #get(ctx: DriverContext, id: string): Promise<NeutronPort | undefined> {
    return getIfAny<NeutronPort>(this.#c, 'ports', id, ctx.signal);
  }

  #observed(p: NeutronPort, owner: Owner, recorded: boolean, name?: string): Observed<PortState> {
    const other = foreignOwner(p.tags, owner);
    const state = normalizePort(p, owner, name);
    if (recorded && other && !state.ours) throw terminal(`Neutron port ${p.id} belongs to another owner (${other})`);
    return { externalId: p.id, state, version: String(p.revision_number), owned: state.ours || (recorded && !other), facts: { mac: state.mac, addresses: state.addresses } };
  }
}

/**
 * vNIC profiles: one QoS policy each, named after its owner (so it is found again whatever step a
 * create died at: posted, tagged, its rules added), holding a bandwidth-limit rule per limited
 * direction. The ports of the profile's vNICs point at it.
 */
export class NeutronProfiles implements ResourceDriver<VnicProfileModel, ProfilePolicyState> {
  readonly #c: NeutronClient;
  readonly #projectId: string | undefined;
  readonly #creates: UncertainCreates;

  constructor(client: NeutronClient, projectId: string | undefined, creates = new UncertainCreates(30_000)) {
    this.#c = client;
    this.#projectId = projectId;
    this.#creates = creates;
  }

  async observe(ctx: DriverContext, req: ObserveRequest<VnicProfileModel>): Promise<Observed<ProfilePolicyState> | undefined> {
    if (req.externalId) {
      const p = await this.#get(ctx, req.externalId);
      if (p && p.name === policyName(req.owner)) return this.#observed(p, req.owner);
    }
    const hits = await this.#c.list<NeutronQosPolicy>('qos/policies', { name: policyName(req.owner) }, ctx.signal);
    if (hits.length > 1) throw terminal(`${hits.length} Neutron QoS policies belong to ${req.owner.kind}/${req.owner.namespace}/${req.owner.name}: ${hits.map((h) => h.id).join(', ')}`);
    return hits[0] ? this.#observed(hits[0], req.owner) : undefined;
  }

  diff(desired: VnicProfileModel, observed: ProfilePolicyState): FieldChange[] {
    return diffProfilePolicy(desired, observed);
  }

  async create(ctx: DriverContext, owner: Owner, desired: VnicProfileModel): Promise<Observed<ProfilePolicyState>> {
    await this.#creates.settled(owner, ctx.signal, 'policy');
    const existing = await this.observe(ctx, { owner, desired });
    if (existing) {
      const changes = diffProfilePolicy(desired, existing.state);
      return changes.length ? this.update(ctx, owner, existing, desired, changes) : existing;
    }
    const body: Record<string, unknown> = { name: policyName(owner), description: `bandwidth limits of netform vNIC profile ${desired.name}` };
    if (this.#projectId) body.project_id = this.#projectId;
    const { policy } = await this.#creates.post(
      owner,
      () => this.#c.request<{ policy: NeutronQosPolicy }>('POST', '/v2.0/qos/policies', { body: { policy: body }, signal: ctx.signal }),
      'policy',
    );
    const created = this.#observed(policy, owner);
    return this.update(ctx, owner, created, desired, diffProfilePolicy(desired, created.state));
  }

  async update(ctx: DriverContext, owner: Owner, observed: Observed<ProfilePolicyState>, desired: VnicProfileModel, _changes?: FieldChange[]): Promise<Observed<ProfilePolicyState>> {
    const id = observed.externalId;
    const s = observed.state;
    if (!s.tagged) await tagPolicy(this.#c, id, owner, ctx.signal);
    for (const [dir, want] of [
      ['egress', limitRule(desired.qos?.outbound)],
      ['ingress', limitRule(desired.qos?.inbound)],
    ] as const) {
      const [first, ...extra] = s.ruleIds[dir];
      for (const r of extra) await this.#deleteRule(ctx, id, r);
      const have = s[dir];
      const rule = want ? { max_kbps: want.maxKbps, max_burst_kbps: want.maxBurstKbps, direction: dir } : undefined;
      if (!rule) {
        if (first) await this.#deleteRule(ctx, id, first);
      } else if (!first) {
        await this.#c.request('POST', `/v2.0/qos/policies/${id}/bandwidth_limit_rules`, { body: { bandwidth_limit_rule: rule }, signal: ctx.signal });
      } else if (have?.maxKbps !== want!.maxKbps || have.maxBurstKbps !== want!.maxBurstKbps) {
        await this.#c.request('PUT', `/v2.0/qos/policies/${id}/bandwidth_limit_rules/${first}`, {
          body: { bandwidth_limit_rule: { max_kbps: rule.max_kbps, max_burst_kbps: rule.max_burst_kbps } },
          signal: ctx.signal,
        });
      }
    }
    const now = await this.#get(ctx, id);
    if (!now) throw new BackendError('Transient', `Neutron QoS policy ${id} vanished during the update`);
    return this.#observed(now, owner);
  }

  delete(ctx: DriverContext, observed: Observed<ProfilePolicyState>): Promise<void> {
    return deleteIfAny(this.#c, `qos/policies/${observed.externalId}`, ctx.signal);
  }

  #deleteRule(ctx: DriverContext, policy: string, rule: string): Promise<void> {
    return deleteIfAny(this.#c, `qos/policies/${policy}/bandwidth_limit_rules/${rule}`, ctx.signal);
  }

  #get(ctx: DriverContext, id: string): Promise<NeutronQosPolicy | undefined> {
    return getIfAny<NeutronQosPolicy>(this.#c, 'qos/policies', id, ctx.signal);
  }

  #observed(p: NeutronQosPolicy, owner: Owner): Observed<ProfilePolicyState> {
    return { externalId: p.id, state: normalizeProfilePolicy(p, owner), version: String(p.revision_number), owned: true };
  }
}

export const neutronDriverFactory: DriverFactory<'neutron'> = (config, deps) => new NeutronDriver(config, deps.log);

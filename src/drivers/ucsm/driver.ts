// The UCS Manager driver: for each network, the VLAN on the LAN cloud, a port profile carrying it
// (with its profile client), and the VLAN on the vNICs or vNIC templates of the hosts that carry the
// network. Reads come from one listing of netform's objects (a few class queries); writes from many
// reconciles are coalesced into few configConfMos requests. VnicProfiles: profiles.ts (ADR 17).
import type { Logger } from 'pino';
import { BackendError, terminal } from '../../api/errors.ts';
import type { DriverContext, DriverFactory, FieldChange, Observed, ObserveRequest, Owner, ProviderDriver, ResourceDriver, UcsmProviderConfig } from '../driver.ts';
import type { NetworkModel } from '../model.ts';
import { UcsmClient } from './client.ts';
import {
  checkVlan,
  diffNetwork,
  isManagedMembership,
  membershipDns,
  membershipMo,
  names,
  normalize,
  profileMo,
  vlanMo,
  type UcsmNetworkState,
  type UcsmOptions,
} from './mapping.ts';
import { UcsmProfiles } from './profiles.ts';
import { flatten, type Mo } from './xml.ts';

export interface UcsmDriverOptions {
  /** How long a listing serves re-checks. Default 10 s. */
  listingTtlMs?: number;
  /** How long a write waits for others to share its configConfMos. Default 25 ms. */
  batchWindowMs?: number;
  /** Largest number of top-level MOs in one configConfMos. Default 1000. */
  batchMax?: number;
}

interface Listing {
  startedAt: number;
  vlans: Map<string, Mo>;
  profiles: Map<string, Mo>;
  /** vnicEtherIf MOs named with the VLAN prefix, by VLAN name. */
  ifs: Map<string, Mo[]>;
}

interface Pending {
  mos: Mo[];
  resolve: (mos: Mo[]) => void;
  reject: (err: unknown) => void;
}

export class UcsmDriver implements ProviderDriver {
  readonly type = 'ucsm' as const;
  readonly client: UcsmClient;
  readonly networks: UcsmNetworks;
  readonly profiles: UcsmProfiles;

  constructor(config: UcsmProviderConfig, log: Logger, opts: UcsmDriverOptions = {}) {
    const c = config.credentials ?? {};
    if (!c.username || !c.password) throw terminal('a ucsm provider needs credentials with username and password');
    this.client = new UcsmClient({ endpoint: config.endpoint, username: c.username, password: c.password, tls: config.tls, timeoutMs: config.requestTimeoutMs, log });
    this.networks = new UcsmNetworks(this.client, config.options, opts);
    this.profiles = new UcsmProfiles(this.client, config.options);
  }

  async probe(ctx: DriverContext): Promise<{ version?: string }> {
    const sys = await this.client.resolveDn('sys', false, ctx.signal);
    if (!sys) throw new BackendError('Terminal', 'this UCS Manager has no topSystem (sys)');
    return { version: this.client.version ?? sys.attrs.name };
  }

  async close(): Promise<void> {
    await this.networks.flush();
    await this.client.close();
  }
}

export class UcsmNetworks implements ResourceDriver<NetworkModel, UcsmNetworkState> {
  readonly #c: UcsmClient;
  readonly #o: UcsmOptions;
  readonly #opts: UcsmDriverOptions;
  #listing: Promise<Listing> | undefined;
  readonly #lastWrite = new Map<string, number>();
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(client: UcsmClient, o: UcsmOptions, opts: UcsmDriverOptions) {
    this.#c = client;
    this.#o = o;
    this.#opts = opts;
  }

  // ---- reading ----

  async #list(signal: AbortSignal): Promise<Listing> {
    const ttl = this.#opts.listingTtlMs ?? 10_000;
    const cached = this.#listing ? await this.#listing.catch(() => undefined) : undefined;
    if (cached && Date.now() - cached.startedAt <= ttl) return cached;
    const startedAt = Date.now();
    const p = (async (): Promise<Listing> => {
      const esc = (s: string) => s.replace(/[.\\+*?^$()[\]{}|]/g, '\\$&');
      const [vlans, profiles, ifs] = await Promise.all([
        this.#c.resolveClass('fabricVlan', { op: 'wcard', classId: 'fabricVlan', property: 'name', value: `^${esc(this.#o.vlanNamePrefix)}` }, false, signal),
        this.#c.resolveClass('vnicProfile', { op: 'wcard', classId: 'vnicProfile', property: 'name', value: `^${esc(this.#o.portProfilePrefix)}` }, true, signal),
        this.#c.resolveClass('vnicEtherIf', { op: 'wcard', classId: 'vnicEtherIf', property: 'name', value: `^${esc(this.#o.vlanNamePrefix)}` }, false, signal),
      ]);
      const byIf = new Map<string, Mo[]>();
      for (const m of ifs) byIf.set(m.attrs.name!, [...(byIf.get(m.attrs.name!) ?? []), m]);
      return {
        startedAt,
        vlans: new Map(vlans.map((m) => [m.attrs.dn!, m])),
        profiles: new Map(profiles.map((m) => [m.attrs.dn!, m])),
        ifs: byIf,
      };
    })();
    this.#listing = p;
    p.catch(() => {
      if (this.#listing === p) this.#listing = undefined;
    });
    return p;
  }

  /** Direct queries for one network (after this driver wrote it, or for an import). */
  async #direct(model: NetworkModel, vlanDn: string, signal: AbortSignal): Promise<{ vlan?: Mo; profile?: Mo; ifs: Mo[] }> {
    const n = names(this.#o, model.name);
    const got = await this.#c.resolveDns([vlanDn, n.profileDn], true, signal);
    const vlan = got.get(vlanDn);
    const vlanName = vlan?.attrs.name ?? n.vlan;
    const ifs = await this.#c.resolveClass('vnicEtherIf', { op: 'eq', classId: 'vnicEtherIf', property: 'name', value: vlanName }, false, signal);
    const out: { vlan?: Mo; profile?: Mo; ifs: Mo[] } = { ifs };
    if (vlan) out.vlan = vlan;
    const profile = got.get(n.profileDn);
    if (profile) out.profile = profile;
    return out;
  }

  async observe(ctx: DriverContext, req: ObserveRequest<NetworkModel>): Promise<Observed<UcsmNetworkState> | undefined> {
    const n = names(this.#o, req.desired.name);
    if (req.import) {
      const dn = req.import.id ?? (req.import.name ? `fabric/lan/net-${req.import.name}` : n.vlanDn);
      const d = await this.#direct(req.desired, dn, ctx.signal);
      if (!d.vlan) return undefined;
      return this.#observed(req.owner, n, d.vlan, d.profile, d.ifs, false);
    }
    const written = this.#lastWrite.get(n.vlanDn) ?? -1;
    const l = await this.#list(ctx.signal);
    let vlan: Mo | undefined;
    let profile: Mo | undefined;
    let ifs: Mo[];
    if (written >= l.startedAt) {
      const d = await this.#direct(req.desired, n.vlanDn, ctx.signal);
      vlan = d.vlan;
      profile = d.profile;
      ifs = d.ifs;
    } else {
      vlan = l.vlans.get(n.vlanDn);
      profile = l.profiles.get(n.profileDn);
      ifs = l.ifs.get(n.vlan) ?? [];
    }
    if (!vlan && !profile) return undefined;
    return this.#observed(req.owner, n, vlan, profile, ifs, true);
  }

  #observed(owner: Owner, n: ReturnType<typeof names>, vlan: Mo | undefined, profile: Mo | undefined, ifs: Mo[], byName: boolean): Observed<UcsmNetworkState> {
    const mine = ifs.filter((m) => isManagedMembership(this.#o, m.attrs.dn!));
    const state = normalize(n, owner, vlan, profile ? { ...profile, children: flatten(profile.children) } : undefined, mine);
    if (profile && !state.profile!.ours && byName) {
      throw terminal(`UCSM port profile ${n.profileDn} exists and is not this network's (description "${state.profile!.descr}")`);
    }
    const externalIds: Record<string, string> = {};
    if (profile) externalIds.portProfile = n.profileDn;
    for (const m of state.memberships) externalIds[`member/${m}`] = m;
    // Owned: netform's names (the prefix) and, where there is one, the profile's marker.
    return { externalId: vlan?.attrs.dn ?? n.vlanDn, externalIds, state, owned: byName };
  }

  diff(desired: NetworkModel, observed: UcsmNetworkState): FieldChange[] {
    return diffNetwork(this.#o, desired, observed);
  }

  // ---- writing ----

  async create(ctx: DriverContext, owner: Owner, desired: NetworkModel): Promise<Observed<UcsmNetworkState>> {
    const vlan = checkVlan(desired.vlan, desired.name);
    const n = names(this.#o, desired.name);
    // `created,modified` is UCSM's upsert: an object an earlier attempt made is adopted, not duplicated.
    const mos = [
      vlanMo(n, vlan, 'created,modified'),
      profileMo(n, owner, this.#o, desired, 'created,modified'),
      ...membershipDns(this.#o, desired, n.vlan).map((dn) => membershipMo(dn, n.vlan, 'created,modified')),
    ];
    const back = await this.#submit(mos, n.vlanDn, ctx);
    return this.#fromReturned(owner, n, back);
  }

  async update(ctx: DriverContext, owner: Owner, observed: Observed<UcsmNetworkState>, desired: NetworkModel, changes: FieldChange[]): Promise<Observed<UcsmNetworkState>> {
    const vlan = checkVlan(desired.vlan, desired.name);
    const n = names(this.#o, desired.name);
    const mos: Mo[] = [];
    const paths = new Set(changes.map((c) => c.path.split('.')[0]));
    if (paths.has('vlan')) mos.push(vlanMo(n, vlan, observed.state.vlan ? 'modified' : 'created,modified'));
    if (paths.has('portProfile')) {
      const p = profileMo(n, owner, this.#o, desired, 'created,modified');
      // Drop our VLAN-less or foreign interfaces someone added, then put ours back.
      const extra = (observed.state.profile?.ifs ?? []).filter((i) => i.name !== n.vlan).map((i) => ({ classId: 'vnicEtherIf', attrs: { name: i.name, status: 'deleted', dn: `${n.profileDn}/if-${i.name}` }, children: [] }));
      p.children.push(...extra);
      mos.push(p);
    }
    if (paths.has('memberships')) {
      const want = new Set(membershipDns(this.#o, desired, n.vlan));
      const have = new Set(observed.state.memberships);
      for (const dn of want) if (!have.has(dn)) mos.push(membershipMo(dn, n.vlan, 'created,modified'));
      for (const dn of have) if (!want.has(dn)) mos.push({ classId: 'vnicEtherIf', attrs: { name: n.vlan, status: 'deleted', dn }, children: [] });
    }
    if (!mos.length) return observed;
    await this.#submit(mos, n.vlanDn, ctx);
    const d = await this.#direct(desired, n.vlanDn, ctx.signal);
    return this.#observed(owner, n, d.vlan, d.profile, d.ifs, true);
  }

  async delete(ctx: DriverContext, observed: Observed<UcsmNetworkState>): Promise<void> {
    const s = observed.state;
    const vlanDn = observed.externalId;
    const mos: Mo[] = [];
    for (const dn of s.memberships) mos.push({ classId: 'vnicEtherIf', attrs: { name: s.vlan?.name ?? '', status: 'deleted', dn }, children: [] });
    const profileDn = observed.externalIds?.portProfile;
    if (profileDn && s.profile?.ours) mos.push({ classId: 'vnicProfile', attrs: { name: s.profile.name, status: 'deleted', dn: profileDn }, children: [] });
    if (s.vlan) mos.push({ classId: 'fabricVlan', attrs: { name: s.vlan.name, status: 'deleted', dn: vlanDn }, children: [] });
    if (!mos.length) return;
    try {
      await this.#submit(mos, vlanDn, ctx);
    } catch (err) {
      if (!(err instanceof BackendError) || err.errorClass !== 'NotFound') throw err;
      // A UCSM that refuses to delete a missing MO (102) refuses the whole request, so one object
      // already gone would keep the others: delete what is still there, as read now.
      const left = await this.#c.resolveDns(mos.map((m) => m.attrs.dn!), false, ctx.signal);
      const rest = mos.filter((m) => left.has(m.attrs.dn!));
      if (!rest.length) return;
      try {
        await this.#submit(rest, vlanDn, ctx);
      } catch (again) {
        if (!(again instanceof BackendError) || again.errorClass !== 'NotFound') throw again;
      }
    }
  }

  #fromReturned(owner: Owner, n: ReturnType<typeof names>, back: Mo[]): Observed<UcsmNetworkState> {
    const all = flatten(back);
    const vlan = all.find((m) => m.attrs.dn === n.vlanDn);
    const profile = back.find((m) => m.attrs.dn === n.profileDn);
    const ifs = all.filter((m) => m.classId === 'vnicEtherIf' && m.attrs.name === n.vlan && m.attrs.status !== 'deleted');
    return this.#observed(owner, n, vlan, profile, ifs, true);
  }

  /**
   * Queues MOs for the next configConfMos; resolves with the MOs UCSM returned for them. Requests from
   * many reconciles within `batchWindowMs` share one request; when a shared request fails, each
   * part is sent on its own, so one bad network does not fail the others.
   */
  #submit(mos: Mo[], key: string, ctx: DriverContext): Promise<Mo[]> {
    this.#lastWrite.set(key, Date.now());
    return new Promise<Mo[]>((resolve, reject) => {
      this.#queue.push({ mos, resolve, reject });
      const max = this.#opts.batchMax ?? 1000;
      if (this.#queue.reduce((k, p) => k + p.mos.length, 0) >= max) void this.flush(ctx.signal);
      else this.#timer ??= setTimeout(() => void this.flush(ctx.signal), this.#opts.batchWindowMs ?? 25);
    });
  }

  /** Sends what is queued now. */
  async flush(signal?: AbortSignal): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const max = this.#opts.batchMax ?? 1000;
    while (this.#queue.length) {
      const batch: Pending[] = [];
      let size = 0;
      while (this.#queue.length && (batch.length === 0 || size + this.#queue[0]!.mos.length <= max)) {
        const p = this.#queue.shift()!;
        batch.push(p);
        size += p.mos.length;
      }
      await this.#send(batch, signal);
    }
  }

  async #send(batch: Pending[], signal?: AbortSignal): Promise<void> {
    try {
      const back = await this.#c.confMos(batch.flatMap((p) => p.mos), signal);
      const byDn = new Map(back.map((m) => [m.attrs.dn!, m]));
      for (const p of batch) p.resolve(p.mos.map((m) => byDn.get(m.attrs.dn!) ?? m));
    } catch (err) {
      if (batch.length === 1 || !(err instanceof BackendError) || err.errorClass === 'Transient') {
        for (const p of batch) p.reject(err);
        return;
      }
      // Find out whose it was: each part alone.
      for (const p of batch) await this.#send([p], signal);
    }
  }
}

export const ucsmDriverFactory: DriverFactory<'ucsm'> = (config, deps) => new UcsmDriver(config, deps.log);

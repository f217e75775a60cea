// The UCS Manager driver's VnicProfile resource (ADR 17): per profile on a network of this domain, a
// QoS policy org-root/ep-qos-nfq-… for its outbound limit and a port profile of its own carrying the
// network's VLAN and naming that policy. Profiles are few: every call is a direct query or one
// configConfMos, no listing and no batching.
import { BackendError, terminal } from '../../api/errors.ts';
import type { DriverContext, FieldChange, Observed, ObserveRequest, Owner, ResourceDriver } from '../driver.ts';
import type { VnicProfileModel } from '../model.ts';
import type { UcsmClient } from './client.ts';
import type { UcsmOptions } from './mapping.ts';
import { diffProfile, egressOf, normalizeProfile, policyMo, portProfileMo, profileNames, type UcsmProfileNames, type UcsmProfileState } from './profile-mapping.ts';
import type { Mo } from './xml.ts';

export class UcsmProfiles implements ResourceDriver<VnicProfileModel, UcsmProfileState> {
  readonly #c: UcsmClient;
  readonly #o: UcsmOptions;

  constructor(client: UcsmClient, o: UcsmOptions) {
    this.#c = client;
    this.#o = o;
  }

  /** Reads the profile's objects: by the recorded DN when there is one, and by their names. Never writes. */
  async #read(n: UcsmProfileNames, owner: Owner, signal: AbortSignal, externalId?: string): Promise<UcsmProfileState | undefined> {
    const byId = externalId && externalId !== n.portProfileDn && externalId.startsWith('fabric/lan/profiles/vnic-') ? externalId : undefined;
    const got = await this.#c.resolveDns([n.portProfileDn, n.policyDn, ...(byId ? [byId] : [])], true, signal);
    const profile = (byId ? got.get(byId) : undefined) ?? got.get(n.portProfileDn);
    const policy = got.get(n.policyDn);
    if (!profile && !policy) return undefined;
    const s = normalizeProfile(n, owner, profile, policy);
    // An object of netform's names (or at the DN netform recorded) with another marker is someone else's.
    if (s.profile && !s.profile.ours) throw terminal(`UCSM port profile ${s.profile.dn} exists and is not this VnicProfile's (description "${s.profile.descr}")`);
    if (s.policy && !s.policy.ours) throw terminal(`UCSM QoS policy ${s.policy.dn} exists and is not this VnicProfile's (description "${s.policy.descr}")`);
    return s;
  }

  #observed(n: UcsmProfileNames, s: UcsmProfileState): Observed<UcsmProfileState> {
    const externalIds: Record<string, string> = {};
    if (s.profile) externalIds.portProfile = s.profile.dn;
    if (s.policy) externalIds.qosPolicy = s.policy.dn;
    return { externalId: s.profile?.dn ?? n.portProfileDn, externalIds, state: s, owned: true };
  }

  async observe(ctx: DriverContext, req: ObserveRequest<VnicProfileModel>): Promise<Observed<UcsmProfileState> | undefined> {
    const n = profileNames(this.#o, req.owner, req.desired);
    const s = await this.#read(n, req.owner, ctx.signal, req.externalId);
    return s ? this.#observed(n, s) : undefined;
  }

  diff(desired: VnicProfileModel, observed: UcsmProfileState): FieldChange[] {
    return diffProfile(this.#o, desired, observed);
  }

  async #fresh(n: UcsmProfileNames, owner: Owner, signal: AbortSignal): Promise<Observed<UcsmProfileState>> {
    const s = await this.#read(n, owner, signal);
    if (!s?.profile) throw new BackendError('Transient', `UCSM port profile ${n.portProfileDn} is not there right after it was written`);
    return this.#observed(n, s);
  }

  async create(ctx: DriverContext, owner: Owner, desired: VnicProfileModel): Promise<Observed<UcsmProfileState>> {
    const n = profileNames(this.#o, owner, desired);
    // Objects of our names with another marker are refused here, before any upsert could overwrite them.
    const before = await this.#read(n, owner, ctx.signal);
    const vlan = await this.#c.resolveDn(n.vlanDn, false, ctx.signal);
    if (!vlan) throw new BackendError('Transient', `the VLAN ${n.vlanDn} of network ${desired.network} is not on UCS Manager yet`, { code: 'VlanMissing' });
    const egress = egressOf(desired.qos?.outbound);
    // One configConfMos of `created,modified` upserts on fixed DNs: a create retried after UCSM
    // committed (a crash, a lost answer) adopts what is there instead of duplicating it.
    const mos: Mo[] = [];
    if (egress) mos.push(policyMo(n, owner, egress, 'created,modified'));
    mos.push(portProfileMo(n, owner, this.#o, egress ? n.policy : '', 'created,modified'));
    if (!egress && before?.policy) mos.push(deleted('epqosDefinition', before.policy.dn));
    await this.#c.confMos(mos, ctx.signal);
    return this.#fresh(n, owner, ctx.signal);
  }

  async update(ctx: DriverContext, owner: Owner, observed: Observed<UcsmProfileState>, desired: VnicProfileModel, changes: FieldChange[]): Promise<Observed<UcsmProfileState>> {
    const n = profileNames(this.#o, owner, desired);
    const s = observed.state;
    const egress = egressOf(desired.qos?.outbound);
    const paths = new Set(changes.map((c) => c.path.split('.')[0]));
    const mos: Mo[] = [];
    // The policy before the port profile that names it; a policy no longer wanted after the port
    // profile stopped naming it.
    if (paths.has('qosPolicy') && egress) mos.push(policyMo(n, owner, egress, 'created,modified'));
    if (paths.has('portProfile')) {
      const p = portProfileMo(n, owner, this.#o, egress ? n.policy : '', 'created,modified');
      // A VLAN other than the network's (the profile moved to another network, or one added by hand) goes.
      for (const i of s.profile?.ifs ?? []) if (i.name !== n.vlan) p.children.push(deleted('vnicEtherIf', `${n.portProfileDn}/if-${i.name}`));
      mos.push(p);
    }
    if (paths.has('qosPolicy') && !egress && s.policy) mos.push(deleted('epqosDefinition', s.policy.dn));
    if (!mos.length) return observed;
    await this.#c.confMos(mos, ctx.signal);
    return this.#fresh(n, owner, ctx.signal);
  }

  async delete(ctx: DriverContext, observed: Observed<UcsmProfileState>): Promise<void> {
    const s = observed.state;
    const mos: Mo[] = [];
    if (s.profile?.ours) mos.push(deleted('vnicProfile', s.profile.dn));
    if (s.policy?.ours) mos.push(deleted('epqosDefinition', s.policy.dn));
    if (!mos.length) return;
    try {
      await this.#c.confMos(mos, ctx.signal);
    } catch (err) {
      if (!(err instanceof BackendError) || err.errorClass !== 'NotFound') throw err;
      // A UCSM that refuses to delete a missing MO (102) refuses the whole request: delete what is left.
      const left = await this.#c.resolveDns(mos.map((m) => m.attrs.dn!), false, ctx.signal);
      const rest = mos.filter((m) => left.has(m.attrs.dn!));
      if (!rest.length) return;
      try {
        await this.#c.confMos(rest, ctx.signal);
      } catch (again) {
        if (!(again instanceof BackendError) || again.errorClass !== 'NotFound') throw again;
      }
    }
  }
}

function deleted(classId: string, dn: string): Mo {
  return { classId, attrs: { status: 'deleted', dn }, children: [] };
}

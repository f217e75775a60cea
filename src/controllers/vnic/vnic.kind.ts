// VnicAttachment: once its network is Ready and its host exists, create the vNIC's port on every
// provider of the network that has per-vNIC objects; an unplugged vNIC keeps no port; on removal,
// delete (or orphan) them.
import { isReady } from '../../api/conditions.ts';
import { objectKey } from '../../api/kinds.ts';
import { vnicDeviceName } from '../../drivers/host-driver.ts';
import type { VnicModel } from '../../drivers/model.ts';
import { bindingsOf, defineKind } from '../runtime/kind.ts';
import { toVnicModel } from './vnic.model.ts';
import { macsOf, poolOf } from '../macpool/allocations.ts';
import type { MacAllocation } from '../../state/mac-allocator.ts';
import type { VnicProfile } from '../../api/kinds.ts';
import { effectiveProfile, profileOpenTo, profileQos, type EffectiveProfile } from '../vnicprofile/profile.effective.ts';
import { profileKeyOf } from '../vnicprofile/vnicprofile.kind.ts';

interface Resolved {
  /** The network's backend id on each of its providers. */
  networkIds: Map<string, string>;
  /** The MAC: the attachment's own, or the one its MacPool gave it; undefined lets the backend choose. */
  mac: string | undefined;
  /** The profile's own object on each provider that keeps one (Neutron: its QoS policy). */
  profileIds: Map<string, string>;
  profile: EffectiveProfile;
}

export const vnicKind = defineKind<'VnicAttachment', Resolved, VnicModel>({
  kind: 'VnicAttachment',

  keyFigure: (r) => (r.status.mac ? String(r.status.mac) : ''),

  references: (v) => [objectKey('Network', v.spec.network), objectKey('Host', v.spec.host), ...(v.spec.profileRef ? [profileKeyOf(v.metadata.namespace, v.spec)!] : [])],

  async prepare({ rt, key, object: vnic, rec }) {
    const netKey = objectKey('Network', vnic.spec.network);
    const netRec = rt.records.get(netKey);
    const waiting: string[] = [];
    if (!rt.store.get(netKey)) waiting.push(`Network ${vnic.spec.network} is not available`);
    else if (!rt.dryRun && !isReady(netRec?.status)) waiting.push(`Network ${vnic.spec.network} is not Ready`);
    if (!rt.store.get(objectKey('Host', vnic.spec.host))) waiting.push(`Host ${vnic.spec.host} is not available`);
    const networkIds = new Map<string, string>();
    for (const b of bindingsOf(netRec)) if (b.externalId) networkIds.set(b.name, b.externalId);
    // The profile: it must be on the vNIC's network and open to its namespace, and its own backend
    // objects must exist before a port points at them.
    const profileIds = new Map<string, string>();
    let profile: VnicProfile | undefined;
    const pkey = profileKeyOf(vnic.metadata.namespace, vnic.spec);
    if (pkey) {
      const ref = vnic.spec.profileRef!;
      profile = rt.store.get(pkey)?.object as VnicProfile | undefined;
      const ns = vnic.metadata.namespace ?? 'default';
      if (!profile) waiting.push(`VnicProfile ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} is not available`);
      else if (profile.spec.network !== vnic.spec.network) return { stalled: `VnicProfile ${ref.name} belongs to network ${profile.spec.network}, not ${vnic.spec.network}` };
      else if (!profileOpenTo(profile, ns)) return { stalled: `VnicProfile ${profile.metadata.namespace}/${ref.name} is not open to namespace ${ns}` };
      else {
        const profileRec = rt.records.get(pkey);
        if (profileQos(profile) && !rt.dryRun && !isReady(profileRec?.status)) waiting.push(`VnicProfile ${ref.name} is not Ready`);
        for (const b of bindingsOf(profileRec)) if (b.externalId) profileIds.set(b.name, b.externalId);
      }
    }
    if (waiting.length) return { waiting };
    // The MAC comes from the pool before anything exists anywhere: a refused MAC creates nothing.
    const got = await macsOf(rt).macFor(vnic);
    if ('waiting' in got) return { waiting: [got.waiting] };
    if ('refused' in got) return { stalled: got.refused };
    if (got.allocated && rt.dryRun) rt.plan.push({ object: key, target: 'netform', resource: 'mac', action: 'allocate', message: `MAC ${got.mac} from MacPool ${poolOf(rt, vnic)}` });
    if (got.mac) rec.status.mac = got.mac;
    return { value: { networkIds, mac: got.mac, profileIds, profile: effectiveProfile(rt.store.object('Network', vnic.spec.network), profile) } };
  },

  bindings: {
    resource: 'port',
    noun: 'vNIC',
    pick: (d) => d.vnics,
    targets: ({ rt, object: vnic }, resolved) =>
      (rt.store.object('Network', vnic.spec.network)?.spec.providerRefs ?? [])
        // Before the network exists on a provider (a dry run) there is no port to plan there.
        .filter((ref) => resolved?.networkIds.has(ref.name))
        .map((ref) => ({ provider: ref.name, deleting: !vnic.spec.plugged })),
    // Being removed: the MAC it last had.
    model: (vnic, rec, resolved, provider) =>
      resolved
        ? toVnicModel(vnic, resolved.networkIds.get(provider) ?? '', resolved.mac, resolved.profile, resolved.profileIds.get(provider))
        : toVnicModel(vnic, '', rec.status.mac as string | undefined),
    policy: (vnic) => ({
      managementPolicy: vnic.spec.managementPolicy,
      deletionPolicy: vnic.spec.deletionPolicy,
      allowReplace: true,
    }),
    report({ key, object: vnic, rec }, outcomes) {
      const facts = outcomes.find((o) => o.facts)?.facts as { mac?: string; addresses?: string[] } | undefined;
      const mac = facts?.mac ?? vnic.spec.mac?.toLowerCase();
      if (mac) rec.status.mac = mac;
      if (facts?.addresses) rec.status.addresses = facts.addresses;
      rec.status.deviceName = vnicDeviceName(key.slice('VnicAttachment/'.length));
    },
  },

  /** Its MAC goes back to whichever pool holds it (the host or cluster that named the pool may be gone). */
  async removed(rt, rec) {
    if (rt.dryRun) return;
    const me = `${rec.namespace ?? 'default'}/${rec.name}`;
    for (const r of rt.records.list()) {
      if (r.kind === 'MacPool' && ((r.status.allocations as MacAllocation[] | undefined) ?? []).some((a) => a.attachment === me)) await macsOf(rt).release(r.name, me);
    }
  },
});

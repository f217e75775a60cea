// VnicAttachment: once its network (and profile) is Ready and its host exists, create the vNIC's port
// on every provider of the network that has per-vNIC objects; an unplugged vNIC keeps its port (only
// the host's device goes); on removal, delete (or orphan) them.
import { securityGroupIdsOn, securityGroupKeysOf } from '../secgroup/secgroup.kind.ts';
import { manualProvider } from '../network/network.kind.ts';
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
import type { HostReport } from '../../drivers/host-driver.ts';
import { capacityProblem } from '../placement/capacity.ts';
import { BINDING_LABEL } from '../../state/templates.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { ObjectRecord } from '../../state/records.ts';
import type { VnicAttachment } from '../../api/kinds.ts';

/** A migration under way: the source keeps its device until the destination has plugged it. */
export interface Migration {
  from: string;
  to: string;
  /** When the phase began; a report older than this does not count. */
  since: string;
  /** plugging: the destination has not plugged and reported yet, the ports stay bound to the source;
   *  releasing: the ports follow the destination, the source keeps the device until the VM there lets
   *  it go (HostVnicModel.departing) and reports it gone. */
  phase: 'plugging' | 'releasing';
}

/** One move of a vNIC, as its status records it. */
export interface Move {
  type: 'network' | 'host';
  from: string;
  to: string;
  time: string;
}

const MOVES_KEPT = 10;

interface Resolved {
  /** The network's backend id on each of its providers. */
  networkIds: Map<string, string>;
  /** The network's secondary ids on each of its providers (`subnet/<name>`: a subnet's id). */
  networkSubIds: Map<string, Record<string, string>>;
  /** The MAC: the attachment's own, or the one its MacPool gave it; undefined lets the backend choose. */
  mac: string | undefined;
  /** The profile's own object on each provider that keeps one (Neutron: its QoS policy). */
  profileIds: Map<string, string>;
  profile: EffectiveProfile;
  /** The ids of its security groups on each provider, when it (or its profile) names some. */
  groupIds?: Map<string, string[]>;
}

export const vnicKind = defineKind<'VnicAttachment', Resolved, VnicModel>({
  kind: 'VnicAttachment',

  keyFigure: (r) => (r.status.mac ? String(r.status.mac) : ''),

  // A VmNetworkBinding reports the state of the attachments it expanded into.
  notifies: (v) => (v.metadata.labels?.[BINDING_LABEL] ? [objectKey('VmNetworkBinding', v.metadata.labels[BINDING_LABEL], v.metadata.namespace)] : []),

  references: (v) => [
    objectKey('Network', v.spec.network),
    objectKey('Host', v.spec.host),
    ...(v.spec.profileRef ? [profileKeyOf(v.metadata.namespace, v.spec)!] : []),
    ...securityGroupKeysOf(v.metadata.namespace, v.spec),
  ],

  async prepare({ rt, key, object: vnic, rec }) {
    const netKey = objectKey('Network', vnic.spec.network);
    const netRec = rt.records.get(netKey);
    const waiting: string[] = [];
    if (!rt.store.get(netKey)) waiting.push(`Network ${vnic.spec.network} is not available`);
    else if (!rt.dryRun && !isReady(netRec?.status)) waiting.push(`Network ${vnic.spec.network} is not Ready`);
    if (!rt.store.get(objectKey('Host', vnic.spec.host))) waiting.push(`Host ${vnic.spec.host} is not available`);
    const networkIds = new Map<string, string>();
    const networkSubIds = new Map<string, Record<string, string>>();
    for (const b of bindingsOf(netRec)) {
      if (b.externalId) networkIds.set(b.name, b.externalId);
      networkSubIds.set(b.name, b.externalIds ?? {});
    }
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
    // Its security groups (its own, else its profile's) on each provider: they must exist there first.
    let groupIds = new Map<string, string[]>();
    const groupRefs = vnic.spec.securityGroups ?? profile?.spec.securityGroups;
    if (groupRefs) {
      const groups = securityGroupIdsOn(rt, vnic.metadata.namespace ?? 'default', groupRefs, bindingsOf(netRec).map((b) => b.name));
      groupIds = groups.ids;
      waiting.push(...groups.waiting);
    }
    // A dynamic vNIC on the host's VIC, where the network needs one: refused before anything is made.
    const full = capacityProblem(rt, key, vnic.spec.host, vnic.spec.network, vnic.spec.plugged);
    if (full) return { stalled: full, stalledReason: 'InsufficientCapacity' };
    const migrating = migrationWait(rt, vnic, rec);
    if (migrating) waiting.push(migrating);
    if (waiting.length) return { waiting };
    // The MAC comes from the pool before anything exists anywhere: a refused MAC creates nothing.
    const got = await macsOf(rt).macFor(vnic);
    if ('waiting' in got) return { waiting: [got.waiting] };
    if ('refused' in got) return { stalled: got.refused };
    if (got.allocated && rt.dryRun) rt.plan.push({ object: key, target: 'netform', resource: 'mac', action: 'allocate', message: `MAC ${got.mac} from MacPool ${poolOf(rt, vnic)}` });
    if (got.mac) rec.status.mac = got.mac;
    return {
      value: { networkIds, networkSubIds, mac: got.mac, profileIds, profile: effectiveProfile(rt.store.object('Network', vnic.spec.network), profile), ...(groupRefs ? { groupIds } : {}) },
    };
  },

  // Held for approval when a provider of its network holds its objects' changes (Provider approval Manual).
  approval: ({ rt, object: vnic }) => manualProvider(rt, vnic.spec.network),

  bindings: {
    resource: 'port',
    noun: 'vNIC',
    pick: (d) => d.vnics,
    targets: ({ rt, object: vnic }, resolved) =>
      (rt.store.object('Network', vnic.spec.network)?.spec.providerRefs ?? [])
        // Before the network exists on a provider (a dry run) there is no port to plan there.
        .filter((ref) => resolved?.networkIds.has(ref.name))
        .map((ref) => ({ provider: ref.name })),
    // Being removed: the MAC it last had.
    model: (vnic, rec, resolved, provider) => {
      if (!resolved) return toVnicModel(vnic, '', rec.status.mac as string | undefined);
      const m = toVnicModel(vnic, resolved.networkIds.get(provider) ?? '', resolved.mac, resolved.profile, resolved.profileIds.get(provider), resolved.networkSubIds.get(provider));
      const groups = resolved.groupIds?.get(provider);
      if (groups) m.securityGroupIds = groups;
      return m;
    },
    policy: (vnic) => ({
      managementPolicy: vnic.spec.managementPolicy,
      deletionPolicy: vnic.spec.deletionPolicy,
      allowReplace: true,
    }),
    report({ rt, key, object: vnic, rec }, outcomes) {
      const facts = outcomes.find((o) => o.facts)?.facts as { mac?: string; addresses?: string[] } | undefined;
      const mac = facts?.mac ?? vnic.spec.mac?.toLowerCase();
      if (mac) rec.status.mac = mac;
      if (facts?.addresses) rec.status.addresses = facts.addresses;
      rec.status.deviceName = vnicDeviceName(key.slice('VnicAttachment/'.length));
      // Where the ports now are: a change of either is a move done.
      if (!rt.dryRun && outcomes.every((o) => o.done && !o.error)) settleMoves(rt, vnic, rec);
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

/**
 * Whether the vNIC waits for a migration: its ports are bound to another host than the spec names,
 * and its device is plugged, so the destination host must plug it and report before the ports follow
 * (make-before-break). Records the migration in status (the source host's agent keeps its device
 * while it is there). Undefined: nothing to wait for.
 */
function migrationWait(rt: Runtime, vnic: VnicAttachment, rec: ObjectRecord): string | undefined {
  const from = rec.status.host as string | undefined;
  const to = vnic.spec.host;
  let m = rec.status.migration as Migration | undefined;
  const device = vnicDeviceName(`${vnic.metadata.namespace ?? 'default'}/${vnic.metadata.name}`);
  if (m?.phase === 'releasing') {
    if (from === to) {
      // Done once the source reports the device gone (or the source host is gone).
      const source = rt.reports.get(objectKey('Host', m.from)) as HostReport | undefined;
      const released = !rt.store.get(objectKey('Host', m.from)) || (source && source.lastObservedTime >= m.since && !source.interfaces.some((i) => i.name === device));
      if (released && !rt.dryRun) delete rec.status.migration;
      return undefined;
    }
    m = undefined; // migrated on again: a new migration from where the ports are now
  }
  if (!from || from === to || !vnic.spec.plugged || rt.dryRun) {
    if (!rt.dryRun) delete rec.status.migration;
    return undefined;
  }
  if (!m || m.to !== to || m.from !== from) {
    m = { from, to, since: rt.now().toISOString(), phase: 'plugging' };
    rec.status.migration = m;
  }
  // The destination agent's last report (file mode: handed over in process; cluster mode: read back from the Host's status).
  const report = rt.reports.get(objectKey('Host', to)) as HostReport | undefined;
  // Plugged there: its device is in the destination's interface table, and the network is in sync.
  const plugged =
    report &&
    report.lastObservedTime >= m.since &&
    report.interfaces.some((i) => i.name === device) &&
    report.networks.some((n) => n.name === vnic.spec.network && n.inSync);
  return plugged ? undefined : `migrating from host ${from}: waiting for host ${to} to plug the vNIC and report`;
}

/** After the ports were brought to the spec: records a network or host move, and ends a migration. */
function settleMoves(rt: Runtime, vnic: VnicAttachment, rec: ObjectRecord): void {
  const moves = [...((rec.status.moves as Move[] | undefined) ?? [])];
  const time = rt.now().toISOString();
  const was = { network: rec.status.network as string | undefined, host: rec.status.host as string | undefined };
  if (was.network && was.network !== vnic.spec.network) moves.push({ type: 'network', from: was.network, to: vnic.spec.network, time });
  if (was.host && was.host !== vnic.spec.host) moves.push({ type: 'host', from: was.host, to: vnic.spec.host, time });
  if (moves.length) rec.status.moves = moves.slice(-MOVES_KEPT);
  const m = rec.status.migration as Migration | undefined;
  if (was.host && was.host !== vnic.spec.host && vnic.spec.plugged) {
    // The ports followed: the source lets go of the device once the VM there releases it.
    rec.status.migration = { from: was.host, to: vnic.spec.host, since: time, phase: 'releasing' } satisfies Migration;
  } else if (m?.phase !== 'releasing') delete rec.status.migration;
  rec.status.network = vnic.spec.network;
  rec.status.host = vnic.spec.host;
}

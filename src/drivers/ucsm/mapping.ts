// netform's network ⇄ UCS Manager objects: names under UCSM's rules, the MOs to create, the observed
// state, and the diff. Pure.
import { createHash } from 'node:crypto';
import { BackendError } from '../../api/errors.ts';
import { ownerDigest, type FieldChange, type Owner, type UcsmOptions } from '../driver.ts';
import type { NetworkModel } from '../model.ts';
import type { Mo } from './xml.ts';

/** The Provider's spec.ucsm as admitted (src/drivers/driver.ts). */
export type { UcsmOptions };

/** The vNICs of a service profile that carry the VLANs (the CRD's default, eth0 and eth1, is applied
 *  by admission). */
const vnicsOf = (o: UcsmOptions): readonly string[] => o.vnics;

const NAME_CHARS = /^[-.:_a-zA-Z0-9]+$/;

function hash(s: string, n: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

/** A name under UCSM's rules: the prefix and the network's name, shortened with a hash past `max`. */
export function ucsmName(prefix: string, network: string, max: number): string {
  const plain = `${prefix}${network}`;
  if (plain.length <= max && NAME_CHARS.test(plain)) return plain;
  const keep = Math.max(1, max - prefix.length - 7);
  return `${prefix}${network.replace(/[^-.:_a-zA-Z0-9]/g, '_').slice(0, keep)}-${hash(network, 6)}`;
}

export interface UcsmNames {
  vlan: string;
  vlanDn: string;
  profile: string;
  profileDn: string;
  profileIfDn: string;
  client: string;
  clientDn: string;
}

export function names(o: UcsmOptions, network: string): UcsmNames {
  const vlan = ucsmName(o.vlanNamePrefix, network, 32);
  const profile = ucsmName(o.portProfilePrefix, network, 31);
  const client = `nfcl-${hash(network, 11)}`;
  const profileDn = `fabric/lan/profiles/vnic-${profile}`;
  return {
    vlan,
    vlanDn: `fabric/lan/net-${vlan}`,
    profile,
    profileDn,
    profileIfDn: `${profileDn}/if-${vlan}`,
    client,
    clientDn: `${profileDn}/cl-${client}`,
  };
}

/** The marker in a port profile's description: the installation and the owner's digest. */
export function marker(owner: Owner): string {
  return `netform ${owner.instance} ${ownerDigest(owner)}`;
}

/** VLAN ids UCSM accepts: 1-4042 and 4048-4093, minus the default reserved block 3915-4042. */
export function checkVlan(vlan: number | undefined, network: string): number {
  if (vlan === undefined) throw new BackendError('Terminal', `network ${network} is untagged; a UCS Manager network needs a VLAN`, { code: 'InvalidVlan' });
  if (!Number.isInteger(vlan) || vlan < 1 || (vlan > 4042 && vlan < 4048) || vlan > 4093) {
    throw new BackendError('Terminal', `VLAN ${vlan} is outside UCS Manager's ranges (1-4042, 4048-4093)`, { code: 'InvalidVlan' });
  }
  if (vlan >= 3915 && vlan <= 4042) {
    throw new BackendError('Terminal', `VLAN ${vlan} is in UCS Manager's reserved block 3915-4042`, { code: 'InvalidVlan' });
  }
  return vlan;
}

/** The vNIC / template DNs that carry the network's VLAN for the hosts that carry the network. */
export function membershipDns(o: UcsmOptions, model: NetworkModel, vlanName: string): string[] {
  const out: string[] = [];
  const carrying = new Set(model.hosts ?? []);
  for (const h of o.hosts ?? []) {
    if (!carrying.has(h.host)) continue;
    if (h.serviceProfile) for (const v of vnicsOf(o)) out.push(`${h.serviceProfile}/ether-${v}/if-${vlanName}`);
    if (h.vnicTemplate) out.push(`${h.vnicTemplate}/if-${vlanName}`);
  }
  return [...new Set(out)].sort();
}

/** The vNICs and vNIC templates netform puts VLANs on: only interfaces under these count as its memberships
 *  (a VLAN someone put on another port profile or vNIC is never taken for netform's). */
export function isManagedMembership(o: UcsmOptions, dn: string): boolean {
  const parent = dn.slice(0, dn.lastIndexOf('/'));
  return (o.hosts ?? []).some((h) => (h.vnicTemplate !== undefined && parent === h.vnicTemplate) || (h.serviceProfile !== undefined && vnicsOf(o).some((v) => parent === `${h.serviceProfile}/ether-${v}`)));
}

export interface UcsmNetworkState {
  vlan?: { name: string; id: number };
  profile?: { name: string; descr: string; ours: boolean; qosPolicyName: string; ifs: { name: string; defaultNet: string }[]; client: boolean };
  /** vnicEtherIf MOs named after our VLAN outside the port profile (service-profile vNICs, templates). */
  memberships: string[];
}

export function vlanMo(n: UcsmNames, id: number, status: string): Mo {
  return {
    classId: 'fabricVlan',
    attrs: { name: n.vlan, id: String(id), sharing: 'none', defaultNet: 'no', compressionType: 'included', mcastPolicyName: '', pubNwName: '', policyOwner: 'local', status, dn: n.vlanDn },
    children: [],
  };
}

export function profileMo(n: UcsmNames, owner: Owner, o: UcsmOptions, model: NetworkModel, status: string): Mo {
  const attrs: Record<string, string> = {
    name: n.profile,
    descr: marker(owner),
    maxPorts: String(o.maxPorts),
    hostNwIOPerf: 'none',
    policyOwner: 'local',
    qosPolicyName: model.qos?.maxRateKbps !== undefined && o.qosPolicy ? o.qosPolicy : '',
    status,
    dn: n.profileDn,
  };
  return {
    classId: 'vnicProfile',
    attrs,
    children: [
      { classId: 'vnicEtherIf', attrs: { name: n.vlan, defaultNet: 'yes', dn: n.profileIfDn }, children: [] },
      { classId: 'vmVnicProfCl', attrs: { name: n.client, orgPath: '.*', swName: '.*', dcName: '.*', policyOwner: 'local', dn: n.clientDn }, children: [] },
    ],
  };
}

export function membershipMo(dn: string, vlanName: string, status: string): Mo {
  return { classId: 'vnicEtherIf', attrs: { name: vlanName, defaultNet: 'no', status, dn }, children: [] };
}

/** Normalizes the MOs UCSM holds for one network (from a listing or direct queries). */
export function normalize(n: UcsmNames, owner: Owner, vlan: Mo | undefined, profile: Mo | undefined, memberships: readonly Mo[]): UcsmNetworkState {
  const s: UcsmNetworkState = { memberships: memberships.map((m) => m.attrs.dn!).filter((dn) => !dn.startsWith(`${n.profileDn}/`)).sort() };
  if (vlan) s.vlan = { name: vlan.attrs.name ?? n.vlan, id: Number(vlan.attrs.id) };
  if (profile) {
    s.profile = {
      name: profile.attrs.name ?? n.profile,
      descr: profile.attrs.descr ?? '',
      ours: (profile.attrs.descr ?? '') === marker(owner),
      qosPolicyName: profile.attrs.qosPolicyName ?? '',
      ifs: profile.children.filter((c) => c.classId === 'vnicEtherIf').map((c) => ({ name: c.attrs.name ?? '', defaultNet: c.attrs.defaultNet ?? 'no' })).sort((a, b) => (a.name < b.name ? -1 : 1)),
      client: profile.children.some((c) => c.classId === 'vmVnicProfCl'),
    };
  }
  return s;
}

/** What differs on UCSM. The VLAN id is writable on UCSM (a renumbering is an update). */
export function diffNetwork(o: UcsmOptions, model: NetworkModel, s: UcsmNetworkState): FieldChange[] {
  const n = names(o, model.name);
  const out: FieldChange[] = [];
  if (!s.vlan) out.push({ path: 'vlan', to: model.vlan });
  else if (s.vlan.id !== model.vlan) out.push({ path: 'vlan.id', from: s.vlan.id, to: model.vlan });
  if (!s.profile) out.push({ path: 'portProfile', to: n.profile });
  else {
    const ifs = s.profile.ifs.map((i) => `${i.name}:${i.defaultNet}`).join(',');
    if (ifs !== `${n.vlan}:yes`) out.push({ path: 'portProfile.vlans', from: ifs || 'none', to: `${n.vlan}:yes` });
    if (!s.profile.client) out.push({ path: 'portProfile.client', to: n.client });
    const qos = model.qos?.maxRateKbps !== undefined && o.qosPolicy ? o.qosPolicy : '';
    if (s.profile.qosPolicyName !== qos) out.push({ path: 'portProfile.qosPolicy', from: s.profile.qosPolicyName, to: qos });
  }
  const want = membershipDns(o, model, n.vlan).join(',');
  const have = s.memberships.join(',');
  if (want !== have) out.push({ path: 'memberships', from: s.memberships, to: membershipDns(o, model, n.vlan) });
  return out;
}

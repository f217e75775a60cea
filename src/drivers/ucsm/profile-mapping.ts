// netform's VnicProfile ⇄ UCS Manager objects (ADR 17): a QoS policy (epqosDefinition with its
// epqosEgress) for the profile's outbound limit, and a port profile of its own carrying the network's
// VLAN and naming that policy. Names, the MOs to send, the observed state, and the diff. Pure.
import { createHash } from 'node:crypto';
import { ownerDigest, type FieldChange, type Owner, type UcsmOptions } from '../driver.ts';
import type { VnicProfileModel, VnicRate } from '../model.ts';
import { marker, names, ucsmName } from './mapping.ts';
import type { Mo } from './xml.ts';

/** UCSM's egress rate range, kbps (ucsmsdk meta: "line-rate" or 8-100000000). */
export const MIN_RATE_KBPS = 8;
export const MAX_RATE_KBPS = 100_000_000;
/** UCSM's egress burst range is 0-65535 BYTES. */
export const MAX_BURST_BYTES = 65_535;
/** The burst when the profile gives none: what UCSM shows for a new QoS policy (assumed, ADR 17). */
export const DEFAULT_BURST_BYTES = 10_240;

export interface UcsmProfileNames {
  /** The network's VLAN name (what the port profile's vnicEtherIf names). */
  vlan: string;
  vlanDn: string;
  portProfile: string;
  portProfileDn: string;
  ifDn: string;
  client: string;
  clientDn: string;
  /** The QoS policy: `nfq-` and 12 hex of the owner's digest (16 characters, UCSM's limit). */
  policy: string;
  policyDn: string;
  egressDn: string;
}

export function profileNames(o: UcsmOptions, owner: Owner, model: VnicProfileModel): UcsmProfileNames {
  // `<ns>:<name>`: ':' never occurs in a Network's name, so this never meets a network's port profile.
  const key = model.name.replace('/', ':');
  const portProfile = ucsmName(o.portProfilePrefix, key, 31);
  const portProfileDn = `fabric/lan/profiles/vnic-${portProfile}`;
  const net = names(o, model.network);
  const client = `nfcl-${createHash('sha256').update(key).digest('hex').slice(0, 11)}`;
  const policy = `nfq-${ownerDigest(owner, 12)}`;
  const policyDn = `org-root/ep-qos-${policy}`;
  return {
    vlan: net.vlan,
    vlanDn: net.vlanDn,
    portProfile,
    portProfileDn,
    ifDn: `${portProfileDn}/if-${net.vlan}`,
    client,
    clientDn: `${portProfileDn}/cl-${client}`,
    policy,
    policyDn,
    egressDn: `${policyDn}/egress`,
  };
}

/** The egress settings UCSM gets for one direction's limit. */
export interface Egress {
  rate: string;
  burst: string;
  prio: string;
  hostControl: string;
}

/**
 * UCSM's egress policy for the profile's OUTBOUND limit (traffic from the VM: what the vNIC sends).
 * The rate is clamped to UCSM's 8-100000000 kbps; the burst is kilobits → bytes (×125) capped at
 * 65535; UCSM has no peak rate. No outbound limit: no policy (UCSM cannot limit traffic towards the
 * vNIC with it).
 */
export function egressOf(r: VnicRate | undefined): Egress | undefined {
  if (!r) return undefined;
  const rate = Math.min(MAX_RATE_KBPS, Math.max(MIN_RATE_KBPS, Math.round(r.averageKbps)));
  const burst = r.burstKb === undefined ? DEFAULT_BURST_BYTES : Math.min(MAX_BURST_BYTES, Math.max(0, Math.round(r.burstKb * 125)));
  return { rate: String(rate), burst: String(burst), prio: 'best-effort', hostControl: 'none' };
}

export function policyMo(n: UcsmProfileNames, owner: Owner, e: Egress, status: string): Mo {
  return {
    classId: 'epqosDefinition',
    attrs: { name: n.policy, descr: marker(owner), policyOwner: 'local', status, dn: n.policyDn },
    children: [{ classId: 'epqosEgress', attrs: { rate: e.rate, burst: e.burst, prio: e.prio, hostControl: e.hostControl, dn: n.egressDn }, children: [] }],
  };
}

export function portProfileMo(n: UcsmProfileNames, owner: Owner, o: UcsmOptions, qosPolicyName: string, status: string): Mo {
  return {
    classId: 'vnicProfile',
    attrs: {
      name: n.portProfile,
      descr: marker(owner),
      maxPorts: String(o.maxPorts),
      hostNwIOPerf: 'none',
      policyOwner: 'local',
      qosPolicyName,
      status,
      dn: n.portProfileDn,
    },
    children: [
      { classId: 'vnicEtherIf', attrs: { name: n.vlan, defaultNet: 'yes', dn: n.ifDn }, children: [] },
      { classId: 'vmVnicProfCl', attrs: { name: n.client, orgPath: '.*', swName: '.*', dcName: '.*', policyOwner: 'local', dn: n.clientDn }, children: [] },
    ],
  };
}

export interface UcsmProfileState {
  /** The name this owner's QoS policy has on UCSM (whether or not it exists). */
  policyName: string;
  profile?: { dn: string; name: string; descr: string; ours: boolean; maxPorts: string; qosPolicyName: string; ifs: { name: string; defaultNet: string }[]; client: boolean };
  policy?: { dn: string; name: string; descr: string; ours: boolean; egress?: Egress };
}

/** Normalizes the port profile and the policy as UCSM returned them (hierarchical: with children). */
export function normalizeProfile(n: UcsmProfileNames, owner: Owner, profile: Mo | undefined, policy: Mo | undefined): UcsmProfileState {
  const s: UcsmProfileState = { policyName: n.policy };
  const mark = marker(owner);
  if (profile) {
    s.profile = {
      dn: profile.attrs.dn ?? n.portProfileDn,
      name: profile.attrs.name ?? n.portProfile,
      descr: profile.attrs.descr ?? '',
      ours: (profile.attrs.descr ?? '') === mark,
      maxPorts: profile.attrs.maxPorts ?? '',
      qosPolicyName: profile.attrs.qosPolicyName ?? '',
      ifs: profile.children
        .filter((c) => c.classId === 'vnicEtherIf')
        .map((c) => ({ name: c.attrs.name ?? '', defaultNet: c.attrs.defaultNet ?? 'no' }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      client: profile.children.some((c) => c.classId === 'vmVnicProfCl'),
    };
  }
  if (policy) {
    s.policy = { dn: policy.attrs.dn ?? n.policyDn, name: policy.attrs.name ?? n.policy, descr: policy.attrs.descr ?? '', ours: (policy.attrs.descr ?? '') === mark };
    const e = policy.children.find((c) => c.classId === 'epqosEgress');
    if (e) s.policy.egress = { rate: e.attrs.rate ?? '', burst: e.attrs.burst ?? '', prio: e.attrs.prio ?? '', hostControl: e.attrs.hostControl ?? '' };
  }
  return s;
}

/**
 * What differs on UCSM. Everything is mutable in place except the port profile's name (a changed
 * `portProfilePrefix`): UCSM names objects by their DN, so that is a replace.
 */
export function diffProfile(o: UcsmOptions, model: VnicProfileModel, s: UcsmProfileState): FieldChange[] {
  const key = model.name.replace('/', ':');
  const portProfile = ucsmName(o.portProfilePrefix, key, 31);
  const vlan = names(o, model.network).vlan;
  const egress = egressOf(model.qos?.outbound);
  const qosName = egress ? s.policyName : '';
  const out: FieldChange[] = [];
  if (!s.profile) out.push({ path: 'portProfile', to: portProfile });
  else {
    if (s.profile.name !== portProfile) out.push({ path: 'portProfile.name', from: s.profile.name, to: portProfile, immutable: true });
    const ifs = s.profile.ifs.map((i) => `${i.name}:${i.defaultNet}`).join(',');
    if (ifs !== `${vlan}:yes`) out.push({ path: 'portProfile.vlans', from: ifs || 'none', to: `${vlan}:yes` });
    if (!s.profile.client) out.push({ path: 'portProfile.client', to: true });
    if (s.profile.maxPorts !== String(o.maxPorts)) out.push({ path: 'portProfile.maxPorts', from: s.profile.maxPorts, to: String(o.maxPorts) });
    if (s.profile.qosPolicyName !== qosName) out.push({ path: 'portProfile.qosPolicy', from: s.profile.qosPolicyName, to: qosName });
  }
  if (egress) {
    if (!s.policy) out.push({ path: 'qosPolicy', to: s.policyName });
    else if (!s.policy.egress) out.push({ path: 'qosPolicy.egress', to: egress });
    else for (const k of ['rate', 'burst', 'prio', 'hostControl'] as const) if (s.policy.egress[k] !== egress[k]) out.push({ path: `qosPolicy.${k}`, from: s.policy.egress[k], to: egress[k] });
  } else if (s.policy) out.push({ path: 'qosPolicy', from: s.policy.name, to: 'none' });
  return out;
}

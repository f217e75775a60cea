// What a vNIC's profile amounts to: the VnicProfile's fields, each one left out taken from the
// network's defaults; a vNIC without a profile has the network's defaults alone (its implicit default
// profile, as in oVirt). Pure.
import type { Network, VnicProfile } from '../../api/kinds.ts';
import type { AddressPair, VnicQos, VnicRate } from '../../drivers/model.ts';

export interface EffectiveProfile {
  /** Bandwidth limits; undefined: none. */
  qos?: VnicQos;
  mirrored: boolean;
  portSecurity: boolean;
  allowedAddressPairs: AddressPair[];
}

/** The network's default limit: its qos applies to the traffic from the VM (Neutron's egress). */
export function networkQos(n: Network | undefined): VnicQos | undefined {
  const q = n?.spec.qos;
  if (q?.maxRateKbps === undefined) return undefined;
  const outbound: VnicRate = { averageKbps: q.maxRateKbps };
  if (q.maxBurstKbps) outbound.burstKb = q.maxBurstKbps;
  return { outbound };
}

/** The profile's own limits (a direction left out is not limited); undefined when it gives none. */
export function profileQos(p: VnicProfile): VnicQos | undefined {
  const q = p.spec.qos;
  if (!q || (!q.inbound && !q.outbound)) return undefined;
  const out: VnicQos = {};
  if (q.inbound) out.inbound = rate(q.inbound);
  if (q.outbound) out.outbound = rate(q.outbound);
  return out;
}

function rate(r: { averageKbps: number; peakKbps?: number; burstKb?: number }): VnicRate {
  const out: VnicRate = { averageKbps: r.averageKbps };
  if (r.peakKbps !== undefined) out.peakKbps = r.peakKbps;
  if (r.burstKb !== undefined) out.burstKb = r.burstKb;
  return out;
}

export function effectiveProfile(network: Network | undefined, profile: VnicProfile | undefined): EffectiveProfile {
  const qos = profile?.spec.qos ? profileQos(profile) : networkQos(network);
  const portSecurity = profile?.spec.portSecurity?.enabled ?? network?.spec.portSecurity ?? true;
  const out: EffectiveProfile = {
    mirrored: profile?.spec.portMirroring ?? network?.spec.portMirroring ?? false,
    portSecurity,
    allowedAddressPairs: portSecurity
      ? (profile?.spec.portSecurity?.allowedAddressPairs ?? []).map((a) => (a.macAddress ? { ipAddress: a.ipAddress, macAddress: a.macAddress.toLowerCase() } : { ipAddress: a.ipAddress }))
      : [],
  };
  if (qos) out.qos = qos;
  return out;
}

/** Whether a vNIC in `namespace` may use the profile. */
export function profileOpenTo(p: VnicProfile, namespace: string): boolean {
  const own = p.metadata.namespace ?? 'default';
  const allowed = p.spec.allowedNamespaces ?? [];
  return own === namespace || allowed.includes('*') || allowed.includes(namespace);
}

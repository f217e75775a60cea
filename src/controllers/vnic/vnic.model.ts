// From a VnicAttachment to the model drivers receive. Pure.
import type { VnicAttachment } from '../../api/kinds.ts';
import type { VnicModel } from '../../drivers/model.ts';
import type { EffectiveProfile } from '../vnicprofile/profile.effective.ts';

/**
 * `mac`: the attachment's MAC as resolved (its own, or its pool's); undefined lets the backend choose.
 * `profile`: what its profile amounts to (left out: port security on, nothing else — only for a vNIC
 * being removed, whose port's fields no longer matter); `profileExternalId`: the profile's object on
 * this provider; `networkSubIds`: the network's secondary ids there (its subnets' ids).
 */
export function toVnicModel(
  v: VnicAttachment,
  networkExternalId: string,
  mac: string | undefined = v.spec.mac?.toLowerCase(),
  profile?: EffectiveProfile,
  profileExternalId?: string,
  networkSubIds: Record<string, string> = {},
): VnicModel {
  const m: VnicModel = {
    name: `${v.metadata.namespace ?? 'default'}/${v.metadata.name}`,
    vmName: v.spec.vm.name,
    interfaceName: v.spec.interfaceName,
    host: v.spec.host,
    network: v.spec.network,
    networkExternalId,
    plugged: v.spec.plugged,
    linked: v.spec.linked,
    portSecurity: profile?.portSecurity ?? true,
    allowedAddressPairs: profile?.allowedAddressPairs ?? [],
  };
  if (profileExternalId) m.profileExternalId = profileExternalId;
  // Addresses where the provider carries the network's subnets (a provider without them gets none).
  const fixed = v.spec.fixedIps?.map((f) => ({ subnetId: networkSubIds[`subnet/${f.subnet}`], ipAddress: f.ipAddress }));
  if (fixed && fixed.every((f) => f.subnetId)) m.fixedIps = fixed.map((f) => (f.ipAddress ? { subnetId: f.subnetId!, ipAddress: f.ipAddress } : { subnetId: f.subnetId! }));
  if (v.spec.vm.uid) m.vmUid = v.spec.vm.uid;
  if (mac) m.mac = mac;
  return m;
}

// From a ServiceEndpoint to the model drivers receive. Pure.
import { formatAddress, parseAddress, parsePrefix } from '../../api/ip.ts';
import type { ServiceEndpoint } from '../../api/kinds.ts';
import type { AddressPair, ServiceEndpointModel } from '../../drivers/model.ts';

/** An address or a CIDR in its canonical form (as given when it is neither). */
export function canonicalAddressOrPrefix(text: string): string {
  if (text.includes('/')) return parsePrefix(text)?.canonical ?? text;
  const a = parseAddress(text);
  return a ? formatAddress(a) : text;
}

/**
 * `networkExternalId`: the network's id on this provider ('' for an endpoint being removed, whose
 * port is found by its recorded id); `networkSubIds`: the network's secondary ids there (its subnets'
 * ids, `subnet/<name>`); `securityGroupIds`: its groups' ids there, when it names some.
 */
export function toServiceEndpointModel(
  e: ServiceEndpoint,
  networkExternalId: string,
  networkSubIds: Record<string, string> = {},
  securityGroupIds?: string[],
): ServiceEndpointModel {
  const s = e.spec;
  const promiscuous = s.promiscuous ?? false;
  const m: ServiceEndpointModel = {
    name: `${e.metadata.namespace ?? 'default'}/${e.metadata.name}`,
    service: s.service,
    network: s.network,
    networkExternalId,
    promiscuous,
    // Admission refuses pairs with promiscuous; none are sent then (Neutron refuses them without port security).
    allowedAddressPairs: promiscuous ? [] : (s.allowedAddressPairs ?? []).map(pair),
  };
  if (s.description !== undefined) m.description = s.description;
  if (s.mac) m.mac = s.mac.toLowerCase();
  if (s.host) m.host = s.host;
  // Addresses where the provider carries the network's subnets (a provider without them gets none).
  const fixed = s.fixedIps?.map((f) => ({ subnetId: networkSubIds[`subnet/${f.subnet}`], ipAddress: f.ipAddress }));
  if (fixed && fixed.every((f) => f.subnetId)) m.fixedIps = fixed.map((f) => (f.ipAddress ? { subnetId: f.subnetId!, ipAddress: f.ipAddress } : { subnetId: f.subnetId! }));
  if (securityGroupIds && !promiscuous) m.securityGroupIds = securityGroupIds;
  return m;
}

function pair(a: { ipAddress: string; macAddress?: string }): AddressPair {
  const out: AddressPair = { ipAddress: canonicalAddressOrPrefix(a.ipAddress) };
  if (a.macAddress) out.macAddress = a.macAddress.toLowerCase();
  return out;
}

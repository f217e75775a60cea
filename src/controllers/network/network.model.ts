// From a Network's spec to the backend-neutral model drivers receive. Pure.
import type { Network } from '../../api/kinds.ts';
import { parsePrefix } from '../../api/ip.ts';
import type { NetworkControlField, NetworkModel, SubnetModel } from '../../drivers/model.ts';

/** The spec fields that are netform's business; the rest go to the drivers unchanged. */
const CONTROL_FIELDS: readonly NetworkControlField[] = ['providerRefs', 'vlan', 'subnets', 'managementPolicy', 'deletionPolicy', 'allowReplace', 'approval'];

export function toNetworkModel(n: Network, vlan: number | undefined, hosts?: readonly string[]): NetworkModel {
  const fields = structuredClone(n.spec) as Partial<Network['spec']>;
  for (const k of CONTROL_FIELDS) delete fields[k];
  const m: NetworkModel = {
    ...(fields as Omit<Network['spec'], NetworkControlField>),
    name: n.metadata.name,
    subnets: (n.spec.subnets ?? []).map((sub): SubnetModel => {
      const out: SubnetModel = {
        name: sub.name,
        cidr: parsePrefix(sub.cidr)?.canonical ?? sub.cidr,
        ipVersion: sub.ipVersion ?? parsePrefix(sub.cidr)?.version ?? 4,
        dhcp: sub.dhcp,
      };
      if (sub.gateway !== undefined) out.gateway = sub.gateway === 'none' ? null : sub.gateway;
      if (sub.allocationPools) out.allocationPools = sub.allocationPools.map((p) => ({ start: p.start, end: p.end }));
      if (sub.dnsServers) out.dnsServers = [...sub.dnsServers];
      if (sub.hostRoutes) out.hostRoutes = sub.hostRoutes.map((r) => ({ destination: r.destination, nexthop: r.nexthop }));
      if (sub.ipv6AddressMode) out.ipv6AddressMode = sub.ipv6AddressMode;
      if (sub.ipv6RaMode) out.ipv6RaMode = sub.ipv6RaMode;
      return out;
    }),
  };
  if (vlan !== undefined) m.vlan = vlan;
  if (hosts) m.hosts = [...hosts].sort();
  return m;
}

// From a Network's spec to the backend-neutral model drivers receive. Pure.
import type { Network } from '../../api/kinds.ts';
import { parsePrefix } from '../../api/ip.ts';
import type { NetworkModel, SubnetModel } from '../../drivers/model.ts';

export function toNetworkModel(n: Network, vlan: number | undefined, hosts?: readonly string[]): NetworkModel {
  const s = n.spec;
  const m: NetworkModel = {
    name: n.metadata.name,
    physicalNetwork: s.physicalNetwork,
    mtu: s.mtu,
    shared: s.shared,
    adminStateUp: s.adminStateUp,
    portSecurity: s.portSecurity,
    portMirroring: s.portMirroring,
    subnets: (s.subnets ?? []).map((sub): SubnetModel => {
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
  if (s.description !== undefined) m.description = s.description;
  if (vlan !== undefined) m.vlan = vlan;
  if (s.qos) m.qos = { ...s.qos };
  if (hosts) m.hosts = [...hosts].sort();
  return m;
}

// The desired state of one host, in the host driver's terms: from the Host, its Cluster, the Networks
// (with the VLANs they use) and the vNICs placed on the host to a HostModel. Which network rides which
// NIC or bond is decided here, once per pass (hostNetworks). Pure.
import type { Cluster, Host, Network } from '../../api/kinds.ts';
import type { HostBondModel, HostModel, HostNetworkModel, HostNicModel, HostRouterModel, HostVnicModel } from '../../drivers/host-driver.ts';
import { hostNetworks } from './host.model.ts';

export interface HostInputs {
  host: Host;
  cluster: Cluster | undefined;
  /** Every Network, by name. */
  networks: ReadonlyMap<string, Network>;
  /** The VLAN each network uses (fixed, or allocated from its pool); absent for a flat network, or a
   *  pool network that has no VLAN yet. */
  vlans: ReadonlyMap<string, number>;
  /** The vNICs placed on the host. */
  vnics: readonly HostVnicModel[];
  /** The Routers the host realizes. */
  routers?: readonly HostRouterModel[];
}

export function hostModel(i: HostInputs): HostModel {
  const { host } = i;
  const { placements, unplaced } = hostNetworks(host, i.cluster, i.networks);
  const networks: HostNetworkModel[] = [];
  for (const p of placements) {
    const net = i.networks.get(p.network);
    if (!net) continue;
    const n: HostNetworkModel = {
      name: p.network,
      interface: p.interface,
      mtu: net.spec.mtu,
    };
    const vlan = i.vlans.get(p.network);
    if (vlan !== undefined) n.vlan = vlan;
    else if (net.spec.vlan?.poolRef !== undefined) n.vlanPending = true;
    if (p.address) n.address = p.address;
    if (p.mirrorPort) n.mirrorPort = p.mirrorPort;
    networks.push(n);
  }
  const nics = (host.spec.nics ?? []).map((x) => {
    const nic: HostNicModel = { name: x.name };
    if (x.fabric) nic.fabric = x.fabric;
    if (x.mtu !== undefined) nic.mtu = x.mtu;
    return nic;
  });
  const bonds = (host.spec.bonds ?? []).map((x) => {
    const bond: HostBondModel = {
      name: x.name,
      mode: x.mode,
      members: [...x.members],
    };
    if (x.lacpRate) bond.lacpRate = x.lacpRate;
    if (x.miimonMs !== undefined) bond.miimonMs = x.miimonMs;
    if (x.fabric) bond.fabric = x.fabric;
    return bond;
  });
  return {
    name: host.metadata.name,
    syncPolicy: host.spec.syncPolicy,
    probes: (host.spec.probes ?? []).map((p) => ({ address: p.address })),
    defaultFabric: i.cluster?.spec.defaultFabric ?? 'linux-bridge',
    nics,
    bonds,
    networks,
    unplaced,
    vnics: i.vnics.map((v) => ({ ...v })),
    ...(i.routers?.length ? { routers: i.routers.map((r) => ({ ...r })) } : {}),
  };
}

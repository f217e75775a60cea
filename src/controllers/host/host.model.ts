// Which networks a host carries and on which interface. Pure; shared by the Host controller and the
// host agent.
import type { Cluster, Host, Network } from '../../api/kinds.ts';

export interface Placement {
  network: string;
  /** The NIC or bond that carries it. */
  interface: string;
  /** How the placement was made: named in the Host's spec, or a label match. */
  via: 'placement' | 'label';
  required: boolean;
  fabric: 'linux-bridge' | 'ovs';
  /** The host's own address on the network, if the spec gives one. */
  address?: string;
  /** The device that receives the network's mirrored traffic, if the spec names one. */
  mirrorPort?: string;
}

export interface HostNetworks {
  placements: Placement[];
  /** Required networks of the cluster that no NIC or bond carries. */
  unplaced: string[];
}

/** The networks of the host's cluster that ride the host's NICs and bonds. */
export function hostNetworks(host: Host, cluster: Cluster | undefined, networks: Pick<ReadonlyMap<string, Network>, 'get'>): HostNetworks {
  const attached = cluster?.spec.networks ?? [];
  const defaultFabric = cluster?.spec.defaultFabric ?? 'linux-bridge';
  const ifaces = new Map<string, { labels: string[]; fabric?: 'linux-bridge' | 'ovs'; physicalNetworks?: string[] }>();
  for (const n of host.spec.nics ?? []) ifaces.set(n.name, { labels: n.labels ?? [], fabric: n.fabric, physicalNetworks: n.physicalNetworks });
  for (const b of host.spec.bonds ?? []) ifaces.set(b.name, { labels: b.labels ?? [], fabric: b.fabric, physicalNetworks: b.physicalNetworks });
  /** Whether the interface is cabled to the network's physical network (one that declares none reaches every one). */
  const reaches = (iface: string, network: string) => {
    const physnets = ifaces.get(iface)?.physicalNetworks;
    const physnet = networks.get(network)?.spec.physicalNetwork;
    return !physnets || physnet === undefined || physnets.includes(physnet);
  };
  const enslaved = new Set((host.spec.bonds ?? []).flatMap((b) => b.members));
  const placements: Placement[] = [];
  const unplaced: string[] = [];
  for (const att of attached) {
    const explicit = (host.spec.networks ?? []).find((p) => p.name === att.name);
    // Never on an interface that cannot reach the network's physical network.
    let iface = explicit?.interface && reaches(explicit.interface, att.name) ? explicit.interface : undefined;
    let via: Placement['via'] = 'placement';
    if (!explicit) {
      const label = networks.get(att.name)?.spec.label;
      if (label) {
        iface = [...ifaces.entries()]
          .filter(([name, i]) => !enslaved.has(name) && i.labels.includes(label) && reaches(name, att.name))
          .map(([name]) => name)
          .sort(byNaturalName)[0];
        via = 'label';
      }
    }
    if (!iface) {
      if (att.required) unplaced.push(att.name);
      continue;
    }
    const p: Placement = { network: att.name, interface: iface, via, required: att.required, fabric: ifaces.get(iface)?.fabric ?? defaultFabric };
    if (explicit?.address) p.address = explicit.address;
    if (explicit?.mirrorPort) p.mirrorPort = explicit.mirrorPort;
    placements.push(p);
  }
  placements.sort((a, b) => (a.network < b.network ? -1 : 1));
  return { placements, unplaced: unplaced.sort() };
}

/** eth2 before eth10. */
function byNaturalName(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

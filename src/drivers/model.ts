// The backend-neutral desired state drivers receive. Controllers build these from admitted objects;
// drivers map them to their backend. Pure types.

/** A subnet as every backend sees it. */
export interface SubnetModel {
  name: string;
  cidr: string;
  ipVersion: 4 | 6;
  /** An address, or null for "no gateway"; undefined lets the backend choose. */
  gateway?: string | null;
  allocationPools?: { start: string; end: string }[];
  dnsServers?: string[];
  hostRoutes?: { destination: string; nexthop: string }[];
  dhcp: boolean;
  ipv6AddressMode?: string;
  ipv6RaMode?: string;
}

/** A network as every backend sees it; the VLAN is resolved (fixed or allocated). */
export interface NetworkModel {
  /** The netform object name. */
  name: string;
  description?: string;
  physicalNetwork: string;
  /** The VLAN id; undefined for an untagged (flat) network. */
  vlan?: number;
  mtu: number;
  shared: boolean;
  adminStateUp: boolean;
  portSecurity: boolean;
  qos?: { maxRateKbps?: number; maxBurstKbps?: number };
  portMirroring: boolean;
  subnets: SubnetModel[];
  /** The Hosts that carry the network (their clusters attach it and they place it), sorted. */
  hosts?: string[];
}

/** A VM vNIC as every backend sees it. */
export interface VnicModel {
  /** `<namespace>/<name>` of the VnicAttachment. */
  name: string;
  vmName: string;
  vmUid?: string;
  interfaceName: string;
  mac?: string;
  host: string;
  /** The network's own id on this provider (from the Network's status). */
  networkExternalId: string;
  network: string;
  plugged: boolean;
  linked: boolean;
}

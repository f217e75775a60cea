// The backend-neutral desired state drivers receive. Controllers build these from admitted objects;
// drivers map them to their backend. Pure types.
import type { NetworkSpec } from '../api/types.gen.ts';

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

/** The Network spec's fields that are netform's own business (references, policies, how the VLAN is
 *  chosen), not a backend's. Every other spec field reaches the drivers as it is. */
export type NetworkControlField = 'providerRefs' | 'vlan' | 'subnets' | 'managementPolicy' | 'deletionPolicy' | 'allowReplace' | 'approval';

/**
 * A network as every backend sees it: the spec's own fields (a field added to the Network CRD
 * arrives here by itself, typed, after `npm run gen`), with the VLAN resolved (fixed or allocated),
 * subnets canonical, and the Hosts that carry it.
 */
export interface NetworkModel extends Omit<NetworkSpec, NetworkControlField | 'external'> {
  /** The netform object name. */
  name: string;
  /** An external network (a router gateway's); undefined: no. */
  external?: boolean;
  /** The VLAN id; undefined for an untagged (flat) network. */
  vlan?: number;
  subnets: SubnetModel[];
  /** The Hosts that carry the network (their clusters attach it and they place it), sorted. */
  hosts?: string[];
}

/** A bandwidth limit in one direction. */
export interface VnicRate {
  /** Sustained rate, kilobits per second. */
  averageKbps: number;
  /** Peak rate, kilobits per second (at least the average); undefined: the average. */
  peakKbps?: number;
  /** Burst size, kilobits; undefined: the backend's default. */
  burstKb?: number;
}

/** A vNIC's bandwidth limits, from the VM's point of view. */
export interface VnicQos {
  /** Traffic to the VM. */
  inbound?: VnicRate;
  /** Traffic from the VM. */
  outbound?: VnicRate;
}

/** An address (or CIDR) a port may send from besides its own, with the MAC it may use. */
export interface AddressPair {
  ipAddress: string;
  /** Lower case; undefined: the port's own MAC. */
  macAddress?: string;
}

/**
 * An L3 router as a backend sees it: the networks and subnets resolved to the backend's ids (from the
 * Networks' bindings on the router's provider).
 */
export interface RouterModel {
  /** The Router's name (the backend object's name). */
  name: string;
  description?: string;
  adminStateUp: boolean;
  /** The external gateway; undefined: none. */
  gateway?: {
    /** The external network's backend id. */
    networkId: string;
    snat: boolean;
    /** A fixed gateway address, with the backend id of the external subnet it is on. */
    fixedIp?: { subnetId: string; ipAddress: string };
  };
  /** One interface per attached subnet, by the subnet's backend id (it takes the subnet's gateway address). Sorted. */
  interfaces: { subnetId: string }[];
  /** Static routes, sorted by destination (CIDRs and addresses canonical). */
  routes: { destination: string; nexthop: string }[];
}

/** One rule of a security group, canonical: what it lets through. */
export interface SecurityGroupRuleModel {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** tcp, udp, icmp, icmpv6 or a protocol number; undefined: any protocol. */
  protocol?: string;
  portRangeMin?: number;
  portRangeMax?: number;
  /** A CIDR (canonical) the peer is in; undefined with no remote group: anywhere. */
  remoteIpPrefix?: string;
  /** The backend id of the group the peer must be in. */
  remoteGroupId?: string;
  /** The peer must be in this same group (its id is not known before it exists). */
  remoteGroupSelf?: boolean;
}

/** A security group as a backend sees it: stateful filtering of the ports that use it. */
export interface SecurityGroupModel {
  /** `<namespace>/<name>` of the SecurityGroup. */
  name: string;
  description?: string;
  stateful: boolean;
  /** Exactly these rules (sorted); nothing else is let through. */
  rules: SecurityGroupRuleModel[];
}

/** A vNIC profile as backends with a per-profile object see it (a QoS policy on Neutron). */
export interface VnicProfileModel {
  /** `<namespace>/<name>` of the VnicProfile. */
  name: string;
  network: string;
  /** The profile's own limits; undefined: none (the vNICs keep their network's). */
  qos?: VnicQos;
}

/**
 * A service endpoint as backends with a port per endpoint see it: a non-VM device (a load balancer
 * VIP, a firewall or IDS appliance, an external router) plugged into a network like a vNIC.
 */
export interface ServiceEndpointModel {
  /** `<namespace>/<name>` of the ServiceEndpoint (the backend port's name). */
  name: string;
  /** The service's short name (`loadbalancer`, `firewall`…): Neutron's device_owner `netform:<service>`. */
  service: string;
  description?: string;
  network: string;
  /** The network's own id on this provider (from the Network's status). */
  networkExternalId: string;
  /** Lower case; undefined lets the backend choose. */
  mac?: string;
  /** The Host whose device it is; undefined: bound to none. */
  host?: string;
  /** The port's addresses, one per entry, by the subnet's id on this provider; an entry without an
   *  address is one the backend allocates (and keeps). Undefined: the backend's default allocation. */
  fixedIps?: { subnetId: string; ipAddress?: string }[];
  /** No anti-spoofing and no filtering: the port may send and receive for any address. */
  promiscuous: boolean;
  /** Further addresses (canonical) the port may send from; empty when promiscuous. */
  allowedAddressPairs: AddressPair[];
  /** The backend ids of the security groups that filter the port (never with promiscuous);
   *  undefined: the backend's default. */
  securityGroupIds?: string[];
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
  /** The vNIC's profile's object on this provider (a QoS policy on Neutron); undefined: none, the
   *  network's defaults apply. */
  profileExternalId?: string;
  /** Anti-spoofing on the port (the profile's, or the network's default). */
  portSecurity: boolean;
  /** Further addresses the port may send from (empty unless portSecurity). */
  allowedAddressPairs: AddressPair[];
  /** The backend ids of the security groups that filter the port (with portSecurity); undefined: the
   *  backend's default. */
  securityGroupIds?: string[];
  /** The port's addresses, one per entry, by the subnet's id on this provider; an entry without an
   *  address is one the backend allocates (and keeps). Undefined: the backend's default allocation. */
  fixedIps?: { subnetId: string; ipAddress?: string }[];
}

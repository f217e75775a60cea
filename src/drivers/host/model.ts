// The host agent's model: what a host should look like (DesiredHost), what it looks like
// (ObservedHost), and the names netform gives the devices it creates. Pure.
import { createHash } from 'node:crypto';
import { vnicDeviceName } from '../host-driver.ts';

/** Kernel device group of every device netform creates (so they can be found and removed in bulk). */
export const NETFORM_GROUP = 28262; // "nf"
/** Group a device is moved to right before a bulk delete (`ip link del group`). */
export const DOOMED_GROUP = 28263;
/** ifalias prefix marking a device netform created: `netform:<network or purpose>`. */
export const ALIAS_PREFIX = 'netform:';
/** OVS external_ids key marking the ports netform created, and naming the network they carry. */
export const OVS_OWNER_KEY = 'netform-owner';
export const OVS_NETWORK_KEY = 'netform-network';

export type Fabric = 'linux-bridge' | 'ovs';

/** Interface names the kernel and netform accept: 1-15 of [A-Za-z0-9_.-], not starting with '-'. */
export const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

export function isIfname(name: string): boolean {
  return IFNAME.test(name) && name !== '.' && name !== '..';
}

function shortHash(s: string, n: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

/** The bridge of a network on the linux-bridge fabric: the network's name when it fits, else a stable short form. */
export function bridgeName(network: string): string {
  return network.length <= 15 ? network : `${network.slice(0, 10)}-${shortHash(network, 4)}`;
}

/** The VLAN sub-interface of `parent` for `vlan`: `ens3.100`, or a stable short form when that is too long. */
export function vlanDeviceName(parent: string, vlan: number): string {
  const plain = `${parent}.${vlan}`;
  if (plain.length <= 15) return plain;
  return `v${vlan}-${shortHash(parent, 14 - String(vlan).length - 1)}`.slice(0, 15);
}

/** The OVS internal port carrying the host's own address on a network of the ovs fabric. */
export function internalPortName(network: string): string {
  return `nfi-${shortHash(network, 11)}`;
}

/** The host device (tap) of a VM vNIC: part of the host-driver contract (drivers/host-driver.ts). */
export { vnicDeviceName };

// ---- desired ---------------------------------------------------------------------------------------

export interface BondSpec {
  mode: string;
  members: string[];
  lacpRate?: 'slow' | 'fast';
  miimonMs?: number;
}

/** One kernel device as it should be. */
export interface DesiredLink {
  name: string;
  /** nic: exists already (named in the Host spec), netform only configures it; the others netform creates. */
  kind: 'nic' | 'bond' | 'vlan' | 'bridge' | 'tap';
  /** VLAN sub-interfaces: the device they ride on, and the id. */
  parent?: string;
  vlanId?: number;
  bond?: BondSpec;
  /** The bridge or bond this device is enslaved to (undefined: none). */
  master?: string;
  mtu?: number;
  /** What it is for, stored in the ifalias of devices netform creates. */
  purpose?: string;
  /** Keep the device administratively down (an unlinked vNIC). Default: up. */
  down?: boolean;
  /** Restore only: the MAC a re-created device must get back. */
  mac?: string;
}

/** One OVS port on the integration bridge as it should be. */
export interface DesiredOvsPort {
  name: string;
  /** system: a kernel device (NIC, tap); internal: an OVS-made port; bond: several NICs. */
  type: 'system' | 'internal' | 'bond';
  tag?: number;
  trunks?: number[];
  bondMembers?: string[];
  bondMode?: string;
  lacp?: 'active' | 'passive' | 'off';
  mtu?: number;
  /** The network the port carries (VM and internal ports) — kept in external_ids. */
  network?: string;
  external?: Record<string, string>;
}

export interface DesiredNetwork {
  name: string;
  fabric: Fabric;
  /** NIC or bond carrying it. */
  interface: string;
  vlan?: number;
  mtu: number;
  /** The devices and OVS ports that realize it on this host, for its in-sync status. */
  devices: string[];
  ovsPorts: string[];
}

export interface DesiredHost {
  links: DesiredLink[];
  /** Addresses to hold, per device (CIDR). Only on devices netform manages. */
  addresses: { device: string; cidr: string }[];
  ovs?: { bridge: string; datapath: 'system' | 'netdev'; ports: DesiredOvsPort[] };
  networks: DesiredNetwork[];
  /** Problems that make the spec unrealizable on this host (reported, never half-applied). */
  problems: string[];
}

// ---- observed --------------------------------------------------------------------------------------

export interface ObservedLink {
  name: string;
  ifindex: number;
  /** linkinfo.info_kind: vlan, bond, bridge, tun, veth, macvlan… ('' for a plain device). */
  kind: string;
  mtu: number;
  up: boolean;
  operstate: string;
  mac: string;
  master?: string;
  parent?: string;
  vlanId?: number;
  bondMode?: string;
  alias?: string;
  group: number | string;
  rxBytes?: number;
  txBytes?: number;
  drops?: number;
}

export interface ObservedOvsInterface {
  name: string;
  type: string;
  ofport: number | undefined;
  error: string | undefined;
  mtuRequest: number | undefined;
  external: Record<string, string>;
}

export interface ObservedOvsPort {
  uuid: string;
  name: string;
  tag: number | undefined;
  trunks: number[];
  vlanMode: string | undefined;
  bondMode: string | undefined;
  lacp: string | undefined;
  interfaces: ObservedOvsInterface[];
  external: Record<string, string>;
}

export interface ObservedHost {
  links: ObservedLink[];
  addresses: { device: string; cidr: string }[];
  ovs?: { bridges: { name: string; uuid: string; datapath: string; ports: ObservedOvsPort[] }[] };
}

/** Whether netform created this kernel device. */
export function isOwnedLink(l: ObservedLink): boolean {
  return Number(l.group) === NETFORM_GROUP || Number(l.group) === DOOMED_GROUP || (l.alias ?? '').startsWith(ALIAS_PREFIX);
}

export function isOwnedPort(p: ObservedOvsPort, instance: string): boolean {
  return p.external[OVS_OWNER_KEY] === instance;
}

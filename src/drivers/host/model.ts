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
/** OpenFlow meters netform owns on the integration bridge: ids in [METER_BASE, METER_BASE + 0xffff]. */
export const METER_BASE = 0x6e660000;
/** Cookie of the OpenFlow flows netform adds (a vNIC's outbound meter), and the mask that finds them. */
export const FLOW_COOKIE = '0x6e66000000000000';
export const FLOW_COOKIE_MASK = '0xffff000000000000';
/** Priority of those flows (above the bridge's `priority=0 actions=NORMAL`). */
export const FLOW_PRIORITY = 100;

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

/** The OVS Mirror netform keeps for a network's mirrored vNICs. */
export function mirrorName(network: string): string {
  return `nfm-${shortHash(network, 11)}`;
}

/** The ifb device that shapes what a VM sends on the linux-bridge fabric (its tap's ingress is redirected to it). */
export function ifbName(tap: string): string {
  return `nfq${shortHash(tap, 12)}`;
}

/** A meter id for each device, stable and distinct within `names` (hash, then the next free id). */
export function meterIds(names: string[]): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const n of [...names].sort()) {
    let id = Number.parseInt(shortHash(n, 4), 16);
    while (used.has(id)) id = (id + 1) & 0xffff;
    used.add(id);
    out.set(n, METER_BASE + id);
  }
  return out;
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
/** A bandwidth limit as netform applies it: kilobits per second, burst in kilobits. */
export interface Rate {
  kbps: number;
  /** undefined: the mechanism's default. */
  burstKb?: number;
}

/** Traffic control netform keeps on a linux-bridge tap (tc). */
export interface DesiredTc {
  /** To the VM: shaping on the tap's root qdisc (tbf). */
  inbound?: Rate;
  /** From the VM: the tap's ingress redirected to an ifb device that shapes it (tbf). */
  outbound?: Rate & { ifb: string };
  /** Copy both directions to this device (mirred mirror on the tap's ingress and egress). */
  mirrorTo?: string;
}

export interface DesiredLink {
  name: string;
  /** nic: exists already (named in the Host spec), netform only configures it; the others netform creates. */
  kind: 'nic' | 'bond' | 'vlan' | 'bridge' | 'tap' | 'ifb';
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
  /** A tap's traffic control (linux-bridge fabric); undefined: none. */
  tc?: DesiredTc;
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
  /** A VM tap's limits: inbound = an egress QoS (linux-htb) on the port; outbound = an OpenFlow meter
   *  on what the port receives (`meter` is its id). */
  qos?: { inbound?: Rate; outbound?: Rate & { meter: number } };
}

/** An OVS Mirror netform keeps: every packet to or from `select` goes to `output` too. */
export interface DesiredMirror {
  name: string;
  network: string;
  output: string;
  select: string[];
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
  ovs?: { bridge: string; datapath: 'system' | 'netdev'; ports: DesiredOvsPort[]; mirrors?: DesiredMirror[] };
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
  /** Traffic control netform put on the device (observed with `tc -j`); undefined: not looked at. */
  tc?: ObservedTc;
}

/** What `tc -j` shows on a device, in netform's terms. */
export interface ObservedTc {
  /** The root qdisc when it is a tbf. */
  tbf?: { rateBps: number; burstBytes: number };
  /** Some other root qdisc than the kernel default (noqueue, pfifo_fast, fq_codel…) or a tbf. */
  foreignRoot?: string;
  clsact: boolean;
  /** The actions of the clsact filters, in order: `mirror:<dev>`, `redirect:<dev>`, or the kind. */
  ingress: string[];
  egress: string[];
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
  /** The QoS row the port points to, if any. */
  qos?: ObservedQos;
}

export interface ObservedQos {
  uuid: string;
  type: string;
  /** other_config:max-rate, bit/s. */
  maxRate?: number;
  external: Record<string, string>;
  /** Queue 0, if any: other_config max-rate and burst (bits). */
  queue?: { uuid: string; maxRate?: number; burst?: number };
  queueUuids: string[];
}

export interface ObservedMirror {
  uuid: string;
  name: string;
  external: Record<string, string>;
  srcPorts: string[];
  dstPorts: string[];
  output?: string;
}

export interface ObservedBridge {
  name: string;
  uuid: string;
  datapath: string;
  ports: ObservedOvsPort[];
  /** undefined: not observed (taken as none). */
  mirrors?: ObservedMirror[];
}

/** netform's OpenFlow state on the integration bridge: its meters (by id range) and flows (by cookie). */
export interface ObservedOpenFlow {
  meters: { id: number; kbps: number; burstKb: number }[];
  /** inPort: the port's name, or its number when OVS no longer knows a port by it. */
  flows: { inPort: string; meter?: number }[];
}

export interface ObservedHost {
  links: ObservedLink[];
  addresses: { device: string; cidr: string }[];
  ovs?: {
    bridges: ObservedBridge[];
    /** Every QoS row that says it is netform's (this instance or another), referenced or not. */
    qos?: ObservedQos[];
    /** undefined: not observed (no bridge, or its OpenFlow socket is not there). */
    openflow?: ObservedOpenFlow;
    /** Why OpenFlow could not be observed, when a bridge exists. */
    openflowError?: string;
  };
}

/** Whether netform created this kernel device. */
export function isOwnedLink(l: ObservedLink): boolean {
  return Number(l.group) === NETFORM_GROUP || Number(l.group) === DOOMED_GROUP || (l.alias ?? '').startsWith(ALIAS_PREFIX);
}

export function isOwnedPort(p: ObservedOvsPort, instance: string): boolean {
  return p.external[OVS_OWNER_KEY] === instance;
}

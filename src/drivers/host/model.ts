// The host agent's model: what a host should look like (DesiredHost), what it looks like
// (ObservedHost), and the names netform gives the devices it creates. Pure.
import { createHash } from 'node:crypto';
import { vnicDeviceName, type HostFirewallRule } from '../host-driver.ts';

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

/** The network namespace that realizes a Router on a host (the shape of Neutron's `qrouter-<id>`). */
export function routerNamespace(router: string): string {
  return `nfr-${shortHash(router, 12)}`;
}

/** The veth pair that attaches a router to one network: `root` on the host (on the network's bridge
 *  or OVS), `inner` in the router's namespace (`qg-…` on its gateway network, `qr-…` otherwise). */
export function routerLinkNames(router: string, network: string, gateway: boolean): { root: string; inner: string; netns: string } {
  const h = shortHash(`${router}/${network}`, 12);
  return { root: `nfr${h}`, inner: `${gateway ? 'qg' : 'qr'}-${h}`, netns: routerNamespace(router) };
}

/** The alias purpose of a router's root-side veth: `router/<router>/<network>[/gateway]`. */
export function routerPurpose(router: string, network: string, gateway: boolean): string {
  return `router/${router}/${network}${gateway ? '/gateway' : ''}`;
}

/** The router, network and role a router veth's purpose names (inverse of routerPurpose). */
export function parseRouterPurpose(purpose: string | undefined): { router: string; network: string; gateway: boolean } | undefined {
  const m = /^router\/([^/]+)\/([^/]+)(\/gateway)?$/.exec(purpose ?? '');
  return m ? { router: m[1]!, network: m[2]!, gateway: !!m[3] } : undefined;
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
  kind: 'nic' | 'bond' | 'vlan' | 'bridge' | 'tap' | 'ifb' | 'veth';
  /** veth: the other end, created in that network namespace (a router's). */
  peer?: { name: string; netns: string };
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

/** A Router realized on this host: a network namespace with forwarding on, one veth end per attached
 *  network (the other end is a DesiredLink of kind veth on the host), its routes, and SNAT. */
export interface DesiredRouter {
  name: string;
  netns: string;
  /** The devices in the namespace, with their addresses (CIDR). */
  links: { name: string; mtu: number; up: boolean; address: string; network: string }[];
  /** Routes in the namespace's main table (the default route via the gateway's nexthop included). */
  routes: { destination: string; via: string }[];
  /** Source NAT of what leaves through the gateway device, to its address. */
  snat?: { device: string; address: string };
}

/** A VM tap filtered by its security groups (nftables; the linux-bridge fabric). */
export interface DesiredFirewallPort {
  device: string;
  stateful: boolean;
  rules: HostFirewallRule[];
}

export interface DesiredHost {
  /** Routers realized on this host, sorted by name. */
  routers?: DesiredRouter[];
  /** The security-group filtering of the host's taps (undefined or no ports: no netform tables). */
  firewall?: { ports: DesiredFirewallPort[] };
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

/** A router namespace netform made (`nfr-…`), as it is. */
export interface ObservedRouter {
  netns: string;
  /** The Router it realizes and its owner mark (`netform:router/<instance>/<host>/<router>`, the
   *  alias of its `lo`). */
  name?: string;
  owner?: string;
  links: { name: string; mtu: number; up: boolean }[];
  addresses: { device: string; cidr: string }[];
  routes: { destination: string; via?: string; device?: string }[];
  forwarding: boolean;
  /** The source NAT in netform's table; undefined: none. */
  snat?: { device: string; address: string };
}

export interface ObservedHost {
  /** netform's router namespaces; undefined: not observed. */
  routers?: ObservedRouter[];
  /** The digest of netform's nftables filter tables; undefined: none there (or not observed). */
  firewallDigest?: string;
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

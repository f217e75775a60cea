// From a Host, its Cluster, the Networks (with their resolved VLANs) and the vNICs on the host to
// the host's desired device and OVS layout. Pure.
import type { Cluster, Host } from '../../api/kinds.ts';
import type { NetworkSpec } from '../../api/types.gen.ts';
import { hostNetworks } from '../../controllers/host/host.model.ts';
import {
  bridgeName,
  internalPortName,
  vlanDeviceName,
  vnicDeviceName,
  type DesiredHost,
  type DesiredLink,
  type DesiredNetwork,
  type DesiredOvsPort,
  type Fabric,
} from './model.ts';

export interface HostNetworkInput {
  spec: NetworkSpec;
  /** The VLAN in use (fixed, or allocated from the pool); undefined for a flat network, or a pool
   *  network that has no VLAN yet. */
  vlan?: number;
}

export interface VnicInput {
  /** `<namespace>/<name>` of the VnicAttachment. */
  key: string;
  network: string;
  mac?: string;
  vmName: string;
  vmUid?: string;
  plugged: boolean;
  linked: boolean;
}

export interface HostInputs {
  host: Host;
  cluster: Cluster | undefined;
  networks: ReadonlyMap<string, HostNetworkInput>;
  vnics: readonly VnicInput[];
  instance: string;
  ovsBridge: string;
  ovsDatapath: 'system' | 'netdev';
}

/** OVS has three bond modes; the kernel's others map to the closest. */
export function ovsBondMode(mode: string): { bondMode: string; lacp: 'active' | 'off' } {
  if (mode === '802.3ad') return { bondMode: 'balance-tcp', lacp: 'active' };
  if (mode === 'active-backup') return { bondMode: 'active-backup', lacp: 'off' };
  return { bondMode: 'balance-slb', lacp: 'off' };
}

export function desiredHost(i: HostInputs): DesiredHost {
  const { host } = i;
  const problems: string[] = [];
  const specs = new Map([...i.networks].map(([n, x]) => [n, { metadata: { name: n }, spec: x.spec }] as const));
  const { placements, unplaced } = hostNetworks(
    host,
    i.cluster,
    new Map([...specs].map(([n, x]) => [n, { apiVersion: 'netform.io/v1alpha1', kind: 'Network' as const, metadata: x.metadata, spec: x.spec }])),
  );
  for (const n of unplaced) problems.push(`required network ${n} is placed on no NIC or bond`);
  const defaultFabric: Fabric = i.cluster?.spec.defaultFabric ?? 'linux-bridge';
  const nicSpecs = new Map((host.spec.nics ?? []).map((n) => [n.name, n]));
  const bondSpecs = new Map((host.spec.bonds ?? []).map((b) => [b.name, b]));
  const fabricOf = (iface: string): Fabric => nicSpecs.get(iface)?.fabric ?? bondSpecs.get(iface)?.fabric ?? defaultFabric;

  const links = new Map<string, DesiredLink>();
  const ports = new Map<string, DesiredOvsPort>();
  const addresses: DesiredHost['addresses'] = [];
  const networks: DesiredNetwork[] = [];
  const mtuOn = new Map<string, number>(); // largest network MTU riding each NIC/bond
  const untaggedOn = new Map<string, string>();
  const raise = (dev: string, mtu: number) => mtuOn.set(dev, Math.max(mtuOn.get(dev) ?? 0, mtu));

  for (const p of placements) {
    const net = i.networks.get(p.network);
    if (!net) continue;
    const mtu = net.spec.mtu;
    const usesPool = net.spec.vlan?.poolRef !== undefined;
    if (usesPool && net.vlan === undefined) {
      problems.push(`network ${p.network} has no VLAN from its pool yet`);
      continue;
    }
    const vlan = net.vlan;
    const fabric = fabricOf(p.interface);
    const dn: DesiredNetwork = { name: p.network, fabric, interface: p.interface, mtu, devices: [], ovsPorts: [] };
    if (vlan !== undefined) dn.vlan = vlan;
    raise(p.interface, mtu);
    const vnics = i.vnics.filter((v) => v.network === p.network && v.plugged);
    if (fabric === 'linux-bridge') {
      const br = bridgeName(p.network);
      if (nicSpecs.has(br) || bondSpecs.has(br)) {
        problems.push(`network ${p.network}: its bridge name ${br} is also a NIC or bond of this host`);
        continue;
      }
      if (vlan === undefined) {
        const other = untaggedOn.get(p.interface);
        if (other) {
          problems.push(`networks ${other} and ${p.network} are both untagged on ${p.interface}`);
          continue;
        }
        untaggedOn.set(p.interface, p.network);
      }
      links.set(br, { name: br, kind: 'bridge', mtu, purpose: `network/${p.network}` });
      dn.devices.push(br);
      if (vlan !== undefined) {
        const sub = vlanDeviceName(p.interface, vlan);
        links.set(sub, { name: sub, kind: 'vlan', parent: p.interface, vlanId: vlan, master: br, mtu, purpose: `network/${p.network}` });
        dn.devices.push(sub);
      } else {
        dn.devices.push(p.interface);
      }
      if (p.address) addresses.push({ device: br, cidr: p.address });
      for (const v of vnics) {
        const dev = vnicDeviceName(v.key);
        links.set(dev, { name: dev, kind: 'tap', master: br, mtu, purpose: `vnic/${v.key}`, ...(v.linked ? {} : { down: true }) });
        dn.devices.push(dev);
      }
    } else {
      if (vlan === undefined) {
        problems.push(`network ${p.network} is untagged; on the ovs fabric a network needs a VLAN`);
        continue;
      }
      dn.ovsPorts.push(p.interface);
      if (p.address) {
        const port = internalPortName(p.network);
        ports.set(port, { name: port, type: 'internal', tag: vlan, mtu, network: p.network });
        addresses.push({ device: port, cidr: p.address });
        dn.ovsPorts.push(port);
      }
      for (const v of vnics) {
        const dev = vnicDeviceName(v.key);
        links.set(dev, { name: dev, kind: 'tap', mtu, purpose: `vnic/${v.key}`, ...(v.linked ? {} : { down: true }) });
        const external: Record<string, string> = { 'iface-id': v.key, 'vm-id': v.vmUid ?? v.vmName };
        if (v.mac) external['attached-mac'] = v.mac;
        ports.set(dev, { name: dev, type: 'system', tag: vlan, mtu, network: p.network, external });
        dn.devices.push(dev);
        dn.ovsPorts.push(dev);
      }
    }
    networks.push(dn);
  }

  // NICs and bonds: MTU of the largest network they carry; membership.
  for (const b of host.spec.bonds ?? []) {
    const fabric = fabricOf(b.name);
    const mtu = mtuOn.get(b.name);
    if (fabric === 'linux-bridge') {
      const bond: DesiredLink = { name: b.name, kind: 'bond', bond: { mode: b.mode, members: [...b.members] }, purpose: 'bond' };
      if (b.lacpRate) bond.bond!.lacpRate = b.lacpRate;
      if (b.miimonMs !== undefined) bond.bond!.miimonMs = b.miimonMs;
      if (mtu !== undefined) bond.mtu = mtu;
      const untagged = untaggedOn.get(b.name);
      if (untagged) bond.master = bridgeName(untagged);
      links.set(b.name, bond);
      for (const m of b.members) links.set(m, { name: m, kind: 'nic', master: b.name, ...(mtu !== undefined ? { mtu } : {}) });
    } else {
      const trunks = networks.filter((n) => n.interface === b.name && n.vlan !== undefined).map((n) => n.vlan!);
      const { bondMode, lacp } = ovsBondMode(b.mode);
      const port: DesiredOvsPort = { name: b.name, type: 'bond', bondMembers: [...b.members], bondMode, lacp, trunks: [...new Set(trunks)].sort((x, y) => x - y) };
      if (mtu !== undefined) port.mtu = mtu;
      // Empty trunks would pass every VLAN: a bond that carries no network stays off the bridge.
      if (trunks.length) ports.set(b.name, port);
      for (const m of b.members) links.set(m, { name: m, kind: 'nic', ...(mtu !== undefined ? { mtu } : {}) });
    }
  }
  for (const n of host.spec.nics ?? []) {
    if (links.has(n.name)) continue; // a bond member, handled above
    const mtu = n.mtu ?? mtuOn.get(n.name);
    const fabric = fabricOf(n.name);
    const untagged = untaggedOn.get(n.name);
    const link: DesiredLink = { name: n.name, kind: 'nic' };
    if (mtu !== undefined) link.mtu = mtu;
    if (untagged && fabric === 'linux-bridge') link.master = bridgeName(untagged);
    if (mtuOn.has(n.name) || n.mtu !== undefined) links.set(n.name, link);
    const trunks = networks.filter((x) => x.interface === n.name && x.fabric === 'ovs' && x.vlan !== undefined).map((x) => x.vlan!);
    if (fabric === 'ovs' && trunks.length) {
      const port: DesiredOvsPort = { name: n.name, type: 'system', trunks: [...new Set(trunks)].sort((x, y) => x - y) };
      if (mtu !== undefined) port.mtu = mtu;
      ports.set(n.name, port);
    }
  }
  // A NIC enslaved to a kernel bond takes the bond's MTU; an explicit NIC MTU wins for plain NICs only.
  const out: DesiredHost = {
    links: [...links.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    addresses: addresses.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : a.cidr < b.cidr ? -1 : 1)),
    networks: networks.sort((a, b) => (a.name < b.name ? -1 : 1)),
    problems,
  };
  // Always name the integration bridge, even with no ports: netform's ports there go when the last
  // network on the ovs fabric does (the bridge itself is only created when a port needs it).
  out.ovs = { bridge: i.ovsBridge, datapath: i.ovsDatapath, ports: [...ports.values()].sort((a, b) => (a.name < b.name ? -1 : 1)) };
  return out;
}

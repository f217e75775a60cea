// From the host's model (its NICs and bonds, the networks placed on them with their VLANs, the vNICs
// on the host) to the host's desired device and OVS layout. Pure.
import type { HostModel, VnicRate } from '../host-driver.ts';
import { desiredRouters } from './l3.ts';
import {
  bridgeName,
  ifbName,
  meterIds,
  mirrorName,
  internalPortName,
  vlanDeviceName,
  vnicDeviceName,
  type DesiredHost,
  type DesiredLink,
  type DesiredMirror,
  type DesiredNetwork,
  type DesiredOvsPort,
  type DesiredTc,
  type DesiredFirewallPort,
  type Fabric,
  type Rate,
} from './model.ts';

/** An OpenFlow meter's burst when the vNIC names none: 80 % of a second at the rate (what OVS users
 *  commonly take for a policer), never less than a few frames. */
export function meterBurstKb(kbps: number): number {
  return Math.max(Math.ceil(kbps * 0.8), 64);
}

/** A tbf's burst when the vNIC names none: 100 ms at the rate, never less than a few frames. */
export function tbfBurstKb(kbps: number): number {
  return Math.max(Math.ceil(kbps / 10), 64);
}

function rate(r: VnicRate): Rate {
  return { kbps: r.averageKbps, ...(r.burstKb !== undefined ? { burstKb: r.burstKb } : {}) };
}

/** Where the host's Open vSwitch ports go: the integration bridge and its datapath (the driver's target). */
export interface OvsBridgeOptions {
  ovsBridge: string;
  ovsDatapath: 'system' | 'netdev';
  /** The agent instance, which owns the host's router namespaces (default `netform`). */
  instance?: string;
}

/** OVS has three bond modes; the kernel's others map to the closest. */
export function ovsBondMode(mode: string): {
  bondMode: string;
  lacp: 'active' | 'off';
} {
  if (mode === '802.3ad') return { bondMode: 'balance-tcp', lacp: 'active' };
  if (mode === 'active-backup') return { bondMode: 'active-backup', lacp: 'off' };
  return { bondMode: 'balance-slb', lacp: 'off' };
}

export function desiredHost(m: HostModel, o: OvsBridgeOptions): DesiredHost {
  const problems: string[] = [];
  for (const n of m.unplaced) problems.push(`required network ${n} is placed on no NIC or bond`);
  const defaultFabric: Fabric = m.defaultFabric;
  const nicSpecs = new Map(m.nics.map((n) => [n.name, n]));
  const bondSpecs = new Map(m.bonds.map((b) => [b.name, b]));
  const fabricOf = (iface: string): Fabric => nicSpecs.get(iface)?.fabric ?? bondSpecs.get(iface)?.fabric ?? defaultFabric;

  const links = new Map<string, DesiredLink>();
  const ports = new Map<string, DesiredOvsPort>();
  const addresses: DesiredHost['addresses'] = [];
  const networks: DesiredNetwork[] = [];
  const mirrors: DesiredMirror[] = [];
  // One meter id per OVS tap with an outbound limit, stable and distinct.
  const meters = meterIds(m.vnics.filter((v) => v.plugged && v.qos?.outbound).map((v) => vnicDeviceName(v.key)));
  const mtuOn = new Map<string, number>(); // largest network MTU riding each NIC/bond
  const untaggedOn = new Map<string, string>();
  const raise = (dev: string, mtu: number) => mtuOn.set(dev, Math.max(mtuOn.get(dev) ?? 0, mtu));

  for (const p of m.networks) {
    const mtu = p.mtu;
    if (p.vlanPending) {
      problems.push(`network ${p.name} has no VLAN from its pool yet`);
      continue;
    }
    const vlan = p.vlan;
    const fabric = fabricOf(p.interface);
    const dn: DesiredNetwork = {
      name: p.name,
      fabric,
      interface: p.interface,
      mtu,
      devices: [],
      ovsPorts: [],
    };
    if (vlan !== undefined) dn.vlan = vlan;
    raise(p.interface, mtu);
    const vnics = m.vnics.filter((v) => v.network === p.name && v.plugged);
    const mirrored = vnics.filter((v) => v.mirrored);
    // A promiscuous service endpoint gets a copy of what its network's other devices here send and receive.
    const promiscuousOnes = vnics.filter((v) => v.endpoint?.promiscuous);
    if (promiscuousOnes.length > 1) {
      problems.push(`network ${p.name}: ${promiscuousOnes.length} promiscuous service endpoints on this host (${promiscuousOnes.map((v) => v.key).join(', ')}); one at most`);
      continue;
    }
    const promiscuous = promiscuousOnes[0];
    if (mirrored.length && !p.mirrorPort) {
      problems.push(`network ${p.name}: vNIC ${mirrored[0]!.key} is mirrored but the network has no mirror port on this host`);
      continue;
    }
    if (fabric === 'linux-bridge') {
      const br = bridgeName(p.name);
      if (nicSpecs.has(br) || bondSpecs.has(br)) {
        problems.push(`network ${p.name}: its bridge name ${br} is also a NIC or bond of this host`);
        continue;
      }
      if (vlan === undefined) {
        const other = untaggedOn.get(p.interface);
        if (other) {
          problems.push(`networks ${other} and ${p.name} are both untagged on ${p.interface}`);
          continue;
        }
        untaggedOn.set(p.interface, p.name);
      }
      links.set(br, {
        name: br,
        kind: 'bridge',
        mtu,
        purpose: `network/${p.name}`,
      });
      dn.devices.push(br);
      if (vlan !== undefined) {
        const sub = vlanDeviceName(p.interface, vlan);
        links.set(sub, {
          name: sub,
          kind: 'vlan',
          parent: p.interface,
          vlanId: vlan,
          master: br,
          mtu,
          purpose: `network/${p.name}`,
        });
        dn.devices.push(sub);
      } else {
        dn.devices.push(p.interface);
      }
      if (p.address) addresses.push({ device: br, cidr: p.address });
      for (const v of vnics) {
        const dev = vnicDeviceName(v.key);
        const tap: DesiredLink = {
          name: dev,
          kind: 'tap',
          master: br,
          mtu,
          purpose: v.endpoint ? `endpoint/${v.key.slice('endpoint:'.length)}` : `vnic/${v.key}`,
          ...(v.linked ? {} : { down: true }),
        };
        const tc: DesiredTc = {};
        if (v.qos?.inbound) tc.inbound = rate(v.qos.inbound);
        if (v.qos?.outbound) {
          const ifb = ifbName(dev);
          tc.outbound = { ...rate(v.qos.outbound), ifb };
          // The ifb shapes what the tap's ingress is redirected to: a tbf at its root.
          links.set(ifb, { name: ifb, kind: 'ifb', mtu, purpose: `vnic/${v.key}/outbound`, tc: { inbound: rate(v.qos.outbound) } });
          dn.devices.push(ifb);
        }
        if (v.mirrored) tc.mirrorTo = p.mirrorPort!;
        else if (promiscuous && promiscuous.key !== v.key) tc.mirrorTo = vnicDeviceName(promiscuous.key);
        if (Object.keys(tc).length) tap.tc = tc;
        links.set(dev, tap);
        dn.devices.push(dev);
      }
    } else {
      if (vlan === undefined) {
        problems.push(`network ${p.name} is untagged; on the ovs fabric a network needs a VLAN`);
        continue;
      }
      dn.ovsPorts.push(p.interface);
      if (p.address) {
        const port = internalPortName(p.name);
        ports.set(port, {
          name: port,
          type: 'internal',
          tag: vlan,
          mtu,
          network: p.name,
        });
        addresses.push({ device: port, cidr: p.address });
        dn.ovsPorts.push(port);
      }
      for (const v of vnics) {
        const dev = vnicDeviceName(v.key);
        links.set(dev, {
          name: dev,
          kind: 'tap',
          mtu,
          purpose: `vnic/${v.key}`,
          ...(v.linked ? {} : { down: true }),
        });
        const external: Record<string, string> = {
          'iface-id': v.key,
          'vm-id': v.vmUid ?? v.vmName,
          'iface-status': 'active',
        };
        if (v.mac) external['attached-mac'] = v.mac;
        const port: DesiredOvsPort = {
          name: dev,
          type: 'system',
          tag: vlan,
          mtu,
          network: p.name,
          external,
        };
        const qos: NonNullable<DesiredOvsPort['qos']> = {};
        if (v.qos?.inbound) qos.inbound = rate(v.qos.inbound);
        if (v.qos?.outbound) {
          const r = rate(v.qos.outbound);
          qos.outbound = { kbps: r.kbps, burstKb: r.burstKb ?? meterBurstKb(r.kbps), meter: meters.get(dev)! };
        }
        if (qos.inbound || qos.outbound) port.qos = qos;
        ports.set(dev, port);
        dn.devices.push(dev);
        dn.ovsPorts.push(dev);
      }
      if (mirrored.length) {
        const name = mirrorName(p.name);
        mirrors.push({ name, network: p.name, output: p.mirrorPort!, select: mirrored.map((v) => vnicDeviceName(v.key)).sort() });
        dn.ovsPorts.push(name);
      }
      if (promiscuous) {
        const select = vnics.filter((v) => v.key !== promiscuous.key).map((v) => vnicDeviceName(v.key)).sort();
        const name = mirrorName(`${p.name}/${promiscuous.key}`);
        // Nothing to copy yet: no mirror (one with no selection would copy nothing anyway).
        if (select.length) {
          mirrors.push({ name, network: p.name, output: vnicDeviceName(promiscuous.key), select });
          dn.ovsPorts.push(name);
        }
      }
    }
    networks.push(dn);
  }

  // Routers: a namespace each, a veth per attached network.
  const l3 = desiredRouters(m, networks, { instance: o.instance ?? 'netform' });
  problems.push(...l3.problems);
  for (const l of l3.links) links.set(l.name, l);
  for (const p of l3.ports) ports.set(p.name, p);
  // Security groups: nftables on the taps of the linux-bridge fabric (br_netfilter hands bridged
  // traffic to the inet hooks, with connection tracking). OVS switches in its own datapath, which
  // nftables does not see.
  const firewall: DesiredFirewallPort[] = [];
  for (const v of m.vnics) {
    if (!v.firewall || !v.plugged) continue;
    const net = networks.find((n) => n.name === v.network);
    if (!net) continue;
    if (net.fabric !== 'linux-bridge') {
      problems.push(`vNIC ${v.key}: security groups are filtered on the linux-bridge fabric only; network ${v.network} is on ovs here`);
      continue;
    }
    firewall.push({ device: vnicDeviceName(v.key), stateful: v.firewall.stateful, rules: v.firewall.rules });
  }

  // NICs and bonds: MTU of the largest network they carry; membership.
  for (const b of m.bonds) {
    const fabric = fabricOf(b.name);
    const mtu = mtuOn.get(b.name);
    if (fabric === 'linux-bridge') {
      const bond: DesiredLink = {
        name: b.name,
        kind: 'bond',
        bond: { mode: b.mode, members: [...b.members] },
        purpose: 'bond',
      };
      if (b.lacpRate) bond.bond!.lacpRate = b.lacpRate;
      if (b.miimonMs !== undefined) bond.bond!.miimonMs = b.miimonMs;
      if (mtu !== undefined) bond.mtu = mtu;
      const untagged = untaggedOn.get(b.name);
      if (untagged) bond.master = bridgeName(untagged);
      links.set(b.name, bond);
      for (const m of b.members)
        links.set(m, {
          name: m,
          kind: 'nic',
          master: b.name,
          ...(mtu !== undefined ? { mtu } : {}),
        });
    } else {
      const trunks = networks.filter((n) => n.interface === b.name && n.vlan !== undefined).map((n) => n.vlan!);
      const { bondMode, lacp } = ovsBondMode(b.mode);
      const port: DesiredOvsPort = {
        name: b.name,
        type: 'bond',
        bondMembers: [...b.members],
        bondMode,
        lacp,
        trunks: [...new Set(trunks)].sort((x, y) => x - y),
      };
      if (mtu !== undefined) port.mtu = mtu;
      // Empty trunks would pass every VLAN: a bond that carries no network stays off the bridge.
      if (trunks.length) ports.set(b.name, port);
      for (const m of b.members)
        links.set(m, {
          name: m,
          kind: 'nic',
          ...(mtu !== undefined ? { mtu } : {}),
        });
    }
  }
  for (const n of m.nics) {
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
      const port: DesiredOvsPort = {
        name: n.name,
        type: 'system',
        trunks: [...new Set(trunks)].sort((x, y) => x - y),
      };
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
  if (l3.routers.length) out.routers = l3.routers;
  if (firewall.length) out.firewall = { ports: firewall.sort((a, b) => (a.device < b.device ? -1 : 1)) };
  // Always name the integration bridge, even with no ports: netform's ports there go when the last
  // network on the ovs fabric does (the bridge itself is only created when a port needs it).
  out.ovs = {
    bridge: o.ovsBridge,
    datapath: o.ovsDatapath,
    ports: [...ports.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    ...(mirrors.length ? { mirrors: mirrors.sort((a, b) => (a.name < b.name ? -1 : 1)) } : {}),
  };
  return out;
}

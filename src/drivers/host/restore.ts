// What "as it was" means for a rollback: the snapshot taken before a change, as a desired host. Pure.
import {
  isOwnedLink,
  isOwnedPort,
  OVS_NETWORK_KEY,
  OVS_OWNER_KEY,
  type DesiredHost,
  type DesiredLink,
  type DesiredOvsPort,
  type DesiredTc,
  type ObservedHost,
  type ObservedTc,
} from './model.ts';
import { routersAsDesired } from './l3.ts';

/** A device's tc as it was, in the terms desiredHost uses (rates back from the tbf's bytes). */
function tcAsDesired(t: ObservedTc | undefined): DesiredTc | undefined {
  if (!t) return undefined;
  const out: DesiredTc = {};
  if (t.tbf) out.inbound = { kbps: t.tbf.rateBps / 125, burstKb: t.tbf.burstBytes / 125 };
  const mirror = t.ingress.find((a) => a.startsWith('mirror:')) ?? t.egress.find((a) => a.startsWith('mirror:'));
  if (mirror) out.mirrorTo = mirror.slice('mirror:'.length);
  const redirect = t.ingress.find((a) => a.startsWith('redirect:'));
  if (redirect) out.outbound = { kbps: 0, ifb: redirect.slice('redirect:'.length) };
  return Object.keys(out).length ? out : undefined;
}

/**
 * The state to roll back to: every device netform owns, and every device or OVS port the failed
 * change touched (named in `touched`), exactly as the snapshot had them — MTU, master, up/down, MAC
 * of netform's own devices (so a re-created device is indistinguishable), addresses, tags and trunks.
 */
export function restoreTarget(snapshot: ObservedHost, touched: DesiredHost, instance: string): DesiredHost {
  const names = new Set(touched.links.map((l) => l.name));
  const kinds: Record<string, DesiredLink['kind'] | undefined> = { vlan: 'vlan', bridge: 'bridge', bond: 'bond', tun: 'tap', ifb: 'ifb', veth: 'veth' };
  const links: DesiredLink[] = [];
  for (const l of snapshot.links) {
    const owned = isOwnedLink(l);
    if (!owned && !names.has(l.name)) continue;
    const kind: DesiredLink['kind'] = owned ? (kinds[l.kind] ?? 'tap') : names.has(l.name) && touched.links.find((t) => t.name === l.name)?.kind === 'tap' ? 'tap' : 'nic';
    const d: DesiredLink = { name: l.name, kind, mtu: l.mtu };
    if (!l.up) d.down = true;
    if (l.master && l.master !== 'ovs-system') d.master = l.master;
    if (owned) {
      d.mac = l.mac;
      if (l.alias) d.purpose = l.alias.replace(/^netform:/, '');
    }
    if (kind === 'vlan') {
      d.parent = l.parent;
      d.vlanId = l.vlanId;
    }
    if (kind === 'veth') {
      // A router's veth: its other end goes back into the router's namespace (named in the layout).
      const peer = touched.links.find((t) => t.name === l.name)?.peer;
      if (!peer) continue;
      d.peer = peer;
    }
    const t = tcAsDesired(l.tc);
    if (t && (kind === 'tap' || kind === 'ifb')) d.tc = t;
    if (kind === 'bond') {
      d.bond = { mode: l.bondMode ?? 'balance-rr', members: snapshot.links.filter((m) => m.master === l.name).map((m) => m.name) };
    }
    links.push(d);
  }
  const devices = new Set(links.map((l) => l.name));
  const out: DesiredHost = {
    links,
    addresses: snapshot.addresses.filter((a) => devices.has(a.device)),
    networks: [],
    problems: [],
  };
  const routers = routersAsDesired(snapshot.routers);
  if (routers.length) out.routers = routers;
  const bridge = touched.ovs ? snapshot.ovs?.bridges.find((b) => b.name === touched.ovs!.bridge) : undefined;
  if (touched.ovs && bridge) {
    const touchedPorts = new Set(touched.ovs.ports.map((p) => p.name));
    const ports: DesiredOvsPort[] = [];
    for (const p of bridge.ports) {
      if (p.name === bridge.name || (!isOwnedPort(p, instance) && !touchedPorts.has(p.name))) continue;
      // A bond of one member still has a bond mode, or an interface named unlike the port.
      const bond = p.interfaces.length > 1 || p.bondMode !== undefined || (p.interfaces.length === 1 && p.interfaces[0]!.name !== p.name);
      const d: DesiredOvsPort = { name: p.name, type: bond ? 'bond' : p.interfaces[0]?.type === 'internal' ? 'internal' : 'system', trunks: [...p.trunks].sort((a, b) => a - b) };
      if (p.tag !== undefined) d.tag = p.tag;
      if (bond) {
        d.bondMembers = p.interfaces.map((i) => i.name);
        if (p.bondMode) d.bondMode = p.bondMode;
        d.lacp = (p.lacp as DesiredOvsPort['lacp']) ?? 'off';
      } else if (p.interfaces[0]?.mtuRequest !== undefined) d.mtu = p.interfaces[0].mtuRequest;
      if (p.external[OVS_NETWORK_KEY]) d.network = p.external[OVS_NETWORK_KEY];
      if (p.interfaces[0] && Object.keys(p.interfaces[0].external).length) d.external = p.interfaces[0].external;
      // Limits as they were: netform's QoS row (inbound) and its meter and flow (outbound).
      const qos: NonNullable<DesiredOvsPort['qos']> = {};
      const q = p.qos;
      if (q && q.external[OVS_OWNER_KEY] === instance && q.type === 'linux-htb' && q.maxRate !== undefined && q.queue?.maxRate === q.maxRate) {
        qos.inbound = { kbps: q.maxRate / 1000, ...(q.queue.burst !== undefined ? { burstKb: q.queue.burst / 1000 } : {}) };
      }
      const flow = snapshot.ovs?.openflow?.flows.find((f) => f.inPort === p.name && f.meter !== undefined);
      const meter = flow ? snapshot.ovs?.openflow?.meters.find((m) => m.id === flow.meter) : undefined;
      if (meter) qos.outbound = { kbps: meter.kbps, burstKb: meter.burstKb, meter: meter.id };
      if (qos.inbound || qos.outbound) d.qos = qos;
      ports.push(d);
    }
    const mirrors = (bridge.mirrors ?? [])
      .filter((m) => m.external[OVS_OWNER_KEY] === instance && m.output)
      .map((m) => ({ name: m.name, network: m.external[OVS_NETWORK_KEY] ?? '', output: m.output!, select: [...m.srcPorts] }));
    out.ovs = { bridge: bridge.name, datapath: bridge.datapath === 'netdev' ? 'netdev' : 'system', ports, ...(mirrors.length ? { mirrors } : {}) };
  }
  // Addresses on internal ports come back with them.
  for (const a of snapshot.addresses) {
    if (out.ovs?.ports.some((p) => p.name === a.device && p.type === 'internal') && !out.addresses.some((x) => x.device === a.device && x.cidr === a.cidr)) {
      out.addresses.push(a);
    }
  }
  return out;
}

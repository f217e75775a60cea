// A host diff as plan entries: one per device, OVS port or row, address, tc setup, meter and flow,
// each with the network or VM vNIC it serves where that is known. Pure.
import type { HostPlannedChange } from '../host-driver.ts';
import type { HostDiff } from './diff.ts';
import { ALIAS_PREFIX, OVS_NETWORK_KEY, parseRouterPurpose, type DesiredHost, type DesiredLink, type ObservedLink } from './model.ts';

interface Owner {
  network?: string;
  vnic?: string;
}

function fromPurpose(purpose: string | undefined): Owner {
  if (!purpose) return {};
  const p = purpose.startsWith(ALIAS_PREFIX) ? purpose.slice(ALIAS_PREFIX.length) : purpose;
  if (p.startsWith('network/')) return { network: p.slice('network/'.length) };
  // vnic/<namespace>/<name>[/outbound]; a service endpoint's device: endpoint/<namespace>/<name>
  const e = /^endpoint\/([^/]+\/[^/]+)/.exec(p);
  if (e) return { vnic: `endpoint:${e[1]}` };
  const r = parseRouterPurpose(p);
  if (r) return { network: r.network };
  const m = /^vnic\/([^/]+\/[^/]+)/.exec(p);
  return m ? { vnic: m[1] } : {};
}

const KIND: Record<DesiredLink['kind'], string> = { nic: 'nic', bond: 'bond', vlan: 'vlan', bridge: 'bridge', tap: 'tap', ifb: 'ifb', veth: 'veth' };

function linkResource(want: DesiredLink | undefined, have: ObservedLink | undefined): string {
  if (want) return KIND[want.kind];
  const k = have?.kind ?? '';
  return k === 'tun' ? 'tap' : k || 'device';
}

export function describeHostDiff(layout: DesiredHost, d: HostDiff): HostPlannedChange[] {
  // Which networks or vNIC each device serves: from the layout, then from what the host holds.
  const nets = new Map<string, Set<string>>();
  const vnics = new Map<string, string>();
  const note = (name: string, o: Owner) => {
    if (o.network) nets.set(name, (nets.get(name) ?? new Set()).add(o.network));
    if (o.vnic) vnics.set(name, o.vnic);
  };
  for (const n of layout.networks) for (const dev of [n.interface, ...n.devices, ...n.ovsPorts]) note(dev, { network: n.name });
  for (const l of layout.links) note(l.name, fromPurpose(l.purpose));
  for (const p of layout.ovs?.ports ?? []) note(p.name, { network: p.network, vnic: p.external?.['iface-id'] });
  const ownerOf = (name: string, have?: { alias?: string; external?: Record<string, string> }): Pick<HostPlannedChange, 'network' | 'networks' | 'vnic'> => {
    const fromHave = fromPurpose(have?.alias);
    const vnic = vnics.get(name) ?? fromHave.vnic;
    const set = new Set(nets.get(name) ?? []);
    if (!set.size) {
      const net = have?.external?.[OVS_NETWORK_KEY] ?? fromHave.network;
      if (net) set.add(net);
    }
    const list = [...set].sort();
    return { ...(vnic ? { vnic } : {}), ...(list.length === 1 ? { network: list[0] } : list.length > 1 ? { networks: list } : {}) };
  };
  const op = (o: 'create' | 'modify' | 'delete' | 'replace' | 'add' | 'remove'): HostPlannedChange['action'] =>
    o === 'modify' ? 'update' : o === 'add' ? 'create' : o === 'remove' ? 'delete' : o;
  const out: HostPlannedChange[] = [];
  const push = (c: HostPlannedChange, o: Pick<HostPlannedChange, 'network' | 'networks' | 'vnic'>) => out.push({ ...c, ...o });

  if (d.createBridge) push({ resource: 'ovs-bridge', name: d.createBridge.name, action: 'create', fields: [`datapath ${d.createBridge.datapath}`] }, {});
  for (const c of d.links) push({ resource: linkResource(c.want, c.have), name: c.name, action: op(c.op), fields: c.fields }, ownerOf(c.name, c.have));
  for (const c of d.ports) {
    // A VM port says whose it is in its interface's iface-id (the VnicAttachment's key).
    const ifaceId = c.have?.interfaces.find((i) => i.external['iface-id'])?.external['iface-id'] ?? c.have?.external['iface-id'];
    const alias = ifaceId && /^[^/]+\/[^/]+$/.test(ifaceId) ? `${ALIAS_PREFIX}vnic/${ifaceId}` : undefined;
    push({ resource: 'ovs-port', name: c.name, action: op(c.op), fields: c.fields }, ownerOf(c.name, c.have ? { ...(alias ? { alias } : {}), external: c.have.external } : undefined));
  }
  for (const a of d.addresses) push({ resource: 'address', name: `${a.cidr} on ${a.device}`, action: op(a.op), fields: [] }, ownerOf(a.device));
  for (const c of d.mirrors ?? []) {
    const network = c.want?.network ?? c.have?.external[OVS_NETWORK_KEY];
    push({ resource: 'ovs-mirror', name: c.name, action: op(c.op), fields: c.fields }, network ? { network } : {});
  }
  for (const q of d.qosGarbage ?? []) push({ resource: 'ovs-qos', name: q.uuid, action: 'delete', fields: ['not needed'] }, {});
  for (const m of d.openflow?.meters ?? []) {
    const fields = m.kbps !== undefined ? [`rate ${m.kbps}kbps${m.burstKb !== undefined ? ` burst ${m.burstKb}kb` : ''}`] : [];
    push({ resource: 'openflow-meter', name: String(m.id), action: m.op === 'add' ? 'create' : op(m.op), fields }, m.port ? ownerOf(m.port) : {});
  }
  for (const f of d.openflow?.flows ?? []) {
    push({ resource: 'openflow-flow', name: `in_port=${f.port}`, action: f.op === 'add' ? 'create' : 'delete', fields: f.meter !== undefined ? [`meter ${f.meter}`] : [] }, ownerOf(f.port));
  }
  for (const c of d.tc ?? []) push({ resource: 'tc', name: c.device, action: c.want ? (c.have ? 'update' : 'create') : 'delete', fields: c.fields }, ownerOf(c.device));
  for (const c of d.routers ?? []) push({ resource: 'router-netns', name: `${c.netns} (router ${c.name})`, action: op(c.op === 'update' ? 'modify' : c.op), fields: c.fields }, {});
  if (d.firewall) push({ resource: 'nftables', name: 'security groups', action: d.firewall.want.length ? (d.firewall.have ? 'update' : 'create') : 'delete', fields: d.firewall.fields }, {});
  return out;
}

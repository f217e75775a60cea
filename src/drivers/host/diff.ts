// What differs between the desired and the observed host, and what that means per network. Pure.
import {
  isOwnedLink,
  isOwnedPort,
  OVS_NETWORK_KEY,
  OVS_OWNER_KEY,
  type DesiredHost,
  type DesiredLink,
  type DesiredMirror,
  type DesiredOvsPort,
  type DesiredTc,
  type DesiredFirewallPort,
  type ObservedHost,
  type ObservedLink,
  type ObservedMirror,
  type ObservedOvsPort,
  type ObservedQos,
  type ObservedTc,
  type Rate,
} from './model.ts';
import { tbfBurstKb } from './desired.ts';
import { diffRouters, routerOwner, type RouterChange } from './l3.ts';
import { renderFirewall } from './firewall.ts';

export interface LinkChange {
  name: string;
  op: 'create' | 'modify' | 'delete' | 'replace';
  want?: DesiredLink;
  have?: ObservedLink;
  /** What differs, e.g. `mtu 1500→9000`, `master none→web`. */
  fields: string[];
}

export interface PortChange {
  name: string;
  op: 'create' | 'modify' | 'delete' | 'replace';
  want?: DesiredOvsPort;
  have?: ObservedOvsPort;
  fields: string[];
  /** The port's device could not be opened (ofport -1): a stale port. */
  stale?: boolean;
}

export interface MirrorChange {
  name: string;
  op: 'create' | 'modify' | 'delete';
  want?: DesiredMirror;
  have?: ObservedMirror;
  fields: string[];
}

export interface MeterChange {
  op: 'add' | 'modify' | 'delete';
  id: number;
  kbps?: number;
  burstKb?: number;
  /** The port it limits (wanted meters). */
  port?: string;
}

export interface FlowChange {
  op: 'add' | 'delete';
  /** The port's name (or its number, for a flow left by a port OVS no longer knows). */
  port: string;
  meter?: number;
}

/** A device whose traffic control (tc) is rewritten: what it should be (undefined: none of netform's). */
export interface TcChange {
  device: string;
  want?: DesiredTc;
  have?: ObservedTc;
  fields: string[];
}

export interface HostDiff {
  links: LinkChange[];
  ports: PortChange[];
  /** OVS Mirrors netform keeps on the bridge. */
  mirrors?: MirrorChange[];
  /** netform's QoS rows (with their queues) that no port needs any more. */
  qosGarbage?: ObservedQos[];
  /** Existing ports' uuids on the bridge, for the rows (mirrors) that refer to them. */
  portUuids?: Record<string, string>;
  /** OpenFlow meters and flows (outbound limits of OVS taps), applied after the OVSDB transaction. */
  openflow?: { meters: MeterChange[]; flows: FlowChange[] };
  /** tc on linux-bridge taps and their ifb devices, applied after the devices exist. */
  tc?: TcChange[];
  addresses: { device: string; cidr: string; op: 'add' | 'remove' }[];
  /** The integration bridge must be created. */
  createBridge?: { name: string; datapath: string };
  /** Router namespaces to make, put right or remove. */
  routers?: RouterChange[];
  /** netform's nftables filter tables must be rewritten (the taps' security groups changed). */
  firewall?: { want: DesiredFirewallPort[]; digest?: string; have?: string; fields: string[] };
  /** Things netform must not or cannot fix (a NIC missing, a device that is someone else's). */
  problems: string[];
}

export interface DiffOptions {
  instance: string;
  /** The host's name: its router namespaces are the ones marked with it (default: any of the instance's). */
  host?: string;
}

const KIND_OF: Record<DesiredLink['kind'], string | undefined> = { nic: undefined, bond: 'bond', vlan: 'vlan', bridge: 'bridge', tap: undefined, ifb: 'ifb', veth: 'veth' };

/** How many changes a diff holds (devices, ports, addresses, the bridge, mirrors, QoS rows, meters, flows, tc). */
export function changeCount(d: HostDiff): number {
  return (
    d.links.length +
    d.ports.length +
    d.addresses.length +
    (d.createBridge ? 1 : 0) +
    (d.mirrors?.length ?? 0) +
    (d.qosGarbage?.length ?? 0) +
    (d.openflow ? d.openflow.meters.length + d.openflow.flows.length : 0) +
    (d.tc?.length ?? 0) +
    (d.routers?.length ?? 0) +
    (d.firewall ? 1 : 0)
  );
}

export function isEmpty(d: HostDiff): boolean {
  return changeCount(d) === 0;
}

const fmtRate = (r: Rate | undefined) => (r ? `${r.kbps}kbps${r.burstKb !== undefined ? `/${r.burstKb}kb` : ''}` : 'none');

/** The inbound limit a port's QoS row realizes, if it is netform's linux-htb (else undefined). */
function qosRate(q: ObservedQos | undefined, instance: string): Rate | undefined {
  if (!q || q.external[OVS_OWNER_KEY] !== instance || q.type !== 'linux-htb' || q.maxRate === undefined || !q.queue) return undefined;
  if (q.queue.maxRate !== q.maxRate) return undefined;
  return { kbps: q.maxRate / 1000, ...(q.queue.burst !== undefined ? { burstKb: q.queue.burst / 1000 } : {}) };
}

const sameRate = (a: Rate | undefined, b: Rate | undefined) => a?.kbps === b?.kbps && a?.burstKb === b?.burstKb;

/** What tc netform expects on a device: a tbf at the root, and the clsact actions in order. */
function tcExpect(t: DesiredTc | undefined): { tbf?: { rateBps: number; burstBytes: number }; ingress: string[]; egress: string[] } {
  const out: { tbf?: { rateBps: number; burstBytes: number }; ingress: string[]; egress: string[] } = { ingress: [], egress: [] };
  if (t?.inbound) out.tbf = { rateBps: t.inbound.kbps * 125, burstBytes: (t.inbound.burstKb ?? tbfBurstKb(t.inbound.kbps)) * 125 };
  if (t?.mirrorTo) {
    out.ingress.push(`mirror:${t.mirrorTo}`);
    out.egress.push(`mirror:${t.mirrorTo}`);
  }
  if (t?.outbound) out.ingress.push(`redirect:${t.outbound.ifb}`);
  return out;
}

/** How a device's tc differs from what netform wants there (empty: in sync). */
export function tcFields(want: DesiredTc | undefined, have: ObservedTc | undefined): string[] {
  const e = tcExpect(want);
  const h = have ?? { clsact: false, ingress: [], egress: [] };
  const f: string[] = [];
  const fmt = (t: { rateBps: number; burstBytes: number } | undefined) => (t ? `tbf ${(t.rateBps * 8) / 1000}kbit/${t.burstBytes}b` : 'none');
  if (e.tbf ? !h.tbf || h.tbf.rateBps !== e.tbf.rateBps || h.tbf.burstBytes !== e.tbf.burstBytes : !!h.tbf) f.push(`root ${fmt(h.tbf)}→${fmt(e.tbf)}`);
  if (e.ingress.join(',') !== h.ingress.join(',')) f.push(`ingress ${h.ingress.join('+') || 'none'}→${e.ingress.join('+') || 'none'}`);
  if (e.egress.join(',') !== h.egress.join(',')) f.push(`egress ${h.egress.join('+') || 'none'}→${e.egress.join('+') || 'none'}`);
  return f;
}

export function diffHost(want: DesiredHost, have: ObservedHost, o: DiffOptions): HostDiff {
  const out: HostDiff = { links: [], ports: [], addresses: [], problems: [] };
  const observed = new Map(have.links.map((l) => [l.name, l]));
  const wanted = new Map(want.links.map((l) => [l.name, l]));

  for (const w of want.links) {
    const h = observed.get(w.name);
    if (!h) {
      if (w.kind === 'nic') out.problems.push(`NIC ${w.name} is not on the host`);
      else out.links.push({ name: w.name, op: 'create', want: w, fields: ['missing'] });
      continue;
    }
    const kind = KIND_OF[w.kind];
    const owned = isOwnedLink(h);
    if (kind && h.kind !== kind) {
      if (!owned) out.problems.push(`device ${w.name} exists as ${h.kind || 'a plain device'} and is not netform's`);
      else out.links.push({ name: w.name, op: 'replace', want: w, have: h, fields: [`kind ${h.kind}→${kind}`] });
      continue;
    }
    if (w.kind === 'vlan' && (h.parent !== w.parent || h.vlanId !== w.vlanId)) {
      if (!owned) out.problems.push(`device ${w.name} exists on ${h.parent} VLAN ${h.vlanId} and is not netform's`);
      else out.links.push({ name: w.name, op: 'replace', want: w, have: h, fields: [`vlan ${h.parent}.${h.vlanId}→${w.parent}.${w.vlanId}`] });
      continue;
    }
    if (owned && w.kind === 'bond' && w.bond && h.bondMode && h.bondMode !== w.bond.mode) {
      out.links.push({ name: w.name, op: 'replace', want: w, have: h, fields: [`bond mode ${h.bondMode}→${w.bond.mode}`] });
      continue;
    }
    if ((w.kind === 'bond' || w.kind === 'vlan' || w.kind === 'bridge') && !owned) {
      out.problems.push(`device ${w.name} exists and is not netform's`);
      continue;
    }
    const fields: string[] = [];
    if (w.mtu !== undefined && h.mtu !== w.mtu) fields.push(`mtu ${h.mtu}→${w.mtu}`);
    const masterOfH = h.master && h.master !== 'ovs-system' ? h.master : undefined;
    if (w.master !== undefined && masterOfH !== w.master) fields.push(`master ${masterOfH ?? 'none'}→${w.master}`);
    if (w.master === undefined && masterOfH !== undefined) {
      const m = observed.get(masterOfH);
      if (m && isOwnedLink(m)) fields.push(`master ${masterOfH}→none`);
    }
    const up = !w.down;
    if (up !== h.up) fields.push(`${up ? 'up' : 'down'}`);
    if (fields.length) out.links.push({ name: w.name, op: 'modify', want: w, have: h, fields });
  }
  // A device that is re-created takes its dependants along: the kernel deletes the VLANs on it and
  // releases what was enslaved to it. Re-create those, enslave these again.
  const recreated = new Set(out.links.filter((c) => c.op === 'replace').map((c) => c.name));
  for (let more = recreated.size > 0; more; ) {
    more = false;
    for (const w of want.links) {
      const h = observed.get(w.name);
      const c = out.links.find((x) => x.name === w.name);
      if (!h || c?.op === 'create' || c?.op === 'replace' || (KIND_OF[w.kind] && !isOwnedLink(h))) continue;
      if (w.parent !== undefined && recreated.has(w.parent)) {
        if (c) out.links.splice(out.links.indexOf(c), 1);
        out.links.push({ name: w.name, op: 'replace', want: w, have: h, fields: [`parent ${w.parent} re-created`] });
        recreated.add(w.name);
        more = true;
      } else if (w.master !== undefined && recreated.has(w.master) && !c?.fields.some((f) => f.startsWith('master '))) {
        const field = `master ${w.master} re-created`;
        if (c) c.fields.push(field);
        else out.links.push({ name: w.name, op: 'modify', want: w, have: h, fields: [field] });
      }
    }
  }
  for (const h of have.links) {
    if (!wanted.has(h.name) && isOwnedLink(h)) out.links.push({ name: h.name, op: 'delete', have: h, fields: ['not wanted'] });
  }
  // Traffic control on netform's taps and ifb devices (linux-bridge fabric). A device that is created
  // or re-created in this pass gets its tc afresh; one that goes takes its tc with it.
  const tc: TcChange[] = [];
  for (const w of want.links) {
    if (w.kind !== 'tap' && w.kind !== 'ifb') continue;
    const h = observed.get(w.name);
    const c = out.links.find((x) => x.name === w.name);
    const fresh = !h || c?.op === 'replace' || c?.op === 'create';
    // A vNIC's tap is configured whoever made it (as its master and MTU are); an ifb only if netform's.
    if (w.kind === 'ifb' && h && !fresh && !isOwnedLink(h)) continue;
    const fields = fresh ? (w.tc ? tcFields(w.tc, undefined) : []) : tcFields(w.tc, h!.tc);
    if (fields.length) tc.push({ device: w.name, ...(w.tc ? { want: w.tc } : {}), ...(!fresh && h!.tc ? { have: h!.tc } : {}), fields });
  }
  // A mirror target that is re-created loses the filters pointing at it: rewrite them.
  const recreatedNow = new Set(out.links.filter((c) => c.op === 'replace' || c.op === 'create').map((c) => c.name));
  for (const w of want.links) {
    const t = w.tc;
    if (!t || tc.some((x) => x.device === w.name)) continue;
    const target = [t.mirrorTo, t.outbound?.ifb].find((x) => x !== undefined && recreatedNow.has(x) && observed.has(x));
    if (target) tc.push({ device: w.name, want: t, ...(observed.get(w.name)?.tc ? { have: observed.get(w.name)!.tc! } : {}), fields: [`${target} re-created`] });
  }
  for (const t of tc) {
    const m = t.want?.mirrorTo;
    if (m && !observed.has(m) && !wanted.has(m)) out.problems.push(`mirror port ${m} of ${t.device} is not a device of this host`);
  }
  if (tc.length) out.tc = tc;

  // Addresses: on devices netform manages; never removed from a NIC it only configures.
  const managedDevices = new Set([...want.links.map((l) => l.name), ...(want.ovs?.ports ?? []).filter((p) => p.type === 'internal').map((p) => p.name)]);
  const haveAddr = new Set(have.addresses.map((a) => `${a.device} ${a.cidr}`));
  const wantAddr = new Set(want.addresses.map((a) => `${a.device} ${a.cidr}`));
  for (const a of want.addresses) if (!haveAddr.has(`${a.device} ${a.cidr}`)) out.addresses.push({ ...a, op: 'add' });
  for (const a of have.addresses) {
    if (wantAddr.has(`${a.device} ${a.cidr}`) || !managedDevices.has(a.device)) continue;
    const l = wanted.get(a.device);
    if (l?.kind === 'nic' || a.cidr.startsWith('fe80:')) continue;
    out.addresses.push({ ...a, op: 'remove' });
  }

  // Open vSwitch.
  const bridge = want.ovs ? have.ovs?.bridges.find((b) => b.name === want.ovs!.bridge) : undefined;
  if (want.ovs && !bridge && want.ovs.ports.length) out.createBridge = { name: want.ovs.bridge, datapath: want.ovs.datapath };
  const havePorts = new Map((bridge?.ports ?? []).map((p) => [p.name, p]));
  const wantPorts = new Map((want.ovs?.ports ?? []).map((p) => [p.name, p]));
  for (const w of want.ovs?.ports ?? []) {
    const h = havePorts.get(w.name);
    if (!h) {
      out.ports.push({ name: w.name, op: 'create', want: w, fields: ['missing'] });
      continue;
    }
    const stale = h.interfaces.some((i) => i.ofport === -1 || !!i.error);
    const fields = portFields(w, h, o.instance);
    const members = (h.interfaces.map((i) => i.name).sort()).join(',');
    const wantMembers = (w.type === 'bond' ? [...(w.bondMembers ?? [])].sort() : [w.name]).join(',');
    // A bond of one member is a port with one interface: compare bonds by their members only.
    const typeOf = w.type === 'bond' ? 'bond' : h.interfaces.length === 1 ? (h.interfaces[0]!.type || 'system') : 'bond';
    if (stale || members !== wantMembers || typeOf !== w.type) {
      const why = stale ? [`stale: ${h.interfaces.find((i) => i.error)?.error ?? 'no ofport'}`] : members !== wantMembers ? [`members ${members}→${wantMembers}`] : [`type ${typeOf}→${w.type}`];
      out.ports.push({ name: w.name, op: 'replace', want: w, have: h, fields: why, stale });
      continue;
    }
    if (fields.length) out.ports.push({ name: w.name, op: 'modify', want: w, have: h, fields });
  }
  for (const h of bridge?.ports ?? []) {
    if (h.name === bridge!.name || wantPorts.has(h.name)) continue;
    const stale = h.interfaces.some((i) => i.ofport === -1 || !!i.error);
    if (isOwnedPort(h, o.instance)) out.ports.push({ name: h.name, op: 'delete', have: h, fields: [stale ? 'stale, not wanted' : 'not wanted'], stale });
  }
  diffOvsExtras(want, have, bridge, o.instance, out);
  // Router namespaces: only this instance's (and this host's) are looked at.
  const prefix = o.host !== undefined ? routerOwner(o.instance, o.host, '') : routerOwner(o.instance, '', '').replace(/\/\/$/, '/');
  const mine = have.routers?.filter((r) => r.owner?.startsWith(prefix));
  const routers = diffRouters(want.routers ?? [], mine);
  if (routers.length) out.routers = routers;
  const fw = diffFirewall(want.firewall?.ports ?? [], have.firewallDigest);
  if (fw) out.firewall = fw;
  return out;
}

type Bridge = NonNullable<ObservedHost['ovs']>['bridges'][number];

/** Mirrors, QoS rows no port needs, and the OpenFlow meters and flows of outbound limits. */
function diffOvsExtras(want: DesiredHost, have: ObservedHost, bridge: Bridge | undefined, instance: string, out: HostDiff): void {
  const wantPorts = new Map((want.ovs?.ports ?? []).map((p) => [p.name, p]));
  const havePorts = new Map((bridge?.ports ?? []).map((p) => [p.name, p]));
  const renewed = new Set(out.ports.filter((c) => c.op === 'create' || c.op === 'replace').map((c) => c.name));

  // Mirrors.
  const mirrors: MirrorChange[] = [];
  const haveMirrors = new Map((bridge?.mirrors ?? []).map((m) => [m.name, m]));
  const wantMirrors = new Set((want.ovs?.mirrors ?? []).map((m) => m.name));
  for (const w of want.ovs?.mirrors ?? []) {
    if (!wantPorts.has(w.output) && !havePorts.has(w.output)) {
      out.problems.push(`mirror port ${w.output} of network ${w.network} is not a port of bridge ${want.ovs!.bridge}`);
      continue;
    }
    const h = haveMirrors.get(w.name);
    if (!h) {
      mirrors.push({ name: w.name, op: 'create', want: w, fields: ['missing'] });
      continue;
    }
    if (h.external[OVS_OWNER_KEY] !== instance) {
      out.problems.push(`ovs mirror ${w.name} exists and is not netform's`);
      continue;
    }
    const f: string[] = [];
    const sel = w.select.join(',');
    if (h.srcPorts.join(',') !== sel) f.push(`select_src_port ${h.srcPorts.join(',') || 'none'}→${sel}`);
    if (h.dstPorts.join(',') !== sel) f.push(`select_dst_port ${h.dstPorts.join(',') || 'none'}→${sel}`);
    if (h.output !== w.output) f.push(`output_port ${h.output ?? 'none'}→${w.output}`);
    const again = [...w.select, w.output].filter((p) => renewed.has(p));
    if (!f.length && again.length) f.push(`port ${again.join(',')} re-created`);
    if (f.length) mirrors.push({ name: w.name, op: 'modify', want: w, have: h, fields: f });
  }
  for (const h of bridge?.mirrors ?? []) {
    if (!wantMirrors.has(h.name) && h.external[OVS_OWNER_KEY] === instance) mirrors.push({ name: h.name, op: 'delete', have: h, fields: ['not wanted'] });
  }
  if (mirrors.length) {
    out.mirrors = mirrors;
    out.portUuids = Object.fromEntries((bridge?.ports ?? []).map((p) => [p.name, p.uuid]));
  }

  // QoS rows of this instance that no port refers to (a port that goes or changes its limit takes its
  // own row along in the same transaction: see planOvs).
  const referenced = new Set((have.ovs?.bridges ?? []).flatMap((b) => b.ports.flatMap((p) => (p.qos ? [p.qos.uuid] : []))));
  const garbage = (have.ovs?.qos ?? []).filter((q) => q.external[OVS_OWNER_KEY] === instance && !referenced.has(q.uuid));
  if (garbage.length) out.qosGarbage = garbage;

  // OpenFlow: one meter and one flow per OVS tap with an outbound limit.
  const wantMeters = (want.ovs?.ports ?? []).filter((p) => p.qos?.outbound).map((p) => ({ port: p.name, id: p.qos!.outbound!.meter, kbps: p.qos!.outbound!.kbps, burstKb: p.qos!.outbound!.burstKb }));
  const of = have.ovs?.openflow;
  if (!of) {
    if (wantMeters.length && bridge) {
      out.problems.push(`outbound limits need bridge ${bridge.name}'s OpenFlow socket: ${have.ovs?.openflowError ?? 'not observed'}`);
      return;
    }
    if (!wantMeters.length) return;
  }
  const haveMeters = new Map((of?.meters ?? []).map((m) => [m.id, m]));
  const meters: MeterChange[] = [];
  const flows: FlowChange[] = [];
  for (const w of wantMeters) {
    const h = haveMeters.get(w.id);
    if (!h) meters.push({ op: 'add', id: w.id, kbps: w.kbps, burstKb: w.burstKb, port: w.port });
    else if (h.kbps !== w.kbps || h.burstKb !== w.burstKb) meters.push({ op: 'modify', id: w.id, kbps: w.kbps, burstKb: w.burstKb, port: w.port });
  }
  const wantIds = new Set(wantMeters.map((w) => w.id));
  for (const h of of?.meters ?? []) if (!wantIds.has(h.id)) meters.push({ op: 'delete', id: h.id });
  const wantFlow = new Map(wantMeters.map((w) => [w.port, w.id]));
  for (const w of wantMeters) {
    const ok = (of?.flows ?? []).some((f) => f.inPort === w.port && f.meter === w.id);
    if (!ok || renewed.has(w.port)) flows.push({ op: 'add', port: w.port, meter: w.id });
  }
  for (const f of of?.flows ?? []) {
    if (wantFlow.get(f.inPort) !== f.meter || !havePorts.has(f.inPort)) {
      if (!flows.some((x) => x.op === 'delete' && x.port === f.inPort)) flows.push({ op: 'delete', port: f.inPort });
    }
  }
  if (meters.length || flows.length) out.openflow = { meters, flows };
}

function portFields(w: DesiredOvsPort, h: ObservedOvsPort, instance: string): string[] {
  const f: string[] = [];
  if ((w.tag ?? undefined) !== h.tag) f.push(`tag ${h.tag ?? 'none'}→${w.tag ?? 'none'}`);
  const wt = (w.trunks ?? []).join(',');
  const ht = [...h.trunks].sort((a, b) => a - b).join(',');
  if (wt !== ht) f.push(`trunks ${ht || 'none'}→${wt || 'none'}`);
  if (w.type === 'bond') {
    if ((w.bondMode ?? undefined) !== h.bondMode) f.push(`bond_mode ${h.bondMode ?? 'none'}→${w.bondMode}`);
    if ((w.lacp ?? 'off') !== (h.lacp ?? 'off')) f.push(`lacp ${h.lacp ?? 'off'}→${w.lacp ?? 'off'}`);
  }
  if (w.mtu !== undefined && w.type !== 'bond') {
    const mr = h.interfaces[0]?.mtuRequest;
    if (mr !== w.mtu) f.push(`mtu_request ${mr ?? 'none'}→${w.mtu}`);
  }
  if (w.network !== undefined && h.external[OVS_NETWORK_KEY] !== w.network) f.push(`network ${h.external[OVS_NETWORK_KEY] ?? 'none'}→${w.network}`);
  // A VM tap's interface ids (iface-id, attached-mac, vm-id, iface-status) are compared on every pass,
  // not only set at creation: whatever else reads them (a VM manager, an SDN agent) sees the truth.
  if (w.external && w.type !== 'bond') {
    const hx = h.interfaces[0]?.external ?? {};
    for (const [k, v] of Object.entries(w.external).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (hx[k] !== v) f.push(`external_ids:${k} ${hx[k] ?? 'none'}→${v}`);
    }
  }
  // Inbound limit: netform's linux-htb QoS on the port. A QoS that is not netform's is left alone
  // unless a limit is wanted (then the port points to netform's instead).
  const hin = qosRate(h.qos, instance);
  const win = w.qos?.inbound;
  if (win ? !sameRate(hin, win) : h.qos?.external[OVS_OWNER_KEY] === instance) f.push(`qos inbound ${h.qos && !hin ? 'foreign' : fmtRate(hin)}→${fmtRate(win)}`);
  return f;
}

export interface NetworkSync {
  name: string;
  inSync: boolean;
  difference?: string;
}

/** Per network of the desired host: in sync when none of its devices or ports differ. */
export function networkSync(want: DesiredHost, d: HostDiff): NetworkSync[] {
  return want.networks.map((n) => {
    const mine = new Set([...n.devices, ...n.ovsPorts]);
    const diffs = [
      ...d.links.filter((c) => mine.has(c.name)).map((c) => `${c.name}: ${c.fields.join(', ')}`),
      ...d.ports.filter((c) => mine.has(c.name)).map((c) => `ovs port ${c.name}: ${c.fields.join(', ')}`),
      ...(d.mirrors ?? []).filter((c) => mine.has(c.name)).map((c) => `ovs mirror ${c.name}: ${c.fields.join(', ')}`),
      ...(d.openflow?.meters ?? []).filter((c) => c.port && mine.has(c.port)).map((c) => `${c.port}: outbound meter ${c.op === 'add' ? 'missing' : 'differs'}`),
      ...(d.openflow?.flows ?? []).filter((c) => mine.has(c.port) && c.op === 'add').map((c) => `${c.port}: outbound meter flow missing`),
      ...(d.tc ?? []).filter((c) => mine.has(c.device)).map((c) => `${c.device}: tc ${c.fields.join(', ')}`),
      ...d.addresses.filter((a) => mine.has(a.device)).map((a) => `${a.device}: ${a.op === 'add' ? 'missing' : 'extra'} address ${a.cidr}`),
      ...(d.createBridge && n.fabric === 'ovs' ? [`ovs bridge ${d.createBridge.name} missing`] : []),
      ...d.problems.filter((p) => [...mine].some((m) => p.includes(` ${m} `))),
    ];
    return diffs.length ? { name: n.name, inSync: false, difference: diffs.join('; ') } : { name: n.name, inSync: true };
  });
}

/** Whether netform's filter tables hold what the taps' security groups say (by the digest the tables
 *  carry); undefined: in sync. */
export function diffFirewall(want: readonly DesiredFirewallPort[], have: string | undefined): HostDiff['firewall'] {
  const digest = want.length ? renderFirewall(want.map((p) => ({ device: p.device, stateful: p.stateful, rules: p.rules }))).digest : undefined;
  if (digest === have) return undefined;
  return { want: [...want], ...(digest ? { digest } : {}), ...(have ? { have } : {}), fields: [`rules ${have ? have.slice(0, 12) : 'none'}→${digest ? digest.slice(0, 12) : 'none'}`] };
}

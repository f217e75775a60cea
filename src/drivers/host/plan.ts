// A host diff as one `ip -batch` script and one OVSDB transaction, in a safe order. Pure.
//
// ip order: (1) owned devices to remove or replace are moved to DOOMED_GROUP and deleted in one
// request; (2) masters released; (3) bonds, (4) MTUs raised parent-first, (5) VLAN sub-interfaces,
// bridges and taps created, (6) masters set, (7) MTUs lowered child-first, (8) links up/down, (9)
// addresses. Every name is validated before it reaches a command line.
import {
  ALIAS_PREFIX,
  DOOMED_GROUP,
  FLOW_COOKIE,
  FLOW_COOKIE_MASK,
  FLOW_PRIORITY,
  isIfname,
  METER_BASE,
  NETFORM_GROUP,
  OVS_NETWORK_KEY,
  OVS_OWNER_KEY,
  type DesiredLink,
  type DesiredMirror,
  type DesiredOvsPort,
  type ObservedQos,
  type Rate,
} from './model.ts';
import { tbfBurstKb } from './desired.ts';
import type { HostDiff } from './diff.ts';

export interface HostPlan {
  /** Lines for `ip -batch -` (without the leading `ip`). */
  ip: string[];
  /** Operations of one OVSDB transaction on the Open_vSwitch database (empty: nothing for OVS). */
  ovs: unknown[];
  /** `ovs-ofctl -O OpenFlow13` commands, each as [command, argument] (the bridge's socket goes between). */
  openflow: [string, string][];
  /** Lines for `tc -batch -` (without the leading `tc`), run once the devices exist. */
  tc: string[];
  /** Mirrors changed: ovs-vswitchd's datapath flows must be revalidated (it does not do so by itself;
   *  flows already in the datapath would keep copying, or not copying, until they idle out). */
  revalidate: boolean;
}

const DEPTH: Record<DesiredLink['kind'], number> = { nic: 0, bond: 1, vlan: 2, bridge: 3, tap: 4, ifb: 4, veth: 4 };

function check(name: string): string {
  if (!isIfname(name)) throw new Error(`refusing interface name ${JSON.stringify(name)}: not a valid interface name`);
  return name;
}

function alias(purpose: string | undefined): string {
  // No spaces: ip's batch parser splits on them.
  return `${ALIAS_PREFIX}${(purpose ?? 'device').replace(/[^A-Za-z0-9_./:-]/g, '_')}`.slice(0, 255);
}

function checkCidr(cidr: string): string {
  if (!/^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(cidr)) throw new Error(`refusing address ${JSON.stringify(cidr)}`);
  return cidr;
}

export function planHost(d: HostDiff, opts: { instance: string; bridge: string }): HostPlan {
  const ip: string[] = [];
  const doomed = d.links.filter((c) => c.op === 'delete' || c.op === 'replace');
  for (const c of doomed) ip.push(`link set dev ${check(c.name)} group ${DOOMED_GROUP}`);
  if (doomed.length) ip.push(`link del group ${DOOMED_GROUP}`);

  const fresh = d.links.filter((c) => c.op === 'create' || c.op === 'replace').map((c) => c.want!);
  const mods = d.links.filter((c) => c.op === 'modify');
  const byDepth = <T extends { want?: DesiredLink }>(xs: T[], dir: 1 | -1) => [...xs].sort((a, b) => dir * (DEPTH[a.want!.kind] - DEPTH[b.want!.kind]) || (a.want!.name < b.want!.name ? -1 : 1));

  // (2) release masters that change
  for (const c of mods) {
    if (c.fields.some((f) => f.startsWith('master ')) && c.have?.master) ip.push(`link set dev ${check(c.name)} nomaster`);
  }
  // (3) bonds, with their members (a member must be down to be enslaved)
  for (const w of fresh.filter((l) => l.kind === 'bond')) {
    const opts2 = [`mode ${w.bond!.mode}`];
    if (w.bond!.miimonMs !== undefined) opts2.push(`miimon ${w.bond!.miimonMs}`);
    if (w.bond!.lacpRate) opts2.push(`lacp_rate ${w.bond!.lacpRate}`);
    ip.push(`link add name ${check(w.name)}${w.mac ? ` address ${w.mac}` : ''} group ${NETFORM_GROUP} type bond ${opts2.join(' ')}`);
    ip.push(`link set dev ${w.name} alias ${alias(w.purpose)}`);
  }
  // (4) MTUs that grow, parents first
  const grow = mods.filter((c) => c.want?.mtu !== undefined && c.have && c.want.mtu > c.have.mtu);
  for (const c of byDepth(grow, 1)) ip.push(`link set dev ${check(c.name)} mtu ${c.want!.mtu}`);
  // …and of new bonds, before the VLANs on them are created (a VLAN's MTU cannot exceed its parent's)
  for (const w of fresh.filter((l) => l.kind === 'bond' && l.mtu !== undefined)) ip.push(`link set dev ${w.name} mtu ${w.mtu}`);
  // (5) new devices, parents first
  for (const w of [...fresh].sort((a, b) => DEPTH[a.kind] - DEPTH[b.kind] || (a.name < b.name ? -1 : 1))) {
    const mac = w.mac ? ` address ${w.mac}` : '';
    const mtu = w.mtu !== undefined ? ` mtu ${w.mtu}` : '';
    if (w.kind === 'vlan') ip.push(`link add link ${check(w.parent!)} name ${check(w.name)}${mac}${mtu} group ${NETFORM_GROUP} type vlan id ${w.vlanId}`);
    else if (w.kind === 'bridge') ip.push(`link add name ${check(w.name)}${mac}${mtu} group ${NETFORM_GROUP} type bridge`);
    else if (w.kind === 'ifb') ip.push(`link add name ${check(w.name)}${mac}${mtu} group ${NETFORM_GROUP} type ifb`);
    else if (w.kind === 'veth') {
      // The other end goes straight into its namespace (a router's, made before this batch).
      const peer = w.peer!;
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(peer.netns)) throw new Error(`refusing network namespace name ${JSON.stringify(peer.netns)}`);
      ip.push(`link add name ${check(w.name)}${mac}${mtu} group ${NETFORM_GROUP} type veth peer name ${check(peer.name)}${mtu} netns ${peer.netns}`);
    } else if (w.kind === 'tap') {
      ip.push(`tuntap add dev ${check(w.name)} mode tap`);
      ip.push(`link set dev ${w.name} group ${NETFORM_GROUP}${mtu}${mac}`);
    } else continue;
    ip.push(`link set dev ${w.name} alias ${alias(w.purpose)}`);
  }
  // (6) masters (bond members first, while down)
  const masters: { name: string; master: string; kind: DesiredLink['kind'] }[] = [];
  for (const w of fresh) if (w.master) masters.push({ name: w.name, master: w.master, kind: w.kind });
  for (const c of mods) if (c.want?.master && c.fields.some((f) => f.startsWith('master '))) masters.push({ name: c.name, master: c.want.master, kind: c.want.kind });
  // A NIC goes down before `master` whatever the master: a bond refuses a member that is up, and a
  // bond that does not change is not in the diff to tell it from a bridge. (8) sets it up again.
  const bonds = new Set([...fresh, ...mods.map((c) => c.want!)].filter((l) => l.kind === 'bond').map((l) => l.name));
  const downFirst = (x: (typeof masters)[number]) => bonds.has(x.master) || x.kind === 'nic';
  for (const m of masters.filter(downFirst)) {
    ip.push(`link set dev ${check(m.name)} down`);
    ip.push(`link set dev ${m.name} master ${check(m.master)}`);
  }
  for (const m of masters.filter((x) => !downFirst(x))) ip.push(`link set dev ${check(m.name)} master ${check(m.master)}`);
  // A new bridge follows its smallest port's MTU until one is set on it explicitly: pin it now.
  for (const w of fresh.filter((l) => l.kind === 'bridge' && l.mtu !== undefined)) ip.push(`link set dev ${w.name} mtu ${w.mtu}`);
  // (7) MTUs that shrink, children first
  const shrink = mods.filter((c) => c.want?.mtu !== undefined && c.have && c.want.mtu < c.have.mtu);
  for (const c of byDepth(shrink, -1)) ip.push(`link set dev ${check(c.name)} mtu ${c.want!.mtu}`);
  // (8) up / down, parents first
  const updown = [...fresh.map((w) => ({ want: w })), ...mods.filter((c) => c.fields.includes('up') || c.fields.includes('down') || c.fields.some((f) => f.startsWith('master ')))];
  for (const c of byDepth(updown, 1)) ip.push(`link set dev ${check(c.want!.name)} ${c.want!.down ? 'down' : 'up'}`);
  // (9) addresses
  for (const a of d.addresses.filter((x) => x.op === 'remove')) ip.push(`address del ${checkCidr(a.cidr)} dev ${check(a.device)}`);

  const ovs = planOvs(d, opts.instance, opts.bridge);
  // Addresses on OVS internal ports can only be added once OVS made the device: they go last, in a
  // second ip pass the applier runs after the OVS transaction (see `addressLines`).
  return { ip, ovs, openflow: planOpenFlow(d), tc: planTc(d), revalidate: !!d.mirrors?.length };
}

function checkRate(r: Rate): Rate {
  const ok = (n: number | undefined) => n === undefined || (Number.isSafeInteger(n) && n > 0 && n <= 1e9);
  if (!ok(r.kbps) || !ok(r.burstKb)) throw new Error(`refusing rate ${JSON.stringify(r)}: kbps and burst must be whole numbers from 1 to 10^9`);
  return r;
}

function checkMeter(id: number): number {
  if (!Number.isSafeInteger(id) || id < METER_BASE || id > METER_BASE + 0xffff) throw new Error(`refusing meter id ${id}: not in netform's range`);
  return id;
}

/**
 * OpenFlow commands for outbound limits, in a safe order: flows that go, meters that go (OpenFlow 1.3
 * drops the flows using a deleted meter too), meters added or changed, then the flows that use them
 * (`add-flow` replaces a flow of the same match). Port names are quoted so a name is never read as a number.
 */
export function planOpenFlow(d: HostDiff): [string, string][] {
  const of = d.openflow;
  if (!of) return [];
  const out: [string, string][] = [];
  const cookie = `cookie=${FLOW_COOKIE}/${FLOW_COOKIE_MASK}`;
  const inPort = (p: string) => (/^\d+$/.test(p) ? p : `"${check(p)}"`);
  for (const f of of.flows.filter((x) => x.op === 'delete')) out.push(['del-flows', `${cookie},in_port=${inPort(f.port)}`]);
  for (const m of of.meters.filter((x) => x.op === 'delete')) out.push(['del-meter', `meter=${checkMeter(m.id)}`]);
  for (const m of of.meters.filter((x) => x.op !== 'delete')) {
    const r = checkRate({ kbps: m.kbps!, burstKb: m.burstKb! });
    out.push([m.op === 'add' ? 'add-meter' : 'mod-meter', `meter=${checkMeter(m.id)},kbps,burst,band=type=drop,rate=${r.kbps},burst_size=${r.burstKb}`]);
  }
  for (const f of of.flows.filter((x) => x.op === 'add')) {
    out.push(['add-flow', `cookie=${FLOW_COOKIE},priority=${FLOW_PRIORITY},in_port=${inPort(f.port)},actions=meter:${checkMeter(f.meter!)},NORMAL`]);
  }
  return out;
}

/**
 * tc lines that rewrite each changed device's traffic control from scratch: the root tbf replaced or
 * removed, the clsact qdisc (and with it every filter on it) removed and added again with one
 * match-all filter per direction whose actions copy to the mirror port and/or redirect to the ifb.
 */
export function planTc(d: HostDiff): string[] {
  const out: string[] = [];
  const tbf = (dev: string, r: Rate) => {
    const { kbps, burstKb } = checkRate(r);
    return `qdisc replace dev ${dev} root tbf rate ${kbps}kbit burst ${(burstKb ?? tbfBurstKb(kbps)) * 125} latency 50ms`;
  };
  for (const c of d.tc ?? []) {
    const dev = check(c.device);
    const w = c.want;
    if (w?.inbound) out.push(tbf(dev, w.inbound));
    else if (c.have?.tbf) out.push(`qdisc del dev ${dev} root`);
    if (c.have?.clsact) out.push(`qdisc del dev ${dev} clsact`);
    const ingress: string[] = [];
    const egress: string[] = [];
    if (w?.mirrorTo) {
      const m = `action mirred egress mirror dev ${check(w.mirrorTo)}`;
      ingress.push(m);
      egress.push(m);
    }
    if (w?.outbound) ingress.push(`action mirred egress redirect dev ${check(w.outbound.ifb)}`);
    if (ingress.length || egress.length) out.push(`qdisc add dev ${dev} clsact`);
    // Match everything with a one-instruction classic BPF program (`ret #-1`): this kernel has no
    // matchall, and u32 filters share their hash tables between a clsact's ingress and egress, so
    // `tc filter show … ingress` would list the egress ones too.
    const all = 'protocol all pref 1 bpf bytecode "1,6 0 0 4294967295,"';
    if (ingress.length) out.push(`filter add dev ${dev} ingress ${all} ${ingress.join(' ')}`);
    if (egress.length) out.push(`filter add dev ${dev} egress ${all} ${egress.join(' ')}`);
  }
  return out;
}

/** A QoS row (linux-htb, capped at the rate) with its queue 0, inserted in the transaction; returns its named uuid. */
function insertQos(ops: unknown[], r: Rate, instance: string, uid: (p: string) => string): string {
  const { kbps, burstKb } = checkRate(r);
  const qid = uid('q');
  const queue: Record<string, string> = { 'max-rate': String(kbps * 1000) };
  if (burstKb !== undefined) queue.burst = String(burstKb * 1000);
  ops.push({ op: 'insert', table: 'Queue', 'uuid-name': qid, row: { other_config: map(queue), external_ids: map({ [OVS_OWNER_KEY]: instance }) } });
  const sid = uid('s');
  ops.push({
    op: 'insert',
    table: 'QoS',
    'uuid-name': sid,
    row: { type: 'linux-htb', other_config: map({ 'max-rate': String(kbps * 1000) }), queues: ['map', [[0, ['named-uuid', qid]]]], external_ids: map({ [OVS_OWNER_KEY]: instance }) },
  });
  return sid;
}

/** Deletes a QoS row netform owns and its queues (both are root tables: nothing collects them). */
function deleteQos(ops: unknown[], q: ObservedQos, instance: string): void {
  if (q.external[OVS_OWNER_KEY] !== instance) return;
  ops.push({ op: 'delete', table: 'QoS', where: [['_uuid', '==', ['uuid', q.uuid]]] });
  for (const u of q.queueUuids) ops.push({ op: 'delete', table: 'Queue', where: [['_uuid', '==', ['uuid', u]]] });
}

/** Address additions, run after the OVS transaction (internal ports' devices exist only then). */
export function addressLines(d: HostDiff): string[] {
  return d.addresses.filter((a) => a.op === 'add').map((a) => `address add ${checkCidr(a.cidr)} dev ${check(a.device)}`);
}

const set = (xs: unknown[]) => ['set', xs];
const map = (o: Record<string, string>) => ['map', Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))];

function interfaceRow(name: string, type: 'system' | 'internal', mtu: number | undefined): Record<string, unknown> {
  const row: Record<string, unknown> = { name: check(name), type: type === 'internal' ? 'internal' : '' };
  if (mtu !== undefined) row.mtu_request = mtu;
  return row;
}

function portRow(p: DesiredOvsPort, instance: string, interfaces: string[]): Record<string, unknown> {
  const external: Record<string, string> = { [OVS_OWNER_KEY]: instance };
  if (p.network) external[OVS_NETWORK_KEY] = p.network;
  const row: Record<string, unknown> = {
    name: check(p.name),
    interfaces: set(interfaces.map((n) => ['named-uuid', n])),
    external_ids: map(external),
    tag: p.tag !== undefined ? p.tag : set([]),
    trunks: set(p.trunks ?? []),
  };
  if (p.type === 'bond') {
    row.bond_mode = p.bondMode ?? 'active-backup';
    row.lacp = p.lacp ?? 'off';
  }
  return row;
}

/** OVSDB operations: create the bridge if needed, add/replace/modify/delete ports — one transaction. */
export function planOvs(d: HostDiff, instance: string, bridge: string): unknown[] {
  const ops: unknown[] = [];
  const bridgeName = d.createBridge?.name ?? bridge;
  const bridgeWhere = [['name', '==', bridgeName]];
  const insertPorts: string[] = [];
  const portRefs = new Map<string, unknown>(Object.entries(d.portUuids ?? {}).map(([k, u]) => [k, ['uuid', u]]));
  let n = 0;
  const uid = (prefix: string) => `${prefix}${n++}`;
  const addPort = (p: DesiredOvsPort) => {
    const ifaces: string[] = [];
    const names = p.type === 'bond' ? (p.bondMembers ?? []) : [p.name];
    for (const name of names) {
      const id = uid('i');
      ifaces.push(id);
      ops.push({ op: 'insert', table: 'Interface', 'uuid-name': id, row: { ...interfaceRow(name, p.type === 'internal' ? 'internal' : 'system', p.mtu), external_ids: map(p.external ?? {}) } });
    }
    const pid = uid('p');
    const row = portRow(p, instance, ifaces);
    if (p.qos?.inbound) row.qos = ['named-uuid', insertQos(ops, p.qos.inbound, instance, uid)];
    ops.push({ op: 'insert', table: 'Port', 'uuid-name': pid, row });
    insertPorts.push(pid);
    portRefs.set(p.name, ['named-uuid', pid]);
  };
  if (d.createBridge) {
    const iid = uid('i');
    const pid = uid('p');
    ops.push({ op: 'insert', table: 'Interface', 'uuid-name': iid, row: { name: check(bridgeName), type: 'internal' } });
    ops.push({ op: 'insert', table: 'Port', 'uuid-name': pid, row: { name: bridgeName, interfaces: ['named-uuid', iid] } });
    insertPorts.push(pid);
  }
  const removeUuids: string[] = [];
  for (const c of d.ports) {
    if (c.op === 'delete' || c.op === 'replace') {
      removeUuids.push(c.have!.uuid);
      portRefs.delete(c.name);
      // The port's QoS row goes with it (it is a root row: nothing else would remove it).
      const q = c.have!.qos;
      if (q?.external[OVS_OWNER_KEY] === instance) {
        ops.push({ op: 'update', table: 'Port', where: [['_uuid', '==', ['uuid', c.have!.uuid]]], row: { qos: set([]) } });
        deleteQos(ops, q, instance);
      }
    }
    if (c.op === 'create' || c.op === 'replace') addPort(c.want!);
    if (c.op === 'modify') {
      const p = c.want!;
      const row: Record<string, unknown> = { tag: p.tag !== undefined ? p.tag : set([]), trunks: set(p.trunks ?? []) };
      if (p.type === 'bond') {
        row.bond_mode = p.bondMode ?? 'active-backup';
        row.lacp = p.lacp ?? 'off';
      }
      // Modifying a port (an uplink someone else added, say) does not make it netform's to delete.
      const external: Record<string, string> = { ...c.have!.external };
      if (p.network) external[OVS_NETWORK_KEY] = p.network;
      row.external_ids = map(external);
      if (c.fields.some((f) => f.startsWith('qos '))) {
        row.qos = p.qos?.inbound ? ['named-uuid', insertQos(ops, p.qos.inbound, instance, uid)] : set([]);
        if (c.have!.qos) deleteQos(ops, c.have!.qos, instance);
      }
      ops.push({ op: 'update', table: 'Port', where: [['_uuid', '==', ['uuid', c.have!.uuid]]], row });
      if (p.mtu !== undefined && p.type !== 'bond') {
        ops.push({ op: 'update', table: 'Interface', where: [['name', '==', check(p.name)]], row: { mtu_request: p.mtu } });
      }
      // The interface's ids as desired; keys netform does not set are kept.
      const hx = c.have!.interfaces[0]?.external ?? {};
      if (p.external && p.type !== 'bond' && Object.entries(p.external).some(([k, v]) => hx[k] !== v)) {
        ops.push({ op: 'update', table: 'Interface', where: [['name', '==', check(p.name)]], row: { external_ids: map({ ...hx, ...p.external }) } });
      }
    }
  }
  for (const q of d.qosGarbage ?? []) deleteQos(ops, q, instance);
  // Mirrors: rows written whole; they refer to ports by uuid (or by the named uuid of a port inserted now).
  const ref = (name: string) => {
    const r = portRefs.get(name);
    if (!r) throw new Error(`mirror refers to port ${JSON.stringify(name)}, which the bridge does not have`);
    return r;
  };
  const mirrorRow = (m: DesiredMirror) => ({
    name: m.name,
    select_src_port: set(m.select.map(ref)),
    select_dst_port: set(m.select.map(ref)),
    output_port: ref(m.output),
    external_ids: map({ [OVS_OWNER_KEY]: instance, [OVS_NETWORK_KEY]: m.network }),
  });
  const insertMirrors: string[] = [];
  const removeMirrors: string[] = [];
  for (const c of d.mirrors ?? []) {
    if (c.op === 'delete') removeMirrors.push(c.have!.uuid);
    else if (c.op === 'modify') ops.push({ op: 'update', table: 'Mirror', where: [['_uuid', '==', ['uuid', c.have!.uuid]]], row: mirrorRow(c.want!) });
    else {
      const mid = uid('m');
      ops.push({ op: 'insert', table: 'Mirror', 'uuid-name': mid, row: mirrorRow(c.want!) });
      insertMirrors.push(mid);
    }
  }
  if (d.createBridge) {
    const bid = uid('b');
    ops.push({
      op: 'insert',
      table: 'Bridge',
      'uuid-name': bid,
      row: {
        name: bridgeName,
        datapath_type: d.createBridge.datapath,
        ports: set(insertPorts.map((p) => ['named-uuid', p])),
        ...(insertMirrors.length ? { mirrors: set(insertMirrors.map((m) => ['named-uuid', m])) } : {}),
        external_ids: map({ [OVS_OWNER_KEY]: instance }),
      },
    });
    ops.push({ op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', set([['named-uuid', bid]])]] });
  } else {
    if (removeUuids.length) ops.push({ op: 'mutate', table: 'Bridge', where: bridgeWhere, mutations: [['ports', 'delete', set(removeUuids.map((u) => ['uuid', u]))]] });
    if (insertPorts.length) ops.push({ op: 'mutate', table: 'Bridge', where: bridgeWhere, mutations: [['ports', 'insert', set(insertPorts.map((p) => ['named-uuid', p]))]] });
    if (removeMirrors.length) ops.push({ op: 'mutate', table: 'Bridge', where: bridgeWhere, mutations: [['mirrors', 'delete', set(removeMirrors.map((u) => ['uuid', u]))]] });
    if (insertMirrors.length) ops.push({ op: 'mutate', table: 'Bridge', where: bridgeWhere, mutations: [['mirrors', 'insert', set(insertMirrors.map((m) => ['named-uuid', m]))]] });
  }
  return ops;
}

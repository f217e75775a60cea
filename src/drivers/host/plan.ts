// A host diff as one `ip -batch` script and one OVSDB transaction, in a safe order. Pure.
//
// ip order: (1) owned devices to remove or replace are moved to DOOMED_GROUP and deleted in one
// request; (2) masters released; (3) bonds, (4) MTUs raised parent-first, (5) VLAN sub-interfaces,
// bridges and taps created, (6) masters set, (7) MTUs lowered child-first, (8) links up/down, (9)
// addresses. Every name is validated before it reaches a command line.
import {
  ALIAS_PREFIX,
  DOOMED_GROUP,
  isIfname,
  NETFORM_GROUP,
  OVS_NETWORK_KEY,
  OVS_OWNER_KEY,
  type DesiredLink,
  type DesiredOvsPort,
} from './model.ts';
import type { HostDiff } from './diff.ts';

export interface HostPlan {
  /** Lines for `ip -batch -` (without the leading `ip`). */
  ip: string[];
  /** Operations of one OVSDB transaction on the Open_vSwitch database (empty: nothing for OVS). */
  ovs: unknown[];
}

const DEPTH: Record<DesiredLink['kind'], number> = { nic: 0, bond: 1, vlan: 2, bridge: 3, tap: 4 };

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
    else if (w.kind === 'tap') {
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
  return { ip, ovs };
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
    ops.push({ op: 'insert', table: 'Port', 'uuid-name': pid, row: portRow(p, instance, ifaces) });
    insertPorts.push(pid);
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
    if (c.op === 'delete' || c.op === 'replace') removeUuids.push(c.have!.uuid);
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
  if (d.createBridge) {
    const bid = uid('b');
    ops.push({
      op: 'insert',
      table: 'Bridge',
      'uuid-name': bid,
      row: { name: bridgeName, datapath_type: d.createBridge.datapath, ports: set(insertPorts.map((p) => ['named-uuid', p])), external_ids: map({ [OVS_OWNER_KEY]: instance }) },
    });
    ops.push({ op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', set([['named-uuid', bid]])]] });
  } else {
    if (removeUuids.length) ops.push({ op: 'mutate', table: 'Bridge', where: bridgeWhere, mutations: [['ports', 'delete', set(removeUuids.map((u) => ['uuid', u]))]] });
    if (insertPorts.length) ops.push({ op: 'mutate', table: 'Bridge', where: bridgeWhere, mutations: [['ports', 'insert', set(insertPorts.map((p) => ['named-uuid', p]))]] });
  }
  return ops;
}

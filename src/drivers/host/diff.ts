// What differs between the desired and the observed host, and what that means per network. Pure.
import {
  isOwnedLink,
  isOwnedPort,
  OVS_NETWORK_KEY,
  type DesiredHost,
  type DesiredLink,
  type DesiredOvsPort,
  type ObservedHost,
  type ObservedLink,
  type ObservedOvsPort,
} from './model.ts';

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

export interface HostDiff {
  links: LinkChange[];
  ports: PortChange[];
  addresses: { device: string; cidr: string; op: 'add' | 'remove' }[];
  /** The integration bridge must be created. */
  createBridge?: { name: string; datapath: string };
  /** Things netform must not or cannot fix (a NIC missing, a device that is someone else's). */
  problems: string[];
}

export interface DiffOptions {
  instance: string;
}

const KIND_OF: Record<DesiredLink['kind'], string | undefined> = { nic: undefined, bond: 'bond', vlan: 'vlan', bridge: 'bridge', tap: undefined };

export function isEmpty(d: HostDiff): boolean {
  return !d.links.length && !d.ports.length && !d.addresses.length && !d.createBridge;
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
    const fields = portFields(w, h);
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
  return out;
}

function portFields(w: DesiredOvsPort, h: ObservedOvsPort): string[] {
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
      ...d.addresses.filter((a) => mine.has(a.device)).map((a) => `${a.device}: ${a.op === 'add' ? 'missing' : 'extra'} address ${a.cidr}`),
      ...(d.createBridge && n.fabric === 'ovs' ? [`ovs bridge ${d.createBridge.name} missing`] : []),
      ...d.problems.filter((p) => [...mine].some((m) => p.includes(` ${m} `))),
    ];
    return diffs.length ? { name: n.name, inSync: false, difference: diffs.join('; ') } : { name: n.name, inSync: true };
  });
}

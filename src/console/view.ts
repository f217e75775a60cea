// The console's view model: what the engine knows (declared objects, records with their status, the
// host agents' reports, plans held for approval) as the one JSON document the browser app renders
// (GET /api/v1/view, and each `view` event of /api/v1/stream). Pure: no I/O, no clock but the one
// passed in. Field names are a contract with console/ — add fields, never rename.
import { getCondition } from '../api/conditions.ts';
import { objectKey, parseKey, type AnyResource, type Cluster, type Condition, type Host, type Kind, type Network } from '../api/kinds.ts';
import type { HostReport } from '../drivers/host-driver.ts';
import type { DesiredStore } from '../state/store.ts';
import type { ObjectRecord, RecordStore } from '../state/records.ts';
import { hostNetworks, type Placement } from '../controllers/host/host.model.ts';
import { objectFromRecord } from '../controllers/runtime/runtime.ts';

export type Health = 'ok' | 'progressing' | 'degraded' | 'unknown';
export interface Cond {
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  /** When the condition last changed status (added). */
  since?: string;
}
/** A plan held for approval (status.pendingPlan): approve exactly `digest`. */
export interface PendingPlan {
  digest: string;
  summary?: string;
  changes: string[];
  /** The impact on VMs in words (added). */
  impact?: string;
  /** When it was computed (added). */
  computedAt?: string;
}
export interface NetworkRow {
  name: string;
  vlan?: number;
  mtu: number;
  physicalNetwork?: string;
  providers: { name: string; externalId?: string; type?: string }[];
  ready?: Cond;
  synced?: Cond;
  health: Health;
  /** Hosts carrying it (placed on a NIC or bond), sorted. */
  hosts: string[];
  /** Its vNICs, as NAMESPACE/NAME of their VnicAttachment, sorted. */
  vnics: string[];
  /** What differs, when it is out of sync anywhere (a host, a backend, a held plan). */
  outOfSync?: string;
  // Added:
  /** The object key, e.g. `Network/web`. */
  key: string;
  stalled?: Cond;
  pendingPlan?: PendingPlan;
  /** Its service endpoints, as NAMESPACE/NAME, sorted. */
  endpoints: string[];
  description?: string;
}
export interface InterfaceRow {
  name: string;
  address?: string;
  mac?: string;
  speedMbps?: number;
  rxMbps?: number;
  txMbps?: number;
  drops?: number;
  bond?: string;
  fabric?: string;
  network?: string;
}
export interface HostView {
  name: string;
  cluster?: string;
  health: Health;
  ready?: Cond;
  synced?: Cond;
  lastReport?: string;
  interfaces: InterfaceRow[];
  bonds: { name: string; members: string[] }[];
  dynamicVnics?: { total: number; free: number };
  outOfSync: { name: string; difference: string }[];
  pendingPlan?: PendingPlan;
  // Added:
  key: string;
  stalled?: Cond;
  address?: string;
  /** Why the agent cannot realize the spec as it stands. */
  problems: string[];
  /** Networks it carries, each on which NIC or bond and fabric. */
  networks: { name: string; interface: string; fabric: string; inSync?: boolean }[];
}
export type TopoKind = 'provider' | 'network' | 'host' | 'nic' | 'bond' | 'bridge' | 'vm' | 'router' | 'endpoint' | 'group';
export interface TopoNode {
  id: string;
  kind: TopoKind;
  label: string;
  health: Health;
  /** The object key to click through to, e.g. Network/web. */
  key?: string;
  /** A collapsed group of repeated leaves: how many. */
  count?: number;
  // Added:
  /** A device's host (node id): a renderer may draw the host as a box around its devices. */
  parent?: string;
  /** A group: the kind of the nodes it stands for, and their ids. */
  groupOf?: TopoKind;
  members?: string[];
  /** A bridge: the networks riding it. */
  networks?: string[];
}
export interface TopoEdge {
  from: string;
  to: string;
  // Added:
  /** realizes (provider→network/router), carries (network→host), has (host→its device or router),
   *  uplink (bridge→NIC/bond), member (bond→NIC), vnic (bridge or network or host→VM), interface and
   *  gateway (network→router), endpoint (bridge or network→service endpoint). */
  kind: 'realizes' | 'carries' | 'has' | 'uplink' | 'member' | 'vnic' | 'interface' | 'gateway' | 'endpoint';
  /** E.g. the vNICs and networks of a VM edge. */
  label?: string;
}
export interface ObjectRow {
  key: string;
  kind: string;
  name: string;
  namespace?: string;
  health: Health;
  ready?: Cond;
  synced?: Cond;
  stalled?: Cond;
  pendingPlan?: PendingPlan;
  // Added:
  /** Declared in the manifests (false: only its record is left, it is being removed). */
  declared: boolean;
  /** Admission errors of its latest declaration. */
  invalid?: string;
  generation?: number;
}
export interface ConsoleEvent {
  time: string;
  key: string;
  /** The condition type, or 'action'. */
  type: string;
  status?: string;
  reason?: string;
  message?: string;
}
export interface ConsoleView {
  generatedAt: string;
  mode: 'file' | 'cluster';
  canApprove: boolean;
  networks: NetworkRow[];
  hosts: HostView[];
  topology: { nodes: TopoNode[]; edges: TopoEdge[] };
  objects: ObjectRow[];
  events: ConsoleEvent[];
}

/** What the view is built from: the engine's desired store, its records, the agents' reports. */
export interface ViewSource {
  store: Pick<DesiredStore, 'get' | 'keys' | 'list' | 'invalid' | 'invalidKeys' | 'hashOf'>;
  records: Pick<RecordStore, 'get' | 'list'>;
  /** The latest report per key (a host agent's, under its Host's key). */
  reports: ReadonlyMap<string, unknown>;
}

export interface ViewOptions {
  mode: 'file' | 'cluster';
  canApprove?: boolean;
  now: Date;
  events?: readonly ConsoleEvent[];
  /** A parent with more children of one kind than this shows them as one group node. Default 8. */
  collapseAbove?: number;
  /** The Open vSwitch integration bridge's name (the ovs fabric). Default br-int. */
  ovsBridge?: string;
}

/** Ready reasons that need the user, whatever Stalled says. */
const TERMINAL_READY = new Set(['InsufficientCapacity', 'AgentLost', 'InvalidSpec', 'BackendRejected', 'ReplaceRequired', 'DriftDetected', 'NotFound', 'DriverUnavailable', 'CredentialsError']);

/**
 * An object's health from its conditions: Stalled True → degraded (it needs the user, even while
 * Ready stays True serving the last applied spec); Ready True → ok (progressing when the status
 * describes an older spec: `current` false); Ready False or Unknown with a reason that needs the
 * user (AgentLost, InsufficientCapacity…) → degraded; Ready False or Unknown otherwise → progressing; no conditions → unknown.
 */
export function healthOf(status: { conditions?: readonly Condition[] } | undefined, current = true): Health {
  const ready = getCondition(status?.conditions as Condition[] | undefined, 'Ready');
  const stalled = getCondition(status?.conditions as Condition[] | undefined, 'Stalled');
  if (stalled?.status === 'True') return 'degraded';
  if (!ready) return 'unknown';
  if (ready.status === 'True') return current ? 'ok' : 'progressing';
  if (ready.reason && TERMINAL_READY.has(ready.reason)) return 'degraded';
  return 'progressing';
}

const RANK: Record<Health, number> = { ok: 0, unknown: 1, progressing: 2, degraded: 3 };
/** The worst of several healths (degraded > progressing > unknown > ok); ok for none. */
export function worst(hs: Iterable<Health>): Health {
  let w: Health = 'ok';
  for (const h of hs) if (RANK[h] > RANK[w]) w = h;
  return w;
}

function cond(conditions: readonly Condition[] | undefined, type: 'Ready' | 'Synced' | 'Stalled'): Cond | undefined {
  const c = getCondition(conditions as Condition[] | undefined, type);
  if (!c) return undefined;
  const out: Cond = { status: c.status };
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  if (c.lastTransitionTime) out.since = c.lastTransitionTime;
  return out;
}

function pendingOf(status: Record<string, unknown> | undefined): PendingPlan | undefined {
  const p = status?.pendingPlan as { digest?: unknown; summary?: string; impact?: string; changes?: string[]; computedAt?: string } | undefined;
  if (!p || typeof p.digest !== 'string') return undefined;
  const out: PendingPlan = { digest: p.digest, changes: Array.isArray(p.changes) ? p.changes.filter((c) => typeof c === 'string') : [] };
  if (p.summary) out.summary = p.summary;
  if (p.impact) out.impact = p.impact;
  if (p.computedAt) out.computedAt = p.computedAt;
  return out;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Builds the console's view. Pure: the same inputs give the same document. */
export function buildView(src: ViewSource, o: ViewOptions): ConsoleView {
  const w = new World(src);
  const objects = w.objectRows();
  const networks = w.networkRows();
  const hosts = w.hostViews();
  const topology = collapse(w.topology(o.ovsBridge ?? 'br-int'), o.collapseAbove ?? 8);
  return {
    generatedAt: o.now.toISOString(),
    mode: o.mode,
    canApprove: !!o.canApprove,
    networks,
    hosts,
    topology,
    objects,
    events: [...(o.events ?? [])],
  };
}

/** The objects the view shows, declared or (being removed) only recorded, with their records. */
class World {
  readonly src: ViewSource;
  /** Every object of a kind: declared, else as its record last held it. */
  readonly #byKind = new Map<Kind, AnyResource[]>();
  readonly #health = new Map<string, Health>();
  readonly #placements = new Map<string, Placement[]>();
  #networks: Map<string, Network> | undefined;

  constructor(src: ViewSource) {
    this.src = src;
    for (const r of src.records.list()) {
      if (src.store.get(r.key) || r.spec === undefined) continue;
      this.#push(objectFromRecord(r));
    }
    for (const k of src.store.keys()) this.#push(src.store.get(k)!.object);
    for (const list of this.#byKind.values()) list.sort((a, b) => byName(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || byName(a.metadata.name, b.metadata.name));
  }

  #push(o: AnyResource): void {
    let l = this.#byKind.get(o.kind);
    if (!l) this.#byKind.set(o.kind, (l = []));
    l.push(o);
  }

  list<K extends Kind>(kind: K): Extract<AnyResource, { kind: K }>[] {
    return (this.#byKind.get(kind) ?? []) as Extract<AnyResource, { kind: K }>[];
  }

  record(key: string): ObjectRecord | undefined {
    return this.src.records.get(key);
  }

  /** Whether the record describes the object's current declaration. */
  current(key: string): boolean {
    const rec = this.record(key);
    const hash = this.src.store.hashOf(key);
    return !rec?.specHash || hash === undefined || rec.specHash === hash;
  }

  health(key: string): Health {
    let h = this.#health.get(key);
    if (h === undefined) {
      h = this.src.store.invalid(key) ? 'degraded' : healthOf(this.record(key)?.status, this.current(key));
      this.#health.set(key, h);
    }
    return h;
  }

  report(host: string): HostReport | undefined {
    return this.src.reports.get(objectKey('Host', host)) as HostReport | undefined;
  }

  /** The networks a host carries, each on which NIC or bond. */
  placements(host: Host): Placement[] {
    let p = this.#placements.get(host.metadata.name);
    if (!p) {
      const cluster = this.list('Cluster').find((c) => c.metadata.name === host.spec.cluster) as Cluster | undefined;
      this.#networks ??= new Map(this.list('Network').map((n) => [n.metadata.name, n as Network] as const));
      p = hostNetworks(host, cluster, this.#networks).placements;
      this.#placements.set(host.metadata.name, p);
    }
    return p;
  }

  /** Per network and host, whether the host carries it in sync (and what differs), from the Host's status. */
  hostSync(host: string): Map<string, { inSync: boolean; difference?: string }> {
    const rows = (this.record(objectKey('Host', host))?.status.networks as { name: string; inSync?: boolean; difference?: string }[] | undefined) ?? [];
    return new Map(rows.map((r) => [r.name, { inSync: !!r.inSync, ...(r.difference ? { difference: r.difference } : {}) }]));
  }

  objectRows(): ObjectRow[] {
    const keys = new Set([...this.src.store.keys(), ...this.src.store.invalidKeys(), ...this.src.records.list().map((r) => r.key)]);
    const rows: ObjectRow[] = [];
    for (const key of [...keys].sort(byName)) {
      let p;
      try {
        p = parseKey(key);
      } catch {
        continue;
      }
      const rec = this.record(key);
      const conditions = rec?.status.conditions;
      const row: ObjectRow = { key, kind: p.kind, name: p.name, health: this.health(key), declared: !!this.src.store.get(key) || !!this.src.store.invalid(key) };
      if (p.namespace) row.namespace = p.namespace;
      const ready = cond(conditions, 'Ready');
      const synced = cond(conditions, 'Synced');
      const stalled = cond(conditions, 'Stalled');
      if (ready) row.ready = ready;
      if (synced) row.synced = synced;
      if (stalled) row.stalled = stalled;
      const pending = pendingOf(rec?.status);
      if (pending) row.pendingPlan = pending;
      const invalid = this.src.store.invalid(key);
      if (invalid) row.invalid = invalid.map((e) => e.message).join('; ');
      if (rec) row.generation = rec.generation;
      rows.push(row);
    }
    return rows;
  }

  networkRows(): NetworkRow[] {
    const hostsOf = new Map<string, string[]>();
    const differences = new Map<string, string[]>();
    for (const h of this.list('Host')) {
      const sync = this.hostSync(h.metadata.name);
      for (const p of this.placements(h)) {
        push(hostsOf, p.network, h.metadata.name);
        const s = sync.get(p.network);
        if (s && !s.inSync) push(differences, p.network, `${h.metadata.name}: ${s.difference ?? 'out of sync'}`);
      }
    }
    const vnicsOf = new Map<string, string[]>();
    for (const v of this.list('VnicAttachment')) {
      const net = (this.record(keyOfObject(v))?.status.network as string | undefined) ?? v.spec.network;
      push(vnicsOf, net, `${v.metadata.namespace ?? 'default'}/${v.metadata.name}`);
    }
    const endpointsOf = new Map<string, string[]>();
    for (const e of this.list('ServiceEndpoint')) push(endpointsOf, e.spec.network, `${e.metadata.namespace ?? 'default'}/${e.metadata.name}`);
    return this.list('Network').map((n) => {
      const key = objectKey('Network', n.metadata.name);
      const rec = this.record(key);
      const st = rec?.status ?? {};
      const row: NetworkRow = {
        name: n.metadata.name,
        key,
        mtu: n.spec.mtu ?? 1500,
        providers: providersOf(n, st),
        health: this.health(key),
        hosts: (hostsOf.get(n.metadata.name) ?? []).sort(byName),
        vnics: (vnicsOf.get(n.metadata.name) ?? []).sort(byName),
        endpoints: (endpointsOf.get(n.metadata.name) ?? []).sort(byName),
      };
      const vlan = n.spec.vlan?.id ?? (st.vlan as number | undefined);
      if (vlan !== undefined) row.vlan = vlan;
      const physnet = (st.physicalNetwork as string | undefined) ?? n.spec.physicalNetwork;
      if (physnet) row.physicalNetwork = physnet;
      if (n.spec.description) row.description = n.spec.description;
      const ready = cond(st.conditions, 'Ready');
      const synced = cond(st.conditions, 'Synced');
      const stalled = cond(st.conditions, 'Stalled');
      if (ready) row.ready = ready;
      if (synced) row.synced = synced;
      if (stalled) row.stalled = stalled;
      const pending = pendingOf(st);
      if (pending) row.pendingPlan = pending;
      const diff = [...(differences.get(n.metadata.name) ?? [])];
      for (const b of (st.providers as { name: string; synced?: boolean; message?: string }[] | undefined) ?? []) {
        if (b.synced === false && b.message) diff.push(`${b.name}: ${b.message}`);
      }
      if (synced?.reason === 'DriftDetected' && synced.message) diff.push(synced.message);
      if (pending) diff.push(`changes held for approval: ${pending.summary ?? pending.digest}`);
      if (diff.length) row.outOfSync = diff.join('; ');
      return row;
    });
  }

  hostViews(): HostView[] {
    return this.list('Host').map((h) => {
      const name = h.metadata.name;
      const key = objectKey('Host', name);
      const rec = this.record(key);
      const st = rec?.status ?? {};
      const report = this.report(name);
      const sync = this.hostSync(name);
      const view: HostView = {
        name,
        key,
        cluster: h.spec.cluster,
        health: this.health(key),
        interfaces: ((report?.interfaces ?? (st.interfaces as InterfaceRow[] | undefined) ?? []) as InterfaceRow[]).map(interfaceRow),
        bonds: (h.spec.bonds ?? []).map((b) => ({ name: b.name, members: [...b.members] })),
        outOfSync: [...sync.entries()].filter(([, s]) => !s.inSync).map(([n, s]) => ({ name: n, difference: s.difference ?? 'out of sync' })),
        problems: [...(report?.problems ?? (st.agent as { problems?: string[] } | undefined)?.problems ?? [])],
        networks: this.placements(h).map((p) => {
          const s = sync.get(p.network);
          return { name: p.network, interface: p.interface, fabric: p.fabric, ...(s ? { inSync: s.inSync } : {}) };
        }),
      };
      for (const r of report?.routers ?? []) if (!r.inSync) view.outOfSync.push({ name: `router ${r.name}`, difference: r.difference ?? 'out of sync' });
      if (h.spec.address) view.address = h.spec.address;
      const ready = cond(st.conditions, 'Ready');
      const synced = cond(st.conditions, 'Synced');
      const stalled = cond(st.conditions, 'Stalled');
      if (ready) view.ready = ready;
      if (synced) view.synced = synced;
      if (stalled) view.stalled = stalled;
      const last = report?.lastObservedTime ?? (st.lastObservedTime as string | undefined);
      if (last) view.lastReport = last;
      const dyn = report?.dynamicVnics ?? (st.dynamicVnics as { total?: number; free?: number } | undefined);
      if (dyn && (dyn.total ?? 0) > 0) view.dynamicVnics = { total: dyn.total ?? 0, free: dyn.free ?? 0 };
      // The agent's report is the newest word on a Host's held plan.
      const pending = pendingOf((report ?? st) as Record<string, unknown>) ?? pendingOf(st);
      if (pending) view.pendingPlan = pending;
      return view;
    });
  }

  /** The whole graph, before repeated leaves are collapsed. */
  topology(ovsBridge: string): { nodes: TopoNode[]; edges: TopoEdge[] } {
    const nodes = new Map<string, TopoNode>();
    const edges = new Map<string, TopoEdge>();
    const node = (n: TopoNode) => {
      if (!nodes.has(n.id)) nodes.set(n.id, n);
      return nodes.get(n.id)!;
    };
    const edge = (from: string, to: string, kind: TopoEdge['kind'], label?: string) => {
      const id = `${from}\u0000${to}`;
      const e = edges.get(id);
      if (!e) edges.set(id, { from, to, kind, ...(label ? { label } : {}) });
      else if (label && !(e.label ?? '').split(', ').includes(label)) e.label = e.label ? `${e.label}, ${label}` : label;
    };
    for (const p of this.list('Provider')) {
      const key = objectKey('Provider', p.metadata.name);
      node({ id: providerId(p.metadata.name), kind: 'provider', label: p.metadata.name, health: this.health(key), key });
    }
    for (const n of this.list('Network')) {
      const key = objectKey('Network', n.metadata.name);
      node({ id: networkId(n.metadata.name), kind: 'network', label: n.metadata.name, health: this.health(key), key });
      const rec = this.record(key);
      for (const b of providersOf(n, rec?.status ?? {})) {
        if (!nodes.has(providerId(b.name))) node({ id: providerId(b.name), kind: 'provider', label: b.name, health: 'unknown', key: objectKey('Provider', b.name) });
        edge(providerId(b.name), networkId(n.metadata.name), 'realizes');
      }
    }
    /** The device node carrying each network on each host: host → network → bridge id. */
    const bridgeOf = new Map<string, Map<string, string>>();
    for (const h of this.list('Host')) {
      const name = h.metadata.name;
      const key = objectKey('Host', name);
      const hid = hostId(name);
      const hostHealth = this.health(key);
      node({ id: hid, kind: 'host', label: name, health: hostHealth, key });
      const report = this.report(name);
      const seen = new Set((report?.interfaces ?? []).map((i) => i.name));
      const sync = this.hostSync(name);
      /** A device's health: unknown before the agent reported, degraded when the host lacks it, else as the networks on it. */
      const deviceHealth = (networks: string[], physical?: string) => {
        if (!report && !sync.size) return 'unknown' as Health;
        if (physical && report && !seen.has(physical)) return 'degraded' as Health;
        return networks.some((n) => sync.get(n)?.inSync === false) ? (hostHealth === 'degraded' ? 'degraded' : 'progressing') : ('ok' as Health);
      };
      const bonded = new Set<string>();
      const bondNames = new Set((h.spec.bonds ?? []).map((b) => b.name));
      for (const b of h.spec.bonds ?? []) for (const m of b.members) bonded.add(m);
      const ifaceId = (iface: string) => `${hid}/${bondNames.has(iface) ? 'bond' : 'nic'}:${iface}`;
      const networksOn = new Map<string, string[]>();
      const byBridge = new Map<string, { label: string; networks: string[]; uplinks: Set<string> }>();
      const placed = new Map<string, string>();
      for (const p of this.placements(h)) {
        edge(networkId(p.network), hid, 'carries');
        push(networksOn, p.interface, p.network);
        for (const b of h.spec.bonds ?? []) if (b.name === p.interface) for (const m of b.members) push(networksOn, m, p.network);
        const bid = p.fabric === 'ovs' ? `${hid}/bridge:${ovsBridge}` : `${hid}/bridge:${p.network}`;
        let br = byBridge.get(bid);
        if (!br) byBridge.set(bid, (br = { label: p.fabric === 'ovs' ? ovsBridge : p.network, networks: [], uplinks: new Set() }));
        br.networks.push(p.network);
        br.uplinks.add(ifaceId(p.interface));
        placed.set(p.network, bid);
      }
      bridgeOf.set(name, placed);
      for (const [bid, br] of byBridge) {
        const networks = [...new Set(br.networks)].sort(byName);
        node({ id: bid, kind: 'bridge', label: br.label, health: deviceHealth(networks), key, parent: hid, networks });
        edge(hid, bid, 'has');
        for (const u of br.uplinks) edge(bid, u, 'uplink');
      }
      const uplinked = new Set([...byBridge.values()].flatMap((b) => [...b.uplinks]));
      for (const b of h.spec.bonds ?? []) {
        const id = `${hid}/bond:${b.name}`;
        node({ id, kind: 'bond', label: b.name, health: deviceHealth(networksOn.get(b.name) ?? [], b.name), key, parent: hid });
        if (!uplinked.has(id)) edge(hid, id, 'has');
        for (const m of b.members) edge(id, `${hid}/nic:${m}`, 'member');
      }
      for (const nic of h.spec.nics ?? []) {
        const id = `${hid}/nic:${nic.name}`;
        node({ id, kind: 'nic', label: nic.name, health: deviceHealth(networksOn.get(nic.name) ?? [], nic.name), key, parent: hid });
        if (!uplinked.has(id) && !bonded.has(nic.name)) edge(hid, id, 'has');
      }
    }
    /** Where a device on `network` at `host` hangs: the bridge carrying it there, else the host, else the network. */
    const attachPoint = (network: string, host: string | undefined): string | undefined => {
      if (host) {
        const b = bridgeOf.get(host)?.get(network);
        if (b) return b;
        if (nodes.has(hostId(host))) return hostId(host);
      }
      return nodes.has(networkId(network)) ? networkId(network) : undefined;
    };
    const vmHealth = new Map<string, Health[]>();
    for (const v of this.list('VnicAttachment')) {
      const key = keyOfObject(v);
      const st = this.record(key)?.status ?? {};
      const ns = v.metadata.namespace ?? 'default';
      const id = `vm:${ns}/${v.spec.vm.name}`;
      node({ id, kind: 'vm', label: v.spec.vm.name, health: 'ok', key });
      push(vmHealth, id, this.health(key));
      const network = (st.network as string | undefined) ?? v.spec.network;
      const from = attachPoint(network, (st.host as string | undefined) ?? v.spec.host);
      if (from) edge(from, id, 'vnic', `${v.spec.interfaceName ?? v.metadata.name} (${network})`);
    }
    for (const [id, hs] of vmHealth) nodes.get(id)!.health = worst(hs);
    for (const r of this.list('Router')) {
      const key = objectKey('Router', r.metadata.name);
      const id = `router:${r.metadata.name}`;
      node({ id, kind: 'router', label: r.metadata.name, health: this.health(key), key });
      if (r.spec.providerRef && nodes.has(providerId(r.spec.providerRef.name))) edge(providerId(r.spec.providerRef.name), id, 'realizes');
      if (r.spec.hostRef && nodes.has(hostId(r.spec.hostRef.name))) edge(hostId(r.spec.hostRef.name), id, 'has');
      if (r.spec.gateway && nodes.has(networkId(r.spec.gateway.network))) edge(networkId(r.spec.gateway.network), id, 'gateway');
      for (const i of r.spec.interfaces ?? []) if (nodes.has(networkId(i.network))) edge(networkId(i.network), id, 'interface', i.subnet);
    }
    for (const e of this.list('ServiceEndpoint')) {
      const key = keyOfObject(e);
      const id = `endpoint:${e.metadata.namespace ?? 'default'}/${e.metadata.name}`;
      node({ id, kind: 'endpoint', label: `${e.metadata.name} (${e.spec.service})`, health: this.health(key), key });
      const from = attachPoint(e.spec.network, e.spec.host);
      if (from) edge(from, id, 'endpoint', e.spec.network);
    }
    return { nodes: [...nodes.values()], edges: [...edges.values()] };
  }
}

/** Node kinds that are shown as one group node when a parent has too many of them. Networks,
 *  providers and routers are never grouped: they are what the picture is about. */
const COLLAPSIBLE = new Set<TopoKind>(['host', 'vm', 'endpoint', 'nic', 'bridge']);
const PLURAL: Partial<Record<TopoKind, string>> = { host: 'hosts', vm: 'VMs', endpoint: 'service endpoints', nic: 'NICs', bridge: 'bridges' };

/**
 * Collapses repeated children: where one parent has more than `above` children of one collapsible
 * kind, they become one node of kind `group` (id `group:<parent>/<kind>`, stable) with their count,
 * their ids and their worst health. Nodes no longer reachable from a root (a node nothing points to in
 * the full graph) go too — a host grouped under every network it carries takes its devices and the
 * VMs hanging off them with it. Nodes and edges come out sorted by id.
 */
export function collapse(g: { nodes: TopoNode[]; edges: TopoEdge[] }, above: number): { nodes: TopoNode[]; edges: TopoEdge[] } {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const hasParent = new Set(g.edges.map((e) => e.to));
  const children = new Map<string, TopoEdge[]>();
  for (const e of g.edges) push(children, e.from, e);
  const groups: TopoNode[] = [];
  const dropped = new Set<TopoEdge>();
  const extra: TopoEdge[] = [];
  for (const [from, out] of children) {
    const byKind = new Map<TopoKind, TopoEdge[]>();
    for (const e of out) {
      const k = byId.get(e.to)?.kind;
      if (k && COLLAPSIBLE.has(k)) push(byKind, k, e);
    }
    for (const [kind, es] of byKind) {
      if (es.length <= above) continue;
      const members = es.map((e) => e.to).sort(byName);
      const id = `group:${from}/${kind}`;
      groups.push({ id, kind: 'group', label: `${members.length} ${PLURAL[kind] ?? kind}`, health: worst(members.map((m) => byId.get(m)!.health)), count: members.length, groupOf: kind, members });
      for (const e of es) dropped.add(e);
      extra.push({ from, to: id, kind: es[0]!.kind });
    }
  }
  const edges = g.edges.filter((e) => !dropped.has(e)).concat(extra);
  for (const n of groups) byId.set(n.id, n);
  // Keep what is still reachable from the roots.
  const out = new Map<string, TopoEdge[]>();
  for (const e of edges) push(out, e.from, e);
  const keep = new Set<string>();
  const stack = [...byId.keys()].filter((id) => !hasParent.has(id) && !id.startsWith('group:'));
  while (stack.length) {
    const id = stack.pop()!;
    if (keep.has(id)) continue;
    keep.add(id);
    for (const e of out.get(id) ?? []) stack.push(e.to);
  }
  return {
    nodes: [...byId.values()].filter((n) => keep.has(n.id)).sort((a, b) => byName(a.id, b.id)),
    edges: edges.filter((e) => keep.has(e.from) && keep.has(e.to)).sort((a, b) => byName(a.from, b.from) || byName(a.to, b.to)),
  };
}

const providerId = (name: string) => `provider:${name}`;
const networkId = (name: string) => `network:${name}`;
const hostId = (name: string) => `host:${name}`;

function keyOfObject(o: AnyResource): string {
  return objectKey(o.kind, o.metadata.name, o.metadata.namespace);
}

function providersOf(n: AnyResource & { kind: 'Network' }, st: Record<string, unknown>): NetworkRow['providers'] {
  const bound = (st.providers as { name: string; externalId?: string; type?: string }[] | undefined) ?? [];
  const out = new Map<string, NetworkRow['providers'][number]>();
  for (const r of n.spec.providerRefs ?? []) out.set(r.name, { name: r.name });
  for (const b of bound) out.set(b.name, { name: b.name, ...(b.externalId ? { externalId: b.externalId } : {}), ...(b.type ? { type: b.type } : {}) });
  return [...out.values()].sort((a, b) => byName(a.name, b.name));
}

function interfaceRow(r: InterfaceRow): InterfaceRow {
  const out: InterfaceRow = { name: r.name };
  for (const f of ['address', 'mac', 'speedMbps', 'rxMbps', 'txMbps', 'drops', 'bond', 'fabric', 'network'] as const) {
    if (r[f] !== undefined) (out as unknown as Record<string, unknown>)[f] = r[f];
  }
  return out;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

// Parsing `ip -json` output and OVSDB rows into the observed host model. Pure.
import { FLOW_COOKIE, METER_BASE, OVS_OWNER_KEY, type ObservedBridge, type ObservedLink, type ObservedMirror, type ObservedOpenFlow, type ObservedOvsInterface, type ObservedOvsPort, type ObservedQos, type ObservedTc } from './model.ts';

interface IpLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  operstate?: string;
  address?: string;
  master?: string;
  link?: string | null;
  group?: string | number;
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; mode?: string; protocol?: string } };
  stats64?: { rx?: { bytes?: number; dropped?: number }; tx?: { bytes?: number; dropped?: number } };
}

/** `ip -json -details -stats link show` → observed links (the loopback left out). */
export function parseLinks(json: string): ObservedLink[] {
  const raw = JSON.parse(json) as IpLink[];
  return raw
    .filter((l) => l.ifname !== 'lo')
    .map((l): ObservedLink => {
      const o: ObservedLink = {
        name: l.ifname,
        ifindex: l.ifindex,
        kind: l.linkinfo?.info_kind ?? '',
        mtu: l.mtu,
        up: (l.flags ?? []).includes('UP'),
        operstate: l.operstate ?? 'UNKNOWN',
        mac: (l.address ?? '').toLowerCase(),
        group: l.group === undefined || l.group === 'default' ? 0 : Number(l.group),
      };
      if (l.master) o.master = l.master;
      if (l.link) o.parent = l.link;
      if (o.kind === 'vlan' && l.linkinfo?.info_data?.id !== undefined) o.vlanId = l.linkinfo.info_data.id;
      if (o.kind === 'bond' && l.linkinfo?.info_data?.mode) o.bondMode = l.linkinfo.info_data.mode;
      if (l.ifalias) o.alias = l.ifalias;
      if (l.stats64) {
        o.rxBytes = l.stats64.rx?.bytes ?? 0;
        o.txBytes = l.stats64.tx?.bytes ?? 0;
        o.drops = (l.stats64.rx?.dropped ?? 0) + (l.stats64.tx?.dropped ?? 0);
      }
      return o;
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/** `ip -json address show` → addresses in CIDR form (link-local IPv6 left out). */
export function parseAddresses(json: string): { device: string; cidr: string }[] {
  const raw = JSON.parse(json) as IpAddr[];
  const out: { device: string; cidr: string }[] = [];
  for (const a of raw) {
    if (a.ifname === 'lo') continue;
    for (const i of a.addr_info ?? []) {
      if (i.scope === 'link' && i.family === 'inet6') continue;
      out.push({ device: a.ifname, cidr: `${i.local}/${i.prefixlen}` });
    }
  }
  return out.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : a.cidr < b.cidr ? -1 : 1));
}

// ---- OVSDB datum decoding (RFC 7047 §5.1) ---------------------------------------------------------

/** A set column: `["set",[...]]`, or a bare single value. */
export function setOf(v: unknown): unknown[] {
  if (Array.isArray(v) && v[0] === 'set') return v[1] as unknown[];
  return v === undefined ? [] : [v];
}

/** An optional column: an empty set means absent. */
export function optional<T>(v: unknown): T | undefined {
  const s = setOf(v);
  return s.length ? (s[0] as T) : undefined;
}

export function mapOf(v: unknown): Record<string, string> {
  if (Array.isArray(v) && v[0] === 'map') return Object.fromEntries(v[1] as [string, string][]);
  return {};
}

export function uuidOf(v: unknown): string {
  return Array.isArray(v) && v[0] === 'uuid' ? String(v[1]) : String(v);
}

/** Rows of QoS and Queue → QoS rows by uuid (queue 0 resolved). */
export function parseQos(qos: Record<string, unknown>[], queues: Record<string, unknown>[]): Map<string, ObservedQos> {
  const queueByUuid = new Map(queues.map((r) => [uuidOf(r._uuid), mapOf(r.other_config)] as const));
  const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);
  return new Map(
    qos.map((r) => {
      const other = mapOf(r.other_config);
      const qmap = Array.isArray(r.queues) && r.queues[0] === 'map' ? (r.queues[1] as [number, unknown][]) : [];
      const q: ObservedQos = { uuid: uuidOf(r._uuid), type: String(r.type ?? ''), external: mapOf(r.external_ids), queueUuids: qmap.map(([, u]) => uuidOf(u)).sort() };
      const mr = num(other['max-rate']);
      if (mr !== undefined) q.maxRate = mr;
      const zero = qmap.find(([k]) => Number(k) === 0);
      if (zero) {
        const u = uuidOf(zero[1]);
        const oc = queueByUuid.get(u) ?? {};
        q.queue = { uuid: u };
        const qm = num(oc['max-rate']);
        const qb = num(oc.burst);
        if (qm !== undefined) q.queue.maxRate = qm;
        if (qb !== undefined) q.queue.burst = qb;
      }
      return [q.uuid, q] as const;
    }),
  );
}

/** Rows of Bridge, Port, Interface (and Mirror, QoS, Queue when selected) → bridges with their ports, interfaces and mirrors. */
export function parseOvs(
  bridges: Record<string, unknown>[],
  ports: Record<string, unknown>[],
  interfaces: Record<string, unknown>[],
  mirrors: Record<string, unknown>[] = [],
  qos: Map<string, ObservedQos> = new Map(),
): ObservedBridge[] {
  const ifaceByUuid = new Map(
    interfaces.map((r) => {
      const i: ObservedOvsInterface = {
        name: String(r.name),
        type: String(r.type ?? ''),
        ofport: optional<number>(r.ofport),
        error: optional<string>(r.error),
        mtuRequest: optional<number>(r.mtu_request),
        external: mapOf(r.external_ids),
      };
      return [uuidOf(r._uuid), i] as const;
    }),
  );
  const portByUuid = new Map(
    ports.map((r) => {
      const p: ObservedOvsPort = {
        uuid: uuidOf(r._uuid),
        name: String(r.name),
        tag: optional<number>(r.tag),
        trunks: setOf(r.trunks).map(Number),
        vlanMode: optional<string>(r.vlan_mode),
        bondMode: optional<string>(r.bond_mode),
        lacp: optional<string>(r.lacp),
        interfaces: setOf(r.interfaces)
          .map((u) => ifaceByUuid.get(uuidOf(u)))
          .filter((x): x is ObservedOvsInterface => !!x)
          .sort((a, b) => (a.name < b.name ? -1 : 1)),
        external: mapOf(r.external_ids),
      };
      const q = optional<unknown>(r.qos);
      const row = q !== undefined ? qos.get(uuidOf(q)) : undefined;
      if (row) p.qos = row;
      return [p.uuid, p] as const;
    }),
  );
  const portName = (u: unknown) => portByUuid.get(uuidOf(u))?.name;
  const names = (v: unknown) =>
    setOf(v)
      .map(portName)
      .filter((x): x is string => !!x)
      .sort();
  const mirrorByUuid = new Map(
    mirrors.map((r) => {
      const m: ObservedMirror = { uuid: uuidOf(r._uuid), name: String(r.name), external: mapOf(r.external_ids), srcPorts: names(r.select_src_port), dstPorts: names(r.select_dst_port) };
      const out = optional<unknown>(r.output_port);
      const outName = out !== undefined ? portName(out) : undefined;
      if (outName) m.output = outName;
      return [m.uuid, m] as const;
    }),
  );
  return bridges
    .map((b) => {
      const br: ObservedBridge = {
        name: String(b.name),
        uuid: uuidOf(b._uuid),
        datapath: String(b.datapath_type ?? ''),
        ports: setOf(b.ports)
          .map((u) => portByUuid.get(uuidOf(u)))
          .filter((x): x is ObservedOvsPort => !!x)
          .sort((a, b) => (a.name < b.name ? -1 : 1)),
      };
      if (b.mirrors !== undefined)
        br.mirrors = setOf(b.mirrors)
          .map((u) => mirrorByUuid.get(uuidOf(u)))
          .filter((x): x is ObservedMirror => !!x)
          .sort((a, b) => (a.name < b.name ? -1 : 1));
      return br;
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** QoS rows some netform instance owns (external_ids netform-owner set). */
export function ownedQos(qos: Map<string, ObservedQos>): ObservedQos[] {
  return [...qos.values()].filter((q) => q.external[OVS_OWNER_KEY] !== undefined).sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
}

// ---- OpenFlow (ovs-ofctl -O OpenFlow13 text) ---------------------------------------------------------

/**
 * `ovs-ofctl -O OpenFlow13 dump-meters` and `--names dump-flows … cookie=<netform>/<mask>` → netform's
 * meters (ids in its range) and flows. Lines that are neither are ignored.
 */
export function parseOpenFlow(meters: string, flows: string): ObservedOpenFlow {
  const out: ObservedOpenFlow = { meters: [], flows: [] };
  // A meter is printed over two lines: `meter=ID kbps burst bands=` then `type=drop rate=R burst_size=B`.
  const text = meters.replace(/bands=\s*\n\s*/g, 'bands= ');
  for (const line of text.split('\n')) {
    const m = /^\s*meter=(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const id = Number(m[1]);
    if (id < METER_BASE || id > METER_BASE + 0xffff) continue;
    const rate = /\brate=(\d+)/.exec(m[2]!);
    const burst = /\bburst_size=(\d+)/.exec(m[2]!);
    const kbps = /\bkbps\b/.test(m[2]!);
    out.meters.push({ id, kbps: rate && kbps ? Number(rate[1]) : -1, burstKb: burst ? Number(burst[1]) : 0 });
  }
  const ours = BigInt(FLOW_COOKIE) >> 48n;
  for (const line of flows.split('\n')) {
    const c = /\bcookie=(0x[0-9a-f]+)/.exec(line);
    if (!c || BigInt(c[1]!) >> 48n !== ours) continue;
    const port = /\bin_port=("(?:[^"\\]|\\.)*"|[^,\s]+)/.exec(line);
    const meter = /\bactions=.*\bmeter:(\d+)/.exec(line);
    if (!port) continue;
    const f: ObservedOpenFlow['flows'][number] = { inPort: port[1]!.replace(/^"|"$/g, '') };
    if (meter) f.meter = Number(meter[1]);
    out.flows.push(f);
  }
  out.meters.sort((a, b) => a.id - b.id);
  out.flows.sort((a, b) => (a.inPort < b.inPort ? -1 : 1));
  return out;
}

// ---- tc -j ----------------------------------------------------------------------------------------

interface TcQdisc {
  kind: string;
  root?: boolean;
  parent?: string;
  options?: { rate?: number; burst?: number };
}
interface TcFilter {
  kind: string;
  options?: { actions?: { kind: string; mirred_action?: string; to_dev?: string }[] };
}

/** `tc -j qdisc show dev D` and `tc -j filter show dev D ingress|egress` → netform's view of D's traffic control. */
export function parseTc(qdiscs: string, ingress: string, egress: string): ObservedTc {
  const q = JSON.parse(qdiscs || '[]') as TcQdisc[];
  const out: ObservedTc = { clsact: q.some((x) => x.kind === 'clsact'), ingress: [], egress: [] };
  const root = q.find((x) => x.root);
  if (root?.kind === 'tbf') out.tbf = { rateBps: root.options?.rate ?? 0, burstBytes: root.options?.burst ?? 0 };
  else if (root && !['noqueue', 'pfifo_fast', 'fq_codel', 'mq', 'pfifo', 'noop'].includes(root.kind)) out.foreignRoot = root.kind;
  const actions = (json: string) =>
    (JSON.parse(json || '[]') as TcFilter[]).flatMap((f) =>
      (f.options?.actions ?? []).map((a) => (a.kind === 'mirred' ? `${a.mirred_action}:${a.to_dev}` : a.kind)),
    );
  if (out.clsact) {
    out.ingress = actions(ingress);
    out.egress = actions(egress);
  }
  return out;
}

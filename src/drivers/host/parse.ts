// Parsing `ip -json` output and OVSDB rows into the observed host model. Pure.
import type { ObservedLink, ObservedOvsInterface, ObservedOvsPort } from './model.ts';

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

/** Rows of Bridge, Port and Interface (as selected) → bridges with their ports and interfaces. */
export function parseOvs(
  bridges: Record<string, unknown>[],
  ports: Record<string, unknown>[],
  interfaces: Record<string, unknown>[],
): { name: string; uuid: string; datapath: string; ports: ObservedOvsPort[] }[] {
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
      return [p.uuid, p] as const;
    }),
  );
  return bridges
    .map((b) => ({
      name: String(b.name),
      uuid: uuidOf(b._uuid),
      datapath: String(b.datapath_type ?? ''),
      ports: setOf(b.ports)
        .map((u) => portByUuid.get(uuidOf(u)))
        .filter((x): x is ObservedOvsPort => !!x)
        .sort((a, b) => (a.name < b.name ? -1 : 1)),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

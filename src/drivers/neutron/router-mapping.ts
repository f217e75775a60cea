// Neutron L3 routers ⇄ netform's RouterModel: the router and interface-port fields read, the
// normalized observed state, the diff and the request bodies. Pure.
import { sameContent } from '../../api/json.ts';
import { formatAddress, parseAddress, parsePrefix } from '../../api/ip.ts';
import type { FieldChange, Owner } from '../driver.ts';
import type { RouterModel } from '../model.ts';
import { hasTag, isOurs, ownerTag, pendingMarker } from './mapping.ts';

// ---- what Neutron returns (the fields we read) -----------------------------------------------------

export interface NeutronRouter {
  id: string;
  name: string;
  description?: string;
  admin_state_up: boolean;
  /** Null: no gateway. */
  external_gateway_info?: {
    network_id: string;
    enable_snat?: boolean;
    external_fixed_ips?: { subnet_id: string; ip_address: string }[];
  } | null;
  routes?: { destination: string; nexthop: string }[];
  tags?: string[];
  revision_number: number;
}

/** A port of a router (listed by `device_id`): its interfaces and its gateway port. */
export interface NeutronRouterPort {
  id: string;
  device_id: string;
  device_owner: string;
  network_id: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}

/** The device_owner of a router's interface ports (legacy, distributed and HA routers). */
export const ROUTER_INTERFACE_OWNERS: ReadonlySet<string> = new Set(['network:router_interface', 'network:router_interface_distributed', 'network:ha_router_replicated_interface']);

// ---- normalized observed state -------------------------------------------------------------------

export interface RouterRoute {
  destination: string;
  nexthop: string;
}

export interface RouterState {
  /** Whether netform created it (owner tag, pending marker, or half-marked under its name). */
  ours: boolean;
  /** Whether it carries the owner tags (false right after a create that did not get to tag it). */
  tagged: boolean;
  name: string;
  description: string;
  adminStateUp: boolean;
  /** Null: no gateway. Fixed IPs canonical, sorted. */
  gateway: { networkId: string; snat: boolean; fixedIps: { subnetId: string; ipAddress: string }[] } | null;
  /** Canonical, sorted, without duplicates. */
  routes: RouterRoute[];
  /** One entry per subnet a router interface port is on, sorted by subnet id. */
  interfaces: { subnetId: string; portId: string; ipAddress: string }[];
  revision: number;
}

export function canonicalAddress(ip: string): string {
  const a = parseAddress(ip);
  return a ? formatAddress(a) : ip;
}

export function canonicalPrefix(cidr: string): string {
  return parsePrefix(cidr)?.canonical ?? cidr;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Routes in one canonical form and order, duplicates dropped, so two lists compare by content. */
export function canonicalRoutes(routes: readonly RouterRoute[]): RouterRoute[] {
  const seen = new Map<string, RouterRoute>();
  for (const r of routes) {
    const c = { destination: canonicalPrefix(r.destination), nexthop: canonicalAddress(r.nexthop) };
    seen.set(`${c.destination} ${c.nexthop}`, c);
  }
  return [...seen.entries()].sort(([a], [b]) => byText(a, b)).map(([, r]) => r);
}

/** The subnet ids, sorted and de-duplicated. */
export function subnetIds(interfaces: readonly { subnetId: string }[]): string[] {
  return [...new Set(interfaces.map((i) => i.subnetId))].sort(byText);
}

/** The router and the ports listed by its id: the interface ports are those with an interface device_owner. */
export function normalizeRouter(r: NeutronRouter, ports: readonly NeutronRouterPort[], owner: Owner, name?: string): RouterState {
  const g = r.external_gateway_info;
  const interfaces: RouterState['interfaces'] = [];
  for (const p of ports) {
    if (p.device_id !== r.id || !ROUTER_INTERFACE_OWNERS.has(p.device_owner)) continue;
    for (const f of p.fixed_ips) interfaces.push({ subnetId: f.subnet_id, portId: p.id, ipAddress: canonicalAddress(f.ip_address) });
  }
  interfaces.sort((a, b) => byText(a.subnetId, b.subnetId) || byText(a.portId, b.portId));
  return {
    ours: isOurs(r, owner, name),
    tagged: hasTag(r.tags, ownerTag(owner)),
    name: r.name,
    description: r.description ?? '',
    adminStateUp: r.admin_state_up,
    gateway: g?.network_id
      ? {
          networkId: g.network_id,
          snat: g.enable_snat ?? true,
          fixedIps: (g.external_fixed_ips ?? [])
            .map((f) => ({ subnetId: f.subnet_id, ipAddress: canonicalAddress(f.ip_address) }))
            .sort((a, b) => byText(a.subnetId, b.subnetId) || byText(a.ipAddress, b.ipAddress)),
        }
      : null,
    routes: canonicalRoutes(r.routes ?? []),
    interfaces,
    revision: r.revision_number,
  };
}

// ---- diff ----------------------------------------------------------------------------------------

/**
 * What differs between the model and the observed router. Neutron changes every router field in
 * place (gateway, SNAT, admin state, routes, interfaces), so nothing is immutable.
 */
export function diffRouter(m: RouterModel, s: RouterState): FieldChange[] {
  const out: FieldChange[] = [];
  const cmp = (path: string, to: unknown, from: unknown) => {
    if (!sameContent(to, from)) out.push({ path, from, to });
  };
  cmp('name', m.name, s.name);
  cmp('description', m.description ?? '', s.description);
  if (!s.tagged) out.push({ path: 'tags', from: 'untagged', to: 'owner tags' });
  cmp('adminStateUp', m.adminStateUp, s.adminStateUp);
  const g = m.gateway;
  if (!g || !s.gateway || g.networkId !== s.gateway.networkId) {
    cmp('gateway', g ? { networkId: g.networkId, snat: g.snat } : null, s.gateway ? { networkId: s.gateway.networkId, snat: s.gateway.snat } : null);
  } else {
    cmp('gateway.snat', g.snat, s.gateway.snat);
    // Without a fixed address the one Neutron chose is kept.
    if (g.fixedIp) {
      cmp('gateway.fixedIp', [{ subnetId: g.fixedIp.subnetId, ipAddress: canonicalAddress(g.fixedIp.ipAddress) }], s.gateway.fixedIps);
    }
  }
  cmp('interfaces', subnetIds(m.interfaces), subnetIds(s.interfaces));
  cmp('routes', canonicalRoutes(m.routes), s.routes);
  return out;
}

// ---- request bodies ------------------------------------------------------------------------------

/** `external_gateway_info` for the model: `{}` clears the gateway. Without a fixed address Neutron
 *  picks one on a create, and keeps the one it has on an update. */
export function gatewayBody(g: RouterModel['gateway']): Record<string, unknown> {
  if (!g) return {};
  const b: Record<string, unknown> = { network_id: g.networkId, enable_snat: g.snat };
  if (g.fixedIp) b.external_fixed_ips = [{ subnet_id: g.fixedIp.subnetId, ip_address: g.fixedIp.ipAddress }];
  return b;
}

/** The body of a router POST: its description is the pending marker until it is tagged. Interfaces
 *  and routes are added after (a route needs its interface first). */
export function routerBody(m: RouterModel, owner: Owner, projectId: string | undefined): Record<string, unknown> {
  const b: Record<string, unknown> = {
    name: m.name,
    description: pendingMarker(owner),
    admin_state_up: m.adminStateUp,
  };
  if (m.gateway) b.external_gateway_info = gatewayBody(m.gateway);
  if (projectId) b.project_id = projectId;
  return b;
}

export function routesBody(routes: readonly RouterRoute[]): { destination: string; nexthop: string }[] {
  return canonicalRoutes(routes).map((r) => ({ destination: r.destination, nexthop: r.nexthop }));
}

/** The routes to keep while interfaces and the gateway change: those both wanted and present (a
 *  route that is going is cleared before anything it may need goes). */
export function keptRoutes(want: readonly RouterRoute[], have: readonly RouterRoute[]): RouterRoute[] {
  const w = new Set(canonicalRoutes(want).map((r) => `${r.destination} ${r.nexthop}`));
  return have.filter((r) => w.has(`${r.destination} ${r.nexthop}`));
}

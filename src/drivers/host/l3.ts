// Routers on a Linux host: each a network namespace (`nfr-…`, the shape of Neutron's `qrouter-…`)
// with forwarding on, one veth per attached network (the root end on the network's bridge or OVS,
// the inner end addressed in the namespace), its routes, and source NAT towards the gateway network
// (nftables). Desired state, diff, plan and parsing here are pure; the agent runs and observes.
import { createHash } from 'node:crypto';
import { formatAddress, parseAddress, parsePrefix } from '../../api/ip.ts';
import type { HostModel } from '../host-driver.ts';
import {
  bridgeName,
  isIfname,
  routerLinkNames,
  routerPurpose,
  type DesiredLink,
  type DesiredNetwork,
  type DesiredOvsPort,
  type DesiredRouter,
  type ObservedRouter,
} from './model.ts';

/** The nftables table (family ip) that holds a router's source NAT. */
export const NAT_TABLE = 'netform-nat';
/** The alias on a router namespace's `lo` that says whose it is. */
export const ROUTER_OWNER_PREFIX = 'netform:router/';

/** Who owns a router namespace: the agent instance and the host (two hosts' agents may share /run/netns). */
export function routerOwner(instance: string, host: string, router: string): string {
  return `${ROUTER_OWNER_PREFIX}${instance}/${host}/${router}`.replace(/[^A-Za-z0-9_./:-]/g, '_').slice(0, 255);
}

/** The namespace of `router` on `host` for this agent `instance`. */
export function routerNetns(instance: string, host: string, router: string): string {
  return `nfr-${createHash('sha256').update(`${instance}/${host}/${router}`).digest('hex').slice(0, 12)}`;
}

const DEFAULT4 = '0.0.0.0/0';
const DEFAULT6 = '::/0';

/** A route destination as netform compares it: canonical CIDR, `default` as 0.0.0.0/0 (or ::/0). */
export function canonicalDestination(d: string, v6 = false): string {
  if (d === 'default') return v6 ? DEFAULT6 : DEFAULT4;
  const p = parsePrefix(d.includes('/') ? d : `${d}/${d.includes(':') ? 128 : 32}`);
  return p?.canonical ?? d;
}

function canonicalIp(a: string): string {
  const x = parseAddress(a);
  return x ? formatAddress(x) : a;
}

/** The router veths, OVS ports and namespaces of the model's routers on the host's networks. */
export function desiredRouters(
  m: HostModel,
  networks: readonly DesiredNetwork[],
  o: { instance: string },
): { links: DesiredLink[]; ports: DesiredOvsPort[]; routers: DesiredRouter[]; problems: string[] } {
  const out = { links: [] as DesiredLink[], ports: [] as DesiredOvsPort[], routers: [] as DesiredRouter[], problems: [] as string[] };
  const byName = new Map(networks.map((n) => [n.name, n]));
  for (const r of [...(m.routers ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const netns = routerNetns(o.instance, m.name, r.name);
    const attach = [...r.interfaces.map((i) => ({ ...i, gateway: false })), ...(r.gateway ? [{ network: r.gateway.network, address: r.gateway.address, gateway: true }] : [])];
    const missing = attach.filter((a) => !byName.has(a.network)).map((a) => a.network);
    if (missing.length) {
      out.problems.push(`router ${r.name}: network${missing.length > 1 ? 's' : ''} ${[...new Set(missing)].join(', ')} not on this host`);
      continue;
    }
    const router: DesiredRouter = { name: r.name, netns, links: [], routes: [] };
    for (const a of attach) {
      const n = byName.get(a.network)!;
      const names = routerLinkNames(`${netns}/${r.name}`, a.network, a.gateway);
      if (router.links.some((l) => l.name === names.inner)) {
        out.problems.push(`router ${r.name}: network ${a.network} is attached twice`);
        continue;
      }
      const root: DesiredLink = { name: names.root, kind: 'veth', mtu: n.mtu, purpose: routerPurpose(r.name, a.network, a.gateway), peer: { name: names.inner, netns } };
      if (n.fabric === 'linux-bridge') root.master = bridgeName(n.name);
      else out.ports.push({ name: names.root, type: 'system', tag: n.vlan!, mtu: n.mtu, network: n.name });
      out.links.push(root);
      n.devices.push(names.root);
      if (n.fabric === 'ovs') n.ovsPorts.push(names.root);
      router.links.push({ name: names.inner, mtu: n.mtu, up: r.adminStateUp, address: a.address, network: a.network });
    }
    for (const x of r.routes) router.routes.push({ destination: canonicalDestination(x.destination), via: canonicalIp(x.nexthop) });
    const g = r.gateway;
    if (g?.nexthop) {
      const hop = canonicalIp(g.nexthop);
      router.routes.push({ destination: hop.includes(':') ? DEFAULT6 : DEFAULT4, via: hop });
    }
    if (g?.snat) router.snat = { device: router.links.find((l) => l.network === g.network && l.name.startsWith('qg-'))!.name, address: g.address.split('/')[0]! };
    router.routes.sort((a, b) => (a.destination < b.destination ? -1 : 1));
    out.routers.push(router);
  }
  return out;
}

export interface RouterChange {
  name: string;
  netns: string;
  op: 'create' | 'update' | 'delete';
  want?: DesiredRouter;
  have?: ObservedRouter;
  fields: string[];
}

/** How the router namespaces differ from the model (observed: only this agent's, see routerOwner). */
export function diffRouters(want: readonly DesiredRouter[], have: readonly ObservedRouter[] | undefined): RouterChange[] {
  const out: RouterChange[] = [];
  const seen = new Map((have ?? []).map((r) => [r.netns, r]));
  for (const w of want) {
    const h = seen.get(w.netns);
    if (!h) {
      out.push({ name: w.name, netns: w.netns, op: 'create', want: w, fields: ['missing'] });
      continue;
    }
    const f = routerFields(w, h);
    if (f.length) out.push({ name: w.name, netns: w.netns, op: 'update', want: w, have: h, fields: f });
  }
  const wanted = new Set(want.map((w) => w.netns));
  for (const h of have ?? []) if (!wanted.has(h.netns)) out.push({ name: h.name ?? h.netns, netns: h.netns, op: 'delete', have: h, fields: ['not wanted'] });
  return out;
}

function routerFields(w: DesiredRouter, h: ObservedRouter): string[] {
  const f: string[] = [];
  const links = new Map(h.links.map((l) => [l.name, l]));
  for (const l of w.links) {
    const x = links.get(l.name);
    if (!x) {
      f.push(`${l.name} missing`);
      continue;
    }
    if (x.mtu !== l.mtu) f.push(`${l.name} mtu ${x.mtu}→${l.mtu}`);
    if (x.up !== l.up) f.push(`${l.name} ${l.up ? 'up' : 'down'}`);
  }
  const haveAddr = new Set(h.addresses.map((a) => `${a.device} ${a.cidr}`));
  const wantAddr = new Set(w.links.map((l) => `${l.name} ${l.address}`));
  for (const a of wantAddr) if (!haveAddr.has(a)) f.push(`address ${a.replace(' ', ' +')}`);
  for (const a of haveAddr) if (!wantAddr.has(a) && !a.includes(' fe80:')) f.push(`address ${a.replace(' ', ' -')}`);
  const haveRoutes = new Set(h.routes.filter((r) => r.via).map((r) => `${r.destination} via ${r.via}`));
  const wantRoutes = new Set(w.routes.map((r) => `${r.destination} via ${r.via}`));
  for (const r of wantRoutes) if (!haveRoutes.has(r)) f.push(`route +${r}`);
  for (const r of haveRoutes) if (!wantRoutes.has(r)) f.push(`route -${r}`);
  if (!h.forwarding) f.push('forwarding off→on');
  const snat = (s: DesiredRouter['snat']) => (s ? `${s.device}→${s.address}` : 'none');
  if (snat(w.snat) !== snat(h.snat)) f.push(`snat ${snat(h.snat)}→${snat(w.snat)}`);
  return f;
}

const NETNS = /^nfr-[0-9a-f]{12}$/;

function checkNetns(ns: string): string {
  if (!NETNS.test(ns)) throw new Error(`refusing router namespace name ${JSON.stringify(ns)}`);
  return ns;
}

function checkDev(d: string): string {
  if (!isIfname(d)) throw new Error(`refusing interface name ${JSON.stringify(d)}`);
  return d;
}

function checkCidr(c: string): string {
  const [a, len, extra] = c.split('/');
  const x = parseAddress(a ?? '');
  if (!x || extra !== undefined || !/^\d{1,3}$/.test(len ?? '') || Number(len) > (x.version === 4 ? 32 : 128)) throw new Error(`refusing address ${JSON.stringify(c)}`);
  return c;
}

function checkDest(d: string): string {
  if (!parsePrefix(d)) throw new Error(`refusing route destination ${JSON.stringify(d)}`);
  return d;
}

function checkIp(a: string): string {
  if (!parseAddress(a)) throw new Error(`refusing address ${JSON.stringify(a)}`);
  return a;
}

/** What to run for one router: namespaces to make first (`ip netns add`), then per namespace its
 *  `ip -batch` lines, whether forwarding must be switched on, and its NAT script (`nft -f -`). */
export interface RouterPlan {
  /** Made before the host's ip batch (the veths are created straight into them). */
  create: { netns: string; owner: string }[];
  /** Configured after the host's ip batch. */
  configure: { netns: string; ip: string[]; forwarding: boolean; nat?: string }[];
  /** Deleted last. */
  remove: string[];
}

/** The NAT script for a router's namespace: replaces netform's table (or removes it: `snat` undefined). */
export function natScript(snat: DesiredRouter['snat']): string {
  const lines = [`table ip ${NAT_TABLE} {}`, `delete table ip ${NAT_TABLE}`];
  if (snat) {
    lines.push(
      `table ip ${NAT_TABLE} {`,
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      `    oifname "${checkDev(snat.device)}" snat to ${checkIp(snat.address)}`,
      '  }',
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function planRouters(changes: readonly RouterChange[], owner: (name: string) => string): RouterPlan {
  const plan: RouterPlan = { create: [], configure: [], remove: [] };
  for (const c of changes) {
    if (c.op === 'delete') {
      plan.remove.push(checkNetns(c.netns));
      continue;
    }
    const w = c.want!;
    if (c.op === 'create') plan.create.push({ netns: checkNetns(w.netns), owner: owner(w.name) });
    plan.configure.push(configureRouter(w, c.have));
  }
  return plan;
}

/** The whole configuration of a router's namespace, idempotent (what differs is put right, what is
 *  not netform's to keep is removed). */
function configureRouter(w: DesiredRouter, h: ObservedRouter | undefined): RouterPlan['configure'][number] {
  const ip: string[] = ['link set dev lo up'];
  for (const l of w.links) ip.push(`link set dev ${checkDev(l.name)} mtu ${Math.trunc(l.mtu)}`);
  const wantAddr = new Set(w.links.map((l) => `${l.name} ${l.address}`));
  for (const a of h?.addresses ?? []) {
    if (!wantAddr.has(`${a.device} ${a.cidr}`) && !a.cidr.startsWith('fe80:') && a.device !== 'lo') ip.push(`address del ${checkCidr(a.cidr)} dev ${checkDev(a.device)}`);
  }
  for (const l of w.links) ip.push(`address replace ${checkCidr(l.address)} dev ${l.name}`);
  for (const l of w.links) ip.push(`link set dev ${l.name} ${l.up ? 'up' : 'down'}`);
  const wantRoutes = new Set(w.routes.map((r) => `${r.destination} ${r.via}`));
  for (const r of h?.routes ?? []) if (r.via && !wantRoutes.has(`${r.destination} ${r.via}`)) ip.push(`route del ${checkDest(r.destination)} via ${checkIp(r.via)}`);
  // A nexthop is only reachable once its interface is up: down routers keep no routes.
  if (w.links.some((l) => l.up)) for (const r of w.routes) ip.push(`route replace ${checkDest(r.destination)} via ${checkIp(r.via)}`);
  return { netns: checkNetns(w.netns), ip, forwarding: true, nat: natScript(w.snat) };
}

/** What `ip -j route show` (main table, both families) says, without the kernel's own routes. */
export function parseRoutes(json: string): ObservedRouter['routes'] {
  const rows = JSON.parse(json || '[]') as { dst?: string; gateway?: string; dev?: string; protocol?: string }[];
  return rows
    .filter((r) => r.protocol !== 'kernel' && r.dst !== undefined)
    .map((r) => ({ destination: canonicalDestination(r.dst!, (r.gateway ?? r.dst!).includes(':')), ...(r.gateway ? { via: canonicalIp(r.gateway) } : {}), ...(r.dev ? { device: r.dev } : {}) }));
}

/** The source NAT in netform's table, from `nft -j list table ip netform-nat`; undefined: none. */
export function parseNat(json: string): DesiredRouter['snat'] {
  const doc = JSON.parse(json || '{}') as { nftables?: { rule?: { expr?: Record<string, unknown>[] } }[] };
  for (const item of doc.nftables ?? []) {
    const expr = item.rule?.expr ?? [];
    const dev = expr.map((e) => e.match as { left?: { meta?: { key?: string } }; right?: unknown } | undefined).find((m) => m?.left?.meta?.key === 'oifname')?.right;
    const addr = expr.map((e) => e.snat as { addr?: unknown } | undefined).find((s) => s)?.addr;
    if (typeof dev === 'string' && typeof addr === 'string') return { device: dev, address: canonicalIp(addr) };
  }
  return undefined;
}

/** Router namespaces as they were (a snapshot), as desired routers: what a rollback puts back. */
export function routersAsDesired(observed: readonly ObservedRouter[] | undefined): DesiredRouter[] {
  return (observed ?? []).map((h) => {
    const r: DesiredRouter = {
      name: h.name ?? h.netns,
      netns: h.netns,
      links: h.links.map((l) => {
        const a = h.addresses.find((x) => x.device === l.name && !x.cidr.startsWith('fe80:'));
        return { name: l.name, mtu: l.mtu, up: l.up, address: a?.cidr ?? '', network: '' };
      }).filter((l) => l.address !== ''),
      routes: h.routes.filter((x) => x.via).map((x) => ({ destination: x.destination, via: x.via! })),
    };
    if (h.snat) r.snat = { ...h.snat };
    return r;
  });
}

/** Per router the model names, whether its namespace is as specified (for the report). */
export function routerSync(names: readonly string[], want: readonly DesiredRouter[], d: { routers?: RouterChange[]; links: { name: string; fields: string[] }[] }, problems: readonly string[]): { name: string; inSync: boolean; difference?: string }[] {
  return names.map((name) => {
    const r = want.find((x) => x.name === name);
    const problem = problems.find((p) => p.startsWith(`router ${name}:`));
    if (!r) return { name, inSync: false, difference: problem ?? 'not realized' };
    const c = d.routers?.find((x) => x.netns === r.netns);
    const devs = new Set(r.links.map((l) => l.name));
    const veths = d.links.filter((l) => l.fields.length && [...devs].some((inner) => inner.slice(3) === l.name.slice(3)));
    const diff = [...(c ? c.fields : []), ...veths.map((l) => `${l.name}: ${l.fields.join(', ')}`), ...(problem ? [problem] : [])];
    return { name: r.name, inSync: diff.length === 0, ...(diff.length ? { difference: diff.join('; ') } : {}) };
  });
}

// Router: an L3 router on the Neutron provider it names, between the subnets of its interfaces, with
// an optional external gateway (SNAT on or off) and static routes. It waits for its networks to be
// Ready on that provider and resolves their subnets to the provider's ids; a removed network waits
// for the routers attached to it (Network usedBy). Held for approval like a network.
import { isReady } from '../../api/conditions.ts';
import { formatAddress, parseAddress, parsePrefix, prefixContains } from '../../api/ip.ts';
import { objectKey, type Network, type Router } from '../../api/kinds.ts';
import type { HostReport, HostRouterModel } from '../../drivers/host-driver.ts';
import type { RouterModel } from '../../drivers/model.ts';
import { bindingsOf, defineKind } from '../runtime/kind.ts';
import { lookup, type Runtime } from '../runtime/runtime.ts';
import { allRecords } from '../../state/records.ts';

/** The networks a router is attached to (its gateway's and its interfaces'), without repeats. */
export function routerNetworks(r: Pick<Router, 'spec'>): string[] {
  return [...new Set([...(r.spec.gateway ? [r.spec.gateway.network] : []), ...(r.spec.interfaces ?? []).map((i) => i.network)])].sort();
}

const canonicalCidr = (c: string) => parsePrefix(c)?.canonical ?? c;
const canonicalIp = (ip: string) => {
  const a = parseAddress(ip);
  return a ? formatAddress(a) : ip;
};

export const routerKind = defineKind<'Router', Omit<RouterModel, 'name' | 'description' | 'adminStateUp'>, RouterModel>({
  kind: 'Router',

  keyFigure: (r) => {
    const spec = r.spec as Router['spec'] | undefined;
    const n = spec?.interfaces?.length ?? 0;
    return `${n} interface${n === 1 ? '' : 's'}${spec?.gateway ? `, gateway ${spec.gateway.network}` : ''}${spec?.hostRef ? ` on host ${spec.hostRef.name}` : ''}`;
  },

  references: (r) => [
    r.spec.hostRef ? objectKey('Host', r.spec.hostRef.name) : objectKey('Provider', r.spec.providerRef?.name ?? ''),
    ...routerNetworks(r).map((n) => objectKey('Network', n)),
  ],

  approval: ({ rt, object: r }) =>
    r.spec.approval === 'Manual' || (r.spec.providerRef && lookup(rt, 'Provider', r.spec.providerRef.name)?.object.spec.approval === 'Manual') ? 'Manual' : 'Auto',

  prepare({ rt, object: r }) {
    if (r.spec.hostRef) return prepareOnHost(rt, r);
    const provider = r.spec.providerRef?.name ?? '';
    const waiting: string[] = [];
    const pkey = objectKey('Provider', provider);
    if (!rt.store.get(pkey)) waiting.push(`Provider ${provider} is not available`);
    else if (!rt.dryRun && !isReady(rt.records.get(pkey)?.status)) waiting.push(`Provider ${provider} is not Ready`);
    // Each network's ids on the router's provider.
    const ids = new Map<string, { id?: string; subnets: Record<string, string> }>();
    for (const n of routerNetworks(r)) {
      const key = objectKey('Network', n);
      const rec = rt.records.get(key);
      if (!rt.store.get(key)) {
        waiting.push(`Network ${n} is not available`);
        continue;
      }
      if (!rt.dryRun && !isReady(rec?.status)) waiting.push(`Network ${n} is not Ready`);
      const b = bindingsOf(rec).find((x) => x.name === provider);
      const subnets: Record<string, string> = {};
      for (const [k, v] of Object.entries(b?.externalIds ?? {})) if (k.startsWith('subnet/')) subnets[k.slice('subnet/'.length)] = v;
      ids.set(n, { ...(b?.externalId ? { id: b.externalId } : {}), subnets });
    }
    if (waiting.length) return { waiting };
    const missing: string[] = [];
    const subnetId = (network: string, subnet: string) => {
      const id = ids.get(network)?.subnets[subnet];
      if (!id) missing.push(`subnet ${subnet} of Network ${network} is not on Provider ${provider} yet`);
      return id ?? '';
    };
    const value: Omit<RouterModel, 'name' | 'description' | 'adminStateUp'> = {
      interfaces: (r.spec.interfaces ?? []).map((i) => ({ subnetId: subnetId(i.network, i.subnet) })).sort((a, b) => (a.subnetId < b.subnetId ? -1 : 1)),
      routes: (r.spec.routes ?? []).map((x) => ({ destination: canonicalCidr(x.destination), nexthop: canonicalIp(x.nexthop) })).sort((a, b) => (a.destination < b.destination ? -1 : 1)),
    };
    const g = r.spec.gateway;
    if (g) {
      const networkId = ids.get(g.network)?.id;
      if (!networkId) missing.push(`Network ${g.network} is not on Provider ${provider} yet`);
      value.gateway = { networkId: networkId ?? '', snat: g.snat };
      if (g.ipAddress) {
        const net = rt.store.object('Network', g.network);
        const a = parseAddress(g.ipAddress);
        const sub = net?.spec.subnets?.find((s) => {
          const p = parsePrefix(s.cidr);
          return !!(p && a && prefixContains(p, a));
        });
        if (sub) value.gateway.fixedIp = { subnetId: subnetId(g.network, sub.name), ipAddress: canonicalIp(g.ipAddress) };
      }
    }
    // In a plan, a network not made yet has no ids: the router is planned all the same.
    if (missing.length && !rt.dryRun) return { waiting: missing };
    return { value };
  },

  bindings: {
    resource: 'router',
    noun: 'router',
    pick: (d) => d.routers,
    // A host router has no provider: its host's agent realizes it (prepare waits for its report).
    targets: ({ object: r }) => (r.spec.providerRef ? [{ provider: r.spec.providerRef.name }] : []),
    model: (r, _rec, resolved) => ({
      name: r.metadata.name,
      ...(r.spec.description !== undefined ? { description: r.spec.description } : {}),
      adminStateUp: r.spec.adminStateUp,
      interfaces: resolved?.interfaces ?? [],
      routes: resolved?.routes ?? [],
      ...(resolved?.gateway ? { gateway: resolved.gateway } : {}),
    }),
    policy: (r) => ({ managementPolicy: r.spec.managementPolicy, deletionPolicy: r.spec.deletionPolicy, allowReplace: true }),
  },
});

/** The Routers attached to a network (declared, or being removed), for the network's usedBy. */
export function routersOn(rt: Runtime, network: string): string[] {
  const out = new Set<string>();
  for (const r of rt.store.list('Router')) if (routerNetworks(r).includes(network)) out.add(objectKey('Router', r.metadata.name));
  for (const rec of allRecords(rt.records)) {
    if (rec.kind !== 'Router' || rec.spec === undefined) continue;
    if (routerNetworks({ spec: rec.spec as Router['spec'] }).includes(network)) out.add(rec.key);
  }
  return [...out].sort();
}

/** A host router: waits for its Host and networks, then for the Host's agent to report the router
 *  realized as specified. */
function prepareOnHost(rt: Runtime, r: Router): { waiting: string[] } | { value: Omit<RouterModel, 'name' | 'description' | 'adminStateUp'> } {
  const host = r.spec.hostRef!.name;
  const waiting: string[] = [];
  if (!rt.store.get(objectKey('Host', host))) waiting.push(`Host ${host} is not available`);
  for (const n of routerNetworks(r)) if (!rt.store.get(objectKey('Network', n))) waiting.push(`Network ${n} is not available`);
  if (!waiting.length && !rt.dryRun) {
    const report = rt.reports.get(objectKey('Host', host)) as HostReport | undefined;
    const row = report?.routers?.find((x) => x.name === r.metadata.name);
    if (!row) waiting.push(`the agent of Host ${host} has not reported the router yet`);
    else if (!row.inSync) waiting.push(`not yet realized on Host ${host}: ${row.difference ?? 'out of sync'}`);
  }
  return waiting.length ? { waiting } : { value: { interfaces: [], routes: [] } };
}

/** Where a router on a host sits on each network: its address there (CIDR) — the interface's
 *  ipAddress, else its subnet's gateway — or why it has none. */
export function hostRouterModel(rt: Pick<Runtime, 'store'>, r: Router): HostRouterModel | { problem: string } {
  const subnetOf = (network: string, pick: (s: NonNullable<Network['spec']['subnets']>[number]) => boolean) => rt.store.object('Network', network)?.spec.subnets?.find(pick);
  const cidrOf = (cidr: string, address: string) => `${canonicalIp(address)}/${cidr.split('/')[1]}`;
  const interfaces: HostRouterModel['interfaces'] = [];
  for (const i of r.spec.interfaces ?? []) {
    const s = subnetOf(i.network, (x) => x.name === i.subnet);
    if (!s) return { problem: `subnet ${i.subnet} of Network ${i.network} is not declared` };
    const address = i.ipAddress ?? (s.gateway && s.gateway !== 'none' ? s.gateway : undefined);
    if (!address) return { problem: `interface on ${i.network}/${i.subnet} has no address (the subnet has no gateway; give ipAddress)` };
    interfaces.push({ network: i.network, address: cidrOf(s.cidr, address) });
  }
  const out: HostRouterModel = { name: r.metadata.name, adminStateUp: r.spec.adminStateUp, interfaces, routes: (r.spec.routes ?? []).map((x) => ({ destination: canonicalCidr(x.destination), nexthop: canonicalIp(x.nexthop) })) };
  const g = r.spec.gateway;
  if (g) {
    if (!g.ipAddress) return { problem: 'a host router needs gateway.ipAddress' };
    const a = parseAddress(g.ipAddress);
    const s = subnetOf(g.network, (x) => {
      const p = parsePrefix(x.cidr);
      return !!(p && a && prefixContains(p, a));
    });
    if (!s) return { problem: `gateway address ${g.ipAddress} is on no subnet of Network ${g.network}` };
    out.gateway = { network: g.network, address: cidrOf(s.cidr, g.ipAddress), snat: g.snat, ...(s.gateway && s.gateway !== 'none' && canonicalIp(s.gateway) !== canonicalIp(g.ipAddress) ? { nexthop: canonicalIp(s.gateway) } : {}) };
  }
  return out;
}

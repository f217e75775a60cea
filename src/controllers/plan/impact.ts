// Impact analysis: which VMs and service endpoints each planned change reaches, and how. Pure over the
// plan and the desired state and records (where each vNIC or endpoint is now: its record's status,
// else its declaration).
import { objectKey, parseKey } from '../../api/kinds.ts';
import type { FieldChange } from '../../drivers/driver.ts';
import type { ObjectRecord } from '../../state/records.ts';
import type { DesiredStore } from '../../state/store.ts';
import type { ImpactKind, PlanImpact, PlanItem } from '../runtime/plan.ts';

/** A VM vNIC as impact analysis sees it. */
export interface VnicPlace {
  /** `<namespace>/<name>` */
  vnic: string;
  vm: string;
  network: string;
  host: string;
  plugged: boolean;
  /** Still declared (not being deleted), and on which host. */
  declared: boolean;
  desiredHost?: string;
}

interface VnicSpecLike {
  vm?: { name?: string };
  network?: string;
  host?: string;
  plugged?: boolean;
}

/** Every vNIC known, declared or recorded, where it is now. */
export function vnicPlaces(store: Pick<DesiredStore, 'list'>, records: readonly ObjectRecord[]): VnicPlace[] {
  const byKey = new Map<string, VnicPlace>();
  const place = (key: string, spec: VnicSpecLike | undefined, status: Record<string, unknown> | undefined, declared: boolean) => {
    const { name, namespace } = parseKey(key);
    const ns = namespace ?? 'default';
    const network = (status?.network as string | undefined) ?? spec?.network;
    const host = (status?.host as string | undefined) ?? spec?.host;
    if (!network || !host) return;
    byKey.set(`${ns}/${name}`, {
      vnic: `${ns}/${name}`,
      vm: `${ns}/${spec?.vm?.name ?? name}`,
      network,
      host,
      plugged: spec?.plugged !== false,
      declared,
      ...(declared && spec?.host ? { desiredHost: spec.host } : {}),
    });
  };
  const recs = new Map(records.filter((r) => r.kind === 'VnicAttachment').map((r) => [r.key, r] as const));
  for (const v of store.list('VnicAttachment')) {
    const key = objectKey('VnicAttachment', v.metadata.name, v.metadata.namespace ?? 'default');
    place(key, v.spec as VnicSpecLike, recs.get(key)?.status, true);
  }
  for (const [key, r] of recs) if (!byKey.has(`${r.namespace ?? 'default'}/${r.name}`)) place(key, r.spec as VnicSpecLike | undefined, r.status, false);
  return [...byKey.values()].sort((a, b) => (a.vnic < b.vnic ? -1 : 1));
}

/** A service endpoint as impact analysis sees it. */
export interface EndpointPlace {
  /** `<namespace>/<name>` */
  endpoint: string;
  service: string;
  network: string;
  /** The host its device is on; undefined: its port is bound to no host. */
  host?: string;
  /** Still declared (not being deleted), and on which host. */
  declared: boolean;
  desiredHost?: string;
}

interface EndpointSpecLike {
  network?: string;
  service?: string;
  host?: string;
}

/** Every service endpoint known, declared or recorded, where it is now: where its record says its
 *  ports are once they were in place (status.network, status.host), else where it is declared. */
export function endpointPlaces(store: Pick<DesiredStore, 'list'>, records: readonly ObjectRecord[]): EndpointPlace[] {
  const byKey = new Map<string, EndpointPlace>();
  const place = (key: string, spec: EndpointSpecLike | undefined, status: Record<string, unknown> | undefined, declared: boolean) => {
    const { name, namespace } = parseKey(key);
    const ns = namespace ?? 'default';
    const placed = typeof status?.network === 'string';
    const network = placed ? (status!.network as string) : spec?.network;
    const host = placed ? (status!.host as string | undefined) : spec?.host;
    if (!network) return;
    byKey.set(`${ns}/${name}`, {
      endpoint: `${ns}/${name}`,
      service: spec?.service ?? '',
      network,
      ...(host ? { host } : {}),
      declared,
      ...(declared && spec?.host ? { desiredHost: spec.host } : {}),
    });
  };
  const recs = new Map(records.filter((r) => r.kind === 'ServiceEndpoint').map((r) => [r.key, r] as const));
  for (const e of store.list('ServiceEndpoint')) {
    const key = objectKey('ServiceEndpoint', e.metadata.name, e.metadata.namespace ?? 'default');
    place(key, e.spec as EndpointSpecLike, recs.get(key)?.status, true);
  }
  for (const [key, r] of recs) if (!byKey.has(`${r.namespace ?? 'default'}/${r.name}`)) place(key, r.spec as EndpointSpecLike | undefined, r.status, false);
  return [...byKey.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : 1));
}

const REASON: Record<ImpactKind, string> = {
  replug: 'the change reaches the VM only after its vNIC is re-plugged',
  'link-flap': "the vNIC's link goes down and up",
  'connectivity-loss': 'the VM loses the network while the change runs',
  replace: 'the backend object is made anew, with a new id',
  blocking: 'the vNIC still uses it; the deletion waits until it is gone',
};

const ENDPOINT_REASON: Record<Exclude<ImpactKind, 'replace'>, string> = {
  replug: 'the change reaches the endpoint only after its device is re-plugged',
  'link-flap': "the endpoint's link goes down and up",
  'connectivity-loss': 'the endpoint loses the network while the change runs',
  blocking: 'the service endpoint still uses it; the deletion waits until it is gone',
};

/** What a backend (Neutron, UCSM) change of a network does to the VMs on it. */
function networkFieldImpact(c: FieldChange): ImpactKind | undefined {
  const p = c.path.toLowerCase();
  if (p.includes('mtu')) return 'replug';
  if (p.includes('vlan') || p.includes('segmentation') || p.includes('physical')) return 'connectivity-loss';
  return undefined;
}

/** What a host device change does to the VMs of its network on that host. */
function hostFieldImpact(resource: string, action: PlanItem['action'], details: readonly string[], ownTap: boolean): ImpactKind | undefined {
  if (ownTap) {
    // The vNIC's own device: made or removed as declared; re-made or retuned while the VM runs.
    if (action === 'replace' || details.some((d) => d.startsWith('tag ') || d.startsWith('vlan '))) return 'connectivity-loss';
    if (details.some((d) => d.startsWith('mtu '))) return 'replug';
    if (details.some((d) => d === 'down' || d === 'up' || d.startsWith('master '))) return 'link-flap';
    return undefined;
  }
  if (resource === 'tc' || resource.startsWith('openflow') || resource === 'ovs-mirror' || resource === 'ovs-qos' || resource === 'address') return undefined;
  if (action === 'delete' || action === 'replace') return 'connectivity-loss';
  if (details.some((d) => d.startsWith('tag ') || d.startsWith('vlan ') || d.startsWith('trunks '))) return 'connectivity-loss';
  if (details.some((d) => d.startsWith('mtu '))) return 'replug';
  if (details.some((d) => d === 'down' || d === 'up' || d.startsWith('master ') || d.startsWith('bond '))) return 'link-flap';
  return undefined;
}

function impactOn(kind: ImpactKind, v: VnicPlace, why?: string): PlanImpact {
  return { kind, vnic: v.vnic, vm: v.vm, host: v.host, network: v.network, reason: why ?? REASON[kind] };
}

function impactOnEndpoint(kind: Exclude<ImpactKind, 'replace'>, e: EndpointPlace, why?: string): PlanImpact {
  return { kind, endpoint: e.endpoint, service: e.service, ...(e.host ? { host: e.host } : {}), network: e.network, reason: why ?? ENDPOINT_REASON[kind] };
}

/** A change of a port's addresses (not of the further addresses it may send from: allowedAddressPairs). */
const ADDRESSES = /^fixed_?ips/i;

/** The users a blocked deletion names: `deletion waits: still used by A, B`. */
const STILL_USED_BY = 'deletion waits: still used by ';

/** Annotates each changing item with its impact on VMs and service endpoints (in place) and returns the items. */
export function analyzeImpact(items: PlanItem[], vnics: readonly VnicPlace[], endpoints: readonly EndpointPlace[] = []): PlanItem[] {
  const onNetwork = (network: string, host?: string) => vnics.filter((v) => v.plugged && v.network === network && (host === undefined || v.host === host));
  // Endpoints have no unplugged state; on a host, only those whose device is there.
  const endpointsOn = (network: string, host?: string) => endpoints.filter((e) => e.network === network && (host === undefined || e.host === host));
  for (const it of items) {
    const { kind: objKind, name, namespace } = parseKey(it.object);
    const own = `${namespace ?? 'default'}/${name}`;
    const impact: PlanImpact[] = [];
    const host = it.target.startsWith('host:') ? it.target.slice('host:'.length) : undefined;
    if (host) {
      const networks = hostItemNetwork(it) ? [hostItemNetwork(it)!] : (it.networks ?? []);
      if (objKind === 'VnicAttachment') {
        const v = vnics.find((x) => x.vnic === own);
        // The vNIC's own device going while the vNIC is still declared plugged on this host.
        const cut = v && it.action === 'delete' && v.declared && v.plugged && v.desiredHost === host;
        const k = cut ? 'connectivity-loss' : hostFieldImpact(it.resource, it.action, it.details ?? [], true);
        if (v && k) impact.push(impactOn(k, v, cut ? "the vNIC's device goes while the VM still uses it" : undefined));
      } else if (objKind === 'ServiceEndpoint') {
        // The endpoint's own device, as a vNIC's.
        const e = endpoints.find((x) => x.endpoint === own);
        const cut = e && it.action === 'delete' && e.declared && e.desiredHost === host;
        const k = cut ? 'connectivity-loss' : hostFieldImpact(it.resource, it.action, it.details ?? [], true);
        if (e && k && k !== 'replace') impact.push(impactOnEndpoint(k, e, cut ? "the endpoint's device goes while it is still declared there" : undefined));
      } else {
        const k = hostFieldImpact(it.resource, it.action, it.details ?? [], false);
        const lost = (network: string, who: string) => (k === 'connectivity-loss' && it.action === 'delete' ? `the host loses network ${network}, which the ${who} uses` : undefined);
        for (const network of k && k !== 'replace' ? networks : []) {
          for (const v of onNetwork(network, host)) impact.push(impactOn(k!, v, lost(network, 'VM')));
          for (const e of endpointsOn(network, host)) impact.push(impactOnEndpoint(k as Exclude<ImpactKind, 'replace'>, e, lost(network, 'endpoint')));
        }
      }
    } else if (objKind === 'Network' && it.target !== 'netform') {
      if (it.action === 'replace') {
        impact.push({ kind: 'replace', network: name, reason: REASON.replace });
        for (const v of onNetwork(name)) impact.push(impactOn('connectivity-loss', v, "the VM's port is re-made on the new network"));
        for (const e of endpointsOn(name)) impact.push(impactOnEndpoint('connectivity-loss', e, "the endpoint's port is re-made on the new network"));
      } else if (it.action === 'update') {
        const kinds = new Set((it.changes ?? []).map(networkFieldImpact).filter((k): k is ImpactKind => k !== undefined));
        for (const k of ['connectivity-loss', 'replug'] as const) {
          if (!kinds.has(k)) continue;
          for (const v of onNetwork(name)) impact.push(impactOn(k, v));
          for (const e of endpointsOn(name)) impact.push(impactOnEndpoint(k, e));
        }
      }
    } else if (objKind === 'VnicAttachment' && (it.action === 'replace' || it.action === 'update')) {
      const v = vnics.find((x) => x.vnic === own);
      if (v && it.action === 'replace') impact.push(impactOn('connectivity-loss', v, "the vNIC's port is re-made"));
      else if (v && (it.changes ?? []).some((c) => /mac/i.test(c.path))) impact.push(impactOn('replug', v));
      else if (v && (it.changes ?? []).some((c) => ADDRESSES.test(c.path))) impact.push(impactOn('connectivity-loss', v, "the VM's address changes"));
    } else if (objKind === 'ServiceEndpoint' && (it.action === 'replace' || it.action === 'update')) {
      // Its port: a new network or MAC makes a new one (a new id); new addresses change it in place.
      const e = endpoints.find((x) => x.endpoint === own);
      if (e && it.action === 'replace') impact.push(impactOnEndpoint('connectivity-loss', e, "the endpoint's port is re-made"));
      else if (e && (it.changes ?? []).some((c) => ADDRESSES.test(c.path))) impact.push(impactOnEndpoint('connectivity-loss', e, "the endpoint's address changes"));
    } else if (it.action === 'blocked' && it.message?.startsWith(STILL_USED_BY)) {
      // Each vNIC and endpoint the deletion waits for (a Network's, a Host's, a SecurityGroup's…).
      for (const user of it.message.slice(STILL_USED_BY.length).split(', ')) {
        const u = parseKey(user);
        const key = `${u.namespace ?? 'default'}/${u.name}`;
        const v = u.kind === 'VnicAttachment' ? vnics.find((x) => x.vnic === key) : undefined;
        const e = u.kind === 'ServiceEndpoint' ? endpoints.find((x) => x.endpoint === key) : undefined;
        if (v) impact.push(impactOn('blocking', v));
        if (e) impact.push(impactOnEndpoint('blocking', e));
      }
    }
    if (impact.length) it.impact = impact;
  }
  return items;
}

/** The network a host item serves: carried in its object key (`Network/<name>`). */
function hostItemNetwork(it: PlanItem): string | undefined {
  const k = parseKey(it.object);
  return k.kind === 'Network' ? k.name : undefined;
}

const PHRASE: Record<Exclude<ImpactKind, 'replace'>, [string, string]> = {
  replug: ['needs a re-plug', 'need a re-plug'],
  'connectivity-loss': ['loses connectivity during the change', 'lose connectivity during the change'],
  'link-flap': ['sees a link flap', 'see a link flap'],
  blocking: ['holds a deletion back', 'hold a deletion back'],
};

function distinct(items: readonly PlanItem[], who: (i: PlanImpact) => string | undefined): Record<Exclude<ImpactKind, 'replace'>, number> {
  const sets: Record<Exclude<ImpactKind, 'replace'>, Set<string>> = { replug: new Set(), 'connectivity-loss': new Set(), 'link-flap': new Set(), blocking: new Set() };
  for (const it of items) for (const i of it.impact ?? []) if (i.kind !== 'replace' && who(i)) sets[i.kind].add(who(i)!);
  return { replug: sets.replug.size, 'connectivity-loss': sets['connectivity-loss'].size, 'link-flap': sets['link-flap'].size, blocking: sets.blocking.size };
}

/** Distinct VMs per impact kind. */
export function impactCounts(items: readonly PlanItem[]): Record<Exclude<ImpactKind, 'replace'>, number> {
  return distinct(items, (i) => i.vm);
}

/** Distinct service endpoints per impact kind. */
export function endpointImpactCounts(items: readonly PlanItem[]): Record<Exclude<ImpactKind, 'replace'>, number> {
  return distinct(items, (i) => i.endpoint);
}

/** "3 VMs need a re-plug, 1 service endpoint needs a re-plug, 1 VM loses connectivity during the
 *  change"; empty when no VM or endpoint is reached. */
export function impactSummary(items: readonly PlanItem[]): string {
  const vms = impactCounts(items);
  const eps = endpointImpactCounts(items);
  const n = (count: number, one: string, many: string, k: Exclude<ImpactKind, 'replace'>) => `${count} ${count === 1 ? one : many} ${PHRASE[k][count === 1 ? 0 : 1]}`;
  return (['connectivity-loss', 'replug', 'link-flap', 'blocking'] as const)
    .flatMap((k) => [
      ...(vms[k] > 0 ? [n(vms[k], 'VM', 'VMs', k)] : []),
      ...(eps[k] > 0 ? [n(eps[k], 'service endpoint', 'service endpoints', k)] : []),
    ])
    .join(', ');
}

// What the host agent needs from the desired state: the Host, its Cluster, the Networks with the
// VLANs they actually use (from their status), and the vNICs placed on the host. Reads the store and
// records only.
import { objectKey, type Network, type VnicProfile } from '../../api/kinds.ts';
import { isStalled } from '../../api/conditions.ts';
import type { HostFirewallRule, HostRouterModel, HostVnicModel } from '../../drivers/host-driver.ts';
import { formatAddress, parseAddress } from '../../api/ip.ts';
import { hostRouterModel } from '../router/router.kind.ts';
import { endpointHostKey } from '../serviceendpoint/serviceendpoint.kind.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { HostInputs } from './host.desired.ts';
import { effectiveProfile } from '../vnicprofile/profile.effective.ts';
import { profileKeyOf } from '../vnicprofile/vnicprofile.kind.ts';

export function hostInputs(rt: Pick<Runtime, 'store' | 'records'>, hostName: string): HostInputs | undefined {
  const host = rt.store.object('Host', hostName);
  if (!host) return undefined;
  const cluster = rt.store.object('Cluster', host.spec.cluster);
  const networks = new Map<string, Network>();
  const vlans = new Map<string, number>();
  for (const n of rt.store.list('Network') as Network[]) {
    const rec = rt.records.get(objectKey('Network', n.metadata.name));
    const vlan = n.spec.vlan?.id ?? (rec?.status.vlan as number | undefined);
    networks.set(n.metadata.name, n);
    if (vlan !== undefined) vlans.set(n.metadata.name, vlan);
  }
  const vnics: HostVnicModel[] = [];
  for (const v of rt.store.list('VnicAttachment')) {
    const status = rt.records.get(objectKey('VnicAttachment', v.metadata.name, v.metadata.namespace))?.status;
    // The host its ports are bound to (set once they were made or followed a migration).
    const bound = status?.host as string | undefined;
    const own = v.spec.host === hostName;
    // Its own vNICs, except one refused before it ever got here (a duplicate MAC, no free dynamic
    // vNIC): nothing is made for it, on the host either. And those leaving it: the source keeps the
    // device while the ports are still bound to it (the destination has not plugged and reported yet,
    // or the migration was refused), then while the VM here still holds it (departing).
    const here = own ? !(isStalled(status) && bound !== hostName) : bound === hostName || releasingFrom(status) === hostName;
    if (!here) continue;
    const x: HostVnicModel = {
      key: `${v.metadata.namespace ?? 'default'}/${v.metadata.name}`,
      network: v.spec.network,
      vmName: v.spec.vm.name,
      plugged: v.spec.plugged,
      linked: v.spec.linked,
    };
    // Its own MAC, or the one its MacPool gave it (kept in its status).
    const mac = v.spec.mac?.toLowerCase() ?? (status?.mac as string | undefined);
    if (mac) x.mac = mac;
    if (v.spec.vm.uid) x.vmUid = v.spec.vm.uid;
    if (!own && bound !== hostName) x.departing = true;
    // Its profile's limits and mirroring, or its network's defaults. A profile that is not there
    // (yet) counts as none: the vNIC keeps its network's defaults meanwhile.
    const pkey = profileKeyOf(v.metadata.namespace, v.spec);
    const profile = pkey ? (rt.store.get(pkey)?.object as VnicProfile | undefined) : undefined;
    const eff = effectiveProfile(networks.get(v.spec.network), profile?.spec.network === v.spec.network ? profile : undefined);
    if (eff.qos) x.qos = eff.qos;
    if (eff.mirrored) x.mirrored = true;
    const groups = v.spec.securityGroups ?? (profile?.spec.network === v.spec.network ? profile.spec.securityGroups : undefined);
    if (groups?.length) x.firewall = vnicFirewall(rt, v.metadata.namespace ?? 'default', groups.map((g) => g.name));
    vnics.push(x);
  }
  // Service endpoints whose device lives here: plugged like a vNIC, always linked.
  for (const e of rt.store.list('ServiceEndpoint')) {
    if (e.spec.host !== hostName) continue;
    const ns = e.metadata.namespace ?? 'default';
    const status = rt.records.get(objectKey('ServiceEndpoint', e.metadata.name, e.metadata.namespace))?.status;
    const x: HostVnicModel = {
      key: endpointHostKey(e.metadata.namespace, e.metadata.name),
      network: e.spec.network,
      vmName: `${e.spec.service}/${ns}/${e.metadata.name}`,
      plugged: true,
      linked: true,
      endpoint: { service: e.spec.service, promiscuous: !!e.spec.promiscuous },
    };
    const mac = e.spec.mac?.toLowerCase() ?? (status?.mac as string | undefined);
    if (mac) x.mac = mac;
    if (e.spec.securityGroups?.length) x.firewall = vnicFirewall(rt, ns, e.spec.securityGroups.map((g) => g.name));
    vnics.push(x);
  }
  // Routers this host realizes.
  const routers: HostRouterModel[] = [];
  for (const r of rt.store.list('Router')) {
    if (r.spec.hostRef?.name !== hostName) continue;
    const m = hostRouterModel(rt, r);
    if ('problem' in m) continue; // admission reports these; nothing half-made meanwhile
    routers.push(m);
  }
  routers.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { host, cluster, networks, vlans, vnics, ...(routers.length ? { routers } : {}) };
}

/** The security groups of a vNIC as one rule set for its host: every rule of every group, a remote
 *  group resolved to the addresses of its members (the vNICs of the namespace that use it), the
 *  default egress made explicit. Groups that are not declared contribute nothing (admission refuses
 *  them). */
function vnicFirewall(rt: Pick<Runtime, 'store' | 'records'>, namespace: string, names: string[]): NonNullable<HostVnicModel['firewall']> {
  const rules: HostFirewallRule[] = [];
  let stateful = true;
  for (const name of names) {
    const g = rt.store.object('SecurityGroup', name, namespace);
    if (!g) continue;
    if (g.spec.stateful === false) stateful = false;
    for (const r of g.spec.rules ?? []) {
      const x: HostFirewallRule = { direction: r.direction, ethertype: r.ethertype };
      if (r.protocol !== 'any') x.protocol = r.protocol;
      if ((r.protocol === 'tcp' || r.protocol === 'udp') && r.portRangeMin !== undefined) {
        x.portRangeMin = r.portRangeMin;
        x.portRangeMax = r.portRangeMax ?? r.portRangeMin;
      }
      if (r.remoteCidr !== undefined) x.remote = [r.remoteCidr];
      else if (r.remoteGroup !== undefined) x.remote = memberAddresses(rt, namespace, r.remoteGroup, r.ethertype === 'IPv4' ? 4 : 6);
      rules.push(x);
    }
    if (g.spec.defaultEgress === 'Allow') for (const ethertype of ['IPv4', 'IPv6'] as const) rules.push({ direction: 'egress', ethertype });
  }
  const seen = new Set<string>();
  return { stateful, rules: rules.filter((r) => !seen.has(JSON.stringify(r)) && !!seen.add(JSON.stringify(r))) };
}

/** The addresses (of one IP version) of the vNICs in `namespace` that use the group: those in use
 *  (status) or, before a backend reported any, the fixed ones the spec gives. */
function memberAddresses(rt: Pick<Runtime, 'store' | 'records'>, namespace: string, group: string, version: 4 | 6): string[] {
  const out = new Set<string>();
  for (const v of rt.store.list('VnicAttachment')) {
    if ((v.metadata.namespace ?? 'default') !== namespace) continue;
    const pkey = profileKeyOf(v.metadata.namespace, v.spec);
    const profile = pkey ? (rt.store.get(pkey)?.object as VnicProfile | undefined) : undefined;
    const groups = v.spec.securityGroups ?? (profile?.spec.network === v.spec.network ? profile.spec.securityGroups : undefined);
    if (!groups?.some((g) => g.name === group)) continue;
    const status = rt.records.get(objectKey('VnicAttachment', v.metadata.name, v.metadata.namespace))?.status;
    const inUse = (status?.addresses as string[] | undefined) ?? [];
    const fixed = (v.spec.fixedIps ?? []).map((f) => f.ipAddress).filter((a): a is string => a !== undefined);
    for (const a of inUse.length ? inUse : fixed) {
      const p = parseAddress(a.split('/')[0]!);
      if (p?.version === version) out.add(formatAddress(p));
    }
  }
  for (const e of rt.store.list('ServiceEndpoint')) {
    if ((e.metadata.namespace ?? 'default') !== namespace || !e.spec.securityGroups?.some((g) => g.name === group)) continue;
    const status = rt.records.get(objectKey('ServiceEndpoint', e.metadata.name, e.metadata.namespace))?.status;
    const inUse = (status?.addresses as string[] | undefined) ?? [];
    const fixed = (e.spec.fixedIps ?? []).map((f) => f.ipAddress).filter((a): a is string => a !== undefined);
    for (const a of inUse.length ? inUse : fixed) {
      const p = parseAddress(a.split('/')[0]!);
      if (p?.version === version) out.add(formatAddress(p));
    }
  }
  return [...out].sort();
}

/** The host a migrated vNIC's device is being released on, if any. */
function releasingFrom(status: Record<string, unknown> | undefined): string | undefined {
  const m = status?.migration as { from?: string; phase?: string } | undefined;
  return m?.phase === 'releasing' ? m.from : undefined;
}

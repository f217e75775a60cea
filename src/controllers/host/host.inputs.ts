// What the host agent needs from the desired state: the Host, its Cluster, the Networks with the
// VLANs they actually use (from their status), and the vNICs placed on the host. Reads the store and
// records only.
import { objectKey, type Network, type VnicProfile } from '../../api/kinds.ts';
import { isStalled } from '../../api/conditions.ts';
import type { HostVnicModel } from '../../drivers/host-driver.ts';
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
    vnics.push(x);
  }
  return { host, cluster, networks, vlans, vnics };
}

/** The host a migrated vNIC's device is being released on, if any. */
function releasingFrom(status: Record<string, unknown> | undefined): string | undefined {
  const m = status?.migration as { from?: string; phase?: string } | undefined;
  return m?.phase === 'releasing' ? m.from : undefined;
}

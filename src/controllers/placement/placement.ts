// Which hosts can run a VM, given its vNICs (seed 002, VM scheduling): on each host every network the
// VM needs must be carried (attached to the host's cluster and placed on a NIC or bond that reaches its
// physical network) and in sync as its agent last reported, and its VIC must have a free dynamic vNIC
// for each vNIC on a UCS Manager network (the vNICs and service endpoints already there hold theirs). For a migration the destination must be in the source's
// cluster and carry each network on the same fabric as the source. Reads the store, the records and
// the agents' reports only; answers every host with its reasons, so a refusal says why.
import { objectKey } from '../../api/kinds.ts';
import type { HostReport } from '../../drivers/host-driver.ts';
import { hostNetworks, type Placement } from '../host/host.model.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { dynamicVnicHolders, holderNames, needsDynamicVnic } from './capacity.ts';

type View = Pick<Runtime, 'store' | 'records' | 'reports'>;

export interface VmNeeds {
  /** The networks of the VM's vNICs (one entry per vNIC). */
  networks: string[];
  /** A migration: the host the VM runs on now. */
  from?: string;
  /** Attachments that are the VM's own (they hold no capacity against it on the source). */
  own?: string[];
}

export interface HostFit {
  host: string;
  cluster: string;
  fits: boolean;
  /** Why not, one line each; empty when it fits. */
  reasons: string[];
  /** Free dynamic vNICs after this VM, where the VM needs any; undefined: none needed or not known. */
  dynamicVnicsLeft?: number;
  /** Where the VM needs dynamic vNICs and the VIC is known: the keys of the other vNICs and service
   *  endpoints holding one of this host's (VnicAttachment/…, ServiceEndpoint/…), in the order they got them. */
  dynamicVnicHolders?: string[];
}

export function placeVm(rt: View, needs: VmNeeds): HostFit[] {
  const networks = new Map(rt.store.list('Network').map((n) => [n.metadata.name, n] as const));
  const placementsOf = (host: string): Map<string, Placement> | undefined => {
    const h = rt.store.object('Host', host);
    if (!h) return undefined;
    return new Map(hostNetworks(h, rt.store.object('Cluster', h.spec.cluster), networks).placements.map((p) => [p.network, p]));
  };
  const source = needs.from ? rt.store.object('Host', needs.from) : undefined;
  const sourcePlacements = needs.from ? placementsOf(needs.from) : undefined;
  const wanted = [...new Set(needs.networks)].sort();
  const own = new Set(needs.own ?? []);
  return rt.store
    .list('Host')
    .map((h): HostFit => {
      const name = h.metadata.name;
      const reasons: string[] = [];
      const cluster = rt.store.object('Cluster', h.spec.cluster);
      const placed = placementsOf(name)!;
      const report = rt.reports.get(objectKey('Host', name)) as HostReport | undefined;
      if (needs.from && name === needs.from) reasons.push('the source host');
      if (source && source.spec.cluster !== h.spec.cluster) reasons.push(`in cluster ${h.spec.cluster}, not the source's ${source.spec.cluster}`);
      if (!report) reasons.push('no report from its agent yet');
      for (const net of wanted) {
        const n = networks.get(net);
        const p = placed.get(net);
        if (!n) reasons.push(`${net}: no such network`);
        else if (!(cluster?.spec.networks ?? []).some((a) => a.name === net)) reasons.push(`${net}: not attached to cluster ${h.spec.cluster}`);
        else if (!p) reasons.push(`${net}: no NIC or bond of the host reaches physical network ${n.spec.physicalNetwork}`);
        else {
          const state = report?.networks.find((x) => x.name === net);
          if (report && !state?.inSync) reasons.push(`${net}: not in sync on the host${state?.difference ? ` (${state.difference})` : ''}`);
          const was = sourcePlacements?.get(net);
          if (was && was.fabric !== p.fabric) reasons.push(`${net}: rides ${p.fabric} here, ${was.fabric} on ${needs.from}`);
        }
      }
      let left: number | undefined;
      let holders: string[] | undefined;
      const needed = needs.networks.filter((n) => needsDynamicVnic(rt, n)).length;
      if (needed && report) {
        // Those beyond the VIC's count hold none (they are refused InsufficientCapacity).
        holders = dynamicVnicHolders(rt, name)
          .filter((k) => !own.has(k))
          .slice(0, report.dynamicVnics.total);
        const free = report.dynamicVnics.total - holders.length;
        left = free - needed;
        if (left < 0) {
          const by = holders.length ? ` (held by ${holderNames(holders)})` : '';
          reasons.push(`needs ${needed} dynamic vNIC${needed === 1 ? '' : 's'}, its VIC has ${free} free of ${report.dynamicVnics.total}${by}`);
        }
      }
      const fit: HostFit = { host: name, cluster: h.spec.cluster, fits: reasons.length === 0, reasons };
      if (left !== undefined) fit.dynamicVnicsLeft = Math.max(left, 0);
      if (holders) fit.dynamicVnicHolders = holders;
      return fit;
    })
    .sort((a, b) => (a.fits === b.fits ? (a.host < b.host ? -1 : 1) : a.fits ? -1 : 1));
}

/** The networks of a VM's vNICs, and the VM's attachments, from the desired state. */
export function vmNeeds(rt: Pick<Runtime, 'store'>, vm: string, namespace?: string): { networks: string[]; own: string[]; hosts: string[] } {
  const mine = rt.store.list('VnicAttachment').filter((v) => v.spec.vm.name === vm && (namespace === undefined || (v.metadata.namespace ?? 'default') === namespace));
  return {
    networks: mine.map((v) => v.spec.network),
    own: mine.map((v) => objectKey('VnicAttachment', v.metadata.name, v.metadata.namespace)),
    hosts: [...new Set(mine.map((v) => v.spec.host))].sort(),
  };
}

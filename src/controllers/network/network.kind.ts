// Network: resolve the VLAN (fixed or from the pool), then bring the network to each provider it
// names; remove it from providers it no longer names; on removal, delete (or orphan) it everywhere
// once no vNIC, profile, service endpoint or router uses it, then give the VLAN back.
import { isReady } from '../../api/conditions.ts';
import { objectKey, parseKey, type Cluster } from '../../api/kinds.ts';
import type { NetworkModel } from '../../drivers/model.ts';
import { defineKind } from '../runtime/kind.ts';
import { lookup, type Runtime } from '../runtime/runtime.ts';
import { hostNetworks } from '../host/host.model.ts';
import { poolsOf } from '../vlanpool/allocations.ts';
import { toNetworkModel } from './network.model.ts';
import { routersOn } from '../router/router.kind.ts';
import { allRecords } from '../../state/records.ts';

interface Resolved {
  vlan: number | undefined;
  /** The Hosts that carry the network. */
  hosts: string[];
}

export const networkKind = defineKind<'Network', Resolved, NetworkModel>({
  kind: 'Network',

  keyFigure: (r) => (r.status.vlan === undefined ? ((r.spec as { vlan?: unknown } | undefined)?.vlan ? '' : 'VLAN -') : `VLAN ${String(r.status.vlan)}`),

  references: (net) => [
    ...(net.spec.providerRefs ?? []).map((p) => objectKey('Provider', p.name)),
    ...(net.spec.vlan?.poolRef ? [objectKey('VlanPool', net.spec.vlan.poolRef.name)] : []),
  ],

  // Held for approval when the network asks for it, or any of its providers does.
  approval: ({ rt, object: net }) => (net.spec.approval === 'Manual' ? 'Manual' : manualOn(rt, net.spec.providerRefs)),

  usedBy: (rt, key) => ({
    users: [...portsOn(rt, parseKey(key).name), ...routersOn(rt, parseKey(key).name)],
    waitingFor: 'waiting for vNICs, vNIC profiles, service endpoints and routers to leave the network',
  }),

  async prepare({ rt, key, object: net, rec }) {
    const waiting: string[] = [];
    for (const ref of net.spec.providerRefs ?? []) {
      const pkey = objectKey('Provider', ref.name);
      if (!rt.store.get(pkey)) waiting.push(`Provider ${ref.name} is not available`);
      else if (!rt.dryRun && !isReady(rt.records.get(pkey)?.status)) waiting.push(`Provider ${ref.name} is not Ready`);
    }
    let vlan = net.spec.vlan?.id;
    let stalled: string | undefined;
    if (net.spec.vlan?.poolRef) {
      const got = await poolsOf(rt).vlanFor(net);
      if ('error' in got) {
        if (got.error.includes('no free VLAN')) stalled = got.error;
        else waiting.push(got.error);
      } else {
        vlan = got.vlan;
        if (got.allocated && rt.dryRun) {
          rt.plan.push({
            object: key,
            target: 'netform',
            resource: 'vlan',
            action: 'allocate',
            message: `VLAN ${vlan} from VlanPool ${net.spec.vlan.poolRef.name}`,
          });
        }
      }
    }
    if (vlan !== undefined) {
      rec.status.vlan = vlan;
      rec.status.physicalNetwork = net.spec.physicalNetwork;
    }
    return {
      waiting,
      stalled,
      value: { vlan, hosts: hostsCarrying(rt, net.metadata.name) },
    };
  },

  bindings: {
    resource: 'network',
    noun: 'network',
    pick: (d) => d.networks,
    targets: ({ object }) =>
      (object.spec.providerRefs ?? []).map((ref) => ({
        provider: ref.name,
        importRef: ref.import,
      })),
    // Being removed: the VLAN it last held, no hosts.
    model: (net, rec, resolved) => (resolved ? toNetworkModel(net, resolved.vlan, resolved.hosts) : toNetworkModel(net, rec.status.vlan as number | undefined)),
    policy: (net) => ({
      managementPolicy: net.spec.managementPolicy,
      deletionPolicy: net.spec.deletionPolicy,
      allowReplace: net.spec.allowReplace,
    }),
  },

  async removed(rt, rec) {
    const pool = (rec.spec as { vlan?: { poolRef?: { name: string } } }).vlan?.poolRef?.name;
    if (!pool) return;
    if (!rt.dryRun) await poolsOf(rt).release(pool, rec.name);
    else if (rec.status.vlan !== undefined) {
      rt.plan.push({
        object: rec.key,
        target: 'netform',
        resource: 'vlan',
        action: 'release',
        message: `VLAN ${String(rec.status.vlan)} back to VlanPool ${pool}`,
      });
    }
  },
});

/** The Hosts whose placement (by name, label, or the cluster's required networks) carries the network. */
export function hostsCarrying(rt: Pick<Runtime, 'store'>, network: string): string[] {
  // Placements depend on the desired Hosts, Clusters and Networks only: computed once per admission
  // for every network (each network's pass used to place every host again: 10,000 networks × 100
  // hosts was most of a large run's CPU), and reused across admissions while what placement reads
  // is the same — the very Host and Cluster objects (admission hands out the same frozen objects for
  // unchanged files), and each attached network's label and physical network — so an edit of a
  // network's MTU does not place every host again.
  const byNetwork = rt.store.memo('network:hosts-carrying', () => {
    const hosts = rt.store.list('Host');
    const clusters = new Map<string, Cluster | undefined>();
    for (const h of hosts) if (!clusters.has(h.spec.cluster)) clusters.set(h.spec.cluster, rt.store.object('Cluster', h.spec.cluster));
    const networks = new Map(rt.store.list('Network').map((n) => [n.metadata.name, n] as const));
    const parts: string[] = [];
    for (const h of hosts) parts.push(`${identity(h)}:${identity(clusters.get(h.spec.cluster))}`);
    for (const [name, c] of clusters) {
      parts.push(`|${name}`);
      for (const att of c?.spec.networks ?? []) {
        const n = networks.get(att.name);
        parts.push(n ? `${att.name}=${n.spec.label ?? ''}/${n.spec.physicalNetwork ?? ''}` : `${att.name}?`);
      }
    }
    const signature = parts.join(',');
    const last = lastPlacement.get(rt.store);
    if (last?.signature === signature) return last.byNetwork;
    const out = new Map<string, string[]>();
    for (const h of hosts) {
      for (const name of new Set(hostNetworks(h, clusters.get(h.spec.cluster), networks).placements.map((p) => p.network))) {
        let carriers = out.get(name);
        if (!carriers) out.set(name, (carriers = []));
        carriers.push(h.metadata.name);
      }
    }
    for (const carriers of out.values()) carriers.sort();
    lastPlacement.set(rt.store, { signature, byNetwork: out });
    return out;
  });
  return [...(byNetwork.get(network) ?? [])];
}

/** The last placement computed for a store, with what it was computed from. */
const lastPlacement = new WeakMap<object, { signature: string; byNetwork: Map<string, string[]> }>();

/** A number per frozen object (an object that cannot change), a new one for any other object. */
const identities = new WeakMap<object, number>();
let nextIdentity = 0;
function identity(o: object | undefined): string {
  if (!o) return '-';
  if (!Object.isFrozen(o)) return `n${nextIdentity++}`;
  let id = identities.get(o);
  if (id === undefined) identities.set(o, (id = nextIdentity++));
  return String(id);
}

/** The kinds whose objects sit on one network (spec.network): a vNIC, a vNIC profile, a service endpoint. */
const ON_A_NETWORK = ['VnicAttachment', 'VnicProfile', 'ServiceEndpoint'] as const;

/** VnicAttachments, VnicProfiles and ServiceEndpoints (desired, or still on backends) that use the network. */
function portsOn(rt: Runtime, network: string): string[] {
  const out = new Set<string>();
  for (const kind of ON_A_NETWORK) {
    for (const o of rt.store.list(kind)) if (o.spec.network === network) out.add(objectKey(kind, o.metadata.name, o.metadata.namespace));
  }
  for (const r of allRecords(rt.records)) {
    if ((ON_A_NETWORK as readonly string[]).includes(r.kind) && (r.spec as { network?: string } | undefined)?.network === network) out.add(r.key);
  }
  return [...out].sort();
}

/** Manual when one of these providers holds every change of the objects on it (Provider approval). */
function manualOn(rt: Runtime, refs: readonly { name: string }[] | undefined): 'Auto' | 'Manual' {
  return (refs ?? []).some((p) => lookup(rt, 'Provider', p.name)?.object.spec.approval === 'Manual') ? 'Manual' : 'Auto';
}

/** Manual when a provider of the network (declared, or as last recorded) holds its objects' changes. */
export function manualProvider(rt: Runtime, network: string): 'Auto' | 'Manual' {
  return manualOn(rt, lookup(rt, 'Network', network)?.object.spec.providerRefs);
}

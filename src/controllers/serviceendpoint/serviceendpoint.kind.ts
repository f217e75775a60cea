// ServiceEndpoint: a non-VM device (a load balancer VIP, a firewall or IDS appliance, an external
// router) on a network. Once its network is Ready (and its host and security groups exist), one port
// on every provider of the network that has per-endpoint objects (Neutron); on removal, delete (or
// orphan) them. A network waits for the endpoints on it before it goes (Network usedBy), and so does
// the host an endpoint names (Host usedBy). On a host, an endpoint on a network that rides a UCS
// Manager domain takes a dynamic vNIC of the host's VIC, as a vNIC does (placement/capacity.ts).
import { isReady } from '../../api/conditions.ts';
import { objectKey, type ServiceEndpoint } from '../../api/kinds.ts';
import type { ServiceEndpointModel } from '../../drivers/model.ts';
import { vnicDeviceName } from '../../drivers/host-driver.ts';
import { manualProvider } from '../network/network.kind.ts';
import { capacityProblem } from '../placement/capacity.ts';
import { bindingsOf, defineKind } from '../runtime/kind.ts';
import { securityGroupIdsOn, securityGroupKeysOf } from '../secgroup/secgroup.kind.ts';
import { toServiceEndpointModel } from './serviceendpoint.model.ts';

interface Resolved {
  /** The network's backend id on each of its providers. */
  networkIds: Map<string, string>;
  /** The network's secondary ids on each of its providers (`subnet/<name>`: a subnet's id). */
  networkSubIds: Map<string, Record<string, string>>;
  /** The ids of its security groups on each provider, when it names some. */
  groupIds?: Map<string, string[]>;
}

export const serviceEndpointKind = defineKind<'ServiceEndpoint', Resolved, ServiceEndpointModel>({
  kind: 'ServiceEndpoint',

  // `firewall fa:16:3e:…`: the service, and the MAC once there is one.
  keyFigure: (r) => [(r.spec as ServiceEndpoint['spec'] | undefined)?.service, r.status.mac as string | undefined].filter(Boolean).join(' '),

  references: (e) => [
    objectKey('Network', e.spec.network),
    ...(e.spec.host ? [objectKey('Host', e.spec.host)] : []),
    ...securityGroupKeysOf(e.metadata.namespace, e.spec),
  ],

  // Held for approval when it asks for it, or a provider of its network holds its objects' changes.
  approval: ({ rt, object: e }) => (e.spec.approval === 'Manual' ? 'Manual' : manualProvider(rt, e.spec.network)),

  prepare({ rt, key, object: e }) {
    const netKey = objectKey('Network', e.spec.network);
    const netRec = rt.records.get(netKey);
    const waiting: string[] = [];
    if (!rt.store.get(netKey)) waiting.push(`Network ${e.spec.network} is not available`);
    else if (!rt.dryRun && !isReady(netRec?.status)) waiting.push(`Network ${e.spec.network} is not Ready`);
    if (e.spec.host && !rt.store.get(objectKey('Host', e.spec.host))) waiting.push(`Host ${e.spec.host} is not available`);
    const networkIds = new Map<string, string>();
    const networkSubIds = new Map<string, Record<string, string>>();
    for (const b of bindingsOf(netRec)) {
      if (b.externalId) networkIds.set(b.name, b.externalId);
      networkSubIds.set(b.name, b.externalIds ?? {});
    }
    const value: Resolved = { networkIds, networkSubIds };
    // Its security groups on each provider: they must exist there first.
    if (e.spec.securityGroups && !e.spec.promiscuous) {
      const groups = securityGroupIdsOn(rt, e.metadata.namespace ?? 'default', e.spec.securityGroups, bindingsOf(netRec).map((b) => b.name));
      value.groupIds = groups.ids;
      waiting.push(...groups.waiting);
    }
    // A dynamic vNIC on its host's VIC, where the network needs one: refused before anything is made.
    const full = e.spec.host ? capacityProblem(rt, key, e.spec.host, e.spec.network, true) : undefined;
    if (full) return { stalled: full, stalledReason: 'InsufficientCapacity' };
    return waiting.length ? { waiting } : { value };
  },

  bindings: {
    resource: 'port',
    noun: 'service endpoint',
    pick: (d) => d.serviceEndpoints,
    targets: ({ rt, object: e }, resolved) =>
      (rt.store.object('Network', e.spec.network)?.spec.providerRefs ?? [])
        // On the providers the network is on; a plan also shows the port on those it is not on yet.
        .filter((ref) => rt.dryRun || resolved?.networkIds.has(ref.name))
        .map((ref) => ({ provider: ref.name, ...(e.spec.import ? { importRef: e.spec.import } : {}) })),
    // Being removed: its port is found by the id its status recorded.
    model: (e, _rec, resolved, provider) =>
      resolved
        ? toServiceEndpointModel(e, resolved.networkIds.get(provider) ?? '', resolved.networkSubIds.get(provider), resolved.groupIds?.get(provider))
        : toServiceEndpointModel(e, ''),
    policy: (e) => ({
      managementPolicy: e.spec.managementPolicy,
      deletionPolicy: e.spec.deletionPolicy,
      // A new network or MAC makes a new port; never for an imported port, which is not netform's to re-make.
      allowReplace: !e.spec.import,
    }),
    report({ rt, object: e, rec }, outcomes) {
      const facts = outcomes.find((o) => o.facts)?.facts as { mac?: string; addresses?: string[]; deviceOwner?: string } | undefined;
      const mac = facts?.mac ?? e.spec.mac?.toLowerCase();
      if (mac) rec.status.mac = mac;
      if (facts?.addresses) rec.status.addresses = facts.addresses;
      if (facts?.deviceOwner !== undefined) rec.status.deviceOwner = facts.deviceOwner;
      if (e.spec.host) rec.status.deviceName = vnicDeviceName(endpointHostKey(e.metadata.namespace, e.metadata.name));
      else delete rec.status.deviceName;
      // Where its ports now are, once they are as specified: plan impact reads it, and the host's
      // dynamic vNIC stays its own before any newcomer's.
      if (!rt.dryRun && outcomes.every((o) => o.done && !o.error)) {
        rec.status.network = e.spec.network;
        if (e.spec.host) rec.status.host = e.spec.host;
        else delete rec.status.host;
      }
    },
  },
});

/** The key a ServiceEndpoint's device goes by on its host (its OVS iface-id; its tap's name is derived
 *  from it): apart from the VnicAttachments' `<namespace>/<name>`. */
export function endpointHostKey(namespace: string | undefined, name: string): string {
  return `endpoint:${namespace ?? 'default'}/${name}`;
}

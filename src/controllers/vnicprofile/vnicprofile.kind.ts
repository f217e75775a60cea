// VnicProfile: how the vNICs that name it behave (bandwidth limits, mirroring, port security). On each
// provider of its network that keeps per-profile objects (Neutron: a QoS policy) the profile's limits
// are realized once, and the vNICs' ports point at it; a profile without limits of its own has no
// such object. A removed profile waits until no vNIC uses it. The host side (policing, shaping,
// mirroring) is the host agent's: it reads the profile through the vNICs.
import { securityGroupKeysOf } from '../secgroup/secgroup.kind.ts';
import { manualProvider } from '../network/network.kind.ts';
import { objectKey } from '../../api/kinds.ts';
import type { VnicProfileModel } from '../../drivers/model.ts';
import { defineKind } from '../runtime/kind.ts';
import { profileQos } from './profile.effective.ts';
import { allRecords } from '../../state/records.ts';

export const vnicProfileKind = defineKind<'VnicProfile', undefined, VnicProfileModel>({
  kind: 'VnicProfile',

  keyFigure: (r) => String((r.spec as { network?: string } | undefined)?.network ?? ''),

  references: (p) => [objectKey('Network', p.spec.network), ...securityGroupKeysOf(p.metadata.namespace, p.spec)],

  usedBy(rt, key) {
    const users = new Set(rt.store.referrers(key));
    // vNICs removed from the desired state whose ports may still point at the profile's objects.
    for (const r of allRecords(rt.records)) if (r.kind === 'VnicAttachment' && profileKeyOf(r.namespace, r.spec) === key) users.add(r.key);
    return { users, waitingFor: 'waiting for vNICs to stop using the profile' };
  },

  prepare({ rt, object: p }) {
    if (!rt.store.get(objectKey('Network', p.spec.network))) return { waiting: [`Network ${p.spec.network} is not available`] };
    return {};
  },

  // Held for approval when a provider of its network holds its objects' changes (Provider approval Manual).
  approval: ({ rt, object: p }) => manualProvider(rt, p.spec.network),

  bindings: {
    resource: 'qos-policy',
    noun: 'profile',
    pick: (d) => d.profiles,
    targets: ({ rt, object: p }) =>
      (rt.store.object('Network', p.spec.network)?.spec.providerRefs ?? []).map((ref) => ({
        provider: ref.name,
        // Nothing of its own to keep where the profile sets no limits.
        deleting: !profileQos(p),
      })),
    model: (p) => {
      const m: VnicProfileModel = { name: `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, network: p.spec.network };
      const qos = profileQos(p);
      if (qos) m.qos = qos;
      return m;
    },
    policy: (p) => ({
      managementPolicy: p.spec.managementPolicy,
      deletionPolicy: p.spec.deletionPolicy,
      allowReplace: true,
    }),
  },
});

/** The key of the VnicProfile a VnicAttachment (its namespace and spec) names, if any. */
export function profileKeyOf(namespace: string | undefined, spec: unknown): string | undefined {
  const ref = (spec as { profileRef?: { name: string; namespace?: string } } | undefined)?.profileRef;
  return ref ? objectKey('VnicProfile', ref.name, ref.namespace ?? namespace ?? 'default') : undefined;
}

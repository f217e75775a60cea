// SecurityGroup: a stateful filter kept on each Neutron provider it names (a security group with
// exactly its rules). Remote groups are resolved to their ids on each provider, so a group waits for
// the groups its rules name; a removed group waits for the vNICs, profiles, service endpoints and
// groups that use it.
import { isReady } from '../../api/conditions.ts';
import { objectKey, parseKey } from '../../api/kinds.ts';
import type { SecurityGroupModel, SecurityGroupRuleModel } from '../../drivers/model.ts';
import { bindingsOf, defineKind } from '../runtime/kind.ts';
import { lookup, type Runtime } from '../runtime/runtime.ts';
import { groupRules } from './secgroup.rules.ts';
import { allRecords } from '../../state/records.ts';

/** The keys of the SecurityGroups an object's spec.securityGroups names, in its namespace. */
export function securityGroupKeysOf(namespace: string | undefined, spec: unknown): string[] {
  const refs = (spec as { securityGroups?: { name: string }[] } | undefined)?.securityGroups ?? [];
  return refs.map((r) => objectKey('SecurityGroup', r.name, namespace ?? 'default'));
}

/**
 * The backend ids of the named SecurityGroups (of `namespace`) on each of these providers, in the
 * order named, and what they still wait for: a group not declared, or not Ready on a provider yet. A
 * plan (dry run) leaves out a group not made yet instead of waiting for it.
 */
export function securityGroupIdsOn(rt: Runtime, namespace: string, refs: readonly { name: string }[], providers: readonly string[]): { ids: Map<string, string[]>; waiting: string[] } {
  const ids = new Map<string, string[]>();
  const waiting: string[] = [];
  for (const provider of providers) {
    const on: string[] = [];
    for (const ref of refs) {
      const gkey = objectKey('SecurityGroup', ref.name, namespace);
      const gRec = rt.records.get(gkey);
      const id = bindingsOf(gRec).find((x) => x.name === provider)?.externalId;
      if (!rt.store.get(gkey)) waiting.push(`SecurityGroup ${ref.name} is not available`);
      else if (!id || (!rt.dryRun && !isReady(gRec?.status))) {
        if (!rt.dryRun) waiting.push(`SecurityGroup ${ref.name} is not Ready on Provider ${provider}`);
      } else on.push(id);
    }
    ids.set(provider, on);
  }
  return { ids, waiting };
}

export const securityGroupKind = defineKind<'SecurityGroup', Map<string, SecurityGroupRuleModel[]>, SecurityGroupModel>({
  kind: 'SecurityGroup',

  keyFigure: (r) => (r.status.ruleCount === undefined ? '' : `${String(r.status.ruleCount)} rules`),

  references: (g) => [
    ...(g.spec.providerRefs ?? []).map((p) => objectKey('Provider', p.name)),
    ...(g.spec.rules ?? []).filter((x) => x.remoteGroup && x.remoteGroup !== g.metadata.name).map((x) => objectKey('SecurityGroup', x.remoteGroup!, g.metadata.namespace)),
  ],

  approval: ({ rt, object: g }) => ((g.spec.providerRefs ?? []).some((p) => lookup(rt, 'Provider', p.name)?.object.spec.approval === 'Manual') ? 'Manual' : 'Auto'),

  usedBy(rt, key) {
    const users = new Set(rt.store.referrers(key));
    const { namespace } = parseKey(key);
    for (const r of allRecords(rt.records)) {
      if (r.namespace !== namespace || r.key === key) continue;
      if ((r.kind === 'VnicAttachment' || r.kind === 'VnicProfile' || r.kind === 'ServiceEndpoint') && securityGroupKeysOf(r.namespace, r.spec).includes(key)) users.add(r.key);
    }
    return { users, waitingFor: 'waiting for the vNICs, profiles, service endpoints and groups that use it' };
  },

  prepare({ rt, object: g, rec }) {
    const waiting: string[] = [];
    for (const p of g.spec.providerRefs ?? []) {
      const pkey = objectKey('Provider', p.name);
      if (!rt.store.get(pkey)) waiting.push(`Provider ${p.name} is not available`);
      else if (!rt.dryRun && !isReady(rt.records.get(pkey)?.status)) waiting.push(`Provider ${p.name} is not Ready`);
    }
    if (waiting.length) return { waiting };
    const ns = g.metadata.namespace ?? 'default';
    const byProvider = new Map<string, SecurityGroupRuleModel[]>();
    for (const p of g.spec.providerRefs ?? []) {
      const got = groupRules(g.spec, (name) => {
        if (name === g.metadata.name) return 'self';
        return bindingsOf(rt.records.get(objectKey('SecurityGroup', name, ns))).find((b) => b.name === p.name)?.externalId;
      });
      if ('missing' in got) {
        // In a plan, a group not made yet has no id: this one is planned all the same.
        if (rt.dryRun) continue;
        return { waiting: got.missing.map((m) => `SecurityGroup ${ns}/${m} is not on Provider ${p.name} yet`) };
      }
      byProvider.set(p.name, got.rules);
    }
    const counted = [...byProvider.values()][0] ?? groupRules(g.spec, () => 'self');
    rec.status.ruleCount = Array.isArray(counted) ? counted.length : 'rules' in counted ? counted.rules.length : 0;
    return { value: byProvider };
  },

  bindings: {
    resource: 'security-group',
    noun: 'security group',
    pick: (d) => d.securityGroups,
    targets: ({ object: g }) => (g.spec.providerRefs ?? []).map((p) => ({ provider: p.name })),
    model: (g, _rec, resolved, provider) => ({
      name: `${g.metadata.namespace ?? 'default'}/${g.metadata.name}`,
      ...(g.spec.description !== undefined ? { description: g.spec.description } : {}),
      stateful: g.spec.stateful,
      rules: resolved?.get(provider) ?? [],
    }),
    policy: (g) => ({ managementPolicy: g.spec.managementPolicy, deletionPolicy: g.spec.deletionPolicy, allowReplace: true }),
  },
});

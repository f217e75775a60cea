// Issue 16, on the real kube-apiserver: the CRDs' CEL transition rules refuse at `kubectl apply` an
// edit the backend cannot make in place unless spec.allowReplace says to replace (a subnet's prefix on
// Neutron), with the field and the reason; anything else about the subnets still changes freely.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import { getObj, installCrds, ok } from './support.ts';

let kube: KubeCluster;

const network = (subnets: string, extra = '') =>
  `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: web}\nspec: {physicalNetwork: physnet1, vlan: {id: 100}${extra}, subnets: [${subnets}]}\n`;
const cidrs = async () => ((await getObj(kube, 'networks.netform.io', 'web')) as unknown as { spec: { subnets: { name: string; cidr: string }[] } }).spec.subnets.map((s) => `${s.name}=${s.cidr}`);

beforeAll(async () => {
  kube = await startKube();
  await installCrds(kube);
  await ok(kube, ['apply', '-f', '-'], network('{name: v4, cidr: 10.0.0.0/24}'));
}, 600_000);

afterAll(async () => {
  await kube?.stop();
});

describe('CEL transition rules on the Network CRD', () => {
  it("a subnet's cidr edited in place is refused with the field and reason; nothing is stored", async () => {
    const r = await kube.kubectl(['apply', '-f', '-'], network('{name: v4, cidr: 10.0.1.0/24}'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.subnets');
    expect(r.stderr).toContain("a subnet's cidr cannot change in place on Neutron: set spec.allowReplace to true");
    expect(await cidrs()).toEqual(['v4=10.0.0.0/24']);
  });

  it('a new subnet, another gateway, or the same prefix written with host bits goes through', async () => {
    await ok(kube, ['apply', '-f', '-'], network('{name: v4, cidr: 10.0.0.0/24, gateway: 10.0.0.254}, {name: v6, cidr: "2001:db8::/64"}'));
    expect(await cidrs()).toEqual(['v4=10.0.0.0/24', 'v6=2001:db8::/64']);
    await ok(kube, ['apply', '-f', '-'], network('{name: v4, cidr: 10.0.0.7/24}, {name: v6, cidr: "2001:db8::/64"}'));
    expect(await cidrs()).toEqual(['v4=10.0.0.7/24', 'v6=2001:db8::/64']);
  });

  it('with allowReplace the prefix may change (the driver replaces the subnet); a removed subnet is no edit', async () => {
    await ok(kube, ['apply', '-f', '-'], network('{name: v4, cidr: 10.0.9.0/24}', ', allowReplace: true'));
    expect(await cidrs()).toEqual(['v4=10.0.9.0/24']);
    // allowReplace off again: the same prefix stays, a new name with another prefix is a new subnet.
    await ok(kube, ['apply', '-f', '-'], network('{name: v4b, cidr: 10.0.10.0/24}'));
    expect(await cidrs()).toEqual(['v4b=10.0.10.0/24']);
  });
});

// SecurityGroups through netform (the CLI, file mode) on the real Neutron: two groups, one letting the
// other's members in on a port, made with exactly their rules; a vNIC naming a group gets it on its
// port; a rule edit converges in place (the same group UUID, the untouched rules keep their ids).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reserveVlans } from '../support/vlans.ts';
import { runCli, tempDir } from '../support/cli.ts';
import { api, neutronUrl, uniq } from './support.ts';

const id = uniq();
const vlan = reserveVlans('physnet2', 1, 2900, 2999);
const dir = tempDir('neutron-secgroup-kind');
const state = join(dir, '.state');

interface RawRule {
  id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}
interface Status {
  key: string;
  status: { providers?: { externalId?: string }[] };
}

function write(appPort: number): void {
  writeFileSync(
    join(dir, 'all.yaml'),
    [
      `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}`,
      `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: sgnet-${id}}\nspec: {physicalNetwork: physnet2, vlan: {id: ${vlan}}, shared: true, providerRefs: [{name: os}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${id}}\nspec: {networks: [{name: sgnet-${id}, required: false}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h-${id}}\nspec: {cluster: c-${id}, nics: [{name: eth1}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: SecurityGroup\nmetadata: {name: web, namespace: sg-${id}}\nspec: {providerRefs: [{name: os}], rules: [{direction: ingress, protocol: tcp, portRangeMin: 80, remoteCidr: 0.0.0.0/0}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: SecurityGroup\nmetadata: {name: app, namespace: sg-${id}}\nspec: {providerRefs: [{name: os}], rules: [{direction: ingress, protocol: tcp, portRangeMin: ${appPort}, remoteGroup: web}, {direction: ingress, protocol: icmp}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: app1-nic0, namespace: sg-${id}}\nspec: {vm: {name: app1, uid: app1-${id}}, interfaceName: nic0, network: sgnet-${id}, host: h-${id}, securityGroups: [{name: app}]}`,
    ].join('\n---\n'),
  );
}

const apply = () => runCli(['apply', '--dir', dir, '--state', state, '--timeout', '90'], { real: true });
async function idOf(key: string): Promise<string> {
  const st = JSON.parse((await runCli(['status', '--state', state, '-o', 'json'], { real: true })).stdout) as Status[];
  return st.find((s) => s.key === key)?.status.providers?.[0]?.externalId ?? '';
}
const rules = async (group: string) => (await api<{ security_group_rules: RawRule[] }>('GET', `/v2.0/security-group-rules?security_group_id=${group}`)).body.security_group_rules;
const shape = (r: RawRule) => `${r.direction} ${r.ethertype} ${r.protocol ?? 'any'} ${r.port_range_min ?? ''}-${r.port_range_max ?? ''} ${r.remote_ip_prefix ?? ''}${r.remote_group_id ? 'group' : ''}`;

let appId = '';
let webId = '';

beforeAll(() => write(8080));

describe('SecurityGroup on the real Neutron, through netform', () => {
  it('apply makes both groups with exactly their rules (and the default egress), and the vNIC\'s port gets its group', async () => {
    // The Host has no agent, so apply does not call everything Ready (and says so); the Neutron side is.
    const r = await apply();
    expect(r.stderr).not.toMatch(/SecurityGroup|VnicAttachment|Network\//);
    appId = await idOf(`SecurityGroup/sg-${id}/app`);
    webId = await idOf(`SecurityGroup/sg-${id}/web`);
    expect(appId).toMatch(/^[0-9a-f-]{36}$/);
    expect(webId).toMatch(/^[0-9a-f-]{36}$/);
    const appRules = await rules(appId);
    expect(appRules.map(shape).sort()).toEqual(['egress IPv4 any - ', 'egress IPv6 any - ', 'ingress IPv4 icmp - ', 'ingress IPv4 tcp 8080-8080 group'].sort());
    expect(appRules.find((x) => x.remote_group_id)?.remote_group_id).toBe(webId);
    // 0.0.0.0/0 is anywhere: kept as no prefix.
    expect((await rules(webId)).map(shape).sort()).toEqual(['egress IPv4 any - ', 'egress IPv6 any - ', 'ingress IPv4 tcp 80-80 '].sort());
    const ports = (await api<{ ports: { security_groups: string[] }[] }>('GET', `/v2.0/ports?device_id=app1-${id}`)).body.ports;
    expect(ports).toHaveLength(1);
    expect(ports[0]!.security_groups).toEqual([appId]);
  }, 180_000);

  it('a rule edit converges in place: the same group, the untouched rules keep their ids, the port keeps the group', async () => {
    const before = new Map((await rules(appId)).map((r) => [shape(r), r.id]));
    write(8443);
    const plan = await runCli(['plan', '--dir', dir, '--state', state], { real: true });
    expect(plan.stdout).toContain(`~ SecurityGroup/sg-${id}/app  neutron:os security-group ${appId}  (update)`);
    await apply();
    expect(await idOf(`SecurityGroup/sg-${id}/app`)).toBe(appId);
    const after = await rules(appId);
    expect(after.map(shape).sort()).toEqual(['egress IPv4 any - ', 'egress IPv6 any - ', 'ingress IPv4 icmp - ', 'ingress IPv4 tcp 8443-8443 group'].sort());
    for (const r of after.filter((x) => !x.port_range_min)) expect(r.id).toBe(before.get(shape(r)));
    const ports = (await api<{ ports: { security_groups: string[] }[] }>('GET', `/v2.0/ports?device_id=app1-${id}`)).body.ports;
    expect(ports[0]!.security_groups).toEqual([appId]);
  }, 180_000);
});

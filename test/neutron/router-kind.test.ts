// The Router kind through netform itself (the CLI, file mode) on the real Neutron: a router with an
// external gateway (SNAT), two interfaces and a static route is made from manifests and read back
// with the Neutron API; an edit converges in place (same UUID); a network a router is attached to
// waits for the router before it goes; removing the router removes it and its interface ports and
// nothing else.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reserveVlans } from '../support/vlans.ts';
import { runCli, tempDir } from '../support/cli.ts';
import { api, networksNamed, neutronUrl, uniq } from './support.ts';
import { ownerTag } from '../../src/drivers/neutron/mapping.ts';

const id = uniq();
const base = reserveVlans('physnet2', 3, 2600, 2899);
const dir = tempDir('neutron-router-kind');
const state = join(dir, '.state');
const n = (s: string) => `${s}-${id}`;

interface RawRouter {
  id: string;
  name: string;
  admin_state_up: boolean;
  external_gateway_info: { network_id: string; enable_snat: boolean; external_fixed_ips: { subnet_id: string; ip_address: string }[] } | null;
  routes: { destination: string; nexthop: string }[];
  tags: string[];
}

function write(o: { snat?: boolean; routes?: string; withRouter?: boolean; withApp?: boolean } = {}): void {
  const net = (name: string, vlan: number, cidr: string, extra = '') =>
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${n(name)}}\nspec: {physicalNetwork: physnet2, vlan: {id: ${vlan}}, subnets: [{name: ${name}-v4, cidr: ${cidr}}], providerRefs: [{name: os}]${extra}}`;
  writeFileSync(join(dir, 'provider.yaml'), `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}\n`);
  writeFileSync(
    join(dir, 'networks.yaml'),
    [net('outside', base, '198.18.7.0/24', ', external: true'), net('web', base + 1, '10.77.1.0/24'), ...(o.withApp === false ? [] : [net('app', base + 2, '10.77.2.0/24')])].join('\n---\n'),
  );
  writeFileSync(
    join(dir, 'router.yaml'),
    o.withRouter === false
      ? '# removed\n'
      : `apiVersion: netform.io/v1alpha1\nkind: Router\nmetadata: {name: ${n('edge')}}\nspec:\n  providerRef: {name: os}\n  gateway: {network: ${n('outside')}, snat: ${o.snat ?? true}}\n  interfaces: [{network: ${n('web')}, subnet: web-v4}, {network: ${n('app')}, subnet: app-v4}]\n  routes: ${o.routes ?? '[{destination: 172.21.0.0/16, nexthop: 10.77.2.254}]'}\n`,
  );
}

const apply = () => runCli(['apply', '--dir', dir, '--state', state, '--timeout', '90'], { real: true });
async function routerNamed(name: string): Promise<RawRouter[]> {
  return (await api<{ routers: RawRouter[] }>('GET', `/v2.0/routers?name=${encodeURIComponent(name)}`)).body.routers;
}
async function interfacePorts(routerId: string): Promise<{ fixed_ips: { subnet_id: string }[] }[]> {
  return (await api<{ ports: { fixed_ips: { subnet_id: string }[] }[] }>('GET', `/v2.0/ports?device_id=${routerId}&device_owner=network:router_interface`)).body.ports;
}

let routerId = '';

beforeAll(() => write());

describe('Router on the real Neutron, through netform', () => {
  it('apply makes the router: gateway with SNAT on the external network, two interfaces, the route', async () => {
    const r = await apply();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [outside] = await networksNamed(n('outside'));
    expect((outside as unknown as { 'router:external': boolean })['router:external']).toBe(true);
    const routers = await routerNamed(n('edge'));
    expect(routers).toHaveLength(1);
    const rt = routers[0]!;
    routerId = rt.id;
    expect(rt.external_gateway_info?.network_id).toBe(outside!.id);
    expect(rt.external_gateway_info?.enable_snat).toBe(true);
    expect(rt.routes).toEqual([{ destination: '172.21.0.0/16', nexthop: '10.77.2.254' }]);
    const [web] = await networksNamed(n('web'));
    const [app] = await networksNamed(n('app'));
    const subnets = (await interfacePorts(rt.id)).map((p) => p.fixed_ips[0]!.subnet_id).sort();
    expect(subnets).toEqual([web!.subnets[0]!, app!.subnets[0]!].sort());
    expect(rt.tags).toContain(ownerTag({ instance: 'netform', kind: 'Router', name: n('edge') }));
    // A second apply changes nothing.
    const again = await runCli(['plan', '--dir', dir, '--state', state], { real: true });
    expect(again.code).toBe(0);
  }, 180_000);

  it('an edit converges in place: SNAT off, another route; the same router', async () => {
    write({ snat: false, routes: '[{destination: 172.21.0.0/16, nexthop: 10.77.2.254}, {destination: 172.22.0.0/16, nexthop: 10.77.1.254}]' });
    const plan = await runCli(['plan', '--dir', dir, '--state', state], { real: true });
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(`~ Router/${n('edge')}  neutron:os router ${routerId}  (update)`);
    expect((await apply()).code).toBe(0);
    const [rt] = await routerNamed(n('edge'));
    expect(rt!.id).toBe(routerId);
    expect(rt!.external_gateway_info?.enable_snat).toBe(false);
    expect(rt!.routes.map((x) => x.destination).sort()).toEqual(['172.21.0.0/16', '172.22.0.0/16']);
  }, 180_000);

  it('a network a router is attached to waits for it; removing the router removes it and its interfaces, and the networks stay', async () => {
    // The app network is removed while the router still names it: admission refuses the router, which
    // is held as it was, and the network waits for it.
    write({ withApp: false });
    await apply();
    expect(await networksNamed(n('app'))).toHaveLength(1);
    expect(await routerNamed(n('edge'))).toHaveLength(1);
    const st = JSON.parse((await runCli(['status', '--state', state, '-o', 'json'], { real: true })).stdout) as { key: string; status: { conditions?: { type: string; reason: string; message?: string }[] } }[];
    expect(st.find((s) => s.key === `Network/${n('app')}`)?.status.conditions?.find((c) => c.type === 'Synced')).toMatchObject({ reason: 'DeletionBlocked' });

    write({ withRouter: false, withApp: false });
    // The router goes in this pass; the network, still waiting for it when it looked, goes once its wait
    // is over (netform run) or at the next apply.
    await apply();
    expect(await routerNamed(n('edge'))).toEqual([]);
    expect((await apply()).code).toBe(0);
    expect(await interfacePorts(routerId)).toEqual([]);
    expect(await networksNamed(n('app'))).toEqual([]);
    expect(await networksNamed(n('web'))).toHaveLength(1);
    expect(await networksNamed(n('outside'))).toHaveLength(1);
  }, 240_000);
});

// L3 routers on the real Neutron, through the driver (NeutronRouters); every check reads Neutron
// through its own API (support.ts `api`) or the `openstack` CLI, never through the driver.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { vlanSource } from '../support/vlans.ts';
import type { DriverContext, Owner } from '../../src/drivers/driver.ts';
import type { RouterModel } from '../../src/drivers/model.ts';
import { ownerTag, ownerTags, pendingMarker } from '../../src/drivers/neutron/mapping.ts';
import { api, driver, neutronUrl, uniq } from './support.ts';

const exec = promisify(execFile);

/** The `openstack` client (Debian's python3-openstackclient), pointed at the noauth endpoint. */
async function openstack(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await exec('openstack', ['--os-auth-type', 'none', '--os-endpoint', neutronUrl(), ...args, '-f', 'json'], {
    env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` },
    timeout: 120_000,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

const ctx = (): DriverContext => ({ signal: new AbortController().signal, log: pino({ level: 'silent' }) });
const owner = (name: string): Owner => ({ instance: 'netform', kind: 'Router', name });

interface RawRouter {
  id: string;
  name: string;
  description: string;
  admin_state_up: boolean;
  external_gateway_info: { network_id: string; enable_snat: boolean; external_fixed_ips: { subnet_id: string; ip_address: string }[] } | null;
  routes: { destination: string; nexthop: string }[];
  tags: string[];
  revision_number: number;
}
interface RawPort {
  id: string;
  device_owner: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}

async function raw(id: string): Promise<{ status: number; router?: RawRouter }> {
  const r = await api<{ router: RawRouter }>('GET', `/v2.0/routers/${id}`);
  return { status: r.status, router: r.body?.router };
}
const routersNamed = async (name: string) => (await api<{ routers: RawRouter[] }>('GET', `/v2.0/routers?name=${encodeURIComponent(name)}`)).body.routers;
const portsOf = async (id: string) => (await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?device_id=${id}`)).body.ports;
/** The router's interfaces as Neutron lists them: `subnet ip`, sorted. */
const interfacesOf = async (id: string) =>
  (await portsOf(id))
    .filter((p) => p.device_owner === 'network:router_interface')
    .flatMap((p) => p.fixed_ips.map((f) => `${f.subnet_id} ${f.ip_address}`))
    .sort();
const byDestination = (routes: { destination: string; nexthop: string }[]) => [...routes].sort((a, b) => (a.destination < b.destination ? -1 : 1));

async function created<T>(path: string, key: string, body: Record<string, unknown>): Promise<T> {
  const r = await api<Record<string, T>>('POST', path, { [key]: body });
  expect(r.status, `${path} ${JSON.stringify(r.body)}`).toBe(201);
  return r.body[key]!;
}

/** An external network with a subnet and two tenant networks with a subnet each (plain API calls). */
interface Fixture {
  ext: string;
  extSubnet: string;
  a: string;
  subnetA: string;
  b: string;
  subnetB: string;
}
const madeNetworks: string[] = [];
const nextVlan = vlanSource('physnet3', 3600, 3899);

async function fixture(run: string): Promise<Fixture> {
  const net = async (name: string, external: boolean) => {
    const n = await created<{ id: string }>('/v2.0/networks', 'network', {
      name: `${name}-${run}`,
      'router:external': external,
      'provider:network_type': 'vlan',
      'provider:physical_network': 'physnet3',
      'provider:segmentation_id': nextVlan(),
    });
    madeNetworks.push(n.id);
    return n.id;
  };
  const subnet = async (networkId: string, cidr: string, gateway: string) =>
    (await created<{ id: string }>('/v2.0/subnets', 'subnet', { network_id: networkId, cidr, gateway_ip: gateway, ip_version: 4, enable_dhcp: false })).id;
  const ext = await net('ext', true);
  const a = await net('a', false);
  const b = await net('b', false);
  return {
    ext,
    extSubnet: await subnet(ext, '203.0.113.0/24', '203.0.113.1'),
    a,
    subnetA: await subnet(a, '10.61.0.0/24', '10.61.0.1'),
    b,
    subnetB: await subnet(b, '10.62.0.0/24', '10.62.0.1'),
  };
}

afterAll(async () => {
  for (const id of madeNetworks) await api('DELETE', `/v2.0/networks/${id}`);
});

function model(name: string, f: Fixture, over: Partial<RouterModel> = {}): RouterModel {
  return {
    name,
    description: 'the way out',
    adminStateUp: true,
    gateway: { networkId: f.ext, snat: true, fixedIp: { subnetId: f.extSubnet, ipAddress: '203.0.113.10' } },
    interfaces: [{ subnetId: f.subnetA }, { subnetId: f.subnetB }],
    routes: [{ destination: '192.168.50.0/24', nexthop: '10.61.0.254' }],
    ...over,
  };
}

describe('Neutron routers', () => {
  it('create with gateway (SNAT on), two interfaces and a route; edits in place (SNAT off, a route added, an interface removed, then one added with a route through it and both removed again) keep the UUID; Neutron and the openstack CLI agree', async () => {
    const run = uniq();
    const f = await fixture(run);
    const d = driver();
    const o = owner(`edge-${run}`);
    const m1 = model(`edge-${run}`, f);
    const made = await d.routers.create(ctx(), o, m1);
    const id = made.externalId;
    expect(made.owned).toBe(true);
    expect(d.routers.diff(m1, made.state)).toEqual([]);

    // The API: gateway with SNAT and the fixed address, the route, two interfaces with the subnets' gateway addresses, marked.
    let r = (await raw(id)).router!;
    expect(r).toMatchObject({
      name: `edge-${run}`,
      description: 'the way out',
      admin_state_up: true,
      external_gateway_info: { network_id: f.ext, enable_snat: true, external_fixed_ips: [{ subnet_id: f.extSubnet, ip_address: '203.0.113.10' }] },
      routes: [{ destination: '192.168.50.0/24', nexthop: '10.61.0.254' }],
    });
    expect(r.tags).toEqual(expect.arrayContaining(ownerTags(o)));
    expect(await interfacesOf(id)).toEqual([`${f.subnetA} 10.61.0.1`, `${f.subnetB} 10.62.0.1`].sort());
    expect((await portsOf(id)).filter((p) => p.device_owner === 'network:router_gateway').flatMap((p) => p.fixed_ips.map((x) => x.ip_address))).toEqual(['203.0.113.10']);

    // A client nobody here wrote.
    const shown = await openstack('router', 'show', id);
    expect(shown).toMatchObject({
      id,
      name: `edge-${run}`,
      admin_state_up: true,
      external_gateway_info: { network_id: f.ext, enable_snat: true, external_fixed_ips: [{ subnet_id: f.extSubnet, ip_address: '203.0.113.10' }] },
      routes: [{ destination: '192.168.50.0/24', nexthop: '10.61.0.254' }],
    });
    expect((shown.interfaces_info as { subnet_id: string; ip_address: string }[]).map((i) => `${i.subnet_id} ${i.ip_address}`).sort()).toEqual(
      [`${f.subnetA} 10.61.0.1`, `${f.subnetB} 10.62.0.1`].sort(),
    );

    // Observed again by its recorded id: nothing to do.
    const seen = await d.routers.observe(ctx(), { owner: o, desired: m1, externalId: id });
    expect(seen?.externalId).toBe(id);
    expect(d.routers.diff(m1, seen!.state)).toEqual([]);

    // Edit: SNAT off, a route added (written in a non-canonical form), subnet B removed.
    const m2 = model(`edge-${run}`, f, {
      gateway: { networkId: f.ext, snat: false, fixedIp: { subnetId: f.extSubnet, ipAddress: '203.0.113.10' } },
      interfaces: [{ subnetId: f.subnetA }],
      routes: [
        { destination: '192.168.50.0/24', nexthop: '10.61.0.254' },
        { destination: '172.16.9.9/16', nexthop: '10.61.0.253' },
      ],
    });
    const before2 = (await d.routers.observe(ctx(), { owner: o, desired: m2, externalId: id }))!;
    const changes2 = d.routers.diff(m2, before2.state);
    expect(changes2.map((c) => c.path).sort()).toEqual(['gateway.snat', 'interfaces', 'routes']);
    expect(changes2.every((c) => !c.immutable)).toBe(true);
    const after2 = await d.routers.update(ctx(), o, before2, m2, changes2);
    expect(after2.externalId).toBe(id);
    expect(d.routers.diff(m2, after2.state)).toEqual([]);
    r = (await raw(id)).router!;
    expect(r.external_gateway_info).toMatchObject({ network_id: f.ext, enable_snat: false, external_fixed_ips: [{ subnet_id: f.extSubnet, ip_address: '203.0.113.10' }] });
    expect(byDestination(r.routes)).toEqual([
      { destination: '172.16.0.0/16', nexthop: '10.61.0.253' },
      { destination: '192.168.50.0/24', nexthop: '10.61.0.254' },
    ]);
    expect(await interfacesOf(id)).toEqual([`${f.subnetA} 10.61.0.1`]);
    const shown2 = await openstack('router', 'show', id);
    expect(shown2).toMatchObject({ id, external_gateway_info: { enable_snat: false } });
    expect((shown2.interfaces_info as { subnet_id: string }[]).map((i) => i.subnet_id)).toEqual([f.subnetA]);
    expect(byDestination(shown2.routes as { destination: string; nexthop: string }[])).toEqual(byDestination(r.routes));

    // Ordering: B comes back with a route through it (the interface first, or Neutron refuses the
    // route), then both go at once (the route first, or Neutron refuses to remove the interface).
    const m3 = model(`edge-${run}`, f, { ...m2, routes: [...m2.routes, { destination: '10.99.0.0/16', nexthop: '10.62.0.99' }], interfaces: [{ subnetId: f.subnetA }, { subnetId: f.subnetB }] });
    const before3 = (await d.routers.observe(ctx(), { owner: o, desired: m3, externalId: id }))!;
    const after3 = await d.routers.update(ctx(), o, before3, m3, d.routers.diff(m3, before3.state));
    expect(after3.externalId).toBe(id);
    expect(await interfacesOf(id)).toEqual([`${f.subnetA} 10.61.0.1`, `${f.subnetB} 10.62.0.1`].sort());
    expect((await raw(id)).router!.routes).toContainEqual({ destination: '10.99.0.0/16', nexthop: '10.62.0.99' });
    const before4 = (await d.routers.observe(ctx(), { owner: o, desired: m2, externalId: id }))!;
    const after4 = await d.routers.update(ctx(), o, before4, m2, d.routers.diff(m2, before4.state));
    expect(after4.externalId).toBe(id);
    expect(d.routers.diff(m2, after4.state)).toEqual([]);
    expect(await interfacesOf(id)).toEqual([`${f.subnetA} 10.61.0.1`]);
    expect(byDestination((await raw(id)).router!.routes)).toEqual([
      { destination: '172.16.0.0/16', nexthop: '10.61.0.253' },
      { destination: '192.168.50.0/24', nexthop: '10.61.0.254' },
    ]);
    expect(await routersNamed(`edge-${run}`)).toHaveLength(1);

    await d.routers.delete(ctx(), after4);
    await d.close();
  });

  it('an update against a revision someone else moved on from is a Conflict, and writes nothing', async () => {
    const run = uniq();
    const f = await fixture(run);
    const d = driver();
    const o = owner(`cas-${run}`);
    const m = model(`cas-${run}`, f);
    const made = await d.routers.create(ctx(), o, m);
    const stale = (await d.routers.observe(ctx(), { owner: o, desired: m, externalId: made.externalId }))!;
    expect((await api('PUT', `/v2.0/routers/${made.externalId}`, { router: { description: 'someone else' } })).status).toBe(200);
    const edited = { ...m, gateway: { ...m.gateway!, snat: false }, adminStateUp: false };
    await expect(d.routers.update(ctx(), o, stale, edited, d.routers.diff(edited, stale.state))).rejects.toMatchObject({ errorClass: 'Conflict' });
    expect((await raw(made.externalId)).router).toMatchObject({ description: 'someone else', admin_state_up: true, external_gateway_info: { enable_snat: true } });
    await d.routers.delete(ctx(), stale);
    await d.close();
  });

  it('a create that died after the POST (pending marker, no tags) is adopted and finished; a second create in a row makes no second router', async () => {
    const run = uniq();
    const f = await fixture(run);
    const o = owner(`adopt-${run}`);
    const m = model(`adopt-${run}`, f);
    // What a process killed right after Neutron committed the POST leaves behind.
    const left = await created<RawRouter>('/v2.0/routers', 'router', {
      name: m.name,
      description: pendingMarker(o),
      admin_state_up: true,
      external_gateway_info: { network_id: f.ext, enable_snat: true },
    });
    expect(left.tags).toEqual([]);

    // A new process, nothing recorded: observe finds it by its marker (and writes nothing).
    const d = driver();
    const found = await d.routers.observe(ctx(), { owner: o, desired: m });
    expect(found).toMatchObject({ externalId: left.id, owned: true, state: { ours: true, tagged: false } });
    expect((await raw(left.id)).router).toMatchObject({ description: pendingMarker(o), tags: [] });

    const adopted = await d.routers.create(ctx(), o, m);
    expect(adopted.externalId).toBe(left.id);
    expect(d.routers.diff(m, adopted.state)).toEqual([]);
    const again = await d.routers.create(ctx(), o, m);
    expect(again.externalId).toBe(left.id);

    const all = await routersNamed(m.name);
    expect(all.map((x) => x.id)).toEqual([left.id]);
    expect((await api<{ routers: RawRouter[] }>('GET', `/v2.0/routers?tags=${ownerTag(o)}`)).body.routers.map((x) => x.id)).toEqual([left.id]);
    expect(all[0]).toMatchObject({
      description: 'the way out',
      external_gateway_info: { network_id: f.ext, enable_snat: true, external_fixed_ips: [{ subnet_id: f.extSubnet, ip_address: '203.0.113.10' }] },
      routes: [{ destination: '192.168.50.0/24', nexthop: '10.61.0.254' }],
    });
    expect(all[0]!.tags).toEqual(expect.arrayContaining(ownerTags(o)));
    expect(await interfacesOf(left.id)).toEqual([`${f.subnetA} 10.61.0.1`, `${f.subnetB} 10.62.0.1`].sort());
    await d.routers.delete(ctx(), adopted);
    await d.close();
  });

  it('two creates in a row from a fresh state make one router', async () => {
    const run = uniq();
    const f = await fixture(run);
    const d = driver();
    const o = owner(`twice-${run}`);
    const m = model(`twice-${run}`, f, { gateway: undefined, routes: [] });
    const first = await d.routers.create(ctx(), o, m);
    const second = await d.routers.create(ctx(), o, m);
    expect(second.externalId).toBe(first.externalId);
    expect((await routersNamed(m.name)).map((x) => x.id)).toEqual([first.externalId]);
    expect((await raw(first.externalId)).router!.external_gateway_info).toBeNull();
    await d.routers.delete(ctx(), second);
    await d.close();
  });

  it('delete clears routes, interfaces and gateway and removes the router; its interface ports go, the networks stay; deleting again is fine', async () => {
    const run = uniq();
    const f = await fixture(run);
    const d = driver();
    const o = owner(`del-${run}`);
    const made = await d.routers.create(ctx(), o, model(`del-${run}`, f));
    const id = made.externalId;
    const ports = await portsOf(id);
    expect(ports.map((p) => p.device_owner).sort()).toEqual(['network:router_gateway', 'network:router_interface', 'network:router_interface']);

    await d.routers.delete(ctx(), made);
    expect((await raw(id)).status).toBe(404);
    expect(await portsOf(id)).toEqual([]);
    for (const p of ports) expect((await api('GET', `/v2.0/ports/${p.id}`)).status).toBe(404);
    for (const n of [f.ext, f.a, f.b]) {
      const net = await api<{ network: { subnets: string[] } }>('GET', `/v2.0/networks/${n}`);
      expect(net.status).toBe(200);
      expect(net.body.network.subnets).toHaveLength(1);
    }
    await d.routers.delete(ctx(), made);
    expect(await d.routers.observe(ctx(), { owner: o, desired: model(`del-${run}`, f), externalId: id })).toBeUndefined();
    await d.close();
  });

  it('a gateway address another router holds is refused as Terminal, and no half-made router is left', async () => {
    const run = uniq();
    const f = await fixture(run);
    const d = driver();
    const first = await d.routers.create(ctx(), owner(`gw1-${run}`), model(`gw1-${run}`, f, { interfaces: [], routes: [] }));
    const o2 = owner(`gw2-${run}`);
    await expect(d.routers.create(ctx(), o2, model(`gw2-${run}`, f, { interfaces: [], routes: [] }))).rejects.toMatchObject({ errorClass: 'Terminal', code: 'IpAddressAlreadyAllocated' });
    expect(await routersNamed(`gw2-${run}`)).toEqual([]);
    expect((await api<{ routers: RawRouter[] }>('GET', `/v2.0/routers?description=${pendingMarker(o2)}`)).body.routers).toEqual([]);
    await d.routers.delete(ctx(), first);
    await d.close();
  });

  it('a router found by its recorded id that carries another owner’s tag is Terminal', async () => {
    const run = uniq();
    const theirs = owner(`theirs-${run}`);
    const r = await created<RawRouter>('/v2.0/routers', 'router', { name: `theirs-${run}`, admin_state_up: true });
    expect((await api('PUT', `/v2.0/routers/${r.id}/tags`, { tags: ownerTags(theirs) })).status).toBe(200);
    const d = driver();
    const mine = owner(`mine-${run}`);
    const m: RouterModel = { name: `mine-${run}`, adminStateUp: true, interfaces: [], routes: [] };
    await expect(d.routers.observe(ctx(), { owner: mine, desired: m, externalId: r.id })).rejects.toMatchObject({ errorClass: 'Terminal' });
    // Not adopted either without the id: nothing of this owner exists.
    expect(await d.routers.observe(ctx(), { owner: mine, desired: m })).toBeUndefined();
    expect((await raw(r.id)).router!.tags).toEqual(expect.arrayContaining(ownerTags(theirs)));
    await api('DELETE', `/v2.0/routers/${r.id}`);
    await d.close();
  });
});

import { describe, expect, it } from 'vitest';
import type { HostModel } from '../host-driver.ts';
import { desiredHost } from './desired.ts';
import { canonicalDestination, diffRouters, natScript, parseNat, parseRoutes, planRouters, routerNetns, routerOwner, routerSync, routersAsDesired } from './l3.ts';
import type { ObservedRouter } from './model.ts';

const model = (over: Partial<HostModel> = {}): HostModel => ({
  name: 'hv1',
  syncPolicy: 'Auto',
  probes: [],
  defaultFabric: 'linux-bridge',
  nics: [{ name: 'ens3' }, { name: 'ens4' }, { name: 'ens5', fabric: 'ovs' }],
  bonds: [],
  networks: [
    { name: 'web', interface: 'ens3', mtu: 1500 },
    { name: 'public', interface: 'ens4', mtu: 1500 },
    { name: 'app', interface: 'ens5', mtu: 9000, vlan: 120 },
  ],
  unplaced: [],
  vnics: [],
  routers: [
    {
      name: 'edge',
      adminStateUp: true,
      interfaces: [
        { network: 'web', address: '10.0.1.1/24' },
        { network: 'app', address: '10.0.2.1/24' },
      ],
      gateway: { network: 'public', address: '198.51.100.2/24', nexthop: '198.51.100.1', snat: true },
      routes: [{ destination: '172.20.0.0/16', nexthop: '10.0.2.254' }],
    },
  ],
  ...over,
});
const opts = { ovsBridge: 'br-int', ovsDatapath: 'netdev' as const, instance: 'i1' };

describe('routers on a host: desired layout', () => {
  it('a namespace per router, a veth per attached network: on the bridge (linux-bridge) or an OVS port with the VLAN tag (ovs)', () => {
    const d = desiredHost(model(), opts);
    expect(d.problems).toEqual([]);
    const r = d.routers![0]!;
    expect(r.netns).toBe(routerNetns('i1', 'hv1', 'edge'));
    expect(r.netns).toMatch(/^nfr-[0-9a-f]{12}$/);
    const veths = d.links.filter((l) => l.kind === 'veth');
    expect(veths).toHaveLength(3);
    const web = veths.find((l) => l.purpose === 'router/edge/web')!;
    expect(web.master).toBe('web');
    expect(web.peer).toEqual({ name: expect.stringMatching(/^qr-[0-9a-f]{12}$/), netns: r.netns });
    const gw = veths.find((l) => l.purpose === 'router/edge/public/gateway')!;
    expect(gw.peer!.name).toMatch(/^qg-/);
    const app = veths.find((l) => l.purpose === 'router/edge/app')!;
    expect(app.master).toBeUndefined();
    expect(d.ovs!.ports.find((p) => p.name === app.name)).toMatchObject({ type: 'system', tag: 120, mtu: 9000, network: 'app' });
    expect(r.links.map((l) => [l.network, l.address, l.mtu])).toEqual([
      ['web', '10.0.1.1/24', 1500],
      ['app', '10.0.2.1/24', 9000],
      ['public', '198.51.100.2/24', 1500],
    ]);
    expect(r.routes).toEqual([
      { destination: '0.0.0.0/0', via: '198.51.100.1' },
      { destination: '172.20.0.0/16', via: '10.0.2.254' },
    ]);
    expect(r.snat).toEqual({ device: gw.peer!.name, address: '198.51.100.2' });
    // The veths count as the networks' devices (their sync state).
    expect(d.networks.find((n) => n.name === 'web')!.devices).toContain(web.name);
  });

  it('a router on a network the host does not carry is a problem, and nothing of it is made', () => {
    const d = desiredHost(model({ networks: [{ name: 'web', interface: 'ens3', mtu: 1500 }] }), opts);
    expect(d.problems).toEqual(['router edge: networks app, public not on this host']);
    expect(d.routers).toBeUndefined();
    expect(d.links.some((l) => l.kind === 'veth')).toBe(false);
  });

  it('two hosts (or agents) get different namespaces for one router', () => {
    expect(routerNetns('i1', 'hv1', 'edge')).not.toBe(routerNetns('i1', 'hv2', 'edge'));
    expect(routerNetns('i1', 'hv1', 'edge')).not.toBe(routerNetns('i2', 'hv1', 'edge'));
  });

  it('a security group on an ovs-fabric vNIC is a problem; on the linux-bridge fabric it becomes a filtered tap', () => {
    const fw = { stateful: true, rules: [{ direction: 'ingress' as const, ethertype: 'IPv4' as const, protocol: 'tcp' as const, portRangeMin: 80, portRangeMax: 80 }] };
    const vnics = [
      { key: 't/a', network: 'web', vmName: 'a', plugged: true, linked: true, firewall: fw },
      { key: 't/b', network: 'app', vmName: 'b', plugged: true, linked: true, firewall: fw },
    ];
    const d = desiredHost(model({ routers: [], vnics }), opts);
    expect(d.problems).toEqual(['vNIC t/b: security groups are filtered on the linux-bridge fabric only; network app is on ovs here']);
    expect(d.firewall?.ports.map((p) => p.rules)).toEqual([fw.rules]);
  });
});

const observed = (over: Partial<ObservedRouter> = {}): ObservedRouter => {
  const d = desiredHost(model(), opts).routers![0]!;
  return {
    netns: d.netns,
    name: 'edge',
    owner: routerOwner('i1', 'hv1', 'edge'),
    links: d.links.map((l) => ({ name: l.name, mtu: l.mtu, up: true })),
    addresses: d.links.map((l) => ({ device: l.name, cidr: l.address })),
    routes: d.routes.map((r) => ({ destination: r.destination, via: r.via })),
    forwarding: true,
    snat: d.snat!,
    ...over,
  };
};

describe('routers on a host: diff and plan', () => {
  const want = () => desiredHost(model(), opts).routers!;

  it('in sync: no change', () => {
    expect(diffRouters(want(), [observed()])).toEqual([]);
  });

  it('a missing namespace is created, then configured; one not wanted is removed', () => {
    const stray = observed({ netns: 'nfr-000000000000', name: 'old' });
    const c = diffRouters(want(), [stray]);
    expect(c.map((x) => [x.op, x.name])).toEqual([
      ['create', 'edge'],
      ['delete', 'old'],
    ]);
    const p = planRouters(c, (r) => routerOwner('i1', 'hv1', r));
    expect(p.create).toEqual([{ netns: want()[0]!.netns, owner: 'netform:router/i1/hv1/edge' }]);
    expect(p.remove).toEqual(['nfr-000000000000']);
    const cfg = p.configure[0]!;
    expect(cfg.ip).toContain('route replace 172.20.0.0/16 via 10.0.2.254');
    expect(cfg.ip).toContain('route replace 0.0.0.0/0 via 198.51.100.1');
    expect(cfg.nat).toContain(`oifname "${want()[0]!.snat!.device}" snat to 198.51.100.2`);
  });

  it('a route, an address, forwarding and SNAT that differ are each named, and put right in place', () => {
    const h = observed({ routes: [{ destination: '0.0.0.0/0', via: '198.51.100.1' }, { destination: '10.9.0.0/16', via: '10.0.1.9' }], forwarding: false });
    delete h.snat;
    const c = diffRouters(want(), [h]);
    expect(c).toHaveLength(1);
    expect(c[0]!.op).toBe('update');
    expect(c[0]!.fields).toEqual(['route +172.20.0.0/16 via 10.0.2.254', 'route -10.9.0.0/16 via 10.0.1.9', 'forwarding off→on', `snat none→${want()[0]!.snat!.device}→198.51.100.2`]);
    const cfg = planRouters(c, () => 'x').configure[0]!;
    expect(cfg.ip).toContain('route del 10.9.0.0/16 via 10.0.1.9');
    expect(cfg.forwarding).toBe(true);
  });

  it('SNAT off: the NAT table is removed', () => {
    const s = natScript(undefined);
    expect(s).toBe('table ip netform-nat {}\ndelete table ip netform-nat\n');
  });

  it('refuses names and addresses that are not', () => {
    const bad = want()[0]!;
    expect(() => planRouters([{ name: 'x', netns: 'nfr-; rm -rf /', op: 'delete', fields: [] }], () => 'x')).toThrow(/refusing router namespace/);
    expect(() => planRouters([{ name: 'edge', netns: bad.netns, op: 'update', want: { ...bad, routes: [{ destination: 'nope', via: '10.0.0.1' }] }, fields: [] }], () => 'x')).toThrow(/refusing route destination/);
    expect(() => natScript({ device: 'qg-x"; flush ruleset', address: '1.2.3.4' })).toThrow(/refusing interface name/);
  });

  it('routerSync: in sync, out of sync with what differs, or a problem', () => {
    const w = want();
    expect(routerSync(['edge'], w, { links: [] }, [])).toEqual([{ name: 'edge', inSync: true }]);
    expect(routerSync(['edge'], w, { links: [], routers: diffRouters(w, []) }, [])).toEqual([{ name: 'edge', inSync: false, difference: 'missing' }]);
    expect(routerSync(['other'], w, { links: [] }, ['router other: network x not on this host'])).toEqual([{ name: 'other', inSync: false, difference: 'router other: network x not on this host' }]);
  });

  it('a snapshot back as desired routers (rollback)', () => {
    const back = routersAsDesired([observed()]);
    expect(diffRouters(back, [observed()])).toEqual([]);
  });
});

describe('routers on a host: parsing', () => {
  it('routes without the kernel\'s own, default as 0.0.0.0/0', () => {
    const json = JSON.stringify([
      { dst: 'default', gateway: '198.51.100.1', dev: 'qg-1', flags: [] },
      { dst: '10.0.1.0/24', dev: 'qr-1', protocol: 'kernel', scope: 'link', prefsrc: '10.0.1.1', flags: [] },
      { dst: '172.20.0.0/16', gateway: '10.0.2.254', dev: 'qr-2', flags: [] },
    ]);
    expect(parseRoutes(json)).toEqual([
      { destination: '0.0.0.0/0', via: '198.51.100.1', device: 'qg-1' },
      { destination: '172.20.0.0/16', via: '10.0.2.254', device: 'qr-2' },
    ]);
    expect(canonicalDestination('default', true)).toBe('::/0');
    expect(canonicalDestination('10.1.2.3')).toBe('10.1.2.3/32');
  });

  it('the SNAT rule from nft -j (as nft 1.0.6 prints it)', () => {
    const json = '{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "ip", "name": "netform-nat", "handle": 1}}, {"chain": {"family": "ip", "table": "netform-nat", "name": "postrouting", "handle": 1, "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}}, {"rule": {"family": "ip", "table": "netform-nat", "chain": "postrouting", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "qg-abc"}}, {"snat": {"addr": "198.51.100.2"}}]}}]}';
    expect(parseNat(json)).toEqual({ device: 'qg-abc', address: '198.51.100.2' });
    expect(parseNat('')).toBeUndefined();
  });
});

// Three tiers on a real host (issue 13): web, app and db networks on a fake hypervisor (network
// namespaces, Linux bridges, the real kernel), a Router realized on that host as a network namespace
// with the public network as its gateway (SNAT), SecurityGroups as nftables on the VMs' devices, and a
// "public" host outside on the switch. Everything is checked with real connections (nc), never by
// reading rules back: web reaches app on tcp/8080 but not db, app reaches db on tcp/5432, web reaches
// the public side and is seen there as the router's gateway address, db has no route out; removing
// the app→db rule stops that flow and no other; a static route makes a prefix behind a nexthop
// reachable.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { objectKey } from '../../src/api/kinds.ts';
import { HostAgentLoop } from '../../src/controllers/host/agent.loop.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { vnicDeviceName, type HostReport } from '../../src/drivers/host-driver.ts';
import { HostAgent } from '../../src/drivers/host/agent.ts';
import { routerNetns } from '../../src/drivers/host/l3.ts';
import { endpointHostKey } from '../../src/controllers/serviceendpoint/serviceendpoint.kind.ts';
import { capture, ensureTrafficTools } from '../harness/hostsim/traffic.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { ensureCommands } from '../harness/apt.ts';
import { createHost, createSwitch, createVm, defaultStateRoot, ensureHostTools, sweep, uid, type FakeHost, type FakeSwitch, type FakeVm } from '../harness/hostsim/index.ts';

const id = uid(4);
const HOST = `l3${id}`;
const ROUTER = `edge${id}`;
let sw: FakeSwitch;
let hv: FakeHost;
let outside: FakeHost;
const vms: Record<string, FakeVm> = {};
let engine: Engine;
let records: MemoryRecords;
let loop: HostAgentLoop;
const servers: ChildProcess[] = [];
let db: { received: () => string };

const FOREIGN_NS = `nfr-${randomBytes(6).toString('hex')}`;
const dev = (name: string) => vnicDeviceName(`t/${name}`);
const endpointDev = (name: string) => vnicDeviceName(endpointHostKey('t', name));

interface Edit {
  /** db admits app on tcp/5432 (default true). */
  appToDb?: boolean;
  /** The router's static route to the partner prefix behind the VPN box. */
  partnerRoute?: boolean;
  /** web's own ingress port (an unrelated rule to change). */
  webPort?: number;
  /** A probe the Host must answer after a change (an address nobody has: every change is rolled back). */
  deadProbe?: boolean;
}

function manifests(e: Edit = {}): string {
  const net = (name: string, subnet: string, extra = '') => `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${name}}\nspec: {physicalNetwork: physnet1, shared: true${extra}, subnets: [${subnet}]}`;
  const vnic = (name: string, network: string, subnet: string, address: string, groups: string[]) =>
    `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: ${name}, namespace: t}\nspec: {vm: {name: ${name}}, interfaceName: nic0, network: ${network}, host: ${HOST}, fixedIps: [{subnet: ${subnet}, ipAddress: ${address}}]${groups.length ? `, securityGroups: [${groups.map((g) => `{name: ${g}}`).join(', ')}]` : ''}}`;
  const sg = (name: string, rules: string[]) => `apiVersion: netform.io/v1alpha1\nkind: SecurityGroup\nmetadata: {name: ${name}, namespace: t}\nspec: {rules: [${rules.join(', ')}]}`;
  return [
    net('web', '{name: web-v4, cidr: 10.61.1.0/24, gateway: 10.61.1.1}'),
    net('app', '{name: app-v4, cidr: 10.61.2.0/24, gateway: 10.61.2.1}'),
    // A private subnet: no gateway; its instances reach the app subnet by a host route only.
    net('db', '{name: db-v4, cidr: 10.61.3.0/24, gateway: none, hostRoutes: [{destination: 10.61.2.0/24, nexthop: 10.61.3.1}]}'),
    net('public', '{name: public-v4, cidr: 198.51.100.0/24, gateway: 198.51.100.1}', ', external: true'),
    'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {defaultFabric: linux-bridge, networks: [{name: web}, {name: app}, {name: db}, {name: public}]}',
    `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${HOST}}\nspec:\n  cluster: c\n  nics: [{name: ens3}, {name: ens4}, {name: ens5}, {name: ens6}]\n  networks: [{name: web, interface: ens3}, {name: app, interface: ens4}, {name: db, interface: ens5}, {name: public, interface: ens6}]${e.deadProbe ? '\n  probes: [{address: 192.0.2.250}]' : ''}`,
    `apiVersion: netform.io/v1alpha1
kind: Router
metadata: {name: ${ROUTER}}
spec:
  hostRef: {name: ${HOST}}
  gateway: {network: public, ipAddress: 198.51.100.2, snat: true}
  interfaces:
    - {network: web, subnet: web-v4}
    - {network: app, subnet: app-v4}
    - {network: db, subnet: db-v4, ipAddress: 10.61.3.1}
${e.partnerRoute ? '  routes: [{destination: 172.20.0.0/16, nexthop: 10.61.2.254}]\n' : ''}`,
    sg('web', [`{direction: ingress, ethertype: IPv4, protocol: tcp, portRangeMin: ${e.webPort ?? 80}}`]),
    sg('app', ['{direction: ingress, ethertype: IPv4, protocol: tcp, portRangeMin: 8080, remoteGroup: web}']),
    sg('db', [...((e.appToDb ?? true) ? ['{direction: ingress, ethertype: IPv4, protocol: tcp, portRangeMin: 5432, remoteGroup: app}'] : []), '{direction: ingress, ethertype: IPv4, protocol: icmp, remoteCidr: 10.61.2.0/24}']),
    vnic('web1', 'web', 'web-v4', '10.61.1.10', ['web']),
    vnic('app1', 'app', 'app-v4', '10.61.2.10', ['app']),
    vnic('db1', 'db', 'db-v4', '10.61.3.10', ['db']),
    // A VPN box on the app network: a service endpoint (no security groups: unfiltered), with a partner
    // prefix behind it that it may send from.
    `apiVersion: netform.io/v1alpha1\nkind: ServiceEndpoint\nmetadata: {name: vpn1, namespace: t}\nspec: {network: app, service: router, host: ${HOST}, fixedIps: [{subnet: app-v4, ipAddress: 10.61.2.254}], allowedAddressPairs: [{ipAddress: 172.20.0.0/16}]}`,
    // An IDS sensor on the db network: promiscuous, it gets a copy of the db tier's traffic on this host.
    `apiVersion: netform.io/v1alpha1\nkind: ServiceEndpoint\nmetadata: {name: ids1, namespace: t}\nspec: {network: db, service: ids, host: ${HOST}, promiscuous: true}`,
  ].join('\n---\n');
}

function load(text: string): void {
  const r = admit([{ path: 'l3.yaml', text }]);
  expect(r.errors).toEqual([]);
  engine.sync(r);
}

async function converge(): Promise<void> {
  await engine.settle(30_000);
  await loop.kick();
  await engine.settle(30_000);
}

const report = () => engine.rt.reports.get(objectKey('Host', HOST)) as HostReport | undefined;
const cond = (key: string, type: string) => (records.get(key)?.status.conditions as { type: string; status: string; message?: string }[] | undefined)?.find((c) => c.type === type);

/** A TCP listener in `ns` on `port` that keeps accepting (nc -k); what it receives is collected. */
function listen(ns: string, port: number): { received: () => string } {
  const child = spawn('ip', ['netns', 'exec', ns, 'nc', '-k', '-l', '-n', String(port)], { stdio: ['ignore', 'pipe', 'ignore'] });
  let got = '';
  child.stdout!.on('data', (d: Buffer) => (got += d.toString()));
  servers.push(child);
  return { received: () => got };
}

/** An open TCP connection from `ns`: lines written go to the listener as long as the flow is let through. */
function stream(ns: string, address: string, port: number): { send: (line: string) => void; close: () => void } {
  const child = spawn('ip', ['netns', 'exec', ns, 'nc', '-n', address, String(port)], { stdio: ['pipe', 'ignore', 'ignore'] });
  servers.push(child);
  return { send: (line) => void child.stdin!.write(`${line}\n`), close: () => void child.kill('SIGTERM') };
}

/** Waits up to `ms` for `cond`. */
async function eventually(cond: () => boolean, ms = 3000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) if (cond()) return true;
  return cond();
}

/** Whether a TCP connection from `ns` to address:port is accepted within 2 s. */
function connects(ns: string, address: string, port: number): boolean {
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'nc', '-z', '-n', '-w', '2', address, String(port)], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Connects once from `ns` to address:port and returns the source address the listener saw. */
async function seenSource(fromNs: string, listenerNs: string, address: string, port: number): Promise<string | undefined> {
  const l = spawn('ip', ['netns', 'exec', listenerNs, 'nc', '-v', '-l', '-n', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  l.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await sleep(300);
  try {
    execFileSync('ip', ['netns', 'exec', fromNs, 'nc', '-n', '-w', '2', '-N', address, String(port)], { input: 'hello\n', stdio: ['pipe', 'ignore', 'ignore'], timeout: 10_000 });
  } catch {
    /* refused or timed out: no source seen */
  }
  await sleep(200);
  l.kill('SIGTERM');
  return /Connection received on (\S+) \d+/.exec(err)?.[1];
}

beforeAll(async () => {
  await ensureHostTools();
  ensureCommands({ nft: 'nftables', nc: 'netcat-openbsd' });
  ensureTrafficTools();
  await sweep();
  sw = await createSwitch(id);
  hv = await createHost({ id: HOST, switch: sw, nics: ['ens3', 'ens4', 'ens5', 'ens6'] });
  // web, app and db live on this host only: their NICs' cables are pulled from the switch (one flat
  // switch would join them at layer 2). ens6 (public) stays cabled, next to the outside host.
  for (const p of hv.switchPorts.slice(0, 3)) execFileSync('ip', ['-n', sw.ns, 'link', 'set', 'dev', p, 'nomaster']);
  outside = await createHost({ id: `o${id}`, switch: sw, nics: ['ens3'] });
  execFileSync('ip', ['-n', outside.ns, 'addr', 'add', '198.51.100.1/24', 'dev', 'ens3']);
  const vm = async (name: string, address: string, routes: string[][], device = dev(name)) => {
    vms[name] = await createVm(hv, { name, device, address });
    for (const r of routes) execFileSync('ip', ['-n', vms[name]!.ns, 'route', 'add', ...r]);
  };
  // Routes as DHCP would hand them out from the subnets above.
  await vm('web1', '10.61.1.10/24', [['default', 'via', '10.61.1.1']]);
  await vm('app1', '10.61.2.10/24', [['default', 'via', '10.61.2.1']]);
  await vm('db1', '10.61.3.10/24', [['10.61.2.0/24', 'via', '10.61.3.1']]);
  await vm('vpn1', '10.61.2.254/24', [['default', 'via', '10.61.2.1']], endpointDev('vpn1'));
  await vm('ids1', '10.61.3.99/24', [], endpointDev('ids1'));
  execFileSync('ip', ['-n', vms.vpn1!.ns, 'addr', 'add', '172.20.0.1/32', 'dev', 'lo']);
  listen(vms.app1!.ns, 8080);
  db = listen(vms.db1!.ns, 5432);
  listen(vms.vpn1!.ns, 7000);
  listen(outside.ns, 9000);

  // Another host's router namespace of the same instance (named netns are global): never touched here,
  // not even by a rollback.
  execFileSync('ip', ['netns', 'add', FOREIGN_NS]);
  execFileSync('ip', ['-n', FOREIGN_NS, 'link', 'set', 'dev', 'lo', 'alias', `netform:router/netform/other${id}/edge`]);
  records = new MemoryRecords();
  engine = new Engine({ kinds: KIND_DEFINITIONS, records, registry: new DriverRegistry(), credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), waitMs: 200 });
  const sysfs = mkdtempSync(join(defaultStateRoot(), 'sysfs-'));
  loop = new HostAgentLoop({
    source: engine.rt,
    report: (n, r) => engine.report(objectKey('Host', n), r),
    host: HOST,
    log: pino({ level: 'silent' }),
    driver: new HostAgent({ target: { netns: hv.ns, ovsBridge: 'br-int', ovsDatapath: 'netdev', sysfsRoot: sysfs }, instance: engine.rt.instance, log: pino({ level: 'silent' }) }),
  });
  load(manifests());
  await converge();
}, 120_000);

afterAll(async () => {
  for (const s of servers) s.kill('SIGTERM');
  await loop?.stop();
  await engine?.stop();
  // The router namespace goes with its Router; a failed test may leave it: remove it by name.
  for (const ns of [routerNetns(engine.rt.instance, HOST, ROUTER), FOREIGN_NS]) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* gone already */
    }
  }
  for (const v of Object.values(vms)) await v.stop();
  await hv?.stop();
  await outside?.stop();
  await sw?.stop();
});

describe('three tiers on a host: a router namespace with SNAT, security groups as nftables', () => {
  it('the host realizes the router and reports it in sync; the Router is Ready', () => {
    const r = report();
    expect(r?.lastApply?.error).toBeUndefined();
    expect(r?.problems).toEqual([]);
    expect(r?.routers).toEqual([{ name: ROUTER, inSync: true }]);
    expect(cond(`Router/${ROUTER}`, 'Ready')?.status).toBe('True');
    const ns = routerNetns(engine.rt.instance, HOST, ROUTER);
    expect(execFileSync('ip', ['netns', 'list']).toString()).toContain(ns);
  });

  it('web reaches app on tcp/8080 but not db; app reaches db on tcp/5432', () => {
    expect(connects(vms.web1!.ns, '10.61.2.10', 8080)).toBe(true);
    expect(connects(vms.web1!.ns, '10.61.3.10', 5432)).toBe(false);
    expect(connects(vms.app1!.ns, '10.61.3.10', 5432)).toBe(true);
    // app's group admits only web on 8080: the VPN box (no group) is refused.
    expect(connects(vms.vpn1!.ns, '10.61.2.10', 8080)).toBe(false);
  });

  it('web reaches the public side through SNAT: the public host sees the router\'s gateway address', async () => {
    expect(connects(vms.web1!.ns, '198.51.100.1', 9000)).toBe(true);
    expect(await seenSource(vms.web1!.ns, outside.ns, '198.51.100.1', 9001)).toBe('198.51.100.2');
  });

  it('db does not reach the public side (no route)', () => {
    expect(connects(vms.db1!.ns, '198.51.100.1', 9000)).toBe(false);
    // …while the way it has, to app, works.
    expect(connects(vms.app1!.ns, '10.61.3.10', 5432)).toBe(true);
  });

  it('a rule change is applied in place: an established app→db flow goes on across an unrelated change, and stops when its own rule is removed; web→app goes on', async () => {
    const flow = stream(vms.app1!.ns, '10.61.3.10', 5432);
    flow.send('line-1');
    expect(await eventually(() => db.received().includes('line-1'))).toBe(true);
    load(manifests({ webPort: 443 }));
    await converge();
    expect(report()?.lastApply?.result).toBe('applied');
    flow.send('line-2');
    expect(await eventually(() => db.received().includes('line-2'))).toBe(true);
    load(manifests({ appToDb: false }));
    await converge();
    expect(report()?.lastApply?.result).toBe('applied');
    flow.send('line-3');
    expect(await eventually(() => db.received().includes('line-3'), 1500)).toBe(false);
    flow.close();
    expect(connects(vms.app1!.ns, '10.61.3.10', 5432)).toBe(false);
    expect(connects(vms.web1!.ns, '10.61.2.10', 8080)).toBe(true);
    expect(connects(vms.web1!.ns, '198.51.100.1', 9000)).toBe(true);
    load(manifests());
    await converge();
    expect(connects(vms.app1!.ns, '10.61.3.10', 5432)).toBe(true);
  });

  it('a static route makes the prefix behind its nexthop reachable', async () => {
    expect(connects(vms.web1!.ns, '172.20.0.1', 7000)).toBe(false);
    load(manifests({ partnerRoute: true }));
    await converge();
    expect(report()?.routers).toEqual([{ name: ROUTER, inSync: true }]);
    expect(connects(vms.web1!.ns, '172.20.0.1', 7000)).toBe(true);
  });

  it('service endpoints: their devices are on their networks; the promiscuous IDS sees a copy of app→db traffic, the VPN box gets none of it', async () => {
    expect(cond('ServiceEndpoint/t/ids1', 'Ready')?.status).toBe('True');
    expect(records.get('ServiceEndpoint/t/ids1')?.status.deviceName).toBe(endpointDev('ids1'));
    const links = JSON.parse(execFileSync('ip', ['-n', hv.ns, '-j', 'link', 'show']).toString()) as { ifname: string; master?: string }[];
    expect(links.find((l) => l.ifname === endpointDev('ids1'))?.master).toBe('db');
    expect(links.find((l) => l.ifname === endpointDev('vpn1'))?.master).toBe('app');
    const seen = await capture(vms.ids1!.ns, 'eth0', ['tcp', 'port', '5432'], async () => {
      expect(connects(vms.app1!.ns, '10.61.3.10', 5432)).toBe(true);
    });
    expect(seen.some((l) => l.includes('10.61.2.10.') && l.includes('> 10.61.3.10.5432'))).toBe(true);
    const none = await capture(vms.vpn1!.ns, 'eth0', ['tcp', 'port', '5432'], async () => {
      expect(connects(vms.app1!.ns, '10.61.3.10', 5432)).toBe(true);
    }, { seconds: 3 });
    expect(none).toEqual([]);
  });

  it('a router change that fails verification is rolled back: the route it removed is back', async () => {
    load(manifests({ deadProbe: true }));
    await converge();
    expect(report()?.lastApply, JSON.stringify(report()?.lastApply)).toMatchObject({ result: 'rolled back', error: expect.stringContaining('probe 192.0.2.250 does not answer') });
    expect(report()?.routers).toEqual([{ name: ROUTER, inSync: false, difference: 'route -172.20.0.0/16 via 10.61.2.254' }]);
    expect(connects(vms.web1!.ns, '172.20.0.1', 7000)).toBe(true);
    load(manifests({ partnerRoute: true }));
    await converge();
  });

  it('a pass on the converged host changes nothing', async () => {
    await loop.kick();
    // lastApply is only reported by a pass that attempted a change.
    expect(report()?.lastApply).toBeUndefined();
    expect(report()?.problems).toEqual([]);
    expect(report()?.routers).toEqual([{ name: ROUTER, inSync: true }]);
  });

  it('removing the Router removes its namespace and its veths', async () => {
    const ns = routerNetns(engine.rt.instance, HOST, ROUTER);
    load(manifests({ partnerRoute: true }).split('\n---\n').filter((d) => !d.includes('kind: Router')).join('\n---\n'));
    await converge();
    expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(ns);
    const links = JSON.parse(execFileSync('ip', ['-n', hv.ns, '-j', 'link', 'show']).toString()) as { ifname: string }[];
    expect(links.filter((l) => l.ifname.startsWith('nfr'))).toEqual([]);
    // The other host's namespace was left alone throughout (rollback included).
    expect(execFileSync('ip', ['netns', 'list']).toString()).toContain(FOREIGN_NS);
    expect(connects(vms.web1!.ns, '10.61.2.10', 8080)).toBe(false);
  });
});

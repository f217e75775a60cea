// The host agent on the real kernel, in network namespaces this test creates (sandbox tier): two fake
// hypervisors with their own Open vSwitch (netdev datapath) cabled to one switch, VM stand-ins, and the
// agent converging them from Network/Cluster/Host/VnicAttachment objects through the engine.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostAgentLoop } from '../../src/controllers/host/agent.loop.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { HostAgent } from '../../src/drivers/host/agent.ts';
import { vnicDeviceName } from '../../src/drivers/host/model.ts';
import { OvsdbClient } from '../../src/drivers/host/ovsdb.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { createHost, createSwitch, createVm, defaultStateRoot, ensureHostTools, kernelFeatures, ping, sweep, uid, type FakeHost, type FakeSwitch, type FakeVm } from '../harness/hostsim/index.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { objectKey } from '../../src/api/kinds.ts';
import type { HostReport } from '../../src/drivers/host-driver.ts';

const id = uid(4);
let sw: FakeSwitch;
let a: FakeHost;
let b: FakeHost;
const vms: Record<string, FakeVm> = {};
let engine: Engine;
let records: MemoryRecords;
const loops: Record<string, HostAgentLoop> = {};
let sysfs: string;

const dev = (name: string) => vnicDeviceName(`t/${name}`);

function manifests(extra: { blueTag?: number; probes?: string; syncB?: 'Auto' | 'Manual'; green?: boolean } = {}): string {
  const host = (n: string, addr: string, sync = 'Auto') => `apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: ${n}}
spec:
  cluster: c
  syncPolicy: ${sync}
  nics: [{name: ens3}, {name: ens4, fabric: linux-bridge}]
  networks:
    - {name: red, interface: ens3}
    - {name: blue, interface: ens3}
    - {name: mgmt, interface: ens4, address: ${addr}}
${extra.green ? '    - {name: green, interface: ens3}\n' : ''}${extra.probes && n === `a${id}` ? `  probes: [{address: ${extra.probes}}]\n` : ''}`;
  const vnic = (name: string, network: string, h: string) =>
    `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: ${name}, namespace: t}\nspec: {vm: {name: ${name}}, interfaceName: nic1, network: ${network}, host: ${h}}`;
  return [
    'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: red}\nspec: {physicalNetwork: physnet1, vlan: {id: 100}, mtu: 9000, shared: true}',
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: blue}\nspec: {physicalNetwork: physnet1, vlan: {id: ${extra.blueTag ?? 200}}, shared: true}`,
    'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: mgmt}\nspec: {physicalNetwork: physnet2}',
    'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: green}\nspec: {physicalNetwork: physnet1, vlan: {id: 300}, shared: true}',
    `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {defaultFabric: ovs, networks: [{name: red}, {name: blue}, {name: mgmt, roles: [management]}${extra.green ? ', {name: green}' : ''}]}`,
    host(`a${id}`, '192.0.2.11/24'),
    host(`b${id}`, '192.0.2.12/24', extra.syncB),
    vnic('vm1', 'red', `a${id}`),
    vnic('vm2', 'red', `b${id}`),
    vnic('vm3', 'blue', `a${id}`),
  ].join('\n---\n');
}

function load(text: string): void {
  const r = admit([{ path: 'host.yaml', text }]);
  expect(r.errors).toEqual([]);
  engine.sync(r);
}

const hostStatus = (h: string) => records.get(`Host/${h}`)?.status as {
  networks?: { name: string; inSync: boolean; difference?: string }[];
  interfaces?: { name: string; fabric?: string; network?: string; mac?: string; address?: string; rxMbps?: number }[];
  dynamicVnics?: { total: number; free: number };
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
} | undefined;
const cond = (h: string, t: string) => hostStatus(h)?.conditions?.find((c) => c.type === t);

async function converge(): Promise<void> {
  await engine.settle(30_000);
  await Promise.all(Object.values(loops).map((l) => l.kick()));
  await engine.settle(30_000);
}

/** The host's kernel and OVS state, without counters and ids that change by themselves. */
function dump(h: FakeHost): unknown {
  const links = JSON.parse(execFileSync('ip', ['-n', h.ns, '-j', '-d', 'link', 'show']).toString()) as Record<string, unknown>[];
  const addrs = JSON.parse(execFileSync('ip', ['-n', h.ns, '-j', 'addr', 'show']).toString()) as Record<string, unknown>[];
  const ovs = JSON.parse(
    execFileSync('ovs-vsctl', [`--db=unix:${h.ovs!.db}`, '--format=json', '--columns=name,tag,trunks,external_ids,interfaces', 'list', 'Port']).toString(),
  ) as { data: unknown[][] };
  const ifaces = JSON.parse(
    execFileSync('ovs-vsctl', [`--db=unix:${h.ovs!.db}`, '--format=json', '--columns=name,type,mtu_request,external_ids,error', 'list', 'Interface']).toString(),
  ) as { data: unknown[][] };
  const strip = (l: Record<string, unknown>): Record<string, unknown> => {
    const { ifindex: _i, stats64: _s, operstate: _o, flags, ...rest } = l;
    return { ...rest, flags: (flags as string[]).filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER') };
  };
  const sortByName = <T,>(xs: T[], k: (x: T) => string) => [...xs].sort((x, y) => (k(x) < k(y) ? -1 : 1));
  return {
    links: sortByName(links.map(strip), (l) => String(l.ifname)).map((l) => ({ ...l, linkinfo: l.linkinfo ? JSON.stringify(l.linkinfo).replace(/"(forward_delay_timer|hello_timer|tcn_timer|topology_change_timer|gc_timer)":[\d.]+/g, '') : undefined })),
    addrs: sortByName(addrs.map((x) => ({ ifname: x.ifname, addr: (x.addr_info as { local: string; prefixlen: number }[]).map((i) => `${i.local}/${i.prefixlen}`).sort() })), (x) => String(x.ifname)),
    ports: sortByName(ovs.data.map((r) => JSON.stringify([r[0], r[1], r[2], r[3]])), (s) => s),
    ifaces: sortByName(ifaces.data.map((r) => JSON.stringify(r)), (s) => s),
  };
}

beforeAll(async () => {
  await ensureHostTools();
  await sweep();
  const f = await kernelFeatures();
  process.stderr.write(`[host] tier: sandbox kernel (8021q ${f.vlan}, bonding ${f.bond}, dummy ${f.dummy}, OVS kernel datapath ${f.ovsKernel}); VLANs ride OVS tags, the linux-bridge network is untagged\n`);
  sw = await createSwitch(id);
  a = await createHost({ id: `a${id}`, switch: sw, ovs: true });
  b = await createHost({ id: `b${id}`, switch: sw, ovs: true });
  vms.vm1 = await createVm(a, { name: 'vm1', device: dev('vm1'), address: '198.51.100.1/24', mtu: 9000 });
  vms.vm2 = await createVm(b, { name: 'vm2', device: dev('vm2'), address: '198.51.100.2/24', mtu: 9000 });
  vms.vm3 = await createVm(a, { name: 'vm3', device: dev('vm3'), address: '198.51.100.3/24' });
  // A recorded sysfs tree with two Cisco VIC dynamic vNICs (PCI 1137:0044), one of them in use.
  sysfs = mkdtempSync(join(defaultStateRoot(), 'sysfs-'));
  for (const [slot, nic] of [['0000:07:00.1', 'enp7s0f1'], ['0000:07:00.2', 'ens3'], ['0000:07:00.3', 'ens4']] as const) {
    const d = join(sysfs, 'bus/pci/devices', slot);
    mkdirSync(join(d, 'net', nic), { recursive: true });
    writeFileSync(join(d, 'vendor'), '0x1137\n');
    writeFileSync(join(d, 'device'), slot.endsWith('.3') ? '0x0043\n' : '0x0044\n');
  }
  records = new MemoryRecords();
  engine = new Engine({ kinds: KIND_DEFINITIONS, records, registry: new DriverRegistry(), credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), waitMs: 200 });
  for (const h of [a, b]) {
    loops[h.id] = new HostAgentLoop({
      source: engine.rt,
      report: (n, r) => engine.report(objectKey('Host', n), r),
      host: h.id,
      log: pino({ level: 'silent' }),
      driver: new HostAgent({ target: { netns: h.ns, ovs: () => OvsdbClient.connect(h.ovs!.db), ovsBridge: 'br-int', ovsDatapath: 'netdev', sysfsRoot: sysfs }, instance: engine.rt.instance, log: pino({ level: 'silent' }) }),
    });
  }
  load(manifests());
  await converge();
}, 120_000);

afterAll(async () => {
  for (const l of Object.values(loops)) await l.stop();
  await engine?.stop();
  for (const v of Object.values(vms)) await v.stop();
  await a?.stop();
  await b?.stop();
  await sw?.stop();
});

describe('host agent (sandbox tier: OVS netdev datapath, untagged linux bridge)', () => {
  it('converges two hosts: Ready, every network in sync, the interface table filled in', () => {
    for (const h of [a.id, b.id]) {
      expect(cond(h, 'Ready'), h).toMatchObject({ status: 'True' });
      expect(hostStatus(h)!.networks!.map((n) => [n.name, n.inSync])).toEqual([
        ['blue', true],
        ['mgmt', true],
        ['red', true],
      ]);
    }
    const rows = new Map(hostStatus(a.id)!.interfaces!.map((r) => [r.name, r]));
    expect(rows.get(dev('vm1'))).toMatchObject({ fabric: 'ovs', network: 'red' });
    expect(rows.get('mgmt')).toMatchObject({ fabric: 'linux-bridge', address: '192.0.2.11/24' });
    expect(rows.get('ens4')).toMatchObject({ fabric: 'linux-bridge', network: 'mgmt' });
    expect(rows.get('ens3')?.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    // ens3 is a dynamic vNIC of the recorded VIC and in use; enp7s0f1 is not on the host: free.
    expect(hostStatus(a.id)!.dynamicVnics).toEqual({ total: 2, free: 1 });
  });

  it('VMs on the same VLAN reach each other across hosts; across VLANs they do not; jumbo frames pass at MTU 9000', async () => {
    expect(await ping(vms.vm1!.ns, vms.vm2!.address, { deadlineS: 10 })).toBe(true);
    expect(await ping(vms.vm1!.ns, vms.vm3!.address, { timeoutS: 1, count: 2 })).toBe(false);
    expect(await ping(vms.vm1!.ns, vms.vm2!.address, { size: 8972, dontFragment: true, deadlineS: 10 })).toBe(true);
    // The untagged management network on Linux bridges: host to host.
    expect(await ping(a.ns, '192.0.2.12', { deadlineS: 10 })).toBe(true);
  });

  it('an out-of-band retag and a deleted bridge are detected and healed', async () => {
    await a.ovs!.vsctl(['set', 'Port', dev('vm3'), 'tag=100']);
    execFileSync('ip', ['-n', a.ns, 'link', 'del', 'mgmt']);
    const report = await loops[a.id]!.kick();
    expect(report!.lastApply).toMatchObject({ result: 'applied' });
    expect(report!.networks.every((n) => n.inSync)).toBe(true);
    expect((await a.ovs!.vsctl(['get', 'Port', dev('vm3'), 'tag'])).trim()).toBe('200');
    expect(execFileSync('ip', ['-n', a.ns, '-j', 'addr', 'show', 'mgmt']).toString()).toContain('192.0.2.11');
    expect(await ping(vms.vm1!.ns, vms.vm3!.address, { timeoutS: 1 })).toBe(false);
  });

  it('under syncPolicy Manual an out-of-band change is only reported, per network, with the difference', async () => {
    load(manifests({ syncB: 'Manual' }));
    await converge();
    await b.ovs!.vsctl(['set', 'Port', dev('vm2'), 'tag=101']);
    await converge();
    const net = hostStatus(b.id)!.networks!.find((n) => n.name === 'red')!;
    expect(net.inSync).toBe(false);
    expect(net.difference).toBe(`ovs port ${dev('vm2')}: tag 101→100`);
    expect(cond(b.id, 'Ready')).toMatchObject({ status: 'False', reason: 'OutOfSync' });
    expect(cond(b.id, 'Synced')).toMatchObject({ status: 'False', reason: 'DriftDetected' });
    expect(cond(b.id, 'Synced')?.message).toContain('syncPolicy Manual');
    expect(cond(b.id, 'Stalled')?.status).toBe('True');
    expect((await b.ovs!.vsctl(['get', 'Port', dev('vm2'), 'tag'])).trim()).toBe('101');
    load(manifests());
    await converge();
    expect((await b.ovs!.vsctl(['get', 'Port', dev('vm2'), 'tag'])).trim()).toBe('100');
    expect(cond(b.id, 'Ready')?.status).toBe('True');
  });

  it('a change whose probe fails is rolled back: ip -json and OVS dumps identical before and after', async () => {
    const before = dump(a);
    load(manifests({ green: true, blueTag: 201, probes: '192.0.2.250' }));
    await converge();
    const report = engine.rt.reports.get(objectKey('Host', a.id)) as HostReport;
    expect(report.lastApply).toMatchObject({ result: 'rolled back' });
    expect(report.lastApply!.error).toContain('probe 192.0.2.250 does not answer');
    expect(dump(a)).toEqual(before);
    expect(cond(a.id, 'Synced')).toMatchObject({ status: 'False', reason: 'ReconcileError' });
    load(manifests());
    await converge();
    expect(cond(a.id, 'Ready')?.status).toBe('True');
  });

  it("a VM tap's interface ids changed behind the agent are healed on the next pass; keys that are not netform's stay", async () => {
    const tap = dev('vm3');
    const get = async (key: string) => (await a.ovs!.vsctl(['--if-exists', 'get', 'Interface', tap, `external_ids:${key}`])).trim().replace(/^"|"$/g, '');
    expect(await get('iface-id')).toBe('t/vm3');
    await a.ovs!.vsctl(['set', 'Interface', tap, 'external_ids:iface-id=wrong', 'external_ids:iface-status=inactive', 'external_ids:x-vm-manager=keep-me']);
    await a.ovs!.vsctl(['remove', 'Interface', tap, 'external_ids', 'vm-id']);
    const report = await loops[a.id]!.kick();
    expect(report!.lastApply).toMatchObject({ result: 'applied' });
    expect(report!.networks.every((n) => n.inSync)).toBe(true);
    expect(await get('iface-id')).toBe('t/vm3');
    expect(await get('iface-status')).toBe('active');
    expect(await get('vm-id')).not.toBe('');
    expect(await get('x-vm-manager')).toBe('keep-me');
  });

  it('a stale OVS port (its device gone) is reported and collected', async () => {
    // What a reboot leaves behind: a netform port whose tap no longer exists (ofport -1).
    await a.ovs!.vsctl(['add-port', 'br-int', 'nfvgone0', '--', 'set', 'Port', 'nfvgone0', 'external_ids:netform-owner=netform', 'tag=100']);
    expect((await a.ovs!.vsctl(['get', 'Interface', 'nfvgone0', 'ofport'])).trim()).toBe('-1');
    const report = await loops[a.id]!.kick();
    expect(report!.collected).toEqual(['nfvgone0']);
    expect(await a.ovs!.vsctl(['--if-exists', 'get', 'Port', 'nfvgone0', 'name'])).toBe('');
  });
});

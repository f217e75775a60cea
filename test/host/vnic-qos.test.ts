// vNIC bandwidth limits and port mirroring on a real host (sandbox tier): a hostsim hypervisor with its
// own Open vSwitch (netdev datapath), VM stand-ins on one network, the host driver converging a
// HostModel. Limits are measured with iperf3, not only read back; mirroring is seen with tcpdump on the
// mirror port. Mechanisms and measurements: docs/adr/0013-vnic-qos-and-mirroring-on-the-host.md.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostModel, HostReport, HostVnicModel } from '../../src/drivers/host-driver.ts';
import { HostAgent } from '../../src/drivers/host/agent.ts';
import { vnicDeviceName } from '../../src/drivers/host/model.ts';
import { OvsdbClient } from '../../src/drivers/host/ovsdb.ts';
import { createHost, createSwitch, createVm, ensureHostTools, ping, sweep, uid, type FakeHost, type FakeSwitch, type FakeVm } from '../harness/hostsim/index.ts';
import { capture, ensureTrafficTools, offloadOff, throughput } from '../harness/hostsim/traffic.ts';

const id = uid(4);
const CAP_KBPS = 10_000;
const CAP = CAP_KBPS * 1000; // bit/s
let sw: FakeSwitch;
let host: FakeHost;
let agent: HostAgent;
const vm = {} as Record<'vm1' | 'vm2' | 'vm3' | 'vm4', FakeVm>;
const MON_NS = `nfvm-${id}-mon`;
const MON_PORT = `nfmon${id}`; // an existing port of br-int (someone else's), the OVS network's mirror port
const LB_MON = `nflbm${id}`; // an existing Linux device, the linux-bridge network's mirror port

const dev = (name: string) => vnicDeviceName(`t/${name}`);
const mbit = (bps: number) => `${(bps / 1e6).toFixed(2)} Mbit/s`;

interface Opts {
  qos?: Record<string, HostVnicModel['qos']>;
  mirrored?: string[];
}

function model(o: Opts = {}): HostModel {
  const vnic = (name: string, network: string): HostVnicModel => ({
    key: `t/${name}`,
    network,
    vmName: name,
    plugged: true,
    linked: true,
    ...(o.qos?.[name] ? { qos: o.qos[name] } : {}),
    ...(o.mirrored?.includes(name) ? { mirrored: true } : {}),
  });
  return {
    name: host.id,
    syncPolicy: 'Auto',
    probes: [],
    defaultFabric: 'ovs',
    nics: [{ name: 'ens3' }, { name: 'ens4', fabric: 'linux-bridge' }],
    bonds: [],
    networks: [
      { name: 'lb', interface: 'ens4', mtu: 1500, mirrorPort: LB_MON },
      { name: 'red', interface: 'ens3', mtu: 1500, vlan: 100, mirrorPort: MON_PORT },
    ],
    unplaced: [],
    vnics: [vnic('vm1', 'red'), vnic('vm2', 'red'), vnic('vm3', 'lb'), vnic('vm4', 'lb')],
  };
}

async function converge(o: Opts = {}): Promise<HostReport> {
  const r = await agent.converge(model(o));
  expect(r.problems).toEqual([]);
  expect(r.lastApply?.error).toBeUndefined();
  expect(r.networks.filter((n) => !n.inSync)).toEqual([]);
  return r;
}

const vsctl = (args: string[]) => host.ovs!.vsctl(args);
const ofctl = (cmd: string) => execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', '--names', cmd, `unix:${host.ovs!.dir}/br-int.mgmt`]).toString();

beforeAll(async () => {
  await ensureHostTools();
  ensureTrafficTools();
  await sweep();
  sw = await createSwitch(id);
  host = await createHost({ id: `q${id}`, switch: sw, ovs: true });
  vm.vm1 = await createVm(host, { name: 'vm1', device: dev('vm1'), address: '198.51.100.1/24' });
  vm.vm2 = await createVm(host, { name: 'vm2', device: dev('vm2'), address: '198.51.100.2/24' });
  vm.vm3 = await createVm(host, { name: 'vm3', device: dev('vm3'), address: '192.0.2.3/24' });
  vm.vm4 = await createVm(host, { name: 'vm4', device: dev('vm4'), address: '192.0.2.4/24' });
  for (const v of Object.values(vm)) await offloadOff(v.ns);
  // The monitors: a namespace holding the far ends of the two mirror ports.
  execFileSync('ip', ['netns', 'add', MON_NS]);
  execFileSync('ip', ['-n', host.ns, 'link', 'add', 'name', MON_PORT, 'type', 'veth', 'peer', 'name', 'cap0', 'netns', MON_NS]);
  execFileSync('ip', ['-n', host.ns, 'link', 'add', 'name', LB_MON, 'type', 'veth', 'peer', 'name', 'cap1', 'netns', MON_NS]);
  for (const d of [MON_PORT, LB_MON]) execFileSync('ip', ['-n', host.ns, 'link', 'set', d, 'up']);
  for (const d of ['lo', 'cap0', 'cap1']) execFileSync('ip', ['-n', MON_NS, 'link', 'set', d, 'up']);
  agent = new HostAgent({
    // No ovsRunDir: the OpenFlow and control sockets are found beside the OVSDB socket, as in `run` and the demo.
    target: { netns: host.ns, ovs: () => OvsdbClient.connect(host.ovs!.db), ovsBridge: 'br-int', ovsDatapath: 'netdev', sysfsRoot: '/nonexistent' },
    instance: 'nf-qos-test',
    log: pino({ level: 'silent' }),
  });
  await converge(); // creates br-int with the network's ports
  await vsctl(['add-port', 'br-int', MON_PORT]);
  await converge();
  expect(await ping(vm.vm1.ns, vm.vm2.address, { deadlineS: 10 })).toBe(true);
  expect(await ping(vm.vm3.ns, vm.vm4.address, { deadlineS: 10 })).toBe(true);
}, 300_000);

afterAll(async () => {
  await agent?.close();
  for (const v of Object.values(vm)) await v.stop();
  try {
    execFileSync('ip', ['netns', 'del', MON_NS]);
  } catch {
    /* not created */
  }
  await host?.stop();
  await sw?.stop();
});

describe('vNIC bandwidth limits, measured (OVS fabric, netdev datapath)', () => {
  it('without limits, traffic to and from vm1 runs far above 10 Mbit/s', async () => {
    const out = await throughput(vm.vm1.ns, vm.vm2.ns, vm.vm2.address, { seconds: 4 });
    const inb = await throughput(vm.vm1.ns, vm.vm2.ns, vm.vm2.address, { seconds: 4, reverse: true });
    process.stderr.write(`[qos] ovs uncapped: from vm1 ${mbit(out)}, to vm1 ${mbit(inb)}\n`);
    expect(out).toBeGreaterThan(3 * CAP);
    expect(inb).toBeGreaterThan(3 * CAP);
  }, 120_000);

  it('capped at 10 Mbit/s each way: iperf3 reads within ±20 % of the cap; the QoS row, meter and flow are netform’s', async () => {
    const limit = { averageKbps: CAP_KBPS };
    const r = await converge({ qos: { vm1: { inbound: limit, outbound: limit } } });
    expect(r.lastApply).toMatchObject({ result: 'applied' });
    // Inbound: an egress QoS (linux-htb) on the tap's port, marked netform's.
    const qos = (await vsctl(['get', 'Port', dev('vm1'), 'qos'])).trim();
    expect(qos).toMatch(/^[0-9a-f-]{36}$/);
    expect(await vsctl(['get', 'QoS', qos, 'type', 'other_config:max-rate', 'external_ids:netform-owner'])).toBe('linux-htb\n"10000000"\nnf-qos-test\n');
    // Outbound: an OpenFlow meter on what the port receives.
    expect(ofctl('dump-meters')).toMatch(/type=drop rate=10000 burst_size=8000/);
    expect(ofctl('dump-flows')).toMatch(new RegExp(`cookie=0x6e66000000000000, .*priority=100,in_port=${dev('vm1')} actions=meter:\\d+,NORMAL`));
    const out = await throughput(vm.vm1.ns, vm.vm2.ns, vm.vm2.address, { seconds: 10 });
    const inb = await throughput(vm.vm1.ns, vm.vm2.ns, vm.vm2.address, { seconds: 10, reverse: true });
    process.stderr.write(`[qos] ovs capped at 10 Mbit/s: from vm1 ${mbit(out)}, to vm1 ${mbit(inb)}\n`);
    expect(out).toBeGreaterThan(0.8 * CAP);
    expect(out).toBeLessThan(1.2 * CAP);
    expect(inb).toBeGreaterThan(0.8 * CAP);
    expect(inb).toBeLessThan(1.2 * CAP);
    // In sync now: the next pass changes nothing.
    expect((await agent.converge(model({ qos: { vm1: { inbound: limit, outbound: limit } } }))).lastApply).toBeUndefined();
  }, 180_000);

  it('a limit changed or removed behind the agent is healed on the next pass', async () => {
    const limit = { averageKbps: CAP_KBPS };
    const qos = (await vsctl(['get', 'Port', dev('vm1'), 'qos'])).trim();
    await vsctl(['set', 'QoS', qos, 'other_config:max-rate=99000000']);
    const meter = /meter=(\d+)/.exec(ofctl('dump-meters'))![1]!;
    execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'del-flows', `unix:${host.ovs!.dir}/br-int.mgmt`, `in_port=${dev('vm1')}`]);
    const r = await agent.converge(model({ qos: { vm1: { inbound: limit, outbound: limit } } }));
    expect(r.lastApply).toMatchObject({ result: 'applied' });
    expect(r.networks.every((n) => n.inSync)).toBe(true);
    const now = (await vsctl(['get', 'Port', dev('vm1'), 'qos'])).trim();
    expect(await vsctl(['get', 'QoS', now, 'other_config:max-rate'])).toBe('"10000000"\n');
    expect(ofctl('dump-flows')).toContain(`actions=meter:${meter},NORMAL`);
    // The replaced QoS row did not stay behind.
    expect((await vsctl(['--columns=_uuid', 'find', 'QoS', 'external_ids:netform-owner=nf-qos-test'])).trim().split(/\s+/).filter((x) => /^[0-9a-f-]{36}$/.test(x))).toEqual([now]);
  }, 60_000);

  it('limits removed: the QoS row, its queue, the meter and the flow go, and traffic is fast again', async () => {
    await converge();
    expect((await vsctl(['get', 'Port', dev('vm1'), 'qos'])).trim()).toBe('[]');
    expect(await vsctl(['--columns=_uuid', 'find', 'QoS', 'external_ids:netform-owner=nf-qos-test'])).toBe('');
    expect(await vsctl(['--columns=_uuid', 'find', 'Queue', 'external_ids:netform-owner=nf-qos-test'])).toBe('');
    expect(ofctl('dump-meters')).not.toMatch(/meter=\d+/);
    expect(ofctl('dump-flows')).not.toContain('meter:');
    const out = await throughput(vm.vm1.ns, vm.vm2.ns, vm.vm2.address, { seconds: 4 });
    process.stderr.write(`[qos] ovs cap removed: from vm1 ${mbit(out)}\n`);
    expect(out).toBeGreaterThan(3 * CAP);
  }, 120_000);
});

/**
 * What the monitor sees on `cap` while `from` pings `to` three times. Pings first and waits a moment:
 * a change of mirrors flushes the bridge's MAC table, and a flooded first packet must not pass for a
 * mirrored one; the datapath also takes a moment to take a new mirror up.
 */
async function watch(cap: string, from: FakeVm, to: FakeVm): Promise<{ requests: number; replies: number }> {
  await ping(from.ns, to.address, { count: 2, timeoutS: 1 });
  await sleep(1500);
  const lines = await capture(MON_NS, cap, ['icmp', 'or', '(vlan', 'and', 'icmp)'], () => ping(from.ns, to.address, { count: 3, timeoutS: 1 }), { count: 6, seconds: 5 });
  return {
    requests: lines.filter((l) => l.includes(`${from.address} > ${to.address}: ICMP echo request`)).length,
    replies: lines.filter((l) => l.includes(`${to.address} > ${from.address}: ICMP echo reply`)).length,
  };
}

describe('port mirroring (OVS fabric)', () => {
  it("vm1 mirrored: the mirror port sees vm1's echo requests and replies; turned off, it sees none and the Mirror row is gone", async () => {
    await converge({ mirrored: ['vm1'] });
    const [name, src, dst, output] = (await vsctl(['--columns=name,select_src_port,select_dst_port,output_port', '--bare', 'find', 'Mirror', 'external_ids:netform-network=red'])).trim().split('\n');
    const uuid = async (port: string) => (await vsctl(['get', 'Port', port, '_uuid'])).trim();
    expect(name).toMatch(/^nfm-[0-9a-f]{11}$/);
    expect([src, dst, output]).toEqual([await uuid(dev('vm1')), await uuid(dev('vm1')), await uuid(MON_PORT)]);
    const on = await watch('cap0', vm.vm1, vm.vm2);
    process.stderr.write(`[mirror] ovs, vm1 mirrored: ${JSON.stringify(on)}\n`);
    expect(on.requests).toBeGreaterThanOrEqual(2);
    expect(on.replies).toBeGreaterThanOrEqual(2);
    await converge();
    expect((await vsctl(['--columns=name', '--bare', 'find', 'Mirror', 'external_ids:netform-owner=nf-qos-test'])).trim()).toBe('');
    const off = await watch('cap0', vm.vm1, vm.vm2);
    process.stderr.write(`[mirror] ovs, mirroring off: ${JSON.stringify(off)}\n`);
    expect(off).toEqual({ requests: 0, replies: 0 });
  }, 60_000);
});

describe('vNIC bandwidth limits, measured (linux-bridge fabric, tc)', () => {
  const limit = { averageKbps: CAP_KBPS };
  const capped = { qos: { vm3: { inbound: limit, outbound: limit } } };
  const qdisc = (d: string) => JSON.parse(execFileSync('tc', ['-n', host.ns, '-j', 'qdisc', 'show', 'dev', d]).toString()) as { kind: string; root?: boolean; options?: { rate?: number } }[];
  const filters = (d: string, dir: 'ingress' | 'egress') =>
    (JSON.parse(execFileSync('tc', ['-n', host.ns, '-j', 'filter', 'show', 'dev', d, dir]).toString()) as { options?: { actions?: { mirred_action: string; to_dev: string }[] } }[]).flatMap((f) =>
      (f.options?.actions ?? []).map((a) => `${a.mirred_action}:${a.to_dev}`),
    );
  const ifbs = () => execFileSync('ip', ['-n', host.ns, '-br', 'link', 'show', 'type', 'ifb']).toString().trim();

  it('without limits, traffic to and from vm3 runs far above 10 Mbit/s', async () => {
    const out = await throughput(vm.vm3.ns, vm.vm4.ns, vm.vm4.address, { seconds: 4 });
    const inb = await throughput(vm.vm3.ns, vm.vm4.ns, vm.vm4.address, { seconds: 4, reverse: true });
    process.stderr.write(`[qos] linux-bridge uncapped: from vm3 ${mbit(out)}, to vm3 ${mbit(inb)}\n`);
    expect(out).toBeGreaterThan(3 * CAP);
    expect(inb).toBeGreaterThan(3 * CAP);
  }, 120_000);

  it('capped at 10 Mbit/s each way: tbf on the tap, its ingress redirected to an ifb that shapes; iperf3 within ±20 %', async () => {
    expect((await converge(capped)).lastApply).toMatchObject({ result: 'applied' });
    const tap = dev('vm3');
    expect(qdisc(tap).find((q) => q.root)).toMatchObject({ kind: 'tbf', options: { rate: 1_250_000 } });
    const [redirect] = filters(tap, 'ingress');
    expect(redirect).toMatch(/^redirect:nfq[0-9a-f]{12}$/);
    const ifb = redirect!.slice('redirect:'.length);
    expect(ifbs()).toContain(ifb);
    expect(qdisc(ifb).find((q) => q.root)).toMatchObject({ kind: 'tbf', options: { rate: 1_250_000 } });
    const out = await throughput(vm.vm3.ns, vm.vm4.ns, vm.vm4.address, { seconds: 10 });
    const inb = await throughput(vm.vm3.ns, vm.vm4.ns, vm.vm4.address, { seconds: 10, reverse: true });
    process.stderr.write(`[qos] linux-bridge capped at 10 Mbit/s: from vm3 ${mbit(out)}, to vm3 ${mbit(inb)}\n`);
    expect(out).toBeGreaterThan(0.8 * CAP);
    expect(out).toBeLessThan(1.2 * CAP);
    expect(inb).toBeGreaterThan(0.8 * CAP);
    expect(inb).toBeLessThan(1.2 * CAP);
    expect((await agent.converge(model(capped))).lastApply).toBeUndefined();
  }, 180_000);

  it('tc removed behind the agent is put back on the next pass', async () => {
    const tap = dev('vm3');
    execFileSync('tc', ['-n', host.ns, 'qdisc', 'del', 'dev', tap, 'clsact']);
    execFileSync('tc', ['-n', host.ns, 'qdisc', 'del', 'dev', tap, 'root']);
    const r = await agent.converge(model(capped));
    expect(r.lastApply).toMatchObject({ result: 'applied' });
    expect(r.networks.find((n) => n.name === 'lb')).toEqual({ name: 'lb', inSync: true });
    expect(qdisc(tap).find((q) => q.root)?.kind).toBe('tbf');
    expect(filters(tap, 'ingress')).toHaveLength(1);
  }, 60_000);

  it('limits removed: the tbf, the clsact and the ifb go, and traffic is fast again', async () => {
    await converge();
    const tap = dev('vm3');
    expect(qdisc(tap).map((q) => q.kind)).toEqual(['noqueue']);
    expect(ifbs()).toBe('');
    const out = await throughput(vm.vm3.ns, vm.vm4.ns, vm.vm4.address, { seconds: 4 });
    process.stderr.write(`[qos] linux-bridge cap removed: from vm3 ${mbit(out)}\n`);
    expect(out).toBeGreaterThan(3 * CAP);
  }, 120_000);
});

describe('port mirroring (linux-bridge fabric, tc mirred)', () => {
  it("vm3 mirrored: the mirror device sees vm3's echo requests and replies; turned off, it sees none and the filters are gone", async () => {
    await converge({ mirrored: ['vm3'] });
    const on = await watch('cap1', vm.vm3, vm.vm4);
    process.stderr.write(`[mirror] linux-bridge, vm3 mirrored: ${JSON.stringify(on)}\n`);
    expect(on.requests).toBeGreaterThanOrEqual(2);
    expect(on.replies).toBeGreaterThanOrEqual(2);
    await converge();
    expect(execFileSync('tc', ['-n', host.ns, 'qdisc', 'show', 'dev', dev('vm3')]).toString()).not.toContain('clsact');
    const off = await watch('cap1', vm.vm3, vm.vm4);
    process.stderr.write(`[mirror] linux-bridge, mirroring off: ${JSON.stringify(off)}\n`);
    expect(off).toEqual({ requests: 0, replies: 0 });
  }, 60_000);
});

describe('limits and mirroring together', () => {
  it('both fabrics: capped and mirrored at once, the copies still reach the mirror ports (on the bridge tap the copy is taken before the redirect to the ifb)', async () => {
    const limit = { averageKbps: CAP_KBPS };
    const both = { qos: { vm1: { inbound: limit, outbound: limit }, vm3: { inbound: limit, outbound: limit } }, mirrored: ['vm1', 'vm3'] };
    await converge(both);
    const ovs = await watch('cap0', vm.vm1, vm.vm2);
    const lb = await watch('cap1', vm.vm3, vm.vm4);
    process.stderr.write(`[mirror] capped and mirrored: ovs ${JSON.stringify(ovs)}, linux-bridge ${JSON.stringify(lb)}\n`);
    for (const seen of [ovs, lb]) {
      expect(seen.requests).toBeGreaterThanOrEqual(2);
      expect(seen.replies).toBeGreaterThanOrEqual(2);
    }
    expect((await agent.converge(model(both))).lastApply).toBeUndefined();
    await converge();
  }, 60_000);
});

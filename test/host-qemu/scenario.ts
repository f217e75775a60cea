// The Linux-bridge VLAN path and kernel bonds, on a kernel that has them. Runs INSIDE the QEMU guest
// (test/harness/qemu), started by test/host-qemu/full-kernel.test.ts; prints one JSON line of
// findings the test asserts on, and exits non-zero if a step fails outright.
//
// Two fake hypervisors on one switch, each with an active-backup kernel bond of two NICs; networks
// red (VLAN 100, MTU 9000) and blue (VLAN 200) as bridges over VLAN sub-interfaces of the bond; VM
// stand-ins plugged by the agent.
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { HostAgentLoop } from '../../src/controllers/host/agent.loop.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { HostAgent } from '../../src/drivers/host/agent.ts';
import { vnicDeviceName } from '../../src/drivers/host/model.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { createHost, createSwitch, createVm, kernelFeatures, ping, uid } from '../harness/hostsim/index.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { objectKey } from '../../src/api/kinds.ts';

const findings: Record<string, unknown> = {};
const id = uid(4);
const dev = (n: string) => vnicDeviceName(`t/${n}`);
findings.kernel = execFileSync('uname', ['-r']).toString().trim();
findings.features = await kernelFeatures();

const sw = await createSwitch(id);
const a = await createHost({ id: `a${id}`, switch: sw });
const b = await createHost({ id: `b${id}`, switch: sw });
const vm1 = await createVm(a, { name: 'vm1', device: dev('vm1'), address: '198.51.100.1/24', mtu: 9000 });
const vm2 = await createVm(b, { name: 'vm2', device: dev('vm2'), address: '198.51.100.2/24', mtu: 9000 });
const vm3 = await createVm(a, { name: 'vm3', device: dev('vm3'), address: '198.51.100.3/24' });

const host = (n: string) => `apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: ${n}}
spec:
  cluster: c
  nics: [{name: ens3}, {name: ens4}]
  bonds: [{name: bond0, mode: active-backup, members: [ens3, ens4], miimonMs: 100}]
  networks: [{name: red, interface: bond0}, {name: blue, interface: bond0}]`;
const vnic = (name: string, network: string, h: string) =>
  `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: ${name}, namespace: t}\nspec: {vm: {name: ${name}}, interfaceName: nic1, network: ${network}, host: ${h}}`;
const text = [
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: red}\nspec: {physicalNetwork: physnet1, vlan: {id: 100}, mtu: 9000, shared: true}',
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: blue}\nspec: {physicalNetwork: physnet1, vlan: {id: 200}, shared: true}',
  'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {defaultFabric: linux-bridge, networks: [{name: red}, {name: blue}]}',
  host(a.id),
  host(b.id),
  vnic('vm1', 'red', a.id),
  vnic('vm2', 'red', b.id),
  vnic('vm3', 'blue', a.id),
].join('\n---\n');

const records = new MemoryRecords();
const engine = new Engine({ kinds: KIND_DEFINITIONS, records, registry: new DriverRegistry(), credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), waitMs: 200 });
const loops = [a, b].map(
  (h) =>
    new HostAgentLoop({
      source: engine.rt,
      report: (n, r) => engine.report(objectKey('Host', n), r),
      host: h.id,
      log: pino({ level: 'silent' }),
      driver: new HostAgent({ target: { netns: h.ns, ovsBridge: 'br-int', ovsDatapath: 'system', sysfsRoot: '/sys' }, instance: engine.rt.instance, log: pino({ level: 'silent' }) }),
    }),
);
try {
  const r = admit([{ path: 'guest.yaml', text }]);
  if (r.errors.length) throw new Error(r.errors.map((e) => e.message).join('; '));
  engine.sync(r);
  await engine.settle(60_000);
  const reports = await Promise.all(loops.map((l) => l.kick()));
  await engine.settle(60_000);
  findings.lastApply = reports.map((x) => x?.lastApply?.result ?? x?.problems.join('; '));
  findings.ready = [a.id, b.id].map((h) => records.get(`Host/${h}`)?.status.conditions?.find((c) => c.type === 'Ready')?.status);
  const links = JSON.parse(execFileSync('ip', ['-n', a.ns, '-j', '-d', 'link', 'show']).toString()) as {
    ifname: string;
    mtu: number;
    master?: string;
    linkinfo?: { info_kind?: string; info_data?: { id?: number; mode?: string } };
  }[];
  const l = (n: string) => links.find((x) => x.ifname === n);
  findings.bond = { kind: l('bond0')?.linkinfo?.info_kind, mode: l('bond0')?.linkinfo?.info_data?.mode, mtu: l('bond0')?.mtu, slaves: links.filter((x) => x.master === 'bond0').map((x) => x.ifname).sort() };
  findings.vlan = { kind: l('bond0.100')?.linkinfo?.info_kind, id: l('bond0.100')?.linkinfo?.info_data?.id, master: l('bond0.100')?.master, mtu: l('bond0.100')?.mtu };
  findings.bridges = { red: { kind: l('red')?.linkinfo?.info_kind, mtu: l('red')?.mtu }, blue: { kind: l('blue')?.linkinfo?.info_kind, mtu: l('blue')?.mtu } };
  findings.vmPorts = { vm1: l(dev('vm1'))?.master, vm3: l(dev('vm3'))?.master };
  findings.sameVlan = await ping(vm1.ns, vm2.address, { deadlineS: 20 });
  findings.crossVlan = await ping(vm1.ns, vm3.address, { timeoutS: 1, count: 2 });
  findings.jumbo = await ping(vm1.ns, vm2.address, { size: 8972, dontFragment: true, deadlineS: 20 });
  // Out of band: the VLAN sub-interface disappears; the next pass puts it back.
  execFileSync('ip', ['-n', a.ns, 'link', 'del', 'bond0.100']);
  const healed = await loops[0]!.kick();
  findings.healed = healed?.lastApply?.result;
  findings.sameVlanAfterHeal = await ping(vm1.ns, vm2.address, { deadlineS: 20 });
  process.stdout.write(`NETFORM-FINDINGS ${JSON.stringify(findings)}\n`);
} finally {
  for (const l of loops) await l.stop();
  await engine.stop();
  for (const v of [vm1, vm2, vm3]) await v.stop();
  await a.stop();
  await b.stop();
  await sw.stop();
}

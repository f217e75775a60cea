// A VM's journeys end to end on real hosts (issue 11, "What it must show"): the real Neutron (read through
// its own API), two hostsim hypervisors A and B (namespaces, a private Open vSwitch each, netdev datapath,
// cabled to one switch) with real HostAgents, and VM stand-ins that exchange real frames.
//
// How a VM is modelled (test/harness/hostsim/tapvm.ts): the VM is a namespace whose NIC `eth0` carries the
// Neutron port's MAC and an address; its "hypervisor process" (tap-relay.py, what QEMU is to a real VM)
// opens, by name, the tap the host agent makes for the vNIC (vnicDeviceName) and copies frames between it and
// the VM's NIC. The agent owns the tap: unplugging deletes it (the process waits for it to come back), a
// reboot loses it. A live migration runs the VM's process on both hosts at once, make-before-break: when the
// attachment's host changes, B's agent plugs a tap of its own and B's process opens it, paused (the VM is
// still running on A); once B has the tap plugged in OVS (a real ofport), the switch-over happens — A's
// process pauses, B's forwards and announces the VM's MAC with RARP, as QEMU does after a migration — then
// the engine moves binding:host_id after B's report; A's agent keeps its tap while A's process still holds it
// (the vNIC is departing there) and drops tap and OVS row once that process exits, as QEMU does on the
// source after a migration. A peer pings the VM every 0.1 s throughout; the replies lost are the outage.
//
// Scenario 5 (SIGKILL of a `netform run` process inside a live move and inside a migration) runs the real
// CLI against its own two hosts C and D (a `netform agent` process for D), Neutron behind the fault proxy
// holding the request that is in flight at the kill.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reserveVlans } from '../support/vlans.ts';
import { objectKey } from '../../src/api/kinds.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { HostAgentLoop } from '../../src/controllers/host/agent.loop.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { HostAgent } from '../../src/drivers/host/agent.ts';
import type { HostReport } from '../../src/drivers/host-driver.ts';
import { NETFORM_GROUP, vnicDeviceName } from '../../src/drivers/host/model.ts';
import { OvsdbClient } from '../../src/drivers/host/ovsdb.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { FaultProxy } from '../harness/fault-proxy.ts';
import { createHost, createSwitch, ensureHostTools, ping, restartVswitchd, sweep, uid, type FakeHost, type FakeSwitch } from '../harness/hostsim/index.ts';
import { createTapVm, type TapVm } from '../harness/hostsim/tapvm.ts';
import { api, neutronUrl } from '../neutron/support.ts';
import { runCli, startCli, tempDir, waitFor, type Spawned } from '../support/cli.ts';

const id = uid(4);
const NS = `j-${id}`;
// Two VLANs of physnet3 for this run (the contract suite uses 3001-3003 there).
const RED_VLAN = reserveVlans('physnet3', 2, 3500, 3879);
/** The kill journey's two networks. */
const K_VLAN = reserveVlans('physnet3', 2, 3100, 3479);
const BLUE_VLAN = RED_VLAN + 1;
const RED = `red-${id}`;
const BLUE = `blue-${id}`;

let sw: FakeSwitch;
let A: FakeHost;
let B: FakeHost;
let engine: Engine;
let records: MemoryRecords;
const loops: Record<string, HostAgentLoop> = {};
const log = pino({ level: 'silent' });

const say = (line: string) => process.stderr.write(`[journeys] ${line}\n`);
const key = (vnic: string) => `${NS}/${vnic}`;
const dev = (vnic: string) => vnicDeviceName(key(vnic));
const vmUid = (vnic: string) => `${vnic}-${id}`;

interface RawPort {
  id: string;
  network_id: string;
  mac_address: string;
  device_id: string;
  'binding:host_id': string;
}
const portsOf = async (vnic: string) => (await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?device_id=${vmUid(vnic)}`)).body.ports;
const netId = async (name: string) => (await api<{ networks: { id: string }[] }>('GET', `/v2.0/networks?name=${name}`)).body.networks[0]!.id;

// ---- desired state -----------------------------------------------------------------------------------

interface Vnic {
  name: string;
  network: string;
  host: FakeHost;
  plugged?: boolean;
}

function manifests(vnics: Vnic[]): string {
  const host = (h: FakeHost) =>
    `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${h.id}}\nspec: {cluster: c-${id}, nics: [{name: ens3}], networks: [{name: ${RED}, interface: ens3}, {name: ${BLUE}, interface: ens3}]}`;
  return [
    `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}`,
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${RED}}\nspec: {physicalNetwork: physnet3, vlan: {id: ${RED_VLAN}}, shared: true, providerRefs: [{name: os}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${BLUE}}\nspec: {physicalNetwork: physnet3, vlan: {id: ${BLUE_VLAN}}, shared: true, providerRefs: [{name: os}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${id}}\nspec: {defaultFabric: ovs, networks: [{name: ${RED}}, {name: ${BLUE}}]}`,
    host(A),
    host(B),
    ...vnics.map(
      (v) =>
        `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: ${v.name}, namespace: ${NS}}\nspec: {vm: {name: ${v.name}, uid: ${vmUid(v.name)}}, interfaceName: nic0, network: ${v.network}, host: ${v.host.id}, plugged: ${v.plugged ?? true}}`,
    ),
  ].join('\n---\n');
}

function load(vnics: Vnic[]): void {
  const r = admit([{ path: 'journeys.yaml', text: manifests(vnics) }]);
  expect(r.errors).toEqual([]);
  engine.sync(r);
}

/** The engine settles, both agents pass, and the engine settles on their reports (twice: a report can
 *  let a waiting vNIC go on, whose change the agents then carry out). */
async function converge(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    expect(await engine.settle(60_000)).toBe(true);
    for (const r of await Promise.all(Object.values(loops).map((l) => l.kick()))) {
      expect(r?.problems).toEqual([]);
      expect(r?.networks.filter((n) => !n.inSync)).toEqual([]);
    }
  }
  expect(await engine.settle(60_000)).toBe(true);
}

/** Back to no vNICs; then nothing of them is left on either host. */
async function reset(names: string[]): Promise<void> {
  load([]);
  await converge();
  for (const h of [A, B]) {
    const left = await vnicTraces(h, names);
    expect(left, h.id).toEqual({ links: [], rows: [] });
  }
}

// ---- what the hosts hold -------------------------------------------------------------------------------

const linkNames = (h: FakeHost) => (JSON.parse(execFileSync('ip', ['-n', h.ns, '-j', 'link', 'show']).toString()) as { ifname: string }[]).map((l) => l.ifname);

interface IfaceRow {
  name: string;
  ofport: number;
  error: string;
  external: Record<string, string>;
}
/** Every Interface row of the host's OVS, from OVSDB. */
async function ifaceRows(h: FakeHost): Promise<IfaceRow[]> {
  const out = JSON.parse(await h.ovs!.vsctl(['--format=json', '--columns=name,ofport,error,external_ids', 'list', 'Interface'])) as { data: unknown[][] };
  const scalar = (v: unknown) => (Array.isArray(v) && v[0] === 'set' ? (v[1] as unknown[])[0] : v);
  return out.data.map(([name, ofport, error, ext]) => ({
    name: String(name),
    ofport: Number(scalar(ofport) ?? -1),
    error: String(scalar(error) ?? ''),
    external: Object.fromEntries((ext as [string, [string, string][]])[1]),
  }));
}
const portTag = async (h: FakeHost, port: string) => Number((await h.ovs!.vsctl(['get', 'Port', port, 'tag'])).trim());

/** The vNICs' devices and OVS rows (by name or iface-id) on a host. */
async function vnicTraces(h: FakeHost, names: string[]): Promise<{ links: string[]; rows: string[] }> {
  const devs = new Set(names.map(dev));
  const keys = new Set(names.map(key));
  return {
    links: linkNames(h).filter((l) => devs.has(l)),
    rows: (await ifaceRows(h)).filter((r) => devs.has(r.name) || keys.has(r.external['iface-id'] ?? '')).map((r) => `${r.name} ${JSON.stringify(r.external)}`),
  };
}

// ---- VMs ---------------------------------------------------------------------------------------------------

const vms: TapVm[] = [];
/** A VM stand-in for a vNIC whose port exists: the port's MAC, `address`, its process on `host`. */
async function startVm(vnic: string, host: FakeHost, address: string): Promise<TapVm> {
  const [p] = await portsOf(vnic);
  expect(p, `the port of ${vnic}`).toBeDefined();
  const vm = await createTapVm({ prefix: id, name: vnic.replace(/[^a-z0-9]/g, '').slice(-6), address: `${address}/24`, mac: p!.mac_address });
  vms.push(vm);
  const relay = vm.attach(host, dev(vnic));
  await waitFor(`${vnic}'s process has its tap on ${host.id}`, () => relay.attached(), 10_000);
  return vm;
}
async function stopVms(): Promise<void> {
  for (const vm of vms.splice(0)) await vm.stop();
}

/** A continuous ping (every 0.1 s) from `ns`; `stop()` ends it and returns what it counted. */
function pingStream(ns: string, address: string): { stop: () => Promise<{ sent: number; received: number; lostSeqs: number[] }> } {
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-i', '0.1', '-W', '1', address], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((r) => child.on('close', () => r()));
  return {
    stop: async () => {
      await sleep(300); // the last request's reply
      child.kill('SIGINT');
      await done;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!m) throw new Error(`ping printed no summary: ${out.slice(-500)}`);
      const seqs = new Set([...out.matchAll(/icmp_seq=(\d+)/g)].map((x) => Number(x[1])));
      const sent = Number(m[1]);
      const lostSeqs = Array.from({ length: sent }, (_, i) => i + 1).filter((s) => !seqs.has(s));
      return { sent, received: Number(m[2]), lostSeqs };
    },
  };
}

// ---- set-up --------------------------------------------------------------------------------------------

function newLoop(h: FakeHost): HostAgentLoop {
  return new HostAgentLoop({
    source: engine.rt,
    report: (n, r) => engine.report(objectKey('Host', n), r),
    host: h.id,
    log,
    driver: new HostAgent({ target: { netns: h.ns, ovs: () => OvsdbClient.connect(h.ovs!.db), ovsBridge: 'br-int', ovsDatapath: 'netdev', sysfsRoot: '/nonexistent' }, instance: engine.rt.instance, log }),
  });
}

beforeAll(async () => {
  await ensureHostTools();
  await sweep();
  sw = await createSwitch(id);
  A = await createHost({ id: `a${id}`, switch: sw, ovs: true, nics: ['ens3'] });
  B = await createHost({ id: `b${id}`, switch: sw, ovs: true, nics: ['ens3'] });
  records = new MemoryRecords();
  const registry = new DriverRegistry().register('neutron', (c, d) => new NeutronDriver(c, d.log, { snapshotTtlMs: 100 }));
  engine = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log, resyncMs: 60_000, waitMs: 100 });
  for (const h of [A, B]) loops[h.id] = newLoop(h);
  load([]);
  await converge();
}, 120_000);

afterAll(async () => {
  await stopVms();
  if (engine) {
    engine.sync(admit([]));
    await engine.settle(60_000);
    const left = [...(await api<{ networks: unknown[] }>('GET', `/v2.0/networks?name=${RED}`)).body.networks, ...(await api<{ networks: unknown[] }>('GET', `/v2.0/networks?name=${BLUE}`)).body.networks];
    if (left.length) say(`cleanup: ${left.length} networks of this run left on Neutron`);
  }
  for (const l of Object.values(loops)) await l.stop();
  await engine?.stop();
  await A?.stop();
  await B?.stop();
  await sw?.stop();
}, 120_000);

// ---- the journeys --------------------------------------------------------------------------------------

describe('VM journeys on real hosts (engine, real Neutron, two hostsim hypervisors)', () => {
  it('1. two VMs on one network reach each other across hosts; on different networks they do not', async () => {
    const v = [
      { name: 's1a', network: RED, host: A },
      { name: 's1b', network: RED, host: B },
      { name: 's1c', network: BLUE, host: B },
    ];
    try {
      load(v);
      await converge();
      expect(await portTag(A, dev('s1a'))).toBe(RED_VLAN);
      expect(await portTag(B, dev('s1b'))).toBe(RED_VLAN);
      expect(await portTag(B, dev('s1c'))).toBe(BLUE_VLAN);
      const a = await startVm('s1a', A, '198.51.100.11');
      const b = await startVm('s1b', B, '198.51.100.12');
      const c = await startVm('s1c', B, '198.51.100.13');
      const same = await ping(a.ns, b.address, { deadlineS: 10 });
      const across = await ping(a.ns, c.address, { count: 3, timeoutS: 1 });
      const across2 = await ping(b.ns, c.address, { count: 3, timeoutS: 1 });
      say(`1: red A→red B ping ${same ? 'answered' : 'lost'}; red A→blue B ${across ? 'answered' : 'lost'}; red B→blue B ${across2 ? 'answered' : 'lost'}`);
      expect(same).toBe(true);
      expect(across).toBe(false);
      expect(across2).toBe(false);
    } finally {
      await stopVms();
    }
    await reset(v.map((x) => x.name));
  }, 120_000);

  it('2. a live network move: connectivity follows the vNIC, the old port is gone, the VM never has two ports (polled throughout)', async () => {
    const v = [
      { name: 'm1', network: RED, host: A },
      { name: 'm1red', network: RED, host: B },
      { name: 'm1blue', network: BLUE, host: B },
    ];
    try {
      load(v);
      await converge();
      const m = await startVm('m1', A, '198.51.100.31');
      const pr = await startVm('m1red', B, '198.51.100.32');
      const pb = await startVm('m1blue', B, '198.51.100.33');
      expect(await ping(m.ns, pr.address, { deadlineS: 10 })).toBe(true);
      expect(await ping(m.ns, pb.address, { count: 2, timeoutS: 1 })).toBe(false);
      const [before, ...extra] = await portsOf('m1');
      expect(extra).toEqual([]);
      expect(before!.network_id).toBe(await netId(RED));

      let polling = true;
      let most = 0;
      let polls = 0;
      const poller = (async () => {
        while (polling) {
          most = Math.max(most, (await portsOf('m1')).length);
          polls++;
        }
      })();
      v[0] = { name: 'm1', network: BLUE, host: A };
      load(v);
      await converge();
      polling = false;
      await poller;
      const [after, ...more] = await portsOf('m1');
      const gone = await api('GET', `/v2.0/ports/${before!.id}`);
      const toNew = await ping(m.ns, pb.address, { deadlineS: 10 });
      const toOld = await ping(m.ns, pr.address, { count: 3, timeoutS: 1 });
      say(`2: ports?device_id polled ${polls} times during the move, most ports seen at once ${most}; old port GET → ${gone.status}; after the move VM→blue peer ${toNew ? 'answered' : 'lost'}, VM→red peer ${toOld ? 'answered' : 'lost'}`);
      expect(polls).toBeGreaterThan(3);
      expect(most).toBe(1);
      expect(more).toEqual([]);
      expect(after!.id).not.toBe(before!.id);
      expect(after!.network_id).toBe(await netId(BLUE));
      expect(gone.status).toBe(404);
      expect(await portTag(A, dev('m1'))).toBe(BLUE_VLAN);
      expect(toNew).toBe(true);
      expect(toOld).toBe(false);
    } finally {
      await stopVms();
    }
    await reset(v.map((x) => x.name));
  }, 120_000);

  it('3. a migration from A to B under a continuous ping: at most 1 s of replies lost; then bound to B and nothing of the vNIC left on A', async () => {
    const v = [
      { name: 'g1', network: RED, host: A },
      { name: 'g1peer', network: RED, host: A },
    ];
    try {
      load(v);
      await converge();
      const g = await startVm('g1', A, '198.51.100.51');
      const peer = await startVm('g1peer', A, '198.51.100.52');
      expect(await ping(peer.ns, g.address, { deadlineS: 10 })).toBe(true);
      const [p] = await portsOf('g1');
      expect(p!['binding:host_id']).toBe(A.id);
      const onA = g.relays[0]!;

      const stream = pingStream(peer.ns, g.address);
      await sleep(1000);
      const t0 = Date.now();
      v[0] = { name: 'g1', network: RED, host: B };
      load(v);
      await waitFor('the migration in status', () => records.get(`VnicAttachment/${key('g1')}`)?.status.migration, 10_000);
      // The destination: B's process starts paused, B's agent plugs the tap; the source keeps running.
      const onB = g.attach(B, dev('g1'), { forwarding: false });
      await Promise.all([loops[B.id]!.kick(), loops[A.id]!.kick()]);
      // The switch-over waits for what the engine waits for: B's report listing the vNIC's device (and B's
      // process holding that tap, and OVS having it plugged with a real ofport).
      const reportedOnB = () => (engine.rt.reports.get(objectKey('Host', B.id)) as HostReport | undefined)?.interfaces.some((i) => i.name === dev('g1'));
      await waitFor('B reports the device plugged, its process has the tap', async () => reportedOnB() && onB.attached() && (await ifaceRows(B)).some((r) => r.name === dev('g1') && r.ofport > 0), 10_000);
      expect(linkNames(A)).toContain(dev('g1')); // make-before-break: both hosts hold the device now
      // The switch-over.
      onA.pause();
      onB.resume();
      const tSwitch = Date.now();
      // The engine moves the binding after B's report.
      await waitFor('the ports followed', () => {
        const st = records.get(`VnicAttachment/${key('g1')}`)?.status;
        return st && st.host === B.id;
      }, 30_000);
      // A keeps the tap while the VM's process there still holds it (departing), however long the
      // hypervisor's switch-over takes …
      await loops[A.id]!.kick();
      expect(linkNames(A)).toContain(dev('g1'));
      expect(records.get(`VnicAttachment/${key('g1')}`)?.status.migration).toMatchObject({ phase: 'releasing' });
      // … and lets go once it exits (as QEMU does on the source after a migration).
      await onA.stop();
      await loops[A.id]!.kick();
      await waitFor('the migration finished', () => (records.get(`VnicAttachment/${key('g1')}`)?.status.migration === undefined ? true : undefined), 30_000);
      await loops[B.id]!.kick();
      await sleep(1500);
      const r = await stream.stop();
      const lostS = r.sent - r.received;
      say(`3: migration A→B: switch-over ${tSwitch - t0} ms after the host change; ping every 0.1 s from a peer on A: ${r.sent} sent, ${r.received} received, ${lostS} lost (≈${(lostS * 0.1).toFixed(1)} s; seqs ${JSON.stringify(r.lostSeqs)})`);
      expect(r.sent).toBeGreaterThan(20);
      expect(lostS).toBeLessThanOrEqual(10);

      const [q, ...more] = await portsOf('g1');
      expect(more).toEqual([]);
      expect(q!.id).toBe(p!.id);
      expect(q!['binding:host_id']).toBe(B.id);
      expect(await vnicTraces(A, ['g1'])).toEqual({ links: [], rows: [] });
      const onBNow = await vnicTraces(B, ['g1']);
      expect(onBNow.links).toEqual([dev('g1')]);
      expect(onBNow.rows).toHaveLength(1);
      expect(await ping(g.ns, peer.address, { deadlineS: 5 })).toBe(true);
      // A control for the measurement: the same stream with the VM's process paused for 1 s loses replies.
      const control = pingStream(peer.ns, g.address);
      await sleep(500);
      onB.pause();
      await sleep(1000);
      onB.resume();
      await sleep(500);
      const c = await control.stop();
      say(`3: control: the VM paused for 1 s under the same stream: ${c.sent} sent, ${c.received} received, ${c.sent - c.received} lost`);
      expect(c.sent - c.received).toBeGreaterThanOrEqual(5);
    } finally {
      await stopVms();
    }
    await reset(v.map((x) => x.name));
  }, 120_000);

  it('4. unplug keeps the port and removes the tap and its OVS row; replug brings them back and traffic with them; delete removes port, tap and rows', async () => {
    const v: Vnic[] = [
      { name: 'u1', network: RED, host: A },
      { name: 'u1peer', network: RED, host: A },
    ];
    try {
      load(v);
      await converge();
      const u = await startVm('u1', A, '198.51.100.41');
      const peer = await startVm('u1peer', A, '198.51.100.42');
      expect(await ping(peer.ns, u.address, { deadlineS: 10 })).toBe(true);
      const [p] = await portsOf('u1');

      v[0] = { name: 'u1', network: RED, host: A, plugged: false };
      load(v);
      await converge();
      const unplugged = await vnicTraces(A, ['u1']);
      const portsUnplugged = await portsOf('u1');
      const pingUnplugged = await ping(peer.ns, u.address, { count: 2, timeoutS: 1 });
      say(`4: unplugged: tap ${unplugged.links.length ? 'present' : 'gone'}, OVS rows ${unplugged.rows.length}, Neutron ports ${portsUnplugged.map((x) => x.id).join(',')} (was ${p!.id}), ping ${pingUnplugged ? 'answered' : 'lost'}`);
      expect(unplugged).toEqual({ links: [], rows: [] });
      expect(portsUnplugged.map((x) => x.id)).toEqual([p!.id]);
      expect(pingUnplugged).toBe(false);

      v[0] = { name: 'u1', network: RED, host: A };
      load(v);
      await converge();
      const replugged = await vnicTraces(A, ['u1']);
      expect(replugged.links).toEqual([dev('u1')]);
      expect(replugged.rows).toHaveLength(1);
      await waitFor('the VM process has the new tap', () => u.relays[0]!.attached(), 10_000);
      const pingReplugged = await ping(peer.ns, u.address, { deadlineS: 10 });
      say(`4: replugged: tap present, OVS rows ${replugged.rows.length}, ping ${pingReplugged ? 'answered' : 'lost'}`);
      expect(pingReplugged).toBe(true);
      expect((await portsOf('u1')).map((x) => x.id)).toEqual([p!.id]);

      load(v.slice(1));
      await converge();
      const deleted = await vnicTraces(A, ['u1']);
      say(`4: deleted: Neutron ports ${(await portsOf('u1')).length}, tap ${deleted.links.length ? 'present' : 'gone'}, OVS rows ${deleted.rows.length}`);
      expect(await portsOf('u1')).toEqual([]);
      expect((await api('GET', `/v2.0/ports/${p!.id}`)).status).toBe(404);
      expect(deleted).toEqual({ links: [], rows: [] });
    } finally {
      await stopVms();
    }
    await reset(v.map((x) => x.name));
  }, 120_000);

  it('6. a host "reboot": taps gone behind the agent, vswitchd restarted (stale rows); a new agent collects the stale row of a vNIC deleted meanwhile and restores every desired vNIC with its ids', async () => {
    const v = [
      { name: 'r1', network: RED, host: A },
      { name: 'r2', network: RED, host: A },
      { name: 'r3', network: BLUE, host: A },
    ];
    try {
      load(v);
      await converge();
      const r1 = await startVm('r1', A, '198.51.100.61');
      const r2 = await startVm('r2', A, '198.51.100.62');
      expect(await ping(r1.ns, r2.address, { deadlineS: 10 })).toBe(true);

      // The reboot: the agent goes, the taps go, vswitchd comes back up with the old database.
      await loops[A.id]!.stop();
      execFileSync('ip', ['-n', A.ns, 'link', 'del', dev('r1')]);
      execFileSync('ip', ['-n', A.ns, 'link', 'del', dev('r2')]);
      execFileSync('ip', ['-n', A.ns, 'link', 'del', dev('r3')]);
      await restartVswitchd(A);
      const stale = await waitFor('stale rows after the vswitchd restart', async () => {
        const rows = (await ifaceRows(A)).filter((r) => v.some((x) => x.name && r.name === dev(x.name)));
        return rows.length === 3 && rows.every((r) => r.ofport === -1 && r.error.includes('could not open network device')) ? rows : undefined;
      }, 20_000);
      say(`6: after the reboot: ${stale.map((r) => `${r.name} ofport ${r.ofport} "${r.error}"`).join('; ')}`);

      // While the host was down, r3 was deleted: its stale row must be collected, not restored.
      load(v.slice(0, 2));
      loops[A.id] = newLoop(A);
      const first = await loops[A.id]!.kick();
      await converge();
      const rows = await ifaceRows(A);
      expect(first?.collected).toEqual([dev('r3')]);
      expect(await vnicTraces(A, ['r3'])).toEqual({ links: [], rows: [] });
      const bad = rows.filter((r) => r.ofport <= 0 || r.error);
      const links = JSON.parse(execFileSync('ip', ['-n', A.ns, '-j', '-d', 'link', 'show']).toString()) as { ifname: string; group: string | number }[];
      const ports = new Map<string, RawPort>();
      for (const x of v.slice(0, 2)) ports.set(x.name, (await portsOf(x.name))[0]!);
      for (const x of v.slice(0, 2)) {
        const row = rows.filter((r) => r.name === dev(x.name));
        expect(row, x.name).toHaveLength(1);
        expect(row[0]!.external).toMatchObject({ 'iface-id': key(x.name), 'attached-mac': ports.get(x.name)!.mac_address, 'vm-id': vmUid(x.name), 'iface-status': 'active' });
        const l = links.find((k) => k.ifname === dev(x.name));
        expect(l, x.name).toBeDefined();
        expect(Number(l!.group)).toBe(NETFORM_GROUP);
      }
      await waitFor('the VMs have their new taps', () => r1.relays[0]!.attached() && r2.relays[0]!.attached(), 10_000);
      const back = await ping(r1.ns, r2.address, { deadlineS: 10 });
      say(`6: after the new agent's pass: collected ${JSON.stringify(first?.collected)} (r3, deleted while the host was down); ${rows.length} Interface rows, ${bad.length} stale or failed; r1 and r2 back with iface-id, attached-mac, vm-id, iface-status; VM ping ${back ? 'answered' : 'lost'}`);
      expect(bad).toEqual([]);
      expect(back).toBe(true);
    } finally {
      await stopVms();
    }
    await reset(v.map((x) => x.name));
  }, 120_000);
});

// ---- 5: SIGKILL of `netform run` inside a move and inside a migration ------------------------------------

describe('SIGKILL inside a live move and inside a migration (netform run and netform agent processes, real Neutron behind the fault proxy)', () => {
  // Hosts of their own: C (the agent inside `run`) and D (a `netform agent` process), networks of their own.
  let C: FakeHost;
  let D: FakeHost;
  let proxy: FaultProxy;
  let dir: string;
  let state: string;
  let run: Spawned | undefined;
  let agentD: Spawned | undefined;
  const inst = `jr-${id}`;
  const KRED = `kred-${id}`;
  const KBLUE = `kblue-${id}`;
  const VNIC = `k${id}`;
  const kkey = `${NS}/${VNIC}`;
  const kdev = vnicDeviceName(kkey);
  const kuid = `${VNIC}-vm`;
  const flags = (h: FakeHost) => ['--host', h.id, '--netns', h.ns, '--ovs-db', h.ovs!.db, '--ovs-datapath', 'netdev', '--sysfs', '/nonexistent'];

  function write(o: { network?: string; host?: FakeHost; vnic?: boolean; networks?: boolean } = {}): void {
    const host = (h: FakeHost) =>
      `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${h.id}}\nspec: {cluster: kc-${id}, nics: [{name: ens3}], networks: [{name: ${KRED}, interface: ens3}, {name: ${KBLUE}, interface: ens3}]}`;
    const docs = [`apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${proxy.url}", neutron: {auth: noauth}, requestTimeoutSeconds: 10}`];
    if (o.networks !== false) {
      docs.push(
        `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${KRED}}\nspec: {physicalNetwork: physnet3, vlan: {id: ${K_VLAN}}, shared: true, providerRefs: [{name: os}]}`,
        `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${KBLUE}}\nspec: {physicalNetwork: physnet3, vlan: {id: ${K_VLAN + 1}}, shared: true, providerRefs: [{name: os}]}`,
        `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: kc-${id}}\nspec: {defaultFabric: ovs, networks: [{name: ${KRED}}, {name: ${KBLUE}}]}`,
        host(C),
        host(D),
      );
    }
    if (o.vnic !== false && o.networks !== false) {
      docs.push(
        `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: ${VNIC}, namespace: ${NS}}\nspec: {vm: {name: ${VNIC}, uid: ${kuid}}, interfaceName: nic0, network: ${o.network ?? KRED}, host: ${(o.host ?? C).id}}`,
      );
    }
    writeFileSync(join(dir, 'journey.yaml.tmp'), docs.join('\n---\n') + '\n');
    execFileSync('mv', [join(dir, 'journey.yaml.tmp'), join(dir, 'journey.yaml')]);
  }

  const startRun = () => (run = startCli(['run', '--dir', dir, '--state', state, '--instance', inst, ...flags(C)], { real: true }));

  interface Status {
    network?: string;
    host?: string;
    migration?: unknown;
    conditions?: { type: string; status: string }[];
  }
  async function status(): Promise<Status | undefined> {
    const r = await runCli(['status', '--state', state, '-o', 'json'], { real: true });
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { key: string; status: Status }[]).find((e) => e.key === `VnicAttachment/${kkey}`)?.status;
  }
  const ready = (st: Status | undefined) => st?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

  /** Every Neutron port on the scenario's two networks (all of them are this vNIC's, whatever their state). */
  async function allPorts(): Promise<(RawPort & { description: string })[]> {
    const out: (RawPort & { description: string })[] = [];
    for (const n of [KRED, KBLUE]) {
      const nets = (await api<{ networks: { id: string }[] }>('GET', `/v2.0/networks?name=${n}`)).body.networks;
      for (const net of nets) out.push(...(await api<{ ports: (RawPort & { description: string })[] }>('GET', `/v2.0/ports?network_id=${net.id}`)).body.ports);
    }
    return out;
  }
  const traces = async (h: FakeHost) => ({
    links: linkNames(h).filter((l) => l === kdev),
    rows: (await ifaceRows(h)).filter((r) => r.name === kdev || r.external['iface-id'] === kkey).map((r) => r.name),
  });

  /** SIGKILLs `run` the moment the proxy holds a request `match` accepts (held for 4 s, then forwarded). */
  async function killWhenHeld(match: (r: { method: string; path: string; body: string }) => boolean): Promise<{ method: string; path: string }> {
    const from = proxy.log.length;
    proxy.faults({ rate: 1, seed: 1, kinds: ['delay'], delayMs: 4000, eligible: match });
    const held = await waitFor('the request to hold', () => proxy.log.slice(from).find((r) => match(r) && r.fault === 'delay'), 60_000);
    run!.child.kill('SIGKILL');
    const r = await run!.result;
    expect(r.signal).toBe('SIGKILL');
    proxy.faults(undefined);
    return { method: held.method, path: held.path };
  }

  beforeAll(async () => {
    C = await createHost({ id: `c${id}`, switch: sw, ovs: true, nics: ['ens3'] });
    D = await createHost({ id: `d${id}`, switch: sw, ovs: true, nics: ['ens3'] });
    proxy = new FaultProxy({ target: neutronUrl() });
    await proxy.start();
    dir = tempDir(`journeys-${id}`);
    state = join(tempDir(`journeys-${id}-state`), 'state');
    mkdirSync(dir, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    // Everything declared goes: the run deletes the port and the networks, then stops.
    if (run && run.child.exitCode === null && run.child.signalCode === null) {
      write({ networks: false });
      await waitFor('the scenario\'s networks deleted', async () => (await allPorts()).length === 0 && (await api<{ networks: unknown[] }>('GET', `/v2.0/networks?name=${KRED}`)).body.networks.length === 0, 60_000).catch((e: unknown) => say(`5: cleanup: ${String(e)}`));
      run.child.kill('SIGTERM');
      await run.result;
    }
    if (agentD && agentD.child.exitCode === null) {
      agentD.child.kill('SIGTERM');
      await agentD.result;
    }
    await proxy?.stop();
    await C?.stop();
    await D?.stop();
  }, 120_000);

  it('5. killed inside a live move and inside a migration, then restarted: exactly one port and one device, on the intended network and host', async () => {
    write();
    startRun();
    agentD = startCli(['agent', '--dir', dir, '--state', state, '--instance', inst, '--interval', '1', ...flags(D)], { real: true });
    await waitFor('the vNIC Ready on C', async () => ready(await status()) && (await traces(C)).rows.length === 1, 90_000);
    const [first, ...extra] = await allPorts();
    expect(extra).toEqual([]);
    expect(first!.network_id).toBe(await netId(KRED));

    // A live move, killed while the old port's DELETE is in flight (the successor already made).
    write({ network: KBLUE });
    const held = await killWhenHeld((r) => r.method === 'DELETE' && r.path === `/v2.0/ports/${first!.id}`);
    const atKill = await allPorts();
    say(`5: move: SIGKILL while ${held.method} ${held.path} was held; Neutron then had ${atKill.length} ports on the two networks: ${atKill.map((p) => `${p.id.slice(0, 8)} ${p.network_id === first!.network_id ? 'red' : 'blue'} device_id=${JSON.stringify(p.device_id)} ${p.description ? 'pending' : ''}`).join('; ')}`);
    expect(atKill.some((p) => p.id !== first!.id && p.device_id === '' && p.description.startsWith('netform-pending:'))).toBe(true);
    startRun();
    await waitFor('the move finished after the restart', async () => {
      const st = await status();
      return ready(st) && st!.network === KBLUE && (await allPorts()).length === 1;
    }, 90_000);
    await waitFor('the tap tagged with the new network', async () => (await portTag(C, kdev)) === K_VLAN + 1, 30_000);
    const moved = await allPorts();
    const cMove = await traces(C);
    const dMove = await traces(D);
    say(`5: move after restart: ${moved.length} port (${moved.map((p) => `${p.id.slice(0, 8)} on ${p.network_id === first!.network_id ? 'red' : 'blue'}, device_id ${p.device_id}, host ${p['binding:host_id']}`).join('; ')}); devices C ${cMove.links.length} (rows ${cMove.rows.length}), D ${dMove.links.length} (rows ${dMove.rows.length})`);
    expect(moved).toHaveLength(1);
    expect(moved[0]!).toMatchObject({ network_id: await netId(KBLUE), device_id: kuid, 'binding:host_id': C.id, description: '' });
    expect(cMove).toEqual({ links: [kdev], rows: [kdev] });
    expect(dMove).toEqual({ links: [], rows: [] });

    // A migration C → D, killed while the port's binding:host_id update is in flight.
    const port = moved[0]!;
    write({ network: KBLUE, host: D });
    const heldM = await killWhenHeld((r) => r.method === 'PUT' && r.path === `/v2.0/ports/${port.id}` && r.body.includes('binding:host_id'));
    const [cKill, dKill] = [await traces(C), await traces(D)];
    say(`5: migration: SIGKILL while ${heldM.method} ${heldM.path} (binding:host_id) was held; devices then: C ${cKill.links.length}, D ${dKill.links.length}`);
    expect(dKill.links).toEqual([kdev]); // make-before-break: D plugged before the binding moves
    expect(cKill.links).toEqual([kdev]);
    startRun();
    await waitFor('the migration finished after the restart, C let go', async () => {
      const st = await status();
      return ready(st) && st!.host === D.id && !st!.migration && (await traces(C)).links.length === 0;
    }, 90_000);
    const after = await allPorts();
    const cEnd = await traces(C);
    const dEnd = await traces(D);
    say(`5: migration after restart: ${after.length} port (${after.map((p) => `${p.id.slice(0, 8)} binding:host_id ${p['binding:host_id']}`).join('; ')}); devices C ${cEnd.links.length} (rows ${cEnd.rows.length}), D ${dEnd.links.length} (rows ${dEnd.rows.length})`);
    expect(after).toHaveLength(1);
    expect(after[0]!).toMatchObject({ id: port.id, network_id: await netId(KBLUE), device_id: kuid, 'binding:host_id': D.id });
    expect(cEnd).toEqual({ links: [], rows: [] });
    expect(dEnd).toEqual({ links: [kdev], rows: [kdev] });
    expect(await portTag(D, kdev)).toBe(K_VLAN + 1);
  }, 300_000);
});

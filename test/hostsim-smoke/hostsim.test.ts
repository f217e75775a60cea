// Smoke test of test/harness/hostsim: two fake hypervisors on one switch, each with a private OVS (netdev datapath),
// VLAN isolation through OVS tags and a trunk NIC, jumbo frames end to end, sweep() and kernelFeatures().
// Needs root (network namespaces) and Open vSwitch + ping (ensureHostTools installs them with apt-get if missing).
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHost,
  createSwitch,
  createVm,
  ensureHostTools,
  inventory,
  ipBatch,
  ipJson,
  kernelFeatures,
  ping,
  processGone,
  sweep,
  uid,
  type FakeHost,
  type FakeSwitch,
  type FakeVm,
} from '../harness/hostsim/index.ts';

const execFileP = promisify(execFile);
const CLI = fileURLToPath(new URL('../harness/hostsim/cli.ts', import.meta.url));

interface Link {
  ifname: string;
  mtu: number;
  operstate: string;
  address: string;
  master?: string;
  flags: string[];
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

async function link(ns: string, dev: string): Promise<Link> {
  const [l] = await ipJson<Link[]>(ns, ['-d', 'addr', 'show', 'dev', dev]);
  if (!l) throw new Error(`no ${dev} in ${ns}`);
  return l;
}

/** OVS `list` output as objects, with OVSDB's empty set `["set",[]]` turned into null and sets into arrays. */
async function ovsRows(host: FakeHost, table: string, columns: string[]): Promise<Record<string, Record<string, unknown>>> {
  const out = await host.ovs!.vsctl(['--format=json', `--columns=name,${columns.join(',')}`, 'list', table]);
  const { headings, data } = JSON.parse(out) as { headings: string[]; data: unknown[][] };
  const decode = (v: unknown): unknown =>
    Array.isArray(v) && v[0] === 'set' ? ((v[1] as unknown[]).length ? (v[1] as unknown[]) : null) : v;
  const rows: Record<string, Record<string, unknown>> = {};
  for (const row of data) {
    const obj = Object.fromEntries(headings.map((h, i) => [h, decode(row[i])]));
    rows[obj.name as string] = obj;
  }
  return rows;
}

/** names of all named network namespaces */
function nsList(): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns').sort() : [];
}

const id = uid(4);
let sw: FakeSwitch;
let hostA: FakeHost;
let hostB: FakeHost;
let vm1: FakeVm;
let vm2: FakeVm;
let vm3: FakeVm;

beforeAll(async () => {
  await ensureHostTools();
  await sweep();
  sw = await createSwitch(id);
  [hostA, hostB] = await Promise.all([
    createHost({ id: `${id}a`, switch: sw, ovs: true }),
    createHost({ id: `${id}b`, switch: sw, ovs: true }),
  ]);
  vm1 = await createVm(hostA, { name: 'vm1', device: 'vnet1', address: '198.51.100.1/24' });
  vm3 = await createVm(hostA, { name: 'vm3', device: 'vnet3', address: '198.51.100.3/24' });
  vm2 = await createVm(hostB, { name: 'vm2', device: 'vnet2', address: '198.51.100.2/24' });
});

afterAll(async () => {
  await Promise.all([hostA?.stop(), hostB?.stop()]);
  await sw?.stop();
});

describe('hostsim', () => {
  it('builds switch, hosts and VMs as documented', async () => {
    expect(sw.ns).toBe(`nfsw-${id}`);
    expect(hostA.ns).toBe(`nfhv-${id}a`);
    expect(vm1.ns).toBe(`nfvm-${id}a-vm1`);
    expect(nsList()).toEqual(expect.arrayContaining([sw.ns, hostA.ns, hostB.ns, vm1.ns, vm2.ns, vm3.ns]));

    const swbr = await link(sw.ns, 'swbr');
    expect(swbr.linkinfo?.info_kind).toBe('bridge');
    expect(swbr.operstate).toBe('UP');
    expect(hostA.nics).toEqual(['ens3', 'ens4']);
    expect(hostA.switchPorts).toEqual([`${id}a-ens3`, `${id}a-ens4`]);
    for (const port of [...hostA.switchPorts, ...hostB.switchPorts]) {
      const l = await link(sw.ns, port);
      expect([l.master, l.mtu, l.linkinfo?.info_kind, l.flags.includes('UP')]).toEqual(['swbr', 9000, 'veth', true]);
    }
    const ens3 = await link(hostA.ns, 'ens3');
    expect([ens3.linkinfo?.info_kind, ens3.mtu, ens3.operstate]).toEqual(['veth', 1500, 'UP']);

    // VM: eth0 up and addressed in its ns; the host end DOWN and attached to nothing
    const eth0 = await link(vm1.ns, 'eth0');
    expect(eth0.flags).toContain('UP');
    expect(eth0.addr_info?.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['198.51.100.1/24']);
    const vnet1 = await link(hostA.ns, 'vnet1');
    expect([vnet1.operstate, vnet1.master, vnet1.flags.includes('UP')]).toEqual(['DOWN', undefined, false]);
    expect(vm1.address).toBe('198.51.100.1');

    expect(hostA.ovs!.pidfiles.every((f) => existsSync(f))).toBe(true);
    expect(hostA.ovs!.db.startsWith('/tmp/')).toBe(false);
  });

  it('wires br-int with a trunk NIC and tagged VM ports on both hosts', async () => {
    const plug = (vnets: [string, number][]) => [
      'add-br', 'br-int', '--', 'set', 'Bridge', 'br-int', 'datapath_type=netdev',
      '--', 'add-port', 'br-int', 'ens3', '--', 'set', 'Port', 'ens3', 'trunks=100,200',
      ...vnets.flatMap(([dev, tag]) => ['--', 'add-port', 'br-int', dev, '--', 'set', 'Port', dev, `tag=${tag}`]),
    ];
    await hostA.ovs!.vsctl(plug([['vnet1', 100], ['vnet3', 200]]));
    await hostB.ovs!.vsctl(plug([['vnet2', 100]]));
    await ipBatch(hostA.ns, ['link set dev vnet1 up', 'link set dev vnet3 up']);
    await ipBatch(hostB.ns, ['link set dev vnet2 up']);

    const ifA = await ovsRows(hostA, 'Interface', ['ofport', 'error']);
    const ifB = await ovsRows(hostB, 'Interface', ['ofport', 'error']);
    expect(Object.keys(ifA).sort()).toEqual(['br-int', 'ens3', 'vnet1', 'vnet3']);
    expect(Object.keys(ifB).sort()).toEqual(['br-int', 'ens3', 'vnet2']);
    for (const row of [...Object.values(ifA), ...Object.values(ifB)]) {
      expect(row.error).toBeNull();
      expect(row.ofport as number).toBeGreaterThan(0);
    }
    const portsA = await ovsRows(hostA, 'Port', ['tag', 'trunks']);
    expect(portsA.ens3).toEqual({ name: 'ens3', tag: null, trunks: [100, 200] });
    expect(portsA.vnet1).toEqual({ name: 'vnet1', tag: 100, trunks: null });
    expect(portsA.vnet3).toEqual({ name: 'vnet3', tag: 200, trunks: null });
    // the netdev datapath made br-int a tap in the host namespace, not in the root namespace
    expect((await link(hostA.ns, 'br-int')).linkinfo?.info_kind).toBe('tun');
  });

  it('carries VLAN 100 across hosts through the trunk and the switch', async () => {
    expect(await ping(vm1.ns, vm2.address, { deadlineS: 5 })).toBe(true);
    expect(await ping(vm2.ns, vm1.address, { deadlineS: 5 })).toBe(true);
    // host B's OVS learned vm1's MAC on VLAN 100 via its trunk NIC
    const vm1Mac = await link(vm1.ns, 'eth0');
    const fdb = await hostB.ovs!.appctl(['fdb/show', 'br-int']);
    const ens3Ofport = (await ovsRows(hostB, 'Interface', ['ofport'])).ens3!.ofport as number;
    expect(fdb).toMatch(new RegExp(`^\\s*${ens3Ofport}\\s+100\\s+${vm1Mac.address}\\s`, 'm'));
  });

  it('isolates VLAN 200 from VLAN 100, until the port is retagged', async () => {
    expect(await ping(vm1.ns, vm3.address, { count: 2, timeoutS: 1 })).toBe(false);
    expect(await ping(vm3.ns, vm2.address, { count: 2, timeoutS: 1 })).toBe(false);
    await hostA.ovs!.vsctl(['set', 'Port', 'vnet3', 'tag=100']);
    expect((await ovsRows(hostA, 'Port', ['tag'])).vnet3!.tag).toBe(100);
    // deadline, not a fixed count: vm1's neighbour entry for vm3 is still INCOMPLETE from the failed attempt and turns
    // FAILED (dropping what queued on it) before a fresh ARP resolves it through the retagged port
    expect(await ping(vm1.ns, vm3.address, { deadlineS: 5 })).toBe(true);
    expect(await ping(vm3.ns, vm2.address, { deadlineS: 5 })).toBe(true);
  });

  it('passes 9000-byte frames once VM links, OVS ports and both NICs are at MTU 9000', async () => {
    const jumbo = { size: 8972, dontFragment: true, count: 2, timeoutS: 1 } as const;
    expect(await ping(vm1.ns, vm2.address, jumbo)).toBe(false); // eth0 is still 1500

    // VM links (both veth ends), OVS VM ports, and host A's NIC; host B's NIC stays at 1500
    for (const vm of [vm1, vm2]) await ipBatch(vm.ns, ['link set dev eth0 mtu 9000']);
    await ipBatch(hostA.ns, ['link set dev vnet1 mtu 9000', 'link set dev ens3 mtu 9000']);
    await ipBatch(hostB.ns, ['link set dev vnet2 mtu 9000']);
    await hostA.ovs!.vsctl(['set', 'Interface', 'vnet1', 'mtu_request=9000', '--', 'set', 'Interface', 'ens3', 'mtu_request=9000']);
    await hostB.ovs!.vsctl(['set', 'Interface', 'vnet2', 'mtu_request=9000']);
    expect((await link(hostB.ns, 'ens3')).mtu).toBe(1500);
    expect(await ping(vm1.ns, vm2.address, jumbo)).toBe(false); // dropped at host B's 1500-byte NIC
    expect(await ping(vm1.ns, vm2.address, { deadlineS: 5 })).toBe(true); // small frames still pass

    await ipBatch(hostB.ns, ['link set dev ens3 mtu 9000']);
    await hostB.ovs!.vsctl(['set', 'Interface', 'ens3', 'mtu_request=9000']);
    for (const [ns, dev] of [[vm1.ns, 'eth0'], [vm2.ns, 'eth0'], [hostA.ns, 'vnet1'], [hostA.ns, 'ens3'], [hostB.ns, 'vnet2'], [hostB.ns, 'ens3']] as const) {
      expect([ns, dev, (await link(ns, dev)).mtu]).toEqual([ns, dev, 9000]);
    }
    const ifB = await ovsRows(hostB, 'Interface', ['mtu', 'mtu_request']);
    expect([ifB.ens3!.mtu, ifB.ens3!.mtu_request, ifB.vnet2!.mtu, ifB.vnet2!.mtu_request]).toEqual([9000, 9000, 9000, 9000]);

    const jumboEventually = { size: 8972, dontFragment: true, deadlineS: 5 } as const;
    expect(await ping(vm1.ns, vm2.address, jumboEventually)).toBe(true);
    expect(await ping(vm2.ns, vm1.address, jumboEventually)).toBe(true);
    expect(await ping(vm1.ns, vm2.address, { ...jumbo, size: 8973 })).toBe(false); // 9001 > eth0's MTU
  });

  it('reports the kernel features of this machine (sandbox kernel: none of them)', async () => {
    expect(await kernelFeatures()).toEqual({ vlan: false, bond: false, dummy: false, ovsKernel: false, bridgeVlanFiltering: false });
  });

  it('sweep() removes leftovers of dead runs, keeps live fixtures of other processes', async () => {
    // a process that leaves a switch + host with a running OVS behind
    const leftId = uid(5);
    const { stdout } = await execFileP(process.execPath, [CLI, 'leave', leftId]);
    const left = JSON.parse(stdout) as { namespaces: string[]; stateDir: string; pids: number[] };
    expect(left.namespaces).toEqual([`nfhv-${leftId}`, `nfsw-${leftId}`]);
    expect(left.pids.map(processGone)).toEqual([false, false]);
    // a stray namespace with no owner record at all
    const stray = `nfvm-${uid(5)}-zz`;
    await execFileP('ip', ['netns', 'add', stray]);
    // a process that is alive and holds a switch (stands in for a test file running in parallel)
    const holdId = uid(5);
    const holder = spawn(process.execPath, [CLI, 'hold', holdId], { stdio: ['pipe', 'pipe', 'inherit'] });
    const held = await new Promise<{ namespaces: string[] }>((resolveP, reject) => {
      let buf = '';
      holder.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolveP(JSON.parse(buf) as { namespaces: string[] });
      });
      holder.on('error', reject);
      holder.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
    });
    try {
      expect(held.namespaces).toEqual([`nfsw-${holdId}`]);
      const before = nsList();
      expect(before).toEqual(expect.arrayContaining([...left.namespaces, stray, `nfsw-${holdId}`]));

      const swept = await sweep();
      expect(swept.namespaces.sort()).toEqual([...left.namespaces, stray].sort());
      expect(swept.dirs).toEqual([left.stateDir]);
      expect(left.pids.map(processGone)).toEqual([true, true]);
      expect(existsSync(left.stateDir)).toBe(false);
      const after = nsList();
      expect(after.filter((n) => [...left.namespaces, stray].includes(n))).toEqual([]);
      expect(after).toContain(`nfsw-${holdId}`);
      expect(after).toEqual(expect.arrayContaining([sw.ns, hostA.ns, hostB.ns, vm1.ns, vm2.ns, vm3.ns])); // ours: live
    } finally {
      const exited = new Promise((r) => holder.once('exit', r));
      holder.stdin.end();
      await exited;
    }
    expect(nsList()).not.toContain(`nfsw-${holdId}`); // the holder stopped its own switch

    // our own fixtures, stopped: nothing of this process remains, and nothing is left that sweep() would keep
    await Promise.all([hostA.stop(), hostB.stop()]);
    await sw.stop();
    await sweep();
    const inv = await inventory();
    expect(inv.filter((e) => e.owner === process.pid)).toEqual([]);
    // every nf* namespace still there belongs to another live process (a hostsim test file running in parallel);
    // run alone, as here, that list is empty
    const nf = nsList().filter((n) => /^nf(hv|sw|vm)-/.test(n));
    expect(nf).toEqual(inv.filter((e) => e.live && e.owner !== null && e.owner !== process.pid).map((e) => e.ns));
    expect(inv.filter((e) => !e.live)).toEqual([]);
  });
});

/**
 * Smoke test of the full-kernel QEMU guest: one boot, in which the host's own `ip` builds
 * dummy + VLAN + active-backup bond + bridge with MTU 9000, and the project's Node 24 runs.
 * Skips (printing why) when the guest cannot run here, unless NETFORM_QEMU_REQUIRED=1.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { guestAvailable, runInGuest, type GuestRunResult } from '../harness/qemu/guest.ts';

const PROJECT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
const NODE = `${PROJECT}/node_modules/node/bin/node`;

const avail = await guestAvailable();
if (!avail.ok) {
  if (process.env.NETFORM_QEMU_REQUIRED === '1') throw new Error(`QEMU guest required but unavailable: ${avail.reason}`);
  console.warn(`[qemu-smoke] skipping: ${avail.reason}`);
}

// Runs inside the guest under /bin/sh with cwd = the project directory.
const SCRIPT = String.raw`
set -e
read -r kver </proc/sys/kernel/osrelease
echo "KERNEL $kver"
# Nothing auto-created by the modules (max_bonds=0, numdummies=0). Builtins only: every exec costs ~0.1-0.3 s.
echo "PRE $(cd /sys/class/net && echo *)"
# One ip process for the whole topology (as the agent does it); lines run in order.
# Slaves are enslaved while down, then set up; MTUs parent-first: dummy -> VLAN -> bridge.
ip -batch - <<'BATCH'
link add d0 type dummy
link add d1 type dummy
link add d2 type dummy
link add d3 type dummy
link add bond0 type bond mode active-backup miimon 100
link set d1 master bond0
link set d2 master bond0
link add link d0 name d0.100 type vlan id 100
link add br0 type bridge
link set d0.100 master br0
link set d0 mtu 9000
link set d0.100 mtu 9000
link set br0 mtu 9000
link add link d3 name d3.200 type vlan id 200
link set d0 up
link set d0.100 up
link set br0 up
link set d1 up
link set d2 up
link set bond0 up
BATCH
# The wrong order must be refused by the kernel: a VLAN MTU above its (1500) parent.
if ip link set d3.200 mtu 9000 2>/tmp/vlan-err; then echo "VLANERR none"; else echo "VLANERR $(cat /tmp/vlan-err)"; fi
sleep 0.3                            # let miimon settle
while read -r l; do case "$l" in "Currently Active Slave: "*) echo "BONDACTIVE $l" ;; esac; done </proc/net/bonding/bond0
echo "LINKJSON $(ip -j -d link show)"
echo "NODEJSON $(${NODE} -e '
  const { execFileSync } = require("node:child_process");
  const [v] = JSON.parse(execFileSync("ip", ["-j", "-d", "link", "show", "d0.100"], { encoding: "utf8" }));
  console.log(JSON.stringify({ version: process.version, kernel: require("node:os").release(),
    vlan: v.linkinfo.info_data.id, cwd: process.cwd() }));
')"
`;

interface Link {
  ifname: string;
  mtu: number;
  master?: string;
  flags: string[];
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
  link?: string;
}

function line(output: string, tag: string): string {
  const l = output.split('\n').find((x) => x.startsWith(tag + ' '));
  if (l === undefined) throw new Error(`no "${tag}" line in guest output:\n${output}`);
  return l.slice(tag.length + 1);
}

describe.skipIf(!avail.ok)('QEMU full-kernel guest', () => {
  let run: GuestRunResult;
  let links: Map<string, Link>;

  beforeAll(async () => {
    run = await runInGuest(SCRIPT, { cwd: PROJECT, timeoutMs: 90_000 });
    console.log(`[qemu-smoke] kernel ${run.kernel}: boot + job + power-off ${run.seconds} s, exit ${run.code}`);
    if (run.code !== 0) throw new Error(`guest script failed (${run.code}):\n${run.output}`);
    const parsed = JSON.parse(line(run.output, 'LINKJSON')) as Link[];
    links = new Map(parsed.map((l) => [l.ifname, l]));
  }, 180_000);

  const link = (name: string): Link => {
    const l = links.get(name);
    if (!l) throw new Error(`no link ${name}; have ${[...links.keys()].join(' ')}`);
    return l;
  };

  it('booted the Debian kernel, not the sandbox kernel', () => {
    expect(line(run.output, 'KERNEL')).toBe(run.kernel);
    expect(run.kernel).toMatch(/^6\.1\.0-\d+-amd64$/);
    // bonding is loaded (bonding_masters exists) yet neither bond0 nor dummy0 was auto-created.
    expect(line(run.output, 'PRE').trim()).toBe('bonding_masters lo');
    expect(run.seconds).toBeLessThan(30);
  });

  it('dummy NICs', () => {
    for (const n of ['d0', 'd1', 'd2', 'd3']) expect(link(n).linkinfo?.info_kind).toBe('dummy');
  });

  it('VLAN sub-interface d0.100 on d0 under bridge br0', () => {
    const v = link('d0.100');
    expect(v.linkinfo?.info_kind).toBe('vlan');
    expect(v.linkinfo?.info_data).toMatchObject({ protocol: '802.1Q', id: 100 });
    expect(v.link).toBe('d0');
    expect(v.master).toBe('br0');
    expect(v.linkinfo?.info_slave_kind).toBe('bridge');
    expect(link('br0').linkinfo?.info_kind).toBe('bridge');
    expect(link('br0').linkinfo?.info_data).toMatchObject({ vlan_filtering: 0, stp_state: 0 });
  });

  it('MTU 9000 along d0 -> d0.100 -> br0; VLAN above its parent refused', () => {
    expect([link('d0').mtu, link('d0.100').mtu, link('br0').mtu]).toEqual([9000, 9000, 9000]);
    expect([link('d3').mtu, link('d3.200').mtu]).toEqual([1500, 1500]);
    expect(line(run.output, 'VLANERR')).toContain('Numerical result out of range');
  });

  it('active-backup bond of two dummies', () => {
    const b = link('bond0');
    expect(b.linkinfo?.info_kind).toBe('bond');
    expect(b.linkinfo?.info_data).toMatchObject({ mode: 'active-backup', miimon: 100 });
    for (const s of ['d1', 'd2']) {
      expect(link(s).master).toBe('bond0');
      expect(link(s).linkinfo?.info_slave_kind).toBe('bond');
    }
    const states = ['d1', 'd2'].map((s) => link(s).linkinfo?.info_slave_data?.state).sort();
    expect(states).toEqual(['ACTIVE', 'BACKUP']);
    expect(line(run.output, 'BONDACTIVE')).toMatch(/^Currently Active Slave: d[12]$/);
  });

  it("the project's Node 24 runs inside the guest", () => {
    const n = JSON.parse(line(run.output, 'NODEJSON')) as { version: string; kernel: string; vlan: number; cwd: string };
    expect(n.version).toMatch(/^v24\./);
    expect(n.kernel).toBe(run.kernel);
    expect(n.vlan).toBe(100);
    expect(n.cwd).toBe(PROJECT);
  });
});

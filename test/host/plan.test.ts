// `netform plan` for hosts, on real hosts (network namespaces with a real OVS, the hostsim): two
// hypervisors carry a network with a VM vNIC each; their agents converge and report. Planned against
// those reports, nothing is left to do; an MTU change plans the exact device changes on each host and
// a re-plug for each VM; a host without a report is unknown (exit 1 only with
// --require-host-reports); the JSON plan validates against schemas/plan.v1.json.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vnicDeviceName } from '../../src/drivers/host-driver.ts';
import { planDigest } from '../../src/controllers/plan/document.ts';
import type { PlanItem } from '../../src/controllers/runtime/plan.ts';
import { ROOT, runCli } from '../support/cli.ts';
import { createHost, createSwitch, defaultStateRoot, ensureHostTools, sweep, uid, type FakeHost, type FakeSwitch } from '../harness/hostsim/index.ts';

const id = uid(4);
let sw: FakeSwitch;
let A: FakeHost;
let B: FakeHost;
const base = mkdtempSync(join(defaultStateRoot(), 'host-plan-'));
const dir = join(base, 'manifests');
const state = join(base, 'state');

interface Edit {
  mtu?: number;
  vlan?: number;
  /** The network's outbound limit (the vNICs' default), kbit/s. */
  qosKbps?: number;
  /** Host A no longer carries the network (the cluster does not require it). */
  aDropsNetwork?: boolean;
  /** The Network is deleted while its vNICs remain. */
  networkDeleted?: boolean;
  extraHost?: boolean;
  /** Both Hosts hold their changes for approval. */
  hostApproval?: boolean;
}

/** Writes the manifests: the Network alone in net.yaml (a file with an invalid document is held,
 *  and nothing it declared is deleted), everything else in all.yaml. */
function write(e: Edit = {}): void {
  const [net, ...rest] = manifests(e);
  writeFileSync(join(dir, 'net.yaml'), net ?? '# the network was deleted\n');
  writeFileSync(join(dir, 'all.yaml'), rest.join('\n---\n'));
}

function manifests(e: Edit = {}): (string | undefined)[] {
  const qos = e.qosKbps ? `, qos: {maxRateKbps: ${e.qosKbps}}` : '';
  const docs = [
    ...(e.networkDeleted ? [undefined] : [`apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: apps}\nspec: {physicalNetwork: physnet1, vlan: {id: ${e.vlan ?? 310}}, mtu: ${e.mtu ?? 1500}, shared: true${qos}}`]),
    `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {defaultFabric: ovs, networks: [{name: apps, required: ${e.aDropsNetwork ? 'false' : 'true'}}]}`,
    ...[A, B].map(
      (h) =>
        `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${h.id}}\nspec: {cluster: c, ${e.hostApproval ? 'approval: Manual, ' : ''}nics: [{name: ens3}], networks: [${h === A && e.aDropsNetwork ? '' : '{name: apps, interface: ens3}'}]}`,
    ),
    ...[
      ['vm1', A, '56:6f:00:00:31:01'],
      ['vm2', B, '56:6f:00:00:31:02'],
    ].map(
      ([vm, h, mac]) =>
        `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: ${vm as string}-nic0, namespace: shop}\nspec: {vm: {name: ${vm as string}}, interfaceName: nic0, mac: "${mac as string}", network: apps, host: ${(h as FakeHost).id}}`,
    ),
  ];
  if (e.extraHost) docs.push('apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: never-reported}\nspec: {cluster: c, nics: [{name: ens3}], networks: [{name: apps, interface: ens3}]}');
  return docs;
}

const agent = (h: FakeHost) => runCli(['agent', '--host', h.id, '--dir', dir, '--state', state, '--netns', h.ns, '--ovs-db', h.ovs!.db, '--ovs-datapath', 'netdev', '--once'], { real: true });
const plan = (...extra: string[]) => runCli(['plan', '--dir', dir, '--state', state, ...extra], { real: true });

interface PlanDoc {
  digest: string;
  exitCode: number;
  summary: { update: number; vms: { replug: number }; impact: string };
  hosts: { name: string; reported: boolean; asOf?: string }[];
  items: { object: string; target: string; resource: string; action: string; externalId?: string; details?: string[]; asOf?: string; impact?: { kind: string; vm?: string; host?: string }[] }[];
}

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
const validatePlan = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas/plan.v1.json'), 'utf8')) as object);
function checked(stdout: string): PlanDoc {
  const doc = JSON.parse(stdout) as unknown;
  const ok = validatePlan(doc);
  expect(validatePlan.errors ?? [], 'the plan validates against schemas/plan.v1.json').toEqual([]);
  expect(ok).toBe(true);
  return doc as PlanDoc;
}

beforeAll(async () => {
  await ensureHostTools();
  await sweep();
  sw = await createSwitch(id);
  A = await createHost({ id: `pa${id}`, switch: sw, ovs: true, nics: ['ens3'] });
  B = await createHost({ id: `pb${id}`, switch: sw, ovs: true, nics: ['ens3'] });
  execFileSync('mkdir', ['-p', dir]);
  write();
}, 120_000);

afterAll(async () => {
  await A?.stop();
  await B?.stop();
  await sw?.stop();
});

describe('netform plan for hosts, against their agents\' reports', () => {
  it('before any report both hosts are unknown: listed, exit 1 only with --require-host-reports', async () => {
    const apply = await runCli(['apply', '--dir', dir, '--state', state, '--timeout', '20'], { real: true });
    // The Hosts wait for their agents, so apply says not everything is Ready; the networks are recorded.
    expect(apply.code).toBe(1);
    const p = await plan();
    expect(p.stdout).toContain(`? Host/${A.id}  host:${A.id} host  (unreported) — no host agent has reported`);
    expect(p.stdout).toContain(`host ${B.id}: unknown (no agent report to plan against)`);
    expect(p.code).toBe(0);
    const strict = await plan('--require-host-reports');
    expect(strict.code).toBe(1);
    const doc = checked((await plan('-o', 'json')).stdout);
    expect(doc.hosts).toEqual([
      { name: A.id, reported: false },
      { name: B.id, reported: false },
    ]);
  }, 120_000);

  it('after both agents converged and reported, the plan is empty: exit 0, also with --require-host-reports', async () => {
    for (const h of [A, B]) {
      const r = await agent(h);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const p = await plan('--require-host-reports');
    expect(p.stdout).toContain('plan: 0 to create, 0 to update, 0 to replace, 0 to delete');
    expect(p.stdout).toContain('impact: no VM is affected');
    expect(p.code).toBe(0);
    const doc = checked((await plan('-o', 'json', '--require-host-reports')).stdout);
    expect(doc.exitCode).toBe(0);
    expect(doc.items).toEqual([]);
    for (const h of doc.hosts) expect(h).toMatchObject({ reported: true, asOf: expect.stringMatching(/^\d{4}-/) as unknown });
  }, 120_000);

  it('an MTU change plans the device changes on each host and a re-plug for each VM; nothing on the hosts changes', async () => {
    const before = [await A.ovs!.vsctl(['list-ports', 'br-int']), await B.ovs!.vsctl(['list-ports', 'br-int'])];
    write({ mtu: 9000 });
    const p = await plan();
    expect(p.code).toBe(2);
    const doc = checked((await plan('-o', 'json')).stdout);
    expect(doc.exitCode).toBe(2);
    for (const h of [A, B]) {
      const onHost = doc.items.filter((i) => i.target === `host:${h.id}`);
      const report = JSON.parse(readFileSync(join(state, 'hosts', `${h.id}.json`), 'utf8')) as { lastObservedTime: string };
      // Every host item is planned against that host's last report, and says so.
      expect(onHost.length).toBeGreaterThan(0);
      for (const i of onHost) expect(i.asOf).toBe(report.lastObservedTime);
      // The NIC and the VM's tap get the new MTU, nothing else changes kind.
      expect(onHost.every((i) => i.action === 'update')).toBe(true);
      const nic = onHost.find((i) => i.externalId === 'ens3' && i.resource === 'nic');
      expect(nic?.details).toEqual(['mtu 1500→9000']);
      const tap = onHost.find((i) => i.externalId === vnicDeviceName(`shop/${h === A ? 'vm1' : 'vm2'}-nic0`) && i.resource === 'tap');
      expect(tap?.object).toBe(`VnicAttachment/shop/${h === A ? 'vm1' : 'vm2'}-nic0`);
      expect(tap?.details).toEqual(['mtu 1500→9000']);
      // The VM on this host needs a re-plug for the new MTU to reach it.
      const impacts = onHost.flatMap((i) => i.impact ?? []);
      expect(impacts.filter((x) => x.kind === 'replug').map((x) => x.vm)).toContain(`shop/${h === A ? 'vm1' : 'vm2'}`);
      expect(impacts.every((x) => x.host === h.id)).toBe(true);
    }
    expect(doc.summary.vms.replug).toBe(2);
    expect(doc.summary.impact).toBe('2 VMs need a re-plug');
    expect(p.stdout).toContain(`impact: VM shop/vm1 (vNIC shop/vm1-nic0 on ${A.id}) needs a re-plug`);
    expect(p.stdout).toContain('impact: 2 VMs need a re-plug');
    expect(p.stdout).toMatch(new RegExp(`~ Network/apps  host:${A.id} nic ens3  \\(update\\) \\[as of the report taken at [^\\]]+\\]\\n    mtu 1500→9000`));
    // A plan reads reports only: the hosts are as they were.
    expect([await A.ovs!.vsctl(['list-ports', 'br-int']), await B.ovs!.vsctl(['list-ports', 'br-int'])]).toEqual(before);
    expect(execFileSync('ip', ['-n', A.ns, '-j', 'link', 'show', 'ens3'], { encoding: 'utf8' })).toContain('"mtu":1500');
  }, 120_000);

  it('a host added without a report is unknown; the others are still planned', async () => {
    write({ mtu: 9000, extraHost: true });
    const doc = checked((await plan('-o', 'json')).stdout);
    expect(doc.hosts.find((h) => h.name === 'never-reported')).toEqual({ name: 'never-reported', reported: false });
    expect(doc.items.some((i) => i.target === `host:${A.id}` && i.action === 'update')).toBe(true);
    expect(doc.exitCode).toBe(2);
    expect((await plan('--require-host-reports')).code).toBe(1);
  }, 120_000);

  // Impact tables: each edit, planned against the same two reports.
  const vm1 = (kind: string) => ({ kind, vm: 'shop/vm1', vnic: 'shop/vm1-nic0' });
  const vm2 = (kind: string) => ({ kind, vm: 'shop/vm2', vnic: 'shop/vm2-nic0' });
  it.each([
    { name: 'VLAN renumbered: connectivity loss on both hosts', edit: { vlan: 311 }, exit: 2, summary: '2 VMs lose connectivity during the change', impacts: [vm1('connectivity-loss'), vm2('connectivity-loss')], detail: 'tag 310→311' },
    { name: 'MTU raised: a re-plug for each VM', edit: { mtu: 9000 }, exit: 2, summary: '2 VMs need a re-plug', impacts: [vm1('replug'), vm2('replug')], detail: 'mtu 1500→9000' },
    { name: 'QoS default added: no VM is affected', edit: { qosKbps: 10_000 }, exit: 2, summary: 'no VM is affected', impacts: [], detail: undefined },
    { name: 'host A loses the network vm1 uses: vm1 loses connectivity', edit: { aDropsNetwork: true }, exit: 2, summary: '1 VM loses connectivity during the change', impacts: [vm1('connectivity-loss')], detail: 'not wanted' },
    { name: 'network deleted under its vNICs: the deletion is blocked, held by both VMs', edit: { networkDeleted: true }, exit: 1, summary: '2 VMs hold a deletion back', impacts: [vm1('blocking'), vm2('blocking')], detail: undefined },
  ])('impact table — $name', async ({ edit, exit, summary, impacts, detail }) => {
    write(edit);
    const r = await plan('-o', 'json');
    const doc = checked(r.stdout);
    expect(doc.exitCode).toBe(exit);
    expect(r.code).toBe(exit);
    expect(doc.summary.impact).toBe(summary);
    const got = doc.items.flatMap((i) => (i.impact ?? []).map((x) => ({ kind: x.kind, vm: x.vm, vnic: (x as { vnic?: string }).vnic })));
    const distinct = [...new Map(got.map((g) => [JSON.stringify(g), g])).values()].sort((a, b) => (a.vm! < b.vm! ? -1 : 1));
    expect(distinct).toEqual(impacts);
    if (detail) expect(doc.items.some((i) => i.details?.includes(detail))).toBe(true);
    if (edit.qosKbps) expect(doc.items.some((i) => i.resource === 'openflow-meter' && i.action === 'create')).toBe(true);
    if (edit.networkDeleted) expect(doc.items).toContainEqual(expect.objectContaining({ object: 'Network/apps', action: 'blocked' }));
  }, 60_000);

  // The approval gate on the hosts: both Hosts have approval Manual.
  const mtuOf = (h: FakeHost, dev: string) => (JSON.parse(execFileSync('ip', ['-n', h.ns, '-j', 'link', 'show', dev], { encoding: 'utf8' })) as { mtu: number }[])[0]!.mtu;
  const reportOf = (h: FakeHost) => JSON.parse(readFileSync(join(state, 'hosts', `${h.id}.json`), 'utf8')) as { pendingPlan?: { digest: string; impact?: string; changes?: string[] }; lastApply?: { result: string } };
  const approve = (h: FakeHost, digest: string) => runCli(['approve', `Host/${h.id}`, '--plan', digest, '--state', state], { real: true });

  it('approval Manual: the agents hold the MTU change (plan in their reports, the same as netform plan shows); nothing changes on the hosts', async () => {
    write({ mtu: 9000, hostApproval: true });
    for (const h of [A, B]) {
      const r = await agent(h);
      expect(r.stderr).toBe('');
      const held = reportOf(h).pendingPlan!;
      expect(held.digest).toMatch(/^sha256:/);
      expect(held.impact).toBe('1 VM needs a re-plug');
      expect(held.changes!.join('\n')).toContain('mtu 1500→9000');
      expect(mtuOf(h, 'ens3')).toBe(1500);
      expect(mtuOf(h, vnicDeviceName(`shop/${h === A ? 'vm1' : 'vm2'}-nic0`))).toBe(1500);
    }
    // netform plan, from the reports, shows exactly the held changes: its items of each host have the held digest.
    const doc = checked((await plan('-o', 'json')).stdout);
    for (const h of [A, B]) expect(planDigest(doc.items.filter((i) => i.target === `host:${h.id}`) as PlanItem[])).toBe(reportOf(h).pendingPlan!.digest);
    expect(doc.summary.impact).toBe('2 VMs need a re-plug');
  }, 120_000);

  it('approved for its digest, a host applies the change and its plan becomes empty; the other stays held', async () => {
    const dA = reportOf(A).pendingPlan!.digest;
    expect((await approve(A, dA)).code).toBe(0);
    expect((await agent(A)).code).toBe(0);
    expect(reportOf(A).pendingPlan).toBeUndefined();
    expect(reportOf(A).lastApply?.result).toBe('applied');
    expect(mtuOf(A, 'ens3')).toBe(9000);
    expect(mtuOf(A, vnicDeviceName('shop/vm1-nic0'))).toBe(9000);
    expect(mtuOf(B, 'ens3')).toBe(1500);
    const doc = checked((await plan('-o', 'json')).stdout);
    expect(doc.items.filter((i) => i.target === `host:${A.id}`)).toEqual([]);
    expect(doc.items.some((i) => i.target === `host:${B.id}`)).toBe(true);
  }, 120_000);

  it('an edit after approval invalidates it: the new plan is held until approved in turn', async () => {
    const dB = reportOf(B).pendingPlan!.digest;
    expect((await approve(B, dB)).code).toBe(0);
    write({ mtu: 8000, hostApproval: true });
    await agent(B);
    const held = reportOf(B).pendingPlan!;
    expect(held.digest).not.toBe(dB);
    expect(held.changes!.join('\n')).toContain('mtu 1500→8000');
    expect(mtuOf(B, 'ens3')).toBe(1500);
    // The old digest no longer approves anything; the new one does.
    expect((await approve(B, dB)).code).toBe(1);
    expect((await approve(B, held.digest)).code).toBe(0);
    expect((await agent(B)).code).toBe(0);
    expect(mtuOf(B, 'ens3')).toBe(8000);
    // A is held again (9000 → 8000); approved, the whole plan is empty.
    await agent(A);
    expect(mtuOf(A, 'ens3')).toBe(9000);
    expect((await approve(A, reportOf(A).pendingPlan!.digest)).code).toBe(0);
    expect((await agent(A)).code).toBe(0);
    expect(mtuOf(A, 'ens3')).toBe(8000);
    const p = await plan('--require-host-reports');
    expect(p.stdout).toContain('plan: 0 to create, 0 to update, 0 to replace, 0 to delete');
    expect(p.code).toBe(0);
  }, 180_000);
});

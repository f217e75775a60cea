// `kubectl netform` (bin/kubectl-netform.mjs, a real child process) and `netform plan --kubeconfig` on a
// real kube-apiserver: plan (text and JSON, exit codes, the schema), status, and approve refusing a
// missing or changed plan and setting the annotation for exactly the digest the status holds. kubectl
// itself finds the plugin on the PATH.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBECTL, startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import { runCli, tempDir, type CliResult } from '../support/cli.ts';
import { artifactPath } from '../support/secrets.ts';
import { getObj, installCrds, ok, ROOT, startController, stopProcess, type ControllerProcess } from './support.ts';

const PLUGIN = join(ROOT, 'bin/kubectl-netform.mjs');
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
const validatePlan = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas/plan.v1.json'), 'utf8')) as object);

let kube: KubeCluster;
let controller: ControllerProcess | undefined;

/** A child process with its output (also kept in the run's artifacts directory for the secrets scan). */
function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, KUBECONFIG: '', NETFORM_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      writeFileSync(`${artifactPath('cli', `kubectl-netform-${args[1] ?? ''}`)}.out`, `${cmd} ${args.join(' ')}\n${stdout}\n${stderr}`);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `kubectl netform ARGS --kubeconfig K`, through the real bin. */
const plugin = (...args: string[]) => exec(process.execPath, [PLUGIN, ...args, '--kubeconfig', kube.kubeconfig]);

function planJson(r: CliResult) {
  const doc = JSON.parse(r.stdout) as { exitCode: number; digest: string; hosts: unknown[]; items: { object: string; target: string; resource: string; action: string; message?: string }[]; pendingApprovals?: unknown[] };
  expect(validatePlan(doc), JSON.stringify(validatePlan.errors)).toBe(true);
  expect(doc.exitCode, 'the document says the exit code the process exits with').toBe(r.code);
  return doc;
}

const yaml = (docs: string[]) => docs.join('\n---\n');
const POOL = 'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: pool}\nspec: {ranges: [{physicalNetwork: physnet1, min: 300, max: 309}]}';
const WEB = 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: web, annotations: {team: frontend}}\nspec: {physicalNetwork: physnet1, vlan: {id: 101}}';
const APP = 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: app}\nspec: {physicalNetwork: physnet1, vlan: {poolRef: {name: pool}}}';
const CACHE = 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: cache}\nspec: {physicalNetwork: physnet1, vlan: {poolRef: {name: pool}}}';
const cluster = (...nets: string[]) => `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: prod}\nspec: {networks: [${nets.map((n) => `{name: ${n}}`).join(', ')}]}`;
const HOST = 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv1}\nspec: {cluster: prod, nics: [{name: eno1}]}';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const PENDING = { digest: D1, computedAt: '2026-12-05T08:00:00Z', summary: '1 to update', impact: 'no VM is affected', changes: ['~ Network/web  neutron:os network n-1  (update)', '    mtu: 1500 → 9000'] };

beforeAll(async () => {
  kube = await startKube();
  await installCrds(kube);
  await ok(kube, ['create', 'namespace', 'netform-system']);
  // Provider-less: a fixed-VLAN network, one drawn from a pool, a cluster and a host (no agent).
  await ok(kube, ['apply', '-f', '-'], yaml([POOL, WEB, APP, cluster('web', 'app'), HOST]));
}, 30 * 60_000);

afterAll(async () => {
  await stopProcess(controller);
  if (controller && kube) writeFileSync(join(kube.dir, 'controller.log'), controller.output().stderr);
  await kube?.stop();
}, 120_000);

describe('kubectl netform plan and status on a real kube-apiserver', () => {
  it('before any controller ran: the pool network still needs its VLAN (exit 2); the host is unreported, and says why', async () => {
    const r = await plugin('plan');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContain('+ Network/app  netform vlan  (allocate) — VLAN 300 from VlanPool pool');
    expect(lines).toContain("? Host/hv1  host:hv1 host  (unreported) — no host agent has reported into the Host's status: its changes are unknown (run: netform agent --cluster --host hv1)");
    expect(lines).toContain('plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 1 other');
    expect(lines).toContain('impact: no VM is affected');
    expect(lines).toContain('host hv1: unknown (no agent report with an observation of the host in its status)');
    const json = planJson(await plugin('plan', '-o', 'json'));
    expect(lines.at(-1)).toBe(`digest: ${json.digest}`);
    expect(json.hosts).toEqual([{ name: 'hv1', reported: false }]);
    expect(json.items.map((i) => `${i.object} ${i.action}`)).toEqual(['Host/hv1 unreported', 'Network/app allocate']);
    expect(json.pendingApprovals).toBeUndefined();
  });

  it('once the controller has converged the objects, their statuses are the records: no changes (exit 0); --require-host-reports fails on the unreported host', async () => {
    controller = startController(kube, 'plugin-test', ['--resync', '600'], {}, kube.kubeconfig);
    await controller.url();
    await ok(kube, ['wait', '--for=condition=Ready', '--timeout=60s', 'vlanpool/pool', 'network/web', 'network/app']);
    expect((await getObj(kube, 'network', 'app'))?.status?.vlan).toBe(300);
    // The controller stops here, so nothing it writes races the statuses this file writes below.
    await stopProcess(controller);

    const r = await plugin('plan');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 1 other');
    expect(r.stdout).not.toContain('digest:');
    const json = planJson(await plugin('plan', '-o', 'json'));
    expect(json.items.map((i) => `${i.object} ${i.action}`)).toEqual(['Host/hv1 unreported']);

    const strict = await plugin('plan', '--require-host-reports', '-o', 'json');
    expect(strict.code).toBe(1);
    expect(planJson(strict).exitCode).toBe(1);
  });

  it('status: the same table and JSON as netform status, from the objects (with --context, and from $KUBECONFIG)', async () => {
    const r = await plugin('status', '--context', 'netform-test-token');
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^OBJECT\s+READY\s+SYNCED\s+DETAIL\s+AGE\s+MESSAGE$/);
    expect(rows.find((l) => l.startsWith('Network/app '))).toMatch(/^Network\/app\s+True\s+True\s+VLAN 300\s+\d+[smh]$/);
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['OBJECT', 'Cluster/prod', 'Host/hv1', 'Network/app', 'Network/web', 'VlanPool/pool']);

    const fromEnv = await exec(process.execPath, [PLUGIN, 'status', '-o', 'json'], { KUBECONFIG: kube.kubeconfig });
    expect(fromEnv.code).toBe(0);
    const records = JSON.parse(fromEnv.stdout) as { key: string; kind: string; name: string; generation: number; status: { vlan?: number; conditions?: { type: string; status: string }[] } }[];
    expect(records.map((x) => x.key)).toEqual(['Cluster/prod', 'Host/hv1', 'Network/app', 'Network/web', 'VlanPool/pool']);
    const app = records.find((x) => x.key === 'Network/app')!;
    expect(Object.keys(app)).toEqual(['key', 'kind', 'name', 'generation', 'status']);
    expect(app).toMatchObject({ kind: 'Network', name: 'app', generation: 1, status: { vlan: 300 } });
    expect(app.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });
});

describe('kubectl netform approve', () => {
  /** The object's annotations but kubectl apply's own, and its generation. */
  const annotation = async (name: string) => {
    const m = (await getObj(kube, 'network', name))?.metadata as { annotations?: Record<string, string>; generation?: number } | undefined;
    const { 'kubectl.kubernetes.io/last-applied-configuration': _applied, ...annotations } = m?.annotations ?? {};
    return { annotations, generation: m?.generation };
  };

  it('refuses an object with no pending plan, an unknown object and a malformed digest (exit 1), and annotates nothing', async () => {
    const none = await plugin('approve', 'network/web', '--plan', D1);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('approve: Network/web has no plan waiting for approval (its status has no pendingPlan): nothing approved');
    const missing = await plugin('approve', 'network/nope', '--plan', D1);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('approve: there is no Network/nope in the cluster');
    const bad = await plugin('approve', 'network/web', '--plan', 'abc');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--plan takes a plan digest');
    expect((await annotation('web'))?.annotations).toEqual({ team: 'frontend' });
  });

  it('with a plan pending in the status: plan lists it; a stale digest is refused naming the current one; the right one sets the annotation exactly', async () => {
    // What the controller writes for a Network with approval Manual, written here through /status.
    await ok(kube, ['patch', 'network', 'web', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { pendingPlan: PENDING } })]);
    expect((await getObj(kube, 'network', 'web'))?.status?.pendingPlan).toEqual(PENDING);

    const text = await plugin('plan');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      [
        `pending approval: Network/web  ${D1}  (computed at 2026-12-05T08:00:00Z)`,
        '    1 to update; impact: no VM is affected',
        '    ~ Network/web  neutron:os network n-1  (update)',
        '        mtu: 1500 → 9000',
        `    approve: kubectl netform approve Network/web --plan ${D1}`,
      ].join('\n'),
    );
    const json = planJson(await plugin('plan', '-o', 'json'));
    expect(json.pendingApprovals).toEqual([{ object: 'Network/web', ...PENDING }]);

    const stale = await plugin('approve', 'network/web', '--plan', D2);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`approve: Network/web: the plan changed since: now ${D1}; nothing approved`);
    expect((await annotation('web'))?.annotations).toEqual({ team: 'frontend' });

    const before = await annotation('web');
    const r = await plugin('approve', 'nnet/web', '--plan', D1);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`approved: Network/web for plan ${D1}`);
    expect(r.stdout).toContain('1 to update; impact: no VM is affected');
    const after = await annotation('web');
    expect(after?.annotations).toEqual({ team: 'frontend', 'netform.io/approved-plan': D1 });
    expect(after?.generation, 'an annotation is not a spec change').toBe(before?.generation);
    expect((await getObj(kube, 'network', 'web'))?.status?.pendingPlan, 'the status is left to the controller').toEqual(PENDING);
  });

  it('kubectl finds the plugin on the PATH: kubectl netform status and approve', async () => {
    const bin = tempDir('kubectl-plugin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(PLUGIN, join(bin, 'kubectl-netform'));
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const listed = await exec(KUBECTL, ['plugin', 'list'], env);
    expect(listed.stdout).toContain(join(bin, 'kubectl-netform'));
    const status = await exec(KUBECTL, ['netform', 'status', '--kubeconfig', kube.kubeconfig], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^Network\/web\s+True\s+True/m);
    const again = await exec(KUBECTL, ['netform', 'approve', 'network/web', '--plan', D1, '--kubeconfig', kube.kubeconfig], env);
    expect(again.code).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe(`already approved: Network/web for plan ${D1}`);
    const refused = await exec(KUBECTL, ['netform', 'approve', 'network/app', '--plan', D1, '--kubeconfig', kube.kubeconfig], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Network/app has no plan waiting for approval');
  });
});

describe('netform plan --dir against a cluster (a GitOps PR check)', () => {
  it("plans the directory's manifests against the cluster's records: a new pool network and one removed", async () => {
    const dir = tempDir('gitops');
    writeFileSync(join(dir, 'net.yaml'), yaml([POOL, WEB, CACHE, cluster('web', 'cache'), HOST]));
    const r = await runCli(['plan', '--dir', dir, '--kubeconfig', kube.kubeconfig], { real: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContain('+ Network/cache  netform vlan  (allocate) — VLAN 301 from VlanPool pool');
    expect(lines).toContain('− Network/app  netform vlan  (release) — VLAN 300 back to VlanPool pool');
    expect(lines).toContain('host hv1: unknown (no agent report with an observation of the host in its status)');

    const j = await runCli(['plan', '--dir', dir, '--kubeconfig', kube.kubeconfig, '--context', 'netform-test-token', '-o', 'json'], { real: true });
    const doc = planJson(j);
    expect(doc.exitCode).toBe(2);
    expect(doc.items.filter((i) => i.object === 'Network/cache').map((i) => i.action)).toEqual(['allocate']);
    expect(doc.items.filter((i) => i.object === 'Network/app').map((i) => i.action)).toEqual(['release']);
    // The cluster's own records carry the pending plan too.
    expect(doc.pendingApprovals).toEqual([{ object: 'Network/web', ...PENDING }]);
    // Nothing was written: the cluster still holds app and no cache.
    expect(await getObj(kube, 'network', 'app')).toBeDefined();
    expect(await getObj(kube, 'network', 'cache')).toBeUndefined();
  });

  it('the directory as the cluster holds it plans no changes (exit 0); invalid manifests exit 1', async () => {
    const dir = tempDir('gitops-same');
    writeFileSync(join(dir, 'net.yaml'), yaml([POOL, WEB, APP, cluster('web', 'app'), HOST]));
    const same = await runCli(['plan', '--dir', dir, '--kubeconfig', kube.kubeconfig, '-o', 'json'], { real: true });
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    expect(planJson(same).items.map((i) => `${i.object} ${i.action}`)).toEqual(['Host/hv1 unreported']);

    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: broken}\nspec: {physicalNetwork: physnet1, vlan: {id: 5000}}');
    const bad = await runCli(['plan', '--dir', dir, '--kubeconfig', kube.kubeconfig], { real: true });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bad\.yaml:\d+.*spec\.vlan\.id/);
  });

  it('--against is --state; a state directory and a cluster together are refused', async () => {
    const dir = tempDir('against');
    writeFileSync(join(dir, 'net.yaml'), yaml([POOL, APP]));
    const state = tempDir('against-state');
    const a = planJsonOf(await runCli(['plan', '--dir', dir, '--against', state, '-o', 'json'], { real: true }));
    const s = planJsonOf(await runCli(['plan', '--dir', dir, '--state', state, '-o', 'json'], { real: true }));
    expect(a.digest).toBe(s.digest);
    expect(a.items).toEqual(s.items);
    const both = await runCli(['plan', '--dir', dir, '--against', state, '--kubeconfig', kube.kubeconfig], { real: true });
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('plan against a state directory (--state, --against) or a cluster (--kubeconfig, --context), not both');
  });
});

function planJsonOf(r: CliResult) {
  expect(r.code).toBe(2);
  return planJson(r);
}

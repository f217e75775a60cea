// `netform agent --cluster` on a fake hypervisor (real kernel in a network namespace, real Open
// vSwitch) against a real kube-apiserver: it reads its Host, the Cluster and Networks from the API,
// converges the host with the VLAN the controller allocated, and writes the report into the Host's
// status, from which the controller makes the Host Ready. Both run as the ServiceAccounts of
// manifests/, with exactly their RBAC. A spec change reaches it through its watch.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDigest } from '../../src/controllers/plan/document.ts';
import type { PlanItem } from '../../src/controllers/runtime/plan.ts';
import { ROOT, startCli, type Spawned } from '../support/cli.ts';

const execFileP = promisify(execFile);
import { createHost, createSwitch, ensureHostTools, sweep, uid, type FakeHost, type FakeSwitch } from '../harness/hostsim/index.ts';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import { condition, getObj, installManifests, ok, serviceAccountKubeconfig, startController, stopProcess, waitFor, type ControllerProcess } from './support.ts';

let kube: KubeCluster;
let sw: FakeSwitch;
let h: FakeHost;
let controller: ControllerProcess;
let agent: Spawned | undefined;
const id = uid(4);
let agentKubeconfig: string;

const agentArgs = () => ['agent', '--cluster', '--kubeconfig', agentKubeconfig, '--host', h.id, '--netns', h.ns, '--ovs-db', h.ovs!.db, '--ovs-datapath', 'netdev'];

beforeAll(async () => {
  await ensureHostTools();
  await sweep();
  kube = await startKube();
  await installManifests(kube);
  sw = await createSwitch(id);
  h = await createHost({ id: `k${id}`, switch: sw, ovs: true });
  // The agent's token names its node, as a pod's on that node would (the manifests' policy lets it
  // write only that Host's status).
  agentKubeconfig = await serviceAccountKubeconfig(kube, 'netform-agent', 'netform-system', { node: h.id });
  controller = startController(kube, 'agent-test', [], {}, await serviceAccountKubeconfig(kube, 'netform-controller'));
  await controller.url();
}, 30 * 60_000);

afterAll(async () => {
  await stopProcess(agent);
  // A router namespace of this host left by a failed test (named netns outlive the host's namespace).
  for (const ns of (JSON.parse(execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }) || '[]') as { name: string }[]).map((n) => n.name).filter((n) => n.startsWith('nfr-'))) {
    try {
      const lo = (JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show', 'lo'], { encoding: 'utf8' })) as { ifalias?: string }[])[0];
      if (h && lo?.ifalias?.includes(`/${h.id}/`)) execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      /* gone meanwhile */
    }
  }
  await stopProcess(controller);
  await h?.stop();
  await sw?.stop();
  await kube?.stop();
}, 120_000);

describe('netform agent --cluster', () => {
  it('converges the host from the API and reports into the Host status; the controller makes it Ready', async () => {
    await ok(
      kube,
      ['apply', '-f', '-'],
      [
        'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: p}\nspec: {ranges: [{physicalNetwork: physnet1, min: 300, max: 309}]}',
        'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: apps}\nspec: {physicalNetwork: physnet1, vlan: {poolRef: {name: p}}}',
        'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {defaultFabric: ovs, networks: [{name: apps}]}',
        `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${h.id}}\nspec: {cluster: c, nics: [{name: ens3}], networks: [{name: apps, interface: ens3}]}`,
      ].join('\n---\n'),
    );
    await ok(kube, ['wait', '--for=condition=Ready', '--timeout=60s', 'network/apps']);
    const before = await getObj(kube, 'host', h.id);
    expect(condition(before, 'Ready')?.message).toMatch(/no host agent has reported yet/);

    const once = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = startCli([...agentArgs(), '--once'], { real: true });
      void p.result.then(resolve);
    });
    expect(once.stderr).toBe('');
    expect(once.code).toBe(0);
    expect((await h.ovs!.vsctl(['get', 'Port', 'ens3', 'trunks'])).trim()).toBe('[300]');

    const host = (await getObj(kube, 'host', h.id))!;
    const agentStatus = host.status?.agent as { networks: unknown[]; lastApply?: { result: string } };
    expect(agentStatus.networks).toEqual([{ name: 'apps', inSync: true }]);
    expect(agentStatus.lastApply?.result).toBe('applied');
    expect((host.status?.interfaces as { name: string }[]).map((i) => i.name)).toEqual(expect.arrayContaining(['ens3', 'br-int']));
    await ok(kube, ['wait', '--for=condition=Ready', '--timeout=60s', `host/${h.id}`]);
    const ready = (await getObj(kube, 'host', h.id))!;
    expect(ready.status?.networks).toEqual([{ name: 'apps', inSync: true }]);
    expect(ready.status?.networkCount).toBe(1);
    expect(condition(ready, 'Ready')?.observedGeneration).toBe(ready.metadata.generation);
  });

  it('a running agent picks up a new network through its watch', async () => {
    agent = startCli([...agentArgs(), '--interval', '300'], { real: true });
    await ok(
      kube,
      ['apply', '-f', '-'],
      [
        'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: db}\nspec: {physicalNetwork: physnet1, vlan: {id: 2201}}',
        'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {defaultFabric: ovs, networks: [{name: apps}, {name: db}]}',
        `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${h.id}}\nspec: {cluster: c, nics: [{name: ens3}], networks: [{name: apps, interface: ens3}, {name: db, interface: ens3}]}`,
      ].join('\n---\n'),
    );
    // --interval 300: only the watch can bring the change within the wait.
    await waitFor('OVS to trunk both VLANs', async () => (await h.ovs!.vsctl(['get', 'Port', 'ens3', 'trunks'])).trim() === '[300, 2201]', 60_000);
    await waitFor('the Host to be Ready with two networks', async () => {
      const o = await getObj(kube, 'host', h.id);
      return condition(o, 'Ready')?.status === 'True' && o?.status?.networkCount === 2 && condition(o, 'Ready')?.observedGeneration === o.metadata.generation;
    }, 60_000);
    expect(agent.output().stderr).not.toMatch(/"level":(50|60)/);
  });

  it('approval Manual: the running agent holds an MTU change in the Host status; kubectl netform plan plans the same from the observation there; the annotation approves it', async () => {
    const mtu = () => (JSON.parse(execFileSync('ip', ['-n', h.ns, '-j', 'link', 'show', 'ens3'], { encoding: 'utf8' })) as { mtu: number }[])[0]!.mtu;
    expect(mtu()).toBe(1500);
    await ok(kube, ['patch', 'host', h.id, '--type=merge', '-p', '{"spec":{"lifecycle":{"approval":"Manual"}}}']);
    await ok(kube, ['patch', 'network', 'apps', '--type=merge', '-p', '{"spec":{"mtu":9000}}']);
    await waitFor('the agent to hold the change in status.pendingPlan', async () => !!(await getObj(kube, 'host', h.id))?.status?.pendingPlan, 60_000);
    const host = (await getObj(kube, 'host', h.id))!;
    const held = host.status!.pendingPlan as { digest: string; changes: string[] };
    expect(held.changes.join('\n')).toContain('mtu 1500→9000');
    expect(typeof (host.status!.agent as { observation?: string }).observation).toBe('string');
    await waitFor('Synced=False AwaitingApproval', async () => condition(await getObj(kube, 'host', h.id), 'Synced')?.reason === 'AwaitingApproval', 30_000);
    expect(mtu()).toBe(1500);

    // The plugin plans the host from the observation in its status: the same items, the same digest.
    const r = await execFileP(process.execPath, [join(ROOT, 'bin/kubectl-netform.mjs'), 'plan', '-o', 'json', '--kubeconfig', kube.kubeconfig], { cwd: ROOT, env: { ...process.env, KUBECONFIG: '', NETFORM_LOG_LEVEL: 'warn' } }).catch(
      (e: { stdout: string }) => e,
    );
    const doc = JSON.parse(r.stdout) as { hosts: { name: string; reported: boolean }[]; items: PlanItem[] };
    expect(doc.hosts).toContainEqual(expect.objectContaining({ name: h.id, reported: true }));
    expect(planDigest(doc.items.filter((i) => i.target === `host:${h.id}`))).toBe(held.digest);

    // Approved by the annotation: the watch brings it to the agent, which applies exactly that plan.
    await ok(kube, ['annotate', 'host', h.id, `netform.io/approved-plan=${held.digest}`]);
    await waitFor('the MTU applied on the host', async () => mtu() === 9000, 60_000);
    await waitFor('nothing held any more', async () => {
      const o = await getObj(kube, 'host', h.id);
      return !o?.status?.pendingPlan && condition(o, 'Synced')?.status === 'True';
    }, 60_000);
  });

  it('a Router with hostRef: the running agent makes its namespace on the OVS fabric (veths as tagged ports), reports it, and the controller makes the Router Ready', async () => {
    await ok(kube, ['patch', 'host', h.id, '--type=merge', '-p', '{"spec":{"lifecycle":{"approval":"Auto"}}}']);
    await ok(
      kube,
      ['apply', '-f', '-'],
      [
        'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: apps}\nspec: {physicalNetwork: physnet1, mtu: 9000, vlan: {poolRef: {name: p}}, subnets: [{name: a4, cidr: 10.88.1.0/24, gateway: 10.88.1.1}]}',
        'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: db}\nspec: {physicalNetwork: physnet1, vlan: {id: 2201}, subnets: [{name: d4, cidr: 10.88.2.0/24, gateway: none}]}',
        `apiVersion: netform.io/v1alpha1\nkind: Router\nmetadata: {name: edge}\nspec: {hostRef: {name: ${h.id}}, interfaces: [{network: apps, subnet: a4}, {network: db, subnet: d4, ipAddress: 10.88.2.254}]}`,
      ].join('\n---\n'),
    );
    await ok(kube, ['wait', '--for=condition=Ready', '--timeout=90s', 'router/edge']);
    const host = (await getObj(kube, 'host', h.id))!;
    expect((host.status?.agent as { routers?: unknown[] }).routers).toEqual([{ name: 'edge', inSync: true }]);
    // The namespace is the one whose lo carries this host's mark for the router.
    const namespaces = (JSON.parse(execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }) || '[]') as { name: string }[]).map((n) => n.name).filter((n) => n.startsWith('nfr-'));
    const mine = namespaces.filter((ns) => {
      const lo = (JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show', 'lo'], { encoding: 'utf8' })) as { ifalias?: string }[])[0];
      return lo?.ifalias?.endsWith(`/${h.id}/edge`);
    });
    expect(mine).toHaveLength(1);
    const addrs = (JSON.parse(execFileSync('ip', ['-n', mine[0]!, '-j', 'addr', 'show'], { encoding: 'utf8' })) as { addr_info: { local: string; prefixlen: number }[] }[]).flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
    expect(addrs).toEqual(expect.arrayContaining(['10.88.1.1/24', '10.88.2.254/24']));
    // Its host ends are OVS ports tagged with the networks' VLANs (300 from the pool, 2201).
    const tags = (await h.ovs!.vsctl(['--format=json', '--columns=name,tag', 'list', 'Port'])).trim();
    const ports = (JSON.parse(tags) as { data: [string, unknown][] }).data.filter(([n]) => n.startsWith('nfr')).map(([, t]) => t as number).sort((a, b) => a - b);
    expect(ports).toEqual([300, 2201]);
    await ok(kube, ['delete', 'router', 'edge', '--wait=true', '--timeout=60s']);
    await waitFor('the router namespace to go', async () => !execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(mine[0]!), 60_000);
  });
});

// Cluster mode end to end: a real kube-apiserver + etcd, the real kubectl, a real Neutron, and
// `netform controller` as real processes, installed with `kubectl apply -k manifests/` and running as
// its ServiceAccount (a TokenRequest token), so the manifests' RBAC is all they have. Objects go in with kubectl; the controller converges Neutron
// and writes status; kubectl wait sees Ready; edits converge; deletion goes through the finalizer.
// Then bad input, tenancy, an apiserver restart, and leader failover with SIGKILL.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import { startNeutron, type RunningNeutron } from '../harness/neutron-server.ts';
import { canary } from '../support/secrets.ts';
import { ROOT } from '../support/cli.ts';
import { planDigest } from '../../src/controllers/plan/document.ts';
import type { PlanItem } from '../../src/controllers/runtime/plan.ts';

const execFileP = promisify(execFile);
import {
  condition,
  getObj,
  installManifests,
  serviceAccountKubeconfig,
  leaseHolder,
  ok,
  startController,
  stopProcess,
  waitFor,
  dumpForSecretsScan,
  type ControllerProcess,
} from './support.ts';

/** The Neutron credentials Secret's password: a registered canary the run's secrets scan looks for. */
const PASSWORD = canary('kube-neutron-creds');

let kube: KubeCluster;
let neutron: RunningNeutron;
const controllers: ControllerProcess[] = [];
const run = Math.random().toString(36).slice(2, 7);
const n = (s: string) => `${s}-${run}`;
let unseen: Awaited<ReturnType<typeof getObj>>;
let controllerKubeconfig: string;

interface RawNetwork {
  id: string;
  name: string;
  mtu: number;
  'provider:segmentation_id': number | null;
  subnets: string[];
}

async function neutronGet<T>(path: string): Promise<T> {
  const res = await fetch(neutron.url + path);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
  return (await res.json()) as T;
}
const networksNamed = async (name: string) => (await neutronGet<{ networks: RawNetwork[] }>(`/v2.0/networks?name=${encodeURIComponent(name)}`)).networks;
const portsOf = async (deviceId: string) =>
  (await neutronGet<{ ports: { id: string; mac_address: string; network_id: string }[] }>(`/v2.0/ports?device_id=${encodeURIComponent(deviceId)}`)).ports;

const yaml = (docs: string[]) => docs.join('\n---\n');

async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',');
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

beforeAll(async () => {
  kube = await startKube();
  // Installed the way users install it; the controllers run as its ServiceAccount, with its RBAC only.
  await installManifests(kube);
  controllerKubeconfig = await serviceAccountKubeconfig(kube, 'netform-controller');
  neutron = await startNeutron();
  for (const ns of ['team-a', 'team-b']) await ok(kube, ['create', 'namespace', ns]);
  // Before any controller runs: what a new object's status says (kstatus must not read it as Current).
  await ok(kube, ['apply', '-f', '-'], `apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: unseen-${run}}\nspec: {ranges: [{physicalNetwork: physnet9, min: 10, max: 11}]}`);
  unseen = (await getObj(kube, 'vlanpool', `unseen-${run}`))!;
  controllers.push(startController(kube, 'replica-a', ['--leader-elect', '--resync', '30'], {}, controllerKubeconfig));
  await controllers[0]!.url();
}, 30 * 60_000);

afterAll(async () => {
  // What users see (statuses, Events) for the run's secrets scan; the controllers' output is already there (startCli).
  if (kube) await dumpForSecretsScan(kube, 'controller-test');
  for (const c of controllers) await stopProcess(c);
  // Kept beside the apiserver's logs, for when something failed.
  for (const c of controllers) if (kube) writeFileSync(join(kube.dir, `controller-${c.identity}.log`), c.output().stderr);
  await neutron?.stop();
  await kube?.stop();
}, 120_000);

describe('netform controller on a real kube-apiserver with a real Neutron', () => {
  it('a new object reads as not yet observed until the controller has looked at it', async () => {
    expect(unseen?.metadata.generation).toBe(1);
    expect(unseen?.status).toEqual({ observedGeneration: 0 });
    await ok(kube, ['wait', `--for=jsonpath={.status.observedGeneration}=1`, '--timeout=60s', `vlanpool/unseen-${run}`]);
    expect(condition(await getObj(kube, 'vlanpool', `unseen-${run}`), 'Ready')?.status).toBe('True');
  });

  const app = n('app');
  const db = n('db');
  const vmUid = `vm-${run}`;

  it('converges a Provider with its Secret, a pool, networks and an attachment; kubectl wait sees Ready', async () => {
    // The Provider first, without its Secret: the condition says what is missing.
    await ok(
      kube,
      ['apply', '-f', '-'],
      yaml([
        `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: openstack}\nspec:\n  type: neutron\n  endpoint: ${neutron.url}\n  neutron: {auth: noauth, projectId: netform-e2e}\n  credentials: {secretRef: {name: neutron-creds}}`,
      ]),
    );
    await waitFor('the Provider to say its Secret is missing', async () => /Secret netform-system\/neutron-creds does not exist/.test(condition(await getObj(kube, 'provider', 'openstack'), 'Synced')?.message ?? ''), 60_000);
    await ok(kube, ['create', 'secret', 'generic', 'neutron-creds', '-n', 'netform-system', '--from-literal=username=netform', `--from-literal=password=${PASSWORD}`]);
    await ok(
      kube,
      ['apply', '-f', '-'],
      yaml([
        `apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: pool-${run}}\nspec: {ranges: [{physicalNetwork: physnet1, min: 300, max: 309}]}`,
        `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${app}}\nspec:\n  physicalNetwork: physnet1\n  vlan: {poolRef: {name: pool-${run}}}\n  allowedNamespaces: [team-a]\n  providerRefs: [{name: openstack}]`,
        `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${db}}\nspec:\n  physicalNetwork: physnet1\n  vlan: {id: 2201}\n  subnets: [{name: db-v4, cidr: 198.51.100.0/24, gateway: 198.51.100.1}]\n  providerRefs: [{name: openstack}]`,
        `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: prod}\nspec: {networks: [{name: ${app}, roles: [vm]}]}`,
        `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv1}\nspec: {cluster: prod, nics: [{name: eno1}]}`,
        `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: web1-nic1, namespace: team-a}\nspec:\n  vm: {name: web1, uid: ${vmUid}}\n  interfaceName: nic1\n  mac: 56:6f:00:00:00:01\n  network: ${app}\n  host: hv1`,
      ]),
    );
    await ok(kube, ['wait', '--for=condition=Ready', '--timeout=120s', 'provider/openstack', `network/${app}`, `network/${db}`]);
    await ok(kube, ['wait', '--for=condition=Ready', '--timeout=120s', '-n', 'team-a', 'vnicattachment/web1-nic1']);

    // Neutron really holds them.
    const [appNet] = await networksNamed(app);
    const [dbNet] = await networksNamed(db);
    expect(appNet?.['provider:segmentation_id']).toBe(300);
    expect(dbNet?.['provider:segmentation_id']).toBe(2201);
    expect(dbNet?.subnets).toHaveLength(1);
    const ports = await portsOf(vmUid);
    expect(ports).toHaveLength(1);
    expect(ports[0]!.mac_address).toBe('56:6f:00:00:00:01');
    expect(ports[0]!.network_id).toBe(appNet!.id);

    // Status: the API's generation, the backend id, the finalizer; no secret anywhere.
    const net = (await getObj(kube, 'network', app))!;
    expect(net.status?.observedGeneration).toBe(net.metadata.generation);
    expect(condition(net, 'Ready')?.observedGeneration).toBe(net.metadata.generation);
    expect(net.status?.vlan).toBe(300);
    expect(JSON.stringify(net.status)).toContain(appNet!.id);
    expect(net.metadata.finalizers).toContain('netform.io/cleanup');
    const everything = await ok(kube, ['get', 'providers,networks,vlanpools,clusters,hosts', '-o', 'json']);
    expect(everything).not.toContain(PASSWORD);

    // Printer columns read our status.
    const table = await ok(kube, ['get', 'networks']);
    expect(table).toMatch(new RegExp(`${app}\\s+300\\s+physnet1\\s+(?:\\d+\\s+)?True\\s+True`));

    // Events for the backend actions.
    await waitFor('a Created event for the network', async () => /Created/.test(await ok(kube, ['get', 'events', '-A', '--field-selector', `involvedObject.name=${app}`, '-o', 'json'])), 30_000);
    const described = await ok(kube, ['describe', 'network', app]);
    expect(described).toMatch(/Created\s+.*created network on openstack/);
  });

  it('an edit converges: Neutron changes and the status follows the new generation', async () => {
    await ok(kube, ['patch', 'network', db, '--type=merge', '-p', '{"spec":{"mtu":1400}}']);
    const gen = (await getObj(kube, 'network', db))!.metadata.generation!;
    expect(gen).toBe(2);
    await ok(kube, ['wait', `--for=jsonpath={.status.observedGeneration}=${gen}`, '--timeout=60s', `network/${db}`]);
    await ok(kube, ['wait', '--for=condition=Ready', '--timeout=60s', `network/${db}`]);
    await waitFor('Neutron to carry the new MTU', async () => (await networksNamed(db))[0]?.mtu === 1400, 30_000);
    const url = await controllers[0]!.url();
    expect(await metric(url, 'netform_reconcile_total', { kind: 'Network' })).toBeGreaterThan(0);
    expect(await metric(url, 'netform_time_to_ready_seconds_count', { kind: 'Network' })).toBeGreaterThanOrEqual(3);
    expect(await metric(url, 'netform_leader')).toBe(1);
  });

  it('approval Manual in cluster mode: the controller holds the create in status.pendingPlan; kubectl netform plan shows that very plan; the annotation approves it', async () => {
    const held = n('held');
    await ok(kube, ['apply', '-f', '-'], `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${held}}\nspec: {physicalNetwork: physnet1, vlan: {id: 2202}, approval: Manual, providerRefs: [{name: openstack}]}`);
    await waitFor('the plan held in status.pendingPlan', async () => !!(await getObj(kube, 'network', held))?.status?.pendingPlan, 60_000);
    let obj = (await getObj(kube, 'network', held))!;
    const pending = obj.status!.pendingPlan as { digest: string; summary: string; changes: string[] };
    expect(condition(obj, 'Synced')).toMatchObject({ status: 'False', reason: 'AwaitingApproval' });
    expect(pending.summary).toBe('1 to create, 0 to update, 0 to replace, 0 to delete');
    expect(pending.changes).toEqual([`+ Network/${held}  neutron:openstack network  (create)`]);
    expect(await networksNamed(held)).toEqual([]);

    // kubectl netform plan, from the cluster, plans the same change: its items for this network have the held digest.
    const r = await execFileP(process.execPath, [join(ROOT, 'bin/kubectl-netform.mjs'), 'plan', '-o', 'json', '--kubeconfig', kube.kubeconfig], { cwd: ROOT, env: { ...process.env, KUBECONFIG: '', NETFORM_LOG_LEVEL: 'warn' } }).catch(
      (e: { stdout: string }) => e,
    );
    const doc = JSON.parse(r.stdout) as { items: PlanItem[]; pendingApprovals?: { object: string; digest: string }[] };
    expect(planDigest(doc.items.filter((i) => i.object === `Network/${held}`))).toBe(pending.digest);
    expect(doc.pendingApprovals).toContainEqual(expect.objectContaining({ object: `Network/${held}`, digest: pending.digest }));

    // Approved by the annotation for exactly that digest: carried out, and nothing is held any more.
    await ok(kube, ['annotate', 'network', held, `netform.io/approved-plan=${pending.digest}`]);
    await ok(kube, ['wait', '--for=condition=Synced', '--timeout=60s', `network/${held}`]);
    await waitFor('the network in Neutron', async () => (await networksNamed(held)).length === 1, 30_000);
    obj = (await getObj(kube, 'network', held))!;
    expect(obj.status?.pendingPlan).toBeUndefined();
    // The annotation is no spec change: the status still describes the object's own generation.
    expect(obj.status?.observedGeneration).toBe(obj.metadata.generation);
    expect(condition(obj, 'Ready')?.observedGeneration).toBe(obj.metadata.generation);
    expect((await networksNamed(held))[0]!['provider:segmentation_id']).toBe(2202);
    // Its removal is a change too: held until approved in turn (the annotation still counts on an object being deleted).
    await ok(kube, ['delete', 'network', held, '--wait=false']);
    await waitFor('the removal held', async () => ((await getObj(kube, 'network', held))?.status?.pendingPlan as { changes?: string[] } | undefined)?.changes?.some((c) => c.includes('(delete)')) ?? false, 60_000);
    const removal = (await getObj(kube, 'network', held))!.status!.pendingPlan as { digest: string };
    expect((await networksNamed(held)).length).toBe(1);
    await ok(kube, ['annotate', '--overwrite', 'network', held, `netform.io/approved-plan=${removal.digest}`]);
    await ok(kube, ['wait', '--for=delete', '--timeout=60s', `network/${held}`]);
    expect(await networksNamed(held)).toEqual([]);
  });

  it('kubectl delete waits for the finalizer, which removes the backend objects first', async () => {
    // The network is in use by the attachment: its deletion waits, and says so.
    await ok(kube, ['delete', 'network', app, '--wait=false']);
    await waitFor('the network to say it is still used', async () => condition(await getObj(kube, 'network', app), 'Synced')?.reason === 'DeletionBlocked', 30_000);
    expect(await networksNamed(app)).toHaveLength(1);
    await ok(kube, ['delete', 'vnicattachment', 'web1-nic1', '-n', 'team-a', '--timeout=60s']);
    expect(await portsOf(vmUid)).toEqual([]);
    await ok(kube, ['wait', '--for=delete', `network/${app}`, '--timeout=60s']);
    expect(await networksNamed(app)).toEqual([]);
    expect(await getObj(kube, 'network', app)).toBeUndefined();
  });
});

describe('bad input through kubectl', () => {
  it('the apiserver refuses what the schema can express', async () => {
    const r = await kube.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: bad-${run}}\nspec: {physicalNetwork: physnet1, vlan: {id: 5000}}`,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.vlan\.id/);
    expect(await getObj(kube, 'network', `bad-${run}`)).toBeUndefined();
  });

  it('what only admission knows becomes Synced=False with the reason, and nothing converged is harmed', async () => {
    const before = (await networksNamed(n('db')))[0]!;
    await ok(
      kube,
      ['apply', '-f', '-'],
      yaml([
        `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${n('dangling')}}\nspec: {physicalNetwork: physnet1, vlan: {id: 2300}, providerRefs: [{name: nope}]}`,
        `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${n('clash')}}\nspec: {physicalNetwork: physnet1, vlan: {id: 2201}, providerRefs: [{name: openstack}]}`,
      ]),
    );
    const dangling = await waitFor('the dangling reference to be reported', async () => {
      const c = condition(await getObj(kube, 'network', n('dangling')), 'Synced');
      return c?.status === 'False' ? c : undefined;
    }, 30_000);
    expect(dangling.reason).toBe('InvalidSpec');
    expect(dangling.message).toMatch(/spec\.providerRefs\[0\]\.name: .*nope/);
    const clash = await waitFor('the VLAN clash to be reported', async () => {
      const c = condition(await getObj(kube, 'network', n('clash')), 'Synced');
      return c?.status === 'False' ? c : undefined;
    }, 30_000);
    expect(clash.reason).toBe('InvalidSpec');
    expect(clash.message).toMatch(/spec\.vlan\.id: .*2201/);
    // Neither reached Neutron; the network holding VLAN 2201 is untouched and still Ready.
    expect(await networksNamed(n('clash'))).toEqual([]);
    expect(await networksNamed(n('dangling'))).toEqual([]);
    const after = (await networksNamed(n('db')))[0]!;
    expect(after).toEqual(before);
    expect(condition(await getObj(kube, 'network', n('db')), 'Ready')?.status).toBe('True');
    await ok(kube, ['delete', 'network', n('dangling'), n('clash'), '--timeout=60s']);
  });

  it('a cross-tenant attachment is refused with a clear condition', async () => {
    await ok(
      kube,
      ['apply', '-f', '-'],
      yaml([
        `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${n('private')}}\nspec: {physicalNetwork: physnet1, vlan: {id: 2400}, allowedNamespaces: [team-a], providerRefs: [{name: openstack}]}`,
        `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: prod}\nspec: {networks: [{name: ${n('private')}, roles: [vm]}]}`,
        `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: intruder, namespace: team-b}\nspec: {vm: {name: evil, uid: evil-${run}}, interfaceName: nic1, network: ${n('private')}, host: hv1}`,
      ]),
    );
    const c = await waitFor('the attachment to be refused', async () => {
      const s = condition(await getObj(kube, 'vnicattachment', 'intruder', 'team-b'), 'Synced');
      return s?.status === 'False' ? s : undefined;
    }, 30_000);
    expect(c.reason).toBe('InvalidSpec');
    // The field as the API stores it (v1beta1; the status is the same whichever version was written).
    expect(c.message).toBe(`spec.networkRef.name: Network "${n('private')}" is neither shared nor open to namespace "team-b"`);
    expect(await portsOf(`evil-${run}`)).toEqual([]);
    await ok(kube, ['delete', 'vnicattachment', 'intruder', '-n', 'team-b', '--timeout=60s']);
  });
});

describe('resilience', () => {
  it('recovers from an apiserver restart and converges what changed around it', async () => {
    const url = await controllers[0]!.url();
    await ok(kube, ['apply', '-f', '-'], `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${n('before')}}\nspec: {physicalNetwork: physnet1, vlan: {id: 2501}, providerRefs: [{name: openstack}]}`);
    await kube.restartApiserver();
    console.log(`apiserver restarted; logs in ${kube.dir}`);
    await ok(kube, ['apply', '-f', '-'], `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${n('after')}}\nspec: {physicalNetwork: physnet1, vlan: {id: 2502}, providerRefs: [{name: openstack}]}`);
    await ok(kube, ['wait', '--for=condition=Ready', '--timeout=120s', `network/${n('before')}`, `network/${n('after')}`]);
    expect(await networksNamed(n('before'))).toHaveLength(1);
    expect(await networksNamed(n('after'))).toHaveLength(1);
    await waitFor('/readyz to be ok again', async () => (await fetch(`${url}/readyz`)).status === 200, 60_000);
  });

  it('two controllers: only one leads; SIGKILL the leader and the other takes over within 20 s', async () => {
    controllers.push(startController(kube, 'replica-b', ['--leader-elect', '--resync', '30'], {}, controllerKubeconfig));
    const b = controllers[1]!;
    await b.url();
    const holder = await waitFor('a leader', () => leaseHolder(kube), 30_000);
    expect(['replica-a', 'replica-b']).toContain(holder);
    const leader = controllers.find((c) => c.identity === holder)!;
    const standby = controllers.find((c) => c.identity !== holder)!;
    expect(await metric(await standby.url(), 'netform_leader')).toBe(0);
    expect(await metric(await leader.url(), 'netform_leader')).toBe(1);

    const killedAt = Date.now();
    await stopProcess(leader, 'SIGKILL');
    await ok(kube, ['apply', '-f', '-'], `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${n('failover')}}\nspec: {physicalNetwork: physnet1, vlan: {id: 2601}, providerRefs: [{name: openstack}]}`);
    await waitFor('the standby to take the lease', async () => (await leaseHolder(kube)) === standby.identity, 25_000);
    const tookOverMs = Date.now() - killedAt;
    await ok(kube, ['wait', '--for=condition=Ready', '--timeout=60s', `network/${n('failover')}`]);
    const readyMs = Date.now() - killedAt;
    console.log(`leader failover: lease taken ${tookOverMs} ms after SIGKILL, new network Ready after ${readyMs} ms`);
    expect(tookOverMs).toBeLessThan(20_000);
    expect(await networksNamed(n('failover'))).toHaveLength(1);
    expect(await metric(await standby.url(), 'netform_leader')).toBe(1);
  });
});

// manifests/ against a real kube-apiserver + etcd (test/harness/kube) with the real kubectl:
// `kubectl apply -k manifests/` installs everything and the apiserver accepts it (there is no
// scheduler or kubelet: the pods stay Pending); the controller's and the agent's ServiceAccounts can
// do exactly what they need (`kubectl auth can-i`, then real requests impersonating them: finalizers,
// status, Events, the credentials Secret, the Lease); the examples apply; kstatus and `kubectl wait`
// read the status the controller's account writes, including a deletion held by the finalizer.
import { readFileSync, writeFileSync } from 'node:fs';
import { dump, load } from 'js-yaml';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOutcome } from '../../src/api/conditions.ts';
import { loadCrds } from '../../src/api/crds.ts';
import { startKube, type KubeCluster, type KubectlResult } from '../harness/kube/cluster.ts';
import { ensureKstatus, kstatus } from '../harness/kstatus/kstatus.ts';
import { serviceAccountKubeconfig, useConversionWebhook, startController, stopProcess, waitFor, type ControllerProcess } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MANIFESTS = `${ROOT}manifests`;
const CRDS = `${ROOT}crds/`;
const NS = 'netform-system';
const CONTROLLER = `system:serviceaccount:${NS}:netform-controller`;
const AGENT = `system:serviceaccount:${NS}:netform-agent`;
/** Every netform kind's plural, from crds/: a kind added there is checked here without listing it. */
const KINDS = loadCrds().map((c) => c.plural);
const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;

let kube: KubeCluster;
let kstatusBin: string;

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kube.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A request that RBAC must refuse. */
async function forbidden(args: string[], input?: string): Promise<KubectlResult> {
  const r = await kube.kubectl(args, input);
  expect(r.code, `kubectl ${args.join(' ')} should be forbidden:\n${r.stdout}`).not.toBe(0);
  expect(r.stderr).toMatch(/forbidden/i);
  return r;
}

/** `kubectl auth can-i` as `user`: `check` is "VERB RESOURCE [flags...]". */
async function canI(user: string, check: string): Promise<'yes' | 'no'> {
  const r = await kube.kubectl(['auth', 'can-i', ...check.split(' '), `--as=${user}`]);
  const answer = r.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i ${check}: ${r.stderr}${r.stdout}`);
  return answer;
}

const g = (plural: string) => `${plural}.netform.io`;

/** What the controller must be able to do, and what it must not. */
const CONTROLLER_YES = [
  ...KINDS.flatMap((k) => ['get', 'list', 'watch'].map((v) => `${v} ${g(k)}${k === 'vnicattachments' ? ' -A' : ''}`)),
  // finalizer netform.io/cleanup: a merge patch of the main resource's metadata
  ...KINDS.map((k) => `patch ${g(k)}${k === 'vnicattachments' ? ' -n team-a' : ''}`),
  ...KINDS.flatMap((k) => ['get', 'update', 'patch'].map((v) => `${v} ${g(k)} --subresource=status${k === 'vnicattachments' ? ' -n team-a' : ''}`)),
  ...['create', 'patch'].flatMap((v) => [`${v} events.events.k8s.io -n default`, `${v} events.events.k8s.io -n team-a`]),
  `get secrets -n ${NS}`,
  `get secrets/openstack-credentials -n ${NS}`,
  `create leases.coordination.k8s.io -n ${NS}`,
  `get leases.coordination.k8s.io/netform-controller -n ${NS}`,
  `update leases.coordination.k8s.io/netform-controller -n ${NS}`,
  // The webhooks' certificate (create cannot be limited to a name), and the CRDs' conversion caBundle.
  `create secrets -n ${NS}`,
  `get secrets/netform-webhook-cert -n ${NS}`,
  `update secrets/netform-webhook-cert -n ${NS}`,
  ...KINDS.flatMap((k) => ['get', 'update'].map((v) => `${v} customresourcedefinitions.apiextensions.k8s.io/${g(k)}`)),
];
const CONTROLLER_NO = [
  ...['list', 'watch', 'update', 'patch', 'delete', 'deletecollection'].map((v) => `${v} secrets -n ${NS}`),
  `update secrets/openstack-credentials -n ${NS}`,
  `delete secrets/netform-webhook-cert -n ${NS}`,
  'update customresourcedefinitions.apiextensions.k8s.io/other.example.com',
  'delete customresourcedefinitions.apiextensions.k8s.io/networks.netform.io',
  'list customresourcedefinitions.apiextensions.k8s.io',
  'get secrets -n default',
  'get secrets -n kube-system',
  'list secrets -A',
  ...KINDS.flatMap((k) => ['create', 'update', 'delete', 'deletecollection'].map((v) => `${v} ${g(k)}${k === 'vnicattachments' ? ' -n team-a' : ''}`)),
  'create events -n default',
  'update events.events.k8s.io -n default',
  `get leases.coordination.k8s.io/other -n ${NS}`,
  `update leases.coordination.k8s.io/other -n ${NS}`,
  `delete leases.coordination.k8s.io/netform-controller -n ${NS}`,
  'update leases.coordination.k8s.io/netform-controller -n default',
  'create leases.coordination.k8s.io -n default',
  'list leases.coordination.k8s.io -n ' + NS,
  'delete events -n default',
  'list events -n default',
  `create pods -n ${NS}`,
  `get pods -n ${NS}`,
  `create deployments.apps -n ${NS}`,
  `list configmaps -n ${NS}`,
  'get nodes',
  'create customresourcedefinitions.apiextensions.k8s.io',
  'escalate clusterroles.rbac.authorization.k8s.io',
  'bind clusterroles.rbac.authorization.k8s.io',
  'impersonate serviceaccounts -A',
  'create serviceaccounts/token -n ' + NS,
];
const AGENT_YES = [
  ...['hosts', 'clusters', 'networks', 'vlanpools', 'vnicattachments', 'serviceendpoints'].flatMap((k) =>
    ['get', 'list', 'watch'].map((v) => `${v} ${g(k)}${k === 'vnicattachments' || k === 'serviceendpoints' ? ' -A' : ''}`),
  ),
  'get hosts.netform.io --subresource=status',
  'patch hosts.netform.io --subresource=status',
];
const AGENT_NO = [
  'update hosts.netform.io --subresource=status',
  'patch hosts.netform.io',
  'update hosts.netform.io',
  'create hosts.netform.io',
  'delete hosts.netform.io',
  ...['networks', 'clusters', 'vlanpools', 'providers'].flatMap((k) => ['patch', 'update'].map((v) => `${v} ${g(k)} --subresource=status`)),
  'patch vnicattachments.netform.io --subresource=status -n team-a',
  'patch serviceendpoints.netform.io --subresource=status -n team-a',
  'patch serviceendpoints.netform.io -n team-a',
  'get providers.netform.io',
  'list providers.netform.io',
  `get secrets -n ${NS}`,
  `get secrets/openstack-credentials -n ${NS}`,
  'list secrets -A',
  'create events -n default',
  'create events.events.k8s.io -n default',
  `get leases.coordination.k8s.io/netform-controller -n ${NS}`,
  'get nodes',
  `create pods -n ${NS}`,
];

function conditionsStatus(generation: number, ready: boolean): Record<string, unknown> {
  const outcome = ready
    ? { ready: { status: 'True' as const, reason: 'Available' as const, message: 'in sync on 1 provider' }, synced: { status: 'True' as const, reason: 'ReconcileSuccess' as const } }
    : {
        ready: { status: 'False' as const, reason: 'Deleting' as const, message: 'removing the network from 1 provider' },
        synced: { status: 'True' as const, reason: 'ReconcileSuccess' as const },
        progressing: true,
      };
  return { observedGeneration: generation, conditions: applyOutcome(undefined, outcome, generation, new Date()) };
}

describe('manifests/ on a real apiserver', () => {
  beforeAll(async () => {
    [kube, kstatusBin] = await Promise.all([startKube(), ensureKstatus()]);
    console.log(`kube test plane: Kubernetes ${kube.versions.kubernetes}, ${kube.server}, ready in ${kube.startupMs} ms`);
  }, 30 * 60_000);

  afterAll(async () => {
    await kube?.stop();
  }, 60_000);

  it('`kubectl apply -f crds/` reads only the CRDs (crds/Kustomization is not a manifest)', async () => {
    const r = await kube.kubectl(['apply', '-f', CRDS, '--dry-run=server', '-o', 'name']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(
      [...KINDS].sort().map((k) => `customresourcedefinition.apiextensions.k8s.io/${k}.netform.io`),
    );
  });

  it('`kubectl apply -k manifests/` installs everything, and a second apply changes nothing', async () => {
    const first = await kube.kubectl(['apply', '-k', MANIFESTS]);
    console.log(first.stdout + first.stderr);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe(''); // no warnings: no deprecated API, no unknown field, no Pod Security warning
    const lines = first.stdout.trim().split('\n');
    expect(lines.every((l) => l.endsWith(' created'))).toBe(true);
    for (const o of [
      `namespace/${NS}`,
      'customresourcedefinition.apiextensions.k8s.io/networks.netform.io',
      'serviceaccount/netform-controller',
      'serviceaccount/netform-agent',
      'clusterrole.rbac.authorization.k8s.io/netform-controller',
      'clusterrole.rbac.authorization.k8s.io/netform-agent',
      'role.rbac.authorization.k8s.io/netform-controller',
      'rolebinding.rbac.authorization.k8s.io/netform-controller',
      'clusterrolebinding.rbac.authorization.k8s.io/netform-controller',
      'clusterrolebinding.rbac.authorization.k8s.io/netform-agent',
      'service/netform-controller-metrics',
      'service/netform-webhook',
      'role.rbac.authorization.k8s.io/netform-webhook',
      'rolebinding.rbac.authorization.k8s.io/netform-webhook',
      'clusterrole.rbac.authorization.k8s.io/netform-conversion',
      'clusterrolebinding.rbac.authorization.k8s.io/netform-conversion',
      'deployment.apps/netform-controller',
      'poddisruptionbudget.policy/netform-controller',
      'daemonset.apps/netform-agent',
      'validatingadmissionpolicy.admissionregistration.k8s.io/netform-agent-own-host',
      'validatingadmissionpolicybinding.admissionregistration.k8s.io/netform-agent-own-host',
    ]) {
      expect(lines).toContain(`${o} created`);
    }
    expect(lines).toHaveLength(20 + KINDS.length); // 1 namespace, a CRD per kind, 2 SAs, 5 roles, 5 bindings, 2 services, deployment, PDB, daemonset, the agent's policy and its binding
    await ok(['wait', '--for=condition=Established', '--timeout=60s', ...KINDS.map((k) => `crd/${k}.netform.io`)]);

    // Applying again changes nothing: every object keeps its resourceVersion. (kubectl may still say
    // "configured" for the PodDisruptionBudget: its selector has patch strategy "replace", so
    // client-side apply always sends it, and the apiserver finds nothing to change.)
    const versions = async () => {
      const list = JSON.parse(await ok(['get', '-k', MANIFESTS, '-o', 'json'])) as { items: { kind: string; metadata: { name: string; resourceVersion: string } }[] };
      return Object.fromEntries(list.items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
    };
    const before = await versions();
    expect(Object.keys(before)).toHaveLength(20 + KINDS.length);
    const again = await ok(['apply', '-k', MANIFESTS]);
    expect(again.trim().split('\n').filter((l) => !/ (unchanged|configured)$/.test(l))).toEqual([]);
    expect(await versions()).toEqual(before);
    // The CRDs store v1beta1 and send v1alpha1 conversions to the Service netform-webhook, which has no
    // pods here: the rest of this file reaches netform's conversion webhook in this process instead.
    await useConversionWebhook(kube);
  }, 120_000);

  it('stores the workloads as written (pods stay Pending: there is no scheduler here)', async () => {
    const d = JSON.parse(await ok(['get', 'deployment', 'netform-controller', '-n', NS, '-o', 'json']));
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.containers[0].image).toBe(`ghcr.io/netform/netform:${VERSION}`);
    expect(d.spec.template.spec.containers[0].args).toEqual(['controller', '--namespace=$(POD_NAMESPACE)', '--leader-elect', '--listen=0.0.0.0:8080', '--webhook=0.0.0.0:9443', '--webhook-cert-secret=netform-webhook-cert']);
    const ds = JSON.parse(await ok(['get', 'daemonset', 'netform-agent', '-n', NS, '-o', 'json']));
    expect(ds.spec.template.spec.hostNetwork).toBe(true);
    expect(ds.spec.template.spec.containers[0].args).toEqual(['agent', '--cluster', '--host=$(NODE_NAME)']);
    expect(ds.spec.template.spec.containers[0].securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    const pods = JSON.parse(await ok(['get', 'pods', '-n', NS, '-o', 'json'])) as { items: unknown[] };
    expect(pods.items).toEqual([]); // no controller-manager: nothing creates them
  });

  it('applies the example credentials Secret and the Provider that references it', async () => {
    const out = await ok(['apply', '-f', `${MANIFESTS}/examples/`]);
    expect(out).toContain('secret/openstack-credentials created');
    expect(out).toContain('provider.netform.io/openstack created');
  });

  it('applies examples/cluster/ (its VnicAttachment needs the namespace team-a, which it does not create)', async () => {
    await ok(['create', 'namespace', 'team-a']);
    const out = await ok(['apply', '-f', `${ROOT}examples/cluster/`]);
    for (const o of ['network.netform.io/mgmt', 'network.netform.io/migration', 'network.netform.io/tenant-a', 'cluster.netform.io/prod', 'host.netform.io/hv1', 'host.netform.io/hv2', 'vnicattachment.netform.io/web1-nic1']) {
      expect(out).toContain(`${o} created`);
    }
  });

  describe('kubectl auth can-i', () => {
    it.each(CONTROLLER_YES)('controller may %s', async (check) => {
      expect(await canI(CONTROLLER, check)).toBe('yes');
    });
    it.each(CONTROLLER_NO)('controller may not %s', async (check) => {
      expect(await canI(CONTROLLER, check)).toBe('no');
    });
    it.each(AGENT_YES)('agent may %s', async (check) => {
      expect(await canI(AGENT, check)).toBe('yes');
    });
    it.each(AGENT_NO)('agent may not %s', async (check) => {
      expect(await canI(AGENT, check)).toBe('no');
    });
  });

  describe('real requests as the ServiceAccounts', () => {
    const asController = (args: string[]) => [...args, `--as=${CONTROLLER}`];
    // An agent's token names its node (a pod's projected token does): impersonated here with that
    // extra, through a kubeconfig (this kubectl has no --as-user-extra flag; kubeconfig's as-user-extra).
    const asAgentOf = (node: string | undefined) => (args: string[]) => {
      if (!node) return [...args, `--as=${AGENT}`];
      const path = `${kube.dir}/agent-of-${node}.kubeconfig`;
      const cfg = load(readFileSync(kube.kubeconfig, 'utf8')) as { users: { user: Record<string, unknown> }[] };
      for (const u of cfg.users) Object.assign(u.user, { as: AGENT, 'as-user-extra': { 'authentication.kubernetes.io/node-name': [node] } });
      writeFileSync(path, dump(cfg), { mode: 0o600 });
      return [...args, '--kubeconfig', path];
    };
    const asAgent = asAgentOf('hv1');

    it('the controller adds its finalizer, writes status, and `kubectl wait` and kstatus see Ready', async () => {
      await ok(asController(['patch', 'network', 'mgmt', '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: ['netform.io/cleanup'] } })]));
      const before = JSON.parse(await ok(['get', 'network', 'mgmt', '-o', 'json']));
      expect(before.metadata.finalizers).toEqual(['netform.io/cleanup']);
      // Not looked at yet: the CRD's status default (observedGeneration 0) keeps kstatus from reading Current.
      expect(before.status).toEqual({ observedGeneration: 0 });
      expect((await kstatus(kstatusBin, before))[0]!.status).toBe('InProgress');
      await ok(asController(['patch', 'network', 'mgmt', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: conditionsStatus(before.metadata.generation, true) })]));
      await ok(['wait', '--for=condition=Ready', '--timeout=10s', 'network/mgmt']);
      const after = JSON.parse(await ok(['get', 'network', 'mgmt', '-o', 'json']));
      expect(after.status.observedGeneration).toBe(after.metadata.generation);
      const [r] = await kstatus(kstatusBin, after);
      expect(r).toMatchObject({ status: 'Current', message: 'Resource is Ready' });
      // a spec change makes the status stale until the controller writes again
      await ok(['patch', 'network', 'mgmt', '--type=merge', '-p', '{"spec":{"mtu":1400}}']);
      const changed = JSON.parse(await ok(['get', 'network', 'mgmt', '-o', 'json']));
      expect(changed.metadata.generation).toBe(after.metadata.generation + 1);
      expect((await kstatus(kstatusBin, changed))[0]!.status).toBe('InProgress');
    });

    it('a deletion waits for the finalizer (kstatus: Terminating) and completes when the controller removes it', async () => {
      await ok(['delete', 'network', 'mgmt', '--wait=false']);
      const deleting = JSON.parse(await ok(['get', 'network', 'mgmt', '-o', 'json']));
      expect(deleting.metadata.deletionTimestamp).toBeTruthy();
      await ok(asController(['patch', 'network', 'mgmt', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: conditionsStatus(deleting.metadata.generation, false) })]));
      const [r] = await kstatus(kstatusBin, JSON.parse(await ok(['get', 'network', 'mgmt', '-o', 'json'])));
      expect(r).toMatchObject({ status: 'Terminating', message: 'Resource scheduled for deletion' });
      await ok(asController(['patch', 'network', 'mgmt', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']));
      await ok(['wait', '--for=delete', '--timeout=10s', 'network/mgmt']);
    });

    it('the controller emits events.k8s.io Events (not core ones), reads its Secret and holds its Lease, and nothing more', async () => {
      const coreEvent = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'tenant-a.1', namespace: 'default' },
        involvedObject: { apiVersion: 'netform.io/v1alpha1', kind: 'Network', name: 'tenant-a' },
        reason: 'Created',
        message: 'created on openstack',
        type: 'Normal',
        source: { component: 'netform-controller' },
      };
      await forbidden(asController(['create', '-f', '-']), JSON.stringify(coreEvent));
      const newEvent = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: 'web1-nic1.1', namespace: 'team-a' },
        eventTime: new Date().toISOString().replace(/Z$/, '000Z'),
        reportingController: 'netform.io/controller',
        reportingInstance: 'netform-controller-0',
        action: 'Reconcile',
        reason: 'Created',
        note: 'port created',
        type: 'Normal',
        regarding: { apiVersion: 'netform.io/v1alpha1', kind: 'VnicAttachment', namespace: 'team-a', name: 'web1-nic1' },
      };
      await ok(asController(['create', '-f', '-']), JSON.stringify(newEvent));

      const secret = JSON.parse(await ok(asController(['get', 'secret', 'openstack-credentials', '-n', NS, '-o', 'json'])));
      expect(Object.keys(secret.data).sort()).toEqual(['password', 'projectDomainName', 'projectName', 'userDomainName', 'username']);
      await forbidden(asController(['get', 'secrets', '-n', NS]));
      await forbidden(asController(['delete', 'secret', 'openstack-credentials', '-n', NS]));

      const lease = (name: string, holder: string) =>
        JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: NS }, spec: { holderIdentity: holder, leaseDurationSeconds: 15 } });
      await ok(asController(['create', '-f', '-']), lease('netform-controller', 'pod-a'));
      const held = JSON.parse(await ok(asController(['get', 'lease', 'netform-controller', '-n', NS, '-o', 'json'])));
      held.spec.holderIdentity = 'pod-b';
      await ok(asController(['replace', '-f', '-']), JSON.stringify(held));
      expect(JSON.parse(await ok(['get', 'lease', 'netform-controller', '-n', NS, '-o', 'json'])).spec.holderIdentity).toBe('pod-b');
      await forbidden(asController(['delete', 'lease', 'netform-controller', '-n', NS]));
      await forbidden(asController(['create', '-f', '-']), lease('netform-controller', 'x').replace(`"namespace":"${NS}"`, '"namespace":"default"'));

      await forbidden(asController(['create', 'deployment', 'x', '--image=busybox', '-n', NS]));
      await forbidden(asController(['delete', 'network', 'tenant-a']));
    });

    it('the agent writes Host status and nothing else', async () => {
      await ok(asAgent(['patch', 'host', 'hv1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: conditionsStatus(1, true) })]));
      const hv1 = JSON.parse(await ok(['get', 'host', 'hv1', '-o', 'json']));
      expect(hv1.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True');
      // The two of examples/cluster/vnics.yaml.
      expect(JSON.parse(await ok(asAgent(['get', 'vnicattachments', '-A', '-o', 'json']))).items).toHaveLength(2);
      // The service endpoints on its host only, by the CRD's selectable field spec.host.
      const endpoint = (name: string, host: string) =>
        JSON.stringify({ apiVersion: 'netform.io/v1alpha1', kind: 'ServiceEndpoint', metadata: { name, namespace: 'team-a' }, spec: { network: 'tenant-a', service: 'firewall', host } });
      await ok(['apply', '-f', '-'], endpoint('fw-hv1', 'hv1'));
      await ok(['apply', '-f', '-'], endpoint('fw-hv2', 'hv2'));
      // In v1beta1 (what kubectl prefers) the field is spec.hostRef.name; v1alpha1 keeps spec.host.
      const mine = JSON.parse(await ok(asAgent(['get', 'serviceendpoints', '-A', '--field-selector', 'spec.hostRef.name=hv1', '-o', 'json']))) as { items: { metadata: { name: string } }[] };
      expect(mine.items.map((i) => i.metadata.name)).toEqual(['fw-hv1']);
      const mineAlpha = JSON.parse(await ok(asAgent(['get', 'serviceendpoints.v1alpha1.netform.io', '-A', '--field-selector', 'spec.host=hv1', '-o', 'json']))) as { items: { metadata: { name: string } }[] };
      expect(mineAlpha.items.map((i) => i.metadata.name)).toEqual(['fw-hv1']);
      await forbidden(asAgent(['patch', 'host', 'hv1', '--type=merge', '-p', '{"spec":{"lifecycle":{"syncPolicy":"Manual"}}}']));
      await forbidden(asAgent(['patch', 'network', 'tenant-a', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: conditionsStatus(1, true) })]));
      await forbidden(asAgent(['get', 'secret', 'openstack-credentials', '-n', NS]));
      await forbidden(asAgent(['get', 'provider', 'openstack']));
    });

    it("an agent writes only its own node's Host status (ValidatingAdmissionPolicy, CEL in the apiserver)", async () => {
      const patch = ['patch', 'host', 'hv1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: conditionsStatus(1, false) })];
      const other = await kube.kubectl(asAgentOf('hv2')(patch));
      expect(other.code).not.toBe(0);
      expect(other.stderr).toMatch(/denied request: a netform agent writes only the status of the Host named as its node \(hv2\), not of Host hv1/);
      const none = await kube.kubectl(asAgentOf(undefined)(patch));
      expect(none.code).not.toBe(0);
      expect(none.stderr).toMatch(/\(its token names no node\), not of Host hv1/);
      const hv1 = JSON.parse(await ok(['get', 'host', 'hv1', '-o', 'json']));
      expect(hv1.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True'); // unchanged
      await ok(asAgent(patch));
      // The controller (another account) is not bound by it.
      await ok(asController(['patch', 'host', 'hv1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: conditionsStatus(1, true) })]));
    });
  });

  describe('manifests/optional/shards: a sharded controller with only its ServiceAccount\'s rights', () => {
    let c: ControllerProcess | undefined;
    afterAll(async () => {
      await stopProcess(c);
    });

    it('without the Component\'s Role it may not list Leases; with it, `netform controller --shards 2` run with the netform-controller token takes both shards', async () => {
      expect(await canI(CONTROLLER, `list leases.coordination.k8s.io -n ${NS}`)).toBe('no');
      await ok(['apply', '-f', `${MANIFESTS}/optional/shards/rbac.yaml`]);
      for (const check of [`list leases.coordination.k8s.io -n ${NS}`, `update leases.coordination.k8s.io/netform-controller-member-0123456789ab -n ${NS}`]) {
        expect(await canI(CONTROLLER, check), check).toBe('yes');
      }
      expect(await canI(CONTROLLER, `list leases.coordination.k8s.io -n default`)).toBe('no');
      // Delete, for the membership Leases of replicas gone (RBAC cannot name a prefix): in its namespace only.
      expect(await canI(CONTROLLER, `delete leases.coordination.k8s.io/netform-controller-member-0123456789ab -n ${NS}`)).toBe('yes');
      expect(await canI(CONTROLLER, `delete leases.coordination.k8s.io -n default`)).toBe('no');
      const kubeconfig = await serviceAccountKubeconfig(kube, 'netform-controller', NS);
      c = startController(kube, 'shards-sa', ['--shards', '2', '--ui', 'off'], {}, kubeconfig);
      await waitFor('both shards held', async () => (c!.logs().filter((l) => /^shard \d gained$/.test(String(l.msg))).length >= 2 ? true : undefined), 90_000);
      const leases = JSON.parse(await ok(['get', 'leases', '-n', NS, '-o', 'json'])) as { items: { metadata: { name: string }; spec: { holderIdentity?: string } }[] };
      const held = leases.items.filter((l) => /^netform-controller-shard-\d$/.test(l.metadata.name)).map((l) => [l.metadata.name, l.spec.holderIdentity]);
      expect(held.sort()).toEqual([
        ['netform-controller-shard-0', 'shards-sa'],
        ['netform-controller-shard-1', 'shards-sa'],
      ]);
      expect(leases.items.some((l) => l.metadata.name.startsWith('netform-controller-member-'))).toBe(true);
      // No Lease request of the sharding was refused.
      expect(c.logs().filter((l) => /lease/i.test(JSON.stringify(l)) && /forbidden|403/i.test(JSON.stringify(l)))).toEqual([]);
    }, 180_000);
  });
});

// manifests/ rendered by the real kustomize (the one in kubectl, as `kubectl apply -k` uses it):
// the CRDs are crds/*.yaml unchanged and complete, the workloads keep the command lines, probes and
// privileges the controller and agent are built for, RBAC has no wildcard and keeps Secrets to
// `get` in the controller's namespace, and an overlay can move the namespace and the image.
// test/kube/manifests.test.ts applies the same to a real apiserver.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll, load } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { validateSpec } from '../../src/api/validate.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MANIFESTS = join(ROOT, 'manifests');
const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = `ghcr.io/netform/netform:${VERSION}`;
const NS = 'netform-system';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };
// deliberately loose: the tests poke into rendered workloads and RBAC objects
type Any = any;

function kustomize(dir: string): Obj[] {
  const r = spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`cannot run ${KUBECTL}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} exited ${r.status}: ${r.stderr}`);
  return loadAll(r.stdout).filter(Boolean) as Obj[];
}

const rendered = kustomize(MANIFESTS);
const find = (kind: string, name: string): Any => {
  const o = rendered.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in kubectl kustomize manifests/`);
  return o;
};
const crdFiles = readdirSync(join(ROOT, 'crds')).filter((f) => f.endsWith('.yaml')).sort();
const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
/** Cluster-scoped kinds kustomize's built-in schema does not know, so its namespace transformer gives
 *  them a namespace; kubectl apply sends them cluster-scoped all the same (test/kube/manifests.test.ts
 *  applies manifests/ and reads them back). */
const CLUSTER_SCOPED_UNKNOWN_TO_KUSTOMIZE = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

describe('kubectl kustomize manifests/', () => {
  it('includes every CRD of crds/ exactly as written there (crds/Kustomization lists them all)', () => {
    const crds = rendered.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.map((c) => `${c.metadata.name}.yaml`).sort()).toEqual(crdFiles);
    for (const f of crdFiles) {
      const source = load(readFileSync(join(ROOT, 'crds', f), 'utf8'));
      expect(crds.find((c) => `${c.metadata.name}.yaml` === f), f).toEqual(source);
    }
  });

  it('puts every namespaced object into netform-system, which enforces the privileged Pod Security level', () => {
    for (const o of rendered) {
      if (CLUSTER_SCOPED_UNKNOWN_TO_KUSTOMIZE.has(o.kind)) continue;
      if (CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NS);
    }
    expect(find('Namespace', NS).metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  it('runs the image of this version, ghcr.io/netform/netform:<package.json version>', () => {
    const images = rendered.flatMap((o: Any) => (o.spec?.template?.spec?.containers ?? []).map((c: Any) => c.image));
    expect(images).toEqual([IMAGE, IMAGE]);
  });

  it('runs the controller as `netform controller` with leader election, 2 replicas, probes on 8080, locked down', () => {
    const d = find('Deployment', 'netform-controller');
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template.spec;
    expect(pod.serviceAccountName).toBe('netform-controller');
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const [c, ...more] = pod.containers;
    expect(more).toEqual([]);
    expect(c.args).toEqual(['controller', '--namespace=$(POD_NAMESPACE)', '--leader-elect', '--listen=0.0.0.0:8080', '--webhook=0.0.0.0:9443', '--webhook-cert-secret=netform-webhook-cert']);
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    expect(env).toEqual({ POD_NAMESPACE: 'metadata.namespace', POD_NAME: 'metadata.name' });
    expect(c.ports).toEqual([
      { name: 'http-metrics', containerPort: 8080, protocol: 'TCP' },
      { name: 'webhook', containerPort: 9443, protocol: 'TCP' },
    ]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.securityContext.capabilities.add).toBeUndefined();
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    // the PDB and the metrics Service select exactly the controller's pods
    const labels = d.spec.template.metadata.labels;
    const selects = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    expect(selects(find('PodDisruptionBudget', 'netform-controller').spec.selector.matchLabels)).toBe(true);
    const svc = find('Service', 'netform-controller-metrics');
    expect(selects(svc.spec.selector)).toBe(true);
    expect(svc.spec.ports).toEqual([{ name: 'http-metrics', port: 8080, targetPort: 'http-metrics', protocol: 'TCP' }]);
    expect(svc.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' });
    const agentLabels = find('DaemonSet', 'netform-agent').spec.template.metadata.labels;
    expect(Object.entries(svc.spec.selector).every(([k, v]) => agentLabels[k] === v)).toBe(false);
  });

  it('runs the agent on every node on the host network with NET_ADMIN and NET_RAW only', () => {
    const ds = find('DaemonSet', 'netform-agent');
    const pod = ds.spec.template.spec;
    expect(pod.serviceAccountName).toBe('netform-agent');
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.hostPID).toBeUndefined();
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    const [c, ...more] = pod.containers;
    expect(more).toEqual([]);
    expect(c.args).toEqual(['agent', '--cluster', '--host=$(NODE_NAME)']);
    expect(c.env.find((e: Any) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    expect(c.securityContext.privileged).toBe(false);
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    const volumes = Object.fromEntries(pod.volumes.map((v: Any) => [v.name, v]));
    const mounts = Object.fromEntries(c.volumeMounts.map((m: Any) => [m.mountPath, m]));
    expect(volumes[mounts['/var/run/openvswitch'].name].hostPath.path).toBe('/var/run/openvswitch');
    const sys = mounts['/host/sys'];
    expect(volumes[sys.name].hostPath.path).toBe('/sys');
    expect(sys.readOnly).toBe(true);
    // the agent finds sysfs where it is mounted
    expect(c.env.find((e: Any) => e.name === 'NETFORM_SYSFS').value).toBe('/host/sys');
    // every hostPath mount other than the OVS socket directory is read-only
    for (const m of c.volumeMounts) if (volumes[m.name].hostPath) expect(m.readOnly, m.mountPath).toBe(true);
  });

  it('has no wildcard in any RBAC rule, keeps Secrets to `get` in netform-system and Leases to its own', () => {
    const rules = rendered
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .flatMap((o: Any) => o.rules.map((r: Any) => ({ ...r, in: `${o.kind}/${o.metadata.name}`, ns: o.metadata.namespace })));
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
        for (const v of r[field] ?? []) expect(v, `${r.in} ${field}`).not.toContain('*');
      }
    }
    const secretRules = rules.filter((r: Any) => r.resources.includes('secrets'));
    expect(secretRules).toEqual([
      expect.objectContaining({ in: 'Role/netform-controller', ns: NS, verbs: ['get'] }),
      // The webhooks' certificate: create one, then read and renew that one only.
      expect.objectContaining({ in: 'Role/netform-webhook', ns: NS, verbs: ['create'] }),
      expect.objectContaining({ in: 'Role/netform-webhook', ns: NS, resourceNames: ['netform-webhook-cert'], verbs: ['get', 'update'] }),
    ]);
    // The CRDs: only netform's, only to write the conversion webhook's caBundle.
    const crdRules = rules.filter((r: Any) => r.resources.includes('customresourcedefinitions'));
    expect(crdRules).toEqual([expect.objectContaining({ in: 'ClusterRole/netform-conversion', verbs: ['get', 'update'] })]);
    expect([...crdRules[0].resourceNames].sort()).toEqual(crdFiles.map((f) => f.replace(/\.yaml$/, '')).filter((n) => n.endsWith('.netform.io')));
    const leaseRules = rules.filter((r: Any) => r.resources.includes('leases'));
    for (const r of leaseRules) {
      expect(r.ns).toBe(NS);
      if (!r.verbs.every((v: string) => v === 'create')) expect(r.resourceNames).toEqual(['netform-controller']);
    }
    // the agent writes no spec and no status but hosts/status
    const agent = rules.filter((r: Any) => r.in === 'ClusterRole/netform-agent');
    const writes = agent.filter((r: Any) => r.verbs.some((v: string) => !['get', 'list', 'watch'].includes(v)));
    expect(writes.flatMap((r: Any) => r.resources)).toEqual(['hosts/status']);
  });

  it('binds each ServiceAccount to its own roles', () => {
    const bindings = rendered.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') as Any[];
    // The webhooks' roles are the controller's (it serves them).
    const account = (role: string) => (role === 'netform-webhook' || role === 'netform-conversion' ? 'netform-controller' : role);
    for (const b of bindings) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: account(b.roleRef.name), namespace: NS }]);
      expect(rendered.some((o) => o.kind === b.roleRef.kind && o.metadata.name === b.roleRef.name)).toBe(true);
      expect(rendered.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === account(b.roleRef.name))).toBe(true);
    }
    expect(bindings.map((b) => `${b.kind}/${b.metadata.name}`).sort()).toEqual([
      'ClusterRoleBinding/netform-agent',
      'ClusterRoleBinding/netform-controller',
      'ClusterRoleBinding/netform-conversion',
      'RoleBinding/netform-controller',
      'RoleBinding/netform-webhook',
    ]);
  });

  it("sends the CRDs' conversions (v1alpha1 <-> v1beta1) to the controller's webhook Service, which selects its pods", () => {
    const d = find('Deployment', 'netform-controller');
    const svc = find('Service', 'netform-webhook');
    const labels = d.spec.template.metadata.labels;
    expect(Object.entries(svc.spec.selector).every(([k, v]) => labels[k] === v)).toBe(true);
    expect(svc.spec.ports).toEqual([{ name: 'webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' }]);
    const crds = rendered.filter((o) => o.kind === 'CustomResourceDefinition') as Any[];
    expect(crds.length).toBe(crdFiles.filter((f) => f.endsWith('.netform.io.yaml')).length);
    for (const crd of crds) {
      expect(crd.spec.conversion, crd.metadata.name).toEqual({
        strategy: 'Webhook',
        webhook: { conversionReviewVersions: ['v1'], clientConfig: { service: { namespace: NS, name: svc.metadata.name, path: '/convert', port: 443 } } },
      });
      const versions = Object.fromEntries(crd.spec.versions.map((v: Any) => [v.name, v]));
      expect(versions.v1beta1).toMatchObject({ served: true, storage: true });
      expect(versions.v1alpha1).toMatchObject({ served: true, storage: false, deprecated: true });
    }
  });

  describe('an overlay', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netform-overlay-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('can move everything to another namespace and image', () => {
      writeFileSync(
        join(dir, 'kustomization.yaml'),
        [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          'namespace: netform-prod',
          'resources:',
          `  - ${relative(dir, MANIFESTS)}`,
          'images:',
          '  - name: ghcr.io/netform/netform',
          '    newName: registry.example.net/mirror/netform',
          '    newTag: 9.9.9',
          '',
        ].join('\n'),
      );
      const out = kustomize(dir) as Any[];
      expect(out.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)).toEqual(['netform-prod']);
      const images = out.flatMap((o) => (o.spec?.template?.spec?.containers ?? []).map((c: Any) => c.image));
      expect(images).toEqual(['registry.example.net/mirror/netform:9.9.9', 'registry.example.net/mirror/netform:9.9.9']);
      for (const b of out.filter((o) => o.kind.endsWith('Binding') && o.subjects)) expect(b.subjects[0].namespace).toBe('netform-prod');
      for (const o of out) if (!CLUSTER_SCOPED.has(o.kind) && !CLUSTER_SCOPED_UNKNOWN_TO_KUSTOMIZE.has(o.kind)) expect(o.metadata.namespace).toBe('netform-prod');
    });
  });
});

/** manifests/ rendered through an overlay that adds the Component manifests/optional/NAME. */
function withComponent(name: string): Any[] {
  const dir = mkdtempSync(join(tmpdir(), `nf-kustomize-${name}-`));
  try {
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [${relative(dir, MANIFESTS)}]\ncomponents: [${relative(dir, join(MANIFESTS, 'optional', name))}]\n`,
    );
    return kustomize(dir) as Any[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('manifests/optional/webhook (a Component)', () => {
  const out = withComponent('webhook');
  const get = (kind: string, name: string): Any => out.find((o) => o.kind === kind && o.metadata.name === name);

  it('adds the configuration and the rights, and the controller serves it with the names they use', () => {
    const deploy = get('Deployment', 'netform-controller');
    const c = deploy.spec.template.spec.containers[0];
    const arg = (flag: string) => (c.args as string[]).find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
    const vwc = get('ValidatingWebhookConfiguration', 'netform');
    const svc = get('Service', 'netform-webhook');
    expect(arg('--webhook')).toBe('0.0.0.0:9443');
    expect(arg('--webhook-configuration')).toBe(vwc.metadata.name);
    expect(arg('--webhook-cert-secret')).toBe('netform-webhook-cert');
    // The Service reaches the container's webhook port on the controller's pods; the certificate's
    // default name (netform-webhook.<namespace>.svc) is the Service's.
    expect(c.ports.find((p: Any) => p.name === 'webhook')).toEqual({ name: 'webhook', containerPort: 9443, protocol: 'TCP' });
    expect(svc.spec.ports[0].targetPort).toBe('webhook');
    expect(Object.entries(svc.spec.selector).every(([k, v]) => deploy.spec.template.metadata.labels[k] === v)).toBe(true);
    const [hook, ...more] = vwc.webhooks;
    expect(more).toEqual([]);
    expect(hook.clientConfig.service).toEqual({ name: svc.metadata.name, namespace: NS, path: '/validate', port: 443 });
    expect(hook.failurePolicy).toBe('Fail');
    expect(hook.sideEffects).toBe('None');
    // Creates and updates of netform's kinds only: never deletions, other groups or subresources.
    expect(hook.rules).toEqual([{ apiGroups: ['netform.io'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['*'], scope: '*' }]);
  });

  it("gives the controller its configuration, by name, and nothing more (the Secret is the base's)", () => {
    expect(get('ClusterRole', 'netform-webhook').rules).toEqual([
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: ['netform'], verbs: ['get', 'update'] },
    ]);
    expect(get('ClusterRoleBinding', 'netform-webhook').subjects).toEqual([{ kind: 'ServiceAccount', name: 'netform-controller', namespace: NS }]);
    // Everything else is manifests/ as it is.
    expect(out.length).toBe(rendered.length + 3);
  });
});

describe('manifests/optional/shards (a Component)', () => {
  const out = withComponent('shards');

  it('runs 3 replicas with --shards=4 instead of --leader-elect, and may list, read, renew and delete Leases in its namespace only', () => {
    const deploy = out.find((o) => o.kind === 'Deployment' && o.metadata.name === 'netform-controller');
    const args = deploy.spec.template.spec.containers[0].args as string[];
    expect(deploy.spec.replicas).toBe(3);
    expect(args).toContain('--shards=4');
    expect(args).not.toContain('--leader-elect');
    expect(args.slice(0, 2)).toEqual(find('Deployment', 'netform-controller').spec.template.spec.containers[0].args.slice(0, 2));
    const role = out.find((o) => o.kind === 'Role' && o.metadata.name === 'netform-shards');
    expect(role.metadata.namespace).toBe(NS);
    expect(role.rules).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['list', 'get', 'update', 'delete'] }]);
    const binding = out.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'netform-shards');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'netform-controller', namespace: NS }]);
    expect(out.length).toBe(rendered.length + 2);
  });
});

describe('manifests/optional and manifests/examples', () => {
  it('the ServiceMonitor scrapes the metrics Service port', () => {
    const [sm, ...more] = kustomize(join(MANIFESTS, 'optional/servicemonitor')) as Any[];
    expect(more).toEqual([]);
    expect(sm.kind).toBe('ServiceMonitor');
    const svc = find('Service', 'netform-controller-metrics');
    expect(Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels[k] === v)).toBe(true);
    expect(sm.spec.endpoints.map((e: Any) => e.port)).toEqual([svc.spec.ports[0].name]);
  });

  it('the example Provider is valid and reads the example Secret, whose keys the Neutron driver knows', () => {
    const docs = loadAll(readFileSync(join(MANIFESTS, 'examples/neutron-provider.yaml'), 'utf8')) as Any[];
    const secret = docs.find((d) => d.kind === 'Secret');
    const provider = docs.find((d) => d.kind === 'Provider');
    expect(provider.apiVersion).toBe('netform.io/v1beta1');
    expect(validateSpec('Provider', provider.spec, 'v1beta1').violations).toEqual([]);
    expect(provider.spec.connection.credentials.secretRef).toEqual({ name: secret.metadata.name });
    expect(secret.metadata.namespace).toBe(NS);
    // every key is one src/drivers/neutron/client.ts reads, and every value is a visible placeholder
    const driver = readFileSync(join(ROOT, 'src/drivers/neutron/client.ts'), 'utf8');
    for (const [k, v] of Object.entries(secret.stringData as Record<string, string>)) {
      expect(driver, k).toMatch(new RegExp(`\\bc\\.${k}\\b`));
      expect(v === 'REPLACE-ME' || v === 'Default', `${k}: ${v}`).toBe(true);
    }
  });
});

// Issue 16, first steps, on the real kube-apiserver: the validating webhook's server and decision
// (src/adapters/kube/webhook-server.ts, admission-review.ts) registered with a
// ValidatingWebhookConfiguration (clientConfig.url on loopback, the self-signed certificate as the
// caBundle). `kubectl apply` of a network clashing on a VLAN, or with a dangling providerRef, is refused
// with the field and the reason, and nothing is stored; deletions and status writes are never sent to
// it; with the webhook down, failurePolicy Fail refuses creates and updates and still lets deletions
// through. First with the decision reading the objects through kubectl, then served by `netform
// controller --webhook` from its informers, with the caBundle of its self-signed certificate written
// into the configuration by the controller.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiObject } from '../../src/api/objects.ts';
import { reviewAdmission } from '../../src/adapters/kube/admission-review.ts';
import { selfSignedServingCert } from '../../src/adapters/kube/webhook-cert.ts';
import { startWebhookServer, type WebhookServer } from '../../src/adapters/kube/webhook-server.ts';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import { createServer } from 'node:net';
import { conversionWebhook, getObj, installCrds, ok, useConversionWebhook, startController, stopProcess, waitFor, type ControllerProcess } from './support.ts';

let kube: KubeCluster;
let server: WebhookServer | undefined;
let reviews = 0;

const doc = (kind: string, name: string, spec: string, ns?: string) =>
  `apiVersion: netform.io/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}${ns ? `, namespace: ${ns}` : ''}}\nspec: ${spec}\n`;

async function everything(): Promise<ApiObject[]> {
  const out = await ok(kube, ['get', 'providers,networks,vlanpools,clusters,hosts,vnicattachments', '-A', '-o', 'json']);
  return (JSON.parse(out) as { items: ApiObject[] }).items;
}

/** A ValidatingWebhookConfiguration calling loopback `port` for CREATE/UPDATE of netform's kinds
 *  (failurePolicy Fail); without `caPem`, the controller writes the caBundle. */
function webhookConfiguration(name: string, port: number, caPem?: string): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: ${name}}
webhooks:
  - name: validate.netform.io
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10
    clientConfig:
      url: https://127.0.0.1:${port}/validate${caPem ? `\n      caBundle: ${Buffer.from(caPem).toString('base64')}` : ''}
    rules:
      - {apiGroups: [netform.io], apiVersions: ['*'], operations: [CREATE, UPDATE], resources: ['*'], scope: '*'}
`;
}

beforeAll(async () => {
  kube = await startKube();
  await installCrds(kube);
  const cert = selfSignedServingCert({ dnsNames: ['netform-webhook.netform-system.svc'], ipAddresses: ['127.0.0.1'] });
  server = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    cert,
    log: pino({ level: 'silent' }),
    validate: async (review) => {
      reviews++;
      return reviewAdmission(review, await everything());
    },
  });
  await ok(kube, ['apply', '-f', '-'], webhookConfiguration('netform-test', server.port, cert.certPem));
  await ok(kube, ['apply', '-f', '-'], doc('Provider', 'os', '{type: neutron, endpoint: "https://neutron.example:9696", neutron: {auth: noauth}}'));
  await ok(kube, ['apply', '-f', '-'], doc('Network', 'web', '{physicalNetwork: physnet1, vlan: {id: 100}, providerRefs: [{name: os}]}'));
}, 600_000);

afterAll(async () => {
  await server?.close();
  await kube?.stop();
});

describe('validating webhook on the real apiserver', () => {
  it('kubectl apply of a VLAN clash and of a dangling providerRef is refused with the field and reason; nothing is stored', async () => {
    const before = reviews;
    const clash = await kube.kubectl(['apply', '-f', '-'], doc('Network', 'db', '{physicalNetwork: physnet1, vlan: {id: 100}}'));
    expect(clash.code).not.toBe(0);
    // A 422 with causes: kubectl prints the apiserver's "is invalid" with each cause's field and reason.
    expect(clash.stderr).toMatch(/The request is invalid: spec\.vlan\.id: VLAN 100 on physnet1 is already claimed by network "web"/);
    expect(await getObj(kube, 'networks.netform.io', 'db')).toBeUndefined();
    const dangling = await kube.kubectl(['apply', '-f', '-'], doc('Network', 'db', '{physicalNetwork: physnet1, vlan: {id: 101}, providerRefs: [{name: nope}]}'));
    expect(dangling.code).not.toBe(0);
    expect(dangling.stderr).toMatch(/The request is invalid: spec\.providerRefs\[0\]\.name: .*nope/);
    expect(await getObj(kube, 'networks.netform.io', 'db')).toBeUndefined();
    expect(reviews - before).toBe(2);
    // The same network on a free VLAN is admitted.
    await ok(kube, ['apply', '-f', '-'], doc('Network', 'db', '{physicalNetwork: physnet1, vlan: {id: 101}, providerRefs: [{name: os}]}'));
    expect((await getObj(kube, 'networks.netform.io', 'db'))?.spec).toMatchObject({ vlan: { id: 101 } });
  });

  it('kubectl apply of a cross-tenant attachment (a vNIC in a namespace the network is not open to) is refused; one in an allowed namespace goes through', async () => {
    await ok(kube, ['apply', '-f', '-'], doc('Network', 'tenant-a-net', '{physicalNetwork: physnet1, vlan: {id: 120}, allowedNamespaces: [tenant-a]}'));
    await ok(kube, ['apply', '-f', '-'], doc('Cluster', 'c1', '{networks: [{name: tenant-a-net}]}'));
    await ok(kube, ['apply', '-f', '-'], doc('Host', 'hv1', '{cluster: c1, nics: [{name: eth0}]}'));
    for (const ns of ['tenant-a', 'tenant-b']) await ok(kube, ['create', 'namespace', ns]);
    const vnic = (ns: string) => doc('VnicAttachment', 'vm1-nic1', '{vm: {name: vm1}, interfaceName: nic1, network: tenant-a-net, host: hv1}', ns);
    const cross = await kube.kubectl(['apply', '-f', '-'], vnic('tenant-b'));
    expect(cross.code).not.toBe(0);
    expect(cross.stderr).toContain('The request is invalid: spec.network: Network "tenant-a-net" is neither shared nor open to namespace "tenant-b"');
    expect(await getObj(kube, 'vnicattachments.netform.io', 'vm1-nic1', 'tenant-b')).toBeUndefined();
    await ok(kube, ['apply', '-f', '-'], vnic('tenant-a'));
    expect(await getObj(kube, 'vnicattachments.netform.io', 'vm1-nic1', 'tenant-a')).toBeDefined();
  });

  it('status writes and deletions are not sent to it; with it down, creates are refused (failurePolicy Fail) and deletions go through', async () => {
    const before = reviews;
    await ok(kube, ['patch', 'networks.netform.io', 'db', '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":1}}']);
    expect(reviews).toBe(before);
    await server!.close();
    server = undefined;
    const down = await kube.kubectl(['apply', '-f', '-'], doc('Network', 'app', '{physicalNetwork: physnet1, vlan: {id: 102}}'));
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/failed calling webhook "validate\.netform\.io"/);
    expect(await getObj(kube, 'networks.netform.io', 'app')).toBeUndefined();
    await ok(kube, ['delete', 'networks.netform.io', 'db', '--wait=false']);
    expect(await getObj(kube, 'networks.netform.io', 'db')).toBeUndefined();
  });
});

/** A loopback port free now (the webhook's URL must be known before the controller starts). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('netform controller --webhook', () => {
  let controller: ControllerProcess | undefined;
  afterAll(async () => {
    await stopProcess(controller);
  });

  it('serves the webhook from its informers and writes its certificate into the configuration; kubectl apply of a clash is refused', async () => {
    await ok(kube, ['delete', 'validatingwebhookconfiguration', 'netform-test', '--ignore-not-found']);
    const port = await freePort();
    await ok(kube, ['apply', '-f', '-'], webhookConfiguration('netform-ctl', port));
    await ok(kube, ['create', 'namespace', 'netform-system']);
    // One CRD sends its conversions to the Service of manifests/, as in a cluster (the others to this
    // process, as the harness set them): the controller writes its CA into that one only.
    const harness = await conversionWebhook();
    await ok(kube, ['patch', 'crd', 'vlanpools.netform.io', '--type=merge', '-p', JSON.stringify({ spec: { conversion: { webhook: { clientConfig: { url: null, caBundle: null, service: { namespace: 'netform-system', name: 'netform-webhook', path: '/convert', port: 443 } } } } } })]);
    controller = startController(kube, 'webhook-a', ['--webhook', `127.0.0.1:${port}`, '--webhook-configuration', 'netform-ctl', '--ui', 'off']);
    await waitFor('the caBundle written', async () => (await ok(kube, ['get', 'validatingwebhookconfiguration', 'netform-ctl', '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}'])).length > 100, 60_000);
    const vwcCa = await ok(kube, ['get', 'validatingwebhookconfiguration', 'netform-ctl', '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}']);
    const crdCa = (crd: string) => ok(kube, ['get', 'crd', crd, '-o', 'jsonpath={.spec.conversion.webhook.clientConfig.caBundle}']);
    await waitFor("the conversion caBundle written into the CRD that names the controller's Service", async () => (await crdCa('vlanpools.netform.io')) === vwcCa || undefined, 30_000);
    expect(await crdCa('networks.netform.io')).toBe(harness.caBundle);
    await useConversionWebhook(kube);
    // Until the informers have synced it answers 500 (failurePolicy Fail refuses); then it decides.
    const clash = await waitFor('a decision, not a failure', async () => {
      const r = await kube.kubectl(['apply', '-f', '-'], doc('Network', 'ctl-clash', '{physicalNetwork: physnet1, vlan: {id: 100}}'));
      return /failed calling webhook/.test(r.stderr) ? undefined : r;
    }, 60_000);
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toMatch(/The request is invalid: spec\.vlan\.id: VLAN 100 on physnet1 is already claimed by network "web"/);
    expect(await getObj(kube, 'networks.netform.io', 'ctl-clash')).toBeUndefined();
    await ok(kube, ['apply', '-f', '-'], doc('Network', 'ctl-ok', '{physicalNetwork: physnet1, vlan: {id: 110}}'));
    expect(await getObj(kube, 'networks.netform.io', 'ctl-ok')).toBeDefined();
    expect(controller.logs().some((l) => l.msg === 'admission refused' && String(l.reason).includes('spec.vlan.id'))).toBe(true);
  });
});

/** Two webhooks in one configuration, one per replica (loopback ports): every admission calls both. */
function twoReplicaConfiguration(name: string, ports: readonly number[]): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: ${name}}
webhooks:
${ports
  .map(
    (port, i) => `  - name: replica-${i}.validate.netform.io
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10
    clientConfig:
      url: https://127.0.0.1:${port}/validate
    rules:
      - {apiGroups: [netform.io], apiVersions: ['*'], operations: [CREATE, UPDATE], resources: ['*'], scope: '*'}
`,
  )
  .join('')}`;
}

describe('netform controller --webhook-cert-secret: two replicas, one certificate, renewals that fail no admission', () => {
  let a: ControllerProcess | undefined;
  let b: ControllerProcess | undefined;
  afterAll(async () => {
    await Promise.all([stopProcess(a), stopProcess(b)]);
  });

  it('both replicas serve the Secret\'s certificate; while it is renewed every few seconds, every kubectl apply is decided', async () => {
    await ok(kube, ['delete', 'validatingwebhookconfiguration', 'netform-test', 'netform-ctl', '--ignore-not-found']);
    await ok(kube, ['create', 'namespace', 'netform-system', '--dry-run=client', '-o', 'yaml']).then((y) => ok(kube, ['apply', '-f', '-'], y));
    const ports = [await freePort(), await freePort()];
    await ok(kube, ['apply', '-f', '-'], twoReplicaConfiguration('netform-rot', ports));
    // A renewal always due (renew-before beyond the validity): one every grace time (3 s), each
    // replica checking the Secret every second.
    const flags = (port: number) => ['--webhook', `127.0.0.1:${port}`, '--webhook-configuration', 'netform-rot', '--webhook-cert-secret', 'netform-webhook-cert', '--webhook-cert-renew-before', '400', '--webhook-cert-grace', '3', '--webhook-cert-check', '1', '--ui', 'off'];
    // One admission per connection: every apply is a new TLS handshake, checked against the caBundle
    // of that moment (a kept-alive connection would keep its first certificate and hide a bad order).
    const env = { NETFORM_WEBHOOK_MAX_REQUESTS_PER_SOCKET: '1' };
    a = startController(kube, 'rot-a', flags(ports[0]!), env);
    b = startController(kube, 'rot-b', flags(ports[1]!), env);
    const secretCert = async () => Buffer.from(await ok(kube, ['get', 'secret', '-n', 'netform-system', 'netform-webhook-cert', '-o', 'jsonpath={.data.tls\\.crt}']), 'base64').toString();
    await waitFor('the Secret made', async () => (await secretCert()).includes('BEGIN CERTIFICATE'), 60_000);
    // The first decision (until both have synced their informers, a replica answers 500).
    let n = 0;
    const apply = async () => {
      n++;
      return kube.kubectl(['apply', '-f', '-'], doc('Network', `rot-${n}`, `{physicalNetwork: physnet2, vlan: {id: ${1000 + n}}}`));
    };
    await waitFor('a first decision', async () => ((await apply()).code === 0 ? true : undefined), 60_000);
    const first = n;
    // Then for 25 s: every apply goes through both replicas' webhooks while the certificate changes.
    const failures: string[] = [];
    const seen = new Set<string>();
    const until = Date.now() + 25_000;
    while (Date.now() < until) {
      const r = await apply();
      if (r.code !== 0) failures.push(r.stderr.trim());
      seen.add(await secretCert());
    }
    process.stdout.write(`[webhook renewal] ${n - first} kubectl applies in 25 s, ${seen.size} certificates in the Secret, ${failures.length} failed\n`);
    expect(failures).toEqual([]);
    expect(n).toBeGreaterThan(10);
    // The certificate served changed several times in that window, in both replicas.
    expect(seen.size).toBeGreaterThanOrEqual(3);
    for (const c of [a, b]) expect(c.logs().filter((l) => String(l.msg).startsWith('webhook certificate renewed')).length).toBeGreaterThanOrEqual(2);
    // A clash is still refused, with the field and reason, by the renewed replicas.
    const clash = await kube.kubectl(['apply', '-f', '-'], doc('Network', 'rot-clash', `{physicalNetwork: physnet2, vlan: {id: ${1000 + first}}}`));
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toContain(`spec.vlan.id: VLAN ${1000 + first} on physnet2 is already claimed by network "rot-${first}"`);
    // The private key never reached a log.
    const key = Buffer.from(await ok(kube, ['get', 'secret', '-n', 'netform-system', 'netform-webhook-cert', '-o', 'jsonpath={.data.tls\\.key}']), 'base64').toString();
    const body = key.split('\n').find((l) => l.length > 40)!;
    for (const c of [a, b]) expect(c.output().stderr.includes(body)).toBe(false);
  }, 180_000);
});

// Helpers for cluster-mode tests on the real kube-apiserver: kubectl that must succeed, typed reads,
// conditions, and `netform controller` / `netform agent --cluster` as real processes.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli, waitFor, type Spawned } from '../support/cli.ts';
import { writeArtifact } from '../support/secrets.ts';
import type { KubeCluster } from '../harness/kube/cluster.ts';
import { loadCrds } from '../../src/api/crds.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CRDS = `${ROOT}crds/`;

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; uid?: string; finalizers?: string[]; deletionTimestamp?: string; resourceVersion?: string };
  spec?: Record<string, unknown>;
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }[]; [k: string]: unknown };
}

/** kubectl that must succeed; a failure carries its output. */
export async function ok(kube: KubeCluster, args: string[], input?: string): Promise<string> {
  const r = await kube.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The object, or undefined when it does not exist. */
export async function getObj(kube: KubeCluster, resource: string, name: string, namespace?: string): Promise<Obj | undefined> {
  const r = await kube.kubectl(['get', resource, name, '-o', 'json', ...(namespace ? ['-n', namespace] : [])]);
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${resource} ${name}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as Obj;
}

export function condition(o: Obj | undefined, type: string) {
  return o?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until our CRDs are served. */
async function crdsEstablished(kube: KubeCluster): Promise<void> {
  const names = readdirSync(CRDS).filter((f) => f.endsWith('.netform.io.yaml')).map((f) => `crd/${f.replace(/\.yaml$/, '')}`);
  await ok(kube, ['wait', '--for=condition=Established', '--timeout=60s', ...names]);
}

/** Installs the CRDs, points their conversion webhook at this process's (conversionWebhook) and waits
 *  until they are served. */
export async function installCrds(kube: KubeCluster): Promise<void> {
  await ok(kube, ['apply', '-f', CRDS]);
  await useConversionWebhook(kube);
  await crdsEstablished(kube);
}

let conversion: Promise<{ url: string; caBundle: string }> | undefined;

/**
 * netform's conversion webhook (the controller's /convert, webhook-server.ts with conversion-review.ts),
 * served by this test process on loopback: the CRDs store v1beta1, so every read or write of v1alpha1
 * (most fixtures here) goes through it. A cluster has the controller's Service; a test has no pods.
 */
export function conversionWebhook(): Promise<{ url: string; caBundle: string }> {
  conversion ??= (async () => {
    const [{ selfSignedServingCert }, { startWebhookServer }, { pino }] = await Promise.all([
      import('../../src/adapters/kube/webhook-cert.ts'),
      import('../../src/adapters/kube/webhook-server.ts'),
      import('pino'),
    ]);
    const cert = selfSignedServingCert({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const server = await startWebhookServer({ host: '127.0.0.1', port: 0, cert, log: pino({ level: 'warn' }), unref: true });
    return { url: `https://127.0.0.1:${server.port}/convert`, caBundle: Buffer.from(cert.certPem).toString('base64') };
  })();
  return conversion;
}

/** Points every netform CRD's conversion webhook at conversionWebhook() (in place of the Service of
 *  manifests/, which has no pods here). */
export async function useConversionWebhook(kube: KubeCluster): Promise<void> {
  const { url, caBundle } = await conversionWebhook();
  const patch = JSON.stringify({ spec: { conversion: { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v1'], clientConfig: { url, caBundle, service: null } } } } });
  const names = readdirSync(CRDS).filter((f) => f.endsWith('.netform.io.yaml')).map((f) => `crd/${f.replace(/\.yaml$/, '')}`);
  for (const n of names) await ok(kube, ['patch', n, '--type=merge', '-p', patch]);
}

export interface ControllerProcess extends Spawned {
  identity: string;
  /** Waits for the log line saying where /metrics is served; returns the base URL. */
  url(): Promise<string>;
  /** Log records (pino JSON lines on stderr) so far. */
  logs(): Record<string, unknown>[];
}

/** `netform controller` with the production drivers, as its own process. */
export function startController(kube: KubeCluster, identity: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}, kubeconfig = kube.kubeconfig): ControllerProcess {
  const p = startCli(
    ['controller', '--kubeconfig', kubeconfig, '--namespace', 'netform-system', '--listen', '127.0.0.1:0', '--identity', identity, ...extra],
    { real: true, env: { NETFORM_LOG_LEVEL: 'info', ...env } },
  );
  const logs = () =>
    p
      .output()
      .stderr.split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  return {
    ...p,
    identity,
    logs,
    url: async () => {
      const line = await waitFor(
        `${identity} to serve /metrics`,
        () => {
          if (p.child.exitCode !== null) throw new Error(`controller ${identity} exited ${p.child.exitCode}:\n${p.output().stderr}`);
          return logs().find((l) => typeof l.port === 'number');
        },
        30_000,
      );
      return `http://127.0.0.1:${line.port as number}`;
    },
  };
}

export async function stopProcess(p: Spawned | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  await p.result;
}

/** The holder of the controller's Lease. */
export async function leaseHolder(kube: KubeCluster, name = 'netform-controller'): Promise<string | undefined> {
  const r = await kube.kubectl(['get', 'lease', name, '-n', 'netform-system', '-o', 'jsonpath={.spec.holderIdentity}']);
  return r.code === 0 && r.stdout ? r.stdout : undefined;
}

export { waitFor };

/** Installs everything with `kubectl apply -k manifests/` (CRDs, namespace, RBAC, workloads that stay
 *  Pending here: there is no scheduler or kubelet) and waits for the CRDs. */
export async function installManifests(kube: KubeCluster): Promise<void> {
  await ok(kube, ['apply', '-k', `${ROOT}manifests/`]);
  await useConversionWebhook(kube);
  await crdsEstablished(kube);
}

/** A kubeconfig that authenticates as a ServiceAccount of manifests/ (a TokenRequest token), so the
 *  process runs with exactly the RBAC the manifests grant. With `node`, the token is bound to a Node
 *  of that name (made if missing; nothing runs it here): it names the node as a pod's token on that
 *  node does, which the agent's ValidatingAdmissionPolicy reads. */
export async function serviceAccountKubeconfig(kube: KubeCluster, account: string, namespace = 'netform-system', o: { node?: string } = {}): Promise<string> {
  if (o.node && (await kube.kubectl(['get', 'node', o.node])).code !== 0) {
    await ok(kube, ['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: o.node } }));
  }
  const bound = o.node ? ['--bound-object-kind', 'Node', '--bound-object-name', o.node] : [];
  const token = (await ok(kube, ['create', 'token', account, '-n', namespace, '--duration=2h', ...bound])).trim();
  const path = join(kube.dir, `${account}${o.node ? `-${o.node}` : ''}.kubeconfig`);
  const ca = Buffer.from(kube.caPem).toString('base64');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: test, cluster: {server: "${kube.server}", certificate-authority-data: ${ca}}}]`,
      `users: [{name: ${account}, user: {token: "${token}"}}]`,
      `contexts: [{name: ${account}, context: {cluster: test, user: ${account}}}]`,
      `current-context: ${account}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return path;
}

/** The statuses and Events users see, into the run's artifacts directory for the secrets scan
 *  (test/support/secrets.ts): every netform object and every Event, as YAML. Call at the end of a file
 *  that gives the controller a Secret. */
export async function dumpForSecretsScan(kube: KubeCluster, name: string): Promise<void> {
  const kinds = [...loadCrds().map((c) => `${c.plural}.netform.io`), 'events.events.k8s.io', 'events'].join(',');
  const r = await kube.kubectl(['get', kinds, '-A', '-o', 'yaml']);
  writeArtifact('kube', `${name}.yaml`, r.stdout + r.stderr);
  if (r.code !== 0) throw new Error(`kubectl get ${kinds}: ${r.stderr}`);
}

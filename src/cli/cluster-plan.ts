// Plans against a cluster's records (read-only): the records are the netform objects' statuses, kept
// in memory; the desired state is either those same objects (`kubectl netform plan`) or a directory
// of manifests (`netform plan --dir D --kubeconfig K`, a GitOps PR check). Provider credentials come
// from Secrets, as in cluster mode. Nothing is written: not to the cluster, not to a backend.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { HostStatus } from '../api/types.gen.ts';
import { Engine } from '../controllers/runtime/engine.ts';
import { reportFromStatus } from '../controllers/host/host.report.ts';
import { KIND_DEFINITIONS } from '../controllers/index.ts';
import type { HostReport } from '../drivers/host-driver.ts';
import { HostAgent } from '../drivers/host/agent.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import type { KubeClient } from '../adapters/kube/client.ts';
import { SecretCredentialSource } from '../adapters/kube/secrets.ts';
import { readCluster } from '../adapters/kube/snapshot.ts';
import { readManifests } from '../adapters/files/directory.ts';
import { admit, admitObjects } from '../state/admit.ts';
import type { AdmissionResult } from '../api/objects.ts';
import { admissionContext, MemoryRecords } from '../state/records.ts';
import { hostTarget } from './host-target.ts';
import { assemblePlan, type AssembledPlan } from './plan-output.ts';

export interface ClusterPlanOptions {
  client: KubeClient;
  config: Config;
  registry: DriverRegistry;
  log: Logger;
  /** The desired state from this directory of manifests; default: the cluster's own objects. */
  dir?: string;
  requireHostReports?: boolean;
}

/** In the text plan, why a host's changes are unknown. */
export const CLUSTER_UNKNOWN_HOST = 'no agent report with an observation of the host in its status';

/** An unreported host's message: what its status holds and why that is not enough to plan. */
export function clusterUnreported(host: string, report: HostReport | undefined): string {
  return report
    ? `the Host's status holds its agent's report of ${report.lastObservedTime} but no observation of the host (status.agent.observation; an agent older than this netform): its changes are unknown`
    : `no host agent has reported into the Host's status: its changes are unknown (run: netform agent --cluster --host ${host})`;
}

/** Reads the cluster once and plans; returns the plan and the admission (for its errors). */
export async function planAgainstCluster(o: ClusterPlanOptions): Promise<AssembledPlan & { admission: AdmissionResult }> {
  const snapshot = await readCluster(o.client);
  const records = new MemoryRecords(snapshot.records);
  const engine = new Engine({
    kinds: KIND_DEFINITIONS,
    records,
    registry: o.registry,
    credentials: new SecretCredentialSource({ client: o.client, namespace: o.config.namespace }),
    log: o.log,
    instance: o.config.instance,
    resyncMs: o.config.resyncMs,
    concurrency: o.config.concurrency,
    dryRun: true,
  });
  try {
    const ctx = admissionContext(records.list());
    const admission = o.dir ? admit(await readManifests([o.dir]), ctx) : admitObjects(snapshot.objects, ctx);
    engine.sync(admission);
    const reports = new Map<string, HostReport>();
    for (const h of snapshot.objects) {
      if (h.kind !== 'Host' || !h.metadata?.name) continue;
      const r = reportFromStatus(h.status as HostStatus | undefined);
      if (r) reports.set(h.metadata.name, r);
    }
    // Only the host driver's pure diff would be used: nothing on any host is read or changed.
    const hostDriver = new HostAgent({ target: hostTarget(o.config), instance: engine.rt.instance, log: o.log });
    const plan = await assemblePlan({ engine, admission, reports, hostDriver, requireHostReports: o.requireHostReports, unreported: clusterUnreported });
    return { ...plan, admission };
  } finally {
    await engine.stop();
  }
}

/** How to approve an object's pending plan with the kubectl plugin. */
export function kubectlApproveCommand(object: string, digest: string): string {
  const parts = object.split('/');
  const ref = parts.length === 3 ? `${parts[0]}/${parts[2]} -n ${parts[1]}` : object;
  return `kubectl netform approve ${ref} --plan ${digest}`;
}

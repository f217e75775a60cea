// Host: publishes which networks the host must carry. The host agent (netform agent --host NAME)
// converges the host and reports each network's sync state into the same status; until an agent
// has reported, the host is not Ready.
import type { Outcome } from '../../api/conditions.ts';
import { objectKey, parseKey } from '../../api/kinds.ts';
import type { HostReport } from '../../drivers/host-driver.ts';
import { defineKind } from '../runtime/kind.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { hostNetworks } from './host.model.ts';
import { allRecords, type ObjectRecord } from '../../state/records.ts';

/** The keys of the records that match, scanned in place. */
function keysOf(rt: Runtime, match: (r: ObjectRecord) => boolean): string[] {
  const out: string[] = [];
  for (const r of allRecords(rt.records)) if (match(r)) out.push(r.key);
  return out;
}

export const hostKind = defineKind({
  kind: 'Host',

  keyFigure: (r) => (r.status.networkCount === undefined ? '' : `${String(r.status.networksOutOfSync ?? 0)}/${String(r.status.networkCount)} out of sync`),

  // vNICs migrated away from this host wait for its report to show their device released; Routers on
  // the host wait for its report to show them realized.
  // (The records scanned in place: a copy of 60,000 per Host reconcile was the burst of a first pass.)
  notifies: (h, rt) => [
    ...keysOf(rt, (r) => r.kind === 'VnicAttachment' && (r.status.migration as { from?: string; phase?: string } | undefined)?.from === h.metadata.name),
    ...rt.store
      .list('Router')
      .filter((r) => r.spec.hostRef?.name === h.metadata.name)
      .map((r) => objectKey('Router', r.metadata.name)),
  ],

  references: (h) => [objectKey('Cluster', h.spec.cluster), ...(h.spec.networks ?? []).map((n) => objectKey('Network', n.name))],

  // Its declared referrers, and the vNICs and service endpoints whose records still name it (being
  // removed: their ports are not gone yet), each once.
  usedBy: (rt, key) => ({
    users: new Set(
      rt.store.referrers(key).concat(keysOf(rt, (r) => (r.kind === 'VnicAttachment' || r.kind === 'ServiceEndpoint') && (r.spec as { host?: string } | undefined)?.host === parseKey(key).name)),
    ),
    waitingFor: 'waiting for its vNICs and service endpoints to go',
  }),

  summarize({ rt, key, object: host, rec }) {
    const cluster = rt.store.object('Cluster', host.spec.cluster);
    // The networks looked up one by one (a map of all of them per Host made 1 million entries of garbage
    // per pass at 10,000 networks and 100 hosts).
    const { placements, unplaced } = hostNetworks(host, cluster, { get: (name) => rt.store.object('Network', name) });
    rec.status.networkCount = placements.length;
    const report = rt.reports.get(key) as HostReport | undefined;
    if (report?.pendingPlan) rec.status.pendingPlan = report.pendingPlan;
    else delete rec.status.pendingPlan;
    if (report) {
      rec.status.lastObservedTime = report.lastObservedTime;
      rec.status.interfaces = report.interfaces;
      rec.status.dynamicVnics = report.dynamicVnics;
    }
    const stateOf = new Map((report?.networks ?? []).map((n) => [n.name, n]));
    const rows = [
      ...placements.map(
        (p) =>
          stateOf.get(p.network) ?? {
            name: p.network,
            inSync: false,
            difference: report ? 'not realized on the host' : 'not yet converged by the host agent',
          },
      ),
      ...unplaced.map((name) => ({
        name,
        inSync: false,
        difference: 'required by the cluster but placed on no NIC or bond',
      })),
    ].sort((a, b) => (a.name < b.name ? -1 : 1));
    rec.status.networks = rows;
    const outOfSync = rows.filter((r) => !r.inSync);
    rec.status.networksOutOfSync = outOfSync.length;
    const differences = outOfSync.map((r) => `${r.name}: ${r.difference ?? 'out of sync'}`).join('; ');
    let outcome: Outcome;
    if (!cluster) {
      outcome = {
        ready: {
          status: 'False',
          reason: 'WaitingForDependencies',
          message: `Cluster ${host.spec.cluster} is not available`,
        },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
        progressing: true,
      };
    } else if (report && agentLost(rt, host.spec.agentTimeoutSeconds, report.lastObservedTime)) {
      const last = report.lastObservedTime;
      outcome = {
        ready: { status: 'Unknown', reason: 'AgentLost', message: `no report from the host agent for over ${host.spec.agentTimeoutSeconds}s (last at ${last})` },
        synced: { status: 'Unknown', reason: 'AgentLost', message: 'the host agent is not reporting' },
        // Only the user can bring the agent back: Stalled, so kstatus says Failed and Argo CD Degraded.
        stalled: true,
      };
    } else if (!report) {
      outcome = {
        ready: {
          status: 'False',
          reason: 'WaitingForDependencies',
          message: `no host agent has reported yet (run: netform agent --host ${host.metadata.name})`,
        },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
        progressing: true,
      };
    } else if (report.problems.length) {
      outcome = {
        ready: {
          status: outOfSync.length ? 'False' : 'True',
          reason: outOfSync.length ? 'OutOfSync' : 'Available',
          message: differences || undefined,
        },
        synced: {
          status: 'False',
          reason: 'BackendRejected',
          message: report.problems.join('; '),
        },
        stalled: true,
      };
    } else if (report.lastApply && report.lastApply.result !== 'applied' && outOfSync.length) {
      outcome = {
        ready: { status: 'False', reason: 'OutOfSync', message: differences },
        synced: {
          status: 'False',
          reason: 'ReconcileError',
          message: `change ${report.lastApply.result}: ${report.lastApply.error ?? ''}`,
        },
        progressing: true,
      };
    } else if (report.pendingPlan) {
      const digest = report.pendingPlan.digest;
      outcome = {
        ready: outOfSync.length
          ? { status: 'False', reason: 'OutOfSync', message: differences }
          : { status: 'True', reason: 'Available', message: `${placements.length} network${placements.length === 1 ? '' : 's'} in sync` },
        synced: {
          status: 'False',
          reason: 'AwaitingApproval',
          message: `changes held (${report.pendingPlan.summary ?? 'see status.pendingPlan'}; ${report.pendingPlan.impact ?? ''}): approve plan ${digest} (netform approve ${key} --plan ${digest})`,
        },
      };
    } else if (outOfSync.length) {
      // Under syncPolicy Manual the agent reports and does not heal: only the user can resolve it.
      const manual = report.syncPolicy === 'Manual';
      outcome = {
        ready: { status: 'False', reason: 'OutOfSync', message: differences },
        synced: manual
          ? {
              status: 'False',
              reason: 'DriftDetected',
              message: 'syncPolicy Manual: differences are reported, not healed',
            }
          : { status: 'True', reason: 'ReconcileSuccess' },
        progressing: !manual,
        stalled: manual,
      };
    } else {
      outcome = {
        ready: {
          status: 'True',
          reason: 'Available',
          message: `${placements.length} network${placements.length === 1 ? '' : 's'} in sync`,
        },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
      };
    }
    // Look again when the agent would count as lost, if that comes before the drift re-check.
    const dueMs = report ? untilLost(rt, host.spec.agentTimeoutSeconds, report.lastObservedTime) : undefined;
    return { outcome, ...(dueMs !== undefined && dueMs < rt.resyncMs ? { requeue: dueMs } : {}) };
  },
});

/** Whether the agent's last report is older than the Host's agent timeout. */
function agentLost(rt: Runtime, timeoutS: number, lastObserved: string): boolean {
  const at = Date.parse(lastObserved);
  return !Number.isNaN(at) && rt.now().getTime() - at > timeoutS * 1000;
}

/** Ms until the report taken at `lastObserved` is too old; undefined once it is, or if the time is unreadable. */
function untilLost(rt: Runtime, timeoutS: number, lastObserved: string): number | undefined {
  const at = Date.parse(lastObserved);
  if (Number.isNaN(at)) return undefined;
  const left = at + timeoutS * 1000 - rt.now().getTime();
  return left >= 0 ? left + 1 : undefined;
}

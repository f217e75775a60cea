// A host agent's report as it travels through the API in cluster mode: the agent patches the Host
// status fields it owns (`agent`, `interfaces`, `dynamicVnics`, `lastObservedTime`), the controller
// reads the report back from them. Pure.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { HostStatus } from '../../api/types.gen.ts';
import type { HostReport } from '../../drivers/host-driver.ts';

/** The Host status fields an agent writes for its report (a JSON merge patch of /status). */
export function statusFromReport(r: HostReport): Pick<HostStatus, 'agent' | 'interfaces' | 'dynamicVnics' | 'lastObservedTime' | 'pendingPlan'> {
  const agent: NonNullable<HostStatus['agent']> = {
    lastObservedTime: r.lastObservedTime,
    syncPolicy: r.syncPolicy,
    networks: r.networks,
    problems: r.problems,
    collected: r.collected,
  };
  if (r.routers?.length) agent.routers = r.routers;
  if (r.lastApply) agent.lastApply = r.lastApply;
  if (r.observed !== undefined) agent.observation = encodeObservation(r.observed);
  // null clears a plan held before (a JSON merge patch drops a field set to null).
  const pendingPlan = (r.pendingPlan ?? null) as HostStatus['pendingPlan'];
  return { agent, interfaces: r.interfaces, dynamicVnics: r.dynamicVnics, lastObservedTime: r.lastObservedTime, pendingPlan };
}

/** The report an agent left in a Host's status; undefined when no agent has reported. */
export function reportFromStatus(status: HostStatus | undefined): HostReport | undefined {
  const a = status?.agent;
  if (!a?.lastObservedTime) return undefined;
  const report: HostReport = {
    lastObservedTime: a.lastObservedTime,
    interfaces: status?.interfaces ?? [],
    dynamicVnics: { total: status?.dynamicVnics?.total ?? 0, free: status?.dynamicVnics?.free ?? 0 },
    networks: (a.networks ?? []).map((n) => ({ name: n.name, inSync: n.inSync ?? false, ...(n.difference ? { difference: n.difference } : {}) })),
    problems: a.problems ?? [],
    collected: a.collected ?? [],
    syncPolicy: a.syncPolicy ?? 'Auto',
  };
  if (a.routers?.length) report.routers = a.routers.map((n) => ({ name: n.name, inSync: n.inSync ?? false, ...(n.difference ? { difference: n.difference } : {}) }));
  if (status?.pendingPlan) report.pendingPlan = status.pendingPlan;
  const observed = a.observation ? decodeObservation(a.observation) : undefined;
  if (observed !== undefined) report.observed = observed;
  if (a.lastApply?.time && a.lastApply.result) {
    report.lastApply = { time: a.lastApply.time, result: a.lastApply.result, changes: a.lastApply.changes ?? 0, ...(a.lastApply.error ? { error: a.lastApply.error } : {}) };
  }
  return report;
}

/** What in a report matters to the controller: everything but the time it was taken and the sampled
 *  traffic rates (the observation kept for plans counts by its hash). Equal digests need no new status write (beyond a periodic heartbeat). */
export function reportDigest(r: HostReport): string {
  const interfaces = r.interfaces.map(({ rxMbps: _rx, txMbps: _tx, drops: _d, ...rest }) => rest);
  const { lastObservedTime: _t, observed, ...rest } = r;
  // The observation counts by its hash (it has no counters: it changes only when the host does).
  const observation = observed === undefined ? undefined : createHash('sha256').update(JSON.stringify(observed)).digest('hex');
  return JSON.stringify({ ...rest, interfaces, observation });
}

/** An observation as the Host status keeps it: gzip-compressed JSON, base64. */
export function encodeObservation(observed: unknown): string {
  return gzipSync(JSON.stringify(observed)).toString('base64');
}

/** The observation back from the status; undefined when it cannot be read (an agent of another build). */
export function decodeObservation(encoded: string): unknown {
  try {
    return JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

// Host plans: what each host's agent would change, planned from the desired state against the host's
// last report (its observation), "as of the report taken at T". A host whose agent has never
// reported (or whose report keeps no observation) is listed as unreported, never as unchanged. Pure
// over the runtime's store and records, the reports and the host driver's pure diff/describe.
import { objectKey } from '../../api/kinds.ts';
import type { HostDriver, HostModel, HostReport } from '../../drivers/host-driver.ts';
import type { PlanItem } from '../runtime/plan.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { hostModel } from './host.desired.ts';
import { hostInputs } from './host.inputs.ts';

export interface HostPlanSource {
  rt: Pick<Runtime, 'store' | 'records'>;
  /** The last report of each host's agent, by Host name. */
  reports: ReadonlyMap<string, HostReport>;
  /** Only its pure methods are used: nothing on the host is read or changed. */
  driver: Pick<HostDriver, 'diff' | 'describe'>;
}

export function planHosts(src: HostPlanSource): PlanItem[] {
  const out: PlanItem[] = [];
  for (const host of src.rt.store.list('Host')) {
    const name = host.metadata.name;
    const target = `host:${name}`;
    const object = objectKey('Host', name);
    const report = src.reports.get(name);
    if (report?.observed === undefined) {
      out.push({
        object,
        target,
        resource: 'host',
        action: 'unreported',
        message: report
          ? `the agent's report of ${report.lastObservedTime} keeps no observation of the host: its changes are unknown`
          : `no host agent has reported: its changes are unknown (run: netform agent --host ${name})`,
      });
      continue;
    }
    const inputs = hostInputs(src.rt, name);
    if (!inputs) continue;
    out.push(...hostPlanItems(name, hostModel(inputs), report.observed, src.driver, report.lastObservedTime));
  }
  return out;
}

/**
 * One host's plan: its model against an observation (a report's, or the agent's own just taken),
 * one item per device change, attributed to the vNIC or network it serves. The host agent holds a
 * Host with approval Manual on the digest of exactly these items.
 */
export function hostPlanItems(name: string, model: HostModel, observed: unknown, driver: Pick<HostDriver, 'diff' | 'describe'>, asOf: string): PlanItem[] {
  const out: PlanItem[] = [];
  const target = `host:${name}`;
  const object = objectKey('Host', name);
  const changes = driver.diff(model, observed);
  if (changes.problems.length) out.push({ object, target, resource: 'host', action: 'blocked', asOf, message: changes.problems.join('; ') });
  const planned = driver.describe(changes.changes);
  if (!planned.length && !changes.problems.length) return [{ object, target, resource: 'host', action: 'noop', asOf }];
  for (const c of planned) {
    // A service endpoint's device says `endpoint:<namespace>/<name>`; a vNIC's `<namespace>/<name>`.
    const endpoint = c.vnic?.startsWith('endpoint:');
    const [ns, vname] = (endpoint ? c.vnic!.slice('endpoint:'.length) : c.vnic)?.split('/') ?? [];
    const owner = c.vnic && ns && vname ? objectKey(endpoint ? 'ServiceEndpoint' : 'VnicAttachment', vname, ns) : c.network ? objectKey('Network', c.network) : object;
    out.push({
      object: owner,
      target,
      resource: c.resource,
      action: c.action,
      externalId: c.name,
      asOf,
      ...(c.fields.length ? { details: c.fields } : {}),
      ...(c.networks && !c.vnic ? { networks: c.networks } : {}),
    });
  }
  return out;
}

// The plan as a document: what `netform plan -o json` prints (and, later, what an approval names by
// its digest). Versioned: schemas/plan.v1.json describes it, and a test validates real plans
// against it. Pure.
import { createHash } from 'node:crypto';
import type { AdmissionError } from '../../api/objects.ts';
import { CHANGING, FAILING, renderPlan, sortPlan, summarizePlan, UNKNOWN_HOST, type PlanItem } from '../runtime/plan.ts';
import { endpointImpactCounts, impactCounts, impactSummary } from './impact.ts';
import type { PendingApproval } from './pending.ts';

export const PLAN_API_VERSION = 'plan.netform.io/v1';

export interface PlanDocument {
  apiVersion: typeof PLAN_API_VERSION;
  kind: 'Plan';
  generatedAt: string;
  /** sha256 of the changes (items that change something, with their field changes and details): two
   *  plans with the same digest make the same changes. */
  digest: string;
  summary: {
    create: number;
    update: number;
    replace: number;
    delete: number;
    other: number;
    /** Distinct VMs per impact. */
    vms: { replug: number; connectivityLoss: number; linkFlap: number; blocking: number };
    /** Distinct service endpoints per impact, when the changes reach any (added to version 1 in place:
     *  a plan that reaches no endpoint is the document it was). */
    endpoints?: { replug: number; connectivityLoss: number; linkFlap: number; blocking: number };
    /** The same in words: "3 VMs need a re-plug, 1 service endpoint needs a re-plug, 1 VM loses connectivity during the change". */
    impact: string;
  };
  /** Each declared Host: planned against the report taken at `asOf`, or unreported (unknown). */
  hosts: { name: string; reported: boolean; asOf?: string }[];
  /** Every item but the no-ops, sorted. */
  items: PlanItem[];
  errors: { file: string; line: number; document?: number; object?: string; field?: string; message: string }[];
  /** Objects whose changes wait for approval (their status.pendingPlan), when the records carry any. */
  pendingApprovals?: PendingApproval[];
  /** 0: no changes; 2: changes; 1: an error (invalid input, a backend not observed, a blocked change, an
   *  unreported host under --require-host-reports). */
  exitCode: 0 | 1 | 2;
}

export interface PlanOptions {
  /** A host whose agent has not reported makes the plan fail (exit 1). */
  requireHostReports?: boolean;
  now?: Date;
}

/** The digest of a plan's changes (order-independent; report times and messages left out). */
export function planDigest(items: readonly PlanItem[]): string {
  const changes = sortPlan(items.filter((i) => CHANGING.has(i.action))).map((i) => ({
    object: i.object,
    target: i.target,
    resource: i.resource,
    action: i.action,
    ...(i.externalId ? { externalId: i.externalId } : {}),
    ...(i.changes ? { changes: i.changes.map((c) => ({ path: c.path, from: c.from ?? null, to: c.to ?? null })) } : {}),
    ...(i.details ? { details: i.details } : {}),
  }));
  return `sha256:${createHash('sha256').update(JSON.stringify(changes)).digest('hex')}`;
}

export function exitCodeOf(items: readonly PlanItem[], errors: number, o: PlanOptions = {}): 0 | 1 | 2 {
  if (errors) return 1;
  if (items.some((i) => FAILING.has(i.action) || (o.requireHostReports && i.action === UNKNOWN_HOST))) return 1;
  return items.some((i) => CHANGING.has(i.action)) ? 2 : 0;
}

export function planDocument(items: readonly PlanItem[], hostNames: readonly string[], errors: readonly AdmissionError[], o: PlanOptions = {}): PlanDocument {
  const s = summarizePlan(items);
  const c = impactCounts(items);
  const e = endpointImpactCounts(items);
  const hostItems = new Map<string, PlanItem>();
  for (const i of items) if (i.target.startsWith('host:')) hostItems.set(i.target.slice(5), hostItems.get(i.target.slice(5)) ?? i);
  return {
    apiVersion: PLAN_API_VERSION,
    kind: 'Plan',
    generatedAt: (o.now ?? new Date()).toISOString(),
    digest: planDigest(items),
    summary: {
      ...s,
      vms: { replug: c.replug, connectivityLoss: c['connectivity-loss'], linkFlap: c['link-flap'], blocking: c.blocking },
      ...(Object.values(e).some((n) => n > 0) ? { endpoints: { replug: e.replug, connectivityLoss: e['connectivity-loss'], linkFlap: e['link-flap'], blocking: e.blocking } } : {}),
      impact: impactSummary(items) || 'no VM is affected',
    },
    hosts: [...hostNames].sort().map((name) => {
      const it = hostItems.get(name);
      return it && it.action !== UNKNOWN_HOST && it.asOf ? { name, reported: true, asOf: it.asOf } : { name, reported: false };
    }),
    items: sortPlan(items.filter((i) => i.action !== 'noop')),
    errors: errors.map((e) => ({
      file: e.file,
      line: e.line,
      ...(e.documentIndex !== undefined ? { document: e.documentIndex + 1 } : {}),
      ...(e.key ? { object: e.key } : {}),
      ...(e.field ? { field: e.field } : {}),
      message: e.message,
    })),
    exitCode: exitCodeOf(items, errors.length, o),
  };
}

/** A held plan as an object's status.pendingPlan shows it: the digest, when it was first computed,
 *  the changes counted, their impact in words and the changes rendered (impact analysed already). */
export interface HeldPlan {
  digest: string;
  computedAt: string;
  summary: string;
  impact: string;
  changes: string[];
}

export function heldPlan(changes: readonly PlanItem[], computedAt: string): HeldPlan {
  const s = summarizePlan(changes);
  return {
    digest: planDigest(changes),
    computedAt,
    summary: `${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete`,
    impact: impactSummary(changes) || 'no VM is affected',
    changes: renderPlan(changes).split('\n'),
  };
}

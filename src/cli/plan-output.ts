// The plan, assembled one way for every command that makes one: `netform plan --dir` (against a state
// directory, or against a cluster's records with --kubeconfig) and `kubectl netform plan` (the
// cluster's objects against themselves). The engine's dry run, the hosts planned from their agents'
// last reports, the impact on VMs and service endpoints, the document (schemas/plan.v1.json) and its text.
import type { AdmissionResult } from '../api/objects.ts';
import type { Engine } from '../controllers/runtime/engine.ts';
import { CHANGING, renderPlan, UNKNOWN_HOST, type PlanItem } from '../controllers/runtime/plan.ts';
import { analyzeImpact, endpointPlaces, vnicPlaces } from '../controllers/plan/impact.ts';
import { planDocument, type PlanDocument } from '../controllers/plan/document.ts';
import { pendingApprovals, renderPendingApprovals, type PendingApproval } from '../controllers/plan/pending.ts';
import { planHosts } from '../controllers/host/host.plan.ts';
import type { HostDriver, HostReport } from '../drivers/host-driver.ts';

export interface PlanSource {
  /** A dry-run engine, already given the desired state (`engine.sync`). */
  engine: Engine;
  admission: AdmissionResult;
  /** Each host agent's last report, by Host name. */
  reports: ReadonlyMap<string, HostReport>;
  /** Only its pure diff and describe are used: nothing on any host is read or changed. */
  hostDriver: Pick<HostDriver, 'diff' | 'describe'>;
  requireHostReports?: boolean;
  /** Why a host is unreported, where the default words (about `netform agent --host`) do not fit. */
  unreported?: (host: string, report: HostReport | undefined) => string;
  now?: Date;
  /** Called between its steps (a large plan's heap governor: src/cli/heap.ts). */
  checkpoint?: () => void;
}

export interface AssembledPlan {
  items: PlanItem[];
  doc: PlanDocument;
}

/** Plans everything once: backends, hosts, impact, and the objects waiting for approval. */
export async function assemblePlan(src: PlanSource): Promise<AssembledPlan> {
  const records = src.engine.rt.records.list();
  // Where the vNICs and service endpoints are now, and what waits for approval, before the dry run moves its in-memory records along.
  const vnics = vnicPlaces(src.engine.store, records);
  const endpoints = endpointPlaces(src.engine.store, records);
  const pending = pendingApprovals(records);
  src.checkpoint?.();
  const items = await src.engine.plan();
  src.checkpoint?.();
  const hostItems = planHosts({ rt: src.engine.rt, reports: src.reports, driver: src.hostDriver });
  if (src.unreported) {
    for (const it of hostItems) {
      if (it.action === UNKNOWN_HOST) {
        const host = it.target.slice('host:'.length);
        it.message = src.unreported(host, src.reports.get(host));
      }
    }
  }
  items.push(...hostItems);
  analyzeImpact(items, vnics, endpoints);
  src.checkpoint?.();
  const hosts = src.engine.store.list('Host').map((h) => h.metadata.name);
  const doc = planDocument(items, hosts, src.admission.errors, { requireHostReports: src.requireHostReports, now: src.now });
  src.checkpoint?.();
  if (pending.length) {
    const { exitCode, ...rest } = doc;
    return { items, doc: { ...rest, pendingApprovals: pending, exitCode } };
  }
  return { items, doc };
}

export interface PlanTextOptions {
  /** Why a host's changes are unknown, in the line that lists it (default: no agent report to plan against). */
  unknownHost?: string;
  /** How to approve a pending plan (a command line), when the mode has one. */
  approve?: (p: PendingApproval) => string;
}

/** The plan for people: the changes, the summary, the impact, unknown hosts, the digest, and the pending approvals. */
export function planText(plan: AssembledPlan, o: PlanTextOptions = {}): string {
  const { items, doc } = plan;
  const lines: string[] = [];
  const text = renderPlan(items);
  if (text) lines.push(text);
  const s = doc.summary;
  lines.push(`plan: ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete${s.other ? `, ${s.other} other` : ''}`);
  lines.push(`impact: ${s.impact}`);
  for (const h of doc.hosts) if (!h.reported) lines.push(`host ${h.name}: unknown (${o.unknownHost ?? 'no agent report to plan against'})`);
  if (items.some((i) => CHANGING.has(i.action))) lines.push(`digest: ${doc.digest}`);
  if (doc.pendingApprovals?.length) lines.push(renderPendingApprovals(doc.pendingApprovals, o.approve));
  return lines.join('\n');
}

// Plans held for approval: the objects whose status carries `pendingPlan` (spec.approval Manual, or a
// Provider's), as a plan document lists and renders them. Pure over the records.
import type { ObjectRecord } from '../../state/records.ts';

/** One object's changes waiting for approval, as its status says. */
export interface PendingApproval {
  /** The object's key, e.g. `Network/web` or `Host/hv1`. */
  object: string;
  /** The plan digest the object must be approved for (`sha256:…`). */
  digest: string;
  computedAt: string;
  /** Host plans: the time of the agent's report the plan was computed against. */
  asOf?: string;
  summary?: string;
  impact?: string;
  /** The held changes, one line each. */
  changes?: string[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The records with a well-formed `status.pendingPlan`, by key. */
export function pendingApprovals(records: readonly ObjectRecord[]): PendingApproval[] {
  const out: PendingApproval[] = [];
  for (const r of records) {
    const p = (r.status as { pendingPlan?: Record<string, unknown> }).pendingPlan;
    if (!p || typeof p.digest !== 'string' || !DIGEST.test(p.digest)) continue;
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    const computedAt = str(p.computedAt) ?? '';
    const asOf = str(p.asOf);
    const summary = str(p.summary);
    const impact = str(p.impact);
    const changes = Array.isArray(p.changes) ? p.changes.filter((c): c is string => typeof c === 'string') : undefined;
    out.push({
      object: r.key,
      digest: p.digest,
      computedAt,
      ...(asOf ? { asOf } : {}),
      ...(summary ? { summary } : {}),
      ...(impact ? { impact } : {}),
      ...(changes?.length ? { changes } : {}),
    });
  }
  return out.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
}

/** The pending approvals in words, one block per object; `approve` says how to approve one. */
export function renderPendingApprovals(pending: readonly PendingApproval[], approve?: (p: PendingApproval) => string): string {
  const lines: string[] = [];
  for (const p of pending) {
    const when = [p.computedAt ? `computed at ${p.computedAt}` : '', p.asOf ? `as of the report taken at ${p.asOf}` : ''].filter(Boolean).join(', ');
    lines.push(`pending approval: ${p.object}  ${p.digest}${when ? `  (${when})` : ''}`);
    if (p.summary || p.impact) lines.push(`    ${[p.summary, p.impact ? `impact: ${p.impact}` : ''].filter(Boolean).join('; ')}`);
    for (const c of p.changes ?? []) lines.push(`    ${c}`);
    if (approve) lines.push(`    approve: ${approve(p)}`);
  }
  return lines.join('\n');
}

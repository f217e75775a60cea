// Which Kubernetes Event a backend action (or its failure) deserves. Event reasons are their own
// vocabulary (what happened), not condition reasons (what to do). Pure.
import type { BindingOutcome } from './managed.ts';

/** The Event a backend action (or its failure) deserves, if any. Pure. */
export function eventFor(o: BindingOutcome, provider: string): { type: 'Normal' | 'Warning'; reason: string; action: string; note: string } | undefined {
  const p = o.plan;
  const what = `${p.resource} on ${provider}`;
  if (o.error) {
    return {
      type: 'Warning',
      reason: o.error.errorClass === 'Terminal' ? 'BackendRejected' : 'BackendError',
      action: capitalize(p.action === 'unknown' ? 'reconcile' : p.action),
      note: o.error.message,
    };
  }
  const id = p.externalId ? ` (${p.externalId})` : '';
  switch (p.action) {
    case 'create':
      return { type: 'Normal', reason: 'Created', action: 'Create', note: `created ${what}${id}` };
    case 'update':
      return { type: 'Normal', reason: 'Updated', action: 'Update', note: `updated ${what}${id}: ${(p.changes ?? []).map((c) => c.path).join(', ')}` };
    case 'replace':
      return { type: 'Normal', reason: 'Replaced', action: 'Replace', note: `replaced ${what}${id}` };
    case 'delete':
      return { type: 'Normal', reason: 'Deleted', action: 'Delete', note: `deleted ${what}${id}` };
    case 'orphan':
      return { type: 'Normal', reason: 'Orphaned', action: 'Orphan', note: `left ${what}${id} in place` };
    case 'drift':
      return { type: 'Warning', reason: 'DriftDetected', action: 'Observe', note: o.status?.message ?? `${what} differs from the spec` };
    case 'blocked':
      return { type: 'Warning', reason: 'ReplaceRequired', action: 'Update', note: o.status?.message ?? `${what} cannot be changed in place` };
    case 'missing':
      return { type: 'Warning', reason: 'NotFound', action: 'Observe', note: o.status?.message ?? `no ${what}` };
    default:
      return undefined;
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}


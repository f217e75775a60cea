// How the outcomes of an object's backend bindings add up to its conditions. Pure.
import type { Outcome } from '../../api/conditions.ts';
import type { BindingOutcome } from './managed.ts';

/**
 * All done → Ready. Any transient error → retry with backoff (Synced=False ReconcileError).
 * Otherwise a terminal error → Stalled (BackendRejected); a required replace → Stalled
 * (ReplaceRequired); ObserveOnly drift or a missing object → Stalled with that reason (netform will
 * not write, so only the user can resolve it: kstatus says Failed, Argo CD Degraded).
 */
export function summarizeBindings(
  outcomes: readonly BindingOutcome[],
  resource: string,
  deleting = false,
): { outcome: Outcome; retry?: BindingOutcome['error'] } {
  const failed = outcomes.filter((o) => !o.done);
  const messages = failed.map((o) => o.error?.message ?? o.status?.message ?? o.plan.message).filter(Boolean).join('; ');
  if (!failed.length) {
    if (deleting) {
      return { outcome: { ready: { status: 'False', reason: 'Deleting' }, synced: { status: 'True', reason: 'ReconcileSuccess' }, progressing: true } };
    }
    const n = outcomes.length;
    return {
      outcome: {
        ready: { status: 'True', reason: 'Available', message: n ? `in sync on ${n} provider${n === 1 ? '' : 's'}` : `no provider; the ${resource} lives on hosts only` },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
      },
    };
  }
  const transient = failed.find((o) => o.error && (o.error.errorClass === 'Transient' || o.error.errorClass === 'Conflict' || o.error.errorClass === 'NotFound'));
  if (transient) {
    const creating = failed.some((o) => !o.status?.externalId);
    return {
      outcome: {
        ready: { status: 'False', reason: deleting ? 'Deleting' : creating ? 'Creating' : 'Updating', message: messages },
        synced: { status: 'False', reason: 'ReconcileError', message: messages },
        progressing: true,
      },
      // The failure itself, as a value: the work queue retries the key with backoff.
      retry: transient.error,
    };
  }
  const terminal = failed.find((o) => o.error);
  if (terminal) {
    return {
      outcome: {
        ready: { status: 'False', reason: deleting ? 'Deleting' : 'Unavailable', message: messages },
        synced: { status: 'False', reason: 'BackendRejected', message: messages },
        stalled: true,
      },
    };
  }
  const reason = failed.find((o) => o.reason === 'ReplaceRequired')?.reason ?? failed[0]!.reason ?? 'ReconcileError';
  return {
    outcome: {
      ready: { status: 'False', reason: 'Unavailable', message: messages },
      synced: { status: 'False', reason, message: messages },
      stalled: reason === 'ReplaceRequired' || reason === 'DriftDetected' || reason === 'NotFound',
    },
  };
}

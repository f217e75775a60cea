// Status conditions: the fixed set of reasons and how an outcome becomes conditions. Pure.
import type { Condition } from './kinds.ts';

export type ConditionType = 'Ready' | 'Synced' | 'Reconciling' | 'Stalled';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Every reason netform sets, with what it tells the user to do. The set is closed: code may only use these. */
export const REASONS = {
  // Ready
  Available: 'Nothing to do: the object exists on every backend and matches its spec.',
  Creating: 'Wait: the backend objects are being created.',
  Updating: 'Wait: the backend objects are being changed to match the spec.',
  Deleting: 'Wait: the backend objects are being removed.',
  WaitingForDependencies: 'Make the objects named in the message exist and become Ready.',
  Unavailable: 'See the Synced condition: the backend objects could not be brought to the spec.',
  OutOfSync: 'See the message: the host differs from the spec; it is healed unless syncPolicy is Manual.',
  InsufficientCapacity: "Free a dynamic vNIC on the host's Cisco VIC (unplug or remove another vNIC, or remove a service endpoint, there) or put the VM or endpoint on another host: netform place lists the hosts that fit.",
  AgentLost: "Check the host's agent (netform agent --host NAME, or the agent DaemonSet's pod on it): it has not reported within spec.agentTimeoutSeconds; status shows the host as last reported.",
  // Synced
  ReconcileSuccess: 'Nothing to do: the last reconcile succeeded.',
  ReconcileError: 'Usually nothing: a backend failed transiently and netform retries with backoff; check the backend if it persists.',
  InvalidSpec: 'Fix the manifest: the message names the file, document, field and reason.',
  BackendRejected: 'Change the spec or the backend: the backend refused the request (its message is quoted).',
  ReplaceRequired: 'Revert the field, or set spec.allowReplace to let netform delete and recreate the backend object.',
  DriftDetected: 'netform does not write here (managementPolicy ObserveOnly, or a Host with syncPolicy Manual): change the backend or the spec so they agree.',
  NotFound: 'Under ObserveOnly netform does not create: create the backend object or fix the import reference.',
  DeletionBlocked: 'Remove the objects named in the message first; deletion continues by itself.',
  DriverUnavailable: 'Use a provider type this netform build has a driver for.',
  CredentialsError: 'Fix the credentials reference: the message says what is wrong with it.',
  AwaitingApproval:
    'Review status.pendingPlan (netform plan shows it too) and approve exactly that digest: netform approve OBJECT --plan DIGEST in file mode, the annotation netform.io/approved-plan: DIGEST in cluster mode. Until then nothing is changed.',
} as const;

export type Reason = keyof typeof REASONS;

/** The result of one reconcile, from which the four conditions are derived. */
export interface Outcome {
  /** Ready: the object is usable as specified. */
  ready: { status: ConditionStatus; reason: Reason; message?: string };
  /** Synced: the last reconcile succeeded. */
  synced: { status: ConditionStatus; reason: Reason; message?: string };
  /** Work is still under way (Reconciling=True for kstatus). */
  progressing?: boolean;
  /** Progress needs the user (Stalled=True for kstatus): invalid spec, a refusal, a required replace. */
  stalled?: boolean;
}

/**
 * Merges an outcome into existing conditions: Ready, Synced, Reconciling and Stalled are always
 * present; lastTransitionTime changes only when a condition's status changes; other condition
 * types are kept as they are.
 */
export function applyOutcome(
  existing: readonly Condition[] | undefined,
  outcome: Outcome,
  generation: number,
  now: Date,
): Condition[] {
  // Whole seconds, as Kubernetes' own timestamps (metav1.Time): the conditions of a pass then repeat
  // exactly, and records share one frozen list (state-dir.ts) instead of 60,000 (ADR 29).
  const stamp = wholeSeconds(now);
  const reconciling = !!outcome.progressing && !outcome.stalled;
  const wanted: Condition[] = [
    cond('Ready', outcome.ready.status, outcome.ready.reason, outcome.ready.message),
    cond('Synced', outcome.synced.status, outcome.synced.reason, outcome.synced.message),
    // Stalled wins: kstatus reads whichever of the two comes first, and a stalled object is not progressing.
    cond(
      'Reconciling',
      reconciling ? 'True' : 'False',
      outcome.ready.reason,
      reconciling ? outcome.ready.message : undefined,
    ),
    cond(
      'Stalled',
      outcome.stalled ? 'True' : 'False',
      outcome.synced.reason,
      outcome.stalled ? outcome.synced.message : undefined,
    ),
  ];
  const byType = new Map((existing ?? []).map((c) => [c.type, c]));
  const out: Condition[] = [];
  for (const w of wanted) {
    const old = byType.get(w.type);
    byType.delete(w.type);
    out.push({
      ...w,
      observedGeneration: generation,
      lastTransitionTime: old && old.status === w.status && old.lastTransitionTime ? old.lastTransitionTime : stamp,
    });
  }
  return [...out, ...byType.values()];

  function cond(type: ConditionType, status: ConditionStatus, reason: Reason, message?: string): Condition {
    const c: Condition = { type, status, reason };
    if (message) c.message = message;
    return c;
  }
}

export function getCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the object's Ready condition is True for its current generation. */
export function isReady(status: { conditions?: Condition[]; observedGeneration?: number } | undefined, generation?: number): boolean {
  const c = getCondition(status?.conditions, 'Ready');
  if (c?.status !== 'True') return false;
  return generation === undefined || status?.observedGeneration === generation;
}

export function isStalled(status: { conditions?: Condition[] } | undefined): boolean {
  return getCondition(status?.conditions, 'Stalled')?.status === 'True';
}

/** An RFC 3339 timestamp in whole seconds (`2026-12-05T15:39:07Z`), as metav1.Time writes them. */
export function wholeSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

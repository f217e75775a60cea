import { describe, expect, it } from 'vitest';
import type { Outcome, Reason } from '../../api/conditions.ts';
import { type ErrorClass } from '../../api/errors.ts';
import { summarizeBindings } from './binding-summary.ts';
import type { BindingOutcome } from './managed.ts';
import type { PlanAction } from './plan.ts';

function b(
  provider: string,
  o: { done: boolean; externalId?: string; error?: [ErrorClass, string]; reason?: Reason; statusMessage?: string; planMessage?: string; action?: PlanAction },
): BindingOutcome {
  const out: BindingOutcome = {
    plan: { object: 'Network/web', target: `neutron:${provider}`, resource: 'network', action: o.action ?? 'noop' },
    done: o.done,
  };
  if (o.planMessage) out.plan.message = o.planMessage;
  if (o.externalId !== undefined || o.statusMessage !== undefined) {
    out.status = { name: provider, type: 'neutron' };
    if (o.externalId !== undefined) out.status.externalId = o.externalId;
    if (o.statusMessage !== undefined) out.status.message = o.statusMessage;
  }
  if (o.error) out.error = { errorClass: o.error[0], message: o.error[1] };
  if (o.reason) out.reason = o.reason;
  return out;
}

const ok = (p: string) => b(p, { done: true, externalId: `id-${p}` });

describe('summarizeBindings: everything done', () => {
  it.each([
    { name: 'one provider', outcomes: [ok('a')], message: 'in sync on 1 provider' },
    { name: 'two providers', outcomes: [ok('a'), ok('b')], message: 'in sync on 2 providers' },
    { name: 'no provider', outcomes: [], message: 'no provider; the network lives on hosts only' },
  ])('$name → Ready True Available', ({ outcomes, message }) => {
    const r = summarizeBindings(outcomes, 'network');
    expect(r).toEqual({
      outcome: {
        ready: { status: 'True', reason: 'Available', message },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
      },
    });
    expect(r.retry).toBeUndefined();
  });

  it('names the resource in the no-provider message', () => {
    expect(summarizeBindings([], 'vnic').outcome.ready.message).toBe('no provider; the vnic lives on hosts only');
  });

  it.each([
    { name: 'with providers', outcomes: [ok('a'), b('b', { done: true })] },
    { name: 'without providers', outcomes: [] },
  ])('deleting and all done → Deleting, still progressing ($name)', ({ outcomes }) => {
    expect(summarizeBindings(outcomes, 'network', true)).toEqual({
      outcome: {
        ready: { status: 'False', reason: 'Deleting' },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
        progressing: true,
      },
    });
  });
});

interface Case {
  name: string;
  outcomes: BindingOutcome[];
  deleting: boolean;
  readyReason: Reason;
  message: string;
}

describe('summarizeBindings: transient errors retry', () => {
  it.each<Case>([
    {
      name: 'Transient while updating',
      outcomes: [ok('a'), b('b', { done: false, externalId: 'id-b', error: ['Transient', '503 from neutron'] })],
      deleting: false,
      readyReason: 'Updating',
      message: '503 from neutron',
    },
    {
      name: 'Conflict counts as transient',
      outcomes: [b('b', { done: false, externalId: 'id-b', error: ['Conflict', 'revision mismatch'] })],
      deleting: false,
      readyReason: 'Updating',
      message: 'revision mismatch',
    },
    {
      name: 'NotFound counts as transient',
      outcomes: [b('b', { done: false, externalId: 'id-b', error: ['NotFound', 'vanished'] })],
      deleting: false,
      readyReason: 'Updating',
      message: 'vanished',
    },
    {
      name: 'no external id yet → Creating',
      outcomes: [b('b', { done: false, error: ['Transient', 'ECONNRESET'] })],
      deleting: false,
      readyReason: 'Creating',
      message: 'ECONNRESET',
    },
    {
      name: 'Creating when any failed binding has no id',
      outcomes: [
        b('a', { done: false, externalId: 'id-a', error: ['Transient', 'slow'] }),
        b('b', { done: false, error: ['Transient', 'down'] }),
      ],
      deleting: false,
      readyReason: 'Creating',
      message: 'slow; down',
    },
    {
      name: 'deleting → Deleting',
      outcomes: [b('b', { done: false, externalId: 'id-b', error: ['Transient', 'timeout'] })],
      deleting: true,
      readyReason: 'Deleting',
      message: 'timeout',
    },
    {
      name: 'transient wins over terminal; messages of every failure joined',
      outcomes: [
        b('a', { done: false, externalId: 'id-a', error: ['Terminal', 'VlanIdInUse'] }),
        b('b', { done: false, externalId: 'id-b', error: ['Transient', '502'] }),
        b('c', { done: false, externalId: 'id-c', reason: 'ReplaceRequired', statusMessage: 'vlan cannot change' }),
      ],
      deleting: false,
      readyReason: 'Updating',
      message: 'VlanIdInUse; 502; vlan cannot change',
    },
  ])('$name', ({ outcomes, deleting, readyReason, message }) => {
    const r = summarizeBindings(outcomes, 'network', deleting);
    expect(r.outcome).toEqual({
      ready: { status: 'False', reason: readyReason, message },
      synced: { status: 'False', reason: 'ReconcileError', message },
      progressing: true,
    } satisfies Outcome);
    // The retry is the first retryable failure itself, as a value (no error rebuilt to be thrown).
    const first = outcomes.find((o) => o.error && o.error.errorClass !== 'Terminal')!;
    expect(r.retry).toBe(first.error);
    expect(r.retry!.errorClass).not.toBe('Terminal');
    expect(r.retry!.message).toBe(first.error!.message);
  });
});

describe('summarizeBindings: terminal errors stall', () => {
  it.each<Case>([
    {
      name: 'one refusal',
      outcomes: [ok('a'), b('b', { done: false, externalId: 'id-b', error: ['Terminal', 'VlanIdInUse: 100'] })],
      deleting: false,
      readyReason: 'Unavailable',
      message: 'VlanIdInUse: 100',
    },
    {
      name: 'terminal wins over ReplaceRequired',
      outcomes: [
        b('a', { done: false, externalId: 'id-a', reason: 'ReplaceRequired', statusMessage: 'vlan cannot change' }),
        b('b', { done: false, error: ['Terminal', 'quota exceeded'] }),
      ],
      deleting: false,
      readyReason: 'Unavailable',
      message: 'vlan cannot change; quota exceeded',
    },
    {
      name: 'deleting → Deleting',
      outcomes: [b('b', { done: false, externalId: 'id-b', error: ['Terminal', 'in use by port'] })],
      deleting: true,
      readyReason: 'Deleting',
      message: 'in use by port',
    },
  ])('$name → Stalled BackendRejected, no retry', ({ outcomes, deleting, readyReason, message }) => {
    const r = summarizeBindings(outcomes, 'network', deleting);
    expect(r).toEqual({
      outcome: {
        ready: { status: 'False', reason: readyReason, message },
        synced: { status: 'False', reason: 'BackendRejected', message },
        stalled: true,
      },
    });
  });
});

describe('summarizeBindings: not done without an error', () => {
  it.each([
    {
      name: 'ReplaceRequired alone stalls',
      outcomes: [b('a', { done: false, externalId: 'id-a', reason: 'ReplaceRequired', statusMessage: 'vlan cannot change in place' })],
      reason: 'ReplaceRequired',
      stalled: true,
      message: 'vlan cannot change in place',
    },
    {
      name: 'ReplaceRequired takes precedence over an earlier DriftDetected',
      outcomes: [
        b('a', { done: false, externalId: 'id-a', reason: 'DriftDetected', statusMessage: 'differs: mtu' }),
        b('b', { done: false, externalId: 'id-b', reason: 'ReplaceRequired', statusMessage: 'vlan cannot change' }),
        ok('c'),
      ],
      reason: 'ReplaceRequired',
      stalled: true,
      message: 'differs: mtu; vlan cannot change',
    },
    {
      name: 'DriftDetected (ObserveOnly) stalls: only the user can resolve it',
      outcomes: [ok('a'), b('b', { done: false, externalId: 'id-b', reason: 'DriftDetected', statusMessage: 'differs: shared' })],
      reason: 'DriftDetected',
      stalled: true,
      message: 'differs: shared',
    },
    {
      name: 'NotFound (ObserveOnly) stalls; first failure reason wins',
      outcomes: [
        b('a', { done: false, reason: 'NotFound', statusMessage: 'no network found on a' }),
        b('b', { done: false, externalId: 'id-b', reason: 'DriftDetected', statusMessage: 'differs: mtu' }),
      ],
      reason: 'NotFound',
      stalled: true,
      message: 'no network found on a; differs: mtu',
    },
    {
      name: 'no reason given → ReconcileError; plan message used when there is no status message',
      outcomes: [b('a', { done: false, planMessage: 'not ready yet' })],
      reason: 'ReconcileError',
      stalled: false,
      message: 'not ready yet',
    },
  ])('$name', ({ outcomes, reason, stalled, message }) => {
    const r = summarizeBindings(outcomes, 'network');
    expect(r).toEqual({
      outcome: {
        ready: { status: 'False', reason: 'Unavailable', message },
        synced: { status: 'False', reason, message },
        stalled,
      },
    });
  });

  it('message prefers error, then status, then plan message, and skips empty ones', () => {
    const r = summarizeBindings(
      [
        b('a', { done: false, error: ['Terminal', 'E'], statusMessage: 'S', planMessage: 'P' }),
        b('b', { done: false, statusMessage: 'S2', planMessage: 'P2' }),
        b('c', { done: false, planMessage: 'P3' }),
        b('d', { done: false }),
        ok('e'),
      ],
      'network',
    );
    expect(r.outcome.synced.message).toBe('E; S2; P3');
  });
});

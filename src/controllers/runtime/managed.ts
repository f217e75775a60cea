// The generic managed-resource reconciler: observe → diff → decide → act for one backend object
// of one netform object on one provider. It owns the create/update/replace/delete decisions;
// drivers only supply observe/diff/create/update/delete.
import type { Reason } from '../../api/conditions.ts';
import { BackendError, classify, messageOf, type ErrorClass } from '../../api/errors.ts';
import type { DriverContext, FieldChange, ImportRef, Observed, Owner, ResourceDriver } from '../../drivers/driver.ts';
import { decide, type Decision } from './decide.ts';
import type { PlanItem } from './plan.ts';

/** A netform object's backend object on one provider, as kept in status.providers[]. */
export interface BindingStatus {
  name: string;
  type: string;
  externalId?: string;
  externalIds?: Record<string, string>;
  synced?: boolean;
  message?: string;
  lastSyncTime?: string;
}

export interface BindingRequest<D> {
  /** Key of the netform object, e.g. `Network/web`. */
  object: string;
  owner: Owner;
  provider: { name: string; type: string };
  /** The kind of backend object, for plans and messages (`network`, `port`). */
  resource: string;
  driver: ResourceDriver<D, unknown>;
  desired: D;
  deleting: boolean;
  current?: BindingStatus;
  import?: ImportRef;
  /** The object's spec changed since it was last converged (ObserveRequest.fresh). */
  fresh?: boolean;
  policy: { managementPolicy: 'Managed' | 'ObserveOnly'; deletionPolicy: 'Delete' | 'Orphan'; allowReplace: boolean };
  /** Plan only: observe and decide, never act. */
  dryRun: boolean;
  ctx: DriverContext;
  /** Called the moment a backend object exists (after create or replace), before anything else
   *  happens, so its id is durable even if the process dies right after. */
  persist(b: BindingStatus): Promise<void>;
  now(): Date;
}

export interface BindingOutcome {
  /** The binding afterwards; undefined once the backend object is deleted or let go. */
  status?: BindingStatus;
  plan: PlanItem;
  /** The backend object matches the spec (or, when deleting, is gone or let go). */
  done: boolean;
  /** Why the binding is not done although nothing failed, as a condition reason. */
  reason?: Reason;
  /** The backend's facts for status (see Observed.facts). */
  facts?: Record<string, unknown>;
  error?: { errorClass: ErrorClass; message: string; code?: string };
}

const MAX_CONFLICT_RETRIES = 3;

function describe(changes: readonly FieldChange[]): string {
  return changes.map((c) => c.path).join(', ');
}

/** Brings one backend object to the spec (or removes it). Never throws: failures come back classified. */
export async function reconcileBinding<D>(req: BindingRequest<D>): Promise<BindingOutcome> {
  const base = { object: req.object, target: `${req.provider.type}:${req.provider.name}`, resource: req.resource };
  const keep = (extra: Partial<BindingStatus>): BindingStatus => ({
    ...(req.current ?? {}),
    name: req.provider.name,
    type: req.provider.type,
    ...extra,
  });
  const fromObserved = (o: Observed<unknown>, extra: Partial<BindingStatus>): BindingStatus => {
    const b: BindingStatus = { name: req.provider.name, type: req.provider.type, externalId: o.externalId, ...extra };
    if (o.externalIds && Object.keys(o.externalIds).length) b.externalIds = o.externalIds;
    return b;
  };
  let phase = 'observe';
  let decision: Decision | undefined;
  let changes: FieldChange[] = [];
  try {
    for (let attempt = 0; ; attempt++) {
      phase = 'observe';
      const observed = await req.driver.observe(req.ctx, {
        owner: req.owner,
        desired: req.desired,
        externalId: req.current?.externalId,
        externalIds: req.current?.externalIds,
        import: req.import,
        ...(req.fresh || attempt > 0 ? { fresh: true } : {}),
      });
      changes = observed && !req.deleting ? req.driver.diff(req.desired, observed.state) : [];
      decision = decide({
        deleting: req.deleting,
        observed,
        imported: req.import !== undefined,
        changes,
        ...req.policy,
      });
      const plan: PlanItem = { ...base, action: decision.action, externalId: observed?.externalId };
      if (changes.length) plan.changes = changes;
      if (decision.action === 'orphan') plan.action = decision.why === 'gone' ? 'noop' : 'orphan';
      if (req.dryRun) return { plan, done: decision.action === 'noop', status: req.current };
      phase = decision.action;
      const now = req.now().toISOString();
      if (decision.action !== 'noop') {
        req.ctx.log.info(
          { action: decision.action, resource: req.resource, externalId: observed?.externalId, changes: changes.map((c) => c.path) },
          `${decision.action} ${req.resource} on ${req.provider.name}`,
        );
      }
      try {
        switch (decision.action) {
          case 'noop':
            return { plan, done: true, status: fromObserved(observed!, { synced: true, lastSyncTime: now }), facts: observed!.facts };
          case 'create': {
            const created = await req.driver.create(req.ctx, req.owner, req.desired);
            const status = fromObserved(created, { synced: true, lastSyncTime: now });
            await req.persist(status);
            return { plan: { ...plan, externalId: created.externalId }, done: true, status, facts: created.facts };
          }
          case 'update': {
            const updated = await req.driver.update(req.ctx, req.owner, observed!, req.desired, changes);
            return { plan, done: true, status: fromObserved(updated, { synced: true, lastSyncTime: now }), facts: updated.facts };
          }
          case 'replace': {
            await req.driver.delete(req.ctx, observed!);
            const created = await req.driver.create(req.ctx, req.owner, req.desired);
            const status = fromObserved(created, { synced: true, lastSyncTime: now });
            await req.persist(status);
            return { plan: { ...plan, externalId: created.externalId }, done: true, status, facts: created.facts };
          }
          case 'delete':
            await req.driver.delete(req.ctx, observed!);
            return { plan, done: true };
          case 'orphan':
            return { plan, done: true };
          case 'blocked':
            return {
              plan,
              done: false,
              reason: 'ReplaceRequired',
              status: fromObserved(observed!, {
                synced: false,
                message:
                  decision.why === 'immutable'
                    ? `${describe(changes.filter((c) => c.immutable))} cannot change in place on ${req.provider.name}; set spec.allowReplace to replace the ${req.resource}, or revert`
                    : `the ${req.resource} on ${req.provider.name} is not netform's to change`,
              }),
            };
          case 'drift':
            return {
              plan,
              done: false,
              reason: 'DriftDetected',
              status: fromObserved(observed!, { synced: false, message: `differs from the spec on ${req.provider.name}: ${describe(changes)}` }),
            };
          case 'missing':
            return {
              plan,
              done: false,
              reason: 'NotFound',
              status: keep({ synced: false, message: `no ${req.resource} found on ${req.provider.name}` }),
            };
        }
      } catch (err) {
        if (classify(err) === 'Conflict' && attempt < MAX_CONFLICT_RETRIES) continue; // lost a race: re-observe, re-plan
        if (classify(err) === 'NotFound' && decision.action === 'delete') return { plan, done: true };
        throw err;
      }
    }
  } catch (err) {
    const errorClass = classify(err);
    const message = `${phase} ${req.resource} on ${req.provider.name}: ${messageOf(err)}`;
    const plan: PlanItem = { ...base, action: req.dryRun ? 'unknown' : (decision?.action ?? 'unknown'), message };
    if (req.dryRun) plan.action = 'unknown';
    const error: BindingOutcome['error'] = { errorClass, message };
    if (err instanceof BackendError && err.code) error.code = err.code;
    return { plan, done: false, error, status: keep({ synced: false, message }) };
  }
}

// Binding a netform object to one provider: get the provider's driver, then run the generic
// managed-resource reconciler for the object's backend resource there.
import type { Provider } from '../../api/kinds.ts';
import type { ImportRef, ProviderDriver, ResourceDriver } from '../../drivers/driver.ts';
import { CredentialsError } from '../../api/credentials.ts';
import { reconcileBinding, type BindingOutcome, type BindingStatus } from './managed.ts';
import type { ObjectRecord } from '../../state/records.ts';
import { summarizeBindings } from './binding-summary.ts';
import { lookup, setOutcome, writeRecord, type ReconcileResult, type Runtime } from './runtime.ts';

export interface BindArgs<D> {
  rec: ObjectRecord;
  provider: Provider;
  baseDir: string | undefined;
  /** `network`, `port`… */
  resource: string;
  /** The driver's resource for this kind, if the provider type has one. */
  pick: (d: ProviderDriver) => ResourceDriver<D, unknown> | undefined;
  desired: D;
  deleting: boolean;
  current?: BindingStatus;
  importRef?: ImportRef;
  /** The object's spec changed since it was last converged. */
  fresh?: boolean;
  policy: { managementPolicy: 'Managed' | 'ObserveOnly'; deletionPolicy: 'Delete' | 'Orphan'; allowReplace: boolean };
  signal: AbortSignal;
}

export async function bindOn<D>(rt: Runtime, a: BindArgs<D>): Promise<BindingOutcome> {
  const { rec } = a;
  const target = { name: a.provider.metadata.name, type: a.provider.spec.type };
  const planTarget = `${target.type}:${target.name}`;
  let driver: ProviderDriver;
  try {
    driver = await rt.sessions.get(a.provider, a.baseDir);
  } catch (err) {
    const message = (err as Error).message;
    const o: BindingOutcome = {
      done: false,
      plan: { object: rec.key, target: planTarget, resource: a.resource, action: 'unknown', message },
      error: { errorClass: err instanceof CredentialsError || !rt.sessions.registry.has(target.type) ? 'Terminal' : 'Transient', message },
      status: { ...(a.current ?? {}), ...target, synced: false, message },
    };
    if (rt.dryRun) rt.plan.push(o.plan);
    else rt.observer?.binding(rec.key, o, target.name);
    return o;
  }
  const resource = a.pick(driver);
  if (!resource) {
    // This provider type has no such objects (e.g. UCSM has no per-vNIC port): nothing to do there.
    return { done: true, plan: { object: rec.key, target: planTarget, resource: a.resource, action: 'noop' } };
  }
  const owner = { instance: rt.instance, kind: rec.kind, name: rec.name, ...(rec.namespace ? { namespace: rec.namespace } : {}) };
  const o = await reconcileBinding({
    object: rec.key,
    owner,
    provider: target,
    resource: a.resource,
    driver: resource,
    desired: a.desired,
    deleting: a.deleting,
    current: a.current,
    import: a.importRef,
    ...(a.fresh ? { fresh: true } : {}),
    policy: a.policy,
    dryRun: rt.dryRun,
    ctx: { signal: a.signal, log: rt.log.child({ object: rec.key, provider: target.name }) },
    persist: async (b) => {
      await rt.hooks?.afterCreate?.(rec.key);
      const list = ((rec.status.providers as BindingStatus[] | undefined) ?? []).filter((x) => x.name !== b.name);
      rec.status.providers = [...list, b].sort((x, y) => (x.name < y.name ? -1 : 1));
      await writeRecord(rt, rec);
    },
    now: () => rt.now(),
  });
  if (rt.dryRun) rt.plan.push(o.plan);
  else rt.observer?.binding(rec.key, o, target.name);
  return o;
}

/**
 * Removes a netform object's backend objects from every provider its status names (delete or let go,
 * per policy). Returns undefined once none is left; otherwise records how far it got and returns
 * when to look again.
 */
export async function deleteEverywhere(
  rt: Runtime,
  rec: ObjectRecord,
  resource: string,
  unbind: (provider: { object: Provider; baseDir?: string }, current: BindingStatus) => Promise<BindingOutcome>,
): Promise<ReconcileResult | undefined> {
  const outcomes: BindingOutcome[] = [];
  for (const b of (rec.status.providers as BindingStatus[] | undefined) ?? []) {
    const found = lookup(rt, 'Provider', b.name);
    if (!found) {
      rt.log.warn({ object: rec.key, provider: b.name }, `provider gone; forgetting the ${resource} on it`);
      continue;
    }
    outcomes.push(await unbind(found, b));
  }
  const remaining = mergeBindings(outcomes);
  if (!remaining.length) return undefined;
  rec.status.providers = remaining;
  const { outcome, retry } = summarizeBindings(outcomes, resource, true);
  setOutcome(rt, rec, outcome);
  await writeRecord(rt, rec);
  return retry ? { retry } : { requeueAfterMs: rt.waitMs };
}

/** The bindings to keep in status: every outcome that still has a backend object, by provider name. */
export function mergeBindings(outcomes: readonly BindingOutcome[]): BindingStatus[] {
  return outcomes
    .map((o) => o.status)
    .filter((s): s is BindingStatus => s !== undefined)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

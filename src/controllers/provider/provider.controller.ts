// Provider: resolve credentials, build the driver, probe the backend. Ready means the backend
// answers and accepts the credentials; networks wait for it.
import { dirname } from 'node:path';
import { BackendError, classify, messageOf } from '../../api/errors.ts';
import { parseKey, type Provider } from '../../api/kinds.ts';
import {
  blockDeletion,
  isFrozen,
  jittered,
  recordFor,
  removeRecord,
  reportInvalid,
  setOutcome,
  writeRecord,
  type Controller,
  type ReconcileResult,
  type Runtime,
} from '../runtime/runtime.ts';
import { CredentialsError } from './credentials.ts';

/** A successful probe younger than this is not repeated when a dependent wakes the provider. */
const PROBE_FRESH_MS = 30_000;

export class ProviderController implements Controller {
  readonly kind = 'Provider' as const;
  readonly #rt: Runtime;

  constructor(rt: Runtime) {
    this.#rt = rt;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const rt = this.#rt;
    if (isFrozen(rt, key)) return reportInvalid(rt, key);
    const adm = rt.store.get(key);
    if (!adm) return this.#remove(key);
    const provider = adm.object as Provider;
    const rec = recordFor(rt, adm);
    const ready = (reason: 'Available', version?: string): ReconcileResult => {
      setOutcome(rt, rec, {
        ready: { status: 'True', reason, message: version ? `reachable, version ${version}` : 'reachable' },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
      });
      if (version) rec.status.version = version;
      rec.status.lastProbeTime = rt.now().toISOString();
      return { requeueAfterMs: jittered(rt, rt.resyncMs) };
    };
    if (rt.dryRun) return {};
    // Woken by a dependent soon after a successful probe of this same spec: no need to ask again.
    const last = Date.parse(String(rec.status.lastProbeTime ?? ''));
    const fresh = rec.status.observedGeneration === rec.generation && rec.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (fresh && rt.now().getTime() - last < PROBE_FRESH_MS) return { requeueAfterMs: jittered(rt, rt.resyncMs) };
    let result: ReconcileResult;
    try {
      const driver = await rt.sessions.get(provider, dirname(adm.source.file));
      const probe = await driver.probe({ signal, log: rt.log.child({ provider: provider.metadata.name }) });
      result = ready('Available', probe.version);
    } catch (err) {
      const message = messageOf(err);
      if (err instanceof CredentialsError || credentialsRefused(err)) {
        setOutcome(rt, rec, {
          ready: { status: 'False', reason: 'Unavailable', message },
          synced: { status: 'False', reason: 'CredentialsError', message },
          stalled: true,
        });
        result = { requeueAfterMs: jittered(rt, rt.resyncMs) };
      } else if (!rt.sessions.registry.has(provider.spec.type)) {
        setOutcome(rt, rec, {
          ready: { status: 'False', reason: 'Unavailable', message },
          synced: { status: 'False', reason: 'DriverUnavailable', message },
          stalled: true,
        });
        result = {};
      } else if (classify(err) === 'Terminal') {
        setOutcome(rt, rec, {
          ready: { status: 'False', reason: 'Unavailable', message },
          synced: { status: 'False', reason: 'BackendRejected', message },
          stalled: true,
        });
        result = { requeueAfterMs: jittered(rt, rt.resyncMs) };
      } else {
        setOutcome(rt, rec, {
          ready: { status: 'False', reason: 'Unavailable', message },
          synced: { status: 'False', reason: 'ReconcileError', message },
          progressing: true,
        });
        result = { retry: err };
      }
    }
    await writeRecord(rt, rec);
    return result;
  }

  /** A removed provider goes once nothing holds objects on it any more. */
  async #remove(key: string): Promise<ReconcileResult> {
    const rt = this.#rt;
    const rec = rt.records.get(key);
    if (!rec) return {};
    const name = parseKey(key).name;
    const holders = holdersOf(rt, name);
    if (holders.length) return blockDeletion(rt, rec, holders, 'waiting for dependents to go');
    if (!rt.dryRun) await rt.sessions.drop(name);
    await removeRecord(rt, key);
    return {};
  }
}

/**
 * The backend refused the credentials themselves (not a request): the user must fix the credentials,
 * so the Provider says CredentialsError, not BackendRejected. The drivers' codes for it: Keystone's
 * 401/403 on POST /v3/auth/tokens ('Unauthorized', src/drivers/neutron/client.ts) and UCS Manager's
 * fault 551 "Authentication failed" (src/drivers/ucsm/client.ts).
 */
export function credentialsRefused(err: unknown): boolean {
  return err instanceof BackendError && err.errorClass === 'Terminal' && (err.code === 'Unauthorized' || err.code === '551');
}

/** Objects that reference the provider or still hold backend objects on it. */
export function holdersOf(rt: Runtime, provider: string): string[] {
  const out = new Set(rt.store.referrers(`Provider/${provider}`));
  for (const r of rt.records.list()) {
    const bindings = (r.status.providers as { name: string }[] | undefined) ?? [];
    if (bindings.some((b) => b.name === provider)) out.add(r.key);
  }
  return [...out].sort();
}


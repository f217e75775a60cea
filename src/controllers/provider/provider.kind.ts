// Provider: resolve credentials, build the driver, probe the backend. Ready means the backend
// answers and accepts the credentials; networks wait for it. A removed provider goes once nothing
// holds objects on it any more.
import { BackendError, classify, messageOf } from '../../api/errors.ts';
import { parseKey } from '../../api/kinds.ts';
import { bindingsOf, defineKind, type Summary } from '../runtime/kind.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { CredentialsError } from '../../api/credentials.ts';
import { allRecords } from '../../state/records.ts';

/** A successful probe younger than this is not repeated when a dependent wakes the provider. */
const PROBE_FRESH_MS = 30_000;

export const providerKind = defineKind({
  kind: 'Provider',

  keyFigure: (r) => String((r.spec as { type?: string } | undefined)?.type ?? ''),

  usedBy: (rt, key) => ({
    users: holdersOf(rt, parseKey(key).name),
    waitingFor: 'waiting for dependents to go',
  }),

  async summarize({ rt, object: provider, rec, baseDir, signal }): Promise<Summary> {
    // A plan never probes: it reads backends through the providers' drivers when it needs them.
    if (rt.dryRun) return { requeue: 'never' };
    // Woken by a dependent soon after a successful probe of this same spec: no need to ask again.
    const last = Date.parse(String(rec.status.lastProbeTime ?? ''));
    const fresh = rec.status.observedGeneration === rec.generation && rec.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (fresh && rt.now().getTime() - last < PROBE_FRESH_MS) return {};
    try {
      const driver = await rt.sessions.get(provider, baseDir);
      const probe = await driver.probe({
        signal,
        log: rt.log.child({ provider: provider.metadata.name }),
      });
      if (probe.version) rec.status.version = probe.version;
      rec.status.lastProbeTime = rt.now().toISOString();
      return {
        outcome: {
          ready: {
            status: 'True',
            reason: 'Available',
            message: probe.version ? `reachable, version ${probe.version}` : 'reachable',
          },
          synced: { status: 'True', reason: 'ReconcileSuccess' },
        },
      };
    } catch (err) {
      const message = messageOf(err);
      const unavailable = {
        status: 'False',
        reason: 'Unavailable',
        message,
      } as const;
      if (err instanceof CredentialsError || credentialsRefused(err)) {
        return {
          outcome: {
            ready: unavailable,
            synced: { status: 'False', reason: 'CredentialsError', message },
            stalled: true,
          },
        };
      }
      if (!rt.sessions.registry.has(provider.spec.type)) {
        return {
          outcome: {
            ready: unavailable,
            synced: { status: 'False', reason: 'DriverUnavailable', message },
            stalled: true,
          },
          requeue: 'never',
        };
      }
      if (classify(err) === 'Terminal') {
        return {
          outcome: {
            ready: unavailable,
            synced: { status: 'False', reason: 'BackendRejected', message },
            stalled: true,
          },
        };
      }
      return {
        outcome: {
          ready: unavailable,
          synced: { status: 'False', reason: 'ReconcileError', message },
          progressing: true,
        },
        retry: err,
      };
    }
  },

  async removed(rt, rec) {
    if (!rt.dryRun) await rt.sessions.drop(rec.name);
  },
});

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
function holdersOf(rt: Runtime, provider: string): string[] {
  const out = new Set(rt.store.referrers(`Provider/${provider}`));
  for (const r of allRecords(rt.records)) if (bindingsOf(r).some((b) => b.name === provider)) out.add(r.key);
  return [...out].sort();
}

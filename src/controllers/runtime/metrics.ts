// Prometheus metrics of a netform process (prom-client). The engine reports reconciles and backend
// actions through its observer; gauges (queue depth, leadership, informer staleness) are read when
// scraped. Each Metrics has its own registry, so tests and several engines never collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineObserver, ReconcileReport } from './engine.ts';
import type { BindingOutcome } from './managed.ts';

export interface MetricsSources {
  /** The work queue now (undefined while this replica is not leading). */
  queue?: () => { queued: number; running: number; delayed: number; queuedRecheck?: number; oldestRecheckWaitMs?: number; aged?: number } | undefined;
  leader?: () => boolean;
  /** Sharded controllers: the shards this replica holds now (undefined: not sharded, no series). */
  shardsHeld?: () => number | undefined;
  /** Informers whose watch is stale, by kind. */
  stale?: () => Record<string, boolean>;
}

export class Metrics implements EngineObserver {
  readonly registry = new Registry();
  readonly #reconciles: Counter<'kind' | 'result'>;
  readonly #errors: Counter<'kind'>;
  readonly #duration: Histogram<'kind'>;
  readonly #toReady: Histogram<'kind'>;
  readonly #drift: Counter<'kind'>;
  readonly #actions: Counter<'provider' | 'action' | 'result'>;

  constructor(sources: MetricsSources = {}, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'netform_' });
    this.#reconciles = new Counter({
      name: 'netform_reconcile_total',
      help: 'Reconciles by kind and result (success, requeue, retry, error).',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.#errors = new Counter({ name: 'netform_reconcile_errors_total', help: 'Reconciles that failed and will be retried, by kind.', labelNames: ['kind'], registers });
    const perKind = (name: string, help: string, buckets: number[]) => new Histogram({ name, help, labelNames: ['kind'], buckets, registers });
    this.#duration = perKind('netform_reconcile_duration_seconds', 'Time one reconcile took, by kind.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.#toReady = perKind(
      'netform_time_to_ready_seconds',
      'From when a spec was first seen (or the controller started) to the object being Ready, by kind.',
      [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    );
    this.#drift = new Counter({
      name: 'netform_drift_corrections_total',
      help: 'Converged objects whose backend was changed behind netform and put right again, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.#actions = new Counter({
      name: 'netform_backend_actions_total',
      help: 'Backend writes by provider, action (create, update, replace, delete) and result (ok, error).',
      labelNames: ['provider', 'action', 'result'],
      registers,
    });
    new Gauge({
      name: 'netform_workqueue_depth',
      help: 'Keys waiting in the work queue (ready to run, not counting delayed retries and re-checks).',
      registers,
      collect() {
        this.set(sources.queue?.()?.queued ?? 0);
      },
    });
    new Gauge({
      name: 'netform_workqueue_recheck_depth',
      help: 'Of the waiting keys, those in the re-check line (periodic re-checks and resyncs, served after edits).',
      registers,
      collect() {
        this.set(sources.queue?.()?.queuedRecheck ?? 0);
      },
    });
    new Gauge({
      name: 'netform_workqueue_recheck_oldest_wait_seconds',
      help: 'How long the oldest waiting re-check has waited behind edits (it is served among them once aged).',
      registers,
      collect() {
        this.set((sources.queue?.()?.oldestRecheckWaitMs ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'netform_workqueue_running',
      help: 'Keys being reconciled right now.',
      registers,
      collect() {
        this.set(sources.queue?.()?.running ?? 0);
      },
    });
    new Gauge({
      name: 'netform_leader',
      help: '1 while this replica holds the leader lease (always 1 without leader election).',
      registers,
      collect() {
        this.set(sources.leader?.() ? 1 : 0);
      },
    });
    if (sources.shardsHeld) {
      new Gauge({
        name: 'netform_shards_held',
        help: 'Shards (their Leases) this replica holds now, with --shards.',
        registers,
        collect() {
          this.set(sources.shardsHeld?.() ?? 0);
        },
      });
    }
    new Gauge({
      name: 'netform_informer_stale',
      help: '1 for a kind whose watch is stale (not synced, or silent for too long).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, stale] of Object.entries(sources.stale?.() ?? {})) this.set({ kind }, stale ? 1 : 0);
      },
    });
  }

  reconciled(_key: string, r: ReconcileReport): void {
    this.#reconciles.inc({ kind: r.kind, result: r.result });
    if (r.result === 'error' || r.result === 'retry') this.#errors.inc({ kind: r.kind });
    this.#duration.observe({ kind: r.kind }, r.ms / 1000);
    if (r.driftCorrected) this.#drift.inc({ kind: r.kind });
    if (r.becameReadyAfterS !== undefined) this.#toReady.observe({ kind: r.kind }, r.becameReadyAfterS);
  }

  binding(_key: string, outcome: BindingOutcome, provider: string): void {
    const action = outcome.plan.action;
    if (outcome.error) this.#actions.inc({ provider, action, result: 'error' });
    else if (action === 'create' || action === 'update' || action === 'replace' || action === 'delete') this.#actions.inc({ provider, action, result: 'ok' });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

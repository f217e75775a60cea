// Runs the host agent for one host inside a netform process: computes the host's desired state (a
// HostModel) from the engine's desired state, has the host driver converge it, and hands the report
// to the engine (which writes the Host's status). Passes go through a work queue with one key, the
// Host's: a kick adds it (passes coalesce, one at a time), a failing pass is retried with the key's
// backoff, and a successful pass requeues it after the drift-check interval once the loop is started.
import type { Logger } from 'pino';
import { objectKey } from '../../api/kinds.ts';
import type { HostDriver, HostModel, HostPendingPlan, HostReport } from '../../drivers/host-driver.ts';
import { heldPlan, planDigest } from '../plan/document.ts';
import { analyzeImpact, endpointPlaces, vnicPlaces } from '../plan/impact.ts';
import { CHANGING } from '../runtime/plan.ts';
import { hostPlanItems } from './host.plan.ts';
import { ItemBackoff } from '../../state/backoff.ts';
import { WorkQueue, type Clock } from '../../state/workqueue.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { hostModel } from './host.desired.ts';
import { hostInputs } from './host.inputs.ts';

export interface AgentLoopOptions {
  /** Where the desired state is read (an engine's store and records, or a read-only copy). */
  source: Pick<Runtime, 'store' | 'records'>;
  /** Where reports go (the engine of this process, or a file a `run` process reads). */
  report: (host: string, report: HostReport) => void | Promise<void>;
  /** Called before each pass, to refresh a read-only source. */
  refresh?: () => Promise<void>;
  host: string;
  /** Converges the host (drivers/host's HostAgent on Linux). Closed by `stop`. */
  driver: HostDriver;
  log: Logger;
  /** The plan digest the Host is approved for (its annotation, or file mode's approval), if any. */
  approved?: (hostKey: string) => string | undefined;
  /** Period of the drift check. Default 10 s. */
  intervalMs?: number;
  /** Retry delays of a failing pass. Default: 1 s doubling up to the drift-check interval. */
  backoff?: ItemBackoff;
  clock?: Clock;
}

interface Waiter {
  resolve: (report: HostReport | undefined) => void;
}

export class HostAgentLoop {
  readonly driver: HostDriver;
  readonly #o: AgentLoopOptions;
  readonly #key: string;
  readonly #queue: WorkQueue;
  /** Kicks waiting for the next pass to start. */
  #waiting: Waiter[] = [];
  #started = false;
  #heldSince: { digest: string; at: string } | undefined;
  #stopped: Promise<void> | undefined;

  constructor(o: AgentLoopOptions) {
    this.#o = o;
    this.driver = o.driver;
    this.#key = objectKey('Host', o.host);
    const intervalMs = o.intervalMs ?? 10_000;
    this.#queue = new WorkQueue({
      handler: () => this.#pass(),
      concurrency: 1,
      rateLimit: { perSecond: Infinity, burst: 1 },
      backoff: o.backoff ?? new ItemBackoff({ baseMs: Math.min(1000, intervalMs), maxMs: intervalMs }),
      ...(o.clock ? { clock: o.clock } : {}),
      onError: (_key, err, retryInMs) => {
        o.log.warn({ host: o.host, err: err instanceof Error ? err.message : String(err), retryInMs }, 'host agent pass failed');
      },
    });
  }

  /** Converges now, then every interval (drift check) until `stop`. */
  start(): void {
    if (this.#stopped) return;
    this.#started = true;
    this.#queue.add(this.#key);
  }

  /**
   * Converges soon: the next pass that starts after this call (one pass serves every kick made
   * before it starts; a kick during a pass makes one more). Resolves with its report; undefined when
   * the Host is not declared, the pass failed (it is retried with backoff) or the loop stopped.
   */
  kick(): Promise<HostReport | undefined> {
    if (this.#stopped) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiting.push({ resolve });
      this.#queue.add(this.#key);
    });
  }

  /** One pass: desired → converge → report. Undefined when the Host is not declared; throws when it fails. */
  async runOnce(): Promise<HostReport | undefined> {
    const { source, host, driver } = this.#o;
    await this.#o.refresh?.();
    const inputs = hostInputs(source, host);
    if (!inputs) return undefined;
    const model = hostModel(inputs);
    const held = inputs.host.spec.approval === 'Manual' ? await this.#held(model) : undefined;
    // A held plan: the pass only reports (as under syncPolicy Manual), with the plan it holds.
    const report = await driver.converge(held ? { ...model, syncPolicy: 'Manual' } : model);
    if (held) {
      report.syncPolicy = model.syncPolicy;
      report.pendingPlan = { ...held, asOf: report.lastObservedTime };
    }
    await this.#o.report(host, report);
    return report;
  }

  /**
   * The approval gate of a Host with approval Manual: the plan of this pass (the model against the
   * host as observed now, the same items `netform plan` shows); undefined when it changes nothing
   * or the Host is approved for exactly its digest.
   */
  async #held(model: HostModel): Promise<Omit<HostPendingPlan, 'asOf'> | undefined> {
    const { driver, host, source } = this.#o;
    const items = hostPlanItems(host, model, await driver.observe(), driver, new Date().toISOString());
    const changes = items.filter((i) => CHANGING.has(i.action));
    if (!changes.length) return undefined;
    const digest = planDigest(changes);
    if (this.#o.approved?.(this.#key) === digest) {
      this.#o.log.info({ host, digest }, 'host plan approved: applying');
      return undefined;
    }
    analyzeImpact(changes, vnicPlaces(source.store, source.records.list()), endpointPlaces(source.store, source.records.list()));
    // The same plan held again keeps the time it was first computed (a report that does not change
    // needs no new status write).
    if (this.#heldSince?.digest !== digest) this.#heldSince = { digest, at: new Date().toISOString() };
    return heldPlan(changes, this.#heldSince.at);
  }

  async #pass(): Promise<{ requeueAfterMs: number } | undefined> {
    const waiting = this.#waiting;
    this.#waiting = [];
    let report: HostReport | undefined;
    try {
      report = await this.runOnce();
    } finally {
      for (const w of waiting) w.resolve(report);
    }
    return this.#started ? { requeueAfterMs: this.#o.intervalMs ?? 10_000 } : undefined;
  }

  /** Stops the loop: waits for a running pass, drops pending ones, and closes the driver. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await this.#queue.shutdown();
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const w of waiting) w.resolve(undefined);
      await this.driver.close();
    })();
    return this.#stopped;
  }
}

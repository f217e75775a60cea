// Runs the host agent for one host inside a netform process: computes the host's desired layout
// from the engine's desired state, converges it, and hands the report to the engine (which writes
// the Host's status). Re-runs periodically (drift detection) and whenever it is kicked.
import type { Logger } from 'pino';
import { HostAgent, type HostReport, type HostTarget } from '../../drivers/host/agent.ts';
import { desiredHost } from '../../drivers/host/desired.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { hostInputs } from './host.inputs.ts';

export interface AgentLoopOptions {
  /** Where the desired state is read (an engine's store and records, or a read-only copy). */
  source: Pick<Runtime, 'store' | 'records' | 'instance'>;
  /** Where reports go (the engine of this process, or a file a `run` process reads). */
  report: (host: string, report: HostReport) => void | Promise<void>;
  /** Called before each pass, to refresh a read-only source. */
  refresh?: () => Promise<void>;
  host: string;
  target: HostTarget;
  log: Logger;
  /** Period of the drift check. Default 10 s. */
  intervalMs?: number;
  reachSource?: () => Promise<boolean>;
}

export class HostAgentLoop {
  readonly agent: HostAgent;
  readonly #o: AgentLoopOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<HostReport | undefined> | undefined;
  #again = false;
  #stopped = false;

  constructor(o: AgentLoopOptions) {
    this.#o = o;
    this.agent = new HostAgent({ target: o.target, instance: o.source.instance, log: o.log.child({ host: o.host }), reachSource: o.reachSource });
  }

  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      void this.kick().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.intervalMs ?? 10_000);
      });
    };
    tick();
  }

  /** Converges now (or once more right after the run in progress). */
  async kick(): Promise<HostReport | undefined> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      let report: HostReport | undefined;
      do {
        this.#again = false;
        report = await this.runOnce();
      } while (this.#again && !this.#stopped);
      return report;
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** One pass: desired → converge → report. Undefined when the Host is not declared. */
  async runOnce(): Promise<HostReport | undefined> {
    const { source, host, target, log } = this.#o;
    try {
      await this.#o.refresh?.();
      const inputs = hostInputs(source, host, { ovsBridge: target.ovsBridge, ovsDatapath: target.ovsDatapath });
      if (!inputs) return undefined;
      const desired = desiredHost(inputs);
      const report = await this.agent.converge(desired, inputs.host.spec.syncPolicy, inputs.host.spec.probes ?? []);
      await this.#o.report(host, report);
      return report;
    } catch (err) {
      log.warn({ host, err: err instanceof Error ? err.message : String(err) }, 'host agent pass failed');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
    await this.agent.close();
  }
}

// File mode: a manifest directory as the source of desired state, a state directory as the record
// store. Used by `apply`, `run` and (read-only, in memory) `plan`.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { HostAgentLoop } from '../controllers/host/agent.loop.ts';
import { HostAgent } from '../drivers/host/agent.ts';
import type { Config } from '../config.ts';
import { Engine, type EngineObserver } from '../controllers/runtime/engine.ts';
import type { RuntimeHooks } from '../controllers/runtime/runtime.ts';
import { FileCredentialSource } from '../adapters/files/credentials.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import { ManifestReader, readManifests } from '../adapters/files/directory.ts';
import { AdmissionCache, admit } from '../state/admit.ts';
import { type AdmissionResult } from '../api/objects.ts';
import { admissionContext, MemoryRecords, type RecordStore } from '../state/records.ts';
import { readHostReports, writeHostReport } from '../adapters/files/host-reports.ts';
import { readApprovals } from '../adapters/files/approvals.ts';
import { approvedPlan } from '../controllers/runtime/runtime.ts';
import { hostTarget } from './host-target.ts';
import { StateDir, StateDirRecords, type StateDirLockLostError } from '../adapters/files/state-dir.ts';
import { KIND_DEFINITIONS } from '../controllers/index.ts';
import { objectKey } from '../api/kinds.ts';

export interface FileModeOptions {
  config: Config;
  registry: DriverRegistry;
  log: Logger;
  /** Plan: read the state directory without locking it, and never write. */
  dryRun?: boolean;
  hooks?: RuntimeHooks;
  /** Told about reconciles and backend actions (the console). */
  observer?: EngineObserver;
  /** The manifests will be loaded again and again (`run`): admission remembers each file, at the
   *  cost of holding every file's text (AdmissionCache). */
  reloads?: boolean;
}

export class FileMode {
  readonly engine: Engine;
  readonly records: RecordStore;
  /** The host agent of this process, when it runs one (see `startAgent`). */
  agent: HostAgentLoop | undefined;
  readonly #state: StateDir | undefined;
  readonly #dir: string;
  readonly #stateDir: string;
  #agentHost: string | undefined;
  #reportTimer: NodeJS.Timeout | undefined;
  #approvalTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #lostError: StateDirLockLostError | undefined;
  #halted: Promise<void> | undefined;
  /**
   * Resolves once the state directory has lost its lock (it was deleted or replaced while this process
   * ran) and everything that could act — the engine, the host agent, the report poller — has stopped.
   * Never resolves otherwise. `run` and `apply` then exit with {@link lostError}.
   */
  readonly lost: Promise<StateDirLockLostError>;

  private constructor(engine: Engine, records: RecordStore, state: StateDir | undefined, dir: string, stateDir: string, log: Logger) {
    this.engine = engine;
    this.records = records;
    this.#state = state;
    this.#dir = dir;
    this.#stateDir = stateDir;
    this.#log = log;
    this.lost = new Promise((res) => {
      state?.onLost((err) => {
        this.#lostError = err;
        log.error({ state: state.root }, err.message);
        this.#halted = this.#halt();
        void this.#halted.then(() => res(err));
      });
    });
  }

  /** Why this process must stop: its state directory lost its lock. Undefined while it has not. */
  get lostError(): StateDirLockLostError | undefined {
    return this.#lostError;
  }

  /** Approvals from `netform approve` (digest by key), read from the state directory. */
  readonly approvals = new Map<string, string>();

  static async open(o: FileModeOptions): Promise<FileMode> {
    if (!o.config.dir) throw new Error('file mode needs --dir');
    const approvals = await readApprovals(o.config.stateDir);
    let records: RecordStore;
    let state: StateDir | undefined;
    if (o.dryRun) {
      records = new MemoryRecords((await StateDir.readAll(o.config.stateDir)) as never);
    } else {
      state = new StateDir(o.config.stateDir);
      await state.open();
      records = new StateDirRecords(state);
    }
    const engine = new Engine({
      kinds: KIND_DEFINITIONS,
      records,
      registry: o.registry,
      credentials: new FileCredentialSource(),
      log: o.log,
      instance: o.config.instance,
      resyncMs: o.config.resyncMs,
      concurrency: o.config.concurrency,
      dryRun: o.dryRun,
      hooks: o.hooks,
      ...(o.observer ? { observer: o.observer } : {}),
      approvals: (key) => fm.approvals.get(key),
    });
    const fm = new FileMode(engine, records, state, o.config.dir, o.config.stateDir, o.log);
    for (const [k, d] of approvals) fm.approvals.set(k, d);
    if (o.reloads) {
      fm.#admission = new AdmissionCache();
      fm.#reader = new ManifestReader();
    }
    return fm;
  }

  /** What admission made of each file (`reloads`): an edit parses and checks only the files it changed. */
  #admission: AdmissionCache | undefined;
  #reader: ManifestReader | undefined;
  readonly #log: Logger;

  /**
   * Reads and admits the manifests, and hands the result to the engine. With `confirmRemovalsMs`, a
   * read that no longer declares an object the engine holds is read again that much later before it
   * counts: a file moved or rewritten in several steps (a checkout, an editor's save) is seen whole,
   * and an object is never deleted from a half-written directory. Edits need no second read.
   */
  /** How many objects the last load() changed (new, changed or gone): the size of the pass it starts. */
  lastLoadChanged = 0;

  async load(opts: { confirmRemovalsMs?: number } = {}): Promise<AdmissionResult> {
    const t0 = performance.now();
    let result = await this.#admitNow();
    if (opts.confirmRemovalsMs && this.#removes(result)) {
      await new Promise((r) => setTimeout(r, opts.confirmRemovalsMs));
      if (this.#closed) return result; // stopped meanwhile: nothing more to decide
      result = await this.#admitNow();
    }
    const t1 = performance.now();
    const changed = this.engine.sync(result);
    this.lastLoadChanged = changed.length;
    this.#log.debug({ readAndAdmitMs: Math.round(t1 - t0), syncMs: Math.round(performance.now() - t1), changed: changed.length }, 'manifests loaded');
    return result;
  }

  async #admitNow(): Promise<AdmissionResult> {
    const t0 = performance.now();
    const files = this.#reader ? await this.#reader.read([this.#dir], [this.#stateDir]) : await readManifests([this.#dir], [this.#stateDir]);
    const t1 = performance.now();
    const ctx = admissionContext(this.records.list());
    const t2 = performance.now();
    const result = admit(files, ctx, { cache: this.#admission });
    this.#log.debug({ readMs: Math.round(t1 - t0), contextMs: Math.round(t2 - t1), admitMs: Math.round(performance.now() - t2) }, 'manifests admitted');
    return result;
  }

  /** Whether an admission leaves out an object the engine holds as declared or invalid. */
  #removes(result: AdmissionResult): boolean {
    const store = this.engine.store;
    for (const key of store.keys()) if (!result.objects.has(key) && !result.invalid.has(key)) return true;
    for (const key of store.invalidKeys()) if (!result.objects.has(key) && !result.invalid.has(key)) return true;
    return false;
  }

  /**
   * Folds in the reports that standalone agents (`netform agent --host NAME`) write to
   * `<state>/hosts/NAME.json`, for the Hosts this process runs no agent for. Polls every `everyMs`.
   */
  watchHostReports(stateDir: string, everyMs = 5000): void {
    const seen = new Map<string, string>();
    const poll = async () => {
      for (const [host, report] of await readHostReports(stateDir)) {
        if (host === this.#agentHost) continue; // this process's own agent reports directly
        if (seen.get(host) === report.lastObservedTime) continue;
        seen.set(host, report.lastObservedTime);
        this.engine.report(objectKey('Host', host), report);
      }
    };
    const tick = () => {
      void poll().finally(() => {
        if (!this.#closed) this.#reportTimer = setTimeout(tick, everyMs);
      });
    };
    tick();
  }

  /**
   * Picks up approvals that `netform approve` writes to `<state>/approvals/`, polling every `everyMs`:
   * the object approved is reconciled (its Host's agent runs a pass) at once.
   */
  watchApprovals(everyMs = 1000): void {
    const poll = async () => {
      for (const [key, digest] of await readApprovals(this.#stateDir)) this.approved(key, digest);
    };
    const tick = () => {
      void poll().finally(() => {
        if (!this.#closed) this.#approvalTimer = setTimeout(tick, everyMs);
      });
    };
    tick();
  }

  /** Takes an approval recorded in the state directory (by `netform approve`, or the console, which
   *  need not wait for the poll): the object approved is reconciled (its Host's agent runs a pass). */
  approved(key: string, digest: string): void {
    if (this.#closed || this.approvals.get(key) === digest) return;
    this.approvals.set(key, digest);
    this.engine.rt.enqueue(key);
    if (this.#agentHost && key === objectKey('Host', this.#agentHost)) void this.agent?.kick();
  }

  /**
   * Runs the host agent for `config.host`, or for the Host named like this machine when there is one.
   * Returns the Host's name, or undefined when this process carries no Host.
   */
  startAgent(config: Config, log: Logger, opts: { loop: boolean; intervalMs?: number }): string | undefined {
    if (this.#closed) return undefined; // stopped (e.g. the state directory lost its lock): acts no more
    const name = config.host ?? (this.engine.store.object('Host', hostname()) ? hostname() : undefined);
    if (!name) return undefined;
    const dir = this.#dir;
    this.agent = new HostAgentLoop({
      source: this.engine.rt,
      report: async (h, r) => {
        this.engine.report(objectKey('Host', h), r);
        // Kept in the state directory too, as a standalone agent's is: `netform plan` plans this
        // host against it.
        if (this.#state && !this.#closed) {
          await writeHostReport(this.#stateDir, h, r).catch((err: unknown) => log.warn({ err: (err as Error).message, host: h }, 'could not keep the host report'));
        }
      },
      host: name,
      driver: new HostAgent({
        target: hostTarget(config),
        instance: this.engine.rt.instance,
        log: log.child({ host: name }),
        // A change is kept only if this process can still read its manifests afterwards.
        reachSource: () => access(dir, constants.R_OK).then(() => true, () => false),
      }),
      log,
      intervalMs: opts.intervalMs,
      approved: (key) => approvedPlan({ approvals: (k) => this.approvals.get(k), store: this.engine.store }, key),
    });
    this.#agentHost = name;
    if (opts.loop) this.agent.start();
    return name;
  }

  /** Stops everything that acts on backends or reads reports; the state directory stays open. */
  async #halt(): Promise<void> {
    this.#closed = true;
    if (this.#reportTimer) clearTimeout(this.#reportTimer);
    if (this.#approvalTimer) clearTimeout(this.#approvalTimer);
    await this.agent?.stop();
    await this.engine.stop();
  }

  async close(): Promise<void> {
    await this.#halted;
    await this.#halt();
    await this.#state?.close();
  }
}

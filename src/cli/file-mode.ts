// File mode: a manifest directory as the source of desired state, a state directory as the record
// store. Used by `apply`, `run` and (read-only, in memory) `plan`.
import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { HostAgentLoop } from '../controllers/host/agent.loop.ts';
import type { HostTarget } from '../drivers/host/agent.ts';
import { OvsdbClient } from '../drivers/host/ovsdb.ts';
import type { Config } from '../config.ts';
import { Engine } from '../controllers/runtime/engine.ts';
import type { RuntimeHooks } from '../controllers/runtime/runtime.ts';
import { FileCredentialSource } from '../controllers/provider/credentials.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import { readManifests } from '../sources/directory.ts';
import { admit, type AdmissionResult } from '../state/admit.ts';
import { MemoryRecords, StateDirRecords, type RecordStore } from '../state/records.ts';
import { StateDir } from '../state/state-dir.ts';
import type { VlanAllocation } from '../state/semantic.ts';

/** Where Debian's Open vSwitch puts its database socket. */
export const DEFAULT_OVS_DB = '/var/run/openvswitch/db.sock';

export interface FileModeOptions {
  config: Config;
  registry: DriverRegistry;
  log: Logger;
  /** Plan: read the state directory without locking it, and never write. */
  dryRun?: boolean;
  hooks?: RuntimeHooks;
}

export class FileMode {
  readonly engine: Engine;
  readonly records: RecordStore;
  /** The host agent of this process, when it runs one (see `startAgent`). */
  agent: HostAgentLoop | undefined;
  readonly #state: StateDir | undefined;
  readonly #dir: string;

  private constructor(engine: Engine, records: RecordStore, state: StateDir | undefined, dir: string) {
    this.engine = engine;
    this.records = records;
    this.#state = state;
    this.#dir = dir;
  }

  static async open(o: FileModeOptions): Promise<FileMode> {
    if (!o.config.dir) throw new Error('file mode needs --dir');
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
      records,
      registry: o.registry,
      credentials: new FileCredentialSource(),
      log: o.log,
      instance: o.config.instance,
      resyncMs: o.config.resyncMs,
      concurrency: o.config.concurrency,
      dryRun: o.dryRun,
      hooks: o.hooks,
    });
    return new FileMode(engine, records, state, o.config.dir);
  }

  /** Reads and admits the manifests, and hands the result to the engine. */
  async load(): Promise<AdmissionResult> {
    const files = await readManifests([this.#dir]);
    const allocations: VlanAllocation[] = [];
    const knownSources = new Map<string, string>();
    for (const r of this.records.list()) {
      if (r.source) knownSources.set(r.key, r.source.file);
      if (r.kind === 'VlanPool') {
        for (const a of (r.status.allocations as Omit<VlanAllocation, 'pool'>[] | undefined) ?? []) allocations.push({ pool: r.name, ...a });
      }
    }
    const result = admit(files, { allocations, knownSources });
    this.engine.sync(result);
    return result;
  }

  /**
   * Runs the host agent for `config.host`, or for the Host named like this machine when there is one.
   * Returns the Host's name, or undefined when this process carries no Host.
   */
  startAgent(config: Config, log: Logger, opts: { loop: boolean; intervalMs?: number }): string | undefined {
    const name = config.host ?? (this.engine.store.object('Host', hostname()) ? hostname() : undefined);
    if (!name) return undefined;
    const socket = config.ovsDb ?? (existsSync(DEFAULT_OVS_DB) ? DEFAULT_OVS_DB : undefined);
    const target: HostTarget = {
      ovsBridge: 'br-int',
      ovsDatapath: config.ovsDatapath,
      sysfsRoot: config.sysfsRoot,
      ...(config.netns ? { netns: config.netns } : {}),
      ...(socket ? { ovs: () => OvsdbClient.connect(socket) } : {}),
    };
    const dir = this.#dir;
    this.agent = new HostAgentLoop({
      engine: this.engine,
      host: name,
      target,
      log,
      intervalMs: opts.intervalMs,
      // A change is kept only if this process can still read its manifests afterwards.
      reachSource: () => access(dir, constants.R_OK).then(() => true, () => false),
    });
    if (opts.loop) this.agent.start();
    return name;
  }

  async close(): Promise<void> {
    await this.agent?.stop();
    await this.engine.stop();
    await this.#state?.close();
  }
}

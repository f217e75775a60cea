// `netform agent --cluster --host NAME`: the host agent in cluster mode. It watches its own Host, the
// VnicAttachments placed on it (field selectors), and the Clusters, Networks and VlanPools they use;
// converges the host; and patches the Host status fields the agent owns (`agent`, `interfaces`,
// `dynamicVnics`, `lastObservedTime`), from which the controller derives the Host's conditions.
import type { Logger } from 'pino';
import type { Kind } from '../api/kinds.ts';
import type { Config } from '../config.ts';
import { HostAgentLoop } from '../controllers/host/agent.loop.ts';
import { approvedPlan } from '../controllers/runtime/runtime.ts';
import { APPROVED_PLAN } from '../api/kinds.ts';
import { convertFieldPath, HUB_VERSION, type ApiVersionName } from '../api/versions.ts';
import { reportDigest, statusFromReport } from '../controllers/host/host.report.ts';
import { HostAgent, type HostReport } from '../drivers/host/agent.ts';
import { isStatus, KubeClient } from '../adapters/kube/client.ts';
import { Informer } from '../adapters/kube/informer.ts';
import { KubeRecords, type KindCache } from '../adapters/kube/records.ts';
import { resourceTypes } from '../adapters/kube/resources.ts';
import { admitObjects } from '../state/admit.ts';
import { type ApiObject } from '../api/objects.ts';
import { admissionContext } from '../state/records.ts';
import { DesiredStore } from '../state/store.ts';
import { hostTarget } from './host-target.ts';
import { staleReasons, WATCH_IDLE_MS } from './cluster-mode.ts';
import { parseListen, ProbeServer } from './http.ts';

export interface ClusterAgentSettings {
  kubeconfig?: string;
  context?: string;
  intervalMs: number;
  once: boolean;
  /** `[host:]port` for /healthz and /readyz; undefined: none. */
  listen?: string;
  /** A status write is repeated at least this often even when nothing changed (a heartbeat). Default 60 s. */
  heartbeatMs?: number;
  watchIdleMs?: number;
  client?: KubeClient;
}

// Routers (those naming this host are realized here) and SecurityGroups (the taps' filtering) too. A
// remote group's members are resolved from the VnicAttachments this agent sees: those on its host.
const WATCHED: readonly Kind[] = ['Host', 'Cluster', 'Network', 'VlanPool', 'VnicAttachment', 'VnicProfile', 'Router', 'SecurityGroup', 'ServiceEndpoint'];
type Obj = ApiObject & { metadata: { name: string } };

export class ClusterAgent {
  readonly loop: HostAgentLoop;
  readonly informers: Partial<Record<Kind, Informer<Obj>>> = {};
  readonly #client: KubeClient;
  readonly #host: string;
  readonly #log: Logger;
  readonly #s: ClusterAgentSettings;
  #server: ProbeServer | undefined;
  #kickTimer: NodeJS.Timeout | undefined;
  #lastDigest: string | undefined;
  #lastWrite = 0;
  #lastReport: HostReport | undefined;
  #unsubscribe: (() => void)[] = [];

  constructor(c: Config, log: Logger, s: ClusterAgentSettings) {
    if (!c.host) throw new Error('netform agent --cluster needs --host NAME');
    this.#host = c.host;
    this.#log = log;
    this.#s = s;
    this.#client = s.client ?? KubeClient.load({ kubeconfig: s.kubeconfig, context: s.context });
    const types = resourceTypes();
    for (const k of WATCHED) {
      // (The field of the version read: spec.host in v1alpha1 is spec.hostRef.name in v1beta1.)
      const fieldSelector = k === 'Host' ? `metadata.name=${this.#host}` : k === 'VnicAttachment' || k === 'ServiceEndpoint' ? `${convertFieldPath(k, 'spec.host', HUB_VERSION, resourceTypes()[k].version as ApiVersionName)}=${this.#host}` : undefined;
      this.informers[k] = new Informer<Obj>({
        client: this.#client,
        type: types[k],
        log: log.child({ informer: types[k].plural }),
        ...(fieldSelector ? { fieldSelector } : {}),
        idleTimeoutMs: s.watchIdleMs ?? WATCH_IDLE_MS,
      });
    }
    const store = new DesiredStore();
    // The records (for the VLANs networks were given) read the same caches; the agent never writes them.
    const none: KindCache = { list: () => [], get: () => undefined };
    const records = new KubeRecords({
      client: this.#client,
      caches: { Provider: none, ...(this.informers as Record<Exclude<Kind, 'Provider'>, KindCache>) },
      log,
      mayWrite: () => false,
    });
    this.loop = new HostAgentLoop({
      source: { store, records },
      host: this.#host,
      driver: new HostAgent({ target: hostTarget(c), instance: c.instance, log: log.child({ host: this.#host }) }),
      log,
      intervalMs: s.intervalMs,
      refresh: async () => {
        const objects: ApiObject[] = [];
        for (const k of WATCHED) objects.push(...this.informers[k]!.list());
        store.replace(admitObjects(objects, admissionContext(records.list())));
      },
      report: (host, report) => this.#report(host, report),
      // A Host with approval Manual is approved by its annotation netform.io/approved-plan.
      approved: (key) => approvedPlan({ store }, key),
    });
  }

  notReady(): string[] {
    return staleReasons(this.informers);
  }

  /** Starts the watches and, once they synced, the loop; with `once`, one pass and its report. */
  async run(stop: Promise<void>): Promise<HostReport | undefined> {
    if (this.#s.listen !== undefined) {
      const { host, port } = parseListen(this.#s.listen);
      this.#server = new ProbeServer({ notReady: () => this.notReady() });
      await this.#server.listen(host, port);
    }
    const ac = new AbortController();
    void stop.then(() => ac.abort());
    for (const k of WATCHED) {
      const inf = this.informers[k]!;
      this.#unsubscribe.push(
        inf.onChange((e) => {
          // The agent's own status writes come back as Host updates: only a new spec (or a new
          // approval, an annotation) matters then.
          const approvalOf = (o: { metadata?: { annotations?: Record<string, string> } } | undefined) => o?.metadata?.annotations?.[APPROVED_PLAN];
          if (k === 'Host' && e.type === 'update' && e.old?.metadata?.generation === e.object.metadata?.generation && approvalOf(e.old) === approvalOf(e.object)) return;
          this.#scheduleKick();
        }),
      );
      inf.start();
    }
    try {
      await Promise.all(WATCHED.map((k) => this.informers[k]!.waitForSync(ac.signal)));
    } catch {
      await this.close();
      return undefined;
    }
    this.#log.info({ host: this.#host }, 'host agent: caches synced (cluster mode)');
    if (this.#s.once) {
      const report = await this.loop.kick();
      await this.close();
      if (!report) throw new Error(`no Host ${this.#host} exists in the cluster`);
      return report;
    }
    this.loop.start();
    await stop;
    await this.close();
    return this.#lastReport;
  }

  async close(): Promise<void> {
    clearTimeout(this.#kickTimer);
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    await this.loop.stop();
    await Promise.all(WATCHED.map((k) => this.informers[k]!.stop()));
    await this.#server?.close();
    this.#server = undefined;
    await this.#client.close();
  }

  #scheduleKick(): void {
    if (this.#kickTimer) return;
    this.#kickTimer = setTimeout(() => {
      this.#kickTimer = undefined;
      void this.loop.kick();
    }, 200);
  }

  async #report(host: string, report: HostReport): Promise<void> {
    this.#lastReport = report;
    const digest = reportDigest(report);
    const now = Date.now();
    if (digest === this.#lastDigest && now - this.#lastWrite < (this.#s.heartbeatMs ?? 60_000)) return;
    try {
      await this.#client.patch(resourceTypes().Host, host, 'merge', { status: statusFromReport(report) }, { subresource: 'status' });
      this.#lastDigest = digest;
      this.#lastWrite = now;
      const inSync = report.networks.every((n) => n.inSync) && !report.problems.length;
      this.#log.info({ host, inSync, applied: report.lastApply?.result }, 'host report written to the Host status');
    } catch (err) {
      if (isStatus(err, 404)) this.#log.warn({ host }, 'the Host is gone; report not written');
      else this.#log.warn({ host, err: err instanceof Error ? err.message : String(err) }, 'writing the host report failed; retrying on the next pass');
    }
  }
}

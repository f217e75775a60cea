// `netform controller`: cluster mode. Informers (one per kind) feed admission and the engine; records
// are the API objects themselves (status through /status, a finalizer for cleanup); Provider
// credentials come from Secrets; backend actions become Events; /metrics, /healthz, /readyz are
// served; with leader election only the Lease holder reconciles, the others keep warm caches.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { KINDS, keyOf, objectKey, parseKey, type Kind } from '../api/kinds.ts';
import type { HostStatus } from '../api/types.gen.ts';
import { Engine, type EngineObserver } from '../controllers/runtime/engine.ts';
import { eventFor } from '../controllers/runtime/binding-events.ts';
import { Metrics } from '../controllers/runtime/metrics.ts';
import { reportFromStatus } from '../controllers/host/host.report.ts';
import type { DriverRegistry } from '../drivers/registry.ts';
import { builtinDrivers } from '../drivers/registry.ts';
import { isStatus, KubeClient } from '../adapters/kube/client.ts';
import { EventRecorder } from '../adapters/kube/events.ts';
import { Informer } from '../adapters/kube/informer.ts';
import { LeaderElector } from '../adapters/kube/leader.ts';
import { ShardSet } from '../adapters/kube/shard-set.ts';
import { affectsAdmission } from '../adapters/kube/changes.ts';
import { shardOf, vlanPoolGroups, type ShardableObject } from '../state/shards.ts';
import { Slots } from '../state/slots.ts';
import { KubeRecords, type KindCache } from '../adapters/kube/records.ts';
import { resourceTypes } from '../adapters/kube/resources.ts';
import { SecretCredentialSource } from '../adapters/kube/secrets.ts';
import { admitObjects, ObjectAdmissionCache } from '../state/admit.ts';
import { type ApiObject } from '../api/objects.ts';
import { admissionContext } from '../state/records.ts';
import { parseListen, ProbeServer } from './http.ts';
import { reviewAdmission, type AdmissionReview, type AdmissionReviewAnswer } from '../adapters/kube/admission-review.ts';
import { startWebhookServer, type WebhookServer } from '../adapters/kube/webhook-server.ts';
import type { ServingCert } from '../adapters/kube/webhook-cert.ts';
import type { CertSecretApi } from '../adapters/kube/webhook-secret.ts';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { KIND_DEFINITIONS, referencesOf } from '../controllers/index.ts';
import { ConsoleFeed } from '../console/feed.ts';
import type { ViewSource } from '../console/view.ts';
import { DesiredStore } from '../state/store.ts';
import type { ConsoleServer } from '../adapters/http/console.ts';
import type { HostReport } from '../drivers/host-driver.ts';
import { approvePlan } from '../adapters/kube/snapshot.ts';
import { API_GROUP, loadCrds } from '../api/crds.ts';
import { startConsole } from './console.ts';

export interface ControllerSettings {
  kubeconfig?: string;
  context?: string;
  /** The controller's own namespace: its Lease, and Secrets named without a namespace. */
  namespace: string;
  leaderElect: boolean;
  leaseName?: string;
  /** Sharded controllers (ADR 25): N shard Leases `<leaseName>-shard-<i>`; this replica reconciles
   *  the keys of the shards it holds, one engine per shard. Undefined: one leader (or none). */
  shards?: number;
  /** Unique per replica; default: hostname + random suffix. */
  identity?: string;
  /** `[host:]port` for /metrics, /healthz, /readyz; undefined: no HTTP endpoint. */
  listen?: string;
  instance: string;
  resyncMs: number;
  concurrency: number;
  /** Watches silent for this long are restarted (default 150 s) and make /readyz fail after twice that. */
  watchIdleMs?: number;
  relistMs?: number;
  lease?: { durationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** The console: `[host:]port`, `off`, or `default` (127.0.0.1:8642 unless another process holds
   *  it); undefined: none (the CLI passes `default`). And its token file. */
  ui?: string;
  uiTokenFile?: string;
  /** The validating admission webhook (ADR 28): where to serve it, its certificate (files; else
   *  self-signed for `dnsNames` and a loopback listen address), and the ValidatingWebhookConfiguration
   *  whose caBundle a self-signed certificate is written into. Undefined: not served. */
  webhook?: {
    listen: string;
    certFile?: string;
    keyFile?: string;
    dnsNames: string[];
    configuration?: string;
    /** The Secret (in `namespace`) that keeps the self-signed certificate for every replica, renewed in
     *  two steps (webhook-secret.ts); checked every `checkMs` (default 60 s). */
    certSecret?: string;
    checkMs?: number;
    graceMs?: number;
    renewBeforeMs?: number;
  };
}

export interface ControllerDeps {
  log: Logger;
  registry?: DriverRegistry;
  client?: KubeClient;
}

const ADMIT_DEBOUNCE_MS = 25;

/** A watch silent this long is restarted (and /readyz fails after twice that). The apiserver sends the
 *  first bookmark of a quiet watch after about 2 minutes, then one a minute. */
export const WATCH_IDLE_MS = 150_000;

/** A killed leader's Lease expires 12 s after its last renewal; a standby polls every 2 s (±20%), so
 *  it takes over within about 12 + 2 × 2.4 s < 20 s. A leader that cannot renew for 8 s stops first. */
export const DEFAULT_LEASE = { durationMs: 12_000, renewDeadlineMs: 8_000, retryPeriodMs: 2_000 };

/** Why a process is not ready: each watch that is not synced or has gone stale. */
export function staleReasons(informers: Partial<Record<Kind, Pick<Informer<never>, 'health'>>>): string[] {
  const out: string[] = [];
  for (const k of KINDS) {
    const h = informers[k]?.health();
    if (h?.stale) out.push(`${resourceTypes()[k].plural}: ${h.reason ?? (h.synced ? 'stale' : 'not synced')}`);
  }
  return out;
}

/** The engines' key of the one (unsharded) leader's engine. */
const LEADER = -1;

/** Queue figures of several engines, added up. */
function sumStats<T extends object>(all: T[]): T | undefined {
  if (all.length === 0) return undefined;
  const out = { ...all[0]! } as Record<string, unknown>;
  for (const s of all.slice(1)) {
    for (const [k, v] of Object.entries(s)) {
      if (typeof v === 'number' && typeof out[k] === 'number') out[k] = k.startsWith('oldest') ? Math.max(out[k] as number, v) : (out[k] as number) + v;
    }
  }
  return out as T;
}

export class ClusterModeController {
  readonly client: KubeClient;
  readonly informers: Record<Kind, Informer<ApiObject & { metadata: { name: string } }>>;
  readonly records: KubeRecords;
  readonly metrics: Metrics;
  readonly #s: ControllerSettings;
  readonly #log: Logger;
  readonly #registry: DriverRegistry;
  readonly #elector: LeaderElector | undefined;
  readonly #shardSet: ShardSet | undefined;
  /** Sharded: the replica's --concurrency, shared by its engines (one per held shard). */
  readonly #slots: Slots | undefined;
  readonly #events: EventRecorder;
  readonly #identity: string;
  #server: ProbeServer | undefined;
  /** The engines running: the leader's (LEADER) or one per held shard. */
  readonly #engines = new Map<number, Engine>();
  #admitTimer: NodeJS.Timeout | undefined;
  /** How long the last admission (and the engines' sync) took. */
  #admitCostMs = 0;
  #stopped = false;
  #unsubscribe: (() => void)[] = [];
  #electorRun: Promise<void> | undefined;
  #reportDigests = new Map<string, string>();
  #feed: ConsoleFeed | undefined;
  #console: ConsoleServer | undefined;
  #webhook: WebhookServer | undefined;
  /** The view's desired state while this replica does not lead (no engine): admitted from the
   *  informers' caches, again after they changed. */
  #followerView: ViewSource | undefined;
  /** What admission made of each object while its resourceVersion stays: a change re-checks that object. */
  readonly #admission = new ObjectAdmissionCache();
  /** The VLAN pool groups (`#poolGroups`) and the VlanPool cache's version they were computed at. */
  #pools: { version: string; groups: Map<string, string> } | undefined;

  constructor(s: ControllerSettings, deps: ControllerDeps) {
    this.#s = s;
    this.#log = deps.log;
    this.#registry = deps.registry ?? builtinDrivers();
    this.client = deps.client ?? KubeClient.load({ kubeconfig: s.kubeconfig, context: s.context });
    const types = resourceTypes();
    this.informers = Object.fromEntries(
      KINDS.map((k) => [
        k,
        new Informer({
          client: this.client,
          type: types[k],
          log: deps.log.child({ informer: types[k].plural }),
          idleTimeoutMs: s.watchIdleMs ?? WATCH_IDLE_MS,
          relistMs: s.relistMs,
        }),
      ]),
    ) as unknown as ClusterModeController['informers'];
    this.records = new KubeRecords({
      client: this.client,
      caches: this.informers as unknown as Record<Kind, KindCache>,
      log: deps.log,
      mayWrite: (key) => {
        if (!this.#shardSet) return this.#engines.has(LEADER) && (this.#elector?.isLeader() ?? true);
        const shard = this.#shardOfKey(key);
        return this.#engines.has(shard) && this.#shardSet.holds(shard);
      },
    });
    this.metrics = new Metrics({
      queue: () => sumStats([...this.#engines.values()].map((e) => e.queueStats())),
      leader: () => this.#engines.size > 0,
      ...(s.shards !== undefined ? { shardsHeld: () => this.#shardSet?.held().length } : {}),
      stale: () => Object.fromEntries(KINDS.map((k) => [k, this.informers[k].health().stale])),
    });
    const identity = s.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.#identity = identity;
    this.#events = new EventRecorder({ client: this.client, identity, log: deps.log });
    this.#slots = s.shards !== undefined ? new Slots(s.concurrency) : undefined;
    if (s.shards !== undefined) {
      const lease = s.lease ?? DEFAULT_LEASE;
      this.#shardSet = new ShardSet({
        client: this.client,
        namespace: s.namespace,
        prefix: s.leaseName ?? 'netform-controller',
        shards: s.shards,
        identity,
        timing: lease,
        log: deps.log,
        onGained: (shard, signal) => this.#lead(signal, shard),
      });
    } else if (s.leaderElect) {
      const lease = s.lease ?? DEFAULT_LEASE;
      this.#elector = new LeaderElector({
        client: this.client,
        namespace: s.namespace,
        name: s.leaseName ?? 'netform-controller',
        identity,
        leaseDurationMs: lease.durationMs,
        renewDeadlineMs: lease.renewDeadlineMs,
        retryPeriodMs: lease.retryPeriodMs,
        log: deps.log,
        onStartedLeading: (signal) => this.#lead(signal),
        onNewLeader: (who) => deps.log.info({ leader: who }, 'leader is now ' + who),
      });
    }
  }

  get identity(): string {
    return this.#identity;
  }

  /** Reasons this replica is not ready: informers not synced or stale. */
  notReady(): string[] {
    return staleReasons(this.informers);
  }

  async start(): Promise<void> {
    if (this.#s.ui !== undefined && this.#s.ui !== 'off') {
      this.#feed = new ConsoleFeed({
        mode: 'cluster',
        source: () => this.#viewSource(),
        // Per object change: no whole view (a standby would admit everything on each watch event).
        records: () => this.records,
        report: (key) => this.#reportOf(key) ?? reportFromStatus(this.informers.Host.get(parseKey(key).name)?.status as HostStatus | undefined),
      });
      this.#console = await startConsole({ ...(this.#s.ui === 'default' ? {} : { ui: this.#s.ui }), uiTokenFile: this.#s.uiTokenFile, feed: this.#feed, log: this.#log, approve: (key, digest) => this.#approve(key, digest) });
    }
    if (this.#s.listen !== undefined) {
      const { host, port } = parseListen(this.#s.listen);
      this.#server = new ProbeServer({ notReady: () => this.notReady(), metrics: () => this.metrics.scrape() });
      const a = await this.#server.listen(host, port);
      this.#log.info({ address: a.address, port: a.port }, 'serving /metrics, /healthz and /readyz');
    }
    if (this.#s.webhook) await this.#serveWebhook(this.#s.webhook);
    for (const k of KINDS) {
      const inf = this.informers[k];
      this.#unsubscribe.push(
        inf.onChange((e) => {
          const key = keyOf({ kind: k, metadata: { name: e.object.metadata.name, namespace: e.object.metadata.namespace } });
          // (Before anything else: the engines' indexes of records follow the caches.)
          if (e.type !== 'delete') this.records.changed(key);
          if (e.type === 'delete') {
            this.records.forget(key);
            const providers = (e.object.status as { providers?: { name: string; externalId?: string }[] } | undefined)?.providers ?? [];
            if (providers.length && !e.object.metadata?.deletionTimestamp) {
              this.#log.warn({ object: key, providers }, 'deleted without netform\u2019s finalizer: its backend objects are left in place');
            }
          }
          if (k === 'Host' && e.type !== 'delete') this.#hostReport(e.object);
          // Another shard's object changed: this replica's engines wake what depends on it.
          if (this.#shardSet) for (const engine of this.#engines.values()) engine.recordChanged(key);
          // (A status write — most events while converging — changes nothing admission decides.)
          if (affectsAdmission(k, e)) this.#scheduleAdmit();
          this.#followerView = undefined;
          this.#feed?.object(key);
        }),
      );
      inf.start();
    }
    if (this.#shardSet) this.#electorRun = this.#shardSet.run();
    else if (this.#elector) this.#electorRun = this.#elector.run();
    else void this.#lead(new AbortController().signal);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#admitTimer);
    if (this.#shardSet) {
      await this.#shardSet.stop({ release: true });
      await this.#electorRun;
    } else if (this.#elector) {
      await this.#elector.stop({ release: true });
      await this.#electorRun;
    } else await this.#stopEngine(LEADER);
    for (const u of this.#unsubscribe) u();
    await Promise.all(KINDS.map((k) => this.informers[k].stop()));
    await this.#events.close();
    await this.#server?.close();
    await this.#webhook?.close();
    await this.#console?.close();
    await this.client.close();
  }

  /** Decides an AdmissionReview against what the informers hold (ADR 28). Until they have synced, it
   *  fails (a 500: the apiserver applies the failure policy) rather than judge from a partial view. */
  review(review: AdmissionReview): AdmissionReviewAnswer {
    const stale = this.notReady();
    if (stale.length) throw new Error(`not ready: ${stale.join('; ')}`);
    const objects: ApiObject[] = [];
    for (const k of KINDS) objects.push(...this.informers[k].list());
    return reviewAdmission(review, objects, admissionContext(this.records.list()));
  }

  async #serveWebhook(w: NonNullable<ControllerSettings['webhook']>): Promise<void> {
    const { host, port } = parseListen(w.listen);
    let cert: ServingCert;
    const given = w.certFile !== undefined;
    if (!given && w.certSecret) {
      await this.#serveFromSecret(w, host, port);
      return;
    }
    if (given) {
      if (!w.keyFile) throw new Error('--webhook-cert-file needs --webhook-key-file');
      cert = { certPem: readFileSync(w.certFile!, 'utf8'), keyPem: readFileSync(w.keyFile, 'utf8') };
    } else {
      const { selfSignedServingCert } = await import('../adapters/kube/webhook-cert.ts');
      cert = selfSignedServingCert({ dnsNames: w.dnsNames, ipAddresses: isIP(host) && host !== '0.0.0.0' && host !== '::' ? [host] : [] });
    }
    this.#webhook = await startWebhookServer({ host, port, cert, validate: (r) => this.review(r), log: this.#log.child({ webhook: 'validate' }) });
    this.#log.info({ webhookPort: this.#webhook.port, certificate: given ? 'given' : 'self-signed' }, 'serving the webhooks: admission on /validate, conversion on /convert');
    if (!given && w.configuration) await this.#publishCaBundle(w.configuration, cert.certPem);
    if (!given) await this.#publishConversionCaBundle(w, cert.certPem);
  }

  /** The webhook served with the certificate kept in a Secret for every replica (webhook-secret.ts):
   *  the CA bundle is published before a certificate it names is served, and re-checked every
   *  `checkMs` (a renewal by this or another replica). */
  async #serveFromSecret(w: NonNullable<ControllerSettings['webhook']>, host: string, port: number): Promise<void> {
    const { reconcileCertSecret } = await import('../adapters/kube/webhook-secret.ts');
    const api = kubeCertSecret(this.client, this.#s.namespace, w.certSecret!);
    const opts = {
      dnsNames: w.dnsNames,
      ipAddresses: isIP(host) && host !== '0.0.0.0' && host !== '::' ? [host] : [],
      ...(w.graceMs !== undefined ? { graceMs: w.graceMs } : {}),
      ...(w.renewBeforeMs !== undefined ? { renewBeforeMs: w.renewBeforeMs } : {}),
    };
    let held = await reconcileCertSecret(api, opts);
    let published = '';
    let converting = '';
    const publish = async (caBundle: string) => {
      if (caBundle !== converting && (await this.#publishConversionCaBundle(w, caBundle))) converting = caBundle;
      if (!w.configuration || caBundle === published) return;
      if (await this.#publishCaBundle(w.configuration, caBundle)) published = caBundle;
    };
    await publish(held.caBundle);
    // NETFORM_WEBHOOK_MAX_REQUESTS_PER_SOCKET: a new TLS handshake every N admissions (for tests of renewals).
    const perSocket = Number(process.env.NETFORM_WEBHOOK_MAX_REQUESTS_PER_SOCKET ?? NaN);
    this.#webhook = await startWebhookServer({
      host,
      port,
      cert: held.cert,
      validate: (r) => this.review(r),
      log: this.#log.child({ webhook: 'validate' }),
      ...(Number.isInteger(perSocket) && perSocket > 0 ? { maxRequestsPerSocket: perSocket } : {}),
    });
    this.#log.info({ webhookPort: this.#webhook.port, certificate: `Secret ${this.#s.namespace}/${w.certSecret}` }, 'serving the webhooks: admission on /validate, conversion on /convert');
    const check = async () => {
      try {
        const now = await reconcileCertSecret(api, opts);
        await publish(now.caBundle);
        if (now.cert.certPem !== held.cert.certPem) {
          this.#webhook?.setCertificate(now.cert);
          this.#log.info({ secret: w.certSecret }, 'webhook certificate renewed: new connections are served with the new one');
        }
        held = now;
      } catch (err) {
        this.#log.warn({ secret: w.certSecret, err: (err as Error).message }, 'webhook certificate check failed; retried at the next check');
      }
    };
    const timer = setInterval(() => void check(), w.checkMs ?? 60_000);
    timer.unref();
    const server = this.#webhook;
    this.#webhook = { port: server.port, setCertificate: (c) => server.setCertificate(c), close: async () => { clearInterval(timer); await server.close(); } };
  }

  /**
   * Writes the CA bundle (PEM or base64 of PEM, as the callers have it) into the conversion webhook of
   * each netform CRD that sends its ConversionReviews to this controller's Service (the first label of
   * the certificate's first DNS name, in the controller's namespace): a CRD pointed elsewhere (a URL, or
   * another Service) is left as it is. True when every such CRD holds it.
   */
  async #publishConversionCaBundle(w: NonNullable<ControllerSettings['webhook']>, ca: string): Promise<boolean> {
    const caBundle = ca.startsWith('-----') ? Buffer.from(ca).toString('base64') : ca;
    const service = (w.dnsNames[0] ?? '').split('.')[0];
    let all = true;
    for (const crd of loadCrds()) {
      const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(`${crd.plural}.${API_GROUP}`)}`;
      for (let attempt = 1; ; attempt++) {
        try {
          const live = await this.client.request<{ spec?: { conversion?: { strategy?: string; webhook?: { clientConfig?: { caBundle?: string; service?: { namespace?: string; name?: string } } } } } }>('GET', path);
          const cc = live.spec?.conversion?.webhook?.clientConfig;
          if (live.spec?.conversion?.strategy !== 'Webhook' || !cc?.service || cc.service.namespace !== this.#s.namespace || cc.service.name !== service) break;
          if (cc.caBundle === caBundle) break;
          cc.caBundle = caBundle;
          await this.client.request('PUT', path, { body: live });
          this.#log.info({ crd: `${crd.plural}.${API_GROUP}` }, 'caBundle written into the CRD conversion webhook');
          break;
        } catch (err) {
          if (attempt >= 5 || isStatus(err, 403) || isStatus(err, 404)) {
            this.#log.warn({ crd: `${crd.plural}.${API_GROUP}`, err: (err as Error).message }, 'could not write the conversion caBundle: reads and writes in another version than the stored one fail until it is');
            all = false;
            break;
          }
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    }
    return all;
  }

  /** Writes the CA bundle (PEM) as the caBundle of every webhook of the named configuration; true once written. */
  async #publishCaBundle(name: string, certPem: string): Promise<boolean> {
    const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${encodeURIComponent(name)}`;
    const caBundle = Buffer.from(certPem).toString('base64');
    for (let attempt = 1; ; attempt++) {
      try {
        const vwc = await this.client.request<{ webhooks?: { clientConfig?: { caBundle?: string } }[] }>('GET', path);
        for (const h of vwc.webhooks ?? []) h.clientConfig = { ...h.clientConfig, caBundle };
        await this.client.request('PUT', path, { body: vwc });
        this.#log.info({ configuration: name, webhooks: vwc.webhooks?.length ?? 0 }, 'caBundle written into the ValidatingWebhookConfiguration');
        return true;
      } catch (err) {
        if (attempt >= 5) {
          this.#log.warn({ configuration: name, err: (err as Error).message }, 'could not write the caBundle: the apiserver cannot call the webhook until it is');
          return false;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /** The shard of a key (sharded mode): from its object in the informers' caches, or its key alone
   *  when the object is gone. */
  #shardOfKey(key: string): number {
    const n = this.#s.shards ?? 1;
    const { kind, name, namespace } = parseKey(key);
    const o = this.informers[kind].get(name, namespace) as ShardableObject | undefined;
    const lookup = (k: 'Host' | 'Cluster', n: string) => this.informers[k].get(n) as ShardableObject | undefined;
    return shardOf(o ?? { kind, metadata: { name, ...(namespace ? { namespace } : {}) } }, n, lookup, (pool) => this.#poolGroups().get(pool) ?? pool);
  }

  /** VLAN pools overlapping on a physical network, grouped (they share a shard), from the informer's
   *  cache: computed again when the cache has changed. */
  #poolGroups(): Map<string, string> {
    const informer = this.informers.VlanPool;
    const version = informer.resourceVersion ?? '';
    if (this.#pools?.version !== version) this.#pools = { version, groups: vlanPoolGroups(informer.list() as ShardableObject[]) };
    return this.#pools.groups;
  }

  /** Runs an engine while `signal` is not aborted: the leader's, or (sharded) the one of `shard`,
   *  reconciling only that shard's keys. */
  async #lead(signal: AbortSignal, shard = LEADER): Promise<void> {
    if (signal.aborted || this.#stopped) return;
    const what = shard === LEADER ? 'leading' : `shard ${shard}`;
    this.#log.info({ identity: this.identity, ...(shard === LEADER ? {} : { shard }) }, `${what}: waiting for the caches to sync`);
    try {
      await Promise.all(KINDS.map((k) => this.informers[k].waitForSync(signal)));
    } catch {
      return; // lost leadership or stopping before the caches synced
    }
    if (signal.aborted || this.#stopped) return;
    const engine = new Engine({
      kinds: KIND_DEFINITIONS,
      records: this.records,
      registry: this.#registry,
      credentials: new SecretCredentialSource({ client: this.client, namespace: this.#s.namespace }),
      log: this.#log,
      instance: this.#s.instance,
      resyncMs: this.#s.resyncMs,
      concurrency: this.#s.concurrency,
      observer: this.#observer(),
      ...(shard === LEADER ? {} : { owns: (key: string) => this.#shardOfKey(key) === shard, slots: this.#slots }),
    });
    this.#engines.set(shard, engine);
    for (const h of this.informers.Host.list()) this.#hostReport(h, true, [engine]);
    this.#admit([engine]);
    engine.resyncAll();
    this.#log.info({ objects: engine.store.keys().length, ...(shard === LEADER ? {} : { shard }) }, `${what}: reconciling`);
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.#log.info(shard === LEADER ? {} : { shard }, shard === LEADER ? 'no longer leading: stopping reconciles' : `shard ${shard}: stopping reconciles`);
    await this.#stopEngine(shard);
    if (shard !== LEADER) this.#log.info({ shard }, `shard ${shard}: engine stopped`);
  }

  async #stopEngine(shard: number): Promise<void> {
    const engine = this.#engines.get(shard);
    this.#engines.delete(shard);
    if (this.#engines.size === 0) this.#reportDigests.clear();
    await engine?.stop();
  }

  #reportOf(key: string): unknown {
    for (const e of this.#engines.values()) {
      const r = e.rt.reports.get(key);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  #scheduleAdmit(): void {
    if (this.#engines.size === 0 || this.#admitTimer) return;
    // At least twice the last admission's cost: under a stream of changes admission (O(objects)) takes
    // at most a third of the CPU, and reconciles the rest.
    this.#admitTimer = setTimeout(() => {
      this.#admitTimer = undefined;
      this.#admit();
    }, Math.max(ADMIT_DEBOUNCE_MS, 2 * this.#admitCostMs));
  }

  /** Admits everything the informers hold and hands the result to the engines (default: all). */
  #admit(engines: Engine[] = [...this.#engines.values()]): void {
    if (engines.length === 0) return;
    const started = performance.now();
    const objects: ApiObject[] = [];
    for (const k of KINDS) objects.push(...this.informers[k].list());
    const result = admitObjects(objects, admissionContext(this.records.list()), { cache: this.#admission });
    for (const engine of engines) engine.sync(result);
    this.#admitCostMs = performance.now() - started;
  }

  /** Passes a Host's agent report to the engine when it changed. */
  #hostReport(host: ApiObject, force = false, engines: Engine[] = [...this.#engines.values()]): void {
    const name = host.metadata?.name;
    if (engines.length === 0 || !name) return;
    const report = reportFromStatus(host.status as HostStatus | undefined);
    if (!report) return;
    const digest = JSON.stringify(report);
    if (!force && this.#reportDigests.get(name) === digest) return;
    this.#reportDigests.set(name, digest);
    for (const engine of engines) engine.report(objectKey('Host', name), report);
  }

  /** What the console shows: the engine's view while leading, else the informers' objects admitted. */
  #viewSource(): ViewSource {
    // (Sharded: each engine reconciles a part; the view is the whole desired state, as a follower's.)
    const engine = this.#engines.get(LEADER);
    if (engine) return { store: engine.store, records: this.records, reports: engine.rt.reports };
    if (!this.#followerView) {
      const objects: ApiObject[] = [];
      for (const k of KINDS) objects.push(...this.informers[k].list());
      const store = new DesiredStore(referencesOf);
      store.replace(admitObjects(objects, admissionContext(this.records.list())));
      const reports = new Map<string, HostReport>();
      for (const h of this.informers.Host.list()) {
        const r = reportFromStatus(h.status as HostStatus | undefined);
        if (r) reports.set(objectKey('Host', h.metadata.name), r);
      }
      this.#followerView = { store, records: this.records, reports };
    }
    return this.#followerView;
  }

  /** The console's approval: the annotation netform.io/approved-plan, only while the object's
   *  status.pendingPlan holds exactly that digest (as kubectl netform approve). */
  async #approve(key: string, digest: string) {
    const { kind, name, namespace } = parseKey(key);
    const r = await approvePlan(this.client, resourceTypes()[kind], name, namespace, digest);
    switch (r.outcome) {
      case 'not-found':
        return { outcome: r.outcome, message: `there is no ${key} in the cluster` };
      case 'nothing-pending':
        return { outcome: r.outcome, message: `${key} holds no plan awaiting approval` };
      case 'plan-changed':
        return { outcome: r.outcome, message: `${key}: the plan changed since: it is now ${r.now}`, pending: r.now };
      default:
        return { outcome: r.outcome, message: `${r.outcome === 'approved' ? 'approved' : 'already approved'}: ${key} for plan ${digest}` };
    }
  }

  #observer(): EngineObserver {
    return {
      reconciled: (key, r) => {
        this.metrics.reconciled(key, r);
        this.#feed?.object(key);
      },
      binding: (key, outcome, provider) => {
        this.#feed?.binding(key, outcome, provider);
        this.metrics.binding(key, outcome, provider);
        const ev = eventFor(outcome, provider);
        const o = this.records.object(key);
        if (ev && o?.kind && o.metadata?.name) this.#events.record(o as never, ev.type, ev.reason, ev.action, ev.note);
      },
    };
  }
}

/** The webhook certificate's Secret through the API (data base64-encoded there). Its data never reaches a log. */
function kubeCertSecret(client: KubeClient, namespace: string, name: string): CertSecretApi {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const encode = (d: Record<string, string>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  const body = (data: Record<string, string>, resourceVersion?: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'netform', 'app.kubernetes.io/component': 'webhook' }, ...(resourceVersion ? { resourceVersion } : {}) },
    type: 'kubernetes.io/tls',
    data: encode(data),
  });
  return {
    async get() {
      try {
        const s = await client.request<{ data?: Record<string, string>; metadata: { resourceVersion: string } }>('GET', `${base}/${encodeURIComponent(name)}`);
        const data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
        return { data, resourceVersion: s.metadata.resourceVersion };
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    async create(data) {
      try {
        await client.request('POST', base, { body: body(data) });
        return true;
      } catch (err) {
        if (isStatus(err, 409)) return false;
        throw err;
      }
    },
    async replace(data, resourceVersion) {
      try {
        await client.request('PUT', `${base}/${encodeURIComponent(name)}`, { body: body(data, resourceVersion) });
        return true;
      } catch (err) {
        if (isStatus(err, 409)) return false;
        throw err;
      }
    },
  };
}

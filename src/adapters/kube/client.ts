// A small REST client for the Kubernetes API on top of @kubernetes/client-node's KubeConfig (which
// does the authentication and TLS: client certificates, bearer tokens, exec plugins, in-cluster
// service-account credentials). Requests and watches are plain JSON over undici.
// Errors are classified once here: 404 NotFound, 409 Conflict, 410 Gone (relist), 5xx/429/network
// Transient, other 4xx Terminal.
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch, type Dispatcher, type Response } from 'undici';
import { BackendError, type ErrorClass } from '../../api/errors.ts';

/** One resource type of the API. */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  /** Lower-case plural, e.g. `networks`. */
  plural: string;
  namespaced: boolean;
}

/** The API's error Status, classified. `code` is the HTTP status, `reason` the Status reason. */
export class KubeApiError extends BackendError {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(errorClass: ErrorClass, status: number, message: string, reason?: string, cause?: unknown) {
    super(errorClass, message, { code: reason ?? String(status), cause });
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export function isStatus(err: unknown, status: number): boolean {
  return err instanceof KubeApiError && err.status === status;
}

function classOfStatus(status: number): ErrorClass {
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 429 || status >= 500 || status === 0 || status === 410) return 'Transient';
  return 'Terminal';
}

export interface ListPage<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Default `application/json`; patches name their type. */
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export type PatchType = 'merge' | 'json' | 'strategic';
const PATCH_CONTENT: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** The path of a collection or of one object (`name`), optionally a subresource of it. */
export function resourcePath(t: ResourceType, opts: { namespace?: string; name?: string; subresource?: string } = {}): string {
  const base = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  const seg = (s: string) => encodeURIComponent(s);
  let p = base;
  if (t.namespaced && opts.namespace !== undefined) p += `/namespaces/${seg(opts.namespace)}`;
  p += `/${t.plural}`;
  if (opts.name !== undefined) p += `/${seg(opts.name)}`;
  if (opts.subresource !== undefined) p += `/${opts.subresource}`;
  return p;
}

/** The error an unsuccessful answer stands for: its Status body's reason and message, when it has one. */
async function errorOf(res: Response, what: string): Promise<KubeApiError> {
  const text = await res.text().catch(() => '');
  let reason: string | undefined;
  let message = `${res.status} ${res.statusText}`;
  try {
    const st = JSON.parse(text) as { reason?: string; message?: string };
    reason = st.reason;
    if (st.message) message = st.message;
  } catch {
    // not a Status object
  }
  return new KubeApiError(classOfStatus(res.status), res.status, `${what}: ${message}`, reason);
}

export class KubeClient {
  readonly config: KubeConfig;
  readonly #timeoutMs: number;
  #pool: { dispatcher: Dispatcher; since: number } | undefined;

  constructor(config: KubeConfig, opts: { timeoutMs?: number } = {}) {
    this.config = config;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** From a kubeconfig file, or (no path) the in-cluster service account, falling back to the default kubeconfig. */
  static load(opts: { kubeconfig?: string; context?: string; timeoutMs?: number } = {}): KubeClient {
    const kc = new KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
    if (opts.context) kc.setCurrentContext(opts.context);
    if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster is configured (use --kubeconfig, KUBECONFIG, or run in a pod)');
    return new KubeClient(kc, { timeoutMs: opts.timeoutMs });
  }

  /**
   * One connection pool for all requests. client-node builds a new undici Agent (and so a new TLS
   * connection) for every request; keeping the first one reuses connections. It is renewed every
   * 10 minutes, so client certificates an exec plugin rotates are picked up; the old pool closes
   * once its requests (watches included) are done.
   */
  #dispatcher(ctx: RequestContext): Dispatcher | undefined {
    const now = Date.now();
    if (this.#pool && now - this.#pool.since < 10 * 60_000) return this.#pool.dispatcher;
    const old = this.#pool;
    const dispatcher = ctx.getDispatcher();
    this.#pool = dispatcher ? { dispatcher, since: now } : undefined;
    if (old) void old.dispatcher.close().catch(() => {});
    return dispatcher;
  }

  /** Closes the connection pool (idle connections would otherwise keep the process alive briefly). */
  async close(): Promise<void> {
    const old = this.#pool;
    this.#pool = undefined;
    await old?.dispatcher.close().catch(() => {});
  }

  get server(): string {
    return this.config.getCurrentCluster()!.server;
  }

  async request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), method as HttpMethod);
    await this.config.applySecurityAuthentication(ctx);
    const headers = ctx.getHeaders() as Record<string, string>;
    headers.accept = 'application/json';
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.#timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res;
    try {
      res = await fetch(url, { method, headers, body, dispatcher: this.#dispatcher(ctx), signal });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new KubeApiError('Transient', 0, `${method} ${path}: ${describeNetworkError(err)}`, undefined, err);
    }
    if (res.status >= 200 && res.status < 300) {
      // A body cut short (reset, timeout) must not pass for an empty or partial answer.
      let ok: string;
      try {
        ok = await res.text();
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        throw new KubeApiError('Transient', 0, `${method} ${path}: reading the response: ${describeNetworkError(err)}`, undefined, err);
      }
      if (!ok) return undefined as T;
      try {
        return JSON.parse(ok) as T;
      } catch (err) {
        throw new KubeApiError('Transient', 0, `${method} ${path}: the response is not JSON`, undefined, err);
      }
    }
    throw await errorOf(res, `${method} ${path}`);
  }

  get<T>(t: ResourceType, name: string, namespace?: string): Promise<T> {
    return this.request<T>('GET', resourcePath(t, { name, namespace }));
  }

  /** One page of a list; `namespace` undefined lists across namespaces. */
  list<T>(t: ResourceType, opts: { namespace?: string; limit?: number; continue?: string; labelSelector?: string; fieldSelector?: string; signal?: AbortSignal } = {}): Promise<ListPage<T>> {
    return this.request<ListPage<T>>('GET', resourcePath(t, { namespace: opts.namespace }), {
      query: { limit: opts.limit, continue: opts.continue, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
      signal: opts.signal,
    });
  }

  create<T>(t: ResourceType, body: unknown, namespace?: string): Promise<T> {
    return this.request<T>('POST', resourcePath(t, { namespace }), { body });
  }

  replace<T>(t: ResourceType, name: string, body: unknown, opts: { namespace?: string; subresource?: string } = {}): Promise<T> {
    return this.request<T>('PUT', resourcePath(t, { name, ...opts }), { body });
  }

  patch<T>(t: ResourceType, name: string, type: PatchType, body: unknown, opts: { namespace?: string; subresource?: string } = {}): Promise<T> {
    return this.request<T>('PATCH', resourcePath(t, { name, ...opts }), { body, contentType: PATCH_CONTENT[type] });
  }

  delete(t: ResourceType, name: string, namespace?: string): Promise<unknown> {
    return this.request('DELETE', resourcePath(t, { name, namespace }));
  }

  /**
   * Opens a watch and resolves once the server accepted it. `onEvent` gets each event in order;
   * `done` is called exactly once when the stream ends: with no error when the server closed it
   * (its timeout), or with the error (a refused request, a reset, `idleTimeoutMs` passing with no
   * data, not even a bookmark). Returns a function that closes the stream (then `done` gets no error).
   * Aborting `signal` closes it the same way, also while the request is still connecting.
   * If authentication fails before the request is sent, the returned promise rejects and `done` is
   * never called.
   */
  async watch<T>(
    t: ResourceType,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (e: WatchEvent<T>) => void,
    done: (err?: unknown) => void,
    opts: { namespace?: string; idleTimeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<() => void> {
    const path = resourcePath(t, { namespace: opts.namespace });
    const url = new URL(this.server.replace(/\/+$/, '') + path);
    url.searchParams.set('watch', 'true');
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await this.config.applySecurityAuthentication(ctx);
    const headers = ctx.getHeaders() as Record<string, string>;
    headers.accept = 'application/json';
    const ac = new AbortController();
    const idleMs = opts.idleTimeoutMs ?? 90_000;
    let closedByUs = false;
    let finished = false;
    let idle: NodeJS.Timeout | undefined;
    const close = () => {
      closedByUs = true;
      finish();
    };
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      opts.signal?.removeEventListener('abort', close);
      ac.abort();
      done(closedByUs ? undefined : err);
    };
    if (opts.signal?.aborted) {
      close();
      return () => {};
    }
    opts.signal?.addEventListener('abort', close, { once: true });
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(new KubeApiError('Transient', 0, `watch ${t.plural}: no data for ${Math.round(idleMs / 1000)} s`, 'WatchIdle')), idleMs);
      idle.unref();
    };
    touch();
    let res;
    try {
      res = await fetch(url, { method: 'GET', headers, dispatcher: this.#dispatcher(ctx), signal: ac.signal });
    } catch (err) {
      finish(new KubeApiError('Transient', 0, `watch ${t.plural}: ${describeNetworkError(err)}`, undefined, err));
      return () => {};
    }
    if (res.status !== 200 || !res.body) {
      finish(await errorOf(res, `watch ${t.plural}`));
      return () => {};
    }
    const body = res.body;
    void (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of body) {
          touch();
          buf += decoder.decode(chunk as Uint8Array, { stream: true });
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let ev: WatchEvent<T>;
            try {
              ev = JSON.parse(line) as WatchEvent<T>;
            } catch {
              finish(new KubeApiError('Transient', 0, `watch ${t.plural}: a line that is not JSON`));
              return;
            }
            if (finished) return;
            onEvent(ev);
          }
        }
        finish();
      } catch (err) {
        finish(new KubeApiError('Transient', 0, `watch ${t.plural}: ${describeNetworkError(err)}`, undefined, err));
      }
    })();
    return close;
  }
}

function describeNetworkError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.cause?.code) return `${e.cause.code}${e.cause.message ? ` (${e.cause.message})` : ''}`;
  if (e?.name === 'TimeoutError') return 'timed out';
  return e?.message ?? String(err);
}

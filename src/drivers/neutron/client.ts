// Transport for the Neutron v2.0 API: JSON over undici, TLS verified by default, per-request
// timeouts, bounded concurrency, pagination, Keystone v3 tokens (cached, renewed on 401) or noauth.
import PQueue from 'p-queue';
import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { BackendError, terminal, transient } from '../../api/errors.ts';
import type { Credentials } from '../driver.ts';
import { neutronError } from './mapping.ts';

/** undici, loaded when the first client is made: a process without this backend never loads it. */
let undici: typeof Undici | undefined;
const http = (): typeof Undici => (undici ??= createRequire(import.meta.url)('undici') as typeof Undici);

export type NeutronAuth =
  | { kind: 'noauth' }
  | { kind: 'keystone'; authUrl: string; credentials: Credentials };

export interface NeutronClientOptions {
  endpoint: string;
  auth: NeutronAuth;
  tls: { ca?: string; serverName?: string; insecureSkipVerify: boolean };
  timeoutMs: number;
  maxConcurrency: number;
  log: Logger;
  /** How often a transient failure of a GET, PUT or DELETE is retried at once (default 2). */
  retries?: number;
  /** The `limit` of a listing's pages (default {@link LIST_PAGE_SIZE}). */
  pageSize?: number;
}

/**
 * The `limit` asked for in a listing's pages. Large, so that an installation's listing of 1,000
 * networks or 5,000 ports is one request (issue 15: a no-op re-check makes at most one list request per
 * kind and provider); a page of 10,000 ports is about 12 MB of JSON. A server that caps pages
 * (`pagination_max_limit`) answers smaller ones with a next link, which is followed.
 */
export const LIST_PAGE_SIZE = 10_000;

const RETRY_BASE_MS = 100;

/** Waits `ms`, or less when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  body?: unknown;
  /** Compare-and-swap: Neutron answers 412 if the object's revision moved on. */
  ifMatchRevision?: number;
  signal?: AbortSignal;
  /** This request's timeout, in place of the client's (a bulk create is given more). */
  timeoutMs?: number;
}

/** Counts of requests made, by method, for benchmarks and tests. */
export interface CallCounts {
  GET: number;
  POST: number;
  PUT: number;
  DELETE: number;
}

export class NeutronClient {
  readonly calls: CallCounts = { GET: 0, POST: 0, PUT: 0, DELETE: 0 };
  readonly #base: string;
  readonly #opts: NeutronClientOptions;
  readonly #dispatcher: Dispatcher;
  readonly #queue: PQueue;
  readonly #retries: number;
  #token: { value: string; expiresAt: number; renewBeforeMs: number } | undefined;
  #tokenPending: Promise<string> | undefined;

  constructor(opts: NeutronClientOptions) {
    this.#opts = opts;
    this.#base = opts.endpoint.replace(/\/+$/, '');
    this.#dispatcher = new (http().Agent)({
      connect: {
        rejectUnauthorized: !opts.tls.insecureSkipVerify,
        ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
        ...(opts.tls.serverName ? { servername: opts.tls.serverName } : {}),
      },
      keepAliveTimeout: 10_000,
    });
    this.#queue = new PQueue({ concurrency: opts.maxConcurrency });
    this.#retries = opts.retries ?? 2;
  }

  /** One API call. Resolves with the parsed body (undefined for 204); throws a classified BackendError. */
  async request<T>(method: keyof CallCounts, path: string, o: RequestOptions = {}): Promise<T> {
    const run = () => this.#send<T>(method, path, o, true);
    // A transient failure of a request that may be sent twice (GET, PUT, DELETE: a PUT applied twice
    // sets the same values, or meets its If-Match; a DELETE applied twice meets a 404) is retried
    // here, briefly; a POST never is (its answer may be lost after Neutron committed it: the caller
    // adopts instead). Longer outages are the work queue's to back off from.
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.#queue.add(run)) as T;
      } catch (err) {
        const retry = method !== 'POST' && attempt < this.#retries && err instanceof BackendError && err.errorClass === 'Transient' && !o.signal?.aborted;
        if (!retry) throw err;
        await sleep(RETRY_BASE_MS * 2 ** attempt * (0.5 + Math.random()), o.signal);
      }
    }
  }

  /** Every item of a collection (`networks`, `subnets`, `ports`…), following pagination. */
  async list<T extends { id: string }>(collection: string, query: RequestOptions['query'] = {}, signal?: AbortSignal): Promise<T[]> {
    const out: T[] = [];
    let marker: string | undefined;
    const limit = this.#opts.pageSize ?? LIST_PAGE_SIZE;
    // `qos/policies` answers with `policies`, `security-groups` with `security_groups`.
    const key = collection.slice(collection.lastIndexOf('/') + 1).replaceAll('-', '_');
    for (;;) {
      const page = await this.request<Record<string, unknown>>('GET', `/v2.0/${collection}`, {
        query: { ...query, limit, ...(marker ? { marker } : {}) },
        signal,
      });
      const items = (page[key] as T[] | undefined) ?? [];
      out.push(...items);
      const next = ((page[`${key}_links`] as { rel: string }[] | undefined) ?? []).some((l) => l.rel === 'next');
      // Not `items.length < limit`: a server with pagination_max_limit returns smaller pages with a next link.
      if (!next || items.length === 0) return out;
      marker = items[items.length - 1]!.id;
    }
  }

  /** How long a request may take before it is given up (its outcome unknown). */
  get timeoutMs(): number {
    return this.#opts.timeoutMs;
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  async #send<T>(method: keyof CallCounts, path: string, o: RequestOptions, mayReauth: boolean): Promise<T> {
    const url = new URL(this.#base + path);
    for (const [k, v] of Object.entries(o.query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) url.searchParams.append(k, String(x));
      else url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (o.ifMatchRevision !== undefined) headers['if-match'] = `revision_number=${o.ifMatchRevision}`;
    if (this.#opts.auth.kind === 'keystone') headers['x-auth-token'] = await this.#keystoneToken(o.signal);
    const what = `${method} ${url.pathname}`;
    const timeoutMs = o.timeoutMs ?? this.#opts.timeoutMs;
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (o.signal) signals.push(o.signal);
    this.calls[method]++;
    let res;
    try {
      res = await http().fetch(url, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: AbortSignal.any(signals),
        dispatcher: this.#dispatcher,
      });
    } catch (err) {
      throw connectionError(err, what, timeoutMs);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw connectionError(err, what, timeoutMs); // the timeout or a reset while reading the body
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      if (res.ok) throw transient(`${what}: the answer is not JSON`);
    }
    if (res.status === 401 && this.#opts.auth.kind === 'keystone' && mayReauth) {
      this.#token = undefined; // expired or revoked: get a new one, once
      return this.#send<T>(method, path, o, false);
    }
    if (!res.ok) throw neutronError(res.status, body, what);
    this.#opts.log.trace({ method, path: url.pathname, status: res.status }, 'neutron call');
    return body as T;
  }

  /** A Keystone v3 token for the configured credentials, cached until shortly before it expires. */
  async #keystoneToken(signal?: AbortSignal): Promise<string> {
    if (this.#token && this.#token.expiresAt - Date.now() > this.#token.renewBeforeMs) return this.#token.value;
    this.#tokenPending ??= this.#authenticate(signal).finally(() => {
      this.#tokenPending = undefined;
    });
    return this.#tokenPending;
  }

  async #authenticate(signal?: AbortSignal): Promise<string> {
    const auth = this.#opts.auth as Extract<NeutronAuth, { kind: 'keystone' }>;
    // The Keystone v3 API root; a bare https://keystone:5000 means its /v3.
    const root = auth.authUrl.replace(/\/+$/, '');
    const url = `${/\/v3$/.test(root) ? root : `${root}/v3`}/auth/tokens`;
    const authBody = JSON.stringify(keystoneAuthBody(auth.credentials)); // outside the try: incomplete credentials stay Terminal
    let res;
    try {
      res = await http().fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: authBody,
        signal: AbortSignal.any([AbortSignal.timeout(this.#opts.timeoutMs), ...(signal ? [signal] : [])]),
        dispatcher: this.#dispatcher,
      });
    } catch (err) {
      throw connectionError(err, `POST ${new URL(url).pathname}`, this.#opts.timeoutMs);
    }
    const body = (await res.json().catch(() => undefined)) as { token?: { expires_at?: string; issued_at?: string } } | undefined;
    // The code marks refused credentials: the Provider says CredentialsError (provider.controller.ts credentialsRefused).
    if (res.status === 401 || res.status === 403) throw terminal(`Keystone refused the credentials (HTTP ${res.status})`, 'Unauthorized');
    if (!res.ok) throw new BackendError(res.status >= 500 ? 'Transient' : 'Terminal', `Keystone answered HTTP ${res.status}`);
    const value = res.headers.get('x-subject-token');
    if (!value) throw transient('Keystone gave no X-Subject-Token');
    const expiresAt = body?.token?.expires_at ? Date.parse(body.token.expires_at) : Date.now() + 3600_000;
    // Renewed 60 s before it runs out, or a quarter of its lifetime before for a token that lives
    // less than 4 minutes: with a fixed 60 s, a Keystone issuing 60 s tokens got a login per request.
    const lifetime = body?.token?.issued_at ? expiresAt - Date.parse(body.token.issued_at) : NaN;
    const renewBeforeMs = Number.isFinite(lifetime) ? Math.max(0, Math.min(60_000, lifetime / 4)) : 60_000;
    this.#token = { value, expiresAt, renewBeforeMs };
    return value;
  }
}

/** The Keystone v3 request body for password or application-credential authentication. Pure. */
export function keystoneAuthBody(c: Credentials): unknown {
  if (c.applicationCredentialId && c.applicationCredentialSecret) {
    return {
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { id: c.applicationCredentialId, secret: c.applicationCredentialSecret },
        },
      },
    };
  }
  if (!c.username || !c.password) {
    throw terminal('Keystone credentials need username and password, or applicationCredentialId and applicationCredentialSecret');
  }
  const body: { auth: Record<string, unknown> } = {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: c.username, domain: { name: c.userDomainName ?? 'Default' }, password: c.password } },
      },
    },
  };
  if (c.projectId) body.auth.scope = { project: { id: c.projectId } };
  else if (c.projectName) body.auth.scope = { project: { name: c.projectName, domain: { name: c.projectDomainName ?? 'Default' } } };
  return body;
}

/** Network failures: timeouts, resets, refused connections are transient; TLS trust failures terminal. */
function connectionError(err: unknown, what: string, timeoutMs: number): BackendError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return transient(`${what}: no answer within ${timeoutMs} ms`, { code: 'Timeout', cause: err });
  if (e.name === 'AbortError') return transient(`${what}: aborted`, { code: 'Aborted', cause: err });
  const code = e.cause?.code ?? '';
  const detail = e.cause?.message ?? e.message ?? String(err);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME|ALTNAME/i.test(code)) {
    return new BackendError('Terminal', `${what}: TLS verification failed: ${detail} (set tls.caBundle/caFile, or tls.insecureSkipVerify for a lab)`, { code, cause: err });
  }
  return transient(`${what}: ${detail}`, { code: code || 'Network', cause: err });
}

// The console's HTTP server: the browser app (console/, ES modules served as they are), the few
// libraries it uses straight from node_modules (an allow-list), the view as JSON, a server-sent
// event stream of it, and the one action — approving an object's held plan for exactly its digest.
//
//   GET  /                       console/index.html
//   GET  /console/<path>         files under console/
//   GET  /vendor/<pkg>/<path>    files of node_modules/<pkg>/, for allow-listed packages only
//   GET  /api/v1/view            the ConsoleView (JSON)
//   GET  /api/v1/stream          text/event-stream: `view` (the whole view) on connect and after each
//                                change (debounced); with ?patch=1, `patch` events (what changed,
//                                by key) after the first `view`; `: ping` comments every 15 s
//   POST /api/v1/approve         {key, digest} → 200 approved, 409 not the pending plan, 404 no such
//                                object, 403 without the token
//
// Bound to loopback by default; any other address needs a token, and with a token every /api
// request must carry `Authorization: Bearer <token>`. Without a token, reads are open (loopback
// only) and approval is refused. The token is never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { parseKey } from '../../api/kinds.ts';
import type { ConsoleView } from '../../console/view.ts';

/** Where the view comes from (ConsoleFeed): the current view, and a signal that it may have changed. */
export interface ConsoleSource {
  view(canApprove: boolean): ConsoleView;
  subscribe(listener: () => void): () => void;
}

export type ApproveOutcome = 'approved' | 'already-approved' | 'not-found' | 'nothing-pending' | 'plan-changed';
export interface ApproveResult {
  outcome: ApproveOutcome;
  message: string;
  /** The digest pending now, when it is another one. */
  pending?: string;
}
/** Approves `key`'s held plan for exactly `digest` (file mode: the state directory's approvals;
 *  cluster mode: the annotation netform.io/approved-plan). The server does not know which. */
export type ApproveFn = (key: string, digest: string) => Promise<ApproveResult>;

export interface ConsoleServerOptions {
  source: ConsoleSource;
  /** The directory holding console/ and node_modules/ (the checkout). */
  root: string;
  /** Packages whose files /vendor/ serves, e.g. ['elkjs', '@tanstack/virtual-core'] (console/vendor.json). */
  vendor?: readonly string[];
  /** The bearer token; required to bind anywhere but loopback, and to approve. */
  token?: string;
  approve?: ApproveFn;
  log: Logger;
  /** Changes closer together than this make one event. Default 100 ms. */
  debounceMs?: number;
  /** Default 15 s. */
  heartbeatMs?: number;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** Every response carries these. The app is ES modules: no inline script or style is needed. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const PACKAGE = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const MAX_BODY = 16 * 1024;
/** A stream client this far behind is dropped. */
const MAX_BUFFERED = 8 * 1024 * 1024;

/** Whether an address (or host name) is loopback: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.toLowerCase() === '::ffff:127.0.0.1';
  return false;
}

export class ConsoleServer {
  readonly #o: ConsoleServerOptions;
  readonly #server: Server;
  readonly #clients = new Set<{ res: ServerResponse; patch: boolean; last?: Sections }>();
  readonly #tokenHash: Buffer | undefined;
  readonly #vendor: string[];
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** The last view sent, without its time: an unchanged view is not sent again. */
  #lastBody: string | undefined;
  #seq = 0;
  #loopbackOnly = true;

  constructor(o: ConsoleServerOptions) {
    this.#o = o;
    if (o.token !== undefined && o.token.length < 16) throw new Error('the console token must be at least 16 characters');
    this.#tokenHash = o.token === undefined ? undefined : sha256(o.token);
    for (const p of o.vendor ?? []) if (!PACKAGE.test(p)) throw new Error(`not a package name: ${JSON.stringify(p)}`);
    // Longest first: @scope/pkg-extra before @scope/pkg.
    this.#vendor = [...(o.vendor ?? [])].sort((a, b) => b.length - a.length);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#o.log.warn({ err: err instanceof Error ? err.message : String(err), path: pathOf(req) }, 'console request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
  }

  get canApprove(): boolean {
    return this.#tokenHash !== undefined && this.#o.approve !== undefined;
  }

  /** Listens; refuses an address that is not loopback unless there is a token. Resolves with the URL. */
  async listen(host: string, port: number): Promise<{ url: string; address: string; port: number }> {
    if (!isLoopback(host) && this.#tokenHash === undefined) {
      throw new Error(`the console would listen on ${host}, which is not a loopback address: give it a token (--ui-token-file PATH), or bind it to 127.0.0.1`);
    }
    this.#loopbackOnly = isLoopback(host);
    await new Promise<void>((res, rej) => {
      this.#server.once('error', rej);
      this.#server.listen(port, host, () => {
        this.#server.off('error', rej);
        res();
      });
    });
    const a = this.#server.address() as AddressInfo;
    this.#unsubscribe = this.#o.source.subscribe(() => this.#schedule());
    this.#heartbeat = setInterval(() => this.#ping(), this.#o.heartbeatMs ?? 15_000);
    this.#heartbeat.unref();
    const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return { url: `http://${shown}:${a.port}/`, address: a.address, port: a.port };
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    clearTimeout(this.#timer);
    clearInterval(this.#heartbeat);
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
    await new Promise<void>((res) => {
      this.#server.close(() => res());
      this.#server.closeAllConnections();
    });
  }

  /** How many stream clients are connected. */
  get streams(): number {
    return this.#clients.size;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path: string;
    try {
      path = decodeURIComponent(pathOf(req));
    } catch {
      send(res, 400, { error: 'bad path' });
      return;
    }
    if (path.includes('\0') || path.includes('\\')) {
      send(res, 400, { error: 'bad path' });
      return;
    }
    if (path.startsWith('/api/')) {
      await this.#api(req, res, path);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/' || path === '/index.html') {
      await this.#file(req, res, join(this.#o.root, 'console'), 'index.html');
      return;
    }
    if (path.startsWith('/console/')) {
      await this.#file(req, res, join(this.#o.root, 'console'), path.slice('/console/'.length));
      return;
    }
    if (path.startsWith('/vendor/')) {
      const rest = path.slice('/vendor/'.length);
      const pkg = this.#vendor.find((p) => rest.startsWith(`${p}/`));
      if (!pkg) {
        send(res, 404, { error: 'not found' });
        return;
      }
      await this.#file(req, res, join(this.#o.root, 'node_modules', pkg), rest.slice(pkg.length + 1));
      return;
    }
    send(res, 404, { error: 'not found' });
  }

  /** Serves `rel` below `base`, never anything outside it (`..`, symbolic links out). */
  async #file(req: IncomingMessage, res: ServerResponse, base: string, rel: string): Promise<void> {
    const root = resolve(base);
    const target = resolve(root, rel);
    if (!rel || rel.split('/').some((s) => s === '..') || !target.startsWith(root + sep)) {
      send(res, 404, { error: 'not found' });
      return;
    }
    let real: string;
    let realRoot: string;
    try {
      [real, realRoot] = await Promise.all([realpath(target), realpath(root)]);
    } catch {
      send(res, 404, { error: 'not found' });
      return;
    }
    const st = await stat(real).catch(() => undefined);
    if (!real.startsWith(realRoot + sep) || !st?.isFile()) {
      send(res, 404, { error: 'not found' });
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': CONTENT_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
      'content-length': st.size,
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((done, fail) => {
      const s = createReadStream(real);
      s.on('error', fail);
      res.on('close', () => {
        s.destroy();
        done();
      });
      s.pipe(res);
    });
  }

  async #api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    // DNS rebinding: a page on another origin resolving its own name to 127.0.0.1 must not read the view.
    if (this.#loopbackOnly && !isLoopback(hostOf(req.headers.host))) {
      send(res, 403, { error: 'the console answers requests for a loopback host name only' });
      return;
    }
    if (this.#tokenHash && !this.#authorized(req)) {
      send(res, 403, { error: 'this console needs its bearer token (Authorization: Bearer …)' });
      return;
    }
    if (path === '/api/v1/view') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
        return;
      }
      send(res, 200, this.#o.source.view(this.canApprove), {}, req.method === 'HEAD');
      return;
    }
    if (path === '/api/v1/stream') {
      if (req.method !== 'GET') {
        send(res, 405, { error: 'method not allowed' }, { allow: 'GET' });
        return;
      }
      this.#stream(req, res);
      return;
    }
    if (path === '/api/v1/approve') {
      if (req.method !== 'POST') {
        send(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
        return;
      }
      await this.#approve(req, res);
      return;
    }
    send(res, 404, { error: 'not found' });
  }

  #authorized(req: IncomingMessage): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return !!m && !!this.#tokenHash && timingSafeEqual(sha256(m[1]!), this.#tokenHash);
  }

  async #approve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.canApprove) {
      send(res, 403, { error: 'approving needs the console to run with a token (--ui-token-file PATH)' });
      return;
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      send(res, 415, { error: 'send {"key": …, "digest": …} as application/json' });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, MAX_BODY));
    } catch (err) {
      if (err instanceof BodyTooLarge) send(res, 413, { error: 'body too large' }, { connection: 'close' });
      else send(res, 400, { error: 'the body is not JSON' });
      return;
    }
    const { key, digest } = (body ?? {}) as { key?: unknown; digest?: unknown };
    if (typeof key !== 'string' || !validKey(key)) {
      send(res, 400, { error: 'key must be an object key, e.g. Network/web or VnicAttachment/shop/web1-nic1' });
      return;
    }
    if (typeof digest !== 'string' || !DIGEST.test(digest)) {
      send(res, 400, { error: 'digest must be a plan digest: sha256: and 64 hex digits' });
      return;
    }
    const r = await this.#o.approve!(key, digest);
    this.#o.log.info({ object: key, digest, outcome: r.outcome }, 'console: approval');
    const status = r.outcome === 'approved' || r.outcome === 'already-approved' ? 200 : r.outcome === 'not-found' ? 404 : 409;
    send(res, status, { ok: status === 200, key, digest, outcome: r.outcome, message: r.message, ...(r.pending ? { pending: r.pending } : {}) });
    if (status === 200) this.#schedule();
  }

  #stream(req: IncomingMessage, res: ServerResponse): void {
    const patch = new URL(req.url ?? '/', 'http://x').searchParams.get('patch') === '1';
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const view = this.#o.source.view(this.canApprove);
    const client: { res: ServerResponse; patch: boolean; last?: Sections } = { res, patch };
    this.#clients.add(client);
    const drop = () => this.#clients.delete(client);
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
    res.write('retry: 2000\n\n');
    this.#sendView(client, view);
  }

  #sendView(c: { res: ServerResponse; patch: boolean; last?: Sections }, view: ConsoleView): void {
    this.#write(c, 'view', JSON.stringify(view));
    if (c.patch) c.last = sections(view);
  }

  #write(c: { res: ServerResponse }, event: string, data: string): void {
    if (c.res.writableLength > MAX_BUFFERED) {
      // Too far behind: drop it; an EventSource reconnects and starts over with a whole view.
      c.res.destroy();
      return;
    }
    c.res.write(`event: ${event}\nid: ${++this.#seq}\ndata: ${data}\n\n`);
  }

  #schedule(): void {
    if (this.#timer || !this.#clients.size) return;
    // A view that takes long to build (a large installation) is built less often: at most a fifth of
    // the time goes into building views while changes keep coming.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#broadcast();
    }, Math.max(this.#o.debounceMs ?? 100, this.#buildMs * 4));
  }

  /** How long the last broadcast view took to build and serialize. */
  #buildMs = 0;

  #broadcast(): void {
    if (!this.#clients.size) return;
    const started = performance.now();
    const view = this.#o.source.view(this.canApprove);
    const { generatedAt, ...rest } = view;
    const body = JSON.stringify(rest);
    this.#buildMs = performance.now() - started;
    if (body === this.#lastBody) return;
    this.#lastBody = body;
    // generatedAt is the view's first field: the whole view without serializing it twice.
    const full = `{"generatedAt":${JSON.stringify(generatedAt)},${body.slice(1)}`;
    const now = sections(view);
    for (const c of this.#clients) {
      if (c.patch && c.last) {
        const p = patchOf(c.last, now, view);
        c.last = now;
        if (p) this.#write(c, 'patch', JSON.stringify(p));
      } else this.#write(c, 'view', full);
    }
  }

  #ping(): void {
    for (const c of this.#clients) if (c.res.writableLength <= MAX_BUFFERED) c.res.write(': ping\n\n');
  }
}

/** A view cut into what a patch talks about: each row by its key, and the rest whole. */
export interface Sections {
  networks: Map<string, string>;
  hosts: Map<string, string>;
  objects: Map<string, string>;
  topology: string;
  /** The newest event, as JSON (the ring grows at its end). */
  lastEvent: string | undefined;
  flags: string;
}

export function sections(v: ConsoleView): Sections {
  return {
    networks: new Map(v.networks.map((n) => [n.name, JSON.stringify(n)])),
    hosts: new Map(v.hosts.map((h) => [h.name, JSON.stringify(h)])),
    objects: new Map(v.objects.map((o) => [o.key, JSON.stringify(o)])),
    topology: JSON.stringify(v.topology),
    lastEvent: v.events.length ? JSON.stringify(v.events.at(-1)) : undefined,
    flags: JSON.stringify([v.mode, v.canApprove]),
  };
}

/**
 * What changed between two views, by key: `upsert` rows (whole, new or changed) and `remove` keys per
 * list (networks and hosts by name, objects by key), the topology whole when it changed, and the
 * events that are new (the timeline is appended to; when it was trimmed, all of it). Undefined: nothing.
 */
export interface ConsolePatch {
  generatedAt: string;
  mode?: ConsoleView['mode'];
  canApprove?: boolean;
  networks?: { upsert: ConsoleView['networks']; remove: string[] };
  hosts?: { upsert: ConsoleView['hosts']; remove: string[] };
  objects?: { upsert: ConsoleView['objects']; remove: string[] };
  topology?: ConsoleView['topology'];
  /** `length`: how many events the timeline holds after the append (its oldest drop out of the ring). */
  events?: { append: ConsoleView['events']; length: number } | { replace: ConsoleView['events'] };
}

export function patchOf(before: Sections, after: Sections, v: ConsoleView): ConsolePatch | undefined {
  const p: ConsolePatch = { generatedAt: v.generatedAt };
  let any = false;
  const diff = <T>(name: 'networks' | 'hosts' | 'objects', rows: T[], keyOf: (r: T) => string) => {
    const b = before[name];
    const a = after[name];
    const upsert = rows.filter((r) => b.get(keyOf(r)) !== a.get(keyOf(r)));
    const remove = [...b.keys()].filter((k) => !a.has(k));
    if (upsert.length || remove.length) {
      (p as unknown as Record<string, unknown>)[name] = { upsert, remove };
      any = true;
    }
  };
  diff('networks', v.networks, (n) => n.name);
  diff('hosts', v.hosts, (h) => h.name);
  diff('objects', v.objects, (o) => o.key);
  if (before.topology !== after.topology) {
    p.topology = v.topology;
    any = true;
  }
  if (before.flags !== after.flags) {
    p.mode = v.mode;
    p.canApprove = v.canApprove;
    any = true;
  }
  // The ring grows at its end (and loses its oldest): what follows the newest event sent before is
  // new; when that one is not there any more, the ring is sent whole.
  if (before.lastEvent !== after.lastEvent) {
    if (before.lastEvent === undefined) p.events = { append: v.events, length: v.events.length };
    else {
      let i = v.events.length - 1;
      while (i >= 0 && JSON.stringify(v.events[i]) !== before.lastEvent) i--;
      p.events = i >= 0 ? { append: v.events.slice(i + 1), length: v.events.length } : { replace: v.events };
    }
    any = true;
  }
  return any ? p : undefined;
}

function validKey(key: string): boolean {
  try {
    parseKey(key);
    return true;
  } catch {
    return false;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}

/** The host name of a Host header, without its port. */
function hostOf(h: string | undefined): string {
  if (!h) return '';
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.split(':')[0]!;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, headOnly = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(headOnly ? undefined : text);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > max) {
        // Read no more of it (the rest is discarded); the answer closes the connection.
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(d);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

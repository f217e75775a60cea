// What the browser tests point Chromium at: a server with the console's routes, as `netform run --ui`
// will serve them —
//   GET /                         console/index.html
//   GET /console/<path>           the files of console/
//   GET /vendor/<package>/<path>  node_modules/<package>/<path>, for the packages console/vendor.json lists
//   GET /api/v1/view              the current ConsoleView
//   GET /api/v1/stream            server-sent events: `event: view` with the whole view on connect and
//                                 on every publish(); with ?patch=1 (as the console asks), `event: patch`
//                                 after the first view, made by netform's own patchOf
//   POST /api/v1/approve          {key, digest}: 409 unless the object holds a plan of that digest, else 200
//   and, as netform's server, with a token every /api request needs `Authorization: Bearer <token>` (403)
// — every answer with the console's Content-Security-Policy (default-src 'self'). It stands in for
// netform's server (src/adapters/http/console.ts) where a test needs a view it controls exactly
// (publish): sparkline histories, 10,000 networks, a dropped stream, a refused token or digest.
// test/console/netform.test.ts runs the console against the real `netform run --ui`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsoleView } from '../../src/console/view.ts';
import { patchOf, sections, type Sections } from '../../src/adapters/http/console.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CONSOLE_DIR = join(REPO, 'console');
export const CSP = "default-src 'self'";

/** The packages whose files /vendor/ serves (console/vendor.json, which netform's server reads too). */
export function vendorPackages(): string[] {
  return JSON.parse(readFileSync(join(CONSOLE_DIR, 'vendor.json'), 'utf8')) as string[];
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface Approval {
  key: string;
  digest: string;
  authorization?: string;
  status: number;
}

export interface ConsoleTarget {
  /** The console's address, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  /** Makes `view` the current one: /api/v1/view answers it and every open stream gets `event: view`. */
  publish(view: ConsoleView): void;
  /** Makes `view` the current one without telling the streams (a page that has not heard yet). */
  publishSilently(view: ConsoleView): void;
  /** Sends any event to every open stream (e.g. one the console must ignore). */
  send(event: string, data: string): void;
  /** Ends every open event stream, as a restarting server would (the browser reconnects by itself). */
  dropStreams(): void;
  /** Answers the next `n` requests of the event stream with 503 (an EventSource gives up on an error). */
  failStreams(n: number): void;
  /** Resolves once at least `n` event streams are open. */
  waitForStreams(n: number, timeoutMs?: number): Promise<void>;
  /** Every approval request, in order. */
  readonly approvals: Approval[];
  /** Every request: method, path and the status answered. */
  readonly requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

export interface ConsoleTargetOptions {
  view: ConsoleView;
  /** The bearer token. As netform's server: with one, every /api request needs it (403 without);
   *  without one, reads are open and approval is refused (403). */
  token?: string;
  /** 'approve': only approval needs the token, reads are open (not what netform does today: the
   *  console's fallback of asking for the token when it approves). Default 'all'. */
  tokenFor?: 'all' | 'approve';
}

function pendingDigest(view: ConsoleView, key: string): string | undefined {
  const obj = view.objects.find((o) => o.key === key);
  if (obj?.pendingPlan) return obj.pendingPlan.digest;
  if (key.startsWith('Host/')) return view.hosts.find((h) => h.name === key.slice(5))?.pendingPlan?.digest;
  return undefined;
}

/** Starts the stand-in server on a free loopback port. */
export async function startConsoleTarget(opts: ConsoleTargetOptions): Promise<ConsoleTarget> {
  let view = opts.view;
  const streams = new Set<ServerResponse>();
  /** The streams that asked for patches, with the view each was sent last (cut as the server cuts it). */
  const patching = new Map<ServerResponse, Sections>();
  const approvals: Approval[] = [];
  const requests: { method: string; path: string; status: number }[] = [];
  const allow = vendorPackages();
  const waiters: (() => void)[] = [];
  let failing = 0;

  const answer = (req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    requests.push({ method: req.method ?? 'GET', path: (req.url ?? '').split('?')[0]!, status });
    res.writeHead(status, { 'content-type': type, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
    res.end(body);
  };
  const file = (req: IncomingMessage, res: ServerResponse, path: string) => {
    try {
      if (!statSync(path).isFile()) throw new Error('not a file');
      answer(req, res, 200, TYPES[extname(path)] ?? 'application/octet-stream', readFileSync(path));
    } catch {
      answer(req, res, 404, 'text/plain', 'not found\n');
    }
  };

  const authorized = (req: IncomingMessage) => !!opts.token && req.headers.authorization === `Bearer ${opts.token}`;
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (path.startsWith('/api/') && opts.token && (opts.tokenFor ?? 'all') === 'all' && !authorized(req)) {
      if (path === '/api/v1/approve') approvals.push({ key: '', digest: '', authorization: req.headers.authorization, status: 403 });
      return answer(req, res, 403, 'application/json', JSON.stringify({ error: 'this console needs its bearer token (Authorization: Bearer …)' }));
    }
    if (req.method === 'POST' && path === '/api/v1/approve') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const authorization = req.headers.authorization;
        let parsed: { key?: unknown; digest?: unknown } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          /* refused below */
        }
        const key = typeof parsed.key === 'string' ? parsed.key : '';
        const digest = typeof parsed.digest === 'string' ? parsed.digest : '';
        let status = 200;
        let message = `approved ${key} for plan ${digest}`;
        if (!authorized(req)) [status, message] = [403, opts.token ? 'this console needs its bearer token (Authorization: Bearer …)' : 'approving needs the console to run with a token (--ui-token-file PATH)'];
        else if (!key || !digest) [status, message] = [400, 'give key and digest'];
        else if (pendingDigest(view, key) !== digest) [status, message] = [409, `${key} holds no plan ${digest}`];
        approvals.push({ key, digest, authorization, status });
        answer(req, res, status, 'application/json', JSON.stringify({ message }));
      });
      return;
    }
    if (req.method !== 'GET') return answer(req, res, 405, 'text/plain', 'method not allowed\n');
    if (path === '/') return file(req, res, join(CONSOLE_DIR, 'index.html'));
    if (path === '/api/v1/view') return answer(req, res, 200, 'application/json', JSON.stringify(view));
    if (path === '/api/v1/stream' && failing > 0) {
      failing--;
      return answer(req, res, 503, 'text/plain', 'restarting\n');
    }
    if (path === '/api/v1/stream') {
      requests.push({ method: 'GET', path, status: 200 });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'content-security-policy': CSP });
      res.write(`event: view\ndata: ${JSON.stringify(view)}\n\n`);
      streams.add(res);
      if (new URL(req.url ?? '/', 'http://x').searchParams.get('patch') === '1') patching.set(res, sections(view));
      req.on('close', () => (streams.delete(res), patching.delete(res)));
      for (const w of waiters.splice(0)) w();
      return;
    }
    if (path.startsWith('/console/')) {
      const rel = normalize(path.slice('/console/'.length));
      if (rel.startsWith('..') || rel.includes(`${sep}..`)) return answer(req, res, 404, 'text/plain', 'not found\n');
      return file(req, res, join(CONSOLE_DIR, rel));
    }
    if (path.startsWith('/vendor/')) {
      for (const pkg of allow) {
        const prefix = `/vendor/${pkg}/`;
        const rel = normalize(path.slice(prefix.length));
        if (path.startsWith(prefix) && !rel.startsWith('..')) return file(req, res, join(REPO, 'node_modules', pkg, rel));
      }
    }
    return answer(req, res, 404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const send = (event: string, data: string) => {
    for (const s of streams) s.write(`event: ${event}\ndata: ${data}\n\n`);
    if (event === 'view') {
      try {
        const v = JSON.parse(data) as ConsoleView;
        for (const s of patching.keys()) patching.set(s, sections(v));
      } catch {
        /* a test's deliberately broken event */
      }
    }
  };
  return {
    url: `http://127.0.0.1:${port}`,
    publish(v) {
      view = v;
      const now = sections(v);
      for (const s of streams) {
        const last = patching.get(s);
        if (!last) s.write(`event: view\ndata: ${JSON.stringify(v)}\n\n`);
        else {
          const p = patchOf(last, now, v);
          if (p) s.write(`event: patch\ndata: ${JSON.stringify(p)}\n\n`);
          patching.set(s, now);
        }
      }
    },
    publishSilently(v) {
      view = v;
    },
    send,
    failStreams(n) {
      failing = n;
    },
    dropStreams() {
      for (const s of streams) s.end();
      streams.clear();
      patching.clear();
    },
    async waitForStreams(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (streams.size < n) {
        if (Date.now() > deadline) throw new Error(`${streams.size} event streams open, wanted ${n}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    approvals,
    requests,
    async close() {
      for (const s of streams) s.end();
      streams.clear();
      patching.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

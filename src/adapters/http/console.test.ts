// The console's HTTP server: static files and their types, no way out of console/ or past the vendor
// allow-list, security headers, the token rules, the approval's digest rule, the event stream.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleView } from '../../console/view.ts';
import { ConsoleServer, isLoopback, type ApproveFn, type ConsolePatch, type ConsoleServerOptions } from './console.ts';

const TOKEN = 'tok-0123456789abcdef0123456789abcdef';
const PENDING = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

let root = '';
beforeAll(() => {
  const top = mkdtempSync(join(tmpdir(), 'netform-console-'));
  root = join(top, 'repo');
  const file = (p: string, text: string | Buffer) => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  file('console/index.html', '<!doctype html><title>netform</title><script type="module" src="/console/app.js"></script>');
  file('console/app.js', 'export const app = 1;\n');
  file('console/lib/util.mjs', 'export const util = 2;\n');
  file('console/style.css', 'body { color: black }\n');
  file('console/icon.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>');
  file('console/shot.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  file('node_modules/elkjs/lib/elk.bundled.js', 'var ELK = 1;\n');
  file('node_modules/@tanstack/virtual-core/dist/esm/index.js', 'export const v = 1;\n');
  file('node_modules/secret-pkg/index.js', 'SECRET PACKAGE\n');
  file('package.json', '{"name": "SECRET-ROOT"}\n');
  writeFileSync(join(top, 'outside.txt'), 'SECRET OUTSIDE\n');
  symlinkSync(join(top, 'outside.txt'), join(root, 'console/link.txt'));
  symlinkSync(join(top), join(root, 'console/up'));
});

/** A view source whose view the test changes. */
class FakeSource {
  view_: ConsoleView = { generatedAt: '', mode: 'file', canApprove: false, networks: [], hosts: [], topology: { nodes: [], edges: [] }, objects: [], events: [] };
  listeners = new Set<() => void>();
  views = 0;
  view(canApprove: boolean): ConsoleView {
    this.views++;
    return { ...structuredClone(this.view_), generatedAt: new Date().toISOString(), canApprove };
  }
  subscribe(l: () => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  change(f: (v: ConsoleView) => void) {
    f(this.view_);
    for (const l of this.listeners) l();
  }
}

const network = (name: string, mtu: number) => ({ name, key: `Network/${name}`, mtu, providers: [], health: 'ok' as const, hosts: [], vnics: [], endpoints: [] });

const servers: ConsoleServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(o: Partial<ConsoleServerOptions> = {}, host = '127.0.0.1') {
  const source = new FakeSource();
  const s = new ConsoleServer({ source, root, vendor: ['elkjs', '@tanstack/virtual-core'], log: pino({ level: 'silent' }), ...o });
  servers.push(s);
  const a = await s.listen(host, 0);
  return { s, source, port: a.port, url: a.url };
}

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A raw request: the path goes on the wire as given (fetch would normalize `..`). */
function http(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** An event-stream client: the events as they arrive. */
function stream(port: number, path = '/api/v1/stream', headers: Record<string, string> = {}) {
  const events: { event: string; data: string; at: number }[] = [];
  let raw = '';
  let res: IncomingMessage | undefined;
  const opened = new Promise<IncomingMessage>((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, headers }, (m) => {
      res = m;
      m.setEncoding('utf8');
      m.on('data', (d: string) => {
        raw += d;
        let i;
        while ((i = raw.indexOf('\n\n')) >= 0) {
          const block = raw.slice(0, i);
          raw = raw.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev && data !== undefined) events.push({ event: ev, data, at: Date.now() });
          else if (block.startsWith(':')) events.push({ event: 'comment', data: block, at: Date.now() });
        }
      });
      resolve(m);
    });
    r.on('error', reject);
    r.end();
  });
  return {
    events,
    opened,
    close: () => res?.destroy(),
    async next(n: number, timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} events, wanted ${n}: ${JSON.stringify(events.map((e) => e.event))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return events[n - 1]!;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('console server: files', () => {
  it('serves index.html at /, files under /console/ with their content types, and the security headers on each', async () => {
    const { port } = await start();
    const cases: [string, string, string][] = [
      ['/', 'text/html; charset=utf-8', '<title>netform</title>'],
      ['/console/index.html', 'text/html; charset=utf-8', '<title>netform</title>'],
      ['/console/app.js', 'text/javascript; charset=utf-8', 'export const app'],
      ['/console/lib/util.mjs', 'text/javascript; charset=utf-8', 'export const util'],
      ['/console/style.css', 'text/css; charset=utf-8', 'color: black'],
      ['/console/icon.svg', 'image/svg+xml', '<svg'],
      ['/console/shot.png', 'image/png', 'PNG'],
    ];
    for (const [path, type, text] of cases) {
      const r = await http(port, 'GET', path);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe(type);
      expect(r.body, path).toContain(text);
      expect(r.headers['content-security-policy'], path).toMatch(/^default-src 'self'(;|$)/);
      expect(r.headers['content-security-policy'], path).not.toContain('unsafe-inline');
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
    }
    // HEAD: the headers without the body.
    const head = await http(port, 'HEAD', '/console/app.js');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBe('export const app = 1;\n'.length);
    expect((await http(port, 'GET', '/console/missing.js')).status).toBe(404);
    expect((await http(port, 'GET', '/console/lib')).status).toBe(404);
    expect((await http(port, 'GET', '/package.json')).status).toBe(404);
    expect((await http(port, 'POST', '/console/app.js')).status).toBe(405);
    // The API's answers carry the headers too.
    const api = await http(port, 'GET', '/api/v1/view');
    expect(api.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    expect(api.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses every way out of console/: .., encoded .., symbolic links out', async () => {
    const { port } = await start();
    for (const path of [
      '/console/../package.json',
      '/console/../../outside.txt',
      '/console/%2e%2e/package.json',
      '/console/%2E%2E%2Fpackage.json',
      '/console/..%2f..%2foutside.txt',
      '/console/lib/../../package.json',
      '/console/..%5cpackage.json',
      '/console/%00index.html',
      '/console/link.txt',
      '/console/up/outside.txt',
      '/console//etc/passwd',
      '/console/%2fetc%2fpasswd',
      '/vendor/elkjs/../secret-pkg/index.js',
      '/vendor/elkjs/%2e%2e/secret-pkg/index.js',
      '/vendor/elkjs/..%2f..%2fpackage.json',
      '/vendor/@tanstack/virtual-core/../../secret-pkg/index.js',
      '/vendor/%2e%2e/package.json',
    ]) {
      const r = await http(port, 'GET', path);
      expect([400, 404], path).toContain(r.status);
      expect(r.body, path).not.toMatch(/SECRET|root:/);
    }
  });

  it('serves node_modules only for allow-listed packages', async () => {
    const { port } = await start();
    const elk = await http(port, 'GET', '/vendor/elkjs/lib/elk.bundled.js');
    expect(elk.status).toBe(200);
    expect(elk.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(elk.body).toContain('var ELK');
    const scoped = await http(port, 'GET', '/vendor/@tanstack/virtual-core/dist/esm/index.js');
    expect(scoped.status).toBe(200);
    expect(scoped.body).toContain('export const v');
    for (const path of ['/vendor/secret-pkg/index.js', '/vendor/@tanstack/other/x.js', '/vendor/elkjs', '/vendor/elkjs/', '/node_modules/elkjs/lib/elk.bundled.js', '/vendor/elkjs-evil/x.js']) {
      const r = await http(port, 'GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('SECRET');
    }
    expect(() => new ConsoleServer({ source: new FakeSource(), root, vendor: ['../etc'], log: pino({ level: 'silent' }) })).toThrow(/not a package name/);
  });
});

describe('console server: binding and the token', () => {
  it('isLoopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.0.2.10', 'example.net', '']) expect(isLoopback(h), h).toBe(false);
  });

  it('refuses to listen beyond loopback without a token; with one it listens', async () => {
    const s = new ConsoleServer({ source: new FakeSource(), root, log: pino({ level: 'silent' }) });
    servers.push(s);
    await expect(s.listen('0.0.0.0', 0)).rejects.toThrow(/not a loopback address: give it a token/);
    const { url } = await start({ token: TOKEN }, '0.0.0.0');
    expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/);
    expect(() => new ConsoleServer({ source: new FakeSource(), root, token: 'short', log: pino({ level: 'silent' }) })).toThrow(/at least 16/);
  });

  it('with a token, every /api request needs it; the app files do not', async () => {
    const { port } = await start({ token: TOKEN, approve: async () => ({ outcome: 'approved', message: 'ok' }) });
    expect((await http(port, 'GET', '/api/v1/view')).status).toBe(403);
    expect((await http(port, 'GET', '/api/v1/view', { authorization: 'Bearer wrong-token-0123456789abcdef' })).status).toBe(403);
    expect((await http(port, 'GET', '/api/v1/view', { authorization: `Basic ${TOKEN}` })).status).toBe(403);
    expect((await http(port, 'GET', '/api/v1/stream')).status).toBe(403);
    const ok = await http(port, 'GET', '/api/v1/view', { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(ok.body)).toMatchObject({ mode: 'file', canApprove: true, networks: [] });
    expect((await http(port, 'GET', '/console/app.js')).status).toBe(200);
  });

  it('on loopback without a token, reads are open, approval is refused, and a foreign Host name is refused', async () => {
    let called = 0;
    const { port } = await start({ approve: async () => (called++, { outcome: 'approved', message: 'ok' }) });
    const v = await http(port, 'GET', '/api/v1/view');
    expect(v.status).toBe(200);
    expect(JSON.parse(v.body).canApprove).toBe(false);
    const a = await http(port, 'POST', '/api/v1/approve', { 'content-type': 'application/json' }, JSON.stringify({ key: 'Network/web', digest: PENDING }));
    expect(a.status).toBe(403);
    expect(called).toBe(0);
    // DNS rebinding: a page of another site whose name now resolves to 127.0.0.1.
    expect((await http(port, 'GET', '/api/v1/view', { host: `evil.example:${port}` })).status).toBe(403);
    expect((await http(port, 'GET', '/api/v1/view', { host: `localhost:${port}` })).status).toBe(200);
  });
});

describe('console server: approve', () => {
  /** An approve function holding one plan, PENDING, for Network/web. */
  function holder() {
    const approved: [string, string][] = [];
    const approve: ApproveFn = async (key, digest) => {
      if (key !== 'Network/web') return { outcome: 'not-found', message: `no ${key}` };
      if (digest !== PENDING) return { outcome: 'plan-changed', message: 'the plan changed since', pending: PENDING };
      approved.push([key, digest]);
      return { outcome: 'approved', message: `approved ${key}` };
    };
    return { approve, approved };
  }
  const post = (port: number, body: unknown, auth: string | null = `Bearer ${TOKEN}`, type = 'application/json') =>
    http(port, 'POST', '/api/v1/approve', { 'content-type': type, ...(auth ? { authorization: auth } : {}) }, typeof body === 'string' ? body : JSON.stringify(body));

  it('approves exactly the pending digest, with the token only', async () => {
    const h = holder();
    const { port } = await start({ token: TOKEN, approve: h.approve });
    expect((await post(port, { key: 'Network/web', digest: PENDING }, null)).status).toBe(403);
    expect((await post(port, { key: 'Network/web', digest: PENDING }, 'Bearer not-the-token-0123456789')).status).toBe(403);
    expect(h.approved).toEqual([]);
    const stale = await post(port, { key: 'Network/web', digest: OTHER });
    expect(stale.status).toBe(409);
    expect(JSON.parse(stale.body)).toMatchObject({ ok: false, outcome: 'plan-changed', pending: PENDING });
    expect(h.approved).toEqual([]);
    const ok = await post(port, { key: 'Network/web', digest: PENDING });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true, key: 'Network/web', digest: PENDING, outcome: 'approved' });
    expect(h.approved).toEqual([['Network/web', PENDING]]);
    expect((await post(port, { key: 'Network/nope', digest: PENDING })).status).toBe(404);
  });

  it('refuses what is not a key and a digest, as JSON', async () => {
    const h = holder();
    const { port } = await start({ token: TOKEN, approve: h.approve });
    expect((await post(port, { key: 'web', digest: PENDING })).status).toBe(400);
    expect((await post(port, { key: 'Bogus/web', digest: PENDING })).status).toBe(400);
    expect((await post(port, { key: 'Network/web', digest: 'abc' })).status).toBe(400);
    expect((await post(port, { key: 'Network/web' })).status).toBe(400);
    expect((await post(port, 'not json')).status).toBe(400);
    expect((await post(port, { key: 'Network/web', digest: PENDING }, `Bearer ${TOKEN}`, 'text/plain')).status).toBe(415);
    expect((await post(port, { key: 'Network/web', digest: PENDING, pad: 'x'.repeat(20_000) })).status).toBe(413);
    expect((await http(port, 'GET', '/api/v1/approve', { authorization: `Bearer ${TOKEN}` })).status).toBe(405);
    expect(h.approved).toEqual([]);
  });
});

describe('console server: the event stream', () => {
  it('sends the view on connect, and again after a change (debounced: a burst is one event); an unchanged view is not sent', async () => {
    const { source, port } = await start({ debounceMs: 50 });
    source.view_.networks = [network('web', 1500)];
    const c = stream(port);
    const res = await c.opened;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    const first = await c.next(1);
    expect(first.event).toBe('view');
    expect((JSON.parse(first.data) as ConsoleView).networks[0]!.mtu).toBe(1500);

    const t0 = Date.now();
    for (let i = 0; i < 5; i++) source.change((v) => (v.networks[0]!.mtu = 9000 + i));
    const second = await c.next(2);
    expect(second.event).toBe('view');
    expect((JSON.parse(second.data) as ConsoleView).networks[0]!.mtu).toBe(9004);
    expect(second.at - t0).toBeLessThan(1000);
    await sleep(200);
    expect(c.events.filter((e) => e.event === 'view')).toHaveLength(2);
    // A signal without a change sends nothing.
    source.change(() => {});
    await sleep(200);
    expect(c.events.filter((e) => e.event === 'view')).toHaveLength(2);
    c.close();
  });

  it('with ?patch=1: a view first, then patches by key', async () => {
    const { source, port } = await start({ debounceMs: 20 });
    source.view_.networks = [network('web', 1500), network('db', 1500)];
    const c = stream(port, '/api/v1/stream?patch=1');
    expect((await c.next(1)).event).toBe('view');
    source.change((v) => {
      v.networks[0]!.mtu = 9000;
      v.networks.splice(1, 1);
      v.events.push({ time: 't', key: 'Network/web', type: 'Ready', status: 'True' });
    });
    const p = await c.next(2);
    expect(p.event).toBe('patch');
    const patch = JSON.parse(p.data) as ConsolePatch;
    expect(patch.networks).toEqual({ upsert: [network('web', 9000)], remove: ['db'] });
    expect(patch.hosts).toBeUndefined();
    expect(patch.topology).toBeUndefined();
    expect(patch.events).toEqual({ append: [{ time: 't', key: 'Network/web', type: 'Ready', status: 'True' }], length: 1 });
    c.close();
  });

  it('sends heartbeat comments, and drops a client that went away', async () => {
    const { s, port } = await start({ heartbeatMs: 30 });
    const c = stream(port);
    await c.next(1);
    await c.next(2);
    expect(c.events[1]!.event).toBe('comment');
    expect(c.events[1]!.data).toBe(': ping');
    expect(s.streams).toBe(1);
    c.close();
    const deadline = Date.now() + 2000;
    while (s.streams !== 0 && Date.now() < deadline) await sleep(10);
    expect(s.streams).toBe(0);
  });
});

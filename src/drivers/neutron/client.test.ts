// The Neutron HTTP client against small local HTTP(S) servers written here (not a real Neutron):
// JSON, query encoding, If-Match, error classification, pagination, timeouts, concurrency, Keystone
// v3 tokens and TLS verification.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../api/errors.ts';
import type { Credentials } from '../driver.ts';
import { keystoneAuthBody, NeutronClient, type NeutronClientOptions } from './client.ts';

// ---- test servers ---------------------------------------------------------------------------------

interface Seen {
  method: string;
  /** Path and query exactly as received. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

interface TestServer {
  url: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

type Handler = (req: Seen, res: ServerResponse) => void | Promise<void>;

const servers: TestServer[] = [];
const clients: NeutronClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function listen(handler: Handler, tls?: { key: string; cert: string }): Promise<TestServer> {
  const seen: Seen[] = [];
  const onRequest = (req: http.IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      void Promise.resolve(handler(s, res)).catch((err: unknown) => {
        if (!res.headersSent) json(res, 599, { testServerError: String(err) });
      });
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, onRequest) : http.createServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const ts: TestServer = {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  servers.push(ts);
  return ts;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function neutronFault(res: ServerResponse, status: number, type: string, message: string): void {
  json(res, status, { NeutronError: { type, message, detail: '' } });
}

const silent = pino({ level: 'silent' });

function client(endpoint: string, over: Partial<NeutronClientOptions> = {}): NeutronClient {
  const c = new NeutronClient({
    endpoint,
    auth: { kind: 'noauth' },
    tls: { insecureSkipVerify: false },
    timeoutMs: 5_000,
    maxConcurrency: 4,
    log: silent,
    // Single requests are what these tests look at; the retries have their own tests below.
    retries: 0,
    ...over,
  });
  clients.push(c);
  return c;
}

/** The BackendError a promise rejects with; fails the test if it resolves or rejects with anything else. */
async function failure(p: Promise<unknown>): Promise<BackendError> {
  let result: unknown;
  try {
    result = await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BackendError);
    return err as BackendError;
  }
  throw new Error(`expected a BackendError, got a result: ${JSON.stringify(result)}`);
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// ---- JSON, query, headers, errors -----------------------------------------------------------------

describe('requests', () => {
  it('sends JSON and parses the JSON answer', async () => {
    const srv = await listen((req, res) => {
      const { network } = JSON.parse(req.body) as { network: { name: string } };
      json(res, 201, { network: { id: '6a256192-e9dc-4c49-9070-b9cba4187f82', name: network.name, revision_number: 1 } });
    });
    const c = client(srv.url);
    const out = await c.request<{ network: { id: string; name: string; revision_number: number } }>('POST', '/v2.0/networks', {
      body: { network: { name: 'net-vlan-101', 'provider:segmentation_id': 101 } },
    });
    expect(out).toEqual({ network: { id: '6a256192-e9dc-4c49-9070-b9cba4187f82', name: 'net-vlan-101', revision_number: 1 } });
    expect(srv.seen).toHaveLength(1);
    const [req] = srv.seen;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/v2.0/networks');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers.accept).toBe('application/json');
    expect(req!.headers['if-match']).toBeUndefined();
    expect(req!.headers['x-auth-token']).toBeUndefined();
    expect(JSON.parse(req!.body)).toEqual({ network: { name: 'net-vlan-101', 'provider:segmentation_id': 101 } });
  });

  it('sends no body and no content type without a body; a 204 resolves to undefined', async () => {
    const srv = await listen((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const c = client(srv.url);
    await expect(c.request('DELETE', '/v2.0/networks/6a256192-e9dc-4c49-9070-b9cba4187f82')).resolves.toBeUndefined();
    expect(srv.seen[0]).toMatchObject({ method: 'DELETE', url: '/v2.0/networks/6a256192-e9dc-4c49-9070-b9cba4187f82', body: '' });
    expect(srv.seen[0]!.headers['content-type']).toBeUndefined();
  });

  it('repeats array query parameters, stringifies scalars and leaves out undefined ones', async () => {
    const srv = await listen((_req, res) => json(res, 200, { networks: [] }));
    const c = client(srv.url);
    await c.request('GET', '/v2.0/networks', {
      query: { name: 'net-vlan-101', fields: ['id', 'name', 'provider:segmentation_id'], shared: false, limit: 2, marker: undefined },
    });
    const req = srv.seen[0]!;
    expect(req.url).toBe('/v2.0/networks?name=net-vlan-101&fields=id&fields=name&fields=provider%3Asegmentation_id&shared=false&limit=2');
    expect(req.query.getAll('fields')).toEqual(['id', 'name', 'provider:segmentation_id']);
    expect(req.query.has('marker')).toBe(false);
  });

  it('keeps a path prefix of the endpoint and drops its trailing slashes', async () => {
    const srv = await listen((_req, res) => json(res, 200, { networks: [] }));
    const c = client(`${srv.url}/network//`);
    await c.request('GET', '/v2.0/networks');
    expect(srv.seen[0]!.url).toBe('/network/v2.0/networks');
  });

  describe('If-Match', () => {
    /** A network at revision 9 that refuses any other constraint, as Neutron does. */
    const revisioned = () =>
      listen((req, res) => {
        const m = /^revision_number=(\d+)$/.exec(String(req.headers['if-match'] ?? ''));
        if (m && Number(m[1]) !== 9) return neutronFault(res, 412, 'RevisionNumberConstraintFailed', `Constrained to ${m[1]}, but current revision is 9`);
        json(res, 200, { network: { id: 'n1', revision_number: 10 } });
      });

    it('sends If-Match: revision_number=N exactly', async () => {
      const srv = await revisioned();
      const c = client(srv.url);
      await expect(c.request('PUT', '/v2.0/networks/n1', { body: { network: { mtu: 1400 } }, ifMatchRevision: 9 })).resolves.toEqual({ network: { id: 'n1', revision_number: 10 } });
      expect(srv.seen[0]!.headers['if-match']).toBe('revision_number=9');
    });

    it('sends revision 0 too (subnets start at 0)', async () => {
      const srv = await listen((_req, res) => json(res, 200, {}));
      await client(srv.url).request('PUT', '/v2.0/subnets/s1', { body: { subnet: { name: 'x' } }, ifMatchRevision: 0 });
      expect(srv.seen[0]!.headers['if-match']).toBe('revision_number=0');
    });

    it('a lost compare-and-swap (412) is a Conflict with Neutron\'s message', async () => {
      const srv = await revisioned();
      const e = await failure(client(srv.url).request('PUT', '/v2.0/networks/n1', { body: { network: { mtu: 1400 } }, ifMatchRevision: 1 }));
      expect(e.errorClass).toBe('Conflict');
      expect(e.code).toBe('RevisionNumberConstraintFailed');
      expect(e.message).toBe('PUT /v2.0/networks/n1: Constrained to 1, but current revision is 9');
      expect(srv.seen[0]!.headers['if-match']).toBe('revision_number=1');
    });
  });

  it.each([
    { status: 404, type: 'NetworkNotFound', message: 'Network 00000000-0000-0000-0000-000000000000 could not be found.', cls: 'NotFound' },
    { status: 409, type: 'VlanIdInUse', message: 'Unable to create the network. The VLAN 102 on physical network physnet1 is in use.', cls: 'Terminal' },
    { status: 409, type: 'OverQuota', message: "Quota exceeded for resources: ['network'].", cls: 'Terminal' },
    { status: 409, type: 'NetworkInUse', message: 'Unable to complete operation on network 6a256192-e9dc-4c49-9070-b9cba4187f82. There are one or more ports still in use on the network.', cls: 'Transient' },
    { status: 400, type: 'InvalidInput', message: 'Invalid input for operation: Requested MTU is too big, maximum is 1500.', cls: 'Terminal' },
    { status: 500, type: 'HTTPInternalServerError', message: 'Request Failed: internal server error while processing your request.', cls: 'Transient' },
  ])('a Neutron error body $status $type becomes a $cls BackendError with Neutron\'s message', async ({ status, type, message, cls }) => {
    const srv = await listen((_req, res) => neutronFault(res, status, type, message));
    const e = await failure(client(srv.url).request('POST', '/v2.0/networks', { body: { network: {} } }));
    expect(e.errorClass).toBe(cls);
    expect(e.code).toBe(type);
    expect(e.message).toBe(`POST /v2.0/networks: ${message}`);
  });

  it.each([
    { name: 'an HTML 502 from a proxy', status: 502, text: '<html><body>Bad Gateway</body></html>', cls: 'Transient' },
    { name: 'an empty 503', status: 503, text: '', cls: 'Transient' },
    { name: 'an empty 429', status: 429, text: '', cls: 'Transient' },
    { name: 'a plain-text 403', status: 403, text: 'Forbidden', cls: 'Terminal' },
  ])('$name is classified by its status', async ({ status, text, cls }) => {
    const srv = await listen((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/html' });
      res.end(text);
    });
    const e = await failure(client(srv.url).request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe(cls);
    expect(e.code).toBe(`HTTP${status}`);
    expect(e.message).toBe(`GET /v2.0/networks: HTTP ${status}`);
  });

  it('a 200 that is not JSON is Transient', async () => {
    const srv = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>maintenance</html>');
    });
    const e = await failure(client(srv.url).request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Transient');
    expect(e.message).toBe('GET /v2.0/networks: the answer is not JSON');
  });

  it('counts requests by method in client.calls, failed ones included', async () => {
    const srv = await listen((req, res) => {
      if (req.method === 'DELETE') return neutronFault(res, 404, 'NetworkNotFound', 'Network n9 could not be found.');
      json(res, 200, {});
    });
    const c = client(srv.url);
    expect(c.calls).toEqual({ GET: 0, POST: 0, PUT: 0, DELETE: 0 });
    await c.request('GET', '/v2.0/networks');
    await c.request('GET', '/v2.0/subnets');
    await c.request('GET', '/v2.0/ports');
    await c.request('POST', '/v2.0/networks', { body: {} });
    await c.request('PUT', '/v2.0/networks/n1', { body: {} });
    await c.request('PUT', '/v2.0/networks/n1/tags', { body: { tags: [] } });
    await failure(c.request('DELETE', '/v2.0/networks/n9'));
    expect(c.calls).toEqual({ GET: 3, POST: 1, PUT: 2, DELETE: 1 });
    expect(srv.seen.map((s) => s.method)).toEqual(['GET', 'GET', 'GET', 'POST', 'PUT', 'PUT', 'DELETE']);
  });
});

// ---- pagination -----------------------------------------------------------------------------------

describe('list', () => {
  const ids = (n: number, prefix = 'net') => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);

  /**
   * A collection served the way Neutron paginates: items sorted by id, after `marker`, at most
   * `limit` (capped at `maxLimit` like pagination_max_limit), with a `next` link whenever the page
   * is full and a `previous` link whenever a marker was given.
   */
  function paginated(key: string, all: string[], opts: { maxLimit?: number; path?: string } = {}) {
    return listen((req, res) => {
      if (req.path !== (opts.path ?? `/v2.0/${key}`)) return neutronFault(res, 404, 'HTTPNotFound', `no route ${req.path}`);
      let limit = Number(req.query.get('limit') ?? 0);
      if (opts.maxLimit && (!limit || limit > opts.maxLimit)) limit = opts.maxLimit;
      const marker = req.query.get('marker');
      const start = marker ? all.indexOf(marker) + 1 : 0;
      const items = all.slice(start, limit ? start + limit : undefined);
      const links: { rel: string; href: string }[] = [];
      const base = `http://127.0.0.1${req.path}`;
      if (limit && items.length >= limit) links.push({ rel: 'next', href: `${base}?limit=${limit}&marker=${items[items.length - 1]}` });
      if (marker) links.push({ rel: 'previous', href: `${base}?limit=${limit}&marker=${items[0] ?? marker}&page_reverse=True` });
      json(res, 200, { [key]: items.map((id) => ({ id, name: `n-${id}` })), ...(links.length ? { [`${key}_links`]: links } : {}) });
    });
  }

  it('asks for pages of 10,000: 1,200 networks in one request', async () => {
    const srv = await paginated('networks', ids(1200));
    const got = await client(srv.url).list<{ id: string }>('networks', { tags: 'nf-inst:lab' });
    expect(got).toHaveLength(1200);
    expect(srv.seen.map((s) => [s.query.get('marker'), s.query.get('limit')])).toEqual([[null, '10000']]);
  });

  it('follows networks_links next with marker = the last id and limit, keeping the query', async () => {
    const all = ids(1200);
    const srv = await paginated('networks', all);
    const c = client(srv.url, { pageSize: 500 });
    const got = await c.list<{ id: string; name: string }>('networks', { tags: 'nf-inst:lab', fields: ['id', 'name'] });
    expect(got.map((n) => n.id)).toEqual(all);
    expect(got[0]).toEqual({ id: 'net-00000', name: 'n-net-00000' });
    expect(srv.seen.map((s) => [s.query.get('marker'), s.query.get('limit')])).toEqual([
      [null, '500'],
      ['net-00499', '500'],
      ['net-00999', '500'],
    ]);
    for (const s of srv.seen) {
      expect(s.query.get('tags')).toBe('nf-inst:lab');
      expect(s.query.getAll('fields')).toEqual(['id', 'name']);
    }
    expect(c.calls.GET).toBe(3);
  });

  it('one request when everything fits in a page (no next link)', async () => {
    const srv = await paginated('networks', ids(3));
    const got = await client(srv.url).list<{ id: string }>('networks');
    expect(got.map((n) => n.id)).toEqual(['net-00000', 'net-00001', 'net-00002']);
    expect(srv.seen).toHaveLength(1);
  });

  it('an empty collection', async () => {
    const srv = await paginated('networks', []);
    await expect(client(srv.url).list('networks')).resolves.toEqual([]);
    expect(srv.seen).toHaveLength(1);
  });

  it('an exactly full last page: follows the next link, gets an empty page without next, stops', async () => {
    const all = ids(1000);
    const srv = await paginated('networks', all);
    const got = await client(srv.url, { pageSize: 500 }).list<{ id: string }>('networks');
    expect(got.map((n) => n.id)).toEqual(all);
    expect(srv.seen.map((s) => s.query.get('marker'))).toEqual([null, 'net-00499', 'net-00999']);
  });

  it('stops when there is no next link, even with a full page (a previous link is not followed)', async () => {
    const srv = await listen((req, res) =>
      json(res, 200, {
        networks: ids(500).map((id) => ({ id })),
        networks_links: [{ rel: 'previous', href: `http://127.0.0.1${req.path}?marker=x&page_reverse=True` }],
      }),
    );
    const got = await client(srv.url).list<{ id: string }>('networks');
    expect(got).toHaveLength(500);
    expect(srv.seen).toHaveLength(1);
  });

  it('follows next links when the server caps the page size below the requested limit (pagination_max_limit)', async () => {
    const all = ids(450);
    const srv = await paginated('networks', all, { maxLimit: 200 });
    const got = await client(srv.url).list<{ id: string }>('networks');
    expect(got.map((n) => n.id)).toEqual(all);
    expect(srv.seen.map((s) => s.query.get('marker'))).toEqual([null, 'net-00199', 'net-00399']);
  });

  it('lists a nested collection (qos/policies answers with "policies" and "policies_links")', async () => {
    const all = ids(700, 'pol');
    const srv = await paginated('policies', all, { path: '/v2.0/qos/policies' });
    const got = await client(srv.url, { pageSize: 500 }).list<{ id: string }>('qos/policies', { name: 'nf-0123456789abcdef0123' });
    expect(got.map((p) => p.id)).toEqual(all);
    expect(srv.seen.map((s) => [s.path, s.query.get('name'), s.query.get('marker')])).toEqual([
      ['/v2.0/qos/policies', 'nf-0123456789abcdef0123', null],
      ['/v2.0/qos/policies', 'nf-0123456789abcdef0123', 'pol-00499'],
    ]);
  });

  it('lists a hyphenated collection (security-groups answers with "security_groups" and "security_groups_links")', async () => {
    const all = ids(600, 'sg');
    const srv = await paginated('security_groups', all, { path: '/v2.0/security-groups' });
    const got = await client(srv.url, { pageSize: 500 }).list<{ id: string }>('security-groups', { description: 'netform-pending:0123456789abcdef0123' });
    expect(got.map((g) => g.id)).toEqual(all);
    expect(srv.seen.map((s) => s.query.get('marker'))).toEqual([null, 'sg-00499']);
  });

  it('an error on a later page fails the whole listing', async () => {
    const srv = await listen((req, res) => {
      if (req.query.get('marker')) return neutronFault(res, 500, 'HTTPInternalServerError', 'Request Failed: internal server error while processing your request.');
      json(res, 200, { networks: ids(500).map((id) => ({ id })), networks_links: [{ rel: 'next', href: 'http://127.0.0.1/v2.0/networks?marker=net-00499' }] });
    });
    const e = await failure(client(srv.url).list('networks'));
    expect(e.errorClass).toBe('Transient');
    expect(e.message).toBe('GET /v2.0/networks: Request Failed: internal server error while processing your request.');
    expect(srv.seen).toHaveLength(2);
  });
});

// ---- timeouts, refused connections, aborts --------------------------------------------------------

describe('network failures', () => {
  it('a server that never answers: Transient, code Timeout, after timeoutMs', async () => {
    const srv = await listen(() => {
      /* never answers */
    });
    const c = client(srv.url, { timeoutMs: 150 });
    const e = await failure(c.request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Transient');
    expect(e.code).toBe('Timeout');
    expect(e.message).toBe('GET /v2.0/networks: no answer within 150 ms');
    expect(srv.seen).toHaveLength(1);
    expect(c.calls.GET).toBe(1);
  });

  it('a server that sends headers and then stalls the body: Transient, code Timeout', async () => {
    const srv = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"networks": [');
    });
    const e = await failure(client(srv.url, { timeoutMs: 150 }).request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Transient');
    expect(e.code).toBe('Timeout');
    expect(e.message).toBe('GET /v2.0/networks: no answer within 150 ms');
  });

  it('connection refused: Transient with the socket error code', async () => {
    const port = await freePort();
    const e = await failure(client(`http://127.0.0.1:${port}`).request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Transient');
    expect(e.code).toBe('ECONNREFUSED');
    expect(e.message).toMatch(/^GET \/v2\.0\/networks: .*ECONNREFUSED/);
  });

  it('the caller\'s abort signal: Transient, code Aborted', async () => {
    const ac = new AbortController();
    const srv = await listen(() => ac.abort());
    const e = await failure(client(srv.url).request('GET', '/v2.0/networks', { signal: ac.signal }));
    expect(e.errorClass).toBe('Transient');
    expect(e.code).toBe('Aborted');
    expect(e.message).toBe('GET /v2.0/networks: aborted');
  });
});

describe('retries of transient failures', () => {
  it('a GET that fails twice (503, then a reset) is retried and succeeds: three requests', async () => {
    let n = 0;
    const srv = await listen((req, res) => {
      n++;
      if (n === 1) return neutronFault(res, 503, 'ServiceUnavailable', 'busy');
      if (n === 2) return void res.socket?.destroy();
      json(res, 200, { networks: [] });
    });
    expect(await client(srv.url, { retries: 2 }).request('GET', '/v2.0/networks')).toEqual({ networks: [] });
    expect(srv.seen).toHaveLength(3);
  });

  it('PUT and DELETE are retried; a POST never is (its answer may be lost after a commit)', async () => {
    const srv = await listen((req, res) => neutronFault(res, 503, 'ServiceUnavailable', 'busy'));
    const c = client(srv.url, { retries: 2 });
    expect((await failure(c.request('PUT', '/v2.0/networks/x', { body: { network: {} } }))).errorClass).toBe('Transient');
    expect(srv.seen.filter((r) => r.method === 'PUT')).toHaveLength(3);
    expect((await failure(c.request('DELETE', '/v2.0/networks/x'))).errorClass).toBe('Transient');
    expect(srv.seen.filter((r) => r.method === 'DELETE')).toHaveLength(3);
    expect((await failure(c.request('POST', '/v2.0/networks', { body: { network: {} } }))).errorClass).toBe('Transient');
    expect(srv.seen.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('terminal, conflict and not-found answers are never retried', async () => {
    const srv = await listen((req, res) => {
      if (req.path.endsWith('/gone')) return neutronFault(res, 404, 'NetworkNotFound', 'no such network');
      if (req.path.endsWith('/race')) return neutronFault(res, 412, 'PreconditionFailed', 'revision moved');
      neutronFault(res, 400, 'BadRequest', 'bad');
    });
    const c = client(srv.url, { retries: 2 });
    expect((await failure(c.request('GET', '/v2.0/networks/gone'))).errorClass).toBe('NotFound');
    expect((await failure(c.request('PUT', '/v2.0/networks/race', { body: {} }))).errorClass).toBe('Conflict');
    expect((await failure(c.request('PUT', '/v2.0/networks/bad', { body: {} }))).errorClass).toBe('Terminal');
    expect(srv.seen).toHaveLength(3);
  });
});

// ---- concurrency ----------------------------------------------------------------------------------

describe('bounded concurrency', () => {
  it.each([1, 2, 3])('maxConcurrency %i: never more in flight at the server, and that many are used', async (max) => {
    let inFlight = 0;
    let peak = 0;
    const srv = await listen((req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        json(res, 200, { path: req.path });
      }, 40);
    });
    const c = client(srv.url, { maxConcurrency: max });
    const paths = Array.from({ length: 7 }, (_, i) => `/v2.0/networks/n${i}`);
    const out = await Promise.all(paths.map((p) => c.request<{ path: string }>('GET', p)));
    expect(out.map((o) => o.path)).toEqual(paths);
    expect(srv.seen).toHaveLength(7);
    expect(peak).toBe(max);
    expect(c.calls.GET).toBe(7);
  });
});

// ---- Keystone v3 ----------------------------------------------------------------------------------

describe('Keystone v3', () => {
  const password: Credentials = { username: 'netform', password: 'S3cr3t-pa55/word!', projectName: 'dc1' };

  interface Fake {
    srv: TestServer;
    /** Tokens issued so far. */
    issued: string[];
    /** Tokens Neutron accepts (all issued ones unless revoked). */
    valid: Set<string>;
    /** Neutron refuses every token. */
    refuseAll: boolean;
    keystoneBodies: unknown[];
    /** The tokens Neutron calls carried, in order. */
    neutronTokens: (string | undefined)[];
  }

  /**
   * One server playing Keystone (`POST /v3/auth/tokens`) and Neutron (everything under /v2.0,
   * requiring a valid X-Auth-Token). `keystone` decides each auth answer.
   */
  async function fake(keystone: (n: number) => { status: number; expiresInMs?: number | null; issuedAgoMs?: number; noToken?: boolean } = () => ({ status: 201 })): Promise<Fake> {
    const f: Fake = { srv: undefined as unknown as TestServer, issued: [], valid: new Set(), refuseAll: false, keystoneBodies: [], neutronTokens: [] };
    f.srv = await listen((req, res) => {
      if (req.method === 'POST' && req.path === '/v3/auth/tokens') {
        f.keystoneBodies.push(JSON.parse(req.body));
        const a = keystone(f.keystoneBodies.length);
        if (a.status >= 300) {
          return json(res, a.status, { error: { code: a.status, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
        }
        const token = `tok-${f.keystoneBodies.length}`;
        f.issued.push(token);
        f.valid.add(token);
        const expires = a.expiresInMs === null ? undefined : new Date(Date.now() + (a.expiresInMs ?? 3_600_000)).toISOString();
        const issued = new Date(Date.now() - (a.issuedAgoMs ?? 0)).toISOString();
        return json(res, a.status, { token: { methods: ['password'], ...(expires ? { expires_at: expires } : {}), issued_at: issued } }, a.noToken ? {} : { 'X-Subject-Token': token });
      }
      const token = req.headers['x-auth-token'] as string | undefined;
      f.neutronTokens.push(token);
      if (!token || !f.valid.has(token) || f.refuseAll) return json(res, 401, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
      json(res, 200, { networks: [] });
    });
    return f;
  }

  const keystoneClient = (f: Fake, credentials: Credentials = password, over: Partial<NeutronClientOptions> = {}) =>
    client(f.srv.url, { auth: { kind: 'keystone', authUrl: `${f.srv.url}/v3/`, credentials }, ...over });

  it('fetches a token once and caches it across sequential and concurrent requests', async () => {
    const f = await fake();
    const c = keystoneClient(f);
    await Promise.all(Array.from({ length: 5 }, () => c.request('GET', '/v2.0/networks')));
    await c.request('GET', '/v2.0/networks');
    await c.request('GET', '/v2.0/subnets');
    expect(f.keystoneBodies).toHaveLength(1);
    expect(f.neutronTokens).toEqual(Array(7).fill('tok-1'));
    expect(c.calls).toEqual({ GET: 7, POST: 0, PUT: 0, DELETE: 0 });
    const auth = f.srv.seen.filter((s) => s.path === '/v3/auth/tokens');
    expect(auth).toHaveLength(1);
    expect(auth[0]!.headers['content-type']).toBe('application/json');
    expect(auth[0]!.headers['x-auth-token']).toBeUndefined();
  });

  it('an authUrl without /v3 means its /v3 API root', async () => {
    const f = await fake();
    await client(f.srv.url, { auth: { kind: 'keystone', authUrl: f.srv.url, credentials: password } }).request('GET', '/v2.0/networks');
    expect(f.srv.seen.filter((s) => s.path === '/v3/auth/tokens')).toHaveLength(1);
    expect(f.neutronTokens).toEqual(['tok-1']);
  });

  it('sends the password auth body to Keystone', async () => {
    const f = await fake();
    await keystoneClient(f).request('GET', '/v2.0/networks');
    expect(f.keystoneBodies).toEqual([
      {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'netform', domain: { name: 'Default' }, password: 'S3cr3t-pa55/word!' } } },
          scope: { project: { name: 'dc1', domain: { name: 'Default' } } },
        },
      },
    ]);
  });

  it('a 401 from Neutron: re-authenticates once and retries with the new token', async () => {
    const f = await fake();
    const c = keystoneClient(f);
    await c.request('GET', '/v2.0/networks');
    f.valid.delete('tok-1'); // revoked
    await expect(c.request('GET', '/v2.0/networks')).resolves.toEqual({ networks: [] });
    expect(f.issued).toEqual(['tok-1', 'tok-2']);
    expect(f.neutronTokens).toEqual(['tok-1', 'tok-1', 'tok-2']);
    await c.request('GET', '/v2.0/networks');
    expect(f.neutronTokens).toEqual(['tok-1', 'tok-1', 'tok-2', 'tok-2']);
    expect(f.keystoneBodies).toHaveLength(2);
    expect(c.calls.GET).toBe(4);
  });

  it('a Neutron that keeps answering 401: one retry only, then Terminal', async () => {
    const f = await fake();
    f.refuseAll = true;
    const c = keystoneClient(f);
    const e = await failure(c.request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Terminal');
    expect(e.code).toBe('HTTP401');
    expect(e.message).toBe('GET /v2.0/networks: HTTP 401');
    expect(f.keystoneBodies).toHaveLength(2);
    expect(f.neutronTokens).toEqual(['tok-1', 'tok-2']);
  });

  it.each([
    { name: 'of an hour expiring in 30 s: renewed before the next request', expiresInMs: 30_000, issuedAgoMs: 3_570_000, tokens: ['tok-1', 'tok-2', 'tok-3'], auths: 3 },
    { name: 'already expired: renewed', expiresInMs: -1_000, issuedAgoMs: 0, tokens: ['tok-1', 'tok-2', 'tok-3'], auths: 3 },
    { name: 'expiring in 10 min: kept', expiresInMs: 600_000, issuedAgoMs: 0, tokens: ['tok-1', 'tok-1', 'tok-1'], auths: 1 },
    { name: 'no expires_at: kept (assumed an hour)', expiresInMs: null, issuedAgoMs: 0, tokens: ['tok-1', 'tok-1', 'tok-1'], auths: 1 },
    // Short-lived tokens (Keystone [token] expiration below 4 minutes) are renewed in the last quarter
    // of their life, not 60 s before: a 20 s token used to mean a Keystone login for every request.
    { name: 'of 20 s just issued: kept', expiresInMs: 20_000, issuedAgoMs: 0, tokens: ['tok-1', 'tok-1', 'tok-1'], auths: 1 },
    { name: 'of 60 s just issued: kept', expiresInMs: 60_000, issuedAgoMs: 0, tokens: ['tok-1', 'tok-1', 'tok-1'], auths: 1 },
    { name: 'of 20 s with 4 s left: renewed', expiresInMs: 4_000, issuedAgoMs: 16_000, tokens: ['tok-1', 'tok-2', 'tok-3'], auths: 3 },
    { name: 'of 2 minutes with 40 s left: kept', expiresInMs: 40_000, issuedAgoMs: 80_000, tokens: ['tok-1', 'tok-1', 'tok-1'], auths: 1 },
    { name: 'of 2 minutes with 25 s left: renewed', expiresInMs: 25_000, issuedAgoMs: 95_000, tokens: ['tok-1', 'tok-2', 'tok-3'], auths: 3 },
  ])('a token $name', async ({ expiresInMs, issuedAgoMs, tokens, auths }) => {
    const f = await fake(() => ({ status: 201, expiresInMs, issuedAgoMs }));
    const c = keystoneClient(f);
    for (let i = 0; i < 3; i++) await c.request('GET', '/v2.0/networks');
    expect(f.neutronTokens).toEqual(tokens);
    expect(f.keystoneBodies).toHaveLength(auths);
  });

  it('renews a near-expiry token once for concurrent requests', async () => {
    let n = 0;
    const f = await fake(() => (++n === 1 ? { status: 201, expiresInMs: 30_000, issuedAgoMs: 3_570_000 } : { status: 201, expiresInMs: 3_600_000 }));
    const c = keystoneClient(f);
    await c.request('GET', '/v2.0/networks');
    await Promise.all(Array.from({ length: 4 }, () => c.request('GET', '/v2.0/networks')));
    expect(f.issued).toEqual(['tok-1', 'tok-2']);
    expect(f.neutronTokens).toEqual(['tok-1', 'tok-2', 'tok-2', 'tok-2', 'tok-2']);
  });

  it.each([
    { status: 401, cls: 'Terminal', code: 'Unauthorized', message: 'Keystone refused the credentials (HTTP 401)' },
    { status: 403, cls: 'Terminal', code: 'Unauthorized', message: 'Keystone refused the credentials (HTTP 403)' },
    { status: 400, cls: 'Terminal', code: undefined, message: 'Keystone answered HTTP 400' },
    { status: 500, cls: 'Transient', code: undefined, message: 'Keystone answered HTTP 500' },
    { status: 503, cls: 'Transient', code: undefined, message: 'Keystone answered HTTP 503' },
  ])('Keystone $status → $cls, and Neutron is not called', async ({ status, cls, code, message }) => {
    const f = await fake(() => ({ status }));
    const c = keystoneClient(f);
    const e = await failure(c.request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe(cls);
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
    expect(f.neutronTokens).toEqual([]);
    expect(c.calls.GET).toBe(0);
  });

  it('a failed authentication is not cached: the next request tries again', async () => {
    const f = await fake((n) => ({ status: n === 1 ? 503 : 201 }));
    const c = keystoneClient(f);
    expect((await failure(c.request('GET', '/v2.0/networks'))).errorClass).toBe('Transient');
    await expect(c.request('GET', '/v2.0/networks')).resolves.toEqual({ networks: [] });
    expect(f.neutronTokens).toEqual(['tok-2']);
  });

  it('incomplete credentials: Terminal, without calling Keystone or Neutron', async () => {
    const f = await fake();
    const c = keystoneClient(f, { username: 'svc-netform', projectName: 'dc1' });
    const e = await failure(c.request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Terminal');
    expect(e.message).toBe('Keystone credentials need username and password, or applicationCredentialId and applicationCredentialSecret');
    expect(f.srv.seen).toEqual([]);
  });

  it('Keystone without X-Subject-Token: Transient', async () => {
    const f = await fake(() => ({ status: 201, noToken: true }));
    const e = await failure(keystoneClient(f).request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Transient');
    expect(e.message).toBe('Keystone gave no X-Subject-Token');
  });

  it('Keystone unreachable: Transient, naming the Keystone call', async () => {
    const f = await fake();
    const port = await freePort();
    const c = client(f.srv.url, { auth: { kind: 'keystone', authUrl: `http://127.0.0.1:${port}/v3`, credentials: password } });
    const e = await failure(c.request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Transient');
    expect(e.code).toBe('ECONNREFUSED');
    expect(e.message).toMatch(/^POST \/v3\/auth\/tokens: .*ECONNREFUSED/);
    expect(f.neutronTokens).toEqual([]);
  });

  it('Keystone that never answers: Transient Timeout', async () => {
    const ks = await listen(() => {
      /* never answers */
    });
    const f = await fake();
    const c = client(f.srv.url, { timeoutMs: 150, auth: { kind: 'keystone', authUrl: `${ks.url}/v3`, credentials: password } });
    const e = await failure(c.request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Transient');
    expect(e.code).toBe('Timeout');
    expect(e.message).toBe('POST /v3/auth/tokens: no answer within 150 ms');
  });

  it('the password never appears in any error', async () => {
    const secret = password.password!;
    const errors: BackendError[] = [];
    for (const status of [400, 401, 403, 500]) {
      const f = await fake(() => ({ status }));
      errors.push(await failure(keystoneClient(f).request('GET', '/v2.0/networks')));
    }
    const rejecting = await fake();
    rejecting.refuseAll = true;
    errors.push(await failure(keystoneClient(rejecting).request('GET', '/v2.0/networks')));
    const port = await freePort();
    errors.push(await failure(client('http://127.0.0.1:1', { auth: { kind: 'keystone', authUrl: `http://127.0.0.1:${port}/v3`, credentials: password } }).request('GET', '/v2.0/networks')));
    const silentKs = await listen(() => {
      /* never answers */
    });
    errors.push(await failure(client('http://127.0.0.1:1', { timeoutMs: 100, auth: { kind: 'keystone', authUrl: `${silentKs.url}/v3`, credentials: password } }).request('GET', '/v2.0/networks')));
    errors.push(await failure(client('http://127.0.0.1:1', { auth: { kind: 'keystone', authUrl: 'http://127.0.0.1:1/v3', credentials: { password: secret } } }).request('GET', '/v2.0/networks')));
    expect(errors.map((e) => e.errorClass)).toEqual(['Terminal', 'Terminal', 'Terminal', 'Transient', 'Terminal', 'Transient', 'Transient', 'Terminal']);
    for (const e of errors) {
      expect(e.message).not.toContain(secret);
      expect(inspect(e, { depth: 10 })).not.toContain(secret);
      expect(JSON.stringify(e)).not.toContain(secret);
    }
  });
});

describe('keystoneAuthBody', () => {
  it.each<{ name: string; c: Credentials; want: unknown }>([
    {
      name: 'password, project by name, default domains',
      c: { username: 'u', password: 'p', projectName: 'dc1' },
      want: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'u', domain: { name: 'Default' }, password: 'p' } } },
          scope: { project: { name: 'dc1', domain: { name: 'Default' } } },
        },
      },
    },
    {
      name: 'password, project by name, explicit domains',
      c: { username: 'u', password: 'p', projectName: 'dc1', userDomainName: 'ldap', projectDomainName: 'infra' },
      want: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'u', domain: { name: 'ldap' }, password: 'p' } } },
          scope: { project: { name: 'dc1', domain: { name: 'infra' } } },
        },
      },
    },
    {
      name: 'password, project by id (wins over a name)',
      c: { username: 'u', password: 'p', projectId: '11111111111111111111111111111111', projectName: 'dc1' },
      want: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'u', domain: { name: 'Default' }, password: 'p' } } },
          scope: { project: { id: '11111111111111111111111111111111' } },
        },
      },
    },
    {
      name: 'password, unscoped',
      c: { username: 'u', password: 'p' },
      want: { auth: { identity: { methods: ['password'], password: { user: { name: 'u', domain: { name: 'Default' }, password: 'p' } } } } },
    },
    {
      name: 'application credential (scoped by the credential itself)',
      c: { applicationCredentialId: 'ac-id', applicationCredentialSecret: 'ac-secret' },
      want: { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac-id', secret: 'ac-secret' } } } },
    },
    {
      name: 'application credential wins over a password',
      c: { applicationCredentialId: 'ac-id', applicationCredentialSecret: 'ac-secret', username: 'u', password: 'p', projectName: 'dc1' },
      want: { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac-id', secret: 'ac-secret' } } } },
    },
  ])('$name', ({ c, want }) => {
    expect(keystoneAuthBody(c)).toEqual(want);
  });

  it.each<{ name: string; c: Credentials }>([
    { name: 'nothing', c: {} },
    { name: 'a username only', c: { username: 'svc-netform' } },
    { name: 'a password only', c: { password: 'hunter2-secret' } },
    { name: 'an application credential id without secret', c: { applicationCredentialId: 'ac-id' } },
    { name: 'an application credential secret without id', c: { applicationCredentialSecret: 'ac-secret-value' } },
  ])('refuses $name (Terminal, no secret in the message)', ({ c }) => {
    let err: unknown;
    try {
      keystoneAuthBody(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendError);
    const e = err as BackendError;
    expect(e.errorClass).toBe('Terminal');
    expect(e.message).toBe('Keystone credentials need username and password, or applicationCredentialId and applicationCredentialSecret');
    for (const v of Object.values(c)) expect(e.message).not.toContain(v);
  });
});

// ---- TLS ------------------------------------------------------------------------------------------

describe('TLS', () => {
  let dir: string;
  let ca: string;
  let otherCa: string;
  /** A server certificate for IP 127.0.0.1, signed by `ca`. */
  let ipCert: { key: string; cert: string };
  /** A server certificate for DNS neutron.test only, signed by `ca`. */
  let dnsCert: { key: string; cert: string };

  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  function makeCa(name: string): void {
    openssl('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=netform test ${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }

  function makeLeaf(name: string, cn: string, san: string): { key: string; cert: string } {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
    return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.crt`), 'utf8') };
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netform-tls-'));
    makeCa('ca');
    makeCa('other');
    ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    otherCa = readFileSync(join(dir, 'other.crt'), 'utf8');
    ipCert = makeLeaf('ip', '127.0.0.1', 'IP:127.0.0.1');
    dnsCert = makeLeaf('dns', 'neutron.test', 'DNS:neutron.test');
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ok = (_req: Seen, res: ServerResponse) => json(res, 200, { networks: [{ id: 'n1' }] });

  it('without tls.ca a certificate from a private CA fails Terminal, mentioning TLS verification', async () => {
    const srv = await listen(ok, ipCert);
    const e = await failure(client(srv.url).request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Terminal');
    expect(e.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(e.message).toMatch(/^GET \/v2\.0\/networks: TLS verification failed: /);
    expect(e.message).toContain('tls.insecureSkipVerify');
    expect(srv.seen).toHaveLength(0);
  });

  it('with tls.ca of the issuing CA it succeeds', async () => {
    const srv = await listen(ok, ipCert);
    await expect(client(srv.url, { tls: { ca, insecureSkipVerify: false } }).request('GET', '/v2.0/networks')).resolves.toEqual({ networks: [{ id: 'n1' }] });
    expect(srv.seen).toHaveLength(1);
  });

  it('with tls.ca of another CA it fails Terminal', async () => {
    const srv = await listen(ok, ipCert);
    const e = await failure(client(srv.url, { tls: { ca: otherCa, insecureSkipVerify: false } }).request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Terminal');
    expect(e.message).toMatch(/TLS verification failed/);
  });

  it('with insecureSkipVerify it succeeds without a CA', async () => {
    const srv = await listen(ok, ipCert);
    await expect(client(srv.url, { tls: { insecureSkipVerify: true } }).request('GET', '/v2.0/networks')).resolves.toEqual({ networks: [{ id: 'n1' }] });
  });

  it('a certificate for another name fails Terminal; tls.serverName makes it verify', async () => {
    const srv = await listen(ok, dnsCert);
    const e = await failure(client(srv.url, { tls: { ca, insecureSkipVerify: false } }).request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Terminal');
    expect(e.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(e.message).toMatch(/TLS verification failed/);
    await expect(client(srv.url, { tls: { ca, serverName: 'neutron.test', insecureSkipVerify: false } }).request('GET', '/v2.0/networks')).resolves.toEqual({
      networks: [{ id: 'n1' }],
    });
  });

  it('Keystone over TLS is verified with the same CA', async () => {
    const srv = await listen((req, res) => {
      if (req.path === '/v3/auth/tokens') return json(res, 201, { token: { expires_at: new Date(Date.now() + 3_600_000).toISOString() } }, { 'X-Subject-Token': 'tls-token' });
      json(res, req.headers['x-auth-token'] === 'tls-token' ? 200 : 401, {});
    }, ipCert);
    const creds: Credentials = { username: 'u', password: 'p', projectName: 'dc1' };
    const e = await failure(client(srv.url, { auth: { kind: 'keystone', authUrl: `${srv.url}/v3`, credentials: creds } }).request('GET', '/v2.0/networks'));
    expect(e.errorClass).toBe('Terminal');
    expect(e.message).toMatch(/^POST \/v3\/auth\/tokens: TLS verification failed/);
    await expect(client(srv.url, { tls: { ca, insecureSkipVerify: false }, auth: { kind: 'keystone', authUrl: `${srv.url}/v3`, credentials: creds } }).request('GET', '/v2.0/networks')).resolves.toEqual({});
  });
});

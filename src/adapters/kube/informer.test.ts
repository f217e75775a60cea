// The informer's list/watch logic against a small fake API server written here with node:http on
// 127.0.0.1 (failure injection: 410s, 500s, silent watches, closed streams). The fake is evidence of
// the informer's logic, not of the real apiserver: test/kube/informer.test.ts runs against that.
import { spawn } from 'node:child_process';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../state/workqueue.ts';
import { KubeClient, type ResourceType, type WatchEvent } from './client.ts';
import { backoffDelay, diffSnapshot, Informer, isGoneStatus, cacheKey, type InformerEvent, type InformerOptions } from './informer.ts';

// ---- the fake API server -------------------------------------------------------------------------

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
  spec?: Record<string, unknown>;
}

interface Seen {
  watch: boolean;
  path: string;
  query: URLSearchParams;
}

/** Return true when the request was answered (or deliberately left hanging). */
type Override = (req: Seen, res: ServerResponse) => boolean;

const NETWORKS: ResourceType = { group: 'netform.io', version: 'v1alpha1', plural: 'networks', namespaced: false };
const VNICS: ResourceType = { group: 'netform.io', version: 'v1alpha1', plural: 'vnicattachments', namespaced: true };
const PATH = /^\/apis\/netform\.io\/v1alpha1(?:\/namespaces\/([^/]+))?\/([a-z]+)$/;

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/**
 * An in-memory API for one plural. Objects get increasing resourceVersions; watchers get the changes
 * made after they connected (no history replay). `silent` changes reach the store but no watcher,
 * which is how a test makes the informer miss something.
 */
class FakeApi {
  readonly server: http.Server;
  readonly plural: string;
  readonly objects = new Map<string, Obj>();
  readonly requests: Seen[] = [];
  readonly watchers = new Set<ServerResponse>();
  rv = 100;
  uid = 0;
  override: Override | undefined;

  private constructor(plural: string) {
    this.plural = plural;
    this.server = http.createServer((req, res) => this.#handle(req, res));
  }

  static async start(plural = 'networks'): Promise<FakeApi> {
    const api = new FakeApi(plural);
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    apis.push(api);
    return api;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  lists(): Seen[] {
    return this.requests.filter((r) => !r.watch);
  }

  watches(): Seen[] {
    return this.requests.filter((r) => r.watch);
  }

  /** Creates or updates an object; returns it with its new resourceVersion. */
  put(name: string, spec: Record<string, unknown> = {}, opts: { namespace?: string; silent?: boolean } = {}): Obj {
    const key = `${opts.namespace ?? ''}/${name}`;
    const prev = this.objects.get(key);
    const o: Obj = {
      apiVersion: 'netform.io/v1alpha1',
      kind: 'Network',
      metadata: { name, ...(opts.namespace ? { namespace: opts.namespace } : {}), uid: prev?.metadata.uid ?? `uid-${++this.uid}`, resourceVersion: String(++this.rv) },
      spec,
    };
    this.objects.set(key, o);
    if (!opts.silent) this.event({ type: prev ? 'MODIFIED' : 'ADDED', object: o });
    return o;
  }

  remove(name: string, opts: { namespace?: string; silent?: boolean } = {}): void {
    const key = `${opts.namespace ?? ''}/${name}`;
    const prev = this.objects.get(key);
    if (!prev) throw new Error(`no ${key}`);
    this.objects.delete(key);
    const o = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(++this.rv) } };
    if (!opts.silent) this.event({ type: 'DELETED', object: o });
  }

  event(ev: { type: string; object: unknown }): void {
    for (const w of this.watchers) w.write(`${JSON.stringify(ev)}\n`);
  }

  bookmark(rv: number): void {
    this.rv = Math.max(this.rv, rv);
    this.event({ type: 'BOOKMARK', object: { kind: 'Network', apiVersion: 'netform.io/v1alpha1', metadata: { resourceVersion: String(rv) } } });
  }

  /** Ends every watch stream cleanly, as the apiserver does at timeoutSeconds. */
  closeWatches(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }

  async close(): Promise<void> {
    this.closeWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const seen: Seen = { watch: u.searchParams.get('watch') === 'true', path: u.pathname, query: u.searchParams };
    this.requests.push(seen);
    if (this.override?.(seen, res)) return;
    const m = PATH.exec(u.pathname);
    if (req.method !== 'GET' || !m || m[2] !== this.plural) return send(res, 404, status(404, 'NotFound', `no ${u.pathname}`));
    const ns = m[1];
    if (seen.watch) {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      this.watchers.add(res);
      res.on('close', () => this.watchers.delete(res));
      return;
    }
    const all = [...this.objects.entries()]
      .filter(([, o]) => ns === undefined || o.metadata.namespace === ns)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, o]) => o);
    const limit = Number(u.searchParams.get('limit') ?? all.length);
    const start = Number(/^off:(\d+)$/.exec(u.searchParams.get('continue') ?? '')?.[1] ?? 0);
    const items = all.slice(start, start + limit);
    const more = start + limit < all.length;
    send(res, 200, { kind: 'NetworkList', apiVersion: 'netform.io/v1alpha1', metadata: { resourceVersion: String(this.rv), ...(more ? { continue: `off:${start + limit}` } : {}) }, items });
  }
}

const apis: FakeApi[] = [];
const informers: Informer<Obj>[] = [];

afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

// ---- helpers -------------------------------------------------------------------------------------

function kubeConfig(port: number): KubeConfig {
  const kc = new KubeConfig();
  // skipTLSVerify: client-node refuses plain http:// servers without it
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

interface LogRecord {
  level: number;
  msg: string;
  reason?: string;
  next?: string;
  delayMs?: number;
  resourceVersion?: string;
  [k: string]: unknown;
}

function captureLog(): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = pino({ level: 'debug', base: undefined }, { write: (s: string) => void records.push(JSON.parse(s) as LogRecord) });
  return { log, records };
}

interface Harness {
  informer: Informer<Obj>;
  events: { type: InformerEvent<Obj>['type']; name: string; rv?: string; oldRv?: string; synced: boolean }[];
  records: LogRecord[];
  decisions: (reason?: string) => LogRecord[];
}

function informer(api: FakeApi, opts: Partial<InformerOptions> = {}, client?: KubeClient): Harness {
  const { log, records } = captureLog();
  const inf = new Informer<Obj>({
    client: client ?? new KubeClient(kubeConfig(api.port), { timeoutMs: 5_000 }),
    type: NETWORKS,
    log,
    backoff: { initialMs: 5, maxMs: 40 },
    random: () => 0.5,
    ...opts,
  });
  informers.push(inf);
  const events: Harness['events'] = [];
  inf.onChange((e) =>
    events.push({ type: e.type, name: e.object.metadata.name, rv: e.object.metadata.resourceVersion, oldRv: e.old?.metadata.resourceVersion, synced: inf.hasSynced() }),
  );
  const decisions = (reason?: string) => records.filter((r) => r.next !== undefined && (reason === undefined || r.reason === reason));
  return { informer: inf, events, records, decisions };
}

/** Polls `cond` until it holds; fails with `what` after `timeoutMs`. Waits for a state, never measures speed. */
async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Starts and waits until synced and a watch is registered at the server. */
async function running(api: FakeApi, h: Harness, watchers = 1): Promise<void> {
  h.informer.start();
  await h.informer.waitForSync();
  await waitFor('the watch to be open', () => api.watchers.size === watchers && h.informer.health().watching);
}

const summary = (h: Harness) => h.events.map((e) => `${e.type} ${e.name}`);

// ---- pure helpers --------------------------------------------------------------------------------

describe('pure helpers', () => {
  const o = (name: string, rv: string, uid = `u-${name}`, namespace?: string): Obj => ({ metadata: { name, namespace, resourceVersion: rv, uid } });

  it('keys objects by namespace and name', () => {
    expect(cacheKey(o('a', '1'))).toBe('/a');
    expect(cacheKey(o('a', '1', 'u', 'team-a'))).toBe('team-a/a');
  });

  it.each([
    { name: 'nothing changed', old: [o('a', '1'), o('b', '2')], items: [o('a', '1'), o('b', '2')], want: [] },
    { name: 'from empty: adds in list order', old: [], items: [o('b', '2'), o('a', '1')], want: ['add b@2', 'add a@1'] },
    { name: 'gone, changed, new', old: [o('a', '1'), o('b', '2'), o('c', '3')], items: [o('b', '2'), o('c', '9'), o('d', '10')], want: ['delete a@1', 'update c@9 (was 3)', 'add d@10'] },
    { name: 'same name, new uid: delete then add', old: [o('a', '1', 'x')], items: [o('a', '5', 'y')], want: ['delete a@1', 'add a@5'] },
    { name: 'same name in two namespaces', old: [o('a', '1', 'u1', 'n1')], items: [o('a', '1', 'u1', 'n1'), o('a', '2', 'u2', 'n2')], want: ['add a@2'] },
  ])('diffSnapshot: $name', ({ old, items, want }) => {
    const m = new Map(old.map((x) => [cacheKey(x), x] as const));
    const got = diffSnapshot(m, items).map(
      (e) => `${e.type} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}${e.type === 'update' ? ` (was ${e.old?.metadata.resourceVersion})` : ''}`,
    );
    expect(got).toEqual(want);
  });

  it.each([
    { failures: 1, r: 0, want: 500 },
    { failures: 2, r: 0, want: 1000 },
    { failures: 6, r: 0, want: 16_000 },
    { failures: 7, r: 0, want: 30_000 },
    { failures: 60, r: 0, want: 30_000 },
    { failures: 2, r: 0.5, want: 900 },
    { failures: 60, r: 0.999, want: 24_006 },
  ])('backoffDelay($failures, r=$r) = $want', ({ failures, r, want }) => {
    expect(backoffDelay(failures, 500, 30_000, r)).toBe(want);
  });

  it.each([
    { obj: status(410, 'Expired', 'too old resource version: 1 (5)'), gone: true },
    { obj: { kind: 'Status', reason: 'Gone' }, gone: true },
    { obj: status(500, 'InternalError', 'etcd down'), gone: false },
    { obj: null, gone: false },
  ])('isGoneStatus($obj.code $obj.reason) = $gone', ({ obj, gone }) => {
    expect(isGoneStatus(obj)).toBe(gone);
  });
});

// ---- list and watch ------------------------------------------------------------------------------

describe('Informer', () => {
  it('lists in pages, delivers the list as adds before reporting sync, then follows the watch', async () => {
    const api = await FakeApi.start();
    for (const n of ['e', 'a', 'd', 'b', 'c']) api.put(n, { vlan: n.charCodeAt(0) });
    const listRv = String(api.rv);
    const h = informer(api, { pageSize: 2 });
    expect(h.informer.hasSynced()).toBe(false);
    await running(api, h);

    expect(api.lists().map((r) => [r.query.get('limit'), r.query.get('continue')])).toEqual([['2', null], ['2', 'off:2'], ['2', 'off:4']]);
    expect(summary(h)).toEqual(['add a', 'add b', 'add c', 'add d', 'add e']);
    expect(h.events.every((e) => !e.synced)).toBe(true); // adds first, sync reported after them
    expect(h.informer.hasSynced()).toBe(true);
    expect(h.informer.resourceVersion).toBe(listRv);

    const w = api.watches()[0]!;
    expect(w.path).toBe('/apis/netform.io/v1alpha1/networks');
    expect(w.query.get('allowWatchBookmarks')).toBe('true');
    expect(w.query.get('resourceVersion')).toBe(listRv);
    const timeout = Number(w.query.get('timeoutSeconds'));
    expect(timeout).toBeGreaterThanOrEqual(300);
    expect(timeout).toBeLessThanOrEqual(600);

    h.events.length = 0;
    const cOld = h.informer.get('c')!.metadata.resourceVersion;
    const aOld = h.informer.get('a')!.metadata.resourceVersion;
    const f = api.put('f');
    const c2 = api.put('c', { vlan: 300 });
    api.remove('a');
    await waitFor('three watch events', () => h.events.length === 3);
    expect(h.events.map(({ type, name, rv, oldRv }) => ({ type, name, rv, oldRv }))).toEqual([
      { type: 'add', name: 'f', rv: f.metadata.resourceVersion, oldRv: undefined },
      { type: 'update', name: 'c', rv: c2.metadata.resourceVersion, oldRv: cOld },
      { type: 'delete', name: 'a', rv: String(api.rv), oldRv: aOld },
    ]);
    expect(h.informer.get('c')?.spec).toEqual({ vlan: 300 });
    expect(h.informer.get('a')).toBeUndefined();
    expect(h.informer.list().map((o) => o.metadata.name).sort()).toEqual(['b', 'c', 'd', 'e', 'f']);
    expect(h.informer.resourceVersion).toBe(String(api.rv));
    expect(api.lists()).toHaveLength(3); // no relist

    // a listener registered after sync first gets the cache as adds, then changes
    const late: string[] = [];
    const off = h.informer.onChange((e) => late.push(`${e.type} ${e.object.metadata.name}`));
    expect(late.sort()).toEqual(['add b', 'add c', 'add d', 'add e', 'add f']);
    off();
    api.put('g');
    await waitFor('add g', () => h.events.length === 4);
    expect(late).toHaveLength(5); // removed listener saw nothing more
  });

  it('keys namespaced objects by namespace and lists only the namespace it was given', async () => {
    const api = await FakeApi.start('vnicattachments');
    api.put('nic1', {}, { namespace: 'team-a' });
    api.put('nic1', {}, { namespace: 'team-b' });
    const all = informer(api, { type: VNICS });
    await running(api, all);
    expect(all.informer.get('nic1', 'team-a')?.metadata.namespace).toBe('team-a');
    expect(all.informer.get('nic1', 'team-b')?.metadata.namespace).toBe('team-b');
    expect(all.informer.get('nic1')).toBeUndefined();
    expect(api.requests.every((r) => r.path === '/apis/netform.io/v1alpha1/vnicattachments')).toBe(true);

    const one = informer(api, { type: VNICS, namespace: 'team-b' });
    await running(api, one, 2);
    expect(one.informer.list().map(cacheKey)).toEqual(['team-b/nic1']);
    expect(api.requests.at(-1)?.path).toBe('/apis/netform.io/v1alpha1/namespaces/team-b/vnicattachments');
  });

  it('re-watches from the last resourceVersion when the server closes the watch', async () => {
    const api = await FakeApi.start();
    api.put('a');
    const h = informer(api);
    await running(api, h);
    const b = api.put('b');
    await waitFor('add b', () => h.events.length === 2);
    api.closeWatches();
    await waitFor('a second watch', () => api.watches().length === 2 && api.watchers.size === 1);
    expect(api.watches()[1]!.query.get('resourceVersion')).toBe(b.metadata.resourceVersion);
    expect(api.lists()).toHaveLength(1);
    expect(h.decisions().map((r) => [r.reason, r.next, r.delayMs])).toEqual([['server-closed', 'watch', 0]]);
    api.put('c');
    await waitFor('add c', () => h.events.length === 3);
    expect(summary(h)).toEqual(['add a', 'add b', 'add c']);
  });

  it('advances the resourceVersion on bookmarks without emitting anything', async () => {
    const api = await FakeApi.start();
    api.put('a');
    const h = informer(api);
    await running(api, h);
    api.bookmark(5000);
    await waitFor('the bookmark', () => h.informer.resourceVersion === '5000');
    api.closeWatches();
    await waitFor('a second watch', () => api.watches().length === 2);
    expect(api.watches()[1]!.query.get('resourceVersion')).toBe('5000');
    expect(summary(h)).toEqual(['add a']);
  });

  it('relists on HTTP 410 from a watch and emits only the differences, including a missed delete', async () => {
    const api = await FakeApi.start();
    for (const n of ['a', 'b', 'c']) api.put(n);
    const h = informer(api);
    await running(api, h);
    api.put('a', { vlan: 1 }); // a healthy watch: it delivered an event
    await waitFor('update a', () => h.events.length === 4);
    h.events.length = 0;
    // changes the informer never hears about
    api.remove('b', { silent: true });
    api.put('c', { vlan: 9 }, { silent: true });
    api.put('d', {}, { silent: true });
    let gone = 0;
    api.override = (req, res) => {
      if (!req.watch || gone > 0) return false;
      gone++;
      send(res, 410, status(410, 'Expired', 'too old resource version: 101 (104)'));
      return true;
    };
    api.closeWatches();
    await waitFor('the relist', () => api.lists().length === 2 && h.events.length === 3);
    expect(h.events.map((e) => `${e.type} ${e.name}`)).toEqual(['delete b', 'update c', 'add d']);
    expect(h.events.every((e) => e.synced)).toBe(true);
    expect(h.informer.list().map((o) => o.metadata.name).sort()).toEqual(['a', 'c', 'd']);
    const gones = h.decisions('gone');
    expect(gones).toHaveLength(1);
    expect(gones[0]).toMatchObject({ next: 'list', delayMs: 0 });
    await waitFor('the watch after the relist', () => api.watchers.size === 1);
    expect(api.watches().at(-1)!.query.get('resourceVersion')).toBe(String(api.rv));
  });

  it('relists on an ERROR event carrying a 410 Status', async () => {
    const api = await FakeApi.start();
    for (const n of ['a', 'b']) api.put(n);
    const h = informer(api);
    await running(api, h);
    api.remove('a', { silent: true });
    api.event({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version: 101 (103)') });
    await waitFor('delete a', () => summary(h).includes('delete a'));
    expect(api.lists()).toHaveLength(2);
    expect(h.decisions().map((r) => [r.reason, r.next])).toEqual([['gone', 'list']]);
    expect(h.records.find((r) => r.reason === 'gone')?.err).toContain('too old resource version');
  });

  it('restarts a list whose continue token expired (410) and delivers each object once', async () => {
    const api = await FakeApi.start();
    for (const n of ['a', 'b', 'c', 'd', 'e']) api.put(n);
    let expired = 0;
    api.override = (req, res) => {
      if (req.watch || !req.query.get('continue') || expired > 0) return false;
      expired++;
      send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old'));
      return true;
    };
    const h = informer(api, { pageSize: 2 });
    await running(api, h);
    expect(api.lists().map((r) => r.query.get('continue'))).toEqual([null, 'off:2', null, 'off:2', 'off:4']);
    expect(summary(h)).toEqual(['add a', 'add b', 'add c', 'add d', 'add e']);
    expect(h.records.filter((r) => r.reason === 'continue-expired')).toHaveLength(1);
  });

  it('retries failures with growing delays capped at maxMs, relists after repeated watch failures, resets after a healthy watch', async () => {
    const api = await FakeApi.start();
    api.put('a');
    let failing = true;
    api.override = (_req, res) => {
      if (!failing) return false;
      send(res, 500, status(500, 'InternalError', 'etcdserver: request timed out'));
      return true;
    };
    // the real clock, recording every timer the informer sets (backoff sleeps and the relist timer)
    const timers: number[] = [];
    const clock: Clock = { ...systemClock, setTimeout: (fn, ms) => (timers.push(ms), systemClock.setTimeout(fn, ms)) };
    const h = informer(api, { random: () => 0, relistAfterFailures: 3, clock });
    h.informer.start();
    await waitFor('seven failed lists', () => h.decisions('list-error').length >= 7);
    failing = false;
    await running(api, h);
    expect(h.decisions('list-error').slice(0, 7).map((r) => r.delayMs)).toEqual([5, 10, 20, 40, 40, 40, 40]);
    // and it really waited that long before each retry (the relist timer is the 10-minute one)
    const sleeps = timers.filter((ms) => ms < 60_000);
    expect(sleeps.slice(0, 7)).toEqual([5, 10, 20, 40, 40, 40, 40]);
    expect(timers.filter((ms) => ms >= 60_000)).toEqual([540_000]); // 10 min × 0.9 with random 0
    expect(h.informer.health().reason).toBeUndefined();

    // a healthy watch (it delivered an event) resets the count: watch failures start again at 5
    api.put('b');
    await waitFor('add b', () => h.events.length === 2);
    const before = h.decisions().length;
    let watchFailures = 0;
    api.override = (req, res) => {
      if (!req.watch || watchFailures >= 4) return false;
      watchFailures++;
      send(res, 500, status(500, 'InternalError', 'etcdserver: leader changed'));
      return true;
    };
    api.closeWatches();
    await waitFor('a watch after four failures', () => watchFailures === 4 && api.watchers.size === 1);
    const after = h.decisions().slice(before).map((r) => [r.reason, r.next, r.delayMs]);
    expect(after).toEqual([
      ['server-closed', 'watch', 0],
      ['error', 'watch', 5],
      ['error', 'watch', 10],
      ['error', 'list', 20], // third failure in a row: relist
      ['error', 'list', 40], // and so on until a watch is healthy again
    ]);
    expect(timers.filter((ms) => ms < 60_000).slice(-4)).toEqual([5, 10, 20, 40]);
    expect(api.lists()).toHaveLength(7 + 1 + 2); // failed, the first good one, two relists
  });

  it('restarts a silent watch after idleTimeoutMs; health goes stale while broken and recovers', async () => {
    const api = await FakeApi.start();
    api.put('a');
    const h = informer(api, { idleTimeoutMs: 150, staleAfterMs: 400, relistAfterFailures: 1000 });
    await running(api, h);
    expect(h.informer.health()).toMatchObject({ synced: true, watching: true, stale: false });
    expect(h.informer.health().reason).toBeUndefined();

    // 1. the server accepts the watch, then sends nothing: restarted after idleTimeoutMs, from the same version
    await waitFor('an idle restart', () => h.decisions('idle').length >= 1);
    // a quiet watch that was open is routine: info; one that never answered (below) is a warning
    expect(h.decisions('idle')[0]).toMatchObject({ level: 30, next: 'watch', resourceVersion: h.informer.resourceVersion });
    await waitFor('the next watch', () => api.watches().length >= 2);
    expect(api.watches()[1]!.query.get('resourceVersion')).toBe(h.informer.resourceVersion);

    // 2. the server holds the connection and sends nothing at all, not even headers: stale
    const held: ServerResponse[] = [];
    api.override = (req, res) => {
      if (!req.watch) return false;
      held.push(res);
      return true;
    };
    api.closeWatches();
    await waitFor('stale health', () => h.informer.health().stale);
    const broken = h.informer.health();
    expect(broken).toMatchObject({ synced: true, watching: false, stale: true });
    expect(broken.reason).toMatch(/no watch activity for \d+ ms/);
    expect(held.length).toBeGreaterThanOrEqual(2); // restarted, not stuck on one request
    expect(h.decisions('idle').length).toBeGreaterThanOrEqual(3);
    expect(h.decisions('idle').at(-1)!.level).toBe(40);
    expect(api.lists()).toHaveLength(1); // idle restarts re-watch; no relist needed for 2 failures

    // 3. the server answers again: watching, fresh
    api.override = undefined;
    await waitFor('recovery', () => h.informer.health().watching && !h.informer.health().stale);
    api.put('b');
    await waitFor('add b', () => summary(h).includes('add b'));
  });

  it('picks up a missed delete with the periodic relist', async () => {
    const api = await FakeApi.start();
    for (const n of ['a', 'b']) api.put(n);
    const h = informer(api, { relistMs: 200 });
    await running(api, h);
    api.remove('a', { silent: true });
    await waitFor('delete a', () => summary(h).includes('delete a'));
    expect(summary(h)).toEqual(['add a', 'add b', 'delete a']);
    expect(h.decisions('periodic').length).toBeGreaterThanOrEqual(1);
    expect(h.records.some((r) => r.msg === 'relisted' && r.reason === 'periodic' && r.delete === 1)).toBe(true);
    await waitFor('a watch from the relist', () => api.watchers.size === 1);
    expect(api.watches().at(-1)!.query.get('resourceVersion')).toBe(String(api.rv));
  });

  it('never runs a list and a watch, or two watches, at the same time', async () => {
    const api = await FakeApi.start();
    for (const n of ['a', 'b', 'c']) api.put(n);
    let inFlight = 0;
    let maxInFlight = 0;
    const enter = () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
    };
    class CountingClient extends KubeClient {
      override async list<T>(...args: Parameters<KubeClient['list']>) {
        enter();
        try {
          return await super.list<T>(...args);
        } finally {
          inFlight--;
        }
      }
      override watch<T>(t: ResourceType, q: Record<string, string | number | boolean | undefined>, onEvent: (e: WatchEvent<T>) => void, done: (err?: unknown) => void, opts?: Parameters<KubeClient['watch']>[4]) {
        enter();
        let ended = false;
        const end = () => {
          if (!ended) inFlight--;
          ended = true;
        };
        return super.watch<T>(t, q, onEvent, (err) => {
          end();
          done(err);
        }, opts).catch((err: unknown) => {
          end();
          throw err;
        });
      }
    }
    const h = informer(api, { relistMs: 30, pageSize: 1 }, new CountingClient(kubeConfig(api.port)));
    h.informer.start();
    h.informer.start();
    await h.informer.waitForSync();
    // periodic relists (every ~30 ms), server closes, 410 events and writes, all interleaved
    for (let i = 0; i < 15; i++) {
      api.put(`x${i % 4}`);
      if (i % 3 === 0) api.closeWatches();
      if (i % 5 === 0) api.event({ type: 'ERROR', object: status(410, 'Expired', 'too old') });
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor('ten relists', () => h.records.filter((r) => r.msg === 'relisted').length >= 10);
    await waitFor('the final state', () => h.informer.list().length === 7);
    expect(maxInFlight).toBe(1);
    expect(api.lists().length).toBeGreaterThanOrEqual(10 * 3);
  });

  it('never logs object bodies at info or above', async () => {
    const api = await FakeApi.start();
    api.put('a', { description: 'body-marker-7f3a' });
    const h = informer(api, { relistMs: 50 });
    await running(api, h);
    api.put('a', { description: 'body-marker-7f3a-2' });
    api.event({ type: 'ERROR', object: status(410, 'Expired', 'too old') });
    await waitFor('a relist', () => h.records.filter((r) => r.msg === 'relisted').length >= 2);
    const info = h.records.filter((r) => r.level >= 30);
    expect(info.length).toBeGreaterThan(2);
    expect(JSON.stringify(info)).not.toContain('body-marker');
  });

  it('isolates a throwing listener', async () => {
    const api = await FakeApi.start();
    api.put('a');
    const h = informer(api);
    h.informer.onChange(() => {
      throw new Error('listener bug');
    });
    await running(api, h);
    api.put('b');
    await waitFor('add b', () => summary(h).includes('add b'));
    expect(h.records.filter((r) => r.msg === 'informer listener threw')).toHaveLength(2);
  });

  describe('stop()', () => {
    it('closes the watch and makes no request afterwards', async () => {
      const api = await FakeApi.start();
      api.put('a');
      const h = informer(api, { relistMs: 50 });
      await running(api, h);
      await h.informer.stop();
      expect(h.informer.health().watching).toBe(false);
      await waitFor('the server to see the watch closed', () => api.watchers.size === 0);
      const n = api.requests.length;
      await new Promise((r) => setTimeout(r, 200)); // several relist periods
      expect(api.requests.length).toBe(n);
      expect(() => h.informer.start()).toThrow(/after stop/);
    });

    it('ends a list that hangs, a backoff sleep, and waitForSync', async () => {
      const api = await FakeApi.start();
      api.override = (req) => !req.watch; // lists hang
      const h = informer(api);
      h.informer.start();
      const sync = h.informer.waitForSync();
      await waitFor('the list request', () => api.lists().length === 1);
      await h.informer.stop();
      await expect(sync).rejects.toThrow(/stopped before it synced/);

      const api2 = await FakeApi.start();
      api2.override = (_req, res) => {
        send(res, 503, status(503, 'ServiceUnavailable', 'later'));
        return true;
      };
      const h2 = informer(api2, { backoff: { initialMs: 3_600_000, maxMs: 3_600_000 } });
      h2.informer.start();
      await waitFor('the backoff', () => h2.decisions('list-error').length === 1);
      await h2.informer.stop(); // would take an hour if the sleep were not cancelled
      expect(api2.requests).toHaveLength(1);
    });

    it('rejects waitForSync when its signal aborts', async () => {
      const api = await FakeApi.start();
      api.override = (req) => !req.watch;
      const h = informer(api);
      h.informer.start();
      const ac = new AbortController();
      const p = h.informer.waitForSync(ac.signal);
      ac.abort(new Error('gave up'));
      await expect(p).rejects.toThrow('gave up');
    });

    it('leaves nothing that keeps the process alive', async () => {
      const api = await FakeApi.start();
      api.put('a');
      // The watch stays open on the server side: only the informer can close it. With hour-long
      // timers, a child that forgot any of them (or the socket) would not exit on its own.
      const script = `
        import { KubeConfig } from '@kubernetes/client-node';
        import { pino } from 'pino';
        const { KubeClient } = await import(process.env.CLIENT_URL);
        const { Informer } = await import(process.env.INFORMER_URL);
        const kc = new KubeConfig();
        kc.loadFromOptions({ clusters: [{ name: 'c', server: process.env.SERVER, skipTLSVerify: true }], users: [{ name: 'u' }],
          contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
        const inf = new Informer({ client: new KubeClient(kc), type: ${JSON.stringify(NETWORKS)}, log: pino({ level: 'silent' }),
          relistMs: 3600000, idleTimeoutMs: 3600000, backoff: { initialMs: 3600000, maxMs: 3600000 } });
        inf.start();
        await inf.waitForSync();
        while (!inf.health().watching) await new Promise((r) => setTimeout(r, 5));
        await inf.stop();
        // unref'd timers would not keep the process alive, but must not be left behind either
        const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate');
        console.log('stopped ' + inf.list().length + ' ' + JSON.stringify(timers));
      `;
      const root = fileURLToPath(new URL('../../../', import.meta.url));
      const child = spawn(process.execPath, ['--input-type=module', '--no-warnings', '-e', script], {
        cwd: root,
        env: {
          ...process.env,
          SERVER: `http://127.0.0.1:${api.port}`,
          CLIENT_URL: new URL('./client.ts', import.meta.url).href,
          INFORMER_URL: new URL('./informer.ts', import.meta.url).href,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      clearTimeout(killer);
      expect({ code, out: out.trim(), err }).toEqual({ code: 0, out: 'stopped 1 []', err: '' });
      expect(api.watches()).toHaveLength(1);
    });
  });
});

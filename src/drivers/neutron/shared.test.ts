// BulkCreates, UncertainCreates and OwnerLookups (ADR 24), and NeutronNetworks.create over them,
// against a small in-memory fake of Neutron written here (not a real Neutron: bulk POSTs atomic, a
// VLAN or MAC held refuses the create with 409, list filters with repeated values ORed, tags and
// attribute PUTs). Engine-level logic only: what goes out on the wire, and what each caller gets back.
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError } from '../../api/errors.ts';
import type { Owner } from '../driver.ts';
import type { NetworkModel } from '../model.ts';
import { NeutronClient } from './client.ts';
import { NeutronNetworks } from './driver.ts';
import { NETFORM_TAG, instanceTag, ownerTag, ownerTags, pendingMarker } from './mapping.ts';
import { BULK_MS_PER_OBJECT, BulkCreates, findOwned, InDoubt, OwnerLookups, UncertainCreates } from './shared.ts';

/** An object as the fake keeps it: the POSTed attributes, and what Neutron adds. */
interface Obj {
  id: string;
  name: string;
  description: string;
  tags: string[];
  revision_number?: number;
  'provider:segmentation_id'?: number;
  mac_address?: string;
  allowed_address_pairs?: unknown[];
  [attribute: string]: unknown;
}

interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown> | undefined;
  /** Objects in a POST (1 for a single create). */
  size: number;
}

/** What the fake does with a POST, decided per request. */
type PostMode =
  | { kind: 'answer' }
  /** Commits, then closes the connection without an answer (a lost answer). */
  | { kind: 'drop' }
  /** Keeps the request `ms` without answering (past the client's timeout), then commits it. */
  | { kind: 'late'; ms: number };

class FakeNeutron {
  readonly objects = new Map<string, Obj[]>([
    ['networks', []],
    ['ports', []],
    ['subnets', []],
    ['qos', []],
  ]);
  readonly seen: Request[] = [];
  postMode: (r: Request) => PostMode = () => ({ kind: 'answer' });
  #server: http.Server | undefined;
  #next = 1;
  url = '';

  async start(): Promise<void> {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.#handle(req, Buffer.concat(chunks).toString(), res));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#server?.close(() => resolve());
      this.#server?.closeAllConnections();
    });
  }

  posts(collection = 'networks'): Request[] {
    return this.seen.filter((r) => r.method === 'POST' && r.path === `/v2.0/${collection}`);
  }

  named(name: string, collection = 'networks'): Obj[] {
    return this.objects.get(collection)!.filter((o) => o.name === name);
  }

  async #handle(req: http.IncomingMessage, text: string, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    // /v2.0/<collection>[/<id>[/tags]] (qos/policies is kept as 'qos').
    const [, , collection = '', id, sub] = u.pathname.split('/');
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    const many = body?.[collection] as Record<string, unknown>[] | undefined;
    const r: Request = { method: req.method ?? '', path: u.pathname, query: u.searchParams, body, size: many ? many.length : 1 };
    this.seen.push(r);
    const all = this.objects.get(collection);
    const one = collection.slice(0, -1);
    if (!all) return send(res, 404, { NeutronError: { type: 'HTTPNotFound', message: 'no such collection' } });
    if (id !== undefined && id !== 'policies') {
      const o = all.find((x) => x.id === id);
      if (!o) return send(res, 404, { NeutronError: { type: 'NetworkNotFound', message: `no ${one} ${id}` } });
      if (r.method === 'GET') return send(res, 200, { [one]: o });
      if (r.method === 'PUT' && sub === 'tags') {
        o.tags = (body as { tags: string[] }).tags;
        o.revision_number = (o.revision_number ?? 1) + 1;
        return send(res, 200, { tags: o.tags });
      }
      if (r.method === 'PUT') {
        Object.assign(o, body![one] as Record<string, unknown>, { revision_number: (o.revision_number ?? 1) + 1 });
        return send(res, 200, { [one]: o });
      }
      return send(res, 405, {});
    }
    if (r.method === 'GET') return send(res, 200, { [id === 'policies' ? 'policies' : collection]: all.filter((o) => matches(o, u.searchParams)) });
    if (r.method !== 'POST') return send(res, 405, {});
    const mode = this.postMode(r);
    const bodies = many ?? [body![one] as Record<string, unknown>];
    if (mode.kind === 'late') {
      await new Promise((resolve) => setTimeout(resolve, mode.ms));
      this.#create(collection, bodies);
      res.destroy();
      return;
    }
    const out = this.#create(collection, bodies);
    if (mode.kind === 'drop') {
      res.destroy();
      return;
    }
    if (out instanceof Error) return send(res, 409, { NeutronError: { type: out.message.startsWith('MAC') ? 'MacAddressInUse' : 'VlanIdInUse', message: out.message } });
    send(res, 201, many ? { [collection]: out } : { [one]: out[0] });
  }

  /** Creates all of them or none (a bulk is atomic): a VLAN or MAC already held refuses the lot. */
  #create(collection: string, bodies: Record<string, unknown>[]): Obj[] | Error {
    const all = this.objects.get(collection)!;
    const made: Obj[] = [];
    for (const b of bodies) {
      const vlan = b['provider:segmentation_id'];
      if (vlan !== undefined && [...all, ...made].some((o) => o['provider:segmentation_id'] === vlan)) return new Error(`The VLAN ${String(vlan)} is in use`);
      const mac = b.mac_address;
      if (mac !== undefined && [...all, ...made].some((o) => o.mac_address === mac)) return new Error(`MAC ${String(mac)} is in use`);
      made.push({ ...b, id: `id-${this.#next++}`, name: String(b.name ?? ''), description: String(b.description ?? ''), tags: [], revision_number: 1 });
    }
    all.push(...made);
    return made;
  }
}

/** Neutron's list filters as the code under test uses them: repeated values ORed; `tags` all of, `tags-any` any of. */
function matches(o: Obj, q: URLSearchParams): boolean {
  for (const key of new Set(q.keys())) {
    const values = q.getAll(key);
    if (key === 'limit' || key === 'marker') continue;
    if (key === 'tags' && !values.every((v) => v.split(',').every((t) => o.tags.includes(t)))) return false;
    if (key === 'tags-any' && !values.some((v) => v.split(',').some((t) => o.tags.includes(t)))) return false;
    if ((key === 'name' || key === 'description' || key === 'network_id') && !values.includes(String(o[key]))) return false;
  }
  return true;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

const fakes: FakeNeutron[] = [];
const clients: NeutronClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

async function setup(timeoutMs = 2_000): Promise<{ fake: FakeNeutron; c: NeutronClient }> {
  const fake = new FakeNeutron();
  await fake.start();
  fakes.push(fake);
  const c = new NeutronClient({ endpoint: fake.url, auth: { kind: 'noauth' }, tls: { insecureSkipVerify: false }, timeoutMs, maxConcurrency: 8, log: pino({ level: 'silent' }) });
  clients.push(c);
  return { fake, c };
}

const owner = (name: string): Owner => ({ instance: 'unit', kind: 'Network', name });
const netBody = (name: string, vlan: number) => ({ name, description: pendingMarker(owner(name)), 'provider:network_type': 'vlan', 'provider:segmentation_id': vlan });
const names = (n: number, prefix = 'n') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('BulkCreates', () => {
  it('coalesces creates that arrive together into one bulk POST; each caller gets its own object', async () => {
    const { fake, c } = await setup();
    const bulk = new BulkCreates<Obj>(c, 'networks');
    const got = await Promise.all(names(5).map((n, i) => bulk.create(netBody(n, 100 + i))));
    expect(got.map((o) => o.name)).toEqual(names(5));
    expect(new Set(got.map((o) => o.id)).size).toBe(5);
    expect(fake.posts().map((r) => r.size)).toEqual([5]);
    expect(fake.posts()[0]!.body).toHaveProperty('networks');
    expect(bulk.sent).toEqual({ requests: 1, objects: 5, fallbacks: 0 });
  });

  it('chunks at maxBatch, one bulk on its way at a time; a lone create goes out as a single POST', async () => {
    const { fake, c } = await setup();
    const bulk = new BulkCreates<Obj>(c, 'networks', { maxBatch: 3 });
    const got = await Promise.all(names(7).map((n, i) => bulk.create(netBody(n, 200 + i))));
    expect(got.map((o) => o.name)).toEqual(names(7));
    expect(fake.posts().map((r) => r.size)).toEqual([3, 3, 1]);
    expect(fake.posts()[2]!.body).toHaveProperty('network'); // the last one alone: {network: …}
    expect(fake.objects.get('networks')).toHaveLength(7);
  });

  it('a caller that gives up before its bulk went out is taken out of it', async () => {
    const { fake, c } = await setup();
    const bulk = new BulkCreates<Obj>(c, 'networks', { windowMs: 30 });
    const ac = new AbortController();
    const gone = bulk.create(netBody('gone', 300), ac.signal);
    const kept = [bulk.create(netBody('a', 301)), bulk.create(netBody('b', 302))];
    ac.abort(new Error('gave up'));
    await expect(gone).rejects.toThrow('gave up');
    expect((await Promise.all(kept)).map((o) => o.name)).toEqual(['a', 'b']);
    expect(fake.named('gone')).toEqual([]);
  });

  it('a refused bulk is retried member by member: the bad one gets its own error, the others are made', async () => {
    const { fake, c } = await setup();
    fake.objects.get('networks')!.push({ id: 'foreign', name: 'theirs', description: '', tags: [], 'provider:segmentation_id': 402 });
    const bulk = new BulkCreates<Obj>(c, 'networks');
    const results = await Promise.allSettled(names(5).map((n, i) => bulk.create(netBody(n, 400 + i))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const err = (results[2] as PromiseRejectedResult).reason as BackendError;
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ errorClass: 'Terminal', code: 'VlanIdInUse' });
    expect(err.message).toContain('The VLAN 402 is in use');
    // One bulk (refused, nothing made), then each member alone.
    expect(fake.posts().map((r) => r.size)).toEqual([5, 1, 1, 1, 1, 1]);
    expect(bulk.sent.fallbacks).toBe(1);
    for (const n of ['n0', 'n1', 'n3', 'n4']) expect(fake.named(n)).toHaveLength(1);
    expect(fake.named('n2')).toEqual([]);
  });

  it('a bulk whose answer is lost fails every member as in doubt, for longer than one create may take', async () => {
    const { fake, c } = await setup(500);
    fake.postMode = (r) => (r.size > 1 ? { kind: 'drop' } : { kind: 'answer' });
    const bulk = new BulkCreates<Obj>(c, 'networks');
    const results = await Promise.allSettled(names(4).map((n, i) => bulk.create(netBody(n, 500 + i))));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as InDoubt;
      expect(err).toBeInstanceOf(InDoubt);
      expect(err.errorClass).toBe('Transient');
      expect(err.inDoubtMs).toBe(500 + 4 * BULK_MS_PER_OBJECT);
    }
    // Committed all the same, and not sent again member by member.
    expect(fake.posts().map((r) => r.size)).toEqual([4]);
    expect(fake.objects.get('networks')).toHaveLength(4);
  });

  it('ports go alone when a bulk would make them differently: no MAC, or allowed address pairs (dropped by Zed in a bulk)', async () => {
    const { fake, c } = await setup();
    const bulk = new BulkCreates<Obj>(c, 'ports');
    const port = (name: string, extra: Record<string, unknown>) => ({ name, network_id: 'net', description: '', ...extra });
    const got = await Promise.all([
      bulk.create(port('p0', { mac_address: 'fa:16:3e:00:00:01' })),
      bulk.create(port('p1', { mac_address: 'fa:16:3e:00:00:02', allowed_address_pairs: [{ ip_address: '10.0.0.9' }] })),
      bulk.create(port('p2', {})),
      bulk.create(port('p3', { mac_address: 'fa:16:3e:00:00:03', allowed_address_pairs: [] })),
    ]);
    expect(got.map((p) => p.name)).toEqual(['p0', 'p1', 'p2', 'p3']);
    const posts = fake.posts('ports');
    expect(posts.map((r) => r.size).sort()).toEqual([1, 1, 2]);
    const bulkPost = posts.find((r) => r.size === 2)!;
    expect((bulkPost.body!.ports as { name: string }[]).map((p) => p.name)).toEqual(['p0', 'p3']);
    expect(fake.named('p1', 'ports')[0]!.allowed_address_pairs).toEqual([{ ip_address: '10.0.0.9' }]);
  });
});

describe('UncertainCreates with BulkCreates: a bulk of unknown outcome is adopted member by member', () => {
  /** The driver's create, as NeutronNetworks does it: wait out a create in doubt, look for the owner's
   *  object (adopting it), else create it through the bulk. */
  async function create(c: NeutronClient, bulk: BulkCreates<Obj>, creates: UncertainCreates, name: string, vlan: number): Promise<{ obj: Obj; adopted: boolean }> {
    const o = owner(name);
    const signal = AbortSignal.timeout(30_000);
    await creates.settled(o, signal);
    const found = await findOwned<Obj>(c, 'networks', o, name, signal);
    if (found) {
      creates.resolved(o);
      return { obj: found, adopted: true };
    }
    return { obj: await creates.post(o, () => bulk.create(netBody(name, vlan))), adopted: false };
  }

  it('answer dropped after the commit: every member uncertain; the next create finds each committed one, no POST again', async () => {
    const { fake, c } = await setup(500);
    let lost = 0;
    fake.postMode = (r) => (r.size > 1 && ++lost === 1 ? { kind: 'drop' } : { kind: 'answer' });
    const bulk = new BulkCreates<Obj>(c, 'networks');
    const creates = new UncertainCreates(500);
    // Sent together (a first create finds nothing to adopt), so they go out in one bulk.
    const first = await Promise.allSettled(names(6).map((n, i) => creates.post(owner(n), () => bulk.create(netBody(n, 600 + i)))));
    expect(first.every((r) => r.status === 'rejected')).toBe(true);
    for (const n of names(6)) expect(creates.uncertain(owner(n))).toBe(true);
    const again = await Promise.all(names(6).map((n, i) => create(c, bulk, creates, n, 600 + i)));
    expect(again.every((r) => r.adopted)).toBe(true);
    expect(fake.posts().map((r) => r.size)).toEqual([6]);
    for (const n of names(6)) {
      expect(fake.named(n)).toHaveLength(1);
      expect(creates.uncertain(owner(n))).toBe(false);
    }
  });

  it('a bulk committed after the client gave up, later than one create timeout: the next create waits for it and adopts it', async () => {
    const timeoutMs = 300;
    const { fake, c } = await setup(timeoutMs);
    const N = 4;
    // Held past the bulk's own timeout, then committed: later than a single create's wait
    // (timeoutMs after the failure), within the bulk's (timeoutMs + N × BULK_MS_PER_OBJECT).
    const heldMs = timeoutMs + N * BULK_MS_PER_OBJECT + timeoutMs + (N * BULK_MS_PER_OBJECT) / 2;
    let lost = 0;
    fake.postMode = (r) => (r.size > 1 && ++lost === 1 ? { kind: 'late', ms: heldMs } : { kind: 'answer' });
    const bulk = new BulkCreates<Obj>(c, 'networks');
    const creates = new UncertainCreates(timeoutMs);
    const t0 = Date.now();
    const first = await Promise.allSettled(names(N).map((n, i) => creates.post(owner(n), () => bulk.create(netBody(n, 700 + i)))));
    expect(first.map((r) => r.status)).toEqual(Array(N).fill('rejected'));
    expect(fake.objects.get('networks')).toEqual([]); // not committed yet
    const again = await Promise.all(names(N).map((n, i) => create(c, bulk, creates, n, 700 + i)));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(heldMs);
    expect(again.every((r) => r.adopted)).toBe(true);
    expect(fake.posts().map((r) => r.size)).toEqual([N]);
    for (const n of names(N)) expect(fake.named(n)).toHaveLength(1);
  });

  it('the doubt outlasts a look-up that failed: only one that answered (or a create that succeeded) ends it', async () => {
    const creates = new UncertainCreates(20);
    const o = owner('x');
    await expect(creates.post(o, () => Promise.reject(new BackendError('Transient', 'reset')))).rejects.toThrow('reset');
    expect(creates.uncertain(o)).toBe(true);
    await creates.settled(o, AbortSignal.timeout(1_000));
    expect(creates.uncertain(o)).toBe(true); // waited, but nobody has looked yet
    creates.resolved(o);
    expect(creates.uncertain(o)).toBe(false);
    await expect(creates.post(o, () => Promise.reject(new BackendError('Transient', 'reset')))).rejects.toThrow();
    await creates.post(o, () => Promise.resolve(1));
    expect(creates.uncertain(o)).toBe(false);
    // A refusal is no doubt: nothing was created.
    await expect(creates.post(o, () => Promise.reject(new BackendError('Terminal', 'refused')))).rejects.toThrow();
    expect(creates.uncertain(o)).toBe(false);
  });

  it('an in-doubt bulk member waits as long as its bulk may still land', async () => {
    const creates = new UncertainCreates(10);
    const o = owner('y');
    await expect(creates.post(o, () => Promise.reject(new InDoubt(new BackendError('Transient', 'timeout'), 200, 'a bulk')))).rejects.toThrow('a bulk');
    const t0 = Date.now();
    await creates.settled(o, AbortSignal.timeout(1_000));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });
});

describe('NeutronNetworks.create through the bulk: a bulk of unknown outcome', () => {
  it('a member whose observe found nothing while its bulk was still on its way waits for it, then adopts the committed network: no POST again', async () => {
    const timeoutMs = 300;
    const N = 3;
    const { fake, c } = await setup(timeoutMs);
    // Committed after a single create's wait would have ended, within the bulk's (as above).
    const heldMs = timeoutMs + N * BULK_MS_PER_OBJECT + timeoutMs + (N * BULK_MS_PER_OBJECT) / 2;
    let lost = 0;
    fake.postMode = (r) => (r.path === '/v2.0/networks' && r.size > 1 && ++lost === 1 ? { kind: 'late', ms: heldMs } : { kind: 'answer' });
    const nets = new NeutronNetworks(c, undefined, { snapshotTtlMs: 0 }, new UncertainCreates(timeoutMs));
    const ctx = { signal: AbortSignal.timeout(30_000), log: pino({ level: 'silent' }) };
    const model = (i: number): NetworkModel => ({ name: `m${i}`, physicalNetwork: 'physnet1', vlan: 800 + i, mtu: 1500, shared: false, adminStateUp: true, portSecurity: true, portMirroring: false, subnets: [] });
    // As the engine reconciles: observe, and create when nothing was found.
    const reconcile = async (i: number) => {
      const o = owner(`m${i}`);
      return (await nets.observe(ctx, { owner: o, desired: model(i) })) ?? nets.create(ctx, o, model(i));
    };
    const range = Array.from({ length: N }, (_, i) => i);
    const first = await Promise.allSettled(range.map(reconcile));
    for (const r of first) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InDoubt);
    expect(fake.objects.get('networks')).toEqual([]); // still on its way
    const again = await Promise.all(range.map(reconcile));
    expect(fake.posts().map((r) => r.size)).toEqual([N]);
    for (const i of range) {
      const [net, ...more] = fake.named(`m${i}`);
      expect(more).toEqual([]);
      expect(again[i]!.externalId).toBe(net!.id);
      expect(net!.tags).toEqual(expect.arrayContaining(ownerTags(owner(`m${i}`))));
    }
  });
});

describe('OwnerLookups', () => {
  const mark = (fake: FakeNeutron, o: Obj) => fake.objects.get('networks')!.push(o);

  it('answers many owners with three list requests per batch, as findOwned would one by one', async () => {
    const { fake, c } = await setup();
    const tagged = owner('tagged');
    const pending = owner('pending');
    const half = owner('half');
    const twice = owner('twice');
    mark(fake, { id: 't', name: 'tagged-renamed', description: '', tags: ownerTags(tagged) });
    mark(fake, { id: 'p', name: 'pending', description: pendingMarker(pending), tags: [] });
    mark(fake, { id: 'h', name: 'half', description: '', tags: [NETFORM_TAG, instanceTag('unit')] });
    mark(fake, { id: 'w1', name: 'twice', description: '', tags: ownerTags(twice) });
    mark(fake, { id: 'w2', name: 'twice', description: '', tags: ownerTags(twice) });
    // Someone else's network of the same name as a missing owner's: not a match.
    mark(fake, { id: 'f', name: 'missing', description: '', tags: ['theirs'] });
    const lookups = new OwnerLookups<Obj>(c, 'networks');
    const signal = AbortSignal.timeout(5_000);
    const asked = [tagged, pending, half, owner('missing'), twice].map((o) => lookups.find(o, o.name, signal));
    const [t, p, h, m, w] = await Promise.allSettled(asked);
    expect(t).toMatchObject({ status: 'fulfilled', value: { id: 't' } });
    expect(p).toMatchObject({ status: 'fulfilled', value: { id: 'p' } });
    expect(h).toMatchObject({ status: 'fulfilled', value: { id: 'h' } });
    expect(m).toEqual({ status: 'fulfilled', value: undefined });
    expect(w!.status).toBe('rejected');
    expect(((w as PromiseRejectedResult).reason as BackendError).errorClass).toBe('Terminal');
    const gets = fake.seen.filter((r) => r.method === 'GET');
    expect(gets).toHaveLength(3);
    expect(gets.map((r) => [...new Set(r.query.keys())].filter((k) => k !== 'limit').sort().join('+')).sort()).toEqual(['description', 'name+tags', 'tags-any']);
    // The same answers findOwned gives one by one.
    for (const o of [tagged, pending, half, owner('missing')]) {
      expect((await findOwned<Obj>(c, 'networks', o, o.name, signal))?.id).toBe({ tagged: 't', pending: 'p', half: 'h', missing: undefined }[o.name]);
    }
    expect(ownerTag(tagged)).not.toBe(ownerTag(twice));
  });

  it('splits a large batch into chunks of maxBatch owners, three requests each', async () => {
    const { fake, c } = await setup();
    const lookups = new OwnerLookups<Obj>(c, 'networks', { maxBatch: 2 });
    const signal = AbortSignal.timeout(5_000);
    mark(fake, { id: 'p3', name: 'n3', description: pendingMarker(owner('n3')), tags: [] });
    const got = await Promise.all(names(5).map((n) => lookups.find(owner(n), n, signal)));
    expect(got.map((o) => o?.id)).toEqual([undefined, undefined, undefined, 'p3', undefined]);
    const gets = fake.seen.filter((r) => r.method === 'GET');
    expect(gets).toHaveLength(9);
    for (const r of gets.filter((g) => g.query.has('description'))) expect(r.query.getAll('description').length).toBeLessThanOrEqual(2);
  });

  it('a look-up made while a batch is on its way goes out with the next batch, which sees what was made since', async () => {
    const { fake, c } = await setup();
    const lookups = new OwnerLookups<Obj>(c, 'networks', { windowMs: 5 });
    const signal = AbortSignal.timeout(5_000);
    const first = lookups.find(owner('a'), 'a', signal);
    await new Promise((r) => setTimeout(r, 8)); // the first batch has gone out
    mark(fake, { id: 'b', name: 'b', description: pendingMarker(owner('b')), tags: [] });
    const second = lookups.find(owner('b'), 'b', signal);
    expect(await first).toBeUndefined();
    expect((await second)?.id).toBe('b');
  });

  it('a failed batch fails each of its look-ups', async () => {
    const { c, fake } = await setup();
    await fake.stop();
    const lookups = new OwnerLookups<Obj>(c, 'networks');
    const results = await Promise.allSettled(['a', 'b'].map((n) => lookups.find(owner(n), n, AbortSignal.timeout(5_000))));
    for (const r of results) expect(((r as PromiseRejectedResult).reason as BackendError).errorClass).toBe('Transient');
  });
});

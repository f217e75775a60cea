// The OVSDB client: framing and codec tables (pure), protocol edge cases against a tiny fake server
// on a unix socket written here, and the real thing — a private ovsdb-server (and ovs-vswitchd, in a
// scratch network namespace) from Debian's openvswitch-switch, with every write cross-checked by
// `ovs-vsctl --format=json`.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateOvs, type PrivateOvs } from '../../../test/support/ovsdb-server.ts';
import {
  decodeAtom,
  decodeColumn,
  decodeDatum,
  decodeMap,
  decodeOptional,
  decodeSet,
  encodeMap,
  encodeOptional,
  encodeSet,
  JsonStreamFramer,
  namedUuid,
  OvsdbClient,
  OvsdbError,
  uuid,
  type MonitorRows,
} from './ovsdb.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function rejection(p: Promise<unknown>): Promise<OvsdbError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OvsdbError);
    return e as OvsdbError;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

// ---- framing --------------------------------------------------------------------------------------

const enc = (s: string) => Buffer.from(s, 'utf8');

function frameAll(chunks: (string | Buffer)[]): string[] {
  const f = new JsonStreamFramer();
  return chunks.flatMap((c) => f.push(typeof c === 'string' ? enc(c) : c));
}

describe('JsonStreamFramer', () => {
  const m1 = '{"id":1,"result":[{"rows":[{"name":"a{b}c","x":"\\"}{\\""}]}],"error":null}';
  const m2 = '{"id":null,"method":"update","params":["m",{"T":{"u":{"new":{"s":"back\\\\","t":"]["}}}}]}';
  const m3 = '{"id":"e","method":"echo","params":["é—🙂"]}';
  const stream = m1 + m2 + m3;
  // An escaped quote followed by an unbalanced brace; an escaped backslash right before a closing quote.
  const m4 = '{"s":"say \\"{hi\\" [","n":1}';
  const m5 = '{"s":"a\\\\","t":"}}"}';

  it.each([
    ['one message per chunk', [m1, m2, m3], [m1, m2, m3]],
    ['all messages in one chunk', [stream], [m1, m2, m3]],
    ['whitespace between messages is skipped', [` ${m1}\n`, `\r\n\t${m2}  `], [m1, m2]],
    ['split inside a string containing braces', [m1.slice(0, 40), m1.slice(40)], [m1]],
    ['split right after a backslash escape', [m1.slice(0, m1.indexOf('\\') + 1), m1.slice(m1.indexOf('\\') + 1)], [m1]],
    ['string ending in an escaped backslash before the closing brace', [m2], [m2]],
    ['split between messages and inside the next', [m1 + m2.slice(0, 5), m2.slice(5) + m3], [m1, m2, m3]],
    ['empty chunks are harmless', ['', m1, '', ''], [m1]],
    ['escaped quote before an unbalanced brace', [m4 + m1], [m4, m1]],
    ['escaped backslash before a closing quote, braces in the next string', [m5 + m4], [m5, m4]],
    ['split between the two backslashes of an escaped backslash', [m5.slice(0, m5.indexOf('\\') + 1), m5.slice(m5.indexOf('\\') + 1) + m1], [m5, m1]],
  ])('%s', (_name, chunks, expected) => {
    expect(frameAll(chunks)).toEqual(expected);
    for (const text of expected) expect(() => JSON.parse(text)).not.toThrow();
  });

  it('yields the same messages for every single split point and for byte-at-a-time delivery', () => {
    const bytes = enc(stream);
    for (let i = 0; i <= bytes.length; i++) {
      expect(frameAll([bytes.subarray(0, i), bytes.subarray(i)]), `split at ${i}`).toEqual([m1, m2, m3]);
    }
    const oneByOne = [...bytes].map((b) => Buffer.from([b]));
    expect(frameAll(oneByOne)).toEqual([m1, m2, m3]);
  });

  it('reassembles a multi-byte UTF-8 character split across chunks', () => {
    const bytes = enc(m3);
    const at = bytes.indexOf(Buffer.from('🙂', 'utf8')) + 2; // in the middle of the 4-byte emoji
    const out = frameAll([bytes.subarray(0, at), bytes.subarray(at)]);
    expect(JSON.parse(out[0]!)).toEqual({ id: 'e', method: 'echo', params: ['é—🙂'] });
  });

  it('holds back an incomplete message and reports its size', () => {
    const f = new JsonStreamFramer();
    expect(f.push(enc(m1 + '{"id":2,"res'))).toEqual([m1]);
    expect(f.pendingBytes).toBe('{"id":2,"res'.length);
    expect(f.push(enc('ult":[],"error":null}'))).toEqual(['{"id":2,"result":[],"error":null}']);
    expect(f.pendingBytes).toBe(0);
  });

  it.each([['garbage', 'hello'], ['top-level array', '[1,2]'], ['stray closing brace', '}']])('rejects %s at the top level', (_n, text) => {
    const err = (() => {
      try {
        frameAll([text]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(OvsdbError);
    expect((err as OvsdbError).code).toBe('protocol');
  });
});

// ---- codec ----------------------------------------------------------------------------------------

describe('codec', () => {
  const U = '54e66de8-1b2c-4d5e-8f90-0123456789ab';

  it.each<[string, unknown, unknown[]]>([
    ['empty set', ['set', []], []],
    ['bare one-element set (integer)', 100, [100]],
    ['bare one-element set (string)', 'a', ['a']],
    ['explicit set', ['set', [100, 200, 300]], [100, 200, 300]],
    ['explicit one-element set', ['set', [42]], [42]],
    ['set of uuids', ['set', [['uuid', U]]], [U]],
    ['bare uuid', ['uuid', U], [U]],
  ])('decodeSet: %s', (_n, v, expected) => {
    expect(decodeSet(v)).toEqual(expected);
  });

  it.each<[string, unknown, unknown]>([
    ['empty set → undefined', ['set', []], undefined],
    ['bare integer', 100, 100],
    ['zero is a value, not absence', 0, 0],
    ['empty string is a value', '', ''],
    ['explicit one-element set', ['set', ['trunk']], 'trunk'],
    ['uuid', ['uuid', U], U],
    ['false', false, false],
  ])('decodeOptional: %s', (_n, v, expected) => {
    expect(decodeOptional(v)).toBe(expected);
  });

  it('decodeOptional refuses a set with two elements', () => {
    expect(() => decodeOptional(['set', [1, 2]])).toThrow(/2 elements/);
  });

  it.each<[string, unknown, Record<string, unknown>]>([
    ['empty map', ['map', []], {}],
    ['string map', ['map', [['iface-id', 'x'], ['attached-mac', '56:6f:00:00:00:01']]], { 'iface-id': 'x', 'attached-mac': '56:6f:00:00:00:01' }],
    ['integer keys, uuid values', ['map', [[1, ['uuid', U]], [2, ['uuid', U]]]], { '1': U, '2': U }],
    ['integer values kept as numbers', ['map', [['rx_packets', 5]]], { rx_packets: 5 }],
  ])('decodeMap: %s', (_n, v, expected) => {
    expect(decodeMap(v)).toEqual(expected);
  });

  it('decodeMap / decodeAtom reject what they cannot decode', () => {
    expect(() => decodeMap(['set', []])).toThrow(TypeError);
    expect(() => decodeMap(['map', [['only-key']]])).toThrow(/bad OVSDB map pair/);
    expect(() => decodeAtom({ a: 1 })).toThrow(TypeError);
    expect(() => decodeAtom(null)).toThrow(TypeError);
  });

  it.each<[string, unknown, unknown]>([
    ['set', ['set', [1, 2]], [1, 2]],
    ['map', ['map', [['k', 'v']]], { k: 'v' }],
    ['uuid', ['uuid', U], U],
    ['named-uuid', ['named-uuid', 'row1'], 'row1'],
    ['scalar', 'x', 'x'],
    ['one-element set stays bare without a schema', 7, 7],
  ])('decodeDatum: %s', (_n, v, expected) => {
    expect(decodeDatum(v)).toEqual(expected);
  });

  it.each<[string, unknown, Parameters<typeof decodeColumn>[1], unknown]>([
    ['scalar string', 'br-int', 'string', 'br-int'],
    ['scalar with key object', 3, { key: 'integer' }, 3],
    ['optional empty', ['set', []], { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 1 }, undefined],
    ['optional present', 100, { key: { type: 'integer' }, min: 0, max: 1 }, 100],
    ['set of one (bare on the wire) is an array', 42, { key: 'integer', min: 0, max: 4096 }, [42]],
    ['unlimited set', ['set', [['uuid', U]]], { key: { type: 'uuid', refTable: 'Port' }, min: 1, max: 'unlimited' }, [U]],
    ['map', ['map', [['a', 'b']]], { key: 'string', value: 'string', min: 0, max: 'unlimited' }, { a: 'b' }],
  ])('decodeColumn: %s', (_n, v, type, expected) => {
    expect(decodeColumn(v, type)).toEqual(expected);
  });

  it('encoders produce the RFC 7047 forms', () => {
    expect(encodeSet([])).toEqual(['set', []]);
    expect(encodeSet([42])).toEqual(['set', [42]]);
    expect(encodeSet(new Set([1, 2]))).toEqual(['set', [1, 2]]);
    expect(encodeSet([uuid(U), namedUuid('p1')])).toEqual(['set', [['uuid', U], ['named-uuid', 'p1']]]);
    expect(encodeMap({ 'iface-id': 'x', n: 1 })).toEqual(['map', [['iface-id', 'x'], ['n', 1]]]);
    expect(encodeMap(new Map<number, ['uuid', string]>([[0, uuid(U)]]))).toEqual(['map', [[0, ['uuid', U]]]]);
    expect(encodeOptional(undefined)).toEqual(['set', []]);
    expect(encodeOptional(0)).toBe(0);
    expect(uuid(U)).toEqual(['uuid', U]);
    expect(namedUuid('_port_1')).toEqual(['named-uuid', '_port_1']);
  });

  it('uuid() and namedUuid() refuse malformed input', () => {
    expect(() => uuid('not-a-uuid')).toThrow(/not a UUID/);
    expect(() => namedUuid('1port')).toThrow(/uuid-name/);
    expect(() => namedUuid('port-1')).toThrow(/uuid-name/);
  });

  it('decode(encode(x)) round-trips', () => {
    expect(decodeSet(encodeSet([1, 2, 3]))).toEqual([1, 2, 3]);
    expect(decodeMap(encodeMap({ a: 'b', c: 'd' }))).toEqual({ a: 'b', c: 'd' });
    expect(decodeOptional(encodeOptional(undefined))).toBeUndefined();
    expect(decodeOptional(encodeOptional(5))).toBe(5);
  });
});

// ---- protocol edge cases against a fake server ----------------------------------------------------

type Msg = Record<string, unknown> & { id?: unknown; method?: string; params?: unknown[] };

/** The server side of one connection: reads the client's messages in order, writes raw bytes. */
class Peer {
  readonly socket: Socket;
  readonly #queue: Msg[] = [];
  readonly #waiters: ((m: Msg) => void)[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    const framer = new JsonStreamFramer();
    socket.on('data', (chunk: Buffer) => {
      for (const text of framer.push(chunk)) {
        const m = JSON.parse(text) as Msg;
        const w = this.#waiters.shift();
        if (w) w(m);
        else this.#queue.push(m);
      }
    });
    socket.on('error', () => undefined);
  }

  /** The client's next message (fails the test after 3 s). */
  next(): Promise<Msg> {
    const m = this.#queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('fake server: no message from the client within 3 s')), 3000);
      this.#waiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }

  /** Messages already received and not yet taken by next(). */
  get queued(): readonly Msg[] {
    return this.#queue;
  }

  send(...msgs: (object | string)[]): void {
    this.socket.write(msgs.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(''));
  }

  /** Writes `text` in pieces of `size` bytes, each in its own write, yielding to the event loop between. */
  async trickle(text: string, size: number): Promise<void> {
    const b = enc(text);
    for (let i = 0; i < b.length; i += size) {
      this.socket.write(b.subarray(i, i + size));
      await sleep(1);
    }
  }
}

interface Fake {
  sock: string;
  peer(): Promise<Peer>;
  close(): Promise<void>;
}

const fakes: Fake[] = [];
const fakeClients: OvsdbClient[] = [];

afterEach(async () => {
  await Promise.all(fakeClients.splice(0).map((c) => c.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fakeServer(): Promise<Fake> {
  const dir = mkdtempSync(join(tmpdir(), 'nf-fake-ovsdb-'));
  const sock = join(dir, 'db.sock');
  const peers: Peer[] = [];
  const waiting: ((p: Peer) => void)[] = [];
  const server: Server = createServer((s) => {
    const p = new Peer(s);
    const w = waiting.shift();
    if (w) w(p);
    else peers.push(p);
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const fake: Fake = {
    sock,
    peer: () => {
      const p = peers.shift();
      return p ? Promise.resolve(p) : new Promise((r) => waiting.push(r));
    },
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const p of peers) p.socket.destroy();
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  fakes.push(fake);
  return fake;
}

async function fakeAndClient(opts: Parameters<typeof OvsdbClient.connect>[1] = {}): Promise<{ peer: Peer; client: OvsdbClient }> {
  const fake = await fakeServer();
  const [client, peer] = await Promise.all([OvsdbClient.connect(fake.sock, opts), fake.peer()]);
  fakeClients.push(client);
  return { client, peer };
}

const MINI_SCHEMA = {
  name: 'Open_vSwitch',
  version: '8.3.1',
  tables: {
    Port: {
      columns: {
        name: { type: 'string' },
        tag: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 1 } },
        trunks: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 4096 } },
        external_ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
    },
  },
};

/** Drives the client's `monitor('Port', ...)` through get_schema and the monitor request. */
async function serveMonitor(peer: Peer, initial: object): Promise<string> {
  const gs = await peer.next();
  expect(gs).toMatchObject({ method: 'get_schema', params: ['Open_vSwitch'] });
  peer.send({ id: gs.id, result: MINI_SCHEMA, error: null });
  const mon = await peer.next();
  expect(mon.method).toBe('monitor');
  expect(mon.params![0]).toBe('Open_vSwitch');
  peer.send({ id: mon.id, result: initial, error: null });
  return mon.params![1] as string;
}

describe('OvsdbClient protocol edge cases (fake server)', () => {
  it('answers an echo request with the same id and params, without disturbing requests in flight', async () => {
    const { client, peer } = await fakeAndClient();
    const pending = client.transact('Open_vSwitch', [{ op: 'comment', comment: 'x' }]);
    const req = await peer.next();
    peer.send({ id: 'echo-7', method: 'echo', params: ['keepalive', { brace: '}{"' }] });
    expect(await peer.next()).toEqual({ id: 'echo-7', result: ['keepalive', { brace: '}{"' }], error: null });
    peer.send({ id: 99, method: 'echo', params: [] });
    expect(await peer.next()).toEqual({ id: 99, result: [], error: null });
    peer.send({ id: req.id, result: [{}], error: null });
    expect(await pending).toEqual([{}]);
  });

  it('matches concurrent requests by id when replies come back in reverse order', async () => {
    const { client, peer } = await fakeAndClient();
    const ps = [0, 1, 2].map((i) => client.transact('Open_vSwitch', [{ op: 'select', table: 'Port', where: [['name', '==', `p${i}`]] }]));
    const reqs = [await peer.next(), await peer.next(), await peer.next()];
    expect(new Set(reqs.map((r) => r.id)).size).toBe(3);
    for (const r of [...reqs].reverse()) {
      const name = ((r.params![1] as { where: unknown[][] }).where[0]![2]) as string;
      peer.send({ id: r.id, result: [{ rows: [{ name }] }], error: null });
    }
    expect(await Promise.all(ps)).toEqual([0, 1, 2].map((i) => [{ rows: [{ name: `p${i}` }] }]));
  });

  it('routes an update that arrives before the transaction reply (in the same write) to the monitor first', async () => {
    const { client, peer } = await fakeAndClient();
    const events: string[] = [];
    const seen: MonitorRows[] = [];
    const monP = client.monitor('Port', ['name', 'tag', 'trunks', 'external_ids'], (rows) => {
      seen.push(rows);
      events.push('update');
    });
    const monId = await serveMonitor(peer, { Port: { 'u-1': { new: { name: 'p1', tag: ['set', []], trunks: 7, external_ids: ['map', []] } } } });
    await monP;
    expect(seen).toHaveLength(1);
    expect([...seen[0]!]).toEqual([['u-1', { name: 'p1', tag: undefined, trunks: [7], external_ids: {} }]]);

    const tx = client.transact('Open_vSwitch', [{ op: 'update', table: 'Port', where: [], row: { tag: 5 } }]).then((r) => {
      events.push('reply');
      return r;
    });
    const req = await peer.next();
    const tricky = 'x"}{\\"]["\\\\';
    peer.send(
      { id: null, method: 'update', params: [monId, { Port: { 'u-1': { new: { name: tricky, tag: 5, trunks: ['set', [1, 2]], external_ids: ['map', [['k', '{']]] }, old: { tag: ['set', []] } } } }] },
      { id: req.id, result: [{ count: 1 }], error: null },
    );
    expect(await tx).toEqual([{ count: 1 }]);
    expect(events).toEqual(['update', 'update', 'reply']);
    expect([...seen[1]!]).toEqual([['u-1', { name: tricky, tag: 5, trunks: [1, 2], external_ids: { k: '{' } }]]);
  });

  it('reassembles an update and a reply trickled 3 bytes per write, and delivers deletes as null', async () => {
    const { client, peer } = await fakeAndClient();
    const seen: MonitorRows[] = [];
    const monP = client.monitor('Port', ['name'], (rows) => seen.push(rows));
    const monId = await serveMonitor(peer, {});
    await monP;
    expect(seen).toEqual([new Map()]); // the (empty) initial state is delivered too
    const tx = client.transact('Open_vSwitch', [{ op: 'delete', table: 'Port', where: [] }]);
    const req = await peer.next();
    const text =
      JSON.stringify({ id: null, method: 'update', params: [monId, { Port: { 'u-9': { old: { name: 'gone {"}' } } } }] }) +
      JSON.stringify({ id: req.id, result: [{ count: 1 }], error: null });
    await peer.trickle(text, 3);
    expect(await tx).toEqual([{ count: 1 }]);
    expect(seen[1]).toEqual(new Map([['u-9', null]]));
  });

  it('sends monitor_cancel for the monitor and ignores its updates afterwards', async () => {
    const { client, peer } = await fakeAndClient();
    const seen: MonitorRows[] = [];
    const monP = client.monitor('Port', ['name'], (rows) => seen.push(rows));
    const monId = await serveMonitor(peer, {});
    const cancel = await monP;
    const cancelled = cancel();
    const req = await peer.next();
    expect(req).toMatchObject({ method: 'monitor_cancel', params: [monId] });
    peer.send({ id: req.id, result: {}, error: null });
    await cancelled;
    peer.send({ id: null, method: 'update', params: [monId, { Port: { u: { new: { name: 'late' } } } }] });
    // A round trip after the stray update proves it was processed (and dropped).
    const tx = client.transact('Open_vSwitch', []);
    const t = await peer.next();
    peer.send({ id: t.id, result: [], error: null });
    expect(await tx).toEqual([]);
    expect(seen).toHaveLength(1);
    await cancel(); // idempotent: sends nothing
    expect(peer.queued).toHaveLength(0);
  });

  it('passes an error thrown by a monitor callback to onError and keeps delivering', async () => {
    const errors: unknown[] = [];
    const { client, peer } = await fakeAndClient({ onError: (e) => errors.push(e) });
    const names: unknown[] = [];
    const monP = client.monitor('Port', ['name'], (rows) => {
      for (const r of rows.values()) {
        names.push(r?.name);
        if (r?.name === 'boom') throw new Error('callback bug');
      }
    });
    const monId = await serveMonitor(peer, {});
    await monP;
    peer.send(
      { id: null, method: 'update', params: [monId, { Port: { a: { new: { name: 'boom' } } } }] },
      { id: null, method: 'update', params: [monId, { Port: { b: { new: { name: 'after' } } } }] },
    );
    await until('second update', () => (names.length === 2 ? true : undefined));
    expect(names).toEqual(['boom', 'after']);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('callback bug');
  });

  it('rejects every pending request when the server closes mid-message, and fails fast afterwards', async () => {
    const { client, peer } = await fakeAndClient();
    const a = rejection(client.transact('Open_vSwitch', []));
    const b = rejection(client.select('Port'));
    await peer.next();
    await peer.next();
    peer.socket.end('{"id":1,"result":[{"rows":[');
    const [ea, eb] = await Promise.all([a, b]);
    for (const e of [ea, eb]) {
      expect(e.code).toBe('connection');
      expect(e.message).toMatch(/closed by the server in the middle of a message \(\d+ bytes\)/);
    }
    const closedWith = await client.closed;
    expect(closedWith?.code).toBe('connection');
    const after = await rejection(client.transact('Open_vSwitch', []));
    expect(after.code).toBe('connection');
    expect(after.message).toMatch(/^transact: connection to .* closed by the server/);
  });

  it('times a request out, ignores its late reply, and keeps working', async () => {
    const { client, peer } = await fakeAndClient({ timeoutMs: 150 });
    const t0 = Date.now();
    const e = await rejection(client.transact('Open_vSwitch', [{ op: 'comment', comment: 'slow' }]));
    const elapsed = Date.now() - t0;
    expect(e.code).toBe('timeout');
    expect(e.message).toMatch(/^transact \(request \d+\) timed out after 150 ms$/);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1500);
    const slow = await peer.next();
    peer.send({ id: slow.id, result: [{ late: true }], error: null });
    const next = client.transact('Open_vSwitch', [], { timeoutMs: 2000 });
    const r = await peer.next();
    peer.send({ id: r.id, result: ['fresh'], error: null });
    expect(await next).toEqual(['fresh']);
  });

  it('aborting a transaction rejects with the signal reason and sends the server a cancel', async () => {
    const { client, peer } = await fakeAndClient();
    const ac = new AbortController();
    const p = client.transact('Open_vSwitch', [{ op: 'wait', table: 'Port', where: [], columns: [], until: '==', rows: [] }], { signal: ac.signal });
    const req = await peer.next();
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(await peer.next()).toEqual({ id: null, method: 'cancel', params: [req.id] });
    await expect(client.transact('Open_vSwitch', [], { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('reports an error reply (code rpc) and a failed op (code op, with index, error and details)', async () => {
    const { client, peer } = await fakeAndClient();
    const p1 = rejection(client.transact('Nope', []));
    const r1 = await peer.next();
    peer.send({ id: r1.id, result: null, error: { error: 'unknown database', details: 'no Nope here' } });
    const e1 = await p1;
    expect(e1).toMatchObject({ code: 'rpc', error: 'unknown database', details: 'no Nope here' });
    expect(e1.message).toBe('transact failed: unknown database: no Nope here');

    const ops = [{ op: 'insert', table: 'Port', row: {} }, { op: 'mutate', table: 'Bridge', where: [], mutations: [] }];
    const p2 = rejection(client.transact('Open_vSwitch', ops));
    const r2 = await peer.next();
    const results = [{ uuid: ['uuid', '54e66de8-1b2c-4d5e-8f90-0123456789ab'] }, { error: 'constraint violation', details: 'bad' }];
    peer.send({ id: r2.id, result: results, error: null });
    const e2 = await p2;
    expect(e2).toMatchObject({ code: 'op', opIndex: 1, error: 'constraint violation', details: 'bad', results });
    expect(e2.message).toBe('transaction on Open_vSwitch failed at op 1 (mutate Bridge): constraint violation: bad');
  });

  it('fails the connection on a message that is not JSON-RPC', async () => {
    const { client, peer } = await fakeAndClient();
    const p = rejection(client.transact('Open_vSwitch', []));
    await peer.next();
    peer.send('{"id":1,"result":oops}');
    const e = await p;
    expect(e.code).toBe('protocol');
    expect(e.message).toMatch(/invalid JSON/);
    expect((await client.closed)?.code).toBe('protocol');
  });

  it('close() rejects pending requests with code closed and resolves `closed` with undefined', async () => {
    const { client, peer } = await fakeAndClient();
    const p = rejection(client.transact('Open_vSwitch', []));
    await peer.next();
    await client.close();
    expect((await p).code).toBe('closed');
    expect(await client.closed).toBeUndefined();
    expect((await rejection(client.select('Port'))).code).toBe('closed');
  });

  it('connect fails with code connection when nothing listens', async () => {
    const e = await rejection(OvsdbClient.connect(join(tmpdir(), `nf-no-such-${process.pid}.sock`)));
    expect(e.code).toBe('connection');
    expect(e.message).toMatch(/ENOENT/);
  });
});

// ---- against a real ovsdb-server ------------------------------------------------------------------

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uuidOf = (r: unknown) => {
  const v = (r as { uuid: unknown }).uuid;
  return decodeAtom(v) as string;
};
const byName = (rows: Record<string, unknown>[]) => Object.fromEntries(rows.map((r) => [r.name as string, r]));

/** Ops inserting bridge `name` (with its own internal port) plus `ports`, and linking it from Open_vSwitch. */
function addBridgeOps(name: string, extraPorts: string[] = [], bridgeRow: Record<string, unknown> = {}): unknown[] {
  const id = name.replace(/\W/g, '_');
  return [
    { op: 'insert', table: 'Interface', 'uuid-name': `${id}_i`, row: { name, type: 'internal' } },
    { op: 'insert', table: 'Port', 'uuid-name': `${id}_p`, row: { name, interfaces: namedUuid(`${id}_i`) } },
    { op: 'insert', table: 'Bridge', 'uuid-name': id, row: { name, ports: encodeSet([namedUuid(`${id}_p`), ...extraPorts.map(namedUuid)]), ...bridgeRow } },
    { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', encodeSet([namedUuid(id)])]] },
  ];
}

describe('OvsdbClient against a real ovsdb-server', () => {
  let ovs: PrivateOvs;
  let client: OvsdbClient;

  beforeAll(async () => {
    ovs = await startPrivateOvs();
    client = await OvsdbClient.connect(ovs.sock, { timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await client?.close();
    await ovs?.stop();
  });

  it('inserts a bridge with ports and interfaces in one transaction; select and ovs-vsctl read back the same', async () => {
    const ops = [
      { op: 'insert', table: 'Interface', 'uuid-name': 'i_acc', row: { name: 'acc0', type: 'internal', external_ids: encodeMap({ 'iface-id': 'port-1', 'attached-mac': '56:6f:00:00:00:01' }) } },
      { op: 'insert', table: 'Interface', 'uuid-name': 'i_trk', row: { name: 'trk0', type: 'internal' } },
      { op: 'insert', table: 'Interface', 'uuid-name': 'i_one', row: { name: 'one0', type: 'internal' } },
      { op: 'insert', table: 'Port', 'uuid-name': 'p_acc', row: { name: 'acc0', interfaces: namedUuid('i_acc'), tag: 100 } },
      { op: 'insert', table: 'Port', 'uuid-name': 'p_trk', row: { name: 'trk0', interfaces: namedUuid('i_trk'), trunks: encodeSet([100, 200, 300]), vlan_mode: 'trunk' } },
      { op: 'insert', table: 'Port', 'uuid-name': 'p_one', row: { name: 'one0', interfaces: namedUuid('i_one'), trunks: encodeSet([42]), external_ids: encodeMap({ owner: 'netform' }) } },
      ...addBridgeOps('br-a', ['p_acc', 'p_trk', 'p_one'], { external_ids: encodeMap({ 'netform/owner': 'test' }) }),
    ];
    const results = await client.transact('Open_vSwitch', ops);
    expect(results).toHaveLength(ops.length);
    const uuids = results.slice(0, 9).map(uuidOf);
    for (const u of uuids) expect(u).toMatch(UUID_RE);
    expect(results[9]).toEqual({ count: 1 });
    const [iAcc, iTrk, iOne, pAcc, pTrk, pOne, , pBr, bridge] = uuids;

    const ports = byName(await client.select('Port', ['_uuid', 'name', 'tag', 'trunks', 'vlan_mode', 'interfaces', 'external_ids']));
    expect(ports).toEqual({
      acc0: { _uuid: pAcc, name: 'acc0', tag: 100, trunks: [], vlan_mode: undefined, interfaces: [iAcc], external_ids: {} },
      trk0: { _uuid: pTrk, name: 'trk0', tag: undefined, trunks: [100, 200, 300], vlan_mode: 'trunk', interfaces: [iTrk], external_ids: {} },
      one0: { _uuid: pOne, name: 'one0', tag: undefined, trunks: [42], vlan_mode: undefined, interfaces: [iOne], external_ids: { owner: 'netform' } },
      'br-a': { _uuid: pBr, name: 'br-a', tag: undefined, trunks: [], vlan_mode: undefined, interfaces: [uuids[6]], external_ids: {} },
    });
    const [br] = await client.select('Bridge', ['_uuid', 'ports', 'external_ids'], [['name', '==', 'br-a']]);
    expect(br!._uuid).toBe(bridge);
    expect(new Set(br!.ports as string[])).toEqual(new Set([pBr, pAcc, pTrk, pOne]));
    expect(br!.external_ids).toEqual({ 'netform/owner': 'test' });
    const [ovsRow] = await client.select('Open_vSwitch', ['bridges']);
    expect(ovsRow!.bridges).toEqual([bridge]);
    const [acc] = await client.select('Interface', ['external_ids', 'type'], [['name', '==', 'acc0']]);
    expect(acc).toEqual({ external_ids: { 'iface-id': 'port-1', 'attached-mac': '56:6f:00:00:00:01' }, type: 'internal' });

    // ovs-vsctl's view (raw OVSDB datums: note the one-element set 42 arrives bare).
    const raw = byName(await ovs.list('Port', ['name', 'tag', 'trunks', 'vlan_mode', 'external_ids', '_uuid']));
    expect(raw.one0!.trunks).toBe(42);
    expect(raw.acc0!.tag).toBe(100);
    expect(raw.trk0!.tag).toEqual(['set', []]);
    expect(raw.trk0!.trunks).toEqual(['set', [100, 200, 300]]);
    for (const name of ['acc0', 'trk0', 'one0']) {
      const r = raw[name]!;
      expect(
        { _uuid: decodeAtom(r._uuid), tag: decodeOptional(r.tag), trunks: decodeSet(r.trunks), vlan_mode: decodeOptional(r.vlan_mode), external_ids: decodeMap(r.external_ids) },
        name,
      ).toEqual({ _uuid: ports[name]!._uuid, tag: ports[name]!.tag, trunks: ports[name]!.trunks, vlan_mode: ports[name]!.vlan_mode, external_ids: ports[name]!.external_ids });
    }
    expect((await ovs.vsctl('get', 'Interface', 'acc0', 'external_ids:iface-id')).trim()).toBe('port-1');
    expect((await ovs.vsctl('list-ports', 'br-a')).trim().split('\n')).toEqual(['acc0', 'one0', 'trk0']);
  });

  it('updates and mutates (tag, trunks, external_ids); ovs-vsctl sees it, and select sees ovs-vsctl writes', async () => {
    await client.transact('Open_vSwitch', addBridgeOps('br-m', ['p'], {}).toSpliced(0, 0,
      { op: 'insert', table: 'Interface', 'uuid-name': 'i', row: { name: 'm0', external_ids: encodeMap({ 'iface-id': 'a', 'attached-mac': 'm' }) } },
      { op: 'insert', table: 'Port', 'uuid-name': 'p', row: { name: 'm0', interfaces: namedUuid('i'), tag: 10, trunks: encodeSet([100, 200]) } },
    ));
    const results = await client.transact('Open_vSwitch', [
      { op: 'update', table: 'Port', where: [['name', '==', 'm0']], row: { tag: 200, vlan_mode: 'native-untagged' } },
      { op: 'mutate', table: 'Port', where: [['name', '==', 'm0']], mutations: [['trunks', 'delete', encodeSet([200])], ['trunks', 'insert', encodeSet([400, 500])]] },
      {
        op: 'mutate',
        table: 'Interface',
        where: [['name', '==', 'm0']],
        mutations: [['external_ids', 'delete', encodeSet(['attached-mac'])], ['external_ids', 'insert', encodeMap({ 'vm-id': 'vm-1' })]],
      },
      { op: 'update', table: 'Port', where: [['name', '==', 'no-such-port']], row: { tag: 1 } },
    ]);
    expect(results).toEqual([{ count: 1 }, { count: 1 }, { count: 1 }, { count: 0 }]);
    expect(await client.select('Port', ['tag', 'trunks', 'vlan_mode'], [['name', '==', 'm0']])).toEqual([{ tag: 200, trunks: [100, 400, 500], vlan_mode: 'native-untagged' }]);
    expect(await client.select('Interface', ['external_ids'], [['name', '==', 'm0']])).toEqual([{ external_ids: { 'iface-id': 'a', 'vm-id': 'vm-1' } }]);

    const [raw] = await ovs.list('Port', ['name', 'tag', 'trunks', 'vlan_mode']).then((rows) => rows.filter((r) => r.name === 'm0'));
    expect(raw).toEqual({ name: 'm0', tag: 200, trunks: ['set', [100, 400, 500]], vlan_mode: 'native-untagged' });
    const [rawIf] = await ovs.list('Interface', ['name', 'external_ids']).then((rows) => rows.filter((r) => r.name === 'm0'));
    expect(decodeMap(rawIf!.external_ids)).toEqual({ 'iface-id': 'a', 'vm-id': 'vm-1' });

    // Clearing an optional column and a set, written as the empty set.
    await client.transact('Open_vSwitch', [{ op: 'update', table: 'Port', where: [['name', '==', 'm0']], row: { tag: encodeOptional(undefined), trunks: encodeSet([]) } }]);
    expect((await ovs.vsctl('get', 'Port', 'm0', 'tag', 'trunks')).trim().split('\n')).toEqual(['[]', '[]']);

    // The other direction: a write by ovs-vsctl, read by select.
    await ovs.vsctl('--no-wait', 'set', 'Port', 'm0', 'tag=300', 'trunks=7');
    expect(await client.select('Port', ['tag', 'trunks'], [['name', '==', 'm0']])).toEqual([{ tag: 300, trunks: [7] }]);
  });

  it('deleting the bridge (and its reference) garbage-collects its ports and interfaces', async () => {
    await client.transact('Open_vSwitch', addBridgeOps('br-d', ['p']).toSpliced(0, 0,
      { op: 'insert', table: 'Interface', 'uuid-name': 'i', row: { name: 'd0' } },
      { op: 'insert', table: 'Port', 'uuid-name': 'p', row: { name: 'd0', interfaces: namedUuid('i') } },
    ));
    expect((await ovs.vsctl('list-ports', 'br-d')).trim()).toBe('d0');
    const [br] = await client.select('Bridge', ['_uuid'], [['name', '==', 'br-d']]);
    const results = await client.transact('Open_vSwitch', [
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'delete', encodeSet([uuid(br!._uuid as string)])]] },
      { op: 'delete', table: 'Bridge', where: [['_uuid', '==', uuid(br!._uuid as string)]] },
    ]);
    expect(results).toEqual([{ count: 1 }, { count: 1 }]);
    expect(await client.select('Port', ['name'], [['name', '==', 'd0']])).toEqual([]);
    expect(await client.select('Interface', ['name'], [['name', 'includes', 'd0']])).toEqual([]);
    expect((await ovs.list('Port', ['name'])).map((r) => r.name)).not.toContain('d0');
    const brExists = await run('ovs-vsctl', [`--db=unix:${ovs.sock}`, 'br-exists', 'br-d']).then(() => 0, (e: { code: number }) => e.code);
    expect(brExists).toBe(2);
  });

  it('a failing op rejects with OvsdbError naming the op, and commits nothing', async () => {
    const ops = [...addBridgeOps('br-fail'), { op: 'insert', table: 'Port', row: { name: 'x0', bogus: 1 } }];
    const e = await rejection(client.transact('Open_vSwitch', ops));
    expect(e).toMatchObject({ code: 'op', opIndex: 4, error: 'unknown column', details: 'No column bogus in table Port.' });
    expect(e.message).toBe('transaction on Open_vSwitch failed at op 4 (insert Port): unknown column: No column bogus in table Port.');
    expect(uuidOf(e.results![0])).toMatch(UUID_RE); // op 0 ran, but the transaction was rolled back
    expect((await ovs.vsctl('list-br')).split('\n')).not.toContain('br-fail');

    const e2 = await rejection(client.transact('Open_vSwitch', [{ op: 'update', table: 'Port', where: [], row: { tag: 5000 } }]));
    expect(e2).toMatchObject({ code: 'op', opIndex: 0, error: 'constraint violation', details: '5000 is not in the valid range 0 to 4095 (inclusive)' });

    const e3 = await rejection(client.select('Port', ['no_such_column']));
    expect(e3).toMatchObject({ code: 'op', opIndex: 0, error: 'syntax error' });
    expect(e3.message).toContain('no_such_column is not a valid column name');
  });

  it('a commit-time failure (duplicate indexed name) is reported at index ops.length', async () => {
    await client.transact('Open_vSwitch', addBridgeOps('br-dup'));
    // Only the Bridge this time (addBridgeOps would also collide on the Interface name index).
    const ops = [
      { op: 'insert', table: 'Bridge', 'uuid-name': 'b', row: { name: 'br-dup' } },
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', encodeSet([namedUuid('b')])]] },
    ];
    const e = await rejection(client.transact('Open_vSwitch', ops));
    expect(e).toMatchObject({ code: 'commit', opIndex: ops.length, error: 'constraint violation' });
    expect(e.details).toMatch(/multiple rows in "Bridge" table to have identical values \(br-dup\) for index on column "name"/);
    expect(e.message).toMatch(/^transaction on Open_vSwitch failed at commit \(after all 2 ops succeeded\): constraint violation: /);
    expect((await ovs.list('Bridge', ['name'])).filter((r) => r.name === 'br-dup')).toHaveLength(1);
  });

  it('an unknown database is an rpc error', async () => {
    const e = await rejection(client.transact('No_Such_DB', []));
    expect(e).toMatchObject({ code: 'rpc', error: 'unknown database' });
    expect(e.message).toMatch(/No_Such_DB/);
  });

  it('monitor sees inserts, modifies and deletes made by ovs-vsctl, and nothing after cancel', async () => {
    await ovs.vsctl('--no-wait', 'add-br', 'br-mon');
    const batches: MonitorRows[] = [];
    const cancel = await client.monitor('Port', ['name', 'tag'], (rows) => batches.push(rows));
    expect(batches).toHaveLength(1);
    const initial = [...batches[0]!.values()].map((r) => r!.name);
    expect(initial).toContain('br-mon');
    const find = (pred: (uuid: string, row: Record<string, unknown> | null) => boolean) =>
      batches.flatMap((b) => [...b]).find(([u, r]) => pred(u, r));

    await ovs.vsctl('--no-wait', 'add-port', 'br-mon', 'mp0', '--', 'set', 'Interface', 'mp0', 'type=internal', '--', 'set', 'Port', 'mp0', 'tag=7');
    const [u] = await until('insert of mp0', () => find((_u, r) => r?.name === 'mp0'));
    expect(find((_u, r) => r?.name === 'mp0')![1]).toEqual({ name: 'mp0', tag: 7 });
    expect((await ovs.vsctl('get', 'Port', 'mp0', '_uuid')).trim()).toBe(u);

    await ovs.vsctl('--no-wait', 'set', 'Port', 'mp0', 'tag=8');
    const [, modified] = await until('modify of mp0', () => find((uu, r) => uu === u && r?.tag === 8));
    expect(modified).toEqual({ name: 'mp0', tag: 8 }); // a modify carries every monitored column, not just the changed one
    await ovs.vsctl('--no-wait', 'del-port', 'mp0');
    await until('delete of mp0', () => find((uu, r) => uu === u && r === null));

    await cancel();
    const count = batches.length;
    await ovs.vsctl('--no-wait', 'add-port', 'br-mon', 'mp1', '--', 'set', 'Interface', 'mp1', 'type=internal');
    // ovsdb-server queues monitor updates when it commits, so after this round trip any update for a
    // live monitor would already have been delivered.
    expect((await client.select('Port', ['name'], [['name', '==', 'mp1']])).map((r) => r.name)).toEqual(['mp1']);
    await sleep(50);
    expect(batches).toHaveLength(count);
  });

  it('delivers the update for our own transaction no later than its reply', async () => {
    const batches: MonitorRows[] = [];
    const cancel = await client.monitor('Bridge', ['name'], (rows) => batches.push(rows));
    const results = await client.transact('Open_vSwitch', addBridgeOps('br-order'));
    const brUuid = uuidOf(results[2]);
    expect(batches.at(-1)).toEqual(new Map([[brUuid, { name: 'br-order' }]]));
    await cancel();
  });

  it('serves many concurrent requests, each with its own answer', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `br-c${i}`);
    await client.transact('Open_vSwitch', names.flatMap((n) => addBridgeOps(n)));
    const rows = await Promise.all(names.map((n) => client.select('Bridge', ['name'], [['name', '==', n]])));
    expect(rows).toEqual(names.map((n) => [{ name: n }]));
  });

  it('transactAndWait without ovs-vswitchd commits, then rejects with apply-timeout', async () => {
    const [before] = await client.select('Open_vSwitch', ['next_cfg', 'cur_cfg']);
    const t0 = Date.now();
    const e = await rejection(client.transactAndWait(addBridgeOps('br-nowait'), { timeoutMs: 300 }));
    const elapsed = Date.now() - t0;
    expect(e.code).toBe('apply-timeout');
    expect(e.message).toMatch(/ovs-vswitchd did not apply next_cfg \d+ within 300 ms \(cur_cfg is 0\); the transaction was committed/);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
    const [after] = await client.select('Open_vSwitch', ['next_cfg', 'cur_cfg']);
    expect(after).toEqual({ next_cfg: (before!.next_cfg as number) + 1, cur_cfg: 0 });
    expect((await ovs.vsctl('list-br')).split('\n')).toContain('br-nowait');
  });
});

// ---- transactAndWait against ovs-vswitchd (in a scratch network namespace) -------------------------

describe('OvsdbClient.transactAndWait with a real ovs-vswitchd', () => {
  let ovs: PrivateOvs;
  let client: OvsdbClient;

  beforeAll(async () => {
    ovs = await startPrivateOvs({ vswitchd: true, netns: true });
    client = await OvsdbClient.connect(ovs.sock, { timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await client?.close();
    const ns = ovs?.netns;
    await ovs?.stop();
    if (ns) expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(ns);
  });

  const links = async (ns?: string) =>
    (JSON.parse((await run('ip', [...(ns ? ['-n', ns] : []), '-j', 'link', 'show'])).stdout) as { ifname: string }[]).map((l) => l.ifname);

  it('resolves only once vswitchd applied it: ofports assigned and taps present in the namespace', async () => {
    const ops = [
      { op: 'insert', table: 'Interface', 'uuid-name': 'i', row: { name: 'w0', type: 'internal', external_ids: encodeMap({ 'iface-id': 'w' }) } },
      { op: 'insert', table: 'Port', 'uuid-name': 'p', row: { name: 'w0', interfaces: namedUuid('i'), tag: 5 } },
      ...addBridgeOps('br-w', ['p'], { datapath_type: 'netdev' }),
    ];
    const results = await client.transactAndWait(ops, { timeoutMs: 10_000 });
    // Only the caller's ops come back, not the next_cfg bump.
    expect(results).toHaveLength(ops.length);
    expect(results.at(-1)).toEqual({ count: 1 });
    // Read immediately, without polling: vswitchd has already written its results.
    const ifaces = byName(await client.select('Interface', ['name', 'ofport', 'error']));
    expect(ifaces['br-w']).toEqual({ name: 'br-w', ofport: 65534, error: undefined });
    expect(ifaces.w0!.error).toBeUndefined();
    expect(ifaces.w0!.ofport).toBeGreaterThanOrEqual(1);
    const [cfg] = await client.select('Open_vSwitch', ['next_cfg', 'cur_cfg']);
    expect(cfg!.cur_cfg).toBe(cfg!.next_cfg);
    expect((await ovs.vsctl('get', 'Open_vSwitch', '.', 'cur_cfg')).trim()).toBe(String(cfg!.cur_cfg));
    expect(await links(ovs.netns)).toEqual(expect.arrayContaining(['br-w', 'w0', 'ovs-netdev']));
    expect(await links()).not.toContain('w0');
  });

  it('a later change is waited for too: deleting the port removes its tap before resolving', async () => {
    const [port] = await client.select('Port', ['_uuid'], [['name', '==', 'w0']]);
    const [cfgBefore] = await client.select('Open_vSwitch', ['cur_cfg']);
    const results = await client.transactAndWait([
      { op: 'mutate', table: 'Bridge', where: [['name', '==', 'br-w']], mutations: [['ports', 'delete', encodeSet([uuid(port!._uuid as string)])]] },
    ]);
    expect(results).toEqual([{ count: 1 }]);
    expect(await links(ovs.netns)).not.toContain('w0');
    expect(await client.select('Interface', ['name'], [['name', '==', 'w0']])).toEqual([]);
    const [cfgAfter] = await client.select('Open_vSwitch', ['cur_cfg']);
    expect(cfgAfter!.cur_cfg).toBe((cfgBefore!.cur_cfg as number) + 1);
  });

  it('a failing op rejects with OvsdbError and does not bump next_cfg', async () => {
    const [before] = await client.select('Open_vSwitch', ['next_cfg']);
    const e = await rejection(client.transactAndWait([{ op: 'update', table: 'Port', where: [], row: { tag: -1 } }]));
    expect(e).toMatchObject({ code: 'op', opIndex: 0, error: 'constraint violation' });
    expect(await client.select('Open_vSwitch', ['next_cfg'])).toEqual([before]);
  });
});

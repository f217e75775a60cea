// OVSDB (RFC 7047) JSON-RPC client for ovsdb-server's unix socket, with no dependencies: stream
// framing, request/response matching, echo keepalives, monitors, transactions that wait for
// ovs-vswitchd to apply them (next_cfg / cur_cfg), and a pure codec for OVSDB's JSON datum encoding.
import { createConnection, type Socket } from 'node:net';

/** The database ovs-vswitchd uses; `select`, `monitor` and `transactAndWait` work on it. */
export const OPEN_VSWITCH_DB = 'Open_vSwitch';

/** A decoded OVSDB atom: integer/real → number, boolean, string, uuid → its string form. */
export type OvsdbAtom = string | number | boolean;

// ---- errors ---------------------------------------------------------------------------------------

/**
 * What went wrong:
 * - `connection`: the socket failed or the server closed it (pending requests are rejected with it);
 * - `closed`: `close()` was called; `protocol`: the peer sent something that is not OVSDB JSON-RPC;
 * - `timeout`: no reply in time — for `transact` the outcome is UNKNOWN (it may still commit);
 * - `rpc`: the reply's `error` member was set (unknown database, unknown method, ...);
 * - `op`: operation `opIndex` failed, nothing was committed;
 * - `commit`: every operation succeeded but the commit failed (e.g. a duplicate in an indexed column,
 *   `opIndex` = ops.length), nothing was committed;
 * - `apply-timeout`: `transactAndWait` committed, but ovs-vswitchd did not report it applied in time.
 */
export type OvsdbErrorCode = 'connection' | 'closed' | 'protocol' | 'timeout' | 'rpc' | 'op' | 'commit' | 'apply-timeout';

export interface OvsdbErrorInit {
  code: OvsdbErrorCode;
  /** The RFC 7047 error string, e.g. "constraint violation", "unknown database". */
  error?: string;
  details?: string;
  /** Index into the caller's `ops` of the failing operation (ops.length for a commit failure). */
  opIndex?: number;
  /** The raw `result` array of a failed transaction. */
  results?: unknown[];
  cause?: unknown;
}

export class OvsdbError extends Error {
  override readonly name = 'OvsdbError';
  readonly code: OvsdbErrorCode;
  readonly error: string | undefined;
  readonly details: string | undefined;
  readonly opIndex: number | undefined;
  readonly results: unknown[] | undefined;

  constructor(message: string, init: OvsdbErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.error = init.error;
    this.details = init.details;
    this.opIndex = init.opIndex;
    this.results = init.results;
  }
}

// ---- framing --------------------------------------------------------------------------------------

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Splits the byte stream of an OVSDB connection into JSON texts. OVSDB sends JSON objects back to
 * back with no separator, so a message ends where the bracket depth returns to zero; brackets inside
 * strings (and escaped quotes inside strings) do not count. Works on bytes, so a chunk boundary in
 * the middle of a multi-byte UTF-8 character is harmless (all structural characters are ASCII, which
 * never occurs inside a multi-byte sequence). Whitespace between messages is skipped; anything else
 * at the top level that does not start an object throws an `OvsdbError` with code `protocol`.
 */
export class JsonStreamFramer {
  #parts: Buffer[] = [];
  #depth = 0;
  #inString = false;
  #escape = false;

  /** Feeds one chunk; returns the JSON texts completed by it, in order (possibly none). */
  push(chunk: Uint8Array): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === BACKSLASH) this.#escape = true;
        else if (c === QUOTE) this.#inString = false;
        continue;
      }
      if (this.#depth === 0) {
        if (isSpace(c)) {
          start = i + 1;
          continue;
        }
        if (c !== LBRACE) {
          const near = Buffer.from(chunk.subarray(i, i + 40)).toString('utf8');
          throw new OvsdbError(`protocol error: expected '{' to start a message, got ${JSON.stringify(near)}`, { code: 'protocol' });
        }
      }
      if (c === QUOTE) this.#inString = true;
      else if (c === LBRACE || c === LBRACKET) this.#depth++;
      else if (c === RBRACE || c === RBRACKET) {
        this.#depth--;
        if (this.#depth === 0) {
          const tail = chunk.subarray(start, i + 1);
          const whole = this.#parts.length ? Buffer.concat([...this.#parts, tail]) : Buffer.from(tail);
          out.push(whole.toString('utf8'));
          this.#parts = [];
          start = i + 1;
        }
      }
    }
    // Copy: the caller may reuse its buffer.
    if (start < chunk.length) this.#parts.push(Buffer.from(chunk.subarray(start)));
    return out;
  }

  /** Bytes of an incomplete message held back (non-zero when a connection ends mid-message). */
  get pendingBytes(): number {
    return this.#parts.reduce((n, b) => n + b.length, 0);
  }
}

// ---- codec ----------------------------------------------------------------------------------------

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `["uuid", s]`: a reference to an existing row. Throws on a malformed UUID. */
export function uuid(s: string): ['uuid', string] {
  if (!UUID_RE.test(s)) throw new TypeError(`not a UUID: ${JSON.stringify(s)}`);
  return ['uuid', s];
}

/** `["named-uuid", s]`: a reference to a row inserted (with `"uuid-name": s`) in the same transaction. */
export function namedUuid(s: string): ['named-uuid', string] {
  if (!ID_RE.test(s)) throw new TypeError(`not a valid uuid-name (letters, digits, _; not starting with a digit): ${JSON.stringify(s)}`);
  return ['named-uuid', s];
}

/** An encoded atom: a JSON scalar, or an already encoded `uuid(..)` / `namedUuid(..)`. */
export type EncodedAtom = OvsdbAtom | ['uuid', string] | ['named-uuid', string];

/** `["set", xs]` — always the explicit form (also valid for 0 or 1 elements). */
export function encodeSet(xs: Iterable<EncodedAtom>): ['set', EncodedAtom[]] {
  return ['set', [...xs]];
}

/** `["map", [[k, v], ...]]` from an object (string keys) or a Map (any atom keys). */
export function encodeMap(obj: Record<string, EncodedAtom> | ReadonlyMap<EncodedAtom, EncodedAtom>): ['map', [EncodedAtom, EncodedAtom][]] {
  const pairs = obj instanceof Map ? [...obj.entries()] : Object.entries(obj);
  return ['map', pairs];
}

/** An optional (min 0, max 1) column value: `undefined` → the empty set, else the bare value. */
export function encodeOptional(v: EncodedAtom | undefined): EncodedAtom | ['set', []] {
  return v === undefined ? ['set', []] : v;
}

function isTagged(v: unknown, tag: string): v is [string, unknown] {
  return Array.isArray(v) && v.length === 2 && v[0] === tag;
}

/** Decodes one atom: `["uuid", s]` and `["named-uuid", s]` become `s`; scalars stay as they are. */
export function decodeAtom(v: unknown): OvsdbAtom {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if ((isTagged(v, 'uuid') || isTagged(v, 'named-uuid')) && typeof v[1] === 'string') return v[1];
  throw new TypeError(`not an OVSDB atom: ${JSON.stringify(v)}`);
}

/** Decodes a set column: `["set", xs]` → xs; a bare atom (OVSDB's one-element form) → `[atom]`. */
export function decodeSet(v: unknown): OvsdbAtom[] {
  if (isTagged(v, 'set') && Array.isArray(v[1])) return v[1].map(decodeAtom);
  return [decodeAtom(v)];
}

/**
 * Decodes a map column to a plain object; keys are stringified (integer-keyed maps get "1", "2", ...).
 * `V` is asserted, not checked: the default suits string→string maps such as external_ids.
 */
export function decodeMap<V extends OvsdbAtom = string>(v: unknown): Record<string, V> {
  if (!isTagged(v, 'map') || !Array.isArray(v[1])) throw new TypeError(`not an OVSDB map: ${JSON.stringify(v)}`);
  const out: Record<string, V> = {};
  for (const pair of v[1] as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`bad OVSDB map pair: ${JSON.stringify(pair)}`);
    out[String(decodeAtom(pair[0]))] = decodeAtom(pair[1]) as V;
  }
  return out;
}

/** Decodes an optional (min 0, max 1) column: the empty set → `undefined`, else the atom. */
export function decodeOptional(v: unknown): OvsdbAtom | undefined {
  const xs = decodeSet(v);
  if (xs.length > 1) throw new TypeError(`optional value holds ${xs.length} elements: ${JSON.stringify(v)}`);
  return xs[0];
}

/**
 * Schema-less decoding of any datum: `["set", xs]` → array, `["map", ..]` → object, uuid → string,
 * scalar → scalar. Without the schema a one-element set is indistinguishable from a scalar and stays
 * bare (and an empty optional decodes to `[]`); prefer `decodeColumn`, which `select` and `monitor` use.
 */
export function decodeDatum(v: unknown): unknown {
  if (isTagged(v, 'set')) return decodeSet(v);
  if (isTagged(v, 'map')) return decodeMap<OvsdbAtom>(v);
  return decodeAtom(v);
}

/** A column's `type` as written in an OVSDB schema (`"integer"`, or `{key, value?, min?, max?}`). */
export type ColumnType = string | { key: unknown; value?: unknown; min?: number; max?: number | 'unlimited' };

/**
 * Decodes a datum by its schema column type: map → object, set (max > 1) → array (also for one
 * element), optional (min 0, max 1) → atom | undefined, scalar → atom.
 */
export function decodeColumn(v: unknown, type: ColumnType): unknown {
  if (typeof type === 'string') return decodeAtom(v);
  if (type.value !== undefined) return decodeMap<OvsdbAtom>(v);
  const min = type.min ?? 1;
  const max = type.max ?? 1;
  if (max === 'unlimited' || max > 1) return decodeSet(v);
  if (min === 0) return decodeOptional(v);
  return decodeAtom(v);
}

interface TableSchema {
  columns: Record<string, { type: ColumnType }>;
}

const UUID_COLUMN: ColumnType = 'uuid';

/** Decodes every column of a wire row (as in select results and monitor updates) by the table schema. */
function decodeRow(row: Record<string, unknown>, table: TableSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [col, v] of Object.entries(row)) {
    const type = col === '_uuid' || col === '_version' ? UUID_COLUMN : table.columns[col]?.type;
    out[col] = type === undefined ? decodeDatum(v) : decodeColumn(v, type);
  }
  return out;
}

// ---- client ---------------------------------------------------------------------------------------

export interface OvsdbConnectOptions {
  /** Connect timeout and default per-request timeout, ms (default 30 000). */
  timeoutMs?: number;
  /** Receives errors thrown by monitor callbacks (default: rethrown asynchronously, i.e. uncaught). */
  onError?: (err: unknown) => void;
}

export interface OvsdbRequestOptions {
  signal?: AbortSignal;
  /** Overrides the client's default request timeout. */
  timeoutMs?: number;
}

/** Rows changed in one monitor delivery: uuid → the row's monitored columns (decoded), or null if deleted. */
export type MonitorRows = Map<string, Record<string, unknown> | null>;

interface Pending {
  method: string;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface CfgWaiter {
  target: number;
  resolve(): void;
  reject(e: unknown): void;
}

/** Tracks Open_vSwitch.cur_cfg through a monitor, for `transactAndWait`. */
interface CfgWatch {
  rows: number;
  cur: number;
  waiters: Set<CfgWaiter>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function describeError(e: unknown): { error?: string; details?: string; text: string } {
  if (typeof e === 'string') return { error: e, text: e };
  if (isObject(e)) {
    const error = typeof e.error === 'string' ? e.error : JSON.stringify(e);
    const details = typeof e.details === 'string' ? e.details : undefined;
    return { error, ...(details !== undefined ? { details } : {}), text: details ? `${error}: ${details}` : error };
  }
  return { text: JSON.stringify(e) };
}

function describeOp(op: unknown): string {
  if (!isObject(op)) return JSON.stringify(op);
  return [op.op, op.table].filter((x) => typeof x === 'string').join(' ') || JSON.stringify(op);
}

/**
 * One JSON-RPC connection to ovsdb-server. Requests may run concurrently (matched by id); server
 * `echo` requests are answered; `update` notifications are routed to their monitors whenever they
 * arrive, including before the reply to the transaction that caused them. When the connection fails,
 * every pending request rejects with an `OvsdbError` (code `connection`), and `closed` resolves.
 * There is no automatic reconnect: watch `closed`, connect again and re-create monitors.
 */
export class OvsdbClient {
  readonly socketPath: string;
  /** Resolves once the connection is gone: with the error that ended it, or undefined after `close()`. */
  readonly closed: Promise<OvsdbError | undefined>;
  readonly #socket: Socket;
  readonly #timeoutMs: number;
  readonly #onError: ((err: unknown) => void) | undefined;
  readonly #framer = new JsonStreamFramer();
  readonly #pending = new Map<number, Pending>();
  readonly #monitors = new Map<string, (tableUpdates: unknown) => void>();
  readonly #schemas = new Map<string, Promise<Record<string, TableSchema>>>();
  #nextId = 1;
  #nextMonitor = 1;
  #failure: OvsdbError | undefined;
  #resolveClosed!: (e: OvsdbError | undefined) => void;
  #cfg: Promise<CfgWatch> | undefined;
  #cfgWatch: CfgWatch | undefined;

  private constructor(socketPath: string, socket: Socket, opts: OvsdbConnectOptions) {
    this.socketPath = socketPath;
    this.#socket = socket;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#onError = opts.onError;
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (e) => this.#fail(new OvsdbError(`connection to ${socketPath} failed: ${e.message}`, { code: 'connection', cause: e })));
    socket.on('close', () => {
      const partial = this.#framer.pendingBytes;
      this.#fail(
        new OvsdbError(`connection to ${socketPath} closed by the server${partial ? ` in the middle of a message (${partial} bytes)` : ''}`, {
          code: 'connection',
        }),
      );
    });
  }

  /** Connects to ovsdb-server's unix socket (`--remote=punix:<socketPath>`). */
  static connect(socketPath: string, opts: OvsdbConnectOptions = {}): Promise<OvsdbClient> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new OvsdbError(`connect to ${socketPath} timed out after ${timeoutMs} ms`, { code: 'timeout' }));
      }, timeoutMs);
      const onError = (e: Error) => {
        clearTimeout(timer);
        reject(new OvsdbError(`cannot connect to ${socketPath}: ${e.message}`, { code: 'connection', cause: e }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new OvsdbClient(socketPath, socket, opts));
      });
    });
  }

  /**
   * Runs one RFC 7047 transaction: `ops` are sent as they are (encode values with `encodeSet`,
   * `encodeMap`, `uuid`, `namedUuid`). Resolves with the raw result array (one element per op).
   * Rejects with `OvsdbError`: code `rpc` when the reply carries `error`, `op` when an operation
   * failed (message names the op index, op/table, error and details; nothing was committed),
   * `commit` when the commit itself failed. Aborting `signal` rejects with its reason and sends the
   * server a `cancel`; like a `timeout`, the transaction may nevertheless have committed.
   */
  async transact(db: string, ops: unknown[], opts: OvsdbRequestOptions = {}): Promise<unknown[]> {
    const result = await this.#request('transact', [db, ...ops], opts);
    if (!Array.isArray(result)) throw new OvsdbError(`transact on ${db}: result is not an array: ${JSON.stringify(result)}`, { code: 'protocol' });
    for (let i = 0; i < result.length; i++) {
      const r: unknown = result[i];
      if (!isObject(r) || r.error === undefined || r.error === null) continue;
      const { error, details } = describeError(r);
      const where = i < ops.length ? `op ${i} (${describeOp(ops[i])})` : `commit (after all ${ops.length} ops succeeded)`;
      throw new OvsdbError(`transaction on ${db} failed at ${where}: ${error}${details ? `: ${details}` : ''}`, {
        code: i < ops.length ? 'op' : 'commit',
        ...(error !== undefined ? { error } : {}),
        ...(details !== undefined ? { details } : {}),
        opIndex: i,
        results: result,
      });
    }
    return result;
  }

  /**
   * Selects rows of `table` in Open_vSwitch, decoded by the schema (see `decodeColumn`): uuids and
   * references are strings, sets are arrays, maps are objects, empty optionals are undefined.
   * `columns` defaults to all (including `_uuid`, `_version`); `where` is RFC 7047 conditions,
   * e.g. `[["name", "==", "br-int"]]`.
   */
  async select(table: string, columns?: string[], where: unknown[] = []): Promise<Record<string, unknown>[]> {
    const schema = await this.#tableSchema(OPEN_VSWITCH_DB, table);
    const op: Json = { op: 'select', table, where };
    if (columns) op.columns = columns;
    const [res] = await this.transact(OPEN_VSWITCH_DB, [op]);
    if (!isObject(res) || !Array.isArray(res.rows)) throw new OvsdbError(`select ${table}: unexpected result ${JSON.stringify(res)}`, { code: 'protocol' });
    return res.rows.map((row: unknown) => decodeRow(row as Json, schema));
  }

  /**
   * Monitors `table` in Open_vSwitch (`columns`: [] means all). `onUpdate` is called once with the
   * initial rows (also when there are none — then with an empty map) and then once per committed
   * change, with uuid → the row's monitored columns decoded as in `select` (for a modify: all
   * monitored columns, not only the changed ones), or null for a deleted row.
   * Resolves, after the initial delivery, to a cancel function that sends `monitor_cancel`.
   */
  async monitor(table: string, columns: string[], onUpdate: (rows: MonitorRows) => void): Promise<() => Promise<void>> {
    const schema = await this.#tableSchema(OPEN_VSWITCH_DB, table);
    const monId = `netform-${this.#nextMonitor++}`;
    const deliver = (tableUpdates: unknown) => {
      const rows: MonitorRows = new Map();
      const updates = isObject(tableUpdates) ? tableUpdates[table] : undefined;
      if (isObject(updates)) {
        for (const [id, u] of Object.entries(updates)) {
          if (!isObject(u)) continue;
          rows.set(id, isObject(u.new) ? decodeRow(u.new, schema) : null);
        }
      }
      try {
        onUpdate(rows);
      } catch (e) {
        if (this.#onError) this.#onError(e);
        else
          process.nextTick(() => {
            throw e;
          });
      }
    };
    // Registered before the request, so nothing sent for this monitor can be missed; updates that
    // (against RFC 7047 order) precede the initial reply are held until it has been delivered.
    let early: unknown[] | undefined = [];
    this.#monitors.set(monId, (u) => (early ? early.push(u) : deliver(u)));
    let initial: unknown;
    try {
      initial = await this.#request('monitor', [OPEN_VSWITCH_DB, monId, { [table]: columns.length ? { columns } : {} }], {});
    } catch (e) {
      this.#monitors.delete(monId);
      throw e;
    }
    deliver(initial);
    for (const u of early) deliver(u);
    early = undefined;
    let cancelled = false;
    return async () => {
      if (cancelled) return;
      cancelled = true;
      this.#monitors.delete(monId);
      if (!this.#failure) await this.#request('monitor_cancel', [monId], {});
    };
  }

  /**
   * Runs `ops` in Open_vSwitch in one transaction together with `next_cfg += 1`, then resolves once
   * ovs-vswitchd reports it applied that configuration (Open_vSwitch.cur_cfg >= the new next_cfg) —
   * what `ovs-vsctl` does unless `--no-wait`. Resolves with the results of `ops` only. `timeoutMs`
   * (default: the client's timeout) bounds the whole call; on expiry after the commit it rejects
   * with code `apply-timeout` — the change IS committed, vswitchd just did not confirm it (not
   * running, or stuck). Rejects before committing anything if the Open_vSwitch table has no row.
   */
  async transactAndWait(ops: unknown[], opts: { timeoutMs?: number } = {}): Promise<unknown[]> {
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const watch = await this.#cfgWatchReady();
    if (watch.rows === 0) throw new OvsdbError('the Open_vSwitch table has no row (was `ovs-vsctl init` run?)', { code: 'op' });
    const all = [
      ...ops,
      { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['next_cfg', '+=', 1]] },
      { op: 'select', table: 'Open_vSwitch', where: [], columns: ['next_cfg'] },
    ];
    const results = await this.transact(OPEN_VSWITCH_DB, all, { timeoutMs: Math.max(1, deadline - Date.now()) });
    const sel = results[ops.length + 1];
    const target = isObject(sel) && Array.isArray(sel.rows) && isObject(sel.rows[0]) ? sel.rows[0].next_cfg : undefined;
    if (typeof target !== 'number') throw new OvsdbError(`transactAndWait: no next_cfg in ${JSON.stringify(sel)}`, { code: 'protocol' });
    if (watch.cur < target) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => {
            watch.waiters.delete(waiter);
            reject(
              new OvsdbError(
                `ovs-vswitchd did not apply next_cfg ${target} within ${timeoutMs} ms (cur_cfg is ${watch.cur}); the transaction was committed`,
                { code: 'apply-timeout' },
              ),
            );
          },
          Math.max(0, deadline - Date.now()),
        );
        const waiter: CfgWaiter = {
          target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        watch.waiters.add(waiter);
      });
    }
    return results.slice(0, ops.length);
  }

  /** Closes the connection; pending requests reject with code `closed`. Idempotent. */
  async close(): Promise<void> {
    if (!this.#failure) {
      this.#fail(new OvsdbError('client closed', { code: 'closed' }), false);
      this.#socket.end();
      const timer = setTimeout(() => this.#socket.destroy(), 1000);
      timer.unref();
      if (!this.#socket.destroyed) await new Promise((r) => this.#socket.once('close', r));
      clearTimeout(timer);
    }
    await this.closed;
  }

  // ---- internals ----

  #request(method: string, params: unknown[], opts: OvsdbRequestOptions): Promise<unknown> {
    if (this.#failure) return Promise.reject(new OvsdbError(`${method}: ${this.#failure.message}`, { code: this.#failure.code, cause: this.#failure }));
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new OvsdbError(`${method} (request ${id}) timed out after ${timeoutMs} ms`, { code: 'timeout' }));
      }, timeoutMs);
      const onAbort = () => {
        cleanup();
        if (method === 'transact' && !this.#failure) this.#send({ id: null, method: 'cancel', params: [id] });
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        method,
        resolve: (v) => {
          cleanup();
          resolve(v);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      });
      this.#send({ id, method, params });
    });
  }

  #send(msg: unknown): void {
    this.#socket.write(JSON.stringify(msg));
  }

  #onData(chunk: Buffer): void {
    if (this.#failure) return;
    try {
      for (const text of this.#framer.push(chunk)) {
        let msg: unknown;
        try {
          msg = JSON.parse(text);
        } catch (e) {
          throw new OvsdbError(`protocol error: invalid JSON from server: ${(e as Error).message}`, { code: 'protocol', cause: e });
        }
        this.#onMessage(msg);
        if (this.#failure) return;
      }
    } catch (e) {
      this.#fail(e instanceof OvsdbError ? e : new OvsdbError(`protocol error: ${String(e)}`, { code: 'protocol', cause: e }));
    }
  }

  #onMessage(msg: unknown): void {
    if (!isObject(msg)) throw new OvsdbError(`protocol error: message is not an object: ${JSON.stringify(msg)}`, { code: 'protocol' });
    const { id } = msg;
    if (typeof msg.method === 'string') {
      if (msg.method === 'echo') {
        if (id !== null && id !== undefined) this.#send({ id, result: msg.params ?? [], error: null });
        return;
      }
      if (msg.method === 'update' && Array.isArray(msg.params)) {
        const monId: unknown = msg.params[0];
        if (typeof monId === 'string') this.#monitors.get(monId)?.(msg.params[1]);
        return;
      }
      // Other requests are not expected; other notifications (locked, stolen, ...) are ignored.
      if (id !== null && id !== undefined) this.#send({ id, result: null, error: { error: 'unknown method', details: msg.method } });
      return;
    }
    if (typeof id !== 'number') return; // not a reply to us
    const p = this.#pending.get(id);
    if (!p) return; // late reply to a request that timed out or was aborted
    if (msg.error !== null && msg.error !== undefined) {
      const d = describeError(msg.error);
      p.reject(
        new OvsdbError(`${p.method} failed: ${d.text}`, {
          code: 'rpc',
          ...(d.error !== undefined ? { error: d.error } : {}),
          ...(d.details !== undefined ? { details: d.details } : {}),
        }),
      );
    } else p.resolve(msg.result);
  }

  #fail(err: OvsdbError, report = true): void {
    if (this.#failure) return;
    this.#failure = err;
    for (const p of [...this.#pending.values()]) p.reject(err);
    this.#monitors.clear();
    if (this.#cfgWatch) for (const w of [...this.#cfgWatch.waiters]) w.reject(err);
    if (report) this.#socket.destroy();
    this.#resolveClosed(report ? err : undefined);
  }

  #tableSchema(db: string, table: string): Promise<TableSchema> {
    let tables = this.#schemas.get(db);
    if (!tables) {
      tables = this.#request('get_schema', [db], {}).then((s) => {
        if (!isObject(s) || !isObject(s.tables)) throw new OvsdbError(`get_schema ${db}: unexpected reply`, { code: 'protocol' });
        return s.tables as Record<string, TableSchema>;
      });
      this.#schemas.set(db, tables);
      tables.catch(() => this.#schemas.delete(db));
    }
    return tables.then((t) => {
      const s = t[table];
      if (!s) throw new OvsdbError(`database ${db} has no table ${JSON.stringify(table)}`, { code: 'op', error: 'unknown table' });
      return s;
    });
  }

  #cfgWatchReady(): Promise<CfgWatch> {
    if (!this.#cfg) {
      const watch: CfgWatch = { rows: 0, cur: 0, waiters: new Set() };
      const rows = new Map<string, number>();
      this.#cfgWatch = watch;
      this.#cfg = this.monitor('Open_vSwitch', ['cur_cfg'], (changed) => {
        for (const [id, row] of changed) {
          if (row) rows.set(id, typeof row.cur_cfg === 'number' ? row.cur_cfg : 0);
          else rows.delete(id);
        }
        watch.rows = rows.size;
        watch.cur = Math.max(0, ...rows.values());
        for (const w of [...watch.waiters]) {
          if (watch.cur >= w.target) {
            watch.waiters.delete(w);
            w.resolve();
          }
        }
      }).then(() => watch);
      this.#cfg.catch(() => (this.#cfg = undefined));
    }
    return this.#cfg;
  }
}

// An in-memory network backend served over HTTP on loopback, for testing the engine and the file
// mode end to end — including across a SIGKILLed netform process. It is NOT evidence that any real
// driver works: real drivers are tested against real backends.
//
// API (JSON): GET /objects?kind=&tag=  ·  GET /objects/:id  ·  POST /objects  ·
// PUT /objects/:id (If-Match: <revision>, 412 on mismatch)  ·  DELETE /objects/:id  ·  GET /version
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BackendObject {
  id: string;
  kind: 'network' | 'port';
  tags: string[];
  revision: number;
  fields: Record<string, unknown>;
}

export interface Counters {
  creates: number;
  updates: number;
  deletes: number;
  reads: number;
}

/** One write (POST, PUT, DELETE) as the backend saw it: which netform object (its owner tag, else the
 *  backend id), which replica (the x-netform-replica header), when it arrived and when it was answered
 *  (Date.now() ms of this process). */
export interface WriteRecord {
  object: string;
  replica: string;
  method: string;
  start: number;
  end: number;
  status: number;
}

export class FakeBackend {
  /** Every write, when `recordWrites` is set. */
  readonly writes: WriteRecord[] = [];
  recordWrites = false;
  /** Each write is answered this many ms after it arrived (a backend's own latency). */
  writeLatencyMs = 0;
  readonly objects = new Map<string, BackendObject>();
  readonly counters: Counters = { creates: 0, updates: 0, deletes: 0, reads: 0 };
  /** Creates per owner tag, to prove "no object created twice". */
  readonly createsByTag = new Map<string, number>();
  #next = 1;
  #server: Server | undefined;
  /** Fail the next N requests with this HTTP status. */
  failNext = { count: 0, status: 503 };
  /** When set, a create is committed and then its response withheld until the promise resolves. */
  holdCreates: ((obj: BackendObject) => Promise<void>) | undefined;
  url = '';

  async start(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server!.close(() => r()));
  }

  list(kind?: string, tag?: string): BackendObject[] {
    return [...this.objects.values()].filter((o) => (!kind || o.kind === kind) && (!tag || o.tags.includes(tag)));
  }

  /** Creates an object out of band (as another tool would). */
  put(kind: BackendObject['kind'], fields: Record<string, unknown>, tags: string[] = []): BackendObject {
    const o: BackendObject = { id: `obj-${this.#next++}`, kind, tags, revision: 1, fields };
    this.objects.set(o.id, o);
    return o;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = Date.now();
    const isWrite = req.method === 'POST' || req.method === 'PUT' || req.method === 'DELETE';
    let object: string | undefined;
    const sendNow = (status: number, body?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
      if (isWrite && this.recordWrites) {
        const replica = req.headers['x-netform-replica'];
        this.writes.push({ object: object ?? req.url ?? '', replica: typeof replica === 'string' ? replica : '', method: req.method!, start, end: Date.now(), status });
      }
    };
    const send = (status: number, body?: unknown) => {
      if (!isWrite || this.writeLatencyMs <= 0) return sendNow(status, body);
      const wait = start + this.writeLatencyMs - Date.now();
      if (wait <= 0) return sendNow(status, body);
      setTimeout(() => sendNow(status, body), wait);
    };
    if (this.failNext.count > 0) {
      this.failNext.count--;
      return send(this.failNext.status, { error: { type: 'Injected', message: `injected failure ${this.failNext.status}` } });
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter(Boolean);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    if (parts[0] === 'version') return send(200, { version: 'fake-1' });
    if (parts[0] !== 'objects') return send(404, { error: { type: 'NotFound', message: 'no such path' } });
    const id = parts[1];
    const ownerTag = (tags: string[] | undefined) => tags?.find((t) => t.startsWith('owner:'));
    object = ownerTag(id ? this.objects.get(id)?.tags : (body.tags as string[] | undefined)) ?? (id ? `id:${id}` : undefined);
    switch (req.method) {
      case 'GET': {
        this.counters.reads++;
        if (id) {
          const o = this.objects.get(id);
          return o ? send(200, o) : send(404, { error: { type: 'NotFound', message: `object ${id} not found` } });
        }
        return send(200, { objects: this.list(url.searchParams.get('kind') ?? undefined, url.searchParams.get('tag') ?? undefined) });
      }
      case 'POST': {
        const fields = (body.fields ?? {}) as Record<string, unknown>;
        const clash = this.#vlanClash(fields, undefined);
        if (clash) return send(409, { error: { type: 'VlanInUse', message: `VLAN ${String(fields.vlan)} on ${String(fields.physicalNetwork)} is in use by ${clash}` } });
        const o = this.put(body.kind as BackendObject['kind'], fields, (body.tags as string[]) ?? []);
        this.counters.creates++;
        for (const t of o.tags) this.createsByTag.set(t, (this.createsByTag.get(t) ?? 0) + 1);
        if (this.holdCreates) await this.holdCreates(o);
        return send(201, o);
      }
      case 'PUT': {
        const o = id ? this.objects.get(id) : undefined;
        if (!o) return send(404, { error: { type: 'NotFound', message: `object ${String(id)} not found` } });
        const ifMatch = req.headers['if-match'];
        if (ifMatch !== undefined && Number(ifMatch) !== o.revision) {
          return send(412, { error: { type: 'PreconditionFailed', message: `revision is ${o.revision}, not ${String(ifMatch)}` } });
        }
        const fields = { ...o.fields, ...((body.fields ?? {}) as Record<string, unknown>) };
        if (fields.vlan !== o.fields.vlan) return send(400, { error: { type: 'InvalidInput', message: 'vlan cannot be changed' } });
        o.fields = fields;
        if (body.tags) o.tags = body.tags as string[];
        o.revision++;
        this.counters.updates++;
        return send(200, o);
      }
      case 'DELETE': {
        if (!id || !this.objects.delete(id)) return send(404, { error: { type: 'NotFound', message: `object ${String(id)} not found` } });
        this.counters.deletes++;
        return send(204);
      }
      default:
        return send(405, { error: { type: 'MethodNotAllowed', message: String(req.method) } });
    }
  }

  #vlanClash(fields: Record<string, unknown>, except: string | undefined): string | undefined {
    if (fields.vlan === undefined) return undefined;
    for (const o of this.objects.values()) {
      if (o.id !== except && o.kind === 'network' && o.fields.vlan === fields.vlan && o.fields.physicalNetwork === fields.physicalNetwork) {
        return o.id;
      }
    }
    return undefined;
  }
}

// A fault-injecting HTTP proxy on loopback, in front of a real backend (Neutron, the UCSM emulator).
// Per request, from a seeded generator (a failure replays with the same seed): an error status
// without forwarding (500/503), a delay past the client's timeout (then forwarded), a connection
// reset without forwarding, or a write forwarded with its answer dropped (the backend committed it,
// the client never hears). Every request is logged with what was done to it, so tests can count
// writes and deletes from the proxy's own log, independent of netform.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind = 'status' | 'delay' | 'reset' | 'drop';

export interface FaultPlan {
  /** Probability that a request gets a fault (0..1). */
  rate: number;
  seed: number;
  /** Which faults may be drawn (default all). `drop` is only ever applied to writes. */
  kinds?: FaultKind[];
  /** How long a `delay` holds a request before forwarding it: past the client's timeout. */
  delayMs?: number;
  /** Only requests this accepts may get a fault (default: every request). */
  eligible?: (r: ProxiedRequest) => boolean;
  /** If none of the first N eligible requests drew a fault, the Nth gets one: a backend that sees few
   *  requests (UCSM batches its writes) is still faulted at least once. The draws are unchanged. */
  atLeastOneBy?: number;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  body: string;
}

export interface LoggedRequest extends ProxiedRequest {
  /** What the proxy did: forwarded untouched, or the fault it injected. */
  fault: FaultKind | 'none';
  /** The backend's status, when the request reached it and it answered. */
  status?: number;
  at: number;
}

export interface FaultStats {
  requests: number;
  faults: Record<FaultKind, number>;
  /** Writes the backend answered whose answer the client never received. */
  droppedAnswers: number;
}

export interface FaultProxyOptions {
  /** The backend, e.g. `http://127.0.0.1:9696`. */
  target: string;
  /** Which requests change the backend (default: any method but GET/HEAD). */
  isWrite?: (r: ProxiedRequest) => boolean;
  /** Keep the request log (default true). */
  log?: boolean;
}

/** mulberry32: a small seeded generator, enough to replay a fault sequence. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultProxy {
  #eligible = 0;
  #hits = 0;
  readonly log: LoggedRequest[] = [];
  readonly stats: FaultStats = { requests: 0, faults: { status: 0, delay: 0, reset: 0, drop: 0 }, droppedAnswers: 0 };
  readonly #target: URL;
  readonly #isWrite: (r: ProxiedRequest) => boolean;
  readonly #keepLog: boolean;
  #server: Server | undefined;
  #plan: FaultPlan | undefined;
  #random: () => number = Math.random;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  url = '';

  constructor(o: FaultProxyOptions) {
    this.#target = new URL(o.target);
    this.#isWrite = o.isWrite ?? ((r) => r.method !== 'GET' && r.method !== 'HEAD');
    this.#keepLog = o.log ?? true;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Starts injecting faults by this plan (or stops, with undefined). */
  faults(plan: FaultPlan | undefined): void {
    this.#plan = plan;
    this.#eligible = 0;
    this.#hits = 0;
    this.#random = plan ? seeded(plan.seed) : Math.random;
  }

  /** The requests that reached the backend and changed it: forwarded writes, including those whose
   *  answer was dropped or that were delayed. */
  writes(): LoggedRequest[] {
    return this.log.filter((r) => this.#isWrite(r) && r.fault !== 'status' && r.fault !== 'reset');
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #draw(r: ProxiedRequest): FaultKind | 'none' {
    const p = this.#plan;
    if (!p || (p.eligible && !p.eligible(r))) return 'none';
    // Two draws every time, whatever the outcome, so the sequence depends only on the request count.
    const drawn = this.#random() < p.rate;
    const pick = this.#random();
    this.#eligible++;
    const hit = drawn || (p.atLeastOneBy !== undefined && this.#eligible === p.atLeastOneBy && this.#hits === 0);
    if (!hit) return 'none';
    this.#hits++;
    const kinds = (p.kinds ?? ['status', 'delay', 'reset', 'drop']).filter((k) => k !== 'drop' || this.#isWrite(r));
    if (!kinds.length) return 'none';
    return kinds[Math.min(kinds.length - 1, Math.floor(pick * kinds.length))]!;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const r: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', body: body.toString('utf8') };
    const fault = this.#draw(r);
    const entry: LoggedRequest = { ...r, fault, at: Date.now() };
    this.stats.requests++;
    if (fault !== 'none') this.stats.faults[fault]++;
    if (this.#keepLog) this.log.push(entry);
    switch (fault) {
      case 'status': {
        const status = this.#random() < 0.5 ? 500 : 503;
        res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(`injected ${status}`);
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
      case 'delay':
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            this.#timers.delete(t);
            resolve();
          }, this.#plan?.delayMs ?? 5_000);
          this.#timers.add(t);
        });
        if (req.socket.destroyed) {
          // The client gave up; the request still reaches the backend, as a slow network's would.
          await this.#forward(req, body).then((u) => (entry.status = u.status), () => undefined);
          return;
        }
        break;
      default:
        break;
    }
    let upstream: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };
    try {
      upstream = await this.#forward(req, body);
    } catch {
      req.socket.destroy();
      return;
    }
    entry.status = upstream.status;
    if (fault === 'drop') {
      this.stats.droppedAnswers++;
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return;
    const headers = { ...upstream.headers };
    delete headers['transfer-encoding'];
    delete headers.connection;
    headers['content-length'] = String(upstream.body.length);
    res.writeHead(upstream.status, headers).end(upstream.body);
  }

  #forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: this.#target.host };
      delete headers.connection;
      const up = httpRequest(
        { hostname: this.#target.hostname, port: this.#target.port, method: req.method, path: req.url, headers, agent: false },
        (ur) => {
          const out: Buffer[] = [];
          ur.on('data', (c: Buffer) => out.push(c));
          ur.on('end', () => resolve({ status: ur.statusCode ?? 502, headers: ur.headers, body: Buffer.concat(out) }));
          ur.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });
  }
}

// An HTTP proxy on loopback in front of a real backend that can keep one answer from the client: the
// request a test names is forwarded, the backend commits it and answers, and the proxy holds that
// answer back (the connection stays open and silent). A test that SIGKILLs the client then has the
// hard case of a crash: the object exists on the backend, and the client never learned its id.
// Every request is logged (method, path, body, the backend's status, whether its answer was held),
// so a test can count from the wire what the client sent, independent of the client.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  body: string;
}

export interface LoggedRequest extends ProxiedRequest {
  /** The backend's status (undefined: it did not answer, or the proxy could not reach it). */
  status?: number;
  /** Whether the proxy kept the answer from the client. */
  held: boolean;
  at: number;
}

/** A request whose answer was held: the backend's status and body, which the client never saw. */
export interface HeldAnswer extends ProxiedRequest {
  status: number;
  answer: string;
}

interface Hold {
  match: (r: ProxiedRequest) => boolean;
  resolve: (h: HeldAnswer) => void;
}

export class HoldProxy {
  readonly log: LoggedRequest[] = [];
  readonly #target: URL;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #holds: Hold[] = [];
  url = '';

  constructor(target: string) {
    this.#target = new URL(target);
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

  /**
   * Arms a hold: the next request `match` accepts is forwarded and answered by the backend, and that
   * answer is kept from the client. Resolves once the backend has answered (the write is committed,
   * or refused: see `status`). One request per call; the holds armed are matched in order.
   */
  holdAnswer(match: (r: ProxiedRequest) => boolean): Promise<HeldAnswer> {
    return new Promise((resolve) => this.#holds.push({ match, resolve }));
  }

  /** Disarms every hold not yet matched (their promises never resolve). */
  clearHolds(): void {
    this.#holds = [];
  }

  /** The logged requests `match` accepts. */
  count(match: (r: LoggedRequest) => boolean): number {
    return this.log.filter(match).length;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const r: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', body: body.toString('utf8') };
    const i = this.#holds.findIndex((h) => h.match(r));
    const hold = i >= 0 ? this.#holds.splice(i, 1)[0] : undefined;
    const entry: LoggedRequest = { ...r, held: hold !== undefined, at: Date.now() };
    this.log.push(entry);
    let upstream: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };
    try {
      upstream = await this.#forward(req, body);
    } catch {
      req.socket.destroy();
      return;
    }
    entry.status = upstream.status;
    if (hold) {
      // Committed (or refused) by the backend; the client hears nothing, until it gives up or dies.
      hold.resolve({ ...r, status: upstream.status, answer: upstream.body.toString('utf8') });
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

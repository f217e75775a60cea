// The controller's and agent's HTTP endpoint: /metrics (Prometheus), /healthz (the process is alive
// and its event loop turns), /readyz (every watch is synced and fresh; the body says what is not).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Probes {
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Problems that make the process not ready; empty when ready. */
  notReady: () => string[];
}

/** Parses `host:port`, `:port` or `port`. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen must be [host:]port, not "${s}"`);
  let host = m[1] ?? '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host || '0.0.0.0', port };
}

export class ProbeServer {
  readonly #server: Server;

  constructor(probes: Probes) {
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/healthz' || path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      if (path === '/readyz') {
        const problems = probes.notReady();
        res.writeHead(problems.length ? 503 : 200, { 'content-type': 'text/plain' }).end(problems.length ? `${problems.join('\n')}\n` : 'ok\n');
        return;
      }
      if (path === '/metrics' && probes.metrics) {
        probes.metrics().then(
          (m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.body),
          (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err instanceof Error ? err.message : String(err)}\n`),
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
  }

  /** Listens; resolves with the bound address (port 0 picks a free one). */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

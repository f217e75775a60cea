// AdvertisedExtensions: the aliases a Neutron advertises, asked for once and shared, against a small
// HTTP server written here that answers GET /v2.0/extensions (and fails on demand).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { NeutronClient } from './client.ts';
import { AdvertisedExtensions } from './shared.ts';

let servers: http.Server[] = [];
let clients: NeutronClient[] = [];
afterEach(async () => {
  for (const c of clients) await c.close();
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  servers = [];
  clients = [];
});

async function neutron(aliases: string[]): Promise<{ c: NeutronClient; asked: () => number; failNext: (n: number) => void }> {
  let asked = 0;
  let failures = 0;
  const s = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/v2.0/extensions')) {
      asked++;
      setTimeout(() => {
        if (failures > 0) {
          failures--;
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"NeutronError": {"message": "no"}}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ extensions: aliases.map((alias) => ({ alias })) }));
      }, 20);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  const c = new NeutronClient({ endpoint: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, auth: { kind: 'noauth' }, tls: { insecureSkipVerify: false }, timeoutMs: 5_000, maxConcurrency: 8, log: pino({ level: 'silent' }) });
  clients.push(c);
  return { c, asked: () => asked, failNext: (n) => (failures = n) };
}

const signal = () => AbortSignal.timeout(5_000);

describe('AdvertisedExtensions', () => {
  it('asks once for any number of questions, the probe and the questions asked together included', async () => {
    const n = await neutron(['standard-attr-tag', 'tag-ports-during-bulk-creation']);
    const x = new AdvertisedExtensions(n.c);
    const answers = await Promise.all([x.has('tag-ports-during-bulk-creation', signal()), x.refresh(signal()), x.has('trunk', signal()), x.has('standard-attr-tag', signal())]);
    expect(answers[0]).toBe(true);
    expect([...(answers[1] as ReadonlySet<string>)].sort()).toEqual(['standard-attr-tag', 'tag-ports-during-bulk-creation']);
    expect(answers[2]).toBe(false);
    expect(answers[3]).toBe(true);
    expect(await x.has('trunk', signal())).toBe(false);
    expect(n.asked()).toBe(1);
    // A probe after that asks again.
    await x.refresh(signal());
    expect(n.asked()).toBe(2);
  });

  it('a failed look-up is not kept: the next question asks again', async () => {
    const n = await neutron(['tag-ports-during-bulk-creation']);
    n.failNext(1);
    const x = new AdvertisedExtensions(n.c);
    await expect(x.has('tag-ports-during-bulk-creation', signal())).rejects.toThrow();
    expect(await x.has('tag-ports-during-bulk-creation', signal())).toBe(true);
    expect(n.asked()).toBe(2);
  });
});

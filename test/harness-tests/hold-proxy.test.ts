// The hold proxy the L3 crash test relies on: a held request reaches the backend and is committed,
// its answer never reaches the client; every other request passes untouched; the log counts them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HoldProxy } from '../harness/hold-proxy.ts';

let target: Server;
let url = '';
const committed: string[] = [];
beforeAll(async () => {
  target = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'POST') committed.push(body);
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `obj-${committed.length}`, path: req.url }));
    });
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => target.close(() => r()));
});

describe('HoldProxy', () => {
  it('forwards the held request, keeps its answer from the client, passes the others, and logs them all', async () => {
    const p = new HoldProxy(url);
    await p.start();
    const held = p.holdAnswer((r) => r.method === 'POST' && r.body.includes('"b"'));
    expect(await (await fetch(`${p.url}/things`, { method: 'POST', body: '{"name":"a"}' })).json()).toEqual({ id: 'obj-1', path: '/things' });
    const lost = await fetch(`${p.url}/things`, { method: 'POST', body: '{"name":"b"}', signal: AbortSignal.timeout(500) }).then(
      () => 'answered',
      (e: Error) => e.name,
    );
    expect(lost).toBe('TimeoutError');
    expect(await held).toMatchObject({ method: 'POST', path: '/things', status: 201, answer: JSON.stringify({ id: 'obj-2', path: '/things' }) });
    expect(committed).toEqual(['{"name":"a"}', '{"name":"b"}']);
    // Disarmed once used: the same request now passes.
    expect((await fetch(`${p.url}/things`, { method: 'POST', body: '{"name":"b"}' })).status).toBe(201);
    expect((await fetch(`${p.url}/things`)).status).toBe(200);
    expect(p.log.map((r) => `${r.method} ${r.status} ${r.held}`)).toEqual(['POST 201 false', 'POST 201 true', 'POST 201 false', 'GET 200 false']);
    expect(p.count((r) => r.method === 'POST' && r.body.includes('"b"'))).toBe(2);
    await p.stop();
  });
});

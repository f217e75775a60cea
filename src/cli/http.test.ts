import { afterEach, describe, expect, it } from 'vitest';
import { parseListen, ProbeServer } from './http.ts';

let server: ProbeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('ProbeServer', () => {
  it('serves healthz, readyz with the reasons it is not ready, and metrics', async () => {
    let problems = ['watch of networks is stale (no data for 95 s)'];
    server = new ProbeServer({ notReady: () => problems, metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'netform_up 1\n' }) });
    const { port } = await server.listen('127.0.0.1', 0);
    const get = (p: string) => fetch(`http://127.0.0.1:${port}${p}`);
    expect((await get('/healthz')).status).toBe(200);
    let r = await get('/readyz');
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('networks is stale');
    problems = [];
    r = await get('/readyz');
    expect(r.status).toBe(200);
    r = await get('/metrics');
    expect(r.headers.get('content-type')).toContain('version=0.0.4');
    expect(await r.text()).toBe('netform_up 1\n');
    expect((await get('/nope')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it.each([
    [':8080', { host: '0.0.0.0', port: 8080 }],
    ['8080', { host: '0.0.0.0', port: 8080 }],
    ['127.0.0.1:9', { host: '127.0.0.1', port: 9 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
  ])('parses --listen %s', (s, want) => {
    expect(parseListen(s)).toEqual(want);
  });

  it.each(['x', '1:99999', 'host:'])('refuses --listen %s', (s) => {
    expect(() => parseListen(s)).toThrow(/--listen/);
  });
});

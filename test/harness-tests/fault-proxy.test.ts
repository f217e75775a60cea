// The fault proxy the chaos tests rely on: seeded faults replay, and `atLeastOneBy` guarantees a
// backend with few requests is faulted at least once without changing the draws.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../harness/fault-proxy.ts';

let target: Server;
let url = '';
beforeAll(async () => {
  target = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => target.close(() => r()));
});

async function faultsOf(plan: Parameters<FaultProxy['faults']>[0], n: number): Promise<string[]> {
  const p = new FaultProxy({ target: url });
  await p.start();
  p.faults(plan);
  for (let i = 0; i < n; i++) await fetch(`${p.url}/x${i}`).catch(() => undefined);
  await p.stop();
  return p.log.map((r) => r.fault);
}

describe('FaultProxy', () => {
  it('rate 0: no faults; with atLeastOneBy 3, exactly the third request is faulted', async () => {
    expect(await faultsOf({ rate: 0, seed: 1, kinds: ['status'] }, 5)).toEqual(['none', 'none', 'none', 'none', 'none']);
    expect(await faultsOf({ rate: 0, seed: 1, kinds: ['status'], atLeastOneBy: 3 }, 5)).toEqual(['none', 'none', 'status', 'none', 'none']);
  });

  it('the same seed replays the same faults; atLeastOneBy changes nothing once a fault was drawn', async () => {
    const plan = { rate: 0.5, seed: 42, kinds: ['status' as const] };
    const a = await faultsOf(plan, 12);
    expect(await faultsOf(plan, 12)).toEqual(a);
    const first = a.indexOf('status');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(await faultsOf({ ...plan, atLeastOneBy: first + 1 }, 12)).toEqual(a);
  });
});

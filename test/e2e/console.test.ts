// The console's server end to end: the real `netform run` (the test driver against the in-memory
// FakeBackend) on a copy of examples/quickstart — its Host's agent report written as a standalone agent
// writes it (no root, no Open vSwitch here) — plus a Provider and a Network held for approval. The view
// lists the networks, the demo host's interface table and the topology; an MTU edit in a file reaches
// an event-stream client as a `view` event; the held plan is approved through the console for its
// digest only; a non-loopback address without a token refuses to start.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleView } from '../../src/console/view.ts';
import { writeHostReport } from '../../src/adapters/files/host-reports.ts';
import type { HostReport } from '../../src/drivers/host-driver.ts';
import { FakeBackend } from '../support/fake-backend.ts';
import { ROOT, runCli, startCli, tempDir, waitFor, type Spawned } from '../support/cli.ts';

const TOKEN = 'console-e2e-token-0123456789abcdef';
const backend = new FakeBackend();
let url = '';
let run: Spawned | undefined;
let base = '';
let dir = '';

beforeAll(async () => {
  url = await backend.start();
});
afterAll(async () => {
  if (run) {
    run.child.kill('SIGTERM');
    await run.result;
  }
  await backend.stop();
});

/** The demo host as its agent would report it: ens3 under the Linux bridge ovirtmgmt, ens4 on OVS. */
function demoReport(): HostReport {
  return {
    lastObservedTime: new Date().toISOString(),
    interfaces: [
      { name: 'ens3', mac: '52:54:00:12:34:03', speedMbps: 10000, rxMbps: 0.5, txMbps: 0.25, drops: 0, fabric: 'linux-bridge', network: 'ovirtmgmt' },
      { name: 'ens4', mac: '52:54:00:12:34:04', speedMbps: 10000, rxMbps: 1.5, txMbps: 2, drops: 1, fabric: 'ovs' },
      { name: 'ovirtmgmt', mac: '52:54:00:12:34:03', address: '192.0.2.10/24', fabric: 'linux-bridge', network: 'ovirtmgmt' },
    ],
    dynamicVnics: { total: 0, free: 0 },
    networks: [
      { name: 'db', inSync: true },
      { name: 'ovirtmgmt', inSync: true },
      { name: 'web', inSync: true },
    ],
    problems: [],
    collected: [],
    syncPolicy: 'Auto',
  };
}

function get(path: string, auth = true): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(`${base}${path.slice(1)}`, { headers: auth ? { authorization: `Bearer ${TOKEN}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

function post(path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(`${base}${path.slice(1)}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    r.on('error', reject);
    r.end(JSON.stringify(body));
  });
}

const view = async (): Promise<ConsoleView> => {
  const r = await get('/api/v1/view');
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as ConsoleView;
};

/** An event-stream client (as the browser's, reading with fetch: it sends the token). */
function stream() {
  const views: { view: ConsoleView; at: number }[] = [];
  let buf = '';
  let res: IncomingMessage | undefined;
  const r = request(`${base}api/v1/stream`, { headers: { authorization: `Bearer ${TOKEN}` } }, (m) => {
    res = m;
    m.setEncoding('utf8');
    m.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (/^event: view$/m.test(block) && data) views.push({ view: JSON.parse(data) as ConsoleView, at: Date.now() });
      }
    });
  });
  r.end();
  return { views, close: () => res?.destroy() };
}

describe('console (netform run --ui)', () => {
  it('serves the view; an MTU edit reaches a stream client as a view event; a held plan is approved for its digest only', async () => {
    dir = tempDir('console-dir');
    const state = join(tempDir('console-state'), 'state');
    cpSync(join(ROOT, 'examples/quickstart'), dir, { recursive: true });
    writeFileSync(
      join(dir, 'provider.yaml'),
      `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: lab}
spec: {type: neutron, endpoint: ${url}, neutron: {auth: noauth}}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: uplink}
spec: {physicalNetwork: physnet9, vlan: {id: 900}, providerRefs: [{name: lab}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: held}
spec: {physicalNetwork: physnet9, vlan: {id: 901}, approval: Manual, providerRefs: [{name: lab}]}
`,
    );
    mkdirSync(state, { mode: 0o700 });
    await writeHostReport(state, 'demo', demoReport());
    const tokenFile = join(tempDir('console-token'), 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    run = startCli(['run', '--dir', dir, '--state', state, '--ui', '127.0.0.1:0', '--ui-token-file', tokenFile], { env: { NETFORM_LOG_LEVEL: 'info' } });
    const line = await waitFor('the console URL in the log', () => run!.output().stderr.split('\n').find((l) => l.includes('console at http')));
    base = (JSON.parse(line) as { url: string }).url;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(run.output().stderr).not.toContain(TOKEN);

    // Without the token: nothing.
    expect((await get('/api/v1/view', false)).status).toBe(403);

    // The networks, once the pool's VLANs are allocated and the uplink exists on the backend.
    const v = await waitFor('the networks converged in the view', async () => {
      const x = await view();
      const uplink = x.networks.find((n) => n.name === 'uplink');
      // The backend id is kept the moment it exists, Ready once the pass is done.
      return x.networks.find((n) => n.name === 'web')?.vlan !== undefined && uplink?.providers[0]?.externalId && uplink.health === 'ok' && x.hosts[0]?.health === 'ok' ? x : undefined;
    });
    expect(v.mode).toBe('file');
    expect(v.canApprove).toBe(true);
    expect(v.networks.map((n) => n.name)).toEqual(['db', 'held', 'ovirtmgmt', 'uplink', 'web']);
    const web = v.networks.find((n) => n.name === 'web')!;
    expect(web).toMatchObject({ mtu: 9000, vlan: 102, physicalNetwork: 'physnet1', hosts: ['demo'], vnics: ['shop/web1-nic1', 'shop/web2-nic1'] });
    expect(v.networks.find((n) => n.name === 'db')).toMatchObject({ vlan: 101, hosts: ['demo'], vnics: ['shop/db1-nic1', 'shop/web2-nic2'] });
    expect(v.networks.find((n) => n.name === 'uplink')!.providers).toEqual([{ name: 'lab', type: 'neutron', externalId: backend.list('network', 'owner:netform:Network/uplink')[0]!.id }]);
    const demo = v.hosts.find((h) => h.name === 'demo')!;
    expect(demo).toMatchObject({ cluster: 'default', ready: { status: 'True', reason: 'Available' }, outOfSync: [], problems: [] });
    expect(demo.lastReport).toMatch(/^\d{4}-/);
    expect(demo.interfaces.map((i) => [i.name, i.mac, i.fabric, i.network])).toEqual([
      ['ens3', '52:54:00:12:34:03', 'linux-bridge', 'ovirtmgmt'],
      ['ens4', '52:54:00:12:34:04', 'ovs', undefined],
      ['ovirtmgmt', '52:54:00:12:34:03', 'linux-bridge', 'ovirtmgmt'],
    ]);
    expect(demo.networks).toEqual([
      { name: 'db', interface: 'ens4', fabric: 'ovs', inSync: true },
      { name: 'ovirtmgmt', interface: 'ens3', fabric: 'linux-bridge', inSync: true },
      { name: 'web', interface: 'ens4', fabric: 'ovs', inSync: true },
    ]);
    // The topology: every network, the host with its bridges over its NICs, every VM off its bridge.
    const edges = new Set(v.topology.edges.map((e) => `${e.from} -> ${e.to}`));
    for (const e of [
      'provider:lab -> network:uplink',
      'network:web -> host:demo',
      'network:db -> host:demo',
      'network:ovirtmgmt -> host:demo',
      'host:demo -> host:demo/bridge:br-int',
      'host:demo -> host:demo/bridge:ovirtmgmt',
      'host:demo/bridge:br-int -> host:demo/nic:ens4',
      'host:demo/bridge:ovirtmgmt -> host:demo/nic:ens3',
      'host:demo/bridge:br-int -> vm:shop/web1',
      'host:demo/bridge:br-int -> vm:shop/web2',
      'host:demo/bridge:br-int -> vm:shop/db1',
    ]) {
      expect(edges.has(e), e).toBe(true);
    }
    expect(v.objects.find((o) => o.key === 'Network/uplink')).toMatchObject({ health: 'ok', ready: { status: 'True', reason: 'Available' } });

    // An MTU edit in the file: a stream client sees it.
    const s = stream();
    await waitFor('the first view on the stream', () => s.views.length >= 1);
    const file = join(dir, 'networks.yaml');
    const t0 = Date.now();
    writeFileSync(file, readFileSync(file, 'utf8').replace('mtu: 9000', 'mtu: 1500'));
    const seen = await waitFor('a view event with web at MTU 1500', () => s.views.find((x) => x.view.networks.find((n) => n.name === 'web')?.mtu === 1500), 10_000);
    const latency = seen.at - t0;
    // The figure is printed, not bounded here (a timing bound fails on a loaded machine): the browser
    // test (test/console/netform.test.ts) holds issue 14's "within 2 s", and the bench measures it.
    console.log(`console: MTU edit in the file → SSE view event: ${latency} ms`);
    s.close();

    // The held network: approve through the console, its digest only.
    const held = await waitFor('the held plan', async () => (await view()).networks.find((n) => n.name === 'held')?.pendingPlan);
    expect(held.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(backend.list('network', 'owner:netform:Network/held')).toHaveLength(0);
    const wrong = await post('/api/v1/approve', { key: 'Network/held', digest: `sha256:${'0'.repeat(64)}` });
    expect(wrong.status).toBe(409);
    expect(JSON.parse(wrong.body)).toMatchObject({ outcome: 'plan-changed', pending: held.digest });
    const ok = await post('/api/v1/approve', { key: 'Network/held', digest: held.digest });
    expect(ok.status).toBe(200);
    await waitFor('the approved network made on the backend', () => backend.list('network', 'owner:netform:Network/held').length === 1, 10_000);
    const after = await waitFor('the held plan gone from the view', async () => {
      const n = (await view()).networks.find((x) => x.name === 'held');
      return n && !n.pendingPlan && n.providers[0]?.externalId ? n : undefined;
    });
    expect(after.health).toBe('ok');
    const events = (await view()).events;
    expect(events.some((e) => e.key === 'Network/held' && e.type === 'action' && e.reason === 'Created')).toBe(true);
    expect(events.some((e) => e.key === 'Network/held' && e.type === 'Synced' && e.reason === 'AwaitingApproval')).toBe(true);
    expect(run.output().stderr).not.toContain(TOKEN);
  });

  it('refuses to start on a non-loopback address without a token', async () => {
    const d = tempDir('console-public-dir');
    cpSync(join(ROOT, 'examples/quickstart'), d, { recursive: true });
    const r = await runCli(['run', '--dir', d, '--state', join(tempDir('console-public-state'), 'state'), '--ui', '0.0.0.0:0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not a loopback address: give it a token (--ui-token-file PATH)');
  });
});

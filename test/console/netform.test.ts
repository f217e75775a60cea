/// <reference lib="dom" />
// The console in headless Chromium against the real `netform run --ui` (the CLI with the test driver
// on the in-memory FakeBackend) on a copy of examples/quickstart — its Host's agent report written as
// a standalone agent writes it (no root, no Open vSwitch here) — plus a Provider with a Network on it
// and a Network held for approval; the console started with a token (--ui-token-file). Issue 14's
// "What it must show", end to end:
//   - the quick start's host `demo` shows its interface table with the right networks, fabric and MACs;
//   - an edit of a network's MTU in its file appears in the browser without a reload within 2 s;
//   - the topology shows every network, host and VM of the quick start with the right edges (from the
//     SVG), screenshot saved as an artifact;
//   - an object turning Stalled (a VLAN change without allowReplace: ReplaceRequired) turns red;
//   - the held plan is approved through the console (Plan → Approve, the token asked once);
//   - axe-core finds no serious or critical violation on real data.
import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { writeHostReport } from '../../src/adapters/files/host-reports.ts';
import type { HostReport } from '../../src/drivers/host-driver.ts';
import { FakeBackend } from '../support/fake-backend.ts';
import { ROOT, startCli, tempDir, waitFor, type Spawned } from '../support/cli.ts';
import { artifactPath, canary } from '../support/secrets.ts';
import { launchBrowser, watchProblems, type BrowserHandle, type PageProblems } from '../harness/browser.ts';
import { axe, serious } from './support.ts';
import { DEMO_VNICS, tapOf } from './fixtures.ts';

const TOKEN = canary('console-netform-token');
const MACS = { ens3: '52:54:00:12:34:03', ens4: '52:54:00:12:34:04', brInt: 'aa:1c:40:55:8e:01' };
const backend = new FakeBackend();
let b: BrowserHandle;
let run: Spawned | undefined;
let url = '';
let dir = '';
let page: Page;
let problems: PageProblems;

/** The demo host as its agent reports it once converged: ens3 under the Linux bridge ovirtmgmt, ens4
 *  the trunk on Open vSwitch (the agent names no network for it), br-int, one tap per vNIC. */
function demoReport(): HostReport {
  return {
    lastObservedTime: new Date().toISOString(),
    interfaces: [
      { name: 'ens3', mac: MACS.ens3, speedMbps: 10000, rxMbps: 0.5, txMbps: 0.25, drops: 0, fabric: 'linux-bridge', network: 'ovirtmgmt' },
      { name: 'ens4', mac: MACS.ens4, speedMbps: 10000, rxMbps: 1.5, txMbps: 2, drops: 1, fabric: 'ovs' },
      { name: 'ovirtmgmt', mac: MACS.ens3, address: '192.0.2.10/24', fabric: 'linux-bridge', network: 'ovirtmgmt' },
      { name: 'br-int', mac: MACS.brInt, fabric: 'ovs' },
      ...DEMO_VNICS.map((v, i) => ({ name: tapOf(v.key), mac: `fe:54:00:00:0${i}:01`, rxMbps: 0.1 * (i + 1), txMbps: 0.2, drops: 0, fabric: 'ovs', network: v.network })),
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

/** The view the page shows now (what the app last rendered is what the server last sent). */
const rendered = () => page.evaluate(() => document.documentElement.dataset.renderedAt);
async function goHash(hash: string): Promise<void> {
  // The old view's render mark goes first: it would match until the hashchange handler mounts the new view.
  await page.evaluate((h: string) => {
    if (location.hash === h) return; // no navigation: what is rendered stays
    delete document.documentElement.dataset.renderedAt;
    location.hash = h;
  }, hash);
  await page.waitForFunction((h: string) => location.hash === h && !!document.documentElement.dataset.renderedAt, { polling: 'mutation' }, hash);
}

beforeAll(async () => {
  const backendUrl = await backend.start();
  dir = tempDir('console-web-dir');
  const state = join(tempDir('console-web-state'), 'state');
  cpSync(join(ROOT, 'examples/quickstart'), dir, { recursive: true });
  writeFileSync(
    join(dir, 'provider.yaml'),
    `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: lab}
spec: {type: neutron, endpoint: ${backendUrl}, neutron: {auth: noauth}}
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
  const tokenFile = join(tempDir('console-web-token'), 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  run = startCli(['run', '--dir', dir, '--state', state, '--ui', '127.0.0.1:0', '--ui-token-file', tokenFile], { env: { NETFORM_LOG_LEVEL: 'info' } });
  const line = await waitFor('the console URL in the log', () => run!.output().stderr.split('\n').find((l) => l.includes('console at http')), 30_000);
  url = (JSON.parse(line) as { url: string }).url;
  b = await launchBrowser();
  page = await b.browser.newPage();
  problems = await watchProblems(page);
}, 180_000);

afterAll(async () => {
  await b?.close();
  if (run) {
    run.child.kill('SIGTERM');
    await run.result;
  }
  await backend.stop();
});

describe('the console served by netform run --ui', () => {
  it('asks for the token, then shows the quick start networks as netform converges them', async () => {
    await page.goto(`${url}#/networks`);
    await page.waitForSelector('#token-dialog[open]', { timeout: 20_000 });
    await page.type('#token-input', TOKEN);
    await page.click('#token-dialog button[value="ok"]');
    await page.waitForFunction(() => !!document.documentElement.dataset.renderedAt, { timeout: 20_000 });
    const cell = (name: string, col: string) => page.$eval(`.vt-body .vt-row[data-key="${name}"] .col-${col}`, (el) => el.textContent?.trim()).catch(() => undefined);
    // The pool's VLANs once allocated (db 101, web 102), the provider's external id once made.
    await waitFor('the networks converged in the page', async () => (await cell('web', 'vlan')) === '102' && (await cell('db', 'vlan')) === '101' && /lab \S+/.test((await cell('uplink', 'providers')) ?? ''), 30_000);
    expect(await page.$$eval('.vt-body .vt-row', (rs) => rs.map((r) => (r as HTMLElement).dataset.key))).toEqual(['db', 'held', 'ovirtmgmt', 'uplink', 'web']);
    expect([await cell('web', 'mtu'), await cell('web', 'physnet'), await cell('web', 'hosts'), await cell('web', 'vnics')]).toEqual(['9000', 'physnet1', 'demo', 'shop/web1-nic1, shop/web2-nic1']);
    expect(await cell('ovirtmgmt', 'vlan')).toBe('untagged');
    expect(await page.$eval('#link-state', (el) => (el as HTMLElement).dataset.state)).toBe('live');
    expect(run!.output().stderr).not.toContain(TOKEN);
  }, 90_000);

  it('shows an MTU edit of networks.yaml without a reload, within 2 s', async () => {
    await goHash('#/networks');
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const file = join(dir, 'networks.yaml');
    const t0 = Date.now();
    writeFileSync(file, readFileSync(file, 'utf8').replace('mtu: 9000', 'mtu: 1500'));
    // The page's own clock (the same wall clock) notes when the cell first says 1500.
    await page.waitForFunction(
      () => {
        const w = window as unknown as { mtuSeenAt?: number };
        if (document.querySelector('.vt-body .vt-row[data-key="web"] .col-mtu')?.textContent === '1500') w.mtuSeenAt ??= Date.now();
        return w.mtuSeenAt;
      },
      { polling: 'mutation', timeout: 10_000 },
    );
    const latency = (await page.evaluate(() => (window as unknown as { mtuSeenAt: number }).mtuSeenAt)) - t0;
    console.log(`[console] MTU edit in networks.yaml → shown in the browser: ${latency} ms`);
    expect(latency).toBeLessThan(2_000);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  }, 30_000);

  it("shows the demo host's interface table with the right networks, fabric and MACs", async () => {
    await goHash('#/hosts/demo');
    await page.waitForSelector('#interfaces tbody tr');
    const rows = await page.$$eval('#interfaces tbody tr', (trs) =>
      trs.map((tr) => {
        const t = (sel: string) => tr.querySelector(sel)?.textContent?.trim() ?? '';
        return { name: t('.col-name'), address: t('.col-address'), mac: t('.col-mac'), fabric: t('.col-fabric'), network: t('.col-network'), sparks: tr.querySelectorAll('svg.spark').length };
      }),
    );
    const by = new Map(rows.map((r) => [r.name, r]));
    expect(by.get('ens3')).toMatchObject({ mac: MACS.ens3, fabric: 'linux-bridge', network: 'ovirtmgmt', sparks: 2 });
    // The trunk: its networks from where the Host places them.
    expect(by.get('ens4')).toMatchObject({ mac: MACS.ens4, fabric: 'ovs', network: 'db, web' });
    expect(by.get('ovirtmgmt')).toMatchObject({ address: '192.0.2.10/24', mac: MACS.ens3, fabric: 'linux-bridge', network: 'ovirtmgmt' });
    for (const v of DEMO_VNICS) expect(by.get(tapOf(v.key)), v.key).toMatchObject({ fabric: 'ovs', network: v.network });
    expect(await page.$$eval('#placements tbody tr', (trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent)))).toEqual([
      ['db', 'ens4', 'ovs', 'yes'],
      ['ovirtmgmt', 'ens3', 'linux-bridge', 'yes'],
      ['web', 'ens4', 'ovs', 'yes'],
    ]);
    expect(await page.$eval('#host-facts', (el) => el.textContent)).toContain('default');
  }, 30_000);

  it('draws every network, host and VM of the quick start with the right edges (from the SVG), and a screenshot', async () => {
    await goHash('#/topology');
    await page.waitForSelector('svg#topology g.node');
    const g = await page.$eval('svg#topology', (svg) => ({
      nodes: Array.from(svg.querySelectorAll<SVGGElement>('g.node'), (n) => ({ id: n.dataset.id!, kind: n.dataset.kind!, health: n.dataset.health! })),
      edges: Array.from(svg.querySelectorAll<SVGPathElement>('path.edge'), (p) => `${p.dataset.from} -> ${p.dataset.to}`),
    }));
    const ids = (kind: string) => g.nodes.filter((n) => n.kind === kind).map((n) => n.id).sort();
    expect(ids('network')).toEqual(['network:db', 'network:held', 'network:ovirtmgmt', 'network:uplink', 'network:web']);
    expect(ids('host')).toEqual(['host:demo']);
    expect(ids('vm')).toEqual(['vm:shop/db1', 'vm:shop/web1', 'vm:shop/web2']);
    expect(ids('provider')).toEqual(['provider:lab']);
    for (const e of [
      'provider:lab -> network:uplink',
      'provider:lab -> network:held',
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
      expect(g.edges, e).toContain(e);
    }
    // Exactly the server's edges, each drawn once.
    const view = JSON.parse(await page.evaluate(async (token: string) => (await fetch('/api/v1/view', { headers: { authorization: `Bearer ${token}` } })).text(), TOKEN)) as { topology: { nodes: { id: string }[]; edges: { from: string; to: string }[] } };
    expect([...g.edges].sort()).toEqual(view.topology.edges.map((e) => `${e.from} -> ${e.to}`).sort());
    expect(g.nodes.map((n) => n.id).sort()).toEqual(view.topology.nodes.map((n) => n.id).sort());
    const shot = artifactPath('console', 'topology-netform-run.png');
    await (await page.$('#topology-wrap'))!.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(5_000);
    console.log(`[console] topology screenshot (netform run --ui): ${shot}`);
  }, 30_000);

  it('turns a network red when it turns Stalled (a VLAN change netform may not make in place)', async () => {
    await goHash('#/topology');
    const node = 'g.node[data-id="network:uplink"]';
    await page.waitForSelector(`${node}.health-ok`);
    const file = join(dir, 'provider.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('vlan: {id: 900}', 'vlan: {id: 902}'));
    await page.waitForSelector(`${node}.health-degraded`, { timeout: 20_000 });
    expect(await page.$eval(`${node} rect.box`, (r) => getComputedStyle(r).fill)).toBe('rgb(198, 40, 40)');
    // Its object says why: Stalled, ReplaceRequired.
    const view = JSON.parse(await page.evaluate(async (token: string) => (await fetch('/api/v1/view', { headers: { authorization: `Bearer ${token}` } })).text(), TOKEN)) as { objects: { key: string; stalled?: { status: string; reason?: string } }[] };
    expect(view.objects.find((o) => o.key === 'Network/uplink')?.stalled).toMatchObject({ status: 'True', reason: 'ReplaceRequired' });
    await page.click(node);
    expect(await page.evaluate(() => location.hash)).toBe('#/networks/uplink');
    await page.waitForSelector('#network-details:not([hidden])');
    expect(await page.$eval('#network-details', (d) => d.textContent)).toContain('ReplaceRequired');
  }, 40_000);

  it("approves the held network's plan from the Plan view, for its digest, and the network is made", async () => {
    await goHash('#/plan');
    const button = 'article[data-key="Network/held"] button.approve';
    await page.waitForSelector(button, { timeout: 20_000 });
    const digest = await page.$eval(button, (el) => (el as HTMLElement).dataset.digest);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(backend.list('network', 'owner:netform:Network/held')).toHaveLength(0);
    await page.click(button);
    await page.waitForFunction(() => document.getElementById('announcer')?.textContent?.startsWith('Approved Network/held'), { polling: 100, timeout: 10_000 });
    // The token was kept from the start: no dialog this time.
    expect(await page.$eval('#token-dialog', (d) => (d as HTMLDialogElement).open)).toBe(false);
    await waitFor('the approved network made on the backend', () => backend.list('network', 'owner:netform:Network/held').length === 1, 15_000);
    await page.waitForSelector('article[data-key="Network/held"]', { hidden: true, timeout: 15_000 });
    await goHash('#/events');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#events li')).some((li) => (li as HTMLElement).dataset.key === 'Network/held' && li.textContent?.includes('Created')), { timeout: 15_000, polling: 'mutation' });
    expect(run!.output().stderr).not.toContain(TOKEN);
  }, 60_000);

  it('has no serious or critical accessibility violation on real data', async () => {
    for (const hash of ['#/networks', '#/networks/uplink', '#/hosts/demo', '#/topology', '#/out-of-sync', '#/plan', '#/events']) {
      await goHash(hash);
      if (hash === '#/topology') await page.waitForSelector('svg#topology g.node');
      expect(serious(await axe(page)), hash).toEqual([]);
    }
    // Nothing went wrong in the page the whole time, but the stream's first refusal (no token yet).
    expect(problems.problems.filter((x) => !/status of 403 .*\/api\/v1\/stream/.test(x))).toEqual([]);
    expect(await rendered()).toBeTruthy();
  }, 90_000);
});

/// <reference lib="dom" />
// The console in headless Chromium (Debian's chromium, puppeteer-core), against a ConsoleTarget
// serving console/, the allow-listed vendor files and a view this test controls. What it shows:
//   - the quick start's host `demo`: the interface table in oVirt's layout with the right networks,
//     fabrics, MACs and addresses; Rx/Tx sparklines that keep their samples across view events;
//     bonds, dynamic vNIC capacity and out-of-sync items;
//   - a `view` event with a changed MTU reaches the DOM without a reload (latency measured), over one
//     stream request, with no polling; unknown events are ignored; a dropped or refused stream is
//     reopened (retry, backoff);
//   - the topology: every network, host and VM node and every edge, drawn from node to node
//     (asserted from the SVG), a screenshot artifact; a node turning degraded gets the red class;
//     click and Enter open the object; many equivalent VMs collapse into one group with its count;
//   - 10,000 networks: a few dozen rows in the DOM, filter, sort and keyboard to the last row;
//   - the bearer token: asked before anything when every request needs it, or at the first approval;
//     kept for the tab, a refused one forgotten; "Sync" approves exactly the pending plan's digest.
// No page may log an error, violate the CSP, or request a file the server does not have.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { launchBrowser, watchProblems, type BrowserHandle } from '../harness/browser.ts';
import { startConsoleTarget, type ConsoleTarget } from '../harness/console-target.ts';
import { artifactPath, canary } from '../support/secrets.ts';
import { bigView, DEMO_MACS, DEMO_VNICS, digest, ID, quickstartView, tapOf, withHealth, withMtu, withSecondHost } from './fixtures.ts';
import { goHash, navigateBy, openConsole, renderedAt, waitRendered, type ConsolePage } from './support.ts';
import type { ConsoleView, TopoNode } from '../../src/console/view.ts';

const T0 = new Date('2026-12-05T04:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

let b: BrowserHandle;
const targets: ConsoleTarget[] = [];
const pages: ConsolePage[] = [];

beforeAll(async () => {
  b = await launchBrowser();
}, 180_000);

afterAll(async () => {
  for (const p of pages) await p.page.close().catch(() => undefined);
  await b?.close();
  for (const t of targets) await t.close();
});

async function start(view: ConsoleView, token?: string): Promise<ConsoleTarget> {
  const t = await startConsoleTarget({ view, token });
  targets.push(t);
  return t;
}

async function open(target: ConsoleTarget, hash: string, generatedAt: string): Promise<ConsolePage> {
  const p = await openConsole(b.browser, target, hash, generatedAt);
  pages.push(p);
  return p;
}

/** Nothing went wrong in the page, and the server had every file the page asked for. The browser logs
 *  every refused request as an error: `expected` lists the ones the test provoked. */
function clean(p: ConsolePage, target: ConsoleTarget, expected: RegExp[] = []): void {
  const unexpected = (x: string) => !expected.some((re) => re.test(x));
  expect(p.problems.problems.filter(unexpected)).toEqual([]);
  expect(target.requests.filter((r) => r.status >= 400).map((r) => `status of ${r.status} (${r.method} ${r.path})`).filter(unexpected)).toEqual([]);
}

interface IfRow {
  name: string;
  address: string;
  mac: string;
  speed: string;
  rx: string;
  tx: string;
  drops: string;
  bond: string;
  fabric: string;
  network: string;
  networkLinks: string[];
  rxSamples: number;
  txSamples: number;
  rxPoints: number;
}

function interfaceRows(page: Page): Promise<IfRow[]> {
  return page.$$eval('#interfaces tbody tr', (trs) =>
    trs.map((tr) => {
      const t = (sel: string) => tr.querySelector(sel)?.textContent?.trim() ?? '';
      const spark = (sel: string) => tr.querySelector(`${sel} svg.spark`);
      return {
        name: t('.col-name'),
        address: t('.col-address'),
        mac: t('.col-mac'),
        speed: t('.col-speed'),
        rx: t('.col-rx .rate'),
        tx: t('.col-tx .rate'),
        drops: t('.col-drops'),
        bond: t('.col-bond'),
        fabric: t('.col-fabric'),
        network: t('.col-network'),
        networkLinks: Array.from(tr.querySelectorAll('.col-network a'), (a) => a.getAttribute('href') ?? ''),
        rxSamples: Number((spark('.col-rx') as SVGElement | null)?.dataset.samples ?? 0),
        txSamples: Number((spark('.col-tx') as SVGElement | null)?.dataset.samples ?? 0),
        rxPoints: (spark('.col-rx')?.querySelector('polyline')?.getAttribute('points') ?? '').split(' ').filter(Boolean).length,
      };
    }),
  );
}

describe('the host view of the quick start', () => {
  it('shows the demo host interface table in oVirt layout with the right networks, fabrics and MACs', async () => {
    const v0 = quickstartView(T0, 0);
    const target = await start(v0);
    const p = await open(target, '/hosts/demo', v0.generatedAt);
    const { page } = p;

    const headers = await page.$$eval('#interfaces thead th', (ths) => ths.map((th) => th.textContent?.trim()));
    expect(headers).toEqual(['Name', 'Address', 'MAC', 'Speed', 'Rx', 'Tx', 'Drops', 'Bond', 'Fabric', 'Network']);

    const rows = await interfaceRows(page);
    const by = new Map(rows.map((r) => [r.name, r]));
    expect(rows.map((r) => r.name)).toEqual(v0.hosts[0]!.interfaces.map((i) => i.name));
    expect(by.get('ens3')).toMatchObject({ mac: DEMO_MACS.ens3, speed: '10 Gb/s', fabric: 'linux-bridge', network: 'ovirtmgmt', address: '—' });
    expect(by.get('ens4')).toMatchObject({ mac: DEMO_MACS.ens4, speed: '10 Gb/s', fabric: 'ovs', network: 'db, web', networkLinks: ['#/networks/db', '#/networks/web'] });
    expect(by.get('ovirtmgmt')).toMatchObject({ address: '192.0.2.10/24', mac: DEMO_MACS.ens3, fabric: 'linux-bridge', network: 'ovirtmgmt' });
    expect(by.get('br-int')).toMatchObject({ mac: DEMO_MACS.brInt, fabric: 'ovs', network: '—' });
    // Each VM's vNIC: its tap on br-int, on its network.
    for (const v of DEMO_VNICS) expect(by.get(tapOf(v.key)), v.key).toMatchObject({ fabric: 'ovs', network: v.network, networkLinks: [`#/networks/${v.network}`] });
    expect(by.get('ens4')!.rx).toBe(`${v0.hosts[0]!.interfaces[1]!.rxMbps!.toFixed(1)} Mb/s`);
    // The agent names no network for the trunk ens4: its networks come from where the host places them.
    expect(v0.hosts[0]!.interfaces[1]!.network).toBeUndefined();
    expect(await page.$$eval('#placements tbody tr', (trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent)))).toEqual([
      ['db', 'ens4', 'ovs', 'yes'],
      ['ovirtmgmt', 'ens3', 'linux-bridge', 'yes'],
      ['web', 'ens4', 'ovs', 'yes'],
    ]);

    const facts = await page.$eval('#host-facts', (el) => el.textContent ?? '');
    expect(facts).toContain('default');
    expect(await page.$eval('#last-report time', (el) => el.getAttribute('datetime'))).toBe(v0.hosts[0]!.lastReport);
    expect(await page.$eval('#vnic-capacity', (el) => el.textContent?.trim())).toBe('no Cisco VIC');
    clean(p, target);
  });

  it('draws Rx/Tx as sparklines whose samples are kept across view events and visits', async () => {
    const v0 = quickstartView(T0, 0);
    const target = await start(v0);
    const p = await open(target, '/hosts/demo', v0.generatedAt);
    await target.waitForStreams(1);
    let last = v0;
    for (let i = 1; i <= 3; i++) {
      last = quickstartView(at(i * 5), i);
      target.publish(last);
      await waitRendered(p.page, last.generatedAt);
    }
    let ens4 = (await interfaceRows(p.page)).find((r) => r.name === 'ens4')!;
    expect(ens4).toMatchObject({ rxSamples: 4, txSamples: 4, rxPoints: 4 });
    const label = await p.page.$eval('#interfaces tr[data-name="ens4"] .col-rx svg', (el) => el.getAttribute('aria-label'));
    expect(label).toContain(`${last.hosts[0]!.interfaces[1]!.rxMbps} Mb/s now`);

    // Away and back: the history is the app's, not the page's.
    await goHash(p.page, '#/networks', last.generatedAt);
    await goHash(p.page, '#/hosts/demo', last.generatedAt);
    ens4 = (await interfaceRows(p.page)).find((r) => r.name === 'ens4')!;
    expect(ens4.rxSamples).toBe(4);
    const next = quickstartView(at(20), 4);
    target.publish(next);
    await waitRendered(p.page, next.generatedAt);
    expect((await interfaceRows(p.page)).find((r) => r.name === 'ens4')!.rxSamples).toBe(5);
    clean(p, target);
  });

  it('shows bonds with their members, dynamic vNIC capacity and what is out of sync', async () => {
    const v = quickstartView(T0, 0);
    const host = v.hosts[0]!;
    host.interfaces.push({ name: 'ens5', mac: '52:54:00:6e:00:05', bond: 'bond0', speedMbps: 25000 }, { name: 'ens6', mac: '52:54:00:6e:00:06', bond: 'bond0', speedMbps: 25000 });
    host.bonds = [{ name: 'bond0', members: ['ens5', 'ens6'] }];
    host.dynamicVnics = { total: 16, free: 12 };
    host.outOfSync = [{ name: 'ens4', difference: 'mtu 1500 on the host, 9000 declared' }];
    host.pendingPlan = { digest: digest('host-demo'), summary: '1 change on demo', changes: ['~ ens4: mtu 1500 → 9000'], impact: '4 VMs see a link flap' };
    host.problems = ['network storage: no NIC or bond reaches physnet7'];
    const target = await start(v);
    const p = await open(target, '/hosts/demo', v.generatedAt);
    expect(await p.page.$eval('#bonds li[data-bond="bond0"]', (el) => el.textContent)).toBe('bond0: ens5, ens6');
    expect((await interfaceRows(p.page)).filter((r) => r.bond === 'bond0').map((r) => r.name)).toEqual(['ens5', 'ens6']);
    expect(await p.page.$eval('#vnic-capacity', (el) => el.textContent?.trim())).toBe('12 free of 16');
    expect(await p.page.$eval('#vnic-capacity meter', (el) => (el as HTMLMeterElement).value)).toBe(4);
    const oos = await p.page.$eval('#host-out-of-sync', (el) => el.textContent ?? '');
    expect(oos).toContain('mtu 1500 on the host, 9000 declared');
    expect(oos).toContain('~ ens4: mtu 1500 → 9000');
    expect(oos).toContain('Impact: 4 VMs see a link flap');
    expect(await p.page.$eval('#host-out-of-sync button.approve', (el) => [(el as HTMLElement).dataset.key, (el as HTMLElement).dataset.digest, el.textContent])).toEqual(['Host/demo', digest('host-demo'), 'Sync Host/demo']);
    expect(await p.page.$eval('#host-problems', (el) => el.textContent)).toContain('network storage: no NIC or bond reaches physnet7');
    clean(p, target);
  });
});

describe('live updates', () => {
  it('shows an MTU change from a view event without a reload, over one stream and no polling', async () => {
    const v0 = quickstartView(T0, 0);
    const target = await start(v0);
    const p = await open(target, '/networks', v0.generatedAt);
    const { page } = p;
    const cell = (name: string, col: string) => page.$eval(`.vt-body .vt-row[data-key="${name}"] .col-${col}`, (el) => el.textContent?.trim());
    expect([await cell('web', 'vlan'), await cell('web', 'mtu'), await cell('web', 'physnet')]).toEqual(['102', '9000', 'physnet1']);
    expect([await cell('db', 'vlan'), await cell('db', 'mtu')]).toEqual(['101', '1500']);
    expect(await cell('ovirtmgmt', 'vlan')).toBe('untagged');
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    await target.waitForStreams(1);

    const latencies: number[] = [];
    for (const [i, mtu] of [1400, 8900, 9000].entries()) {
      const v = withMtu(v0, 'web', mtu, at(i + 1));
      const t0 = Date.now();
      target.publish(v);
      await waitRendered(page, v.generatedAt, 5_000);
      latencies.push((await renderedAt(page, v.generatedAt))! - t0);
      expect(await cell('web', 'mtu')).toBe(String(mtu));
    }
    console.log(`[console] view event → MTU in the DOM: ${latencies.join(', ')} ms`);
    for (const ms of latencies) expect(ms).toBeLessThan(2_000);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

    // An event the console does not know is ignored; the next view still renders.
    target.send('patch', JSON.stringify({ op: 'replace', path: '/networks/0/mtu', value: 1 }));
    const v4 = withMtu(v0, 'db', 1450, at(10));
    target.publish(v4);
    await waitRendered(page, v4.generatedAt);
    expect(await cell('db', 'mtu')).toBe('1450');

    // Idle: nothing is fetched again.
    const before = target.requests.length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(target.requests.length).toBe(before);
    expect(target.requests.filter((r) => r.path === '/api/v1/stream')).toHaveLength(1);
    expect(target.requests.filter((r) => r.path.startsWith('/api/v1/view'))).toHaveLength(0);
    clean(p, target);
  });
});

describe('a dropped stream', () => {
  it('says so, opens it again — also after a refused attempt, with a backoff — and shows the view it missed, without a reload', async () => {
    const v0 = quickstartView(T0, 0);
    const target = await start(v0);
    const p = await open(target, '/networks', v0.generatedAt);
    const { page } = p;
    await page.waitForFunction(() => document.getElementById('link-state')?.dataset.state === 'live', { polling: 'mutation' });
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    await target.waitForStreams(1);
    // The first attempt after the drop gets a 503 (a server restarting behind a proxy): tried again.
    target.failStreams(1);
    target.dropStreams();
    await page.waitForFunction(() => document.getElementById('link-state')?.dataset.state === 'reconnecting', { polling: 'mutation', timeout: 10_000 });
    // Published while no one listens: the reconnected stream's first event carries it.
    const v1 = withMtu(v0, 'web', 1280, at(1));
    target.publish(v1);
    await waitRendered(page, v1.generatedAt, 15_000);
    expect(await page.$eval('.vt-body .vt-row[data-key="web"] .col-mtu', (c) => c.textContent)).toBe('1280');
    expect(await page.$eval('#link-state', (el) => [(el as HTMLElement).dataset.state, el.textContent])).toEqual(['live', 'live']);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(target.requests.filter((r) => r.path === '/api/v1/stream').map((r) => r.status)).toEqual([200, 503, 200]);
    clean(p, target, [/status of 503 .*\/api\/v1\/stream/]);
  }, 30_000);
});

interface DrawnNode {
  id: string;
  kind: string;
  health: string;
  cls: string;
  count?: string;
  box: { x: number; y: number; w: number; h: number };
}
interface DrawnEdge {
  from: string;
  to: string;
  start: { x: number; y: number };
  end: { x: number; y: number };
}

async function drawn(page: Page): Promise<{ nodes: DrawnNode[]; edges: DrawnEdge[] }> {
  return page.$eval('svg#topology', (svg) => {
    const nodes = Array.from(svg.querySelectorAll<SVGGElement>('g.node'), (g) => {
      const m = g.transform.baseVal.consolidate()?.matrix;
      const r = g.querySelector('rect.box') as SVGRectElement;
      return {
        id: g.dataset.id ?? '',
        kind: g.dataset.kind ?? '',
        health: g.dataset.health ?? '',
        cls: g.getAttribute('class') ?? '',
        count: g.dataset.count,
        box: { x: m?.e ?? 0, y: m?.f ?? 0, w: r.width.baseVal.value, h: r.height.baseVal.value },
      };
    });
    const edges = Array.from(svg.querySelectorAll<SVGPathElement>('path.edge'), (p) => {
      const s = p.getPointAtLength(0);
      const e = p.getPointAtLength(p.getTotalLength());
      return { from: p.dataset.from ?? '', to: p.dataset.to ?? '', start: { x: s.x, y: s.y }, end: { x: e.x, y: e.y } };
    });
    return { nodes, edges };
  });
}

const near = (pt: { x: number; y: number }, b: DrawnNode['box'], slack = 3) => pt.x >= b.x - slack && pt.x <= b.x + b.w + slack && pt.y >= b.y - slack && pt.y <= b.y + b.h + slack;
const edgeKey = (e: { from: string; to: string }) => `${e.from} > ${e.to}`;

describe('the topology', () => {
  it('draws every network, host and VM of the quick start with the right edges, and a screenshot', async () => {
    const v0 = quickstartView(T0, 0);
    const target = await start(v0);
    const p = await open(target, '/topology', v0.generatedAt);
    const { nodes, edges } = await drawn(p.page);
    const ids = (kind: string) => nodes.filter((n) => n.kind === kind).map((n) => n.id).sort();
    expect(ids('network')).toEqual(['network:db', 'network:ovirtmgmt', 'network:web']);
    expect(ids('host')).toEqual(['host:demo']);
    expect(ids('vm')).toEqual(['vm:shop/db1', 'vm:shop/web1', 'vm:shop/web2']);
    expect(nodes.map((n) => n.id).sort()).toEqual(v0.topology.nodes.map((n: TopoNode) => n.id).sort());
    expect(edges.map(edgeKey).sort()).toEqual(v0.topology.edges.map(edgeKey).sort());
    // The networks ride the host, the host has its bridges over their NICs, the VMs hang off br-int.
    for (const n of ['db', 'ovirtmgmt', 'web']) expect(edges.map(edgeKey)).toContain(`${ID.network(n)} > ${ID.host('demo')}`);
    expect(edges.map(edgeKey)).toContain(`${ID.bridge('demo', 'br-int')} > ${ID.nic('demo', 'ens4')}`);
    expect(edges.map(edgeKey)).toContain(`${ID.bridge('demo', 'ovirtmgmt')} > ${ID.nic('demo', 'ens3')}`);
    for (const v of DEMO_VNICS) expect(edges.map(edgeKey)).toContain(`${ID.bridge('demo', 'br-int')} > ${ID.vm('shop', v.vm)}`);
    // Each edge is drawn from its source's box to its target's, left to right (layered, RIGHT).
    const box = new Map(nodes.map((n) => [n.id, n.box]));
    for (const e of edges) {
      expect(near(e.start, box.get(e.from)!), `${edgeKey(e)} starts at its source`).toBe(true);
      expect(near(e.end, box.get(e.to)!), `${edgeKey(e)} ends at its target`).toBe(true);
      expect(box.get(e.to)!.x, `${edgeKey(e)} points right`).toBeGreaterThan(box.get(e.from)!.x);
    }
    // No two boxes overlap.
    for (const a of nodes) for (const c of nodes) if (a.id < c.id) expect(a.box.x + a.box.w <= c.box.x || c.box.x + c.box.w <= a.box.x || a.box.y + a.box.h <= c.box.y || c.box.y + c.box.h <= a.box.y, `${a.id} / ${c.id}`).toBe(true);

    const shot = artifactPath('console', 'topology-quickstart.png');
    await (await p.page.$('#topology-wrap'))!.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(5_000);
    console.log(`[console] topology screenshot: ${shot}`);
    clean(p, target);
  });

  it('turns a node red when its object turns degraded (Stalled), in place, and back', async () => {
    const v0 = quickstartView(T0, 0);
    const target = await start(v0);
    const p = await open(target, '/topology', v0.generatedAt);
    const { page } = p;
    const node = 'g.node[data-id="network:web"]';
    const fill = () => page.$eval(`${node} rect.box`, (r) => getComputedStyle(r).fill);
    expect(await page.$eval(node, (g) => g.getAttribute('class'))).toContain('health-ok');
    const okFill = await fill();
    await page.$eval(node, (g) => ((g as unknown as { marked: boolean }).marked = true));
    await target.waitForStreams(1);

    const v1 = withHealth(v0, 'network:web', 'degraded', at(1));
    target.publish(v1);
    await waitRendered(page, v1.generatedAt);
    expect(await page.$eval(node, (g) => [g.getAttribute('class'), (g as SVGGElement).dataset.health])).toEqual([expect.stringContaining('health-degraded'), 'degraded']);
    expect(await fill()).toBe('rgb(198, 40, 40)');
    expect(await fill()).not.toBe(okFill);
    // Recoloured, not re-laid out: the same element; no other node is red.
    expect(await page.$eval(node, (g) => (g as unknown as { marked?: boolean }).marked)).toBe(true);
    expect((await drawn(page)).nodes.filter((n) => n.cls.includes('health-degraded')).map((n) => n.id)).toEqual(['network:web']);

    const v2 = withHealth(v1, 'network:web', 'ok', at(2));
    target.publish(v2);
    await waitRendered(page, v2.generatedAt);
    expect(await page.$eval(node, (g) => g.getAttribute('class'))).not.toContain('health-degraded');
    clean(p, target);
  });

  it('opens the object on click and on Enter; other nodes show their details', async () => {
    const v0 = quickstartView(T0, 0);
    const target = await start(v0);
    const p = await open(target, '/topology', v0.generatedAt);
    const { page } = p;
    await navigateBy(page, () => page.click('g.node[data-id="host:demo"]'), '#/hosts/demo', v0.generatedAt);
    expect(await page.$eval('h1', (h) => h.textContent)).toContain('Host demo');

    await goHash(page, '#/topology', v0.generatedAt);
    await page.$eval('g.node[data-id="network:web"]', (g) => (g as SVGGElement).focus());
    await navigateBy(page, () => page.keyboard.press('Enter'), '#/networks/web', v0.generatedAt);
    expect(await page.$eval('#network-details h2', (h) => h.textContent)).toContain('Network web');

    await goHash(page, '#/topology', v0.generatedAt);
    await page.$eval('g.node[data-id="vm:shop/web2"]', (g) => (g as SVGGElement).focus());
    await page.keyboard.press('Enter');
    await page.waitForSelector('#topo-details:not([hidden]) h2');
    expect(await page.$eval('#topo-details h2', (h) => h.textContent)).toBe('VM web2');
    // Its vNICs, from the edge's label: two, on web and db, both off br-int.
    expect(await page.$eval('#topo-details', (d) => d.textContent)).toContain('bridge br-int: nic1 (web), nic2 (db)');
    expect(await page.$$eval('path.edge.hl', (ps) => ps.map((x) => `${(x as SVGElement).dataset.from} > ${(x as SVGElement).dataset.to}`).sort())).toEqual([`${ID.bridge('demo', 'br-int')} > vm:shop/web2`]);
    clean(p, target);
  });

  it('shows only what connects to a node when asked, from the host page\'s link, and everything again', async () => {
    const v0 = withSecondHost(quickstartView(T0, 0));
    const target = await start(v0);
    const p = await open(target, '/hosts/demo', v0.generatedAt);
    const { page } = p;
    await page.click('.see-also a');
    await page.waitForSelector('#topo-details:not([hidden]) #topo-focus-button');
    expect(await page.$eval('#topo-details h2', (h) => h.textContent)).toBe('host demo');
    expect(await page.$eval('g.node[data-id="host:demo"]', (g) => g.getAttribute('class'))).toContain('selected');
    await page.click('#topo-focus-button');
    await page.waitForSelector('#topo-focus:not([hidden])');
    // demo, its networks, devices and VMs: not hv2, which also carries web, nor hv2's devices and VM.
    const own = quickstartView(T0, 0).topology.nodes.map((n) => n.id).sort();
    await page.waitForFunction((n: number) => document.querySelectorAll('svg#topology g.node').length === n, { timeout: 10_000 }, own.length);
    expect((await drawn(page)).nodes.map((n) => n.id).sort()).toEqual(own);
    expect(own.length).toBeLessThan(v0.topology.nodes.length);
    await page.click('#topo-unfocus');
    await page.waitForFunction((n: number) => document.querySelectorAll('svg#topology g.node').length === n, { timeout: 10_000 }, v0.topology.nodes.length);
    expect(await page.$eval('#topo-focus', (el) => (el as HTMLElement).hidden)).toBe(true);
    clean(p, target);
  });

  it('collapses many equivalent VMs into one group node with its count, and expands it', async () => {
    const v = quickstartView(T0, 0);
    for (let i = 0; i < 40; i++) {
      v.topology.nodes.push({ id: `vm:shop/bulk${i}`, kind: 'vm', label: `bulk${i}`, health: i === 7 ? 'degraded' : 'ok' });
      v.topology.edges.push({ from: ID.bridge('demo', 'br-int'), to: `vm:shop/bulk${i}`, kind: 'vnic' });
    }
    const target = await start(v);
    const p = await open(target, '/topology', v.generatedAt);
    let g = await drawn(p.page);
    const groups = g.nodes.filter((n) => n.kind === 'group');
    // The quick start's three VMs hang off br-int as the 40 do: one group of 43, as unhealthy as its worst.
    expect(groups.map((n) => n.count)).toEqual(['43']);
    expect(groups[0]!.health).toBe('degraded');
    expect(g.nodes.filter((n) => n.kind === 'vm')).toEqual([]);
    expect(g.edges.filter((e) => e.to === groups[0]!.id).map((e) => e.from)).toEqual([ID.bridge('demo', 'br-int')]);

    await p.page.click(`g.node[data-kind="group"]`);
    await p.page.waitForSelector('#topo-details:not([hidden]) button.primary');
    expect(await p.page.$$eval('#topo-details .members li', (lis) => lis.length)).toBeGreaterThanOrEqual(43);
    await p.page.click('#topo-details button.primary');
    await p.page.waitForFunction(() => document.querySelectorAll('svg#topology g.node[data-kind="vm"]').length === 43, { timeout: 20_000 });
    g = await drawn(p.page);
    expect(g.nodes.filter((n) => n.kind === 'group')).toEqual([]);
    expect(g.edges).toHaveLength(v.topology.edges.length);
    clean(p, target);
  });
});

describe('10,000 networks', () => {
  it('keeps a few dozen rows in the DOM, and filters, sorts and reaches the last row by keyboard', async () => {
    const v = bigView(10_000);
    const target = await start(v);
    const p = await open(target, '/networks', v.generatedAt);
    const { page } = p;
    const state = () =>
      page.$eval('.vt', (grid) => ({
        rowcount: grid.getAttribute('aria-rowcount'),
        rows: grid.querySelectorAll('.vt-body .vt-row').length,
        keys: Array.from(grid.querySelectorAll<HTMLElement>('.vt-body .vt-row'), (r) => r.dataset.key),
        count: document.getElementById('networks-count')?.textContent,
      }));
    let s = await state();
    expect(s.rowcount).toBe('10001');
    expect(s.rows).toBeGreaterThan(5);
    expect(s.rows).toBeLessThan(100);
    expect(s.keys).toContain('net-00000');
    expect(s.count).toBe('10000 networks');

    await page.type('#networks-filter', 'net-09999');
    await page.waitForFunction(() => document.querySelector('.vt')?.getAttribute('aria-rowcount') === '2', { polling: 'mutation' });
    s = await state();
    expect(s.keys).toEqual(['net-09999']);
    expect(s.count).toBe('1 of 10000 networks');

    // Every word must match: degraded networks on physnet2.
    await page.$eval('#networks-filter', (i) => ((i as HTMLInputElement).value = ''));
    await page.type('#networks-filter', 'degraded physnet2');
    const want = v.networks.filter((n) => n.health === 'degraded' && n.physicalNetwork === 'physnet2').length;
    await page.waitForFunction((n: number) => document.querySelector('.vt')?.getAttribute('aria-rowcount') === String(n + 1), { polling: 'mutation' }, want);

    await page.$eval('#networks-filter', (i) => ((i as HTMLInputElement).value = ''));
    await page.type('#networks-filter', ' ');
    await page.waitForFunction(() => document.querySelector('.vt')?.getAttribute('aria-rowcount') === '10001', { polling: 'mutation' });
    // VLAN, descending: the highest VLAN first; untagged networks last.
    await page.click('button.sort[data-column="vlan"]');
    await page.click('button.sort[data-column="vlan"]');
    expect(await page.$eval('[role="columnheader"][data-column="vlan"]', (c) => c.getAttribute('aria-sort'))).toBe('descending');
    const maxVlan = Math.max(...v.networks.map((n) => n.vlan ?? 0));
    expect(await page.$eval('.vt-body .vt-row[aria-rowindex="2"] .col-vlan', (c) => c.textContent)).toBe(String(maxVlan));

    // Keyboard: the first row, then End: the last row is rendered, focused, and still one of few.
    await page.focus('.vt-body .vt-row[aria-rowindex="2"]');
    await page.keyboard.press('End');
    await page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.getAttribute('aria-rowindex') === '10001', { polling: 100 });
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).querySelector('.col-vlan')?.textContent)).toBe('untagged');
    s = await state();
    expect(s.rows).toBeLessThan(100);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#network-details:not([hidden])');
    const last = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.key);
    expect(await page.$eval('#network-details h2', (h) => h.textContent)).toContain(`Network ${last}`);
    expect(await page.evaluate(() => location.hash)).toBe(`#/networks/${last}`);
    clean(p, target);
  }, 90_000);
});

/** The quick start with the host out of sync (a plan held) and a network update held for approval. */
function heldView(): ConsoleView {
  const v = quickstartView(T0, 0);
  const host = v.hosts[0]!;
  host.outOfSync = [{ name: 'ens4', difference: 'mtu 1500 on the host, 9000 declared' }];
  host.pendingPlan = { digest: digest('host-demo'), summary: '1 change on demo', changes: ['~ ens4: mtu 1500 → 9000'] };
  const web = v.objects.find((o) => o.key === 'Network/web')!;
  web.synced = { status: 'False', reason: 'AwaitingApproval', message: 'mtu 9000 → 1500 held for approval' };
  web.pendingPlan = { digest: digest('network-web'), summary: '1 network update', changes: ['~ Network/web: mtu 9000 → 1500'] };
  return v;
}

const dialogOpen = (page: Page) => page.waitForSelector('#token-dialog[open]', { timeout: 10_000 });
async function giveToken(page: Page, token: string): Promise<void> {
  await page.$eval('#token-input', (i) => ((i as HTMLInputElement).value = ''));
  await page.type('#token-input', token);
  await page.click('#token-dialog button[value="ok"]');
}
const tokenKept = (page: Page) => page.evaluate(() => sessionStorage.getItem('netform.console.token'));

describe('the bearer token', () => {
  it('is asked for before anything when the server wants it on every request (netform --ui-token-file), kept for the tab, and a refused one is forgotten', async () => {
    const token = canary('console-token');
    const v = heldView();
    const target = await start(v, token);
    const page = await b.browser.newPage();
    const p: ConsolePage = { page, problems: await watchProblems(page) };
    pages.push(p);
    await page.goto(`${target.url}/#/out-of-sync`);
    await dialogOpen(page);
    expect(await page.$eval('#token-title', (t) => t.textContent)).toBe('This console needs its token');
    expect(await page.$eval('#link-state', (el) => (el as HTMLElement).dataset.state)).toBe('locked');
    // Cancelled: the page says why and offers to ask again.
    await page.click('#token-dialog button[value="cancel"]');
    await page.waitForSelector('#locked button');
    await page.click('#locked button');
    await dialogOpen(page);
    // A wrong token: refused, forgotten, asked for again with the reason.
    await giveToken(page, 'nf-wrong-token-0000');
    await page.waitForFunction(() => (document.getElementById('token-problem') as HTMLElement).textContent === 'The server refused that token.' && (document.getElementById('token-dialog') as HTMLDialogElement).open, { polling: 100, timeout: 10_000 });
    expect(await tokenKept(page)).toBeNull();
    await giveToken(page, token);
    await waitRendered(page, v.generatedAt);
    expect(await tokenKept(page)).toBe(token);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await page.$eval('#link-state', (el) => (el as HTMLElement).dataset.state)).toBe('live');
    expect(await page.$$eval('#out-of-sync article.entry', (as) => as.map((a) => (a as HTMLElement).dataset.key))).toEqual(['Host/demo', 'Network/web']);
    expect(await page.$eval('article[data-key="Host/demo"]', (a) => a.textContent)).toContain('mtu 1500 on the host, 9000 declared');
    expect(await page.$eval('nav a[data-nav="out-of-sync"] .nav-count', (c) => c.textContent)).toBe('2');

    // Sync: exactly the host's plan, with the kept token, no dialog.
    await page.click('article[data-key="Host/demo"] button.approve');
    await page.waitForFunction(() => document.getElementById('announcer')?.textContent?.startsWith('Approved Host/demo'), { polling: 100, timeout: 10_000 });
    expect(await page.$eval('#token-dialog', (d) => (d as HTMLDialogElement).open)).toBe(false);
    expect(target.approvals).toEqual([{ key: 'Host/demo', digest: digest('host-demo'), authorization: `Bearer ${token}`, status: 200 }]);
    // And from the Plan view, the network's.
    await goHash(page, '#/plan', v.generatedAt);
    await page.click('article[data-key="Network/web"] button.approve');
    await page.waitForFunction(() => document.getElementById('announcer')?.textContent?.startsWith('Approved Network/web'), { polling: 100, timeout: 10_000 });
    expect(target.approvals.at(-1)).toEqual({ key: 'Network/web', digest: digest('network-web'), authorization: `Bearer ${token}`, status: 200 });
    // Every stream request after the first carried the token; the refused ones did not get in.
    expect(target.requests.filter((r) => r.path === '/api/v1/stream').map((r) => r.status)).toEqual([403, 403, 200]);
    clean(p, target, [/status of 403 \(GET \/api\/v1\/stream\)/, /status of 403 .*\/api\/v1\/stream/]);
  });

  it('is asked for when approving, if only approval needs it, and a refused one is asked for again', async () => {
    const token = canary('console-approve-token');
    const v = heldView();
    const target = await startConsoleTarget({ view: v, token, tokenFor: 'approve' });
    targets.push(target);
    const p = await open(target, '/out-of-sync', v.generatedAt);
    const { page } = p;
    await page.click('article[data-key="Host/demo"] button.approve');
    await dialogOpen(page);
    expect(await page.$eval('#token-title', (t) => t.textContent)).toBe('Approve with the token');
    await giveToken(page, 'nf-wrong-token-0000');
    await page.waitForFunction(() => (document.getElementById('token-problem') as HTMLElement).textContent?.startsWith('The server refused') && (document.getElementById('token-dialog') as HTMLDialogElement).open, { polling: 100, timeout: 10_000 });
    expect(target.approvals.map((a) => a.status)).toEqual([403]);
    expect(await tokenKept(page)).toBeNull();
    await giveToken(page, token);
    await page.waitForFunction(() => document.getElementById('announcer')?.textContent?.startsWith('Approved Host/demo'), { polling: 100, timeout: 10_000 });
    expect(target.approvals.at(-1)).toEqual({ key: 'Host/demo', digest: digest('host-demo'), authorization: `Bearer ${token}`, status: 200 });
    expect(await tokenKept(page)).toBe(token);
    clean(p, target, [/status of 403 .*\/api\/v1\/approve/]);
  });

  it('a plan that changed since it was shown is refused, and the page says so', async () => {
    const v = heldView();
    const target = await startConsoleTarget({ view: v, token: 'nf-console-token-1234567890', tokenFor: 'approve' });
    targets.push(target);
    const p = await open(target, '/out-of-sync', v.generatedAt);
    const { page } = p;
    await page.evaluate(() => sessionStorage.setItem('netform.console.token', 'nf-console-token-1234567890'));
    // The server's plan moves on; the page has not heard yet (no event sent).
    const moved = heldView();
    moved.hosts[0]!.pendingPlan = { digest: digest('host-demo-2'), changes: ['~ ens4: mtu 1500 → 9100'] };
    target.publishSilently(moved);
    await page.click('article[data-key="Host/demo"] button.approve');
    await page.waitForFunction(() => document.getElementById('announcer')?.textContent?.startsWith('Host/demo not approved (409)'), { polling: 100, timeout: 10_000 });
    expect(target.approvals).toEqual([{ key: 'Host/demo', digest: digest('host-demo'), authorization: 'Bearer nf-console-token-1234567890', status: 409 }]);
    clean(p, target, [/status of 409 .*\/api\/v1\/approve/]);
  });

  it('the button is disabled when the server cannot approve', async () => {
    const v = quickstartView(T0, 0);
    v.canApprove = false;
    v.hosts[0]!.pendingPlan = { digest: digest('x'), changes: ['~ ens4: mtu'] };
    const target = await start(v);
    const p = await open(target, '/out-of-sync', v.generatedAt);
    expect(await p.page.$eval('article[data-key="Host/demo"] button.approve', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    clean(p, target);
  });
});

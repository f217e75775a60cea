/// <reference lib="dom" />
// Console benchmark (part of `npm run bench`): the Networks view with N networks (default 10,000,
// BENCH_CONSOLE_N) in headless Chromium, against the browser tests' stand-in server (test/harness/
// console-target.ts), and the topology of a large datacenter. Writes bench/results/console-latest.json
// and prints the figures next to the previous run's. Not a test: nothing here fails. Target (issue 14):
// the 10,000-row Networks view renders in under 1 s.
//
// Figures (page clock unless said otherwise):
//   firstRenderMs   navigation start → the Networks view rendered with all N rows (scripts, the event
//                   stream, JSON.parse of the view, filter + sort + the first rows)
//   renderMs        of which the view's own update (filter, sort, rows in the DOM)
//   updateMs        a `view` event with one MTU changed → rendered (server publish → page render, wall clock; median of 5)
//   filterMs        a filter typed (input event → the grid shows the matching rows; includes the 30 ms debounce; median of 5)
//   sortMs          a header click → sorted and the next frame painted (median of 5)
//   scrollEndMs     scrolled to the bottom → the last row in the DOM
//   domRows         rows in the DOM (virtualized: a few dozen whatever N)
//   heapMB          the page's JS heap after rendering, after a garbage collection
//   topology*       TOPO_HOSTS hosts with a NIC and a bridge carrying all TOPO_NETWORKS networks, TOPO_VMS VMs:
//                   objects, nodes and edges drawn after grouping (host devices folded, as the console
//                   starts above 150 objects), elkjs's layout time in its worker; then with the devices
//                   shown (the checkbox): nodes, edges, layout, and click → drawn (wall clock); and the
//                   worst case, no two hosts carrying the same networks (nothing to group)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../test/harness/browser.ts';
import { startConsoleTarget } from '../test/harness/console-target.ts';
import { bigView, withMtu } from '../test/console/fixtures.ts';
import type { ConsoleView, TopoEdge, TopoNode } from '../src/console/view.ts';

const N = Number(process.env.BENCH_CONSOLE_N ?? 10_000);
const TOPO_HOSTS = 200;
const TOPO_NETWORKS = 60;
const TOPO_VMS = 2_000;
const out = fileURLToPath(new URL('./results/', import.meta.url));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;

/** A well-mixed hash of an integer (so that the hosts' subsets of networks all differ). */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A datacenter's topology: every host carries every network on a bridge over its NICs (or, with
 *  `distinct`, each host its own subset of a third of them: nothing to group); VMs spread. */
function bigTopology(at: Date, distinct = false): ConsoleView {
  const nodes: TopoNode[] = [{ id: 'provider:openstack', kind: 'provider', label: 'openstack', health: 'ok' }];
  const edges: TopoEdge[] = [];
  for (let n = 0; n < TOPO_NETWORKS; n++) {
    nodes.push({ id: `network:n${n}`, kind: 'network', label: `n${n}`, health: n === 3 ? 'degraded' : 'ok', key: `Network/n${n}` });
    edges.push({ from: 'provider:openstack', to: `network:n${n}`, kind: 'realizes' });
  }
  for (let h = 0; h < TOPO_HOSTS; h++) {
    const host = `hv${h}`;
    nodes.push({ id: `host:${host}`, kind: 'host', label: host, health: 'ok', key: `Host/${host}` }, { id: `nic:${host}/ens3`, kind: 'nic', label: 'ens3', health: 'ok' }, { id: `bridge:${host}/br-int`, kind: 'bridge', label: 'br-int', health: 'ok' });
    edges.push({ from: `host:${host}`, to: `nic:${host}/ens3`, kind: 'has' }, { from: `nic:${host}/ens3`, to: `bridge:${host}/br-int`, kind: 'uplink' });
    for (let n = 0; n < TOPO_NETWORKS; n++) if (!distinct || mix(h * 1000 + n) % 3 === 0) edges.push({ from: `bridge:${host}/br-int`, to: `network:n${n}`, kind: 'carries' });
  }
  for (let v = 0; v < TOPO_VMS; v++) {
    nodes.push({ id: `vm:t/vm${v}`, kind: 'vm', label: `vm${v}`, health: 'ok' });
    edges.push({ from: `network:n${v % TOPO_NETWORKS}`, to: `vm:t/vm${v}`, kind: 'vnic' });
  }
  return { ...bigView(0, at), topology: { nodes, edges } };
}

// Precise heap figures (Chromium otherwise rounds performance.memory into coarse buckets).
const handle = await launchBrowser({ args: ['--enable-precise-memory-info', '--js-flags=--expose-gc'] });
const view = bigView(N, new Date('2026-12-05T04:00:00Z'));
const target = await startConsoleTarget({ view });
try {
  const page = await handle.browser.newPage();
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as { __r: { g: string; t: number; ms: number }[] };
    w.__r = [];
    window.addEventListener('netform:rendered', (e) => {
      const d = (e as CustomEvent<{ generatedAt: string; ms: number }>).detail;
      w.__r.push({ g: d.generatedAt, t: Date.now(), ms: d.ms });
    });
  });
  await page.goto(`${target.url}/#/networks`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction((g: string) => document.documentElement.dataset.renderedAt === g, { timeout: 60_000 }, view.generatedAt);
  const first = await page.evaluate(() => {
    const r = (window as unknown as { __r: { t: number; ms: number }[] }).__r[0]!;
    return { firstRenderMs: r.t - performance.timeOrigin, renderMs: r.ms, rowcount: document.querySelector('.vt')?.getAttribute('aria-rowcount') };
  });
  if (first.rowcount !== String(N + 1)) throw new Error(`the grid says ${first.rowcount} rows, not ${N + 1}`);

  const updates: number[] = [];
  for (let i = 0; i < 5; i++) {
    const v = withMtu(view, `net-${String(i * 7).padStart(5, '0')}`, 1400 + i, new Date(Date.parse(view.generatedAt) + (i + 1) * 1000));
    const t0 = Date.now();
    target.publish(v);
    await page.waitForFunction((g: string) => document.documentElement.dataset.renderedAt === g, { timeout: 30_000, polling: 'mutation' }, v.generatedAt);
    const t = await page.evaluate((g: string) => (window as unknown as { __r: { g: string; t: number }[] }).__r.find((r) => r.g === g)!.t, v.generatedAt);
    updates.push(t - t0);
  }

  const filters: number[] = [];
  for (const q of ['net-0999', 'degraded', 'physnet2 9000', 'hv17', '']) {
    filters.push(
      await page.evaluate(
        (query: string) =>
          new Promise<number>((resolve) => {
            const grid = document.querySelector('.vt')!;
            const input = document.getElementById('networks-filter') as HTMLInputElement;
            const before = grid.getAttribute('aria-rowcount');
            const t0 = performance.now();
            const mo = new MutationObserver(() => {
              if (grid.getAttribute('aria-rowcount') !== before) {
                mo.disconnect();
                requestAnimationFrame(() => resolve(performance.now() - t0));
              }
            });
            mo.observe(grid, { attributes: true, attributeFilter: ['aria-rowcount'] });
            input.value = query;
            input.dispatchEvent(new Event('input'));
          }),
        q,
      ),
    );
  }

  const sorts: number[] = [];
  for (const col of ['vlan', 'vlan', 'mtu', 'ready', 'name']) {
    sorts.push(
      await page.evaluate(
        (c: string) =>
          new Promise<number>((resolve) => {
            const t0 = performance.now();
            (document.querySelector(`button.sort[data-column="${c}"]`) as HTMLButtonElement).click();
            requestAnimationFrame(() => resolve(performance.now() - t0));
          }),
        col,
      ),
    );
  }

  const scrollEndMs = await page.evaluate(
    (n: number) =>
      new Promise<number>((resolve) => {
        const grid = document.querySelector('.vt') as HTMLElement;
        const t0 = performance.now();
        const check = () => {
          if (grid.querySelector(`.vt-row[aria-rowindex="${n + 1}"]`)) resolve(performance.now() - t0);
          else requestAnimationFrame(check);
        };
        grid.scrollTop = grid.scrollHeight;
        requestAnimationFrame(check);
      }),
    N,
  );
  const domRows = await page.$$eval('.vt-body .vt-row', (rs) => rs.length);
  const heapMB = await page.evaluate(() => {
    // What stays after a collection: the view, the rows' index, the DOM's wrappers.
    (window as unknown as { gc?: () => void }).gc?.();
    const m = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory;
    return m ? Math.round((m.usedJSHeapSize / 1024 / 1024) * 10) / 10 : undefined;
  });
  await page.close();

  // The topology of a large datacenter.
  const topo = bigTopology(new Date('2026-12-05T05:00:00Z'));
  target.publish(topo);
  const tpage = await handle.browser.newPage();
  await tpage.goto(`${target.url}/#/topology`, { waitUntil: 'domcontentloaded' });
  await tpage.waitForFunction((g: string) => document.documentElement.dataset.renderedAt === g, { timeout: 120_000 }, topo.generatedAt);
  const drawnNow = () => tpage.$eval('svg#topology', (svg) => ({ nodes: Number((svg as SVGElement).dataset.nodes), edges: Number((svg as SVGElement).dataset.edges), layoutMs: Number((svg as SVGElement).dataset.layoutMs) }));
  const t = await drawnNow();
  // The user shows the host devices: every host its own NIC and bridge, so hosts no longer collapse.
  const t1 = Date.now();
  await tpage.click('#topo-devices');
  await tpage.waitForFunction((n: number) => Number((document.querySelector('svg#topology') as SVGElement | null)?.dataset.nodes) !== n, { timeout: 300_000 }, t.nodes);
  const devicesWallMs = Date.now() - t1;
  const td = await drawnNow();
  await tpage.close();

  // The worst case: no two hosts alike.
  const worst = bigTopology(new Date('2026-12-05T06:00:00Z'), true);
  target.publish(worst);
  const wpage = await handle.browser.newPage();
  const w0 = Date.now();
  await wpage.goto(`${target.url}/#/topology`, { waitUntil: 'domcontentloaded' });
  await wpage.waitForFunction((g: string) => document.documentElement.dataset.renderedAt === g, { timeout: 110_000, polling: 500 }, worst.generatedAt);
  const worstWallMs = Date.now() - w0;
  const tw = await wpage.$eval('svg#topology', (svg) => ({ nodes: Number((svg as SVGElement).dataset.nodes), edges: Number((svg as SVGElement).dataset.edges), layoutMs: Number((svg as SVGElement).dataset.layoutMs) }));
  await wpage.close();

  const figures = {
    date: new Date().toISOString(),
    chromium: await handle.browser.version(),
    n: N,
    viewMB: round(JSON.stringify(view).length / 1024 / 1024),
    firstRenderMs: Math.round(first.firstRenderMs),
    renderMs: Math.round(first.renderMs),
    updateMsMedian: Math.round(median(updates)),
    filterMsMedian: Math.round(median(filters)),
    sortMsMedian: Math.round(median(sorts)),
    scrollEndMs: Math.round(scrollEndMs),
    domRows,
    heapMB,
    topologyObjects: topo.topology.nodes.length,
    topologyNodesDrawn: t.nodes,
    topologyEdgesDrawn: t.edges,
    topologyLayoutMs: t.layoutMs,
    topologyDevicesNodesDrawn: td.nodes,
    topologyDevicesEdgesDrawn: td.edges,
    topologyDevicesLayoutMs: td.layoutMs,
    topologyDevicesToggleMs: devicesWallMs,
    topologyDistinctNodesDrawn: tw.nodes,
    topologyDistinctEdgesDrawn: tw.edges,
    topologyDistinctLayoutMs: tw.layoutMs,
    topologyDistinctOpenMs: worstWallMs,
    targetMs: 1000,
  };
  mkdirSync(out, { recursive: true });
  const latest = `${out}console-latest.json`;
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(latest, `${JSON.stringify(figures, null, 2)}\n`);
  writeFileSync(`${out}console-${figures.date.slice(0, 10)}.json`, `${JSON.stringify(figures, null, 2)}\n`);
  const rows: [string, unknown, unknown][] = [
    ['networks', figures.n, previous.n],
    ['view JSON, MB', figures.viewMB, previous.viewMB],
    ['first render, ms (target < 1000)', figures.firstRenderMs, previous.firstRenderMs],
    ['  of which the view update, ms', figures.renderMs, previous.renderMs],
    ['view event → rendered, ms (median)', figures.updateMsMedian, previous.updateMsMedian],
    ['filter typed → rows, ms (median)', figures.filterMsMedian, previous.filterMsMedian],
    ['sort click → painted, ms (median)', figures.sortMsMedian, previous.sortMsMedian],
    ['scroll to the end → last row, ms', figures.scrollEndMs, previous.scrollEndMs],
    ['rows in the DOM', figures.domRows, previous.domRows],
    ['page JS heap, MB', figures.heapMB, previous.heapMB],
    ['topology objects', figures.topologyObjects, previous.topologyObjects],
    ['  drawn as nodes / edges', `${figures.topologyNodesDrawn}/${figures.topologyEdgesDrawn}`, previous.topologyNodesDrawn === undefined ? undefined : `${previous.topologyNodesDrawn}/${previous.topologyEdgesDrawn}`],
    ['  elkjs layout, ms', figures.topologyLayoutMs, previous.topologyLayoutMs],
    ['  devices shown: nodes / edges', `${figures.topologyDevicesNodesDrawn}/${figures.topologyDevicesEdgesDrawn}`, previous.topologyDevicesNodesDrawn === undefined ? undefined : `${previous.topologyDevicesNodesDrawn}/${previous.topologyDevicesEdgesDrawn}`],
    ['  devices shown: elkjs layout, ms', figures.topologyDevicesLayoutMs, previous.topologyDevicesLayoutMs],
    ['  devices shown: click → drawn, ms', figures.topologyDevicesToggleMs, previous.topologyDevicesToggleMs],
    ['no two hosts alike: nodes / edges', `${figures.topologyDistinctNodesDrawn}/${figures.topologyDistinctEdgesDrawn}`, previous.topologyDistinctNodesDrawn === undefined ? undefined : `${previous.topologyDistinctNodesDrawn}/${previous.topologyDistinctEdgesDrawn}`],
    ['  elkjs layout, ms', figures.topologyDistinctLayoutMs, previous.topologyDistinctLayoutMs],
    ['  open → drawn, ms', figures.topologyDistinctOpenMs, previous.topologyDistinctOpenMs],
  ];
  process.stdout.write(`${'console figure'.padEnd(38)}${'now'.padStart(10)}${'previous'.padStart(12)}\n`);
  for (const [k, v, p] of rows) process.stdout.write(`${k.padEnd(38)}${String(v ?? '-').padStart(10)}${String(p ?? '-').padStart(12)}\n`);
  process.stdout.write(`written to ${latest}\n`);
} finally {
  await handle.close();
  await target.close();
}

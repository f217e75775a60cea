/// <reference lib="dom" />
// Accessibility of the console in headless Chromium: axe-core (node_modules/axe-core, evaluated in the
// page through DevTools so the page's CSP stays on) finds no serious or critical violation on any view
// — colour contrast, names of controls, landmarks, ARIA roles and their required parents among them —
// nor with the token dialog open; and the keyboard reaches and works every view: the skip link, the
// navigation, the networks grid (arrows, End, Enter) and the topology's nodes (Tab, Enter).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { launchBrowser, type BrowserHandle } from '../harness/browser.ts';
import { startConsoleTarget, type ConsoleTarget } from '../harness/console-target.ts';
import { digest, quickstartView, withHealth } from './fixtures.ts';
import { axe, goHash, navigateBy, openConsole, serious, waitRendered, type ConsolePage } from './support.ts';
import type { ConsoleView } from '../../src/console/view.ts';

const T0 = new Date('2026-12-05T04:00:00Z');

/** The quick start with something in every view: a degraded network with its reason, a host out of
 *  sync with a plan awaiting approval, and events. */
function richView(): ConsoleView {
  const v = withHealth(quickstartView(T0, 0), 'network:db', 'degraded', T0);
  const host = v.hosts[0]!;
  host.outOfSync = [{ name: 'ens4', difference: 'mtu 1500 on the host, 9000 declared' }];
  host.pendingPlan = { digest: digest('host-demo'), summary: '1 change on demo', changes: ['~ ens4: mtu 1500 → 9000'], impact: '4 VMs see a link flap' };
  host.problems = ['network storage: no NIC or bond reaches physnet7'];
  host.dynamicVnics = { total: 16, free: 12 };
  host.bonds = [{ name: 'bond0', members: ['ens5', 'ens6'] }];
  v.events.push({ time: T0.toISOString(), key: 'Network/db', type: 'Warning', status: 'False', reason: 'BackendRejected', message: 'the backend refused the MTU' });
  return v;
}

let b: BrowserHandle;
let target: ConsoleTarget;
let p: ConsolePage;
const view = richView();

beforeAll(async () => {
  b = await launchBrowser();
  // Reads open, approval with the token: the token dialog is asked for by a Sync button.
  target = await startConsoleTarget({ view, token: 'nf-a11y-token-0123456789', tokenFor: 'approve' });
  p = await openConsole(b.browser, target, '/networks', view.generatedAt);
}, 180_000);

afterAll(async () => {
  await b?.close();
  await target?.close();
});

describe('axe-core finds no serious or critical violation', () => {
  it.each(['#/networks', '#/networks/db', '#/hosts', '#/hosts/demo', '#/topology', '#/topology/vm%3Ashop%2Fweb2', '#/out-of-sync', '#/plan', '#/events'])('on %s', async (hash) => {
    await goHash(p.page, hash, view.generatedAt);
    if (hash.startsWith('#/topology')) await p.page.waitForSelector('svg#topology g.node');
    const violations = await axe(p.page);
    for (const v of violations) console.log(`[axe ${hash}] ${v.impact} ${v.id}: ${v.help} (${v.nodes.length})`);
    expect(serious(violations)).toEqual([]);
    expect(p.problems.problems).toEqual([]);
  }, 60_000);

  it('with the token dialog open', async () => {
    await goHash(p.page, '#/out-of-sync', view.generatedAt);
    await p.page.click('article[data-key="Host/demo"] button.approve');
    await p.page.waitForSelector('#token-dialog[open]');
    expect(await p.page.evaluate(() => document.activeElement?.id)).toBe('token-input');
    expect(serious(await axe(p.page))).toEqual([]);
    await p.page.keyboard.press('Escape');
    await p.page.waitForFunction(() => !(document.getElementById('token-dialog') as HTMLDialogElement).open);
    expect(target.approvals).toEqual([]);
  }, 60_000);
});

/** Presses Tab until the focused element matches `selector` (at most `max` times); the presses it took. */
async function tabUntil(page: Page, selector: string, max = 40): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((sel: string) => !!document.activeElement?.matches(sel), selector)) return i;
  }
  throw new Error(`Tab never reached ${selector}`);
}

describe('the keyboard', () => {
  it('skips to the content, moves through the networks grid and opens a network with Enter', async () => {
    const { page } = p;
    await page.goto('about:blank');
    await page.goto(`${target.url}/#/networks`);
    await waitRendered(page, view.generatedAt);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // From the content: the filter, then the sort buttons, then the grid's one tab stop.
    await tabUntil(page, '#networks-filter', 5);
    await tabUntil(page, '.vt-row', 15);
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.key)).toBe('db');
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.key)).toBe('ovirtmgmt');
    await page.keyboard.press('End');
    await page.waitForFunction(() => (document.activeElement as HTMLElement).dataset.key === 'web', { polling: 50 });
    await page.keyboard.press('Enter');
    await page.waitForSelector('#network-details:not([hidden])');
    expect(await page.$eval('#network-details h2', (h) => h.textContent)).toContain('Network web');
    // One tab stop: the next Tab leaves the grid.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.classList.contains('vt-row'))).toBe(false);
  }, 60_000);

  it('reaches the topology nodes in layout order and opens one with Enter', async () => {
    const { page } = p;
    await goHash(page, '#/topology', view.generatedAt);
    await page.waitForSelector('svg#topology g.node');
    await tabUntil(page, 'g.node');
    const order: string[] = [];
    for (let i = 0; i < view.topology.nodes.length; i++) {
      order.push(await page.evaluate(() => (document.activeElement as SVGElement).dataset.id ?? ''));
      await page.keyboard.press('Tab');
    }
    expect([...order].sort()).toEqual(view.topology.nodes.map((n) => n.id).sort());
    // Left to right, as drawn: the networks, the host, its bridges, then its NICs and VMs.
    expect(order.slice(0, 3).sort()).toEqual(['network:db', 'network:ovirtmgmt', 'network:web']);
    expect(order[3]).toBe('host:demo');
    expect(order.indexOf('host:demo/bridge:br-int')).toBeLessThan(order.indexOf('vm:shop/web1'));
    await page.$eval('g.node[data-id="host:demo"]', (g) => (g as SVGGElement).focus());
    await navigateBy(page, () => page.keyboard.press('Enter'), '#/hosts/demo', view.generatedAt);
    // The new view's heading has the focus (screen readers hear where they are).
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
  }, 60_000);

  it('marks the current view in the navigation', async () => {
    const { page } = p;
    await goHash(page, '#/events', view.generatedAt);
    expect(await page.$$eval('nav a[aria-current="page"]', (as) => as.map((a) => a.textContent?.trim()))).toEqual(['Events']);
    expect(await page.$eval('ol#events', (ol) => ol.children.length)).toBe(view.events.length);
  });
});

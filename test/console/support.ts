/// <reference lib="dom" />
// Shared by the console's browser tests and benchmark: a page on a ConsoleTarget, waiting for a view to
// be rendered (the app marks <html data-rendered-at> and fires `netform:rendered`), and axe-core.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'puppeteer-core';
import { watchProblems, type PageProblems } from '../harness/browser.ts';
import type { ConsoleTarget } from '../harness/console-target.ts';

export interface ConsolePage {
  page: Page;
  /** Console errors, uncaught exceptions, CSP violations and failed requests seen so far. */
  problems: PageProblems;
}

/** Opens the console at `hash` (e.g. '/hosts/demo') and waits until the view `generatedAt` is rendered. */
export async function openConsole(browser: Browser, target: ConsoleTarget, hash: string, generatedAt: string): Promise<ConsolePage> {
  const page = await browser.newPage();
  const problems = await watchProblems(page);
  await page.evaluateOnNewDocument(() => {
    // When each generation was rendered, by the page's clock (the same wall clock as the test's).
    const w = window as unknown as { __rendered: Record<string, number> };
    w.__rendered = {};
    window.addEventListener('netform:rendered', (e) => {
      const g = (e as CustomEvent<{ generatedAt: string }>).detail.generatedAt;
      w.__rendered[g] ??= Date.now();
    });
  });
  await page.goto(`${target.url}/#${hash}`, { waitUntil: 'domcontentloaded' });
  await waitRendered(page, generatedAt);
  return { page, problems };
}

/** Waits until the mounted view has rendered the view of `generatedAt`. */
export async function waitRendered(page: Page, generatedAt: string, timeout = 20_000): Promise<void> {
  await page.waitForFunction((g: string) => document.documentElement.dataset.renderedAt === g, { timeout, polling: 'mutation' }, generatedAt);
}

/** When (page clock, ms since the epoch) the page rendered `generatedAt`, if it has. */
export async function renderedAt(page: Page, generatedAt: string): Promise<number | undefined> {
  return page.evaluate((g: string) => (window as unknown as { __rendered: Record<string, number> }).__rendered[g], generatedAt);
}

/** Navigates by hash (as a link would) and waits for the new view's render of `generatedAt`. */
export async function goHash(page: Page, hash: string, generatedAt: string): Promise<void> {
  await page.evaluate((h: string) => {
    // The same address again is no navigation: what is rendered stays.
    if (location.hash === h) return;
    delete document.documentElement.dataset.renderedAt;
    location.hash = h;
  }, hash);
  await waitRendered(page, generatedAt);
}

/** Does what navigates (a click, Enter on a node) and waits for the new route's render of
 *  `generatedAt`. The previous view's render mark is cleared first: the hash changes before the
 *  app's hashchange handler mounts the new view, and until then the old mark would still match. */
export async function navigateBy(page: Page, act: () => Promise<void>, hash: string, generatedAt: string): Promise<void> {
  await page.evaluate(() => delete document.documentElement.dataset.renderedAt);
  await act();
  await page.waitForFunction((h: string) => location.hash === h, { polling: 'mutation' }, hash);
  await waitRendered(page, generatedAt);
}

const require = createRequire(import.meta.url);
let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact?: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Runs axe-core (node_modules/axe-core/axe.min.js, evaluated through DevTools: the page's CSP stays on). */
export async function axe(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const has = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (!has) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const a = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await a.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
}

/** The violations axe calls serious or critical, as one line each (empty: none). */
export function serious(violations: AxeViolation[]): string[] {
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}

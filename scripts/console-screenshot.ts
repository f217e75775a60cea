/// <reference lib="dom" />
// Takes the README's pictures of the console: docs/console.png (the quick start's topology, one VM's
// details open) and docs/console-host.png (the host `demo`'s interface table with its Rx/Tx
// sparklines), in headless Chromium.
//
//   node scripts/console-screenshot.ts --url http://127.0.0.1:8642/ [--samples N] [OUT_DIR]
//       the console of a running `npm start` (the real demo host); waits for N view events on the
//       host's page first (default 12) so the sparklines have a history
//   node scripts/console-screenshot.ts [OUT_DIR]
//       the browser tests' stand-in server with the quick start's view (test/console/fixtures.ts)
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchBrowser } from '../test/harness/browser.ts';
import { REPO, startConsoleTarget, type ConsoleTarget } from '../test/harness/console-target.ts';
import { quickstartView } from '../test/console/fixtures.ts';

const { values, positionals } = parseArgs({ options: { url: { type: 'string' }, samples: { type: 'string', default: '12' } }, allowPositionals: true });
const dir = positionals[0] ?? join(REPO, 'docs');
const handle = await launchBrowser({ width: 1280, height: 720 });
let target: ConsoleTarget | undefined;
try {
  const page = await handle.browser.newPage();
  const seen: string[] = [];
  await page.exposeFunction('noteRendered', (g: string) => seen.push(g));
  await page.evaluateOnNewDocument(() => window.addEventListener('netform:rendered', (e) => (window as unknown as { noteRendered: (g: string) => void }).noteRendered((e as CustomEvent<{ generatedAt: string }>).detail.generatedAt)));
  const wanted = Number(values.samples);
  if (values.url) {
    await page.goto(`${values.url.replace(/\/$/, '')}/#/hosts/demo`);
    const deadline = Date.now() + 240_000;
    while (new Set(seen).size < wanted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  } else {
    // Thirty samples two seconds apart, the last one now: the report ages read as they would live.
    const t0 = Date.now() - 58_000;
    target = await startConsoleTarget({ view: quickstartView(new Date(t0), 0) });
    await page.goto(`${target.url}/#/hosts/demo`);
    for (let i = 1; i < 30; i++) {
      while (!seen.length) await new Promise((r) => setTimeout(r, 50));
      const v = quickstartView(new Date(t0 + i * 2000), i);
      target.publish(v);
      await page.waitForFunction((g: string) => document.documentElement.dataset.renderedAt === g, { timeout: 30_000 }, v.generatedAt);
    }
  }
  await page.waitForSelector('#interfaces tbody tr');
  // Down to the end of the content, not the window's.
  const upTo = (sel: string) => page.$eval(sel, (el) => Math.ceil(el.getBoundingClientRect().bottom) + 16);
  await page.screenshot({ path: join(dir, 'console-host.png'), clip: { x: 0, y: 0, width: 1280, height: await upTo('#interfaces') } });
  await page.evaluate(() => (location.hash = `#/topology/${encodeURIComponent('vm:shop/web2')}`));
  await page.waitForSelector('svg#topology g.node');
  await page.waitForSelector('#topo-details:not([hidden])');
  await page.screenshot({ path: join(dir, 'console.png'), clip: { x: 0, y: 0, width: 1280, height: await upTo('.topology-layout') } });
  process.stdout.write(`written ${join(dir, 'console.png')} and ${join(dir, 'console-host.png')} (${new Set(seen).size} views rendered)\n`);
} finally {
  await handle.close();
  await target?.close();
}

/// <reference lib="dom" />
// Takes the README's pictures of the console: `node scripts/console-screenshot.ts [OUT_DIR]` (default
// docs/) writes console.png (the topology of the quick start, one VM's details open) and
// console-host.png (the host `demo`'s interface table after a minute of traffic samples), in headless
// Chromium against the browser tests' stand-in server with the quick start's view
// (test/console/fixtures.ts). Until `netform run --ui` serves the real view, the figures are the
// fixture's.
import { join } from 'node:path';
import { launchBrowser } from '../test/harness/browser.ts';
import { REPO, startConsoleTarget } from '../test/harness/console-target.ts';
import { quickstartView } from '../test/console/fixtures.ts';

const dir = process.argv[2] ?? join(REPO, 'docs');
// Thirty samples two seconds apart, the last one now: the report ages read as they would live.
const t0 = Date.now() - 58_000;
const handle = await launchBrowser({ width: 1280, height: 720 });
const first = quickstartView(new Date(t0), 0);
const target = await startConsoleTarget({ view: first });
try {
  const page = await handle.browser.newPage();
  const rendered = (g: string) => page.waitForFunction((x: string) => document.documentElement.dataset.renderedAt === x, { timeout: 30_000 }, g);
  await page.goto(`${target.url}/#/hosts/demo`);
  await rendered(first.generatedAt);
  let last = first;
  for (let i = 1; i < 30; i++) {
    last = quickstartView(new Date(t0 + i * 2000), i);
    target.publish(last);
    await rendered(last.generatedAt);
  }
  // Down to the end of the content, not the window's.
  const upTo = (sel: string) => page.$eval(sel, (el) => Math.ceil(el.getBoundingClientRect().bottom) + 16);
  await page.screenshot({ path: join(dir, 'console-host.png'), clip: { x: 0, y: 0, width: 1280, height: await upTo('#interfaces') } });
  await page.evaluate(() => (location.hash = '#/topology/vm:shop/web2'));
  await page.waitForSelector('svg#topology g.node');
  await page.waitForSelector('#topo-details:not([hidden])');
  await page.screenshot({ path: join(dir, 'console.png'), clip: { x: 0, y: 0, width: 1280, height: await upTo('.topology-layout') } });
  process.stdout.write(`written ${join(dir, 'console.png')} and ${join(dir, 'console-host.png')}\n`);
} finally {
  await handle.close();
  await target.close();
}

/// <reference lib="dom" />
// Headless Chromium for the console's browser tests and benchmark: Debian's `chromium` package
// (installed here with apt-get when missing, as the other harnesses install their tools; .ci/run
// installs it up front through install-tools.sh), driven by puppeteer-core over the DevTools protocol.
// No browser is downloaded: the machines have no internet.
//
// Flags: new headless; --no-sandbox when running as root (Chromium refuses to start a sandbox as
// root); no GPU; and no background networking, component updates, sync or QUIC — on this closed
// network Chromium would otherwise try Google's hosts at every start.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type ConsoleMessage, type Page } from 'puppeteer-core';
import { ensureCommands } from './apt.ts';

/** The Chromium binary: $NETFORM_CHROMIUM, else Debian's (installed if missing). */
export function chromiumPath(): string {
  const fromEnv = process.env.NETFORM_CHROMIUM;
  if (fromEnv) return fromEnv;
  ensureCommands({ chromium: 'chromium' });
  return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
}

export interface BrowserHandle {
  browser: Browser;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile. */
export async function launchBrowser(opts: { width?: number; height?: number; args?: string[] } = {}): Promise<BrowserHandle> {
  const executablePath = chromiumPath();
  const profile = mkdtempSync(join(tmpdir(), 'netform-chromium-'));
  const args = [
    '--headless=new',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-extensions',
    '--disable-dev-shm-usage',
    '--font-render-hinting=none',
    `--window-size=${opts.width ?? 1440},${opts.height ?? 900}`,
  ];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  args.push(...(opts.args ?? []));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    userDataDir: profile,
    args,
    defaultViewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
    protocolTimeout: 120_000,
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What went wrong in a page: console errors, uncaught exceptions, CSP violations, failed requests. */
export interface PageProblems {
  problems: string[];
}

/**
 * Records a page's errors: console.error, uncaught exceptions, failed requests, and Content-Security-
 * Policy violations (reported by the page itself, so the server's CSP is checked, not assumed).
 */
export async function watchProblems(page: Page): Promise<PageProblems> {
  const out: PageProblems = { problems: [] };
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') out.problems.push(`console: ${m.text()}${m.location()?.url ? ` (${m.location().url})` : ''}`);
  });
  page.on('pageerror', (e) => out.problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => {
    // The event stream is cut when the page goes or the server drops it: not a problem.
    if (new URL(r.url()).pathname === '/api/v1/stream') return;
    out.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  return out;
}

// After a failed `npm test` in .ci/run: the reasons a test process died natively, gathered from the
// middle of the log and from Node's fatal-error reports (--report-on-fatalerror), printed at the end
// where a reader of CI's tail sees them.
//   node scripts/ci-diagnose.ts <dir with test.log and report.*.json>
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Log lines that name a native death of a process, or the run's failures. */
const FATAL = /FATAL ERROR|Assertion .*failed|node::Abort|heap out of memory|Worker exited unexpectedly|Segmentation fault|SIGABRT|SIGSEGV|Allocation failed|\bFAIL\b/;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** The matching lines of `log` (colour codes removed) with `after` lines of context each, at most `max` lines. */
export function fatalLines(log: string, after = 3, max = 80): string[] {
  const lines = log.split('\n').map((l) => l.replace(ANSI, ''));
  const out: string[] = [];
  let until = -1;
  for (let i = 0; i < lines.length; i++) {
    if (FATAL.test(lines[i]!)) until = i + after;
    if (i <= until) out.push(`${i + 1}: ${lines[i]}`);
  }
  return out.length > max ? [`(${out.length - max} earlier lines left out)`, ...out.slice(-max)] : out;
}

interface Report {
  header?: { event?: string; trigger?: string; commandLine?: string[]; processId?: number; filename?: string };
  javascriptStack?: { message?: string; stack?: string[] };
  nativeStack?: { symbol?: string }[];
  javascriptHeap?: { totalMemory?: number; usedMemory?: number; memoryLimit?: number };
}

/** What a Node diagnostic report says about why its process died, in a few lines. */
export function summarizeReport(r: Report): string[] {
  const mb = (n?: number) => (n === undefined ? '?' : `${Math.round(n / 2 ** 20)} MB`);
  const h = r.header ?? {};
  const out = [`pid ${h.processId ?? '?'}: ${h.event ?? '?'} (${h.trigger ?? '?'})`, `  command: ${(h.commandLine ?? []).join(' ')}`];
  const heap = r.javascriptHeap;
  if (heap) out.push(`  heap: used ${mb(heap.usedMemory)} of ${mb(heap.totalMemory)}, limit ${mb(heap.memoryLimit)}`);
  if (r.javascriptStack?.message) out.push(`  js: ${r.javascriptStack.message}`);
  for (const f of (r.javascriptStack?.stack ?? []).slice(0, 12)) out.push(`    ${f.trim()}`);
  const native = (r.nativeStack ?? []).map((f) => (f.symbol ?? '').trim()).filter((s) => s && s !== '[node]').slice(0, 16);
  if (native.length) out.push('  native:', ...native.map((s) => `    ${s}`));
  return out;
}

function main(dir: string): void {
  console.log(`\n=== CI diagnostics (${dir})`);
  let log = '';
  try {
    log = readFileSync(join(dir, 'test.log'), 'utf8');
  } catch {
    console.log('no test.log');
  }
  const lines = fatalLines(log);
  console.log(lines.length ? lines.join('\n') : 'no line of the log names a fatal error');
  const reports = readdirSync(dir).filter((f) => /^report\..*\.json$/.test(f));
  console.log(`${reports.length} Node fatal-error report(s)`);
  for (const f of reports) {
    try {
      console.log(summarizeReport(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Report).join('\n'));
    } catch (e) {
      console.log(`${f}: unreadable (${String(e)})`);
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv[2] ?? '.');

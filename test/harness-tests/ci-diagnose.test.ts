// scripts/ci-diagnose.ts, which .ci/run calls after a failed test run: it finds a native death in the
// middle of a log, and reads a real Node fatal-error report (a child process that runs out of heap).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fatalLines, summarizeReport } from '../../scripts/ci-diagnose.ts';

describe('ci-diagnose', () => {
  it('picks the fatal lines and their context out of a long coloured log', () => {
    const log = [
      ...Array.from({ length: 500 }, (_, i) => ` \u001b[32m✓\u001b[39m test ${i}`),
      'node[123]: ../src/tls_wrap.cc:621: Assertion `(current_write_) == (nullptr)\' failed.',
      ' 1: 0xa17c40 node::Abort() [node]',
      ' 2: 0xa17cbe  [node]',
      ' 3: 0xa3214a  [node]',
      ' 4: 0xc019e9  [node]',
      ...Array.from({ length: 500 }, (_, i) => ` ✓ later ${i}`),
      '\u001b[31mError\u001b[39m: Worker exited unexpectedly with signal SIGABRT during started state while running test file test/kube/leader.test.ts',
    ].join('\n');
    const out = fatalLines(log);
    expect(out[0]).toBe("501: node[123]: ../src/tls_wrap.cc:621: Assertion `(current_write_) == (nullptr)' failed.");
    expect(out).toContain('502:  1: 0xa17c40 node::Abort() [node]');
    expect(out.some((l) => l.includes('later'))).toBe(false);
    expect(out.at(-1)).toBe('1006: Error: Worker exited unexpectedly with signal SIGABRT during started state while running test file test/kube/leader.test.ts');
    expect(fatalLines(' ✓ a\n ✓ b')).toEqual([]);
  });

  it('keeps the last lines when there are too many', () => {
    const out = fatalLines(Array.from({ length: 200 }, (_, i) => `FAIL ${i}`).join('\n'), 0, 10);
    expect(out).toHaveLength(11);
    expect(out[0]).toBe('(190 earlier lines left out)');
    expect(out.at(-1)).toBe('200: FAIL 199');
  });

  it("summarizes the report Node writes when a process runs out of heap", () => {
    const dir = mkdtempSync(join(tmpdir(), 'netform-ci-diagnose-'));
    try {
      const r = spawnSync(process.execPath, ['--max-old-space-size=16', '--report-on-fatalerror', `--report-directory=${dir}`, '-e', 'const a = []; for (;;) a.push({ x: [1, 2, 3] });'], { encoding: 'utf8', timeout: 60_000 });
      expect(r.signal).toBe('SIGABRT');
      const files = readdirSync(dir).filter((f) => /^report\..*\.json$/.test(f));
      expect(files).toHaveLength(1);
      const out = summarizeReport(JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')));
      expect(out[0]).toMatch(/^pid \d+: .*heap out of memory.* \(OOMError\)$|^pid \d+: .*Allocation failed.*$/i);
      expect(out[1]).toContain('--max-old-space-size=16');
      expect(out.find((l) => l.startsWith('  heap:'))).toMatch(/limit \d+ MB/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

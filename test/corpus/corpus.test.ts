// Bad input at scale: every case of the generated corpus (test/corpus/generate.ts) through the real
// admission entry point, and a sample through the real CLI in child processes (time and peak RSS
// measured by GNU time). Never a throw, never a hang, at most 2 s and 300 MB per file; every error
// names file, line, field and reason; the valid documents beside the bad one are still admitted.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { admit } from '../../src/state/admit.ts';
import { type AdmissionError, type AdmissionResult } from '../../src/api/objects.ts';
import { BESIDE_KEY, CASE_FILE, baseFiles, generateCorpus, templates, type CorpusCase } from './generate.ts';

const MAX_MS = 2000;
const MAX_RSS_MB = 300;
/** A whole CLI run: Node's start-up and the schema compilation (about 1 s) come on top of admission. */
const CLI_MAX_MS = 5000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const corpus = generateCorpus();
const baseKeys = [...admit(baseFiles()).objects.keys()];

/** What every admission error must carry. */
function wellFormed(e: AdmissionError): string | undefined {
  if (!e.file) return 'no file';
  if (!Number.isInteger(e.line) || e.line < 1) return `line ${e.line}`;
  if (!e.field) return 'no field';
  if (!e.message || /\n/.test(e.message)) return `message ${JSON.stringify(e.message)}`;
  if (e.documentIndex === undefined && e.field !== '(file)') return 'no document';
  return undefined;
}

/** `spec.a[0]` is `spec.a[0].b`'s ancestor. */
const within = (field: string, expected: string) =>
  field === expected || expected.startsWith(`${field}.`) || expected.startsWith(`${field}[`) || field.startsWith(`${expected}[`) || field.startsWith(`${expected}.`);

interface Outcome {
  c: CorpusCase;
  ms: number;
  r?: AdmissionResult;
  threw?: unknown;
}

describe('the malformed-manifest corpus', () => {
  const outcomes: Outcome[] = [];

  it('has at least 250 cases, with every kind and category covered', () => {
    const categories = new Set(corpus.map((c) => c.category));
    for (const want of [
      'required field missing',
      'wrong type',
      'out of range',
      'malformed value',
      'unsafe name',
      'unsafe string',
      'unknown field',
      'duplicate key',
      'alias bomb',
      'circular alias',
      'deep nesting',
      'size',
      'binary garbage',
      'syntax',
      'dangling reference',
      'clash',
      'neutron refuses',
      'ucsm refuses',
    ]) {
      expect(categories, want).toContain(want);
    }
    expect(corpus.length).toBeGreaterThanOrEqual(250);
    for (const kind of Object.keys(templates())) expect(corpus.some((c) => c.name.startsWith(`${kind} spec`)), kind).toBe(true);
  });

  it('the templates it mutates are valid beside the base, so each case is refused for what it changes', () => {
    const tpl = templates();
    const text = Object.values(tpl)
      .map((o) => JSON.stringify(o))
      .join('\n---\n');
    const r = admit([...baseFiles(), { path: CASE_FILE, text }]);
    expect(r.errors).toEqual([]);
    // The VmNetworkBinding template expands into a VnicAttachment per vNIC of its template.
    const expanded = [...r.objects.values()].filter((o) => o.object.metadata.labels?.['netform.io/vm-network-binding'] === 'mut-vm').length;
    expect(expanded).toBe(2);
    expect(r.objects.size).toBe(baseKeys.length + Object.keys(tpl).length + expanded);
  });

  it('every case is refused, clearly, quickly, and never takes the valid documents with it', () => {
    for (const c of corpus) {
      const t0 = performance.now();
      let r: AdmissionResult | undefined;
      let threw: unknown;
      try {
        r = admit(c.files);
      } catch (err) {
        threw = err;
      }
      outcomes.push({ c, ms: performance.now() - t0, r, threw });
    }
    const problems: string[] = [];
    for (const { c, ms, r, threw } of outcomes) {
      const say = (what: string) => problems.push(`${c.category} / ${c.name}: ${what}`);
      if (threw !== undefined) {
        say(`admission threw ${String(threw)}`);
        continue;
      }
      if (ms > MAX_MS) say(`took ${Math.round(ms)} ms`);
      const errors = r!.errors;
      const ours = errors.filter((e) => e.file === CASE_FILE);
      if (ours.length === 0) say(`not refused (errors: ${JSON.stringify(errors.slice(0, 2))})`);
      for (const e of errors) {
        const bad = wellFormed(e);
        if (bad) say(`error without ${bad}: ${JSON.stringify(e)}`);
      }
      if (errors.some((e) => e.file !== CASE_FILE)) say(`errors outside ${CASE_FILE}: ${JSON.stringify(errors.filter((e) => e.file !== CASE_FILE)[0])}`);
      if (c.field && !ours.some((e) => within(e.field ?? "", c.field!))) {
        say(`no error at ${c.field}: ${JSON.stringify(ours.map((e) => `${e.field}: ${e.message}`))}`);
      }
      // Valid documents beside the bad one are admitted; nothing of the bad one is.
      for (const key of [...baseKeys, BESIDE_KEY]) if (!r!.objects.has(key) && !c.held?.includes(key)) say(`${key} was not admitted`);
      for (const [key, o] of r!.objects) {
        if (o.source.file === CASE_FILE && ours.some((e) => e.key === key)) say(`${key} slipped through`);
        if (o.source.file === CASE_FILE && key !== BESIDE_KEY && ours.some((e) => e.key === undefined && e.documentIndex === o.source.documentIndex)) {
          say(`${key} admitted from a refused document`);
        }
      }
    }
    const refused = outcomes.filter((o) => o.r && o.r.errors.some((e) => e.file === CASE_FILE)).length;
    const slowest = outcomes.reduce((a, b) => (b.ms > a.ms ? b : a));
    const byCategory = new Map<string, number>();
    for (const o of outcomes) byCategory.set(o.c.category, (byCategory.get(o.c.category) ?? 0) + 1);
    console.log(
      `corpus: ${outcomes.length} cases, ${refused} refused, max ${Math.round(slowest.ms)} ms (${slowest.c.name}), ` +
        `total ${Math.round(outcomes.reduce((s, o) => s + o.ms, 0))} ms\n  by category: ${[...byCategory].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
    expect(problems).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Through the CLI: a child process per case, `validate -o json`, under GNU time.

const TIME = '/usr/bin/time';

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  rssMb: number;
  stdout: string;
  stderr: string;
}

function runCli(dir: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const timeFile = join(dir, '..', `${dir.split('/').pop()}.time`);
    const t0 = performance.now();
    const child = spawn(TIME, ['-v', '-o', timeFile, process.execPath, join(ROOT, 'bin/netform.mjs'), 'validate', '-o', 'json', dir], {
      cwd: dir,
      env: { ...process.env, NETFORM_LOG_LEVEL: 'silent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      const time = existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '';
      const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(time)?.[1] ?? NaN);
      resolve({ code, signal, ms, rssMb: kb / 1024, stdout, stderr });
    });
  });
}

/** The heavy cases, and an even sample of the rest. */
function cliSample(): CorpusCase[] {
  const heavy = corpus.filter((c) => ['alias bomb', 'circular alias', 'deep nesting', 'size', 'binary garbage'].includes(c.category));
  const pick = (name: string) => heavy.filter((c) => c.name.includes(name)).slice(0, 1);
  const sample = [
    ...pick('billion laughs in a subnet name'),
    ...pick('billion laughs of mappings'),
    ...pick('one wide anchor'),
    ...pick('an alias inside its anchor'),
    ...pick('100,000 nested'),
    ...pick('MB file'),
    ...pick('just over 1 MiB'),
    ...pick('random bytes'),
  ];
  const rest = corpus.filter((c) => !heavy.includes(c) && !c.files.some((f) => f.size !== undefined));
  const step = Math.floor(rest.length / 6);
  for (let i = 0; i < 6; i++) sample.push(rest[i * step]!);
  return sample;
}

describe.skipIf(!existsSync(TIME))('the corpus through `netform validate` in child processes', () => {
  const work = mkdtempSync(join(tmpdir(), 'nf-corpus-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('never crashes or hangs; exit 1 with structured errors; at most 300 MB peak RSS per file', async () => {
    const sample = cliSample();
    const runs: { c: CorpusCase; run: CliRun }[] = [];
    // Two at a time: the machine has two cores.
    const queue = sample.map((c, i) => ({ c, dir: join(work, `case-${i}`) }));
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        for (const f of job.c.files) {
          const path = join(job.dir, f.path);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, f.text);
        }
        runs.push({ c: job.c, run: await runCli(job.dir) });
      }
    };
    await Promise.all([worker(), worker()]);
    const problems: string[] = [];
    for (const { c, run } of runs) {
      const say = (what: string) => problems.push(`${c.name}: ${what}`);
      if (run.signal || run.code !== 1) {
        say(`exit ${run.code} ${run.signal ?? ''} ${run.stderr.slice(0, 300)}`);
        continue;
      }
      if (/Error|at .*\.ts:\d+/.test(run.stderr)) say(`stderr: ${run.stderr.slice(0, 300)}`);
      if (run.ms > CLI_MAX_MS) say(`took ${Math.round(run.ms)} ms`);
      if (!(run.rssMb <= MAX_RSS_MB)) say(`peak RSS ${run.rssMb.toFixed(0)} MB`);
      const out = JSON.parse(run.stdout) as { valid: boolean; objects: string[]; errors: AdmissionError[] };
      if (out.valid) say('reported valid');
      if (!out.errors.some((e) => e.file === CASE_FILE)) say('no error in case.yaml');
      for (const e of out.errors) {
        const bad = wellFormed(e);
        if (bad) say(`error without ${bad}: ${JSON.stringify(e)}`);
      }
      if (!out.objects.includes(BESIDE_KEY)) say(`${BESIDE_KEY} not admitted`);
    }
    const max = (f: (r: CliRun) => number) => Math.max(...runs.map((r) => f(r.run)));
    console.log(
      `cli: ${runs.length} child processes (node ${process.version}), max ${Math.round(max((r) => r.ms))} ms wall, ` +
        `max peak RSS ${max((r) => r.rssMb).toFixed(0)} MB (${runs.reduce((a, b) => (b.run.rssMb > a.run.rssMb ? b : a)).c.name})`,
    );
    expect(problems).toEqual([]);
  }, 120_000);
});

// Every credential value the tests hand to netform, in one registry, and the scan that proves none of
// them reaches what netform writes for users and operators (logs, state files, statuses, Events).
//
// - The registry: tests draw their passwords from `canary()` (distinctive random values, never a
//   generic word like "password" that would match innocent text) or register values they do not
//   choose (Keystone's application-credential secret) with `registerSecret()`. Workers record them
//   under ARTIFACTS/.registry/ so the run's teardown (test/harness/secrets-global-setup.ts), in
//   another process, knows every one.
// - The captures: everything else under ARTIFACTS — the CLI children's stdout/stderr
//   (test/support/cli.ts), trace logs of in-process engines (`artifactLogger`), snapshots of state
//   directories (`snapshotDir`), kube objects and Events dumped by the kube tests (`writeArtifact`).
// - The scan: every registered secret, plain, base64 (at each byte alignment, so also inside a larger
//   encoded value such as user:password), base64url and URL-encoded, in every captured file.
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { createLogger } from '../../src/log.ts';

/** The environment variable naming this run's artifacts directory (set by the root globalSetup). */
export const ARTIFACTS_ENV = 'NETFORM_TEST_ARTIFACTS';
/** The registry's subdirectory of the artifacts directory; the only part that is not scanned. */
export const REGISTRY_DIR = '.registry';

let fallback: string | undefined;
/** This run's artifacts directory (created on first use). Outside a vitest run (no globalSetup): a
 *  directory of this process's own, which nothing scans. */
export function artifactsDir(): string {
  let dir = process.env[ARTIFACTS_ENV];
  if (!dir) dir = fallback ??= join(tmpdir(), `netform-test-artifacts-adhoc-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(join(dir, REGISTRY_DIR), { recursive: true });
  return dir;
}

let seq = 0;
/** A fresh path under the artifacts directory for a capture: ARTIFACTS/<kind>/<pid>-<seq>-<name>. */
export function artifactPath(kind: string, name: string): string {
  const dir = join(artifactsDir(), kind);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${process.pid}-${++seq}-${name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80)}`);
}

/** Writes a capture (e.g. `kubectl get ... -o yaml`) into the artifacts directory; returns its path. */
export function writeArtifact(kind: string, name: string, text: string | Buffer): string {
  const p = artifactPath(kind, name);
  writeFileSync(p, text);
  return p;
}

/** Copies a state directory (or a file) into the artifacts directory before the test deletes it. */
export function snapshotDir(src: string, name: string): void {
  if (!existsSync(src)) return;
  cpSync(src, artifactPath('state', name), { recursive: true, dereference: false, verbatimSymlinks: true, filter: (s) => !statSync(s, { throwIfNoEntry: false })?.isSocket() });
}

/** A pino logger at `level` (default trace) writing JSON lines to a file in the artifacts directory,
 *  instead of a silent one; `text()` reads what it wrote. Without the production redaction by default
 *  (stricter: a secret must not even reach the logger); `redact: true` is src/log.ts's logger as shipped. */
export function artifactLogger(name: string, opts: { level?: LevelWithSilent; redact?: boolean } = {}): { log: Logger; file: string; text: () => string } {
  const file = artifactPath('logs', `${name}.log`);
  writeFileSync(file, '');
  // pino's own file destination, synchronous: nothing is lost when the test ends.
  const dest = pino.destination({ dest: file, sync: true });
  const level = opts.level ?? 'trace';
  const log = opts.redact ? createLogger({ level, pretty: false, destination: dest as unknown as NodeJS.WritableStream }) : pino({ level }, dest);
  return { log, file, text: () => readFileSync(file, 'utf8') };
}

// ---- the registry ---------------------------------------------------------------------------------

export interface Secret {
  label: string;
  value: string;
}

/** Values too short or too generic to scan for: they would match innocent text, so tests must not use them as credentials the scan relies on. */
const GENERIC = /^(password|passw0rd|secret|admin|root|changeme|p|u|s3cret|s3cr3t)$/i;
const MIN_LENGTH = 10;

const registered = new Map<string, string>();

/** Registers a credential value the tests give netform (or that a backend gave them). */
export function registerSecret(value: string, label: string): string {
  if (value.length < MIN_LENGTH || GENERIC.test(value)) throw new Error(`secret ${label} is too short or generic to scan for; use canary()`);
  if (registered.has(value)) return value;
  registered.set(value, label);
  appendFileSync(join(artifactsDir(), REGISTRY_DIR, `${process.pid}.jsonl`), JSON.stringify({ label, value } satisfies Secret) + '\n');
  return value;
}

/** A distinctive random credential (nf-canary-<label>-<hex>), registered. */
export function canary(label: string): string {
  return registerSecret(`nf-canary-${label.replace(/[^A-Za-z0-9]+/g, '')}-${randomBytes(9).toString('hex')}`, label);
}

/** Every secret registered in `dir` (by every worker of the run). */
export function readRegistry(dir: string): Secret[] {
  const reg = join(dir, REGISTRY_DIR);
  if (!existsSync(reg)) return [];
  const byValue = new Map<string, Secret>();
  for (const f of readdirSync(reg)) {
    for (const line of readFileSync(join(reg, f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const s = JSON.parse(line) as Secret;
      byValue.set(s.value, s);
    }
  }
  return [...byValue.values()];
}

// ---- the scan -------------------------------------------------------------------------------------

export type Form = 'plain' | 'base64' | 'base64url' | 'url-encoded';

/** The byte strings a secret shows up as: plain, URL-encoded (when that differs), and its base64 and
 *  base64url at each of the three byte alignments (the characters that depend only on the secret, so
 *  that "user:<secret>" encoded as one value is found too). */
export function needles(value: string): { form: Form; text: string }[] {
  const out: { form: Form; text: string }[] = [{ form: 'plain', text: value }];
  for (const enc of [encodeURIComponent(value), new URLSearchParams({ x: value }).toString().slice(2)]) {
    if (enc !== value && !out.some((n) => n.text === enc)) out.push({ form: 'url-encoded', text: enc });
  }
  const bytes = Buffer.from(value, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const start = Math.ceil((shift * 8) / 6);
    const end = Math.floor(((shift + bytes.length) * 8) / 6);
    const core = b64.slice(start, end);
    if (core.length < 8) continue;
    out.push({ form: 'base64', text: core });
    const url = core.replace(/\+/g, '-').replace(/\//g, '_');
    if (url !== core) out.push({ form: 'base64url', text: url });
  }
  return out;
}

export interface Hit {
  file: string;
  offset: number;
  label: string;
  form: Form;
}

export interface ScanResult {
  files: number;
  bytes: number;
  secrets: number;
  hits: Hit[];
}

function walk(dir: string, skip: (p: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (skip(p)) continue;
    if (e.isDirectory()) out.push(...walk(p, skip));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Scans every file under `dir` (but its registry) for every secret, in every form. */
export function scan(dir: string, secrets: readonly Secret[]): ScanResult {
  const reg = join(dir, REGISTRY_DIR);
  const files = existsSync(dir) ? walk(dir, (p) => p === reg) : [];
  const patterns = secrets.flatMap((s) => needles(s.value).map((n) => ({ ...n, label: s.label, buf: Buffer.from(n.text) })));
  const hits: Hit[] = [];
  let bytes = 0;
  for (const file of files) {
    const data = readFileSync(file);
    bytes += data.length;
    for (const p of patterns) {
      for (let at = data.indexOf(p.buf); at >= 0; at = data.indexOf(p.buf, at + 1)) hits.push({ file, offset: at, label: p.label, form: p.form });
    }
  }
  return { files: files.length, bytes, secrets: secrets.length, hits };
}

/** The one-line summary the run prints, and the hits, one a line. */
export function report(dir: string, r: ScanResult): string {
  const head = `secrets scan: ${r.files} files, ${r.bytes} bytes, ${r.secrets} secrets, ${r.hits.length} hits (${dir})`;
  return [head, ...r.hits.slice(0, 50).map((h) => `  ${relative(dir, h.file)} @${h.offset}: ${h.label} (${h.form})`), ...(r.hits.length > 50 ? [`  … ${r.hits.length - 50} more`] : [])].join('\n');
}

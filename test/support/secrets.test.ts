// The secrets scanner itself (test/support/secrets.ts): it finds a planted secret in each form and
// says where; it does not find what is not there; the registry refuses values too generic to scan for.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { needles, REGISTRY_DIR, registerSecret, scan, type Secret } from './secrets.ts';

const dir = mkdtempSync(join(tmpdir(), 'netform-secrets-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A value with characters that URL encoding changes, and a plain canary. */
const odd: Secret = { label: 'odd', value: 'nf-planted pa/ss+wörd=&?~~~???>>>' };
const plain: Secret = { label: 'plain', value: 'nf-canary-planted-0123456789abcdef' };

function plant(name: string, before: string, text: string, after = '\n') {
  const d = mkdtempSync(join(dir, `${name}-`));
  const f = join(d, 'artifact.log');
  writeFileSync(f, before + text + after);
  return { d, f, offset: Buffer.byteLength(before) };
}

describe('the secrets scan', () => {
  it.each([
    ['plain', plain, (v: string) => v],
    ['base64', plain, (v: string) => Buffer.from(v).toString('base64')],
    ['base64', odd, (v: string) => Buffer.from(v).toString('base64')],
    ['base64url', odd, (v: string) => Buffer.from(`x${v}`).toString('base64url')],
    ['url-encoded', odd, (v: string) => encodeURIComponent(v)],
    ['url-encoded', odd, (v: string) => new URLSearchParams({ password: v }).toString()],
  ] as const)('finds a secret planted %s, with its file and offset', (form, secret, encode) => {
    const encoded = encode(secret.value);
    const { d, f, offset } = plant(form, '{"level":30,"msg":"noise ', encoded, '"}\n');
    const r = scan(d, [secret, { label: 'absent', value: 'nf-canary-absent-ffffffffffff' }]);
    expect(r).toMatchObject({ files: 1, secrets: 2 });
    const hit = r.hits.find((h) => h.form === form);
    expect(hit).toMatchObject({ file: f, label: secret.label, form });
    expect(r.hits.every((h) => h.label === secret.label && h.offset >= offset && h.offset < offset + encoded.length)).toBe(true);
  });

  it('finds a secret inside a larger encoded value (user:password in basic auth, at each alignment)', () => {
    for (const user of ['a', 'ab', 'abc']) {
      const { d } = plant(`basic-${user}`, 'authorization: Basic ', Buffer.from(`${user}:${plain.value}`).toString('base64'));
      expect(scan(d, [plain]).hits.map((h) => h.form)).toContain('base64');
    }
  });

  it('reports the exact offset of a plain hit, every occurrence, in nested directories', () => {
    const d = mkdtempSync(join(dir, 'nested-'));
    mkdirSync(join(d, 'a', 'b'), { recursive: true });
    writeFileSync(join(d, 'a', 'b', 'status.yaml'), `x: 1\npassword: ${plain.value}\nagain: ${plain.value}\n`);
    writeFileSync(join(d, 'clean.log'), 'nothing here\n');
    const r = scan(d, [plain]);
    expect(r.files).toBe(2);
    expect(r.hits.filter((h) => h.form === 'plain').map((h) => h.offset)).toEqual([15, 15 + plain.value.length + 8]);
  });

  it('finds nothing in clean files, and does not scan the registry itself', () => {
    const d = mkdtempSync(join(dir, 'clean-'));
    mkdirSync(join(d, REGISTRY_DIR));
    writeFileSync(join(d, REGISTRY_DIR, '1.jsonl'), JSON.stringify(plain) + '\n');
    writeFileSync(join(d, 'log'), 'password: [REDACTED]\n');
    expect(scan(d, [plain, odd])).toEqual({ files: 1, bytes: 21, secrets: 2, hits: [] });
  });

  it('every needle is long enough not to match by chance', () => {
    for (const n of needles(plain.value)) expect(n.text.length).toBeGreaterThanOrEqual(8);
  });

  it('the registry refuses generic or short values', () => {
    for (const v of ['password', 'admin', 's3cr3t-value'.slice(0, 6), 'p']) expect(() => registerSecret(v, 'x')).toThrow(/too short or generic/);
  });
});

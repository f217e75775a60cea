import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { admit, formatAdmissionError } from '../../state/admit.ts';
import { MAX_MANIFEST_BYTES } from '../../api/objects.ts';
import type { ManifestFile } from '../../api/objects.ts';
import { isCredentialsName, isManifestName, ManifestReader, readManifests } from './directory.ts';

const CLUSTER = (name: string) => `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {}\n`;

describe('readManifests', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nf-dir-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves credentials files out of a directory: a typo in one no longer fails validate (ADR 8)', async () => {
    writeFileSync(join(dir, 'cluster.yaml'), CLUSTER('c1'));
    mkdirSync(join(dir, 'ucs'));
    // Broken YAML in credentials files, and one that is not YAML at all.
    writeFileSync(join(dir, 'credentials.yaml'), 'username: admin\npassword: "s3cret\n');
    writeFileSync(join(dir, 'ucs', 'ucs-east.credentials.yaml'), 'username: admin\n\tpassword: x\n');
    writeFileSync(join(dir, 'ucs', 'Secrets.json'), '{"password": ');
    writeFileSync(join(dir, 'neutron-creds.yml'), ': : :\n');
    chmodSync(join(dir, 'credentials.yaml'), 0o600);
    const files = await readManifests([dir]);
    expect(files.map((f) => f.path.slice(dir.length + 1))).toEqual(['cluster.yaml']);
    expect(admit(files).errors).toEqual([]);
  });

  it('reads a credentials-named file given on the command line: naming it is asking for it', async () => {
    writeFileSync(join(dir, 'credentials.yaml'), 'username: admin\n');
    const files = await readManifests([join(dir, 'credentials.yaml')]);
    expect(files).toHaveLength(1);
    expect(admit(files).skipped).toHaveLength(1);
  });

  it('reads a file over the limit only as its size: admission refuses it naming the file and the limit, the others are read', async () => {
    writeFileSync(join(dir, 'a.yaml'), CLUSTER('c1'));
    writeFileSync(join(dir, 'big.yaml'), '');
    truncateSync(join(dir, 'big.yaml'), 20 * 1024 * 1024); // 20 MiB of NUL bytes, sparse
    writeFileSync(join(dir, 'limit.yaml'), `${CLUSTER('c2')}#${'x'.repeat(MAX_MANIFEST_BYTES - CLUSTER('c2').length - 2)}\n`);
    const files = await readManifests([dir]);
    const big = files.find((f) => f.path.endsWith('big.yaml'))!;
    expect(big).toMatchObject({ text: '', size: 20 * 1024 * 1024 });
    expect(files.find((f) => f.path.endsWith('limit.yaml'))!.text).toHaveLength(MAX_MANIFEST_BYTES);
    const r = admit(files);
    expect([...r.objects.keys()]).toEqual(['Cluster/c1', 'Cluster/c2']);
    expect(r.errors.map(formatAdmissionError)).toEqual([
      `${big.path}:1: (file): is 20971520 bytes; a manifest file may be at most 1048576 bytes (1 MiB): split it`,
    ]);
  });

  it.each([
    ['credentials.yaml', true],
    ['ucs-east.credentials.example.yaml', true],
    ['neutron-creds.json', true],
    ['Secret.yml', true],
    ['passwords.yaml', true],
    ['networks.yaml', false],
    ['cluster.yaml', false],
  ])('%s is named like a credentials file: %s', (name, credentials) => {
    expect(isCredentialsName(name)).toBe(credentials);
    expect(isManifestName(name)).toBe(true);
  });
});

describe('ManifestReader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nf-reader-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what readManifests reads; a file that did not change keeps its stamp and is read only when its text is asked for', async () => {
    const plain = (files: ManifestFile[]) => files.map((f) => ({ path: f.path, text: f.text, ...(f.size !== undefined ? { size: f.size } : {}) }));
    writeFileSync(join(dir, 'a.yaml'), CLUSTER('a'));
    writeFileSync(join(dir, 'b.yaml'), CLUSTER('b'));
    const r = new ManifestReader();
    const first = await r.read([dir]);
    expect(plain(first)).toEqual(plain(await readManifests([dir])));
    expect(first.every((f) => typeof f.stamp === 'string' && f.stamp.length > 0)).toBe(true);
    // Same size, same modification time put back: the change time and the content still differ.
    const { atime, mtime } = statSync(join(dir, 'b.yaml'));
    writeFileSync(join(dir, 'b.yaml'), CLUSTER('c'));
    utimesSync(join(dir, 'b.yaml'), atime, mtime);
    writeFileSync(join(dir, 'c.yaml'), CLUSTER('d'));
    const second = await r.read([dir]);
    expect(second[0]!.stamp).toBe(first[0]!.stamp);
    expect(second[1]!.stamp).not.toBe(first[1]!.stamp);
    // a.yaml is known: its text is not read until asked for (a getter), then it is the file's.
    expect(Object.getOwnPropertyDescriptor(second[0]!, 'text')?.get).toBeTypeOf('function');
    expect(Object.getOwnPropertyDescriptor(second[1]!, 'text')?.value).toContain('name: c');
    expect(plain(second)).toEqual(plain(await readManifests([dir])));
    // A file replaced by a rename (an editor's save), and one removed.
    writeFileSync(join(dir, '.a.tmp'), CLUSTER('z'));
    renameSync(join(dir, '.a.tmp'), join(dir, 'a.yaml'));
    unlinkSync(join(dir, 'c.yaml'));
    const third = await r.read([dir]);
    expect(third[0]!.stamp).not.toBe(first[0]!.stamp);
    expect(plain(third)).toEqual(plain(await readManifests([dir])));
    expect(third.map((f) => f.text)).toEqual([CLUSTER('z'), CLUSTER('c')]);
  });
});

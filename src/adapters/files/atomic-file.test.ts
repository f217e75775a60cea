import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { isTempFileName, mkdirDurable, readJsonFile, removeFileDurable, writeFileAtomic } from './atomic-file.ts';

const posixOnly = process.platform === 'win32' ? it.skip : it;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netform-atomic-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes string content, creating missing parent directories', async () => {
    const target = join(dir, 'a', 'b', 'c.json');
    await writeFileAtomic(target, '{"x":1}\n');
    expect(await readFile(target, 'utf8')).toBe('{"x":1}\n');
    expect((await readdir(join(dir, 'a', 'b'))).sort()).toEqual(['c.json']);
  });

  it('writes Uint8Array content byte for byte', async () => {
    const target = join(dir, 'bin');
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    await writeFileAtomic(target, bytes);
    expect([...(await readFile(target))]).toEqual([0, 1, 2, 254, 255]);
  });

  it('replaces existing content and leaves no temp file behind', async () => {
    const target = join(dir, 'f.txt');
    await writeFileAtomic(target, 'first version, longer than the second');
    await writeFileAtomic(target, 'second');
    expect(await readFile(target, 'utf8')).toBe('second');
    expect((await readdir(dir)).sort()).toEqual(['f.txt']);
  });

  posixOnly('applies the exact mode, regardless of umask, also when replacing a file', async () => {
    const target = join(dir, 'secret.json');
    await writeFile(target, 'old', { mode: 0o644 });
    await writeFileAtomic(target, 'new', { mode: 0o600 });
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    await writeFileAtomic(join(dir, 'wide'), 'x', { mode: 0o664 }); // umask 022 would give 0644
    expect((await stat(join(dir, 'wide'))).mode & 0o777).toBe(0o664);
  });

  posixOnly('creates parent directories with dirMode', async () => {
    await writeFileAtomic(join(dir, 'p', 'q', 'f'), 'x', { dirMode: 0o700 });
    expect((await stat(join(dir, 'p'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'p', 'q'))).mode & 0o777).toBe(0o700);
  });

  it('on failure rejects, keeps the target and removes the temp file', async () => {
    // Renaming a file over a non-empty directory fails (EISDIR/ENOTEMPTY/EPERM by platform).
    const target = join(dir, 'target');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'keep');
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['target']);
    expect(await readFile(join(target, 'inside'), 'utf8')).toBe('keep');
  });

  it('uses temp names of the form .<base>.<pid>.<rand>.tmp, unique per call', async () => {
    // 30 concurrent writers of the same file: all must succeed (no temp-name collisions) and the
    // result must be exactly one complete version.
    const target = join(dir, 'shared.json');
    const versions = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ i, pad: String(i % 10).repeat(10_000 + i * 997) }),
    );
    await Promise.all(versions.map((v) => writeFileAtomic(target, v)));
    const final = await readFile(target, 'utf8');
    expect(versions).toContain(final);
    expect((await readdir(dir)).sort()).toEqual(['shared.json']);
    expect(isTempFileName(`.shared.json.${process.pid}.0a1b2c3d4e5f.tmp`)).toBe(true);
    expect(isTempFileName('shared.json')).toBe(false);
    expect(isTempFileName('x.tmp')).toBe(false);
  });

  it('never exposes a partial file to concurrent readers', async () => {
    const target = join(dir, 'hot.json');
    const make = (i: number) => JSON.stringify({ i, pad: 'z'.repeat((i % 7) * 200_000 + 1) });
    await writeFileAtomic(target, make(0));
    let writing = true;
    const seen = new Set<number>();
    const reader = (async () => {
      while (writing) {
        const parsed = JSON.parse(await readFile(target, 'utf8')) as { i: number; pad: string };
        expect(parsed.pad.length).toBe((parsed.i % 7) * 200_000 + 1);
        seen.add(parsed.i);
      }
    })();
    for (let i = 1; i <= 40; i++) await writeFileAtomic(target, make(i));
    writing = false;
    await reader;
    expect(JSON.parse(await readFile(target, 'utf8')).i).toBe(40);
    expect(seen.size).toBeGreaterThan(1); // the reader really overlapped with the writes
  });
});

describe('readJsonFile', () => {
  it('returns undefined for a missing file', async () => {
    expect(await readJsonFile(join(dir, 'nope.json'))).toBeUndefined();
  });

  it('parses an existing file', async () => {
    await writeFile(join(dir, 'ok.json'), '{"a":[1,2],"b":"c"}');
    expect(await readJsonFile<{ a: number[]; b: string }>(join(dir, 'ok.json'))).toEqual({
      a: [1, 2],
      b: 'c',
    });
  });

  it('rejects corrupt JSON with an error naming the file', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{"a": 1, "b": ');
    await expect(readJsonFile(path)).rejects.toThrow(`corrupt JSON in ${path}`);
  });

  it('propagates errors other than a missing file', async () => {
    await mkdir(join(dir, 'isdir.json'));
    await expect(readJsonFile(join(dir, 'isdir.json'))).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('removeFileDurable', () => {
  it('removes an existing file and reports true', async () => {
    await writeFile(join(dir, 'x'), 'x');
    await writeFile(join(dir, 'y'), 'y');
    expect(await removeFileDurable(join(dir, 'x'))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['y']);
  });

  it('is a no-op reporting false when the file is absent', async () => {
    expect(await removeFileDurable(join(dir, 'missing'))).toBe(false);
    expect(await removeFileDurable(join(dir, 'no', 'such', 'dir'))).toBe(false);
  });
});

describe('mkdirDurable', () => {
  it('creates every missing level and accepts an existing directory', async () => {
    await mkdirDurable(join(dir, 'a', 'b', 'c'), 0o700);
    await mkdirDurable(join(dir, 'a', 'b', 'c'));
    expect((await stat(join(dir, 'a', 'b', 'c'))).isDirectory()).toBe(true);
  });

  it('a file in the way fails with ENOTDIR, at its level or below it', async () => {
    await writeFile(join(dir, 'f'), '');
    await expect(mkdirDurable(join(dir, 'f'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(mkdirDurable(join(dir, 'f', 'g'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('with below: never creates that directory or anything above it, only what lies beneath', async () => {
    const base = join(dir, 'state');
    await expect(mkdirDurable(join(base, 'objects', 'Network'), 0o700, { below: base })).rejects.toMatchObject({
      code: 'ENOENT',
      message: `${base} does not exist (it is not re-created here)`,
    });
    expect(await readdir(dir)).toEqual([]);
    await mkdir(base);
    await mkdirDurable(join(base, 'objects', 'Network'), 0o700, { below: base });
    expect((await stat(join(base, 'objects', 'Network'))).isDirectory()).toBe(true);
    await mkdirDurable(base, 0o700, { below: base }); // the base itself: it exists, nothing to do
  });

  it('writeFileAtomic with createBelow does not bring back a deleted directory', async () => {
    const base = join(dir, 'state');
    await writeFileAtomic(join(base, 'x', 'f'), '1'); // without it, everything is created
    await rm(base, { recursive: true });
    await expect(writeFileAtomic(join(base, 'x', 'f'), '2', { createBelow: base })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });

  posixOnly('under a read-only directory: the real reason (EROFS/EACCES), not ENOENT', async (ctx) => {
    const ro = join(dir, 'ro');
    await mkdir(ro);
    let undo: () => void;
    if (process.getuid?.() === 0) {
      // chmod does not stop root: a read-only bind mount of the directory onto itself does.
      if (spawnSync('mount', ['--bind', '-o', 'ro', ro, ro]).status !== 0) return ctx.skip();
      undo = () => void spawnSync('umount', [ro]);
    } else {
      await chmod(ro, 0o555);
      undo = () => void chmod(ro, 0o700);
    }
    try {
      const err = await mkdirDurable(join(ro, 'a', 'b')).then(() => undefined, (e: NodeJS.ErrnoException) => e);
      expect(['EROFS', 'EACCES']).toContain(err?.code);
      expect(err?.message).toContain(`mkdir '${join(ro, 'a')}'`);
    } finally {
      undo();
    }
  });
});

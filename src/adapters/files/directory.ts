// Reading manifest files from paths (files or directories, recursively).
import { open, readdir, stat } from 'node:fs/promises';
import { readFileSync, type BigIntStats } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { MAX_MANIFEST_BYTES, type ManifestFile } from '../../api/objects.ts';

const MANIFEST = /\.(ya?ml|json)$/i;
const CREDENTIALS = /credential|creds|secret|password/i;

/** Whether a file name is one netform reads as a manifest. Hidden files and directories are skipped.
 *  (The directory watch wakes on these, credentials files included: a rotated password is news.) */
export function isManifestName(name: string): boolean {
  return MANIFEST.test(name) && !name.startsWith('.');
}

/**
 * Whether a file name is a credentials file's, which a directory's manifests never include (ADR 8):
 * its name contains `credential`, `creds`, `secret` or `password`, in any case. Such a file is only
 * read as manifests when it is named on the command line.
 */
export function isCredentialsName(name: string): boolean {
  return CREDENTIALS.test(name);
}

/** Reads every manifest under the given paths, in a stable order, leaving out anything under
 *  `exclude` (the state directory, when it sits inside the manifest directory). Paths in messages are
 *  relative to the working directory when that is shorter. */
export async function readManifests(paths: readonly string[], exclude: readonly string[] = []): Promise<ManifestFile[]> {
  const files: string[] = [];
  const skip = exclude.map((e) => resolve(e));
  for (const p of paths) await collect(p, files, true, skip);
  const unique = [...new Set(files)].sort();
  return Promise.all(unique.map(async (path) => ({ path: display(path), ...(await readCapped(path)) })));
}

/**
 * Reads manifests again and again (`run`): a file whose size, change time and modification time (in
 * nanoseconds) and inode are what they were is not read again. Only the stamps are kept, not the
 * texts (13 MB for 60,000 objects): a file that did not change is handed out with its stamp, and its
 * text is read only if asked for (admission asks only to point at a line, for a problem found across
 * files; the file may have changed meanwhile, and then the next read gives it a new stamp). Every
 * read lists the directories and stats every file.
 */
export class ManifestReader {
  readonly #known = new Map<string, { stamp: string; size?: number }>();

  async read(paths: readonly string[], exclude: readonly string[] = []): Promise<ManifestFile[]> {
    const files: string[] = [];
    const skip = exclude.map((e) => resolve(e));
    for (const p of paths) await collect(p, files, true, skip);
    const unique = [...new Set(files)].sort();
    const out = await Promise.all(
      unique.map(async (path) => {
        const st = await stat(path, { bigint: true }).catch(() => undefined);
        const stamp = st ? stampOf(st) : '';
        const known = this.#known.get(path);
        if (st && known?.stamp === stamp) return unchangedFile(path, stamp, known.size);
        const read = await readCapped(path);
        // Stamped before the read: a write during the read changes the stamp, and is read next time.
        if (st) this.#known.set(path, { stamp, ...(read.size !== undefined ? { size: read.size } : {}) });
        return { path: display(path), ...read, ...(st ? { stamp } : {}) };
      }),
    );
    const seen = new Set(unique);
    for (const p of this.#known.keys()) if (!seen.has(p)) this.#known.delete(p);
    return out;
  }
}

/** A file known by its stamp: its text is read when first asked for (capped as readCapped is). */
function unchangedFile(path: string, stamp: string, size: number | undefined): ManifestFile {
  if (size !== undefined) return { path: display(path), stamp, text: '', size };
  let text: string | undefined;
  return {
    path: display(path),
    stamp,
    get text(): string {
      if (text === undefined) {
        try {
          const buf = readFileSync(path);
          text = buf.length > MAX_MANIFEST_BYTES ? '' : buf.toString('utf8');
        } catch {
          text = ''; // gone meanwhile: the next read does not list it
        }
      }
      return text;
    },
  };
}

function stampOf(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** A file's text, or only its size when it is over MAX_MANIFEST_BYTES (admission refuses it). Never
 *  reads more than one byte past the limit, whatever the file grows to meanwhile. */
async function readCapped(path: string): Promise<{ text: string; size?: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size > MAX_MANIFEST_BYTES) return { text: '', size };
    // One byte more than the size found, to notice a file that grew; then up to the limit.
    for (const length of [size + 1, MAX_MANIFEST_BYTES + 1]) {
      const buf = Buffer.alloc(length);
      let n = 0;
      while (n < length) {
        const { bytesRead } = await fh.read(buf, n, length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      if (n < length) return { text: buf.toString('utf8', 0, n) };
    }
    return { text: '', size: Math.max((await fh.stat()).size, MAX_MANIFEST_BYTES + 1) };
  } finally {
    await fh.close();
  }
}

async function collect(path: string, out: string[], explicit: boolean, skip: readonly string[]): Promise<void> {
  if (skip.some((s) => resolve(path) === s)) return;
  const st = await stat(path);
  if (st.isDirectory()) {
    const entries = await readdir(path, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      await collect(join(path, e.name), out, false, skip);
    }
  } else if (st.isFile() && (explicit || (isManifestName(path.split('/').pop()!) && !isCredentialsName(path.split('/').pop()!)))) {
    out.push(path);
  }
}

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && rel.length < path.length ? rel : path;
}

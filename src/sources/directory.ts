// Reading manifest files from paths (files or directories, recursively).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { ManifestFile } from '../state/admit.ts';

const MANIFEST = /\.(ya?ml|json)$/i;

/** Whether a file name is one netform reads as a manifest. Hidden files and directories are skipped. */
export function isManifestName(name: string): boolean {
  return MANIFEST.test(name) && !name.startsWith('.');
}

/** Reads every manifest under the given paths, in a stable order, leaving out anything under
 *  `exclude` (the state directory, when it sits inside the manifest directory). Paths in messages are
 *  relative to the working directory when that is shorter. */
export async function readManifests(paths: readonly string[], exclude: readonly string[] = []): Promise<ManifestFile[]> {
  const files: string[] = [];
  const skip = exclude.map((e) => resolve(e));
  for (const p of paths) await collect(p, files, true, skip);
  const unique = [...new Set(files)].sort();
  return Promise.all(unique.map(async (path) => ({ path: display(path), text: await readFile(path, 'utf8') })));
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
  } else if (st.isFile() && (explicit || isManifestName(path.split('/').pop()!))) {
    out.push(path);
  }
}

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && rel.length < path.length ? rel : path;
}

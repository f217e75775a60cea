/**
 * Crash-safe file primitives for the local state directory.
 *
 * Everything here assumes a POSIX filesystem where `rename(2)` within one directory is atomic and
 * `fsync(2)` on a directory makes its entries durable (ext4, xfs, btrfs, apfs, tmpfs).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface WriteFileAtomicOptions {
  /**
   * Exact permission bits of the written file (applied with fchmod, so the umask does not reduce
   * them). Default: `0o666` filtered by the umask, like `fs.writeFile`.
   */
  mode?: number;
  /** Mode for parent directories this call creates (filtered by the umask). Default `0o777`. */
  dirMode?: number;
  /**
   * Create missing parent directories only strictly below this directory, which must exist: if it
   * (or anything at or above it) is missing, the write fails with ENOENT instead of re-creating it.
   * Default: every missing parent is created.
   */
  createBelow?: string;
}

/** Suffix of every temp file made by {@link writeFileAtomic}; names also start with a dot. */
export const TEMP_SUFFIX = '.tmp';

/**
 * True for names {@link writeFileAtomic} uses for its temp files (`.<base>.<pid>.<rand>.tmp`).
 * A crashed writer can leave such files behind; they never hold data anyone relies on.
 */
export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

/**
 * Replace the file at `path` with `data`, atomically and durably.
 *
 * Contract callers may rely on:
 * - **Atomic**: a reader (or a process that starts after a crash at any point, including SIGKILL
 *   or power loss) sees either the complete previous content or the complete new content, never a
 *   mix, a truncation or an empty file. The data goes to a uniquely named temp file in the same
 *   directory (`.<base>.<pid>.<rand>.tmp`), which is fsynced and then renamed over the target.
 * - **Durable**: when the promise resolves, the new content and its directory entry have been
 *   fsynced (the file, the containing directory, and the parents of any directories created).
 * - **Concurrent calls** for the same path each write their own temp file; the last rename wins
 *   and the result is always one complete version. Callers that need a particular order must
 *   serialize the calls themselves (StateDir does).
 * - **On failure** the promise rejects and the temp file is removed; the target is unchanged
 *   unless only the final directory fsync failed (then the rename happened but may not be durable).
 *
 * Missing parent directories are created (with `opts.dirMode`), only below `opts.createBelow` when given.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: WriteFileAtomicOptions = {},
): Promise<void> {
  const target = resolve(path);
  const dir = dirname(target);
  await mkdirDurable(dir, opts.dirMode ?? 0o777, { below: opts.createBelow });

  // Keep the temp name within NAME_MAX even for long targets; it only needs to be unique.
  const base = basename(target).slice(0, 200);
  const tmp = join(dir, `.${base}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  let created = false;
  try {
    // 'wx' = O_CREAT|O_EXCL: never follow or reuse an existing file under the temp name.
    const fh = await open(tmp, 'wx', opts.mode ?? 0o666);
    created = true;
    try {
      await fh.writeFile(data);
      if (opts.mode !== undefined) await fh.chmod(opts.mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    if (created) await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

/**
 * Read and parse a JSON file. Resolves `undefined` when the file does not exist; rejects with an
 * error naming the file when its content is not valid JSON.
 */
export async function readJsonFile<T>(path: string, reviver?: (key: string, value: unknown) => unknown): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text, reviver) as T;
  } catch (err) {
    throw new Error(`corrupt JSON in ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Remove `path` if it exists and fsync its directory, so the removal survives a crash once the
 * promise resolves. Resolves `true` if a file was removed, `false` if there was none.
 */
export async function removeFileDurable(path: string): Promise<boolean> {
  try {
    await unlink(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
  await fsyncDir(dirname(resolve(path)));
  return true;
}

/**
 * fsync a directory so that entries created, renamed or removed in it are durable.
 * No-op on Windows (directories cannot be opened there); filesystems that reject directory fsync
 * with EINVAL/ENOTSUP (some FUSE/network mounts) are tolerated, as they offer nothing better.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    const code = errorCode(err);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw err;
  } finally {
    await fh.close();
  }
}

/**
 * `mkdir -p` that also makes the new directory entries durable: when it resolves, every directory
 * it created (and the entry for it in its parent) has been fsynced.
 *
 * Directories are created one level at a time, so a failure carries the real reason for the level
 * that could not be made (EROFS, EACCES, ENOTDIR...), not the ENOENT a recursive mkdir reports on some
 * filesystems. An existing non-directory in the way fails with ENOTDIR. With `opts.below`, only
 * directories strictly below it are created; it must exist (else ENOENT naming it).
 */
export async function mkdirDurable(dir: string, mode = 0o777, opts: { below?: string } = {}): Promise<void> {
  const target = resolve(dir);
  const below = opts.below === undefined ? undefined : resolve(opts.below);
  const created: string[] = [];
  await makeLevel(target, mode, below, created);
  // Each created directory's entry lives in its parent; created is in top-down order.
  for (const d of created) await fsyncDir(dirname(d));
}

async function makeLevel(d: string, mode: number, below: string | undefined, created: string[]): Promise<void> {
  if (below !== undefined && !isStrictlyBelow(d, below)) {
    await assertDirectory(d, `${d} does not exist (it is not re-created here)`);
    return;
  }
  try {
    await mkdir(d, { mode });
    created.push(d);
    return;
  } catch (err) {
    const code = errorCode(err);
    if (code === 'EEXIST') return assertDirectory(d);
    if (code !== 'ENOENT' || dirname(d) === d) throw err;
  }
  await makeLevel(dirname(d), mode, below, created);
  try {
    await mkdir(d, { mode });
    created.push(d);
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw err;
    await assertDirectory(d); // made meanwhile by someone else
  }
}

async function assertDirectory(d: string, missing?: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(d)).isDirectory();
  } catch (err) {
    if (missing !== undefined && errorCode(err) === 'ENOENT') throw fsError('ENOENT', missing);
    throw err;
  }
  if (!isDir) throw fsError('ENOTDIR', `ENOTDIR: not a directory, mkdir '${d}' (something else is in the way)`);
}

function isStrictlyBelow(path: string, base: string): boolean {
  const rel = relative(base, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function fsError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * The file-mode state store: one JSON record per object key under a local directory.
 *
 * Layout (`root` is e.g. `./.netform`):
 *
 *     root/lock                                   pid of the process that has the directory open
 *     root/meta.json                              store-level metadata (e.g. schema version)
 *     root/objects/<Kind>/<name>.json             cluster-scoped object
 *     root/objects/<Kind>/<namespace>/<name>.json namespaced object
 *
 * Records are pretty-printed JSON with keys sorted recursively, so files are deterministic and
 * diff well. Files are written with mode 0600 (records may name credential files), directories
 * created here with 0700.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ObjectRecord, RecordStore } from '../../state/records.ts';
import { Shared } from '../../api/shared.ts';
import {
  errorCode,
  fsyncDir,
  isTempFileName,
  mkdirDurable,
  readJsonFile,
  removeFileDurable,
  TEMP_SUFFIX,
  writeFileAtomic,
} from './atomic-file.ts';

/**
 * One persisted object. `key` is `<Kind>/<name>` or `<Kind>/<namespace>/<name>`; the engine
 * defines the other fields. Values must be JSON-serializable; what is stored (and what get()
 * returns afterwards) is the JSON round trip of the record, so e.g. `undefined` fields vanish and
 * Dates become strings.
 */
export interface StateRecord {
  key: string;
  [k: string]: unknown;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const RECORD_SUFFIX = '.json';
const STALE_LOCK_PREFIX = 'lock.stale.';
/** Queue key for meta.json; cannot collide with record keys (they contain '/'). */
const META_QUEUE = '\0meta';
/** How long to wait for a just-created lock file to receive its pid before giving up. */
const LOCK_CONTENT_GRACE_MS = 1000;
/** Default period of the check that the lock is still ours while nothing is written. */
const LOCK_CHECK_MS = 1000;
/** Errors that say the directory cannot be written (or made), as opposed to e.g. a corrupt record. */
const UNWRITABLE = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EEXIST', 'EISDIR', 'ENOSPC', 'EDQUOT', 'ENOENT', 'ELOOP']);

export interface StateDirOptions {
  /**
   * How often (ms) to check that the lock is still the one this instance created, besides the check
   * around every write. 0 turns the periodic check off. Default 1000.
   */
  lockCheckMs?: number;
}

/**
 * The state directory's lock is no longer the one this instance created: the directory (or its lock
 * file) was deleted, moved or replaced, e.g. by `rm -rf` while netform ran — and another writer may
 * now hold it. The instance refuses every further write; its owner should stop.
 */
export class StateDirLockLostError extends Error {
  readonly code = 'ESTATELOCKLOST';
  readonly root: string;
  constructor(root: string, why: string) {
    super(`the state directory ${root} lost its lock (deleted or replaced?): ${why}; stopping`);
    this.name = 'StateDirLockLostError';
    this.root = root;
  }
}

interface FileId {
  dev: bigint;
  ino: bigint;
}

/**
 * Persistent, single-writer store of {@link StateRecord}s, one file per key.
 *
 * Contract callers may rely on:
 * - **Exclusive**: while open, the directory is locked (root/lock, created with O_EXCL, holding
 *   the pid). A second opener — another process or another instance in this process — fails with
 *   `state directory <root> is in use by pid <N>`. A lock whose pid is no longer alive (the owner
 *   crashed) is taken over. (Liveness is judged by pid only: if the OS has since reused the pid for
 *   an unrelated live process, open() refuses until the lock file is removed by hand.)
 * - **The lock lives with the state**: the instance remembers its lock file's identity (device and
 *   inode) and checks before and after every write, and every `lockCheckMs` in between, that the
 *   file at root/lock is still that one. If it is not (the directory or the lock was deleted, moved
 *   or replaced — another writer may hold the path now), the lock is *lost*: that write and every
 *   later one reject with {@link StateDirLockLostError}, and {@link onLost} listeners are called
 *   once. Writes never re-create the root or root/objects (only Kind/namespace directories below
 *   it), so a deleted state directory is never silently brought back without its lock.
 * - **Writable or refused**: open() fails with `state directory <root> is not writable: <reason>`
 *   (or `is not usable`) when the directory, its lock, root/objects or any directory under it
 *   cannot be written, instead of failing write after write later.
 * - **Atomic & durable writes**: each put()/delete()/setMeta() replaces exactly one file via
 *   {@link writeFileAtomic} / {@link removeFileDurable}. After a crash at any point every record
 *   file is complete (the old or the new version), and once the returned promise has resolved the
 *   change survives a crash or power loss.
 * - **Per-key ordering**: put()/delete() calls for the same key are applied to disk and memory in
 *   call order, each starting after the previous one settled (a failed call does not block later
 *   ones). Calls for different keys run in parallel with no ordering between them.
 * - **Memory mirrors disk**: get()/list() answer from memory without I/O and reflect the last
 *   *completed* write for each key; a put() still in flight is not visible yet. A failed write
 *   leaves memory unchanged. The returned records are deep-frozen snapshots — to change one, put()
 *   a new object (e.g. `{ ...old, status }`).
 * - close() waits for writes already issued, then releases the lock. Calls after close() (or before
 *   open()) reject.
 */
export class StateDir {
  readonly root: string;
  private readonly objectsDir: string;
  private readonly lockPath: string;
  private readonly metaPath: string;
  private state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  private records = new Map<string, StateRecord>();
  /** The keys of `records` in list() order; dropped when a key comes or goes. */
  #sortedKeys: string[] | undefined;
  private readonly watchers = new Set<(key: string) => void>();
  /** Per-key tail of the operation queue; the promise never rejects. */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly lockCheckMs: number;
  /**
   * Identity of the lock file this instance created, and of the root it created it in. Both stay
   * open while the lock is held: an open file's inode cannot be freed, so no other file can get the
   * same device and inode meanwhile (filesystems reuse a freed inode number at once), and the
   * comparison with what is at the path is exact.
   */
  private lockId: FileId | undefined;
  private rootId: FileId | undefined;
  private lockHandle: FileHandle | undefined;
  private rootHandle: FileHandle | undefined;
  private lostError: StateDirLockLostError | undefined;
  private readonly lostListeners: ((err: StateDirLockLostError) => void)[] = [];
  private lockTimer: NodeJS.Timeout | undefined;

  constructor(root: string, opts: StateDirOptions = {}) {
    this.root = resolve(root);
    this.objectsDir = join(this.root, 'objects');
    this.lockPath = join(this.root, 'lock');
    this.metaPath = join(this.root, 'meta.json');
    this.lockCheckMs = opts.lockCheckMs ?? LOCK_CHECK_MS;
  }

  /**
   * Create the directory if needed (root/objects, mode 0700), take the lock, delete temp files
   * left by crashed writes, and load every record into memory. Rejects with an error naming the
   * file if a record file is corrupt or does not match its path; the lock is released in that case.
   */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error(`StateDir ${this.root} was already opened`);
    this.state = 'opening';
    try {
      await mkdirDurable(this.objectsDir, DIR_MODE);
      await this.acquireLock();
    } catch (err) {
      this.state = 'closed';
      throw this.unwritable(err);
    }
    try {
      await this.removeLeftovers();
      const records = new Map<string, StateRecord>();
      const dirs: string[] = [];
      await this.loadDir(this.objectsDir, records, dirs);
      // Every directory a write may go to must be writable now: a fault at start is refused at once.
      await this.probeWritable(this.objectsDir);
      for (const d of dirs) await this.probeWritable(d);
      const before = this.records;
      this.records = records;
      this.#sortedKeys = undefined;
      for (const w of this.watchers) for (const k of new Set([...before.keys(), ...records.keys()])) w(k);
      this.state = 'open';
      this.scheduleLockCheck();
    } catch (err) {
      await this.releaseLock().catch(() => {});
      this.state = 'closed';
      throw this.unwritable(err);
    }
  }

  /** The error the lock was lost with, if it was (see the class doc). */
  get lost(): StateDirLockLostError | undefined {
    return this.lostError;
  }

  /**
   * Calls `listener` once when the lock is found lost, by a write or the periodic check (at once,
   * asynchronously, if it already is). Listeners must not throw.
   */
  onLost(listener: (err: StateDirLockLostError) => void): void {
    if (this.lostError) {
      const err = this.lostError;
      queueMicrotask(() => listener(err));
    } else {
      this.lostListeners.push(listener);
    }
  }

  /**
   * Checks that the lock at root/lock is still the one this instance created; rejects with
   * {@link StateDirLockLostError} (and marks the lock lost) when it is not. Other I/O errors (e.g.
   * EIO) are passed on without judging the lock.
   */
  async checkLock(): Promise<void> {
    if (this.lostError) throw this.lostError;
    const why = await this.lockProblem();
    if (why !== undefined) throw this.markLost(why);
  }

  /**
   * Read every record of a state directory without locking or changing it (for `plan` and
   * `status`, which may run beside a `run` process). A missing directory reads as empty. What a
   * concurrent writer is doing may or may not be seen, but every record read is complete.
   */
  static async readAll(root: string): Promise<StateRecord[]> {
    const dir = new StateDir(root);
    const records = new Map<string, StateRecord>();
    try {
      await dir.loadDir(dir.objectsDir, records);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw err;
    }
    return [...records.values()].sort((a, b) => compareStrings(a.key, b.key));
  }

  /** Wait for issued writes to settle, then release the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    if (this.lockTimer) clearTimeout(this.lockTimer);
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
    // A lost lock is not ours to remove: it may be another writer's by now.
    if (this.lostError) await this.closeHandles();
    else await this.releaseLock();
    this.state = 'closed';
  }

  /** The last completed write for `key` (deep-frozen), or undefined. No I/O. */
  get(key: string): StateRecord | undefined {
    this.assertOpen();
    return this.records.get(key);
  }

  /** Calls `changed(key)` synchronously each time the record of a key changes in memory (what
   *  get/list answer); returns the way to stop. */
  watch(changed: (key: string) => void): () => void {
    const w = (key: string) => changed(key);
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
    };
  }

  /** All records, sorted by key (code-unit order). No I/O. */
  /** Every record, in no particular order, without a copy. */
  values(): IterableIterator<StateRecord> {
    this.assertOpen();
    return this.records.values();
  }

  list(): StateRecord[] {
    this.assertOpen();
    this.#sortedKeys ??= [...this.records.keys()].sort(compareStrings);
    return this.#sortedKeys.map((k) => this.records.get(k)!);
  }

  /**
   * Persist `record` (atomically, durably — see the class doc) under `record.key`, then update
   * memory. The record is serialized at call time, so later mutation of the argument has no effect.
   * Rejects (without writing) if the key is malformed or the record is not JSON-serializable.
   */
  async put(record: StateRecord): Promise<void> {
    this.assertOpen();
    if (!isPlainObject(record)) throw new TypeError('StateDir.put: record must be a plain object');
    const key = record.key;
    const file = this.pathForKey(key);
    const text = stableStringify(record);
    const parsed = JSON.parse(text, internStrings) as StateRecord;
    // A frozen spec (or source) is the admitted object's, equal to what was written: kept instead of a copy.
    for (const field of ['spec', 'source'] as const) {
      const value = (record as { spec?: unknown; source?: unknown })[field];
      if (value !== null && typeof value === 'object' && Object.isFrozen(value)) (parsed as { spec?: unknown; source?: unknown })[field] = value;
    }
    // Top-level strings (key, kind, name, namespace…) are the caller's, shared with the desired state.
    for (const [field, value] of Object.entries(record)) {
      if (typeof value === 'string' && (parsed as Record<string, unknown>)[field] === value) (parsed as Record<string, unknown>)[field] = value;
    }
    shareConditions(parsed);
    const stored = deepFreeze(parsed);
    return this.enqueue(key, async () => {
      await this.guarded(() => writeFileAtomic(file, text, { mode: FILE_MODE, dirMode: DIR_MODE, createBelow: this.objectsDir }));
      if (!this.records.has(key)) this.#sortedKeys = undefined;
      this.records.set(key, stored);
      for (const w of this.watchers) w(key);
    });
  }

  /** Remove the record for `key` (durably) and forget it. A missing key is not an error. */
  async delete(key: string): Promise<void> {
    this.assertOpen();
    const file = this.pathForKey(key);
    return this.enqueue(key, async () => {
      await this.guarded(() => removeFileDurable(file));
      if (this.records.delete(key)) this.#sortedKeys = undefined;
      for (const w of this.watchers) w(key);
    });
  }

  /** Contents of root/meta.json (`{}` if absent). Ordered after earlier setMeta() calls. */
  async meta(): Promise<Record<string, unknown>> {
    this.assertOpen();
    return this.enqueue(META_QUEUE, async () => {
      const value = await readJsonFile<unknown>(this.metaPath);
      if (value === undefined) return {};
      if (!isPlainObject(value)) throw new Error(`${this.metaPath}: expected a JSON object`);
      return value;
    });
  }

  /** Replace root/meta.json atomically and durably (same format and mode as records). */
  async setMeta(m: Record<string, unknown>): Promise<void> {
    this.assertOpen();
    if (!isPlainObject(m)) throw new TypeError('StateDir.setMeta: meta must be a plain object');
    const text = stableStringify(m);
    return this.enqueue(META_QUEUE, () =>
      this.guarded(() => writeFileAtomic(this.metaPath, text, { mode: FILE_MODE, dirMode: DIR_MODE, createBelow: this.root })),
    );
  }

  /**
   * File that holds `key`: root/objects/<Kind>/[<namespace>/]<name>.json, each segment
   * encodeURIComponent-ed. Throws on malformed keys.
   */
  pathForKey(key: string): string {
    return join(this.objectsDir, ...keyToRelativePath(key));
  }

  // ---- internals -------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.state !== 'open') {
      throw new Error(`StateDir ${this.root} is not open (state: ${this.state})`);
    }
  }

  /**
   * Runs a write with the lock checked before and after it. A failed write whose lock turns out to
   * be lost rejects with the lost-lock error (the clearer reason); a write that succeeded while the
   * lock was lost rejects too (it may have gone to a directory that is no longer ours).
   */
  private async guarded<T>(write: () => Promise<T>): Promise<T> {
    await this.checkLock();
    let result: T;
    try {
      result = await write();
    } catch (err) {
      await this.checkLock().catch((lost: unknown) => {
        if (lost instanceof StateDirLockLostError) throw lost;
      });
      throw err;
    }
    await this.checkLock();
    return result;
  }

  /** Why the lock is not ours any more, or undefined when it still is. */
  private async lockProblem(): Promise<string | undefined> {
    const mine = this.lockId;
    if (!mine) return undefined;
    const now = await fileId(this.lockPath);
    if (now && sameId(now, mine)) return undefined;
    const root = await fileId(this.root);
    if (!root) return `${this.root} is gone`;
    if (this.rootId && !sameId(root, this.rootId)) return `${this.root} was replaced${await this.heldBy()}`;
    if (!now) return `its lock file ${this.lockPath} is gone`;
    return `its lock file ${this.lockPath} was replaced${await this.heldBy()}`;
  }

  private async heldBy(): Promise<string> {
    const pid = parsePid(await readFile(this.lockPath, 'utf8').catch(() => ''));
    return pid === undefined ? '' : ` (the lock there now names pid ${pid})`;
  }

  private markLost(why: string): StateDirLockLostError {
    if (this.lostError) return this.lostError;
    const err = new StateDirLockLostError(this.root, why);
    this.lostError = err;
    if (this.lockTimer) clearTimeout(this.lockTimer);
    for (const l of this.lostListeners.splice(0)) {
      try {
        l(err);
      } catch {
        // listeners must not throw; one that does must not keep the others from hearing it
      }
    }
    return err;
  }

  private scheduleLockCheck(): void {
    if (!(this.lockCheckMs > 0) || this.lostError || this.state !== 'open') return;
    this.lockTimer = setTimeout(() => {
      void this.lockProblem()
        .then((why) => {
          // A close() may have released the lock meanwhile: that is not a loss.
          if (why !== undefined && this.state === 'open') this.markLost(why);
        })
        .catch(() => {}) // an I/O error says nothing about the lock; the next check tries again
        .finally(() => this.scheduleLockCheck());
    }, this.lockCheckMs);
    this.lockTimer.unref();
  }

  /** Creates and removes a file in `dir`; fails with the reason when that is not possible. */
  private async probeWritable(dir: string): Promise<void> {
    const probe = join(dir, `.probe.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    try {
      const fh = await open(probe, 'wx', FILE_MODE);
      await fh.close();
      await unlink(probe);
    } catch (err) {
      const reason = (err as Error).message.replace(/, open '.*'$/, '');
      throw Object.assign(new Error(`${reason}: cannot create files in ${dir}`, { cause: err }), { code: errorCode(err) });
    }
  }

  /** An error of open() that says the directory cannot be written, reworded to say so. */
  private unwritable(err: unknown): unknown {
    const code = errorCode(err);
    if (code === undefined || !UNWRITABLE.has(code)) return err;
    const why = code === 'EROFS' || code === 'EACCES' || code === 'EPERM' ? 'is not writable' : 'is not usable';
    return new Error(`state directory ${this.root} ${why}: ${(err as Error).message}`, { cause: err });
  }

  private enqueue<T>(queue: string, op: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(queue) ?? Promise.resolve();
    const result = prev.then(op);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.tails.set(queue, tail);
    void tail.then(() => {
      if (this.tails.get(queue) === tail) this.tails.delete(queue);
    });
    return result;
  }

  private async acquireLock(): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      if (await this.tryCreateLock()) return;
      const holder = await this.readLockHolder();
      if (holder === undefined) continue; // vanished meanwhile: try again
      if (isProcessAlive(holder)) {
        throw new Error(`state directory ${this.root} is in use by pid ${holder}`);
      }
      await this.removeStaleLock();
    }
    throw new Error(`state directory ${this.root}: could not acquire ${this.lockPath} (contended)`);
  }

  /** O_EXCL-create the lock file holding our pid. False if it already exists. */
  private async tryCreateLock(): Promise<boolean> {
    let fh;
    try {
      fh = await open(this.lockPath, 'wx', FILE_MODE);
    } catch (err) {
      if (errorCode(err) === 'EEXIST') return false;
      throw err;
    }
    try {
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
      const st = await fh.stat({ bigint: true });
      this.lockId = { dev: st.dev, ino: st.ino };
      this.lockHandle = fh; // kept open while the lock is held (see lockId)
      await fsyncDir(this.root);
      if (process.platform !== 'win32') {
        this.rootHandle = await open(this.root, 'r');
        const rs = await this.rootHandle.stat({ bigint: true });
        this.rootId = { dev: rs.dev, ino: rs.ino };
      }
    } catch (err) {
      await this.closeHandles();
      await unlink(this.lockPath).catch(() => {});
      throw err;
    }
    return true;
  }

  private async closeHandles(): Promise<void> {
    const handles = [this.lockHandle, this.rootHandle];
    this.lockHandle = this.rootHandle = undefined;
    this.lockId = this.rootId = undefined;
    for (const h of handles) await h?.close().catch(() => {});
  }

  /**
   * Pid in the lock file; undefined if the file is gone. A lock file is briefly empty between its
   * O_EXCL creation and the write of the pid, so invalid content is re-read for a grace period
   * before giving up (we never guess that such a lock is stale).
   */
  private async readLockHolder(): Promise<number | undefined> {
    const deadline = Date.now() + LOCK_CONTENT_GRACE_MS;
    for (;;) {
      let text: string;
      try {
        text = await readFile(this.lockPath, 'utf8');
      } catch (err) {
        if (errorCode(err) === 'ENOENT') return undefined;
        throw err;
      }
      const pid = parsePid(text);
      if (pid !== undefined) return pid;
      if (Date.now() >= deadline) {
        throw new Error(
          `state directory ${this.root}: lock file ${this.lockPath} does not hold a valid pid ` +
            `(${JSON.stringify(text.slice(0, 40))}); if no netform process uses this directory, delete it`,
        );
      }
      await sleep(25);
    }
  }

  /**
   * Remove a lock whose pid is dead. Done by renaming it aside first, so that of several processes
   * racing to take over, only one removes it; if what we moved turns out to be a fresh lock of a
   * live process (it replaced the stale one after we read it), it is put back.
   */
  private async removeStaleLock(): Promise<void> {
    const aside = join(
      this.root,
      `${STALE_LOCK_PREFIX}${process.pid}.${randomBytes(6).toString('hex')}`,
    );
    try {
      await rename(this.lockPath, aside);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return;
      throw err;
    }
    const movedPid = parsePid(await readFile(aside, 'utf8').catch(() => ''));
    if (movedPid !== undefined && !isProcessAlive(movedPid)) {
      await removeFileDurable(aside);
      return;
    }
    // Not the stale lock we judged: restore it without clobbering any lock created since.
    try {
      await link(aside, this.lockPath);
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') {
        await rename(aside, this.lockPath).catch(() => {});
        return;
      }
    }
    await unlink(aside).catch(() => {});
  }

  private async releaseLock(): Promise<void> {
    const mine = this.lockId;
    if (!mine) return;
    try {
      const now = await fileId(this.lockPath);
      // Never remove a lock that is not ours (e.g. if it was removed by hand and retaken — also by
      // another StateDir of this same process, which has the same pid).
      if (now && sameId(now, mine)) await removeFileDurable(this.lockPath);
    } finally {
      await this.closeHandles();
    }
  }

  /** Delete temp files of crashed writes (root and objects tree) and stale lock leftovers. */
  private async removeLeftovers(): Promise<void> {
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(this.root, entry.name);
      if (isTempFileName(entry.name)) {
        await removeFileDurable(path);
      } else if (entry.name.startsWith(STALE_LOCK_PREFIX)) {
        const pid = Number.parseInt(entry.name.slice(STALE_LOCK_PREFIX.length), 10);
        if (!(pid > 0 && isProcessAlive(pid))) await removeFileDurable(path);
      }
    }
    await this.removeTempFilesUnder(this.objectsDir);
  }

  private async removeTempFilesUnder(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await this.removeTempFilesUnder(path);
      else if (entry.isFile() && isTempFileName(entry.name)) await removeFileDurable(path);
    }
  }

  private async loadDir(dir: string, into: Map<string, StateRecord>, dirs?: string[]): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => compareStrings(a.name, b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        dirs?.push(path);
        await this.loadDir(path, into, dirs);
      } else if (entry.isFile() && entry.name.endsWith(RECORD_SUFFIX) && !entry.name.startsWith('.')) {
        const record = await readJsonFile<unknown>(path, internStrings);
        if (!isPlainObject(record) || typeof record.key !== 'string') {
          throw new Error(`corrupt state record ${path}: expected a JSON object with a string "key"`);
        }
        let expected: string;
        try {
          expected = this.pathForKey(record.key);
        } catch (err) {
          throw new Error(`corrupt state record ${path}: ${(err as Error).message}`, { cause: err });
        }
        if (expected !== path) {
          throw new Error(
            `corrupt state record ${path}: its key ${JSON.stringify(record.key)} belongs in ` +
              `${expected.slice(this.root.length + 1)}`,
          );
        }
        shareConditions(record as StateRecord);
        into.set(record.key, deepFreeze(record as StateRecord));
      }
    }
  }
}

// ---- helpers (exported for tests and tooling) ----------------------------------------------------

/**
 * Relative path segments for a key `<Kind>/<name>` or `<Kind>/<namespace>/<name>`.
 * Each segment is encodeURIComponent-ed; a leading '.' (and every '.' in the Kind/namespace
 * directories) is escaped as %2E, so no record path is hidden, a temp file, '.'/'..', or a
 * directory ending in ".json" — the mapping is injective.
 */
export function keyToRelativePath(key: string): string[] {
  if (typeof key !== 'string') throw new TypeError(`state key must be a string, got ${typeof key}`);
  const parts = key.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new Error(
      `invalid state key ${JSON.stringify(key)}: expected "<Kind>/<name>" or "<Kind>/<namespace>/<name>"`,
    );
  }
  if (parts.some((p) => p === '.' || p === '..')) {
    throw new Error(`invalid state key ${JSON.stringify(key)}: "." and ".." are not valid names`);
  }
  const name = parts.pop()!;
  const dirs = parts.map((p) => encodeURIComponent(p).replaceAll('.', '%2E'));
  const file = encodeURIComponent(name).replace(/^\./, '%2E') + RECORD_SUFFIX;
  return [...dirs, file];
}

/**
 * JSON text with object keys sorted recursively (code-unit order), 2-space indent and a trailing
 * newline. Array order is preserved. Throws on values JSON cannot represent (cycles, BigInt).
 */
export function stableStringify(value: unknown): string {
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      const obj = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(obj)
          .sort(compareStrings)
          .map((k) => [k, obj[k]]),
      );
    },
    2,
  );
  if (text === undefined) throw new TypeError('value is not JSON-serializable');
  return text + '\n';
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Device and inode of `path` (symlinks followed), or undefined if nothing is there. */
async function fileId(path: string): Promise<FileId | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function sameId(a: FileId, b: FileId): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function parsePid(text: string): number | undefined {
  const m = /^\s*(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether a process with this pid exists (EPERM means it exists but belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The state directory as a RecordStore (file mode). */
export class StateDirRecords implements RecordStore {
  readonly dir: StateDir;
  constructor(dir: StateDir) {
    this.dir = dir;
  }
  get(key: string): ObjectRecord | undefined {
    return this.dir.get(key) as ObjectRecord | undefined;
  }
  list(): ObjectRecord[] {
    return this.dir.list() as unknown as ObjectRecord[];
  }
  values(): Iterable<ObjectRecord> {
    return this.dir.values() as unknown as Iterable<ObjectRecord>;
  }
  put(record: ObjectRecord): Promise<void> {
    return this.dir.put(record as unknown as StateRecord);
  }
  delete(key: string): Promise<void> {
    return this.dir.delete(key);
  }
  watch(changed: (key: string) => void): () => void {
    return this.dir.watch(changed);
  }
}

const strings = new Shared<string>(8_192);
function internStrings(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || value.length > 120) return value;
  return strings.get(value, () => value);
}

/**
 * A record's conditions, shared with every record whose conditions are the same (frozen): after a pass
 * most objects hold one of a few lists (Ready/Synced/Reconciling/Stalled with one reason and the
 * pass's timestamps), four objects and an array each otherwise.
 */
const conditionLists = new Shared<readonly unknown[]>(4_096);
function shareConditions(record: StateRecord): void {
  const status = (record as { status?: { conditions?: unknown } }).status;
  const list = status?.conditions;
  if (!Array.isArray(list) || list.length === 0 || Object.isFrozen(list)) return;
  const text = JSON.stringify(list);
  if (text.length > 8_192) return;
  // Keyed by a digest: the lists' own text would cost more than the lists.
  status!.conditions = conditionLists.get(createHash('sha256').update(text).digest('base64'), () => deepFreeze(list));
}

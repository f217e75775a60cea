import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyToRelativePath, StateDir, StateDirLockLostError, stableStringify, type StateRecord } from './state-dir.ts';
import { WRITER_KEYS } from '../../../test/support/state-writer.ts';
import { makeReadOnly } from '../../../test/support/readonly.ts';

const posixOnly = process.platform === 'win32' ? it.skip : it;
const WRITER_SCRIPT = fileURLToPath(new URL('../../../test/support/state-writer.ts', import.meta.url));

let root: string;
const opened: StateDir[] = [];

async function openDir(dir = root, opts?: ConstructorParameters<typeof StateDir>[1]): Promise<StateDir> {
  const s = new StateDir(dir, opts);
  await s.open();
  opened.push(s);
  return s;
}

beforeEach(async () => {
  root = join(await mkdtemp(join(tmpdir(), 'netform-state-')), '.netform');
});

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(join(root, '..'), { recursive: true, force: true });
});

/** All files under `dir`, as sorted relative paths. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  }
  return out.sort();
}

/** Pid of a process that has exited (so it is not alive, barring immediate reuse). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  await once(child, 'exit');
  return pid;
}

describe('StateDir basics', () => {
  it('tells watchers of each record set or removed, once get/list answer with it', async () => {
    const s = await openDir();
    const seen: [string, unknown][] = [];
    const stop = s.watch((k) => seen.push([k, s.get(k)?.vlan]));
    await s.put({ key: 'Network/net-a', vlan: 101 });
    await s.put({ key: 'Network/net-a', vlan: 102 });
    await s.delete('Network/net-a');
    stop();
    await s.put({ key: 'Network/net-b', vlan: 103 });
    expect(seen).toEqual([
      ['Network/net-a', 101],
      ['Network/net-a', 102],
      ['Network/net-a', undefined],
    ]);
  });

  it('round-trips records through put/get/list and lays them out by kind/namespace/name', async () => {
    const s = await openDir();
    await s.put({ key: 'Network/net-a', vlan: 101, status: { phase: 'Ready' } });
    await s.put({ key: 'VnicAttachment/tenant-a/vm1-nic0', backendId: 'port-7' });
    await s.put({ key: 'Network/net-0', vlan: 100 });

    expect(s.get('Network/net-a')).toEqual({ key: 'Network/net-a', vlan: 101, status: { phase: 'Ready' } });
    expect(s.get('Network/missing')).toBeUndefined();
    expect(s.list().map((r) => r.key)).toEqual([
      'Network/net-0',
      'Network/net-a',
      'VnicAttachment/tenant-a/vm1-nic0',
    ]);
    // values(): the same records, in no particular order, the same objects list() hands out.
    expect([...s.values()].map((r) => r.key).sort()).toEqual(s.list().map((r) => r.key));
    expect([...s.values()].find((r) => r.key === 'Network/net-a')).toBe(s.get('Network/net-a'));
    expect(await listFiles(root)).toEqual([
      'lock',
      join('objects', 'Network', 'net-0.json'),
      join('objects', 'Network', 'net-a.json'),
      join('objects', 'VnicAttachment', 'tenant-a', 'vm1-nic0.json'),
    ]);
    const onDisk = JSON.parse(
      await readFile(join(root, 'objects', 'VnicAttachment', 'tenant-a', 'vm1-nic0.json'), 'utf8'),
    );
    expect(onDisk).toEqual({ key: 'VnicAttachment/tenant-a/vm1-nic0', backendId: 'port-7' });
  });

  it('stores the JSON round trip, snapshotted at call time and deep-frozen', async () => {
    const s = await openDir();
    const rec: StateRecord = { key: 'Network/net-a', when: new Date(0), gone: undefined, nested: { list: [1] } };
    const p = s.put(rec);
    (rec.nested as { list: number[] }).list.push(2); // mutation after the call must not leak in
    await p;
    const got = s.get('Network/net-a');
    expect(got).toEqual({ key: 'Network/net-a', when: '1970-01-01T00:00:00.000Z', nested: { list: [1] } });
    expect(Object.isFrozen(got)).toBe(true);
    expect(Object.isFrozen(got?.nested)).toBe(true);
    expect(() => {
      (got as { vlan?: number }).vlan = 5;
    }).toThrow(TypeError);
  });

  it('records with the same conditions share one frozen list; a frozen source is kept, not copied', async () => {
    const s = await openDir();
    const conditions = (reason: string) => [
      { type: 'Ready', status: 'True', reason, lastTransitionTime: '2026-12-05T12:00:00.000Z', observedGeneration: 1 },
      { type: 'Synced', status: 'True', reason, lastTransitionTime: '2026-12-05T12:00:00.000Z', observedGeneration: 1 },
    ];
    const source = Object.freeze({ file: 'n.yaml', documentIndex: 3, line: 40 });
    await s.put({ key: 'Network/a', status: { conditions: conditions('Converged') }, source });
    await s.put({ key: 'Network/b', status: { conditions: conditions('Converged') }, source: { file: 'n.yaml', documentIndex: 4, line: 50 } });
    await s.put({ key: 'Network/c', status: { conditions: conditions('Pending') } });
    const list = (k: string) => (s.get(k) as unknown as { status: { conditions: unknown[] } }).status.conditions;
    expect(list('Network/a')).toBe(list('Network/b'));
    expect(list('Network/c')).not.toBe(list('Network/a'));
    expect(list('Network/a')).toEqual(conditions('Converged'));
    expect(Object.isFrozen(list('Network/a')) && Object.isFrozen(list('Network/a')[0])).toBe(true);
    expect(s.get('Network/a')!.source).toBe(source);
    expect(s.get('Network/b')!.source).toEqual({ file: 'n.yaml', documentIndex: 4, line: 50 });
    await s.close();
    // Loaded from disk: shared the same way.
    const again = await openDir();
    const loaded = (k: string) => (again.get(k) as unknown as { status: { conditions: unknown[] } }).status.conditions;
    expect(loaded('Network/a')).toBe(loaded('Network/b'));
    expect(loaded('Network/a')).toEqual(conditions('Converged'));
  });

  it('reopening loads every record from disk', async () => {
    const a = await openDir();
    await a.put({ key: 'Network/net-a', vlan: 101 });
    await a.put({ key: 'Subnet/tenant-a/sub-1', cidr: '10.0.0.0/24', ids: ['x', 'y'] });
    await a.close();

    const b = await openDir();
    expect(b.list()).toEqual([
      { key: 'Network/net-a', vlan: 101 },
      { key: 'Subnet/tenant-a/sub-1', cidr: '10.0.0.0/24', ids: ['x', 'y'] },
    ]);
  });

  it('delete removes the file and the in-memory record, durably across reopen', async () => {
    const a = await openDir();
    await a.put({ key: 'Network/net-a', vlan: 1 });
    await a.put({ key: 'Network/net-b', vlan: 2 });
    await a.delete('Network/net-a');
    await a.delete('Network/never-existed'); // not an error
    expect(a.get('Network/net-a')).toBeUndefined();
    expect(a.list().map((r) => r.key)).toEqual(['Network/net-b']);
    expect(await listFiles(join(root, 'objects'))).toEqual([join('Network', 'net-b.json')]);
    await a.close();

    const b = await openDir();
    expect(b.list()).toEqual([{ key: 'Network/net-b', vlan: 2 }]);
  });

  it('writes pretty-printed JSON with recursively sorted keys, independent of insertion order', async () => {
    const s = await openDir();
    await s.put({ zeta: 1, key: 'Network/net-a', alpha: { z: [{ b: 1, a: 2 }], a: null }, Mid: true });
    const text = await readFile(join(root, 'objects', 'Network', 'net-a.json'), 'utf8');
    expect(text).toBe(
      [
        '{',
        '  "Mid": true,',
        '  "alpha": {',
        '    "a": null,',
        '    "z": [',
        '      {',
        '        "a": 2,',
        '        "b": 1',
        '      }',
        '    ]',
        '  },',
        '  "key": "Network/net-a",',
        '  "zeta": 1',
        '}',
        '',
      ].join('\n'),
    );
    await s.put({ key: 'Network/net-a', Mid: true, zeta: 1, alpha: { a: null, z: [{ a: 2, b: 1 }] } });
    expect(await readFile(join(root, 'objects', 'Network', 'net-a.json'), 'utf8')).toBe(text);
    expect(stableStringify({ b: [3, 1], a: {} })).toBe('{\n  "a": {},\n  "b": [\n    3,\n    1\n  ]\n}\n');
  });

  posixOnly('creates record and meta files with mode 0600 and directories with 0700', async () => {
    const s = await openDir();
    await s.put({ key: 'VnicAttachment/tenant-a/vm1-nic0', credentialsFile: '/etc/netform/ucs.pw' });
    await s.setMeta({ schemaVersion: 1 });
    const mode = async (...p: string[]) => (await stat(join(root, ...p))).mode & 0o777;
    expect(await mode('objects', 'VnicAttachment', 'tenant-a', 'vm1-nic0.json')).toBe(0o600);
    expect(await mode('meta.json')).toBe(0o600);
    expect(await mode('lock')).toBe(0o600);
    expect(await mode()).toBe(0o700);
    expect(await mode('objects')).toBe(0o700);
    expect(await mode('objects', 'VnicAttachment')).toBe(0o700);
    expect(await mode('objects', 'VnicAttachment', 'tenant-a')).toBe(0o700);
  });

  it('meta defaults to {} and round-trips through setMeta across reopen', async () => {
    const a = await openDir();
    expect(await a.meta()).toEqual({});
    await a.setMeta({ schemaVersion: 2, createdBy: 'netform' });
    expect(await a.meta()).toEqual({ createdBy: 'netform', schemaVersion: 2 });
    await a.close();
    const b = await openDir();
    expect(await b.meta()).toEqual({ createdBy: 'netform', schemaVersion: 2 });
    expect(await readFile(join(root, 'meta.json'), 'utf8')).toBe(
      '{\n  "createdBy": "netform",\n  "schemaVersion": 2\n}\n',
    );
  });

  it('encodes each key segment and rejects malformed keys without writing', async () => {
    expect(keyToRelativePath('Network/net-a')).toEqual(['Network', 'net-a.json']);
    expect(keyToRelativePath('VnicAttachment/tenant-a/vm1-nic0')).toEqual([
      'VnicAttachment',
      'tenant-a',
      'vm1-nic0.json',
    ]);
    expect(keyToRelativePath('K/a b%/.x')).toEqual(['K', 'a%20b%25', '%2Ex.json']);
    expect(keyToRelativePath('K/ns.json/n')).toEqual(['K', 'ns%2Ejson', 'n.json']);

    const s = await openDir();
    for (const bad of ['', 'Network', 'Network/', '/net-a', 'A/b/c/d', 'Network/..', 'Network/./x']) {
      await expect(s.put({ key: bad }), bad).rejects.toThrow(/invalid state key/);
    }
    await expect(s.put({ key: 42 } as unknown as StateRecord)).rejects.toThrow(TypeError);
    await expect(s.put({ key: 'Network/n', big: 1n })).rejects.toThrow(TypeError);
    expect(await listFiles(join(root, 'objects'))).toEqual([]);
    expect(s.list()).toEqual([]);
  });

  it('rejects calls before open() and after close(), and close() waits for issued writes', async () => {
    const s = new StateDir(root);
    expect(() => s.get('Network/a')).toThrow(/not open/);
    await s.open();
    const pending = s.put({ key: 'Network/net-a', payload: 'p'.repeat(1_000_000) });
    await s.close();
    await pending;
    await expect(s.put({ key: 'Network/net-b' })).rejects.toThrow(/not open/);
    expect(await listFiles(root)).toEqual([join('objects', 'Network', 'net-a.json')]); // lock released

    const again = await openDir();
    expect(String(again.get('Network/net-a')?.payload).length).toBe(1_000_000);
  });
});

describe('StateDir write ordering and failures', () => {
  it('applies writes to the same key in call order, even when a later write is much smaller', async () => {
    const s = await openDir();
    const resolved: number[] = [];
    const writes = Array.from({ length: 12 }, (_, i) =>
      s
        .put({ key: 'Network/net-a', seq: i, payload: 'x'.repeat(i === 0 ? 8_000_000 : 10) })
        .then(() => resolved.push(i)),
    );
    await Promise.all(writes);
    expect(resolved).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(s.get('Network/net-a')).toMatchObject({ seq: 11 });
    const onDisk = JSON.parse(await readFile(join(root, 'objects', 'Network', 'net-a.json'), 'utf8'));
    expect(onDisk.seq).toBe(11);
  });

  it('orders put and delete on the same key', async () => {
    const s = await openDir();
    const ops = [
      s.put({ key: 'Network/net-a', v: 1 }),
      s.delete('Network/net-a'),
      s.put({ key: 'Network/net-a', v: 3 }),
      s.delete('Network/net-b'),
      s.put({ key: 'Network/net-b', v: 4 }),
      s.delete('Network/net-b'),
    ];
    await Promise.all(ops);
    expect(s.list()).toEqual([{ key: 'Network/net-a', v: 3 }]);
    expect(await listFiles(join(root, 'objects'))).toEqual([join('Network', 'net-a.json')]);
  });

  it('a failed write rejects, leaves memory and disk unchanged, and does not block later writes', async () => {
    const s = await openDir();
    await s.put({ key: 'Network/net-a', v: 1 });
    // Make the target path of another key a non-empty directory, so the rename fails.
    const blocked = join(root, 'objects', 'Network', 'net-b.json');
    await mkdir(blocked);
    await writeFile(join(blocked, 'x'), '');
    const failing = s.put({ key: 'Network/net-b', v: 2 });
    const after = s.put({ key: 'Network/net-b', v: 3 }); // queued behind the failing one
    const other = s.put({ key: 'Network/net-a', v: 4 });
    await expect(failing).rejects.toThrow();
    await expect(after).rejects.toThrow();
    await other;
    expect(s.get('Network/net-b')).toBeUndefined();
    expect(s.get('Network/net-a')).toEqual({ key: 'Network/net-a', v: 4 });
    expect((await readdir(join(root, 'objects', 'Network'))).sort()).toEqual(['net-a.json', 'net-b.json']); // no temp files

    await rm(blocked, { recursive: true });
    await s.put({ key: 'Network/net-b', v: 5 });
    expect(s.get('Network/net-b')).toEqual({ key: 'Network/net-b', v: 5 });
  });
});

describe('StateDir open: lock, leftovers, corruption', () => {
  it('refuses a second opener while the lock is held, and admits it after close', async () => {
    const first = new StateDir(root);
    await first.open();
    expect((await readFile(join(root, 'lock'), 'utf8')).trim()).toBe(String(process.pid));

    const second = new StateDir(root);
    await expect(second.open()).rejects.toThrow(`state directory ${root} is in use by pid ${process.pid}`);
    expect((await readFile(join(root, 'lock'), 'utf8')).trim()).toBe(String(process.pid)); // untouched

    await first.put({ key: 'Network/net-a', v: 1 });
    await first.close();
    const third = await openDir();
    expect(third.get('Network/net-a')).toEqual({ key: 'Network/net-a', v: 1 });
  });

  it('takes over a stale lock left by a dead process', async () => {
    await mkdir(join(root, 'objects'), { recursive: true });
    const pid = await deadPid();
    await writeFile(join(root, 'lock'), `${pid}\n`);
    const s = await openDir();
    expect((await readFile(join(root, 'lock'), 'utf8')).trim()).toBe(String(process.pid));
    await s.put({ key: 'Network/net-a', v: 1 });
    expect(s.get('Network/net-a')).toEqual({ key: 'Network/net-a', v: 1 });
    expect((await readdir(root)).sort()).toEqual(['lock', 'objects']); // no aside file left over
  });

  it('refuses a lock file without a valid pid instead of guessing', async () => {
    await mkdir(join(root, 'objects'), { recursive: true });
    await writeFile(join(root, 'lock'), 'garbage');
    await expect(new StateDir(root).open()).rejects.toThrow(/does not hold a valid pid/);
    expect(await readFile(join(root, 'lock'), 'utf8')).toBe('garbage');
  });

  it('removes temp files left by crashed writes and keeps the real records', async () => {
    const a = await openDir();
    await a.put({ key: 'Network/net-a', v: 1 });
    await a.put({ key: 'VnicAttachment/tenant-a/vm1-nic0', v: 2 });
    await a.close();
    const leftovers = [
      join('objects', 'Network', `.net-a.json.99999.abcdef012345.tmp`),
      join('objects', 'VnicAttachment', 'tenant-a', '.vm1-nic0.json.4242.000000000000.tmp'),
      '.meta.json.1234.ffffffffffff.tmp',
    ];
    for (const f of leftovers) await writeFile(join(root, f), '{"key": "Network/net-a", "v": 9'); // torn
    await writeFile(join(root, 'lock.stale.999999999.0123456789ab'), '1\n'); // aside file of a dead pid

    const b = await openDir();
    expect(await listFiles(root)).toEqual([
      'lock',
      join('objects', 'Network', 'net-a.json'),
      join('objects', 'VnicAttachment', 'tenant-a', 'vm1-nic0.json'),
    ]);
    expect(b.list()).toEqual([
      { key: 'Network/net-a', v: 1 },
      { key: 'VnicAttachment/tenant-a/vm1-nic0', v: 2 },
    ]);
  });

  it('fails to open on a corrupt record, naming the file, and releases the lock', async () => {
    const a = await openDir();
    await a.put({ key: 'Network/net-a', v: 1 });
    await a.close();
    const file = join(root, 'objects', 'Network', 'net-a.json');
    await writeFile(file, '{"key": "Network/net-a", ');
    await expect(new StateDir(root).open()).rejects.toThrow(`corrupt JSON in ${file}`);
    expect((await readdir(root)).sort()).toEqual(['objects']); // lock released

    await writeFile(file, '{"key": "Network/net-b"}'); // valid JSON in the wrong file
    await expect(new StateDir(root).open()).rejects.toThrow(`corrupt state record ${file}`);
    expect((await readdir(root)).sort()).toEqual(['objects']);
  });
});

describe('StateDir crash safety', () => {
  interface WrittenRecord {
    key: string;
    seq: number;
    size: number;
    sha256: string;
    payload: string;
  }

  /** Run the writer until it is "ready", let it write for `ms`, SIGKILL it; return acked seqs. */
  async function runAndKill(dir: string, ms: number): Promise<Map<string, number>> {
    const child = spawn(process.execPath, [WRITER_SCRIPT, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const deadline = Date.now() + 15_000;
    while (!out.includes('ready\n')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`writer did not become ready; stderr: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    // Every key written at least twice before the kill is timed (a loaded machine may start slowly).
    const progressed = () => WRITER_KEYS.every((k) => new RegExp(`^ack ${k.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} [1-9]`, 'm').test(out));
    while (!progressed() && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, ms));
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });

    const acked = new Map<string, number>();
    for (const line of out.split('\n').slice(0, -1)) {
      const m = /^ack (\S+) (\d+)$/.exec(line);
      if (m) acked.set(m[1]!, Math.max(acked.get(m[1]!) ?? -1, Number(m[2])));
    }
    return acked;
  }

  function expectComplete(rec: WrittenRecord, key: string): void {
    expect(rec.key).toBe(key);
    expect(rec.payload.length).toBe(rec.size);
    expect(createHash('sha256').update(rec.payload).digest('hex')).toBe(rec.sha256);
  }

  it('leaves only complete records, including every acknowledged write, after SIGKILL', async () => {
    const objects = join(root, 'objects');
    for (const ms of [250, 100, 400, 150, 300, 200]) {
      const acked = await runAndKill(root, ms);
      expect([...acked.keys()].sort()).toEqual([...WRITER_KEYS].sort());
      // The writer made progress beyond the first round, so the kill hit a busy loop.
      expect(Math.min(...acked.values())).toBeGreaterThan(0);

      // Before anyone cleans up: every record file on disk parses and is self-consistent.
      const files = (await listFiles(objects)).filter((f) => !f.split(/[\\/]/).pop()!.startsWith('.'));
      expect(files).toEqual(WRITER_KEYS.map((k) => join(...keyToRelativePath(k))).sort());
      for (const key of WRITER_KEYS) {
        const text = await readFile(join(objects, ...keyToRelativePath(key)), 'utf8');
        expectComplete(JSON.parse(text) as WrittenRecord, key);
      }

      // Reopen (taking over the dead writer's lock): all records present, none older than acked.
      const s = new StateDir(root);
      await s.open();
      expect(s.list().map((r) => r.key)).toEqual([...WRITER_KEYS].sort());
      for (const key of WRITER_KEYS) {
        const rec = s.get(key) as unknown as WrittenRecord;
        expectComplete(rec, key);
        const ackedSeq = acked.get(key)!;
        // Durable once acked; at most the one in-flight write beyond it may have landed.
        expect(rec.seq).toBeGreaterThanOrEqual(ackedSeq);
        expect(rec.seq).toBeLessThanOrEqual(ackedSeq + 1);
      }
      expect((await listFiles(objects)).some((f) => f.endsWith('.tmp'))).toBe(false);
      await s.close();
    }
  });
});



describe('StateDir: the lock lives with the state', () => {
  const lostMessage = (r: string) => `the state directory ${r} lost its lock (deleted or replaced?)`;

  it('a deleted directory is not re-created: the next write rejects with the lost lock, and so does every later one', async () => {
    const s = await openDir(root, { lockCheckMs: 0 });
    await s.put({ key: 'Network/net-a', v: 1 });
    const heard: Error[] = [];
    s.onLost((e) => heard.push(e));
    await rm(root, { recursive: true });

    const put = s.put({ key: 'Network/net-b', v: 2 });
    await expect(put).rejects.toThrow(StateDirLockLostError);
    await expect(put).rejects.toThrow(`${lostMessage(root)}: ${root} is gone; stopping`);
    await expect(s.put({ key: 'Network/net-a', v: 3 })).rejects.toThrow(lostMessage(root));
    await expect(s.delete('Network/net-a')).rejects.toThrow(lostMessage(root));
    await expect(s.setMeta({ x: 1 })).rejects.toThrow(lostMessage(root));
    expect(await stat(root).catch((e: NodeJS.ErrnoException) => e.code)).toBe('ENOENT'); // never re-created
    expect(s.get('Network/net-a')).toEqual({ key: 'Network/net-a', v: 1 }); // memory unchanged
    expect(s.get('Network/net-b')).toBeUndefined();
    expect(heard.map((e) => e.message)).toEqual([`${lostMessage(root)}: ${root} is gone; stopping`]);
    expect(s.lost).toBe(heard[0]);
    await s.close();
    expect(await stat(root).catch((e: NodeJS.ErrnoException) => e.code)).toBe('ENOENT');
  });

  it('notices a deleted directory within lockCheckMs even when nothing is written', async () => {
    const s = await openDir(root, { lockCheckMs: 20 });
    const lost = new Promise<Error>((res) => s.onLost(res));
    await rm(root, { recursive: true });
    const err = await Promise.race([lost, new Promise<string>((r) => setTimeout(() => r('not noticed'), 2000))]);
    expect(err).toBeInstanceOf(StateDirLockLostError);
    expect((err as Error).message).toContain(lostMessage(root));
    expect(await stat(root).catch((e: NodeJS.ErrnoException) => e.code)).toBe('ENOENT');
  });

  it("a directory replaced by a second writer's is never written to, and its lock is left alone", async () => {
    const first = await openDir(root, { lockCheckMs: 0 });
    await first.put({ key: 'Network/net-a', v: 1 });
    await rm(root, { recursive: true });
    // A second writer (this process too, so the pid in the lock is the same) opens the same path.
    const second = await openDir(root, { lockCheckMs: 0 });
    await second.put({ key: 'Network/net-b', v: 'second' });

    await expect(first.put({ key: 'Network/net-b', v: 'first' })).rejects.toThrow(
      `${lostMessage(root)}: ${root} was replaced (the lock there now names pid ${process.pid}); stopping`,
    );
    await expect(first.delete('Network/net-b')).rejects.toThrow(StateDirLockLostError);
    await first.close();
    expect(await listFiles(root)).toEqual(['lock', join('objects', 'Network', 'net-b.json')]); // second's lock kept
    expect(JSON.parse(await readFile(join(root, 'objects', 'Network', 'net-b.json'), 'utf8'))).toEqual({ key: 'Network/net-b', v: 'second' });
    await second.put({ key: 'Network/net-c', v: 3 }); // the second writer is unaffected
    await expect(new StateDir(root).open()).rejects.toThrow(`state directory ${root} is in use by pid ${process.pid}`);
  });

  it('a lock file removed or replaced by hand is lost too, even when the new one holds our pid', async () => {
    const a = await openDir(root, { lockCheckMs: 0 });
    await rm(join(root, 'lock'));
    await expect(a.put({ key: 'Network/net-a', v: 1 })).rejects.toThrow(`${lostMessage(root)}: its lock file ${join(root, 'lock')} is gone; stopping`);
    await a.close();

    const b = await openDir(root, { lockCheckMs: 0 });
    await rm(join(root, 'lock'));
    await writeFile(join(root, 'lock'), `${process.pid}\n`);
    await expect(b.setMeta({ v: 1 })).rejects.toThrow(`${lostMessage(root)}: its lock file ${join(root, 'lock')} was replaced`);
    await b.close();
    expect((await readFile(join(root, 'lock'), 'utf8')).trim()).toBe(String(process.pid)); // not ours: kept
  });

  it('close() with a frequent lock check does not report a lost lock', async () => {
    const s = await openDir(root, { lockCheckMs: 1 });
    const heard: Error[] = [];
    s.onLost((e) => heard.push(e));
    await s.put({ key: 'Network/net-a', v: 1 });
    await new Promise((r) => setTimeout(r, 30));
    await s.close();
    await new Promise((r) => setTimeout(r, 30));
    expect(heard).toEqual([]);
    expect(s.lost).toBeUndefined();
  });
});

describe('StateDir: a directory that cannot be written is refused at open', () => {
  it('objects/ read-only: open() names the directory and the reason, and leaves no lock', async (ctx) => {
    await mkdir(join(root, 'objects'), { recursive: true });
    const undo = makeReadOnly(join(root, 'objects'));
    if (!undo) return ctx.skip();
    try {
      const err = await new StateDir(root).open().then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(new RegExp(`^state directory ${root} is not writable: (EROFS|EACCES): .*cannot create files in ${join(root, 'objects')}$`));
      expect((await readdir(root)).sort()).toEqual(['objects']);
    } finally {
      undo();
    }
  });

  it('a Kind directory read-only: refused at open too, not write after write later', async (ctx) => {
    await mkdir(join(root, 'objects', 'Network'), { recursive: true });
    const undo = makeReadOnly(join(root, 'objects', 'Network'));
    if (!undo) return ctx.skip();
    try {
      await expect(new StateDir(root).open()).rejects.toThrow(
        new RegExp(`^state directory ${root} is not writable: (EROFS|EACCES): .*cannot create files in ${join(root, 'objects', 'Network')}$`),
      );
    } finally {
      undo();
    }
  });

  it('under a read-only parent: the real reason, not ENOENT', async (ctx) => {
    const parent = join(root, '..');
    const undo = makeReadOnly(parent);
    if (!undo) return ctx.skip();
    try {
      await expect(new StateDir(root).open()).rejects.toThrow(new RegExp(`^state directory ${root} is not writable: (EROFS|EACCES): .* mkdir '${root}'$`));
    } finally {
      undo();
    }
  });

  it('a file where the directory is expected: not usable, ENOTDIR', async () => {
    await writeFile(root, 'not a directory');
    await expect(new StateDir(root).open()).rejects.toThrow(`state directory ${root} is not usable: ENOTDIR`);
    await expect(new StateDir(join(root, 'sub')).open()).rejects.toThrow(`state directory ${join(root, 'sub')} is not usable: ENOTDIR`);
  });
});

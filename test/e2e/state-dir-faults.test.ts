// The state directory's lock and faults at start, end to end: the CLI in a child process (the test
// driver against the in-memory FakeBackend served by this process, or bin/netform.mjs where no
// backend is needed).
//
// - A state directory deleted (or replaced) under a running writer is a lost lock: the writer stops
//   with a clear error and exit 1, never re-creates the directory, and deletes nothing anywhere. A
//   second writer is refused while the first holds the lock.
// - A state directory that cannot be written at start is refused at once, naming the directory and
//   the reason, instead of failing write after write (it used to log thousands of warnings).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBackend } from '../support/fake-backend.ts';
import { runCli, startCli, tempDir, waitFor, type CliResult, type Spawned } from '../support/cli.ts';
import { makeReadOnly } from '../support/readonly.ts';

const backend = new FakeBackend();
let url = '';

beforeAll(async () => {
  url = await backend.start();
});
afterAll(async () => {
  await backend.stop();
});

const provider = () => `apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: lab
spec:
  type: neutron
  endpoint: ${url}
  neutron:
    auth: noauth
`;

const network = (name: string, vlan: number) => `apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: ${name}
spec:
  physicalNetwork: physnet1
  vlan: {id: ${vlan}}
  deletionPolicy: Delete
  subnets:
    - name: ${name}-v4
      cidr: 192.0.2.0/24
      gateway: 192.0.2.1
  providerRefs:
    - name: lab
`;

const owned = (name: string) => backend.list('network', `owner:netform:Network/${name}`);

function setup(name: string, vlan: number): { dir: string; state: string } {
  const dir = tempDir(`${name}-dir`);
  const state = join(tempDir(`${name}-state`), 'state');
  writeFileSync(join(dir, 'provider.yaml'), provider());
  writeFileSync(join(dir, 'net.yaml'), network(name, vlan));
  return { dir, state };
}

async function readyIn(state: string, key: string): Promise<boolean> {
  const r = await runCli(['status', '--state', state, '-o', 'json']);
  const e = (JSON.parse(r.stdout) as { key: string; status: { conditions?: { type: string; status: string }[] } }[]).find((x) => x.key === key);
  return e?.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** The child's result, or undefined if it is still running after `ms` (it is then SIGKILLed). */
async function exitWithin(run: Spawned, ms: number): Promise<CliResult | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([run.result, new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), ms)))]);
  clearTimeout(timer);
  if (!r) {
    run.child.kill('SIGKILL');
    await run.result;
  }
  return r;
}

const lostLock = (state: string) => `the state directory ${state} lost its lock (deleted or replaced?)`;
const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.includes('"level":40')).length;

describe('the state directory is deleted while netform writes to it', () => {
  it('run stops with the lost-lock error and exit 1 within seconds, deletes nothing, and does not re-create the directory; a second apply is refused while it runs', async () => {
    const t = setup('sdf-run', 3100);
    const run = startCli(['run', '--dir', t.dir, '--state', t.state]);
    try {
      await waitFor('the network to be Ready', () => readyIn(t.state, 'Network/sdf-run'));
      expect(owned('sdf-run')).toHaveLength(1);

      // A second writer on the same path is refused while the first holds the lock.
      const second = await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '5']);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`state directory ${t.state} is in use by pid ${run.child.pid}`);

      const deletes = backend.counters.deletes;
      const started = Date.now();
      rmSync(t.state, { recursive: true });
      const r = await exitWithin(run, 10_000);
      expect(r, 'run kept running after its state directory was deleted').toBeDefined();
      expect(Date.now() - started).toBeLessThan(5000);
      expect(r!.code).toBe(1);
      expect(r!.stderr).toContain(`netform: ${lostLock(t.state)}: ${t.state} is gone; stopping`);
      expect(r!.stderr).toMatch(/"level":50,.*lost its lock/); // logged, too
      expect(existsSync(t.state)).toBe(false);
      expect(backend.counters.deletes).toBe(deletes);
      expect(owned('sdf-run')).toHaveLength(1);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it("deleted and taken by a second apply: run stops, the second apply converges in its own directory, nothing is deleted or created twice", async () => {
    const t = setup('sdf-take', 3101);
    const run = startCli(['run', '--dir', t.dir, '--state', t.state]);
    try {
      await waitFor('the network to be Ready', () => readyIn(t.state, 'Network/sdf-take'));
      const deletes = backend.counters.deletes;
      rmSync(t.state, { recursive: true });
      const second = startCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '20']);
      const [r, s] = await Promise.all([exitWithin(run, 15_000), exitWithin(second, 30_000)]);
      expect(r?.code).toBe(1);
      expect(r!.stderr).toContain(lostLock(t.state));
      expect(s?.code).toBe(0);
      expect(s!.stderr).toBe('');
      expect(backend.counters.deletes).toBe(deletes);
      expect(owned('sdf-take')).toHaveLength(1);
      expect(backend.createsByTag.get('owner:netform:Network/sdf-take')).toBe(1);
      expect(await readyIn(t.state, 'Network/sdf-take')).toBe(true);
      // The second apply released its lock; nobody else's is left behind.
      expect(existsSync(join(t.state, 'lock'))).toBe(false);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('apply whose state directory is deleted mid-way exits 1 with the lost-lock error, deleting nothing', async () => {
    const t = setup('sdf-apply', 3102);
    let reached!: () => void;
    const hold = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    backend.holdCreates = async (o) => {
      if (o.fields.name !== 'sdf-apply') return;
      reached();
      await released;
    };
    const apply = startCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '60']);
    try {
      await hold;
      const deletes = backend.counters.deletes;
      rmSync(t.state, { recursive: true });
      release();
      const r = await exitWithin(apply, 10_000);
      expect(r, 'apply kept running after its state directory was deleted').toBeDefined();
      expect(r!.code).toBe(1);
      expect(r!.stderr).toContain(`netform: ${lostLock(t.state)}`);
      expect(existsSync(t.state)).toBe(false);
      expect(backend.counters.deletes).toBe(deletes);
      expect(owned('sdf-apply')).toHaveLength(1);
    } finally {
      backend.holdCreates = undefined;
      release();
      apply.child.kill('SIGKILL');
    }
  });
});


describe('a state directory that cannot be written at start', () => {
  /** How long a netform that does not exit is watched before it is killed, and warnings counted. */
  const WATCH_MS = 10_000;

  const cases: { name: string; prepare(state: string): string }[] = [
    // What the outside test hit: objects/ read-only — 5,000+ "reconcile failed" warnings in 25 s.
    { name: 'objects/ is read-only', prepare: (state) => (mkdirSync(join(state, 'objects'), { recursive: true }), join(state, 'objects')) },
    { name: 'the whole state directory is read-only', prepare: (state) => (mkdirSync(join(state, 'objects'), { recursive: true }), state) },
    { name: 'it is to be created under a read-only directory', prepare: (state) => (mkdirSync(join(state, '..'), { recursive: true }), join(state, '..')) },
  ];

  it.for(cases)('$name: a clear error naming the directory and the reason, exit 1 at once, few warnings', async ({ prepare }, ctx) => {
    const state = join(tempDir('sdf-ro'), 'parent', 'state');
    const undo = makeReadOnly(prepare(state));
    if (!undo) return ctx.skip();
    try {
      const run = startCli(['run', '--dir', 'examples/quickstart', '--state', state], { real: true });
      const started = Date.now();
      const r = await exitWithin(run, WATCH_MS);
      const stderr = r?.stderr ?? run.output().stderr;
      const count = warnings(stderr);
      expect(count, `warnings logged in ${WATCH_MS / 1000} s`).toBeLessThan(20);
      expect(r, `netform run was still running after ${WATCH_MS / 1000} s`).toBeDefined();
      expect(Date.now() - started).toBeLessThan(WATCH_MS);
      expect(r!.code).toBe(1);
      expect(stderr).toMatch(new RegExp(`^netform: state directory ${state} is not writable: (EROFS|EACCES): `, 'm'));
      expect(stderr).not.toContain('ENOENT');
    } finally {
      undo();
    }
  });
});

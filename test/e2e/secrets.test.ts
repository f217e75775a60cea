// Secrets never reach what netform writes: the real CLI (bin/netform.mjs) at --log-level trace with a
// 0600 credentials file, against the UCSM emulator with a canary password — accepted, refused (a wrong
// canary password) and unreachable (a loopback port nothing listens on). Its stdout, stderr, state
// directory and `status` hold none of the canaries in any form (test/support/secrets.ts); the same
// scan finds a canary planted on purpose, and a whole vitest run fails when one leaks.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../support/cli.ts';
import { canary, report, scan, snapshotDir, type Secret } from '../support/secrets.ts';
import { startEmulator, type UcsmEmulator } from '../ucsm-emulator/emulator.ts';

const PASSWORD = canary('e2e-ucsm');
const WRONG = canary('e2e-ucsm-wrong');
const SECRETS: Secret[] = [
  { label: 'e2e-ucsm', value: PASSWORD },
  { label: 'e2e-ucsm-wrong', value: WRONG },
];

let emu: UcsmEmulator;
beforeAll(async () => {
  emu = await startEmulator({ users: { admin: PASSWORD } });
});
afterAll(() => emu?.close());

async function closedPort(): Promise<number> {
  return new Promise<number>((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => res(p));
    });
  });
}

interface Run {
  code: number | null;
  synced: { status: string; reason: string; message?: string } | undefined;
  /** What netform wrote: stdout and stderr of apply and status, and the state directory. */
  out: string;
}

/** `netform apply` at trace on a Provider with `password`, then `netform status`; everything it wrote copied to a directory of its own. */
async function apply(name: string, endpoint: string, password: string, timeoutS: number): Promise<Run> {
  const dir = tempDir(`secrets-${name}`);
  writeFileSync(join(dir, 'creds.yaml'), `username: admin\npassword: ${password}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'p.yaml'), `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: ucs}\nspec: {type: ucsm, endpoint: "${endpoint}", credentials: {file: creds.yaml}}\n`);
  const state = join(dir, 'state');
  const r = await runCli(['apply', '--dir', dir, '--state', state, '--timeout', String(timeoutS), '--log-level', 'trace'], { real: true });
  const s = await runCli(['status', '--state', state, '-o', 'json', '--log-level', 'trace'], { real: true });
  snapshotDir(state, `e2e-secrets-${name}`);
  const out = join(dir, 'out');
  mkdirSync(out);
  writeFileSync(join(out, 'apply.stdout'), r.stdout);
  writeFileSync(join(out, 'apply.stderr'), r.stderr);
  writeFileSync(join(out, 'status.stdout'), s.stdout);
  writeFileSync(join(out, 'status.stderr'), s.stderr);
  cpSync(state, join(out, 'state'), { recursive: true });
  const synced = (JSON.parse(s.stdout) as { status: { conditions: { type: string; status: string; reason: string; message?: string }[] } }[])[0]?.status.conditions.find((c) => c.type === 'Synced');
  return { code: r.code, synced, out };
}

function clean(run: Run): void {
  const r = scan(run.out, SECRETS);
  expect(r.files).toBeGreaterThanOrEqual(5); // the outputs and at least one state file
  expect(r.bytes).toBeGreaterThan(1000); // trace logs, not empty files
  expect(r.hits, report(run.out, r)).toEqual([]);
}

describe('secrets in what the CLI writes', () => {
  let okRun: Run | undefined;
  it('the right password: converged; the password is in no output, state or status', async () => {
    const run = (okRun = await apply('ok', emu.url, PASSWORD, 30));
    expect(run.code).toBe(0);
    expect(run.synced).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    clean(run);
  });

  it('a wrong password: CredentialsError; neither password is anywhere', async () => {
    const run = await apply('wrong', emu.url, WRONG, 3);
    expect(run.code).toBe(1);
    expect(run.synced).toMatchObject({ status: 'False', reason: 'CredentialsError', message: expect.stringContaining('UCSM refused the credentials (551 Authentication failed)') });
    clean(run);
  });

  it('an endpoint nothing listens on: ReconcileError; the password is nowhere', async () => {
    const run = await apply('unreachable', `http://127.0.0.1:${await closedPort()}`, PASSWORD, 3);
    expect(run.code).toBe(1);
    expect(run.synced).toMatchObject({ status: 'False', reason: 'ReconcileError' });
    clean(run);
  });

  it('the check can fail: the canary planted in those outputs is found, with file and offset', async () => {
    const run = okRun ?? (await apply('planted', emu.url, PASSWORD, 30));
    clean(run); // clean before the plant
    const log = join(run.out, 'apply.stderr');
    writeFileSync(log, `${run.out.length}\n{"msg":"aaaLogin","inPassword":"${PASSWORD}"}\n`, { flag: 'a' });
    writeFileSync(join(run.out, 'state', 'leak.json'), JSON.stringify({ data: { password: Buffer.from(WRONG).toString('base64') }, url: `https://u:${encodeURIComponent(PASSWORD)}@h` }));
    const r = scan(run.out, SECRETS);
    expect(r.hits.map((h) => [h.file, h.label, h.form])).toEqual(
      expect.arrayContaining([
        [log, 'e2e-ucsm', 'plain'],
        [join(run.out, 'state', 'leak.json'), 'e2e-ucsm-wrong', 'base64'],
        [join(run.out, 'state', 'leak.json'), 'e2e-ucsm', 'plain'],
      ]),
    );
    expect(r.hits.find((h) => h.file === log)!.offset).toBeGreaterThan(0);
  });

  it('the run fails: a vitest run whose test leaks a registered canary exits non-zero and prints the hit; without the leak it passes', async () => {
    const run = (plant: boolean) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/e2e/fixtures/secrets-plant.vitest.config.ts'],
          // An artifacts directory of its own: the planted canary must not reach this run's.
          { cwd: ROOT, env: { ...process.env, NETFORM_TEST_ARTIFACTS: tempDir('secrets-plant-artifacts'), SECRETS_PLANT: plant ? '1' : '0', NO_COLOR: '1' }, timeout: 60_000 },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: stdout + stderr }),
        );
      });
    const [leaky, tidy] = await Promise.all([run(true), run(false)]);
    expect(leaky.out).toMatch(/secrets scan: 1 files, \d+ bytes, 1 secrets, 1 hits/);
    expect(leaky.out).toMatch(/logs\/\d+-\d+-planted\.log @\d+: planted \(plain\)/);
    expect(leaky.code).not.toBe(0);
    expect(tidy.out).toMatch(/secrets scan: 1 files, \d+ bytes, 1 secrets, 0 hits/);
    expect(tidy.code).toBe(0);
  });
});

// Spawning the netform CLI (with the test driver) from tests, and small polling helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactPath } from './secrets.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEST_CLI = fileURLToPath(new URL('./netform-test-cli.ts', import.meta.url));
const HOLD_CLI = fileURLToPath(new URL('./netform-neutron-hold-cli.ts', import.meta.url));
const REAL_CLI = fileURLToPath(new URL('../../bin/netform.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  child: ChildProcess;
  result: Promise<CliResult>;
  /** Output so far. */
  output(): { stdout: string; stderr: string };
}

export interface CliOptions {
  /** bin/netform.mjs with the production drivers (default: the CLI with the test driver). */
  real?: boolean;
  /** The CLI with the real Neutron driver and a hold-after-create test hook. */
  neutronHold?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts the CLI in a child process. */
export function startCli(args: string[], opts: CliOptions = {}): Spawned {
  const script = opts.real ? REAL_CLI : opts.neutronHold ? HOLD_CLI : TEST_CLI;
  const child = spawn(process.execPath, [script, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NETFORM_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Everything the child writes is also teed into the run's artifacts directory, which the run's
  // teardown scans for the tests' credentials (test/support/secrets.ts).
  const base = artifactPath('cli', `${args[0] ?? 'netform'}`);
  writeFileSync(`${base}.cmd`, JSON.stringify({ script, args, cwd: opts.cwd ?? ROOT }) + '\n');
  const outFd = openSync(`${base}.stdout`, 'w');
  const errFd = openSync(`${base}.stderr`, 'w');
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    writeSync(outFd, d);
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    writeSync(errFd, d);
    stderr += d.toString();
  });
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      closeSync(outFd);
      closeSync(errFd);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, result, output: () => ({ stdout, stderr }) };
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).result;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `netform-${prefix}-`));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

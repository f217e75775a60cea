// Conformance: Cisco's Python SDK ucsmsdk (PyPI 0.9.27) drives the emulator as
// a black box (conformance/test_ucsmsdk.py). The venv lives outside the repo,
// in ${NETFORM_CACHE:-$HOME/.cache/netform}/venv-ucsmsdk, built with the first
// `python3` on the PATH and reused while its marker matches the requirements.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type UcsmEmulator, startEmulator } from './emulator.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const CONFORMANCE_DIR = join(HERE, 'conformance');
const CACHE = process.env['NETFORM_CACHE'] || join(homedir(), '.cache', 'netform');
const VENV = join(CACHE, 'venv-ucsmsdk');
const REQUIREMENTS = ['ucsmsdk==0.9.27', 'pytest'];
const MARKER = join(VENV, '.netform-requirements');
const PY = join(VENV, 'bin', 'python');

interface Run {
  code: number | null;
  out: string;
}

/** Run a command asynchronously (the emulator answers from this same event loop). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd = CONFORMANCE_DIR): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function ensureVenv(): Promise<{ created: boolean; ms: number; python: string }> {
  const t0 = Date.now();
  const want = REQUIREMENTS.join('\n');
  const which = await run('sh', ['-c', 'command -v python3 && python3 --version'], process.env, HERE);
  const python = which.out.trim().replace(/\n/g, ' ');
  if (existsSync(PY) && existsSync(MARKER) && readFileSync(MARKER, 'utf8') === want) {
    const probe = await run(PY, ['-c', 'import ucsmsdk, pytest; print(ucsmsdk.__version__)']);
    if (probe.code === 0 && probe.out.trim() === '0.9.27') return { created: false, ms: Date.now() - t0, python };
  }
  rmSync(VENV, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  const venv = await run('python3', ['-m', 'venv', VENV], process.env, HERE);
  if (venv.code !== 0) throw new Error(`python3 -m venv ${VENV} failed (python3 = ${python}):\n${venv.out}`);
  const pip = await run(PY, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...REQUIREMENTS], process.env, HERE);
  if (pip.code !== 0) throw new Error(`pip install ${REQUIREMENTS.join(' ')} failed:\n${pip.out}`);
  writeFileSync(MARKER, want);
  return { created: true, ms: Date.now() - t0, python };
}

describe('ucsmsdk 0.9.27 against the emulator', () => {
  let emu: UcsmEmulator;
  let venv: { created: boolean; ms: number; python: string };

  beforeAll(async () => {
    venv = await ensureVenv();
    console.log(`[conformance] venv ${VENV} ${venv.created ? 'created' : 'reused'} in ${venv.ms} ms (python3: ${venv.python})`);
    emu = await startEmulator();
  }, 600_000);

  afterAll(async () => {
    await emu?.close();
  });

  it('passes test_ucsmsdk.py', async () => {
    const t0 = Date.now();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      UCSM_EMULATOR_HOST: '127.0.0.1',
      UCSM_EMULATOR_PORT: String(emu.port),
      UCSM_EMULATOR_URL: emu.url,
      UCSM_USER: 'admin',
      UCSM_PASSWORD: 'password',
      UCSM_VERSION: '4.2(3d)',
      PYTHONDONTWRITEBYTECODE: '1',
    };
    const r = await run(
      PY,
      ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-W', 'ignore::DeprecationWarning', '--rootdir', CONFORMANCE_DIR, 'test_ucsmsdk.py'],
      env,
    );
    console.log(`[conformance] pytest ran in ${Date.now() - t0} ms: ${r.out.trim().split('\n').at(-1)}`);
    if (r.code !== 0) console.log(r.out);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/\b22 passed\b/);
    // The SDK really went through every method family on the wire.
    for (const m of ['aaaLogin', 'aaaRefresh', 'aaaLogout', 'configResolveDn', 'configResolveDns', 'configResolveClass', 'configResolveClasses', 'configResolveChildren', 'configConfMos']) {
      expect(emu.counts[m] ?? 0, `${m} never called`).toBeGreaterThan(0);
    }
    // Everything the tests created was cleaned up through the SDK.
    expect(emu.list('fabricVlan').map((v) => v.dn)).toEqual(['fabric/lan/net-default']);
    expect(emu.list('vnicProfile')).toEqual([]);
    expect(emu.list('epqosDefinition')).toEqual([]);
    expect(emu.list('epqosEgress')).toEqual([]);
    expect(emu.list('orgOrg').map((o) => o.dn)).toEqual(['org-root']);
  }, 300_000);
});

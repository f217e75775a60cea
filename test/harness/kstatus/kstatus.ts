// Runs kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute, the library behind Flux's health
// checks and cli-utils' status pollers) on objects: build.sh builds and caches the tiny CLI in
// main.go, this feeds it JSON on stdin.
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BUILD_SH = fileURLToPath(new URL('./build.sh', import.meta.url));

export interface KstatusResult {
  kind: string;
  name: string;
  namespace?: string;
  status: 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'Unknown' | 'NotFound';
  message: string;
  conditions: { type: string; status: string; reason?: string; message?: string }[];
}

/** Builds the CLI if needed (a cold build downloads modules and takes about a minute); resolves to its path. */
export async function ensureKstatus(): Promise<string> {
  try {
    const { stdout } = await run('bash', [BUILD_SH], { maxBuffer: 16 << 20, timeout: 15 * 60_000 });
    return stdout.trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`test/harness/kstatus/build.sh failed: ${err.stderr || err.message}`);
  }
}

/** kstatus's verdict for each object, in order. `input`: an object, an array of objects or a List. */
export function kstatus(bin: string, input: unknown): Promise<KstatusResult[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`kstatus exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out) as KstatusResult[]);
      } catch (e) {
        reject(new Error(`kstatus printed no JSON: ${(e as Error).message}\n${out}`));
      }
    });
    p.stdin.end(JSON.stringify(input));
  });
}

// Starting and stopping the real Neutron of test/harness/neutron.sh from TypeScript.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const NEUTRON_SH = fileURLToPath(new URL('./neutron.sh', import.meta.url));

/** A TCP port on 127.0.0.1 that was free a moment ago (and the one after it, for the database). */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const next = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.on('error', () => resolve(false));
      s.listen(port + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (next && port < 65535) return port;
  }
  throw new Error('no free pair of loopback ports');
}

export interface RunningNeutron {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export interface NeutronOptions {
  /** Behind Keystone instead of noauth: the identity API root and the password of the service user
   *  `neutron` (project `service`, role admin), which must exist already (test/harness/keystone.ts). */
  keystone?: { url: string; servicePassword: string };
  /** API worker processes (Neutron's api_workers); 0, the default, is one API process. */
  apiWorkers?: number;
}

/** Installs Neutron if needed, starts it on a free loopback port with a fresh database, waits until it answers. */
export async function startNeutron(o: NeutronOptions = {}): Promise<RunningNeutron> {
  const dir = join(mkdtempSync(join(tmpdir(), 'netform-neutron-')), 'srv');
  const port = await freePortPair();
  const env: NodeJS.ProcessEnv = o.keystone
    ? { ...process.env, NEUTRON_AUTH: 'keystone', KEYSTONE_URL: o.keystone.url, NEUTRON_KEYSTONE_PASSWORD: o.keystone.servicePassword }
    : { ...process.env };
  if (o.apiWorkers !== undefined) env.NEUTRON_API_WORKERS = String(o.apiWorkers);
  await run('bash', [NEUTRON_SH, 'start', dir, String(port)], { maxBuffer: 16 << 20, env });
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    stop: async () => {
      await run('bash', [NEUTRON_SH, 'stop', dir]);
    },
  };
}

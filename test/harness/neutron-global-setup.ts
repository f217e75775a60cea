// vitest global setup of the `neutron` project: one real Neutron for all its test files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import '../support/vlans.ts';
import { startNeutron } from './neutron-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    neutronUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const neutron = await startNeutron();
  process.stderr.write(`[neutron] real Neutron on ${neutron.url} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  project.provide('neutronUrl', neutron.url);
  // Where test files reserve their VLANs on this shared Neutron (test/support/vlans.ts).
  const vlanLockDir = mkdtempSync(join(tmpdir(), 'netform-vlans-'));
  project.provide('vlanLockDir', vlanLockDir);
  return async () => {
    await neutron.stop();
    rmSync(vlanLockDir, { recursive: true, force: true });
  };
}

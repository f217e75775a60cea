// vitest global setup of the `neutron` project: one real Neutron for all its test files.
import type { TestProject } from 'vitest/node';
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
  return () => neutron.stop();
}

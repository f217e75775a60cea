// A host agent's report with nothing on the host, taken at `at` (epoch ms): for tests of what reads reports.
import type { HostReport } from '../../src/drivers/host-driver.ts';

export const emptyHostReport = (at: number): HostReport => ({
  lastObservedTime: new Date(at).toISOString(),
  interfaces: [],
  dynamicVnics: { total: 0, free: 0 },
  networks: [],
  problems: [],
  collected: [],
  syncPolicy: 'Auto',
});

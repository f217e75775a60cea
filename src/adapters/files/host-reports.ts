// Host reports as files: a standalone agent (`netform agent --host NAME`) writes its report to
// <state>/hosts/NAME.json; the `netform run` that owns the state directory reads them back.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostReport } from '../../drivers/host-driver.ts';
import { readJsonFile, writeFileAtomic } from './atomic-file.ts';

/** The reports' directory below the state directory. */
export const HOST_REPORTS_DIR = 'hosts';

/** Writes one host's report (0600), only below the state directory: a deleted state directory is the
 *  run's to make again (with its lock), never the agent's. */
export async function writeHostReport(stateDir: string, host: string, report: HostReport): Promise<void> {
  await writeFileAtomic(join(stateDir, HOST_REPORTS_DIR, `${host}.json`), `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600, createBelow: stateDir });
}

/** Every readable report, by host name (a missing directory or an unreadable file counts as none). */
export async function readHostReports(stateDir: string): Promise<Map<string, HostReport>> {
  const dir = join(stateDir, HOST_REPORTS_DIR);
  const out = new Map<string, HostReport>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const f of names.filter((n) => n.endsWith('.json')).sort()) {
    const report = await readJsonFile<HostReport>(join(dir, f)).catch(() => undefined);
    if (report) out.set(f.slice(0, -'.json'.length), report);
  }
  return out;
}

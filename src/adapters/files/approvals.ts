// Approvals as files: `netform approve OBJECT --plan DIGEST` writes <state>/approvals/<key>.json; the
// `netform run` that owns the state directory (and a standalone `netform agent`) read them. An approval
// names one plan digest: a plan that changed since is not approved by it.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic } from './atomic-file.ts';

export const APPROVALS_DIR = 'approvals';

export interface Approval {
  /** The object's key, e.g. `Network/web`, `Host/hv1`. */
  object: string;
  digest: string;
  approvedAt: string;
}

const fileOf = (key: string) => `${key.replaceAll('/', '~')}.json`;

/** Records an approval (0600), only below an existing state directory. */
export async function writeApproval(stateDir: string, a: Approval): Promise<void> {
  await writeFileAtomic(join(stateDir, APPROVALS_DIR, fileOf(a.object)), `${JSON.stringify(a, null, 2)}\n`, { mode: 0o600, createBelow: stateDir });
}

/** Every readable approval: digest by object key (a missing directory or a bad file counts as none). */
export async function readApprovals(stateDir: string): Promise<Map<string, string>> {
  const dir = join(stateDir, APPROVALS_DIR);
  const out = new Map<string, string>();
  for (const f of (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort()) {
    const a = await readJsonFile<Partial<Approval>>(join(dir, f)).catch(() => undefined);
    if (a && typeof a.object === 'string' && typeof a.digest === 'string' && fileOf(a.object) === f) out.set(a.object, a.digest);
  }
  return out;
}

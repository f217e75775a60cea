// `netform approve OBJECT --plan DIGEST` (file mode): approves the plan an object holds (a Network or
// Host with approval Manual), by its digest. Refused when nothing is held or the held plan is not
// that digest any more: an approval never covers changes its approver did not see.
import { objectKey, parseKey } from '../api/kinds.ts';
import type { HostPendingPlan } from '../drivers/host-driver.ts';
import { writeApproval } from '../adapters/files/approvals.ts';
import { readHostReports } from '../adapters/files/host-reports.ts';
import { StateDir } from '../adapters/files/state-dir.ts';
import type { ObjectRecord } from '../state/records.ts';

export interface ApproveResult {
  ok: boolean;
  message: string;
  /** What became of it (the console's answer codes follow it). */
  outcome: 'approved' | 'not-found' | 'nothing-pending' | 'plan-changed';
  /** The digest held now, when it is another one. */
  pending?: string;
}

/** Accepts `Network/web`, `network/web`, `Host/hv1`, `VnicAttachment/ns/name`. */
export function normalizeKey(object: string): string {
  const parts = object.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p)) throw new Error(`${JSON.stringify(object)} is not an object: use KIND/NAME, e.g. Network/web or Host/hv1`);
  const kind = parts[0]!.charAt(0).toUpperCase() + parts[0]!.slice(1);
  const fixed = kind.toLowerCase() === 'network' ? 'Network' : kind.toLowerCase() === 'host' ? 'Host' : kind;
  return parts.length === 3 ? objectKey(fixed as never, parts[2]!, parts[1]) : objectKey(fixed as never, parts[1]!);
}

export async function approve(stateDir: string, object: string, digest: string, now = new Date()): Promise<ApproveResult> {
  const key = normalizeKey(object);
  const records = (await StateDir.readAll(stateDir)) as unknown as ObjectRecord[];
  const rec = records.find((r) => r.key === key);
  // A Host's plan is held by its agent: its latest report is the newest word on it.
  const { kind, name } = parseKey(key);
  const fromReport = kind === 'Host' ? (await readHostReports(stateDir)).get(name)?.pendingPlan : undefined;
  const pending = (fromReport ?? rec?.status.pendingPlan) as HostPendingPlan | undefined;
  if (!rec && !fromReport) return { ok: false, outcome: 'not-found', message: `${key}: no such object in ${stateDir}` };
  if (!pending?.digest) return { ok: false, outcome: 'nothing-pending', message: `${key} holds no plan awaiting approval` };
  if (pending.digest !== digest) {
    return { ok: false, outcome: 'plan-changed', pending: pending.digest, message: `${key}: the plan changed since: it is now ${pending.digest} (${pending.summary ?? ''}; ${pending.impact ?? ''}); review it with netform plan and approve that digest` };
  }
  await writeApproval(stateDir, { object: key, digest, approvedAt: now.toISOString() });
  return { ok: true, outcome: 'approved', message: `approved ${key} for plan ${digest} (${pending.summary ?? ''}; ${pending.impact ?? ''})` };
}

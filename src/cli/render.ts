// Human output: tables for `status` and `apply`. Pure.
import { KIND_DEFINITIONS } from '../controllers/index.ts';
import type { ObjectRecord } from '../state/records.ts';
import type { HostFit } from '../controllers/placement/placement.ts';

export function table(rows: readonly (readonly string[])[]): string {
  if (!rows.length) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

export function age(fromIso: string | undefined, now: Date): string {
  if (!fromIso) return '';
  const s = Math.max(0, Math.floor((now.getTime() - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** The kind's key figure, as its declaration words it (like its CRD's printer column). */
export function keyFigure(r: ObjectRecord): string {
  return KIND_DEFINITIONS.find((d) => d.kind === r.kind)?.keyFigure?.(r) ?? '';
}

function cond(r: ObjectRecord, type: string): { status: string; reason: string; message: string } {
  const c = r.status.conditions?.find((x) => x.type === type);
  return { status: c?.status ?? '', reason: c?.reason ?? '', message: c?.message ?? '' };
}

export function statusTable(records: readonly ObjectRecord[], now: Date): string {
  const rows: string[][] = [['OBJECT', 'READY', 'SYNCED', 'DETAIL', 'AGE', 'MESSAGE']];
  for (const r of records) {
    const ready = cond(r, 'Ready');
    const synced = cond(r, 'Synced');
    const message = synced.status === 'False' ? `${synced.reason}: ${synced.message}` : ready.status !== 'True' ? `${ready.reason}: ${ready.message}` : '';
    rows.push([r.key, ready.status || '-', synced.status || '-', keyFigure(r), age(r.createdAt, now), truncate(message, 120)]);
  }
  return table(rows);
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** `netform place`: one row per host, those that fit first, with the reasons of those that do not. */
export function placeTable(fits: readonly HostFit[]): string {
  const rows: string[][] = [['HOST', 'CLUSTER', 'FITS', 'DYNAMIC-VNICS-LEFT', 'WHY NOT']];
  for (const f of fits) rows.push([f.host, f.cluster, f.fits ? 'yes' : 'no', f.dynamicVnicsLeft === undefined ? '-' : String(f.dynamicVnicsLeft), f.reasons.join('; ')]);
  return table(rows);
}

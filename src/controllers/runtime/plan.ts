// Plans: what would change on each backend, rendered as + / ~ / ± / − lines. Pure.
import type { FieldChange } from '../../drivers/driver.ts';

export type PlanAction =
  | 'create'
  | 'update'
  | 'replace'
  | 'delete'
  | 'orphan'
  | 'noop'
  | 'blocked'
  | 'drift'
  | 'missing'
  | 'wait'
  | 'unknown'
  | 'allocate'
  | 'release';

/** One intended change of one backend object (or of local state, such as a VLAN allocation). */
export interface PlanItem {
  /** The netform object, e.g. `Network/web`. */
  object: string;
  /** `neutron:openstack`, or `netform` for local state. */
  target: string;
  /** What kind of backend object, e.g. `network`, `port`, `vlan`. */
  resource: string;
  action: PlanAction;
  externalId?: string;
  changes?: FieldChange[];
  message?: string;
}

/** Actions that change something. */
export const CHANGING: ReadonlySet<PlanAction> = new Set(['create', 'update', 'replace', 'delete', 'orphan', 'allocate', 'release']);
/** Actions that mean the plan could not be made, or cannot be carried out as it stands. */
export const FAILING: ReadonlySet<PlanAction> = new Set(['blocked', 'unknown']);

const SIGN: Record<PlanAction, string> = {
  create: '+',
  update: '~',
  replace: '±',
  delete: '−',
  orphan: '○',
  noop: '=',
  blocked: '!',
  drift: '≠',
  missing: '?',
  wait: '…',
  unknown: '?',
  allocate: '+',
  release: '−',
};

function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  return JSON.stringify(v);
}

/** Renders a plan for people: one line per change, with field changes indented below; no-ops are left out. */
export function renderPlan(items: readonly PlanItem[]): string {
  const lines: string[] = [];
  for (const it of sortPlan(items)) {
    if (it.action === 'noop') continue;
    const id = it.externalId ? ` ${it.externalId}` : '';
    const note = it.message ? ` — ${it.message}` : '';
    lines.push(`${SIGN[it.action]} ${it.object}  ${it.target} ${it.resource}${id}  (${it.action})${note}`);
    for (const c of it.changes ?? []) {
      const tag = c.immutable ? '  [cannot change in place]' : '';
      lines.push(`    ${c.path}: ${show(c.from)} → ${show(c.to)}${tag}`);
    }
  }
  return lines.join('\n');
}

export function summarizePlan(items: readonly PlanItem[]): Record<'create' | 'update' | 'replace' | 'delete' | 'other', number> {
  const s = { create: 0, update: 0, replace: 0, delete: 0, other: 0 };
  for (const it of items) {
    if (it.action === 'create' || it.action === 'allocate') s.create++;
    else if (it.action === 'update') s.update++;
    else if (it.action === 'replace') s.replace++;
    else if (it.action === 'delete' || it.action === 'release') s.delete++;
    else if (it.action !== 'noop') s.other++;
  }
  return s;
}

export function sortPlan(items: readonly PlanItem[]): PlanItem[] {
  return [...items].sort((a, b) =>
    a.object !== b.object ? (a.object < b.object ? -1 : 1) : a.target !== b.target ? (a.target < b.target ? -1 : 1) : a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0,
  );
}

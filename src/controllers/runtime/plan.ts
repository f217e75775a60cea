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
  | 'release'
  | 'unreported';

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
  /** Host changes: what differs on the device, in the host driver's words (`mtu 1500→9000`). */
  details?: string[];
  /** Host changes on a device several networks share (a NIC, a bond): those networks. */
  networks?: string[];
  /** Host changes: the time of the agent's report the change was planned against. */
  asOf?: string;
  /** Which VMs (and hosts) the change reaches and how; empty or absent: none. */
  impact?: PlanImpact[];
}

/**
 * How a change reaches a VM's vNIC (or a service endpoint's port or device, alike): `replug` — it takes effect for the VM only once the vNIC is
 * re-plugged (an MTU); `link-flap` — the vNIC's link goes down and up; `connectivity-loss` — the VM
 * loses the network while the change runs (a VLAN renumbered, the network leaving its host);
 * `replace` — the backend object is made anew with a new id; `blocking` — the vNIC holds the object,
 * whose deletion waits for it.
 */
export type ImpactKind = 'replug' | 'link-flap' | 'connectivity-loss' | 'replace' | 'blocking';

export interface PlanImpact {
  kind: ImpactKind;
  /** `<namespace>/<name>` of the VnicAttachment. */
  vnic?: string;
  /** `<namespace>/<vm name>`. */
  vm?: string;
  /** `<namespace>/<name>` of the ServiceEndpoint, when the change reaches one (no vm, no vnic then). */
  endpoint?: string;
  /** The endpoint's service (`firewall`, `loadbalancer`…). */
  service?: string;
  host?: string;
  network?: string;
  reason: string;
}

/** Actions that change something. */
export const CHANGING: ReadonlySet<PlanAction> = new Set(['create', 'update', 'replace', 'delete', 'orphan', 'allocate', 'release']);
/** Hosts whose state is not known (no agent report to plan against): a failure only with `--require-host-reports`. */
export const UNKNOWN_HOST: PlanAction = 'unreported';
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
  unreported: '?',
};

function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  return JSON.stringify(v);
}

const IMPACT_WORDS: Record<ImpactKind, string> = {
  replug: 'needs a re-plug',
  'link-flap': 'sees a link flap',
  'connectivity-loss': 'loses connectivity during the change',
  replace: 'is replaced',
  blocking: 'holds back the deletion',
};

/** One impact as a line: `VM default/vm1 (vNIC default/vm1-nic0 on h1) needs a re-plug: why`, or
 *  `service endpoint edge/fw (firewall on h1) needs a re-plug: why`. */
export function renderImpact(i: PlanImpact): string {
  const on = i.host ? ` on ${i.host}` : '';
  const who = i.vm
    ? `VM ${i.vm} (vNIC ${i.vnic}${on})`
    : i.endpoint
      ? `service endpoint ${i.endpoint} (${i.service || 'service'}${on})`
      : i.network
        ? `network ${i.network}`
        : 'it';
  return `${who} ${IMPACT_WORDS[i.kind]}: ${i.reason}`;
}

/** Renders a plan for people: one line per change, with field changes, device details and the
 *  impact on VMs indented below; no-ops are left out. */
export function renderPlan(items: readonly PlanItem[]): string {
  const lines: string[] = [];
  for (const it of sortPlan(items)) {
    if (it.action === 'noop') continue;
    const id = it.externalId ? ` ${it.externalId}` : '';
    const note = it.message ? ` — ${it.message}` : '';
    const asOf = it.asOf ? ` [as of the report taken at ${it.asOf}]` : '';
    lines.push(`${SIGN[it.action]} ${it.object}  ${it.target} ${it.resource}${id}  (${it.action})${note}${asOf}`);
    for (const c of it.changes ?? []) {
      const tag = c.immutable ? '  [cannot change in place]' : '';
      lines.push(`    ${c.path}: ${show(c.from)} → ${show(c.to)}${tag}`);
    }
    for (const d of it.details ?? []) lines.push(`    ${d}`);
    // A change without impact lines reaches no VM (the summary says so for the whole plan).
    for (const i of it.impact ?? []) lines.push(`    impact: ${renderImpact(i)}`);
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

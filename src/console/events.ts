// The console's event timeline: condition transitions and backend actions, newest last, bounded (a
// ring of the last `limit`). In memory only; fed by the engine's observer (each reconciled object's
// record, each backend action) and by host reports (each change the agent applied). Pure logic.
import type { Condition } from '../api/kinds.ts';
import type { HostReport } from '../drivers/host-driver.ts';
import type { ObjectRecord } from '../state/records.ts';
import type { ConsoleEvent } from './view.ts';

const TRACKED = ['Ready', 'Synced', 'Stalled'] as const;

export class EventLog {
  readonly #limit: number;
  readonly #events: ConsoleEvent[] = [];
  /** Per key, the last seen status and reason of each tracked condition. */
  readonly #seen = new Map<string, Map<string, string>>();
  /** Per Host key, the time of the last applied change seen in its agent's report. */
  readonly #applies = new Map<string, string>();
  #seq = 0;

  constructor(limit = 500) {
    this.#limit = limit;
  }

  /** Increases each time an event is added. */
  get seq(): number {
    return this.#seq;
  }

  list(): ConsoleEvent[] {
    return [...this.#events];
  }

  add(e: ConsoleEvent): void {
    this.#events.push(e);
    this.#seq++;
    if (this.#events.length > this.#limit) this.#events.splice(0, this.#events.length - this.#limit);
  }

  /**
   * The history a process starts with: each record's tracked conditions as of their last transition,
   * oldest first. Remembers them, so only later transitions are events.
   */
  seed(records: readonly ObjectRecord[]): void {
    const initial: ConsoleEvent[] = [];
    for (const r of records) {
      for (const c of tracked(r.status.conditions)) {
        this.#remember(r.key, c);
        if (c.lastTransitionTime) initial.push(eventOf(r.key, c, c.lastTransitionTime));
      }
    }
    initial.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const e of initial) this.add(e);
  }

  /**
   * Notes an object's record after a reconcile (undefined: it has none any more): an event per tracked
   * condition whose status or reason changed since it was last seen. Returns how many were added.
   */
  observe(key: string, rec: ObjectRecord | undefined, now: Date): number {
    const before = this.#seq;
    if (!rec) {
      if (this.#seen.delete(key)) this.add({ time: now.toISOString(), key, type: 'action', reason: 'Removed', message: `${key} is gone` });
      return this.#seq - before;
    }
    for (const c of tracked(rec.status.conditions)) {
      const was = this.#seen.get(key)?.get(c.type);
      if (was === signature(c)) continue;
      this.#remember(key, c);
      // A reason change keeps lastTransitionTime (it counts status changes only): that is now.
      const statusChanged = was === undefined || was.split('/')[0] !== c.status;
      this.add(eventOf(key, c, statusChanged && c.lastTransitionTime ? c.lastTransitionTime : now.toISOString()));
    }
    return this.#seq - before;
  }

  /** A backend action (or its failure), as the Event cluster mode records for it. */
  action(key: string, ev: { type: string; reason: string; note: string }, now: Date): void {
    this.add({ time: now.toISOString(), key, type: 'action', status: ev.type, reason: ev.reason, message: ev.note });
  }

  /** A host agent's report: its last applied change, once. */
  report(hostKey: string, r: Pick<HostReport, 'lastApply'> | undefined): void {
    const a = r?.lastApply;
    if (!a || this.#applies.get(hostKey) === a.time) return;
    const first = !this.#applies.has(hostKey);
    this.#applies.set(hostKey, a.time);
    if (first && this.#events.length && a.time < this.#events[0]!.time) return; // older than anything kept
    const reason = a.result === 'applied' ? 'Applied' : a.result === 'rolled back' ? 'RolledBack' : 'RollbackFailed';
    this.add({
      time: a.time,
      key: hostKey,
      type: 'action',
      status: a.result === 'applied' ? 'Normal' : 'Warning',
      reason,
      message: `${a.changes} change${a.changes === 1 ? '' : 's'} ${a.result} on the host${a.error ? `: ${a.error}` : ''}`,
    });
  }

  #remember(key: string, c: Condition): void {
    let m = this.#seen.get(key);
    if (!m) this.#seen.set(key, (m = new Map()));
    m.set(c.type, signature(c));
  }
}

/** What makes a transition: status and reason; for Stalled its status only (its reason is Synced's). */
function signature(c: Condition): string {
  return c.type === 'Stalled' ? `${c.status}/` : `${c.status}/${c.reason ?? ''}`;
}

function tracked(conditions: readonly Condition[] | undefined): Condition[] {
  return (conditions ?? []).filter((c) => (TRACKED as readonly string[]).includes(c.type));
}

function eventOf(key: string, c: Condition, time: string): ConsoleEvent {
  const e: ConsoleEvent = { time, key, type: c.type, status: c.status };
  if (c.reason) e.reason = c.reason;
  if (c.message) e.message = c.message;
  return e;
}

// What the console server serves, mode-neutral: the current view on demand, and a signal when it may
// have changed. The composition root plugs it into the engine (its observer: reconciles and backend
// actions) and, in cluster mode, into the informers; the HTTP adapter only calls view() and
// subscribe(). Keeps the event timeline (EventLog). No I/O.
import { parseKey } from '../api/kinds.ts';
import type { BindingOutcome } from '../controllers/runtime/managed.ts';
import { eventFor } from '../controllers/runtime/binding-events.ts';
import type { EngineObserver } from '../controllers/runtime/engine.ts';
import type { HostReport } from '../drivers/host-driver.ts';
import { EventLog } from './events.ts';
import { buildView, type ConsoleView, type ViewSource } from './view.ts';

export interface ConsoleFeedOptions {
  mode: 'file' | 'cluster';
  /** Where the view comes from now; undefined: nothing known yet (an empty view). */
  source: () => ViewSource | undefined;
  /** What the timeline reads after each change of an object, when that is cheaper than a whole
   *  source (cluster mode's standby admits everything to make one): the records, and a Host's latest
   *  report by key. Default: the source's. */
  records?: () => ViewSource['records'] | undefined;
  report?: (key: string) => unknown;
  now?: () => Date;
  /** Events kept. Default 500. */
  eventLimit?: number;
  collapseAbove?: number;
  ovsBridge?: string;
}

export class ConsoleFeed {
  readonly events: EventLog;
  readonly #o: ConsoleFeedOptions;
  readonly #now: () => Date;
  readonly #listeners = new Set<() => void>();
  #seeded = false;

  constructor(o: ConsoleFeedOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.events = new EventLog(o.eventLimit ?? 500);
  }

  /** The view as of now. `canApprove` is the server's to say. */
  view(canApprove = false): ConsoleView {
    const src = this.#o.source();
    if (src && !this.#seeded) this.#seed(src.records);
    const empty: ViewSource = { store: { get: () => undefined, keys: () => [], list: () => [], invalid: () => undefined, invalidKeys: () => [], hashOf: () => undefined }, records: { get: () => undefined, list: () => [] }, reports: new Map() };
    return buildView(src ?? empty, {
      mode: this.#o.mode,
      canApprove,
      now: this.#now(),
      events: this.events.list(),
      ...(this.#o.collapseAbove !== undefined ? { collapseAbove: this.#o.collapseAbove } : {}),
      ...(this.#o.ovsBridge ? { ovsBridge: this.#o.ovsBridge } : {}),
    });
  }

  /** Called on every possible change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Something the view shows may have changed (a load, an approval, an informer event). */
  changed(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** An object's record may have changed (after its reconcile, or an informer event): notes its
   *  condition transitions (and a Host's applied changes) and signals a change. */
  object(key: string): void {
    const records = this.#o.records ? this.#o.records() : this.#o.source()?.records;
    if (records) {
      if (!this.#seeded) this.#seed(records);
      else this.events.observe(key, records.get(key), this.#now());
      if (isHost(key)) this.events.report(key, (this.#o.report ? this.#o.report(key) : this.#o.source()?.reports.get(key)) as HostReport | undefined);
    }
    this.changed();
  }

  /** A backend action taken (or failed) for an object. */
  binding(key: string, outcome: BindingOutcome, provider: string): void {
    const ev = eventFor(outcome, provider);
    if (ev) this.events.action(key, ev, this.#now());
    this.changed();
  }

  /** The hooks to give the engine (alone, or next to others). */
  observer(): Required<EngineObserver> {
    return {
      reconciled: (key) => this.object(key),
      binding: (key, outcome, provider) => this.binding(key, outcome, provider),
    };
  }

  #seed(records: ViewSource['records']): void {
    this.#seeded = true;
    this.events.seed(records.list());
  }
}

function isHost(key: string): boolean {
  try {
    return parseKey(key).kind === 'Host';
  } catch {
    return false;
  }
}

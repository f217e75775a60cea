// Test support for the Lease-based adapters (leader.ts, shard-set.ts): a manual clock that fires
// timers by hand, and an in-memory coordination.k8s.io/v1 Lease API with the apiserver's
// compare-and-swap rules, so that elections can be driven step by step. Not a test file itself
// (vitest's unit project picks up `*.test.ts`); the real apiserver runs the same code in test/kube/.
import { KubeApiError, resourcePath, type RequestOptions } from './client.ts';
import type { WallClock } from './clock.ts';
import type { Lease, LeaseSpec } from './leader.ts';
import { LEASES } from './resources.ts';

/** Lets pending promise chains (several awaits deep) run to completion. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
};

/** A monotonic clock with timers that only moves when told to; `wallNow()` is `epochMs` + its time. */
export class ManualClock implements WallClock {
  t = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #seq = 0;
  readonly epochMs: number;
  constructor(epochMs = Date.UTC(2026, 10, 21, 14, 30, 0, 250)) {
    this.epochMs = epochMs;
  }
  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.epochMs + this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.#timers.delete(h as number);
  }
  /** Moves time forward to `until`, firing due timers in order (ties: in the order they were set)
   *  and letting promises settle between them. */
  async advanceTo(until: number): Promise<void> {
    for (;;) {
      await settle();
      const due = [...this.#timers].filter(([, x]) => x.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = until;
    await settle();
  }
}

type Request = <T>(method: string, path: string, opts?: RequestOptions) => Promise<T>;

/** Switches that make requests misbehave, on the whole API or on one client's view of it. */
export interface Faults {
  /** Requests never answer; they reject when their signal aborts (a partition, a stalled apiserver). */
  hang: boolean;
  /** Requests never settle, not even when aborted (a wedged connection). */
  wedged: boolean;
  /** Requests fail at once (connection refused). */
  down: boolean;
}

/** One write the API accepted. */
export interface LeaseWrite {
  method: 'POST' | 'PUT' | 'DELETE';
  namespace: string;
  name: string;
  holder: string;
}

const ITEM = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;

/**
 * In-memory Leases of any number of namespaces, keyed by their item path
 * (`/apis/coordination.k8s.io/v1/namespaces/NS/leases/NAME`, as `resourcePath(LEASES, …)` builds it).
 * GET of an item: the Lease or 404; GET of the collection (`…/namespaces/NS/leases`): `{items}`;
 * POST to the collection: create (409 AlreadyExists if the body's metadata.name exists); PUT of an
 * item: replace, 409 Conflict unless the body carries the stored resourceVersion (the elector never
 * writes without one), 404 if absent; DELETE of an item: 404 if absent, 409 Conflict if the body's
 * `preconditions.resourceVersion` is not the stored one, 403 while `denyDelete` is set. Every accepted
 * create or replace gets the next resourceVersion. With
 * `latencyMs` (on `clock`), a request is served that long after it was sent and answered at once, so
 * requests sent together are all in flight together.
 */
export class FakeLeaseApi implements Faults {
  readonly leases = new Map<string, Lease>();
  readonly #clock: Pick<WallClock, 'setTimeout' | 'clearTimeout'> | undefined;
  latencyMs: number;
  rv = 0;
  hang = false;
  wedged = false;
  down = false;
  writes: LeaseWrite[] = [];
  /** Deletes are refused (403 Forbidden: the Role lacks `delete`). */
  denyDelete = false;
  /** Called with each request just before it is served (after its latency): a test's way to make
   *  something happen between a replica's list and its next write. */
  beforeServe: ((method: string, path: string) => void) | undefined;
  /** Every request, in order: `METHOD path`. */
  requests: string[] = [];

  constructor(o: { clock?: Pick<WallClock, 'setTimeout' | 'clearTimeout'>; latencyMs?: number } = {}) {
    this.#clock = o.clock;
    this.latencyMs = o.latencyMs ?? 0;
    if (this.latencyMs > 0 && !this.#clock) throw new Error('FakeLeaseApi: latencyMs needs a clock');
  }

  static path(namespace: string, name?: string): string {
    return resourcePath(LEASES, name === undefined ? { namespace } : { namespace, name });
  }

  /** The stored Lease (not a copy), if any. */
  get(namespace: string, name: string): Lease | undefined {
    return this.leases.get(FakeLeaseApi.path(namespace, name));
  }

  /** Stores a Lease as is (a leftover of an earlier run); its resourceVersion, if any, moves `rv` up. */
  seed(namespace: string, name: string, spec: LeaseSpec, resourceVersion?: string): void {
    if (resourceVersion !== undefined) this.rv = Math.max(this.rv, Number(resourceVersion));
    const rv = resourceVersion ?? String(++this.rv);
    this.leases.set(FakeLeaseApi.path(namespace, name), { metadata: { name, namespace, resourceVersion: rv }, spec: structuredClone(spec) });
  }

  /** The writes to one Lease as `METHOD holder`. */
  writesTo(name: string): string[] {
    return this.writes.filter((w) => w.name === name).map((w) => `${w.method} ${w.holder}`);
  }

  request: Request = <T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> => this.#serve<T>(this, method, path, opts);

  /** A client with its own fault switches (one replica's connection), on top of the API's. */
  client(): FakeLeaseClient {
    const faults: FakeLeaseClient = {
      hang: false,
      wedged: false,
      down: false,
      request: <T>(method: string, path: string, opts: RequestOptions = {}) => this.#serve<T>(faults, method, path, opts),
      reset: () => {
        for (const fail of [...(pending.get(faults) ?? [])]) fail();
      },
    };
    return faults;
  }

  async #serve<T>(faults: Faults, method: string, path: string, opts: RequestOptions): Promise<T> {
    for (const f of [this, faults]) {
      if (f.wedged) return new Promise<T>(() => {});
      if (f.down) throw new KubeApiError('Transient', 0, 'connect ECONNREFUSED');
      if (f.hang) {
        return new Promise<T>((_, reject) => {
          if (opts.signal?.aborted) return reject(opts.signal.reason);
          const set = pending.get(faults) ?? new Set<() => void>();
          pending.set(faults, set);
          const fail = (reason: unknown) => {
            set.delete(onReset);
            reject(reason);
          };
          const onReset = () => fail(new KubeApiError('Transient', 0, 'socket hang up'));
          set.add(onReset);
          opts.signal?.addEventListener('abort', () => fail(opts.signal!.reason), { once: true });
        });
      }
    }
    if (this.latencyMs > 0) await this.#travel(opts.signal);
    this.beforeServe?.(method, path);
    this.requests.push(`${method} ${path}`);
    const m = ITEM.exec(path);
    if (!m) throw new Error(`FakeLeaseApi: unexpected path ${path}`);
    const namespace = decodeURIComponent(m[1]!);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const body = structuredClone(opts.body) as Lease | undefined;
    if (method === 'GET') {
      if (name === undefined) {
        const prefix = `${path}/`;
        return { items: [...this.leases].filter(([k]) => k.startsWith(prefix)).map(([, l]) => structuredClone(l)) } as T;
      }
      const lease = this.leases.get(path);
      if (!lease) throw new KubeApiError('NotFound', 404, 'not found', 'NotFound');
      return structuredClone(lease) as T;
    }
    if (method === 'DELETE') {
      if (name === undefined) throw new KubeApiError('Terminal', 405, `DELETE of a collection: ${path}`, 'MethodNotAllowed');
      if (this.denyDelete) throw new KubeApiError('Terminal', 403, 'leases is forbidden: cannot delete', 'Forbidden');
      const cur = this.leases.get(path);
      if (!cur) throw new KubeApiError('NotFound', 404, 'not found', 'NotFound');
      const want = (opts.body as { preconditions?: { resourceVersion?: string } } | undefined)?.preconditions?.resourceVersion;
      if (want !== undefined && want !== cur.metadata.resourceVersion) throw new KubeApiError('Conflict', 409, 'Precondition failed: ResourceVersion', 'Conflict');
      this.leases.delete(path);
      this.writes.push({ method: 'DELETE', namespace, name, holder: cur.spec?.holderIdentity ?? '' });
      return { kind: 'Status', status: 'Success' } as T;
    }
    let key: string;
    if (method === 'POST') {
      if (name !== undefined) throw new KubeApiError('Terminal', 405, `POST to an item: ${path}`, 'MethodNotAllowed');
      const bodyName = body?.metadata?.name;
      if (!bodyName) throw new KubeApiError('Terminal', 422, 'metadata.name is required', 'Invalid');
      if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) throw new KubeApiError('Terminal', 400, 'the namespace of the object does not match the namespace on the request', 'BadRequest');
      key = FakeLeaseApi.path(namespace, bodyName);
      if (this.leases.has(key)) throw new KubeApiError('Conflict', 409, 'already exists', 'AlreadyExists');
    } else if (method === 'PUT') {
      if (name === undefined) throw new KubeApiError('Terminal', 405, `PUT to a collection: ${path}`, 'MethodNotAllowed');
      if (body?.metadata?.name !== name) throw new KubeApiError('Terminal', 400, 'the name of the object does not match the name on the URL', 'BadRequest');
      key = path;
      const cur = this.leases.get(key);
      if (!cur) throw new KubeApiError('NotFound', 404, 'not found', 'NotFound');
      if (body.metadata.resourceVersion !== cur.metadata.resourceVersion) throw new KubeApiError('Conflict', 409, 'the object has been modified', 'Conflict');
    } else {
      throw new Error(`FakeLeaseApi: unexpected ${method} ${path}`);
    }
    const stored: Lease = { ...body!, metadata: { ...body!.metadata, namespace, resourceVersion: String(++this.rv) } };
    this.leases.set(key, stored);
    this.writes.push({ method, namespace, name: stored.metadata.name, holder: stored.spec?.holderIdentity ?? '' });
    return structuredClone(stored) as T;
  }

  /** Waits `latencyMs` on the clock; rejects when `signal` aborts first. */
  #travel(signal: AbortSignal | undefined): Promise<void> {
    const clock = this.#clock!;
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clock.clearTimeout(h);
        reject(signal!.reason);
      };
      const h = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, this.latencyMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** One client's view of a FakeLeaseApi: its own fault switches; `reset()` fails its hanging requests. */
export interface FakeLeaseClient extends Faults {
  request: Request;
  reset(): void;
}

const pending = new WeakMap<Faults, Set<() => void>>();

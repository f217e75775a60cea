// Events: the pure helpers (truncation, references, names, the token bucket) and the recorder's
// aggregation, rate limiting and queueing on a manual clock with an in-memory stand-in for the
// Events API. The recorder against a real apiserver: test/kube/events.test.ts.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KubeApiError, type RequestOptions } from './client.ts';
import { aggregationKey, buildEvent, eventName, eventNamespace, EventRecorder, NOTE_LIMIT_BYTES, regardingOf, truncateUtf8, type EventSubject, type KubeEvent } from './events.ts';
import { type WallClock } from './clock.ts';

const T0 = Date.UTC(2026, 10, 21, 14, 30, 0, 0);
const log = pino({ level: 'silent' });

const network: EventSubject = {
  apiVersion: 'netform.io/v1alpha1',
  kind: 'Network',
  metadata: { name: 'tenant-a', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', resourceVersion: '812' },
};
const vnic: EventSubject = {
  apiVersion: 'netform.io/v1alpha1',
  kind: 'VnicAttachment',
  metadata: { name: 'web1-nic1', namespace: 'team-a', uid: '6f1c2f0e-6c55-4c5e-9a43-3c2f8b7e0a11', resourceVersion: '9' },
};

describe('truncateUtf8', () => {
  it.each([
    ['short', 10, 'short'],
    ['exactly10!', 10, 'exactly10!'],
    ['eleven chars', 10, 'eleven …'],
    ['ééééé', 6, 'é…'], // 2 bytes each, and 3 for the mark
    ['ééééé', 8, 'éé…'],
    ['ééééé', 10, 'ééééé'],
    ['🙂🙂🙂', 8, '🙂…'],
  ])('%s in %d bytes → %s', (s, max, want) => {
    const got = truncateUtf8(s, max);
    expect(got).toBe(want);
    expect(Buffer.byteLength(got)).toBeLessThanOrEqual(max);
  });

  it('cuts a long note to exactly the API limit', () => {
    const got = truncateUtf8('x'.repeat(5000), NOTE_LIMIT_BYTES);
    expect(Buffer.byteLength(got)).toBe(NOTE_LIMIT_BYTES);
    expect(got.endsWith('x…')).toBe(true);
  });
});

describe('references and namespaces', () => {
  it('refers to a cluster-scoped object without namespace; its Events go to default', () => {
    const ref = regardingOf(network)!;
    expect(ref).toEqual({ apiVersion: 'netform.io/v1alpha1', kind: 'Network', name: 'tenant-a', uid: network.metadata.uid, resourceVersion: '812' });
    expect(eventNamespace(ref)).toBe('default');
  });

  it("puts a namespaced object's Events into its namespace", () => {
    const ref = regardingOf(vnic)!;
    expect(ref.namespace).toBe('team-a');
    expect(eventNamespace(ref)).toBe('team-a');
  });

  it('defaults the apiVersion to netform.io/v1alpha1 and refuses objects without a name', () => {
    expect(regardingOf({ kind: 'Host', metadata: { name: 'hv1' } })).toEqual({ apiVersion: 'netform.io/v1alpha1', kind: 'Host', name: 'hv1' });
    expect(regardingOf({ kind: 'Host', metadata: {} })).toBeUndefined();
    expect(regardingOf({ kind: '', metadata: { name: 'x' } })).toBeUndefined();
  });

  it('aggregates by object uid, type, reason, action and note', () => {
    const ref = regardingOf(network)!;
    const k = aggregationKey(ref, 'Warning', 'BackendRejected', 'Create', 'VLAN 301 in use');
    expect(aggregationKey({ ...ref, resourceVersion: '999' }, 'Warning', 'BackendRejected', 'Create', 'VLAN 301 in use')).toBe(k);
    for (const other of [
      aggregationKey({ ...ref, uid: 'another' }, 'Warning', 'BackendRejected', 'Create', 'VLAN 301 in use'),
      aggregationKey(ref, 'Normal', 'BackendRejected', 'Create', 'VLAN 301 in use'),
      aggregationKey(ref, 'Warning', 'InvalidSpec', 'Create', 'VLAN 301 in use'),
      aggregationKey(ref, 'Warning', 'BackendRejected', 'Update', 'VLAN 301 in use'),
      aggregationKey(ref, 'Warning', 'BackendRejected', 'Create', 'VLAN 302 in use'),
    ]) expect(other).not.toBe(k);
  });
});

describe('eventName', () => {
  it('is the object name, the time in hex and random hex', () => {
    expect(eventName('tenant-a', 0x19a8, () => 0.5)).toBe('tenant-a.19a8888888');
  });

  it('stays a DNS subdomain of at most 253 characters for a long name', () => {
    const n = eventName(`${'a'.repeat(250)}-`, T0, () => 0.99);
    expect(n.length).toBeLessThanOrEqual(253);
    expect(n).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(n).not.toContain('-.');
  });
});

describe('buildEvent', () => {
  it('writes every required events.k8s.io/v1 field and a series only from the second occurrence', () => {
    const ref = regardingOf(vnic)!;
    const args = { name: 'web1-nic1.1', ref, type: 'Warning' as const, reason: 'BackendRejected', action: 'Create', note: 'n', reportingInstance: 'hv1_abc', firstWallMs: T0, lastWallMs: T0 + 1500, count: 1 };
    expect(buildEvent(args)).toEqual({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'web1-nic1.1', namespace: 'team-a' },
      eventTime: '2026-11-21T14:30:00.000000Z',
      reportingController: 'netform.io/controller',
      reportingInstance: 'hv1_abc',
      action: 'Create',
      reason: 'BackendRejected',
      regarding: ref,
      note: 'n',
      type: 'Warning',
    });
    expect(buildEvent({ ...args, count: 3 }).series).toEqual({ count: 3, lastObservedTime: '2026-11-21T14:30:01.500000Z' });
  });
});


// --- the recorder ------------------------------------------------------------------------------

class ManualClock implements WallClock {
  t = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #seq = 0;
  now(): number {
    return this.t;
  }
  wallNow(): number {
    return T0 + this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.#timers.delete(h as number);
  }
  pending(): number {
    return this.#timers.size;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

/** An in-memory Events collection that answers like the apiserver (POST 409 on a taken name, PATCH 404). */
class FakeEventsApi {
  readonly events = new Map<string, KubeEvent>();
  readonly calls: { method: string; path: string; body?: unknown }[] = [];
  failNext: KubeApiError[] = [];
  gate: Promise<void> | undefined;

  request = async <T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> => {
    this.calls.push({ method, path, body: opts.body });
    if (this.gate) await this.gate;
    const fail = this.failNext.shift();
    if (fail) throw fail;
    if (method === 'POST') {
      const ev = structuredClone(opts.body) as KubeEvent;
      const ns = /\/namespaces\/([^/]+)\/events$/.exec(path)![1]!;
      const key = `${ns}/${ev.metadata.name}`;
      if (this.events.has(key)) throw new KubeApiError('Conflict', 409, 'already exists', 'AlreadyExists');
      this.events.set(key, ev);
      return ev as T;
    }
    if (method === 'PATCH') {
      const [, ns, name] = /\/namespaces\/([^/]+)\/events\/([^/]+)$/.exec(path)!;
      const ev = this.events.get(`${ns}/${name}`);
      if (!ev) throw new KubeApiError('NotFound', 404, 'not found', 'NotFound');
      expect(opts.contentType).toBe('application/merge-patch+json');
      Object.assign(ev, opts.body);
      return ev as T;
    }
    throw new Error(`unexpected ${method} ${path}`);
  };

  list(): KubeEvent[] {
    return [...this.events.values()];
  }
}

function setup(opts: { maxQueued?: number } = {}) {
  const clock = new ManualClock();
  const api = new FakeEventsApi();
  let r = 0;
  const rec = new EventRecorder({ client: api, identity: 'ctrl-0_abcd1234', log, clock, random: () => ((r = (r + 0.37) % 1)), ...opts });
  return { clock, api, rec };
}

describe('EventRecorder', () => {
  it('creates one Event per distinct occurrence, in the right namespace', async () => {
    const { api, rec } = setup();
    rec.record(network, 'Normal', 'Created', 'Create', 'network created in Neutron');
    rec.record(vnic, 'Warning', 'WaitingForDependencies', 'Reconcile', 'network tenant-a is not Ready');
    await rec.flush();
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /apis/events.k8s.io/v1/namespaces/default/events',
      'POST /apis/events.k8s.io/v1/namespaces/team-a/events',
    ]);
    const [a, b] = api.list();
    expect(a).toMatchObject({ reason: 'Created', type: 'Normal', action: 'Create', reportingController: 'netform.io/controller', reportingInstance: 'ctrl-0_abcd1234', regarding: { kind: 'Network', name: 'tenant-a' } });
    expect(a!.series).toBeUndefined();
    expect(b).toMatchObject({ metadata: { namespace: 'team-a' }, regarding: { namespace: 'team-a', kind: 'VnicAttachment' } });
    expect(rec.stats()).toMatchObject({ created: 2, updated: 0, failed: 0 });
  });

  it('aggregates identical occurrences into one Event whose series counts every one', async () => {
    const { api, rec, clock } = setup();
    for (let i = 0; i < 7; i++) {
      rec.record(network, 'Warning', 'BackendRejected', 'Create', 'VLAN 301 is in use');
      clock.advance(1000);
    }
    await rec.flush();
    expect(api.list()).toHaveLength(1);
    expect(api.list()[0]!.series).toEqual({ count: 7, lastObservedTime: '2026-11-21T14:30:06.000000Z' });
    expect(api.list()[0]!.eventTime).toBe('2026-11-21T14:30:00.000000Z');
    // records that arrive while a write is in flight share the next write
    expect(api.calls.length).toBeLessThan(7);
    for (let i = 0; i < 3; i++) rec.record(network, 'Warning', 'BackendRejected', 'Create', 'VLAN 301 is in use');
    await rec.flush();
    expect(api.list()[0]!.series!.count).toBe(10);
  });

  it('starts a new Event when the same thing recurs after the 10-minute window', async () => {
    const { api, rec, clock } = setup();
    rec.record(network, 'Warning', 'BackendRejected', 'Create', 'same');
    clock.advance(9 * 60_000);
    rec.record(network, 'Warning', 'BackendRejected', 'Create', 'same');
    await rec.flush();
    expect(api.list()).toHaveLength(1);
    clock.advance(10 * 60_000);
    rec.record(network, 'Warning', 'BackendRejected', 'Create', 'same');
    await rec.flush();
    expect(api.list().map((e) => e.series?.count ?? 1)).toEqual([2, 1]);
  });

  it('limits each object to a burst of 25 writes, then one per 5 minutes, without touching other objects', async () => {
    const { api, rec, clock } = setup();
    for (let i = 0; i < 30; i++) rec.record(network, 'Warning', 'Flapping', 'Reconcile', `attempt ${i}`);
    rec.record(vnic, 'Normal', 'Attached', 'Create', 'tap plugged');
    await rec.flush();
    expect(api.list().filter((e) => e.regarding.kind === 'Network')).toHaveLength(25);
    expect(api.list().filter((e) => e.regarding.kind === 'VnicAttachment')).toHaveLength(1);
    expect(rec.stats()).toMatchObject({ created: 26, rateLimited: 5 });
    clock.advance(5 * 60_000);
    rec.record(network, 'Warning', 'Flapping', 'Reconcile', 'attempt 30');
    rec.record(network, 'Warning', 'Flapping', 'Reconcile', 'attempt 31');
    await rec.flush();
    expect(api.list().filter((e) => e.regarding.kind === 'Network')).toHaveLength(26);
    expect(rec.stats().rateLimited).toBe(6);
  });

  it('holds a series bump without a token until the next token, keeping the count exact', async () => {
    const { api, rec, clock } = setup();
    for (let i = 0; i < 25; i++) rec.record(network, 'Warning', 'Flapping', 'Reconcile', `attempt ${i}`);
    await rec.flush();
    for (let i = 0; i < 4; i++) rec.record(network, 'Warning', 'Flapping', 'Reconcile', 'attempt 0');
    await rec.flush();
    const first = api.list().find((e) => e.note === 'attempt 0')!;
    expect(first.series).toBeUndefined();
    expect(rec.stats().deferred).toBe(1);
    expect(clock.pending()).toBe(1);
    clock.advance(5 * 60_000 - 1);
    await rec.flush();
    expect(first.series).toBeUndefined();
    clock.advance(1);
    await rec.flush();
    expect(first.series).toEqual({ count: 5, lastObservedTime: '2026-11-21T14:30:00.000000Z' });
    expect(rec.stats()).toMatchObject({ deferred: 0, updated: 1 });
  });

  it('cuts notes to 1 KiB of UTF-8 and reason/action to 128 bytes', async () => {
    const { api, rec } = setup();
    rec.record(network, 'Warning', 'R'.repeat(300), 'A'.repeat(300), 'ü'.repeat(2000));
    await rec.flush();
    const ev = api.list()[0]!;
    expect(Buffer.byteLength(ev.note)).toBeLessThanOrEqual(1024);
    expect(ev.note.startsWith('üü')).toBe(true);
    expect(ev.note.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(ev.reason)).toBeLessThanOrEqual(128);
    expect(Buffer.byteLength(ev.action)).toBeLessThanOrEqual(128);
  });

  it('never throws: a failed create is logged, counted and retried by the next occurrence', async () => {
    const { api, rec } = setup();
    api.failNext.push(new KubeApiError('Transient', 0, 'connect ECONNREFUSED'));
    expect(() => rec.record(network, 'Warning', 'X', 'Y', 'z')).not.toThrow();
    await rec.flush();
    expect(api.list()).toHaveLength(0);
    expect(rec.stats().failed).toBe(1);
    rec.record(network, 'Warning', 'X', 'Y', 'z');
    await rec.flush();
    expect(api.list()).toHaveLength(1);
    expect(() => rec.record(null as unknown as EventSubject, 'Normal', 'R', 'A', 'n')).not.toThrow();
    expect(() => rec.record(network, 'Bogus' as 'Normal', 'R', 'A', 'n')).not.toThrow();
    await rec.flush();
    expect(api.list()).toHaveLength(1);
  });

  it('draws another name when the name is taken', async () => {
    const { api, rec } = setup();
    api.failNext.push(new KubeApiError('Conflict', 409, 'exists', 'AlreadyExists'));
    rec.record(network, 'Normal', 'R', 'A', 'n');
    await rec.flush();
    const posts = api.calls.filter((c) => c.method === 'POST').map((c) => (c.body as KubeEvent).metadata.name);
    expect(posts).toHaveLength(2);
    expect(posts[0]).not.toBe(posts[1]);
    expect(api.list()).toHaveLength(1);
  });

  it('re-creates an Event that expired on the apiserver, with the whole count', async () => {
    const { api, rec } = setup();
    rec.record(network, 'Warning', 'R', 'A', 'n');
    await rec.flush();
    api.events.clear(); // the apiserver's event TTL ran out
    rec.record(network, 'Warning', 'R', 'A', 'n');
    rec.record(network, 'Warning', 'R', 'A', 'n');
    await rec.flush();
    expect(api.list()).toHaveLength(1);
    expect(api.list()[0]!.series!.count).toBe(3);
  });

  it('drops records beyond the queue bound without blocking', async () => {
    const { api, rec } = setup({ maxQueued: 2 });
    let open!: () => void;
    api.gate = new Promise((r) => (open = r));
    for (let i = 0; i < 6; i++) rec.record(network, 'Normal', 'R', 'A', `n${i}`);
    // n0 is in flight, n1 and n2 wait, n3..n5 have no room
    expect(rec.stats().queueFull).toBe(3);
    api.gate = undefined;
    open();
    await rec.flush();
    expect(api.list().map((e) => e.note).sort()).toEqual(['n0', 'n1', 'n2']);
  });

  it('close() drops bumps waiting for a token and ignores later records', async () => {
    const { api, rec, clock } = setup();
    for (let i = 0; i < 25; i++) rec.record(network, 'Normal', 'R', 'A', `n${i}`);
    await rec.flush();
    rec.record(network, 'Normal', 'R', 'A', 'n0');
    await rec.flush();
    expect(clock.pending()).toBe(1);
    await rec.close();
    expect(clock.pending()).toBe(0);
    rec.record(vnic, 'Normal', 'R', 'A', 'n');
    await rec.flush();
    expect(api.list()).toHaveLength(25);
  });
});

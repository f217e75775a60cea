// The generic managed-resource reconciler against a scripted in-memory ResourceDriver: the order of
// driver calls, persisting at once after a create, conflict retries, dry-run, error classification.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { conflict, notFound, terminal, transient } from '../../api/errors.ts';
import type { FieldChange, Observed, ObserveRequest, ResourceDriver } from '../../drivers/driver.ts';
import { reconcileBinding, type BindingRequest, type BindingStatus } from './managed.ts';

interface Model {
  vlan: number;
  mtu: number;
}

/** A backend holding at most one object, with a log of every driver call. */
class Scripted implements ResourceDriver<Model, Model> {
  obj: (Model & { id: string; rev: number; owned: boolean }) | undefined;
  calls: string[] = [];
  failures: Partial<Record<'observe' | 'create' | 'update' | 'delete', Error[]>> = {};
  /** Changes the object behind the reconciler's back just before an update (a racing writer). */
  raceOnUpdate = 0;

  #fail(op: keyof Scripted['failures']): void {
    const e = this.failures[op]?.shift();
    if (e) throw e;
  }
  #observed(): Observed<Model> | undefined {
    return this.obj && { externalId: this.obj.id, state: { vlan: this.obj.vlan, mtu: this.obj.mtu }, version: String(this.obj.rev), owned: this.obj.owned };
  }
  /** What each observe was asked for: fresh or not. */
  fresh: boolean[] = [];
  async observe(_c: unknown, req: ObserveRequest<Model>): Promise<Observed<Model> | undefined> {
    this.calls.push('observe');
    this.fresh.push(req.fresh === true);
    this.#fail('observe');
    return this.#observed();
  }
  diff(d: Model, o: Model): FieldChange[] {
    const out: FieldChange[] = [];
    if (d.vlan !== o.vlan) out.push({ path: 'vlan', from: o.vlan, to: d.vlan, immutable: true });
    if (d.mtu !== o.mtu) out.push({ path: 'mtu', from: o.mtu, to: d.mtu });
    return out;
  }
  async create(_c: unknown, _o: unknown, d: Model): Promise<Observed<Model>> {
    this.calls.push('create');
    this.#fail('create');
    this.obj = { ...d, id: `id-${this.calls.length}`, rev: 1, owned: true };
    return this.#observed()!;
  }
  async update(_c: unknown, _o: unknown, observed: Observed<Model>, d: Model): Promise<Observed<Model>> {
    this.calls.push('update');
    this.#fail('update');
    if (this.raceOnUpdate > 0) {
      this.raceOnUpdate--;
      this.obj!.rev++;
    }
    if (String(this.obj!.rev) !== observed.version) throw conflict('revision changed');
    this.obj = { ...this.obj!, ...d, rev: this.obj!.rev + 1 };
    return this.#observed()!;
  }
  async delete(): Promise<void> {
    this.calls.push('delete');
    this.#fail('delete');
    if (!this.obj) throw notFound('gone');
    this.obj = undefined;
  }
}

function request(driver: Scripted, over: Partial<BindingRequest<Model>> = {}): BindingRequest<Model> & { persisted: BindingStatus[] } {
  const persisted: BindingStatus[] = [];
  return {
    object: 'Network/n',
    owner: { instance: 't', kind: 'Network', name: 'n' },
    provider: { name: 'p', type: 'neutron' },
    resource: 'network',
    driver,
    desired: { vlan: 10, mtu: 1500 },
    deleting: false,
    policy: { managementPolicy: 'Managed', deletionPolicy: 'Delete', allowReplace: false },
    dryRun: false,
    ctx: { signal: new AbortController().signal, log: pino({ level: 'silent' }) },
    persist: async (b) => {
      driver.calls.push('persist');
      persisted.push(b);
    },
    now: () => new Date('2026-11-21T00:00:00Z'),
    ...over,
    persisted,
  };
}

describe('reconcileBinding', () => {
  it('creates, and persists the new id before anything else happens', async () => {
    const d = new Scripted();
    const req = request(d);
    const o = await reconcileBinding(req);
    expect(d.calls).toEqual(['observe', 'create', 'persist']);
    expect(o).toMatchObject({ done: true, plan: { action: 'create', externalId: 'id-2' }, status: { externalId: 'id-2', synced: true } });
    expect(req.persisted).toEqual([o.status]);
  });

  it('does nothing when the backend matches', async () => {
    const d = new Scripted();
    d.obj = { id: 'x', vlan: 10, mtu: 1500, rev: 3, owned: true };
    const o = await reconcileBinding(request(d));
    expect(d.calls).toEqual(['observe']);
    expect(o).toMatchObject({ done: true, plan: { action: 'noop' }, status: { externalId: 'x', synced: true, lastSyncTime: '2026-11-21T00:00:00.000Z' } });
  });

  it('a lost compare-and-swap is re-observed and re-planned', async () => {
    const d = new Scripted();
    d.obj = { id: 'x', vlan: 10, mtu: 1400, rev: 3, owned: true };
    d.raceOnUpdate = 2;
    const o = await reconcileBinding(request(d));
    expect(d.calls).toEqual(['observe', 'update', 'observe', 'update', 'observe', 'update']);
    // A re-check may read a shared listing; after a lost race the object itself is read.
    expect(d.fresh).toEqual([false, true, true]);
    expect(o.done).toBe(true);
    expect(d.obj).toMatchObject({ mtu: 1500 });
  });

  it('asks the driver for the object itself when the spec changed (fresh)', async () => {
    const d = new Scripted();
    d.obj = { id: 'x', vlan: 10, mtu: 1400, rev: 3, owned: true };
    await reconcileBinding(request(d, { fresh: true }));
    expect(d.fresh[0]).toBe(true);
  });

  it('gives up on conflicts after three retries, as a retryable error', async () => {
    const d = new Scripted();
    d.obj = { id: 'x', vlan: 10, mtu: 1400, rev: 3, owned: true };
    d.raceOnUpdate = 10;
    const o = await reconcileBinding(request(d));
    expect(d.calls.filter((c) => c === 'update')).toHaveLength(4);
    expect(o).toMatchObject({ done: false, error: { errorClass: 'Conflict' } });
  });

  it('an immutable change is blocked unless replacing is allowed; a replace deletes, creates and persists', async () => {
    const d = new Scripted();
    d.obj = { id: 'x', vlan: 9, mtu: 1500, rev: 1, owned: true };
    const blocked = await reconcileBinding(request(d));
    expect(blocked).toMatchObject({ done: false, reason: 'ReplaceRequired', plan: { action: 'blocked' } });
    expect(blocked.status?.message).toBe('vlan cannot change in place on p; set spec.allowReplace to replace the network, or revert');
    d.calls = [];
    const replaced = await reconcileBinding(request(d, { policy: { managementPolicy: 'Managed', deletionPolicy: 'Delete', allowReplace: true } }));
    expect(d.calls).toEqual(['observe', 'delete', 'create', 'persist']);
    expect(replaced).toMatchObject({ done: true, plan: { action: 'replace' } });
  });

  it('dry-run observes and plans but never writes', async () => {
    for (const obj of [undefined, { id: 'x', vlan: 10, mtu: 1400, rev: 1, owned: true }]) {
      const d = new Scripted();
      d.obj = obj;
      const o = await reconcileBinding(request(d, { dryRun: true }));
      expect(d.calls).toEqual(['observe']);
      expect(o.plan.action).toBe(obj ? 'update' : 'create');
    }
  });

  it('deleting: a missing object is done; a delete racing another deleter is done', async () => {
    const d = new Scripted();
    const gone = await reconcileBinding(request(d, { deleting: true }));
    expect(gone.done).toBe(true);
    expect(gone.status).toBeUndefined();
    d.obj = { id: 'x', vlan: 10, mtu: 1500, rev: 1, owned: true };
    d.failures.delete = [notFound('already gone')];
    const raced = await reconcileBinding(request(d, { deleting: true }));
    expect(raced).toMatchObject({ done: true, plan: { action: 'delete' } });
    expect(raced.status).toBeUndefined();
  });

  it.each([
    ['transient', transient('connection reset'), 'Transient'],
    ['terminal', terminal('VLAN 10 in use', 'VlanIdInUse'), 'Terminal'],
    ['unclassified', new Error('boom'), 'Transient'],
  ] as const)('a %s failure comes back classified, with the status kept and marked unsynced', async (_n, err, cls) => {
    const d = new Scripted();
    d.failures.create = [err];
    const o = await reconcileBinding(request(d, { current: { name: 'p', type: 'neutron', externalId: 'old' } }));
    expect(o.done).toBe(false);
    expect(o.error).toMatchObject({ errorClass: cls, message: `create network on p: ${err.message}` });
    expect(o.status).toMatchObject({ externalId: 'old', synced: false });
  });
});

// The driver contract suite: every real driver runs it against its real backend (a test driver
// runs it too, which proves the suite, not any backend). See src/drivers/driver.ts for the rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../src/api/errors.ts';
import type { DriverContext, Observed, Owner, ProviderDriver } from '../../src/drivers/driver.ts';
import type { NetworkModel } from '../../src/drivers/model.ts';
import { pino } from 'pino';

export interface ContractHarness {
  driver: ProviderDriver;
  /** Name prefix unique to this run, so a shared backend's other objects are never touched. */
  prefix: string;
  physicalNetwork: string;
  /** VLAN ids the suite may use on that physical network (at least 3). */
  vlans: number[];
  /** The backend's state as read through its own API (never through the driver), to prove reads never write. */
  snapshot(): Promise<unknown>;
  /** Whether the backend has versions for compare-and-swap updates (Neutron's revision_number; UCSM has none). */
  compareAndSwap: boolean;
  /**
   * What the backend does with a second network, under another name, on a VLAN id already in use on
   * the same physical network: `refused` (Neutron: VlanIdInUse, a Terminal error) or `allowed` (UCSM
   * names its VLANs; two names may carry the same id, and each network stays its own object).
   * Default `refused`.
   */
  duplicateVlanIds?: 'refused' | 'allowed';
  /**
   * How the backend changes a network's VLAN id: `replace` (Neutron's segments are immutable, so
   * diff marks the change immutable and the engine replaces) or `inPlace` (UCSM's fabricVlan id is
   * writable: diff reports a mutable change that update applies). Default `replace`.
   */
  vlanChange?: 'replace' | 'inPlace';
  /**
   * A network the backend refuses, derived from a valid one. Required when `duplicateVlanIds` is
   * `allowed`, since the VLAN clash is then no refusal; unused otherwise.
   */
  refused?(m: NetworkModel): NetworkModel;
  /** A field change the backend can make in place, applied to a model. */
  mutate(m: NetworkModel): NetworkModel;
  cleanup?(): Promise<void>;
}

const ctx = (): DriverContext => ({ signal: new AbortController().signal, log: pino({ level: 'silent' }) });

export function driverContract(name: string, setup: () => Promise<ContractHarness>): void {
  describe(`driver contract: ${name}`, () => {
    let h: ContractHarness;
    let seq = 0;
    beforeAll(async () => {
      h = await setup();
    });
    afterAll(async () => {
      // The driver first: it may still talk to the backend (a UCSM logout) that cleanup stops.
      await h?.driver.close();
      await h?.cleanup?.();
    });
    const owner = (): Owner => ({ instance: 'contract', kind: 'Network', name: `${h.prefix}-${++seq}` });
    const model = (o: Owner, vlan: number): NetworkModel => ({
      name: o.name,
      description: 'driver contract suite',
      physicalNetwork: h.physicalNetwork,
      vlan,
      mtu: 1500,
      shared: false,
      adminStateUp: true,
      portSecurity: true,
      portMirroring: false,
      subnets: [],
    });
    const nets = () => {
      const r = h.driver.networks;
      if (!r) throw new Error('the driver carries no networks');
      return r;
    };

    it('probe answers', async () => {
      await expect(h.driver.probe(ctx())).resolves.toBeTypeOf('object');
    });

    it('observe finds nothing for an owner that never created anything, and writes nothing', async () => {
      const o = owner();
      const before = await h.snapshot();
      await expect(nets().observe(ctx(), { owner: o, desired: model(o, h.vlans[0]!) })).resolves.toBeUndefined();
      expect(await h.snapshot()).toEqual(before);
    });

    it('create marks the object as owned; observe finds it by id and, without an id, by the owner marker; diff is empty', async () => {
      const o = owner();
      const m = model(o, h.vlans[0]!);
      const created = await nets().create(ctx(), o, m);
      try {
        expect(created.externalId).toBeTruthy();
        expect(created.owned).toBe(true);
        expect(nets().diff(m, created.state)).toEqual([]);
        const before = await h.snapshot();
        const byId = await nets().observe(ctx(), { owner: o, desired: m, externalId: created.externalId });
        const byOwner = await nets().observe(ctx(), { owner: o, desired: m });
        expect(await h.snapshot()).toEqual(before);
        expect(byId?.externalId).toBe(created.externalId);
        expect(byOwner?.externalId).toBe(created.externalId);
        expect(byOwner?.owned).toBe(true);
        expect(nets().diff(m, byOwner!.state)).toEqual([]);
        // Another owner does not see it.
        const stranger = owner();
        await expect(nets().observe(ctx(), { owner: stranger, desired: model(stranger, h.vlans[1]!) })).resolves.toBeUndefined();
      } finally {
        await nets().delete(ctx(), created);
      }
    });

    it('create is idempotent: a second create for the same owner adopts the first object', async () => {
      const o = owner();
      const m = model(o, h.vlans[0]!);
      const a = await nets().create(ctx(), o, m);
      try {
        const b = await nets().create(ctx(), o, m);
        expect(b.externalId).toBe(a.externalId);
      } finally {
        await nets().delete(ctx(), a);
      }
    });

    it('diff reports a mutable change, update applies it, and then diff is empty', async () => {
      const o = owner();
      const m = model(o, h.vlans[0]!);
      const created = await nets().create(ctx(), o, m);
      try {
        const m2 = h.mutate(m);
        const changes = nets().diff(m2, created.state);
        expect(changes.length).toBeGreaterThan(0);
        expect(changes.every((c) => !c.immutable)).toBe(true);
        await nets().update(ctx(), o, created, m2, changes);
        const after = await nets().observe(ctx(), { owner: o, desired: m2, externalId: created.externalId });
        expect(nets().diff(m2, after!.state)).toEqual([]);
      } finally {
        await nets().delete(ctx(), created);
      }
    });

    it('diff marks a VLAN change as immutable (a replace, never a silent update), or, where the backend renumbers in place, update applies it', async () => {
      const o = owner();
      const m = model(o, h.vlans[0]!);
      const created = await nets().create(ctx(), o, m);
      try {
        const renumbered = { ...m, vlan: h.vlans[2]! };
        const changes = nets().diff(renumbered, created.state);
        if ((h.vlanChange ?? 'replace') === 'replace') {
          const vlan = changes.find((c) => c.immutable);
          expect(vlan).toBeDefined();
        } else {
          // Reported (never silently dropped), mutable, applied by update, and then nothing differs.
          expect(changes.length).toBeGreaterThan(0);
          expect(changes.every((c) => !c.immutable)).toBe(true);
          const after = await nets().update(ctx(), o, created, renumbered, changes);
          expect(after.externalId).toBe(created.externalId);
          expect(nets().diff(renumbered, after.state)).toEqual([]);
          const again = await nets().observe(ctx(), { owner: o, desired: renumbered, externalId: created.externalId });
          expect(nets().diff(renumbered, again!.state)).toEqual([]);
          expect(nets().diff(m, again!.state).length).toBeGreaterThan(0);
        }
      } finally {
        await nets().delete(ctx(), created);
      }
    });

    it('an observation carries a version exactly when the backend has compare-and-swap', async () => {
      const o = owner();
      const m = model(o, h.vlans[0]!);
      const created = await nets().create(ctx(), o, m);
      try {
        const seen = await nets().observe(ctx(), { owner: o, desired: m, externalId: created.externalId });
        expect(created.version !== undefined).toBe(h.compareAndSwap);
        expect(seen!.version !== undefined).toBe(h.compareAndSwap);
      } finally {
        await nets().delete(ctx(), created);
      }
    });

    it('an update based on a stale observation fails with a Conflict', async (t) => {
      if (!h.compareAndSwap) t.skip();
      const o = owner();
      const m = model(o, h.vlans[0]!);
      const created = await nets().create(ctx(), o, m);
      try {
        const m2 = h.mutate(m);
        await nets().update(ctx(), o, created, m2, nets().diff(m2, created.state));
        // A change computed from the first observation, after someone (here: us) moved the object on.
        const stale = { ...m, description: 'from a stale observation' };
        expect(nets().diff(stale, created.state).length).toBeGreaterThan(0);
        const err = await nets()
          .update(ctx(), o, created, stale, nets().diff(stale, created.state))
          .then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(BackendError);
        expect((err as BackendError).errorClass).toBe('Conflict');
      } finally {
        await nets().delete(ctx(), created);
      }
    });

    it('delete removes the object; deleting it again succeeds; a stale id falls back to the owner marker', async () => {
      const o = owner();
      const m = model(o, h.vlans[0]!);
      const created = await nets().create(ctx(), o, m);
      await nets().delete(ctx(), created);
      await expect(nets().delete(ctx(), created)).resolves.toBeUndefined();
      await expect(nets().observe(ctx(), { owner: o, desired: m, externalId: created.externalId })).resolves.toBeUndefined();
    });

    it('a backend refusal is a classified BackendError', async () => {
      if ((h.duplicateVlanIds ?? 'refused') === 'refused') {
        // Two owners asking for the same VLAN on the same physical network: the second is refused.
        const a = owner();
        const b = owner();
        const first = await nets().create(ctx(), a, model(a, h.vlans[1]!));
        try {
          const err = await nets()
            .create(ctx(), b, model(b, h.vlans[1]!))
            .then((x) => x, (e: unknown) => e);
          if (!(err instanceof BackendError)) await nets().delete(ctx(), err as never);
          expect(err).toBeInstanceOf(BackendError);
          expect((err as BackendError).errorClass).toBe('Terminal');
        } finally {
          await nets().delete(ctx(), first);
        }
        return;
      }
      // The VLAN clash is no refusal here: the harness names one, and nothing of it is left behind.
      if (!h.refused) throw new Error('a harness with duplicateVlanIds "allowed" must give refused()');
      const o = owner();
      const m = h.refused(model(o, h.vlans[1]!));
      const before = await h.snapshot();
      const err = await nets()
        .create(ctx(), o, m)
        .then((x) => x, (e: unknown) => e);
      if (!(err instanceof BackendError)) await nets().delete(ctx(), err as never);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as BackendError).errorClass).toBe('Terminal');
      expect(await h.snapshot()).toEqual(before);
    });

    it('a second owner on a VLAN id already in use: refused, or, where the backend allows it, two independent networks', async () => {
      const a = owner();
      const b = owner();
      const first = await nets().create(ctx(), a, model(a, h.vlans[1]!));
      let second: Observed<unknown> | undefined;
      try {
        const got = await nets()
          .create(ctx(), b, model(b, h.vlans[1]!))
          .then((x) => x, (e: unknown) => e);
        if ((h.duplicateVlanIds ?? 'refused') === 'refused') {
          if (!(got instanceof BackendError)) second = got as Observed<unknown>;
          expect(got).toBeInstanceOf(BackendError);
          expect((got as BackendError).errorClass).toBe('Terminal');
          return;
        }
        if (got instanceof Error) throw got;
        second = got as Observed<unknown>;
        expect(second.externalId).toBeTruthy();
        expect(second.externalId).not.toBe(first.externalId);
        expect(second.owned).toBe(true);
        const mb = model(b, h.vlans[1]!);
        expect(nets().diff(mb, second.state)).toEqual([]);
        // Each owner finds its own, by owner marker.
        expect((await nets().observe(ctx(), { owner: a, desired: model(a, h.vlans[1]!) }))?.externalId).toBe(first.externalId);
        expect((await nets().observe(ctx(), { owner: b, desired: mb }))?.externalId).toBe(second.externalId);
        // Deleting one leaves the other whole.
        await nets().delete(ctx(), first);
        await expect(nets().observe(ctx(), { owner: a, desired: model(a, h.vlans[1]!), externalId: first.externalId })).resolves.toBeUndefined();
        const left = await nets().observe(ctx(), { owner: b, desired: mb, externalId: second.externalId });
        expect(left?.externalId).toBe(second.externalId);
        expect(nets().diff(mb, left!.state)).toEqual([]);
      } finally {
        if (second) await nets().delete(ctx(), second);
        await nets().delete(ctx(), first);
      }
    });
  });
}

// MAC and VLAN pool allocators: an object that already holds its allocation is answered from an index
// of the pool's recorded allocations, without copying the pool's record or walking its allocations —
// re-checking every object of a pool costs in proportion to the objects, not their square — and
// the answers and what is persisted stay the same.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Network, VnicAttachment } from '../../api/kinds.ts';
import { admit } from '../../state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../../state/records.ts';
import { DesiredStore } from '../../state/store.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { poolsOf } from '../vlanpool/allocations.ts';
import { macsOf } from './allocations.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Records whose pool records hand out their allocations through a proxy counting the entries read. */
class CountingRecords extends MemoryRecords {
  reads = 0;
  puts = 0;
  readonly #proxied = new WeakMap<ObjectRecord, ObjectRecord>();
  override get(key: string): ObjectRecord | undefined {
    const rec = super.get(key);
    if (!rec || !Array.isArray(rec.status.allocations)) return rec;
    let p = this.#proxied.get(rec);
    if (!p) {
      const list = new Proxy(rec.status.allocations as unknown[], {
        get: (t, prop, r) => {
          if (typeof prop === 'string' && /^\d+$/.test(prop)) this.reads++;
          return Reflect.get(t, prop, r) as unknown;
        },
      });
      p = { ...rec, status: { ...rec.status, allocations: list } };
      this.#proxied.set(rec, p);
    }
    return p;
  }
  override async put(r: ObjectRecord): Promise<void> {
    this.puts++;
    await super.put(r);
  }
}

function runtime(docs: string[], records: MemoryRecords): Runtime & { enqueued: string[] } {
  const r = admit([{ path: 'all.yaml', text: docs.join('\n---\n') }]);
  expect(r.errors).toEqual([]);
  const store = new DesiredStore();
  store.replace(r);
  const enqueued: string[] = [];
  return {
    instance: 'netform',
    store,
    records,
    sessions: undefined as never,
    log: pino({ level: 'silent' }),
    now: () => new Date('2026-01-01T00:00:00Z'),
    random: () => 0.5,
    resyncMs: 600_000,
    waitMs: 600_000,
    dryRun: false,
    plan: [],
    enqueue: (k) => enqueued.push(k),
    reports: new Map(),
    enqueued,
  };
}

const macDocs = (n: number) => [
  'apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: lab}\nspec: {type: neutron, endpoint: "http://127.0.0.1:9", neutron: {auth: noauth}}',
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: web}\nspec: {physicalNetwork: physnet1, vlan: {id: 12}, shared: true, providerRefs: [{name: lab}]}',
  'apiVersion: netform.io/v1alpha1\nkind: MacPool\nmetadata: {name: pool}\nspec: {ranges: [{start: "56:6f:00:00:00:00", end: "56:6f:00:00:ff:ff"}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {macPoolRef: {name: pool}, networks: [{name: web}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec: {cluster: c, nics: [{name: eth0}], networks: [{name: web, interface: eth0}]}',
  ...Array.from(
    { length: n },
    (_, i) =>
      `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm${String(i).padStart(4, '0')}-nic0, namespace: t}\nspec: {vm: {name: vm${i}}, interfaceName: nic0, network: web, host: h${i === 1 ? ', mac: "56:6f:00:00:00:00"' : ''}}`,
  ),
];

const vlanDocs = (n: number) => [
  'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: vp}\nspec: {ranges: [{physicalNetwork: physnet1, min: 100, max: 3000}]}',
  ...Array.from(
    { length: n },
    (_, i) => `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: n${String(i).padStart(4, '0')}}\nspec: {physicalNetwork: physnet1, vlan: {poolRef: {name: vp}}}`,
  ),
];

describe('MacPool allocations: re-checking attachments that hold their MAC', () => {
  it('answers as before, persisting only the first allocation, and reads each recorded allocation once however many re-checks', async () => {
    const counts: { reads: number; clones: number }[] = [];
    for (const n of [100, 400]) {
      const records = new CountingRecords();
      const rt = runtime(macDocs(n), records);
      const vnics = rt.store.list('VnicAttachment') as VnicAttachment[];
      const macs = macsOf(rt);
      // The first serves every attachment at once and persists the pool's record before answering.
      const first = await macs.macFor(vnics[0]!);
      expect(first).toEqual({ mac: '56:6f:00:00:00:01', allocated: true });
      expect(records.puts).toBe(1);
      const stored = records.get('MacPool/pool')!.status.allocations as { attachment: string; mac: string; explicit?: boolean }[];
      expect(stored).toHaveLength(n);
      expect(stored[0]).toEqual({ attachment: 't/vm0001-nic0', mac: '56:6f:00:00:00:00', explicit: true });
      expect(rt.enqueued).toContain('VnicAttachment/t/vm0002-nic0');
      expect(rt.enqueued).not.toContain('VnicAttachment/t/vm0000-nic0');
      // Re-checks: the recorded MAC, nothing written, nothing copied.
      const clone = vi.spyOn(globalThis, 'structuredClone');
      records.reads = 0;
      for (let round = 0; round < 3; round++) {
        for (const [i, v] of vnics.entries()) {
          const got = await macs.macFor(v);
          expect(got).toEqual({ mac: i === 1 ? '56:6f:00:00:00:00' : i === 0 ? '56:6f:00:00:00:01' : `56:6f:00:00:${(i).toString(16).padStart(4, '0').replace(/(..)(..)/, '$1:$2')}`, allocated: false });
        }
      }
      expect(records.puts).toBe(1);
      counts.push({ reads: records.reads, clones: clone.mock.calls.length });
      clone.mockRestore();
    }
    // Each recorded allocation is read once (to index the list), not once per attachment re-checked.
    expect(counts).toEqual([
      { reads: 100, clones: 0 },
      { reads: 400, clones: 0 },
    ]);
  });

  it('a released MAC is no longer answered from the index', async () => {
    const records = new MemoryRecords();
    const rt = runtime(macDocs(3), records);
    const vnics = rt.store.list('VnicAttachment') as VnicAttachment[];
    const macs = macsOf(rt);
    expect(await macs.macFor(vnics[2]!)).toEqual({ mac: '56:6f:00:00:00:02', allocated: true });
    expect(await macs.macFor(vnics[2]!)).toEqual({ mac: '56:6f:00:00:00:02', allocated: false });
    await macs.release('pool', 't/vm0002-nic0');
    expect((records.get('MacPool/pool')!.status.allocations as unknown[]).length).toBe(2);
    // Allocated again (the same lowest free MAC), and persisted again.
    expect(await macs.macFor(vnics[2]!)).toEqual({ mac: '56:6f:00:00:00:02', allocated: true });
    expect((records.get('MacPool/pool')!.status.allocations as unknown[]).length).toBe(3);
  });
});

describe('VlanPool allocations: re-checking networks that hold their VLAN', () => {
  it('answers as before and reads each recorded allocation once however many re-checks', async () => {
    const counts: { reads: number; clones: number }[] = [];
    for (const n of [100, 400]) {
      const records = new CountingRecords();
      const rt = runtime(vlanDocs(n), records);
      const nets = rt.store.list('Network') as Network[];
      const pools = poolsOf(rt);
      expect(await pools.vlanFor(nets[5]!)).toEqual({ vlan: 105, allocated: true });
      expect(records.puts).toBe(1);
      const clone = vi.spyOn(globalThis, 'structuredClone');
      records.reads = 0;
      for (let round = 0; round < 3; round++) {
        for (const [i, net] of nets.entries()) expect(await pools.vlanFor(net)).toEqual({ vlan: 100 + i, allocated: false });
      }
      expect(records.puts).toBe(1);
      counts.push({ reads: records.reads, clones: clone.mock.calls.length });
      clone.mockRestore();
    }
    expect(counts).toEqual([
      { reads: 100, clones: 0 },
      { reads: 400, clones: 0 },
    ]);
  });
});

describe('plan (dry run): pools computed once per plan', () => {
  it('MacPool: every attachment gets what a run would give it, from one computation of the pool, nothing persisted', async () => {
    const n = 50;
    const expected = new Map<string, unknown>();
    {
      const rt = runtime(macDocs(n), new MemoryRecords());
      for (const v of rt.store.list('VnicAttachment') as VnicAttachment[]) {
        const got = await macsOf(rt).macFor(v);
        expected.set(v.metadata.name, (got as { mac: string }).mac);
      }
    }
    const records = new CountingRecords();
    const rt = { ...runtime(macDocs(n), records), dryRun: true };
    const list = vi.spyOn(rt.store, 'list');
    for (const v of rt.store.list('VnicAttachment') as VnicAttachment[]) {
      expect(await macsOf(rt).macFor(v)).toEqual({ mac: expected.get(v.metadata.name), allocated: true });
    }
    expect(records.puts).toBe(0);
    // One listing for the loop above, one for the pool's single computation.
    expect(list.mock.calls.filter((c) => c[0] === 'VnicAttachment')).toHaveLength(2);
  });

  it('VlanPool: every network gets what a run would give it, from one computation of the pool, nothing persisted', async () => {
    const n = 50;
    const records = new CountingRecords();
    const rt = { ...runtime(vlanDocs(n), records), dryRun: true };
    const nets = rt.store.list('Network') as Network[];
    const list = vi.spyOn(rt.store, 'list');
    for (const [i, net] of nets.entries()) expect(await poolsOf(rt).vlanFor(net)).toEqual({ vlan: 100 + i, allocated: true });
    expect(records.puts).toBe(0);
    // taken() lists networks too: one computation lists them twice.
    expect(list.mock.calls.filter((c) => c[0] === 'Network')).toHaveLength(2);
  });
});

describe('VlanPool allocations: pools overlapping on a physical network', () => {
  /** Records whose writes land a few milliseconds after they were asked for (as a status write to the
   *  apiserver reaches the informer's cache), so an allocation that reads them meanwhile sees the old one. */
  class SlowRecords extends MemoryRecords {
    override async put(r: ObjectRecord): Promise<void> {
      await new Promise((res) => setTimeout(res, 5));
      await super.put(r);
    }
  }
  const overlapping = [
    'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: a}\nspec: {ranges: [{physicalNetwork: physnet1, min: 100, max: 119}, {physicalNetwork: physnet2, min: 5, max: 9}]}',
    'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: b}\nspec: {ranges: [{physicalNetwork: physnet1, min: 100, max: 129}]}',
    ...Array.from({ length: 10 }, (_, i) => `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: a${i}}\nspec: {physicalNetwork: physnet1, vlan: {poolRef: {name: ${i < 5 ? 'a' : 'b'}}}}`),
  ];

  it('allocate under one lock: networks of both, served at once, never get one VLAN twice', async () => {
    const rt = runtime(overlapping, new SlowRecords());
    const pools = poolsOf(rt);
    // The first of each pool serves its whole pool; all ten asked at once.
    const got = await Promise.all((rt.store.list('Network') as Network[]).map((n) => pools.vlanFor(n)));
    const vlans = got.map((g) => (g as { vlan: number }).vlan);
    expect(vlans.every((v) => typeof v === 'number')).toBe(true);
    expect(new Set(vlans).size).toBe(10);
    const recorded = ['a', 'b'].flatMap((p) => (rt.records.get(`VlanPool/${p}`)!.status.allocations as { vlan: number }[]).map((x) => x.vlan));
    expect(recorded.sort()).toEqual([...vlans].sort());
  });
});

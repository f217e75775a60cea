// MAC pools through the engine, against the test driver and the fake backend (which prove the engine,
// not a backend): 200 attachments get distinct MACs from their cluster's pool, the same after a
// restart; a duplicate explicit MAC is refused, naming the holder, and nothing is created for it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../../src/state/records.ts';
import { FakeBackend } from '../support/fake-backend.ts';
import { testDriverFactory } from '../support/test-driver.ts';

let backend: FakeBackend;
const engines: Engine[] = [];

beforeEach(async () => {
  backend = new FakeBackend();
  await backend.start();
});
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  await backend.stop();
});

function engine(records: MemoryRecords): Engine {
  const e = new Engine({
    kinds: KIND_DEFINITIONS,
    records,
    registry: new DriverRegistry().register('neutron', testDriverFactory),
    credentials: new FileCredentialSource(),
    log: pino({ level: 'silent' }),
    waitMs: 100,
    concurrency: 8,
  });
  engines.push(e);
  return e;
}

const N = 200;
const vnic = (i: number, mac?: string) =>
  `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm${String(i).padStart(3, '0')}-nic0, namespace: t}\nspec: {vm: {name: vm${i}}, interfaceName: nic0, network: web, host: h${mac ? `, mac: "${mac}"` : ''}}`;
const manifests = (extra: string[] = []) => [
  `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: lab}\nspec: {type: neutron, endpoint: "${backend.url}", neutron: {auth: noauth}}`,
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: web}\nspec: {physicalNetwork: physnet1, vlan: {id: 12}, shared: true, providerRefs: [{name: lab}]}',
  'apiVersion: netform.io/v1alpha1\nkind: MacPool\nmetadata: {name: pool}\nspec: {ranges: [{start: "56:6f:00:00:00:00", end: "56:6f:00:00:00:ff"}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {macPoolRef: {name: pool}, networks: [{name: web}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec: {cluster: c, nics: [{name: eth0}], networks: [{name: web, interface: eth0}]}',
  ...Array.from({ length: N }, (_, i) => vnic(i)),
  ...extra,
];
const load = (e: Engine, docs: string[]) => {
  const r = admit([{ path: 'all.yaml', text: docs.join('\n---\n') }]);
  expect(r.errors).toEqual([]);
  e.sync(r);
};
const cond = (r: ObjectRecord | undefined, type: string) => r?.status.conditions?.find((c) => c.type === type);
const macsOf = (records: MemoryRecords) =>
  Object.fromEntries(records.list().filter((r) => r.kind === 'VnicAttachment').map((r) => [r.key, r.status.mac as string | undefined]));

describe('MacPool', () => {
  it('200 attachments get distinct MACs from the pool, on their ports too, and the same after a restart', async () => {
    const records = new MemoryRecords();
    const e = engine(records);
    load(e, manifests());
    expect(await e.settle(60_000)).toBe(true);
    const macs = macsOf(records);
    expect(Object.keys(macs)).toHaveLength(N);
    expect(new Set(Object.values(macs)).size).toBe(N);
    // Deterministic: the lowest MACs, in attachment name order.
    expect(macs['VnicAttachment/t/vm000-nic0']).toBe('56:6f:00:00:00:00');
    expect(macs['VnicAttachment/t/vm199-nic0']).toBe('56:6f:00:00:00:c7');
    const ports = backend.list('port');
    expect(ports).toHaveLength(N);
    expect(new Set(ports.map((p) => p.fields.mac)).size).toBe(N);
    expect(ports.map((p) => p.fields.mac).sort()).toEqual(Object.values(macs).sort());
    const pool = records.get('MacPool/pool')!;
    expect(pool.status).toMatchObject({ allocated: N, free: 256 - N });
    expect(cond(pool, 'Ready')?.status).toBe('True');

    // A restart: a new engine on the same records hands out nothing new and changes no port.
    await e.stop();
    engines.splice(engines.indexOf(e), 1);
    const again = engine(new MemoryRecords(records.list()));
    load(again, manifests());
    expect(await again.settle(60_000)).toBe(true);
    expect(macsOf(again.rt.records as MemoryRecords)).toEqual(macs);
    expect(backend.list('port').map((p) => p.fields.mac).sort()).toEqual(ports.map((p) => p.fields.mac).sort());
  });

  it('a duplicate explicit MAC is refused, naming the holder, and nothing is created for it; removing an attachment frees its MAC', async () => {
    const records = new MemoryRecords();
    const e = engine(records);
    load(e, manifests());
    expect(await e.settle(60_000)).toBe(true);
    const taken = records.get('VnicAttachment/t/vm007-nic0')!.status.mac as string;
    load(e, manifests([vnic(900, taken)]));
    expect(await e.settle(60_000)).toBe(true);
    const dup = records.get('VnicAttachment/t/vm900-nic0');
    expect(cond(dup, 'Synced')).toMatchObject({ status: 'False', reason: 'BackendRejected', message: `MacPool pool: MAC ${taken} is already held by VnicAttachment t/vm007-nic0` });
    expect(cond(dup, 'Stalled')?.status).toBe('True');
    expect(backend.list('port')).toHaveLength(N);
    expect(backend.list('port').filter((p) => p.fields.mac === taken)).toHaveLength(1);

    // vm007 goes: its MAC is free again, and the waiting duplicate gets it.
    load(e, manifests([vnic(900, taken)]).filter((d) => !d.includes('vm007-nic0')));
    await e.settle(60_000);
    e.resyncAll();
    expect(await e.settle(60_000)).toBe(true);
    expect(cond(records.get('VnicAttachment/t/vm900-nic0'), 'Ready')?.status).toBe('True');
    expect(records.get('VnicAttachment/t/vm900-nic0')!.status.mac).toBe(taken);
    expect(backend.list('port').filter((p) => p.fields.mac === taken)).toHaveLength(1);
    expect((records.get('MacPool/pool')!.status.allocations as { attachment: string }[]).some((a) => a.attachment === 't/vm007-nic0')).toBe(false);
  });
});

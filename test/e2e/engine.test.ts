// The engine in-process against the test driver and the fake backend: retries, terminal errors,
// dependencies, deletion order, drift, ObserveOnly imports, replace, vNIC ports, VLAN allocation
// across restarts. (The test driver proves the engine, not a backend.)
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../../src/state/records.ts';
import { FakeBackend } from '../support/fake-backend.ts';
import { testDriverFactory } from '../support/test-driver.ts';
import { waitFor } from '../support/cli.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';

/** Records every write, so tests can see the conditions an object went through. */
class RecordingRecords extends MemoryRecords {
  readonly history: ObjectRecord[] = [];
  override async put(r: ObjectRecord): Promise<void> {
    this.history.push(structuredClone(r));
    await super.put(r);
  }
  seen(key: string, type: string, reason: string): ObjectRecord | undefined {
    return this.history.find((r) => r.key === key && r.status.conditions?.some((c) => c.type === type && c.reason === reason));
  }
}

let backend: FakeBackend;
let engines: Engine[] = [];

beforeEach(async () => {
  backend = new FakeBackend();
  await backend.start();
});
afterEach(async () => {
  for (const e of engines) await e.stop();
  engines = [];
  await backend.stop();
});

function engine(records = new RecordingRecords(), resyncMs = 60_000): { e: Engine; records: RecordingRecords } {
  const registry = new DriverRegistry().register('neutron', testDriverFactory);
  const e = new Engine({
    kinds: KIND_DEFINITIONS,
    records,
    registry,
    credentials: new FileCredentialSource(),
    log: pino({ level: 'silent' }),
    resyncMs,
    waitMs: 100,
  });
  engines.push(e);
  return { e, records };
}

/** Admits the documents, one file per object (a file with an error holds only its own objects). */
function load(e: Engine, ...docs: string[]): void {
  const files = docs.map((text) => {
    const m = /kind: (\w+)\nmetadata: \{name: ([^,}]+)/.exec(text);
    return { path: `${m![1]}-${m![2]}.yaml`, text };
  });
  const r = admit(files, {
    allocations: e.rt.records
      .list()
      .filter((x) => x.kind === 'VlanPool')
      .flatMap((x) => ((x.status.allocations as { network: string; physicalNetwork: string; vlan: number }[]) ?? []).map((a) => ({ pool: x.name, ...a }))),
  });
  e.sync(r);
}

const provider = (endpoint = backend.url) => `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: lab}
spec: {type: neutron, endpoint: "${endpoint}", neutron: {auth: noauth}}`;

const net = (name: string, spec: string) => `apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: ${name}}
spec:
  physicalNetwork: physnet1
  providerRefs: [{name: lab}]
${spec
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}`;

const cond = (r: ObjectRecord | undefined, type: string) => r?.status.conditions?.find((c) => c.type === type);
const networks = () => backend.list('network');

describe('engine', () => {
  it('retries transient backend failures with backoff and converges without duplicates', async () => {
    const { e, records } = engine();
    backend.failNext = { count: 4, status: 503 };
    load(e, provider(), net('n1', 'vlan: {id: 10}'));
    expect(await e.settle(20_000)).toBe(true);
    expect(cond(records.get('Network/n1'), 'Ready')?.status).toBe('True');
    expect(records.seen('Provider/lab', 'Synced', 'ReconcileError')).toBeDefined();
    expect(networks()).toHaveLength(1);
  });

  it('a backend refusal is terminal: Stalled with the backend message, no retry storm, foreign objects untouched', async () => {
    const foreign = backend.put('network', { name: 'foreign', vlan: 42, physicalNetwork: 'physnet1' });
    const { e, records } = engine();
    load(e, provider(), net('n2', 'vlan: {id: 42}'));
    expect(await e.settle(10_000)).toBe(true);
    const r = records.get('Network/n2');
    expect(cond(r, 'Stalled')?.status).toBe('True');
    expect(cond(r, 'Synced')).toMatchObject({ status: 'False', reason: 'BackendRejected' });
    expect(cond(r, 'Synced')?.message).toContain(`VLAN 42 on physnet1 is in use by ${foreign.id}`);
    expect(networks()).toEqual([foreign]);
    const creates = backend.counters.creates;
    await new Promise((res) => setTimeout(res, 300));
    expect(backend.counters.creates).toBe(creates);
  });

  it('a network waits for its provider to be Ready', async () => {
    const { e, records } = engine();
    load(e, provider('http://127.0.0.1:1'), net('n3', 'vlan: {id: 11}'));
    await waitFor('the network to wait', () => cond(records.get('Network/n3'), 'Ready')?.reason === 'WaitingForDependencies');
    expect(cond(records.get('Network/n3'), 'Ready')?.message).toContain('Provider lab is not Ready');
    expect(networks()).toHaveLength(0);
    load(e, provider(), net('n3', 'vlan: {id: 11}'));
    await waitFor('the network to be Ready', () => cond(records.get('Network/n3'), 'Ready')?.status === 'True');
    expect(networks()).toHaveLength(1);
  });

  it('a removed network waits for its vNICs to go first; then everything is deleted', async () => {
    const { e, records } = engine();
    const cluster = 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {networks: [{name: n4}]}';
    const host = 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec: {cluster: c, nics: [{name: eth0}], networks: [{name: n4, interface: eth0}]}';
    const vnic =
      'apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: v, namespace: t}\nspec: {vm: {name: vm1}, interfaceName: nic1, network: n4, host: h, mac: "56:6f:00:00:00:01"}';
    load(e, provider(), net('n4', 'vlan: {id: 12}\nshared: true'), cluster, host, vnic);
    await waitFor('the vNIC port', () => cond(records.get('VnicAttachment/t/v'), 'Ready')?.status === 'True');
    const port = backend.list('port')[0]!;
    expect(port.fields).toMatchObject({ network: networks()[0]!.id, mac: '56:6f:00:00:00:01', host: 'h' });

    // The network goes from the manifests but the vNIC (now dangling, so held) stays: deletion blocks.
    load(e, provider(), cluster.replace('[{name: n4}]', '[]'), host.replace(', networks: [{name: n4, interface: eth0}]', ''), vnic);
    await waitFor('deletion to block', () => cond(records.get('Network/n4'), 'Synced')?.reason === 'DeletionBlocked');
    expect(cond(records.get('Network/n4'), 'Synced')?.message).toContain('VnicAttachment/t/v');
    expect(networks()).toHaveLength(1);

    load(e, provider(), cluster.replace('[{name: n4}]', '[]'), host.replace(', networks: [{name: n4, interface: eth0}]', ''));
    await waitFor('the network to be gone', () => !records.get('Network/n4'));
    expect(backend.list('port')).toHaveLength(0);
    expect(networks()).toHaveLength(0);
  });

  it('heals drift on the periodic re-check: an out-of-band edit is reverted, an out-of-band delete recreated', async () => {
    const { e, records } = engine(new RecordingRecords(), 150);
    load(e, provider(), net('n5', 'vlan: {id: 13}\nmtu: 1500'));
    await waitFor('Ready', () => cond(records.get('Network/n5'), 'Ready')?.status === 'True');
    const o = networks()[0]!;
    o.fields = { ...o.fields, mtu: 1400 };
    o.revision++;
    await waitFor('the MTU to be healed', () => networks()[0]!.fields.mtu === 1500);
    backend.objects.clear();
    await waitFor('the network to be recreated', () => networks().length === 1);
    await waitFor('the new id in status', () => (records.get('Network/n5')?.status.providers as { externalId: string }[])[0]!.externalId === networks()[0]!.id);
    expect(networks()[0]!.id).not.toBe(o.id);
  });

  it('ObserveOnly import never writes: drift is reported, and removal leaves the object', async () => {
    const legacy = backend.put('network', { name: 'legacy', vlan: 77, physicalNetwork: 'physnet1', mtu: 1500, description: '', shared: false, adminStateUp: true, portSecurity: true, subnets: [] });
    const { e, records } = engine();
    const spec = (mtu: number) => `vlan: {id: 77}\nmtu: ${mtu}\nmanagementPolicy: ObserveOnly\nproviderRefs: [{name: lab, import: {name: legacy}}]`;
    const imported = (mtu: number) => net('imp', spec(mtu)).replace('  providerRefs: [{name: lab}]\n', '');
    load(e, provider(), imported(9000));
    await waitFor('drift to be reported', () => cond(records.get('Network/imp'), 'Synced')?.reason === 'DriftDetected');
    expect(cond(records.get('Network/imp'), 'Synced')?.message).toContain('mtu');
    load(e, provider(), imported(1500));
    await waitFor('Ready', () => cond(records.get('Network/imp'), 'Ready')?.status === 'True');
    expect((records.get('Network/imp')?.status.providers as { externalId: string }[])[0]!.externalId).toBe(legacy.id);
    load(e, provider());
    await waitFor('the record to go', () => !records.get('Network/imp'));
    expect(backend.objects.get(legacy.id)?.revision).toBe(1);
    expect(backend.counters).toMatchObject({ creates: 0, updates: 0, deletes: 0 });
  });

  it('an immutable change is refused until allowReplace, then replaced', async () => {
    const { e, records } = engine();
    load(e, provider(), net('n6', 'vlan: {id: 50}'));
    await waitFor('Ready', () => cond(records.get('Network/n6'), 'Ready')?.status === 'True');
    const first = networks()[0]!;
    load(e, provider(), net('n6', 'vlan: {id: 51}'));
    await waitFor('ReplaceRequired', () => cond(records.get('Network/n6'), 'Synced')?.reason === 'ReplaceRequired');
    expect(cond(records.get('Network/n6'), 'Stalled')?.status).toBe('True');
    expect(networks()[0]!.fields.vlan).toBe(50);
    load(e, provider(), net('n6', 'vlan: {id: 51}\nallowReplace: true'));
    await waitFor('the replacement', () => networks()[0]?.fields.vlan === 51 && cond(records.get('Network/n6'), 'Ready')?.status === 'True');
    expect(networks()).toHaveLength(1);
    expect(networks()[0]!.id).not.toBe(first.id);
  });

  it('pool allocations survive a restart and never move when networks come and go', async () => {
    const pool = 'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: p}\nspec: {ranges: [{physicalNetwork: physnet1, min: 200, max: 209}]}';
    const one = engine();
    load(one.e, provider(), pool, net('m-b', 'vlan: {poolRef: {name: p}}'), net('m-c', 'vlan: {poolRef: {name: p}}'));
    expect(await one.e.settle(10_000)).toBe(true);
    expect([one.records.get('Network/m-b')!.status.vlan, one.records.get('Network/m-c')!.status.vlan]).toEqual([200, 201]);
    await one.e.stop();

    // A restart on the same records, with a network whose name sorts first added: existing VLANs stay.
    const two = engine(new RecordingRecords(one.records.list()));
    load(two.e, provider(), pool, net('m-a', 'vlan: {poolRef: {name: p}}'), net('m-b', 'vlan: {poolRef: {name: p}}'), net('m-c', 'vlan: {poolRef: {name: p}}'));
    expect(await two.e.settle(10_000)).toBe(true);
    expect(two.records.get('Network/m-a')!.status.vlan).toBe(202);
    expect(two.records.get('Network/m-b')!.status.vlan).toBe(200);
    expect(two.records.get('Network/m-c')!.status.vlan).toBe(201);
    expect(two.records.get('VlanPool/p')!.status).toMatchObject({ allocated: 3, free: 7 });
    expect(networks().map((n) => n.fields.vlan).sort()).toEqual([200, 201, 202]);
  });

  it('a restart decides nothing before the desired state is loaded: a re-check of every record deletes no declared object', async () => {
    const one = engine();
    load(one.e, provider(), net('r-a', 'vlan: {id: 20}'), net('r-b', 'vlan: {id: 21}'), net('r-c', 'vlan: {id: 22}'));
    expect(await one.e.settle(10_000)).toBe(true);
    await one.e.stop();
    const deletes = backend.counters.deletes;

    // As `netform run` used to start: a re-check of every record, the manifests still being read.
    const two = engine(new RecordingRecords(one.records.list()));
    two.e.resyncAll();
    await new Promise((r) => setTimeout(r, 300));
    expect(backend.counters.deletes).toBe(deletes);
    expect(two.records.list().map((r) => r.key).sort()).toEqual(one.records.list().map((r) => r.key).sort());
    // The load then queues what it must, and a further restart with the same manifests writes nothing.
    load(two.e, provider(), net('r-a', 'vlan: {id: 20}'), net('r-b', 'vlan: {id: 21}'), net('r-c', 'vlan: {id: 22}'));
    expect(await two.e.settle(10_000)).toBe(true);
    expect(backend.counters.deletes).toBe(deletes);
    expect(networks().filter((n) => /^r-/.test(String(n.fields.name))).length).toBe(3);
    for (const n of ['r-a', 'r-b', 'r-c']) expect(cond(two.records.get(`Network/${n}`), 'Ready')?.status).toBe('True');
  });
});

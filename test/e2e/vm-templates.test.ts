// VM network templates through the engine, against the test driver and the fake backend (which prove
// the engine, not a backend): a VmNetworkBinding becomes one VnicAttachment (and port) per vNIC of its
// template, reports them, follows a template edit (which a plan names per VM), and takes them with it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { FakeBackend } from '../support/fake-backend.ts';
import { testDriverFactory } from '../support/test-driver.ts';
import { waitFor } from '../support/cli.ts';

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

function engine(records: MemoryRecords, dryRun = false): Engine {
  const e = new Engine({
    kinds: KIND_DEFINITIONS,
    records,
    registry: new DriverRegistry().register('neutron', testDriverFactory),
    credentials: new FileCredentialSource(),
    log: pino({ level: 'silent' }),
    waitMs: 100,
    dryRun,
  });
  engines.push(e);
  return e;
}

const base = () => [
  `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: lab}\nspec: {type: neutron, endpoint: "${backend.url}", neutron: {auth: noauth}}`,
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: web}\nspec: {physicalNetwork: physnet1, vlan: {id: 12}, shared: true, providerRefs: [{name: lab}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: db}\nspec: {physicalNetwork: physnet1, vlan: {id: 13}, shared: true, providerRefs: [{name: lab}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {networks: [{name: web}, {name: db}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec: {cluster: c, nics: [{name: eth0}], networks: [{name: web, interface: eth0}, {name: db, interface: eth0}]}',
  'apiVersion: netform.io/v1alpha1\nkind: VnicProfile\nmetadata: {name: capped, namespace: t}\nspec: {network: web, portSecurity: {enabled: false}}',
];
const template = (vnics: string) => `apiVersion: netform.io/v1alpha1\nkind: VmNetworkTemplate\nmetadata: {name: tier, namespace: t}\nspec: {vnics: ${vnics}}`;
const binding = (vm: string) => `apiVersion: netform.io/v1alpha1\nkind: VmNetworkBinding\nmetadata: {name: ${vm}, namespace: t}\nspec: {templateRef: {name: tier}, vm: {name: ${vm}, uid: uid-${vm}}, host: h, macs: [{vnic: nic1, mac: "56:6f:00:00:0${vm.slice(-1)}:01"}]}`;
const TWO = '[{name: nic1, profile: capped}, {name: nic2, network: db}]';
const THREE = '[{name: nic1, profile: capped}, {name: nic2, network: db, linked: false}, {name: nic3, network: db}]';

function admitted(docs: string[]) {
  const r = admit([{ path: 'all.yaml', text: docs.join('\n---\n') }]);
  expect(r.errors).toEqual([]);
  return r;
}
const ports = () => backend.list('port');

describe('VM network templates', () => {
  it('bindings expand into owned attachments and ports; a template edit is planned per VM, then followed; a binding removed takes its vNICs', async () => {
    const records = new MemoryRecords();
    const e = engine(records);
    const v1 = [...base(), template(TWO), binding('vm1'), binding('vm2')];
    const r = admitted(v1);
    expect([...r.objects.keys()].filter((k) => k.startsWith('VnicAttachment/')).sort()).toEqual([
      'VnicAttachment/t/vm1-nic1',
      'VnicAttachment/t/vm1-nic2',
      'VnicAttachment/t/vm2-nic1',
      'VnicAttachment/t/vm2-nic2',
    ]);
    expect(r.objects.get('VnicAttachment/t/vm1-nic1')?.object).toMatchObject({
      metadata: { labels: { 'netform.io/vm-network-binding': 'vm1', 'netform.io/vm-network-template': 'tier' } },
      spec: { vm: { name: 'vm1', uid: 'uid-vm1' }, interfaceName: 'nic1', network: 'web', host: 'h', profileRef: { name: 'capped' }, mac: '56:6f:00:00:01:01', plugged: true, linked: true },
    });
    e.sync(r);
    await waitFor('both bindings Ready', () => (['vm1', 'vm2'].every((vm) => e.states().find((s) => s.key === `VmNetworkBinding/t/${vm}`)?.state === 'ready') ? true : undefined), 20_000);
    expect(ports()).toHaveLength(4);
    expect(records.get('VmNetworkBinding/t/vm1')?.status.attachments).toEqual([
      expect.objectContaining({ name: 'vm1-nic1', vnic: 'nic1', ready: true, mac: '56:6f:00:00:01:01' }),
      expect.objectContaining({ name: 'vm1-nic2', vnic: 'nic2', ready: true }),
    ]);
    expect(records.get('VmNetworkTemplate/t/tier')?.status.vms).toBe(2);

    // A template edit, planned: every VM it reaches is named, with what changes for it.
    const plan = engine(records, true);
    plan.sync(admitted([...base(), template(THREE), binding('vm1'), binding('vm2')]));
    const items = await plan.plan();
    const vmItems = items.filter((i) => i.resource === 'vm').map((i) => `${i.object}: ${i.message}`);
    expect(vmItems.sort()).toEqual([
      'VmNetworkBinding/t/vm1: VM vm1 on h (template tier): nic2 changes, nic3 is added',
      'VmNetworkBinding/t/vm2: VM vm2 on h (template tier): nic2 changes, nic3 is added',
    ]);
    expect(items.filter((i) => i.action === 'create' && i.object.endsWith('-nic3')).map((i) => i.object).sort()).toEqual(['VnicAttachment/t/vm1-nic3', 'VnicAttachment/t/vm2-nic3']);

    // Applied.
    e.sync(admitted([...base(), template(THREE), binding('vm1'), binding('vm2')]));
    await waitFor('six ports, nic2 unlinked', () => (ports().length === 6 && records.get('VmNetworkBinding/t/vm2')?.status.attachments?.toString() && (records.get('VmNetworkBinding/t/vm2')?.status.attachments as unknown[]).length === 3 ? true : undefined), 20_000);
    expect(ports().filter((p) => p.fields.linked === false)).toHaveLength(2);

    // vm1's binding goes: its three attachments and ports go with it; vm2's stay.
    e.sync(admitted([...base(), template(THREE), binding('vm2')]));
    await waitFor('three ports left', () => (ports().length === 3 ? true : undefined), 20_000);
    expect(records.list().filter((x) => x.key.startsWith('VnicAttachment/t/vm1-'))).toEqual([]);
    expect(ports().every((p) => String(p.fields.vm) === 'uid-vm2')).toBe(true);
  });

  it('a binding naming no template, or a template vNIC whose network the host cannot carry, is refused at the binding', () => {
    const r = admit([{ path: 'all.yaml', text: [...base(), binding('vm1')].join('\n---\n') }]);
    expect(r.errors.map((x) => [x.key, x.field, x.message])).toEqual([['VmNetworkBinding/t/vm1', 'spec.templateRef.name', 'VmNetworkTemplate "t/tier" does not exist']]);
    const other = 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: far}\nspec: {physicalNetwork: physnet1, vlan: {id: 14}, shared: true}';
    const s = admit([{ path: 'all.yaml', text: [...base(), other, template('[{name: nic1, network: far}]'), binding('vm1')].join('\n---\n') }]);
    expect(s.errors.map((x) => [x.key, x.field, x.message])).toEqual([
      ['VnicAttachment/t/vm1-nic1', 'spec.templateRef.name', 'vNIC nic1 (VnicAttachment t/vm1-nic1): spec.network: Network "far" is not attached to cluster "c" of host "h"'],
    ]);
    expect(s.errors[0]!.line).toBeGreaterThan(1);
  });
});

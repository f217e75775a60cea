// The ServiceEndpoint kind through the engine, with an in-memory backend written for the test (the
// Neutron driver has its own tests against the real Neutron): what its port model is made of (the
// network's and subnets' ids, the groups' ids, canonical pairs), that it waits for its network and
// groups, that a network waits for the endpoints on it before it goes, and its status.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FileCredentialSource } from '../../adapters/files/credentials.ts';
import { sameContent } from '../../api/json.ts';
import { ownerKey, type FieldChange, type Observed, type ObserveRequest, type Owner, type ProviderDriver, type ResourceDriver } from '../../drivers/driver.ts';
import type { ServiceEndpointModel } from '../../drivers/model.ts';
import { DriverRegistry } from '../../drivers/registry.ts';
import { admit } from '../../state/admit.ts';
import { MemoryRecords } from '../../state/records.ts';
import { KIND_DEFINITIONS } from '../index.ts';
import { Engine } from '../runtime/engine.ts';
import { serviceEndpointKind } from './serviceendpoint.kind.ts';

/** One kind of backend object in memory: found by id or by owner, every field compared. */
class Memory<D extends object> implements ResourceDriver<D, D> {
  readonly objects = new Map<string, { owner: string; model: D }>();
  #next = 1;
  readonly prefix: string;
  constructor(prefix: string) {
    this.prefix = prefix;
  }
  async observe(_ctx: unknown, req: ObserveRequest<D>): Promise<Observed<D> | undefined> {
    const hit = (req.externalId && this.objects.has(req.externalId) ? req.externalId : undefined) ?? [...this.objects].find(([, o]) => o.owner === ownerKey(req.owner))?.[0];
    return hit ? this.#observed(hit) : undefined;
  }
  diff(desired: D, observed: D): FieldChange[] {
    return sameContent(desired, observed) ? [] : [{ path: 'model', from: observed, to: desired }];
  }
  async create(_ctx: unknown, owner: Owner, desired: D): Promise<Observed<D>> {
    const id = `${this.prefix}-${this.#next++}`;
    this.objects.set(id, { owner: ownerKey(owner), model: structuredClone(desired) });
    return this.#observed(id);
  }
  async update(_ctx: unknown, _owner: Owner, observed: Observed<D>, desired: D): Promise<Observed<D>> {
    this.objects.get(observed.externalId)!.model = structuredClone(desired);
    return this.#observed(observed.externalId);
  }
  async delete(_ctx: unknown, observed: Observed<D>): Promise<void> {
    this.objects.delete(observed.externalId);
  }
  #observed(id: string): Observed<D> {
    const model = this.objects.get(id)!.model as D & { subnets?: { name: string }[] };
    const externalIds = Object.fromEntries((model.subnets ?? []).map((s) => [`subnet/${s.name}`, `${id}-${s.name}`]));
    return { externalId: id, externalIds, state: structuredClone(model), owned: true, version: '1', facts: { mac: 'fa:16:3e:00:00:01', addresses: ['10.1.0.100'], deviceOwner: 'netform:test' } };
  }
}

const networks = new Memory<object>('net');
const groups = new Memory<object>('sg');
const endpoints = new Memory<ServiceEndpointModel>('port');
const driver: ProviderDriver = { type: 'neutron', probe: async () => ({}), networks, securityGroups: groups, serviceEndpoints: endpoints, close: async () => {} };

let engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines) await e.stop();
  engines = [];
  for (const m of [networks, groups, endpoints]) m.objects.clear();
});

function engine(): { e: Engine; records: MemoryRecords } {
  const records = new MemoryRecords();
  const registry = new DriverRegistry().register('neutron', () => driver);
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 60_000, waitMs: 20 });
  engines.push(e);
  return { e, records };
}

const WORLD = [
  'apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "http://127.0.0.1:9", neutron: {auth: noauth}}',
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: app}\nspec: {physicalNetwork: physnet1, vlan: {id: 101}, shared: true, subnets: [{name: a4, cidr: 10.1.0.0/24}, {name: a6, cidr: "fd00:1::/64"}], providerRefs: [{name: os}]}',
  'apiVersion: netform.io/v1alpha1\nkind: SecurityGroup\nmetadata: {name: fw, namespace: edge}\nspec: {providerRefs: [{name: os}], rules: [{direction: ingress, protocol: tcp, portRangeMin: 443}]}',
];
const ENDPOINT = `apiVersion: netform.io/v1alpha1
kind: ServiceEndpoint
metadata: {name: lb, namespace: edge}
spec:
  network: app
  service: loadbalancer
  fixedIps: [{subnet: a4, ipAddress: 10.1.0.100}, {subnet: a6}]
  allowedAddressPairs: [{ipAddress: "FD00:1::0:5"}, {ipAddress: 10.1.0.7/24, macAddress: "56:6F:00:00:0A:02"}]
  securityGroups: [{name: fw}]`;

/** The world in one file, the endpoints in another (a file with errors holds all its objects). */
const load = (e: Engine, docs: string[], endpointDocs: string[] = []) =>
  e.sync(
    admit([
      { path: 'm.yaml', text: docs.join('\n---\n') },
      { path: 'e.yaml', text: endpointDocs.join('\n---\n') },
    ]),
  );
const ready = (records: MemoryRecords, key: string) => records.get(key)?.status.conditions?.find((c) => c.type === 'Ready');

describe('ServiceEndpoint kind', () => {
  it('makes one port from the resolved ids: the network, its subnets, the groups; pairs canonical; status from the backend', async () => {
    const { e, records } = engine();
    load(e, WORLD, [ENDPOINT]);
    expect(await e.settle(10_000)).toBe(true);
    expect(ready(records, 'ServiceEndpoint/edge/lb')).toMatchObject({ status: 'True' });
    const [netId] = [...networks.objects.keys()];
    const [sgId] = [...groups.objects.keys()];
    expect([...endpoints.objects.values()]).toEqual([
      {
        owner: 'netform:ServiceEndpoint/edge/lb',
        model: {
          name: 'edge/lb',
          service: 'loadbalancer',
          network: 'app',
          networkExternalId: netId,
          promiscuous: false,
          allowedAddressPairs: [{ ipAddress: 'fd00:1::5' }, { ipAddress: '10.1.0.0/24', macAddress: '56:6f:00:00:0a:02' }],
          fixedIps: [{ subnetId: `${netId}-a4`, ipAddress: '10.1.0.100' }, { subnetId: `${netId}-a6` }],
          securityGroupIds: [sgId],
        },
      },
    ]);
    const st = records.get('ServiceEndpoint/edge/lb')!.status;
    expect(st).toMatchObject({ mac: 'fa:16:3e:00:00:01', addresses: ['10.1.0.100'], deviceOwner: 'netform:test', providers: [{ name: 'os', externalId: 'port-1', synced: true }] });
    expect(serviceEndpointKind.keyFigure!(records.get('ServiceEndpoint/edge/lb')!)).toBe('loadbalancer fa:16:3e:00:00:01');
  });

  it('waits for a security group that is not on the provider yet, and names it', async () => {
    const { e, records } = engine();
    // The group is kept on another Neutron provider only: on the network's it never exists.
    load(e, [WORLD[0]!, WORLD[1]!, WORLD[2]!.replace('{name: os}', '{name: os2}'), WORLD[0]!.replace('name: os}', 'name: os2}')], [ENDPOINT]);
    await e.settle(3_000);
    expect(ready(records, 'ServiceEndpoint/edge/lb')).toMatchObject({ status: 'False', reason: 'WaitingForDependencies', message: 'SecurityGroup fw is not Ready on Provider os' });
    expect(endpoints.objects.size).toBe(0);
  });

  it('promiscuous: no pairs and no groups reach the driver', async () => {
    const { e } = engine();
    load(e, WORLD, ['apiVersion: netform.io/v1alpha1\nkind: ServiceEndpoint\nmetadata: {name: ids, namespace: edge}\nspec: {network: app, service: ids, promiscuous: true}']);
    expect(await e.settle(10_000)).toBe(true);
    const [port] = [...endpoints.objects.values()];
    expect(port!.model).toMatchObject({ service: 'ids', promiscuous: true, allowedAddressPairs: [] });
    expect('securityGroupIds' in port!.model).toBe(false);
    expect('fixedIps' in port!.model).toBe(false);
  });

  it('records the network and host its port is on once the port is in place; a host left out is dropped', async () => {
    const { e, records } = engine();
    const hosts = [
      'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c1}\nspec: {networks: [{name: app}]}',
      'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv1}\nspec: {cluster: c1}',
    ];
    const onHost = 'apiVersion: netform.io/v1alpha1\nkind: ServiceEndpoint\nmetadata: {name: fw, namespace: edge}\nspec: {network: app, service: firewall, host: hv1}';
    load(e, [...WORLD, ...hosts], [onHost]);
    expect(await e.settle(10_000)).toBe(true);
    expect(records.get('ServiceEndpoint/edge/fw')!.status).toMatchObject({ network: 'app', host: 'hv1', providers: [{ name: 'os', synced: true }] });
    load(e, [...WORLD, ...hosts], [onHost.replace(', host: hv1', '')]);
    expect(await e.settle(10_000)).toBe(true);
    const st = records.get('ServiceEndpoint/edge/fw')!.status;
    expect(st.network).toBe('app');
    expect('host' in st).toBe(false);
  });

  it('a network waits for the endpoints on it before it goes; then the port goes, then the network', async () => {
    const { e, records } = engine();
    load(e, WORLD, [ENDPOINT]);
    expect(await e.settle(10_000)).toBe(true);
    // The network is removed while the endpoint still names it: admission refuses the endpoint
    // (kept as it was), and the network waits for it.
    load(e, [WORLD[0]!, WORLD[2]!], [ENDPOINT]);
    await e.settle(3_000);
    expect(records.get('Network/app')?.status.conditions?.find((c) => c.type === 'Synced')).toMatchObject({ reason: 'DeletionBlocked', message: expect.stringContaining('ServiceEndpoint/edge/lb') });
    expect(networks.objects.size).toBe(1);
    expect(endpoints.objects.size).toBe(1);
    load(e, [WORLD[0]!, WORLD[2]!], []);
    for (let i = 0; i < 100 && networks.objects.size; i++) await new Promise((r) => setTimeout(r, 50));
    expect(endpoints.objects.size).toBe(0);
    expect(networks.objects.size).toBe(0);
    expect(records.get('ServiceEndpoint/edge/lb')).toBeUndefined();
  });
});

// Owner marking on the real Neutron is resumable from any point: an object carrying any netform mark
// is found and adopted, never stranded or duplicated. Faults are injected by the loopback fault
// proxy in front of Neutron; every check reads Neutron directly (support.ts `api`).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { vlanSource } from '../support/vlans.ts';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { ownerTags, pendingMarker } from '../../src/drivers/neutron/mapping.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { FaultProxy, type FaultKind } from '../harness/fault-proxy.ts';
import { api, networksNamed, neutronUrl, uniq, type RawNetwork } from './support.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';

let proxy: FaultProxy;
let engines: Engine[] = [];
beforeAll(async () => {
  proxy = new FaultProxy({ target: neutronUrl() });
  await proxy.start();
});
afterAll(async () => {
  await proxy.stop();
});
afterEach(async () => {
  proxy.faults(undefined);
  for (const e of engines) await e.stop();
  engines = [];
});

function engine(): { e: Engine; records: MemoryRecords } {
  const records = new MemoryRecords();
  const registry = new DriverRegistry().register('neutron', (c, d) => new NeutronDriver(c, d.log, { snapshotTtlMs: 0 }));
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: process.env.TEST_LOG ? "debug" : "silent" }, pino.destination(process.env.TEST_LOG ?? "/dev/null")), resyncMs: 60_000, waitMs: 200 });
  engines.push(e);
  return { e, records };
}

const provider = () => `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: os}
spec: {type: neutron, endpoint: "${proxy.url}", neutron: {auth: noauth}, requestTimeoutSeconds: 2}`;

const network = (name: string, vlan: number) => `apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: ${name}}
spec:
  physicalNetwork: physnet1
  vlan: {id: ${vlan}}
  providerRefs: [{name: os}]`;

function load(e: Engine, name: string, vlan: number): void {
  e.sync(admit([{ path: 'p.yaml', text: provider() }, { path: 'n.yaml', text: network(name, vlan) }]));
}

const owner = (name: string) => ({ instance: 'netform', kind: 'Network' as const, name });

/** A network as an interrupted write left it: named like netform's, with these tags and description. */
async function leftover(name: string, vlan: number, tags: string[], description: string): Promise<RawNetwork> {
  const r = await api<{ network: RawNetwork }>('POST', '/v2.0/networks', {
    network: { name, description, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': vlan },
  });
  expect(r.status).toBe(201);
  if (tags.length) expect((await api('PUT', `/v2.0/networks/${r.body.network.id}/tags`, { tags })).status).toBe(200);
  return r.body.network;
}

async function converged(e: Engine, name: string): Promise<RawNetwork> {
  expect(await e.settle(60_000)).toBe(true);
  expect(e.states().find((s) => s.key === `Network/${name}`)).toMatchObject({ state: 'ready' });
  const nets = await networksNamed(name);
  expect(nets).toHaveLength(1);
  return nets[0]!;
}

const nextVlan = vlanSource('physnet1', 2600, 2999);

describe('Neutron owner marking is resumable', () => {
  it.each([
    ['netform tag only, marker cleared', ['netform']],
    ['netform + instance tags, marker cleared', ['netform', 'nf-inst:netform']],
  ])('a network half-marked by an interrupted update (%s) is adopted, not stranded', async (_what, tags) => {
    const name = `half-${uniq()}`;
    const vlan = nextVlan();
    const left = await leftover(name, vlan, tags, '');
    const { e } = engine();
    load(e, name, vlan);
    const net = await converged(e, name);
    expect(net.id).toBe(left.id);
    expect(net.tags).toEqual(expect.arrayContaining(ownerTags(owner(name))));
    expect(net.description).toBe('');
  });

  it('a VLAN-in-use refusal on create adopts a half-marked network holding the segment (renamed out of band)', async () => {
    const name = `seg-${uniq()}`;
    const vlan = nextVlan();
    const left = await leftover(name, vlan, ['netform', 'nf-inst:netform'], '');
    expect((await api('PUT', `/v2.0/networks/${left.id}`, { network: { name: `${name}-renamed` } })).status).toBe(200);
    const { e } = engine();
    load(e, name, vlan);
    const net = await converged(e, name);
    expect(net.id).toBe(left.id);
    expect(net.tags).toEqual(expect.arrayContaining(ownerTags(owner(name))));
  });

  it('a segment held by a network without netform marks is still a clash (Stalled, not adopted)', async () => {
    const name = `clash-${uniq()}`;
    const vlan = nextVlan();
    await leftover(`${name}-theirs`, vlan, ['theirs'], 'not netform');
    const foreign = (await networksNamed(`${name}-theirs`))[0]!;
    const { e, records } = engine();
    load(e, name, vlan);
    expect(await e.settle(60_000)).toBe(true);
    const synced = records.get(`Network/${name}`)?.status.conditions?.find((c) => c.type === 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'BackendRejected' });
    const after = (await api<{ network: RawNetwork }>('GET', `/v2.0/networks/${foreign.id}`)).body.network;
    expect(after.tags).toEqual(['theirs']);
    expect(after.revision_number).toBe(foreign.revision_number);
  });

  // Adopting a network that carries only the pending marker (a create died right after its POST)
  // takes a few writes. A fault at each one of them in turn, of each kind, must leave a network that
  // the next attempt finds: exactly one network, the same one, fully marked.
  const kinds: FaultKind[] = ['status', 'reset', 'drop'];
  it.each(kinds)('adoption survives a fault (%s) at every one of its writes', async (kind) => {
    for (let k = 1; k <= 3; k++) {
      const name = `resume-${kind}-${k}-${uniq()}`;
      const vlan = nextVlan();
      const left = await leftover(name, vlan, [], pendingMarker(owner(name)));
      let writes = 0;
      proxy.faults({ rate: 1, seed: k, kinds: [kind], eligible: (r) => r.method !== 'GET' && r.path.includes(left.id) && ++writes === k });
      const { e } = engine();
      load(e, name, vlan);
      const net = await converged(e, name);
      expect(net.id, `fault ${kind} at write ${k}`).toBe(left.id);
      expect(net.tags).toEqual(expect.arrayContaining(ownerTags(owner(name))));
      expect(net.description).toBe('');
      await e.stop();
      proxy.faults(undefined);
    }
  });

  // A network's VLAN segment makes Neutron refuse a second one; a port without a fixed MAC has no
  // such guard, so a held create would leave a second port behind.
  it('a create whose POST lands after the client gave up (held past the timeout) is adopted, not duplicated', async () => {
    const run = uniq();
    const vlan = nextVlan();
    let held = 0;
    proxy.faults({ rate: 1, seed: 7, kinds: ['delay'], delayMs: 2_800, eligible: (r) => r.method === 'POST' && r.path === '/v2.0/ports' && r.body.includes(`vm-${run}`) && ++held === 1 });
    const { e } = engine();
    const docs = [
      provider(),
      `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: late-${run}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${vlan}}, shared: true, providerRefs: [{name: os}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${run}}\nspec: {networks: [{name: late-${run}}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv-${run}}\nspec: {cluster: c-${run}, nics: [{name: eth1}], networks: [{name: late-${run}, interface: eth1}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: web1-nic1, namespace: t-${run}}\nspec: {vm: {name: web1, uid: vm-${run}}, interfaceName: nic1, network: late-${run}, host: hv-${run}}`,
    ];
    e.sync(admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]));
    expect(await e.settle(60_000)).toBe(true);
    expect(e.states().find((x) => x.key === `VnicAttachment/t-${run}/web1-nic1`)).toMatchObject({ state: 'ready' });
    // The held POST has landed by now (2.8 s after it was sent); still exactly one port.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(held).toBeGreaterThanOrEqual(1);
    const ports = (await api<{ ports: { id: string; description: string; tags: string[] }[] }>('GET', `/v2.0/ports?device_id=vm-${run}`)).body.ports;
    expect(ports, JSON.stringify(ports)).toHaveLength(1);
    expect(ports[0]!.tags).toEqual(expect.arrayContaining(['netform', 'nf-inst:netform']));
  });
});

// Cheap drift re-checks and vNIC ports, on the real Neutron.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { waitFor } from '../support/cli.ts';
import { api, networksNamed, neutronUrl, subnetsOf, uniq } from './support.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

function start(): { e: Engine; records: MemoryRecords; drivers: NeutronDriver[] } {
  const drivers: NeutronDriver[] = [];
  const records = new MemoryRecords();
  const registry = new DriverRegistry().register('neutron', (c, d) => {
    const x = new NeutronDriver(c, d.log);
    drivers.push(x);
    return x;
  });
  engine = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: process.env.TEST_LOG ? 'trace' : 'silent' }, pino.destination(process.env.TEST_LOG ?? '/dev/null')), waitMs: 200, concurrency: 8 });
  return { e: engine, records, drivers };
}

const provider = (instance: string) =>
  `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os-${instance}}\nspec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}`;

describe('re-checks and ports on Neutron', () => {
  it('a no-op re-check of 30 networks lists by tag instead of reading each network', async () => {
    const run = uniq();
    const { e, drivers } = start();
    const docs = [provider(run)];
    for (let i = 0; i < 30; i++) {
      docs.push(`apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: rc-${run}-${i}}
spec:
  physicalNetwork: physnet2
  vlan: {id: ${2300 + i}}
  subnets: [{name: s, cidr: 10.77.${i}.0/24}]
  providerRefs: [{name: os-${run}}]`);
    }
    e.sync(admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]));
    expect(await e.settle(120_000)).toBe(true);
    expect(e.states().every((s) => s.state === 'ready')).toBe(true);
    const calls = drivers[0]!.client.calls;
    const before = { ...calls };
    e.resyncAll();
    expect(await e.settle(60_000)).toBe(true);
    const gets = calls.GET - before.GET;
    // One listing of networks, subnets and QoS policies (plus the provider's probe), not 30 × (network + subnets).
    expect(gets).toBeLessThanOrEqual(5);
    expect(calls.POST - before.POST + calls.PUT - before.PUT + calls.DELETE - before.DELETE).toBe(0);
    e.sync(admit([{ path: 'm.yaml', text: provider(run) }]));
    expect(await e.settle(120_000)).toBe(true);
    expect((await networksNamed(`rc-${run}-0`)).length).toBe(0);
  });

  it('subnets made before ADR 24 (tagged, not marked): a re-check marks each once, then the listing serves their networks with no read of their own', async () => {
    const run = uniq();
    const docs = [provider(run)];
    for (let i = 0; i < 4; i++) {
      docs.push(`apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: lg-${run}-${i}}\nspec: {physicalNetwork: physnet2, vlan: {id: ${2500 + i}}, subnets: [{name: s, cidr: 10.81.${i}.0/24}], providerRefs: [{name: os-${run}}]}`);
    }
    const manifests = [{ path: 'm.yaml', text: docs.join('\n---\n') }];
    const first = start();
    first.e.sync(admit(manifests));
    expect(await first.e.settle(120_000)).toBe(true);
    await first.e.stop();
    engine = undefined;
    // Made as a release before ADR 24 left them: the owner's tags, no mark in the description.
    const subnetIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [net] = await networksNamed(`lg-${run}-${i}`);
      const [sub] = await subnetsOf(net!.id);
      expect(sub!.description).toBe(`nf-inst:netform`);
      expect((await api('PUT', `/v2.0/subnets/${sub!.id as string}`, { subnet: { description: '' } })).status).toBe(200);
      expect((await api('PUT', `/v2.0/subnets/${sub!.id as string}/tags`, { tags: net!.tags })).status).toBe(200);
      subnetIds.push(sub!.id as string);
    }

    // A state loss: the listing finds the networks, not their subnets; each network is read directly
    // and its subnet marked, one PUT each.
    const second = start();
    second.e.sync(admit(manifests));
    expect(await second.e.settle(120_000)).toBe(true);
    expect(second.e.states().filter((x) => x.key.startsWith('Network/') && x.state !== 'ready')).toEqual([]);
    const calls = second.drivers[0]!.client.calls;
    expect([calls.POST, calls.PUT, calls.DELETE]).toEqual([0, 4, 0]);
    for (const id of subnetIds) expect((await api<{ subnet: { description: string } }>('GET', `/v2.0/subnets/${id}`)).body.subnet.description).toBe('nf-inst:netform');

    // From now on a re-check is the listing's: no writes, no read per network.
    await new Promise((r) => setTimeout(r, 10_500));
    const before = { ...calls };
    second.e.resyncAll();
    expect(await second.e.settle(60_000)).toBe(true);
    expect(calls.POST - before.POST + calls.PUT - before.PUT + calls.DELETE - before.DELETE).toBe(0);
    expect(calls.GET - before.GET).toBeLessThanOrEqual(4);
    second.e.sync(admit([{ path: 'm.yaml', text: provider(run) }]));
    expect(await second.e.settle(120_000)).toBe(true);
    expect(await networksNamed(`lg-${run}-0`)).toEqual([]);
  }, 300_000);

  it('a state directory lost: a new engine re-adopts 12 networks and 36 vNIC ports from the listings, with 0 writes and no read per object; a no-op re-check of the ports lists them', async () => {
    const run = uniq();
    const first = start();
    const docs = [
      provider(run),
      `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${run}}\nspec: {networks: [${Array.from({ length: 12 }, (_, i) => `{name: sl-${run}-${i}}`).join(', ')}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv-${run}}\nspec: {cluster: c-${run}, nics: [{name: eth1}], networks: [${Array.from({ length: 12 }, (_, i) => `{name: sl-${run}-${i}, interface: eth1}`).join(', ')}]}`,
    ];
    for (let i = 0; i < 12; i++) {
      docs.push(`apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: sl-${run}-${i}}\nspec: {physicalNetwork: physnet2, vlan: {id: ${2400 + i}}, shared: true, subnets: [{name: s, cidr: 10.79.${i}.0/24}], providerRefs: [{name: os-${run}}]}`);
      for (let v = 0; v < 3; v++) {
        const mac = `56:6f:01:${i.toString(16).padStart(2, '0')}:00:0${v}`;
        docs.push(`apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm${v}-net${i}, namespace: t-${run}}\nspec: {vm: {name: vm${v}, uid: vm${v}-${run}}, interfaceName: nic${i}, mac: "${mac}", network: sl-${run}-${i}, host: hv-${run}}`);
      }
    }
    const manifests = [{ path: 'm.yaml', text: docs.join('\n---\n') }];
    first.e.sync(admit(manifests));
    // (The Host waits for its agent's report: no agent here. Networks and vNICs are Ready.)
    const notReady = (e: Engine) => e.states().filter((s) => s.state !== 'ready' && /^(Network|VnicAttachment)\//.test(s.key));
    expect(await first.e.settle(180_000)).toBe(true);
    expect(notReady(first.e)).toEqual([]);
    const ports = (await api<{ ports: { id: string }[] }>('GET', `/v2.0/ports?tags=netform`)).body.ports.length;
    await first.e.stop();
    engine = undefined;

    // The state directory is gone: a new engine, empty records, the same manifests.
    const second = start();
    second.e.sync(admit(manifests));
    expect(await second.e.settle(180_000)).toBe(true);
    expect(notReady(second.e)).toEqual([]);
    const calls = second.drivers[0]!.client.calls;
    console.log(`[state loss] re-adopting 12 networks + 36 ports: ${calls.GET} GET, ${calls.POST + calls.PUT + calls.DELETE} writes`);
    expect(calls.POST + calls.PUT + calls.DELETE).toBe(0);
    // Listings (networks, subnets, QoS policies, ports — again when one is older than its 10 s), the
    // provider's probe, and what a Ready vNIC reads of its network: not 48 objects × (1–3 lookups).
    expect(calls.GET).toBeLessThanOrEqual(16);
    // Every port found again, none made.
    expect((await api<{ ports: { id: string }[] }>('GET', `/v2.0/ports?tags=netform`)).body.ports.length).toBe(ports);
    for (let i = 0; i < 12; i++) for (let v = 0; v < 3; v++) expect(second.records.get(`VnicAttachment/t-${run}/vm${v}-net${i}`)?.status.providers).toBeDefined();

    // A no-op re-check of everything once the listings are older than their 10 s: new listings, not a
    // read per object.
    await new Promise((r) => setTimeout(r, 10_500));
    const before = { ...calls };
    second.e.resyncAll();
    expect(await second.e.settle(60_000)).toBe(true);
    expect(calls.POST - before.POST + calls.PUT - before.PUT + calls.DELETE - before.DELETE).toBe(0);
    console.log(`[state loss] no-op re-check of 12 networks + 36 ports: ${calls.GET - before.GET} GET`);
    expect(calls.GET - before.GET).toBeGreaterThanOrEqual(1);
    expect(calls.GET - before.GET).toBeLessThanOrEqual(5);

    second.e.sync(admit([{ path: 'm.yaml', text: provider(run) }]));
    expect(await second.e.settle(180_000)).toBe(true);
    expect(await networksNamed(`sl-${run}-0`)).toEqual([]);
  }, 600_000);

  it('a VnicAttachment becomes a Neutron port with its MAC, host and VM; unplugging keeps the port; removing the attachment removes it', async () => {
    const run = uniq();
    const { e, records } = start();
    const base = [
      provider(run),
      `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: vn-${run}}\nspec: {physicalNetwork: physnet2, vlan: {id: 2390}, shared: true, subnets: [{name: s, cidr: 10.88.0.0/24}], providerRefs: [{name: os-${run}}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${run}}\nspec: {networks: [{name: vn-${run}}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv-${run}}\nspec: {cluster: c-${run}, nics: [{name: eth1}], networks: [{name: vn-${run}, interface: eth1}]}`,
    ];
    const vnic = (plugged: boolean) =>
      `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: web1-nic1, namespace: t-${run}}\nspec: {vm: {name: web1, uid: vm-${run}}, interfaceName: nic1, mac: "56:6f:00:aa:00:01", network: vn-${run}, host: hv-${run}, plugged: ${plugged}}`;
    e.sync(admit([{ path: 'm.yaml', text: [...base, vnic(true)].join('\n---\n') }]));
    const key = `VnicAttachment/t-${run}/web1-nic1`;
    await waitFor('the port', () => e.states().find((s) => s.key === key)?.state === 'ready', 60_000);
    const ports = (await api<{ ports: { id: string; mac_address: string; device_id: string; 'binding:host_id': string; fixed_ips: { ip_address: string }[]; tags: string[] }[] }>('GET', `/v2.0/ports?device_id=vm-${run}`)).body.ports;
    expect(ports).toHaveLength(1);
    expect(ports[0]).toMatchObject({ mac_address: '56:6f:00:aa:00:01', device_id: `vm-${run}`, 'binding:host_id': `hv-${run}` });
    expect(ports[0]!.tags).toEqual(expect.arrayContaining(['netform']));
    const status = records.get(key)!.status as { mac?: string; addresses?: string[]; providers?: { externalId: string }[] };
    expect(status.mac).toBe('56:6f:00:aa:00:01');
    expect(status.addresses).toEqual(ports[0]!.fixed_ips.map((f) => f.ip_address));
    expect(status.addresses![0]).toMatch(/^10\.88\.0\./);
    expect(status.providers![0]!.externalId).toBe(ports[0]!.id);

    // Unplugged: only the host's device goes; the port stays, the same one.
    e.sync(admit([{ path: 'm.yaml', text: [...base, vnic(false)].join('\n---\n') }]));
    await waitFor('the unplugged vNIC Ready', () => e.states().find((s) => s.key === key)?.state === 'ready', 60_000);
    expect((await api<{ ports: { id: string }[] }>('GET', `/v2.0/ports?device_id=vm-${run}`)).body.ports.map((p) => p.id)).toEqual([ports[0]!.id]);
    e.sync(admit([{ path: 'm.yaml', text: base.join('\n---\n') }]));
    await waitFor('the port to go', async () => (await api<{ ports: unknown[] }>('GET', `/v2.0/ports?device_id=vm-${run}`)).body.ports.length === 0, 60_000);
    e.sync(admit([{ path: 'm.yaml', text: provider(run) }]));
    expect(await e.settle(60_000)).toBe(true);
    expect(await networksNamed(`vn-${run}`)).toEqual([]);
  });
});

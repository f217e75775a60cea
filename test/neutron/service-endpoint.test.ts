// ServiceEndpoints on the real Neutron, through the engine with the real Neutron driver (admission,
// the kind, the driver): the port is read back through Neutron's own API (support.ts `api`) and the
// `openstack` CLI, never through the driver. Neutron is reached through a loopback fault proxy
// (test/harness/fault-proxy.ts), which loses a create's answer in the last test.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { vlanSource } from '../support/vlans.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import type { ManifestFile } from '../../src/api/objects.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import type { DriverContext, Owner } from '../../src/drivers/driver.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { ownerTag, ownerTags, pendingMarker } from '../../src/drivers/neutron/mapping.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { FaultProxy, type FaultKind } from '../harness/fault-proxy.ts';
import { runCli, tempDir } from '../support/cli.ts';
import { api, driver, neutronUrl, uniq } from './support.ts';

const exec = promisify(execFile);

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
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 60_000, waitMs: 100 });
  engines.push(e);
  return { e, records };
}

interface RawPort {
  id: string;
  name: string;
  network_id: string;
  mac_address: string;
  device_owner: string;
  description: string;
  tags: string[];
  'binding:host_id': string;
  port_security_enabled: boolean;
  security_groups: string[];
  allowed_address_pairs: { ip_address: string; mac_address: string }[];
  fixed_ips: { subnet_id: string; ip_address: string }[];
  project_id: string;
  revision_number: number;
}

const port = async (id: string) => api<{ port: RawPort }>('GET', `/v2.0/ports/${id}`);
const portsNamed = async (name: string) => (await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?name=${encodeURIComponent(name)}`)).body.ports;
const networkId = async (name: string) => (await api<{ networks: { id: string }[] }>('GET', `/v2.0/networks?name=${name}`)).body.networks[0]!.id;
/** The security group of SecurityGroup edge/<name>, found by its owner tag. */
const groupIds = async (name: string) =>
  (await api<{ security_groups: { id: string }[] }>('GET', `/v2.0/security-groups?tags=${ownerTag({ instance: 'netform', kind: 'SecurityGroup', namespace: 'edge', name })}`)).body.security_groups.map((g) => g.id);
const defaultGroupOf = async (project: string) => (await api<{ security_groups: { id: string }[] }>('GET', `/v2.0/security-groups?name=default&project_id=${project}`)).body.security_groups.map((g) => g.id);
const pairs = (p: RawPort) => p.allowed_address_pairs.map((a) => `${a.ip_address} ${a.mac_address}`).sort();

/** The `openstack` client (Debian's python3-openstackclient), pointed at the noauth endpoint. */
async function openstack(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await exec('openstack', ['--os-auth-type', 'none', '--os-endpoint', neutronUrl(), ...args, '-f', 'json'], {
    env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` },
    timeout: 120_000,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

const nextVlan = vlanSource('physnet1', 2300, 2599);
/** Each run's VLAN, fixed for the run. */
const vlans = new Map<string, number>();
const vlanOf = (run: string) => vlans.get(run) ?? (vlans.set(run, nextVlan()), vlans.get(run)!);

/** Provider (through the proxy; 2 s request timeout), network app-<run> (v4 + v6), a cluster and host carrying it, groups fw and fw2. */
function world(run: string): ManifestFile {
  const docs = [
    `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${proxy.url}", neutron: {auth: noauth}, requestTimeoutSeconds: 2}`,
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: app-${run}}\nspec:\n  physicalNetwork: physnet1\n  vlan: {id: ${vlanOf(run)}}\n  shared: true\n  providerRefs: [{name: os}]\n  subnets: [{name: v4, cidr: 10.83.1.0/24}, {name: v6, cidr: "fd00:83:1::/64"}]`,
    `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${run}}\nspec: {networks: [{name: app-${run}}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h1-${run}}\nspec: {cluster: c-${run}, nics: [{name: eth1}], networks: [{name: app-${run}, interface: eth1}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: SecurityGroup\nmetadata: {name: fw-${run}, namespace: edge}\nspec: {providerRefs: [{name: os}], rules: [{direction: ingress, protocol: tcp, portRangeMin: 443}]}`,
    `apiVersion: netform.io/v1alpha1\nkind: SecurityGroup\nmetadata: {name: fw2-${run}, namespace: edge}\nspec: {providerRefs: [{name: os}], rules: [{direction: ingress, protocol: udp, portRangeMin: 53}]}`,
  ];
  return { path: 'world.yaml', text: docs.join('\n---\n') };
}

/** One endpoint, in a file of its own (a refused document holds its whole file). */
const endpoint = (run: string, name: string, spec: string): ManifestFile => ({
  path: `${name}.yaml`,
  text: `apiVersion: netform.io/v1alpha1\nkind: ServiceEndpoint\nmetadata: {name: ${name}, namespace: edge}\nspec:\n  network: app-${run}\n${spec}`,
});

async function converge(e: Engine, files: ManifestFile[]): Promise<void> {
  const r = admit(files);
  expect(r.errors).toEqual([]);
  e.sync(r);
  expect(await e.settle(60_000)).toBe(true);
}

const conditions = (records: MemoryRecords, key: string) => Object.fromEntries((records.get(key)?.status.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason ?? ''}`.trim()]));
const portIdOf = (records: MemoryRecords, key: string) => (records.get(key)?.status.providers as { externalId?: string }[] | undefined)?.[0]?.externalId;
const owner = (name: string): Owner => ({ instance: 'netform', kind: 'ServiceEndpoint', namespace: 'edge', name });

describe('ServiceEndpoint on the real Neutron', () => {
  it('create: one port with the service as device_owner, the pairs, port security with the named group, bound to its host, owner-tagged; the openstack CLI agrees; an edit (service, pairs, group, host, address) keeps the port UUID', async () => {
    const run = uniq();
    const { e, records } = engine();
    const key = 'ServiceEndpoint/edge/lb';
    const spec1 = `  service: loadbalancer\n  description: the web VIP\n  host: h1-${run}\n  fixedIps: [{subnet: v4, ipAddress: 10.83.1.100}, {subnet: v6}]\n  allowedAddressPairs: [{ipAddress: 10.83.1.101}, {ipAddress: "fd00:83:1::/120", macAddress: "56:6F:00:00:0A:02"}]\n  securityGroups: [{name: fw-${run}}]\n`;
    await converge(e, [world(run), endpoint(run, 'lb', spec1)]);
    expect(conditions(records, key)).toMatchObject({ Ready: 'True Available', Synced: 'True ReconcileSuccess' });
    const id = portIdOf(records, key)!;
    const { status, body } = await port(id);
    expect(status).toBe(200);
    const p = body.port;
    expect(p).toMatchObject({
      name: 'edge/lb',
      description: 'the web VIP',
      network_id: await networkId(`app-${run}`),
      device_owner: 'netform:loadbalancer',
      'binding:host_id': `h1-${run}`,
      port_security_enabled: true,
    });
    const fw = await groupIds(`fw-${run}`);
    expect(fw).toHaveLength(1);
    expect(p.security_groups).toEqual(fw);
    expect(pairs(p)).toEqual([`10.83.1.101 ${p.mac_address}`, 'fd00:83:1::/120 56:6f:00:00:0a:02']);
    expect(p.fixed_ips.map((f) => f.ip_address).find((a) => a.includes('.'))).toBe('10.83.1.100');
    expect(p.fixed_ips.some((f) => f.ip_address.startsWith('fd00:83:1:'))).toBe(true);
    expect(p.tags).toEqual(expect.arrayContaining(ownerTags(owner('lb'))));
    // Status: the port's MAC, addresses and device_owner.
    expect(records.get(key)!.status).toMatchObject({ mac: p.mac_address, deviceOwner: 'netform:loadbalancer', addresses: p.fixed_ips.map((f) => f.ip_address) });
    // A client nobody here wrote.
    const shown = await openstack('port', 'show', id);
    expect(shown).toMatchObject({ id, device_owner: 'netform:loadbalancer', port_security_enabled: true, binding_host_id: `h1-${run}` });
    expect((shown.allowed_address_pairs as { ip_address: string }[]).map((a) => a.ip_address).sort()).toEqual(['10.83.1.101', 'fd00:83:1::/120']);

    // Edit in place: another service, other pairs, another group, no host, a new address; the same port.
    const spec2 = `  service: firewall\n  fixedIps: [{subnet: v4, ipAddress: 10.83.1.102}, {subnet: v6}]\n  allowedAddressPairs: [{ipAddress: 10.83.2.0/24}]\n  securityGroups: [{name: fw2-${run}}]\n`;
    const before = p.revision_number;
    await converge(e, [world(run), endpoint(run, 'lb', spec2)]);
    expect(conditions(records, key)).toMatchObject({ Ready: 'True Available' });
    expect(portIdOf(records, key)).toBe(id);
    const q = (await port(id)).body.port;
    expect(q.revision_number).toBeGreaterThan(before);
    expect(q).toMatchObject({ device_owner: 'netform:firewall', description: '', 'binding:host_id': '', port_security_enabled: true });
    expect(pairs(q)).toEqual([`10.83.2.0/24 ${p.mac_address}`]);
    const fw2 = await groupIds(`fw2-${run}`);
    expect(fw2).toHaveLength(1);
    expect(q.security_groups).toEqual(fw2);
    expect(q.fixed_ips.map((f) => f.ip_address)).toContain('10.83.1.102');
    // The allocated IPv6 address is kept.
    expect(q.fixed_ips.find((f) => f.ip_address.includes(':'))!.ip_address).toBe(p.fixed_ips.find((f) => f.ip_address.includes(':'))!.ip_address);
    expect(await portsNamed('edge/lb').then((l) => l.filter((x) => x.network_id === p.network_id).map((x) => x.id))).toEqual([id]);
    expect(records.get(key)!.status.deviceOwner).toBe('netform:firewall');
  }, 180_000);

  it('promiscuous on: port security off, no pairs, no groups, the same port; off again: port security back with the project default group', async () => {
    const run = uniq();
    const { e, records } = engine();
    const key = 'ServiceEndpoint/edge/ids';
    await converge(e, [world(run), endpoint(run, 'ids', '  service: ids\n  allowedAddressPairs: [{ipAddress: 10.83.1.0/24}]\n')]);
    const id = portIdOf(records, key)!;
    const p = (await port(id)).body.port;
    const defaults = await defaultGroupOf(p.project_id);
    expect(defaults).toHaveLength(1);
    // Naming no group, a new port gets the project's default group (Neutron's doing).
    expect(p).toMatchObject({ port_security_enabled: true, security_groups: defaults, device_owner: 'netform:ids' });
    expect(p.allowed_address_pairs).toHaveLength(1);

    await converge(e, [world(run), endpoint(run, 'ids', '  service: ids\n  promiscuous: true\n')]);
    expect(conditions(records, key)).toMatchObject({ Ready: 'True Available' });
    expect(portIdOf(records, key)).toBe(id);
    const q = (await port(id)).body.port;
    expect(q).toMatchObject({ port_security_enabled: false, security_groups: [], allowed_address_pairs: [] });

    await converge(e, [world(run), endpoint(run, 'ids', '  service: ids\n')]);
    expect(conditions(records, key)).toMatchObject({ Ready: 'True Available' });
    expect(portIdOf(records, key)).toBe(id);
    const r = (await port(id)).body.port;
    expect(r).toMatchObject({ port_security_enabled: true, security_groups: defaults, allowed_address_pairs: [] });
  }, 180_000);

  it('ObserveOnly import of a port someone else made: Ready without a write, drift reported (not fixed), the port left in place on removal', async () => {
    const run = uniq();
    const { e, records } = engine();
    const key = 'ServiceEndpoint/edge/vip';
    // The network first, then a load balancer's VIP port made on it out of band.
    await converge(e, [world(run)]);
    const made = await api<{ port: RawPort }>('POST', '/v2.0/ports', {
      port: { network_id: await networkId(`app-${run}`), name: `octavia-vip-${run}`, device_owner: 'Octavia', description: 'not netform', allowed_address_pairs: [{ ip_address: '10.83.1.200' }] },
    });
    expect(made.status).toBe(201);
    const theirs = made.body.port;
    const writesBefore = proxy.writes().length;
    const observe = (pairs: string) => endpoint(run, 'vip', `  service: loadbalancer\n  import: {name: octavia-vip-${run}}\n  managementPolicy: ObserveOnly\n  allowedAddressPairs: ${pairs}\n`);

    await converge(e, [world(run), observe('[{ipAddress: 10.83.1.200}]')]);
    expect(conditions(records, key)).toMatchObject({ Ready: 'True Available', Synced: 'True ReconcileSuccess' });
    expect(portIdOf(records, key)).toBe(theirs.id);
    expect(records.get(key)!.status).toMatchObject({ deviceOwner: 'Octavia', mac: theirs.mac_address });

    await converge(e, [world(run), observe('[{ipAddress: 10.83.1.201}]')]);
    expect(conditions(records, key)).toMatchObject({ Synced: 'False DriftDetected' });
    expect(records.get(key)!.status.providers).toMatchObject([{ externalId: theirs.id, synced: false, message: expect.stringContaining('allowedAddressPairs') }]);

    await converge(e, [world(run)]);
    expect(records.get(key)).toBeUndefined();
    const after = (await port(theirs.id)).body.port;
    // Never written: the same revision, its own name, owner, description and pairs, no netform tags.
    expect(after).toMatchObject({ revision_number: theirs.revision_number, name: `octavia-vip-${run}`, device_owner: 'Octavia', description: 'not netform', tags: [] });
    expect(after.allowed_address_pairs.map((a) => a.ip_address)).toEqual(['10.83.1.200']);
    expect(proxy.writes().slice(writesBefore).filter((w) => w.path.includes(theirs.id))).toEqual([]);
    await api('DELETE', `/v2.0/ports/${theirs.id}`);
  }, 180_000);

  it('removing an endpoint deletes its port and nothing else: a foreign port on the same network, named like it, stays', async () => {
    const run = uniq();
    const { e, records } = engine();
    await converge(e, [world(run), endpoint(run, 'rtr', '  service: router\n  fixedIps: [{subnet: v4, ipAddress: 10.83.1.254}]\n  allowedAddressPairs: [{ipAddress: 172.20.0.0/16}]\n')]);
    const id = portIdOf(records, 'ServiceEndpoint/edge/rtr')!;
    const net = await networkId(`app-${run}`);
    const foreign = await api<{ port: RawPort }>('POST', '/v2.0/ports', { port: { network_id: net, name: `edge/rtr`, device_owner: 'netform:router' } });
    expect(foreign.status).toBe(201);
    expect((await port(id)).status).toBe(200);

    await converge(e, [world(run)]);
    expect((await port(id)).status).toBe(404);
    expect((await port(foreign.body.port.id)).status).toBe(200);
    const deletes = proxy.log.filter((r) => r.method === 'DELETE' && r.path.startsWith('/v2.0/ports/'));
    expect(deletes.map((d) => d.path)).toContain(`/v2.0/ports/${id}`);
    expect(deletes.map((d) => d.path)).not.toContain(`/v2.0/ports/${foreign.body.port.id}`);
    await api('DELETE', `/v2.0/ports/${foreign.body.port.id}`);
  }, 180_000);

  // A port without a fixed MAC or address has no guard in Neutron against a second one: a create whose
  // answer is lost (or held past the client's timeout) must be found again by its pending marker.
  const faults: FaultKind[] = ['drop', 'delay'];
  it.each(faults)('a create whose answer is lost (%s) is adopted, not duplicated', async (kind) => {
    const run = uniq();
    const { e, records } = engine();
    const key = `ServiceEndpoint/edge/fw-${kind}`;
    await converge(e, [world(run)]);
    let hit = 0;
    proxy.faults({ rate: 1, seed: 11, kinds: [kind], delayMs: 2_800, eligible: (r) => r.method === 'POST' && r.path === '/v2.0/ports' && r.body.includes(pendingMarker(owner(`fw-${kind}`))) && ++hit === 1 });
    await converge(e, [world(run), endpoint(run, `fw-${kind}`, '  service: firewall\n')]);
    expect(hit).toBeGreaterThanOrEqual(1);
    expect(proxy.log.filter((r) => r.fault === kind && r.body.includes(pendingMarker(owner(`fw-${kind}`))))).toHaveLength(1);
    // Whatever was still on its way has landed by now.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(conditions(records, key)).toMatchObject({ Ready: 'True Available' });
    const mine = (await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?network_id=${await networkId(`app-${run}`)}`)).body.ports.filter((p) => p.name === `edge/fw-${kind}`);
    expect(mine, JSON.stringify(mine)).toHaveLength(1);
    expect(mine[0]!.id).toBe(portIdOf(records, key));
    expect(mine[0]!.tags).toContain(ownerTag(owner(`fw-${kind}`)));
    expect(mine[0]!.description).toBe('');
  }, 180_000);
});

describe('ServiceEndpoint in the netform command', () => {
  it('plan shows its port to create; apply makes it; status lists it with its service and MAC; its network waits for it, then both go', async () => {
    const run = uniq();
    const dir = tempDir('neutron-service-endpoint');
    const state = join(dir, '.state');
    const vlan = vlanOf(`cli-${run}`);
    const net = `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: cli-${run}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${vlan}}, shared: true, subnets: [{name: v4, cidr: 10.84.1.0/24}], providerRefs: [{name: os}]}\n`;
    const ep = `apiVersion: netform.io/v1alpha1\nkind: ServiceEndpoint\nmetadata: {name: fw, namespace: edge}\nspec: {network: cli-${run}, service: firewall, fixedIps: [{subnet: v4, ipAddress: 10.84.1.1}]}\n`;
    writeFileSync(join(dir, 'provider.yaml'), `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}\n`);
    writeFileSync(join(dir, 'network.yaml'), net);
    writeFileSync(join(dir, 'endpoint.yaml'), ep);
    const cli = (...args: string[]) => runCli(args, { real: true });

    const plan = await cli('plan', '--dir', dir, '--state', state);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(`+ Network/cli-${run}  neutron:os network  (create)`);
    expect(plan.stdout).toContain('+ ServiceEndpoint/edge/fw  neutron:os port  (create)');

    const applied = await cli('apply', '--dir', dir, '--state', state, '--timeout', '90');
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const [p, ...more] = (await api<{ ports: RawPort[] }>('GET', `/v2.0/ports?network_id=${await networkId(`cli-${run}`)}&device_owner=netform:firewall`)).body.ports;
    expect(more).toEqual([]);
    expect(p!.fixed_ips.map((f) => f.ip_address)).toEqual(['10.84.1.1']);
    const table = (await cli('status', '--state', state)).stdout;
    expect(table).toMatch(new RegExp(`ServiceEndpoint/edge/fw +True +True +firewall ${p!.mac_address}`));
    expect((await cli('plan', '--dir', dir, '--state', state)).code).toBe(0);

    // The network is removed while the endpoint still names it: the endpoint is refused (and held as it
    // was), the network waits for it.
    writeFileSync(join(dir, 'network.yaml'), '# removed\n');
    await cli('apply', '--dir', dir, '--state', state, '--timeout', '20');
    const st = JSON.parse((await cli('status', '--state', state, '-o', 'json')).stdout) as { key: string; status: { conditions?: { type: string; reason: string; message?: string }[] } }[];
    expect(st.find((x) => x.key === `Network/cli-${run}`)?.status.conditions?.find((c) => c.type === 'Synced')).toMatchObject({ reason: 'DeletionBlocked', message: 'still used by ServiceEndpoint/edge/fw' });
    expect((await port(p!.id)).status).toBe(200);

    writeFileSync(join(dir, 'endpoint.yaml'), '# removed\n');
    await cli('apply', '--dir', dir, '--state', state, '--timeout', '60');
    expect((await port(p!.id)).status).toBe(404);
    expect((await cli('apply', '--dir', dir, '--state', state, '--timeout', '60')).code).toBe(0);
    expect((await api<{ networks: unknown[] }>('GET', `/v2.0/networks?name=cli-${run}`)).body.networks).toEqual([]);
  }, 240_000);
});

describe('NeutronServiceEndpoints, the driver alone', () => {
  const ctx = (): DriverContext => ({ signal: new AbortController().signal, log: pino({ level: 'silent' }) });

  it('an update against a revision someone else moved on from is a Conflict, and writes nothing', async () => {
    const run = uniq();
    const net = await api<{ network: { id: string } }>('POST', '/v2.0/networks', { network: { name: `cas-${run}`, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': nextVlan() } });
    expect(net.status).toBe(201);
    const d = driver();
    const o = owner(`cas-${run}`);
    const m = { name: `edge/cas-${run}`, service: 'firewall', network: 'x', networkExternalId: net.body.network.id, promiscuous: false, allowedAddressPairs: [] };
    const made = await d.serviceEndpoints.create(ctx(), o, m);
    expect(d.serviceEndpoints.diff(m, made.state)).toEqual([]);
    const stale = (await d.serviceEndpoints.observe(ctx(), { owner: o, desired: m, externalId: made.externalId }))!;
    expect((await api('PUT', `/v2.0/ports/${made.externalId}`, { port: { description: 'someone else' } })).status).toBe(200);
    const edited = { ...m, promiscuous: true };
    await expect(d.serviceEndpoints.update(ctx(), o, stale, edited, d.serviceEndpoints.diff(edited, stale.state))).rejects.toMatchObject({ errorClass: 'Conflict' });
    expect((await port(made.externalId)).body.port).toMatchObject({ description: 'someone else', port_security_enabled: true });
    await d.serviceEndpoints.delete(ctx(), stale);
    expect((await port(made.externalId)).status).toBe(404);
    await d.serviceEndpoints.delete(ctx(), stale);
    await api('DELETE', `/v2.0/networks/${net.body.network.id}`);
    await d.close();
  }, 60_000);
});

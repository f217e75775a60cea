// netform plan against the real Neutron: the impact of network changes on the VMs whose ports are on
// the network (a VLAN renumbered is a replace of the Neutron network and a connectivity loss for
// each VM; an MTU change a re-plug; a QoS change nothing), a network deletion blocked by its vNICs,
// and exit 1 when a backend cannot be observed. A firewall's ServiceEndpoint on the network is reached
// as the VMs are, and its own port re-made (a new MAC) is named. Hosts have no agents here: they are
// listed as unknown.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { reserveVlans } from '../support/vlans.ts';
import { ROOT, runCli, tempDir } from '../support/cli.ts';
import { api, networksNamed, neutronUrl, uniq } from './support.ts';

const id = uniq();
const NET = `pi-${id}`;
const VLAN = reserveVlans('physnet2', 2, 2420, 2599);
const dir = tempDir('neutron-plan-impact');
const state = join(dir, '.state');

interface Doc {
  exitCode: number;
  summary: { impact: string; replace: number; update: number };
  hosts: { name: string; reported: boolean }[];
  items: { object: string; target: string; resource: string; action: string; message?: string; impact?: { kind: string; vm?: string; endpoint?: string; network?: string; reason: string }[] }[];
}
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas/plan.v1.json'), 'utf8')) as object);

function write(o: { vlan?: number; mtu?: number; qos?: boolean; endpoint?: string; withNetwork?: boolean; fwMac?: string } = {}): void {
  writeFileSync(join(dir, 'provider.yaml'), `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${o.endpoint ?? neutronUrl()}", neutron: {auth: noauth}}\n`);
  writeFileSync(
    join(dir, 'network.yaml'),
    o.withNetwork === false
      ? '# deleted\n'
      : `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${NET}}\nspec: {physicalNetwork: physnet2, vlan: {id: ${o.vlan ?? VLAN}}, mtu: ${o.mtu ?? 1500}, shared: true, allowReplace: true, providerRefs: [{name: os}]${o.qos ? ', qos: {maxRateKbps: 10000}' : ''}}\n`,
  );
  writeFileSync(
    join(dir, 'rest.yaml'),
    [
      `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c-${id}}\nspec: {networks: [{name: ${NET}, required: false}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h-${id}}\nspec: {cluster: c-${id}, nics: [{name: eth1}]}`,
      ...['vm1', 'vm2'].map((vm) => `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: ${vm}-nic0, namespace: shop}\nspec: {vm: {name: ${vm}}, interfaceName: nic0, network: ${NET}, host: h-${id}}`),
      `apiVersion: netform.io/v1alpha1\nkind: ServiceEndpoint\nmetadata: {name: fw, namespace: shop}\nspec: {network: ${NET}, service: firewall, host: h-${id}${o.fwMac ? `, mac: "${o.fwMac}"` : ''}}`,
    ].join('\n---\n'),
  );
}

async function plan(): Promise<Doc> {
  const r = await runCli(['plan', '--dir', dir, '--state', state, '-o', 'json'], { real: true });
  const doc = JSON.parse(r.stdout) as Doc;
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  expect(r.code).toBe(doc.exitCode);
  return doc;
}
const vmImpacts = (d: Doc) => [...new Set(d.items.flatMap((i) => (i.impact ?? []).map((x) => `${x.kind}:${x.vm ?? (x.endpoint ? `endpoint ${x.endpoint}` : x.network)}`)))].sort();

beforeAll(async () => {
  write();
  // The ports are made; the Host has no agent, so apply does not call everything Ready.
  await runCli(['apply', '--dir', dir, '--state', state, '--timeout', '60'], { real: true });
  // The network and both VMs' ports exist in Neutron (read with its API).
  const [n] = await networksNamed(NET);
  expect(n).toBeDefined();
  const ports = await api<{ ports: { network_id: string }[] }>('GET', `/v2.0/ports?network_id=${n!.id}&device_owner=compute:netform`);
  expect(ports.body.ports.length).toBe(2);
  // And the firewall's port, bound to the host.
  const fw = await api<{ ports: { 'binding:host_id': string }[] }>('GET', `/v2.0/ports?network_id=${n!.id}&device_owner=netform:firewall`);
  expect(fw.body.ports.map((p) => p['binding:host_id'])).toEqual([`h-${id}`]);
}, 180_000);

describe('netform plan: impact of network changes on the real Neutron', () => {
  it('nothing changed: exit 0, the agent-less host is unknown', async () => {
    const d = await plan();
    expect(d.exitCode).toBe(0);
    expect(d.hosts).toEqual([{ name: `h-${id}`, reported: false }]);
    expect(d.summary.impact).toBe('no VM is affected');
  }, 60_000);

  it('VLAN renumbered: the Neutron network is replaced and both VMs lose connectivity', async () => {
    write({ vlan: VLAN + 1 });
    const d = await plan();
    expect(d.exitCode).toBe(2);
    const net = d.items.find((i) => i.object === `Network/${NET}` && i.target === 'neutron:os' && i.resource === 'network');
    expect(net?.action).toBe('replace');
    expect(vmImpacts(d)).toEqual(['connectivity-loss:endpoint shop/fw', `connectivity-loss:shop/vm1`, `connectivity-loss:shop/vm2`, `replace:${NET}`]);
    expect(d.summary.impact).toBe('2 VMs lose connectivity during the change, 1 service endpoint loses connectivity during the change');
  }, 60_000);

  it('MTU raised: an update, and both VMs need a re-plug', async () => {
    write({ mtu: 9000 });
    const d = await plan();
    expect(d.items.find((i) => i.object === `Network/${NET}` && i.target === 'neutron:os')?.action).toBe('update');
    expect(vmImpacts(d)).toEqual(['replug:endpoint shop/fw', 'replug:shop/vm1', 'replug:shop/vm2']);
    expect(d.summary.impact).toBe('2 VMs need a re-plug, 1 service endpoint needs a re-plug');
  }, 60_000);

  it('QoS added: an update that affects no VM', async () => {
    write({ qos: true });
    const d = await plan();
    expect(d.exitCode).toBe(2);
    expect(vmImpacts(d)).toEqual([]);
    expect(d.summary.impact).toBe('no VM is affected');
  }, 60_000);

  it('the network deleted while its vNICs and the endpoint remain: blocked, held by both VMs and the endpoint (exit 1)', async () => {
    write({ withNetwork: false });
    const d = await plan();
    expect(d.exitCode).toBe(1);
    expect(d.items).toContainEqual(expect.objectContaining({ object: `Network/${NET}`, action: 'blocked' }));
    expect(vmImpacts(d)).toEqual(['blocking:endpoint shop/fw', 'blocking:shop/vm1', 'blocking:shop/vm2']);
  }, 60_000);

  it("the endpoint's MAC changed: its port is re-made, and the plan names it (text and JSON)", async () => {
    write({ fwMac: 'fa:16:3e:0f:0f:0f' });
    const d = await plan();
    expect(d.exitCode).toBe(2);
    const port = d.items.find((i) => i.object === 'ServiceEndpoint/shop/fw');
    expect(port).toMatchObject({ target: 'neutron:os', resource: 'port', action: 'replace' });
    expect(port!.impact).toEqual([{ kind: 'connectivity-loss', endpoint: 'shop/fw', service: 'firewall', host: `h-${id}`, network: NET, reason: "the endpoint's port is re-made" }]);
    expect(d.summary.impact).toBe('1 service endpoint loses connectivity during the change');
    const text = await runCli(['plan', '--dir', dir, '--state', state], { real: true });
    expect(text.stdout.split('\n')).toContain(`    impact: service endpoint shop/fw (firewall on h-${id}) loses connectivity during the change: the endpoint's port is re-made`);
    expect(text.stdout.split('\n')).toContain('impact: 1 service endpoint loses connectivity during the change');
    write();
  }, 60_000);

  it('a backend that cannot be observed: exit 1', async () => {
    write({ endpoint: 'http://127.0.0.1:9' });
    const d = await plan();
    expect(d.exitCode).toBe(1);
    expect(d.items.some((i) => i.target === 'neutron:os' && i.action === 'unknown')).toBe(true);
    write();
  }, 60_000);
});

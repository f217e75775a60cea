// An edit of a network's own attributes right after netform wrote it goes straight to a
// compare-and-swap PUT (issue 15, latency): no reads before it. Anyone else's change meanwhile moves
// the revision, Neutron answers 412, and the retry reads before it writes. Counted from a proxy's own
// log in front of the real Neutron, not from netform.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { FaultProxy, type LoggedRequest } from '../harness/fault-proxy.ts';
import { waitFor } from '../support/cli.ts';
import { reserveVlans } from '../support/vlans.ts';
import { api, networksNamed, neutronUrl, uniq } from './support.ts';

let proxy: FaultProxy;
const engines: Engine[] = [];
beforeAll(async () => {
  proxy = new FaultProxy({ target: neutronUrl() });
  await proxy.start();
});
afterAll(async () => {
  await proxy.stop();
});
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
});

const vlan = reserveVlans('physnet1', 1, 1000, 2099);

function engine(): { e: Engine; records: MemoryRecords } {
  const records = new MemoryRecords();
  const registry = new DriverRegistry().register('neutron', (c, d) => new NeutronDriver(c, d.log));
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 600_000, waitMs: 200 });
  engines.push(e);
  return { e, records };
}

const docs = (name: string, mtu: number, subnet = '') => [
  { path: 'p.yaml', text: `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${proxy.url}", neutron: {auth: noauth}}` },
  { path: 'n.yaml', text: `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${name}}\nspec:\n  physicalNetwork: physnet1\n  vlan: {id: ${vlan}}\n  mtu: ${mtu}\n  providerRefs: [{name: os}]\n  subnets: [{name: a, cidr: 10.91.0.0/24}${subnet}]` },
];

/** The requests about network `id` (itself, its subnets — by path or body —, QoS policies) from log entry `from` on. */
const about = (id: string, from: number): LoggedRequest[] => proxy.log.slice(from).filter((r) => r.path.includes(id) || r.body.includes(id) || r.path.startsWith('/v2.0/qos/policies?'));
const mtuOf = async (name: string) => (await networksNamed(name))[0]?.mtu;

describe('an edit right after a write', () => {
  it('PUTs at once; a change by anyone else meanwhile is a 412 and a retry that reads; subnets are read before they change', async () => {
    const name = `er-${uniq()}`;
    const { e } = engine();
    e.sync(admit(docs(name, 1500)));
    await waitFor('created', async () => (await mtuOf(name)) === 1500 && e.states().find((s) => s.key === `Network/${name}`)?.state === 'ready');
    const id = (await networksNamed(name))[0]!.id;

    // The first edit after the create reads first (a create's answers do not give the network's
    // latest revision); its update ends with a read, which the next edit starts from.
    let from = proxy.log.length;
    e.sync(admit(docs(name, 1480)));
    await waitFor('mtu 1480', async () => (await mtuOf(name)) === 1480 && e.states().find((s) => s.key === `Network/${name}`)?.state === 'ready');
    expect(about(id, from)[0]!.method).toBe('GET');

    // An MTU edit: the first request about the network is the PUT, compare-and-swap on the revision.
    from = proxy.log.length;
    e.sync(admit(docs(name, 1400)));
    await waitFor('mtu 1400', async () => (await mtuOf(name)) === 1400 && e.states().find((s) => s.key === `Network/${name}`)?.state === 'ready');
    const first = about(id, from)[0]!;
    expect(`${first.method} ${first.path}`).toBe(`PUT /v2.0/networks/${id}`);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ network: { mtu: 1400 } });

    // Someone else changes the network; the next edit's PUT is refused (412), then read, then made.
    await api('PUT', `/v2.0/networks/${id}`, { network: { description: 'changed by hand' } });
    from = proxy.log.length;
    e.sync(admit(docs(name, 1450)));
    await waitFor('mtu 1450', async () => (await mtuOf(name)) === 1450 && e.states().find((s) => s.key === `Network/${name}`)?.state === 'ready');
    const seen = about(id, from).map((r) => `${r.method} ${r.path.replace(/\?.*/, '')} ${r.status}`);
    expect(seen[0]).toBe(`PUT /v2.0/networks/${id} 412`);
    const reread = seen.indexOf(`GET /v2.0/networks/${id} 200`);
    expect(reread).toBeGreaterThan(0);
    expect(seen.indexOf(`PUT /v2.0/networks/${id} 200`)).toBeGreaterThan(reread);
    // The hand-made description is undone (the spec declares none), with the MTU.
    expect((await networksNamed(name))[0]).toMatchObject({ mtu: 1450, description: '' });

    // A subnet added: read before the write (the subnets could have changed without the revision).
    from = proxy.log.length;
    e.sync(admit(docs(name, 1450, ', {name: b, cidr: 10.91.1.0/24}')));
    await waitFor('subnet b', async () => (await api<{ subnets: unknown[] }>('GET', `/v2.0/subnets?network_id=${id}`)).body.subnets.length === 2 && e.states().find((s) => s.key === `Network/${name}`)?.state === 'ready');
    const subnetReads = about(id, from).map((r) => `${r.method} ${r.path.replace(/\?.*/, '')}`);
    expect(subnetReads.indexOf('GET /v2.0/subnets')).toBeGreaterThanOrEqual(0);
    expect(subnetReads.indexOf('GET /v2.0/subnets')).toBeLessThan(subnetReads.indexOf('POST /v2.0/subnets'));
    expect(await networksNamed(name)).toHaveLength(1);

    e.sync(admit(docs(name, 1450).slice(0, 1)));
    await waitFor('deleted', async () => (await networksNamed(name)).length === 0, 30_000);
  });
});

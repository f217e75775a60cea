// Bulk creates on the real Neutron (ADR 24): creates of many reconciles coalesced into bulk POSTs,
// one bad member refused alone, and a bulk whose answer was lost adopted after a restart. The wire is
// counted by a recording proxy in front of Neutron; every check reads Neutron directly.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { ownerTag } from '../../src/drivers/neutron/mapping.ts';
import { BULK_MS_PER_OBJECT } from '../../src/drivers/neutron/shared.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { HoldProxy } from '../harness/hold-proxy.ts';
import { FaultProxy } from '../harness/fault-proxy.ts';
import { reserveVlans } from '../support/vlans.ts';
import { api, neutronUrl, uniq, type RawNetwork } from './support.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';

// VLANs of physnet2 within 3000..3799: no other file uses that range (reserved against every file of
// this run, test/support/vlans.ts).
const vlans = (count: number) => reserveVlans('physnet2', count, 3000, 3799);

let proxy: HoldProxy;
let faulty: FaultProxy;
let engines: Engine[] = [];
beforeAll(async () => {
  proxy = new HoldProxy(neutronUrl());
  await proxy.start();
  faulty = new FaultProxy({ target: neutronUrl() });
  await faulty.start();
});
afterAll(async () => {
  await proxy.stop();
  await faulty.stop();
});
afterEach(async () => {
  proxy.clearHolds();
  faulty.faults(undefined);
  for (const e of engines) await e.stop();
  engines = [];
});

function engine(): { e: Engine; records: MemoryRecords; drivers: NeutronDriver[] } {
  const drivers: NeutronDriver[] = [];
  const records = new MemoryRecords();
  const registry = new DriverRegistry().register('neutron', (c, d) => {
    const x = new NeutronDriver(c, d.log);
    drivers.push(x);
    return x;
  });
  const log = pino({ level: process.env.TEST_LOG ? 'debug' : 'silent' }, pino.destination(process.env.TEST_LOG ?? '/dev/null'));
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log, waitMs: 200, concurrency: 16 });
  engines.push(e);
  return { e, records, drivers };
}

const provider = (run: string, endpoint: string, timeoutS = 30) =>
  `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os-${run}}\nspec: {type: neutron, endpoint: "${endpoint}", neutron: {auth: noauth}, requestTimeoutSeconds: ${timeoutS}, maxConcurrency: 8}`;

const network = (run: string, name: string, vlan: number, cidr: string) =>
  `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${name}}\nspec: {physicalNetwork: physnet2, vlan: {id: ${vlan}}, subnets: [{name: s, cidr: ${cidr}}], providerRefs: [{name: os-${run}}]}`;

const owner = (name: string) => ({ instance: 'netform', kind: 'Network' as const, name });

/** Every network on Neutron whose name starts with `prefix`. */
async function networksLike(prefix: string): Promise<RawNetwork[]> {
  return (await api<{ networks: RawNetwork[] }>('GET', '/v2.0/networks')).body.networks.filter((n) => n.name.startsWith(prefix));
}

const posts = (path: string, since: number) => proxy.log.slice(since).filter((r) => r.method === 'POST' && r.path.split('?')[0] === path);
const bulkSize = (body: string, key: string) => ((JSON.parse(body) as Record<string, unknown[]>)[key] ?? [null]).length;

describe('bulk creates on Neutron', () => {
  it('36 networks with a subnet each, created concurrently through the engine, go out as bulk POSTs: one network per owner, all Ready', async () => {
    const run = uniq();
    const N = 36;
    const vlan = vlans(N);
    const { e, drivers } = engine();
    const docs = [provider(run, proxy.url)];
    for (let i = 0; i < N; i++) docs.push(network(run, `bk-${run}-${i}`, vlan + i, `10.91.${i}.0/24`));
    const since = proxy.log.length;
    e.sync(admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]));
    expect(await e.settle(300_000)).toBe(true);
    expect(e.states().filter((s) => s.state !== 'ready')).toEqual([]);

    const netPosts = posts('/v2.0/networks', since);
    const subnetPosts = posts('/v2.0/subnets', since);
    const sizes = netPosts.map((r) => bulkSize(r.body, 'networks'));
    console.log(`[bulk] ${N} networks: ${netPosts.length} network POSTs (sizes ${sizes.join(',')}), ${subnetPosts.length} subnet POSTs (sizes ${subnetPosts.map((r) => bulkSize(r.body, 'subnets')).join(',')}); client ${JSON.stringify(drivers[0]!.client.calls)}`);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(N); // every network POSTed once, none twice
    expect(netPosts.length).toBeLessThanOrEqual(N / 3);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(subnetPosts.length).toBeLessThanOrEqual(N / 3);
    // Subnets are marked in their POST (their description), networks tagged with one PUT each; no network PUT.
    const puts = proxy.log.slice(since).filter((r) => r.method === 'PUT');
    expect(puts.filter((r) => /^\/v2\.0\/subnets\//.test(r.path))).toEqual([]);
    expect(puts.filter((r) => /^\/v2\.0\/networks\/[^/]+\/tags$/.test(r.path))).toHaveLength(N);
    expect(puts).toHaveLength(N);

    const nets = await networksLike(`bk-${run}-`);
    expect(nets).toHaveLength(N);
    for (let i = 0; i < N; i++) {
      const mine = nets.filter((n) => n.tags.includes(ownerTag(owner(`bk-${run}-${i}`))));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ name: `bk-${run}-${i}`, 'provider:segmentation_id': vlan + i });
      expect(mine[0]!.subnets).toHaveLength(1);
    }

    // A no-op re-check after the creates: no writes.
    const calls = drivers[0]!.client.calls;
    const before = { ...calls };
    e.resyncAll();
    expect(await e.settle(120_000)).toBe(true);
    expect(calls.POST - before.POST + calls.PUT - before.PUT + calls.DELETE - before.DELETE).toBe(0);

    e.sync(admit([{ path: 'm.yaml', text: provider(run, proxy.url) }]));
    expect(await e.settle(300_000)).toBe(true);
    expect(await networksLike(`bk-${run}-`)).toEqual([]);
  }, 600_000);

  it('a bulk with one bad member (its VLAN held by a foreign network): the others are created, the bad one reports its own error', async () => {
    const run = uniq();
    const vlan = vlans(10);
    const foreign = await api<{ network: { id: string } }>('POST', '/v2.0/networks', {
      network: { name: `foreign-${run}`, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet2', 'provider:segmentation_id': vlan + 5 },
    });
    expect(foreign.status).toBe(201);
    try {
      const { e, drivers } = engine();
      const docs = [provider(run, proxy.url)];
      for (let i = 0; i < 10; i++) docs.push(network(run, `bb-${run}-${i}`, vlan + i, `10.92.${i}.0/24`));
      e.sync(admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]));
      expect(await e.settle(120_000)).toBe(true);
      const states = new Map(e.states().map((s) => [s.key, s]));
      for (let i = 0; i < 10; i++) {
        const s = states.get(`Network/bb-${run}-${i}`)!;
        if (i === 5) {
          expect(s.state).not.toBe('ready');
          expect(JSON.stringify(s)).toMatch(new RegExp(`VLAN ${vlan + 5} on physical network physnet2 is in use`));
        } else expect(s.state).toBe('ready');
      }
      // A bulk went out and was refused as a whole; its members were sent again one by one.
      expect(drivers[0]!.bulk.networks.sent.fallbacks).toBeGreaterThanOrEqual(1);
      const nets = await networksLike(`bb-${run}-`);
      expect(nets.map((n) => n.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `bb-${run}-${i}`).filter((n) => n !== `bb-${run}-5`).sort());
      for (const n of nets) expect(n.subnets).toHaveLength(1);
      e.sync(admit([{ path: 'm.yaml', text: provider(run, proxy.url) }]));
      expect(await e.settle(120_000)).toBe(true);
      expect(await networksLike(`bb-${run}-`)).toEqual([]);
    } finally {
      await api('DELETE', `/v2.0/networks/${foreign.body.network.id}`);
    }
  }, 300_000);

  it('a bulk member refused for its VLAN adopts the half-marked network of ours holding the segment; the other members are made', async () => {
    const run = uniq();
    const N = 8;
    const vlan = vlans(N);
    const name = (i: number) => `bh-${run}-${i}`;
    // An interrupted write left member 3's network half-marked (this installation's tags, no owner
    // tag, no marker), and it was renamed out of band: its owner's look-ups miss it, its segment does not.
    const left = await api<{ network: RawNetwork }>('POST', '/v2.0/networks', {
      network: { name: `${name(3)}-renamed`, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet2', 'provider:segmentation_id': vlan + 3 },
    });
    expect(left.status).toBe(201);
    expect((await api('PUT', `/v2.0/networks/${left.body.network.id}/tags`, { tags: ['netform', 'nf-inst:netform'] })).status).toBe(200);
    const { e, drivers } = engine();
    const since = proxy.log.length;
    const docs = [provider(run, proxy.url), ...Array.from({ length: N }, (_, i) => network(run, name(i), vlan + i, `10.95.${i}.0/24`))];
    e.sync(admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]));
    expect(await e.settle(120_000)).toBe(true);
    expect(e.states().filter((s) => s.state !== 'ready')).toEqual([]);
    // Member 3 went out in a bulk, which Neutron refused; the members were sent again one by one.
    const refused = posts('/v2.0/networks', since).filter((r) => bulkSize(r.body, 'networks') > 1 && r.body.includes(`"name":"${name(3)}"`));
    expect(refused.map((r) => r.status)).toEqual([409]);
    expect(drivers[0]!.bulk.networks.sent.fallbacks).toBe(1);
    const nets = await networksLike(`bh-${run}-`);
    expect(nets.map((n) => n.name).sort()).toEqual(Array.from({ length: N }, (_, i) => name(i)).sort());
    const adopted = nets.find((n) => n.name === name(3))!;
    expect(adopted.id).toBe(left.body.network.id);
    expect(adopted.tags).toContain(ownerTag(owner(name(3))));
    expect(adopted.subnets).toHaveLength(1);
    e.sync(admit([{ path: 'm.yaml', text: provider(run, proxy.url) }]));
    expect(await e.settle(120_000)).toBe(true);
    expect(await networksLike(`bh-${run}-`)).toEqual([]);
  }, 300_000);

  it('a bulk POST committed whose answer was lost: a restart with no records adopts every member, no duplicates', async () => {
    const run = uniq();
    const N = 8;
    const vlan = vlans(N);
    const docs = (endpoint: string, timeoutS: number) => [provider(run, endpoint, timeoutS), ...Array.from({ length: N }, (_, i) => network(run, `bl-${run}-${i}`, vlan + i, `10.93.${i}.0/24`))];
    // The first bulk of networks is committed by Neutron, and its answer never reaches netform.
    const held = proxy.holdAnswer((r) => r.method === 'POST' && r.path === '/v2.0/networks' && r.body.includes(`bl-${run}-`) && bulkSize(r.body, 'networks') > 1);
    const first = engine();
    first.e.sync(admit([{ path: 'm.yaml', text: docs(proxy.url, 3).join('\n---\n') }]));
    const answer = await held;
    expect(answer.status).toBe(201);
    const committed = (JSON.parse(answer.answer) as { networks: RawNetwork[] }).networks;
    expect(committed.length).toBeGreaterThan(1);
    // The process dies with the bulk in doubt (its records with it).
    await first.e.stop();
    engines = engines.filter((x) => x !== first.e);
    const atKill = await networksLike(`bl-${run}-`);
    expect(atKill.filter((n) => n.tags.length === 0 && n.description.startsWith('netform-pending:')).length).toBeGreaterThanOrEqual(committed.length);

    // A new process, empty records, straight to Neutron.
    const second = engine();
    second.e.sync(admit([{ path: 'm.yaml', text: docs(neutronUrl(), 30).join('\n---\n') }]));
    expect(await second.e.settle(120_000)).toBe(true);
    expect(second.e.states().filter((s) => s.state !== 'ready')).toEqual([]);
    const nets = await networksLike(`bl-${run}-`);
    expect(nets).toHaveLength(N);
    for (let i = 0; i < N; i++) {
      const mine = nets.filter((n) => n.name === `bl-${run}-${i}`);
      expect(mine).toHaveLength(1);
      expect(mine[0]!.tags).toContain(ownerTag(owner(`bl-${run}-${i}`)));
      expect(mine[0]!.subnets).toHaveLength(1);
    }
    // The committed members were adopted, not made again.
    for (const c of committed) expect(nets.map((n) => n.id)).toContain(c.id);
    second.e.sync(admit([{ path: 'm.yaml', text: provider(run, neutronUrl()) }]));
    expect(await second.e.settle(120_000)).toBe(true);
    expect(await networksLike(`bl-${run}-`)).toEqual([]);
  }, 300_000);

  // A bulk whose answer is lost fails every member as uncertain; each member's next create must find
  // the committed network by its marker and adopt it. A member POSTed again would only be refused by
  // its VLAN (a network without a VLAN would be duplicated), so the wire is checked: every member's
  // name is in exactly one forwarded network POST.
  it.each([
    ['dropped after Neutron answered', 'drop'],
    ['held on its way past the client timeout, then forwarded', 'delay'],
  ] as const)('a bulk POST of networks whose answer is lost (%s): the engine adopts every member, none POSTed twice', async (_what, kind) => {
    const run = uniq();
    const N = 16;
    const vlan = vlans(N);
    const name = (i: number) => `bd-${run}-${i}`;
    let faulted = 0;
    const since = faulty.log.length;
    faulty.faults({
      rate: 1,
      seed: 1,
      kinds: [kind],
      // Past the bulk's own timeout (2 s, and 250 ms a member more: BULK_MS_PER_OBJECT).
      delayMs: 2_000 + N * BULK_MS_PER_OBJECT + 1_000,
      eligible: (r) => r.method === 'POST' && r.path === '/v2.0/networks' && r.body.includes(`bd-${run}-`) && bulkSize(r.body, 'networks') > 1 && ++faulted === 1,
    });
    const { e } = engine();
    const docs = [provider(run, faulty.url, 2), ...Array.from({ length: N }, (_, i) => network(run, name(i), vlan + i, `10.94.${i}.0/24`))];
    e.sync(admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]));
    expect(await e.settle(180_000)).toBe(true);
    expect(e.states().filter((s) => s.state !== 'ready')).toEqual([]);
    const log = faulty.log.slice(since);
    const lost = log.filter((r) => r.fault === kind && r.path === '/v2.0/networks');
    expect(lost).toHaveLength(1);
    const lostMembers = (JSON.parse(lost[0]!.body) as { networks: { name: string }[] }).networks.map((n) => n.name);
    expect(lostMembers.length).toBeGreaterThan(1);
    // Give a request held on its way time to land before Neutron is read.
    await new Promise((r) => setTimeout(r, 3_000));

    // Every member POSTed once (the lost bulk included), never again.
    const forwarded = log.filter((r) => r.method === 'POST' && r.path === '/v2.0/networks' && r.fault !== 'status' && r.fault !== 'reset');
    for (let i = 0; i < N; i++) {
      const sent = forwarded.filter((r) => r.body.includes(`"name":"${name(i)}"`)).length;
      expect(sent, `${name(i)} POSTed ${sent} times`).toBe(1);
    }
    // Neutron holds exactly one network per member, marked as its owner's, with its subnet.
    const nets = await networksLike(`bd-${run}-`);
    expect(nets).toHaveLength(N);
    for (let i = 0; i < N; i++) {
      const mine = nets.filter((n) => n.name === name(i));
      expect(mine).toHaveLength(1);
      expect(mine[0]!.tags).toContain(ownerTag(owner(name(i))));
      expect(mine[0]!.subnets).toHaveLength(1);
    }

    e.sync(admit([{ path: 'm.yaml', text: provider(run, faulty.url, 2) }]));
    expect(await e.settle(120_000)).toBe(true);
    expect(await networksLike(`bd-${run}-`)).toEqual([]);
  }, 300_000);
});

// The UCSM driver's VnicProfile resource on the UCSM emulator (ADR 17): a QoS policy for the outbound
// limit and a port profile of the profile's own. Every check reads the emulator — through its XML API
// or its object tree — never the driver.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { BackendError } from '../../src/api/errors.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { ownerDigest, type DriverContext, type Owner } from '../../src/drivers/driver.ts';
import type { VnicProfileModel } from '../../src/drivers/model.ts';
import { UcsmDriver } from '../../src/drivers/ucsm/driver.ts';
import { marker } from '../../src/drivers/ucsm/mapping.ts';
import { builtinDrivers } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { waitFor } from '../support/cli.ts';
import { artifactLogger, canary } from '../support/secrets.ts';
import { startEmulator, type UcsmEmulator } from '../ucsm-emulator/emulator.ts';
import { type El, parseXml } from '../ucsm-emulator/xml.ts';

/** A registered canary: the run's secrets scan looks for it in everything netform wrote. */
const PASSWORD = canary('ucsm-profiles-admin');
const log = pino({ level: 'silent' });
const ctx = (): DriverContext => ({ signal: new AbortController().signal, log });
const owner: Owner = { instance: 'netform', kind: 'VnicProfile', namespace: 'shop', name: 'gold' };
const model = (over: Partial<VnicProfileModel> = {}): VnicProfileModel => ({ name: 'shop/gold', network: 'web', qos: { outbound: { averageKbps: 5000, burstKb: 500 } }, ...over });
const POLICY = `nfq-${ownerDigest(owner, 12)}`;
const POL = `org-root/ep-qos-${POLICY}`;
const EGRESS = `${POL}/egress`;
const PP = 'fabric/lan/profiles/vnic-nf-pp-shop:gold';

let emulator: UcsmEmulator | undefined;
let driver: UcsmDriver | undefined;
afterEach(async () => {
  await driver?.close();
  await emulator?.close();
  driver = undefined;
  emulator = undefined;
});

async function start(o: { deleteMissing?: 'ok' | 'error-102'; timeoutMs?: number } = {}): Promise<{ e: UcsmEmulator; d: UcsmDriver }> {
  const e = await startEmulator({
    users: { admin: PASSWORD },
    deleteMissing: o.deleteMissing ?? 'ok',
    seed: (t) => {
      // The networks' VLANs, as the networks resource leaves them.
      t.put({ classId: 'fabricVlan', dn: 'fabric/lan/net-nf-web', attrs: { id: '310' } });
      t.put({ classId: 'fabricVlan', dn: 'fabric/lan/net-nf-db', attrs: { id: '311' } });
    },
  });
  const d = new UcsmDriver(
    {
      name: 'ucsm',
      type: 'ucsm',
      endpoint: e.url,
      credentials: { username: 'admin', password: PASSWORD },
      tls: { insecureSkipVerify: false },
      requestTimeoutMs: o.timeoutMs ?? 5000,
      maxConcurrency: 4,
      options: { vlanNamePrefix: 'nf-', portProfilePrefix: 'nf-pp-', maxPorts: 48, vnics: ['eth0', 'eth1'] },
    },
    log,
  );
  emulator = e;
  driver = d;
  return { e, d };
}

/** One MO with its children, read through the emulator's XML API (configResolveDn, hierarchical). */
async function viaApi(e: UcsmEmulator, dn: string): Promise<El | undefined> {
  const cookie = await e.login('admin', PASSWORD);
  const root = parseXml(await e.post(`<configResolveDn cookie="${cookie}" dn="${dn}" inHierarchical="true" />`));
  await e.post(`<aaaLogout inCookie="${cookie}" />`);
  expect(root.attrs.errorCode).toBeUndefined();
  return root.children.find((c) => c.name === 'outConfig')?.children[0];
}

const attrs = (m: El | undefined, keys: string[]): Record<string, string | undefined> => Object.fromEntries(keys.map((k) => [k, m?.attrs[k]]));
const ours = (e: UcsmEmulator) => ({
  policies: e.list('epqosDefinition').map((m) => m.dn),
  profiles: e.list('vnicProfile').map((m) => m.dn),
});

async function expectTerminal(p: Promise<unknown>, needle: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(err).toBeInstanceOf(BackendError);
  expect((err as BackendError).errorClass).toBe('Terminal');
  expect((err as BackendError).message).toContain(needle);
}

describe('UCSM VnicProfiles', () => {
  it('create: a QoS policy with the outbound rate and the burst in bytes, and a port profile carrying the VLAN and naming the policy', async () => {
    const { e, d } = await start();
    const created = await d.profiles.create(ctx(), owner, model());
    const pol = await viaApi(e, POL);
    expect(pol?.name).toBe('epqosDefinition');
    expect(attrs(pol, ['name', 'descr', 'policyOwner'])).toEqual({ name: POLICY, descr: marker(owner), policyOwner: 'local' });
    const egress = pol!.children.find((c) => c.name === 'epqosEgress');
    expect(attrs(egress, ['rn', 'rate', 'burst', 'prio', 'hostControl'])).toEqual({ rn: 'egress', rate: '5000', burst: '62500', prio: 'best-effort', hostControl: 'none' });
    const pp = await viaApi(e, PP);
    expect(attrs(pp, ['name', 'descr', 'maxPorts', 'qosPolicyName', 'qosPolicyDn', 'primaryVlanId'])).toEqual({
      name: 'nf-pp-shop:gold',
      descr: marker(owner),
      maxPorts: '48',
      qosPolicyName: POLICY,
      qosPolicyDn: POL,
      primaryVlanId: '310',
    });
    expect(pp!.children.map((c) => `${c.name} ${c.attrs.rn}${c.name === 'vnicEtherIf' ? ` ${c.attrs.defaultNet}` : ''}`).sort()).toEqual([
      expect.stringMatching(/^vmVnicProfCl cl-nfcl-[0-9a-f]{11}$/),
      'vnicEtherIf if-nf-web yes',
    ]);
    expect(created.externalId).toBe(PP);
    expect(created.externalIds).toEqual({ portProfile: PP, qosPolicy: POL });
    expect(d.profiles.diff(model(), created.state)).toEqual([]);
    // Observed again from scratch: found by name and marker, nothing to change.
    const seen = await d.profiles.observe(ctx(), { owner, desired: model() });
    expect(seen?.owned).toBe(true);
    expect(d.profiles.diff(model(), seen!.state)).toEqual([]);
  });

  it('observe never writes, and finds nothing where nothing is', async () => {
    const { e, d } = await start();
    expect(await d.profiles.observe(ctx(), { owner, desired: model() })).toBeUndefined();
    await d.profiles.create(ctx(), owner, model());
    const writes = e.counts.configConfMos ?? 0;
    const before = JSON.stringify([e.get(POL), e.get(EGRESS), e.get(PP), e.children(PP)]);
    await d.profiles.observe(ctx(), { owner, desired: model({ qos: { outbound: { averageKbps: 1 } } }), externalId: PP });
    expect(e.counts.configConfMos ?? 0).toBe(writes);
    expect(JSON.stringify([e.get(POL), e.get(EGRESS), e.get(PP), e.children(PP)])).toBe(before);
  });

  it('a new rate and burst are changed in place: the same policy object, its egress modified', async () => {
    const { e, d } = await start();
    await d.profiles.create(ctx(), owner, model());
    // An attribute netform never sends: it survives only if the egress is modified, not recreated.
    e.put({ classId: 'epqosEgress', dn: EGRESS, attrs: { ...e.get(EGRESS)!.attrs, name: 'kept' } });
    const want = model({ qos: { outbound: { averageKbps: 20_000, burstKb: 1000 } } });
    const seen = (await d.profiles.observe(ctx(), { owner, desired: want, externalId: PP }))!;
    const changes = d.profiles.diff(want, seen.state);
    expect(changes.map((c) => c.path)).toEqual(['qosPolicy.rate', 'qosPolicy.burst']);
    const updated = await d.profiles.update(ctx(), owner, seen, want, changes);
    expect(updated.externalIds).toEqual({ portProfile: PP, qosPolicy: POL });
    expect(attrs(await viaApi(e, EGRESS), ['rate', 'burst', 'name'])).toEqual({ rate: '20000', burst: '65535', name: 'kept' });
    expect(ours(e).policies).toEqual([POL]);
    expect(d.profiles.diff(want, updated.state)).toEqual([]);
  });

  it('inbound only: a port profile without a QoS policy; outbound dropped later removes the policy', async () => {
    const { e, d } = await start();
    const inbound = model({ qos: { inbound: { averageKbps: 100 } } });
    const created = await d.profiles.create(ctx(), owner, inbound);
    expect(attrs(await viaApi(e, PP), ['qosPolicyName', 'qosPolicyDn'])).toEqual({ qosPolicyName: '', qosPolicyDn: '' });
    expect(ours(e).policies).toEqual([]);
    expect(created.externalIds).toEqual({ portProfile: PP });
    expect(d.profiles.diff(inbound, created.state)).toEqual([]);
    // Outbound added: the policy and the name on the port profile; dropped again: both go.
    const both = await d.profiles.update(ctx(), owner, created, model(), d.profiles.diff(model(), created.state));
    expect(attrs(await viaApi(e, PP), ['qosPolicyName', 'qosPolicyDn'])).toEqual({ qosPolicyName: POLICY, qosPolicyDn: POL });
    const back = await d.profiles.update(ctx(), owner, both, inbound, d.profiles.diff(inbound, both.state));
    expect(ours(e).policies).toEqual([]);
    expect(e.get(PP)?.attrs.qosPolicyName).toBe('');
    expect(d.profiles.diff(inbound, back.state)).toEqual([]);
  });

  it('a rate below UCSM\'s 8 kbps is sent as 8', async () => {
    const { e, d } = await start();
    await d.profiles.create(ctx(), owner, model({ qos: { outbound: { averageKbps: 2 } } }));
    expect(e.get(EGRESS)?.attrs.rate).toBe('8');
  });

  it('the profile moved to another network: its port profile carries the new VLAN alone', async () => {
    const { e, d } = await start();
    const created = await d.profiles.create(ctx(), owner, model());
    const moved = model({ network: 'db' });
    const after = await d.profiles.update(ctx(), owner, created, moved, d.profiles.diff(moved, created.state));
    expect(e.children(PP).filter((c) => c.classId === 'vnicEtherIf').map((c) => [c.attrs.name, c.attrs.defaultNet])).toEqual([['nf-db', 'yes']]);
    expect(e.get(PP)?.attrs.primaryVlanId).toBe('311');
    expect(d.profiles.diff(moved, after.state)).toEqual([]);
  });

  it('the network\'s VLAN not on UCSM yet: a transient error and nothing written', async () => {
    const { e, d } = await start();
    const err = await d.profiles.create(ctx(), owner, model({ network: 'later' })).catch((x: unknown) => x);
    expect((err as BackendError).errorClass).toBe('Transient');
    expect(ours(e)).toEqual({ policies: [], profiles: [] });
  });

  for (const deleteMissing of ['ok', 'error-102'] as const) {
    it(`delete removes port profile and policy, and succeeds when they are gone (delete of a missing MO: ${deleteMissing})`, async () => {
      const { e, d } = await start({ deleteMissing });
      const created = await d.profiles.create(ctx(), owner, model());
      await d.profiles.delete(ctx(), created);
      expect(await viaApi(e, PP)).toBeUndefined();
      expect(await viaApi(e, POL)).toBeUndefined();
      expect(e.get(EGRESS)).toBeUndefined();
      await d.profiles.delete(ctx(), created); // gone already
      // Part gone out of band: the rest still goes.
      const again = await d.profiles.create(ctx(), owner, model());
      e.remove(POL);
      await d.profiles.delete(ctx(), again);
      expect(ours(e)).toEqual({ policies: [], profiles: [] });
      expect(e.get('fabric/lan/net-nf-web')).toBeDefined(); // the network's VLAN is not the profile's
    });
  }

  it('a create retried after UCSM committed (its answer lost, or a crash) adopts what is there: never a duplicate', async () => {
    const { e, d } = await start({ timeoutMs: 300 });
    e.faults.delayConfigMs = 2000; // UCSM commits, then answers too late for the client
    const lost = await d.profiles.create(ctx(), owner, model()).catch((x: unknown) => x);
    expect((lost as BackendError).errorClass).toBe('Transient');
    expect(ours(e)).toEqual({ policies: [POL], profiles: [PP] });
    e.faults.reset();
    // The engine re-observes: found by name and marker, owned, nothing to change.
    const seen = await d.profiles.observe(ctx(), { owner, desired: model() });
    expect(seen?.owned).toBe(true);
    expect(d.profiles.diff(model(), seen!.state)).toEqual([]);
    // Or it creates again (a restarted netform with no record): the upsert adopts.
    const again = await d.profiles.create(ctx(), owner, model());
    await d.profiles.create(ctx(), owner, model());
    expect(again.externalId).toBe(PP);
    expect(ours(e)).toEqual({ policies: [POL], profiles: [PP] });
    expect(e.list('epqosEgress').map((m) => m.dn)).toEqual([EGRESS]);
    expect(e.children(PP).map((c) => c.classId).sort()).toEqual(['vmVnicProfCl', 'vnicEtherIf']);
  });

  it('a port profile or a QoS policy of our name that is someone else\'s is a terminal error, never overwritten', async () => {
    const { e, d } = await start();
    e.put({ classId: 'vnicProfile', dn: PP, attrs: { name: 'nf-pp-shop:gold', descr: 'made by hand', maxPorts: '8' } });
    await expectTerminal(d.profiles.observe(ctx(), { owner, desired: model() }), `UCSM port profile ${PP} exists and is not this VnicProfile's`);
    await expectTerminal(d.profiles.create(ctx(), owner, model()), 'is not this VnicProfile');
    expect(e.get(PP)?.attrs).toMatchObject({ descr: 'made by hand', maxPorts: '8', qosPolicyName: '' });
    expect(ours(e).policies).toEqual([]);
    e.remove(PP);
    // Another installation's policy under the name (a marker that is not this owner's).
    e.put({ classId: 'epqosDefinition', dn: POL, attrs: { descr: marker({ ...owner, instance: 'other' }) } });
    await expectTerminal(d.profiles.create(ctx(), owner, model()), `UCSM QoS policy ${POL} exists and is not this VnicProfile's`);
    expect(e.get(POL)?.attrs.descr).toBe(marker({ ...owner, instance: 'other' }));
    expect(e.get(PP)).toBeUndefined();
  });
});

describe('UCSM VnicProfiles through the engine', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  it('a VnicProfile on a UCSM network: policy and port profile on UCSM, the port profile\'s DN in its status; an edit converges in place; removal cleans up', async () => {
    const { e } = await start();
    e.remove('fabric/lan/net-nf-web'); // the Network makes its own VLAN
    const dir = mkdtempSync(join(tmpdir(), 'netform-ucsm-profiles-'));
    const creds = join(dir, 'creds.yaml');
    writeFileSync(creds, `username: admin\npassword: ${PASSWORD}\n`, { mode: 0o600 });
    const records = new MemoryRecords();
    engine = new Engine({ kinds: KIND_DEFINITIONS, records, registry: builtinDrivers(), credentials: new FileCredentialSource(), log: artifactLogger('ucsm-profiles').log, resyncMs: 60_000, waitMs: 200 });
    const manifests = (averageKbps: number | undefined): string =>
      [
        `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: fi}\nspec: {type: ucsm, endpoint: "${e.url}", credentials: {file: ${creds}}}`,
        'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: web}\nspec: {physicalNetwork: physnet1, vlan: {id: 310}, shared: true, providerRefs: [{name: fi}]}',
        ...(averageKbps === undefined
          ? []
          : [`apiVersion: netform.io/v1alpha1\nkind: VnicProfile\nmetadata: {name: gold, namespace: shop}\nspec: {network: web, qos: {outbound: {averageKbps: ${averageKbps}, burstKb: 100}}}`]),
      ].join('\n---\n');
    const load = (text: string): void => {
      const r = admit([{ path: join(dir, 'm.yaml'), text }]);
      expect(r.errors).toEqual([]);
      engine!.sync(r);
    };
    const ready = (key: string) => engine!.states().find((x) => x.key === key)?.state === 'ready';
    const KEY = 'VnicProfile/shop/gold';

    load(manifests(4000));
    await waitFor('the profile Ready', () => ready(KEY), 20_000);
    const owned = marker({ instance: 'netform', kind: 'VnicProfile', namespace: 'shop', name: 'gold' });
    expect(e.get(PP)?.attrs).toMatchObject({ descr: owned, qosPolicyName: POLICY, qosPolicyDn: POL, primaryVlanId: '310' });
    expect(e.get(EGRESS)?.attrs).toMatchObject({ rate: '4000', burst: '12500' });
    const providers = records.get(KEY)!.status.providers as { name: string; externalId: string; externalIds?: Record<string, string> }[];
    expect(providers).toEqual([expect.objectContaining({ name: 'fi', externalId: PP, externalIds: { portProfile: PP, qosPolicy: POL } })]);

    load(manifests(9000));
    await waitFor('the new rate on UCSM', () => e.get(EGRESS)?.attrs.rate === '9000' && ready(KEY), 20_000);
    expect(e.list('epqosDefinition').map((m) => m.dn)).toEqual([POL]);

    load(manifests(undefined));
    await waitFor('the profile gone', () => !records.get(KEY), 20_000);
    expect(e.get(PP)).toBeUndefined();
    expect(e.get(POL)).toBeUndefined();
    expect(e.get('fabric/lan/profiles/vnic-nf-pp-web')).toBeDefined(); // the network's own port profile stays
  });
});

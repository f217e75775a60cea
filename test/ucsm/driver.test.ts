// The UCSM driver against the UCSM emulator (which Cisco's own SDK accepts: test/ucsm-emulator/),
// through the engine. Every check reads the emulator's object tree, never the driver.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { builtinDrivers } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../../src/state/records.ts';
import { runCli, startCli, waitFor } from '../support/cli.ts';
import { artifactLogger, canary, snapshotDir, writeArtifact } from '../support/secrets.ts';
import { startEmulator, type UcsmEmulator } from '../ucsm-emulator/emulator.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';

let east: UcsmEmulator;
let west: UcsmEmulator;
let engine: Engine | undefined;
let records: MemoryRecords;
const dir = mkdtempSync(join(tmpdir(), 'netform-ucsm-'));
const creds = join(dir, 'creds.yaml');
/** The emulator's admin password: a registered canary, so the run's secrets scan looks for it everywhere. */
const PASSWORD = canary('ucsm-admin');
writeFileSync(creds, `username: admin\npassword: ${PASSWORD}\n`, { mode: 0o600 });
// What the engines and CLI runs wrote, for the secrets scan (test/support/secrets.ts).
afterAll(() => snapshotDir(join(dir, 'state-kill'), 'ucsm-driver-state'));

/** Service profiles with two vNICs each, and a vNIC template, as an operator's UCS domain has them. */
function seed(e: UcsmEmulator): void {
  e.put({ classId: 'lsServer', dn: 'org-root/ls-hv1', attrs: { name: 'hv1' } });
  for (const v of ['eth0', 'eth1']) e.put({ classId: 'vnicEther', dn: `org-root/ls-hv1/ether-${v}`, attrs: { name: v } });
  e.put({ classId: 'vnicLanConnTempl', dn: 'org-root/lan-conn-templ-hv', attrs: { name: 'hv' } });
}

beforeEach(async () => {
  east = await startEmulator({ users: { admin: PASSWORD } });
  west = await startEmulator({ users: { admin: PASSWORD } });
  seed(east);
  seed(west);
  records = new MemoryRecords();
});
afterEach(async () => {
  await engine?.stop();
  if (engine) writeArtifact('status', 'ucsm-driver.json', JSON.stringify(records.list(), null, 1));
  engine = undefined;
  await east.close();
  await west.close();
});

function start(resyncMs = 60_000): Engine {
  engine = new Engine({ kinds: KIND_DEFINITIONS, records, registry: builtinDrivers(), credentials: new FileCredentialSource(), log: artifactLogger('ucsm-driver').log, resyncMs, waitMs: 200 });
  return engine;
}

const provider = (name: string, e: UcsmEmulator) => `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: ${name}}
spec:
  type: ucsm
  endpoint: "${e.url}"
  credentials: {file: ${creds}}
  ucsm:
    hosts:
      - {host: hv1, serviceProfile: org-root/ls-hv1}
      - {host: hv2, vnicTemplate: org-root/lan-conn-templ-hv}`;

function manifests(o: { vlan?: number; providers?: string[]; policy?: string; hosts?: string[] } = {}): string {
  const provs = o.providers ?? ['east', 'west'];
  const hosts = o.hosts ?? ['hv1', 'hv2'];
  return [
    provider('east', east),
    provider('west', west),
    `apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: vmnet}
spec:
  physicalNetwork: physnet1
  vlan: {id: ${o.vlan ?? 300}}
  managementPolicy: ${o.policy ?? 'Managed'}
  providerRefs: [${provs.map((p) => `{name: ${p}}`).join(', ')}]`,
    'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {networks: [{name: vmnet}]}',
    ...hosts.map((h) => `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${h}}\nspec: {cluster: c, nics: [{name: eth0}], networks: [{name: vmnet, interface: eth0}]}`),
  ].join('\n---\n');
}

function load(e: Engine, text: string): void {
  const r = admit([{ path: join(dir, 'm.yaml'), text }]);
  expect(r.errors).toEqual([]);
  e.sync(r);
}

const cond = (r: ObjectRecord | undefined, t: string) => r?.status.conditions?.find((c) => c.type === t);
const ready = (e: Engine, key: string) => e.states().find((s) => s.key === key)?.state === 'ready';
const VLAN = 'fabric/lan/net-nf-vmnet';
const PP = 'fabric/lan/profiles/vnic-nf-pp-vmnet';
const MEMBERS = ['org-root/lan-conn-templ-hv/if-nf-vmnet', 'org-root/ls-hv1/ether-eth0/if-nf-vmnet', 'org-root/ls-hv1/ether-eth1/if-nf-vmnet'];

describe('UCSM driver', () => {
  it('a network linked to two UCS domains gets its VLAN, port profile (with client) and vNIC memberships on both', async () => {
    const e = start();
    load(e, manifests());
    await waitFor('Ready', () => ready(e, 'Network/vmnet'), 20_000);
    for (const u of [east, west]) {
      expect(u.get(VLAN)).toMatchObject({ classId: 'fabricVlan', attrs: expect.objectContaining({ id: '300', name: 'nf-vmnet' }) });
      expect(u.get(PP)?.attrs.descr).toMatch(/^netform netform [0-9a-f]{20}$/);
      expect(u.children(PP).map((c) => `${c.classId} ${c.attrs.name}${c.classId === 'vnicEtherIf' ? ` ${c.attrs.defaultNet}` : ''}`).sort()).toEqual([
        'vmVnicProfCl nfcl-' + u.children(PP).find((c) => c.classId === 'vmVnicProfCl')!.attrs.name!.slice(5),
        'vnicEtherIf nf-vmnet yes',
      ]);
      for (const m of MEMBERS) expect(u.get(m)?.attrs.name, m).toBe('nf-vmnet');
    }
    const providers = records.get('Network/vmnet')!.status.providers as { name: string; externalId: string }[];
    expect(providers.map((p) => [p.name, p.externalId])).toEqual([
      ['east', VLAN],
      ['west', VLAN],
    ]);
  });

  it('edits converge: a renumbered VLAN, a host that no longer carries the network, a domain dropped', async () => {
    const e = start();
    load(e, manifests());
    await waitFor('Ready', () => ready(e, 'Network/vmnet'), 20_000);
    load(e, manifests({ vlan: 301, hosts: ['hv1'], providers: ['east'] }));
    await waitFor('converged', () => ready(e, 'Network/vmnet') && east.get(VLAN)?.attrs.id === '301' && !west.get(VLAN), 20_000);
    expect(east.get('org-root/lan-conn-templ-hv/if-nf-vmnet')).toBeUndefined();
    expect(east.get('org-root/ls-hv1/ether-eth0/if-nf-vmnet')).toBeDefined();
    expect(west.get(PP)).toBeUndefined();
    expect(west.list('vnicEtherIf').filter((m) => m.attrs.name === 'nf-vmnet')).toEqual([]);
  });

  it('drift is healed: the VLAN removed from the port profile and renumbered out of band', async () => {
    const e = start(200);
    load(e, manifests({ providers: ['east'] }));
    await waitFor('Ready', () => ready(e, 'Network/vmnet'), 20_000);
    east.remove(`${PP}/if-nf-vmnet`);
    east.put({ classId: 'fabricVlan', dn: VLAN, attrs: { ...east.get(VLAN)!.attrs, id: '999' } });
    await waitFor('healed', () => east.get(`${PP}/if-nf-vmnet`)?.attrs.defaultNet === 'yes' && east.get(VLAN)?.attrs.id === '300', 20_000);
  });

  it('under ObserveOnly drift is only reported', async () => {
    const e = start(200);
    load(e, manifests({ providers: ['east'] }));
    await waitFor('Ready', () => ready(e, 'Network/vmnet'), 20_000);
    load(e, manifests({ providers: ['east'], policy: 'ObserveOnly' }));
    east.remove(`${PP}/if-nf-vmnet`);
    await waitFor('drift reported', () => cond(records.get('Network/vmnet'), 'Synced')?.reason === 'DriftDetected', 20_000);
    expect(cond(records.get('Network/vmnet'), 'Synced')?.message).toContain('portProfile.vlans');
    expect(east.get(`${PP}/if-nf-vmnet`)).toBeUndefined();
  });

  it('removal deletes only what netform created; foreign VLANs and profiles stay', async () => {
    // Someone put netform's VLAN on a port profile of their own: it is not netform's membership.
    east.put({ classId: 'vnicProfile', dn: 'fabric/lan/profiles/vnic-theirs', attrs: { name: 'theirs', descr: 'made by hand' } });
    east.put({ classId: 'vnicEtherIf', dn: 'fabric/lan/profiles/vnic-theirs/if-nf-vmnet', attrs: { name: 'nf-vmnet' } });
    east.put({ classId: 'fabricVlan', dn: 'fabric/lan/net-prod-100', attrs: { name: 'prod-100', id: '100' } });
    east.put({ classId: 'vnicProfile', dn: 'fabric/lan/profiles/vnic-prod', attrs: { name: 'prod', descr: 'made by hand' } });
    east.put({ classId: 'vnicEtherIf', dn: 'org-root/ls-hv1/ether-eth0/if-prod-100', attrs: { name: 'prod-100' } });
    const e = start();
    load(e, manifests({ providers: ['east'] }));
    await waitFor('Ready', () => ready(e, 'Network/vmnet'), 20_000);
    load(e, [provider('east', east), provider('west', west)].join('\n---\n'));
    await waitFor('gone', () => !records.get('Network/vmnet'), 20_000);
    expect(east.get(VLAN)).toBeUndefined();
    expect(east.get(PP)).toBeUndefined();
    for (const m of MEMBERS) expect(east.get(m)).toBeUndefined();
    expect(east.get('fabric/lan/net-prod-100')).toBeDefined();
    expect(east.get('fabric/lan/profiles/vnic-prod')).toBeDefined();
    expect(east.get('org-root/ls-hv1/ether-eth0/if-prod-100')).toBeDefined();
    expect(east.get('fabric/lan/profiles/vnic-theirs/if-nf-vmnet')).toBeDefined();
  });

  it('a port profile of the same name that is not netform\'s is a terminal condition, never overwritten', async () => {
    east.put({ classId: 'vnicProfile', dn: PP, attrs: { name: 'nf-pp-vmnet', descr: 'someone else' } });
    const e = start();
    load(e, manifests({ providers: ['east'] }));
    await waitFor('Stalled', () => cond(records.get('Network/vmnet'), 'Stalled')?.status === 'True', 20_000);
    expect(cond(records.get('Network/vmnet'), 'Synced')?.message).toContain('is not this network');
    expect(east.get(PP)?.attrs.descr).toBe('someone else');
  });

  it('a session expiring mid-reconcile is survived with a new login', async () => {
    const e = start(200);
    load(e, manifests({ providers: ['east'] }));
    await waitFor('Ready', () => ready(e, 'Network/vmnet'), 20_000);
    const logins = east.counts.aaaLogin ?? 0;
    east.faults.expireAllSessions();
    load(e, manifests({ providers: ['east'], vlan: 302 }));
    await waitFor('converged after the expiry', () => east.get(VLAN)?.attrs.id === '302' && ready(e, 'Network/vmnet'), 20_000);
    expect((east.counts.aaaLogin ?? 0) - logins).toBe(1);
  });

  it('a crash between the commit and the status write leads to adoption, not duplicates (SIGKILL)', async () => {
    // No hosts (no agent runs here); the state directory inside the manifest directory is not read as manifests.
    writeFileSync(join(dir, 'm.yaml'), manifests({ providers: ['east'], hosts: [] }));
    const state = join(dir, 'state-kill');
    east.faults.delayConfigMs = 60_000; // UCSM commits, then takes a minute to answer: netform dies before it hears
    const run = startCli(['apply', '--dir', dir, '--state', state], { real: true });
    await waitFor('the commit on UCSM', () => east.get(VLAN) && east.get(PP), 20_000);
    run.child.kill('SIGKILL');
    expect((await run.result).signal).toBe('SIGKILL');
    east.faults.reset();
    const again = await runCli(['apply', '--dir', dir, '--state', state], { real: true });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(east.list('fabricVlan').filter((m) => m.attrs.name?.startsWith('nf-'))).toHaveLength(1);
    expect(east.list('vnicProfile').filter((m) => m.attrs.name?.startsWith('nf-pp-'))).toHaveLength(1);
    const s = JSON.parse((await runCli(['status', '--state', state, '-o', 'json'], { real: true })).stdout) as { key: string; status: { providers?: { externalId: string }[] } }[];
    expect(s.find((x) => x.key === 'Network/vmnet')!.status.providers![0]!.externalId).toBe(VLAN);
  });
});

// `netform place` on manifests and a state directory holding the agents' last reports, the dynamic
// vNIC counts read by the real host agent from a recorded Cisco VIC sysfs tree
// (test/fixtures/vic-sysfs); a service endpoint on a host holds one as a vNIC does. Also: a vNIC or a
// service endpoint beyond the VIC's capacity is refused InsufficientCapacity.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { main } from '../../src/cli/main.ts';
import { HostAgent } from '../../src/drivers/host/agent.ts';
import type { ObservedHost } from '../../src/drivers/host/model.ts';
import { writeHostReport } from '../../src/adapters/files/host-reports.ts';
import type { HostReport } from '../../src/drivers/host-driver.ts';
import { emptyHostReport } from '../support/host-report.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';
import { MemoryRecords } from '../../src/state/records.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import { admit } from '../../src/state/admit.ts';
import { objectKey } from '../../src/api/kinds.ts';

const VIC = fileURLToPath(new URL('../fixtures/vic-sysfs', import.meta.url));

const MANIFESTS = `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: ucs}
spec: {type: ucsm, endpoint: "https://ucsm.example.net", credentials: {file: creds.yaml}}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: fex}
spec: {physicalNetwork: physnet1, vlan: {id: 300}, shared: true, providerRefs: [{name: ucs}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: web}
spec: {physicalNetwork: physnet1, vlan: {id: 301}, shared: true}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: storage}
spec: {physicalNetwork: physnet2, vlan: {id: 302}, shared: true}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec: {defaultFabric: ovs, networks: [{name: fex}, {name: web}, {name: storage}]}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata: {name: c2}
spec: {networks: [{name: web}]}
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: hv1}
spec: {cluster: c1, nics: [{name: eth1, physicalNetworks: [physnet1, physnet2]}]}
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: hv2}
spec: {cluster: c1, nics: [{name: eth1, physicalNetworks: [physnet1, physnet2]}]}
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: hv3}
spec: {cluster: c1, nics: [{name: eth1, physicalNetworks: [physnet1], fabric: linux-bridge}, {name: eth2, physicalNetworks: [physnet2]}], networks: [{name: fex, interface: eth1}, {name: web, interface: eth1}, {name: storage, interface: eth2}]}
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: hv4}
spec: {cluster: c1, nics: [{name: eth1, physicalNetworks: [physnet1], labels: [all]}]}
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: hv5}
spec: {cluster: c2, nics: [{name: eth1}], networks: [{name: web, interface: eth1}]}
`;

/** hv1, hv2, hv4 place every network by label. */
const labelled = MANIFESTS.replace(/spec: \{physicalNetwork: (physnet\d), vlan: \{id: (\d+)\}, shared: true/g, 'spec: {physicalNetwork: $1, vlan: {id: $2}, shared: true, label: all').replace(
  /nics: \[\{name: eth1, physicalNetworks: \[physnet1, physnet2\]\}\]/g,
  'nics: [{name: eth1, physicalNetworks: [physnet1, physnet2], labels: [all]}]',
);

/** A VM with a vNIC on each network, on hv1; and one on fex already on hv2. */
const VNICS = `---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata: {name: app1-fex, namespace: t}
spec: {vm: {name: app1}, interfaceName: nic1, network: fex, host: hv1}
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata: {name: app1-web, namespace: t}
spec: {vm: {name: app1}, interfaceName: nic2, network: web, host: hv1}
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata: {name: app1-storage, namespace: t}
spec: {vm: {name: app1}, interfaceName: nic3, network: storage, host: hv1}
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata: {name: db1-fex, namespace: t}
spec: {vm: {name: db1}, interfaceName: nic1, network: fex, host: hv2}
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata: {name: db2-fex, namespace: t}
spec: {vm: {name: db2}, interfaceName: nic1, network: fex, host: hv2}
`;

/** A firewall appliance's endpoint on fex, on hv3: it holds one of hv3's two dynamic vNICs. */
const ENDPOINT = `---
apiVersion: netform.io/v1alpha1
kind: ServiceEndpoint
metadata: {name: fw, namespace: edge}
spec: {network: fex, service: firewall, host: hv3}
`;

async function vicCounts(): Promise<HostReport['dynamicVnics']> {
  const agent = new HostAgent({ target: { ovsBridge: 'br-int', ovsDatapath: 'netdev', sysfsRoot: VIC }, instance: 'netform', log: pino({ level: 'silent' }) });
  return agent.dynamicVnics({ links: [], addresses: [] } as ObservedHost);
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (b: Buffer) => (o += b.toString()));
  err.on('data', (b: Buffer) => (e += b.toString()));
  const code = await main(args, { stdout: out, stderr: err });
  return { code, out: o, err: e };
}

describe('netform place', () => {
  it('tables placement and migration compatibility, and refuses a host whose recorded VIC has no free dynamic vNIC', async () => {
    const vic = await vicCounts();
    expect(vic).toEqual({ total: 2, free: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'nf-place-'));
    const state = join(dir, 'state');
    mkdirSync(state);
    writeFileSync(join(dir, 'all.yaml'), labelled + VNICS + ENDPOINT);
    writeFileSync(join(dir, 'creds.yaml'), 'username: admin\npassword: x\n', { mode: 0o600 });
    const inSync = (...names: string[]) => names.map((name) => ({ name, inSync: true }));
    const now = Date.now();
    await writeHostReport(state, 'hv1', { ...emptyHostReport(now), dynamicVnics: vic, networks: inSync('fex', 'storage', 'web') });
    await writeHostReport(state, 'hv2', { ...emptyHostReport(now), dynamicVnics: vic, networks: inSync('fex', 'storage', 'web') });
    await writeHostReport(state, 'hv3', { ...emptyHostReport(now), dynamicVnics: vic, networks: inSync('fex', 'storage', 'web') });
    await writeHostReport(state, 'hv4', { ...emptyHostReport(now), dynamicVnics: vic, networks: [...inSync('fex', 'web'), { name: 'storage', inSync: false }] });
    await writeHostReport(state, 'hv5', { ...emptyHostReport(now), networks: inSync('web') });

    const placed = await run(['place', '--dir', dir, '--state', state, '--vm', 'app1', '-o', 'json']);
    expect(placed.err).toBe('');
    expect(placed.code).toBe(0);
    const hosts = (JSON.parse(placed.out) as { hosts: { host: string; fits: boolean; reasons: string[]; dynamicVnicsLeft?: number; dynamicVnicHolders?: string[] }[] }).hosts;
    const by = new Map(hosts.map((h) => [h.host, h]));
    // hv1 (where it runs; its own vNIC holds one of two, and does not count against it) and hv3 fit;
    // hv3's other dynamic vNIC is the firewall endpoint's, so the VM takes its last.
    expect(by.get('hv1')).toMatchObject({ fits: true, dynamicVnicsLeft: 1, dynamicVnicHolders: [] });
    expect(by.get('hv3')).toMatchObject({ fits: true, dynamicVnicsLeft: 0, dynamicVnicHolders: ['ServiceEndpoint/edge/fw'] });
    // hv2: both dynamic vNICs of its VIC (counted from the recorded sysfs tree) are held by db1 and db2.
    expect(by.get('hv2')).toMatchObject({
      fits: false,
      reasons: ['needs 1 dynamic vNIC, its VIC has 0 free of 2 (held by t/db1-fex, t/db2-fex)'],
      dynamicVnicsLeft: 0,
      dynamicVnicHolders: ['VnicAttachment/t/db1-fex', 'VnicAttachment/t/db2-fex'],
    });
    // hv4's NIC reaches physnet1 only: storage (physnet2) is never placed there.
    expect(by.get('hv4')!.reasons).toEqual(['storage: no NIC or bond of the host reaches physical network physnet2']);
    // hv5: another cluster without those networks, and a host without a VIC.
    expect(by.get('hv5')!.reasons).toEqual(['fex: not attached to cluster c2', 'storage: not attached to cluster c2', 'needs 1 dynamic vNIC, its VIC has 0 free of 0']);

    const text = await run(['place', '--dir', dir, '--state', state, '--vm', 'app1']);
    expect(text.out.split('\n')[0]).toMatch(/^HOST\s+CLUSTER\s+FITS\s+DYNAMIC-VNICS-LEFT\s+WHY NOT$/);
    expect(text.out).toMatch(/^hv2\s+c1\s+no\s+0\s+needs 1 dynamic vNIC, its VIC has 0 free of 2 \(held by t\/db1-fex, t\/db2-fex\)$/m);
    expect(text.out).toMatch(/^hv3\s+c1\s+yes\s+0\s*$/m);

    // Two vNICs on fex: hv3 has one free, the endpoint holding the other; hv1 one besides app1's (not the VM's own here).
    const two = await run(['place', '--dir', dir, '--state', state, '--network', 'fex', 'fex']);
    expect(two.code).toBe(0);
    expect(two.out).toMatch(/^hv4\s+c1\s+yes\s+0\s*$/m); // nothing on its VIC
    expect(two.out).toMatch(/^hv3\s+c1\s+no\s+0\s+needs 2 dynamic vNICs, its VIC has 1 free of 2 \(held by service endpoint edge\/fw\)$/m);
    expect(two.out).toMatch(/^hv1\s+c1\s+no\s+0\s+needs 2 dynamic vNICs, its VIC has 1 free of 2 \(held by t\/app1-fex\)$/m);

    // A migration from hv1: the source is out, hv3 carries web and fex on a Linux bridge where hv1
    // has Open vSwitch (the cluster's default), hv5 is in another cluster.
    const mig = await run(['place', '--dir', dir, '--state', state, '--vm', 'app1', '--migrate', '-o', 'json']);
    const m = new Map((JSON.parse(mig.out) as { hosts: { host: string; fits: boolean; reasons: string[] }[] }).hosts.map((h) => [h.host, h]));
    expect(mig.code).toBe(2); // no host fits
    expect(m.get('hv1')!.reasons).toEqual(['the source host']);
    expect(m.get('hv3')!.reasons).toEqual(['fex: rides linux-bridge here, ovs on hv1', 'web: rides linux-bridge here, ovs on hv1']);
    expect(m.get('hv5')!.reasons[0]).toBe('in cluster c2, not the source\'s c1');

    // Networks named directly.
    const bare = await run(['place', '--dir', dir, '--state', state, '--network', 'web', '-o', 'json']);
    expect((JSON.parse(bare.out) as { hosts: { host: string; fits: boolean }[] }).hosts.filter((h) => h.fits).map((h) => h.host)).toEqual(['hv1', 'hv2', 'hv3', 'hv4', 'hv5']);
  });

  it('a third vNIC on a UCS Manager network for a host whose VIC has two is refused InsufficientCapacity (nothing made for it); the two holding theirs keep them', async () => {
    const records = new MemoryRecords();
    // db1 and db2 are bound to hv2 already (their ports were made there).
    for (const name of ['db1-fex', 'db2-fex']) {
      await records.put({ key: objectKey('VnicAttachment', name, 't'), kind: 'VnicAttachment', name, namespace: 't', uid: name, generation: 1, createdAt: new Date().toISOString(), status: { host: 'hv2', network: 'fex' } });
    }
    const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry: new DriverRegistry(), credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 60_000, waitMs: 100 });
    e.report(objectKey('Host', 'hv2'), { ...emptyHostReport(Date.now()), dynamicVnics: await vicCounts() });
    const third = `---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata: {name: db0-fex, namespace: t}
spec: {vm: {name: db0}, interfaceName: nic1, network: fex, host: hv2}
`;
    const dir = mkdtempSync(join(tmpdir(), 'nf-cap-'));
    writeFileSync(join(dir, 'creds.yaml'), 'username: admin\npassword: x\n', { mode: 0o600 });
    const r = admit([{ path: join(dir, 'all.yaml'), text: labelled + VNICS + third }]);
    expect(r.errors).toEqual([]);
    e.sync(r);
    await e.settle(10_000);
    const cond = (name: string) => records.get(objectKey('VnicAttachment', name, 't'))?.status.conditions?.find((c) => c.type === 'Ready');
    // db0 sorts first but comes last: it is the one refused, and nothing was allocated for it.
    expect(cond('db0-fex')).toMatchObject({ status: 'False', reason: 'InsufficientCapacity', message: 'host hv2 has no free dynamic vNIC: its VIC has 2, all taken (t/db1-fex, t/db2-fex)' });
    expect(records.get(objectKey('VnicAttachment', 'db0-fex', 't'))?.status.mac).toBeUndefined();
    expect(records.get(objectKey('VnicAttachment', 'db0-fex', 't'))?.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True' });
    // The two holders wait for their network (the UCS domain is not reachable here), not for capacity.
    expect(cond('db1-fex')).toMatchObject({ reason: 'WaitingForDependencies' });
    expect(cond('db2-fex')).toMatchObject({ reason: 'WaitingForDependencies' });
    await e.stop();
  });

  it('service endpoints hold dynamic vNICs as vNICs do: one bound keeps its own, a new one past the VIC is refused InsufficientCapacity', async () => {
    const records = new MemoryRecords();
    // db1 and the firewall endpoint are bound to hv2 (their ports were made there); db2 is not yet.
    await records.put({ key: objectKey('VnicAttachment', 'db1-fex', 't'), kind: 'VnicAttachment', name: 'db1-fex', namespace: 't', uid: 'db1', generation: 1, createdAt: new Date().toISOString(), status: { host: 'hv2', network: 'fex' } });
    await records.put({ key: objectKey('ServiceEndpoint', 'fw', 'edge'), kind: 'ServiceEndpoint', name: 'fw', namespace: 'edge', uid: 'fw', generation: 1, createdAt: new Date().toISOString(), status: { host: 'hv2', network: 'fex' } });
    const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry: new DriverRegistry(), credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 60_000, waitMs: 100 });
    e.report(objectKey('Host', 'hv2'), { ...emptyHostReport(Date.now()), dynamicVnics: await vicCounts() });
    const endpoints = ['fw', 'ids']
      .map((name) => `---\napiVersion: netform.io/v1alpha1\nkind: ServiceEndpoint\nmetadata: {name: ${name}, namespace: edge}\nspec: {network: fex, service: ${name === 'fw' ? 'firewall' : 'ids'}, host: hv2}\n`)
      .join('');
    const dir = mkdtempSync(join(tmpdir(), 'nf-cap-'));
    writeFileSync(join(dir, 'creds.yaml'), 'username: admin\npassword: x\n', { mode: 0o600 });
    const r = admit([{ path: join(dir, 'all.yaml'), text: labelled + VNICS + endpoints }]);
    expect(r.errors).toEqual([]);
    e.sync(r);
    await e.settle(10_000);
    const ready = (key: string) => records.get(key)?.status.conditions?.find((c) => c.type === 'Ready');
    const full = 'host hv2 has no free dynamic vNIC: its VIC has 2, all taken (service endpoint edge/fw, t/db1-fex)';
    // The new endpoint sorts before db2 among those not bound: both are refused, nothing made for either.
    expect(ready('ServiceEndpoint/edge/ids')).toMatchObject({ status: 'False', reason: 'InsufficientCapacity', message: full });
    expect(records.get('ServiceEndpoint/edge/ids')?.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True' });
    expect(records.get('ServiceEndpoint/edge/ids')?.status.providers).toBeUndefined();
    expect(ready('VnicAttachment/t/db2-fex')).toMatchObject({ status: 'False', reason: 'InsufficientCapacity', message: full });
    // The bound endpoint and vNIC keep theirs: they wait for their network (the UCS domain is not reachable here).
    expect(ready('ServiceEndpoint/edge/fw')).toMatchObject({ reason: 'WaitingForDependencies', message: 'Network fex is not Ready' });
    expect(ready('VnicAttachment/t/db1-fex')).toMatchObject({ reason: 'WaitingForDependencies' });
    await e.stop();
  });
});

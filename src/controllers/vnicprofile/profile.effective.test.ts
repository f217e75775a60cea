import { describe, expect, it } from 'vitest';
import { admit } from '../../state/admit.ts';
import { DesiredStore } from '../../state/store.ts';
import { MemoryRecords } from '../../state/records.ts';
import type { Network, VnicProfile } from '../../api/kinds.ts';
import { referencesOf } from '../index.ts';
import { hostInputs } from '../host/host.inputs.ts';
import { hostModel } from '../host/host.desired.ts';
import { effectiveProfile, profileOpenTo } from './profile.effective.ts';

const NET = `apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: web}
spec: {physicalNetwork: p, shared: true, qos: {maxRateKbps: 50000, maxBurstKbps: 5000}, portMirroring: true, portSecurity: false}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {networks: [{name: web}]}
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: h}
spec: {cluster: c, nics: [{name: eth1}], networks: [{name: web, interface: eth1, mirrorPort: mon0}]}
`;
const PROFILE = `---
apiVersion: netform.io/v1alpha1
kind: VnicProfile
metadata: {name: capped, namespace: t1}
spec:
  network: web
  qos: {inbound: {averageKbps: 10000, burstKb: 100}}
  portMirroring: false
  portSecurity: {enabled: true, allowedAddressPairs: [{ipAddress: 10.0.0.9, macAddress: "56:6F:00:00:00:09"}]}
`;
const vnic = (name: string, ref = '') => `---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata: {name: ${name}, namespace: t1}
spec: {vm: {name: ${name}}, interfaceName: nic1, network: web, host: h${ref}}
`;

function load(text: string): DesiredStore {
  const r = admit([{ path: 'm.yaml', text }]);
  expect(r.errors).toEqual([]);
  const s = new DesiredStore(referencesOf);
  s.replace(r);
  return s;
}

describe('effectiveProfile', () => {
  const store = load(NET + PROFILE);
  const net = store.object('Network', 'web') as Network;
  const profile = store.object('VnicProfile', 'capped', 't1') as VnicProfile;

  it("without a profile: the network's defaults (its qos limits the traffic from the VM)", () => {
    expect(effectiveProfile(net, undefined)).toEqual({ qos: { outbound: { averageKbps: 50000, burstKb: 5000 } }, mirrored: true, portSecurity: false, allowedAddressPairs: [] });
  });

  it("a profile's fields replace the network's; the ones it leaves out stay the network's", () => {
    expect(effectiveProfile(net, profile)).toEqual({
      qos: { inbound: { averageKbps: 10000, burstKb: 100 } },
      mirrored: false,
      portSecurity: true,
      allowedAddressPairs: [{ ipAddress: '10.0.0.9', macAddress: '56:6f:00:00:00:09' }],
    });
    const bare = { ...profile, spec: { ...profile.spec, qos: undefined, portMirroring: undefined, portSecurity: undefined } } as VnicProfile;
    expect(effectiveProfile(net, bare)).toEqual(effectiveProfile(net, undefined));
  });

  it('a profile is open to its own namespace, the ones it lists, or every one with "*"', () => {
    expect(profileOpenTo(profile, 't1')).toBe(true);
    expect(profileOpenTo(profile, 't2')).toBe(false);
    expect(profileOpenTo({ ...profile, spec: { ...profile.spec, allowedNamespaces: ['t2'] } }, 't2')).toBe(true);
    expect(profileOpenTo({ ...profile, spec: { ...profile.spec, allowedNamespaces: ['*'] } }, 't3')).toBe(true);
  });
});

describe('hostInputs: what the agent puts on each vNIC', () => {
  it("the profile's limits and mirroring for a vNIC naming it, the network's for the others, and the network's mirror port", () => {
    const store = load(NET + PROFILE + vnic('a', ', profileRef: {name: capped}') + vnic('b'));
    const i = hostInputs({ store, records: new MemoryRecords() }, 'h')!;
    const byKey = new Map(i.vnics.map((v) => [v.key, v]));
    expect(byKey.get('t1/a')).toMatchObject({ qos: { inbound: { averageKbps: 10000, burstKb: 100 } } });
    expect(byKey.get('t1/a')?.mirrored).toBeUndefined();
    expect(byKey.get('t1/b')).toMatchObject({ qos: { outbound: { averageKbps: 50000, burstKb: 5000 } }, mirrored: true });
    expect(hostModel(i).networks).toEqual([{ name: 'web', interface: 'eth1', mtu: 1500, mirrorPort: 'mon0' }]);
  });
});

describe('hostInputs: which vNICs a host holds', () => {
  const HOSTS = NET + `---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: h2}
spec: {cluster: c, nics: [{name: eth1}], networks: [{name: web, interface: eth1}]}
`;
  const stalled = [{ type: 'Stalled', status: 'True' as const, reason: 'InsufficientCapacity' }];
  const rec = (name: string, status: Record<string, unknown>) => ({ key: `VnicAttachment/t1/${name}`, kind: 'VnicAttachment' as const, name, namespace: 't1', uid: name, generation: 1, createdAt: '', status });
  const keys = (store: DesiredStore, records: MemoryRecords, host: string) => hostInputs({ store, records }, host)!.vnics.map((v) => v.key).sort();

  it('a vNIC refused before it reached its host (stalled, never bound there) is not plugged; one bound there stays, stalled or not', async () => {
    const store = load(HOSTS + vnic('a') + vnic('b') + vnic('c'));
    const records = new MemoryRecords();
    await records.put(rec('a', { conditions: stalled }));
    await records.put(rec('b', { conditions: stalled, host: 'h' }));
    expect(keys(store, records, 'h')).toEqual(['t1/b', 't1/c']);
  });

  it("a migrating vNIC stays on the host its ports are bound to until they follow; the destination plugs it unless it was refused there", async () => {
    const store = load(HOSTS + vnic('a').replace('host: h}', 'host: h2}'));
    const records = new MemoryRecords();
    await records.put(rec('a', { host: 'h', migration: { from: 'h', to: 'h2', since: '' } }));
    expect(keys(store, records, 'h')).toEqual(['t1/a']);
    expect(keys(store, records, 'h2')).toEqual(['t1/a']);
    await records.put(rec('a', { host: 'h', conditions: stalled }));
    expect(keys(store, records, 'h')).toEqual(['t1/a']);
    expect(keys(store, records, 'h2')).toEqual([]);
    // The ports followed: the source keeps the device, departing, until it reports it released.
    await records.put(rec('a', { host: 'h2', migration: { from: 'h', to: 'h2', since: '', phase: 'releasing' } }));
    expect(hostInputs({ store, records }, 'h')!.vnics).toMatchObject([{ key: 't1/a', departing: true }]);
    expect(hostInputs({ store, records }, 'h2')!.vnics[0]!.departing).toBeUndefined();
    await records.put(rec('a', { host: 'h2' }));
    expect(keys(store, records, 'h')).toEqual([]);
    expect(keys(store, records, 'h2')).toEqual(['t1/a']);
  });
});

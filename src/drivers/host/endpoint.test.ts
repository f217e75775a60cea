// Service endpoints on a host: a device like a vNIC's; a promiscuous one gets a copy of its network's
// other devices' traffic (OVS: a mirror; linux-bridge: tc mirred on their taps). Pure.
import { describe, expect, it } from 'vitest';
import { vnicDeviceName, type HostModel, type HostVnicModel } from '../host-driver.ts';
import { desiredHost } from './desired.ts';

const vnic = (key: string, network: string, over: Partial<HostVnicModel> = {}): HostVnicModel => ({ key, network, vmName: key, plugged: true, linked: true, ...over });
const ids = (network: string) => vnic('endpoint:t/ids', network, { endpoint: { service: 'ids', promiscuous: true } });
const model = (vnics: HostVnicModel[]): HostModel => ({
  name: 'hv1',
  syncPolicy: 'Auto',
  probes: [],
  defaultFabric: 'linux-bridge',
  nics: [{ name: 'ens3' }, { name: 'ens4', fabric: 'ovs' }],
  bonds: [],
  networks: [
    { name: 'lb', interface: 'ens3', mtu: 1500 },
    { name: 'ov', interface: 'ens4', mtu: 1500, vlan: 30 },
  ],
  unplaced: [],
  vnics,
});
const opts = { ovsBridge: 'br-int', ovsDatapath: 'netdev' as const };

describe('service endpoints on a host', () => {
  it('linux-bridge: the other taps of the network mirror to the promiscuous endpoint; its own tap and other networks do not', () => {
    const d = desiredHost(model([vnic('t/a', 'lb'), vnic('t/b', 'lb'), ids('lb'), vnic('t/c', 'ov')]), opts);
    expect(d.problems).toEqual([]);
    const tap = (k: string) => d.links.find((l) => l.name === vnicDeviceName(k))!;
    expect(tap('t/a').tc).toEqual({ mirrorTo: vnicDeviceName('endpoint:t/ids') });
    expect(tap('t/b').tc).toEqual({ mirrorTo: vnicDeviceName('endpoint:t/ids') });
    expect(tap('endpoint:t/ids').tc).toBeUndefined();
    expect(tap('endpoint:t/ids').purpose).toBe('endpoint/t/ids');
    expect(tap('endpoint:t/ids').master).toBe('lb');
    expect(tap('t/c').tc).toBeUndefined();
  });

  it('ovs: a mirror of the network\'s other ports to the endpoint\'s port; none while it is alone', () => {
    const d = desiredHost(model([vnic('t/a', 'ov'), ids('ov')]), opts);
    expect(d.ovs!.mirrors).toEqual([{ name: expect.stringMatching(/^nfm-/), network: 'ov', output: vnicDeviceName('endpoint:t/ids'), select: [vnicDeviceName('t/a')] }]);
    expect(desiredHost(model([ids('ov')]), opts).ovs!.mirrors).toBeUndefined();
  });

  it('two promiscuous endpoints on one network of a host are a problem (nothing of the network is made)', () => {
    const d = desiredHost(model([ids('lb'), vnic('endpoint:t/ids2', 'lb', { endpoint: { service: 'ids', promiscuous: true } })]), opts);
    expect(d.problems).toEqual(['network lb: 2 promiscuous service endpoints on this host (endpoint:t/ids, endpoint:t/ids2); one at most']);
    expect(d.networks.map((n) => n.name)).toEqual(['ov']);
  });

  it('a mirrored vNIC keeps its network\'s mirror port (it cannot copy to two places)', () => {
    const m = model([vnic('t/a', 'lb', { mirrored: true }), ids('lb')]);
    m.networks[0]!.mirrorPort = 'mon0';
    const d = desiredHost(m, opts);
    expect(d.links.find((l) => l.name === vnicDeviceName('t/a'))!.tc).toEqual({ mirrorTo: 'mon0' });
  });
});

describe('service endpoints in host plans', () => {
  it('a device of an endpoint is described as the endpoint\'s (endpoint:<ns>/<name>), a router veth as its network\'s', async () => {
    const { describeHostDiff } = await import('./describe.ts');
    const { diffHost } = await import('./diff.ts');
    const d = desiredHost(model([ids('lb')]), opts);
    const changes = describeHostDiff(d, diffHost(d, { links: [{ name: 'ens3', ifindex: 2, kind: 'veth', mtu: 1500, up: true, operstate: 'UP', mac: '52:54:00:00:00:01', group: 0 }], addresses: [] }, { instance: 'i' }));
    expect(changes.find((c) => c.name === vnicDeviceName('endpoint:t/ids'))).toMatchObject({ resource: 'tap', action: 'create', vnic: 'endpoint:t/ids' });
  });
});

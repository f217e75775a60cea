// desiredHost: the host driver's model (NICs, bonds, networks placed with their VLANs, vNICs) → the
// host's desired kernel devices and OVS ports. How Host/Cluster/Network objects become the model, and
// the full layout table, is pinned in controllers/host/host.desired.test.ts.
import { describe, expect, it } from 'vitest';
import type { HostModel } from '../host-driver.ts';
import { desiredHost, ovsBondMode } from './desired.ts';
import { bridgeName, internalPortName, vlanDeviceName, vnicDeviceName } from './model.ts';

// Names derived by hashing, pinned literally (they are kept across restarts: a change renames devices).
const TAP1 = 'nfva83079d97b59'; // vnicDeviceName('tenant-a/vm1-nic0')
const TAP2 = 'nfv679035cc71ba'; // vnicDeviceName('tenant-a/vm2-nic0')
const TAP3 = 'nfv713a9bc2a83d'; // vnicDeviceName('tenant-b/db-0')
const INT_WEB = 'nfi-4b5e57f6eb2'; // internalPortName('web')

describe('device names', () => {
  it.each([
    ['web', 'web'],
    ['exactly-15-char', 'exactly-15-char'],
    ['production-web-frontend', 'production-7447'],
    ['production-db-replication', 'production-7a3f'],
  ])('bridgeName(%s) = %s', (network, want) => {
    expect(bridgeName(network)).toBe(want);
    expect(bridgeName(network).length).toBeLessThanOrEqual(15);
  });

  it.each([
    ['ens3', 100, 'ens3.100'],
    ['bond0', 4094, 'bond0.4094'],
    ['enp175s0f1np1', 100, 'v100-fcc179a339'],
    ['enp175s0f1np1', 4094, 'v4094-fcc179a33'],
  ] as const)('vlanDeviceName(%s, %d) = %s', (parent, vlan, want) => {
    expect(vlanDeviceName(parent, vlan)).toBe(want);
    expect(vlanDeviceName(parent, vlan).length).toBeLessThanOrEqual(15);
  });

  it.each([
    ['tenant-a/vm1-nic0', TAP1],
    ['tenant-a/vm2-nic0', TAP2],
    ['tenant-b/db-0', TAP3],
  ])('vnicDeviceName(%s) = %s', (key, want) => expect(vnicDeviceName(key)).toBe(want));

  it('internalPortName is stable and fits', () => {
    expect(internalPortName('web')).toBe(INT_WEB);
    expect(internalPortName('a-very-long-network-name-indeed')).toMatch(/^nfi-[0-9a-f]{11}$/);
  });
});

describe('ovsBondMode', () => {
  it.each([
    ['802.3ad', 'balance-tcp', 'active'],
    ['active-backup', 'active-backup', 'off'],
    ['balance-rr', 'balance-slb', 'off'],
    ['balance-xor', 'balance-slb', 'off'],
    ['broadcast', 'balance-slb', 'off'],
    ['balance-tlb', 'balance-slb', 'off'],
    ['balance-alb', 'balance-slb', 'off'],
  ])('%s → bond_mode %s, lacp %s', (mode, bondMode, lacp) => expect(ovsBondMode(mode)).toStrictEqual({ bondMode, lacp }));
});

describe('desiredHost from a model', () => {
  const model = (o: Partial<HostModel>): HostModel => ({
    name: 'hv1',
    syncPolicy: 'Auto',
    probes: [],
    defaultFabric: 'linux-bridge',
    nics: [{ name: 'ens3' }],
    bonds: [],
    networks: [],
    unplaced: [],
    vnics: [],
    ...o,
  });
  const ovs = { ovsBridge: 'br-int', ovsDatapath: 'system' } as const;

  it('unplaced required networks and a pool network without a VLAN are problems, nothing is built for them', () => {
    const got = desiredHost(model({ unplaced: ['db'], networks: [{ name: 'web', interface: 'ens3', mtu: 1500, vlanPending: true }] }), ovs);
    expect(got.problems).toStrictEqual(['required network db is placed on no NIC or bond', 'network web has no VLAN from its pool yet']);
    expect(got.links).toStrictEqual([]);
    expect(got.networks).toStrictEqual([]);
  });

  it("the integration bridge and datapath are the target's, not the model's", () => {
    const got = desiredHost(model({ defaultFabric: 'ovs', networks: [{ name: 'web', interface: 'ens3', mtu: 1500, vlan: 100, address: '192.0.2.11/24' }] }), {
      ovsBridge: 'br-x',
      ovsDatapath: 'netdev',
    });
    expect(got.ovs).toStrictEqual({
      bridge: 'br-x',
      datapath: 'netdev',
      ports: [
        { name: 'ens3', type: 'system', trunks: [100], mtu: 1500 },
        { name: INT_WEB, type: 'internal', tag: 100, mtu: 1500, network: 'web' },
      ],
    });
    expect(got.addresses).toStrictEqual([{ device: INT_WEB, cidr: '192.0.2.11/24' }]);
  });
});

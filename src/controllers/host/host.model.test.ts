import { describe, expect, it } from 'vitest';
import type { Cluster, Host, Network } from '../../api/kinds.ts';
import { GROUP_VERSION } from '../../api/crds.ts';
import type { ClusterSpec, HostSpec } from '../../api/types.gen.ts';
import { hostNetworks, type HostNetworks } from './host.model.ts';

const API = GROUP_VERSION;

function network(name: string, label?: string): Network {
  const n: Network = {
    apiVersion: API,
    kind: 'Network',
    metadata: { name },
    spec: {
      approval: 'Auto',
      external: false,
      physicalNetwork: 'physnet1',
      vlan: { id: 100 },
      mtu: 1500,
      shared: false,
      adminStateUp: true,
      portSecurity: true,
      portMirroring: false,
      managementPolicy: 'Managed',
      deletionPolicy: 'Delete',
      allowReplace: false,
    },
  };
  if (label) n.spec.label = label;
  return n;
}

function cluster(networks: NonNullable<ClusterSpec['networks']>, defaultFabric: ClusterSpec['defaultFabric'] = 'linux-bridge'): Cluster {
  return { apiVersion: API, kind: 'Cluster', metadata: { name: 'c1' }, spec: { defaultFabric, networks } };
}

function host(spec: Partial<HostSpec>): Host {
  return { apiVersion: API, kind: 'Host', metadata: { name: 'h1' }, spec: { cluster: 'c1', syncPolicy: 'Auto', agentTimeoutSeconds: 180, ...spec } as HostSpec };
}

const nets = (...ns: Network[]) => new Map(ns.map((n) => [n.metadata.name, n]));

const NETS = nets(network('mgmt', 'mgmt'), network('storage', 'storage'), network('vm', 'vm'), network('nolabel'), network('orphan-label', 'nowhere'));

describe('hostNetworks', () => {
  it.each<{ name: string; host: Host; cluster: Cluster | undefined; want: HostNetworks }>([
    {
      name: 'explicit placement wins over a label match, address carried',
      host: host({
        nics: [
          { name: 'eth0', labels: ['mgmt'] },
          { name: 'eth1', fabric: 'ovs' },
        ],
        networks: [{ name: 'mgmt', interface: 'eth1', address: '192.0.2.11/24' }],
      }),
      cluster: cluster([{ name: 'mgmt', required: true }]),
      want: {
        placements: [{ network: 'mgmt', interface: 'eth1', via: 'placement', required: true, fabric: 'ovs', address: '192.0.2.11/24' }],
        unplaced: [],
      },
    },
    {
      name: 'explicit placement without address has no address key; network without label',
      host: host({ nics: [{ name: 'eth0' }], networks: [{ name: 'nolabel', interface: 'eth0' }] }),
      cluster: cluster([{ name: 'nolabel', required: false }]),
      want: { placements: [{ network: 'nolabel', interface: 'eth0', via: 'placement', required: false, fabric: 'linux-bridge' }], unplaced: [] },
    },
    {
      name: 'label match picks the first interface by name',
      host: host({
        nics: [
          { name: 'eth2', labels: ['vm'] },
          { name: 'eth10', labels: ['vm'] },
          { name: 'eth1', labels: ['storage', 'vm'] },
        ],
      }),
      cluster: cluster([{ name: 'vm', required: true }]),
      want: { placements: [{ network: 'vm', interface: 'eth1', via: 'label', required: true, fabric: 'linux-bridge' }], unplaced: [] },
    },
    {
      // Natural order: eth2 sorts before eth10.
      name: 'label match: "first by name" is natural order',
      host: host({
        nics: [
          { name: 'eth2', labels: ['vm'] },
          { name: 'eth10', labels: ['vm'] },
        ],
      }),
      cluster: cluster([{ name: 'vm', required: true }]),
      want: { placements: [{ network: 'vm', interface: 'eth2', via: 'label', required: true, fabric: 'linux-bridge' }], unplaced: [] },
    },
    {
      name: 'label match ignores bond members and finds the bond',
      host: host({
        nics: [
          { name: 'eth0', labels: ['vm'] },
          { name: 'eth1', labels: ['vm'] },
          { name: 'eth2' },
        ],
        bonds: [{ name: 'bond0', mode: '802.3ad', members: ['eth0', 'eth1'], labels: ['vm'], fabric: 'ovs' }],
      }),
      cluster: cluster([{ name: 'vm', required: true }]),
      want: { placements: [{ network: 'vm', interface: 'bond0', via: 'label', required: true, fabric: 'ovs' }], unplaced: [] },
    },
    {
      name: 'label only on bond members: unplaced',
      host: host({
        nics: [{ name: 'eth0', labels: ['vm'] }, { name: 'eth1' }],
        bonds: [{ name: 'bond0', mode: 'active-backup', members: ['eth0', 'eth1'] }],
      }),
      cluster: cluster([{ name: 'vm', required: true }]),
      want: { placements: [], unplaced: ['vm'] },
    },
    {
      name: 'fabric: NIC fabric, bond fabric, else cluster default',
      host: host({
        nics: [
          { name: 'eth0', labels: ['mgmt'] },
          { name: 'eth1', labels: ['storage'], fabric: 'linux-bridge' },
          { name: 'eth2' },
          { name: 'eth3' },
        ],
        bonds: [{ name: 'bond0', mode: '802.3ad', members: ['eth2', 'eth3'], labels: ['vm'] }],
      }),
      cluster: cluster(
        [
          { name: 'vm', required: true },
          { name: 'storage', required: true },
          { name: 'mgmt', required: true },
        ],
        'ovs',
      ),
      want: {
        placements: [
          { network: 'mgmt', interface: 'eth0', via: 'label', required: true, fabric: 'ovs' },
          { network: 'storage', interface: 'eth1', via: 'label', required: true, fabric: 'linux-bridge' },
          { network: 'vm', interface: 'bond0', via: 'label', required: true, fabric: 'ovs' },
        ],
        unplaced: [],
      },
    },
    {
      name: 'unplaced required networks listed (sorted); optional unplaced not listed',
      host: host({ nics: [{ name: 'eth0', labels: ['mgmt'] }] }),
      cluster: cluster([
        { name: 'vm', required: true },
        { name: 'mgmt', required: true },
        { name: 'storage', required: false },
        { name: 'orphan-label', required: true },
        { name: 'nolabel', required: true },
        { name: 'not-declared', required: true },
        { name: 'also-optional', required: false },
      ]),
      want: {
        placements: [{ network: 'mgmt', interface: 'eth0', via: 'label', required: true, fabric: 'linux-bridge' }],
        unplaced: ['nolabel', 'not-declared', 'orphan-label', 'vm'],
      },
    },
    {
      name: 'optional network placed by label is carried',
      host: host({ nics: [{ name: 'eth0', labels: ['storage'] }] }),
      cluster: cluster([{ name: 'storage', required: false }]),
      want: { placements: [{ network: 'storage', interface: 'eth0', via: 'label', required: false, fabric: 'linux-bridge' }], unplaced: [] },
    },
    {
      name: 'placement for a network not attached to the cluster is ignored',
      host: host({ nics: [{ name: 'eth0' }], networks: [{ name: 'vm', interface: 'eth0' }] }),
      cluster: cluster([]),
      want: { placements: [], unplaced: [] },
    },
    {
      name: 'no cluster: nothing to carry',
      host: host({ nics: [{ name: 'eth0', labels: ['vm'] }], networks: [{ name: 'vm', interface: 'eth0' }] }),
      cluster: undefined,
      want: { placements: [], unplaced: [] },
    },
    {
      name: 'placements sorted by network name',
      host: host({
        nics: [{ name: 'eth0', labels: ['vm', 'storage', 'mgmt'] }],
      }),
      cluster: cluster([
        { name: 'vm', required: false },
        { name: 'storage', required: false },
        { name: 'mgmt', required: false },
      ]),
      want: {
        placements: [
          { network: 'mgmt', interface: 'eth0', via: 'label', required: false, fabric: 'linux-bridge' },
          { network: 'storage', interface: 'eth0', via: 'label', required: false, fabric: 'linux-bridge' },
          { network: 'vm', interface: 'eth0', via: 'label', required: false, fabric: 'linux-bridge' },
        ],
        unplaced: [],
      },
    },
  ])('$name', ({ host, cluster, want }) => {
    const got = hostNetworks(host, cluster, NETS);
    expect(got).toEqual(want);
    for (const [i, p] of got.placements.entries()) expect('address' in p, `placement ${i}`).toBe(want.placements[i]!.address !== undefined);
  });
});

// Host + Cluster + Networks (with resolved VLANs) + vNICs → hostModel (the host driver's input,
// computed in the controller) → desiredHost (the Linux driver's layout): the host's desired kernel
// devices, addresses, OVS ports, per-network device lists and problems. Table-driven; every case
// pins the exact output (names, MTUs, masters, ports) so a changed layout fails here.
import { describe, expect, it } from 'vitest';
import { GROUP_VERSION } from '../../api/crds.ts';
import type { Cluster, Host, Network } from '../../api/kinds.ts';
import type { ClusterSpec, HostSpec, NetworkSpec } from '../../api/types.gen.ts';
import type { HostVnicModel } from '../../drivers/host-driver.ts';
import { desiredHost as layoutOf } from '../../drivers/host/desired.ts';
import { diffHost } from '../../drivers/host/diff.ts';
import { OVS_NETWORK_KEY, OVS_OWNER_KEY, type DesiredHost, type ObservedHost, type ObservedOvsPort } from '../../drivers/host/model.ts';
import { planOvs } from '../../drivers/host/plan.ts';
import { hostModel, type HostInputs } from './host.desired.ts';

type VnicInput = HostVnicModel;

/** The layout the Linux driver derives from the model the controller computes (on br-int, netdev). */
const desiredHost = (i: HostInputs): DesiredHost => layoutOf(hostModel(i), { ovsBridge: 'br-int', ovsDatapath: 'netdev' });

interface NetDef {
  /** A fixed VLAN id. */
  vlan?: number;
  /** A pool, and (optionally) the VLAN allocated from it so far. */
  pool?: string;
  allocated?: number;
  mtu?: number;
  label?: string;
}

function networkInput(name: string, d: NetDef): { network: Network; vlan?: number } {
  const spec: NetworkSpec = {
    approval: 'Auto',
    external: false,
    physicalNetwork: 'physnet1',
    mtu: d.mtu ?? 1500,
    shared: false,
    adminStateUp: true,
    portSecurity: true,
    portMirroring: false,
    managementPolicy: 'Managed',
    deletionPolicy: 'Delete',
    allowReplace: false,
  };
  if (d.label) spec.label = d.label;
  if (d.vlan !== undefined) {
    spec.vlan = { id: d.vlan };
    return { network: network(name, spec), vlan: d.vlan };
  }
  if (d.pool !== undefined) {
    spec.vlan = { poolRef: { name: d.pool } };
    return d.allocated !== undefined ? { network: network(name, spec), vlan: d.allocated } : { network: network(name, spec) };
  }
  return { network: network(name, spec) };
}

const network = (name: string, spec: NetworkSpec): Network => ({ apiVersion: GROUP_VERSION, kind: 'Network', metadata: { name }, spec });

interface Setup {
  nics?: HostSpec['nics'];
  bonds?: HostSpec['bonds'];
  place?: HostSpec['networks'];
  /** Networks attached to the cluster: name, or [name, required]. */
  attach: (string | [string, boolean])[];
  nets: Record<string, NetDef>;
  fabric?: ClusterSpec['defaultFabric'];
  vnics?: VnicInput[];
}

function inputs(s: Setup): HostInputs {
  const host: Host = {
    apiVersion: GROUP_VERSION,
    kind: 'Host',
    metadata: { name: 'hv1' },
    spec: { cluster: 'c1', syncPolicy: 'Auto', approval: 'Auto', agentTimeoutSeconds: 180, nics: s.nics ?? [], ...(s.bonds ? { bonds: s.bonds } : {}), networks: s.place ?? [] },
  };
  const cluster: Cluster = {
    apiVersion: GROUP_VERSION,
    kind: 'Cluster',
    metadata: { name: 'c1' },
    spec: {
      defaultFabric: s.fabric ?? 'linux-bridge',
      networks: s.attach.map((a) => (typeof a === 'string' ? { name: a, required: false } : { name: a[0], required: a[1] })),
    },
  };
  return {
    host,
    cluster,
    networks: new Map(Object.entries(s.nets).map(([n, d]) => [n, networkInput(n, d).network])),
    vlans: new Map(
      Object.entries(s.nets).flatMap(([n, d]) => {
        const vlan = networkInput(n, d).vlan;
        return vlan === undefined ? [] : [[n, vlan] as const];
      }),
    ),
    vnics: s.vnics ?? [],
  };
}

const vnic = (key: string, network: string, o: Partial<VnicInput> = {}): VnicInput => ({
  key,
  network,
  vmName: `vm-${key.split('/')[1]}`,
  plugged: true,
  linked: true,
  ...o,
});

// Names derived by hashing, pinned literally (they are kept across restarts: a change renames devices).
const TAP1 = 'nfva83079d97b59'; // vnicDeviceName('tenant-a/vm1-nic0')
const TAP2 = 'nfv679035cc71ba'; // vnicDeviceName('tenant-a/vm2-nic0')
const TAP3 = 'nfv713a9bc2a83d'; // vnicDeviceName('tenant-b/db-0')
const INT_WEB = 'nfi-4b5e57f6eb2'; // internalPortName('web')

describe('desiredHost', () => {
  it.each<{ name: string; setup: Setup; want: Partial<DesiredHost> }>([
    {
      name: 'linux-bridge VLAN network: bridge named after the network, VLAN sub-interface enslaved, network MTU everywhere, address on the bridge',
      setup: {
        nics: [{ name: 'ens3' }],
        place: [{ name: 'web', interface: 'ens3', address: '192.0.2.11/24' }],
        attach: [['web', true]],
        nets: { web: { vlan: 100, mtu: 9000 } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 9000 },
          { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 9000, purpose: 'network/web' },
          { name: 'web', kind: 'bridge', mtu: 9000, purpose: 'network/web' },
        ],
        addresses: [{ device: 'web', cidr: '192.0.2.11/24' }],
        networks: [{ name: 'web', fabric: 'linux-bridge', interface: 'ens3', vlan: 100, mtu: 9000, devices: ['web', 'ens3.100'], ovsPorts: [] }],
        problems: [],
      },
    },
    {
      name: 'long network and NIC names: bridge and VLAN device shortened deterministically to 15 characters',
      setup: {
        nics: [{ name: 'enp175s0f1np1' }],
        place: [{ name: 'production-web-frontend', interface: 'enp175s0f1np1' }],
        attach: ['production-web-frontend'],
        nets: { 'production-web-frontend': { vlan: 100 } },
      },
      want: {
        links: [
          { name: 'enp175s0f1np1', kind: 'nic', mtu: 1500 },
          { name: 'production-7447', kind: 'bridge', mtu: 1500, purpose: 'network/production-web-frontend' },
          {
            name: 'v100-fcc179a339',
            kind: 'vlan',
            parent: 'enp175s0f1np1',
            vlanId: 100,
            master: 'production-7447',
            mtu: 1500,
            purpose: 'network/production-web-frontend',
          },
        ],
        networks: [
          {
            name: 'production-web-frontend',
            fabric: 'linux-bridge',
            interface: 'enp175s0f1np1',
            vlan: 100,
            mtu: 1500,
            devices: ['production-7447', 'v100-fcc179a339'],
            ovsPorts: [],
          },
        ],
        problems: [],
      },
    },
    {
      name: 'NIC MTU is the largest of its networks; each sub-interface and bridge keeps its own network MTU',
      setup: {
        nics: [{ name: 'ens3' }, { name: 'ens4' }],
        place: [
          { name: 'web', interface: 'ens3' },
          { name: 'storage', interface: 'ens3' },
        ],
        attach: ['web', 'storage'],
        nets: { web: { vlan: 100, mtu: 1500 }, storage: { vlan: 200, mtu: 9000 } },
      },
      want: {
        // ens4 carries nothing and has no MTU of its own: netform leaves it alone.
        links: [
          { name: 'ens3', kind: 'nic', mtu: 9000 },
          { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 1500, purpose: 'network/web' },
          { name: 'ens3.200', kind: 'vlan', parent: 'ens3', vlanId: 200, master: 'storage', mtu: 9000, purpose: 'network/storage' },
          { name: 'storage', kind: 'bridge', mtu: 9000, purpose: 'network/storage' },
          { name: 'web', kind: 'bridge', mtu: 1500, purpose: 'network/web' },
        ],
        addresses: [],
        problems: [],
      },
    },
    {
      name: 'an explicit NIC MTU wins over its networks; a NIC with only an MTU is still configured',
      setup: {
        nics: [
          { name: 'ens3', mtu: 9216 },
          { name: 'ens4', mtu: 9000 },
        ],
        place: [{ name: 'web', interface: 'ens3' }],
        attach: ['web'],
        nets: { web: { vlan: 100, mtu: 1500 } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 9216 },
          { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 1500, purpose: 'network/web' },
          { name: 'ens4', kind: 'nic', mtu: 9000 },
          { name: 'web', kind: 'bridge', mtu: 1500, purpose: 'network/web' },
        ],
        problems: [],
      },
    },
    {
      name: 'untagged network: the NIC itself is enslaved to the bridge and listed as the network device',
      setup: {
        nics: [{ name: 'ens3' }],
        place: [
          { name: 'mgmt', interface: 'ens3', address: '198.51.100.11/24' },
          { name: 'web', interface: 'ens3' },
        ],
        attach: [['mgmt', true], 'web'],
        nets: { mgmt: { mtu: 1500 }, web: { vlan: 100, mtu: 9000 } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 9000, master: 'mgmt' },
          { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 9000, purpose: 'network/web' },
          { name: 'mgmt', kind: 'bridge', mtu: 1500, purpose: 'network/mgmt' },
          { name: 'web', kind: 'bridge', mtu: 9000, purpose: 'network/web' },
        ],
        addresses: [{ device: 'mgmt', cidr: '198.51.100.11/24' }],
        networks: [
          { name: 'mgmt', fabric: 'linux-bridge', interface: 'ens3', mtu: 1500, devices: ['mgmt', 'ens3'], ovsPorts: [] },
          { name: 'web', fabric: 'linux-bridge', interface: 'ens3', vlan: 100, mtu: 9000, devices: ['web', 'ens3.100'], ovsPorts: [] },
        ],
        problems: [],
      },
    },
    {
      name: 'two untagged networks on one NIC: a problem; only the first is realized',
      setup: {
        nics: [{ name: 'ens3' }],
        place: [
          { name: 'mgmt', interface: 'ens3' },
          { name: 'backup', interface: 'ens3' },
        ],
        attach: ['mgmt', 'backup'],
        nets: { mgmt: {}, backup: {} },
      },
      want: {
        links: [
          { name: 'backup', kind: 'bridge', mtu: 1500, purpose: 'network/backup' },
          { name: 'ens3', kind: 'nic', mtu: 1500, master: 'backup' },
        ],
        networks: [{ name: 'backup', fabric: 'linux-bridge', interface: 'ens3', mtu: 1500, devices: ['backup', 'ens3'], ovsPorts: [] }],
        problems: ['networks backup and mgmt are both untagged on ens3'],
      },
    },
    {
      name: 'vNICs on a linux-bridge network: plugged → tap on the bridge, unlinked → down, unplugged or elsewhere → absent',
      setup: {
        nics: [{ name: 'ens3' }],
        place: [{ name: 'web', interface: 'ens3' }],
        attach: ['web'],
        nets: { web: { vlan: 100, mtu: 1450 } },
        vnics: [
          vnic('tenant-a/vm1-nic0', 'web', { mac: '52:54:00:00:00:01' }),
          vnic('tenant-a/vm2-nic0', 'web', { linked: false }),
          vnic('tenant-b/db-0', 'web', { plugged: false }),
          vnic('tenant-b/other', 'not-on-this-host'),
        ],
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 1450 },
          { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 1450, purpose: 'network/web' },
          { name: TAP2, kind: 'tap', master: 'web', mtu: 1450, purpose: 'vnic/tenant-a/vm2-nic0', down: true },
          { name: TAP1, kind: 'tap', master: 'web', mtu: 1450, purpose: 'vnic/tenant-a/vm1-nic0' },
          { name: 'web', kind: 'bridge', mtu: 1450, purpose: 'network/web' },
        ],
        networks: [{ name: 'web', fabric: 'linux-bridge', interface: 'ens3', vlan: 100, mtu: 1450, devices: ['web', 'ens3.100', TAP1, TAP2], ovsPorts: [] }],
        problems: [],
      },
    },
    {
      name: 'ovs fabric: uplink trunks sorted and unique, VM ports tagged with external_ids, internal port carries the host address',
      setup: {
        fabric: 'ovs',
        nics: [{ name: 'ens3' }],
        place: [
          { name: 'web', interface: 'ens3', address: '192.0.2.11/24' },
          { name: 'storage', interface: 'ens3' },
          { name: 'web-dr', interface: 'ens3' },
        ],
        attach: ['web', 'storage', 'web-dr'],
        nets: { web: { vlan: 300, mtu: 1500 }, storage: { vlan: 200, mtu: 9000 }, 'web-dr': { vlan: 300, mtu: 1500 } },
        vnics: [
          vnic('tenant-a/vm1-nic0', 'web', { mac: '52:54:00:00:00:01', vmUid: '0f3e3c3a-1111-2222-3333-444444444444' }),
          vnic('tenant-a/vm2-nic0', 'web', { linked: false }),
          vnic('tenant-b/db-0', 'web', { plugged: false }),
        ],
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 9000 },
          { name: TAP2, kind: 'tap', mtu: 1500, purpose: 'vnic/tenant-a/vm2-nic0', down: true },
          { name: TAP1, kind: 'tap', mtu: 1500, purpose: 'vnic/tenant-a/vm1-nic0' },
        ],
        addresses: [{ device: INT_WEB, cidr: '192.0.2.11/24' }],
        ovs: {
          bridge: 'br-int',
          datapath: 'netdev',
          ports: [
            { name: 'ens3', type: 'system', trunks: [200, 300], mtu: 9000 },
            { name: INT_WEB, type: 'internal', tag: 300, mtu: 1500, network: 'web' },
            { name: TAP2, type: 'system', tag: 300, mtu: 1500, network: 'web', external: { 'iface-id': 'tenant-a/vm2-nic0', 'vm-id': 'vm-vm2-nic0', 'iface-status': 'active' } },
            {
              name: TAP1,
              type: 'system',
              tag: 300,
              mtu: 1500,
              network: 'web',
              external: { 'iface-id': 'tenant-a/vm1-nic0', 'vm-id': '0f3e3c3a-1111-2222-3333-444444444444', 'iface-status': 'active', 'attached-mac': '52:54:00:00:00:01' },
            },
          ],
        },
        networks: [
          { name: 'storage', fabric: 'ovs', interface: 'ens3', vlan: 200, mtu: 9000, devices: [], ovsPorts: ['ens3'] },
          { name: 'web', fabric: 'ovs', interface: 'ens3', vlan: 300, mtu: 1500, devices: [TAP1, TAP2], ovsPorts: ['ens3', INT_WEB, TAP1, TAP2] },
          { name: 'web-dr', fabric: 'ovs', interface: 'ens3', vlan: 300, mtu: 1500, devices: [], ovsPorts: ['ens3'] },
        ],
        problems: [],
      },
    },
    {
      name: 'untagged network on the ovs fabric: a problem, not placed',
      setup: { fabric: 'ovs', nics: [{ name: 'ens3' }], place: [{ name: 'mgmt', interface: 'ens3' }], attach: ['mgmt'], nets: { mgmt: {} } },
      want: { networks: [], problems: ['network mgmt is untagged; on the ovs fabric a network needs a VLAN'] },
    },
    {
      name: 'kernel bond (linux-bridge): mode, members enslaved at the bond MTU, lacpRate and miimon; an idle bond has no MTU',
      setup: {
        nics: [{ name: 'ens3', mtu: 1500 }, { name: 'ens4' }, { name: 'ens5' }, { name: 'ens6' }],
        bonds: [
          { name: 'bond0', mode: '802.3ad', members: ['ens3', 'ens4'], lacpRate: 'fast', miimonMs: 100 },
          { name: 'bond1', mode: 'active-backup', members: ['ens5', 'ens6'] },
        ],
        place: [{ name: 'web', interface: 'bond0' }],
        attach: ['web'],
        nets: { web: { vlan: 100, mtu: 9000 } },
      },
      want: {
        links: [
          { name: 'bond0', kind: 'bond', bond: { mode: '802.3ad', members: ['ens3', 'ens4'], lacpRate: 'fast', miimonMs: 100 }, purpose: 'bond', mtu: 9000 },
          { name: 'bond0.100', kind: 'vlan', parent: 'bond0', vlanId: 100, master: 'web', mtu: 9000, purpose: 'network/web' },
          { name: 'bond1', kind: 'bond', bond: { mode: 'active-backup', members: ['ens5', 'ens6'] }, purpose: 'bond' },
          // A member takes the bond's MTU, not its own explicit one.
          { name: 'ens3', kind: 'nic', master: 'bond0', mtu: 9000 },
          { name: 'ens4', kind: 'nic', master: 'bond0', mtu: 9000 },
          { name: 'ens5', kind: 'nic', master: 'bond1' },
          { name: 'ens6', kind: 'nic', master: 'bond1' },
          { name: 'web', kind: 'bridge', mtu: 9000, purpose: 'network/web' },
        ],
        networks: [{ name: 'web', fabric: 'linux-bridge', interface: 'bond0', vlan: 100, mtu: 9000, devices: ['web', 'bond0.100'], ovsPorts: [] }],
        problems: [],
      },
    },
    {
      name: 'untagged network on a kernel bond: the bond is enslaved to the bridge',
      setup: {
        nics: [{ name: 'ens3' }, { name: 'ens4' }],
        bonds: [{ name: 'bond0', mode: 'active-backup', members: ['ens3', 'ens4'] }],
        place: [{ name: 'mgmt', interface: 'bond0', address: '198.51.100.11/24' }],
        attach: ['mgmt'],
        nets: { mgmt: { mtu: 1500 } },
      },
      want: {
        links: [
          { name: 'bond0', kind: 'bond', bond: { mode: 'active-backup', members: ['ens3', 'ens4'] }, purpose: 'bond', mtu: 1500, master: 'mgmt' },
          { name: 'ens3', kind: 'nic', master: 'bond0', mtu: 1500 },
          { name: 'ens4', kind: 'nic', master: 'bond0', mtu: 1500 },
          { name: 'mgmt', kind: 'bridge', mtu: 1500, purpose: 'network/mgmt' },
        ],
        addresses: [{ device: 'mgmt', cidr: '198.51.100.11/24' }],
        networks: [{ name: 'mgmt', fabric: 'linux-bridge', interface: 'bond0', mtu: 1500, devices: ['mgmt', 'bond0'], ovsPorts: [] }],
        problems: [],
      },
    },
    {
      name: 'OVS bond: 802.3ad → balance-tcp with LACP active, trunks of its networks, members configured but not enslaved',
      setup: {
        fabric: 'ovs',
        nics: [{ name: 'ens3' }, { name: 'ens4' }],
        bonds: [{ name: 'bond0', mode: '802.3ad', members: ['ens3', 'ens4'], lacpRate: 'fast' }],
        place: [
          { name: 'web', interface: 'bond0' },
          { name: 'storage', interface: 'bond0' },
        ],
        attach: ['web', 'storage'],
        nets: { web: { vlan: 300, mtu: 1500 }, storage: { vlan: 100, mtu: 9000 } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 9000 },
          { name: 'ens4', kind: 'nic', mtu: 9000 },
        ],
        ovs: {
          bridge: 'br-int',
          datapath: 'netdev',
          ports: [{ name: 'bond0', type: 'bond', bondMembers: ['ens3', 'ens4'], bondMode: 'balance-tcp', lacp: 'active', trunks: [100, 300], mtu: 9000 }],
        },
        problems: [],
      },
    },
    {
      name: 'OVS bond modes: active-backup kept; a bond that carries no network (no trunks) stays off the bridge, its members without MTU',
      setup: {
        nics: [{ name: 'ens3' }, { name: 'ens4' }, { name: 'ens5' }, { name: 'ens6' }],
        bonds: [
          { name: 'bond0', mode: 'active-backup', members: ['ens3', 'ens4'], fabric: 'ovs' },
          { name: 'bond1', mode: 'balance-xor', members: ['ens5', 'ens6'], fabric: 'ovs' },
        ],
        place: [{ name: 'web', interface: 'bond0' }],
        attach: ['web'],
        nets: { web: { vlan: 100 } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 1500 },
          { name: 'ens4', kind: 'nic', mtu: 1500 },
          { name: 'ens5', kind: 'nic' },
          { name: 'ens6', kind: 'nic' },
        ],
        // Empty trunks would pass every VLAN: bond1 gets no port at all.
        ovs: {
          bridge: 'br-int',
          datapath: 'netdev',
          ports: [{ name: 'bond0', type: 'bond', bondMembers: ['ens3', 'ens4'], bondMode: 'active-backup', lacp: 'off', trunks: [100], mtu: 1500 }],
        },
        networks: [{ name: 'web', fabric: 'ovs', interface: 'bond0', vlan: 100, mtu: 1500, devices: [], ovsPorts: ['bond0'] }],
        problems: [],
      },
    },
    {
      name: 'OVS bond mode balance-xor → balance-slb without LACP, once it carries a network',
      setup: {
        nics: [{ name: 'ens5' }, { name: 'ens6' }],
        bonds: [{ name: 'bond1', mode: 'balance-xor', members: ['ens5', 'ens6'], fabric: 'ovs' }],
        place: [{ name: 'db', interface: 'bond1' }],
        attach: ['db'],
        nets: { db: { vlan: 200, mtu: 9000 } },
      },
      want: {
        ovs: {
          bridge: 'br-int',
          datapath: 'netdev',
          ports: [{ name: 'bond1', type: 'bond', bondMembers: ['ens5', 'ens6'], bondMode: 'balance-slb', lacp: 'off', trunks: [200], mtu: 9000 }],
        },
        problems: [],
      },
    },
    {
      name: 'an OVS bond whose only network is a pool network without a VLAN yet: no port (no trunks), a problem',
      setup: {
        fabric: 'ovs',
        nics: [{ name: 'ens3' }, { name: 'ens4' }],
        bonds: [{ name: 'bond0', mode: '802.3ad', members: ['ens3', 'ens4'] }],
        place: [{ name: 'pending', interface: 'bond0' }],
        attach: ['pending'],
        nets: { pending: { pool: 'tenant-pool', mtu: 9000 } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic' },
          { name: 'ens4', kind: 'nic' },
        ],
        ovs: { bridge: 'br-int', datapath: 'netdev', ports: [] },
        networks: [],
        problems: ['network pending has no VLAN from its pool yet'],
      },
    },
    {
      name: 'label placement: a labelled NIC carries the network; an optional network without a match is not carried',
      setup: {
        nics: [{ name: 'ens3', labels: ['tenant'] }, { name: 'ens4' }],
        attach: ['vm', 'elsewhere'],
        nets: { vm: { vlan: 300, label: 'tenant' }, elsewhere: { vlan: 301, label: 'nowhere' } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 1500 },
          { name: 'ens3.300', kind: 'vlan', parent: 'ens3', vlanId: 300, master: 'vm', mtu: 1500, purpose: 'network/vm' },
          { name: 'vm', kind: 'bridge', mtu: 1500, purpose: 'network/vm' },
        ],
        networks: [{ name: 'vm', fabric: 'linux-bridge', interface: 'ens3', vlan: 300, mtu: 1500, devices: ['vm', 'ens3.300'], ovsPorts: [] }],
        problems: [],
      },
    },
    {
      name: 'pool network: without a VLAN yet → a problem, not placed; with its allocated VLAN → placed',
      setup: {
        nics: [{ name: 'ens3' }],
        place: [
          { name: 'pending', interface: 'ens3' },
          { name: 'pooled', interface: 'ens3' },
        ],
        attach: ['pending', 'pooled'],
        nets: { pending: { pool: 'tenant-pool', mtu: 9000 }, pooled: { pool: 'tenant-pool', allocated: 1234 } },
      },
      want: {
        // The pending network does not raise the NIC MTU to 9000 either.
        links: [
          { name: 'ens3', kind: 'nic', mtu: 1500 },
          { name: 'ens3.1234', kind: 'vlan', parent: 'ens3', vlanId: 1234, master: 'pooled', mtu: 1500, purpose: 'network/pooled' },
          { name: 'pooled', kind: 'bridge', mtu: 1500, purpose: 'network/pooled' },
        ],
        networks: [{ name: 'pooled', fabric: 'linux-bridge', interface: 'ens3', vlan: 1234, mtu: 1500, devices: ['pooled', 'ens3.1234'], ovsPorts: [] }],
        problems: ['network pending has no VLAN from its pool yet'],
      },
    },
    {
      name: 'required networks placed nowhere: one problem each',
      setup: {
        nics: [{ name: 'ens3' }],
        attach: [['mgmt', true], ['vm', true], 'optional'],
        nets: { mgmt: { vlan: 10 }, vm: { vlan: 20, label: 'vm' }, optional: { vlan: 30 } },
      },
      want: {
        links: [],
        networks: [],
        problems: ['required network mgmt is placed on no NIC or bond', 'required network vm is placed on no NIC or bond'],
      },
    },
    {
      name: "a bridge name equal to one of the host's NICs: a problem, no bridge",
      setup: {
        nics: [{ name: 'ens3' }, { name: 'ens4' }],
        place: [
          { name: 'ens4', interface: 'ens3' },
          { name: 'web', interface: 'ens3' },
        ],
        attach: ['ens4', 'web'],
        nets: { ens4: { vlan: 44 }, web: { vlan: 100 } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 1500 },
          { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 1500, purpose: 'network/web' },
          { name: 'web', kind: 'bridge', mtu: 1500, purpose: 'network/web' },
        ],
        networks: [{ name: 'web', fabric: 'linux-bridge', interface: 'ens3', vlan: 100, mtu: 1500, devices: ['web', 'ens3.100'], ovsPorts: [] }],
        problems: ['network ens4: its bridge name ens4 is also a NIC or bond of this host'],
      },
    },
    {
      name: 'NIC fabric overrides the cluster default (linux-bridge default, one NIC on ovs)',
      setup: {
        fabric: 'linux-bridge',
        nics: [{ name: 'ens3' }, { name: 'ens4', fabric: 'ovs' }],
        place: [
          { name: 'web', interface: 'ens3' },
          { name: 'storage', interface: 'ens4' },
        ],
        attach: ['web', 'storage'],
        nets: { web: { vlan: 100 }, storage: { vlan: 200, mtu: 9000 } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 1500 },
          { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 1500, purpose: 'network/web' },
          { name: 'ens4', kind: 'nic', mtu: 9000 },
          { name: 'web', kind: 'bridge', mtu: 1500, purpose: 'network/web' },
        ],
        ovs: { bridge: 'br-int', datapath: 'netdev', ports: [{ name: 'ens4', type: 'system', trunks: [200], mtu: 9000 }] },
        networks: [
          { name: 'storage', fabric: 'ovs', interface: 'ens4', vlan: 200, mtu: 9000, devices: [], ovsPorts: ['ens4'] },
          { name: 'web', fabric: 'linux-bridge', interface: 'ens3', vlan: 100, mtu: 1500, devices: ['web', 'ens3.100'], ovsPorts: [] },
        ],
        problems: [],
      },
    },
    {
      name: 'NIC fabric overrides the cluster default (ovs default, one NIC on linux-bridge)',
      setup: {
        fabric: 'ovs',
        nics: [{ name: 'ens3', fabric: 'linux-bridge' }, { name: 'ens4' }],
        place: [
          { name: 'web', interface: 'ens3' },
          { name: 'storage', interface: 'ens4' },
        ],
        attach: ['web', 'storage'],
        nets: { web: { vlan: 100 }, storage: { vlan: 200 } },
      },
      want: {
        links: [
          { name: 'ens3', kind: 'nic', mtu: 1500 },
          { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 1500, purpose: 'network/web' },
          { name: 'ens4', kind: 'nic', mtu: 1500 },
          { name: 'web', kind: 'bridge', mtu: 1500, purpose: 'network/web' },
        ],
        ovs: { bridge: 'br-int', datapath: 'netdev', ports: [{ name: 'ens4', type: 'system', trunks: [200], mtu: 1500 }] },
        problems: [],
      },
    },
  ])('$name', ({ setup, want }) => {
    const got = desiredHost(inputs(setup));
    for (const key of Object.keys(want) as (keyof DesiredHost)[]) expect(got[key], key).toStrictEqual(want[key]);
    // The integration bridge is always named, with no ports when nothing rides the ovs fabric.
    if (!('ovs' in want)) expect(got.ovs, 'ovs').toStrictEqual({ bridge: 'br-int', datapath: 'netdev', ports: [] });
  });

  it('is independent of the order of NICs in the Host spec', () => {
    const a = inputs({
      fabric: 'ovs',
      nics: [{ name: 'ens3' }, { name: 'ens4' }],
      place: [
        { name: 'web', interface: 'ens3' },
        { name: 'storage', interface: 'ens4' },
      ],
      attach: ['web', 'storage'],
      nets: { web: { vlan: 100 }, storage: { vlan: 200 } },
      vnics: [vnic('tenant-a/vm1-nic0', 'web'), vnic('tenant-b/db-0', 'storage'), vnic('tenant-a/vm2-nic0', 'web')],
    });
    const b: HostInputs = { ...a, host: { ...a.host, spec: { ...a.host.spec, nics: [...(a.host.spec.nics ?? [])].reverse() } } };
    const da = desiredHost(a);
    expect(desiredHost(b)).toStrictEqual(da);
    expect(da.links.map((l) => l.name)).toStrictEqual(['ens3', 'ens4', TAP1, TAP3, TAP2].sort());
  });
});

// desiredHost feeding diffHost and planOvs: what happens on the integration bridge when the ovs
// fabric loses its last network, or never had one.
describe('desiredHost → diffHost → planOvs: the integration bridge', () => {
  const mine = (network?: string): Record<string, string> => ({ [OVS_OWNER_KEY]: 'nf-test', ...(network ? { [OVS_NETWORK_KEY]: network } : {}) });
  const oport = (name: string, uuid: string, o: Partial<ObservedOvsPort> = {}): ObservedOvsPort => ({
    uuid,
    name,
    tag: undefined,
    trunks: [],
    vlanMode: undefined,
    bondMode: undefined,
    lacp: undefined,
    interfaces: [{ name, type: '', ofport: 4, error: undefined, mtuRequest: 1500, external: {} }],
    external: {},
    ...o,
  });
  // The host as netform left it with `web` (VLAN 100) on the ovs fabric and one VM on it.
  const observed = (): ObservedHost => ({
    links: [
      { name: 'ens3', ifindex: 2, kind: '', mtu: 1500, up: true, operstate: 'UP', mac: '52:54:00:00:00:03', group: 0, master: 'ovs-system' },
      {
        name: TAP1,
        ifindex: 9,
        kind: 'tun',
        mtu: 1500,
        up: true,
        operstate: 'UP',
        mac: 'fe:54:00:00:00:01',
        group: 28262,
        alias: 'netform:vnic/tenant-a/vm1-nic0',
        master: 'ovs-system',
      },
    ],
    addresses: [],
    ovs: {
      bridges: [
        {
          name: 'br-int',
          uuid: 'b-int',
          datapath: 'netdev',
          ports: [
            oport('br-int', 'u-br', {
              interfaces: [{ name: 'br-int', type: 'internal', ofport: 65534, error: undefined, mtuRequest: undefined, external: {} }],
            }),
            oport('ens3', 'u-ens3', { trunks: [100], external: mine() }),
            oport(TAP1, 'u-tap1', {
              tag: 100,
              interfaces: [{ name: TAP1, type: '', ofport: 4, error: undefined, mtuRequest: 1500, external: { 'iface-id': 'tenant-a/vm1-nic0', 'vm-id': 'vm-vm1-nic0', 'iface-status': 'active' } }],
              external: mine('web'),
            }),
            oport('vnet9', 'u-vnet9', { tag: 100 }), // someone else's
            oport('other-nf', 'u-other', { tag: 100, external: { [OVS_OWNER_KEY]: 'nf-other' } }), // another instance's
          ],
        },
      ],
    },
  });
  const withWeb: Setup = {
    fabric: 'ovs',
    nics: [{ name: 'ens3' }],
    place: [{ name: 'web', interface: 'ens3' }],
    attach: ['web'],
    nets: { web: { vlan: 100 } },
    vnics: [vnic('tenant-a/vm1-nic0', 'web')],
  };

  it('with web still on the ovs fabric: the bridge as observed is in sync', () => {
    const d = diffHost(desiredHost(inputs(withWeb)), observed(), { instance: 'nf-test' });
    expect(d).toStrictEqual({ links: [], ports: [], addresses: [], problems: [] });
  });

  it("removing the last ovs network deletes netform's uplink and VM port, nothing else, and creates no bridge", () => {
    // web detached from the cluster; its VnicAttachment gone with it. ens3 is still declared.
    const want = desiredHost(inputs({ fabric: 'ovs', nics: [{ name: 'ens3' }], attach: [], nets: {} }));
    expect(want.ovs).toStrictEqual({ bridge: 'br-int', datapath: 'netdev', ports: [] });
    const have = observed();
    const d = diffHost(want, have, { instance: 'nf-test' });
    const ports = have.ovs!.bridges[0]!.ports;
    expect(d.ports).toStrictEqual([
      { name: 'ens3', op: 'delete', have: ports[1], fields: ['not wanted'], stale: false },
      { name: TAP1, op: 'delete', have: ports[2], fields: ['not wanted'], stale: false },
    ]);
    expect(d.createBridge).toBeUndefined();
    // The tap is netform's too: it goes with the port.
    expect(d.links.map((c) => `${c.op} ${c.name}: ${c.fields.join(', ')}`)).toStrictEqual([`delete ${TAP1}: not wanted`]);
    expect(planOvs(d, 'nf-test', 'br-int')).toStrictEqual([
      {
        op: 'mutate',
        table: 'Bridge',
        where: [['name', '==', 'br-int']],
        mutations: [
          [
            'ports',
            'delete',
            [
              'set',
              [
                ['uuid', 'u-ens3'],
                ['uuid', 'u-tap1'],
              ],
            ],
          ],
        ],
      },
    ]);
  });

  it('no port wanted and no bridge on the host: no bridge is created, nothing for OVS', () => {
    const want = desiredHost(inputs({ fabric: 'ovs', nics: [{ name: 'ens3' }], attach: [], nets: {} }));
    const noBridge: ObservedHost = { links: [], addresses: [], ovs: { bridges: [] } };
    const noOvs: ObservedHost = { links: [], addresses: [] };
    for (const have of [noBridge, noOvs]) {
      const d = diffHost(want, have, { instance: 'nf-test' });
      expect(d).toStrictEqual({ links: [], ports: [], addresses: [], problems: [] });
      expect(planOvs(d, 'nf-test', 'br-int')).toStrictEqual([]);
    }
  });

  it('a linux-bridge-only host: the integration bridge is named but never created', () => {
    const want = desiredHost(inputs({ nics: [{ name: 'ens3' }], place: [{ name: 'web', interface: 'ens3' }], attach: ['web'], nets: { web: { vlan: 100 } } }));
    expect(want.ovs).toStrictEqual({ bridge: 'br-int', datapath: 'netdev', ports: [] });
    const d = diffHost(want, { links: [], addresses: [] }, { instance: 'nf-test' });
    expect(d.createBridge).toBeUndefined();
    expect(d.ports).toStrictEqual([]);
    expect(d.problems).toStrictEqual(['NIC ens3 is not on the host']);
  });
});

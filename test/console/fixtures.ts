// ConsoleViews for the browser tests and the benchmark, in the server's types (src/console/view.ts).
//
// quickstartView(): what `netform run --demo` on examples/quickstart shows once converged, in the
// shape netform's view model builds (ids, edges and placements as src/console/view.ts makes them) —
// the Host `demo` (cluster default) with ens3 under the Linux bridge ovirtmgmt holding 192.0.2.10/24,
// ens4 the Open vSwitch trunk of the pool VLANs (db 101, web 102: the lowest free ids in name order)
// on br-int, and one tap per vNIC (named as the agent names them, vnicDeviceName); the VMs web1 (web),
// db1 (db) and web2 (web and db, from the template web-tier) off br-int. The NICs' MACs are the demo's
// veths' (random per run: fixed here). The agent reports no network for the trunk ens4: the console
// reads it from the placements.
import { vnicDeviceName } from '../../src/drivers/host-driver.ts';
import type { ConsoleView, Health, HostView, NetworkRow, ObjectRow, TopoEdge, TopoNode } from '../../src/console/view.ts';

export type { ConsoleView };

export const DEMO_MACS = { ens3: '52:54:00:6e:00:03', ens4: '52:54:00:6e:00:04', brInt: '9e:41:a2:07:5c:10' } as const;

/** The quick start's vNICs: attachment (namespace/name), VM, network, interface, MAC. */
export const DEMO_VNICS = [
  { key: 'shop/web1-nic1', vm: 'web1', network: 'web', iface: 'nic1', mac: '56:6f:00:00:01:01' },
  { key: 'shop/db1-nic1', vm: 'db1', network: 'db', iface: 'nic1', mac: '56:6f:00:00:02:01' },
  { key: 'shop/web2-nic1', vm: 'web2', network: 'web', iface: 'nic1', mac: '56:6f:00:00:03:01' },
  { key: 'shop/web2-nic2', vm: 'web2', network: 'db', iface: 'nic2', mac: '56:6f:00:00:03:02' },
] as const;

/** Node ids as netform's view model makes them. */
export const ID = {
  network: (n: string) => `network:${n}`,
  host: (h: string) => `host:${h}`,
  bridge: (h: string, b: string) => `host:${h}/bridge:${b}`,
  nic: (h: string, n: string) => `host:${h}/nic:${n}`,
  vm: (ns: string, vm: string) => `vm:${ns}/${vm}`,
};

/** A plan digest as netform computes them: sha256 and 64 hex digits. */
export const digest = (seed: string) => `sha256:${Buffer.from(seed.padEnd(32, '.')).toString('hex').slice(0, 64)}`;

const READY = { status: 'True', reason: 'Available' } as const;
const SYNCED = { status: 'True', reason: 'ReconcileSuccess' } as const;

/** The tap of a vNIC on the demo host. */
export function tapOf(attachment: string): string {
  return vnicDeviceName(attachment);
}

export function quickstartView(at = new Date('2026-12-05T04:00:00Z'), sample = 0): ConsoleView {
  const wave = (base: number, i: number) => Math.round((base + base * 0.6 * Math.sin((sample + i) / 2)) * 1000) / 1000;
  const network = (name: string, n: Partial<NetworkRow>): NetworkRow => ({
    name,
    key: `Network/${name}`,
    mtu: 1500,
    providers: [],
    ready: READY,
    synced: SYNCED,
    health: 'ok',
    hosts: ['demo'],
    vnics: DEMO_VNICS.filter((v) => v.network === name).map((v) => v.key).sort(),
    endpoints: [],
    ...n,
  });
  const networks: NetworkRow[] = [
    network('db', { vlan: 101, physicalNetwork: 'physnet1', description: 'Database tier, not routed' }),
    network('ovirtmgmt', { physicalNetwork: 'mgmt', description: 'Host management, untagged' }),
    network('web', { vlan: 102, mtu: 9000, physicalNetwork: 'physnet1', description: 'Web tier' }),
  ];
  const host: HostView = {
    name: 'demo',
    key: 'Host/demo',
    cluster: 'default',
    health: 'ok',
    ready: READY,
    synced: SYNCED,
    address: '192.0.2.10/24',
    lastReport: new Date(at.getTime() - 2000).toISOString(),
    interfaces: [
      { name: 'ens3', mac: DEMO_MACS.ens3, speedMbps: 10000, rxMbps: wave(1.2, 0), txMbps: wave(0.4, 1), drops: 0, fabric: 'linux-bridge', network: 'ovirtmgmt' },
      { name: 'ens4', mac: DEMO_MACS.ens4, speedMbps: 10000, rxMbps: wave(12.5, 2), txMbps: wave(9.1, 3), drops: 0, fabric: 'ovs' },
      { name: 'ovirtmgmt', address: '192.0.2.10/24', mac: DEMO_MACS.ens3, rxMbps: wave(1.1, 4), txMbps: wave(0.4, 5), drops: 0, fabric: 'linux-bridge', network: 'ovirtmgmt' },
      { name: 'br-int', mac: DEMO_MACS.brInt, drops: 0, fabric: 'ovs' },
      ...DEMO_VNICS.map((v, i) => ({ name: tapOf(v.key), mac: `fe:54:00:00:0${i}:01`, rxMbps: wave(2 + i, 6 + i), txMbps: wave(3 + i, 7 + i), drops: 0, fabric: 'ovs', network: v.network })),
    ],
    bonds: [],
    outOfSync: [],
    problems: [],
    networks: [
      { name: 'db', interface: 'ens4', fabric: 'ovs', inSync: true },
      { name: 'ovirtmgmt', interface: 'ens3', fabric: 'linux-bridge', inSync: true },
      { name: 'web', interface: 'ens4', fabric: 'ovs', inSync: true },
    ],
  };
  const vms = ['db1', 'web1', 'web2'];
  const nodes: TopoNode[] = [
    ...networks.map((n): TopoNode => ({ id: ID.network(n.name), kind: 'network', label: n.name, health: n.health, key: n.key })),
    { id: ID.host('demo'), kind: 'host', label: 'demo', health: 'ok', key: 'Host/demo' },
    { id: ID.bridge('demo', 'br-int'), kind: 'bridge', label: 'br-int', health: 'ok', key: 'Host/demo', parent: ID.host('demo'), networks: ['db', 'web'] },
    { id: ID.bridge('demo', 'ovirtmgmt'), kind: 'bridge', label: 'ovirtmgmt', health: 'ok', key: 'Host/demo', parent: ID.host('demo'), networks: ['ovirtmgmt'] },
    { id: ID.nic('demo', 'ens3'), kind: 'nic', label: 'ens3', health: 'ok', key: 'Host/demo', parent: ID.host('demo') },
    { id: ID.nic('demo', 'ens4'), kind: 'nic', label: 'ens4', health: 'ok', key: 'Host/demo', parent: ID.host('demo') },
    ...vms.map((vm): TopoNode => ({ id: ID.vm('shop', vm), kind: 'vm', label: vm, health: 'ok', key: `VnicAttachment/shop/${vm}-nic1` })),
  ];
  const edges: TopoEdge[] = [
    ...networks.map((n): TopoEdge => ({ from: ID.network(n.name), to: ID.host('demo'), kind: 'carries' })),
    { from: ID.host('demo'), to: ID.bridge('demo', 'br-int'), kind: 'has' },
    { from: ID.host('demo'), to: ID.bridge('demo', 'ovirtmgmt'), kind: 'has' },
    { from: ID.bridge('demo', 'br-int'), to: ID.nic('demo', 'ens4'), kind: 'uplink' },
    { from: ID.bridge('demo', 'ovirtmgmt'), to: ID.nic('demo', 'ens3'), kind: 'uplink' },
    ...vms.map((vm): TopoEdge => ({
      from: ID.bridge('demo', 'br-int'),
      to: ID.vm('shop', vm),
      kind: 'vnic',
      label: DEMO_VNICS.filter((v) => v.vm === vm)
        .map((v) => `${v.iface} (${v.network})`)
        .join(', '),
    })),
  ];
  const obj = (key: string, kind: string, name: string, namespace?: string): ObjectRow => ({ key, kind, name, ...(namespace ? { namespace } : {}), health: 'ok', ready: READY, synced: SYNCED, declared: true, generation: 1 });
  const objects: ObjectRow[] = [
    obj('Cluster/default', 'Cluster', 'default'),
    obj('Host/demo', 'Host', 'demo'),
    ...networks.map((n) => obj(n.key, 'Network', n.name)),
    obj('VlanPool/tenant-vlans', 'VlanPool', 'tenant-vlans'),
    obj('VnicProfile/shop/web-limited', 'VnicProfile', 'web-limited', 'shop'),
    obj('VmNetworkTemplate/shop/web-tier', 'VmNetworkTemplate', 'web-tier', 'shop'),
    obj('VmNetworkBinding/shop/web2', 'VmNetworkBinding', 'web2', 'shop'),
    ...DEMO_VNICS.map((v) => {
      const [ns, name] = v.key.split('/') as [string, string];
      return obj(`VnicAttachment/${ns}/${name}`, 'VnicAttachment', name, ns);
    }),
  ];
  const t = (s: number) => new Date(at.getTime() - s * 1000).toISOString();
  return {
    generatedAt: at.toISOString(),
    mode: 'file',
    canApprove: true,
    networks,
    hosts: [host],
    topology: { nodes, edges },
    objects,
    events: [
      { time: t(40), key: 'Network/db', type: 'action', reason: 'Created', message: 'VLAN 101 on physnet1' },
      { time: t(38), key: 'Network/db', type: 'Ready', status: 'True', reason: 'Available' },
      { time: t(38), key: 'Network/web', type: 'Ready', status: 'True', reason: 'Available' },
      { time: t(30), key: 'Host/demo', type: 'action', reason: 'Applied', message: 'bridge ovirtmgmt over ens3 with 192.0.2.10/24; br-int with ens4 trunking 101,102; 4 taps' },
      { time: t(29), key: 'Host/demo', type: 'Ready', status: 'True', reason: 'Available' },
    ],
  };
}

/** The quick start's view with one network's MTU changed (as an edit of networks.yaml would). */
export function withMtu(v: ConsoleView, network: string, mtu: number, at: Date): ConsoleView {
  return { ...v, generatedAt: at.toISOString(), networks: v.networks.map((n) => (n.name === network ? { ...n, mtu } : n)) };
}

/** The view with the topology node `id` (and its object, when it has one) at `health`; the object
 *  Stalled when degraded, as netform reports a refused spec. */
export function withHealth(v: ConsoleView, id: string, health: Health, at: Date): ConsoleView {
  const node = v.topology.nodes.find((n) => n.id === id);
  if (!node) throw new Error(`no node ${id}`);
  const stalled = health === 'degraded' ? ({ status: 'True', reason: 'BackendRejected', message: 'the backend refused the MTU' } as const) : undefined;
  const synced = stalled ? ({ status: 'False', reason: 'BackendRejected', message: stalled.message } as const) : undefined;
  return {
    ...v,
    generatedAt: at.toISOString(),
    topology: { nodes: v.topology.nodes.map((n) => (n.id === id ? { ...n, health } : n)), edges: v.topology.edges },
    networks: v.networks.map((n) => (node.key === n.key ? { ...n, health, ...(stalled ? { stalled, synced } : {}) } : n)),
    objects: v.objects.map((o) => (o.key === node.key ? { ...o, health, ...(stalled ? { stalled, synced } : {}) } : o)),
  };
}

/** A second host, hv2, carrying only `web` on its own br-int over ens3, with the VM solo. */
export function withSecondHost(v: ConsoleView): ConsoleView {
  const nodes: TopoNode[] = [
    { id: ID.host('hv2'), kind: 'host', label: 'hv2', health: 'ok', key: 'Host/hv2' },
    { id: ID.bridge('hv2', 'br-int'), kind: 'bridge', label: 'br-int', health: 'ok', key: 'Host/hv2', parent: ID.host('hv2'), networks: ['web'] },
    { id: ID.nic('hv2', 'ens3'), kind: 'nic', label: 'ens3', health: 'ok', key: 'Host/hv2', parent: ID.host('hv2') },
    { id: ID.vm('shop', 'solo'), kind: 'vm', label: 'solo', health: 'ok', key: 'VnicAttachment/shop/solo-nic1' },
  ];
  const edges: TopoEdge[] = [
    { from: ID.network('web'), to: ID.host('hv2'), kind: 'carries' },
    { from: ID.host('hv2'), to: ID.bridge('hv2', 'br-int'), kind: 'has' },
    { from: ID.bridge('hv2', 'br-int'), to: ID.nic('hv2', 'ens3'), kind: 'uplink' },
    { from: ID.bridge('hv2', 'br-int'), to: ID.vm('shop', 'solo'), kind: 'vnic', label: 'nic1 (web)' },
  ];
  return { ...v, topology: { nodes: [...v.topology.nodes, ...nodes], edges: [...v.topology.edges, ...edges] } };
}

/** A view of `n` networks on 40 hosts, with conditions and providers, for the 10,000-row tests. */
export function bigView(n: number, at = new Date('2026-12-05T04:00:00Z')): ConsoleView {
  const healths: Health[] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'progressing', 'ok', 'degraded', 'unknown'];
  const networks: NetworkRow[] = [];
  for (let i = 0; i < n; i++) {
    const health = healths[i % healths.length]!;
    const name = `net-${String(i).padStart(5, '0')}`;
    networks.push({
      name,
      key: `Network/${name}`,
      vlan: i % 7 === 0 ? undefined : (i % 4000) + 1,
      mtu: i % 3 === 0 ? 9000 : 1500,
      physicalNetwork: `physnet${(i % 3) + 1}`,
      providers: [
        { name: 'openstack', type: 'neutron', externalId: `0c5e${i.toString(16).padStart(4, '0')}-8d1b-4c77-9a0e-${i.toString(16).padStart(12, '0')}` },
        ...(i % 2 ? [{ name: 'ucs-a', type: 'ucsm', externalId: `fabric/lan/net-nf-net-${i}` }] : []),
      ],
      ready: health === 'ok' ? READY : health === 'degraded' ? { status: 'False', reason: 'Unavailable', message: `net-${i}: see Synced` } : { status: 'Unknown', reason: 'Creating' },
      synced: health === 'degraded' ? { status: 'False', reason: 'BackendRejected', message: 'Neutron: VLAN in use on physnet' } : SYNCED,
      health,
      hosts: [`hv${i % 40}`, `hv${(i + 1) % 40}`],
      vnics: i % 5 ? [`tenant/vm${i}-nic1`] : [],
      endpoints: [],
      ...(health === 'degraded' ? { outOfSync: 'mtu: 1500 on the backend, 9000 declared' } : {}),
    });
  }
  return { generatedAt: at.toISOString(), mode: 'file', canApprove: false, networks, hosts: [], topology: { nodes: [], edges: [] }, objects: [], events: [] };
}

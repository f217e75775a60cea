// ConsoleViews for the browser tests and the benchmark.
//
// quickstartView(): what `netform run --demo` on examples/quickstart shows once converged — the Host
// `demo` (cluster default) with ens3 under the Linux bridge ovirtmgmt holding 192.0.2.10/24, ens4 the
// Open vSwitch trunk of the pool VLANs (db 101, web 102: the lowest free ids in name order), br-int, and
// one tap per vNIC (named as the agent names them, vnicDeviceName), tagged with its network; the VMs
// web1 (web), db1 (db) and web2 (web and db, from the template web-tier). Modelled on the manifests in
// examples/quickstart; the NICs' MACs are the demo's veths' (random per run: fixed here).
import { vnicDeviceName } from '../../src/drivers/host-driver.ts';
import type { ConsoleView, Health, HostView, NetworkRow, ObjectRow, TopoEdge, TopoNode } from './view.ts';

export const DEMO_MACS = { ens3: '52:54:00:6e:00:03', ens4: '52:54:00:6e:00:04', brInt: '9e:41:a2:07:5c:10' } as const;

/** The quick start's vNICs: attachment key → [VM, network, MAC]. */
export const DEMO_VNICS = [
  { key: 'shop/web1-nic1', vm: 'web1', network: 'web', mac: '56:6f:00:00:01:01' },
  { key: 'shop/db1-nic1', vm: 'db1', network: 'db', mac: '56:6f:00:00:02:01' },
  { key: 'shop/web2-nic1', vm: 'web2', network: 'web', mac: '56:6f:00:00:03:01' },
  { key: 'shop/web2-nic2', vm: 'web2', network: 'db', mac: '56:6f:00:00:03:02' },
] as const;

const READY = { status: 'True', reason: 'Available' } as const;
const SYNCED = { status: 'True', reason: 'ReconcileSuccess' } as const;

/** The tap of a vNIC on the demo host. */
export function tapOf(attachment: string): string {
  return vnicDeviceName(attachment);
}

export function quickstartView(at = new Date('2026-12-05T04:00:00Z'), sample = 0): ConsoleView {
  const wave = (base: number, i: number) => Math.round((base + base * 0.6 * Math.sin((sample + i) / 2)) * 1000) / 1000;
  const networks: NetworkRow[] = [
    { name: 'db', vlan: 101, mtu: 1500, physicalNetwork: 'physnet1', providers: [], ready: READY, synced: SYNCED, health: 'ok', hosts: ['demo'], vnics: ['shop/db1-nic1', 'shop/web2-nic2'] },
    { name: 'ovirtmgmt', mtu: 1500, physicalNetwork: 'mgmt', providers: [], ready: READY, synced: SYNCED, health: 'ok', hosts: ['demo'], vnics: [] },
    { name: 'web', vlan: 102, mtu: 9000, physicalNetwork: 'physnet1', providers: [], ready: READY, synced: SYNCED, health: 'ok', hosts: ['demo'], vnics: ['shop/web1-nic1', 'shop/web2-nic1'] },
  ];
  const host: HostView = {
    name: 'demo',
    cluster: 'default',
    health: 'ok',
    ready: READY,
    synced: SYNCED,
    lastReport: new Date(at.getTime() - 2000).toISOString(),
    interfaces: [
      { name: 'ens3', mac: DEMO_MACS.ens3, speedMbps: 10000, rxMbps: wave(1.2, 0), txMbps: wave(0.4, 1), drops: 0, fabric: 'linux-bridge', network: 'ovirtmgmt' },
      { name: 'ens4', mac: DEMO_MACS.ens4, speedMbps: 10000, rxMbps: wave(12.5, 2), txMbps: wave(9.1, 3), drops: 0, fabric: 'ovs', network: 'db, web' },
      { name: 'ovirtmgmt', address: '192.0.2.10/24', mac: DEMO_MACS.ens3, rxMbps: wave(1.1, 4), txMbps: wave(0.4, 5), drops: 0, fabric: 'linux-bridge', network: 'ovirtmgmt' },
      { name: 'br-int', mac: DEMO_MACS.brInt, drops: 0, fabric: 'ovs' },
      ...DEMO_VNICS.map((v, i) => ({
        name: tapOf(v.key),
        mac: `fe:54:00:00:0${i}:01`,
        rxMbps: wave(2 + i, 6 + i),
        txMbps: wave(3 + i, 7 + i),
        drops: 0,
        fabric: 'ovs',
        network: v.network,
      })),
    ],
    bonds: [],
    outOfSync: [],
  };
  const vmIds = ['web1', 'db1', 'web2'];
  const nodes: TopoNode[] = [
    { id: 'host:demo', kind: 'host', label: 'demo', health: 'ok', key: 'Host/demo' },
    { id: 'nic:demo/ens3', kind: 'nic', label: 'ens3', health: 'ok' },
    { id: 'nic:demo/ens4', kind: 'nic', label: 'ens4', health: 'ok' },
    { id: 'bridge:demo/ovirtmgmt', kind: 'bridge', label: 'ovirtmgmt', health: 'ok' },
    { id: 'bridge:demo/br-int', kind: 'bridge', label: 'br-int', health: 'ok' },
    ...networks.map((n): TopoNode => ({ id: `network:${n.name}`, kind: 'network', label: n.name, health: n.health, key: `Network/${n.name}` })),
    ...vmIds.map((vm): TopoNode => ({ id: `vm:shop/${vm}`, kind: 'vm', label: vm, health: 'ok', ...(vm === 'web2' ? { key: 'VmNetworkBinding/shop/web2' } : {}) })),
  ];
  const edges: TopoEdge[] = [
    { from: 'host:demo', to: 'nic:demo/ens3' },
    { from: 'host:demo', to: 'nic:demo/ens4' },
    { from: 'nic:demo/ens3', to: 'bridge:demo/ovirtmgmt' },
    { from: 'nic:demo/ens4', to: 'bridge:demo/br-int' },
    { from: 'bridge:demo/ovirtmgmt', to: 'network:ovirtmgmt' },
    { from: 'bridge:demo/br-int', to: 'network:db' },
    { from: 'bridge:demo/br-int', to: 'network:web' },
    ...DEMO_VNICS.map((v): TopoEdge => ({ from: `network:${v.network}`, to: `vm:shop/${v.vm}` })),
  ];
  const objects: ObjectRow[] = [
    { key: 'Cluster/default', kind: 'Cluster', name: 'default', health: 'ok', ready: READY, synced: SYNCED },
    { key: 'Host/demo', kind: 'Host', name: 'demo', health: 'ok', ready: READY, synced: SYNCED },
    ...networks.map((n): ObjectRow => ({ key: `Network/${n.name}`, kind: 'Network', name: n.name, health: n.health, ready: READY, synced: SYNCED })),
    { key: 'VlanPool/tenant-vlans', kind: 'VlanPool', name: 'tenant-vlans', health: 'ok', ready: READY, synced: SYNCED },
    { key: 'VnicProfile/shop/web-limited', kind: 'VnicProfile', name: 'web-limited', namespace: 'shop', health: 'ok', ready: READY, synced: SYNCED },
    { key: 'VmNetworkTemplate/shop/web-tier', kind: 'VmNetworkTemplate', name: 'web-tier', namespace: 'shop', health: 'ok', ready: READY, synced: SYNCED },
    { key: 'VmNetworkBinding/shop/web2', kind: 'VmNetworkBinding', name: 'web2', namespace: 'shop', health: 'ok', ready: READY, synced: SYNCED },
    ...DEMO_VNICS.map((v): ObjectRow => {
      const [ns, name] = v.key.split('/') as [string, string];
      return { key: `VnicAttachment/${ns}/${name}`, kind: 'VnicAttachment', name, namespace: ns, health: 'ok', ready: READY, synced: SYNCED };
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
      { time: t(40), key: 'VlanPool/tenant-vlans', type: 'Allocated', message: 'db: VLAN 101; web: VLAN 102' },
      { time: t(38), key: 'Network/db', type: 'Ready', status: 'True', reason: 'Available' },
      { time: t(38), key: 'Network/web', type: 'Ready', status: 'True', reason: 'Available' },
      { time: t(30), key: 'Host/demo', type: 'Applied', message: 'bridge ovirtmgmt over ens3 with 192.0.2.10/24; br-int with ens4 trunking 101,102; 4 taps' },
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
  return {
    ...v,
    generatedAt: at.toISOString(),
    topology: { nodes: v.topology.nodes.map((n) => (n.id === id ? { ...n, health } : n)), edges: v.topology.edges },
    networks: v.networks.map((n) => (node.key === `Network/${n.name}` ? { ...n, health, ...(stalled ? { synced: { status: 'False', reason: 'BackendRejected', message: stalled.message } } : {}) } : n)),
    objects: v.objects.map((o) => (o.key === node.key ? { ...o, health, ...(stalled ? { stalled, synced: { status: 'False', reason: 'BackendRejected', message: stalled.message } } : {}) } : o)),
  };
}

/** A view of `n` networks on `hosts` hosts, with conditions and providers, for the 10,000-row tests. */
export function bigView(n: number, at = new Date('2026-12-05T04:00:00Z')): ConsoleView {
  const healths: Health[] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'progressing', 'ok', 'degraded', 'unknown'];
  const networks: NetworkRow[] = [];
  for (let i = 0; i < n; i++) {
    const health = healths[i % healths.length]!;
    networks.push({
      name: `net-${String(i).padStart(5, '0')}`,
      vlan: i % 7 === 0 ? undefined : (i % 4000) + 1,
      mtu: i % 3 === 0 ? 9000 : 1500,
      physicalNetwork: `physnet${(i % 3) + 1}`,
      providers: [
        { name: 'openstack', externalId: `0c5e${i.toString(16).padStart(4, '0')}-8d1b-4c77-9a0e-${i.toString(16).padStart(12, '0')}` },
        ...(i % 2 ? [{ name: 'ucs-a', externalId: `fabric/lan/net-nf-net-${i}` }] : []),
      ],
      ready: health === 'ok' ? READY : health === 'degraded' ? { status: 'False', reason: 'Unavailable', message: `net-${i}: see Synced` } : { status: 'Unknown', reason: 'Creating' },
      synced: health === 'degraded' ? { status: 'False', reason: 'BackendRejected', message: 'Neutron: VLAN in use on physnet' } : SYNCED,
      health,
      hosts: [`hv${i % 40}`, `hv${(i + 1) % 40}`],
      vnics: i % 5 ? [`tenant/vm${i}-nic1`] : [],
      ...(health === 'degraded' ? { outOfSync: 'mtu: 1500 on the backend, 9000 declared' } : {}),
    });
  }
  return { generatedAt: at.toISOString(), mode: 'file', canApprove: false, networks, hosts: [], topology: { nodes: [], edges: [] }, objects: [], events: [] };
}

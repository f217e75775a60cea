// The console's view model: rows, the host view, topology edges, collapsing repeated leaves, health.
import { describe, expect, it } from 'vitest';
import type { Condition } from '../api/kinds.ts';
import { admit } from '../state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../state/records.ts';
import { DesiredStore } from '../state/store.ts';
import { referencesOf } from '../controllers/index.ts';
import type { HostReport } from '../drivers/host-driver.ts';
import { buildView, collapse, healthOf, worst, type ConsoleView, type TopoEdge, type TopoNode } from './view.ts';

const NOW = new Date('2026-12-05T04:00:00Z');

const doc = (kind: string, name: string, spec: string, ns?: string) =>
  `apiVersion: netform.io/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}${ns ? `, namespace: ${ns}` : ''}}\nspec: ${spec}`;

/** A small world: a Neutron provider with web (on an OVS bond) and mgmt (a Linux bridge on eth2). */
function world(extra: string[] = [], hosts = ['hv1']): string {
  return [
    doc('Provider', 'os', '{type: neutron, endpoint: "http://127.0.0.1:9", neutron: {auth: noauth}}'),
    doc('Network', 'web', '{physicalNetwork: physnet1, vlan: {id: 101}, mtu: 9000, shared: true, providerRefs: [{name: os}], subnets: [{name: web-v4, cidr: 10.0.1.0/24, gateway: 10.0.1.1}]}'),
    doc('Network', 'mgmt', '{physicalNetwork: mgmt, shared: true, description: Management}'),
    doc('Network', 'outside', '{physicalNetwork: physnet1, vlan: {id: 300}, external: true, shared: true, providerRefs: [{name: os}], subnets: [{name: out-v4, cidr: 198.18.0.0/24, gateway: 198.18.0.1}]}'),
    doc('Cluster', 'c1', '{defaultFabric: ovs, networks: [{name: web}, {name: mgmt}, {name: outside, required: false}]}'),
    ...hosts.map((h) =>
      doc(
        'Host',
        h,
        '{cluster: c1, nics: [{name: eth0}, {name: eth1}, {name: eth2, fabric: linux-bridge}, {name: eth3}], bonds: [{name: bond0, members: [eth0, eth1], mode: 802.3ad}], networks: [{name: web, interface: bond0}, {name: mgmt, interface: eth2, address: 192.0.2.10/24}]}',
      ),
    ),
    ...extra,
  ].join('\n---\n');
}

const vm = (name: string, network = 'web', host = 'hv1', ns = 'shop') =>
  doc('VnicAttachment', `${name}-nic1`, `{vm: {name: ${name}}, interfaceName: nic1, network: ${network}, host: ${host}}`, ns);

function conds(ready: Condition['status'], reason: string, stalled = false, synced: [Condition['status'], string] = ['True', 'ReconcileSuccess']): Condition[] {
  return [
    { type: 'Ready', status: ready, reason, lastTransitionTime: '2026-12-05T03:00:00Z' },
    { type: 'Synced', status: synced[0], reason: synced[1] },
    { type: 'Stalled', status: stalled ? 'True' : 'False', reason: synced[1] },
  ];
}

function setup(text: string, records: Partial<ObjectRecord>[] = [], reports: [string, HostReport][] = []) {
  const r = admit([{ path: 'w.yaml', text }]);
  expect(r.errors).toEqual([]);
  const store = new DesiredStore(referencesOf);
  store.replace(r);
  const recs = new MemoryRecords(
    records.map((x) => {
      const [kind, name] = x.key!.split('/');
      return { kind, name, uid: 'u', generation: 1, createdAt: NOW.toISOString(), status: {}, ...x } as ObjectRecord;
    }),
  );
  const src = { store, records: recs, reports: new Map<string, unknown>(reports) };
  return { src, view: (o: { collapseAbove?: number } = {}) => buildView(src, { mode: 'file', now: NOW, ...o }) };
}

const edges = (v: ConsoleView) => v.topology.edges.map((e) => `${e.from} -> ${e.to}`);
const node = (v: ConsoleView, id: string) => v.topology.nodes.find((n) => n.id === id);

describe('console view: health', () => {
  it('maps conditions to a health', () => {
    expect(healthOf(undefined)).toBe('unknown');
    expect(healthOf({ conditions: [] })).toBe('unknown');
    expect(healthOf({ conditions: conds('True', 'Available') })).toBe('ok');
    // A status of an older spec: still on its way.
    expect(healthOf({ conditions: conds('True', 'Available') }, false)).toBe('progressing');
    expect(healthOf({ conditions: conds('False', 'Creating') })).toBe('progressing');
    expect(healthOf({ conditions: conds('False', 'WaitingForDependencies') })).toBe('progressing');
    expect(healthOf({ conditions: conds('Unknown', 'Updating') })).toBe('progressing');
    // Terminal: the user must act.
    expect(healthOf({ conditions: conds('False', 'InsufficientCapacity') })).toBe('degraded');
    expect(healthOf({ conditions: conds('Unknown', 'AgentLost') })).toBe('degraded');
    // Stalled wins, even over a Ready that serves the last applied spec.
    expect(healthOf({ conditions: conds('True', 'Available', true, ['False', 'ReplaceRequired']) })).toBe('degraded');
    expect(healthOf({ conditions: conds('False', 'Unavailable', true, ['False', 'BackendRejected']) })).toBe('degraded');
  });

  it('worst: degraded > progressing > unknown > ok', () => {
    expect(worst([])).toBe('ok');
    expect(worst(['ok', 'unknown'])).toBe('unknown');
    expect(worst(['unknown', 'progressing', 'ok'])).toBe('progressing');
    expect(worst(['progressing', 'degraded', 'ok'])).toBe('degraded');
  });
});

describe('console view: rows', () => {
  it('network rows: VLAN from the status, providers with external ids, hosts, vNICs, out of sync from the hosts', () => {
    const t = setup(
      world([doc('VlanPool', 'pool', '{ranges: [{physicalNetwork: physnet2, min: 200, max: 299}]}'), doc('Network', 'pooled', '{physicalNetwork: physnet2, vlan: {poolRef: {name: pool}}}'), vm('web1'), vm('web2')]),
      [
        { key: 'Network/web', status: { vlan: 101, providers: [{ name: 'os', type: 'neutron', externalId: 'net-uuid-1' }], conditions: conds('True', 'Available') } },
        { key: 'Network/pooled', status: { vlan: 201, physicalNetwork: 'physnet2', conditions: conds('False', 'Creating') } },
        { key: 'Host/hv1', status: { networks: [{ name: 'mgmt', inSync: true }, { name: 'web', inSync: false, difference: 'bond0: mtu 1500, want 9000' }], conditions: conds('False', 'OutOfSync') } },
      ],
    );
    const v = t.view();
    expect(v.networks.map((n) => n.name)).toEqual(['mgmt', 'outside', 'pooled', 'web']);
    const web = v.networks.find((n) => n.name === 'web')!;
    expect(web).toMatchObject({
      key: 'Network/web',
      vlan: 101,
      mtu: 9000,
      physicalNetwork: 'physnet1',
      providers: [{ name: 'os', externalId: 'net-uuid-1', type: 'neutron' }],
      ready: { status: 'True', reason: 'Available' },
      synced: { status: 'True', reason: 'ReconcileSuccess' },
      health: 'ok',
      hosts: ['hv1'],
      vnics: ['shop/web1-nic1', 'shop/web2-nic1'],
      outOfSync: 'hv1: bond0: mtu 1500, want 9000',
    });
    expect(v.networks.find((n) => n.name === 'pooled')).toMatchObject({ vlan: 201, mtu: 1500, health: 'progressing', hosts: [], vnics: [] });
    // Declared, no record yet: its provider without an id, health unknown, the default MTU.
    expect(v.networks.find((n) => n.name === 'outside')).toMatchObject({ providers: [{ name: 'os' }], health: 'unknown', mtu: 1500 });
    expect(v.networks.find((n) => n.name === 'outside')!.outOfSync).toBeUndefined();
    expect(v.networks.find((n) => n.name === 'mgmt')!.outOfSync).toBeUndefined();
  });

  it('host view: the interface table from the agent report, bonds, capacity, out-of-sync items, the held plan', () => {
    const report: HostReport = {
      lastObservedTime: '2026-12-05T03:59:50Z',
      interfaces: [
        { name: 'eth0', mac: '52:54:00:00:00:01', speedMbps: 10000, rxMbps: 1.5, txMbps: 0.25, drops: 3, bond: 'bond0', fabric: 'ovs' },
        { name: 'mgmt', mac: '52:54:00:00:00:03', address: '192.0.2.10/24', fabric: 'linux-bridge', network: 'mgmt' },
      ],
      dynamicVnics: { total: 16, free: 14 },
      networks: [{ name: 'web', inSync: false, difference: 'bond0: missing' }],
      problems: [],
      collected: [],
      syncPolicy: 'Auto',
      pendingPlan: { digest: `sha256:${'a'.repeat(64)}`, computedAt: '2026-12-05T03:59:50Z', summary: '1 to create', impact: 'no VM affected', changes: ['+ Host/hv1 bond bond0 (create)'] },
    };
    const t = setup(world(), [{ key: 'Host/hv1', status: { networks: [{ name: 'web', inSync: false, difference: 'bond0: missing' }], conditions: conds('False', 'OutOfSync', false, ['False', 'AwaitingApproval']) } }], [['Host/hv1', report]]);
    const h = t.view().hosts[0]!;
    expect(h).toMatchObject({
      name: 'hv1',
      key: 'Host/hv1',
      cluster: 'c1',
      health: 'progressing',
      lastReport: '2026-12-05T03:59:50Z',
      bonds: [{ name: 'bond0', members: ['eth0', 'eth1'] }],
      dynamicVnics: { total: 16, free: 14 },
      outOfSync: [{ name: 'web', difference: 'bond0: missing' }],
      pendingPlan: { digest: `sha256:${'a'.repeat(64)}`, summary: '1 to create', changes: ['+ Host/hv1 bond bond0 (create)'], impact: 'no VM affected' },
      synced: { status: 'False', reason: 'AwaitingApproval' },
    });
    expect(h.interfaces).toEqual([
      { name: 'eth0', mac: '52:54:00:00:00:01', speedMbps: 10000, rxMbps: 1.5, txMbps: 0.25, drops: 3, bond: 'bond0', fabric: 'ovs' },
      { name: 'mgmt', mac: '52:54:00:00:00:03', address: '192.0.2.10/24', fabric: 'linux-bridge', network: 'mgmt' },
    ]);
    expect(h.networks).toEqual([
      { name: 'mgmt', interface: 'eth2', fabric: 'linux-bridge' },
      { name: 'web', interface: 'bond0', fabric: 'ovs', inSync: false },
    ]);
  });

  it('object rows: every declared, invalid or only recorded object, with its conditions and held plan', () => {
    const pending = { digest: `sha256:${'b'.repeat(64)}`, computedAt: 'x', summary: '1 to update', changes: ['~ Network/web mtu'] };
    const t = setup(world(), [
      { key: 'Network/web', status: { pendingPlan: pending, conditions: conds('True', 'Available', false, ['False', 'AwaitingApproval']) } },
      { key: 'Network/gone', spec: { physicalNetwork: 'physnet1' }, status: { conditions: conds('False', 'Deleting') } },
    ]);
    const v = t.view();
    expect(v.objects.map((o) => o.key)).toEqual(['Cluster/c1', 'Host/hv1', 'Network/gone', 'Network/mgmt', 'Network/outside', 'Network/web', 'Provider/os']);
    expect(v.objects.find((o) => o.key === 'Network/web')).toMatchObject({ kind: 'Network', name: 'web', health: 'ok', declared: true, pendingPlan: { digest: pending.digest, summary: '1 to update', changes: ['~ Network/web mtu'] } });
    expect(v.objects.find((o) => o.key === 'Network/gone')).toMatchObject({ declared: false, health: 'progressing', ready: { status: 'False', reason: 'Deleting' } });
    // The network's out-of-sync flag names the held plan.
    expect(v.networks.find((n) => n.name === 'web')!.outOfSync).toBe('changes held for approval: 1 to update');
    // A network being removed is still a row and a node.
    expect(v.networks.map((n) => n.name)).toContain('gone');
  });
});

describe('console view: topology', () => {
  it('a small world: provider → network → host → bridge → bond → NICs, VMs off the bridge carrying their network, routers and endpoints', () => {
    const t = setup(
      world([
        vm('web1'),
        doc('VnicAttachment', 'web1-nic2', '{vm: {name: web1}, interfaceName: nic2, network: mgmt, host: hv1}', 'shop'),
        vm('lost', 'outside'),
        doc('Router', 'edge', '{providerRef: {name: os}, gateway: {network: outside}, interfaces: [{network: web, subnet: web-v4}]}'),
        doc('ServiceEndpoint', 'lb', '{network: web, service: loadbalancer, host: hv1}', 'shop'),
      ]),
    );
    const v = t.view();
    expect(edges(v)).toEqual(
      [
        'provider:os -> network:web',
        'provider:os -> network:outside',
        'provider:os -> router:edge',
        'network:web -> host:hv1',
        'network:mgmt -> host:hv1',
        'host:hv1 -> host:hv1/bridge:br-int',
        'host:hv1 -> host:hv1/bridge:mgmt',
        'host:hv1 -> host:hv1/nic:eth3',
        'host:hv1/bridge:br-int -> host:hv1/bond:bond0',
        'host:hv1/bridge:mgmt -> host:hv1/nic:eth2',
        'host:hv1/bond:bond0 -> host:hv1/nic:eth0',
        'host:hv1/bond:bond0 -> host:hv1/nic:eth1',
        // web1 has a vNIC on each bridge; a vNIC on a network its host does not carry hangs off the host.
        'host:hv1/bridge:br-int -> vm:shop/web1',
        'host:hv1/bridge:mgmt -> vm:shop/web1',
        'host:hv1 -> vm:shop/lost',
        'network:outside -> router:edge',
        'network:web -> router:edge',
        'host:hv1/bridge:br-int -> endpoint:shop/lb',
      ].sort(),
    );
    expect(v.topology.edges.find((e) => e.to === 'router:edge' && e.from === 'network:outside')!.kind).toBe('gateway');
    expect(v.topology.edges.find((e) => e.from === 'host:hv1/bridge:br-int' && e.to === 'vm:shop/web1')).toMatchObject({ kind: 'vnic', label: 'nic1 (web)' });
    expect(node(v, 'host:hv1/bridge:br-int')).toMatchObject({ kind: 'bridge', label: 'br-int', parent: 'host:hv1', networks: ['web'], key: 'Host/hv1' });
    expect(node(v, 'host:hv1/bridge:mgmt')).toMatchObject({ kind: 'bridge', label: 'mgmt', networks: ['mgmt'] });
    expect(node(v, 'vm:shop/web1')).toMatchObject({ kind: 'vm', label: 'web1', key: 'VnicAttachment/shop/web1-nic1' });
    expect(node(v, 'network:web')).toMatchObject({ kind: 'network', key: 'Network/web' });
    expect(node(v, 'endpoint:shop/lb')).toMatchObject({ kind: 'endpoint', label: 'lb (loadbalancer)', key: 'ServiceEndpoint/shop/lb' });
    // Every edge joins two nodes; ids are unique.
    const ids = new Set(v.topology.nodes.map((n) => n.id));
    expect(ids.size).toBe(v.topology.nodes.length);
    for (const e of v.topology.edges) expect(ids.has(e.from) && ids.has(e.to), `${e.from} -> ${e.to}`).toBe(true);
  });

  it('colours nodes by health: a stalled network is degraded, a VM is its worst vNIC, a device with an out-of-sync network is not ok', () => {
    const t = setup(world([vm('a'), doc('VnicAttachment', 'a-nic2', '{vm: {name: a}, interfaceName: nic2, network: mgmt, host: hv1}', 'shop')]), [
      { key: 'Network/web', status: { conditions: conds('True', 'Available', true, ['False', 'ReplaceRequired']) } },
      { key: 'VnicAttachment/shop/a-nic1', status: { conditions: conds('True', 'Available') } },
      { key: 'VnicAttachment/shop/a-nic2', status: { conditions: conds('False', 'InsufficientCapacity') } },
      { key: 'Host/hv1', status: { networks: [{ name: 'web', inSync: false, difference: 'x' }, { name: 'mgmt', inSync: true }], conditions: conds('False', 'OutOfSync') } },
    ]);
    const v = t.view();
    expect(node(v, 'network:web')!.health).toBe('degraded');
    expect(node(v, 'vm:shop/a')!.health).toBe('degraded');
    expect(node(v, 'host:hv1/bridge:br-int')!.health).toBe('progressing');
    expect(node(v, 'host:hv1/bridge:mgmt')!.health).toBe('ok');
    expect(node(v, 'network:mgmt')!.health).toBe('unknown');
  });

  it('collapses repeated leaves: a network on 12 hosts is one group node with a count; 8 are shown one by one', () => {
    const many = Array.from({ length: 12 }, (_, i) => `hv${String(i + 1).padStart(2, '0')}`);
    const v = setup(world([], many)).view();
    const group = node(v, 'group:network:web/host')!;
    expect(group).toMatchObject({ kind: 'group', count: 12, groupOf: 'host', label: '12 hosts' });
    expect(group.members).toEqual(many.map((h) => `host:${h}`));
    expect(edges(v)).toContain('network:web -> group:network:web/host');
    expect(edges(v)).toContain('network:mgmt -> group:network:mgmt/host');
    // The hosts, their devices and what hangs off them are inside the groups.
    expect(v.topology.nodes.filter((n) => n.kind === 'host' || n.kind === 'nic' || n.kind === 'bridge')).toEqual([]);
    // The hosts are still listed in full elsewhere.
    expect(v.networks.find((n) => n.name === 'web')!.hosts).toEqual(many);
    expect(v.hosts).toHaveLength(12);

    const few = setup(world([], many.slice(0, 8))).view();
    expect(few.topology.nodes.filter((n) => n.kind === 'group')).toEqual([]);
    expect(few.topology.nodes.filter((n) => n.kind === 'host')).toHaveLength(8);
  });

  it('collapses many VMs off one bridge, with their worst health', () => {
    const vms = Array.from({ length: 10 }, (_, i) => vm(`v${i}`));
    const t = setup(world(vms), [{ key: 'VnicAttachment/shop/v3-nic1', status: { conditions: conds('False', 'Creating') } }]);
    const v = t.view();
    expect(node(v, 'group:host:hv1/bridge:br-int/vm')).toMatchObject({ count: 10, health: 'progressing', label: '10 VMs' });
    expect(v.topology.nodes.filter((n) => n.kind === 'vm')).toEqual([]);
    expect(t.view({ collapseAbove: 10 }).topology.nodes.filter((n) => n.kind === 'vm')).toHaveLength(10);
  });

  it('collapse keeps a node another parent still shows', () => {
    const n = (id: string, kind: TopoNode['kind']): TopoNode => ({ id, kind, label: id, health: 'ok' });
    const e = (from: string, to: string): TopoEdge => ({ from, to, kind: 'carries' });
    const hosts = ['h1', 'h2', 'h3'];
    const g = collapse({ nodes: [n('a', 'network'), n('b', 'network'), ...hosts.map((h) => n(h, 'host'))], edges: [...hosts.map((h) => e('a', h)), e('b', 'h1')] }, 2);
    expect(g.nodes.map((x) => x.id)).toEqual(['a', 'b', 'group:a/host', 'h1']);
    expect(g.edges.map((x) => `${x.from}>${x.to}`)).toEqual(['a>group:a/host', 'b>h1']);
  });

  it('node ids are stable: the same for the same world, and adding objects leaves the others as they were', () => {
    const base = setup(world([vm('web1')])).view();
    const again = setup(world([vm('web1')])).view();
    expect(again.topology).toEqual(base.topology);
    const more = setup(world([vm('web1'), vm('web2'), doc('Network', 'extra', '{physicalNetwork: physnet3}')])).view();
    const ids = new Set(more.topology.nodes.map((n) => n.id));
    for (const n of base.topology.nodes) expect(ids.has(n.id), n.id).toBe(true);
    expect(ids.has('vm:shop/web2')).toBe(true);
    expect(ids.has('network:extra')).toBe(true);
  });
});

// The console's view model at scale: `npx node bench/console-view.ts` (NETWORKS, HOSTS, VMS from the
// environment; defaults 10000, 200, 4000). Builds a world of N networks with a record each (Ready,
// a provider binding), HOSTS hosts in one cluster carrying the first 20 networks (with an agent report
// of 6 interfaces each), and VMS vNICs spread over those networks and hosts; then times buildView
// (median of 5) and its JSON serialization, and gives the document's size and topology node count
// (repeated leaves collapsed). Not a test: nothing here fails.
import { admit } from '../src/state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../src/state/records.ts';
import { DesiredStore } from '../src/state/store.ts';
import { referencesOf } from '../src/controllers/index.ts';
import { buildView } from '../src/console/view.ts';
import type { HostReport } from '../src/drivers/host-driver.ts';

const N = Number(process.env.NETWORKS ?? 10_000);
const H = Number(process.env.HOSTS ?? 200);
const V = Number(process.env.VMS ?? 4000);
const CARRIED = 20;

const docs = [
  'apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "http://127.0.0.1:9", neutron: {auth: noauth}}',
  `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c1}\nspec: {defaultFabric: ovs, networks: [${Array.from({ length: CARRIED }, (_, i) => `{name: net-${i}}`).join(', ')}]}`,
];
for (let i = 0; i < N; i++) docs.push(`apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: net-${i}}\nspec: {physicalNetwork: physnet${1 + Math.floor(i / 4000)}, vlan: {id: ${(i % 4000) + 1}}, shared: true, providerRefs: [{name: os}]}`);
for (let h = 0; h < H; h++) {
  docs.push(
    `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv${h}}\nspec: {cluster: c1, nics: [{name: eth0}, {name: eth1}, {name: eth2, fabric: linux-bridge}], bonds: [{name: bond0, members: [eth0, eth1], mode: 802.3ad}], networks: [${Array.from({ length: CARRIED }, (_, i) => `{name: net-${i}, interface: ${i === 0 ? 'eth2' : 'bond0'}}`).join(', ')}]}`,
  );
}
for (let v = 0; v < V; v++) docs.push(`apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm${v}-nic1, namespace: ns}\nspec: {vm: {name: vm${v}}, interfaceName: nic1, network: net-${1 + (v % (CARRIED - 1))}, host: hv${v % H}}`);

let t = performance.now();
// Files of 1,000 documents (admission takes at most 1 MiB a file).
const files = [];
for (let i = 0; i < docs.length; i += 1000) files.push({ path: `bench-${i / 1000}.yaml`, text: docs.slice(i, i + 1000).join('\n---\n') });
const admitted = admit(files);
if (admitted.errors.length) throw new Error(admitted.errors.slice(0, 3).map((e) => `${e.key} ${e.field}: ${e.message}`).join('; '));
const store = new DesiredStore(referencesOf);
store.replace(admitted);
const admitMs = performance.now() - t;
const ready = (t0: string) => [
  { type: 'Ready', status: 'True' as const, reason: 'Available', lastTransitionTime: t0 },
  { type: 'Synced', status: 'True' as const, reason: 'ReconcileSuccess', lastTransitionTime: t0 },
  { type: 'Stalled', status: 'False' as const, reason: 'ReconcileSuccess', lastTransitionTime: t0 },
];
const records = new MemoryRecords(
  [...admitted.objects.values()].map(
    (a, i) =>
      ({
        key: a.key,
        kind: a.object.kind,
        name: a.object.metadata.name,
        ...(a.object.metadata.namespace ? { namespace: a.object.metadata.namespace } : {}),
        uid: `u${i}`,
        generation: 1,
        createdAt: '2026-12-05T00:00:00Z',
        status: { conditions: ready('2026-12-05T00:00:00Z'), ...(a.object.kind === 'Network' ? { providers: [{ name: 'os', type: 'neutron', externalId: `uuid-${i}` }] } : {}) },
      }) as ObjectRecord,
  ),
);
const reports = new Map<string, HostReport>();
for (let h = 0; h < H; h++) {
  reports.set(`Host/hv${h}`, {
    lastObservedTime: '2026-12-05T00:00:00Z',
    interfaces: ['eth0', 'eth1', 'eth2', 'bond0', 'br-int', 'net-0'].map((name, i) => ({ name, mac: `52:54:00:00:${String(h % 100).padStart(2, '0')}:0${i}`, speedMbps: 10000, rxMbps: 1, txMbps: 1, drops: 0 })),
    dynamicVnics: { total: 0, free: 0 },
    networks: Array.from({ length: CARRIED }, (_, i) => ({ name: `net-${i}`, inSync: true })),
    problems: [],
    collected: [],
    syncPolicy: 'Auto',
  });
}
const src = { store, records, reports };
const times: number[] = [];
const jsonTimes: number[] = [];
let size = 0;
let nodes = 0;
for (let i = 0; i < 5; i++) {
  t = performance.now();
  const v = buildView(src, { mode: 'file', now: new Date() });
  times.push(performance.now() - t);
  t = performance.now();
  const s = JSON.stringify(v);
  jsonTimes.push(performance.now() - t);
  size = s.length;
  nodes = v.topology.nodes.length;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify(
    { networks: N, hosts: H, vnics: V, objects: admitted.objects.size, admitMs: Math.round(admitMs), buildViewMs: Math.round(median(times)), stringifyMs: Math.round(median(jsonTimes)), viewBytes: size, topologyNodes: nodes },
    null,
    2,
  ),
);

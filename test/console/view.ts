// The ConsoleView contract (GET /api/v1/view, `event: view` of /api/v1/stream), as the browser tests
// build it. The same names as console/types.js; when the server's own type lands, import that instead.
export type Health = 'ok' | 'progressing' | 'degraded' | 'unknown';
export interface Cond {
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}
export interface PendingPlan {
  digest: string;
  summary?: string;
  changes: string[];
}
export interface NetworkRow {
  name: string;
  vlan?: number;
  mtu: number;
  physicalNetwork?: string;
  providers: { name: string; externalId?: string }[];
  ready?: Cond;
  synced?: Cond;
  health: Health;
  hosts: string[];
  vnics: string[];
  outOfSync?: string;
}
export interface InterfaceRow {
  name: string;
  address?: string;
  mac?: string;
  speedMbps?: number;
  rxMbps?: number;
  txMbps?: number;
  drops?: number;
  bond?: string;
  fabric?: string;
  network?: string;
}
export interface HostView {
  name: string;
  cluster?: string;
  health: Health;
  ready?: Cond;
  synced?: Cond;
  lastReport?: string;
  interfaces: InterfaceRow[];
  bonds: { name: string; members: string[] }[];
  dynamicVnics?: { total: number; free: number };
  outOfSync: { name: string; difference: string }[];
  pendingPlan?: PendingPlan;
}
export type TopoKind = 'provider' | 'network' | 'host' | 'nic' | 'bond' | 'bridge' | 'vm' | 'router' | 'endpoint' | 'group';
export interface TopoNode {
  id: string;
  kind: TopoKind;
  label: string;
  health: Health;
  key?: string;
  count?: number;
}
export interface TopoEdge {
  from: string;
  to: string;
}
export interface ObjectRow {
  key: string;
  kind: string;
  name: string;
  namespace?: string;
  health: Health;
  ready?: Cond;
  synced?: Cond;
  stalled?: Cond;
  pendingPlan?: PendingPlan;
}
export interface ConsoleEvent {
  time: string;
  key: string;
  type: string;
  status?: string;
  reason?: string;
  message?: string;
}
export interface ConsoleView {
  generatedAt: string;
  mode: 'file' | 'cluster';
  canApprove: boolean;
  networks: NetworkRow[];
  hosts: HostView[];
  topology: { nodes: TopoNode[]; edges: TopoEdge[] };
  objects: ObjectRow[];
  events: ConsoleEvent[];
}

// What the topology draws, from the view's nodes and edges, so that large graphs stay readable
// (pure: no DOM, tested in node):
//   - host devices (NICs, bonds, bridges) can be folded into the edges that pass through them;
//   - nodes of one kind with exactly the same neighbours (200 VMs on one network, 50 hosts carrying the
//     same networks once their devices are folded) become one group node with their count, unless the
//     user expanded that group;
//   - the server's own group nodes (kind 'group', with count) are drawn as they come.
import { worstHealth } from './format.js';

/** @typedef {import('../types.js').TopoNode} TopoNode */
/** @typedef {import('../types.js').TopoEdge} TopoEdge */
/** @typedef {TopoNode & { members?: TopoNode[], collapsed?: boolean }} DrawnNode */

export const DEVICE_KINDS = new Set(['nic', 'bond', 'bridge']);
/** More than this many equivalent nodes are drawn as one group. */
export const GROUP_THRESHOLD = 5;

/** @type {Record<string, string>} */
const PLURAL = { vm: 'VMs', host: 'hosts', network: 'networks', nic: 'NICs', bond: 'bonds', bridge: 'bridges', endpoint: 'endpoints', router: 'routers', provider: 'providers', group: 'groups' };

/**
 * @param {string} kind
 * @returns {string}
 */
export function plural(kind) {
  return PLURAL[kind] ?? `${kind}s`;
}

/**
 * Folds nodes away, joining what they joined: each predecessor to each successor; a node with only
 * incoming or only outgoing edges joins its neighbours to the first of them.
 * @param {TopoNode[]} nodes
 * @param {TopoEdge[]} edges
 * @param {(n: TopoNode) => boolean} fold
 * @returns {{ nodes: TopoNode[], edges: TopoEdge[] }}
 */
export function foldNodes(nodes, edges, fold) {
  const gone = new Set(nodes.filter(fold).map((n) => n.id));
  if (!gone.size) return { nodes, edges };
  /** @type {Map<string, TopoEdge>} */
  let live = new Map();
  const add = (/** @type {string} */ from, /** @type {string} */ to) => {
    if (from !== to) live.set(`${from}\u0000${to}`, { from, to });
  };
  for (const e of edges) add(e.from, e.to);
  for (const x of gone) {
    /** @type {string[]} */
    const ins = [];
    /** @type {string[]} */
    const outs = [];
    /** @type {Map<string, TopoEdge>} */
    const rest = new Map();
    for (const [k, e] of live) {
      if (e.to === x) ins.push(e.from);
      else if (e.from === x) outs.push(e.to);
      else rest.set(k, e);
    }
    live = rest;
    if (ins.length && outs.length) for (const a of ins) for (const b of outs) add(a, b);
    else {
      const ns = [...ins, ...outs];
      for (const b of ns.slice(1)) add(/** @type {string} */ (ns[0]), b);
    }
  }
  return { nodes: nodes.filter((n) => !gone.has(n.id)), edges: [...live.values()] };
}

/**
 * Groups nodes of one kind with the same neighbours (in and out), when more than `threshold` of them.
 * @param {TopoNode[]} nodes
 * @param {TopoEdge[]} edges
 * @param {Set<string>} expanded ids of groups the user opened
 * @param {number} threshold
 * @returns {{ nodes: DrawnNode[], edges: TopoEdge[] }}
 */
export function groupEquivalent(nodes, edges, expanded, threshold = GROUP_THRESHOLD) {
  /** @type {Map<string, string[]>} */
  const ins = new Map();
  /** @type {Map<string, string[]>} */
  const outs = new Map();
  for (const e of edges) {
    (ins.get(e.to) ?? ins.set(e.to, []).get(e.to))?.push(e.from);
    (outs.get(e.from) ?? outs.set(e.from, []).get(e.from))?.push(e.to);
  }
  /** @type {Map<string, TopoNode[]>} */
  const classes = new Map();
  for (const n of nodes) {
    if (n.kind === 'group') continue;
    const i = [...new Set(ins.get(n.id) ?? [])].sort();
    const o = [...new Set(outs.get(n.id) ?? [])].sort();
    if (!i.length && !o.length) continue;
    const sig = `${n.kind}|${i.join(',')}|${o.join(',')}`;
    (classes.get(sig) ?? classes.set(sig, []).get(sig))?.push(n);
  }
  /** @type {Map<string, string>} member id → group id */
  const into = new Map();
  /** @type {DrawnNode[]} */
  const groups = [];
  for (const [sig, members] of classes) {
    if (members.length <= threshold) continue;
    const kind = /** @type {TopoNode} */ (members[0]).kind;
    const id = `group:${sig}`;
    if (expanded.has(id)) continue;
    for (const m of members) into.set(m.id, id);
    groups.push({ id, kind: 'group', label: `${members.length} ${plural(kind)}`, health: worstHealth(members.map((m) => m.health)), count: members.length, members, collapsed: true });
  }
  if (!groups.length) return { nodes, edges };
  /** @type {Map<string, TopoEdge>} */
  const out = new Map();
  for (const e of edges) {
    const from = into.get(e.from) ?? e.from;
    const to = into.get(e.to) ?? e.to;
    if (from !== to) out.set(`${from}\u0000${to}`, { from, to });
  }
  return { nodes: [...nodes.filter((n) => !into.has(n.id)), ...groups], edges: [...out.values()] };
}

/**
 * @param {{ nodes: TopoNode[], edges: TopoEdge[] }} topology
 * @param {{ expanded: Set<string>, showDevices: boolean, threshold?: number }} o
 * @returns {{ nodes: DrawnNode[], edges: TopoEdge[] }}
 */
export function prepareGraph(topology, o) {
  const ids = new Set(topology.nodes.map((n) => n.id));
  // An edge to a node the view does not have cannot be laid out.
  let g = { nodes: topology.nodes, edges: topology.edges.filter((e) => ids.has(e.from) && ids.has(e.to) && e.from !== e.to) };
  if (!o.showDevices) g = foldNodes(g.nodes, g.edges, (n) => DEVICE_KINDS.has(n.kind));
  return groupEquivalent(g.nodes, g.edges, o.expanded, o.threshold ?? GROUP_THRESHOLD);
}

/**
 * What decides the layout: when only health changes, nodes are recoloured in place.
 * @param {{ nodes: DrawnNode[], edges: TopoEdge[] }} g
 * @returns {string}
 */
export function structureOf(g) {
  return JSON.stringify([g.nodes.map((n) => [n.id, n.kind, n.label, n.count ?? 0]).sort(), g.edges.map((e) => `${e.from}>${e.to}`).sort()]);
}

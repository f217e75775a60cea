// What the topology draws, from the view's nodes and edges, so that large graphs stay readable
// (pure: no DOM, tested in node):
//   - host devices (NICs, bonds, bridges) can be folded into the edges that pass through them;
//   - equivalent nodes (200 VMs on one network; 50 hosts whose NICs and bridges carry the same networks,
//     with those NICs and bridges) become one group node each with their count, unless the user
//     expanded that group; networks, providers and routers are always drawn one by one;
//   - the server's own group nodes (kind 'group', with count) are drawn as they come.
import { worstHealth } from './format.js';

/** @typedef {import('../types.js').TopoNode} TopoNode */
/** @typedef {import('../types.js').TopoEdge} TopoEdge */
/** @typedef {TopoNode & { memberNodes?: TopoNode[], collapsed?: boolean }} DrawnNode  memberNodes: a group this app collapsed (the server's groups list `members` by id) */

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

/** Never grouped: the objects people look for by name (and the server's own groups). */
export const ANCHOR_KINDS = new Set(['provider', 'network', 'router', 'group']);

/**
 * Which nodes are equivalent: the coarsest partition in which two nodes of a class have the same kind
 * and edges (in and out) to the same classes, anchors (networks, providers, routers) each a class of
 * their own — colour refinement. 200 VMs on one network are one class; so are 200 hosts whose NIC and
 * bridge carry the same networks (the hosts, their NICs and their bridges: three classes).
 * @param {TopoNode[]} nodes
 * @param {TopoEdge[]} edges
 * @returns {Map<string, string>} node id → class
 */
export function equivalenceClasses(nodes, edges) {
  /** @type {Map<string, string[]>} */
  const ins = new Map();
  /** @type {Map<string, string[]>} */
  const outs = new Map();
  for (const e of edges) {
    (ins.get(e.to) ?? ins.set(e.to, []).get(e.to))?.push(e.from);
    (outs.get(e.from) ?? outs.set(e.from, []).get(e.from))?.push(e.to);
  }
  /** @type {Map<string, string>} */
  let colour = new Map(nodes.map((n) => [n.id, ANCHOR_KINDS.has(n.kind) ? `a:${n.id}` : `k:${n.kind}`]));
  let classes = new Set(colour.values()).size;
  for (let round = 0; round < nodes.length; round++) {
    /** @type {Map<string, string>} */
    const ids = new Map();
    /** @type {Map<string, string>} */
    const next = new Map();
    for (const n of nodes) {
      const c = /** @type {string} */ (colour.get(n.id));
      if (c.startsWith('a:')) {
        next.set(n.id, c);
        continue;
      }
      const around = (/** @type {string[] | undefined} */ xs) => [...new Set((xs ?? []).map((x) => colour.get(x)))].sort().join(',');
      const sig = `${c}|${around(ins.get(n.id))}|${around(outs.get(n.id))}`;
      let id = ids.get(sig);
      if (!id) ids.set(sig, (id = `c${ids.size}`));
      next.set(n.id, id);
    }
    colour = next;
    const now = new Set(colour.values()).size;
    if (now === classes) break;
    classes = now;
  }
  return colour;
}

/**
 * Draws each class of more than `threshold` equivalent nodes as one group node with their count and
 * worst health, unless the user expanded it (its id: the kind and its first member).
 * @param {TopoNode[]} nodes
 * @param {TopoEdge[]} edges
 * @param {Set<string>} expanded ids of groups the user opened
 * @param {number} threshold
 * @returns {{ nodes: DrawnNode[], edges: TopoEdge[] }}
 */
export function groupEquivalent(nodes, edges, expanded, threshold = GROUP_THRESHOLD) {
  const colour = equivalenceClasses(nodes, edges);
  /** @type {Map<string, TopoNode[]>} */
  const classes = new Map();
  for (const n of nodes) {
    if (ANCHOR_KINDS.has(n.kind)) continue;
    const c = /** @type {string} */ (colour.get(n.id));
    (classes.get(c) ?? classes.set(c, []).get(c))?.push(n);
  }
  /** @type {Map<string, string>} member id → group id */
  const into = new Map();
  /** @type {DrawnNode[]} */
  const groups = [];
  for (const members of classes.values()) {
    if (members.length <= threshold) continue;
    members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const kind = /** @type {TopoNode} */ (members[0]).kind;
    const id = `group:${kind}:${/** @type {TopoNode} */ (members[0]).id}`;
    if (expanded.has(id)) continue;
    for (const m of members) into.set(m.id, id);
    groups.push({ id, kind: 'group', label: `${members.length} ${plural(kind)}`, health: worstHealth(members.map((m) => m.health)), count: members.length, groupOf: kind, memberNodes: members, collapsed: true });
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
 * What connects to one node: the nodes within `depth` edges of it (either direction), not going on
 * through other anchors (a network's other hosts are not a host's business), and the edges among them.
 * A host's neighbourhood of 3 is its NICs, bridges and networks; a network's, its hosts with their
 * devices, its VMs and providers.
 * @param {{ nodes: TopoNode[], edges: TopoEdge[] }} topology
 * @param {string} id
 * @param {number} depth
 * @returns {{ nodes: TopoNode[], edges: TopoEdge[] }}
 */
export function neighbourhood(topology, id, depth = 3) {
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  if (!byId.has(id)) return topology;
  /** @type {Map<string, string[]>} */
  const adj = new Map();
  for (const e of topology.edges) {
    (adj.get(e.from) ?? adj.set(e.from, []).get(e.from))?.push(e.to);
    (adj.get(e.to) ?? adj.set(e.to, []).get(e.to))?.push(e.from);
  }
  const keep = new Set([id]);
  let frontier = [id];
  for (let d = 0; d < depth && frontier.length; d++) {
    /** @type {string[]} */
    const next = [];
    for (const x of frontier) {
      if (x !== id && ANCHOR_KINDS.has(byId.get(x)?.kind ?? '')) continue;
      for (const y of adj.get(x) ?? []) {
        if (keep.has(y) || !byId.has(y)) continue;
        keep.add(y);
        next.push(y);
      }
    }
    frontier = next;
  }
  return { nodes: topology.nodes.filter((n) => keep.has(n.id)), edges: topology.edges.filter((e) => keep.has(e.from) && keep.has(e.to)) };
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

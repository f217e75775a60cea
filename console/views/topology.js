// Topology (#/topology): providers ↔ networks ↔ hosts (NICs, bonds, bridges) ↔ VMs, routers and
// service endpoints, laid out by elkjs (layered, left to right, in a Web Worker) and drawn as SVG:
// one <g class="node" data-id data-kind data-health> per node, one <path class="edge" data-from
// data-to> per edge, coloured by health (degraded is red). Equivalent nodes are collapsed into a group
// with its count (lib/graph.js); host devices can be folded away. A health change recolours in place;
// only a change of structure lays out again. Click or Enter: a host or network opens its page, any
// other node its details here.
import { h, replace, s } from '../lib/dom.js';
import { condFull, healthBadge, planBlock } from '../lib/components.js';
import { hrefOfKey } from '../lib/format.js';
import { neighbourhood, prepareGraph, structureOf } from '../lib/graph.js';
import { loadElk } from '../lib/elk.js';

/** @typedef {import('../lib/graph.js').DrawnNode} DrawnNode */
/** @typedef {import('../types.js').TopoEdge} TopoEdge */
/** @typedef {import('../types.js').ConsoleView} ConsoleView */

/** Above this many nodes, host devices start folded (the user can show them). */
export const AUTO_DEVICES_MAX = 150;
const NODE_H = 44;
const MAX_LABEL = 24;

/** @type {Record<string, string>} */
const KIND_WORD = { provider: 'provider', network: 'network', host: 'host', nic: 'NIC', bond: 'bond', bridge: 'bridge', vm: 'VM', router: 'router', endpoint: 'endpoint', group: 'group' };

export const LAYOUT_OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.layered.spacing.nodeNodeBetweenLayers': '64',
  'elk.spacing.nodeNode': '18',
  'elk.spacing.edgeNode': '12',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  'elk.separateConnectedComponents': 'true',
  'elk.spacing.componentComponent': '36',
  'elk.padding': '[top=16,left=16,bottom=16,right=16]',
};

/** Above this many edges the layout trades some polish for time (fewer crossing-minimization passes). */
export const BIG_EDGES = 1500;
export const BIG_LAYOUT_OPTIONS = {
  'elk.layered.thoroughness': '1',
  'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
  'elk.edgeRouting': 'POLYLINE',
};

/**
 * @param {string} label
 * @returns {string}
 */
function shortLabel(label) {
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}

/**
 * @param {DrawnNode} n
 * @returns {number}
 */
function widthOf(n) {
  const text = shortLabel(n.label).length * 7.4 + 28 + (n.count !== undefined ? 30 : 0);
  return Math.round(Math.max(88, Math.min(240, text)));
}

/**
 * The word for a node's kind (a collapsed group: its members' kind).
 * @param {DrawnNode} n
 * @returns {string}
 */
function kindOf(n) {
  const kind = n.kind === 'group' ? n.groupOf ?? n.kind : n.kind;
  return KIND_WORD[kind] ?? kind;
}

/**
 * The object a node stands for (its key, else kind and label).
 * @param {DrawnNode} n
 * @returns {string | undefined}
 */
function hrefOf(n) {
  if (n.key) return hrefOfKey(n.key);
  if (n.kind === 'host') return `#/hosts/${encodeURIComponent(n.label)}`;
  if (n.kind === 'network') return `#/networks/${encodeURIComponent(n.label)}`;
  return undefined;
}

/**
 * @param {HTMLElement} root
 * @param {import('../types.js').ViewContext} ctx
 * @returns {import('../types.js').MountedView}
 */
export function mount(root, ctx) {
  /** @type {Set<string>} */
  const expanded = new Set();
  /** @type {boolean | undefined} undefined: by size */
  let showDevices;
  /** @type {ConsoleView | undefined} */
  let view;
  /** @type {{ nodes: DrawnNode[], edges: TopoEdge[] } | undefined} */
  let graph;
  let structure = '';
  /** @type {Map<string, SVGGElement>} */
  let nodeEls = new Map();
  /** @type {string | undefined} a node's id may hold slashes (vm:shop/web2): the rest of the route */
  let selected = ctx.params.length ? ctx.params.join('/') : undefined;
  /** @type {number | undefined} */
  let zoom;
  let size = { w: 0, h: 0 };
  /** @type {Promise<void>} */
  let chain = Promise.resolve();
  /** @type {string | undefined} only what connects to this node is drawn */
  let focus;

  const devices = h('input', { type: 'checkbox', id: 'topo-devices' });
  devices.addEventListener('change', () => {
    showDevices = devices.checked;
    redraw();
  });
  const summary = h('p', { class: 'count', id: 'topo-summary', role: 'status' });
  const zoomOut = h('button', { type: 'button', 'aria-label': 'Zoom out' }, '−');
  const zoomIn = h('button', { type: 'button', 'aria-label': 'Zoom in' }, '+');
  const zoomFit = h('button', { type: 'button' }, 'Fit');
  zoomOut.addEventListener('click', () => setZoom((zoom ?? 1) / 1.25));
  zoomIn.addEventListener('click', () => setZoom((zoom ?? 1) * 1.25));
  zoomFit.addEventListener('click', () => setZoom(fitZoom()));
  const focusText = h('span', { id: 'topo-focus-text' });
  const unfocus = h('button', { type: 'button', id: 'topo-unfocus' }, 'Show everything');
  unfocus.addEventListener('click', () => {
    focus = undefined;
    redraw();
  });
  const focusBar = h('p', { class: 'focus-bar', id: 'topo-focus', hidden: true }, focusText, ' ', unfocus);
  const wrap = h('div', { class: 'topology-wrap', id: 'topology-wrap' });
  const notice = h('p', { class: 'notice', hidden: true, role: 'alert' });
  const details = h('aside', { class: 'details', id: 'topo-details', 'aria-label': 'Selected node', hidden: true });
  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Colours' },
    ['ok', 'progressing', 'degraded', 'unknown'].map((x) => h('li', {}, healthBadge(/** @type {any} */ (x)))),
  );

  replace(
    root,
    h('h1', { tabindex: -1, id: 'topology-title' }, 'Topology'),
    h(
      'div',
      { class: 'toolbar' },
      h('span', { class: 'check' }, devices, h('label', { for: 'topo-devices' }, 'Show host devices (NICs, bonds, bridges)')),
      h('span', { class: 'zoom', role: 'group', 'aria-label': 'Zoom' }, zoomOut, zoomFit, zoomIn),
      legend,
      summary,
    ),
    focusBar,
    notice,
    h('div', { class: 'topology-layout' }, wrap, details),
  );

  function fitZoom() {
    if (!size.w) return 1;
    return Math.max(0.25, Math.min(1, (wrap.clientWidth - 8) / size.w));
  }

  /** @param {number} z */
  function setZoom(z) {
    zoom = Math.max(0.1, Math.min(3, z));
    const svg = wrap.querySelector('svg');
    if (svg) {
      svg.setAttribute('width', String(Math.round(size.w * zoom)));
      svg.setAttribute('height', String(Math.round(size.h * zoom)));
    }
  }

  function redraw() {
    chain = chain.then(draw).catch((e) => {
      notice.hidden = false;
      notice.textContent = `The topology could not be laid out: ${e instanceof Error ? e.message : String(e)}`;
    });
    return chain;
  }

  async function draw() {
    if (!view) return;
    const all = view.topology ?? { nodes: [], edges: [] };
    const focused = focus === undefined ? undefined : all.nodes.find((n) => n.id === focus);
    if (!focused) focus = undefined;
    const topo = focused ? neighbourhood(all, focused.id) : all;
    focusBar.hidden = !focused;
    focusText.textContent = focused ? `Showing what connects to ${KIND_WORD[focused.kind] ?? focused.kind} ${focused.label} (${topo.nodes.length} of ${all.nodes.length} objects).` : '';
    const devicesShown = showDevices ?? topo.nodes.length <= AUTO_DEVICES_MAX;
    devices.checked = devicesShown;
    const g = prepareGraph(topo, { expanded, showDevices: devicesShown });
    const sig = `${structureOf(g)}|${focus ?? ''}`;
    graph = g;
    const groups = g.nodes.filter((n) => n.collapsed).length;
    summary.textContent = `${all.nodes.length} objects, drawn as ${g.nodes.length} nodes and ${g.edges.length} edges${groups ? ` (${groups} collapsed group${groups === 1 ? '' : 's'})` : ''}${devicesShown ? '' : ', host devices folded'}${g.edges.length > BIG_EDGES && !focused ? '. A large picture: select a node and choose “Show only what connects to it”.' : ''}`;
    if (sig === structure && nodeEls.size) {
      recolour(g);
      renderDetails();
      return;
    }
    const elk = await loadElk();
    const t0 = performance.now();
    wrap.setAttribute('aria-busy', 'true');
    summary.textContent += ' — laying out…';
    const laid = await elk.layout({
      id: 'root',
      layoutOptions: g.edges.length > BIG_EDGES ? { ...LAYOUT_OPTIONS, ...BIG_LAYOUT_OPTIONS } : LAYOUT_OPTIONS,
      children: g.nodes.map((n) => ({ id: n.id, width: widthOf(n), height: NODE_H })),
      edges: g.edges.map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
    });
    const ms = performance.now() - t0;
    wrap.removeAttribute('aria-busy');
    summary.textContent = summary.textContent.replace(' — laying out…', '');
    if (graph !== g) return; // a newer graph is queued behind this one
    notice.hidden = true;
    structure = sig;
    paint(g, laid, ms);
    renderDetails();
  }

  /** @param {{ nodes: DrawnNode[] }} g */
  function recolour(g) {
    for (const n of g.nodes) {
      const el = nodeEls.get(n.id);
      if (!el || el.dataset.health === n.health) continue;
      el.dataset.health = n.health;
      el.classList.remove('health-ok', 'health-progressing', 'health-degraded', 'health-unknown');
      el.classList.add(`health-${n.health}`);
      el.setAttribute('aria-label', ariaLabel(n));
      const t = el.querySelector('title');
      if (t) t.textContent = ariaLabel(n);
    }
  }

  /** @param {DrawnNode} n */
  function ariaLabel(n) {
    return `${kindOf(n)} ${n.label}, ${n.health}${n.count !== undefined ? `, ${n.count} members` : ''}`;
  }

  /**
   * @param {{ nodes: DrawnNode[], edges: TopoEdge[] }} g
   * @param {any} laid
   * @param {number} ms
   */
  function paint(g, laid, ms) {
    size = { w: Math.ceil(laid.width ?? 0), h: Math.ceil(laid.height ?? 0) };
    /** @type {Map<string, any>} */
    const pos = new Map((laid.children ?? []).map((/** @type {any} */ c) => [c.id, c]));
    const edgeEls = (laid.edges ?? []).map((/** @type {any} */ e, /** @type {number} */ i) => {
      const src = g.edges[i];
      const d = (e.sections ?? [])
        .map((/** @type {any} */ sec) => [sec.startPoint, ...(sec.bendPoints ?? []), sec.endPoint].map((p, j) => `${j ? 'L' : 'M'}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' '))
        .join(' ');
      return s('path', { class: 'edge', d, dataset: { from: src?.from ?? '', to: src?.to ?? '', ...(src?.kind ? { kind: src.kind } : {}) }, 'marker-end': 'url(#topo-arrow)' }, src?.label ? s('title', {}, src.label) : null);
    });
    // Tab order follows the picture: column by column, top to bottom.
    const ordered = [...g.nodes].sort((a, b) => {
      const pa = pos.get(a.id);
      const pb = pos.get(b.id);
      return (pa?.x ?? 0) - (pb?.x ?? 0) || (pa?.y ?? 0) - (pb?.y ?? 0);
    });
    nodeEls = new Map();
    const nodeGs = ordered.map((n) => {
      const p = pos.get(n.id) ?? { x: 0, y: 0, width: widthOf(n), height: NODE_H };
      const link = !!hrefOf(n) && n.kind !== 'group';
      const el = /** @type {SVGGElement} */ (
        s(
          'g',
          {
            class: `node kind-${n.kind} health-${n.health}${n.id === selected ? ' selected' : ''}`,
            transform: `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)})`,
            tabindex: 0,
            role: link ? 'link' : 'button',
            'aria-label': ariaLabel(n),
            dataset: { id: n.id, kind: n.kind, health: n.health, ...(n.key ? { key: n.key } : {}), ...(n.count !== undefined ? { count: String(n.count) } : {}) },
          },
          s('title', {}, ariaLabel(n)),
          s('rect', { class: 'box', width: p.width, height: p.height, rx: 7 }),
          // One text, so that what is seen reads as the start of the accessible name: "host demo".
          s('text', {}, s('tspan', { class: 'kind', x: 10, y: 15 }, kindOf(n)), s('tspan', { class: 'label', x: 10, y: 33 }, ` ${shortLabel(n.label)}`)),
          n.count !== undefined
            ? s('g', { class: 'count', transform: `translate(${p.width - 18} ${p.height / 2})`, 'aria-hidden': 'true' }, s('circle', { r: 13 }), s('text', { 'text-anchor': 'middle', y: 4 }, String(n.count)))
            : null,
        )
      );
      nodeEls.set(n.id, el);
      return el;
    });
    const svg = s(
      'svg',
      {
        class: 'topology',
        id: 'topology',
        role: 'group',
        'aria-labelledby': 'topology-title topo-summary',
        viewBox: `0 0 ${size.w} ${size.h}`,
        width: size.w,
        height: size.h,
        dataset: { layoutMs: String(Math.round(ms)), nodes: String(g.nodes.length), edges: String(g.edges.length) },
      },
      s('defs', {}, s('marker', { id: 'topo-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerUnits: 'userSpaceOnUse', markerWidth: 9, markerHeight: 9, orient: 'auto-start-reverse' }, s('path', { d: 'M0 0 L10 5 L0 10 z', class: 'arrow' }))),
      s('g', { class: 'edges', 'aria-hidden': 'true' }, edgeEls),
      s('g', { class: 'nodes' }, nodeGs),
    );
    const hadFocus = document.activeElement instanceof SVGElement && wrap.contains(document.activeElement) ? /** @type {SVGElement} */ (document.activeElement).dataset.id : undefined;
    replace(wrap, svg);
    zoom ??= fitZoom();
    setZoom(zoom);
    if (hadFocus) nodeEls.get(hadFocus)?.focus();
    highlight();
  }

  function highlight() {
    for (const el of wrap.querySelectorAll('.edge.hl')) el.classList.remove('hl');
    for (const el of nodeEls.values()) el.classList.toggle('selected', el.dataset.id === selected);
    if (!selected) return;
    for (const el of wrap.querySelectorAll('.edge')) {
      const e = /** @type {SVGElement} */ (el);
      if (e.dataset.from === selected || e.dataset.to === selected) e.classList.add('hl');
    }
  }

  /** @param {string} id */
  function activate(id) {
    const n = graph?.nodes.find((x) => x.id === id);
    if (!n) return;
    const href = n.kind === 'group' ? undefined : hrefOf(n);
    if (href) {
      ctx.navigate(href);
      return;
    }
    selected = id;
    history.replaceState(null, '', `#/topology/${encodeURIComponent(id)}`);
    highlight();
    renderDetails();
    details.querySelector('h2')?.focus();
  }

  wrap.addEventListener('click', (e) => {
    const g = /** @type {Element} */ (e.target).closest('g.node');
    if (g) activate(/** @type {SVGGElement} */ (g).dataset.id ?? '');
  });
  wrap.addEventListener('keydown', (e) => {
    const g = /** @type {Element} */ (e.target).closest('g.node');
    if (!g) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      activate(/** @type {SVGGElement} */ (g).dataset.id ?? '');
    }
  });

  function renderDetails() {
    // #/topology/<id>, or an object's key (#/topology/Host%2Fdemo, from the host's page).
    const n = selected === undefined ? undefined : graph?.nodes.find((x) => x.id === selected) ?? graph?.nodes.find((x) => x.key === selected);
    if (n && n.id !== selected) {
      selected = n.id;
      highlight();
    }
    if (!n || !view) {
      details.hidden = true;
      replace(details);
      return;
    }
    details.hidden = false;
    const obj = n.key ? view.objects.find((o) => o.key === n.key) : undefined;
    /** @type {Map<string, string | undefined>} neighbour → the edge's label (a VM's vNICs, say) */
    const neighbours = new Map();
    for (const e of graph?.edges ?? []) {
      const other = e.from === n.id ? e.to : e.to === n.id ? e.from : undefined;
      if (other !== undefined) neighbours.set(other, e.label ?? neighbours.get(other));
    }
    const byId = new Map((graph?.nodes ?? []).map((x) => [x.id, x]));
    /** @param {string} id */
    const nodeButton = (id) => {
      const x = byId.get(id);
      const b = h('button', { type: 'button', class: 'linkish' }, x ? `${KIND_WORD[x.kind] ?? x.kind} ${x.label}` : id);
      b.addEventListener('click', () => {
        nodeEls.get(id)?.focus();
        activate(id);
      });
      return b;
    };
    /** @type {HTMLButtonElement | null} */
    let focusButton = null;
    if (!n.collapsed && n.id !== focus) {
      focusButton = h('button', { type: 'button', id: 'topo-focus-button' }, 'Show only what connects to it');
      const id = n.id;
      focusButton.addEventListener('click', () => {
        focus = id;
        redraw().then(() => nodeEls.get(id)?.focus());
      });
    }
    /** @type {HTMLButtonElement | null} */
    let expand = null;
    if (n.collapsed) {
      expand = h('button', { type: 'button', class: 'primary' }, `Expand the ${n.count} ${n.label.replace(/^\d+ /, '')}`);
      expand.addEventListener('click', () => {
        expanded.add(n.id);
        selected = undefined;
        redraw();
      });
    }
    replace(
      details,
      h('h2', { tabindex: -1 }, KIND_WORD[n.kind] ?? n.kind, ' ', n.label),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Health'),
        h('dd', {}, healthBadge(n.health)),
        n.key ? [h('dt', {}, 'Object'), h('dd', {}, h('code', {}, n.key))] : null,
        obj ? [h('dt', {}, 'Ready'), h('dd', {}, condFull(obj.ready)), h('dt', {}, 'Synced'), h('dd', {}, condFull(obj.synced))] : null,
        // Stalled says something only when True (the object needs the user).
        obj?.stalled?.status === 'True' ? [h('dt', {}, 'Stalled'), h('dd', {}, h('span', { class: 'cond cond-false' }, obj.stalled.reason ?? 'True'), obj.stalled.message ? ` ${obj.stalled.message}` : '')] : null,
      ),
      n.memberNodes
        ? h('section', {}, h('h3', {}, 'Members'), h('ul', { class: 'members' }, n.memberNodes.map((m) => h('li', {}, hrefOf(m) ? h('a', { href: /** @type {string} */ (hrefOf(m)) }, m.label) : m.label, ' ', healthBadge(m.health)))), expand)
        : n.members
          ? h('section', {}, h('h3', {}, 'Members'), h('ul', { class: 'members' }, n.members.map((id) => h('li', {}, h('code', {}, id)))))
          : null,
      neighbours.size ? h('section', {}, h('h3', {}, 'Connected to'), h('ul', { class: 'members' }, [...neighbours].map(([id, label]) => h('li', {}, nodeButton(id), label ? `: ${label}` : null)))) : null,
      focusButton ? h('p', {}, focusButton) : null,
      obj?.pendingPlan ? planBlock({ key: obj.key, plan: obj.pendingPlan, canApprove: view.canApprove, label: 'Approve', approve: ctx.approve }) : null,
    );
  }

  return {
    update(v) {
      view = v;
      return redraw();
    },
    route(params) {
      selected = params.length ? params.join('/') : undefined;
      highlight();
      renderDetails();
      return true;
    },
  };
}

// The netform console: a router by hash, one live connection, and one mounted view at a time.
//   #/networks[/<name>]  #/hosts  #/hosts/<name>  #/topology[/<node>]  #/out-of-sync  #/plan  #/events
// Every `view` event re-renders the mounted view (coalesced: a burst renders once, with the latest).
// When a view has rendered, <html data-rendered-at> holds its generatedAt and the window gets a
// `netform:rendered` event (the browser tests and the benchmark wait for these).
import './lib/process-shim.js';
import { h } from './lib/dom.js';
import { connect } from './lib/live.js';
import { createApprover } from './lib/approve.js';
import { Samples } from './lib/samples.js';
import { formatTime } from './lib/format.js';
import { outOfSyncEntries } from './views/out-of-sync.js';
import { pendingPlans } from './views/plan.js';
import * as networksView from './views/networks.js';
import * as hostsView from './views/hosts.js';
import * as hostView from './views/host.js';
import * as topologyView from './views/topology.js';
import * as outOfSyncView from './views/out-of-sync.js';
import * as planView from './views/plan.js';
import * as eventsView from './views/events.js';

/** @typedef {import('./types.js').ConsoleView} ConsoleView */
/** @typedef {import('./types.js').MountedView} MountedView */
/** @typedef {{ mount: (root: HTMLElement, ctx: import('./types.js').ViewContext) => MountedView }} ViewModule */
/** @typedef {{ id: string, nav: string, title: string, module: ViewModule, params: string[] }} Route */

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const linkState = /** @type {HTMLElement} */ (document.getElementById('link-state'));
const generated = /** @type {HTMLElement} */ (document.getElementById('generated'));
const modeEl = /** @type {HTMLElement} */ (document.getElementById('mode'));
const announcer = /** @type {HTMLElement} */ (document.getElementById('announcer'));

/** @type {Record<string, { title: string, module: ViewModule }>} */
const VIEWS = {
  networks: { title: 'Networks', module: networksView },
  hosts: { title: 'Hosts', module: hostsView },
  topology: { title: 'Topology', module: topologyView },
  'out-of-sync': { title: 'Out of sync', module: outOfSyncView },
  plan: { title: 'Plan', module: planView },
  events: { title: 'Events', module: eventsView },
};

/**
 * @param {string} hash
 * @returns {Route}
 */
export function resolve(hash) {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('?')[0]
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const name = parts[0] ?? 'networks';
  if (name === 'hosts' && parts.length > 1) return { id: 'host', nav: 'hosts', title: `Host ${parts[1]}`, module: hostView, params: parts.slice(1) };
  const v = VIEWS[name] ?? VIEWS.networks;
  const id = VIEWS[name] ? name : 'networks';
  return { id, nav: id, title: /** @type {{title: string}} */ (v).title, module: /** @type {{module: ViewModule}} */ (v).module, params: parts.slice(1) };
}

/** @type {ConsoleView | undefined} */
let latest;
/** @type {{ route: Route, view: MountedView } | undefined} */
let current;
const samples = new Samples();

let toastTimer = 0;
/** @param {string} text */
function announce(text) {
  // The live region stays in the page (a hidden one would not be read out); empty, it is not shown.
  announcer.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (announcer.textContent = ''), 10000);
}

const approve = createApprover(announce);

/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) go(true);
  else location.hash = hash;
}

/** @param {boolean} focus move the focus to the new view's heading (not on the first load) */
function go(focus) {
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', '#/networks');
  const route = resolve(location.hash);
  for (const a of document.querySelectorAll('nav a[data-nav]')) {
    if (/** @type {HTMLElement} */ (a).dataset.nav === route.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${route.title} — netform console`;
  if (current && current.route.id === route.id && current.view.route?.(route.params)) {
    // Taken in place (a row or a node selected): what is shown is still the latest view.
    current.route = route;
    if (latest && !rendering) document.documentElement.dataset.renderedAt = latest.generatedAt;
    return;
  }
  current?.view.unmount?.();
  main.replaceChildren();
  const view = route.module.mount(main, { params: route.params, navigate, approve, announce, samples });
  current = { route, view };
  document.documentElement.dataset.route = route.id;
  delete document.documentElement.dataset.renderedAt;
  if (focus) /** @type {HTMLElement | null} */ (main.querySelector('h1'))?.focus();
  if (latest) render();
  else main.append(h('p', { class: 'muted', id: 'waiting' }, 'Waiting for the first view from netform…'));
}

let rendering = false;
let again = false;

/** Renders the latest view into the mounted view; a burst of events renders once more at most. */
async function render() {
  if (rendering) {
    again = true;
    return;
  }
  rendering = true;
  try {
    do {
      again = false;
      const view = latest;
      const target = current;
      if (!view || !target) return;
      main.querySelector('#waiting')?.remove();
      const t0 = performance.now();
      try {
        await target.view.update(view);
      } catch (e) {
        console.error(e);
        main.prepend(h('p', { class: 'notice', role: 'alert' }, `This view failed to render: ${e instanceof Error ? e.message : String(e)}`));
      }
      if (current !== target) continue;
      document.documentElement.dataset.renderedAt = view.generatedAt;
      window.dispatchEvent(new CustomEvent('netform:rendered', { detail: { generatedAt: view.generatedAt, route: target.route.id, ms: performance.now() - t0 } }));
    } while (again);
  } finally {
    rendering = false;
  }
}

/** @param {ConsoleView} view */
function onView(view) {
  latest = view;
  samples.record(view);
  generated.textContent = `updated ${formatTime(view.generatedAt)}`;
  generated.setAttribute('datetime', view.generatedAt);
  modeEl.textContent = view.mode === 'cluster' ? 'cluster mode' : 'file mode';
  const oos = outOfSyncEntries(view).length;
  const plans = pendingPlans(view).length;
  setCount('out-of-sync', oos);
  setCount('plan', plans);
  render();
}

/**
 * @param {string} nav
 * @param {number} n
 */
function setCount(nav, n) {
  const el = document.querySelector(`nav a[data-nav="${nav}"] .nav-count`);
  if (!el) return;
  el.textContent = n ? String(n) : '';
  /** @type {HTMLElement} */ (el).hidden = !n;
}

/** @type {Record<string, string>} */
const LINK_WORDS = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', locked: 'token needed' };
const link = connect(onView, (state, detail) => {
  linkState.textContent = LINK_WORDS[state] ?? state;
  linkState.dataset.state = state;
  linkState.title = detail ?? '';
  document.getElementById('locked')?.remove();
  if (state === 'locked') {
    // Shown until the token is given (the dialog asks; cancelled, this button asks again).
    const again = h('button', { type: 'button', class: 'primary' }, 'Enter the token');
    again.addEventListener('click', () => link.unlock());
    main.prepend(h('div', { class: 'notice', id: 'locked', role: 'alert' }, h('p', {}, `This console needs its bearer token${detail ? `: ${detail}` : '.'}`), again));
  }
});

window.addEventListener('hashchange', () => go(true));
go(false);

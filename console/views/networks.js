// Networks: one row per network — name, VLAN, MTU, physical network, providers with their external
// ids, Ready and Synced with reason (message in the tooltip and the details), hosts, vNICs. A filter
// box (every word must match somewhere in the row), sortable headers, a virtualized body (10,000 rows
// stay fast), and the selected network's details below (#/networks/<name>).
import { h, replace } from '../lib/dom.js';
import { condBadge, condFull, healthBadge, planBlock } from '../lib/components.js';
import { shortList } from '../lib/format.js';
import { filterRows, sortRows } from '../lib/network-rows.js';
import { VirtualTable } from '../lib/virtual-table.js';

/** @typedef {import('../types.js').NetworkRow} NetworkRow */
/** @typedef {import('../types.js').ConsoleView} ConsoleView */
/** @typedef {import('../lib/virtual-table.js').SortState} SortState */

export const ROW_HEIGHT = 36;

/** @type {import('../lib/virtual-table.js').Column<NetworkRow>[]} */
const COLUMNS = [
  { id: 'name', label: 'Name', sortable: true, cell: (r) => [healthBadge(r.health), ' ', h('span', { class: 'name' }, r.name), r.outOfSync ? h('span', { class: 'oos-mark', title: `Out of sync: ${r.outOfSync}` }, ' out of sync') : null], title: (r) => `${r.name} (${r.health})${r.outOfSync ? ` — out of sync: ${r.outOfSync}` : ''}` },
  { id: 'vlan', label: 'VLAN', sortable: true, cell: (r) => (r.vlan === undefined ? h('span', { class: 'muted' }, 'untagged') : String(r.vlan)) },
  { id: 'mtu', label: 'MTU', sortable: true, cell: (r) => String(r.mtu) },
  { id: 'physnet', label: 'Physical network', sortable: true, cell: (r) => r.physicalNetwork ?? '—' },
  {
    id: 'providers',
    label: 'Providers',
    sortable: true,
    cell: (r) => (r.providers.length ? r.providers.map((p, i) => [i ? ', ' : '', p.name, p.externalId ? h('span', { class: 'ext-id' }, ` ${p.externalId}`) : null]) : '—'),
    title: (r) => r.providers.map((p) => `${p.name}${p.externalId ? ` ${p.externalId}` : ''}`).join(', '),
  },
  { id: 'ready', label: 'Ready', sortable: true, cell: (r) => condBadge(r.ready, 'Ready'), title: (r) => `Ready: ${[r.ready?.status, r.ready?.reason, r.ready?.message].filter(Boolean).join(' — ') || 'not reported'}` },
  { id: 'synced', label: 'Synced', sortable: true, cell: (r) => condBadge(r.synced, 'Synced'), title: (r) => `Synced: ${[r.synced?.status, r.synced?.reason, r.synced?.message].filter(Boolean).join(' — ') || 'not reported'}` },
  { id: 'hosts', label: 'Hosts', sortable: true, cell: (r) => shortList(r.hosts, 2), title: (r) => r.hosts.join(', ') },
  { id: 'vnics', label: 'vNICs', sortable: true, cell: (r) => shortList(r.vnics, 2), title: (r) => r.vnics.join(', ') },
];

/**
 * @param {HTMLElement} root
 * @param {import('../types.js').ViewContext} ctx
 * @returns {import('../types.js').MountedView}
 */
export function mount(root, ctx) {
  /** @type {SortState} */
  let sort = { column: 'name', direction: 'ascending' };
  let query = '';
  /** @type {NetworkRow[]} */
  let all = [];
  let canApprove = false;
  /** @type {{ digest: string, el: HTMLElement } | undefined} the selected network's plan, kept while its digest is */
  let planShown;
  /** @type {string | undefined} */
  let selected = ctx.params[0];

  const count = h('p', { class: 'count', id: 'networks-count', role: 'status' });
  const filter = h('input', { type: 'search', id: 'networks-filter', placeholder: 'name, VLAN, physical network, host, reason…', autocomplete: 'off', 'aria-describedby': 'networks-count' });
  const details = h('section', { class: 'details', id: 'network-details', 'aria-label': 'Network details', hidden: true });

  /** Opened at #/networks/<name>: that row is brought into view once it exists. */
  let revealPending = selected !== undefined;

  /** @param {string} name */
  function select(name) {
    selected = name;
    history.replaceState(null, '', `#/networks/${encodeURIComponent(name)}`);
    for (const el of table.el.querySelectorAll('.vt-row.selected')) el.classList.remove('selected');
    table.el.querySelector(`.vt-body .vt-row[data-key="${CSS.escape(name)}"]`)?.classList.add('selected');
    showDetails();
  }

  const table = new VirtualTable({
    label: 'Networks',
    className: 'networks-table',
    columns: COLUMNS,
    rowHeight: ROW_HEIGHT,
    rowKey: (r) => r.name,
    rowClass: (r) => `health-${r.health}${r.name === selected ? ' selected' : ''}`,
    onActivate: (r) => select(r.name),
    onSort: (column) => {
      sort = sort.column === column ? { column, direction: sort.direction === 'ascending' ? 'descending' : 'ascending' } : { column, direction: 'ascending' };
      refresh();
    },
  });

  let timer = 0;
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    // Rows are filtered as one types; at 10,000 rows a keystroke costs a few ms, so no long debounce.
    timer = window.setTimeout(() => {
      query = filter.value;
      refresh();
    }, 30);
  });

  replace(
    root,
    h('h1', { tabindex: -1 }, 'Networks'),
    h('div', { class: 'toolbar' }, h('label', { for: 'networks-filter' }, 'Filter networks'), filter, count),
    table.el,
    details,
  );
  table.attach();

  function refresh() {
    const rows = sortRows(filterRows(all, query), sort);
    table.setRows(rows, sort);
    count.textContent = rows.length === all.length ? `${all.length} networks` : `${rows.length} of ${all.length} networks`;
  }

  function showDetails() {
    const n = selected === undefined ? undefined : all.find((r) => r.name === selected);
    if (!n) {
      details.hidden = true;
      replace(details);
      return;
    }
    details.hidden = false;
    replace(
      details,
      h('h2', { id: 'network-details-title' }, 'Network ', n.name, ' ', healthBadge(n.health)),
      h('p', { class: 'see-also' }, h('a', { href: `#/topology/${encodeURIComponent(`Network/${n.name}`)}` }, 'Show it in the topology')),
      h(
        'dl',
        { class: 'facts' },
        n.description ? [h('dt', {}, 'Description'), h('dd', {}, n.description)] : null,
        h('dt', {}, 'VLAN'),
        h('dd', {}, n.vlan === undefined ? 'untagged' : String(n.vlan)),
        h('dt', {}, 'MTU'),
        h('dd', {}, String(n.mtu)),
        h('dt', {}, 'Physical network'),
        h('dd', {}, n.physicalNetwork ?? '—'),
        h('dt', {}, 'Providers'),
        h('dd', {}, n.providers.length ? h('ul', {}, n.providers.map((p) => h('li', {}, p.name, p.externalId ? [' — ', h('code', {}, p.externalId)] : ' (no external id yet)'))) : '—'),
        h('dt', {}, 'Ready'),
        h('dd', {}, condFull(n.ready)),
        h('dt', {}, 'Synced'),
        h('dd', {}, condFull(n.synced)),
        n.stalled?.status === 'True' ? [h('dt', {}, 'Stalled'), h('dd', {}, h('span', { class: 'cond cond-false' }, n.stalled.reason ?? 'True'), n.stalled.message ? ` ${n.stalled.message}` : '')] : null,
        n.outOfSync ? [h('dt', {}, 'Out of sync'), h('dd', {}, n.outOfSync)] : null,
        h('dt', {}, `Hosts (${n.hosts.length})`),
        h('dd', {}, n.hosts.length ? h('ul', { class: 'inline' }, n.hosts.map((x) => h('li', {}, h('a', { href: `#/hosts/${encodeURIComponent(x)}` }, x)))) : '—'),
        h('dt', {}, `vNICs (${n.vnics.length})`),
        h('dd', {}, n.vnics.length ? h('ul', { class: 'inline' }, n.vnics.map((x) => h('li', {}, x))) : '—'),
        n.endpoints?.length ? [h('dt', {}, `Service endpoints (${n.endpoints.length})`), h('dd', {}, h('ul', { class: 'inline' }, n.endpoints.map((x) => h('li', {}, x))))] : null,
      ),
      planOf(n),
    );
  }

  /** @param {NetworkRow} n */
  function planOf(n) {
    if (!n.pendingPlan) return null;
    if (planShown?.digest !== `${n.name}|${n.pendingPlan.digest}|${canApprove}`) {
      planShown = { digest: `${n.name}|${n.pendingPlan.digest}|${canApprove}`, el: planBlock({ key: `Network/${n.name}`, plan: n.pendingPlan, canApprove, label: 'Approve', approve: ctx.approve }) };
    }
    return planShown.el;
  }

  return {
    update(view) {
      all = view.networks ?? [];
      canApprove = view.canApprove;
      refresh();
      showDetails();
      if (revealPending && selected !== undefined && !details.hidden) {
        table.reveal(selected, false);
        revealPending = false;
      }
    },
    route(params) {
      if (params[0] === undefined) {
        selected = undefined;
        showDetails();
      } else {
        select(params[0]);
        table.reveal(params[0], false);
      }
      return true;
    },
    unmount() {
      clearTimeout(timer);
      table.detach();
    },
  };
}

// Hosts (#/hosts): every host with its health, cluster, conditions, last report and what is out of
// sync; each name opens the host's interface table.
import { h, replace } from '../lib/dom.js';
import { condBadge, healthBadge } from '../lib/components.js';
import { formatAge } from '../lib/format.js';

/**
 * @param {HTMLElement} root
 * @returns {import('../types.js').MountedView}
 */
export function mount(root) {
  const tbody = h('tbody', {});
  const empty = h('p', { class: 'muted', hidden: true }, 'No hosts.');
  replace(
    root,
    h('h1', { tabindex: -1 }, 'Hosts'),
    empty,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'hosts', id: 'hosts' },
        h('caption', { class: 'visually-hidden' }, 'Hosts'),
        h('thead', {}, h('tr', {}, ['Name', 'Health', 'Cluster', 'Ready', 'Synced', 'Last report', 'Interfaces', 'Out of sync', 'Dynamic vNICs free'].map((c) => h('th', { scope: 'col' }, c)))),
        tbody,
      ),
    ),
  );
  return {
    update(view) {
      const now = Date.now();
      const hosts = [...(view.hosts ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
      empty.hidden = hosts.length > 0;
      replace(
        tbody,
        hosts.map((x) =>
          h(
            'tr',
            { dataset: { name: x.name } },
            h('th', { scope: 'row' }, h('a', { href: `#/hosts/${encodeURIComponent(x.name)}` }, x.name)),
            h('td', {}, healthBadge(x.health)),
            h('td', {}, x.cluster ?? '—'),
            h('td', {}, condBadge(x.ready, 'Ready')),
            h('td', {}, condBadge(x.synced, 'Synced')),
            h('td', {}, x.lastReport ? h('time', { datetime: x.lastReport }, formatAge(x.lastReport, now)) : '—'),
            h('td', {}, String(x.interfaces.length)),
            h('td', {}, x.outOfSync.length ? String(x.outOfSync.length) : '—'),
            h('td', {}, x.dynamicVnics ? `${x.dynamicVnics.free} / ${x.dynamicVnics.total}` : '—'),
          ),
        ),
      );
    },
  };
}

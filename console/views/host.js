// One host (#/hosts/<name>): its interface table in oVirt's layout — Name, Address, MAC, Speed, Rx,
// Tx, Drops, Bond, Fabric, Network — with Rx and Tx as live sparklines (the samples are kept across
// view events by the app), where each network rides, its bonds and their members, the VIC's dynamic
// vNIC capacity, the agent's last report and problems, and what is out of sync with the Sync button
// (the approval of the host's pending plan).
import { h, replace } from '../lib/dom.js';
import { condFull, healthBadge, planBlock } from '../lib/components.js';
import { formatAge, formatRate, formatSpeed, formatTime } from '../lib/format.js';
import { sparkline } from '../lib/sparkline.js';

/** @typedef {import('../types.js').HostView} HostView */
/** @typedef {import('../types.js').InterfaceRow} InterfaceRow */

export const INTERFACE_COLUMNS = ['Name', 'Address', 'MAC', 'Speed', 'Rx', 'Tx', 'Drops', 'Bond', 'Fabric', 'Network'];

/**
 * The networks an interface carries: the agent's word for the device and where the host's networks
 * are placed (a trunk such as ens4 carries several: the agent's row names one at most).
 * @param {HostView} host
 * @param {InterfaceRow} i
 * @returns {string[]}
 */
export function networksOf(host, i) {
  const named = (i.network ?? '').split(/\s*,\s*/).filter(Boolean);
  const placed = (host.networks ?? []).filter((p) => p.interface === i.name).map((p) => p.name);
  return [...new Set([...named, ...placed])].sort();
}

/**
 * @param {string[]} names
 * @returns {import('../lib/dom.js').Child}
 */
function networkLinks(names) {
  if (!names.length) return '—';
  return names.map((n, i) => [i ? ', ' : '', h('a', { href: `#/networks/${encodeURIComponent(n)}` }, n)]);
}

/**
 * @param {HTMLElement} root
 * @param {import('../types.js').ViewContext} ctx
 * @returns {import('../types.js').MountedView}
 */
export function mount(root, ctx) {
  const name = ctx.params[0] ?? '';
  const title = h('h1', { tabindex: -1, id: 'host-title' }, 'Host ', name);
  const facts = h('dl', { class: 'facts', id: 'host-facts' });
  const tbody = h('tbody', {});
  const table = h(
    'table',
    { class: 'interfaces', id: 'interfaces' },
    h('caption', {}, 'Interfaces'),
    h('thead', {}, h('tr', {}, INTERFACE_COLUMNS.map((c) => h('th', { scope: 'col', class: `col-${c.toLowerCase()}` }, c)))),
    tbody,
  );
  const problems = h('div', { class: 'notice', id: 'host-problems', role: 'status', hidden: true });
  const placements = h('section', { 'aria-labelledby': 'placements-title', id: 'placements' });
  const bonds = h('section', { 'aria-labelledby': 'bonds-title', id: 'bonds' });
  const oos = h('section', { 'aria-labelledby': 'host-oos-title', id: 'host-out-of-sync' });
  const missing = h('p', { class: 'notice', hidden: true }, `No host named ${name} in this view.`);
  /** @type {string | undefined} */
  let planDigest;
  /** @type {HTMLElement | undefined} */
  let planEl;

  const topoLink = h('p', { class: 'see-also', hidden: true }, h('a', { href: `#/topology/${encodeURIComponent(`Host/${name}`)}` }, 'Show it in the topology'));
  replace(root, title, topoLink, missing, problems, facts, h('div', { class: 'table-wrap' }, table), placements, bonds, oos);

  /** @param {HostView} host */
  function renderFacts(host) {
    const now = Date.now();
    const d = host.dynamicVnics;
    replace(
      facts,
      h('dt', {}, 'Health'),
      h('dd', {}, healthBadge(host.health)),
      h('dt', {}, 'Cluster'),
      h('dd', {}, host.cluster ?? '—'),
      h('dt', {}, 'Ready'),
      h('dd', {}, condFull(host.ready)),
      h('dt', {}, 'Synced'),
      h('dd', {}, condFull(host.synced)),
      h('dt', {}, 'Last report'),
      h('dd', { id: 'last-report' }, host.lastReport ? [h('time', { datetime: host.lastReport }, formatTime(host.lastReport)), ` (${formatAge(host.lastReport, now)})`] : 'no report from its agent yet'),
      h('dt', { id: 'vnic-capacity-label' }, 'Dynamic vNICs'),
      h(
        'dd',
        { id: 'vnic-capacity' },
        d
          ? [
              h('meter', { min: 0, max: Math.max(1, d.total), value: d.total - d.free, 'aria-labelledby': 'vnic-capacity-label', title: `${d.total - d.free} of ${d.total} in use` }),
              ` ${d.free} free of ${d.total}`,
            ]
          : 'no Cisco VIC',
      ),
    );
  }

  /**
   * @param {HostView} host
   * @param {InterfaceRow} i
   */
  function row(host, i) {
    const series = ctx.samples.of(host.name, i.name);
    const nets = networksOf(host, i);
    return h(
      'tr',
      { dataset: { name: i.name, network: nets.join(','), fabric: i.fabric ?? '' } },
      h('th', { scope: 'row', class: 'col-name' }, i.name),
      h('td', { class: 'col-address' }, i.address ?? '—'),
      h('td', { class: 'col-mac' }, i.mac ? h('code', {}, i.mac) : '—'),
      h('td', { class: 'col-speed' }, formatSpeed(i.speedMbps)),
      h('td', { class: 'col-rx' }, h('span', { class: 'rate' }, formatRate(i.rxMbps)), ' ', sparkline(series.map((x) => x.rx), `Rx of ${i.name}`, 'rx')),
      h('td', { class: 'col-tx' }, h('span', { class: 'rate' }, formatRate(i.txMbps)), ' ', sparkline(series.map((x) => x.tx), `Tx of ${i.name}`, 'tx')),
      h('td', { class: 'col-drops' }, i.drops === undefined ? '—' : String(i.drops)),
      h('td', { class: 'col-bond' }, i.bond ?? '—'),
      h('td', { class: 'col-fabric' }, i.fabric ?? '—'),
      h('td', { class: 'col-network' }, networkLinks(nets)),
    );
  }

  /** @param {HostView} host */
  function renderPlacements(host) {
    const ps = host.networks ?? [];
    placements.hidden = !ps.length;
    replace(
      placements,
      h('h2', { id: 'placements-title' }, 'Networks'),
      h(
        'table',
        { class: 'placements' },
        h('caption', { class: 'visually-hidden' }, `Where the networks ride on ${host.name}`),
        h('thead', {}, h('tr', {}, ['Network', 'Interface', 'Fabric', 'In sync'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          {},
          ps.map((p) =>
            h(
              'tr',
              { dataset: { network: p.name } },
              h('th', { scope: 'row' }, h('a', { href: `#/networks/${encodeURIComponent(p.name)}` }, p.name)),
              h('td', {}, p.interface),
              h('td', {}, p.fabric),
              h('td', {}, p.inSync === undefined ? '—' : p.inSync ? 'yes' : h('strong', { class: 'cond-false' }, 'no')),
            ),
          ),
        ),
      ),
    );
  }

  /** @param {HostView} host */
  function renderProblems(host) {
    const ps = host.problems ?? [];
    problems.hidden = !ps.length;
    replace(problems, ps.length ? [h('p', {}, h('strong', {}, 'The agent cannot realize the spec as it stands:')), h('ul', {}, ps.map((x) => h('li', {}, x)))] : null);
  }

  /** @param {HostView} host */
  function renderBonds(host) {
    replace(
      bonds,
      h('h2', { id: 'bonds-title' }, 'Bonds'),
      host.bonds.length
        ? h('ul', { class: 'bonds' }, host.bonds.map((b) => h('li', { dataset: { bond: b.name } }, h('strong', {}, b.name), ': ', b.members.length ? b.members.join(', ') : 'no members')))
        : h('p', { class: 'muted' }, 'No bonds.'),
    );
  }

  /**
   * @param {HostView} host
   * @param {boolean} canApprove
   */
  function renderOutOfSync(host, canApprove) {
    const plan = host.pendingPlan;
    // The plan block (and the focus on its button) stays while its digest does.
    if (plan?.digest !== planDigest) {
      planDigest = plan?.digest;
      planEl = plan ? planBlock({ key: `Host/${host.name}`, plan, canApprove, label: 'Sync', approve: ctx.approve }) : undefined;
    }
    const keep = planEl;
    replace(
      oos,
      h('h2', { id: 'host-oos-title' }, 'Out of sync'),
      host.outOfSync.length
        ? h(
            'table',
            { class: 'oos' },
            h('caption', { class: 'visually-hidden' }, `What differs on ${host.name}`),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col' }, 'Difference'))),
            h('tbody', {}, host.outOfSync.map((o) => h('tr', {}, h('th', { scope: 'row' }, o.name), h('td', {}, o.difference)))),
          )
        : h('p', { class: 'muted' }, 'Everything on this host is as declared.'),
      keep ?? null,
    );
  }

  return {
    update(view) {
      const host = (view.hosts ?? []).find((x) => x.name === name);
      missing.hidden = !!host;
      facts.hidden = table.hidden = bonds.hidden = oos.hidden = topoLink.hidden = !host;
      if (!host) {
        problems.hidden = placements.hidden = true;
        return;
      }
      renderProblems(host);
      renderPlacements(host);
      replace(title, 'Host ', host.name, ' ', healthBadge(host.health));
      renderFacts(host);
      replace(tbody, host.interfaces.map((i) => row(host, i)));
      renderBonds(host);
      renderOutOfSync(host, view.canApprove);
    },
  };
}

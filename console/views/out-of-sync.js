// Out of sync (#/out-of-sync): every host and network carrying oVirt's out-of-sync flag, and any other
// object whose backend drifted or whose plan awaits approval, with what differs; "Sync" is exactly the
// approval of that object's pending plan (its digest, with the token).
import { h, replace } from '../lib/dom.js';
import { condFull, healthBadge, planBlock } from '../lib/components.js';
import { hrefOfKey } from '../lib/format.js';

/** @typedef {import('../types.js').ConsoleView} ConsoleView */
/** @typedef {import('../types.js').PendingPlan} PendingPlan */
/** @typedef {import('../types.js').Health} Health */
/** @typedef {{ key: string, kind: string, name: string, health: Health, differences: { name?: string, difference: string }[], plan?: PendingPlan, synced?: import('../types.js').Cond }} Entry */

/**
 * Pure: the entries of the view, hosts first, then networks, then other objects; by name.
 * @param {ConsoleView} view
 * @returns {Entry[]}
 */
export function outOfSyncEntries(view) {
  const objects = new Map((view.objects ?? []).map((o) => [o.key, o]));
  /** @type {Map<string, Entry>} */
  const out = new Map();
  for (const host of view.hosts ?? []) {
    const key = `Host/${host.name}`;
    const plan = host.pendingPlan ?? objects.get(key)?.pendingPlan;
    if (!host.outOfSync.length && !plan) continue;
    out.set(key, { key, kind: 'Host', name: host.name, health: host.health, differences: host.outOfSync, plan, synced: host.synced });
  }
  for (const n of view.networks ?? []) {
    const key = `Network/${n.name}`;
    const plan = objects.get(key)?.pendingPlan ?? n.pendingPlan;
    if (!n.outOfSync && !plan) continue;
    out.set(key, { key, kind: 'Network', name: n.name, health: n.health, differences: n.outOfSync ? [{ difference: n.outOfSync }] : [], plan, synced: n.synced });
  }
  for (const o of view.objects ?? []) {
    if (out.has(o.key)) continue;
    const drifted = o.synced?.status === 'False' && (o.synced.reason === 'DriftDetected' || o.synced.reason === 'AwaitingApproval');
    if (!drifted && !o.pendingPlan && !o.invalid) continue;
    const differences = [...(o.synced?.message ? [{ difference: o.synced.message }] : []), ...(o.invalid ? [{ name: 'the manifest', difference: o.invalid }] : [])];
    out.set(o.key, { key: o.key, kind: o.kind, name: o.namespace ? `${o.namespace}/${o.name}` : o.name, health: o.health, differences, plan: o.pendingPlan, synced: o.synced });
  }
  const order = (/** @type {string} */ k) => (k === 'Host' ? 0 : k === 'Network' ? 1 : 2);
  return [...out.values()].sort((a, b) => order(a.kind) - order(b.kind) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * @param {HTMLElement} root
 * @param {import('../types.js').ViewContext} ctx
 * @returns {import('../types.js').MountedView}
 */
export function mount(root, ctx) {
  const list = h('div', { class: 'entries', id: 'out-of-sync' });
  const count = h('p', { class: 'count', role: 'status' });
  replace(root, h('h1', { tabindex: -1 }, 'Out of sync'), count, list);
  /** @type {Map<string, { digest?: string, el: HTMLElement }>} */
  let blocks = new Map();
  return {
    update(view) {
      const entries = outOfSyncEntries(view);
      count.textContent = entries.length ? `${entries.length} object${entries.length === 1 ? '' : 's'} out of sync` : 'Everything is in sync.';
      /** @type {Map<string, { digest?: string, el: HTMLElement }>} */
      const next = new Map();
      const els = entries.map((e) => {
        // A block keeps its DOM (and a focused button) while its plan stays the same.
        const sig = `${e.plan?.digest ?? ''}|${e.health}|${JSON.stringify(e.differences)}|${view.canApprove}`;
        const old = blocks.get(e.key);
        if (old && old.digest === sig) {
          next.set(e.key, old);
          return old.el;
        }
        const href = hrefOfKey(e.key);
        const id = `oos-${e.key.replace(/[^A-Za-z0-9_-]/g, '-')}`;
        const el = h(
          'article',
          { class: 'entry', dataset: { key: e.key }, 'aria-labelledby': id },
          h('h2', { id }, e.kind, ' ', href ? h('a', { href }, e.name) : e.name, ' ', healthBadge(e.health)),
          e.synced ? h('p', {}, 'Synced: ', condFull(e.synced)) : null,
          e.differences.length
            ? h('ul', { class: 'differences', 'aria-label': `What differs on ${e.kind} ${e.name}` }, e.differences.map((d) => h('li', {}, d.name ? [h('strong', {}, d.name), ': '] : null, d.difference)))
            : null,
          e.plan
            ? planBlock({ key: e.key, plan: e.plan, canApprove: view.canApprove, label: 'Sync', approve: ctx.approve })
            : h('p', { class: 'hint' }, 'No plan awaits approval for it: netform converges it by itself, or reports why it cannot.'),
        );
        next.set(e.key, { digest: sig, el });
        return el;
      });
      blocks = next;
      replace(list, els);
    },
  };
}

// Plan (#/plan): the plans awaiting approval — what would change, in the plan's words — each with the
// button that approves exactly that digest.
import { h, replace } from '../lib/dom.js';
import { healthBadge, planBlock } from '../lib/components.js';
import { hrefOfKey } from '../lib/format.js';

/** @typedef {import('../types.js').ConsoleView} ConsoleView */
/** @typedef {import('../types.js').PendingPlan} PendingPlan */

/**
 * Pure: every pending plan, by key (a host's own report wins over its object's copy).
 * @param {ConsoleView} view
 * @returns {{ key: string, health: import('../types.js').Health, plan: PendingPlan }[]}
 */
export function pendingPlans(view) {
  /** @type {Map<string, { key: string, health: import('../types.js').Health, plan: PendingPlan }>} */
  const out = new Map();
  for (const n of view.networks ?? []) if (n.pendingPlan) out.set(`Network/${n.name}`, { key: `Network/${n.name}`, health: n.health, plan: n.pendingPlan });
  for (const o of view.objects ?? []) if (o.pendingPlan) out.set(o.key, { key: o.key, health: o.health, plan: o.pendingPlan });
  for (const host of view.hosts ?? []) if (host.pendingPlan) out.set(`Host/${host.name}`, { key: `Host/${host.name}`, health: host.health, plan: host.pendingPlan });
  return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * @param {HTMLElement} root
 * @param {import('../types.js').ViewContext} ctx
 * @returns {import('../types.js').MountedView}
 */
export function mount(root, ctx) {
  const list = h('div', { class: 'entries', id: 'plans' });
  const count = h('p', { class: 'count', role: 'status' });
  replace(root, h('h1', { tabindex: -1 }, 'Plan'), count, list);
  /** @type {Map<string, HTMLElement>} */
  let blocks = new Map();
  return {
    update(view) {
      const plans = pendingPlans(view);
      count.textContent = plans.length ? `${plans.length} plan${plans.length === 1 ? '' : 's'} awaiting approval` : 'No plan awaits approval.';
      /** @type {Map<string, HTMLElement>} */
      const next = new Map();
      replace(
        list,
        plans.map((p) => {
          const sig = `${p.key}|${p.plan.digest}|${p.health}|${view.canApprove}`;
          let el = blocks.get(sig);
          if (!el) {
            const href = hrefOfKey(p.key);
            const id = `planh-${p.key.replace(/[^A-Za-z0-9_-]/g, '-')}`;
            el = h(
              'article',
              { class: 'entry', dataset: { key: p.key }, 'aria-labelledby': id },
              h('h2', { id }, href ? h('a', { href }, p.key) : p.key, ' ', healthBadge(p.health)),
              planBlock({ key: p.key, plan: p.plan, canApprove: view.canApprove, label: 'Approve', approve: ctx.approve }),
            );
          }
          next.set(sig, el);
          return el;
        }),
      );
      blocks = next;
    },
  };
}

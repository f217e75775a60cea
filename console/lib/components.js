// Small pieces several views share: health badges, condition cells, pending plans with their button.
import { h } from './dom.js';
import { condLong, condShort } from './format.js';

/** @typedef {import('../types.js').Health} Health */
/** @typedef {import('../types.js').Cond} Cond */
/** @typedef {import('../types.js').PendingPlan} PendingPlan */

/** @type {Record<string, string>} */
const HEALTH_WORDS = { ok: 'OK', progressing: 'Progressing', degraded: 'Degraded', unknown: 'Unknown' };

/**
 * A health badge: a coloured dot and the word (never colour alone).
 * @param {Health} health
 * @returns {HTMLElement}
 */
export function healthBadge(health) {
  return h('span', { class: `badge health-${health}`, dataset: { health } }, h('span', { class: 'dot', 'aria-hidden': 'true' }), HEALTH_WORDS[health] ?? health);
}

/**
 * A condition as a short badge with the message in its tooltip.
 * @param {Cond | undefined} c
 * @param {string} name the condition's name (Ready, Synced, …), for the tooltip
 * @returns {HTMLElement}
 */
export function condBadge(c, name) {
  const status = c?.status ?? 'none';
  return h('span', { class: `cond cond-${status.toLowerCase()}`, title: `${name}: ${condLong(c)}` }, condShort(c));
}

/**
 * A condition with its message written out (details panels).
 * @param {Cond | undefined} c
 * @returns {HTMLElement}
 */
export function condFull(c) {
  return h('span', { class: 'cond-full' }, condBadge(c, ''), c?.message ? h('span', { class: 'cond-message' }, ` ${c.message}`) : null);
}

/**
 * A pending plan: its summary, its changes, and the button that approves exactly its digest.
 * @param {object} o
 * @param {string} o.key
 * @param {PendingPlan} o.plan
 * @param {boolean} o.canApprove
 * @param {string} o.label the button's text ("Sync", "Approve")
 * @param {(key: string, digest: string, what: string) => Promise<boolean>} o.approve
 * @param {string} [o.headingLevel]
 * @returns {HTMLElement}
 */
export function planBlock({ key, plan, canApprove, label, approve, headingLevel = 'h3' }) {
  const id = `plan-${key.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  const button = h(
    'button',
    {
      type: 'button',
      class: 'primary approve',
      dataset: { key, digest: plan.digest },
      disabled: !canApprove,
      'aria-describedby': `${id}-digest`,
    },
    `${label} ${key}`,
  );
  button.addEventListener('click', async () => {
    button.disabled = true;
    const what = `${key}: ${plan.summary ?? `${plan.changes.length} changes`} (plan ${plan.digest.slice(0, 12)})`;
    const ok = await approve(key, plan.digest, what);
    button.disabled = ok || !canApprove;
    if (ok) button.textContent = `Approved ${key}`;
  });
  const heading = /** @type {HTMLElement} */ (document.createElement(headingLevel));
  heading.id = `${id}-title`;
  heading.textContent = plan.summary ?? `${plan.changes.length} pending change${plan.changes.length === 1 ? '' : 's'}`;
  return h(
    'div',
    { class: 'plan', dataset: { key, digest: plan.digest } },
    heading,
    h('p', { class: 'digest', id: `${id}-digest` }, 'Plan ', h('code', {}, plan.digest)),
    plan.impact ? h('p', { class: 'impact' }, h('strong', {}, 'Impact: '), plan.impact) : null,
    plan.changes.length ? h('ul', { class: 'changes', 'aria-labelledby': `${id}-title` }, plan.changes.map((c) => h('li', {}, h('code', {}, c)))) : h('p', {}, 'No changes listed.'),
    h('p', { class: 'actions' }, button, canApprove ? null : h('span', { class: 'hint' }, ' Approval is not available from this console.')),
  );
}

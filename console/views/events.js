// Events (#/events): a timeline of condition changes and backend actions, newest first, with a filter.
import { h, replace } from '../lib/dom.js';
import { formatTime, hrefOfKey } from '../lib/format.js';

/** @typedef {import('../types.js').ConsoleEvent} ConsoleEvent */

export const MAX_SHOWN = 500;

/**
 * @param {HTMLElement} root
 * @returns {import('../types.js').MountedView}
 */
export function mount(root) {
  const filter = h('input', { type: 'search', id: 'events-filter', autocomplete: 'off', placeholder: 'object, type, reason…', 'aria-describedby': 'events-count' });
  const count = h('p', { class: 'count', id: 'events-count', role: 'status' });
  const list = h('ol', { class: 'timeline', id: 'events', 'aria-label': 'Events, newest first' });
  /** @type {ConsoleEvent[]} */
  let events = [];
  filter.addEventListener('input', () => render());
  replace(root, h('h1', { tabindex: -1 }, 'Events'), h('div', { class: 'toolbar' }, h('label', { for: 'events-filter' }, 'Filter events'), filter, count), list);

  function render() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const sorted = [...events].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
    const shown = words.length ? sorted.filter((e) => words.every((w) => [e.key, e.type, e.status, e.reason, e.message].join(' ').toLowerCase().includes(w))) : sorted;
    count.textContent = `${shown.length} event${shown.length === 1 ? '' : 's'}${shown.length > MAX_SHOWN ? `, the latest ${MAX_SHOWN} shown` : ''}`;
    replace(
      list,
      shown.slice(0, MAX_SHOWN).map((e) => {
        const href = hrefOfKey(e.key);
        const warn = /warn|fail|error/i.test(e.type) || e.status === 'False';
        return h(
          'li',
          { class: `event${warn ? ' warning' : ''}`, dataset: { key: e.key, type: e.type } },
          h('time', { datetime: e.time }, formatTime(e.time)),
          h(
            'div',
            { class: 'event-body' },
            h('span', { class: 'event-type' }, e.type),
            ' ',
            href ? h('a', { href }, e.key) : h('span', { class: 'event-key' }, e.key),
            e.status ? [' ', h('span', { class: `cond cond-${e.status.toLowerCase()}` }, e.status)] : null,
            e.reason ? [' ', h('strong', {}, e.reason)] : null,
            e.message ? h('p', { class: 'event-message' }, e.message) : null,
          ),
        );
      }),
    );
  }

  return {
    update(view) {
      events = view.events ?? [];
      render();
    },
  };
}

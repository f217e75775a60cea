// A virtualized table (ARIA grid): only the rows in view, plus a few either side, are in the DOM, so
// 10,000 rows cost what 40 do. Windowing by @tanstack/virtual-core (served from /vendor as its ES
// module build, no bundler); fixed row height. Keyboard: the rows are one tab stop (roving tabindex),
// ↑/↓, Page Up/Down, Home/End move, Enter activates. Sorting is the caller's: a header click calls
// onSort(columnId), and setRows says which column is sorted which way (aria-sort).
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '/vendor/@tanstack/virtual-core/dist/esm/index.js';
import { append, h } from './dom.js';

/**
 * @template T
 * @typedef {object} Column
 * @property {string} id
 * @property {string} label
 * @property {boolean} [sortable]
 * @property {(row: T) => import('./dom.js').Child} cell
 * @property {(row: T) => string} [title]  the whole value, for a tooltip when the cell is cut short
 */

/** @typedef {{ column: string, direction: 'ascending' | 'descending' }} SortState */

/**
 * @template T
 */
export class VirtualTable {
  /** @type {HTMLDivElement} */
  el;
  /** @type {T[]} */
  #rows = [];
  /** @type {Column<T>[]} */
  #columns;
  #rowHeight;
  /** @type {(row: T) => string} */
  #rowKey;
  /** @type {(row: T) => string | undefined} */
  #rowClass;
  /** @type {(row: T) => void} */
  #onActivate;
  /** @type {HTMLDivElement} */
  #header;
  /** @type {HTMLDivElement} */
  #body;
  /** @type {Virtualizer<HTMLDivElement, HTMLDivElement>} */
  #v;
  /** @type {Record<string, any>} */
  #opts;
  /** @type {Map<number, { row: T, el: HTMLDivElement }>} */
  #rendered = new Map();
  #active = 0;
  /** @type {string | undefined} the key of the row to focus once it is rendered */
  #focusKey;
  /** @type {(() => void) | undefined} */
  #cleanup;

  /**
   * @param {object} o
   * @param {string} o.label the grid's accessible name
   * @param {string} o.className sets the column widths (style.css)
   * @param {Column<T>[]} o.columns
   * @param {number} o.rowHeight pixels; must match the CSS
   * @param {(row: T) => string} o.rowKey
   * @param {(row: T) => string | undefined} [o.rowClass]
   * @param {(row: T) => void} o.onActivate Enter or click on a row
   * @param {(column: string) => void} o.onSort
   */
  constructor({ label, className, columns, rowHeight, rowKey, rowClass, onActivate, onSort }) {
    this.#columns = columns;
    this.#rowHeight = rowHeight;
    this.#rowKey = rowKey;
    this.#rowClass = rowClass ?? (() => undefined);
    this.#onActivate = onActivate;
    this.#header = h(
      'div',
      { class: 'vt-row vt-header', role: 'row', 'aria-rowindex': 1 },
      columns.map((c) =>
        h(
          'div',
          { class: `vt-cell col-${c.id}`, role: 'columnheader', dataset: { column: c.id } },
          c.sortable ? h('button', { type: 'button', class: 'sort', dataset: { column: c.id }, on: { click: () => onSort(c.id) } }, c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' })) : c.label,
        ),
      ),
    );
    this.#body = h('div', { class: 'vt-body', role: 'rowgroup' });
    this.el = h(
      'div',
      { class: `vt ${className}`, role: 'grid', 'aria-label': label, 'aria-readonly': 'true', 'aria-rowcount': 1, 'aria-colcount': columns.length },
      h('div', { class: 'vt-head', role: 'rowgroup' }, this.#header),
      this.#body,
    );
    this.el.addEventListener('keydown', (e) => this.#key(e));
    this.el.addEventListener('click', (e) => {
      const rowEl = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (e.target).closest('.vt-body .vt-row'));
      if (!rowEl || /** @type {HTMLElement} */ (e.target).closest('a, button')) return;
      const i = Number(rowEl.dataset.index);
      const row = this.#rows[i];
      if (row === undefined) return;
      this.#active = i;
      this.#roving();
      rowEl.focus();
      this.#onActivate(row);
    });
    this.#opts = {
      count: 0,
      getScrollElement: () => this.el,
      estimateSize: () => this.#rowHeight,
      overscan: 8,
      scrollToFn: elementScroll,
      observeElementRect,
      observeElementOffset,
      initialRect: { width: 1200, height: 600 },
      onChange: () => this.#render(),
    };
    this.#v = new Virtualizer(/** @type {any} */ (this.#opts));
  }

  /** Call once the table is in the document. */
  attach() {
    // The header scrolls with the rows (sticky): the rows start below it.
    this.#opts.scrollMargin = this.#header.offsetHeight || this.#rowHeight;
    this.#v.setOptions(/** @type {any} */ (this.#opts));
    this.#cleanup = this.#v._didMount();
    this.#v._willUpdate();
    this.#render();
  }

  detach() {
    this.#cleanup?.();
  }

  /**
   * @param {T[]} rows in the order shown
   * @param {SortState | undefined} sort
   */
  setRows(rows, sort) {
    const focused = this.#focusedKey();
    const activeKey = this.#rows[this.#active] !== undefined ? this.#rowKey(/** @type {T} */ (this.#rows[this.#active])) : undefined;
    this.#rows = rows;
    this.el.setAttribute('aria-rowcount', String(rows.length + 1));
    for (const cell of this.#header.children) {
      const id = /** @type {HTMLElement} */ (cell).dataset.column;
      if (sort && id === sort.column) cell.setAttribute('aria-sort', sort.direction);
      else if (this.#columns.find((c) => c.id === id)?.sortable) cell.setAttribute('aria-sort', 'none');
    }
    // The active row follows its object through re-sorting and new data.
    const again = activeKey === undefined ? -1 : rows.findIndex((r) => this.#rowKey(r) === activeKey);
    this.#active = again >= 0 ? again : Math.min(this.#active, Math.max(0, rows.length - 1));
    if (focused !== undefined) this.#focusKey = focused;
    for (const { el } of this.#rendered.values()) el.remove();
    this.#rendered.clear();
    this.#opts.count = rows.length;
    this.#v.setOptions(/** @type {any} */ (this.#opts));
    this.#v._willUpdate();
    this.#render();
  }

  /** @returns {number} how many rows are in the DOM now */
  get renderedRows() {
    return this.#rendered.size;
  }

  /**
   * Scrolls a row into view and makes it the active one.
   * @param {string} key
   * @param {boolean} focus
   */
  reveal(key, focus) {
    const i = this.#rows.findIndex((r) => this.#rowKey(r) === key);
    if (i < 0) return;
    this.#active = i;
    if (focus) this.#focusKey = key;
    this.#v.scrollToIndex(i, { align: 'auto' });
    this.#render();
  }

  /** @returns {string | undefined} */
  #focusedKey() {
    const a = document.activeElement;
    if (!(a instanceof HTMLElement) || !this.#body.contains(a) || !a.classList.contains('vt-row')) return undefined;
    return a.dataset.key;
  }

  #render() {
    const items = this.#v.getVirtualItems();
    const margin = this.#opts.scrollMargin ?? 0;
    // The rows' height (getTotalSize leaves the scroll margin out).
    this.#body.style.height = `${this.#v.getTotalSize()}px`;
    const keep = new Set();
    /** @type {HTMLDivElement[]} */
    const fresh = [];
    for (const item of items) {
      const row = this.#rows[item.index];
      if (row === undefined) continue;
      keep.add(item.index);
      let r = this.#rendered.get(item.index);
      if (!r || r.row !== row) {
        r?.el.remove();
        r = { row, el: this.#rowEl(row, item.index) };
        this.#rendered.set(item.index, r);
        fresh.push(r.el);
      }
      r.el.style.transform = `translateY(${item.start - margin}px)`;
    }
    for (const [i, r] of this.#rendered) {
      if (!keep.has(i)) {
        r.el.remove();
        this.#rendered.delete(i);
      }
    }
    if (fresh.length) append(this.#body, fresh);
    this.#roving();
    if (this.#focusKey !== undefined) {
      const el = /** @type {HTMLElement | null} */ (this.#body.querySelector(`.vt-row[data-key="${CSS.escape(this.#focusKey)}"]`));
      if (el) {
        el.focus({ preventScroll: true });
        this.#focusKey = undefined;
      }
    }
  }

  /** One row of the rendered ones is the tab stop: the active row, else the first in view. */
  #roving() {
    const active = this.#rendered.get(this.#active);
    let stop = active?.el;
    if (!stop) {
      const first = Math.min(...this.#rendered.keys());
      stop = this.#rendered.get(first)?.el;
    }
    for (const { el } of this.#rendered.values()) el.tabIndex = el === stop ? 0 : -1;
  }

  /**
   * @param {T} row
   * @param {number} index
   * @returns {HTMLDivElement}
   */
  #rowEl(row, index) {
    const key = this.#rowKey(row);
    const cls = this.#rowClass(row);
    return h(
      'div',
      { class: `vt-row${cls ? ` ${cls}` : ''}`, role: 'row', 'aria-rowindex': index + 2, tabindex: -1, dataset: { index: String(index), key } },
      this.#columns.map((c) => h('div', { class: `vt-cell col-${c.id}`, role: 'gridcell', title: c.title?.(row) }, c.cell(row))),
    );
  }

  /** @param {KeyboardEvent} e */
  #key(e) {
    const target = /** @type {HTMLElement} */ (e.target);
    if (!target.classList.contains('vt-row') || !this.#body.contains(target)) return;
    const i = Number(target.dataset.index);
    const page = Math.max(1, Math.floor(this.el.clientHeight / this.#rowHeight) - 1);
    /** @type {number | undefined} */
    let next;
    switch (e.key) {
      case 'ArrowDown':
        next = i + 1;
        break;
      case 'ArrowUp':
        next = i - 1;
        break;
      case 'PageDown':
        next = i + page;
        break;
      case 'PageUp':
        next = i - page;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = this.#rows.length - 1;
        break;
      case 'Enter':
      case ' ': {
        const row = this.#rows[i];
        if (row !== undefined) this.#onActivate(row);
        e.preventDefault();
        return;
      }
      default:
        return;
    }
    e.preventDefault();
    next = Math.max(0, Math.min(this.#rows.length - 1, next));
    const row = this.#rows[next];
    if (row === undefined) return;
    this.reveal(this.#rowKey(row), true);
  }
}

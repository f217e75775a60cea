// Building DOM without innerHTML: every string from the API becomes a text node, never markup.

/**
 * @typedef {Record<string, string | number | boolean | undefined | null | Record<string, string> | Record<string, EventListener>>} Attrs
 * `class`, `dataset` (an object), `on` (event → listener), booleans as present/absent attributes,
 * undefined/null/false left out; everything else via setAttribute.
 */

/** @typedef {Node | string | number | null | undefined | false | Child[]} Child */

/**
 * @param {Element} el
 * @param {Attrs | undefined} attrs
 */
function apply(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(/** @type {Record<string, string>} */ (v))) /** @type {HTMLElement} */ (el).dataset[dk] = String(dv);
    } else if (k === 'on') {
      for (const [ev, fn] of Object.entries(/** @type {Record<string, EventListener>} */ (v))) el.addEventListener(ev, fn);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
}

/**
 * @param {Node} parent
 * @param {Child[]} children
 */
export function append(parent, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/**
 * An HTML element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * An SVG element.
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function s(tag, attrs, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  apply(el, attrs);
  append(el, children);
  return el;
}

/**
 * Replaces an element's children. An element kept across the replacement (a plan's button while its
 * digest stays) keeps the focus if it had it.
 * @param {Element} el
 * @param {...Child} children
 */
export function replace(el, ...children) {
  const active = document.activeElement;
  const had = (active instanceof HTMLElement || active instanceof SVGElement) && el.contains(active) ? active : undefined;
  el.replaceChildren();
  append(el, children);
  if (had?.isConnected && document.activeElement !== had) had.focus({ preventScroll: true });
}

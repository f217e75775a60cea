// Words and numbers as the views show them. Pure.

/** @typedef {import('../types.js').Health} Health */
/** @typedef {import('../types.js').Cond} Cond */

/** @type {Record<Health, number>} */
const SEVERITY = { ok: 0, unknown: 1, progressing: 2, degraded: 3 };

/**
 * The worst of some healths (a collapsed group is as healthy as its worst member).
 * @param {Health[]} hs
 * @returns {Health}
 */
export function worstHealth(hs) {
  /** @type {Health} */
  let worst = 'ok';
  for (const x of hs) if ((SEVERITY[x] ?? 1) > SEVERITY[worst]) worst = x;
  return worst;
}

/**
 * @param {Health} h
 * @returns {number}
 */
export function healthRank(h) {
  return SEVERITY[h] ?? 1;
}

/**
 * @param {Cond | undefined} c
 * @returns {string} e.g. "True" or "False: BackendRejected"
 */
export function condShort(c) {
  if (!c) return '—';
  return c.reason ? `${c.status}: ${c.reason}` : c.status;
}

/**
 * @param {Cond | undefined} c
 * @returns {string} status, reason and message, for a tooltip or a details panel
 */
export function condLong(c) {
  if (!c) return 'not reported';
  return [c.status, c.reason, c.message].filter(Boolean).join(' — ');
}

/**
 * @param {number | undefined} mbps
 * @returns {string}
 */
export function formatSpeed(mbps) {
  if (mbps === undefined || mbps === null) return '—';
  if (mbps >= 1000 && mbps % 1000 === 0) return `${mbps / 1000} Gb/s`;
  return `${mbps} Mb/s`;
}

/**
 * @param {number | undefined} mbps
 * @returns {string}
 */
export function formatRate(mbps) {
  if (mbps === undefined || mbps === null) return '—';
  if (mbps >= 100) return `${Math.round(mbps)} Mb/s`;
  if (mbps >= 10) return `${mbps.toFixed(1)} Mb/s`;
  return `${mbps.toFixed(2)} Mb/s`;
}

/**
 * @param {string | undefined} iso
 * @returns {string} the local date and time, seconds included
 */
export function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * @param {string | undefined} iso
 * @param {number} now
 * @returns {string} "12 s ago", "3 min ago", …
 */
export function formatAge(iso, now) {
  if (!iso) return '';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const s = Math.round((now - t) / 1000);
  if (s < 0) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/**
 * A list as a short phrase: "a, b, c and 4 more".
 * @param {string[]} xs
 * @param {number} [max]
 * @returns {string}
 */
export function shortList(xs, max = 3) {
  if (!xs.length) return '—';
  if (xs.length <= max) return xs.join(', ');
  return `${xs.slice(0, max).join(', ')} +${xs.length - max}`;
}

/**
 * The name part of an object key (`Kind/name` or `Kind/namespace/name`).
 * @param {string} key
 * @returns {{ kind: string, namespace?: string, name: string }}
 */
export function parseKey(key) {
  const parts = key.split('/');
  if (parts.length >= 3) return { kind: parts[0] ?? '', namespace: parts[1], name: parts.slice(2).join('/') };
  return { kind: parts[0] ?? '', name: parts[1] ?? key };
}

/**
 * The console's address of an object, when it has a page of its own.
 * @param {string} key
 * @returns {string | undefined}
 */
export function hrefOfKey(key) {
  const { kind, name } = parseKey(key);
  if (kind === 'Host') return `#/hosts/${encodeURIComponent(name)}`;
  if (kind === 'Network') return `#/networks/${encodeURIComponent(name)}`;
  return undefined;
}

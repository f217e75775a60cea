// The Networks view's filter and sort (pure: tested in node).
import { healthRank } from './format.js';

/** @typedef {import('../types.js').NetworkRow} NetworkRow */
/** @typedef {import('./virtual-table.js').SortState} SortState */

const collator = new Intl.Collator(undefined, { numeric: true });

/** @type {Record<string, number>} */
const COND_ORDER = { False: 0, Unknown: 1, True: 2 };

/** @type {Record<string, (r: NetworkRow) => string | number | undefined>} */
const SORT_KEYS = {
  name: (r) => r.name,
  vlan: (r) => r.vlan,
  mtu: (r) => r.mtu,
  physnet: (r) => r.physicalNetwork,
  providers: (r) => r.providers.map((p) => p.name).join(','),
  ready: (r) => (r.ready ? (COND_ORDER[r.ready.status] ?? 1) * 1000 + healthRank(r.health) : undefined),
  synced: (r) => (r.synced ? COND_ORDER[r.synced.status] ?? 1 : undefined),
  hosts: (r) => r.hosts.length,
  vnics: (r) => r.vnics.length,
};

/**
 * Sorts by a column; rows without the value go last either way; ties by name.
 * @param {NetworkRow[]} rows
 * @param {SortState} sort
 * @returns {NetworkRow[]}
 */
export function sortRows(rows, sort) {
  const key = SORT_KEYS[sort.column] ?? SORT_KEYS.name;
  const dir = sort.direction === 'ascending' ? 1 : -1;
  const keyed = rows.map((r) => ({ r, k: /** @type {NonNullable<typeof key>} */ (key)(r) }));
  keyed.sort((a, b) => {
    if (a.k === undefined && b.k !== undefined) return 1;
    if (b.k === undefined && a.k !== undefined) return -1;
    if (a.k !== undefined && b.k !== undefined && a.k !== b.k) {
      const c = typeof a.k === 'number' && typeof b.k === 'number' ? a.k - b.k : collator.compare(String(a.k), String(b.k));
      if (c) return c * dir;
    }
    return a.r.name < b.r.name ? -1 : a.r.name > b.r.name ? 1 : 0;
  });
  return keyed.map((x) => x.r);
}

/**
 * The text a filter searches in a row.
 * @param {NetworkRow} r
 * @returns {string}
 */
function haystack(r) {
  return [
    r.name,
    r.vlan === undefined ? 'untagged' : `vlan ${r.vlan} ${r.vlan}`,
    `mtu ${r.mtu}`,
    r.physicalNetwork,
    ...r.providers.flatMap((p) => [p.name, p.externalId]),
    r.ready?.reason,
    r.ready?.message,
    r.synced?.reason,
    r.synced?.message,
    r.health,
    r.outOfSync ? `out of sync ${r.outOfSync}` : '',
    ...r.hosts,
    ...r.vnics,
  ]
    .filter(Boolean)
    .join('\u0000')
    .toLowerCase();
}

/**
 * @param {NetworkRow[]} rows
 * @param {string} query words, each of which must occur in the row
 * @returns {NetworkRow[]}
 */
export function filterRows(rows, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return rows;
  return rows.filter((r) => {
    const text = haystack(r);
    return words.every((w) => text.includes(w));
  });
}

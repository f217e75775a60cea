// A `patch` event applied to the view it follows (GET /api/v1/stream?patch=1): the server sends the
// whole view once, then only what changed — rows by key (networks and hosts by name, objects by key),
// the topology whole when it changed, the events that are new. At 10,000 networks a whole view is
// about 4 MB of JSON; an MTU edit's patch is one row.

/** @typedef {import('../types.js').ConsoleView} ConsoleView */
/** @typedef {import('../types.js').ConsolePatch} ConsolePatch */

/** The server's order of names and keys (src/console/view.ts byName: code units, not locale). */
const byName = (/** @type {string} */ a, /** @type {string} */ b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Rows with `upsert` put in (a changed row replaces its old self) and the keys of `remove` taken out,
 * in the server's order (by key). The rows left alone are the same objects as before.
 * @template T
 * @param {T[]} rows
 * @param {{ upsert: T[], remove: string[] } | undefined} change
 * @param {(row: T) => string} keyOf
 * @returns {T[]}
 */
function merge(rows, change, keyOf) {
  if (!change) return rows;
  const byKey = new Map(rows.map((r) => [keyOf(r), r]));
  for (const k of change.remove) byKey.delete(k);
  let added = false;
  for (const r of change.upsert) {
    const k = keyOf(r);
    if (!byKey.has(k)) added = true;
    byKey.set(k, r);
  }
  const out = [...byKey.values()];
  // A Map keeps the old rows' order; only new ones need placing.
  return added ? out.sort((a, b) => byName(keyOf(a), keyOf(b))) : out;
}

/**
 * The view after `patch` (a new object; `view` is not changed).
 * @param {ConsoleView} view
 * @param {ConsolePatch} patch
 * @returns {ConsoleView}
 */
export function applyPatch(view, patch) {
  /** @type {ConsoleView} */
  const next = {
    ...view,
    generatedAt: patch.generatedAt,
    networks: merge(view.networks, patch.networks, (n) => n.name),
    hosts: merge(view.hosts, patch.hosts, (h) => h.name),
    objects: merge(view.objects, patch.objects, (o) => o.key),
  };
  if (patch.mode !== undefined) next.mode = patch.mode;
  if (patch.canApprove !== undefined) next.canApprove = patch.canApprove;
  if (patch.topology) next.topology = patch.topology;
  if (patch.events) {
    if ('replace' in patch.events) next.events = patch.events.replace;
    else {
      // The server's ring drops its oldest as it grows: keep as many as it holds now.
      const all = view.events.concat(patch.events.append);
      next.events = all.slice(Math.max(0, all.length - patch.events.length));
    }
  }
  return next;
}

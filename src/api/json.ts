// JSON values compared and hashed by content. Pure.

/** The JSON text of a value with object keys sorted and undefined fields left out: equal content,
 *  equal text, whatever the key order. Arrays keep their order. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(normalize(v)) ?? 'null';
}

/** Whether two values hold the same content: key order and undefined fields do not count. */
export function sameContent(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = normalize(x);
    }
    return out;
  }
  return v;
}

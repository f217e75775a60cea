// inFilter evaluation (reference §3.3): property filters eq ne gt ge lt le
// wcard anybit allbits bw, logical and or not, nested freely. `property` is
// the XML attribute name; `class` must be the MO's class for the term to match.
// wcard is a regular expression with search (not full-match) semantics.

import type { El } from './xml.ts';

export type Predicate = (classId: string, attrs: Record<string, string>) => boolean;

export class FilterError extends Error {}

const PROPERTY_OPS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'wcard', 'anybit', 'allbits']);

function num(v: string): number | undefined {
  return /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : undefined;
}

/** Order two attribute values: numerically when both are numbers, otherwise as strings. */
function compare(a: string, b: string): number {
  const x = num(a);
  const y = num(b);
  if (x !== undefined && y !== undefined) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Bit tests: numeric masks bitwise, otherwise comma-separated flag lists. */
function bits(actual: string, mask: string, all: boolean): boolean {
  const a = num(actual);
  const m = num(mask);
  if (a !== undefined && m !== undefined && Number.isInteger(a) && Number.isInteger(m)) {
    const and = BigInt(a) & BigInt(m);
    return all ? and === BigInt(m) : and !== 0n;
  }
  const have = new Set(actual.split(',').map((s) => s.trim()).filter(Boolean));
  const want = mask.split(',').map((s) => s.trim()).filter(Boolean);
  return all ? want.every((w) => have.has(w)) : want.some((w) => have.has(w));
}

function need(el: El, attr: string): string {
  const v = el.attrs[attr];
  if (v === undefined) throw new FilterError(`Required ${attr} attribute missing in filter element '${el.name}'`);
  return v;
}

export function compileFilter(el: El): Predicate {
  if (el.name === 'and' || el.name === 'or') {
    if (el.children.length === 0) throw new FilterError(`filter element '${el.name}' has no operands`);
    const parts = el.children.map(compileFilter);
    return el.name === 'and' ? (c, a) => parts.every((p) => p(c, a)) : (c, a) => parts.some((p) => p(c, a));
  }
  if (el.name === 'not') {
    if (el.children.length !== 1) throw new FilterError(`filter element 'not' takes exactly one operand`);
    const inner = compileFilter(el.children[0]!);
    return (c, a) => !inner(c, a);
  }
  if (el.name === 'bw') {
    const cls = need(el, 'class');
    const prop = need(el, 'property');
    const lo = need(el, 'firstValue');
    const hi = need(el, 'secondValue');
    return (c, a) => c === cls && a[prop] !== undefined && compare(a[prop], lo) >= 0 && compare(a[prop], hi) <= 0;
  }
  if (!PROPERTY_OPS.has(el.name)) throw new FilterError(`unknown filter element '${el.name}'`);
  const cls = need(el, 'class');
  const prop = need(el, 'property');
  const value = need(el, 'value');
  const has = (c: string, a: Record<string, string>): a is Record<string, string> => c === cls && a[prop] !== undefined;
  switch (el.name) {
    case 'eq':
      return (c, a) => has(c, a) && a[prop] === value;
    case 'ne':
      return (c, a) => c === cls && a[prop] !== value;
    case 'gt':
      return (c, a) => has(c, a) && compare(a[prop]!, value) > 0;
    case 'ge':
      return (c, a) => has(c, a) && compare(a[prop]!, value) >= 0;
    case 'lt':
      return (c, a) => has(c, a) && compare(a[prop]!, value) < 0;
    case 'le':
      return (c, a) => has(c, a) && compare(a[prop]!, value) <= 0;
    case 'wcard': {
      let re: RegExp;
      try {
        re = new RegExp(value);
      } catch (e) {
        throw new FilterError(`invalid regular expression '${value}' in wcard filter: ${(e as Error).message}`);
      }
      return (c, a) => has(c, a) && re.test(a[prop]!);
    }
    case 'anybit':
      return (c, a) => has(c, a) && bits(a[prop]!, value, false);
    default: // allbits
      return (c, a) => has(c, a) && bits(a[prop]!, value, true);
  }
}

/** The predicate of an `<inFilter>` element (no child: everything matches). */
export function compileInFilter(inFilter: El | undefined): Predicate | undefined {
  if (!inFilter || inFilter.children.length === 0) return undefined;
  if (inFilter.children.length > 1) throw new FilterError('inFilter takes exactly one filter element');
  return compileFilter(inFilter.children[0]!);
}

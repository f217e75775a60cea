// The UCS Manager XML API's documents: method requests out, method responses in. Pure.
import { createRequire } from 'node:module';
import type { XMLParser } from 'fast-xml-parser';

/** An element: its tag, attributes and child elements, in document order. */
export interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}

/** The parser, made at the first document: a process with no UCS Manager never loads fast-xml-parser. */
let made: XMLParser | undefined;
const parser = (): XMLParser =>
  (made ??= new (createRequire(import.meta.url)('fast-xml-parser') as typeof import('fast-xml-parser')).XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    processEntities: true,
  }));

type Ordered = Record<string, unknown>;

function convert(items: Ordered[]): XmlNode[] {
  const out: XmlNode[] = [];
  for (const item of items) {
    const tag = Object.keys(item).find((k) => k !== ':@' && k !== '#text');
    if (!tag || tag.startsWith('?')) continue;
    const attrs = (item[':@'] as Record<string, string> | undefined) ?? {};
    out.push({ tag, attrs: { ...attrs }, children: convert((item[tag] as Ordered[]) ?? []) });
  }
  return out;
}

/** Parses a response document; throws on anything that is not XML with one root element. */
export function parseXml(text: string): XmlNode {
  const roots = convert(parser().parse(text) as Ordered[]);
  if (roots.length !== 1) throw new Error(`expected one root element, found ${roots.length}`);
  return roots[0]!;
}

export function escapeAttr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Serializes an element (attributes in the given order; children nested). */
export function toXml(n: XmlNode): string {
  const attrs = Object.entries(n.attrs)
    .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
    .join('');
  if (!n.children.length) return `<${n.tag}${attrs} />`;
  return `<${n.tag}${attrs}>${n.children.map(toXml).join('')}</${n.tag}>`;
}

export const el = (tag: string, attrs: Record<string, string> = {}, children: XmlNode[] = []): XmlNode => ({ tag, attrs, children });

/** A managed object as the driver handles it: class id, attributes (dn included), and children. */
export interface Mo {
  classId: string;
  attrs: Record<string, string>;
  children: Mo[];
}

export function moToNode(mo: Mo): XmlNode {
  return el(mo.classId, mo.attrs, mo.children.map(moToNode));
}

/** MOs of a response container, with `dn` filled in from the parent's dn and the child's rn. */
export function nodeToMo(n: XmlNode, parentDn?: string): Mo {
  const attrs = { ...n.attrs };
  if (!attrs.dn && attrs.rn && parentDn) attrs.dn = `${parentDn}/${attrs.rn}`;
  return { classId: n.tag, attrs, children: n.children.map((c) => nodeToMo(c, attrs.dn)) };
}

/** Every MO of a tree, depth first (a hierarchical answer flattened). */
export function flatten(mos: readonly Mo[]): Mo[] {
  const out: Mo[] = [];
  const walk = (m: Mo) => {
    out.push(m);
    for (const c of m.children) walk(c);
  };
  mos.forEach(walk);
  return out;
}

/** A UCSM error carried in an HTTP 200: on the method element, or as a root `<error>`. */
export interface UcsmFault {
  code: string;
  descr: string;
  invocationResult?: string;
}

export function faultOf(root: XmlNode): UcsmFault | undefined {
  const code = root.attrs.errorCode;
  if (code === undefined || code === '' || code === '0') return undefined;
  const f: UcsmFault = { code, descr: (root.attrs.errorDescr ?? '').trim() };
  if (root.attrs.invocationResult) f.invocationResult = root.attrs.invocationResult;
  return f;
}

/** The MOs of `outConfig` / `outConfigs` (pairs unwrapped). */
export function outMos(root: XmlNode): Mo[] {
  const out: Mo[] = [];
  for (const c of root.children) {
    if (c.tag !== 'outConfig' && c.tag !== 'outConfigs') continue;
    for (const x of c.children) {
      if (x.tag === 'pair') for (const y of x.children) out.push(nodeToMo(y));
      else out.push(nodeToMo(x));
    }
  }
  return out;
}

// ---- filters (inFilter) ------------------------------------------------------------------------------

export type Filter =
  | { op: 'eq' | 'ne' | 'wcard' | 'gt' | 'ge' | 'lt' | 'le'; classId: string; property: string; value: string }
  | { op: 'and' | 'or'; filters: Filter[] }
  | { op: 'not'; filter: Filter };

export function filterNode(f: Filter): XmlNode {
  switch (f.op) {
    case 'and':
    case 'or':
      return el(f.op, {}, f.filters.map(filterNode));
    case 'not':
      return el('not', {}, [filterNode(f.filter)]);
    default:
      return el(f.op, { class: f.classId, property: f.property, value: f.value });
  }
}

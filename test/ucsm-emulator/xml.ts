// XML in and out for the emulator, on fast-xml-parser: requests are parsed
// into a small element tree (order preserved, attributes as strings), and
// responses are built from the same shape.

import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

export interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
}

export class XmlSyntaxError extends Error {}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  allowBooleanAttributes: false,
  processEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
});

const builder = new XMLBuilder({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  suppressEmptyNode: true,
  processEntities: true,
});

type Ordered = Record<string, unknown> & { ':@'?: Record<string, unknown> };

function convert(nodes: Ordered[]): El[] {
  const out: El[] = [];
  for (const node of nodes) {
    const name = Object.keys(node).find((k) => k !== ':@');
    if (!name || name === '#text' || name === '#comment' || name.startsWith('?')) continue;
    const rawAttrs = node[':@'] ?? {};
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(rawAttrs)) attrs[k] = String(v);
    out.push({ name, attrs, children: convert((node[name] as Ordered[]) ?? []) });
  }
  return out;
}

/** Parse one XML document with exactly one root element; throws XmlSyntaxError. */
export function parseXml(text: string): El {
  const trimmed = text.trim();
  if (trimmed === '') throw new XmlSyntaxError('empty request');
  const valid = XMLValidator.validate(trimmed, { allowBooleanAttributes: false });
  if (valid !== true) throw new XmlSyntaxError(`${valid.err.msg} (line ${valid.err.line}, col ${valid.err.col})`);
  const roots = convert(parser.parse(trimmed) as Ordered[]);
  if (roots.length !== 1) throw new XmlSyntaxError(`expected one root element, found ${roots.length}`);
  return roots[0]!;
}

function toOrdered(el: El): Ordered {
  const node: Ordered = { [el.name]: el.children.map(toOrdered) };
  if (Object.keys(el.attrs).length > 0) node[':@'] = { ...el.attrs };
  return node;
}

export function buildXml(el: El): string {
  return builder.build([toOrdered(el)]) as string;
}

export const el = (name: string, attrs: Record<string, string> = {}, children: El[] = []): El => ({ name, attrs, children });

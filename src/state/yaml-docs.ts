/**
 * Multi-document YAML parsing (Kubernetes-style manifest files) with source
 * positions, built on js-yaml v5's event API.
 *
 * `parseEvents` gives a flat event stream whose nodes carry source offsets;
 * `constructFromEvents` turns the same stream into JS values (CORE schema,
 * duplicate keys rejected). Positions are looked up lazily: a per-document
 * index of the event tree is built on the first `positionOf` call only.
 *
 * Notes on the event stream this module relies on (js-yaml 5.5):
 * - Document events carry no offsets; where a document starts is taken from its
 *   root node, or, for an empty `---` document, from the `---` line itself.
 * - A text with no document at all (only comments/blank lines, or empty) yields
 *   no events; this module reports it as one empty document.
 * - Offsets: quoted scalars start after the quote, block scalars start on the
 *   line after their `|`/`>` header, anchors (`&a`) and aliases (`*a`) start
 *   after the sigil; tags include their `!`. Empty scalars have offset -1.
 */
import { CORE_SCHEMA, EVENT_ID, SCALAR_STYLE, YAMLException, constructFromEvents, getScalarValue, parseEvents } from 'js-yaml';
import type { DocumentEvent, Event, ScalarEvent } from 'js-yaml';

export interface SourcePosition {
  /** 1-based line. */
  line: number;
  /** 1-based column, in UTF-16 code units. */
  column: number;
}

export interface YamlDocument {
  /** 0-based index of the document in the file (counting empty documents too). */
  index: number;
  /** 1-based line where the document's content starts (the `---` line for an empty document). */
  line: number;
  /** The constructed JS value (null for an empty document). */
  value: unknown;
  /**
   * Position of the node at a JSON-pointer-like path such as '/spec/subnets/1/cidr'.
   * For a mapping entry, the position of its KEY; for a sequence item, the item's start.
   * If the exact path does not exist (e.g. a required field is missing), return the position
   * of the deepest existing ancestor. '' means the document root. Paths use RFC 6901 escaping
   * (~1 for '/', ~0 for '~'). A path through an alias (`*name`) continues in the anchored
   * node, so deeper positions point into the anchor's definition; the alias itself (as a
   * sequence item or mapping value) is at the `*`.
   */
  positionOf(path: string): SourcePosition;
}

export interface YamlParseError {
  /** js-yaml's reason (or ours, for the limits below), without the source snippet. */
  message: string;
  /** 1-based; 1 when js-yaml reported no location. */
  line: number;
  /** 1-based; 1 when js-yaml reported no location. */
  column: number;
  /** 0-based index of the document the error is in, when determinable. */
  documentIndex: number | undefined;
  /**
   * JSON pointer of the field the error is at ('' for the document root): the duplicated key, the
   * alias, or for a syntax error the last node that parsed before it. Absent when unknown.
   */
  path?: string;
  /** 'syntax': the text is not YAML (js-yaml's reasons, duplicate keys, unknown tags and aliases);
   *  'limit': valid YAML refused by one of the limits in `YamlLimits`. */
  kind: 'syntax' | 'limit';
}

export type YamlParseResult = { ok: true; documents: YamlDocument[] } | { ok: false; error: YamlParseError };

/**
 * What bad input may cost. Aliases are what make YAML dangerous to read: a few lines of nested
 * aliases ("billion laughs") stand for billions of nodes to anything that walks the value (schema
 * validation, JSON.stringify), and an alias inside its own anchor is a circular value.
 */
export interface YamlLimits {
  /** Deepest nesting of collections, counted with every alias expanded. */
  maxDepth: number;
  /** Most nodes that aliases may add to one file, counted with every alias expanded (a document
   *  that would go past it is refused, and does not count against the others). */
  maxAliasNodes: number;
}

export const YAML_LIMITS: Readonly<YamlLimits> = { maxDepth: 64, maxAliasNodes: 100_000 };

/** Every document of a file that could be read, and an error for each that could not. */
export interface YamlFile {
  /** The documents that parsed, in order (their `index` counts the refused ones too). */
  documents: YamlDocument[];
  /**
   * A syntax error stops the whole file (the parser cannot tell where documents end after it): one
   * error and no documents. Otherwise one error per refused document (duplicate key, unknown tag or
   * alias, a circular alias, an alias past the budget or the depth limit), in document order.
   */
  errors: YamlParseError[];
}

/**
 * Parses every document of `text`. Never throws: syntax errors, duplicate keys,
 * unknown tags and any other js-yaml failure come back as `ok: false` (the first error).
 */
export function parseYamlDocuments(text: string, filename?: string, limits: YamlLimits = YAML_LIMITS): YamlParseResult {
  const file = parseYamlFile(text, filename, limits);
  const error = file.errors[0];
  return error === undefined ? { ok: true, documents: file.documents } : { ok: false, error };
}

/** Parses every document of `text`, refusing bad documents one by one. Never throws. */
export function parseYamlFile(text: string, filename?: string, limits: YamlLimits = YAML_LIMITS): YamlFile {
  const lines = new LineIndex(text);
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: limits.maxDepth, ...(filename === undefined ? {} : { filename }) });
  } catch (err) {
    const error = toParseError(err, (offset) => documentAt(lines, offset).index, 'syntax');
    if (/nesting exceeded maxDepth/.test(error.message)) {
      error.message = `nesting is deeper than ${limits.maxDepth} levels`;
      error.kind = 'limit';
    }
    const path = syntaxErrorPath(text, lines, error);
    if (path !== undefined) error.path = path;
    return { documents: [], errors: [error] };
  }

  const spans = splitDocuments(events, lines);
  if (spans.length === 0) {
    // Only comments / whitespace (or nothing): one empty document, as a user would count it.
    return { documents: [new Doc(0, null, text, events, lines, undefined, 0)], errors: [] };
  }

  const documents: YamlDocument[] = [];
  const errors: YamlParseError[] = [];
  const budget = { used: 0 };
  let markers: number[] | undefined;
  let markerCursor = 0;
  let markerIdx = 0;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    let anchor = span.rootOffset;
    if (anchor < 0) {
      // Empty document: point at its `---` marker if it has one.
      anchor = 0;
      if (span.docEvent.explicitStart) {
        markers ??= findDocumentStartMarkers(text);
        const cursor = Math.max(span.contentBefore, markerCursor);
        while (markerIdx < markers.length && markers[markerIdx]! < cursor) markerIdx++;
        const marker = markers[markerIdx];
        if (marker !== undefined) {
          anchor = marker;
          markerCursor = marker + 3;
        }
      } else if (i > 0) {
        anchor = span.contentBefore;
      }
    }
    const problem = inspectDocument(text, lines, events, span, limits, budget);
    if (problem !== undefined) {
      const at = lines.position(Math.max(problem.offset, 0));
      errors.push({ message: problem.message, line: at.line, column: at.column, documentIndex: i, path: problem.path, kind: problem.kind });
      continue;
    }
    let value: unknown;
    try {
      [value] = constructFromEvents(events.slice(span.first, span.end), {
        source: text,
        schema: CORE_SCHEMA,
        ...(filename === undefined ? {} : { filename }),
      });
    } catch (err) {
      const error = toParseError(err, () => i, 'syntax');
      const mark = err instanceof YAMLException ? err.mark?.position : undefined;
      if (typeof mark === 'number' && mark >= 0) error.path = pathAtOffset(text, lines, events, span, mark);
      errors.push(error);
      continue;
    }
    documents.push(new Doc(i, value ?? null, text, events, lines, span, anchor));
  }
  return { documents, errors };
}

// ---------------------------------------------------------------------------
// Line index

/** Line-start offsets of a text; line breaks are `\n`, `\r\n` and lone `\r` (as in YAML and js-yaml). */
class LineIndex {
  readonly #text: string;
  readonly #starts: number[];

  constructor(text: string) {
    this.#text = text;
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 10) {
        starts.push(i + 1);
      } else if (ch === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      }
    }
    this.#starts = starts;
  }

  get count(): number {
    return this.#starts.length;
  }

  /** 0-based index of the line containing `offset`. */
  lineOf(offset: number): number {
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  start(line: number): number {
    return this.#starts[line]!;
  }

  /** Text of a 0-based line without its terminator. */
  text(line: number): string {
    const start = this.#starts[line]!;
    let end = this.#starts[line + 1] ?? this.#text.length;
    if (end > start && this.#text.charCodeAt(end - 1) === 10) end--;
    if (end > start && this.#text.charCodeAt(end - 1) === 13) end--;
    return this.#text.slice(start, end);
  }

  position(offset: number): SourcePosition {
    const line = this.lineOf(offset);
    return { line: line + 1, column: offset - this.#starts[line]! + 1 };
  }
}

// ---------------------------------------------------------------------------
// Document spans

interface DocSpan {
  docEvent: DocumentEvent;
  /** Index of the DOCUMENT event; the root node event follows it. */
  first: number;
  /** Index one past the document's closing POP. */
  end: number;
  /** Offset where the root node starts, -1 for an empty document. */
  rootOffset: number;
  /** Largest source offset reached by earlier documents (0 for the first). */
  contentBefore: number;
}

function splitDocuments(events: Event[], lines: LineIndex): DocSpan[] {
  const spans: DocSpan[] = [];
  let depth = 0;
  let first = 0;
  let reached = 0;
  let contentBefore = 0;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!;
    switch (ev.type) {
      case EVENT_ID.DOCUMENT:
        first = i;
        depth = 1;
        contentBefore = reached;
        break;
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING:
        depth++;
        reached = Math.max(reached, ev.start, ev.anchorEnd, ev.tagEnd);
        break;
      case EVENT_ID.SCALAR:
        reached = Math.max(reached, ev.valueEnd, ev.anchorEnd, ev.tagEnd);
        break;
      case EVENT_ID.ALIAS:
        reached = Math.max(reached, ev.anchorEnd);
        break;
      case EVENT_ID.POP:
        depth--;
        if (depth === 0) {
          const docEvent = events[first] as DocumentEvent;
          const root = events[first + 1];
          const rootOffset = root === undefined ? -1 : nodeOffset(lines, root);
          spans.push({ docEvent, first, end: i + 1, rootOffset, contentBefore });
        }
        break;
    }
  }
  return spans;
}

// ---------------------------------------------------------------------------
// Documents and the lazy position index

type PosNode =
  | { kind: 'map'; offset: number; entries: MapEntry[] }
  | { kind: 'seq'; offset: number; items: PosNode[] }
  | { kind: 'alias'; offset: number; target: PosNode | undefined }
  | { kind: 'leaf'; offset: number };

interface MapEntry {
  key: Event;
  keyOffset: number;
  /** The key as the constructed object holds it; computed on first use (null: not addressable). */
  jsKey: string | null | undefined;
  value: PosNode;
}

class Doc implements YamlDocument {
  readonly index: number;
  readonly line: number;
  readonly value: unknown;
  readonly #text: string;
  readonly #events: Event[];
  readonly #lines: LineIndex;
  readonly #span: DocSpan | undefined;
  /** Offset used when nothing more precise exists (root of an empty document). */
  readonly #fallback: number;
  #root: PosNode | undefined;

  constructor(
    index: number,
    value: unknown,
    text: string,
    events: Event[],
    lines: LineIndex,
    span: DocSpan | undefined,
    fallback: number,
  ) {
    this.index = index;
    this.value = value;
    this.#text = text;
    this.#events = events;
    this.#lines = lines;
    this.#span = span;
    this.#fallback = fallback;
    this.line = lines.lineOf(fallback) + 1;
  }

  positionOf(path: string): SourcePosition {
    const root = this.#index();
    let best = root.offset >= 0 ? root.offset : this.#fallback;
    if (path === '') return this.#lines.position(best);

    const segments = (path.startsWith('/') ? path.slice(1) : path).split('/');
    let node: PosNode = root;
    for (const raw of segments) {
      const segment = raw.includes('~') ? raw.replace(/~1/g, '/').replace(/~0/g, '~') : raw;
      // Descend through an alias into its anchored node (never itself an alias), so that
      // positions point at the text that defines the value.
      if (node.kind === 'alias' && node.target !== undefined) node = node.target;
      if (node.kind === 'map') {
        const entry = this.#findEntry(node.entries, segment);
        if (entry === undefined) break;
        if (entry.keyOffset >= 0) best = entry.keyOffset;
        node = entry.value;
      } else if (node.kind === 'seq') {
        if (!/^(?:0|[1-9][0-9]*)$/.test(segment)) break;
        const item = node.items[Number(segment)];
        if (item === undefined) break;
        if (item.offset >= 0) best = item.offset;
        node = item;
      } else {
        break;
      }
    }
    return this.#lines.position(best);
  }

  #index(): PosNode {
    if (this.#root === undefined) {
      const span = this.#span;
      if (span === undefined || span.first + 1 >= span.end - 1) {
        this.#root = { kind: 'leaf', offset: -1 };
      } else {
        this.#root = this.#build({ i: span.first + 1 }, new Map());
      }
    }
    return this.#root;
  }

  /**
   * Builds the node starting at events[cursor.i] and advances past it. `anchors`
   * maps anchor names to the latest node defined with them (an alias refers to
   * the most recent preceding definition, which may be an enclosing node).
   */
  #build(cursor: { i: number }, anchors: Map<string, PosNode>): PosNode {
    const events = this.#events;
    const ev = events[cursor.i++]!;
    const offset = nodeOffset(this.#lines, ev);
    let node: PosNode;
    switch (ev.type) {
      case EVENT_ID.MAPPING: {
        const entries: MapEntry[] = [];
        node = { kind: 'map', offset, entries };
        this.#define(ev.anchorStart, ev.anchorEnd, node, anchors);
        while (events[cursor.i]!.type !== EVENT_ID.POP) {
          const key = events[cursor.i]!;
          const keyNode = this.#build(cursor, anchors);
          const value = this.#build(cursor, anchors);
          entries.push({ key, keyOffset: keyNode.offset, jsKey: undefined, value });
        }
        cursor.i++;
        return node;
      }
      case EVENT_ID.SEQUENCE: {
        const items: PosNode[] = [];
        node = { kind: 'seq', offset, items };
        this.#define(ev.anchorStart, ev.anchorEnd, node, anchors);
        while (events[cursor.i]!.type !== EVENT_ID.POP) items.push(this.#build(cursor, anchors));
        cursor.i++;
        return node;
      }
      case EVENT_ID.ALIAS:
        return { kind: 'alias', offset, target: anchors.get(this.#text.slice(ev.anchorStart, ev.anchorEnd)) };
      case EVENT_ID.SCALAR:
        node = { kind: 'leaf', offset };
        this.#define(ev.anchorStart, ev.anchorEnd, node, anchors);
        return node;
      default:
        return { kind: 'leaf', offset };
    }
  }

  #define(anchorStart: number, anchorEnd: number, node: PosNode, anchors: Map<string, PosNode>): void {
    if (anchorStart >= 0) anchors.set(this.#text.slice(anchorStart, anchorEnd), node);
  }

  #findEntry(entries: MapEntry[], segment: string): MapEntry | undefined {
    for (const entry of entries) {
      if (entry.jsKey === undefined) entry.jsKey = this.#jsKey(entry.key);
      if (entry.jsKey === segment) return entry;
    }
    return undefined;
  }

  /** The property name js-yaml's default `{}` mapping uses for this key: `String(constructedKey)`. */
  #jsKey(key: Event): string | null {
    return keyString(this.#text, this.#events[this.#span!.first] as DocumentEvent, key);
  }
}

/** The property name js-yaml's default `{}` mapping gives a key event (`String(constructedKey)`);
 *  null for keys that are not scalars (aliases, complex keys). */
function keyString(text: string, docEvent: DocumentEvent, key: Event): string | null {
  if (key.type !== EVENT_ID.SCALAR) return null; // alias or complex key
  const value = getScalarValue(text, key);
  if (key.tagStart < 0 && (key.style !== SCALAR_STYLE.PLAIN || !MAY_RESOLVE_TO_NON_STRING.test(value))) return value;
  // Plain scalars such as `1`, `0x10`, `~`, `true` or explicitly tagged keys:
  // let js-yaml resolve the key exactly as it does when constructing the value.
  try {
    const [resolved] = constructFromEvents([docEvent, key, { type: EVENT_ID.POP }], { source: text, schema: CORE_SCHEMA });
    return resolved !== null && typeof resolved === 'object' ? null : String(resolved);
  } catch {
    return value;
  }
}

/** Plain scalars the CORE schema may resolve to null, bool, int or float: empty, `~`, the null and
 *  bool words, or a first character of a number (`-`, `+`, `.`, a digit). Anything else is a string
 *  (so `name:` or `type:` needs no construction). */
const MAY_RESOLVE_TO_NON_STRING = /^(?:$|[-+.~0-9]|(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$)/;

/** Offset where a node's text starts, including its tag/anchor; -1 when it has no text. */
function nodeOffset(lines: LineIndex, ev: Event): number {
  let offset = -1;
  const take = (o: number): void => {
    if (o >= 0 && (offset < 0 || o < offset)) offset = o;
  };
  switch (ev.type) {
    case EVENT_ID.SEQUENCE:
    case EVENT_ID.MAPPING:
      take(ev.start);
      take(ev.tagStart);
      if (ev.anchorStart > 0) take(ev.anchorStart - 1); // include the '&'
      break;
    case EVENT_ID.SCALAR:
      take(scalarStart(lines, ev));
      take(ev.tagStart);
      if (ev.anchorStart > 0) take(ev.anchorStart - 1);
      break;
    case EVENT_ID.ALIAS:
      if (ev.anchorStart > 0) take(ev.anchorStart - 1); // include the '*'
      break;
    default:
      break;
  }
  return offset;
}

/** Block scalar header: indicator, optional chomping/indentation indicators, optional comment. */
const BLOCK_HEADER = /(^|[ \t])[|>][-+0-9]*[ \t]*(?:#.*)?$/;

function scalarStart(lines: LineIndex, ev: ScalarEvent): number {
  const start = ev.valueStart;
  if (start < 0) return -1;
  switch (ev.style) {
    case SCALAR_STYLE.SINGLE_QUOTED:
    case SCALAR_STYLE.DOUBLE_QUOTED:
      return start > 0 ? start - 1 : start; // include the opening quote
    case SCALAR_STYLE.LITERAL_BLOCK:
    case SCALAR_STYLE.FOLDED_BLOCK: {
      // The content starts on the line after the `|`/`>` header; point at the indicator.
      if (start === 0) return start;
      const line = lines.lineOf(start - 1);
      const match = BLOCK_HEADER.exec(lines.text(line));
      return match === null ? start : lines.start(line) + match.index + match[1]!.length;
    }
    default:
      return start;
  }
}

// ---------------------------------------------------------------------------
// Walking a document's events with the path of each node

interface Frame {
  kind: 'map' | 'seq';
  /** Path token of the child being read: its key (mappings) or index (sequences). */
  token: string;
  /** Mappings: the next node is a key. */
  expectKey: boolean;
  index: number;
  /** Mappings: the keys seen so far (created on first use). */
  keys: Set<string> | undefined;
  /** Nodes in this collection with aliases expanded, itself included. */
  size: number;
  /** Collections on the deepest path from here down, itself included, aliases expanded. */
  height: number;
  anchor: AnchorInfo | undefined;
}

interface AnchorInfo {
  /** Still being read: an alias to it now would be inside it. */
  open: boolean;
  size: number;
  height: number;
}

/** Keeps the path of the node being read while a document's events go by. */
class PathWalker {
  readonly frames: Frame[] = [];
  readonly #text: string;
  readonly #docEvent: DocumentEvent;

  constructor(text: string, docEvent: DocumentEvent) {
    this.#text = text;
    this.#docEvent = docEvent;
  }

  /** The JSON pointer of the node being read. */
  pointer(): string {
    let out = '';
    for (const f of this.frames) out += `/${f.token.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    return out;
  }

  /**
   * Called when a node event starts; for a mapping key, sets the path token and returns the key as
   * the constructed object holds it (null for keys that are not scalars). Undefined when not a key.
   */
  start(ev: Event): string | null | undefined {
    const top = this.frames[this.frames.length - 1];
    if (top === undefined || top.kind !== 'map' || !top.expectKey) return undefined;
    const key = keyString(this.#text, this.#docEvent, ev);
    top.token = key ?? '?';
    return key;
  }

  open(kind: 'map' | 'seq', anchor: AnchorInfo | undefined): void {
    this.frames.push({ kind, token: kind === 'seq' ? '0' : '', expectKey: true, index: 0, keys: undefined, size: 1, height: 1, anchor });
  }

  /** Closes the innermost collection and returns it. */
  close(): Frame {
    const f = this.frames.pop()!;
    if (f.anchor !== undefined) {
      f.anchor.open = false;
      f.anchor.size = f.size;
      f.anchor.height = f.height;
    }
    this.done(f.size, f.height);
    return f;
  }

  /** A node of `size` nodes and `height` nesting levels has been read. */
  done(size: number, height: number): void {
    const top = this.frames[this.frames.length - 1];
    if (top === undefined) return;
    top.size += size;
    if (height + 1 > top.height) top.height = height + 1;
    if (top.kind === 'map') {
      top.expectKey = !top.expectKey;
    } else {
      top.index++;
      top.token = String(top.index);
    }
  }
}

interface DocumentProblem {
  offset: number;
  message: string;
  path: string;
  kind: YamlParseError['kind'];
}

/**
 * Checks a parsed document before it is constructed: duplicate keys (named, with their path),
 * aliases inside the node they refer to (circular values), and the limits on what aliases expand
 * to. Linear in the events; nothing is expanded. `budget.used` counts the alias nodes of the
 * documents accepted so far.
 */
function inspectDocument(
  text: string,
  lines: LineIndex,
  events: Event[],
  span: DocSpan,
  limits: YamlLimits,
  budget: { used: number },
): DocumentProblem | undefined {
  const walker = new PathWalker(text, events[span.first] as DocumentEvent);
  const anchors = new Map<string, AnchorInfo>();
  let used = 0;
  const anchorOf = (ev: { anchorStart: number; anchorEnd: number }): string | undefined =>
    ev.anchorStart >= 0 ? text.slice(ev.anchorStart, ev.anchorEnd) : undefined;
  for (let i = span.first + 1; i < span.end - 1; i++) {
    const ev = events[i]!;
    switch (ev.type) {
      case EVENT_ID.SCALAR: {
        const key = walker.start(ev);
        if (typeof key === 'string') {
          const top = walker.frames[walker.frames.length - 1]!;
          top.keys ??= new Set();
          if (top.keys.has(key)) {
            return { offset: nodeOffset(lines, ev), message: `duplicated mapping key ${JSON.stringify(key)}`, path: walker.pointer(), kind: 'syntax' };
          }
          top.keys.add(key);
        }
        const name = anchorOf(ev);
        if (name !== undefined) anchors.set(name, { open: false, size: 1, height: 0 });
        walker.done(1, 0);
        break;
      }
      case EVENT_ID.ALIAS: {
        walker.start(ev);
        const name = text.slice(ev.anchorStart, ev.anchorEnd);
        const target = anchors.get(name);
        if (target === undefined) {
          walker.done(1, 0); // js-yaml reports the unidentified alias
          break;
        }
        const at = { offset: ev.anchorStart - 1, path: walker.pointer(), kind: 'limit' as const };
        if (target.open) {
          return { ...at, message: `the alias *${name} is inside the node it refers to: a circular value` };
        }
        used += target.size;
        if (budget.used + used > limits.maxAliasNodes) {
          return {
            ...at,
            message: `aliases may add at most ${limits.maxAliasNodes} nodes to a file; *${name} (${target.size} nodes) goes past that`,
          };
        }
        if (walker.frames.length + target.height > limits.maxDepth) {
          return { ...at, message: `with the alias *${name} expanded, nesting is deeper than ${limits.maxDepth} levels` };
        }
        walker.done(target.size, target.height);
        break;
      }
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        walker.start(ev);
        const name = anchorOf(ev);
        let info: AnchorInfo | undefined;
        if (name !== undefined) {
          info = { open: true, size: 0, height: 0 };
          anchors.set(name, info);
        }
        walker.open(ev.type === EVENT_ID.MAPPING ? 'map' : 'seq', info);
        break;
      }
      case EVENT_ID.POP:
        walker.close();
        break;
      default:
        break;
    }
  }
  budget.used += used;
  return undefined;
}

/** The path of the last node of the document that starts at or before `offset`. */
function pathAtOffset(text: string, lines: LineIndex, events: Event[], span: DocSpan, offset: number): string {
  const walker = new PathWalker(text, events[span.first] as DocumentEvent);
  let found = '';
  for (let i = span.first + 1; i < span.end - 1; i++) {
    const ev = events[i]!;
    if (ev.type === EVENT_ID.POP) {
      walker.close();
      continue;
    }
    walker.start(ev);
    const at = nodeOffset(lines, ev);
    if (at > offset) break;
    if (at >= 0) found = walker.pointer();
    if (ev.type === EVENT_ID.MAPPING || ev.type === EVENT_ID.SEQUENCE) walker.open(ev.type === EVENT_ID.MAPPING ? 'map' : 'seq', undefined);
    else walker.done(1, 0);
  }
  return found;
}

/**
 * For a syntax error (the parser gives no events): the path of the last node before the error,
 * from parsing the error's document up to the error (or up to the error's line). Undefined when
 * neither parses.
 */
function syntaxErrorPath(text: string, lines: LineIndex, error: YamlParseError): string | undefined {
  if (error.line === 1 && error.column === 1 && error.documentIndex === undefined) return undefined;
  const errorOffset = Math.min(lines.start(error.line - 1) + error.column - 1, text.length);
  const docStart = documentAt(lines, errorOffset).start;
  // Up to the error; else up to the first key on the error's line (`  x: [[[...` is at x); else
  // up to the start of that line.
  const lineStart = lines.start(error.line - 1);
  const key = /^[^:#]*:(?=\s|$)/.exec(lines.text(error.line - 1));
  const candidates = [errorOffset, ...(key !== null && lineStart + key[0].length < errorOffset ? [lineStart + key[0].length] : []), lineStart];
  for (const end of candidates) {
    if (end <= docStart) continue;
    const prefix = text.slice(docStart, end);
    let events: Event[];
    try {
      events = parseEvents(prefix, { maxDepth: YAML_LIMITS.maxDepth });
    } catch {
      continue;
    }
    const spans = splitDocuments(events, new LineIndex(prefix));
    const last = spans[spans.length - 1];
    if (last === undefined) return '';
    return pathAtOffset(prefix, new LineIndex(prefix), events, last, prefix.length);
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Errors

function toParseError(err: unknown, documentAt: (offset: number) => number | undefined, kind: YamlParseError['kind']): YamlParseError {
  if (err instanceof YAMLException) {
    const mark = err.mark;
    if (mark !== undefined && Number.isInteger(mark.position) && mark.position >= 0) {
      return {
        message: err.reason,
        line: mark.line + 1,
        column: mark.column + 1,
        documentIndex: documentAt(mark.position),
        kind,
      };
    }
    return { message: err.reason, line: 1, column: 1, documentIndex: undefined, kind };
  }
  // Not js-yaml's own error (e.g. the stack running out): the reason, never a stack trace.
  const message = err instanceof RangeError ? `the text cannot be parsed (${err.message})` : err instanceof Error ? err.message : String(err);
  return { message, line: 1, column: 1, documentIndex: undefined, kind };
}

/**
 * Which document `offset` lies in, found by scanning lines: its index, and the offset where it starts
 * (its `---` line, or its first content line). Used for syntax errors, where js-yaml's parser throws
 * without partial events. Up to the error the text was accepted by the parser, so a `---` at column 0
 * is a document start (YAML forbids it inside scalars) and content after `...` starts a bare document.
 * A `---` exactly at `offset` starts the document there but is not counted before it.
 */
function documentAt(lines: LineIndex, offset: number): { index: number; start: number } {
  let started = 0;
  let start = 0;
  let open = false;
  for (let line = 0; line < lines.count; line++) {
    const at = lines.start(line);
    if (at > offset) break;
    let content = lines.text(line);
    if (line === 0 && content.charCodeAt(0) === 0xfeff) content = content.slice(1);
    if (isMarker(content, '---')) {
      start = at;
      open = true;
      if (at < offset) started++;
    } else if (isMarker(content, '...')) {
      open = false;
    } else if (!open) {
      const trimmed = content.trimStart();
      if (trimmed !== '' && !trimmed.startsWith('#') && !content.startsWith('%')) {
        start = at;
        started++;
        open = true;
      }
    }
  }
  return { index: Math.max(started - 1, 0), start };
}

function isMarker(line: string, marker: '---' | '...'): boolean {
  if (!line.startsWith(marker)) return false;
  const next = line.charCodeAt(3);
  return Number.isNaN(next) || next === 32 || next === 9;
}

/** Offsets of every `---` document-start marker (column 0) in the text, in order. */
function findDocumentStartMarkers(text: string): number[] {
  const out: number[] = [];
  const re = /(?:^|\r\n|\n|\r)(\uFEFF?)---(?=[ \t\r\n]|$)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(m.index + m[0].length - 3);
    re.lastIndex = m.index + m[0].length;
  }
  return out;
}

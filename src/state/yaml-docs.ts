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
  /** js-yaml's reason, without the source snippet. */
  message: string;
  /** 1-based; 1 when js-yaml reported no location. */
  line: number;
  /** 1-based; 1 when js-yaml reported no location. */
  column: number;
  /** 0-based index of the document the error is in, when determinable. */
  documentIndex: number | undefined;
}

export type YamlParseResult = { ok: true; documents: YamlDocument[] } | { ok: false; error: YamlParseError };

/**
 * Parses every document of `text`. Never throws: syntax errors, duplicate keys,
 * unknown tags and any other js-yaml failure come back as `ok: false`.
 */
export function parseYamlDocuments(text: string, filename?: string): YamlParseResult {
  const lines = new LineIndex(text);
  let events: Event[];
  try {
    events = parseEvents(text, filename === undefined ? {} : { filename });
  } catch (err) {
    return { ok: false, error: toParseError(err, (offset) => documentIndexFromText(lines, offset)) };
  }

  const spans = splitDocuments(events, lines);
  let values: unknown[];
  try {
    values = constructFromEvents(events, { source: text, schema: CORE_SCHEMA, ...(filename === undefined ? {} : { filename }) });
  } catch (err) {
    return { ok: false, error: toParseError(err, (offset) => documentIndexFromSpans(spans, offset)) };
  }

  if (spans.length === 0) {
    // Only comments / whitespace (or nothing): one empty document, as a user would count it.
    return { ok: true, documents: [new Doc(0, null, text, events, lines, undefined, 0)] };
  }

  const documents: YamlDocument[] = [];
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
    documents.push(new Doc(i, values[i] ?? null, text, events, lines, span, anchor));
  }
  return { ok: true, documents };
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
    if (key.type !== EVENT_ID.SCALAR) return null; // alias or complex key
    const text = getScalarValue(this.#text, key);
    if (key.tagStart < 0 && (key.style !== SCALAR_STYLE.PLAIN || !MAY_RESOLVE_TO_NON_STRING.test(text))) return text;
    // Plain scalars such as `1`, `0x10`, `~`, `true` or explicitly tagged keys:
    // let js-yaml resolve the key exactly as it did when constructing the value.
    try {
      const docEvent = this.#events[this.#span!.first] as DocumentEvent;
      const [value] = constructFromEvents([docEvent, key, { type: EVENT_ID.POP }], { source: this.#text, schema: CORE_SCHEMA });
      return value !== null && typeof value === 'object' ? null : String(value);
    } catch {
      return text;
    }
  }
}

/** First characters of plain scalars the CORE schema may resolve to null, bool, int or float. */
const MAY_RESOLVE_TO_NON_STRING = /^(?:$|[-+.~0-9nNtTfF])/;

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
// Errors

function toParseError(err: unknown, documentAt: (offset: number) => number | undefined): YamlParseError {
  if (err instanceof YAMLException) {
    const mark = err.mark;
    if (mark !== undefined && Number.isInteger(mark.position) && mark.position >= 0) {
      return {
        message: err.reason,
        line: mark.line + 1,
        column: mark.column + 1,
        documentIndex: documentAt(mark.position),
      };
    }
    return { message: err.reason, line: 1, column: 1, documentIndex: undefined };
  }
  return { message: err instanceof Error ? err.message : String(err), line: 1, column: 1, documentIndex: undefined };
}

/** For errors found while constructing: the last document whose content starts at or before `offset`. */
function documentIndexFromSpans(spans: DocSpan[], offset: number): number | undefined {
  let found: number | undefined;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    if (span.rootOffset < 0) continue;
    if (span.rootOffset > offset) break;
    found = i;
  }
  return found;
}

/**
 * For syntax errors (js-yaml's parser throws without partial events): count the
 * documents started before `offset` by scanning lines. Up to the error the text
 * was accepted by the parser, so a `---` at column 0 is a document start (YAML
 * forbids it inside scalars) and content after `...` starts a bare document.
 */
function documentIndexFromText(lines: LineIndex, offset: number): number {
  let started = 0;
  let open = false;
  for (let line = 0; line < lines.count; line++) {
    const start = lines.start(line);
    if (start > offset) break;
    let content = lines.text(line);
    if (line === 0 && content.charCodeAt(0) === 0xfeff) content = content.slice(1);
    if (isMarker(content, '---')) {
      if (start < offset) {
        started++;
        open = true;
      }
    } else if (isMarker(content, '...')) {
      open = false;
    } else if (!open) {
      const trimmed = content.trimStart();
      if (trimmed !== '' && !trimmed.startsWith('#') && !content.startsWith('%')) {
        started++;
        open = true;
      }
    }
  }
  return Math.max(started - 1, 0);
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

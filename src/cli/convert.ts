// `netform convert`: manifests rewritten from one version of netform.io to another, in place, with
// everything the conversion does not touch kept as it was written (comments, key order, quoting, other
// documents). The moves are MOVES (src/api/versions.ts), applied to the YAML's node tree (the `yaml`
// package's Document API); only the documents converted are written again, and only the lines the
// conversion changed: each document is rendered before and after the moves, and that change is merged
// into the text as written (a three-way merge by lines), so a line the conversion did not change keeps
// its spacing even where the renderer would write it otherwise. Every converted document is then parsed
// again and must be exactly the object convertObject makes of the original: if not, or if any document
// has a YAML error, nothing is rewritten.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, Pair, parseAllDocuments, parseDocument, Scalar, YAMLMap, type Document, type ToStringOptions, type YAMLSeq } from 'yaml';
import { isKind, type Kind } from '../api/kinds.ts';
import { API_GROUP } from '../api/crds.ts';
import { HUB_VERSION, MOVES, convertSpec, versionOf, type ApiVersionName } from '../api/versions.ts';
import { isCredentialsName, isManifestName } from '../adapters/files/directory.ts';

export interface ConvertResult {
  /** The text converted; the text given, unchanged, when there is any problem. */
  text: string;
  /** How many documents were converted (documents already in the target version are not counted). */
  converted: number;
  /** Why the text could not be converted, each naming the file and the document. */
  problems: string[];
}

/**
 * A manifest text (any number of YAML documents, or one JSON object) with every netform document of
 * another served version written in `to`: its apiVersion changed and its spec's fields moved. Other
 * documents, and documents already in `to`, come back byte for byte. Pure.
 */
export function convertText(text: string, to: ApiVersionName, file = '<input>'): ConvertResult {
  const unchanged = (problems: string[]): ConvertResult => ({ text, converted: 0, problems });
  if (isJsonObject(text)) return convertJson(text, to, file);

  // The byte order mark and CRLF line ends are taken off, and put back on what is written.
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const crlf = text.includes('\r\n');
  const src = crlf ? text.slice(bom.length).replace(/\r\n/g, '\n') : text.slice(bom.length);

  const docs = parseAllDocuments(src);
  const problems: string[] = [];
  docs.forEach((doc, i) => {
    for (const e of doc.errors) {
      const at = e.linePos?.[0];
      problems.push(`${file}${at ? `:${at.line}:${at.col}` : ''}: document ${i + 1}: YAML syntax error: ${reason(e.message)}`);
    }
  });
  if (problems.length) return unchanged(problems);

  let out = '';
  let converted = 0;
  const expected: unknown[] = [];
  docs.forEach((doc, i) => {
    // A document's text runs from the end of the one before (its separator and leading comments are
    // its own) to its end; the last one's to the end of the text.
    const start = i === 0 ? 0 : docs[i - 1]!.range[2];
    const end = i === docs.length - 1 ? src.length : doc.range[2];
    const written = src.slice(start, end);
    let js: unknown;
    try {
      js = doc.toJS();
    } catch (e) {
      problems.push(`${file}: document ${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const target = targetOf(js, to);
    if (!target) {
      out += written;
      expected.push(js);
      return;
    }
    const name = `${file}: document ${i + 1} (${target.kind}/${target.name})`;
    try {
      const want: Record<string, unknown> = { ...(js as Record<string, unknown>), apiVersion: `${API_GROUP}/${to}` };
      if ((js as Record<string, unknown>).spec !== undefined) want.spec = convertSpec(target.kind, (js as Record<string, unknown>).spec, target.from, to);
      const options = renderOptions(doc, written);
      const before = doc.toString(options);
      const problem = convertDocument(doc, target.kind, target.from, to);
      if (problem) {
        problems.push(`${name}: ${problem}`);
        return;
      }
      const after = doc.toString(options);
      // The change merged into the text as written; the rendering alone if that is not faithful.
      const merged = merge(written, before, after);
      const text = [merged, after].find((t): t is string => t !== undefined && isDeepStrictEqual(parsedAlone(t), want));
      if (text === undefined) {
        problems.push(`${name}: could not be converted faithfully (a YAML alias or anchor in a moved field?); convert it by hand`);
        return;
      }
      out += text;
      expected.push(want);
      converted++;
    } catch (e) {
      problems.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  if (problems.length) return unchanged(problems);
  if (converted === 0) return { text, converted: 0, problems: [] };

  // The whole text once more: the same documents, each the object expected.
  const again = parseAllDocuments(out);
  if (again.length !== expected.length || again.some((d, i) => d.errors.length > 0 || !isDeepStrictEqual(d.toJS(), expected[i]))) {
    return unchanged([`${file}: the converted text does not read back as the converted documents; nothing rewritten (a bug: please report it)`]);
  }
  return { text: bom + (crlf ? out.replace(/\n/g, '\r\n') : out), converted, problems: [] };
}

interface Target {
  kind: Kind;
  name: string;
  from: ApiVersionName;
}

/** The netform object a parsed document is, when it is one written in another version than `to`. */
function targetOf(js: unknown, to: ApiVersionName): Target | undefined {
  if (js === null || typeof js !== 'object' || Array.isArray(js)) return undefined;
  const o = js as Record<string, unknown>;
  const from = versionOf(o.apiVersion);
  if (!from || from === to || !isKind(o.kind)) return undefined;
  const meta = o.metadata as Record<string, unknown> | null | undefined;
  const name = meta && typeof meta === 'object' && typeof meta.name === 'string' ? meta.name : '?';
  return { kind: o.kind, name, from };
}

/** A JSON manifest (one object): converted the same way, written as JSON with its indentation. */
function convertJson(text: string, to: ApiVersionName, file: string): ConvertResult {
  const js: unknown = JSON.parse(text);
  const target = targetOf(js, to);
  if (!target) return { text, converted: 0, problems: [] };
  const doc = parseDocument(text);
  const problem = doc.errors.length ? `YAML syntax error: ${reason(doc.errors[0]!.message)}` : convertDocument(doc, target.kind, target.from, to);
  if (problem) return { text, converted: 0, problems: [`${file}: document 1 (${target.kind}/${target.name}): ${problem}`] };
  const converted: unknown = doc.toJS();
  const want: Record<string, unknown> = { ...(js as Record<string, unknown>), apiVersion: `${API_GROUP}/${to}` };
  if (want.spec !== undefined) want.spec = convertSpec(target.kind, want.spec, target.from, to);
  if (!isDeepStrictEqual(converted, want)) return { text, converted: 0, problems: [`${file}: document 1 (${target.kind}/${target.name}): could not be converted faithfully; convert it by hand`] };
  const indent = /^\{[ \t]*\r?\n([ \t]+)"/.exec(text)?.[1] ?? '';
  const body = JSON.stringify(converted, null, indent || undefined);
  return { text: body + (/\n\s*$/.test(text) ? '\n' : ''), converted: 1, problems: [] };
}

function isJsonObject(text: string): boolean {
  if (!/^\s*\{/.test(text)) return false;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** A parser's message without the position and the excerpt it appends. */
function reason(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** A document's text parsed on its own: the object it holds. */
function parsedAlone(text: string): unknown {
  const docs = parseAllDocuments(text);
  if (docs.length !== 1 || docs[0]!.errors.length) return undefined;
  return docs[0]!.toJS();
}

// ---------------------------------------------------------------------------
// The moves, on the node tree

interface Segment {
  key: string;
  each: boolean;
}

interface Step {
  from: Segment[];
  to: Segment[];
}

function segments(path: string): Segment[] {
  return path.split('.').map((p) => (p.endsWith('[]') ? { key: p.slice(0, -2), each: true } : { key: p, each: false }));
}

/** The moves from one version to another, as convertSpec makes them (v1alpha1 is the hub). */
function stepsBetween(kind: Kind, from: ApiVersionName, to: ApiVersionName): Step[] {
  if (from === to) return [];
  const moves = MOVES[kind];
  if (from === HUB_VERSION) return moves.map((m) => ({ from: segments(m.from), to: segments(m.to) }));
  return [...moves].reverse().map((m) => ({ from: segments(m.to), to: segments(m.from) }));
}

/** Converts a document's node tree (apiVersion and spec) in place; a reason when it cannot. */
function convertDocument(doc: Document, kind: Kind, from: ApiVersionName, to: ApiVersionName): string | undefined {
  const root = doc.contents;
  if (!isMap(root)) return 'not a mapping';
  const apiVersion = root.get('apiVersion', true);
  if (isScalar(apiVersion)) apiVersion.value = `${API_GROUP}/${to}`;
  else root.set('apiVersion', `${API_GROUP}/${to}`);
  const spec = root.get('spec', true);
  if (!isMap(spec)) return undefined; // no spec, or not a mapping: nothing moves (convertSpec does the same)
  return applySteps(spec, stepsBetween(kind, from, to), 'spec');
}

type Map_ = YAMLMap<unknown, unknown>;

const keyName = (p: Pair<unknown, unknown>): unknown => (isScalar(p.key) ? p.key.value : p.key);
const indexOf = (m: Map_, key: string): number => m.items.findIndex((p) => keyName(p) === key);

/**
 * The steps in one mapping. A step through a list (`vnics[]`) is made in each of its items; the
 * others are made in the order of the fields moved, as written, so that an object made to hold moved
 * fields takes the place of the first of them, and fields taken out of an object go where it was.
 */
function applySteps(map: Map_, steps: Step[], path: string): string | undefined {
  const lists = new Map<string, Step[]>();
  const here: { step: Step; at: number[] }[] = [];
  for (const s of steps) {
    if (s.from[0]!.each) {
      lists.set(s.from[0]!.key, [...(lists.get(s.from[0]!.key) ?? []), { from: s.from.slice(1), to: s.to.slice(1) }]);
      continue;
    }
    const at = positionOf(map, s.from);
    if (at) here.push({ step: s, at });
  }
  here.sort((a, b) => compare(a.at, b.at));
  for (const { step } of here) {
    const problem = moveField(map, step, path);
    if (problem) return problem;
  }
  for (const [key, inner] of lists) {
    const list = map.get(key, true);
    if (!isSeq(list)) continue;
    for (const [i, item] of list.items.entries()) {
      if (!isMap(item)) continue;
      const problem = applySteps(item as Map_, inner, `${path}.${key}[${i}]`);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** Where a field is, as the index of each key on its path; undefined when it is not there. */
function positionOf(map: Map_, path: Segment[]): number[] | undefined {
  const at: number[] = [];
  let m: unknown = map;
  for (const s of path) {
    if (!isMap(m)) return undefined;
    const i = indexOf(m as Map_, s.key);
    if (i < 0) return undefined;
    at.push(i);
    m = (m as Map_).items[i]!.value;
  }
  return at;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

interface Comments {
  commentBefore?: string | null;
  spaceBefore?: boolean;
}

/** The comments above the i-th field of a mapping (and its blank line), taken off it. A comment
 *  after a block list or mapping and before the next field is the comment of that list or mapping to
 *  the parser (when a list's items are not indented under its key): it is taken as the field's. */
function takeComments(m: Map_, i: number): Comments {
  const key = m.items[i]?.key;
  if (!isScalar(key)) return {};
  const prev = m.items[i - 1]?.value;
  const trailing = (isMap(prev) || isSeq(prev)) && !prev.flow ? prev.comment : undefined;
  if (trailing) (prev as YAMLMap | YAMLSeq).comment = undefined;
  const commentBefore = [trailing, key.commentBefore].filter(Boolean).join('\n') || undefined;
  const c = { commentBefore, spaceBefore: key.spaceBefore };
  key.commentBefore = undefined;
  key.spaceBefore = undefined;
  return c;
}

function giveComments(key: Scalar, c: Comments): void {
  if (c.commentBefore) key.commentBefore = key.commentBefore ? `${c.commentBefore}\n${key.commentBefore}` : c.commentBefore;
  if (c.spaceBefore) key.spaceBefore = true;
}

/** A new key, quoted as the key it stands for was. */
function newKey(name: string, like: unknown): Scalar {
  const k = new Scalar(name);
  if (isScalar(like) && like.type) k.type = like.type;
  return k;
}

/** One move in a mapping: the field taken from its place (objects it leaves empty removed) and put in
 *  its new one; in the mapping itself, at the place of what it came out of. */
function moveField(map: Map_, step: Step, path: string): string | undefined {
  const show = (segs: Segment[]) => `${path}.${segs.map((s) => s.key).join('.')}`;
  // Take the field out.
  const chain: Map_[] = [map];
  for (const s of step.from.slice(0, -1)) {
    const next = chain[chain.length - 1]!.get(s.key, true);
    if (!isMap(next)) return undefined;
    chain.push(next as Map_);
  }
  const anchor = indexOf(map, step.from[0]!.key);
  const holder = chain[chain.length - 1]!;
  const leafAt = indexOf(holder, step.from[step.from.length - 1]!.key);
  if (anchor < 0 || leafAt < 0) return undefined;
  // The comments above a field taken out of an object go to the first field put back in its place
  // (before it, or instead of it when it is left empty).
  const placeComments: Comments = {};
  const keep = (c: Comments | string | null | undefined) => {
    const text = typeof c === 'object' && c !== null ? c.commentBefore : c;
    if (text) placeComments.commentBefore = placeComments.commentBefore ? `${placeComments.commentBefore}\n${text}` : text;
    if (typeof c === 'object' && c?.spaceBefore) placeComments.spaceBefore = true;
  };
  if (step.from.length > 1) {
    keep(takeComments(map, anchor));
    // What is written at the top of the object (`lifecycle: # ...`, or above its first field) too.
    const group = chain[1]!;
    keep(group.commentBefore);
    group.commentBefore = undefined;
  }
  // The comments above the field itself stay at its place when an object is made there, else go with it.
  const fieldComments = takeComments(holder, leafAt);
  const [pair] = holder.items.splice(leafAt, 1) as [Pair<unknown, unknown>];
  // Objects left empty go, and what was written in them with them.
  for (let d = chain.length - 1; d > 0; d--) {
    const inner = chain[d]!;
    if (inner.items.length) break;
    const parent = chain[d - 1]!;
    const at = indexOf(parent, step.from[d - 1]!.key);
    keep(takeComments(parent, at));
    parent.items.splice(at, 1);
    keep(inner.commentBefore);
    keep(inner.comment);
  }

  // Put it in its new place.
  let dest = map;
  for (const [d, s] of step.to.slice(0, -1).entries()) {
    const existing = dest.items.find((p) => keyName(p) === s.key);
    if (existing) {
      if (!isMap(existing.value)) return `cannot move ${show(step.from)} into ${show(step.to.slice(0, d + 1))}: it is not a mapping`;
      dest = existing.value as Map_;
      continue;
    }
    const made = new YAMLMap<unknown, unknown>();
    if (dest.flow) made.flow = true;
    const key = newKey(s.key, pair.key);
    if (d === 0) {
      // A new object at the field's place, with the comments that were above the field.
      giveComments(key, placeComments);
      giveComments(key, fieldComments);
      placeComments.commentBefore = fieldComments.commentBefore = undefined;
      placeComments.spaceBefore = fieldComments.spaceBefore = undefined;
      map.items.splice(Math.min(anchor, map.items.length), 0, new Pair(key, made));
    } else {
      dest.items.push(new Pair(key, made));
    }
    dest = made;
  }
  const leaf = step.to[step.to.length - 1]!.key;
  if (dest.items.some((p) => keyName(p) === leaf)) return `cannot move ${show(step.from)} to ${show(step.to)}: that field is set already`;
  const key = leaf === step.from[step.from.length - 1]!.key && isScalar(pair.key) ? pair.key : newKey(leaf, pair.key);
  giveComments(key, placeComments);
  giveComments(key, fieldComments);
  const moved = new Pair(key, pair.value);
  if (dest === map) map.items.splice(Math.min(anchor, map.items.length), 0, moved);
  else dest.items.push(moved);
  return undefined;
}

// ---------------------------------------------------------------------------
// Rendering and merging

const RENDER_CHOICES: ToStringOptions[] = [true, false].flatMap((indentSeq) =>
  [true, false].flatMap((flowCollectionPadding) => [2, 4].map((indent) => ({ lineWidth: 0, indentSeq, flowCollectionPadding, indent }))),
);

/** The rendering options under which the document, as it is, comes closest to how it is written. */
function renderOptions(doc: Document, written: string): ToStringOptions {
  const first = RENDER_CHOICES[0]!;
  if (doc.toString(first) === written) return first;
  const lines = new Map<string, number>();
  for (const l of written.split('\n')) lines.set(l, (lines.get(l) ?? 0) + 1);
  const score = (options: ToStringOptions): number => {
    const left = new Map(lines);
    let n = 0;
    for (const l of doc.toString(options).split('\n')) {
      const c = left.get(l);
      if (c) {
        n++;
        left.set(l, c - 1);
      }
    }
    return n;
  };
  let best = first;
  let bestScore = score(first);
  for (const o of RENDER_CHOICES.slice(1)) {
    const s = score(o);
    if (s > bestScore) [best, bestScore] = [o, s];
  }
  return best;
}

const linesOf = (text: string): string[] => text.split(/(?<=\n)/);

/**
 * A three-way merge by lines: the change from `before` to `after` (the document rendered before and
 * after the moves) made to `written` (the document as written, which `before` renders). Where a
 * stretch changed in both, `after`'s lines win. Undefined when the texts are too far apart to diff.
 */
function merge(written: string, before: string, after: string): string | undefined {
  const base = linesOf(before);
  const a = linesOf(written);
  const b = linesOf(after);
  const toA = matchLines(base, a);
  const toB = matchLines(base, b);
  if (!toA || !toB) return undefined;
  const same = (x: string[], from: number, to: number, lo: number, hi: number) => to - from === hi - lo && x.slice(from, to).every((l, i) => l === base[lo + i]);
  let out = '';
  let ia = 0;
  let ib = 0;
  let ibase = 0;
  for (let k = 0; k <= base.length; k++) {
    if (k < base.length && (toA[k]! < 0 || toB[k]! < 0)) continue;
    const ea = k < base.length ? toA[k]! : a.length;
    const eb = k < base.length ? toB[k]! : b.length;
    const region = same(a, ia, ea, ibase, k) ? b.slice(ib, eb) : same(b, ib, eb, ibase, k) ? a.slice(ia, ea) : b.slice(ib, eb);
    out += region.join('');
    if (k < base.length) {
      out += a[ea]!;
      ia = ea + 1;
      ib = eb + 1;
      ibase = k + 1;
    }
  }
  return out;
}

/** For each line of `x`, the line of `y` it is matched with in a longest common subsequence (-1 for
 *  none); undefined when they differ in more than MAX_EDITS lines. */
function matchLines(x: string[], y: string[]): Int32Array | undefined {
  const match = new Int32Array(x.length).fill(-1);
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) match[pre] = pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) {
    match[x.length - 1 - suf] = y.length - 1 - suf;
    suf++;
  }
  const pairs = myers(x.slice(pre, x.length - suf), y.slice(pre, y.length - suf));
  if (!pairs) return undefined;
  for (const [i, j] of pairs) match[pre + i] = pre + j;
  return match;
}

const MAX_EDITS = 2000;

/** Myers' diff: the pairs of equal lines of a longest common subsequence. */
function myers(a: string[], b: string[]): [number, number][] | undefined {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= Math.min(max, MAX_EDITS) && found < 0; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return undefined;
  const pairs: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = found; d >= 0; d--) {
    const t = trace[d]!;
    const at = (k: number) => t[k + d + 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      pairs.push([x, y]);
    }
    if (d > 0) {
      x = prevX;
      y = prevY;
    }
  }
  return pairs;
}

// ---------------------------------------------------------------------------
// Files

/**
 * The files `netform convert` reads from paths: a file named is read whatever its name; in a
 * directory, recursively, the `.yaml`, `.yml` and `.json` files not starting with a dot, except
 * credentials files (as `netform validate` reads them), sorted.
 */
export async function convertPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string, named: boolean): Promise<void> => {
    const st = await stat(path);
    if (st.isDirectory()) {
      for (const e of await readdir(path, { withFileTypes: true })) {
        if (e.name.startsWith('.') || e.name === 'node_modules') continue;
        if (e.isDirectory() || (isManifestName(e.name) && !isCredentialsName(e.name))) await walk(join(path, e.name), false);
      }
    } else if (named || st.isFile()) {
      out.push(path);
    }
  };
  const all: string[] = [];
  for (const p of paths) {
    out.length = 0;
    await walk(p, true);
    all.push(...out.sort());
  }
  return [...new Set(all)];
}

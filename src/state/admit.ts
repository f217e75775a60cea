// Admission: multi-document YAML in, validated objects out. Every error names the file, the document
// (index and line), the field path and the reason. An invalid object is never admitted, and never
// stops the valid ones. Pure: the caller reads the files.
import { GROUP_VERSION, API_GROUP } from '../api/crds.ts';
import { expandTemplates, type Generated } from './templates.ts';
import { isKind, keyOf, KINDS, NAMESPACED, type AnyResource, type Kind } from '../api/kinds.ts';
import { copyShared, hubSpec } from '../api/validate.ts';
import { API_VERSIONS, convertPointer, DEPRECATED_VERSIONS, HUB_VERSION, versionOf, type ApiVersionName } from '../api/versions.ts';
import { checkName, checkNamespace, checkSemantics, type SemanticContext } from './semantic.ts';
import { parseYamlFile, YAML_LIMITS, type YamlDocument } from './yaml-docs.ts';
import { MAX_MANIFEST_BYTES, type AdmissionError, type AdmissionResult, type ApiObject, type ManifestFile, type SourceRef } from '../api/objects.ts';

export interface AdmissionContext extends SemanticContext {
  /** Keys known from earlier runs, with the file that declared them: when that file is held (has
   *  errors), they still count as declared, so references to them are not dangling. */
  knownSources?: ReadonlyMap<string, string>;
}

/** Turns a JSON pointer (`/spec/subnets/1/cidr`) into a kubectl-style field path (`spec.subnets[1].cidr`). */
export function fieldPath(pointer: string): string {
  if (pointer === '') return '(document)';
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

/** One line per error: `file:line: document N (Kind/name): field: reason`. Errors of objects read
 *  from the Kubernetes API (line 0) name the object instead of a file. */
export function formatAdmissionError(e: AdmissionError): string {
  if (e.line === 0) return `${e.file}: ${e.field ? `${e.field}: ` : ''}${e.message}`;
  const where = `${e.file}:${e.line}${e.column ? `:${e.column}` : ''}`;
  const doc = e.documentIndex === undefined ? '' : ` document ${e.documentIndex + 1}`;
  const who = e.key ? ` (${e.key})` : '';
  const head = `${doc}${who}`;
  // A YAML syntax error reads "YAML syntax error: <field>: <reason>", the field being where the
  // parser got to (left out when it is only the document or the file).
  const syntax = 'YAML syntax error: ';
  if (e.message.startsWith(syntax)) {
    const at = e.field && !e.field.startsWith('(') ? `${e.field}: ` : '';
    return `${where}:${head ? `${head}:` : ''} ${syntax}${at}${e.message.slice(syntax.length)}`;
  }
  const field = e.field ? `${e.field}: ` : '';
  return `${where}:${head ? `${head}:` : ''} ${field}${e.message}`;
}

interface Candidate {
  object: AnyResource;
  file: string;
  /** The document's index in its file, and the line it starts at. */
  docIndex: number;
  docLine: number;
  /** The version the document is written in, when not the hub's: its fields are elsewhere. */
  version?: ApiVersionName;
}

/** What admission made of one file on its own (shape, identity, schema): the same for the same text. */
interface FileAdmission {
  /** The text admitted, or the stamp that stands for it (a reader's file). */
  text?: string;
  stamp?: string;
  size: number | undefined;
  errors: AdmissionError[];
  skipped: AdmissionResult['skipped'];
  deprecated: NonNullable<AdmissionResult['deprecated']>;
  candidates: Candidate[];
}

/**
 * What admission made of each file, kept between loads: a file whose text did not change is not
 * parsed or schema-checked again, so an edit costs its own file plus the checks across files
 * (references, clashes). The objects it hands out are frozen: they are shared by every load that
 * reuses them. Position lookups for errors found across files parse the file again, on demand, so
 * no YAML event stream is kept.
 */
export class AdmissionCache {
  readonly #files = new Map<string, FileAdmission>();
  /** @internal The last checks across files: their input and what they found. */
  semantics: SemanticsMemo | undefined;

  /** How many files it holds. */
  get size(): number {
    return this.#files.size;
  }

  /** @internal */
  get(f: ManifestFile): FileAdmission | undefined {
    const c = this.#files.get(f.path);
    if (!c || c.size !== f.size) return undefined;
    // A reader's stamp stands for the text (ManifestReader): the text of a known file is not read.
    if (c.stamp !== undefined || f.stamp !== undefined) return c.stamp === f.stamp ? c : undefined;
    return c.text === f.text ? c : undefined;
  }

  /** @internal */
  set(path: string, a: FileAdmission): void {
    this.#files.set(path, a);
  }

  /** @internal Forgets the files not read this time. */
  keepOnly(paths: ReadonlySet<string>): void {
    for (const p of this.#files.keys()) if (!paths.has(p)) this.#files.delete(p);
  }
}

/** What the checks across files last saw and found (AdmissionCache): an edit that changes only
 *  fields no such check reads (LOCAL_FIELDS) finds the same again, so it is not checked again. */
interface SemanticsMemo {
  objects: readonly AnyResource[];
  context: string;
  violations: ReturnType<typeof checkSemantics>;
}

/**
 * Fields of a spec that no check across objects reads (semantic.ts: shown by a test that runs every
 * check with these fields behind a trap, src/state/admit.local-fields.test.ts). An edit of only these
 * is decided by the object's own checks (schema), already done per file.
 */
export const LOCAL_FIELDS: Readonly<Partial<Record<AnyResource['kind'], readonly string[]>>> = {
  Network: ['mtu', 'description', 'adminStateUp'],
};

/** Whether `a` and `b` (same key) differ at most in their kind's LOCAL_FIELDS (an object parsed
 *  again from an edited file, unchanged or not, is another object). */
function sameButLocal(a: AnyResource, b: AnyResource): boolean {
  if (a.kind !== b.kind || keyOf(a) !== keyOf(b)) return false;
  const local = LOCAL_FIELDS[a.kind] ?? [];
  const strip = (o: AnyResource) => JSON.stringify({ ...o, spec: Object.fromEntries(Object.entries(o.spec as object).filter(([k]) => !local.includes(k))) });
  return strip(a) === strip(b);
}

/** The checks across files for `objects`, or what they found last time when nothing they read changed. */
function semanticsOf(objects: readonly AnyResource[], ctx: Parameters<typeof checkSemantics>[1] & object, cache: AdmissionCache | undefined): ReturnType<typeof checkSemantics> {
  const context = JSON.stringify([[...(ctx.alsoDeclared ?? [])].sort(), ctx.allocations ?? []]);
  const m = cache?.semantics;
  if (m && m.context === context && m.objects.length === objects.length && objects.every((o, i) => o === m.objects[i] || sameButLocal(o, m.objects[i]!))) {
    cache!.semantics = { objects, context, violations: m.violations };
    return m.violations;
  }
  const violations = checkSemantics(objects, ctx);
  if (cache) cache.semantics = { objects, context, violations };
  return violations;
}

export interface AdmitOptions {
  /** Files admitted earlier: unchanged ones are not parsed again (file mode's watch). */
  cache?: AdmissionCache;
}

export function admit(files: readonly ManifestFile[], ctx: AdmissionContext = {}, opts: AdmitOptions = {}): AdmissionResult {
  const result: AdmissionResult = {
    objects: new Map(),
    errors: [],
    invalid: new Map(),
    heldFiles: new Set(),
    skipped: [],
  };
  const candidates: Candidate[] = [];
  const fail = (e: AdmissionError) => {
    result.errors.push(e);
    result.heldFiles.add(e.file);
    if (e.key) {
      const list = result.invalid.get(e.key) ?? [];
      list.push(e);
      result.invalid.set(e.key, list);
    }
  };

  // The files by path, for the positions of problems found across files (a reader's file reads its
  // text only then).
  const texts = new Map<string, ManifestFile>();
  for (const f of files) {
    texts.set(f.path, f);
    let a = opts.cache?.get(f);
    if (!a) {
      a = admitFile(f);
      opts.cache?.set(f.path, a);
    }
    for (const e of a.errors) fail(e);
    result.skipped.push(...a.skipped);
    if (a.deprecated.length) (result.deprecated ??= []).push(...a.deprecated);
    candidates.push(...a.candidates);
  }
  opts.cache?.keepOnly(new Set(texts.keys()));

  // Positions of what the checks across files find: the file is parsed again, once per admission.
  const parsedAgain = new Map<string, YamlDocument[]>();
  const positionOf = (c: Candidate, hubPointer: string) => {
    const pointer = written(c, hubPointer);
    let docs = parsedAgain.get(c.file);
    if (!docs) parsedAgain.set(c.file, (docs = parseYamlFile(texts.get(c.file)?.text ?? '', c.file, YAML_LIMITS).documents));
    return docs.find((d) => d.index === c.docIndex)?.positionOf(pointer) ?? { line: c.docLine, column: 1 };
  };

  // VM network templates: each binding's vNICs become VnicAttachments declared where the binding is.
  const expansion = expandTemplates(candidates.map((c) => c.object));
  const candidateOf = new Map(candidates.map((c) => [keyOf(c.object), c] as const));
  for (const p of expansion.problems) {
    const c = candidateOf.get(p.key)!;
    const pos = positionOf(c, p.pointer);
    fail({ file: c.file, documentIndex: c.docIndex, line: pos.line, column: pos.column, key: p.key, field: fieldPath(written(c, p.pointer)), message: p.message });
  }
  const generatedFrom = new Map<string, Generated>();
  for (const g of expansion.generated) {
    const c = candidateOf.get(g.from)!;
    candidates.push({ object: g.object, file: c.file, docIndex: c.docIndex, docLine: c.docLine, ...(c.version ? { version: c.version } : {}) });
    generatedFrom.set(keyOf(g.object), g);
  }

  const alsoDeclared = new Set(ctx.alsoDeclared ?? []);
  for (const [key, file] of ctx.knownSources ?? []) if (result.heldFiles.has(file)) alsoDeclared.add(key);
  for (const key of result.invalid.keys()) alsoDeclared.add(key);

  const violations = semanticsOf(
    candidates.map((c) => c.object),
    { alsoDeclared, allocations: ctx.allocations },
    opts.cache,
  );
  // A duplicate key is reported on its second declaration; map violations back to the candidate.
  const seen = new Map<string, Candidate>();
  const dupes = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const key = keyOf(c.object);
    if (seen.has(key)) dupes.set(key, [...(dupes.get(key) ?? []), c]);
    else seen.set(key, c);
  }
  const dupeCursor = new Map<string, number>();
  for (const v of violations) {
    let c = seen.get(v.key)!;
    let message = v.message;
    if (v.message.startsWith('duplicate:')) {
      // The n-th duplicate violation of a key belongs to its n-th repeated declaration.
      const n = dupeCursor.get(v.key) ?? 0;
      dupeCursor.set(v.key, n + 1);
      const first = c;
      c = dupes.get(v.key)![n]!;
      message = `${v.key} is already declared in ${first.file} document ${first.docIndex + 1} (line ${first.docLine})`;
    }
    const g = generatedFrom.get(v.key);
    if (g) {
      // A generated attachment's problem is the binding's: reported at its templateRef.
      const pos = positionOf(c, '/spec/templateRef/name');
      fail({ file: c.file, documentIndex: c.docIndex, line: pos.line, column: pos.column, key: v.key, field: 'spec.templateRef.name', message: generatedMessage(g, v) });
      continue;
    }
    const pos = positionOf(c, v.pointer);
    fail({ file: c.file, documentIndex: c.docIndex, line: pos.line, column: pos.column, key: v.key, field: fieldPath(written(c, v.pointer)), message });
  }
  for (const c of seen.values()) {
    const key = keyOf(c.object);
    if (result.invalid.has(key)) continue;
    result.objects.set(key, { key, object: c.object, source: Object.freeze({ file: c.file, documentIndex: c.docIndex, line: c.docLine }) });
  }
  result.errors.sort((a, b) => (a.file === b.file ? (a.documentIndex ?? -1) - (b.documentIndex ?? -1) || a.line - b.line : a.file < b.file ? -1 : 1));
  return result;
}

/** The kind of an object key. */
function parseKind(key: string): Kind {
  return key.slice(0, key.indexOf('/')) as Kind;
}

/** Where a field of the hub's shape is in the document as written (a v1beta1 document has moved it). */
function written(c: Candidate, hubPointer: string): string {
  return c.version ? convertPointer(c.object.kind, hubPointer, HUB_VERSION, c.version) : hubPointer;
}

/** One file on its own: its size, its YAML, and each document's shape, identity and schema. */
function admitFile(f: ManifestFile): FileAdmission {
  // A stamped file is known by its stamp: its text is not kept (13 MB at 60,000 objects).
  const out: FileAdmission = { ...(f.stamp !== undefined ? { stamp: f.stamp } : { text: f.text }), size: f.size, errors: [], skipped: [], deprecated: [], candidates: [] };
  const fail = (e: AdmissionError) => out.errors.push(e);
  const size = f.size ?? (f.text.length * 3 <= MAX_MANIFEST_BYTES ? f.text.length : Buffer.byteLength(f.text));
  if (size > MAX_MANIFEST_BYTES) {
    fail({ file: f.path, line: 1, field: '(file)', message: `is ${size} bytes; a manifest file may be at most ${MAX_MANIFEST_BYTES} bytes (1 MiB): split it` });
    return out;
  }
  const parsed = parseYamlFile(f.text, f.path, YAML_LIMITS);
  for (const e of parsed.errors) {
    fail({
      file: f.path,
      documentIndex: e.documentIndex,
      line: e.line,
      column: e.column,
      field: e.path !== undefined ? fieldPath(e.path) : e.documentIndex === undefined ? '(file)' : '(document)',
      message: e.kind === 'syntax' ? `YAML syntax error: ${e.message}` : e.message,
    });
  }
  for (const doc of parsed.documents) {
    const checked = checkDocument(f.path, doc, fail, out.skipped);
    if (checked) {
      const c: Candidate = { object: deepFreeze(checked.object), file: f.path, docIndex: doc.index, docLine: doc.line };
      if (checked.version !== HUB_VERSION) c.version = checked.version;
      out.candidates.push(c);
      const warning = DEPRECATED_VERSIONS[checked.version];
      if (warning) {
        // One entry per file and version (not one per document: 60,000 of them at scale).
        const apiVersion = `${API_GROUP}/${checked.version}`;
        const seen = out.deprecated.find((d) => d.apiVersion === apiVersion);
        if (seen) seen.documents++;
        else out.deprecated.push({ file: f.path, documentIndex: doc.index, line: doc.line, documents: 1, apiVersion, warning });
      }
    }
  }
  return out;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** Checks one document on its own: shape, identity, schema. Returns the object if it passed. */
function checkDocument(
  file: string,
  doc: YamlDocument,
  fail: (e: AdmissionError) => void,
  skipped: AdmissionResult['skipped'],
): { object: AnyResource; version: ApiVersionName } | undefined {
  const v = doc.value;
  if (v === null || v === undefined) return undefined; // an empty document
  const at = (pointer: string) => {
    const p = doc.positionOf(pointer);
    return { file, documentIndex: doc.index, line: p.line, column: p.column };
  };
  if (typeof v !== 'object' || Array.isArray(v)) {
    fail({ ...at(''), field: '(document)', message: 'a document must be a mapping with apiVersion, kind, metadata and spec' });
    return undefined;
  }
  const raw = v as Record<string, unknown>;
  const apiVersion = raw.apiVersion;
  if (apiVersion === undefined && raw.kind === undefined) {
    // Not a Kubernetes object at all (e.g. a credentials file next to the manifests).
    skipped.push({ file, documentIndex: doc.index, line: doc.line, what: 'a document with neither apiVersion nor kind' });
    return undefined;
  }
  if (typeof apiVersion !== 'string') {
    fail({ ...at('/apiVersion'), field: 'apiVersion', message: 'is required' });
    return undefined;
  }
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  if (group !== API_GROUP) {
    skipped.push({ file, documentIndex: doc.index, line: doc.line, what: `${apiVersion} ${String(raw.kind)}` });
    return undefined;
  }
  const version = versionOf(apiVersion);
  if (!version) {
    fail({ ...at('/apiVersion'), field: 'apiVersion', message: `"${apiVersion}" is not served; use ${API_VERSIONS.map((x) => `${API_GROUP}/${x}`).join(' or ')}` });
    return undefined;
  }
  const kind = raw.kind;
  if (!isKind(kind)) {
    fail({
      ...at('/kind'),
      field: 'kind',
      message: `"${String(kind)}" is not a netform kind (${KINDS.join(', ')})`,
    });
    return undefined;
  }
  const meta = raw.metadata;
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) {
    fail({ ...at('/metadata'), field: 'metadata', message: 'is required and must be a mapping with a name' });
    return undefined;
  }
  const m = meta as Record<string, unknown>;
  const nameProblem = checkName(kind, m.name);
  if (nameProblem) {
    fail({ ...at('/metadata/name'), field: 'metadata.name', message: nameProblem });
    return undefined;
  }
  const name = m.name as string;
  let namespace: string | undefined;
  if (NAMESPACED[kind]) {
    namespace = m.namespace === undefined ? 'default' : (m.namespace as string);
    const nsProblem = checkNamespace(namespace);
    if (nsProblem) {
      fail({ ...at('/metadata/namespace'), field: 'metadata.namespace', message: nsProblem });
      return undefined;
    }
  } else if (m.namespace !== undefined) {
    fail({ ...at('/metadata/namespace'), field: 'metadata.namespace', message: `${kind} is cluster-scoped and takes no namespace` });
    return undefined;
  }
  const key = keyOf({ kind, metadata: { name, namespace } });
  const unknownTop = Object.keys(raw).filter((k) => !['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k));
  for (const k of unknownTop) fail({ ...at(`/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`), key, field: k, message: 'is not a known field' });
  const labels = checkStringMap(m.labels) ?? checkStringMap(m.annotations);
  if (labels) fail({ ...at('/metadata'), key, field: 'metadata', message: labels });
  const { spec, violations } = hubSpec(kind as Kind, raw.spec, version);
  for (const sv of violations) fail({ ...at(sv.pointer), key, field: fieldPath(sv.pointer), message: sv.message });
  if (unknownTop.length || labels || violations.length) return undefined;
  const metadata: AnyResource['metadata'] = { name };
  if (namespace !== undefined) metadata.namespace = namespace;
  if (m.labels) metadata.labels = m.labels as Record<string, string>;
  if (m.annotations) metadata.annotations = m.annotations as Record<string, string>;
  // Strings read from the YAML are slices of the file's text and would keep all of it alive: the
  // metadata is copied as the spec is (validateSpec's copy: strings of their own, short ones shared,
  // e.g. the namespace of 5,000 vNICs), apiVersion and kind are ours.
  const object = { apiVersion: GROUP_VERSION, kind: KINDS.find((k) => k === kind)!, metadata: copyShared(metadata) as AnyResource['metadata'], spec } as AnyResource;
  return { object, version };
}

function checkStringMap(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    return 'labels and annotations must map strings to strings';
  }
  return undefined;
}

/** A generated attachment's violation, worded for the binding it comes from. */
function generatedMessage(g: Generated, v: { pointer: string; message: string }): string {
  return `vNIC ${g.vnic} (VnicAttachment ${g.object.metadata.namespace}/${g.object.metadata.name}): ${fieldPath(v.pointer)}: ${v.message}`;
}

/** Where an object read from the API is said to come from: its key stands in for a file. */
export function apiSource(key: string): SourceRef {
  return { file: key, documentIndex: 0, line: 0 };
}

/**
 * Cluster mode's admission: the same schema and semantic checks as for files, over objects read from
 * the API. Objects being deleted (`metadata.deletionTimestamp`) are not desired any more, but still
 * count as declared, so what refers to them stays valid while they go. Of two objects that clash
 * (a VLAN, a subnet), the newer one (creationTimestamp, then name) is reported. Errors name the
 * object (`Kind/[namespace/]name`) in place of a file, with line 0. Pure.
 */
/**
 * What cluster mode's admission made of each object on its own (name, schema, defaults), by key, kept
 * while the object's resourceVersion is the same: a change re-checks the objects that changed, plus
 * the checks across objects. The objects it hands out are frozen (shared by successive admissions).
 */
export class ObjectAdmissionCache {
  readonly #objects = new Map<string, { resourceVersion: string; errors: AdmissionError[]; candidate: AnyResource | undefined }>();

  get size(): number {
    return this.#objects.size;
  }

  /** @internal */
  get(key: string, resourceVersion: string | undefined) {
    const c = resourceVersion === undefined ? undefined : this.#objects.get(key);
    return c && c.resourceVersion === resourceVersion ? c : undefined;
  }

  /** @internal */
  set(key: string, resourceVersion: string | undefined, errors: AdmissionError[], candidate: AnyResource | undefined): void {
    if (resourceVersion !== undefined) this.#objects.set(key, { resourceVersion, errors, candidate });
  }

  /** @internal Forgets the objects not seen this time. */
  keepOnly(keys: ReadonlySet<string>): void {
    for (const k of this.#objects.keys()) if (!keys.has(k)) this.#objects.delete(k);
  }
}

export function admitObjects(objects: readonly ApiObject[], ctx: AdmissionContext = {}, opts: { cache?: ObjectAdmissionCache } = {}): AdmissionResult {
  const result: AdmissionResult = { objects: new Map(), errors: [], invalid: new Map(), heldFiles: new Set(), skipped: [] };
  const fail = (e: AdmissionError) => {
    result.errors.push(e);
    if (e.key) {
      const list = result.invalid.get(e.key) ?? [];
      list.push(e);
      result.invalid.set(e.key, list);
    }
  };
  const ordered = [...objects].sort((a, b) => {
    const ta = a.metadata?.creationTimestamp ?? '';
    const tb = b.metadata?.creationTimestamp ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    const ka = `${a.kind}/${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`;
    const kb = `${b.kind}/${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const candidates: AnyResource[] = [];
  const alsoDeclared = new Set(ctx.alsoDeclared ?? []);
  const seenKeys = new Set<string>();
  // The version each object was read in, when not the hub's: a problem names its field as written.
  const versions = new Map<string, ApiVersionName>();
  const asWritten = (key: string, kind: Kind, pointer: string) => {
    const v = versions.get(key);
    return fieldPath(v ? convertPointer(kind, pointer, HUB_VERSION, v) : pointer);
  };
  for (const raw of ordered) {
    const kind = raw.kind;
    const version = versionOf(raw.apiVersion);
    if (!isKind(kind) || !version) continue; // the informers only list our kinds
    const m = raw.metadata ?? {};
    const name = m.name ?? '';
    const namespace = NAMESPACED[kind] ? (m.namespace ?? 'default') : undefined;
    const key = keyOf({ kind, metadata: { name, namespace } });
    const at = (pointer: string): AdmissionError => ({ file: key, documentIndex: 0, line: 0, key, field: fieldPath(pointer), message: '' });
    if (version !== HUB_VERSION) versions.set(key, version);
    if (m.deletionTimestamp) {
      alsoDeclared.add(key);
      continue;
    }
    seenKeys.add(key);
    const cached = opts.cache?.get(key, m.resourceVersion);
    if (cached) {
      for (const e of cached.errors) fail(e);
      if (cached.candidate) candidates.push(cached.candidate);
      continue;
    }
    const own: AdmissionError[] = [];
    const candidate = admitOne();
    for (const e of own) fail(e);
    if (candidate) candidates.push(candidate);
    opts.cache?.set(key, m.resourceVersion, own, candidate);

    function admitOne(): AnyResource | undefined {
      const nameProblem = checkName(kind as Kind, m.name);
      if (nameProblem) {
        own.push({ ...at('/metadata/name'), message: nameProblem });
        return undefined;
      }
      const { spec, violations } = hubSpec(kind as Kind, raw.spec, version!);
      for (const sv of violations) own.push({ ...at(sv.pointer), message: sv.message });
      if (violations.length) return undefined;
      const metadata: AnyResource['metadata'] = { name };
      if (namespace !== undefined) metadata.namespace = namespace;
      if (m.labels) metadata.labels = { ...m.labels };
      if (m.annotations) metadata.annotations = { ...m.annotations };
      if (m.uid) metadata.uid = m.uid;
      if (m.generation !== undefined) metadata.generation = m.generation;
      if (m.resourceVersion) metadata.resourceVersion = m.resourceVersion;
      if (m.creationTimestamp) metadata.creationTimestamp = m.creationTimestamp;
      const o = { apiVersion: GROUP_VERSION, kind, metadata, spec } as AnyResource;
      return opts.cache ? deepFreeze(o) : o;
    }
  }
  opts.cache?.keepOnly(seenKeys);
  const expansion = expandTemplates(candidates);
  for (const p of expansion.problems) fail({ file: p.key, documentIndex: 0, line: 0, key: p.key, field: asWritten(p.key, parseKind(p.key), p.pointer), message: p.message });
  const generatedFrom = new Map<string, Generated>();
  for (const g of expansion.generated) {
    candidates.push(g.object);
    generatedFrom.set(keyOf(g.object), g);
  }
  for (const key of result.invalid.keys()) alsoDeclared.add(key);
  const violations = checkSemantics(candidates, { alsoDeclared, allocations: ctx.allocations });
  for (const v of violations) {
    const g = generatedFrom.get(v.key);
    if (g) fail({ file: g.from, documentIndex: 0, line: 0, key: v.key, field: 'spec.templateRef.name', message: generatedMessage(g, v) });
    else fail({ file: v.key, documentIndex: 0, line: 0, key: v.key, field: asWritten(v.key, parseKind(v.key), v.pointer), message: v.message });
  }
  for (const o of candidates) {
    const key = keyOf(o);
    if (result.invalid.has(key)) continue;
    result.objects.set(key, { key, object: o, source: apiSource(key) });
  }
  result.errors.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return result;
}

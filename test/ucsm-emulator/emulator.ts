// A Cisco UCS Manager XML API emulator for netform's tests (`POST /nuova`).
//
// It follows /work/shared/reference/ucsm.md and the recorded exchanges in
// test/fixtures/ucsm/, and is proven against Cisco's own ucsmsdk 0.9.27 as a
// black-box client (conformance/test_ucsmsdk.py).
//
// Wire rules kept (reference §1, §2, §5, §8.3):
// - Every API answer is HTTP 200; the root element is the method name, or
//   `error` for request-parsing failures (ERR-xml-parse-error, invocationResult 594,
//   `cookie=""`). Any Content-Type is accepted; the body is parsed as XML.
// - Success never carries errorCode/errorDescr/invocationResult.
// - Method errors put errorCode, invocationResult, errorDescr on the method element,
//   after the echoed inputs, `cookie` and `response="yes"`, with no children.
// - Login/refresh/logout answer with `cookie=""` (login, logout) or the old cookie
//   (refresh) and the out* attribute sets of fixtures 01, 03 and 14.
// - Containers: `outConfig` (configResolveDn, configConfMo), `outConfigs`
//   (the other queries and configConfMos, whose `pair key` echoes the client's key),
//   `outUnresolved` with `<dn value=…/>` (configResolveDns).
// - MOs: top-level ones carry `dn`; nested children (inHierarchical="true") carry
//   only `rn`. Attributes are listed sorted by name, as in fixtures 10, 17, 18.
//
// Choices for behaviour the reference calls "not attested" (§2.4, §4.3, §9):
// - Idle cookies expire after `idleExpiryS` (default 600 s, the refresh period)
//   without use → 552 "Authorization required" / service-unavailable, like a stale
//   cookie. Every authenticated request refreshes the idle timer. No hard lifetime.
// - aaaRefresh with an unknown/expired inCookie → 552 (service-unavailable,
//   "Authorization required"); with an inName/inPassword that do not match the
//   session's user → 551. A missing inCookie → fixture 16. A refresh with `cookie`
//   but no inCookie is still fixture 16 (inCookie is what authenticates it).
// - A missing or empty `cookie` on any other method → 552 (AZ test), same attributes
//   as a stale cookie.
// - invocationResult: 551, 555 and every config error (102, 103, 105, 150) use
//   "unidentified-fail" (attested for 150, 551, 555); 552 uses "service-unavailable".
// - Delete of a missing MO: success by default (the pair is echoed with
//   status="deleted" and the attributes the client sent); `deleteMissing: 'error-102'`
//   answers 102 "configured object (DN) not found " instead.
// - Server-side validation (UCSM behaviour not attested; the SDK checks the same
//   rules client-side): every refusal below is errorCode 150, invocationResult
//   "unidentified-fail" (the only attested code for a semantic/limit violation),
//   with an errorDescr naming the object and the rule:
//     - a value outside §6.3's pattern/enum/range (fabricVlan name {1,32}, id
//       1-4042|4048-4093, sharing/defaultNet enums, vnicProfile name {1,31},
//       maxPorts 1-4096, hostNwIOPerf, descr charset, …);
//     - a VLAN id inside the reserved block (fabricReservedVlan, default 3915-4042):
//       "VLAN <dn>: id <n> is in the reserved VLAN range 3915-4042 (fabric/lan/fab-reserved-vlans)";
//     - a vnicEtherIf naming a VLAN that does not exist (neither fabric/lan/net-NAME
//       nor fabric/lan/A|B/net-NAME) after the whole request is applied (a VLAN
//       created in the same request counts): "vnicEtherIf <dn>: VLAN 'X' does not exist …";
//       deleting a VLAN that vnicEtherIfs still name is allowed (real UCSM raises a fault);
//     - writing a read-only attribute, changing a create-only one (lsServer type,
//       vnicLanConnTempl target) after creation, changing a Get-only container,
//       a naming attribute that contradicts the dn, a dn that is not under its XML
//       parent, a pair key that differs from the MO's dn, a missing required
//       attribute on create (fabricVlan id), deleting a container (fabric/lan…), org-root
//       or the default VLAN,
//       moving the reserved VLAN block onto existing VLANs or making it other than 128 VLANs.
//   Duplicate VLAN ids under different names and several native (defaultNet) VLANs
//   on one vNIC are NOT refused (no source says how UCSM reacts).
// - Unknown attributes on known classes (and on pair, method and container
//   elements), missing required request attributes, an invalid status value,
//   malformed XML, an unknown method or an invalid inFilter → root
//   `<error … errorCode="ERR-xml-parse-error" invocationResult="594" errorDescr="XML PARSING ERROR: …"/>`.
//   These are checked before the cookie (fixture 13 has cookie="").
// - Classes the emulator has no schema for are stored and returned as seeded
//   (put()), may be modified/deleted with any attribute, but never created (105).
// - A `created,modified` (or status-less) MO that exists is modified; otherwise created.
//   Nested children without status are create-or-update. The response status says
//   what happened (created/modified/deleted). The returned MO is the full object
//   after the change, without children unless inHierarchical="true".
// - The whole configConfMo(s) is all-or-nothing: changes are applied in request
//   order under an undo journal; cross-object rules are checked at the end; any
//   error rolls everything back.
// - Seed (§6.1-§6.2): topSystem `sys` (name, address), firmwareRunning `sys/fw-system`
//   (version), networkElement `sys/switch-A|B`, fabricEp `fabric`, fabricLanCloud
//   `fabric/lan`, fabricEthLan `fabric/lan/A|B`, vnicProfileSet `fabric/lan/profiles`,
//   qosclassDefinition `fabric/lan/classes` with qosclassEthBE `class-best-effort` and
//   qosclassEthClassified platinum/gold/silver/bronze, fabricReservedVlan
//   `fabric/lan/fab-reserved-vlans` (3915-4042), the `default` VLAN
//   `fabric/lan/net-default` (id 1, present on every UCSM) and orgOrg `org-root`.
// - Fault switches answer after the request is read: dropNext destroys the socket
//   without answering (the request is not processed); delayMs (every request) and
//   delayConfigMs (configConfMo(s) only) delay the answer AFTER processing (a client
//   that times out may still have changed the tree);
//   failEvery(n) answers every n-th authenticated config request with the given
//   error without applying it.
// - Unknown classId in a query → empty outConfigs (the emulator only knows a subset).
// - A DN that does not exist → success with an empty `<outConfig/>` (configResolveDn),
//   or `<dn value=…/>` in `outUnresolved` (configResolveDns, shape derived from the meta).
//   configResolveChildren of a missing parent → empty outConfigs.
// - wcard uses JavaScript regular-expression search semantics. `bw` takes
//   `firstValue`/`secondValue` (the SDK's field names, camel-cased), inclusive.
//   gt/ge/lt/le/bw compare numerically when both sides are numbers, else as strings.
//   anybit/allbits: bitwise for numbers, else set logic on comma-separated flags.
//   A filter term whose `class` is not the MO's class never matches (`ne` included).
// - Read-only attributes of vnicProfile, vnicEtherIf, vmVnicProfCl, lsServer, vnicEther,
//   vnicLanConnTempl, … carry plausible values (no real capture exists); vnicEtherIf's
//   vnet/operVnetDn/operVnetName follow the VLAN it names, vnicProfile's primaryVlanId
//   follows its defaultNet vnicEtherIf, its qosPolicyDn/operQosPolicyName name org-root/ep-qos-X only
//   while that epqosDefinition exists (empty otherwise). A fresh epqosEgress's defaults are assumed
//   (schema.ts). fabricVlan's set and values are fixture 17's
//   (switchId "dual" globally, "A"/"B" under fabric/lan/A|B).

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { compileInFilter, FilterError, type Predicate } from './filter.ts';
import {
  SCHEMAS,
  type ClassSchema,
  type Mo,
  checkValue,
  joinDn,
  lastRn,
  namingFromRn,
  namingProps,
  parentDn,
  rnFromNaming,
} from './schema.ts';
import { MoTree, fullAttrs, sortedAttrs } from './tree.ts';
import { type El, XmlSyntaxError, buildXml, el, parseXml } from './xml.ts';

// ------------------------------------------------------------------- API types

export interface MoInput {
  classId: string;
  dn: string;
  attrs?: Record<string, string>;
}

/** An MO as the emulator would return it: all attributes (defaults, set, read-only) and `dn`. */
export interface MoView {
  classId: string;
  dn: string;
  attrs: Record<string, string>;
}

export interface EmulatorTree {
  get(dn: string): MoView | undefined;
  list(classId: string): MoView[];
  children(dn: string): MoView[];
  /** Store an MO out of band (no validation, no parent check); replaces an existing one. */
  put(mo: MoInput): void;
  /** Remove an MO and its subtree; false when it did not exist. */
  remove(dn: string): boolean;
}

export interface FaultError {
  code: string;
  descr: string;
  invocationResult?: string;
}

export interface Faults {
  /** The next n requests are read and then answered by destroying the socket. */
  dropNext(n?: number): void;
  /** Milliseconds to wait before every answer (after processing). */
  delayMs: number;
  /** Extra milliseconds before answering configConfMo(s) only (after the change is applied). */
  delayConfigMs: number;
  /** Every n-th config request (configConfMo/configConfMos) fails with this error; n = 0 turns it off. */
  failEvery(n: number, err?: FaultError): void;
  /** Forget every session: all cookies answer 552 from now on. */
  expireAllSessions(): void;
  /** Turn every fault off. */
  reset(): void;
}

export interface EmulatorOptions {
  users?: Record<string, string>;
  refreshPeriodS?: number;
  idleExpiryS?: number;
  version?: string;
  deleteMissing?: 'ok' | 'error-102';
  seed?: (tree: EmulatorTree) => void;
  /** Clock in milliseconds (default Date.now); inject one to test idle expiry without waiting. */
  now?: () => number;
  port?: number;
  host?: string;
  /** topSystem name and address. */
  systemName?: string;
  address?: string;
}

export interface UcsmEmulator extends EmulatorTree {
  /** Base URL, e.g. http://127.0.0.1:40123 (POST ${url}/nuova). */
  readonly url: string;
  readonly port: number;
  /** Requests received, by method (root element name), dropped ones included. */
  readonly counts: Record<string, number>;
  /** All POST /nuova requests received. */
  readonly total: number;
  /** Requests answered by dropping the connection. */
  readonly dropped: number;
  readonly faults: Faults;
  /** Live session cookies. */
  sessions(): string[];
  resetCounts(): void;
  /** POST raw XML to /nuova; resolves with the response body. */
  post(xml: string): Promise<string>;
  /** aaaLogin helper; resolves with the new cookie (throws on failure). */
  login(user?: string, password?: string): Promise<string>;
  close(): Promise<void>;
}

// ------------------------------------------------------------------- errors

/** A method-level error: attributes on the method element. */
class MethodError extends Error {
  readonly code: string;
  readonly descr: string;
  readonly invocationResult: string;
  constructor(code: string, descr: string, invocationResult = 'unidentified-fail') {
    super(`${code}: ${descr}`);
    this.code = code;
    this.descr = descr;
    this.invocationResult = invocationResult;
  }
}

/** A request-parsing error: root `<error>` element. */
class ParseError extends Error {
  readonly descr: string;
  constructor(descr: string) {
    super(descr);
    this.descr = descr;
  }
}

const notFound = (dn: string): MethodError => new MethodError('102', `configured object (${dn}) not found `);
const invalid = (descr: string): MethodError => new MethodError('150', descr);
const authRequired = (): MethodError => new MethodError('552', 'Authorization required', 'service-unavailable');
const missingAttr = (attr: string): ParseError => new ParseError(`XML PARSING ERROR: Required ${attr} attribute missing in the xml request. `);
const unknownAttr = (attr: string, elem: string): ParseError => new ParseError(`XML PARSING ERROR: unknown attribute '${attr}' in element '${elem}'`);

// ------------------------------------------------------------------- methods

interface MethodSpec {
  attrs: readonly string[];
  required?: readonly string[];
  children?: readonly string[];
}

const METHODS: Record<string, MethodSpec> = {
  aaaLogin: { attrs: ['cookie', 'inName', 'inPassword'], required: ['inName', 'inPassword'] },
  aaaRefresh: { attrs: ['cookie', 'inCookie', 'inName', 'inPassword'], required: ['inCookie'] },
  aaaLogout: { attrs: ['cookie', 'inCookie', 'inDelaySecs'], required: ['inCookie'] },
  configResolveDn: { attrs: ['cookie', 'dn', 'inHierarchical'], required: ['dn'] },
  configResolveDns: { attrs: ['cookie', 'inHierarchical'], children: ['inDns'] },
  configResolveClass: { attrs: ['cookie', 'classId', 'inHierarchical'], required: ['classId'], children: ['inFilter'] },
  configResolveClasses: { attrs: ['cookie', 'inHierarchical'], children: ['inIds'] },
  configResolveChildren: { attrs: ['cookie', 'classId', 'inDn', 'inHierarchical'], required: ['inDn'], children: ['inFilter'] },
  configConfMo: { attrs: ['cookie', 'dn', 'inHierarchical'], children: ['inConfig'] },
  configConfMos: { attrs: ['cookie', 'inHierarchical'], children: ['inConfigs'] },
};

const CONFIG_METHODS = new Set(['configConfMo', 'configConfMos']);
/** Objects of deletable classes that are nevertheless part of every UCSM. */
const UNDELETABLE = new Set(['org-root', 'fabric/lan/net-default']);
const STATUS_TOKENS = new Set(['created', 'modified', 'deleted', 'removed']);
const ENGINE_ATTRS = new Set(['dn', 'rn', 'status']);

function checkAttrs(e: El, allowed: readonly string[], required: readonly string[] = []): void {
  for (const a of Object.keys(e.attrs)) if (!allowed.includes(a)) throw unknownAttr(a, e.name);
  for (const r of required) if (e.attrs[r] === undefined) throw missingAttr(r);
}

function checkChildren(e: El, allowed: readonly string[]): void {
  for (const c of e.children) {
    if (!allowed.includes(c.name)) throw new ParseError(`XML PARSING ERROR: unknown element '${c.name}' in element '${e.name}'`);
  }
}

function hierarchical(e: El): boolean {
  const v = e.attrs['inHierarchical'];
  if (v === undefined || v === 'false' || v === 'no') return false;
  if (v === 'true' || v === 'yes') return true;
  throw new ParseError(`XML PARSING ERROR: invalid value '${v}' for attribute 'inHierarchical' in element '${e.name}'`);
}

/** Structural checks of an MO element and its nested children (unknown attributes, status). */
function checkMoElement(e: El): void {
  const schema = SCHEMAS[e.name];
  if (schema) {
    for (const a of Object.keys(e.attrs)) {
      if (!ENGINE_ATTRS.has(a) && !(a in schema.props)) throw unknownAttr(a, e.name);
    }
  }
  const status = e.attrs['status'];
  if (status !== undefined && status !== '' && !status.split(',').every((t) => STATUS_TOKENS.has(t))) {
    throw new ParseError(`XML PARSING ERROR: invalid value '${status}' for attribute 'status' in element '${e.name}'`);
  }
  for (const c of e.children) checkMoElement(c);
}

// ------------------------------------------------------------------- sessions

interface Session {
  user: string;
  lastUsed: number;
  sessionId: string;
}

// ------------------------------------------------------------------- emulator

export async function startEmulator(opts: EmulatorOptions = {}): Promise<UcsmEmulator> {
  const users = opts.users ?? { admin: 'password' };
  const refreshPeriodS = opts.refreshPeriodS ?? 600;
  const idleExpiryMs = (opts.idleExpiryS ?? 600) * 1000;
  const version = opts.version ?? '4.2(3d)';
  const deleteMissing = opts.deleteMissing ?? 'ok';
  const now = opts.now ?? Date.now;

  const tree = new MoTree();
  const sessions = new Map<string, Session>();
  let sessionSeq = 0;
  let counts: Record<string, number> = {};
  let total = 0;
  let dropped = 0;
  let dropRemaining = 0;
  let delayMs = 0;
  let delayConfigMs = 0;
  let failN = 0;
  let failErr: FaultError = { code: '150', descr: 'injected failure' };
  let configSeen = 0;

  const view = (mo: Mo): MoView => ({ classId: mo.classId, dn: mo.dn, attrs: sortedAttrs(fullAttrs(tree, mo)) });

  const treeApi: EmulatorTree = {
    get: (dn) => {
      const mo = tree.get(dn);
      return mo ? view(mo) : undefined;
    },
    list: (classId) => tree.byClass(classId).map(view),
    children: (dn) => tree.childrenOf(dn).map(view),
    put: (mo) => tree.set({ classId: mo.classId, dn: mo.dn, attrs: { ...(mo.attrs ?? {}) } }),
    remove: (dn) => tree.delete(dn).length > 0,
  };

  seedDefaults(treeApi, version, opts.systemName ?? 'ucsm-emulator', opts.address ?? '127.0.0.1');
  opts.seed?.(treeApi);

  // ---------------------------------------------------------------- sessions

  const newCookie = (): string => `${Math.floor(now() / 1000)}/${randomUUID()}`;

  /** The live session of a cookie, refreshing its idle timer; undefined when unknown or expired. */
  function liveSession(cookie: string | undefined, touch = true): Session | undefined {
    if (!cookie) return undefined;
    const s = sessions.get(cookie);
    if (!s) return undefined;
    if (now() - s.lastUsed > idleExpiryMs) {
      sessions.delete(cookie);
      return undefined;
    }
    if (touch) s.lastUsed = now();
    return s;
  }

  // ---------------------------------------------------------------- rendering

  function renderMo(mo: Mo, hier: boolean, nested: boolean, extra: Record<string, string> = {}): El {
    const attrs = fullAttrs(tree, mo);
    if (nested) {
      delete attrs['dn'];
      attrs['rn'] = lastRn(mo.dn);
    }
    Object.assign(attrs, extra);
    const children = hier ? tree.childrenOf(mo.dn).map((c) => renderMo(c, true, true)) : [];
    return el(mo.classId, sortedAttrs(attrs), children);
  }

  const ok = (method: string, echo: Record<string, string>, cookie: string, outs: Record<string, string>, children: El[] = []): El =>
    el(method, { ...echo, cookie, response: 'yes', ...outs }, children);

  // ---------------------------------------------------------------- handlers

  function handleLogin(req: El): El {
    const name = req.attrs['inName']!;
    const pw = req.attrs['inPassword']!;
    if (!Object.hasOwn(users, name) || users[name] !== pw) throw new MethodError('551', 'Authentication failed');
    const cookie = newCookie();
    const sessionId = `web_${++sessionSeq}_A`;
    sessions.set(cookie, { user: name, lastUsed: now(), sessionId });
    return ok('aaaLogin', {}, '', {
      outCookie: cookie,
      outRefreshPeriod: String(refreshPeriodS),
      outPriv: 'admin,read-only',
      outDomains: '',
      outChannel: 'noencssl',
      outEvtChannel: 'noencssl',
      outSessionId: sessionId,
      outVersion: version,
      outName: name,
      outPasswdExpiryStatus: 'None',
      outPasswdExpiryDuration: '0',
    });
  }

  function handleRefresh(req: El): El {
    const old = req.attrs['inCookie']!;
    const s = liveSession(old, false);
    if (!s) throw authRequired();
    const name = req.attrs['inName'];
    const pw = req.attrs['inPassword'];
    if ((name !== undefined && name !== s.user) || (pw !== undefined && users[s.user] !== pw)) {
      throw new MethodError('551', 'Authentication failed');
    }
    sessions.delete(old);
    const cookie = newCookie();
    sessions.set(cookie, { ...s, lastUsed: now() });
    return ok('aaaRefresh', {}, old, {
      outCookie: cookie,
      outRefreshPeriod: String(refreshPeriodS),
      outPriv: 'admin,read-only',
      outDomains: '',
      outChannel: 'noencssl',
      outEvtChannel: 'noencssl',
      outName: s.user,
    });
  }

  function handleLogout(req: El): El {
    const cookie = req.attrs['inCookie']!;
    if (!liveSession(cookie, false)) throw new MethodError('555', 'Session not found');
    sessions.delete(cookie);
    return ok('aaaLogout', {}, '', { outStatus: 'success' });
  }

  function filterOf(req: El): Predicate | undefined {
    const f = req.children.find((c) => c.name === 'inFilter');
    if (f) checkAttrs(f, []);
    try {
      return compileInFilter(f);
    } catch (e) {
      if (e instanceof FilterError) throw new ParseError(`XML PARSING ERROR: ${e.message}`);
      throw e;
    }
  }

  const matches = (pred: Predicate | undefined, mo: Mo): boolean => !pred || pred(mo.classId, fullAttrs(tree, mo));

  function valuesOf(req: El, container: string, item: string): string[] {
    const c = req.children.find((x) => x.name === container);
    if (!c) return [];
    checkAttrs(c, []);
    checkChildren(c, [item]);
    return c.children.map((x) => {
      checkAttrs(x, ['value'], ['value']);
      return x.attrs['value']!;
    });
  }

  function handleQuery(method: string, req: El, cookie: string): El {
    const hier = hierarchical(req);
    switch (method) {
      case 'configResolveDn': {
        const dn = req.attrs['dn']!;
        const mo = tree.get(dn);
        return ok(method, { dn }, cookie, {}, [el('outConfig', {}, mo ? [renderMo(mo, hier, false)] : [])]);
      }
      case 'configResolveDns': {
        const found: El[] = [];
        const missing: El[] = [];
        for (const dn of valuesOf(req, 'inDns', 'dn')) {
          const mo = tree.get(dn);
          if (mo) found.push(renderMo(mo, hier, false));
          else missing.push(el('dn', { value: dn }));
        }
        return ok(method, {}, cookie, {}, [el('outConfigs', {}, found), el('outUnresolved', {}, missing)]);
      }
      case 'configResolveClass': {
        const classId = req.attrs['classId']!;
        const pred = filterOf(req);
        const mos = tree.byClass(classId).filter((m) => matches(pred, m));
        return ok(method, {}, cookie, { classId }, [el('outConfigs', {}, mos.map((m) => renderMo(m, hier, false)))]);
      }
      case 'configResolveClasses': {
        const mos = valuesOf(req, 'inIds', 'classId').flatMap((c) => tree.byClass(c));
        return ok(method, {}, cookie, {}, [el('outConfigs', {}, mos.map((m) => renderMo(m, hier, false)))]);
      }
      default: {
        // configResolveChildren
        const inDn = req.attrs['inDn']!;
        const classId = req.attrs['classId'];
        const pred = filterOf(req);
        const mos = tree.childrenOf(inDn).filter((m) => (!classId || m.classId === classId) && matches(pred, m));
        const echo: Record<string, string> = classId ? { classId } : {};
        return ok(method, {}, cookie, { ...echo, inDn }, [el('outConfigs', {}, mos.map((m) => renderMo(m, hier, false)))]);
      }
    }
  }

  // ---------------------------------------------------------------- changes

  interface Applied {
    dn: string;
    classId: string;
    status: 'created' | 'modified' | 'deleted';
    /** For deletions: the attributes to echo. */
    snapshot?: Record<string, string>;
  }

  function validateWrite(schema: ClassSchema | undefined, dn: string, attrs: Record<string, string>, existing: Mo | undefined): void {
    if (!schema) return;
    const writable = Object.keys(attrs).filter((k) => schema.props[k]?.access !== 'naming');
    if (schema.readOnly && writable.length > 0) {
      throw invalid(`object ${dn} of class ${schema.classId} cannot be modified (property '${writable[0]}')`);
    }
    for (const [k, v] of Object.entries(attrs)) {
      const rule = schema.props[k]!;
      if (rule.access === 'naming') continue;
      if (rule.access === 'ro') throw invalid(`property '${k}' of class ${schema.classId} is read-only (${dn})`);
      if (rule.access === 'co' && existing) {
        const current = existing.attrs[k] ?? schema.defaults?.[k];
        if (current !== v) throw invalid(`property '${k}' of class ${schema.classId} can only be set when the object is created (${dn})`);
      }
      const bad = checkValue(rule, v);
      if (bad !== undefined) throw invalid(`invalid value '${v}' for property '${k}' of class ${schema.classId} (${dn}); expected ${bad}`);
    }
  }

  function applyMo(
    e: El,
    ctx: { parent?: string; key?: string },
    touched: Set<string>,
  ): Applied {
    const schema = SCHEMAS[e.name];
    const given = { ...e.attrs };
    const status = new Set((given['status'] ?? '').split(',').filter(Boolean));
    // ---- the DN
    let dn = given['dn'];
    if (dn === undefined && ctx.parent !== undefined) {
      const rn = given['rn'] ?? (schema ? rnFromNaming(schema, given) : undefined);
      if (rn === undefined) throw missingAttr('dn');
      dn = joinDn(ctx.parent, rn);
    }
    if (dn === undefined) dn = ctx.key;
    if (dn === undefined || dn === '') throw missingAttr('dn');
    if (ctx.parent !== undefined && parentDn(dn) !== ctx.parent) throw invalid(`dn ${dn} is not a child of ${ctx.parent}`);
    if (ctx.key !== undefined && dn !== ctx.key) throw invalid(`pair key '${ctx.key}' does not match dn '${dn}'`);
    delete given['dn'];
    delete given['rn'];
    delete given['status'];
    // ---- naming
    const naming: Record<string, string> = {};
    if (schema) {
      const parsed = namingFromRn(schema, lastRn(dn));
      if (!parsed) throw invalid(`rn '${lastRn(dn)}' of ${dn} does not follow the naming rule '${schema.rn}' of class ${schema.classId}`);
      for (const p of namingProps(schema)) {
        const v = parsed[p]!;
        if (given[p] !== undefined && given[p] !== v) throw invalid(`naming property '${p}'='${given[p]}' contradicts dn ${dn}`);
        const bad = checkValue(schema.props[p]!, v);
        if (bad !== undefined) throw invalid(`invalid value '${v}' for naming property '${p}' of class ${schema.classId} (${dn}); expected ${bad}`);
        naming[p] = v;
      }
    }
    const existing = tree.get(dn);
    if (existing && existing.classId !== e.name) throw invalid(`object ${dn} exists with class ${existing.classId}, not ${e.name}`);
    // ---- delete
    if (status.has('deleted') || status.has('removed')) {
      if (existing) {
        if ((schema && !schema.deletable) || UNDELETABLE.has(dn)) throw invalid(`object ${dn} of class ${e.name} cannot be deleted`);
        const snapshot = fullAttrs(tree, existing);
        tree.delete(dn);
        return { dn, classId: e.name, status: 'deleted', snapshot };
      }
      if (deleteMissing === 'error-102') throw notFound(dn);
      return { dn, classId: e.name, status: 'deleted', snapshot: { ...given, ...naming, dn } };
    }
    // ---- modify
    let result: Applied;
    if (existing) {
      if (status.has('created') && !status.has('modified')) throw new MethodError('103', "can't create; object already exists.");
      validateWrite(schema, dn, given, existing);
      tree.set({ classId: e.name, dn, attrs: { ...existing.attrs, ...given } });
      result = { dn, classId: e.name, status: 'modified' };
    } else {
      // ---- create
      if (status.has('modified') && !status.has('created')) throw notFound(dn);
      const pdn = parentDn(dn);
      const parent = pdn === '' ? undefined : tree.get(pdn);
      if (pdn !== '' && !parent) throw notFound(pdn);
      const parentClass = parent?.classId ?? 'topRoot';
      if (!schema || !schema.creatableUnder.includes(parentClass)) {
        throw new MethodError('105', `Cannot create non-creatable object of class:${e.name} under ${parentClass}`);
      }
      validateWrite(schema, dn, given, undefined);
      for (const r of schema.required ?? []) {
        if (given[r] === undefined) throw invalid(`property '${r}' is required to create ${schema.classId} ${dn}`);
      }
      tree.set({ classId: e.name, dn, attrs: { ...naming, ...given } });
      result = { dn, classId: e.name, status: 'created' };
    }
    touched.add(dn);
    for (const c of e.children) applyMo(c, { parent: dn }, touched);
    return result;
  }

  /** Apply MOs as one transaction; returns what happened to each top-level MO. */
  function applyAll(items: { key?: string; mo: El }[]): Applied[] {
    tree.begin();
    try {
      const touched = new Set<string>();
      const out = items.map(({ key, mo }) => applyMo(mo, { key }, touched));
      // The reserved block first (a VLAN check reads it), then everything else.
      const order = [...touched].sort((a, b) => Number(tree.get(b)?.classId === 'fabricReservedVlan') - Number(tree.get(a)?.classId === 'fabricReservedVlan'));
      for (const dn of order) {
        const mo = tree.get(dn);
        const schema = mo ? SCHEMAS[mo.classId] : undefined;
        if (!mo || !schema?.check) continue;
        const eff = { ...(schema.defaults ?? {}), ...mo.attrs };
        const err = schema.check(eff, dn, tree);
        if (err) throw invalid(err);
      }
      tree.commit();
      return out;
    } catch (err) {
      tree.rollback();
      throw err;
    }
  }

  function renderApplied(a: Applied, hier: boolean): El {
    if (a.status === 'deleted') {
      return el(a.classId, sortedAttrs({ ...a.snapshot, status: 'deleted' }));
    }
    return renderMo(tree.get(a.dn)!, hier, false, { status: a.status });
  }

  /** Parse-level shape of a config request: returns the MOs to apply. */
  function configItems(method: string, req: El): { key?: string; mo: El }[] {
    if (method === 'configConfMo') {
      const inConfig = req.children.find((c) => c.name === 'inConfig');
      if (!inConfig) throw new ParseError('XML PARSING ERROR: Required inConfig element missing in the xml request. ');
      checkAttrs(inConfig, []);
      if (inConfig.children.length !== 1) throw new ParseError('XML PARSING ERROR: inConfig must hold exactly one managed object');
      const mo = inConfig.children[0]!;
      checkMoElement(mo);
      const dn = req.attrs['dn'];
      return [{ ...(dn !== undefined ? { key: dn } : {}), mo }];
    }
    const inConfigs = req.children.find((c) => c.name === 'inConfigs');
    if (!inConfigs) throw new ParseError('XML PARSING ERROR: Required inConfigs element missing in the xml request. ');
    checkAttrs(inConfigs, []);
    checkChildren(inConfigs, ['pair']);
    return inConfigs.children.map((pair) => {
      checkAttrs(pair, ['key'], ['key']);
      if (pair.children.length !== 1) throw new ParseError(`XML PARSING ERROR: pair '${pair.attrs['key']}' must hold exactly one managed object`);
      const mo = pair.children[0]!;
      checkMoElement(mo);
      return { key: pair.attrs['key']!, mo };
    });
  }

  // ---------------------------------------------------------------- dispatch

  function handle(body: string): string {
    let req: El;
    try {
      req = parseXml(body);
    } catch (e) {
      if (e instanceof XmlSyntaxError) return parseErrorXml(`XML PARSING ERROR: ${e.message}`);
      throw e;
    }
    const method = req.name;
    const echo: Record<string, string> = method === 'configResolveDn' && req.attrs['dn'] !== undefined ? { dn: req.attrs['dn'] } : {};
    const cookie = req.attrs['cookie'] ?? '';
    try {
      const spec = METHODS[method];
      if (!spec) throw new ParseError(`XML PARSING ERROR: unknown element '${method}'`);
      checkAttrs(req, spec.attrs, spec.required);
      checkChildren(req, spec.children ?? []);
      if (method === 'aaaLogin') return buildXml(handleLogin(req));
      if (method === 'aaaRefresh') return buildXml(handleRefresh(req));
      if (method === 'aaaLogout') return buildXml(handleLogout(req));
      if (CONFIG_METHODS.has(method)) {
        const items = configItems(method, req);
        const hier = hierarchical(req);
        if (!liveSession(cookie)) throw authRequired();
        configSeen++;
        if (failN > 0 && configSeen % failN === 0) {
          throw new MethodError(failErr.code, failErr.descr, failErr.invocationResult ?? 'unidentified-fail');
        }
        const applied = applyAll(items);
        if (method === 'configConfMo') {
          const dnEcho: Record<string, string> = req.attrs['dn'] !== undefined ? { dn: req.attrs['dn'] } : {};
          return buildXml(ok(method, dnEcho, cookie, {}, [el('outConfig', {}, [renderApplied(applied[0]!, hier)])]));
        }
        const pairs = applied.map((a, i) => el('pair', { key: items[i]!.key! }, [renderApplied(a, hier)]));
        return buildXml(ok(method, {}, cookie, {}, [el('outConfigs', {}, pairs)]));
      }
      hierarchical(req);
      if (!liveSession(cookie)) throw authRequired();
      return buildXml(handleQuery(method, req, cookie));
    } catch (e) {
      if (e instanceof ParseError) return parseErrorXml(e.descr);
      if (e instanceof MethodError) {
        const ck = method === 'aaaLogin' || method === 'aaaLogout' ? '' : method === 'aaaRefresh' ? (req.attrs['inCookie'] ?? '') : cookie;
        return buildXml(
          el(method, { ...echo, cookie: ck, response: 'yes', errorCode: e.code, invocationResult: e.invocationResult, errorDescr: e.descr }),
        );
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- HTTP

  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String((err as Error)?.stack ?? err));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/nuova') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'POST' }).end('method not allowed\n');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    total++;
    const method = sniffMethod(body);
    counts[method] = (counts[method] ?? 0) + 1;
    if (dropRemaining > 0) {
      dropRemaining--;
      dropped++;
      req.socket.destroy();
      return;
    }
    const xml = handle(body);
    const wait = delayMs + (CONFIG_METHODS.has(method) ? delayConfigMs : 0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
    res.end(xml);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${opts.host ?? '127.0.0.1'}:${addr.port}`;

  const faults: Faults = {
    dropNext(n = 1) {
      dropRemaining += n;
    },
    get delayMs() {
      return delayMs;
    },
    set delayMs(v: number) {
      delayMs = v;
    },
    get delayConfigMs() {
      return delayConfigMs;
    },
    set delayConfigMs(v: number) {
      delayConfigMs = v;
    },
    failEvery(n: number, err?: FaultError) {
      failN = n;
      configSeen = 0;
      if (err) failErr = err;
    },
    expireAllSessions() {
      sessions.clear();
    },
    reset() {
      dropRemaining = 0;
      delayMs = 0;
      delayConfigMs = 0;
      failN = 0;
      configSeen = 0;
    },
  };

  async function post(xml: string): Promise<string> {
    const r = await fetch(`${url}/nuova`, { method: 'POST', body: xml, headers: { 'Content-Type': 'application/xml' } });
    return r.text();
  }

  return {
    url,
    port: addr.port,
    get counts() {
      return counts;
    },
    get total() {
      return total;
    },
    get dropped() {
      return dropped;
    },
    faults,
    sessions: () => [...sessions.keys()],
    resetCounts() {
      counts = {};
      total = 0;
      dropped = 0;
    },
    ...treeApi,
    post,
    async login(user = Object.keys(users)[0] ?? 'admin', password = users[user] ?? '') {
      const body = await post(buildXml(el('aaaLogin', { inName: user, inPassword: password })));
      const m = /outCookie="([^"]+)"/.exec(body);
      if (!m) throw new Error(`login failed: ${body}`);
      return m[1]!;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function parseErrorXml(descr: string): string {
  return buildXml(el('error', { cookie: '', response: 'yes', errorCode: 'ERR-xml-parse-error', invocationResult: '594', errorDescr: descr }));
}

/** The root element name of a request, for the counters (even when the XML is broken). */
function sniffMethod(body: string): string {
  const stripped = body.replace(/<\?[\s\S]*?\?>/g, '').replace(/<!--[\s\S]*?-->/g, '');
  const m = /<\s*([A-Za-z_][\w.-]*)/.exec(stripped);
  return m ? m[1]! : '<invalid>';
}

function seedDefaults(t: EmulatorTree, version: string, name: string, address: string): void {
  t.put({ classId: 'topSystem', dn: 'sys', attrs: { name, address } });
  t.put({ classId: 'firmwareRunning', dn: 'sys/fw-system', attrs: { version, packageVersion: version } });
  for (const [id, ip] of [['A', '10.0.0.11'], ['B', '10.0.0.12']] as const) {
    t.put({ classId: 'networkElement', dn: `sys/switch-${id}`, attrs: { oobIfIp: ip, oobIfMask: '255.255.255.0', oobIfGw: '10.0.0.1' } });
  }
  t.put({ classId: 'fabricEp', dn: 'fabric' });
  t.put({ classId: 'fabricLanCloud', dn: 'fabric/lan' });
  t.put({ classId: 'fabricEthLan', dn: 'fabric/lan/A' });
  t.put({ classId: 'fabricEthLan', dn: 'fabric/lan/B' });
  t.put({ classId: 'vnicProfileSet', dn: 'fabric/lan/profiles' });
  t.put({ classId: 'fabricReservedVlan', dn: 'fabric/lan/fab-reserved-vlans' });
  t.put({ classId: 'fabricVlan', dn: 'fabric/lan/net-default', attrs: { id: '1' } });
  t.put({ classId: 'qosclassDefinition', dn: 'fabric/lan/classes' });
  t.put({ classId: 'qosclassEthBE', dn: 'fabric/lan/classes/class-best-effort' });
  for (const [prio, cos] of [['platinum', '5'], ['gold', '4'], ['silver', '2'], ['bronze', '1']] as const) {
    t.put({ classId: 'qosclassEthClassified', dn: `fabric/lan/classes/class-${prio}`, attrs: { cos } });
  }
  t.put({ classId: 'orgOrg', dn: 'org-root' });
}

// A session with one UCS Manager over its XML API (POST /nuova): aaaLogin / aaaRefresh (before the
// refresh period runs out; the old cookie dies at once) / aaaLogout, a new login on 552, TLS verified
// by default, errors that arrive as HTTP 200 with errorCode classified.
import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { BackendError, type ErrorClass } from '../../api/errors.ts';
import { el, faultOf, filterNode, outMos, parseXml, toXml, type Filter, type Mo, type UcsmFault, type XmlNode } from './xml.ts';

/** undici, loaded when the first client is made: a process without this backend never loads it. */
let undici: typeof Undici | undefined;
const http = (): typeof Undici => (undici ??= createRequire(import.meta.url)('undici') as typeof Undici);

export interface UcsmClientOptions {
  endpoint: string;
  username: string;
  password: string;
  tls: { ca?: string; serverName?: string; insecureSkipVerify: boolean };
  timeoutMs: number;
  log: Logger;
  now?: () => number;
}

/** Classifies a UCSM error code once, here. */
export function classifyUcsm(code: string): ErrorClass {
  switch (code) {
    case '102':
      return 'NotFound'; // configured object not found
    case '103':
      return 'Conflict'; // already exists
    case '552':
      return 'Transient'; // authorization required (session gone): a new login is tried first
    default:
      return 'Terminal'; // 551 bad credentials, 105, 150, ERR-xml-parse-error, value errors
  }
}

export function ucsmError(f: UcsmFault, what: string): BackendError {
  return new BackendError(classifyUcsm(f.code), `${what}: UCSM error ${f.code}: ${f.descr}`, { code: f.code });
}

export class UcsmClient {
  /** Requests sent, by method name (for benchmarks and tests). */
  readonly counts: Record<string, number> = {};
  total = 0;
  readonly #o: UcsmClientOptions;
  readonly #url: string;
  readonly #dispatcher: Dispatcher;
  #cookie: string | undefined;
  #issuedAt = 0;
  #refreshPeriodS = 600;
  #sessionPending: Promise<void> | undefined;
  #closed = false;
  version: string | undefined;

  constructor(o: UcsmClientOptions) {
    this.#o = o;
    this.#url = `${o.endpoint.replace(/\/+$/, '')}/nuova`;
    this.#dispatcher = new (http().Agent)({
      connect: {
        rejectUnauthorized: !o.tls.insecureSkipVerify,
        ...(o.tls.ca ? { ca: o.tls.ca } : {}),
        ...(o.tls.serverName ? { servername: o.tls.serverName } : {}),
      },
    });
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  /** Posts one document; resolves with the root element (faults included — the caller classifies). */
  async #post(doc: XmlNode, signal?: AbortSignal): Promise<XmlNode> {
    this.counts[doc.tag] = (this.counts[doc.tag] ?? 0) + 1;
    this.total++;
    let res;
    try {
      res = await http().fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/xml' },
        body: toXml(doc),
        signal: AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), ...(signal ? [signal] : [])]),
        dispatcher: this.#dispatcher,
      });
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
      const code = e.cause?.code ?? '';
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ALTNAME/i.test(code)) {
        throw new BackendError('Terminal', `UCSM ${doc.tag}: TLS verification failed: ${e.cause?.message ?? e.message} (set tls.caBundle/caFile)`, { code });
      }
      throw new BackendError('Transient', `UCSM ${doc.tag}: ${e.name === 'TimeoutError' ? `no answer within ${this.#o.timeoutMs} ms` : (e.cause?.message ?? e.message ?? String(err))}`, { code: code || 'Network' });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new BackendError('Transient', `UCSM ${doc.tag}: the answer broke off: ${(err as Error).message}`);
    }
    if (!res.ok) throw new BackendError(res.status >= 500 ? 'Transient' : 'Terminal', `UCSM ${doc.tag}: HTTP ${res.status}`);
    try {
      return parseXml(text);
    } catch (err) {
      throw new BackendError('Transient', `UCSM ${doc.tag}: the answer is not XML: ${(err as Error).message}`);
    }
  }

  /** Logs in (or refreshes, when the session is near the end of its refresh period). One at a time. */
  async #session(signal?: AbortSignal): Promise<string> {
    const age = (this.#now() - this.#issuedAt) / 1000;
    const due = Math.max(60, this.#refreshPeriodS - 60);
    if (this.#cookie && age < due) return this.#cookie;
    this.#sessionPending ??= (this.#cookie ? this.#refresh(signal) : this.#login(signal)).finally(() => {
      this.#sessionPending = undefined;
    });
    await this.#sessionPending;
    return this.#cookie!;
  }

  #adopt(root: XmlNode): void {
    const cookie = root.attrs.outCookie;
    if (!cookie) throw new BackendError('Transient', `UCSM ${root.tag}: no outCookie in the answer`);
    this.#cookie = cookie;
    this.#issuedAt = this.#now();
    const period = Number(root.attrs.outRefreshPeriod);
    if (Number.isFinite(period) && period > 0) this.#refreshPeriodS = period;
    if (root.attrs.outVersion) this.version = root.attrs.outVersion;
  }

  async #login(signal?: AbortSignal): Promise<void> {
    const root = await this.#post(el('aaaLogin', { inName: this.#o.username, inPassword: this.#o.password }), signal);
    const f = faultOf(root);
    // 551 marks refused credentials: the Provider says CredentialsError (provider.controller.ts credentialsRefused).
    if (f) throw f.code === '551' ? new BackendError('Terminal', 'UCSM refused the credentials (551 Authentication failed)', { code: '551' }) : ucsmError(f, 'aaaLogin');
    this.#adopt(root);
    this.#o.log.debug({ refreshPeriodS: this.#refreshPeriodS, version: this.version }, 'UCSM session opened');
  }

  async #refresh(signal?: AbortSignal): Promise<void> {
    const root = await this.#post(el('aaaRefresh', { inName: this.#o.username, inPassword: this.#o.password, inCookie: this.#cookie! }), signal);
    if (faultOf(root)) {
      this.#cookie = undefined; // the session is gone: log in again
      return this.#login(signal);
    }
    this.#adopt(root);
  }

  /** Calls a method with the session cookie; a 552 (session gone) gets one new login and one retry. */
  async call(method: string, attrs: Record<string, string>, children: XmlNode[] = [], signal?: AbortSignal): Promise<XmlNode> {
    for (let attempt = 0; ; attempt++) {
      const cookie = await this.#session(signal);
      const root = await this.#post(el(method, { cookie, ...attrs }, children), signal);
      const f = faultOf(root);
      if (f?.code === '552' && attempt === 0) {
        if (this.#cookie === cookie) this.#cookie = undefined; // expired or refreshed away: new login
        continue;
      }
      if (f) throw ucsmError(f, method);
      if (root.tag === 'error') throw new BackendError('Terminal', `UCSM ${method}: ${root.attrs.errorDescr ?? 'error'}`);
      return root;
    }
  }

  async resolveDns(dns: readonly string[], hierarchical: boolean, signal?: AbortSignal): Promise<Map<string, Mo>> {
    const root = await this.call('configResolveDns', { inHierarchical: String(hierarchical) }, [el('inDns', {}, dns.map((dn) => el('dn', { value: dn })))], signal);
    return new Map(outMos(root).map((m) => [m.attrs.dn!, m]));
  }

  async resolveDn(dn: string, hierarchical: boolean, signal?: AbortSignal): Promise<Mo | undefined> {
    const root = await this.call('configResolveDn', { dn, inHierarchical: String(hierarchical) }, [], signal);
    return outMos(root)[0];
  }

  async resolveClass(classId: string, filter: Filter | undefined, hierarchical: boolean, signal?: AbortSignal): Promise<Mo[]> {
    const children = filter ? [el('inFilter', {}, [filterNode(filter)])] : [];
    return outMos(await this.call('configResolveClass', { classId, inHierarchical: String(hierarchical) }, children, signal));
  }

  /** One configConfMos for all the MOs (one pair per top-level MO); resolves with the MOs as UCSM returned them,
   *  with their children (inHierarchical): a port profile's state is its VLAN and client as much as its own attributes. */
  async confMos(mos: readonly Mo[], signal?: AbortSignal): Promise<Mo[]> {
    const pairs = mos.map((m) => el('pair', { key: m.attrs.dn! }, [moNode(m)]));
    return outMos(await this.call('configConfMos', { inHierarchical: 'true' }, [el('inConfigs', {}, pairs)], signal));
  }

  async logout(): Promise<void> {
    if (!this.#cookie) return;
    const cookie = this.#cookie;
    this.#cookie = undefined;
    try {
      const root = await this.#post(el('aaaLogout', { inCookie: cookie }));
      const f = faultOf(root);
      if (f && f.code !== '555') this.#o.log.warn({ code: f.code }, 'UCSM logout failed');
    } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'UCSM logout failed');
    }
  }

  async close(): Promise<void> {
    await this.logout();
    if (this.#closed) return; // undici rejects a second close with ClientDestroyedError
    this.#closed = true;
    await this.#dispatcher.close();
  }

  /** Test hook: the current cookie (never logged). */
  get cookie(): string | undefined {
    return this.#cookie;
  }
}

function moNode(m: Mo): XmlNode {
  return el(m.classId, m.attrs, m.children.map(moNode));
}

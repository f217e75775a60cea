// Behaviour of the UCSM emulator itself: sessions, queries and filters,
// change semantics, validation, all-or-nothing, faults, counters, HTTP.

import { afterEach, describe, expect, it } from 'vitest';
import { type EmulatorOptions, type UcsmEmulator, startEmulator } from './emulator.ts';
import { COOKIE_RE, ERROR_ATTRS, child, confMos, names, outline, pick, xml } from './testutil.ts';
import type { El } from './xml.ts';

const running: UcsmEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function setup(opts: EmulatorOptions = {}): Promise<{ emu: UcsmEmulator; cookie: string; post: (b: string) => Promise<El> }> {
  const emu = await startEmulator(opts);
  running.push(emu);
  const cookie = await emu.login();
  return { emu, cookie, post: async (b) => xml(await emu.post(b)) };
}

const err = (e: El): Record<string, string | undefined> => pick(e, ['errorCode', 'errorDescr']);
const okNoError = (e: El): void => {
  for (const a of ERROR_ATTRS) expect(e.attrs, JSON.stringify(e.attrs)).not.toHaveProperty(a);
};
const outMos = (e: El): El[] => child(e, 'outConfigs').children;
const pairMo = (e: El, i = 0): El => outMos(e)[i]!.children[0]!;
const resolveDn = (cookie: string, dn: string, hier = false): string => `<configResolveDn cookie="${cookie}" dn="${dn}" inHierarchical="${hier}" />`;
const resolveClass = (cookie: string, classId: string, filter = '', hier = false): string =>
  `<configResolveClass cookie="${cookie}" classId="${classId}" inHierarchical="${hier}">${filter ? `<inFilter>${filter}</inFilter>` : ''}</configResolveClass>`;
const vlanXml = (name: string, id: number | string, extra = '', status = 'created'): string =>
  `<fabricVlan dn="fabric/lan/net-${name}" name="${name}" id="${id}" ${extra} status="${status}" />`;

describe('sessions', () => {
  it('login issues <epoch>/<uuid> cookies with the configured period and version; bad credentials are 551', async () => {
    const t = Date.UTC(2030, 0, 1) ;
    const { emu, post } = await setup({ users: { ops: 's3cret' }, refreshPeriodS: 120, version: '4.1(3i)', now: () => t });
    const r = await post('<aaaLogin inName="ops" inPassword="s3cret" />');
    expect(r.attrs['outCookie']).toMatch(COOKIE_RE);
    expect(r.attrs['outCookie']!.split('/')[0]).toBe(String(t / 1000));
    expect(pick(r, ['outRefreshPeriod', 'outVersion', 'outName', 'outPriv'])).toEqual({
      outRefreshPeriod: '120',
      outVersion: '4.1(3i)',
      outName: 'ops',
      outPriv: 'admin,read-only',
    });
    expect(emu.get('sys/fw-system')?.attrs['version']).toBe('4.1(3i)');
    expect(err(await post('<aaaLogin inName="admin" inPassword="password" />'))).toEqual({ errorCode: '551', errorDescr: 'Authentication failed' });
    expect(err(await post('<aaaLogin inName="ops" inPassword="S3CRET" />'))).toEqual({ errorCode: '551', errorDescr: 'Authentication failed' });
    expect(err(await post('<aaaLogin inName="toString" inPassword="" />'))).toEqual({ errorCode: '551', errorDescr: 'Authentication failed' });
    expect(emu.sessions()).toHaveLength(2); // emu.login() in setup and the one above
  });

  it('every other method needs a live cookie: missing, empty or unknown → 552 service-unavailable', async () => {
    const { post } = await setup();
    for (const c of ['', ' cookie=""', ' cookie="1/abc"']) {
      const r = await post(`<configResolveClass classId="orgOrg" inHierarchical="false"${c} />`);
      expect(pick(r, ['errorCode', 'invocationResult', 'errorDescr'])).toEqual({
        errorCode: '552',
        invocationResult: 'service-unavailable',
        errorDescr: 'Authorization required',
      });
      expect(r.children).toEqual([]);
    }
  });

  it('refresh: new cookie, old one dead at once; wrong password 551; unknown cookie 552; inName optional', async () => {
    const { emu, cookie, post } = await setup();
    const r = await post(`<aaaRefresh inCookie="${cookie}" inName="admin" inPassword="password" />`);
    const fresh = r.attrs['outCookie']!;
    expect(fresh).toMatch(COOKIE_RE);
    expect(fresh).not.toBe(cookie);
    expect(r.attrs['cookie']).toBe(cookie);
    expect(err(await post(resolveDn(cookie, 'sys')))).toEqual({ errorCode: '552', errorDescr: 'Authorization required' });
    okNoError(await post(resolveDn(fresh, 'sys')));
    expect(emu.sessions()).toEqual([fresh]);
    expect(err(await post(`<aaaRefresh inCookie="${fresh}" inName="admin" inPassword="bad" />`))).toEqual({ errorCode: '551', errorDescr: 'Authentication failed' });
    expect(emu.sessions()).toEqual([fresh]); // a failed refresh keeps the session
    expect(err(await post(`<aaaRefresh inCookie="${cookie}" inName="admin" inPassword="password" />`))).toEqual({ errorCode: '552', errorDescr: 'Authorization required' });
    const bare = await post(`<aaaRefresh cookie="${fresh}" inCookie="${fresh}" />`);
    okNoError(bare);
    expect(bare.attrs['outCookie']).toMatch(COOKIE_RE);
  });

  it('logout kills the cookie; a second logout is 555', async () => {
    const { emu, cookie, post } = await setup();
    expect((await post(`<aaaLogout inCookie="${cookie}" inDelaySecs="10" />`)).attrs).toEqual({ cookie: '', response: 'yes', outStatus: 'success' });
    expect(emu.sessions()).toEqual([]);
    expect(err(await post(resolveDn(cookie, 'sys')))).toEqual({ errorCode: '552', errorDescr: 'Authorization required' });
    expect(err(await post(`<aaaLogout inCookie="${cookie}" />`))).toEqual({ errorCode: '555', errorDescr: 'Session not found' });
    expect((await post('<aaaLogout />')).attrs['errorDescr']).toBe('XML PARSING ERROR: Required inCookie attribute missing in the xml request. ');
  });

  it('idle cookies expire after idleExpiryS (injected clock); use keeps them alive', async () => {
    let now = 1_900_000_000_000;
    const { cookie, post } = await setup({ idleExpiryS: 600, now: () => now });
    now += 599_000;
    okNoError(await post(resolveDn(cookie, 'sys'))); // touches the session
    now += 599_000;
    okNoError(await post(resolveDn(cookie, 'sys')));
    now += 600_001;
    expect(err(await post(resolveDn(cookie, 'sys')))).toEqual({ errorCode: '552', errorDescr: 'Authorization required' });
    expect(err(await post(`<aaaLogout inCookie="${cookie}" />`))).toEqual({ errorCode: '555', errorDescr: 'Session not found' });
  });

  it('idle expiry by real time with small values', async () => {
    const { cookie, post } = await setup({ idleExpiryS: 0.15 });
    okNoError(await post(resolveDn(cookie, 'sys')));
    await new Promise((r) => setTimeout(r, 250));
    expect(err(await post(resolveDn(cookie, 'sys')))).toEqual({ errorCode: '552', errorDescr: 'Authorization required' });
    const { cookie: c2, post: p2 } = await setup({ idleExpiryS: 0.15 });
    await new Promise((r) => setTimeout(r, 250));
    expect(err(await p2(`<aaaRefresh inCookie="${c2}" inName="admin" inPassword="password" />`))).toEqual({ errorCode: '552', errorDescr: 'Authorization required' });
  });
});

describe('queries', () => {
  it('configResolveDn: the MO with its dn, or an empty outConfig; hierarchical nests children by rn', async () => {
    const { cookie, post } = await setup({ systemName: 'lab-fi', address: '10.1.2.3' });
    const sys = await post(resolveDn(cookie, 'sys'));
    okNoError(sys);
    expect(sys.attrs).toEqual({ dn: 'sys', cookie, response: 'yes' });
    expect(pick(child(child(sys, 'outConfig'), 'topSystem'), ['dn', 'name', 'address', 'mode'])).toEqual({
      dn: 'sys',
      name: 'lab-fi',
      address: '10.1.2.3',
      mode: 'cluster',
    });
    const missing = await post(resolveDn(cookie, 'fabric/lan/net-nope'));
    okNoError(missing);
    expect(outline(missing)).toBe('configResolveDn(outConfig)');
    const classes = await post(resolveDn(cookie, 'fabric/lan/classes', true));
    const def = child(child(classes, 'outConfig'), 'qosclassDefinition');
    expect(def.attrs['dn']).toBe('fabric/lan/classes');
    expect(def.children.map((c) => [c.name, c.attrs['rn'], c.attrs['dn']])).toEqual([
      ['qosclassEthBE', 'class-best-effort', undefined],
      ['qosclassEthClassified', 'class-platinum', undefined],
      ['qosclassEthClassified', 'class-gold', undefined],
      ['qosclassEthClassified', 'class-silver', undefined],
      ['qosclassEthClassified', 'class-bronze', undefined],
    ]);
    const flat = await post(resolveDn(cookie, 'fabric/lan/classes'));
    expect(child(child(flat, 'outConfig'), 'qosclassDefinition').children).toEqual([]);
  });

  it('configResolveDns: found ones in outConfigs, missing ones in outUnresolved', async () => {
    const { cookie, post } = await setup();
    const r = await post(
      `<configResolveDns cookie="${cookie}" inHierarchical="false"><inDns><dn value="org-root" /><dn value="fabric/lan/net-x" /><dn value="sys/switch-B" /></inDns></configResolveDns>`,
    );
    okNoError(r);
    expect(outMos(r).map((m) => [m.name, m.attrs['dn']])).toEqual([
      ['orgOrg', 'org-root'],
      ['networkElement', 'sys/switch-B'],
    ]);
    expect(child(r, 'outUnresolved').children).toEqual([{ name: 'dn', attrs: { value: 'fabric/lan/net-x' }, children: [] }]);
  });

  it('configResolveClasses and configResolveChildren (with and without classId and filter)', async () => {
    const { emu, cookie, post } = await setup();
    const r = await post(`<configResolveClasses cookie="${cookie}" inHierarchical="false"><inIds><classId value="orgOrg" /><classId value="networkElement" /></inIds></configResolveClasses>`);
    expect(outMos(r).map((m) => m.attrs['dn'])).toEqual(['org-root', 'sys/switch-A', 'sys/switch-B']);
    const all = await post(`<configResolveChildren cookie="${cookie}" inDn="fabric/lan" inHierarchical="false" />`);
    expect(outMos(all).map((m) => m.name)).toEqual(['fabricEthLan', 'fabricEthLan', 'vnicProfileSet', 'fabricReservedVlan', 'fabricVlan', 'qosclassDefinition']);
    const eth = await post(`<configResolveChildren cookie="${cookie}" classId="fabricEthLan" inDn="fabric/lan" inHierarchical="false" />`);
    expect(outMos(eth).map((m) => m.attrs['dn'])).toEqual(['fabric/lan/A', 'fabric/lan/B']);
    expect(eth.attrs).toEqual({ cookie, response: 'yes', classId: 'fabricEthLan', inDn: 'fabric/lan' });
    const filtered = await post(
      `<configResolveChildren cookie="${cookie}" classId="fabricEthLan" inDn="fabric/lan" inHierarchical="false"><inFilter><eq class="fabricEthLan" property="id" value="B" /></inFilter></configResolveChildren>`,
    );
    expect(outMos(filtered).map((m) => m.attrs['dn'])).toEqual(['fabric/lan/B']);
    const none = await post(`<configResolveChildren cookie="${cookie}" inDn="org-root/org-missing" inHierarchical="false" />`);
    okNoError(none);
    expect(outMos(none)).toEqual([]);
    emu.put({ classId: 'fabricVlan', dn: 'fabric/lan/A/net-a-only', attrs: { id: '77' } });
    const hier = await post(`<configResolveChildren cookie="${cookie}" classId="fabricEthLan" inDn="fabric/lan" inHierarchical="true" />`);
    expect(outMos(hier)[0]!.children.map((c) => pick(c, ['rn', 'switchId', 'dn']))).toEqual([{ rn: 'net-a-only', switchId: 'A', dn: undefined }]);
  });

  it('class queries return every MO with its full dn; unknown classes give an empty list', async () => {
    const { cookie, post } = await setup();
    const r = await post(resolveClass(cookie, 'networkElement'));
    expect(r.attrs).toEqual({ cookie, response: 'yes', classId: 'networkElement' });
    expect(outMos(r).map((m) => pick(m, ['dn', 'id', 'operability']))).toEqual([
      { dn: 'sys/switch-A', id: 'A', operability: 'operable' },
      { dn: 'sys/switch-B', id: 'B', operability: 'operable' },
    ]);
    expect(outMos(await post(resolveClass(cookie, 'noSuchClass')))).toEqual([]);
  });
});

describe('filters', () => {
  async function withVlans(): Promise<{ q: (f: string) => Promise<string[]>; post: (b: string) => Promise<El>; cookie: string }> {
    const { emu, cookie, post } = await setup();
    emu.remove('fabric/lan/net-default');
    const v = (name: string, id: string, extra: Record<string, string> = {}): void =>
      emu.put({ classId: 'fabricVlan', dn: `fabric/lan/net-${name}`, attrs: { id, ...extra } });
    v('nf-9', '9', { sharing: 'primary' });
    v('nf-10', '10');
    v('nf-100', '100', { mcastPolicyName: 'mc1' });
    v('other-200', '200', { sharing: 'isolated' });
    const q = async (f: string): Promise<string[]> => {
      const r = await post(resolveClass(cookie, 'fabricVlan', f));
      okNoError(r);
      return outMos(r).map((m) => m.attrs['name']!);
    };
    return { q, post, cookie };
  }
  const t = (op: string, prop: string, value: string, cls = 'fabricVlan'): string => `<${op} class="${cls}" property="${prop}" value="${value}" />`;

  it('comparisons: eq ne, and gt ge lt le numerically for numbers', async () => {
    const { q } = await withVlans();
    expect(await q(t('eq', 'id', '10'))).toEqual(['nf-10']);
    expect(await q(t('eq', 'id', '010'))).toEqual([]);
    expect(await q(t('ne', 'id', '10'))).toEqual(['nf-9', 'nf-100', 'other-200']);
    expect(await q(t('gt', 'id', '10'))).toEqual(['nf-100', 'other-200']); // 9 < 10 numerically, although "9" > "10" as strings
    expect(await q(t('ge', 'id', '10'))).toEqual(['nf-10', 'nf-100', 'other-200']);
    expect(await q(t('lt', 'id', '100'))).toEqual(['nf-9', 'nf-10']);
    expect(await q(t('le', 'id', '100'))).toEqual(['nf-9', 'nf-10', 'nf-100']);
    expect(await q(t('gt', 'name', 'nf-9'))).toEqual(['other-200']); // strings compare as strings
    expect(await q(t('eq', 'mcastPolicyName', ''))).toEqual(['nf-9', 'nf-10', 'other-200']); // defaults are filterable
    expect(await q(t('eq', 'operMcastPolicyName', 'org-root/mc-policy-mc1'))).toEqual(['nf-100']); // derived too
    expect(await q(t('eq', 'dn', 'fabric/lan/net-nf-9'))).toEqual(['nf-9']);
    expect(await q(t('eq', 'id', '10', 'vnicProfile'))).toEqual([]); // another class never matches
  });

  it('wcard is a regular-expression search', async () => {
    const { q } = await withVlans();
    expect(await q(t('wcard', 'name', 'nf-'))).toEqual(['nf-9', 'nf-10', 'nf-100']);
    expect(await q(t('wcard', 'name', '0$'))).toEqual(['nf-10', 'nf-100', 'other-200']);
    expect(await q(t('wcard', 'name', '-10'))).toEqual(['nf-10', 'nf-100']); // search, not full match
    expect(await q(t('wcard', 'name', '^nf-1[0-9]*$'))).toEqual(['nf-10', 'nf-100']);
    expect(await q(t('wcard', 'dn', 'fabric/lan/net-[A-Za-z]+-200'))).toEqual(['other-200']);
    expect(await q(t('wcard', 'name', '[Oo][Tt][Hh]'))).toEqual(['other-200']);
  });

  it('anybit/allbits on flag lists and numbers; bw is inclusive', async () => {
    const { q } = await withVlans();
    expect(await q(t('anybit', 'sharing', 'primary,isolated'))).toEqual(['nf-9', 'other-200']);
    expect(await q(t('allbits', 'sharing', 'primary,isolated'))).toEqual([]);
    expect(await q(t('allbits', 'sharing', 'isolated'))).toEqual(['other-200']);
    expect(await q(t('anybit', 'id', '8'))).toEqual(['nf-9', 'nf-10', 'other-200']); // 9=1001b 10=1010b 200=11001000b
    expect(await q(t('allbits', 'id', '9'))).toEqual(['nf-9']);
    expect(await q('<bw class="fabricVlan" property="id" firstValue="10" secondValue="100" />')).toEqual(['nf-10', 'nf-100']);
  });

  it('and, or, not nest freely', async () => {
    const { q } = await withVlans();
    expect(await q(`<and>${t('wcard', 'name', 'nf-')}${t('ne', 'id', '10')}</and>`)).toEqual(['nf-9', 'nf-100']);
    expect(await q(`<or>${t('eq', 'id', '9')}${t('eq', 'id', '200')}</or>`)).toEqual(['nf-9', 'other-200']);
    expect(await q(`<not>${t('wcard', 'name', 'nf-')}</not>`)).toEqual(['other-200']);
    expect(await q(`<not><or>${t('eq', 'sharing', 'primary')}<and>${t('gt', 'id', '50')}<not>${t('wcard', 'name', 'other')}</not></and></or></not>`)).toEqual([
      'nf-10',
      'other-200',
    ]);
  });

  it('broken filters are parse errors', async () => {
    const { post, cookie } = await setup();
    for (const [f, descr] of [
      ['<like class="fabricVlan" property="id" value="1" />', "XML PARSING ERROR: unknown filter element 'like'"],
      ['<eq class="fabricVlan" value="1" />', "XML PARSING ERROR: Required property attribute missing in filter element 'eq'"],
      ['<not />', "XML PARSING ERROR: filter element 'not' takes exactly one operand"],
    ] as const) {
      const r = await post(resolveClass(cookie, 'fabricVlan', f));
      expect(r.name).toBe('error');
      expect(pick(r, ['errorCode', 'invocationResult', 'errorDescr'])).toEqual({ errorCode: 'ERR-xml-parse-error', invocationResult: '594', errorDescr: descr });
    }
    const bad = await post(resolveClass(cookie, 'fabricVlan', '<wcard class="fabricVlan" property="name" value="(" />'));
    expect(bad.attrs['errorDescr']).toMatch(/^XML PARSING ERROR: invalid regular expression '\(' in wcard filter/);
  });
});

describe('changes', () => {
  it('create returns the full MO with status created; a second create is 103', async () => {
    const { emu, cookie, post } = await setup();
    const r = await post(confMos(cookie, [vlanXml('nf-1', 100)]));
    okNoError(r);
    expect(r.attrs).toEqual({ cookie, response: 'yes' });
    expect(outMos(r)[0]!.attrs).toEqual({ key: 'fabric/lan/net-nf-1' });
    const mo = pairMo(r);
    expect(mo.attrs).toEqual({ ...emu.get('fabric/lan/net-nf-1')!.attrs, status: 'created' });
    expect(pick(mo, ['id', 'name', 'sharing', 'switchId', 'operState', 'childAction'])).toEqual({
      id: '100',
      name: 'nf-1',
      sharing: 'none',
      switchId: 'dual',
      operState: 'ok',
      childAction: 'deleteNonPresent',
    });
    const dup = await post(confMos(cookie, [vlanXml('nf-1', 100)]));
    expect(pick(dup, ['errorCode', 'invocationResult', 'errorDescr'])).toEqual({
      errorCode: '103',
      invocationResult: 'unidentified-fail',
      errorDescr: "can't create; object already exists.",
    });
    expect(dup.children).toEqual([]);
  });

  it('created,modified upserts and reports what happened; modified on a missing MO is 102', async () => {
    const { emu, cookie, post } = await setup();
    const first = await post(confMos(cookie, [vlanXml('nf-2', 200, '', 'created,modified')]));
    expect(pairMo(first).attrs['status']).toBe('created');
    const second = await post(confMos(cookie, [vlanXml('nf-2', 201, 'sharing="primary"', 'created,modified')]));
    expect(pick(pairMo(second), ['status', 'id', 'sharing'])).toEqual({ status: 'modified', id: '201', sharing: 'primary' });
    const set = await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-nf-2" id="202" status="modified" />']));
    expect(pick(pairMo(set), ['status', 'id', 'sharing', 'name'])).toEqual({ status: 'modified', id: '202', sharing: 'primary', name: 'nf-2' });
    expect(emu.get('fabric/lan/net-nf-2')?.attrs['id']).toBe('202');
    const missing = await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-nf-3" id="300" status="modified" />']));
    expect(pick(missing, ['errorCode', 'invocationResult', 'errorDescr'])).toEqual({
      errorCode: '102',
      invocationResult: 'unidentified-fail',
      errorDescr: 'configured object (fabric/lan/net-nf-3) not found ',
    });
    const noStatus = await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-nf-4" id="400" />']));
    expect(pairMo(noStatus).attrs['status']).toBe('created');
  });

  it('deleted removes the subtree and echoes the MO; a missing MO is fine or 102 depending on deleteMissing', async () => {
    const { emu, cookie, post } = await setup();
    await post(confMos(cookie, [vlanXml('nf-5', 500)]));
    await post(confMos(cookie, ['<vnicProfile dn="fabric/lan/profiles/vnic-pp5" name="pp5" status="created"><vnicEtherIf dn="fabric/lan/profiles/vnic-pp5/if-nf-5" name="nf-5" /></vnicProfile>']));
    const del = await post(confMos(cookie, ['<vnicProfile name="pp5" status="deleted" dn="fabric/lan/profiles/vnic-pp5" />']));
    okNoError(del);
    expect(pick(pairMo(del), ['dn', 'name', 'status', 'maxPorts'])).toEqual({ dn: 'fabric/lan/profiles/vnic-pp5', name: 'pp5', status: 'deleted', maxPorts: '64' });
    expect(emu.get('fabric/lan/profiles/vnic-pp5')).toBeUndefined();
    expect(emu.get('fabric/lan/profiles/vnic-pp5/if-nf-5')).toBeUndefined();
    const again = await post(confMos(cookie, ['<vnicProfile name="pp5" status="deleted" dn="fabric/lan/profiles/vnic-pp5" />']));
    okNoError(again);
    expect(pairMo(again).attrs).toEqual({ dn: 'fabric/lan/profiles/vnic-pp5', name: 'pp5', status: 'deleted' });
    const removed = await post(confMos(cookie, ['<fabricVlan name="nf-5" status="removed" dn="fabric/lan/net-nf-5" />']));
    expect(pairMo(removed).attrs['status']).toBe('deleted');
    expect(emu.get('fabric/lan/net-nf-5')).toBeUndefined();

    const strict = await setup({ deleteMissing: 'error-102' });
    const r = await strict.post(confMos(strict.cookie, ['<fabricVlan name="nf-5" status="deleted" dn="fabric/lan/net-nf-5" />']));
    expect(err(r)).toEqual({ errorCode: '102', errorDescr: 'configured object (fabric/lan/net-nf-5) not found ' });
  });

  it('nested children are create-or-update; dn may come from rn or the naming properties', async () => {
    const { emu, cookie, post } = await setup();
    await post(confMos(cookie, [vlanXml('v1', 11), vlanXml('v2', 12)]));
    await post(confMos(cookie, ['<vnicProfile dn="fabric/lan/profiles/vnic-pp" name="pp" status="created"><vnicEtherIf name="v1" defaultNet="yes" /></vnicProfile>']));
    expect(emu.get('fabric/lan/profiles/vnic-pp/if-v1')?.attrs['defaultNet']).toBe('yes');
    const r = await post(
      confMos(cookie, ['<vnicProfile dn="fabric/lan/profiles/vnic-pp" descr="two"><vnicEtherIf rn="if-v1" defaultNet="no" /><vnicEtherIf dn="fabric/lan/profiles/vnic-pp/if-v2" name="v2" defaultNet="yes" /><vmVnicProfCl name="cl" orgPath=".*" /></vnicProfile>']),
    );
    okNoError(r);
    expect(pick(pairMo(r), ['status', 'descr', 'primaryVlanId'])).toEqual({ status: 'modified', descr: 'two', primaryVlanId: '12' });
    expect(pairMo(r).children).toEqual([]); // inHierarchical="false": the MO alone
    expect(emu.children('fabric/lan/profiles/vnic-pp').map((c) => [c.dn, c.attrs['defaultNet'] ?? c.attrs['orgPath']])).toEqual([
      ['fabric/lan/profiles/vnic-pp/if-v1', 'no'],
      ['fabric/lan/profiles/vnic-pp/if-v2', 'yes'],
      ['fabric/lan/profiles/vnic-pp/cl-cl', '.*'],
    ]);
    const hier = await post(confMos(cookie, ['<vnicProfile dn="fabric/lan/profiles/vnic-pp" descr="three" />'], true));
    expect(pairMo(hier).children.map((c) => c.attrs['rn'])).toEqual(['if-v1', 'if-v2', 'cl-cl']);
    const one = await post(`<configConfMo cookie="${cookie}" dn="fabric/lan/net-v3" inHierarchical="false"><inConfig><fabricVlan name="v3" id="13" status="created" /></inConfig></configConfMo>`);
    okNoError(one);
    expect(outline(one)).toBe('configConfMo(outConfig(fabricVlan))');
    expect(one.attrs).toEqual({ dn: 'fabric/lan/net-v3', cookie, response: 'yes' });
    expect(child(child(one, 'outConfig'), 'fabricVlan').attrs['dn']).toBe('fabric/lan/net-v3');
  });

  it('parents must exist (102 for the parent) and classes must be creatable there (105)', async () => {
    const { emu, cookie, post } = await setup();
    expect(err(await post(confMos(cookie, ['<lsServer dn="org-root/org-nope/ls-sp" name="sp" status="created" />'])))).toEqual({
      errorCode: '102',
      errorDescr: 'configured object (org-root/org-nope) not found ',
    });
    expect(err(await post(confMos(cookie, ['<fabricVlan dn="org-root/net-x" name="x" id="5" status="created" />'])))).toEqual({
      errorCode: '105',
      errorDescr: 'Cannot create non-creatable object of class:fabricVlan under orgOrg',
    });
    expect(err(await post(confMos(cookie, ['<qosclassEthClassified dn="fabric/lan/classes/class-fc" priority="fc" status="created" />'])))).toEqual({
      errorCode: '105',
      errorDescr: 'Cannot create non-creatable object of class:qosclassEthClassified under qosclassDefinition',
    });
    expect(err(await post(confMos(cookie, ['<orgOrg dn="org-root" name="root" status="created" />'])))).toEqual({
      errorCode: '103',
      errorDescr: "can't create; object already exists.",
    });
    expect(err(await post(confMos(cookie, ['<mgmtController dn="sys/mgmt" status="created" />'])))).toEqual({
      errorCode: '105',
      errorDescr: 'Cannot create non-creatable object of class:mgmtController under topSystem',
    });
    // Get/Set containers can be modified, Get-only ones not; containers are never deleted.
    const mtu = await post(confMos(cookie, ['<qosclassEthBE dn="fabric/lan/classes/class-best-effort" mtu="9216" />']));
    expect(pick(pairMo(mtu), ['mtu', 'status', 'priority'])).toEqual({ mtu: '9216', status: 'modified', priority: 'best-effort' });
    expect(err(await post(confMos(cookie, ['<qosclassEthClassified dn="fabric/lan/classes/class-gold" mtu="9217" />'])))).toEqual({
      errorCode: '150',
      errorDescr: "invalid value '9217' for property 'mtu' of class qosclassEthClassified (fabric/lan/classes/class-gold); expected 1500-9216 or fc|normal",
    });
    expect(err(await post(confMos(cookie, ['<fabricEthLan dn="fabric/lan/A" name="x" />'])))).toEqual({
      errorCode: '150',
      errorDescr: "object fabric/lan/A of class fabricEthLan cannot be modified (property 'name')",
    });
    expect(err(await post(confMos(cookie, ['<orgOrg dn="org-root" status="deleted" />'])))).toEqual({
      errorCode: '150',
      errorDescr: 'object org-root of class orgOrg cannot be deleted',
    });
    expect(err(await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-default" name="default" status="deleted" />'])))).toEqual({
      errorCode: '150',
      errorDescr: 'object fabric/lan/net-default of class fabricVlan cannot be deleted',
    });
    expect(emu.get('org-root')).toBeDefined();
    expect(emu.get('fabric/lan/net-default')).toBeDefined();
  });

  it('a request is all-or-nothing: a late failure undoes creations, modifications and deletions', async () => {
    const { emu, cookie, post } = await setup();
    await post(confMos(cookie, [vlanXml('keep', 21), vlanXml('gone', 22), '<orgOrg dn="org-root/org-o1" name="o1" descr="before" status="created" />']));
    const before = emu.list('fabricVlan').map((v) => v.attrs);
    const r = await post(
      confMos(cookie, [
        vlanXml('new1', 31),
        '<fabricVlan dn="fabric/lan/net-keep" id="23" status="modified" />',
        '<fabricVlan dn="fabric/lan/net-gone" name="gone" status="deleted" />',
        '<orgOrg dn="org-root/org-o1" descr="after"><lsServer name="sp1" /></orgOrg>',
        vlanXml('keep', 21), // 103 at the very end
      ]),
    );
    expect(err(r)).toEqual({ errorCode: '103', errorDescr: "can't create; object already exists." });
    expect(emu.list('fabricVlan').map((v) => v.attrs)).toEqual(before);
    expect(emu.get('fabric/lan/net-new1')).toBeUndefined();
    expect(emu.get('org-root/org-o1')?.attrs['descr']).toBe('before');
    expect(emu.get('org-root/org-o1/ls-sp1')).toBeUndefined();
    // After a rollback the tree still works normally.
    okNoError(await post(confMos(cookie, [vlanXml('new1', 31)])));
    expect(emu.get('fabric/lan/net-new1')?.attrs['id']).toBe('31');
  });
});

describe('validation', () => {
  it('fabricVlan: name, id ranges, enums, the reserved block, required id', async () => {
    const { emu, cookie, post } = await setup();
    const create = async (name: string, id: string | number, extra = ''): Promise<Record<string, string | undefined>> =>
      err(await post(confMos(cookie, [vlanXml(name, id, extra)])));
    const long = 'v'.repeat(33);
    expect(await create(long, 10)).toEqual({
      errorCode: '150',
      errorDescr: `invalid value '${long}' for naming property 'name' of class fabricVlan (fabric/lan/net-${long}); expected /[\\-\\.:_a-zA-Z0-9]{1,32}/`,
    });
    expect(await create('v'.repeat(32), 10)).toEqual({ errorCode: undefined, errorDescr: undefined });
    expect(await create('bad name', 11)).toMatchObject({ errorCode: '150' });
    for (const id of [0, 4043, 4047, 4094, 4095, 'ten']) {
      expect(await create(`id-${id}`, id)).toEqual({
        errorCode: '150',
        errorDescr: `invalid value '${id}' for property 'id' of class fabricVlan (fabric/lan/net-id-${id}); expected 1-4042, 4048-4093`,
      });
    }
    for (const id of [3915, 3999, 4042]) {
      expect(await create(`r-${id}`, id)).toEqual({
        errorCode: '150',
        errorDescr: `VLAN fabric/lan/net-r-${id}: id ${id} is in the reserved VLAN range 3915-4042 (fabric/lan/fab-reserved-vlans)`,
      });
    }
    for (const id of [1, 3914, 4048, 4093]) expect(await create(`ok-${id}`, id)).toEqual({ errorCode: undefined, errorDescr: undefined });
    expect(await create('s', 12, 'sharing="secret"')).toMatchObject({ errorCode: '150', errorDescr: expect.stringContaining("property 'sharing'") });
    expect(await create('d', 13, 'defaultNet="maybe"')).toMatchObject({ errorCode: '150', errorDescr: expect.stringContaining("property 'defaultNet'") });
    expect(err(await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-noid" name="noid" status="created" />'])))).toEqual({
      errorCode: '150',
      errorDescr: "property 'id' is required to create fabricVlan fabric/lan/net-noid",
    });
    expect(err(await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-ok-1" id="3950" status="modified" />'])))).toMatchObject({ errorCode: '150' });
    expect(emu.get('fabric/lan/net-ok-1')?.attrs['id']).toBe('1');
    // Names and DNs must agree.
    expect(err(await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-a" name="b" id="5" status="created" />'])))).toEqual({
      errorCode: '150',
      errorDescr: "naming property 'name'='b' contradicts dn fabric/lan/net-a",
    });
    expect(err(await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/vlan-a" name="a" id="5" status="created" />'])))).toEqual({
      errorCode: '150',
      errorDescr: "rn 'vlan-a' of fabric/lan/vlan-a does not follow the naming rule 'net-[name]' of class fabricVlan",
    });
    expect(err(await post(`<configConfMos cookie="${cookie}"><inConfigs><pair key="fabric/lan/net-k"><fabricVlan dn="fabric/lan/net-j" name="j" id="5" /></pair></inConfigs></configConfMos>`))).toEqual({
      errorCode: '150',
      errorDescr: "pair key 'fabric/lan/net-k' does not match dn 'fabric/lan/net-j'",
    });
  });

  it('the reserved block follows fabricReservedVlan and cannot move onto VLANs', async () => {
    const { emu, cookie, post } = await setup();
    await post(confMos(cookie, [vlanXml('low', 2050)]));
    expect(err(await post(confMos(cookie, ['<fabricReservedVlan dn="fabric/lan/fab-reserved-vlans" startId="2000" endId="2127" />'])))).toEqual({
      errorCode: '150',
      errorDescr: 'fabricReservedVlan: VLAN fabric/lan/net-low (id 2050) lies in the requested reserved range 2000-2127',
    });
    expect(err(await post(confMos(cookie, ['<fabricReservedVlan dn="fabric/lan/fab-reserved-vlans" startId="3000" endId="3100" />'])))).toMatchObject({
      errorCode: '150',
    });
    okNoError(await post(confMos(cookie, ['<fabricReservedVlan dn="fabric/lan/fab-reserved-vlans" startId="3000" endId="3127" />'])));
    expect(emu.get('fabric/lan/fab-reserved-vlans')?.attrs).toMatchObject({ startId: '3000', endId: '3127' });
    okNoError(await post(confMos(cookie, [vlanXml('high', 4000)])));
    expect(err(await post(confMos(cookie, [vlanXml('mid', 3050)])))).toEqual({
      errorCode: '150',
      errorDescr: 'VLAN fabric/lan/net-mid: id 3050 is in the reserved VLAN range 3000-3127 (fabric/lan/fab-reserved-vlans)',
    });
  });

  it('vnicProfile, vnicEtherIf, vmVnicProfCl, vnicLanConnTempl, lsServer, vnicEther, orgOrg rules', async () => {
    const { emu, cookie, post } = await setup();
    const pp = (name: string, extra = ''): string => `<vnicProfile dn="fabric/lan/profiles/vnic-${name}" name="${name}" ${extra} status="created" />`;
    const e150 = async (mo: string, needle: string): Promise<void> => {
      const r = await post(confMos(cookie, [mo]));
      expect(r.attrs['errorCode'], mo).toBe('150');
      expect(r.attrs['errorDescr']).toContain(needle);
    };
    await e150(pp('p'.repeat(32)), "naming property 'name'");
    okNoError(await post(confMos(cookie, [pp('p'.repeat(31))])));
    await e150(pp('m0', 'maxPorts="0"'), "property 'maxPorts'");
    await e150(pp('m4097', 'maxPorts="4097"'), "property 'maxPorts'");
    okNoError(await post(confMos(cookie, [pp('m4096', 'maxPorts="4096" hostNwIOPerf="high-perf-reqd" descr="Created by netform: a/b (c)"')])));
    await e150(pp('perf', 'hostNwIOPerf="fast"'), "property 'hostNwIOPerf'");
    await e150(pp('descr', 'descr="a=b"'), "property 'descr'");
    await e150(pp('ro', 'operQosPolicyName="x"'), "property 'operQosPolicyName' of class vnicProfile is read-only");
    // vnicEtherIf must name an existing VLAN (one created in the same request counts).
    await e150(
      '<vnicProfile dn="fabric/lan/profiles/vnic-pq" name="pq" status="created"><vnicEtherIf name="nf-missing" defaultNet="yes" /></vnicProfile>',
      "vnicEtherIf fabric/lan/profiles/vnic-pq/if-nf-missing: VLAN 'nf-missing' does not exist",
    );
    expect(emu.get('fabric/lan/profiles/vnic-pq')).toBeUndefined();
    okNoError(
      await post(
        confMos(cookie, [
          vlanXml('nf-600', 600),
          '<vnicProfile dn="fabric/lan/profiles/vnic-pq" name="pq" status="created"><vnicEtherIf name="nf-600" defaultNet="yes" /><vmVnicProfCl name="cl-1" orgPath=".*" swName=".*" dcName=".*" /></vnicProfile>',
        ]),
      ),
    );
    expect(emu.get('fabric/lan/profiles/vnic-pq/if-nf-600')?.attrs).toMatchObject({ vnet: '600', operVnetName: 'nf-600', operVnetDn: 'fabric/lan/net-nf-600', switchId: 'dual' });
    await e150('<vmVnicProfCl dn="fabric/lan/profiles/vnic-pq/cl-' + 'c'.repeat(17) + '" status="created" />', "naming property 'name'");
    // Fabric-specific VLANs resolve too.
    okNoError(await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/B/net-b-only" name="b-only" id="700" status="created" />'])));
    expect(emu.get('fabric/lan/B/net-b-only')?.attrs['switchId']).toBe('B');
    // Service profile side.
    okNoError(
      await post(
        confMos(cookie, [
          '<vnicLanConnTempl dn="org-root/lan-conn-templ-t1" name="t1" mtu="9000" switchId="A-B" templType="updating-template" status="created"><vnicEtherIf name="b-only" /></vnicLanConnTempl>',
          '<lsServer dn="org-root/ls-sp1" name="sp1" type="updating-template" status="created"><vnicEther name="eth0" mtu="9000" switchId="A" nwTemplName="t1"><vnicEtherIf name="default" defaultNet="yes" /></vnicEther></lsServer>',
        ]),
      ),
    );
    expect(emu.get('org-root/ls-sp1/ether-eth0/if-default')?.attrs).toMatchObject({ vnet: '1', switchId: 'A' });
    expect(emu.get('org-root/ls-sp1/ether-eth0')?.attrs['operNwTemplName']).toBe('org-root/lan-conn-templ-t1');
    await e150('<vnicLanConnTempl dn="org-root/lan-conn-templ-t2" name="t2" mtu="9159" status="created" />', "property 'mtu'");
    await e150('<vnicEther dn="org-root/ls-sp1/ether-eth1" name="eth1" mtu="1499" status="created" />', "property 'mtu'");
    await e150('<lsServer dn="org-root/ls-sp1" type="instance" />', "property 'type' of class lsServer can only be set when the object is created");
    okNoError(await post(confMos(cookie, ['<lsServer dn="org-root/ls-sp1" type="updating-template" descr="same type is fine" />'])));
    await e150('<lsServer dn="org-root/ls-s" name="s" status="created" />', "naming property 'name'"); // {2,32}
    await e150('<orgOrg dn="org-root/org-' + 'o'.repeat(17) + '" status="created" />', "naming property 'name'");
    await e150('<vnicLanConnTempl dn="org-root/lan-conn-templ-t3" name="t3" target="vm,cloud" status="created" />', "property 'target'");
    okNoError(await post(confMos(cookie, ['<vnicLanConnTempl dn="org-root/lan-conn-templ-t3" name="t3" target="vm,adaptor" status="created" />'])));
  });

  it('epqosDefinition and epqosEgress: the meta\'s rules, the assumed defaults, and a port profile resolving the policy only while it exists', async () => {
    const { emu, cookie, post } = await setup();
    const e150 = async (mo: string, needle: string): Promise<void> => {
      const r = await post(confMos(cookie, [mo]));
      expect(r.attrs['errorCode'], mo).toBe('150');
      expect(r.attrs['errorDescr']).toContain(needle);
    };
    const pol = (name: string, egress = '', extra = ''): string =>
      `<epqosDefinition dn="org-root/ep-qos-${name}" name="${name}" ${extra} status="created,modified">${egress ? `<epqosEgress rn="egress" ${egress} />` : ''}</epqosDefinition>`;
    const at = (dn: string, keys: string[]): Record<string, string | undefined> => Object.fromEntries(keys.map((k) => [k, emu.get(dn)?.attrs[k]]));
    // A policy with a bare egress: what the emulator assumes a fresh egress shows (not in the meta).
    okNoError(await post(confMos(cookie, [pol('q-defaults', ' ')])));
    expect(at('org-root/ep-qos-q-defaults/egress', ['rate', 'burst', 'prio', 'hostControl', 'name', 'operPrio'])).toEqual({
      rate: 'line-rate',
      burst: '10240',
      prio: 'best-effort',
      hostControl: 'none',
      name: '',
      operPrio: 'best-effort',
    });
    expect(at('org-root/ep-qos-q-defaults', ['name', 'descr', 'policyOwner'])).toEqual({ name: 'q-defaults', descr: '', policyOwner: 'local' });
    // The meta's ranges and enums.
    okNoError(await post(confMos(cookie, [pol('q-edges', 'rate="8" burst="0"'), pol('q-top', 'rate="100000000" burst="65535" prio="platinum" hostControl="full-with-exception"')])));
    await e150(pol('q-bad', 'rate="7"'), "property 'rate' of class epqosEgress");
    await e150(pol('q-bad', 'rate="100000001"'), "property 'rate' of class epqosEgress");
    await e150(pol('q-bad', 'burst="65536"'), "property 'burst' of class epqosEgress");
    await e150(pol('q-bad', 'prio="diamond"'), "property 'prio' of class epqosEgress");
    await e150(pol('q-bad', 'hostControl="some"'), "property 'hostControl' of class epqosEgress");
    await e150(pol('q-bad', 'operPrio="gold"'), "property 'operPrio' of class epqosEgress is read-only");
    await e150(pol('q-seventeen-chars'), "naming property 'name'");
    expect(emu.get('org-root/ep-qos-q-bad')).toBeUndefined();
    // Only under an org.
    expect((await post(confMos(cookie, ['<epqosDefinition dn="fabric/lan/ep-qos-x" name="x" status="created" />']))).attrs['errorCode']).toBe('105');
    // A port profile's qosPolicyDn / operQosPolicyName follow whether the named policy exists.
    okNoError(await post(confMos(cookie, ['<vnicProfile dn="fabric/lan/profiles/vnic-qp" name="qp" qosPolicyName="q-later" status="created" />'])));
    expect(at('fabric/lan/profiles/vnic-qp', ['qosPolicyDn', 'operQosPolicyName'])).toEqual({ qosPolicyDn: '', operQosPolicyName: '' });
    okNoError(await post(confMos(cookie, [pol('q-later', 'rate="1000"')])));
    expect(at('fabric/lan/profiles/vnic-qp', ['qosPolicyDn', 'operQosPolicyName'])).toEqual({ qosPolicyDn: 'org-root/ep-qos-q-later', operQosPolicyName: 'org-root/ep-qos-q-later' });
    // Deleting the policy removes its egress with it.
    okNoError(await post(confMos(cookie, ['<epqosDefinition dn="org-root/ep-qos-q-later" status="deleted" />'])));
    expect(emu.get('org-root/ep-qos-q-later/egress')).toBeUndefined();
    expect(emu.get('fabric/lan/profiles/vnic-qp')!.attrs['qosPolicyDn']).toBe('');
  });

  it('unknown attributes, bad status, malformed XML and unknown methods are root <error> parse errors', async () => {
    const { emu, cookie, post } = await setup();
    const parseErr = async (body: string, descr: string | RegExp): Promise<void> => {
      const r = await post(body);
      expect(r.name).toBe('error');
      expect(pick(r, ['cookie', 'response', 'errorCode', 'invocationResult'])).toEqual({ cookie: '', response: 'yes', errorCode: 'ERR-xml-parse-error', invocationResult: '594' });
      if (typeof descr === 'string') expect(r.attrs['errorDescr']).toBe(descr);
      else expect(r.attrs['errorDescr']).toMatch(descr);
    };
    await parseErr(confMos(cookie, ['<vnicProfile dn="fabric/lan/profiles/vnic-x" name="x" host_nw_ioperf="none" />']), "XML PARSING ERROR: unknown attribute 'host_nw_ioperf' in element 'vnicProfile'");
    await parseErr(confMos(cookie, ['<vnicProfile dn="fabric/lan/profiles/vnic-x" name="x"><vnicEtherIf name="v" vlanId="5" /></vnicProfile>']), "XML PARSING ERROR: unknown attribute 'vlanId' in element 'vnicEtherIf'");
    await parseErr(confMos(cookie, [vlanXml('x', 5, '', 'created,destroyed')]), "XML PARSING ERROR: invalid value 'created,destroyed' for attribute 'status' in element 'fabricVlan'");
    await parseErr(`<configResolveDn cookie="${cookie}" dn="sys" inHierarchical="false" depth="2" />`, "XML PARSING ERROR: unknown attribute 'depth' in element 'configResolveDn'");
    await parseErr(`<configResolveDn cookie="${cookie}" inHierarchical="false" />`, 'XML PARSING ERROR: Required dn attribute missing in the xml request. ');
    await parseErr(`<configResolveDn cookie="${cookie}" dn="sys" inHierarchical="maybe" />`, "XML PARSING ERROR: invalid value 'maybe' for attribute 'inHierarchical' in element 'configResolveDn'");
    await parseErr(`<configResolveDn cookie="${cookie}" dn="sys"`, /^XML PARSING ERROR: /);
    await parseErr('not xml at all', /^XML PARSING ERROR: /);
    await parseErr('', 'XML PARSING ERROR: empty request');
    await parseErr(`<configFrobnicate cookie="${cookie}" />`, "XML PARSING ERROR: unknown element 'configFrobnicate'");
    await parseErr(`<configConfMos cookie="${cookie}"><inConfigs><pair><fabricVlan dn="fabric/lan/net-x" /></pair></inConfigs></configConfMos>`, 'XML PARSING ERROR: Required key attribute missing in the xml request. ');
    // Parse errors come before the cookie check.
    await parseErr('<configConfMos cookie="stale"><inConfigs><pair key="k" dn="k" /></inConfigs></configConfMos>', "XML PARSING ERROR: unknown attribute 'dn' in element 'pair'");
    expect(emu.get('fabric/lan/net-x')).toBeUndefined();
    // Generic (schema-less) classes accept any attribute on modify.
    emu.put({ classId: 'faultInst', dn: 'sys/fault-1', attrs: { severity: 'major' } });
    const ack = await post(confMos(cookie, ['<faultInst dn="sys/fault-1" ack="yes" status="modified" />']));
    expect(pick(pairMo(ack), ['ack', 'severity', 'status'])).toEqual({ ack: 'yes', severity: 'major', status: 'modified' });
  });
});

describe('faults, counters, HTTP', () => {
  it('dropNext destroys the connection without processing; the next request works', async () => {
    const { emu, cookie } = await setup();
    emu.faults.dropNext(2);
    await expect(emu.post(confMos(cookie, [vlanXml('d1', 41)]))).rejects.toThrow();
    await expect(emu.post(resolveDn(cookie, 'sys'))).rejects.toThrow();
    expect(emu.get('fabric/lan/net-d1')).toBeUndefined();
    expect(emu.dropped).toBe(2);
    okNoError(xml(await emu.post(confMos(cookie, [vlanXml('d1', 41)]))));
    expect(emu.counts['configConfMos']).toBe(2);
    expect(emu.counts['configResolveDn']).toBe(1);
  });

  it('delayMs delays every answer after processing; delayConfigMs only config answers', async () => {
    const { emu, cookie } = await setup();
    emu.faults.delayMs = 150;
    let t0 = performance.now();
    const pending = emu.post(confMos(cookie, [vlanXml('slow', 42)]));
    await new Promise((r) => setTimeout(r, 60));
    expect(emu.get('fabric/lan/net-slow')?.attrs['id']).toBe('42'); // applied before the answer
    await pending;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    emu.faults.delayMs = 0;
    emu.faults.delayConfigMs = 150;
    t0 = performance.now();
    await emu.post(resolveDn(cookie, 'sys'));
    expect(performance.now() - t0).toBeLessThan(120);
    t0 = performance.now();
    await emu.post(confMos(cookie, [vlanXml('slow2', 43)]));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    emu.faults.reset();
    expect(emu.faults.delayConfigMs).toBe(0);
  });

  it('failEvery(n) fails every n-th config request with the given error, unapplied', async () => {
    const { emu, cookie, post } = await setup();
    emu.faults.failEvery(3, { code: '150', descr: 'block definition is too large. Size cannot exceed 1000.' });
    const results: (string | undefined)[] = [];
    for (let i = 1; i <= 6; i++) {
      await post(resolveDn(cookie, 'sys')); // queries do not count
      results.push((await post(confMos(cookie, [vlanXml(`f${i}`, 50 + i)]))).attrs['errorCode']);
    }
    expect(results).toEqual([undefined, undefined, '150', undefined, undefined, '150']);
    expect(emu.list('fabricVlan').map((v) => v.attrs['name'])).toEqual(['default', 'f1', 'f2', 'f4', 'f5']);
    emu.faults.failEvery(1, { code: '999', descr: 'boom', invocationResult: 'service-unavailable' });
    expect(pick(await post(confMos(cookie, [vlanXml('f7', 57)])), ['errorCode', 'invocationResult', 'errorDescr'])).toEqual({
      errorCode: '999',
      invocationResult: 'service-unavailable',
      errorDescr: 'boom',
    });
    emu.faults.failEvery(0);
    okNoError(await post(confMos(cookie, [vlanXml('f7', 57)])));
  });

  it('expireAllSessions turns every cookie into 552', async () => {
    const { emu, cookie, post } = await setup();
    const other = await emu.login();
    emu.faults.expireAllSessions();
    for (const c of [cookie, other]) expect(err(await post(resolveDn(c, 'sys')))).toEqual({ errorCode: '552', errorDescr: 'Authorization required' });
    okNoError(await post(resolveDn(await emu.login(), 'sys')));
  });

  it('counts requests by method and in total; resetCounts starts over', async () => {
    const { emu, cookie, post } = await setup();
    await post(resolveDn(cookie, 'sys'));
    await post(resolveDn(cookie, 'org-root'));
    await post(resolveClass(cookie, 'orgOrg'));
    await post('<broken');
    expect(emu.counts).toEqual({ aaaLogin: 1, configResolveDn: 2, configResolveClass: 1, broken: 1 });
    expect(emu.total).toBe(5);
    emu.resetCounts();
    expect(emu.counts).toEqual({});
    expect(emu.total).toBe(0);
    await post('   ');
    expect(emu.counts).toEqual({ '<invalid>': 1 });
  });

  it('accepts any Content-Type; only POST /nuova is served', async () => {
    const { emu, cookie } = await setup();
    for (const ct of ['application/x-www-form-urlencoded', 'text/plain', 'text/xml', undefined]) {
      const r = await fetch(`${emu.url}/nuova`, { method: 'POST', body: resolveDn(cookie, 'sys'), ...(ct ? { headers: { 'Content-Type': ct } } : {}) });
      expect(r.status).toBe(200);
      okNoError(xml(await r.text()));
    }
    expect((await fetch(`${emu.url}/nuova`)).status).toBe(405);
    expect((await fetch(`${emu.url}/other`, { method: 'POST', body: '<aaaLogin />' })).status).toBe(404);
    const parseErrStatus = await fetch(`${emu.url}/nuova`, { method: 'POST', body: '<<<' });
    expect(parseErrStatus.status).toBe(200);
  });

  it('tree API: seed callback, put/get/list/children/remove', async () => {
    const { emu } = await setup({
      seed: (t) => {
        t.put({ classId: 'orgOrg', dn: 'org-root/org-tenant' });
        t.put({ classId: 'lsServer', dn: 'org-root/org-tenant/ls-host1', attrs: { descr: 'seeded' } });
      },
    });
    expect(emu.get('org-root/org-tenant')?.attrs).toMatchObject({ name: 'tenant', dn: 'org-root/org-tenant', level: '1' });
    expect(emu.get('org-root/org-tenant/ls-host1')?.attrs).toMatchObject({ name: 'host1', descr: 'seeded', type: 'instance', assocState: 'unassociated' });
    expect(emu.children('org-root/org-tenant').map((c) => c.dn)).toEqual(['org-root/org-tenant/ls-host1']);
    expect(emu.list('orgOrg').map((o) => o.dn)).toEqual(['org-root', 'org-root/org-tenant']);
    expect(names({ name: 'x', attrs: emu.get('fabric/lan/net-default')!.attrs, children: [] })).toContain('switchId');
    expect(emu.remove('org-root/org-tenant')).toBe(true);
    expect(emu.get('org-root/org-tenant/ls-host1')).toBeUndefined();
    expect(emu.remove('org-root/org-tenant')).toBe(false);
  });
});

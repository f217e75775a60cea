// Replays the recorded UCSM exchanges in test/fixtures/ucsm/ against the emulator:
// request fixtures are posted (with a live cookie) and must succeed; response
// fixtures are reproduced by putting the emulator in the same situation, then
// compared structurally (root element, attribute names, error values, nesting).

import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type UcsmEmulator, startEmulator } from './emulator.ts';
import { COOKIE_RE, ERROR_ATTRS, FIXTURE_DIR, child, confMos, fixture, names, outline, pick, xml } from './testutil.ts';
import type { El } from './xml.ts';

let emu: UcsmEmulator;
let cookie: string;

beforeEach(async () => {
  emu = await startEmulator();
  cookie = await emu.login();
});
afterEach(async () => {
  await emu.close();
});

const post = async (body: string): Promise<El> => xml(await emu.post(body));
const withCookie = (req: string): string => req.replace(/cookie="[^"]*"/, `cookie="${cookie}"`);
const noError = (e: El): void => {
  for (const a of ERROR_ATTRS) expect(e.attrs, `${a} on success: ${JSON.stringify(e.attrs)}`).not.toHaveProperty(a);
};

/** Every fixture file has a case below; a new fixture must get one. */
const HANDLED = new Set<string>();
const replay = (file: string, title: string, fn: () => Promise<void>): void => {
  HANDLED.add(file);
  it(`${file}: ${title}`, fn);
};

describe('fixture replay', () => {
  it('covers every fixture file', () => {
    const files = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.xml')).sort();
    expect(files).toHaveLength(18);
    expect(files.filter((f) => !HANDLED.has(f))).toEqual([]);
  });

  replay('01-aaaLogin-response-ok.xml', 'login success has the same attribute set, no errorCode', async () => {
    const want = xml(fixture('01-aaaLogin-response-ok.xml'));
    const got = await post('<aaaLogin inName="admin" inPassword="password" />');
    expect(got.name).toBe(want.name);
    expect(names(got)).toEqual(names(want));
    expect(pick(got, ['cookie', 'response', 'outRefreshPeriod', 'outDomains', 'outChannel', 'outEvtChannel', 'outPasswdExpiryStatus'])).toEqual(
      pick(want, ['cookie', 'response', 'outRefreshPeriod', 'outDomains', 'outChannel', 'outEvtChannel', 'outPasswdExpiryStatus']),
    );
    expect(got.attrs['outCookie']).toMatch(COOKIE_RE);
    expect(got.attrs['outVersion']).toBe('4.2(3d)');
    expect(got.attrs['outName']).toBe('admin');
    expect(got.children).toEqual([]);
    noError(got);
  });

  replay('02-aaaLogin-response-551-auth-failed.xml', 'bad credentials give the same element', async () => {
    const want = xml(fixture('02-aaaLogin-response-551-auth-failed.xml'));
    for (const body of ['<aaaLogin inName="admin" inPassword="nope" />', '<aaaLogin inName="nobody" inPassword="password" />']) {
      const got = await post(body);
      expect(got).toEqual(want);
    }
  });

  replay('03-aaaRefresh-response-ok.xml', 'refresh echoes the old cookie and issues a new one', async () => {
    const want = xml(fixture('03-aaaRefresh-response-ok.xml'));
    const got = await post(`<aaaRefresh inCookie="${cookie}" inName="admin" inPassword="password" />`);
    expect(got.name).toBe(want.name);
    expect(names(got)).toEqual(names(want));
    expect(got.attrs['cookie']).toBe(cookie);
    expect(got.attrs['outCookie']).toMatch(COOKIE_RE);
    expect(got.attrs['outCookie']).not.toBe(cookie);
    expect(pick(got, ['response', 'outRefreshPeriod', 'outPriv', 'outDomains', 'outChannel', 'outEvtChannel'])).toEqual(
      pick(want, ['response', 'outRefreshPeriod', 'outPriv', 'outDomains', 'outChannel', 'outEvtChannel']),
    );
    noError(got);
  });

  replay('04-configResolveDn-response-552-stale-cookie-after-refresh.xml', 'the pre-refresh cookie is refused', async () => {
    const want = xml(fixture('04-configResolveDn-response-552-stale-cookie-after-refresh.xml'));
    await post(`<aaaRefresh inCookie="${cookie}" inName="admin" inPassword="password" />`);
    const got = await post(`<configResolveDn dn="sys/chassis-1/blade-1" cookie="${cookie}" inHierarchical="false" />`);
    expect(got.name).toBe(want.name);
    expect(names(got)).toEqual(names(want));
    expect(pick(got, ['dn', 'response', ...ERROR_ATTRS])).toEqual(pick(want, ['dn', 'response', ...ERROR_ATTRS]));
    expect(got.attrs['cookie']).toBe(cookie);
    expect(got.children).toEqual([]);
  });

  replay('05-configConfMos-request-create-lsServer.xml', 'the SDK create request succeeds', async () => {
    const got = await post(withCookie(fixture('05-configConfMos-request-create-lsServer.xml')));
    noError(got);
    expect(outline(got)).toBe('configConfMos(outConfigs(pair(lsServer)))');
    const pair = child(child(got, 'outConfigs'), 'pair');
    expect(pair.attrs).toEqual({ key: 'org-root/ls-test_sp' });
    expect(pick(child(pair, 'lsServer'), ['dn', 'name', 'status', 'type'])).toEqual({
      dn: 'org-root/ls-test_sp',
      name: 'test_sp',
      status: 'created',
      type: 'instance',
    });
    expect(emu.get('org-root/ls-test_sp')?.classId).toBe('lsServer');
  });

  replay('06-configConfMos-request-create-hierarchy.xml', 'a parent with a status-less child creates both', async () => {
    const got = await post(withCookie(fixture('06-configConfMos-request-create-hierarchy.xml')));
    noError(got);
    expect(outline(got)).toBe('configConfMos(outConfigs(pair(orgOrg)))');
    expect(pick(child(child(child(got, 'outConfigs'), 'pair'), 'orgOrg'), ['dn', 'name', 'status'])).toEqual({
      dn: 'org-root/org-test_org',
      name: 'test_org',
      status: 'created',
    });
    expect(emu.get('org-root/org-test_org')?.attrs['name']).toBe('test_org');
    expect(emu.get('org-root/org-test_org/ls-test_sp')?.attrs['name']).toBe('test_sp');
  });

  replay('07-configConfMos-request-modify.xml', 'modify of an existing service profile', async () => {
    // Setup: the service profile the request modifies.
    await post(withCookie(fixture('05-configConfMos-request-create-lsServer.xml')));
    const got = await post(withCookie(fixture('07-configConfMos-request-modify.xml')));
    noError(got);
    const sp = child(child(child(got, 'outConfigs'), 'pair'), 'lsServer');
    expect(pick(sp, ['dn', 'descr', 'name', 'status'])).toEqual({ dn: 'org-root/ls-test_sp', descr: 'change', name: 'test_sp', status: 'modified' });
    expect(emu.get('org-root/ls-test_sp')?.attrs['descr']).toBe('change');
    // Without the setup the same request is a 102.
    await emu.close();
    emu = await startEmulator();
    cookie = await emu.login();
    const missing = await post(withCookie(fixture('07-configConfMos-request-modify.xml')));
    expect(pick(missing, ['errorCode', 'errorDescr'])).toEqual({ errorCode: '102', errorDescr: 'configured object (org-root/ls-test_sp) not found ' });
  });

  replay('08-configResolveClass-request-and-eq-wcard-ne-filter.xml', 'the and/eq/wcard/ne filter selects', async () => {
    const fault = (dn: string, cause: string, severity: string): void =>
      emu.put({ classId: 'faultInst', dn, attrs: { cause, severity, code: 'F0283' } });
    fault('sys/chassis-4/blade-7/fault-1', 'link-down', 'major');
    fault('sys/chassis-4/blade-7/fault-2', 'link-down', 'cleared');
    fault('sys/chassis-4/blade-7/fault-3', 'equipment-inoperable', 'major');
    fault('sys/chassis-4/blade-6/fault-4', 'link-down', 'major');
    const got = await post(fixture('08-configResolveClass-request-and-eq-wcard-ne-filter.xml').replace('#{VALID_TOKEN}', cookie));
    noError(got);
    expect(got.attrs['classId']).toBe('faultInst');
    expect(child(got, 'outConfigs').children.map((c) => c.attrs['dn'])).toEqual(['sys/chassis-4/blade-7/fault-1']);
  });

  replay('09-configResolveClass-response-empty-outConfigs.xml', 'no match is an empty outConfigs', async () => {
    const want = xml(fixture('09-configResolveClass-response-empty-outConfigs.xml'));
    const got = await post(`<configResolveClass cookie="${cookie}" inHierarchical="false" classId="faultInst" />`);
    expect(got.name).toBe(want.name);
    expect(names(got)).toEqual(names(want));
    expect(pick(got, ['response', 'classId'])).toEqual(pick(want, ['response', 'classId']));
    expect(outline(got)).toBe(outline(want));
    expect(child(got, 'outConfigs').children).toEqual([]);
  });

  replay('10-configResolveClass-response-storageLocalDiskPartition.xml', 'seeded inventory comes back as recorded', async () => {
    const want = xml(fixture('10-configResolveClass-response-storageLocalDiskPartition.xml'));
    for (const mo of child(want, 'outConfigs').children) {
      const { dn, ...attrs } = mo.attrs;
      emu.put({ classId: mo.name, dn: dn!, attrs });
    }
    const got = await post(`<configResolveClass cookie="${cookie}" inHierarchical="false" classId="storageLocalDiskPartition" />`);
    expect(got.name).toBe(want.name);
    expect(names(got)).toEqual(names(want));
    expect(outline(got)).toBe(outline(want));
    expect(child(got, 'outConfigs').children).toEqual(child(want, 'outConfigs').children);
  });

  replay('11-inFilter-not-or-and-eq-wcard.xml', 'the SDK not/or/and filter selects', async () => {
    const sp = (name: string, attrs: Record<string, string>): void => emu.put({ classId: 'lsServer', dn: `org-root/ls-${name}`, attrs });
    sp('a-inst', { type: 'instance', usrLbl: 'lsserver', descr: 'a description' }); // or: type eq → excluded
    sp('b-tmpl', { type: 'initial-template', usrLbl: 'lsserver', descr: '' }); // and(eq, not wcard) → excluded
    sp('c-tmpl', { type: 'initial-template', usrLbl: 'lsserver', descr: 'the description' }); // wcard hits → kept
    sp('d-tmpl', { type: 'updating-template', usrLbl: 'other', descr: '' }); // nothing → kept
    const filter = fixture('11-inFilter-not-or-and-eq-wcard.xml').trim().replace(/^<filter>/, '').replace(/<\/filter>$/, '');
    const got = await post(`<configResolveClass cookie="${cookie}" classId="lsServer" inHierarchical="false"><inFilter>${filter}</inFilter></configResolveClass>`);
    noError(got);
    expect(child(got, 'outConfigs').children.map((c) => c.attrs['name'])).toEqual(['c-tmpl', 'd-tmpl']);
  });

  replay('12-configConfMos-response-error-150.xml', 'a 150 sits on the method element, no outConfigs', async () => {
    const want = xml(fixture('12-configConfMos-response-error-150.xml'));
    const check = (got: El): void => {
      expect(got.name).toBe(want.name);
      expect(names(got)).toEqual(names(want));
      expect(got.attrs['cookie']).toBe(cookie);
      expect(pick(got, ['response', 'errorCode', 'invocationResult'])).toEqual(pick(want, ['response', 'errorCode', 'invocationResult']));
      expect(got.children).toEqual([]);
    };
    // Through the fault switch, with the recorded text.
    emu.faults.failEvery(1, { code: '150', descr: want.attrs['errorDescr']! });
    const injected = await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-nf-1" name="nf-1" id="101" status="created" />']));
    check(injected);
    expect(injected.attrs['errorDescr']).toBe(want.attrs['errorDescr']);
    expect(emu.get('fabric/lan/net-nf-1')).toBeUndefined();
    // Through a real limit: a VLAN id in the reserved block.
    emu.faults.reset();
    const reserved = await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-nf-2" name="nf-2" id="4000" status="created" />']));
    check(reserved);
    expect(reserved.attrs['errorDescr']).toBe(
      'VLAN fabric/lan/net-nf-2: id 4000 is in the reserved VLAN range 3915-4042 (fabric/lan/fab-reserved-vlans)',
    );
  });

  replay('13-error-ERR-xml-parse-error-unknown-attribute.xml', 'an unknown attribute is a root <error>', async () => {
    const want = xml(fixture('13-error-ERR-xml-parse-error-unknown-attribute.xml'));
    const got = await post(
      `<configConfMos cookie="${cookie}" inHierarchical="false"><inConfigs><pair key="fabric/lan/net-x" dn="fabric/lan/net-x"><fabricVlan dn="fabric/lan/net-x" name="x" id="5" /></pair></inConfigs></configConfMos>`,
    );
    expect(got).toEqual(want);
    const onMo = await post(confMos(cookie, ['<fabricVlan dn="fabric/lan/net-y" name="y" id="6" vlanColour="red" />']));
    expect(onMo.attrs).toEqual({ ...want.attrs, errorDescr: "XML PARSING ERROR: unknown attribute 'vlanColour' in element 'fabricVlan'" });
    expect(emu.get('fabric/lan/net-x')).toBeUndefined();
  });

  replay('14-aaaLogout-response-ok.xml', 'logout success', async () => {
    const want = xml(fixture('14-aaaLogout-response-ok.xml'));
    expect(await post(`<aaaLogout inCookie="${cookie}" />`)).toEqual(want);
  });

  replay('15-aaaLogout-response-555-session-not-found.xml', 'logout of an unknown cookie', async () => {
    const want = xml(fixture('15-aaaLogout-response-555-session-not-found.xml'));
    await post(`<aaaLogout inCookie="${cookie}" />`);
    expect(await post(`<aaaLogout inCookie="${cookie}" />`)).toEqual(want);
    expect(await post('<aaaLogout inCookie="1600000000/00000000-0000-0000-0000-000000000000" />')).toEqual(want);
  });

  replay('16-error-ERR-xml-parse-error-missing-inCookie.xml', 'refresh without inCookie: same attributes, same order', async () => {
    const want = xml(fixture('16-error-ERR-xml-parse-error-missing-inCookie.xml'));
    for (const body of ['<aaaRefresh inName="admin" inPassword="password" />', `<aaaRefresh cookie="${cookie}" inName="admin" inPassword="password" />`]) {
      const raw = await emu.post(body);
      const got = xml(raw);
      expect(Object.entries(got.attrs)).toEqual(Object.entries(want.attrs));
      expect(got.children).toEqual([]);
      expect(raw).toBe(fixture('16-error-ERR-xml-parse-error-missing-inCookie.xml').trim().replace(' />', '/>'));
    }
  });

  replay('17-fabricVlan-mo-as-returned.xml', 'a VLAN created like KUBAM does comes back exactly as recorded', async () => {
    const want = xml(fixture('17-fabricVlan-mo-as-returned.xml'));
    const created = await post(
      `<configConfMo cookie="${cookie}" dn="fabric/lan/net-10"><inConfig><fabricVlan dn="fabric/lan/net-10" name="10" id="10" sharing="none" status="created" /></inConfig></configConfMo>`,
    );
    noError(created);
    expect(outline(created)).toBe('configConfMo(outConfig(fabricVlan))');
    const got = await post(`<configResolveDn cookie="${cookie}" dn="fabric/lan/net-10" inHierarchical="false" />`);
    const mo = child(child(got, 'outConfig'), 'fabricVlan');
    expect(Object.entries(mo.attrs)).toEqual(Object.entries(want.attrs));
    // The configConfMo answer is the same MO plus status.
    const fromConf = child(child(created, 'outConfig'), 'fabricVlan');
    expect(fromConf.attrs).toEqual({ ...want.attrs, status: 'created' });
  });

  replay('18-configConfMos-response-outConfigs-pair.xml', 'configConfMos success: pair key, full MO, status', async () => {
    const want = xml(fixture('18-configConfMos-response-outConfigs-pair.xml'));
    const wantMo = child(child(child(want, 'outConfigs'), 'pair'), 'mgmtController');
    const { dn, status: _status, ...attrs } = wantMo.attrs;
    emu.put({ classId: 'mgmtController', dn: dn!, attrs: { ...attrs, fsmStatus: 'nop' } });
    const got = await post(confMos(cookie, [`<mgmtController dn="${dn}" fsmStatus="KvmCertBegin" status="modified" />`]));
    expect(got.name).toBe(want.name);
    expect(names(got)).toEqual(names(want));
    expect(got.attrs['cookie']).toBe(cookie);
    expect(outline(got)).toBe(outline(want));
    const pair = child(child(got, 'outConfigs'), 'pair');
    expect(pair.attrs).toEqual(child(child(want, 'outConfigs'), 'pair').attrs);
    expect(child(pair, 'mgmtController').attrs).toEqual(wantMo.attrs);
    // The same shape for a class netform writes, with the SDK's nested request.
    const pp = await post(
      confMos(cookie, [
        '<vnicProfile name="OS-PP-1" maxPorts="64" status="created" dn="fabric/lan/profiles/vnic-OS-PP-1"><vnicEtherIf name="default" defaultNet="yes" dn="fabric/lan/profiles/vnic-OS-PP-1/if-default" /></vnicProfile>',
      ]),
    );
    noError(pp);
    expect(outline(pp)).toBe('configConfMos(outConfigs(pair(vnicProfile)))');
    const ppMo = child(child(child(pp, 'outConfigs'), 'pair'), 'vnicProfile');
    expect(pick(ppMo, ['dn', 'name', 'maxPorts', 'status', 'hostNwIOPerf', 'primaryVlanId'])).toEqual({
      dn: 'fabric/lan/profiles/vnic-OS-PP-1',
      name: 'OS-PP-1',
      maxPorts: '64',
      status: 'created',
      hostNwIOPerf: 'none',
      primaryVlanId: '1',
    });
  });
});

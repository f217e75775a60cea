// The UCSM XML documents: parsing the recorded exchanges (test/fixtures/ucsm), faults carried in
// HTTP 200 answers (reference §5), output containers (§3, §4.1), serialization and filters (§3.3).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { el, escapeAttr, faultOf, filterNode, flatten, moToNode, outMos, parseXml, toXml, type Filter, type Mo, type UcsmFault, type XmlNode } from './xml.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'ucsm');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const FILES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.xml'))
  .sort();

describe('parseXml: the recorded exchanges', () => {
  it('there are 18 fixtures', () => {
    expect(FILES).toHaveLength(18);
  });

  const roots: Record<string, string> = {
    '01-aaaLogin-response-ok.xml': 'aaaLogin',
    '02-aaaLogin-response-551-auth-failed.xml': 'aaaLogin',
    '03-aaaRefresh-response-ok.xml': 'aaaRefresh',
    '04-configResolveDn-response-552-stale-cookie-after-refresh.xml': 'configResolveDn',
    '05-configConfMos-request-create-lsServer.xml': 'configConfMos',
    '06-configConfMos-request-create-hierarchy.xml': 'configConfMos',
    '07-configConfMos-request-modify.xml': 'configConfMos',
    '08-configResolveClass-request-and-eq-wcard-ne-filter.xml': 'configResolveClass',
    '09-configResolveClass-response-empty-outConfigs.xml': 'configResolveClass',
    '10-configResolveClass-response-storageLocalDiskPartition.xml': 'configResolveClass',
    '11-inFilter-not-or-and-eq-wcard.xml': 'filter',
    '12-configConfMos-response-error-150.xml': 'configConfMos',
    '13-error-ERR-xml-parse-error-unknown-attribute.xml': 'error',
    '14-aaaLogout-response-ok.xml': 'aaaLogout',
    '15-aaaLogout-response-555-session-not-found.xml': 'aaaLogout',
    '16-error-ERR-xml-parse-error-missing-inCookie.xml': 'error',
    '17-fabricVlan-mo-as-returned.xml': 'fabricVlan',
    '18-configConfMos-response-outConfigs-pair.xml': 'configConfMos',
  };
  it.each(FILES)('%s parses to one root', (f) => {
    const root = parseXml(fixture(f));
    expect(root.tag).toBe(roots[f]);
  });

  it('attributes are kept verbatim: trailing space in errorDescr, entities decoded, empty values, backslash', () => {
    expect(parseXml(fixture('16-error-ERR-xml-parse-error-missing-inCookie.xml'))).toEqual({
      tag: 'error',
      attrs: {
        cookie: '',
        response: 'yes',
        errorCode: 'ERR-xml-parse-error',
        invocationResult: '594',
        errorDescr: 'XML PARSING ERROR: Required inCookie attribute missing in the xml request. ',
      },
      children: [],
    });
    expect(parseXml(fixture('13-error-ERR-xml-parse-error-unknown-attribute.xml')).attrs.errorDescr).toBe("XML PARSING ERROR: unknown attribute 'dn' in element 'pair'");
    expect(parseXml(fixture('03-aaaRefresh-response-ok.xml')).attrs).toEqual({
      cookie: '1604697553/058fb963-cf5b-40fc-a1c0-5d713ec2cbad',
      response: 'yes',
      outCookie: '1604699567/27696198-dd82-444d-98c6-0e36a3f927cd',
      outRefreshPeriod: '600',
      outPriv: 'admin,read-only',
      outDomains: '',
      outChannel: 'noencssl',
      outEvtChannel: 'noencssl',
      outName: 'ucs-HANATDIT\\sa-hanarp',
    });
    // A space-only text body (fixtures 02, 14) gives no child.
    expect(parseXml(fixture('14-aaaLogout-response-ok.xml'))).toEqual({ tag: 'aaaLogout', attrs: { cookie: '', response: 'yes', outStatus: 'success' }, children: [] });
  });

  it('values stay strings (no number or boolean conversion)', () => {
    const v = parseXml(fixture('17-fabricVlan-mo-as-returned.xml'));
    expect(v.attrs).toMatchObject({ id: '10', name: '10', fltAggr: '0', global: '0', pubNwId: '0', dn: 'fabric/lan/net-10', switchId: 'dual' });
    expect(Object.keys(v.attrs)).toHaveLength(27);
  });

  it('children in document order, whitespace between elements ignored', () => {
    const r = parseXml(fixture('08-configResolveClass-request-and-eq-wcard-ne-filter.xml'));
    expect(r.attrs).toEqual({ cookie: '#{VALID_TOKEN}', inHierarchical: 'false', classId: 'faultInst' });
    expect(r.children.map((c) => c.tag)).toEqual(['inFilter']);
    const and = r.children[0]!.children[0]!;
    expect(and.tag).toBe('and');
    expect(and.children).toEqual([
      { tag: 'eq', attrs: { class: 'faultInst', property: 'cause', value: 'link-down' }, children: [] },
      { tag: 'wcard', attrs: { class: 'faultInst', property: 'dn', value: 'sys/chassis-4/blade-7' }, children: [] },
      { tag: 'ne', attrs: { class: 'faultInst', property: 'severity', value: 'cleared' }, children: [] },
    ]);
  });

  it('an XML declaration is skipped', () => {
    expect(parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<aaaLogout cookie="" response="yes" outStatus="success"/>').tag).toBe('aaaLogout');
  });

  it.each([
    ['empty', ''],
    ['plain text', 'Service Unavailable'],
    ['two roots', '<a/><b/>'],
  ])('throws on %s', (_what, text) => {
    expect(() => parseXml(text)).toThrow(/expected one root element/);
  });
});

describe('faultOf', () => {
  it.each<[string, UcsmFault | undefined]>([
    ['01-aaaLogin-response-ok.xml', undefined],
    ['02-aaaLogin-response-551-auth-failed.xml', { code: '551', descr: 'Authentication failed', invocationResult: 'unidentified-fail' }],
    ['03-aaaRefresh-response-ok.xml', undefined],
    ['04-configResolveDn-response-552-stale-cookie-after-refresh.xml', { code: '552', descr: 'Authorization required', invocationResult: 'service-unavailable' }],
    ['09-configResolveClass-response-empty-outConfigs.xml', undefined],
    ['10-configResolveClass-response-storageLocalDiskPartition.xml', undefined],
    ['12-configConfMos-response-error-150.xml', { code: '150', descr: 'block definition is too large. Size cannot exceed 1000.', invocationResult: 'unidentified-fail' }],
    ['13-error-ERR-xml-parse-error-unknown-attribute.xml', { code: 'ERR-xml-parse-error', descr: "XML PARSING ERROR: unknown attribute 'dn' in element 'pair'", invocationResult: '594' }],
    ['14-aaaLogout-response-ok.xml', undefined],
    ['15-aaaLogout-response-555-session-not-found.xml', { code: '555', descr: 'Session not found', invocationResult: 'unidentified-fail' }],
    // faultOf trims the description for messages (parseXml keeps the trailing space).
    ['16-error-ERR-xml-parse-error-missing-inCookie.xml', { code: 'ERR-xml-parse-error', descr: 'XML PARSING ERROR: Required inCookie attribute missing in the xml request.', invocationResult: '594' }],
    ['18-configConfMos-response-outConfigs-pair.xml', undefined],
  ])('%s', (f, want) => {
    expect(faultOf(parseXml(fixture(f)))).toEqual(want);
  });

  it.each<[string, string, UcsmFault | undefined]>([
    ['errorCode="0" is no fault', '<configResolveDn cookie="c" response="yes" errorCode="0" dn="sys"><outConfig/></configResolveDn>', undefined],
    ['empty errorCode is no fault', '<configResolveDn cookie="c" response="yes" errorCode=""/>', undefined],
    ['no invocationResult', `<configConfMos cookie="c" response="yes" errorCode="103" errorDescr="can't create; object already exists."/>`, { code: '103', descr: "can't create; object already exists." }],
    ['no errorDescr', '<configConfMos cookie="c" response="yes" errorCode="105"/>', { code: '105', descr: '' }],
    ['102 with its trailing space', '<configConfMos cookie="c" response="yes" errorCode="102" invocationResult="unidentified-fail" errorDescr="configured object (fabric/lan/net-x) not found "/>', { code: '102', descr: 'configured object (fabric/lan/net-x) not found', invocationResult: 'unidentified-fail' }],
  ])('%s', (_what, text, want) => {
    const f = faultOf(parseXml(text));
    expect(f).toEqual(want);
    if (want && !want.invocationResult) expect(f).not.toHaveProperty('invocationResult');
  });
});

describe('outMos', () => {
  it('configConfMos pairs are unwrapped (fixture 18)', () => {
    const mos = outMos(parseXml(fixture('18-configConfMos-response-outConfigs-pair.xml')));
    expect(mos).toHaveLength(1);
    expect(mos[0]!.classId).toBe('mgmtController');
    expect(mos[0]!.children).toEqual([]);
    expect(mos[0]!.attrs).toMatchObject({ dn: 'sys/chassis-2/blade-1/mgmt', status: 'modified', model: 'UCSB-B200-M3', serial: 'CBA9876XYZ', fsmStamp: '2022-11-03T15:14:32.158' });
  });

  it('configResolveClass outConfigs (fixtures 09, 10)', () => {
    expect(outMos(parseXml(fixture('09-configResolveClass-response-empty-outConfigs.xml')))).toEqual([]);
    const mos = outMos(parseXml(fixture('10-configResolveClass-response-storageLocalDiskPartition.xml')));
    expect(mos.map((m) => [m.classId, m.attrs.dn, m.attrs.intId])).toEqual([
      ['storageLocalDiskPartition', 'org-root/local-disk-config-default/partition', '29002'],
      ['storageLocalDiskPartition', 'sys/chassis-1/blade-2/board/storage-SAS-1/local-disk-config/partition', 'none'],
    ]);
  });

  it('no containers, no MOs (login, errors)', () => {
    expect(outMos(parseXml(fixture('01-aaaLogin-response-ok.xml')))).toEqual([]);
    expect(outMos(parseXml(fixture('12-configConfMos-response-error-150.xml')))).toEqual([]);
  });

  it('configResolveDn outConfig, empty and full', () => {
    expect(outMos(parseXml('<configResolveDn dn="sys/x" cookie="c" response="yes"><outConfig/></configResolveDn>'))).toEqual([]);
    expect(outMos(parseXml('<configResolveDn dn="sys" cookie="c" response="yes"><outConfig><topSystem address="10.0.0.5" dn="sys" name="fi"/></outConfig></configResolveDn>'))).toEqual([
      { classId: 'topSystem', attrs: { address: '10.0.0.5', dn: 'sys', name: 'fi' }, children: [] },
    ]);
  });

  it('configResolveDns: outConfigs only, outUnresolved ignored', () => {
    const r = parseXml(
      '<configResolveDns cookie="c" response="yes"><outConfigs><fabricVlan dn="fabric/lan/net-a" id="5" name="a"/></outConfigs><outUnresolved><dn value="fabric/lan/net-b"/></outUnresolved></configResolveDns>',
    );
    expect(outMos(r)).toEqual([{ classId: 'fabricVlan', attrs: { dn: 'fabric/lan/net-a', id: '5', name: 'a' }, children: [] }]);
  });

  it('hierarchical children get dn from the parent’s dn and their rn; a child’s own dn is kept', () => {
    const r = parseXml(
      '<configResolveDns cookie="c" response="yes"><outConfigs>' +
        '<vnicProfile dn="fabric/lan/profiles/vnic-nf-pp-app" name="nf-pp-app">' +
        '<vnicEtherIf defaultNet="yes" name="nf-app" rn="if-nf-app"><faultInst rn="fault-F1" code="F1"/></vnicEtherIf>' +
        '<vmVnicProfCl name="cl1" rn="cl-cl1"/>' +
        '<vnicProfileAlias dn="fabric/lan/profiles/vnic-nf-pp-app/alias-x" rn="alias-ignored"/>' +
        '</vnicProfile></outConfigs></configResolveDns>',
    );
    const mos = outMos(r);
    expect(mos).toHaveLength(1);
    const want: Mo = {
      classId: 'vnicProfile',
      attrs: { dn: 'fabric/lan/profiles/vnic-nf-pp-app', name: 'nf-pp-app' },
      children: [
        {
          classId: 'vnicEtherIf',
          attrs: { defaultNet: 'yes', name: 'nf-app', rn: 'if-nf-app', dn: 'fabric/lan/profiles/vnic-nf-pp-app/if-nf-app' },
          children: [{ classId: 'faultInst', attrs: { rn: 'fault-F1', code: 'F1', dn: 'fabric/lan/profiles/vnic-nf-pp-app/if-nf-app/fault-F1' }, children: [] }],
        },
        { classId: 'vmVnicProfCl', attrs: { name: 'cl1', rn: 'cl-cl1', dn: 'fabric/lan/profiles/vnic-nf-pp-app/cl-cl1' }, children: [] },
        { classId: 'vnicProfileAlias', attrs: { dn: 'fabric/lan/profiles/vnic-nf-pp-app/alias-x', rn: 'alias-ignored' }, children: [] },
      ],
    };
    expect(mos[0]).toEqual(want);
    expect(flatten(mos).map((m) => m.attrs.dn)).toEqual([
      'fabric/lan/profiles/vnic-nf-pp-app',
      'fabric/lan/profiles/vnic-nf-pp-app/if-nf-app',
      'fabric/lan/profiles/vnic-nf-pp-app/if-nf-app/fault-F1',
      'fabric/lan/profiles/vnic-nf-pp-app/cl-cl1',
      'fabric/lan/profiles/vnic-nf-pp-app/alias-x',
    ]);
  });

  it('several pairs, in order', () => {
    const r = parseXml(
      '<configConfMos cookie="c" response="yes"><outConfigs>' +
        '<pair key="fabric/lan/net-a"><fabricVlan dn="fabric/lan/net-a" status="created"/></pair>' +
        '<pair key="fabric/lan/net-b"><fabricVlan dn="fabric/lan/net-b" status="deleted"/></pair>' +
        '</outConfigs></configConfMos>',
    );
    expect(outMos(r).map((m) => [m.attrs.dn, m.attrs.status])).toEqual([
      ['fabric/lan/net-a', 'created'],
      ['fabric/lan/net-b', 'deleted'],
    ]);
  });
});

describe('toXml / escapeAttr', () => {
  it.each([
    ['plain', 'plain'],
    ['a&b', 'a&amp;b'],
    ['<x>', '&lt;x&gt;'],
    ['say "hi"', 'say &quot;hi&quot;'],
    ["it's", 'it&apos;s'],
    [`&<>"'`, '&amp;&lt;&gt;&quot;&apos;'],
    ['&amp;', '&amp;amp;'],
    ['', ''],
  ])('escapeAttr(%j) = %j', (raw, want) => {
    expect(escapeAttr(raw)).toBe(want);
  });

  it('serializes attributes in order, nested children, self-closing leaves', () => {
    const n = el('configConfMos', { cookie: 'C', inHierarchical: 'false' }, [
      el('inConfigs', {}, [el('pair', { key: 'fabric/lan/net-a' }, [el('fabricVlan', { name: 'a', id: '5', status: 'created', dn: 'fabric/lan/net-a' })])]),
    ]);
    expect(toXml(n)).toBe(
      '<configConfMos cookie="C" inHierarchical="false"><inConfigs><pair key="fabric/lan/net-a"><fabricVlan name="a" id="5" status="created" dn="fabric/lan/net-a" /></pair></inConfigs></configConfMos>',
    );
  });

  it('reproduces the SDK request of fixture 05 byte for byte', () => {
    const n = el('configConfMos', { cookie: 'cookie', inHierarchical: 'false' }, [
      el('inConfigs', {}, [el('pair', { key: 'org-root/ls-test_sp' }, [el('lsServer', { dn: 'org-root/ls-test_sp', name: 'test_sp', status: 'created' })])]),
    ]);
    expect(toXml(n)).toBe(fixture('05-configConfMos-request-create-lsServer.xml').trim());
  });

  const tricky = [`&<>"'`, 'a &amp; b', '  spaced  ', "O'Brien \"quoted\" <tag/> & more", 'ucs-HANATDIT\\sa-hanarp', 'unicodé ✓', ''];
  it.each(tricky)('round trip of %j', (v) => {
    const n: XmlNode = el('vnicProfile', { descr: v, name: 'p', dn: 'fabric/lan/profiles/vnic-p' }, [el('vnicEtherIf', { name: v, defaultNet: 'yes' })]);
    expect(parseXml(toXml(n))).toEqual(n);
  });

  it('moToNode', () => {
    const mo: Mo = { classId: 'vnicProfile', attrs: { dn: 'd', name: 'p' }, children: [{ classId: 'vnicEtherIf', attrs: { dn: 'd/if-v', name: 'v' }, children: [] }] };
    expect(toXml(moToNode(mo))).toBe('<vnicProfile dn="d" name="p"><vnicEtherIf dn="d/if-v" name="v" /></vnicProfile>');
  });
});

describe('filterNode', () => {
  const eq: Filter = { op: 'eq', classId: 'fabricVlan', property: 'id', value: '100' };
  const wcard: Filter = { op: 'wcard', classId: 'fabricVlan', property: 'name', value: '^nf-' };
  it.each<[string, Filter, string]>([
    ['eq', eq, '<eq class="fabricVlan" property="id" value="100" />'],
    ['wcard', wcard, '<wcard class="fabricVlan" property="name" value="^nf-" />'],
    ['ne', { op: 'ne', classId: 'faultInst', property: 'severity', value: 'cleared' }, '<ne class="faultInst" property="severity" value="cleared" />'],
    ['le', { op: 'le', classId: 'fabricVlan', property: 'id', value: '10' }, '<le class="fabricVlan" property="id" value="10" />'],
    ['and', { op: 'and', filters: [wcard, eq] }, '<and><wcard class="fabricVlan" property="name" value="^nf-" /><eq class="fabricVlan" property="id" value="100" /></and>'],
    ['or', { op: 'or', filters: [eq, wcard] }, '<or><eq class="fabricVlan" property="id" value="100" /><wcard class="fabricVlan" property="name" value="^nf-" /></or>'],
    ['not', { op: 'not', filter: eq }, '<not><eq class="fabricVlan" property="id" value="100" /></not>'],
    ['escaped value', { op: 'wcard', classId: 'vnicProfile', property: 'descr', value: `a&b<"'>` }, '<wcard class="vnicProfile" property="descr" value="a&amp;b&lt;&quot;&apos;&gt;" />'],
  ])('%s', (_what, f, want) => {
    expect(toXml(filterNode(f))).toBe(want);
  });

  it('not/or/and/eq/wcard reproduces the SDK filter of fixture 11', () => {
    const f: Filter = {
      op: 'not',
      filter: {
        op: 'or',
        filters: [
          { op: 'eq', classId: 'lsServer', property: 'type', value: 'instance' },
          {
            op: 'and',
            filters: [
              { op: 'eq', classId: 'lsServer', property: 'usrLbl', value: 'lsserver' },
              { op: 'not', filter: { op: 'wcard', classId: 'lsServer', property: 'descr', value: 'description' } },
            ],
          },
        ],
      },
    };
    expect(toXml(el('filter', {}, [filterNode(f)]))).toBe(fixture('11-inFilter-not-or-and-eq-wcard.xml').trim());
  });
});

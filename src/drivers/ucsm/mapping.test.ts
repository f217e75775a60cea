// netform's network ⇄ UCS Manager objects: names under UCSM's rules (reference §6.3), the MOs netform
// writes, the observed state and the diff.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../api/errors.ts';
import type { FieldChange, Owner } from '../driver.ts';
import type { NetworkModel } from '../model.ts';
import {
  checkVlan,
  diffNetwork,
  isManagedMembership,
  marker,
  membershipDns,
  membershipMo,
  names,
  normalize,
  profileMo,
  ucsmName,
  vlanMo,
  type UcsmNetworkState,
  type UcsmOptions,
} from './mapping.ts';
import type { Mo } from './xml.ts';

const sha = (s: string, n: number): string => createHash('sha256').update(s).digest('hex').slice(0, n);
/** UCSM's naming charset (fabricVlan.name, vnicProfile.name, vnicEtherIf.name). */
const UCSM_CHARS = /^[-.:_a-zA-Z0-9]+$/;

const owner: Owner = { instance: 'lab', kind: 'Network', name: 'app' };
const ownerDigestLab = sha('lab:Network/app', 20);

const opts = (over: Partial<UcsmOptions> = {}): UcsmOptions => ({
  vlanNamePrefix: 'nf-',
  portProfilePrefix: 'nf-pp-',
  hosts: [
    { host: 'h1', serviceProfile: 'org-root/ls-sp1' },
    { host: 'h2', vnicTemplate: 'org-root/lan-conn-templ-t1' },
    { host: 'h3', serviceProfile: 'org-root/ls-sp3' },
    { host: 'h4', serviceProfile: 'org-root/ls-sp1' }, // shares h1's service profile
    { host: 'h5', serviceProfile: 'org-root/org-x/ls-sp5', vnicTemplate: 'org-root/lan-conn-templ-t1' },
  ],
  vnics: ['eth0', 'eth1'],
  maxPorts: 64,
  ...over,
});

const model = (over: Partial<NetworkModel> = {}): NetworkModel => ({
  name: 'app',
  physicalNetwork: 'physnet1',
  vlan: 100,
  mtu: 1500,
  shared: false,
  adminStateUp: true,
  portSecurity: true,
  portMirroring: false,
  subnets: [],
  hosts: ['h1', 'h2'],
  ...over,
});

const CLIENT = `nfcl-${sha('app', 11)}`;
const N = {
  vlan: 'nf-app',
  vlanDn: 'fabric/lan/net-nf-app',
  profile: 'nf-pp-app',
  profileDn: 'fabric/lan/profiles/vnic-nf-pp-app',
  profileIfDn: 'fabric/lan/profiles/vnic-nf-pp-app/if-nf-app',
  client: CLIENT,
  clientDn: `fabric/lan/profiles/vnic-nf-pp-app/cl-${CLIENT}`,
};
const M_SP1_ETH0 = 'org-root/ls-sp1/ether-eth0/if-nf-app';
const M_SP1_ETH1 = 'org-root/ls-sp1/ether-eth1/if-nf-app';
const M_T1 = 'org-root/lan-conn-templ-t1/if-nf-app';

function thrown(f: () => unknown): BackendError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BackendError);
    return e as BackendError;
  }
  throw new Error('expected a throw');
}

// ---- names ------------------------------------------------------------------------------------------

describe('ucsmName', () => {
  const long41 = 'a'.repeat(41);
  const cases: { what: string; prefix: string; network: string; max: number; want: string }[] = [
    { what: 'short name kept', prefix: 'nf-', network: 'app', max: 32, want: 'nf-app' },
    { what: 'exactly 32 kept', prefix: 'nf-', network: 'b'.repeat(29), max: 32, want: `nf-${'b'.repeat(29)}` },
    { what: '33 hashed to 32', prefix: 'nf-', network: 'b'.repeat(30), max: 32, want: `nf-${'b'.repeat(22)}-${sha('b'.repeat(30), 6)}` },
    { what: 'exactly 31 kept (profile)', prefix: 'nf-pp-', network: 'c'.repeat(25), max: 31, want: `nf-pp-${'c'.repeat(25)}` },
    { what: '32 hashed to 31 (profile)', prefix: 'nf-pp-', network: 'c'.repeat(26), max: 31, want: `nf-pp-${'c'.repeat(18)}-${sha('c'.repeat(26), 6)}` },
    { what: 'long vlan name', prefix: 'nf-', network: long41, max: 32, want: `nf-${'a'.repeat(22)}-${sha(long41, 6)}` },
    { what: 'long profile name', prefix: 'nf-pp-', network: long41, max: 31, want: `nf-pp-${'a'.repeat(18)}-${sha(long41, 6)}` },
    { what: 'charset outside UCSM: replaced and hashed', prefix: 'nf-', network: 'a b/c', max: 32, want: `nf-a_b_c-${sha('a b/c', 6)}` },
    { what: 'dots, colons, underscores kept', prefix: 'nf-', network: 'a.b:c_d-e', max: 32, want: 'nf-a.b:c_d-e' },
  ];
  it.each(cases)('$what', ({ prefix, network, max, want }) => {
    const got = ucsmName(prefix, network, max);
    expect(got).toBe(want);
    expect(got.length).toBeLessThanOrEqual(max);
    expect(got).toMatch(UCSM_CHARS);
    expect(got.startsWith(prefix)).toBe(true);
    expect(ucsmName(prefix, network, max)).toBe(got); // deterministic
  });

  it('distinct long names sharing their first characters give distinct names', () => {
    const nets = ['x'.repeat(40) + '1', 'x'.repeat(40) + '2', 'x'.repeat(50), 'x'.repeat(33), 'y'.repeat(40)];
    for (const [prefix, max] of [['nf-', 32], ['nf-pp-', 31]] as const) {
      const got = nets.map((n) => ucsmName(prefix, n, max));
      expect(new Set(got).size).toBe(nets.length);
      for (const g of got) {
        expect(g.length).toBe(max);
        expect(g).toMatch(UCSM_CHARS);
      }
    }
    expect(ucsmName('nf-', 'x'.repeat(40) + '1', 32)).toBe(`nf-${'x'.repeat(22)}-${sha('x'.repeat(40) + '1', 6)}`);
    expect(ucsmName('nf-', 'x'.repeat(40) + '2', 32)).toBe(`nf-${'x'.repeat(22)}-${sha('x'.repeat(40) + '2', 6)}`);
  });
});

describe('names', () => {
  it('gives every DN of a short network', () => {
    expect(names(opts(), 'app')).toEqual(N);
  });

  it('a long network: VLAN ≤ 32, profile ≤ 31, the interface and client DNs follow them', () => {
    const net = 'tenant-a-very-long-network-name-for-db';
    const vlan = `nf-${net.slice(0, 22)}-${sha(net, 6)}`;
    const profile = `nf-pp-${net.slice(0, 18)}-${sha(net, 6)}`;
    const client = `nfcl-${sha(net, 11)}`;
    expect(names(opts(), net)).toEqual({
      vlan,
      vlanDn: `fabric/lan/net-${vlan}`,
      profile,
      profileDn: `fabric/lan/profiles/vnic-${profile}`,
      profileIfDn: `fabric/lan/profiles/vnic-${profile}/if-${vlan}`,
      client,
      clientDn: `fabric/lan/profiles/vnic-${profile}/cl-${client}`,
    });
    expect(vlan).toHaveLength(32);
    expect(profile).toHaveLength(31);
    expect(client).toHaveLength(16); // vmVnicProfCl.name {1,16}
  });

  it('custom prefixes are used', () => {
    const n = names(opts({ vlanNamePrefix: 'V_', portProfilePrefix: 'PP_' }), 'db');
    expect([n.vlan, n.vlanDn, n.profile, n.profileDn, n.profileIfDn]).toEqual([
      'V_db',
      'fabric/lan/net-V_db',
      'PP_db',
      'fabric/lan/profiles/vnic-PP_db',
      'fabric/lan/profiles/vnic-PP_db/if-V_db',
    ]);
  });
});

describe('marker', () => {
  it.each([
    { o: owner, want: `netform lab ${ownerDigestLab}` },
    { o: { instance: 'prod', kind: 'Network', name: 'app' } as Owner, want: `netform prod ${sha('prod:Network/app', 20)}` },
    { o: { instance: 'lab', kind: 'Network', name: 'app', namespace: 'team' } as Owner, want: `netform lab ${sha('lab:Network/team/app', 20)}` },
  ])('$want', ({ o, want }) => {
    expect(marker(o)).toBe(want);
  });
});

// ---- VLAN ranges ------------------------------------------------------------------------------------

describe('checkVlan', () => {
  it.each([1, 2, 100, 3914, 4048, 4093])('accepts %i', (v) => {
    expect(checkVlan(v, 'app')).toBe(v);
  });

  const outside = (v: number) => `VLAN ${v} is outside UCS Manager's ranges (1-4042, 4048-4093)`;
  const reserved = (v: number) => `VLAN ${v} is in UCS Manager's reserved block 3915-4042`;
  it.each([
    { vlan: 0 as number | undefined, msg: outside(0) },
    { vlan: -1, msg: outside(-1) },
    { vlan: 1.5, msg: outside(1.5) },
    { vlan: 3915, msg: reserved(3915) },
    { vlan: 4000, msg: reserved(4000) },
    { vlan: 4042, msg: reserved(4042) },
    { vlan: 4043, msg: outside(4043) },
    { vlan: 4044, msg: outside(4044) },
    { vlan: 4045, msg: outside(4045) },
    { vlan: 4046, msg: outside(4046) },
    { vlan: 4047, msg: outside(4047) },
    { vlan: 4094, msg: outside(4094) },
    { vlan: 4095, msg: outside(4095) },
    { vlan: undefined, msg: "network app is untagged; a UCS Manager network needs a VLAN" },
  ])('refuses $vlan', ({ vlan, msg }) => {
    const e = thrown(() => checkVlan(vlan, 'app'));
    expect(e.errorClass).toBe('Terminal');
    expect(e.code).toBe('InvalidVlan');
    expect(e.message).toBe(msg);
  });
});

// ---- memberships ------------------------------------------------------------------------------------

describe('membershipDns', () => {
  it.each<{ what: string; hosts: string[] | undefined; o?: Partial<UcsmOptions>; want: string[] }>([
    { what: 'service profile × vnics and a vNIC template, sorted', hosts: ['h1', 'h2'], want: [M_T1, M_SP1_ETH0, M_SP1_ETH1] },
    { what: 'hosts not carrying the network are left out', hosts: ['h2'], want: [M_T1] },
    { what: 'a shared service profile and template appear once', hosts: ['h1', 'h2', 'h4', 'h5'], want: [M_T1, 'org-root/ls-sp1/ether-eth0/if-nf-app', 'org-root/ls-sp1/ether-eth1/if-nf-app', 'org-root/org-x/ls-sp5/ether-eth0/if-nf-app', 'org-root/org-x/ls-sp5/ether-eth1/if-nf-app'] },
    { what: 'both kinds on one host', hosts: ['h5'], want: [M_T1, 'org-root/org-x/ls-sp5/ether-eth0/if-nf-app', 'org-root/org-x/ls-sp5/ether-eth1/if-nf-app'] },
    { what: 'a host unknown to the provider options', hosts: ['h9'], want: [] },
    { what: 'no hosts', hosts: [], want: [] },
    { what: 'hosts undefined', hosts: undefined, want: [] },
    { what: 'custom vnics', hosts: ['h3'], o: { vnics: ['eth2'] }, want: ['org-root/ls-sp3/ether-eth2/if-nf-app'] },
  ])('$what', ({ hosts, o, want }) => {
    const m = model({ hosts });
    if (hosts === undefined) delete m.hosts;
    expect(membershipDns(opts(o), m, 'nf-app')).toEqual(want);
  });
});

// ---- the MOs ----------------------------------------------------------------------------------------

describe('MOs', () => {
  it('vlanMo', () => {
    expect(vlanMo(N, 100, 'created,modified')).toEqual({
      classId: 'fabricVlan',
      attrs: {
        name: 'nf-app',
        id: '100',
        sharing: 'none',
        defaultNet: 'no',
        compressionType: 'included',
        mcastPolicyName: '',
        pubNwName: '',
        policyOwner: 'local',
        status: 'created,modified',
        dn: 'fabric/lan/net-nf-app',
      },
      children: [],
    });
  });

  it('profileMo: the profile with its marker, the native VLAN interface and the profile client', () => {
    expect(profileMo(N, owner, opts(), model(), 'created')).toEqual({
      classId: 'vnicProfile',
      attrs: {
        name: 'nf-pp-app',
        descr: `netform lab ${ownerDigestLab}`,
        maxPorts: '64',
        hostNwIOPerf: 'none',
        policyOwner: 'local',
        qosPolicyName: '',
        status: 'created',
        dn: 'fabric/lan/profiles/vnic-nf-pp-app',
      },
      children: [
        { classId: 'vnicEtherIf', attrs: { name: 'nf-app', defaultNet: 'yes', dn: 'fabric/lan/profiles/vnic-nf-pp-app/if-nf-app' }, children: [] },
        {
          classId: 'vmVnicProfCl',
          attrs: { name: CLIENT, orgPath: '.*', swName: '.*', dcName: '.*', policyOwner: 'local', dn: `fabric/lan/profiles/vnic-nf-pp-app/cl-${CLIENT}` },
          children: [],
        },
      ],
    });
  });

  it.each<{ what: string; qos: NetworkModel['qos']; policy: string | undefined; want: string }>([
    { what: 'no limit, no policy', qos: undefined, policy: undefined, want: '' },
    { what: 'no limit, a policy', qos: undefined, policy: 'nf-qos', want: '' },
    { what: 'a limit, no policy', qos: { maxRateKbps: 10_000 }, policy: undefined, want: '' },
    { what: 'a limit and a policy', qos: { maxRateKbps: 10_000 }, policy: 'nf-qos', want: 'nf-qos' },
    { what: 'a burst only, a policy', qos: { maxBurstKbps: 500 }, policy: 'nf-qos', want: '' },
    { what: 'an empty qos, a policy', qos: {}, policy: 'nf-qos', want: '' },
  ])('profileMo qosPolicyName: $what → "$want"', ({ qos, policy, want }) => {
    const m = model();
    if (qos) m.qos = qos;
    const o = opts();
    if (policy) o.qosPolicy = policy;
    expect(profileMo(N, owner, o, m, 'created').attrs.qosPolicyName).toBe(want);
  });

  it('profileMo maxPorts follows the options', () => {
    expect(profileMo(N, owner, opts({ maxPorts: 4096 }), model(), 'modified').attrs.maxPorts).toBe('4096');
  });

  it('membershipMo', () => {
    expect(membershipMo(M_SP1_ETH0, 'nf-app', 'created,modified')).toEqual({
      classId: 'vnicEtherIf',
      attrs: { name: 'nf-app', defaultNet: 'no', status: 'created,modified', dn: M_SP1_ETH0 },
      children: [],
    });
  });
});

// ---- observed state -----------------------------------------------------------------------------------

/** MOs as UCSM returns them (full attributes, no status), hierarchy already flattened into children. */
const vlanAsReturned = (id = '100'): Mo => ({
  classId: 'fabricVlan',
  attrs: { childAction: 'deleteNonPresent', dn: N.vlanDn, id, name: N.vlan, sharing: 'none', switchId: 'dual', defaultNet: 'no' },
  children: [],
});
const profileAsReturned = (descr: string, over: { ifs?: [string, string][]; client?: boolean; qos?: string } = {}): Mo => ({
  classId: 'vnicProfile',
  attrs: { descr, dn: N.profileDn, maxPorts: '64', name: N.profile, qosPolicyName: over.qos ?? '', primaryVlanId: '100' },
  children: [
    ...(over.ifs ?? [['nf-app', 'yes']]).map(([name, defaultNet]) => ({
      classId: 'vnicEtherIf',
      attrs: { defaultNet, dn: `${N.profileDn}/if-${name}`, name, operState: 'ok' },
      children: [],
    })),
    ...(over.client === false ? [] : [{ classId: 'vmVnicProfCl', attrs: { dn: N.clientDn, name: CLIENT, orgPath: '.*' }, children: [] }]),
  ],
});
const ifMo = (dn: string): Mo => ({ classId: 'vnicEtherIf', attrs: { defaultNet: 'no', dn, name: 'nf-app' }, children: [] });

describe('isManagedMembership', () => {
  const o = { vlanNamePrefix: 'nf-', portProfilePrefix: 'nf-pp-', vnics: ['eth0', 'eth1'], maxPorts: 64, hosts: [{ host: 'hv1', serviceProfile: 'org-root/ls-hv1' }, { host: 'hv2', vnicTemplate: 'org-root/lan-conn-templ-t' }] };
  it.each([
    ['org-root/ls-hv1/ether-eth0/if-nf-app', true],
    ['org-root/ls-hv1/ether-eth1/if-nf-app', true],
    ['org-root/ls-hv1/ether-eth2/if-nf-app', false],
    ['org-root/lan-conn-templ-t/if-nf-app', true],
    ['org-root/ls-other/ether-eth0/if-nf-app', false],
    ['fabric/lan/profiles/vnic-theirs/if-nf-app', false],
  ])('%s → %s', (dn, want) => {
    expect(isManagedMembership(o, dn)).toBe(want);
  });
});

describe('normalize', () => {
  it('our objects: memberships exclude the profile’s own interface and are sorted; ours by marker', () => {
    const s = normalize(N, owner, vlanAsReturned(), profileAsReturned(marker(owner), { ifs: [['zz-other', 'no'], ['nf-app', 'yes']] }), [
      ifMo(M_SP1_ETH1),
      ifMo(N.profileIfDn),
      ifMo(M_T1),
      ifMo(M_SP1_ETH0),
    ]);
    expect(s).toEqual({
      vlan: { name: 'nf-app', id: 100 },
      profile: {
        name: 'nf-pp-app',
        descr: `netform lab ${ownerDigestLab}`,
        ours: true,
        qosPolicyName: '',
        ifs: [
          { name: 'nf-app', defaultNet: 'yes' },
          { name: 'zz-other', defaultNet: 'no' },
        ],
        client: true,
      },
      memberships: [M_T1, M_SP1_ETH0, M_SP1_ETH1],
    });
  });

  it.each([
    { what: 'another owner’s marker', descr: marker({ instance: 'lab', kind: 'Network', name: 'db' }) },
    { what: 'another installation’s marker', descr: marker({ instance: 'prod', kind: 'Network', name: 'app' }) },
    { what: 'a hand-written description', descr: 'made by hand' },
    { what: 'no description', descr: '' },
  ])('not ours: $what', ({ descr }) => {
    const s = normalize(N, owner, undefined, profileAsReturned(descr), []);
    expect(s.profile!.ours).toBe(false);
    expect(s.profile!.descr).toBe(descr);
  });

  it('nothing there', () => {
    expect(normalize(N, owner, undefined, undefined, [])).toEqual({ memberships: [] });
  });

  it('a profile without interfaces or client, and a qos policy', () => {
    const s = normalize(N, owner, undefined, profileAsReturned(marker(owner), { ifs: [], client: false, qos: 'gold-pol' }), []);
    expect(s.profile).toEqual({ name: 'nf-pp-app', descr: marker(owner), ours: true, qosPolicyName: 'gold-pol', ifs: [], client: false });
    expect(s.vlan).toBeUndefined();
  });
});

// ---- diff -------------------------------------------------------------------------------------------

describe('diffNetwork', () => {
  const o = opts({ qosPolicy: 'nf-qos' });
  /** The state UCSM holds after netform converged the network. */
  const converged = (m: NetworkModel, oo: UcsmOptions = o): UcsmNetworkState => {
    const n = names(oo, m.name);
    const pm = profileMo(n, owner, oo, m, 'created');
    return normalize(n, owner, vlanMo(n, m.vlan!, 'created'), pm, membershipDns(oo, m, n.vlan).map((dn) => membershipMo(dn, n.vlan, 'created')));
  };

  it('no difference after convergence (with and without a bandwidth limit)', () => {
    expect(diffNetwork(o, model(), converged(model()))).toEqual([]);
    const limited = model({ qos: { maxRateKbps: 1000 } });
    expect(converged(limited).profile!.qosPolicyName).toBe('nf-qos');
    expect(diffNetwork(o, limited, converged(limited))).toEqual([]);
  });

  const base = (): UcsmNetworkState => converged(model());
  const cases: { what: string; m?: Partial<NetworkModel>; s: (s: UcsmNetworkState) => UcsmNetworkState; want: FieldChange[] }[] = [
    {
      what: 'missing VLAN',
      s: ({ vlan: _v, ...s }) => s,
      want: [{ path: 'vlan', to: 100 }],
    },
    {
      what: 'renumbered VLAN id is a mutable change',
      s: (s) => ({ ...s, vlan: { name: 'nf-app', id: 200 } }),
      want: [{ path: 'vlan.id', from: 200, to: 100 }],
    },
    {
      what: 'missing port profile',
      s: ({ profile: _p, ...s }) => s,
      want: [{ path: 'portProfile', to: 'nf-pp-app' }],
    },
    {
      what: 'profile VLAN not native (defaultNet drift)',
      s: (s) => ({ ...s, profile: { ...s.profile!, ifs: [{ name: 'nf-app', defaultNet: 'no' }] } }),
      want: [{ path: 'portProfile.vlans', from: 'nf-app:no', to: 'nf-app:yes' }],
    },
    {
      what: 'an extra VLAN on the profile',
      s: (s) => ({ ...s, profile: { ...s.profile!, ifs: [{ name: 'nf-app', defaultNet: 'yes' }, { name: 'nf-db', defaultNet: 'no' }] } }),
      want: [{ path: 'portProfile.vlans', from: 'nf-app:yes,nf-db:no', to: 'nf-app:yes' }],
    },
    {
      what: 'no VLAN on the profile',
      s: (s) => ({ ...s, profile: { ...s.profile!, ifs: [] } }),
      want: [{ path: 'portProfile.vlans', from: 'none', to: 'nf-app:yes' }],
    },
    {
      what: 'missing profile client',
      s: (s) => ({ ...s, profile: { ...s.profile!, client: false } }),
      want: [{ path: 'portProfile.client', to: CLIENT }],
    },
    {
      what: 'qos policy to add (the network got a bandwidth limit)',
      m: { qos: { maxRateKbps: 5000 } },
      s: (s) => s,
      want: [{ path: 'portProfile.qosPolicy', from: '', to: 'nf-qos' }],
    },
    {
      what: 'qos policy to remove',
      s: (s) => ({ ...s, profile: { ...s.profile!, qosPolicyName: 'nf-qos' } }),
      want: [{ path: 'portProfile.qosPolicy', from: 'nf-qos', to: '' }],
    },
    {
      what: 'qos policy changed by hand',
      m: { qos: { maxRateKbps: 5000 } },
      s: (s) => ({ ...s, profile: { ...s.profile!, qosPolicyName: 'gold' } }),
      want: [{ path: 'portProfile.qosPolicy', from: 'gold', to: 'nf-qos' }],
    },
    {
      what: 'membership added (a host now carries the network)',
      m: { hosts: ['h1', 'h2', 'h3'] },
      s: (s) => s,
      want: [
        {
          path: 'memberships',
          from: [M_T1, M_SP1_ETH0, M_SP1_ETH1],
          to: [M_T1, M_SP1_ETH0, M_SP1_ETH1, 'org-root/ls-sp3/ether-eth0/if-nf-app', 'org-root/ls-sp3/ether-eth1/if-nf-app'],
        },
      ],
    },
    {
      what: 'membership removed (a host no longer carries it)',
      m: { hosts: ['h2'] },
      s: (s) => s,
      want: [{ path: 'memberships', from: [M_T1, M_SP1_ETH0, M_SP1_ETH1], to: [M_T1] }],
    },
    {
      what: 'a stray membership',
      s: (s) => ({ ...s, memberships: [...s.memberships, 'org-root/ls-zz/ether-eth0/if-nf-app'] }),
      want: [{ path: 'memberships', from: [M_T1, M_SP1_ETH0, M_SP1_ETH1, 'org-root/ls-zz/ether-eth0/if-nf-app'], to: [M_T1, M_SP1_ETH0, M_SP1_ETH1] }],
    },
    {
      what: 'nothing on UCSM',
      s: () => ({ memberships: [] }),
      want: [
        { path: 'vlan', to: 100 },
        { path: 'portProfile', to: 'nf-pp-app' },
        { path: 'memberships', from: [], to: [M_T1, M_SP1_ETH0, M_SP1_ETH1] },
      ],
    },
  ];
  it.each(cases)('$what', ({ m, s, want }) => {
    const changes = diffNetwork(o, model(m), s(base()));
    expect(changes).toEqual(want);
    for (const c of changes) expect(c.immutable).toBeUndefined();
  });
});

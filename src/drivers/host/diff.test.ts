// diffHost / networkSync: desired vs observed host → what to create, replace, modify and delete,
// what netform must not touch (problems), and which networks are out of sync and why.
import { describe, expect, it } from 'vitest';
import { diffHost, isEmpty, networkSync, type HostDiff, type NetworkSync } from './diff.ts';
import {
  ALIAS_PREFIX,
  DOOMED_GROUP,
  NETFORM_GROUP,
  OVS_NETWORK_KEY,
  OVS_OWNER_KEY,
  type DesiredHost,
  type DesiredLink,
  type DesiredNetwork,
  type DesiredOvsPort,
  type ObservedHost,
  type ObservedLink,
  type ObservedOvsInterface,
  type ObservedOvsPort,
} from './model.ts';

const INSTANCE = 'nf-test';
const TAP = 'nfva83079d97b59';
const TAP2 = 'nfv679035cc71ba';
const INT = 'nfi-4b5e57f6eb2';

let ifindex = 10;
/** A device as `ip -j -d link` shows it: foreign (group default, no alias) unless `owned`. */
function ol(name: string, kind: string, o: Partial<ObservedLink> & { owned?: boolean } = {}): ObservedLink {
  const { owned, ...rest } = o;
  return {
    name,
    ifindex: ifindex++,
    kind,
    mtu: 1500,
    up: true,
    operstate: 'UP',
    mac: '52:54:00:00:00:01',
    group: owned ? NETFORM_GROUP : 0,
    ...(owned ? { alias: `${ALIAS_PREFIX}test` } : {}),
    ...rest,
  };
}

const want = (links: DesiredLink[], o: Partial<DesiredHost> = {}): DesiredHost => ({ links, addresses: [], networks: [], problems: [], ...o });
const have = (links: ObservedLink[], o: Partial<ObservedHost> = {}): ObservedHost => ({ links, addresses: [], ...o });

/** The parts of a diff worth comparing: changes without the want/have objects they carry. */
function summary(d: HostDiff) {
  return {
    links: d.links.map((c) => `${c.op} ${c.name}: ${c.fields.join(', ')}`),
    ports: d.ports.map((c) => `${c.op} ${c.name}${c.stale ? ' (stale)' : ''}: ${c.fields.join(', ')}`),
    addresses: d.addresses.map((a) => `${a.op} ${a.device} ${a.cidr}`),
    problems: d.problems,
    ...(d.createBridge ? { createBridge: d.createBridge } : {}),
  };
}
type Summary = ReturnType<typeof summary>;
const nothing: Summary = { links: [], ports: [], addresses: [], problems: [] };

// A linux-bridge network `web` (VLAN 100 on ens3) with one tap, as desired.
const WEB_LINKS: DesiredLink[] = [
  { name: 'ens3', kind: 'nic', mtu: 9000 },
  { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 9000, purpose: 'network/web' },
  { name: TAP, kind: 'tap', master: 'web', mtu: 9000, purpose: 'vnic/tenant-a/vm1-nic0' },
  { name: 'web', kind: 'bridge', mtu: 9000, purpose: 'network/web' },
];
// …and as realized on the host.
const WEB_OBSERVED = (): ObservedLink[] => [
  ol('ens3', '', { mtu: 9000 }),
  ol('ens3.100', 'vlan', { owned: true, parent: 'ens3', vlanId: 100, master: 'web', mtu: 9000 }),
  ol(TAP, 'tun', { owned: true, master: 'web', mtu: 9000 }),
  ol('web', 'bridge', { owned: true, mtu: 9000 }),
];

describe('diffHost: kernel devices', () => {
  it.each<{ name: string; want: DesiredHost; have: ObservedHost; diff: Summary }>([
    { name: 'realized exactly: empty', want: want(WEB_LINKS), have: have(WEB_OBSERVED()), diff: nothing },
    {
      name: 'missing devices are created (parents and children alike); the NIC is only configured',
      want: want(WEB_LINKS),
      have: have([ol('ens3', '', { mtu: 1500 })]),
      diff: { ...nothing, links: ['modify ens3: mtu 1500→9000', 'create ens3.100: missing', `create ${TAP}: missing`, 'create web: missing'] },
    },
    {
      name: 'a NIC missing is a problem, never created',
      want: want([{ name: 'ens3', kind: 'nic', mtu: 9000 }, { name: 'ens4', kind: 'nic' }]),
      have: have([]),
      diff: { ...nothing, problems: ['NIC ens3 is not on the host', 'NIC ens4 is not on the host'] },
    },
    {
      name: 'foreign devices with a wanted name: problems, never touched',
      want: want([
        { name: 'web', kind: 'bridge', mtu: 9000 },
        { name: 'db', kind: 'bridge', mtu: 9000 },
        { name: 'app', kind: 'bridge', mtu: 1500 },
        { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web' },
        { name: 'ens3.200', kind: 'vlan', parent: 'ens3', vlanId: 200, master: 'db' },
        { name: 'bond0', kind: 'bond', bond: { mode: '802.3ad', members: ['ens5'] } },
        { name: 'bond1', kind: 'bond', bond: { mode: '802.3ad', members: ['ens6'] } },
      ]),
      have: have([
        ol('web', 'bridge', { mtu: 1500 }), // a bridge someone else made
        ol('db', 'veth'),
        ol('app', ''),
        ol('ens3.100', 'vlan', { parent: 'ens3', vlanId: 100 }),
        ol('ens3.200', 'vlan', { parent: 'ens3', vlanId: 300 }),
        ol('bond0', 'bond', { bondMode: '802.3ad' }),
        ol('bond1', 'bond', { bondMode: 'active-backup' }), // another mode: still not netform's to replace
      ]),
      diff: {
        ...nothing,
        problems: [
          "device web exists and is not netform's",
          "device db exists as veth and is not netform's",
          "device app exists as a plain device and is not netform's",
          "device ens3.100 exists and is not netform's",
          "device ens3.200 exists on ens3 VLAN 300 and is not netform's",
          "device bond0 exists and is not netform's",
          "device bond1 exists and is not netform's",
        ],
      },
    },
    {
      name: "owned devices of the wrong kind, VLAN or bond mode are replaced",
      want: want([
        { name: 'web', kind: 'bridge', mtu: 1500 },
        { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100 },
        { name: 'ens4.100', kind: 'vlan', parent: 'ens4', vlanId: 100 },
        { name: 'bond0', kind: 'bond', bond: { mode: '802.3ad', members: [] } },
      ]),
      have: have([
        ol('web', 'veth', { owned: true }),
        ol('ens3.100', 'vlan', { owned: true, parent: 'ens3', vlanId: 200 }),
        ol('ens4.100', 'vlan', { owned: true, parent: 'ens3', vlanId: 100 }),
        ol('bond0', 'bond', { owned: true, bondMode: 'balance-rr' }),
      ]),
      diff: {
        ...nothing,
        links: ['replace web: kind veth→bridge', 'replace ens3.100: vlan ens3.200→ens3.100', 'replace ens4.100: vlan ens3.100→ens4.100', 'replace bond0: bond mode balance-rr→802.3ad'],
      },
    },
    {
      name: 'a re-created bond takes its dependants along: the VLANs on it are re-created, its members re-enslaved',
      want: want([
        { name: 'bond0', kind: 'bond', bond: { mode: '802.3ad', members: ['ens3', 'ens4'] }, mtu: 9000 },
        { name: 'bond0.100', kind: 'vlan', parent: 'bond0', vlanId: 100, master: 'web', mtu: 9000 },
        { name: 'ens3', kind: 'nic', master: 'bond0', mtu: 9000 },
        { name: 'ens4', kind: 'nic', master: 'bond0', mtu: 9000 },
        { name: 'web', kind: 'bridge', mtu: 9000 },
      ]),
      have: have([
        ol('bond0', 'bond', { owned: true, bondMode: 'active-backup', mtu: 9000 }),
        ol('bond0.100', 'vlan', { owned: true, parent: 'bond0', vlanId: 100, master: 'web', mtu: 9000 }),
        ol('ens3', '', { master: 'bond0', mtu: 9000 }),
        ol('ens4', '', { master: 'bond0', mtu: 1500 }),
        ol('web', 'bridge', { owned: true, mtu: 9000 }),
      ]),
      diff: {
        ...nothing,
        links: [
          'replace bond0: bond mode active-backup→802.3ad',
          'modify ens4: mtu 1500→9000, master bond0 re-created',
          'replace bond0.100: parent bond0 re-created',
          'modify ens3: master bond0 re-created',
        ],
      },
    },
    {
      name: 'a re-created bridge: every device on it is enslaved again',
      want: want(WEB_LINKS),
      have: have([...WEB_OBSERVED().filter((l) => l.name !== 'web'), ol('web', 'macvlan', { owned: true, mtu: 9000 })]),
      diff: { ...nothing, links: ['replace web: kind macvlan→bridge', 'modify ens3.100: master web re-created', `modify ${TAP}: master web re-created`] },
    },
    {
      name: 'mtu, master and up/down changes are modifications with readable fields',
      want: want([
        { name: 'ens3', kind: 'nic', mtu: 9000 },
        { name: 'ens4', kind: 'nic', master: 'web' },
        { name: 'ens5', kind: 'nic', master: 'web' },
        { name: 'ens6', kind: 'nic' },
        { name: 'ens7', kind: 'nic' },
        { name: 'ens8', kind: 'nic', mtu: 1500 },
        { name: TAP, kind: 'tap', master: 'web', down: true },
        { name: TAP2, kind: 'tap', master: 'web' },
        { name: 'web', kind: 'bridge', mtu: 1500 },
      ]),
      have: have([
        ol('ens3', '', { mtu: 1500 }),
        ol('ens4', ''), // no master yet
        ol('ens5', '', { master: 'old' }), // on another (owned) bridge
        ol('ens6', '', { master: 'old' }), // on an owned bridge, wanted on none
        ol('ens7', '', { master: 'docker0' }), // on a foreign bridge: left there
        ol('ens8', '', { master: 'ovs-system' }), // an OVS port: not a kernel master
        ol(TAP, 'tun', { owned: true, master: 'web' }),
        ol(TAP2, 'tun', { owned: true, master: 'web', up: false }),
        ol('web', 'bridge', { owned: true, mtu: 9000, up: false }),
        ol('old', 'bridge', { owned: true }),
        ol('docker0', 'bridge'),
      ]),
      diff: {
        ...nothing,
        links: [
          'modify ens3: mtu 1500→9000',
          'modify ens4: master none→web',
          'modify ens5: master old→web',
          'modify ens6: master old→none',
          `modify ${TAP}: down`,
          `modify ${TAP2}: up`,
          'modify web: mtu 9000→1500, up',
          'delete old: not wanted',
        ],
      },
    },
    {
      name: 'owned devices not wanted are deleted (netform group, doomed group or alias); foreign ones never',
      want: want([]),
      have: have([
        ol('nf-grp', 'bridge', { group: NETFORM_GROUP }),
        ol('nf-doomed', 'vlan', { group: DOOMED_GROUP, parent: 'ens3', vlanId: 5 }),
        ol('nf-alias', 'tun', { alias: 'netform:vnic/x/y' }),
        ol('nf-grpstr', 'bridge', { group: String(NETFORM_GROUP) }),
        ol('ens3', ''),
        ol('virbr0', 'bridge', { alias: 'libvirt' }),
        ol('vnet0', 'tun', { group: 5 }),
      ]),
      diff: { ...nothing, links: ['delete nf-grp: not wanted', 'delete nf-doomed: not wanted', 'delete nf-alias: not wanted', 'delete nf-grpstr: not wanted'] },
    },
  ])('$name', ({ want, have, diff }) => {
    expect(summary(diffHost(want, have, { instance: INSTANCE }))).toStrictEqual(diff);
  });

  it('changes carry the desired and observed device', () => {
    const h = have([ol('ens3', '', { mtu: 1500 }), ol('old', 'bridge', { owned: true })]);
    const d = diffHost(want(WEB_LINKS), h, { instance: INSTANCE });
    expect(d.links.find((c) => c.name === 'ens3')).toStrictEqual({ name: 'ens3', op: 'modify', want: WEB_LINKS[0], have: h.links[0], fields: ['mtu 1500→9000'] });
    expect(d.links.find((c) => c.name === 'web')).toStrictEqual({ name: 'web', op: 'create', want: WEB_LINKS[3], fields: ['missing'] });
    expect(d.links.find((c) => c.name === 'old')).toStrictEqual({ name: 'old', op: 'delete', have: h.links[1], fields: ['not wanted'] });
  });
});

describe('diffHost: addresses', () => {
  const w = want(
    [
      { name: 'ens3', kind: 'nic' },
      { name: 'web', kind: 'bridge' },
      { name: 'db', kind: 'bridge' },
    ],
    {
      addresses: [
        { device: 'web', cidr: '192.0.2.11/24' },
        { device: 'db', cidr: '198.51.100.11/24' },
        { device: INT, cidr: '203.0.113.11/24' },
      ],
      ovs: { bridge: 'br-int', datapath: 'netdev', ports: [{ name: INT, type: 'internal', tag: 100 }] },
    },
  );
  const links = [ol('ens3', ''), ol('web', 'bridge', { owned: true }), ol('db', 'bridge', { owned: true }), ol('eth0', ''), ol(INT, 'tun')];
  it.each<{ name: string; addresses: ObservedHost['addresses']; want: string[] }>([
    {
      name: 'all missing: added',
      addresses: [],
      want: ['add web 192.0.2.11/24', 'add db 198.51.100.11/24', `add ${INT} 203.0.113.11/24`],
    },
    {
      name: 'extra addresses removed only from managed non-NIC devices; link-local, NIC and foreign addresses kept',
      addresses: [
        { device: 'web', cidr: '192.0.2.11/24' },
        { device: 'web', cidr: '192.0.2.99/24' },
        { device: 'web', cidr: 'fe80::5054:ff:feaa:bb01/64' },
        { device: 'db', cidr: '198.51.100.11/24' },
        { device: 'db', cidr: '2001:db8::1/64' },
        { device: INT, cidr: '203.0.113.11/24' },
        { device: INT, cidr: '203.0.113.99/24' },
        { device: 'ens3', cidr: '10.0.0.5/24' },
        { device: 'eth0', cidr: '10.1.0.5/24' },
      ],
      want: ['remove web 192.0.2.99/24', 'remove db 2001:db8::1/64', `remove ${INT} 203.0.113.99/24`],
    },
    {
      name: 'a wanted address on another device: added there, removed from the managed one',
      addresses: [
        { device: 'db', cidr: '192.0.2.11/24' },
        { device: 'db', cidr: '198.51.100.11/24' },
        { device: INT, cidr: '203.0.113.11/24' },
      ],
      want: ['add web 192.0.2.11/24', 'remove db 192.0.2.11/24'],
    },
  ])('$name', ({ addresses, want: expected }) => {
    const ovs = { bridges: [{ name: 'br-int', uuid: 'b-1', datapath: 'netdev', ports: [port(INT, { tag: 100, interfaces: [iface(INT, { type: 'internal' })] })] }] };
    const d = diffHost(w, have(links, { addresses, ovs }), { instance: INSTANCE });
    expect(summary(d)).toStrictEqual({ ...nothing, addresses: expected });
  });
});

// ---- OVS -------------------------------------------------------------------------------------------

let uuidSeq = 0;
function iface(name: string, o: Partial<ObservedOvsInterface> = {}): ObservedOvsInterface {
  return { name, type: '', ofport: 7, error: undefined, mtuRequest: undefined, external: {}, ...o };
}
function port(name: string, o: Partial<ObservedOvsPort> = {}): ObservedOvsPort {
  return {
    uuid: `u-${name}-${uuidSeq++}`,
    name,
    tag: undefined,
    trunks: [],
    vlanMode: undefined,
    bondMode: undefined,
    lacp: undefined,
    interfaces: [iface(name)],
    external: {},
    ...o,
  };
}
const mine = (network?: string): Record<string, string> => ({ [OVS_OWNER_KEY]: INSTANCE, ...(network ? { [OVS_NETWORK_KEY]: network } : {}) });

const WANT_PORTS: DesiredOvsPort[] = [
  { name: 'bond0', type: 'bond', bondMembers: ['ens3', 'ens4'], bondMode: 'balance-tcp', lacp: 'active', trunks: [100, 200], mtu: 9000 },
  { name: INT, type: 'internal', tag: 100, mtu: 1500, network: 'web' },
  { name: TAP, type: 'system', tag: 100, mtu: 1500, network: 'web', external: { 'iface-id': 'tenant-a/vm1-nic0' } },
];
const ovsWant = (ports: DesiredOvsPort[]) => want([], { ovs: { bridge: 'br-int', datapath: 'netdev', ports } });
const REALIZED = (): ObservedOvsPort[] => [
  port('br-int', { interfaces: [iface('br-int', { type: 'internal', ofport: 65534 })] }),
  port('bond0', { trunks: [200, 100], bondMode: 'balance-tcp', lacp: 'active', interfaces: [iface('ens3'), iface('ens4')], external: mine() }),
  port(INT, { tag: 100, interfaces: [iface(INT, { type: 'internal', mtuRequest: 1500 })], external: mine('web') }),
  port(TAP, { tag: 100, interfaces: [iface(TAP, { mtuRequest: 1500, external: { 'iface-id': 'tenant-a/vm1-nic0' } })], external: mine('web') }),
];
const bridgeWith = (ports: ObservedOvsPort[]): ObservedHost => have([], { ovs: { bridges: [{ name: 'br-int', uuid: 'b-1', datapath: 'netdev', ports }] } });
const replacing = (name: string, f: (p: ObservedOvsPort) => ObservedOvsPort) => REALIZED().map((p) => (p.name === name ? f(p) : p));

describe('diffHost: Open vSwitch', () => {
  it.each<{ name: string; want: DesiredHost; have: ObservedHost; diff: Summary }>([
    { name: 'realized exactly: empty', want: ovsWant(WANT_PORTS), have: bridgeWith(REALIZED()), diff: nothing },
    {
      name: 'integration bridge missing: created, every port created',
      want: ovsWant(WANT_PORTS),
      have: have([], { ovs: { bridges: [{ name: 'br-other', uuid: 'b-2', datapath: 'system', ports: [port('x', { external: mine() })] }] } }),
      diff: { ...nothing, ports: ['create bond0: missing', `create ${INT}: missing`, `create ${TAP}: missing`], createBridge: { name: 'br-int', datapath: 'netdev' } },
    },
    {
      name: 'no OVS on the host at all: bridge created',
      want: ovsWant([WANT_PORTS[1]!]),
      have: have([]),
      diff: { ...nothing, ports: [`create ${INT}: missing`], createBridge: { name: 'br-int', datapath: 'netdev' } },
    },
    {
      name: 'no port wanted and no OVS on the host: no bridge created',
      want: ovsWant([]),
      have: have([]),
      diff: nothing,
    },
    {
      name: 'no port wanted and the integration bridge missing (another bridge there): no bridge created, nothing deleted elsewhere',
      want: ovsWant([]),
      have: have([], { ovs: { bridges: [{ name: 'br-other', uuid: 'b-2', datapath: 'system', ports: [port('x', { external: mine('web') })] }] } }),
      diff: nothing,
    },
    {
      name: "no port wanted (the last ovs network gone): every port this instance owns on the bridge deleted; the bridge, foreign and other instances' ports stay",
      want: ovsWant([]),
      have: bridgeWith([
        port('br-int', { interfaces: [iface('br-int', { type: 'internal', ofport: 65534 })], external: mine() }),
        ...REALIZED().slice(1),
        port('vnet9', { tag: 100 }),
        port('other-nf', { tag: 100, external: { [OVS_OWNER_KEY]: 'nf-other' } }),
      ]),
      diff: { ...nothing, ports: ['delete bond0: not wanted', `delete ${INT}: not wanted`, `delete ${TAP}: not wanted`] },
    },
    {
      name: 'a one-member OVS bond observed as a port with one interface: no change',
      want: ovsWant([{ name: 'bond0', type: 'bond', bondMembers: ['ens3'], bondMode: 'active-backup', lacp: 'off', trunks: [100] }]),
      have: bridgeWith([port('bond0', { trunks: [100], bondMode: 'active-backup', lacp: 'off', interfaces: [iface('ens3')], external: mine() })]),
      diff: nothing,
    },
    {
      name: 'a one-member OVS bond with another member: replaced for its members, never for its type',
      want: ovsWant([{ name: 'bond0', type: 'bond', bondMembers: ['ens3'], bondMode: 'active-backup', lacp: 'off', trunks: [100] }]),
      have: bridgeWith([port('bond0', { trunks: [100], bondMode: 'active-backup', lacp: 'off', interfaces: [iface('ens4')], external: mine() })]),
      diff: { ...nothing, ports: ['replace bond0: members ens4→ens3'] },
    },
    {
      name: 'a one-member OVS bond with its trunks changed: modified in place, not replaced',
      want: ovsWant([{ name: 'bond0', type: 'bond', bondMembers: ['ens3'], bondMode: 'active-backup', lacp: 'off', trunks: [100, 200] }]),
      have: bridgeWith([port('bond0', { trunks: [100], bondMode: 'active-backup', lacp: 'off', interfaces: [iface('ens3')], external: mine() })]),
      diff: { ...nothing, ports: ['modify bond0: trunks 100→100,200'] },
    },
    {
      name: 'ports missing are created; extra ones deleted only when owned by this instance; the bridge port stays',
      want: ovsWant([WANT_PORTS[1]!]),
      have: bridgeWith([
        port('br-int', { interfaces: [iface('br-int', { type: 'internal' })], external: mine() }),
        port(TAP2, { tag: 100, external: mine('web') }),
        port('vnet9', { tag: 100 }),
        port('other-nf', { external: { [OVS_OWNER_KEY]: 'nf-other' } }),
      ]),
      diff: { ...nothing, ports: [`create ${INT}: missing`, `delete ${TAP2}: not wanted`] },
    },
    {
      name: 'tag and network of a VM port modified',
      want: ovsWant(WANT_PORTS),
      have: bridgeWith(replacing(TAP, (p) => ({ ...p, tag: 200, external: { [OVS_OWNER_KEY]: INSTANCE, [OVS_NETWORK_KEY]: 'db' } }))),
      diff: { ...nothing, ports: [`modify ${TAP}: tag 200→100, network db→web`] },
    },
    {
      name: 'tag missing, mtu_request unset, network unknown (an adopted port)',
      want: ovsWant(WANT_PORTS),
      have: bridgeWith(replacing(TAP, (p) => ({ ...p, tag: undefined, interfaces: [iface(TAP)], external: {} }))),
      diff: { ...nothing, ports: [`modify ${TAP}: tag none→100, mtu_request none→1500, network none→web, external_ids:iface-id none→tenant-a/vm1-nic0`] },
    },
    {
      name: "a VM tap's interface ids changed behind netform: modified (other keys are not netform's to judge)",
      want: ovsWant(WANT_PORTS),
      have: bridgeWith(replacing(TAP, (p) => ({ ...p, interfaces: [iface(TAP, { mtuRequest: 1500, external: { 'iface-id': 'someone-else', 'x-other': '1' } })] }))),
      diff: { ...nothing, ports: [`modify ${TAP}: external_ids:iface-id someone-else→tenant-a/vm1-nic0`] },
    },
    {
      name: 'an untagged port that should not be tagged; mtu_request changed',
      want: ovsWant([{ name: 'ens5', type: 'system', trunks: [300], mtu: 9000 }]),
      have: bridgeWith([port('ens5', { tag: 5, trunks: [], interfaces: [iface('ens5', { mtuRequest: 1500 })] })]),
      diff: { ...nothing, ports: ['modify ens5: tag 5→none, trunks none→300, mtu_request 1500→9000'] },
    },
    {
      name: 'bond trunks, mode and LACP modified',
      want: ovsWant(WANT_PORTS),
      have: bridgeWith(replacing('bond0', (p) => ({ ...p, trunks: [100], bondMode: 'active-backup', lacp: undefined }))),
      diff: { ...nothing, ports: ['modify bond0: trunks 100→100,200, bond_mode active-backup→balance-tcp, lacp off→active'] },
    },
    {
      name: 'bond members changed: replaced',
      want: ovsWant(WANT_PORTS),
      have: bridgeWith(replacing('bond0', (p) => ({ ...p, interfaces: [iface('ens3'), iface('ens5')] }))),
      diff: { ...nothing, ports: ['replace bond0: members ens3,ens5→ens3,ens4'] },
    },
    {
      name: 'port of another type (internal wanted, a system port there): replaced',
      want: ovsWant(WANT_PORTS),
      have: bridgeWith(replacing(INT, (p) => ({ ...p, interfaces: [iface(INT, { mtuRequest: 1500 })] }))),
      diff: { ...nothing, ports: [`replace ${INT}: type system→internal`] },
    },
    {
      name: 'stale wanted ports (ofport -1, or an error) are replaced',
      want: ovsWant(WANT_PORTS),
      have: bridgeWith(
        REALIZED().map((p) =>
          p.name === TAP
            ? { ...p, interfaces: [iface(TAP, { ofport: -1, mtuRequest: 1500, error: `could not open network device ${TAP} (No such device)` })] }
            : p.name === INT
              ? { ...p, interfaces: [iface(INT, { type: 'internal', ofport: -1, mtuRequest: 1500 })] }
              : p,
        ),
      ),
      diff: { ...nothing, ports: [`replace ${INT} (stale): stale: no ofport`, `replace ${TAP} (stale): stale: could not open network device ${TAP} (No such device)`] },
    },
    {
      name: 'stale ports not wanted: deleted when owned, left when foreign',
      want: ovsWant([]),
      have: bridgeWith([
        port(TAP, { interfaces: [iface(TAP, { ofport: -1 })], external: mine('web') }),
        port(TAP2, { interfaces: [iface(TAP2, { error: 'could not open network device' })], external: mine('web') }),
        port('vnet9', { interfaces: [iface('vnet9', { ofport: -1 })] }),
      ]),
      diff: { ...nothing, ports: [`delete ${TAP} (stale): stale, not wanted`, `delete ${TAP2} (stale): stale, not wanted`] },
    },
  ])('$name', ({ want, have, diff }) => {
    expect(summary(diffHost(want, have, { instance: INSTANCE }))).toStrictEqual(diff);
  });

  it('port changes carry the desired and observed port', () => {
    const observed = replacing(TAP, (p) => ({ ...p, tag: 200 }));
    const d = diffHost(ovsWant(WANT_PORTS), bridgeWith(observed), { instance: INSTANCE });
    expect(d.ports).toStrictEqual([{ name: TAP, op: 'modify', want: WANT_PORTS[2], have: observed.find((p) => p.name === TAP), fields: ['tag 200→100'] }]);
  });
});

describe('isEmpty', () => {
  const base: HostDiff = { links: [], ports: [], addresses: [], problems: [] };
  it.each<[string, HostDiff, boolean]>([
    ['nothing', base, true],
    ['problems alone change nothing', { ...base, problems: ['NIC ens3 is not on the host'] }, true],
    ['a link', { ...base, links: [{ name: 'x', op: 'delete', fields: [] }] }, false],
    ['a port', { ...base, ports: [{ name: 'x', op: 'delete', fields: [] }] }, false],
    ['an address', { ...base, addresses: [{ device: 'web', cidr: '192.0.2.1/24', op: 'add' }] }, false],
    ['the bridge', { ...base, createBridge: { name: 'br-int', datapath: 'netdev' } }, false],
  ])('%s → %s', (_n, d, empty) => expect(isEmpty(d)).toBe(empty));
});

describe('networkSync', () => {
  const net = (name: string, fabric: DesiredNetwork['fabric'], devices: string[], ovsPorts: string[] = []): DesiredNetwork => ({ name, fabric, interface: 'ens3', mtu: 1500, devices, ovsPorts });
  const networks = [
    net('mgmt', 'linux-bridge', ['mgmt', 'ens3']),
    net('storage', 'linux-bridge', ['storage', 'ens3.200']),
    net('web', 'linux-bridge', ['web', 'ens3.100', TAP]),
    net('vm', 'ovs', [TAP2], ['ens4', TAP2]),
  ];
  const desired: DesiredHost = {
    links: [
      { name: 'ens3', kind: 'nic', master: 'mgmt', mtu: 1500 },
      { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 1500 },
      { name: 'ens3.200', kind: 'vlan', parent: 'ens3', vlanId: 200, master: 'storage', mtu: 1500 },
      { name: 'ens4', kind: 'nic', mtu: 1500 },
      { name: 'mgmt', kind: 'bridge', mtu: 1500 },
      { name: 'storage', kind: 'bridge', mtu: 1500 },
      { name: TAP, kind: 'tap', master: 'web', mtu: 1500 },
      { name: TAP2, kind: 'tap', mtu: 1500 },
      { name: 'web', kind: 'bridge', mtu: 1500 },
    ],
    addresses: [{ device: 'web', cidr: '192.0.2.11/24' }],
    ovs: {
      bridge: 'br-int',
      datapath: 'netdev',
      ports: [
        { name: 'ens4', type: 'system', trunks: [300], mtu: 1500 },
        { name: TAP2, type: 'system', tag: 300, mtu: 1500, network: 'vm' },
      ],
    },
    networks,
    problems: [],
  };
  const realized = (): ObservedHost => ({
    links: [
      ol('ens3', '', { master: 'mgmt' }),
      ol('ens3.100', 'vlan', { owned: true, parent: 'ens3', vlanId: 100, master: 'web' }),
      ol('ens3.200', 'vlan', { owned: true, parent: 'ens3', vlanId: 200, master: 'storage' }),
      ol('ens4', '', { master: 'ovs-system' }),
      ol('mgmt', 'bridge', { owned: true }),
      ol('storage', 'bridge', { owned: true }),
      ol(TAP, 'tun', { owned: true, master: 'web' }),
      ol(TAP2, 'tun', { owned: true, master: 'ovs-system' }),
      ol('web', 'bridge', { owned: true }),
    ],
    addresses: [{ device: 'web', cidr: '192.0.2.11/24' }],
    ovs: {
      bridges: [
        {
          name: 'br-int',
          uuid: 'b-1',
          datapath: 'netdev',
          ports: [
            port('ens4', { trunks: [300], interfaces: [iface('ens4', { mtuRequest: 1500 })] }),
            port(TAP2, { tag: 300, interfaces: [iface(TAP2, { mtuRequest: 1500 })], external: mine('vm') }),
          ],
        },
      ],
    },
  });
  const inSync = (...names: string[]): NetworkSync[] => names.map((name) => ({ name, inSync: true }));

  it.each<{ name: string; observed: () => ObservedHost; want: NetworkSync[] }>([
    { name: 'everything realized: all in sync', observed: realized, want: inSync('mgmt', 'storage', 'web', 'vm') },
    {
      name: 'a sub-interface MTU and a missing address: only that network, with both differences',
      observed: () => {
        const h = realized();
        h.links.find((l) => l.name === 'ens3.100')!.mtu = 9000;
        h.addresses = [];
        return h;
      },
      want: [...inSync('mgmt', 'storage'), { name: 'web', inSync: false, difference: 'ens3.100: mtu 9000→1500; web: missing address 192.0.2.11/24' }, ...inSync('vm')],
    },
    {
      name: 'an extra address on a bridge and a tap down',
      observed: () => {
        const h = realized();
        h.addresses.push({ device: 'storage', cidr: '198.51.100.7/24' });
        h.links.find((l) => l.name === TAP)!.up = false;
        return h;
      },
      want: [
        ...inSync('mgmt'),
        { name: 'storage', inSync: false, difference: 'storage: extra address 198.51.100.7/24' },
        { name: 'web', inSync: false, difference: `${TAP}: up` },
        ...inSync('vm'),
      ],
    },
    {
      name: 'an OVS port with the wrong tag: only the OVS network',
      observed: () => {
        const h = realized();
        h.ovs!.bridges[0]!.ports[1]!.tag = 301;
        return h;
      },
      want: [...inSync('mgmt', 'storage', 'web'), { name: 'vm', inSync: false, difference: `ovs port ${TAP2}: tag 301→300` }],
    },
    {
      name: 'the integration bridge missing: every OVS network, none of the others',
      observed: () => ({ ...realized(), ovs: { bridges: [] } }),
      want: [
        ...inSync('mgmt', 'storage', 'web'),
        { name: 'vm', inSync: false, difference: `ovs port ens4: missing; ovs port ${TAP2}: missing; ovs bridge br-int missing` },
      ],
    },
    {
      name: 'the NIC missing: a problem of the untagged network that lists it as its device',
      observed: () => {
        const h = realized();
        h.links = h.links.filter((l) => l.name !== 'ens3');
        return h;
      },
      want: [{ name: 'mgmt', inSync: false, difference: 'NIC ens3 is not on the host' }, ...inSync('storage', 'web', 'vm')],
    },
    {
      name: 'a foreign device in the way: a problem of its network',
      observed: () => {
        const h = realized();
        h.links = h.links.map((l) => (l.name === 'storage' ? ol('storage', 'bridge') : l));
        return h;
      },
      want: [...inSync('mgmt'), { name: 'storage', inSync: false, difference: "device storage exists and is not netform's" }, ...inSync('web', 'vm')],
    },
  ])('$name', ({ observed, want: expected }) => {
    const d = diffHost(desired, observed(), { instance: INSTANCE });
    expect(networkSync(desired, d)).toStrictEqual(expected);
  });
});

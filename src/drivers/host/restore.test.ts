// restoreTarget: the snapshot taken before a change, as the desired host a rollback returns to —
// and the round trip: the snapshot compared with its own restore target differs in nothing.
import { describe, expect, it } from 'vitest';
import { diffHost, isEmpty } from './diff.ts';
import { ALIAS_PREFIX, DOOMED_GROUP, NETFORM_GROUP, OVS_NETWORK_KEY, OVS_OWNER_KEY, type DesiredHost, type DesiredLink, type ObservedHost, type ObservedLink, type ObservedOvsInterface, type ObservedOvsPort } from './model.ts';
import { restoreTarget } from './restore.ts';

const INSTANCE = 'nf-test';
const TAP = 'nfva83079d97b59';
const TAP2 = 'nfv679035cc71ba';
const INT = 'nfi-4b5e57f6eb2';

let ifindex = 10;
function ol(name: string, kind: string, o: Partial<ObservedLink> = {}): ObservedLink {
  return { name, ifindex: ifindex++, kind, mtu: 1500, up: true, operstate: 'UP', mac: `52:54:00:00:00:${(ifindex % 256).toString(16).padStart(2, '0')}`, group: 0, ...o };
}
const owned = (name: string, kind: string, purpose: string, o: Partial<ObservedLink> = {}) => ol(name, kind, { group: NETFORM_GROUP, alias: `${ALIAS_PREFIX}${purpose}`, ...o });

function iface(name: string, o: Partial<ObservedOvsInterface> = {}): ObservedOvsInterface {
  return { name, type: '', ofport: 5, error: undefined, mtuRequest: undefined, external: {}, ...o };
}
function port(name: string, o: Partial<ObservedOvsPort> = {}): ObservedOvsPort {
  return { uuid: `u-${name}`, name, tag: undefined, trunks: [], vlanMode: undefined, bondMode: undefined, lacp: undefined, interfaces: [iface(name)], external: {}, ...o };
}
const mine = (network?: string) => ({ [OVS_OWNER_KEY]: INSTANCE, ...(network ? { [OVS_NETWORK_KEY]: network } : {}) });

/** The failed change's desired host: only the names it touched matter. */
const touched = (links: [string, DesiredLink['kind']][], ovs?: { bridge: string; ports: string[] }): DesiredHost => ({
  links: links.map(([name, kind]) => ({ name, kind })),
  addresses: [],
  networks: [],
  problems: [],
  ...(ovs ? { ovs: { bridge: ovs.bridge, datapath: 'netdev' as const, ports: ovs.ports.map((name) => ({ name, type: 'system' as const })) } } : {}),
});

// A host before a change: a linux-bridge network `web` (VLAN 100 on ens3, a tap, an address), a
// kernel bond, netform leftovers, foreign devices, and an OVS integration bridge.
const SNAPSHOT: ObservedHost = {
  links: [
    ol('ens3', '', { mtu: 9000, mac: '0a:00:00:00:00:03' }),
    ol('ens4', '', { mtu: 1500, master: 'docker0', up: false }), // foreign, not touched
    ol('ens5', '', { master: 'bond0', mtu: 9000, up: false }),
    ol('ens6', '', { master: 'bond0', mtu: 9000 }),
    ol('ens7', '', { master: 'ovs-system', mtu: 9000 }),
    owned('ens3.100', 'vlan', 'network/web', { parent: 'ens3', vlanId: 100, master: 'web', mtu: 9000, mac: '0a:00:00:00:00:03' }),
    owned('web', 'bridge', 'network/web', { mtu: 9000, mac: '52:54:00:aa:bb:01' }),
    owned(TAP, 'tun', 'vnic/tenant-a/vm1-nic0', { master: 'web', mtu: 9000, mac: 'fe:54:00:00:00:01', up: false }),
    owned('bond0', 'bond', 'bond', { bondMode: '802.3ad', mtu: 9000, mac: '0a:00:00:00:00:05' }),
    ol('old-nf', 'bridge', { group: DOOMED_GROUP, mac: '52:54:00:aa:bb:99' }), // owned by group only, no alias
    ol('docker0', 'bridge', { mac: '02:42:00:00:00:01' }),
    ol('vnet7', 'tun', { master: 'web', mac: 'fe:54:00:00:00:07' }), // libvirt's tap, touched by the change
    ol(INT, 'tun', { mtu: 1500, mac: '52:54:00:cc:00:01' }), // the kernel side of an OVS internal port
  ],
  addresses: [
    { device: 'docker0', cidr: '172.17.0.1/16' },
    { device: 'ens3', cidr: '198.51.100.5/24' },
    { device: 'ens4', cidr: '10.0.0.4/24' },
    { device: INT, cidr: '203.0.113.11/24' },
    { device: 'web', cidr: '192.0.2.11/24' },
  ],
  ovs: {
    bridges: [
      {
        name: 'br-int',
        uuid: 'b-int',
        datapath: 'netdev',
        ports: [
          port('br-int', { interfaces: [iface('br-int', { type: 'internal', ofport: 65534 })], external: mine() }),
          port('bond1', { trunks: [300, 100], bondMode: 'balance-tcp', lacp: 'active', interfaces: [iface('ens8'), iface('ens9')], external: mine() }),
          port('ens7', { trunks: [200, 100], interfaces: [iface('ens7', { mtuRequest: 9000 })] }), // foreign uplink, touched
          port(INT, { tag: 100, interfaces: [iface(INT, { type: 'internal', mtuRequest: 1500 })], external: mine('web') }),
          port(TAP2, {
            tag: 100,
            interfaces: [iface(TAP2, { mtuRequest: 1500, external: { 'iface-id': 'tenant-a/vm2-nic0', 'vm-id': 'vm2', 'attached-mac': '52:54:00:00:00:02' } })],
            external: mine('web'),
          }),
          port('other-nf', { tag: 7, external: { [OVS_OWNER_KEY]: 'nf-other' } }), // another instance's, untouched
          port('patch-ext', { interfaces: [iface('patch-ext', { type: 'patch' })] }), // foreign, untouched
        ],
      },
      { name: 'br-ex', uuid: 'b-ex', datapath: 'system', ports: [port('eth9', { external: mine() })] },
    ],
  },
};

const TOUCHED = touched(
  [
    ['ens3', 'nic'],
    ['ens5', 'nic'],
    ['ens6', 'nic'],
    ['ens7', 'nic'],
    ['vnet7', 'tap'],
    ['missing0', 'nic'], // touched, but not in the snapshot: nothing to restore
    ['web', 'bridge'],
  ],
  { bridge: 'br-int', ports: ['ens7', 'missing-port'] },
);

describe('restoreTarget', () => {
  const target = restoreTarget(SNAPSHOT, TOUCHED, INSTANCE);

  it.each<[string, DesiredLink]>([
    ['touched NIC: MTU and state, no MAC', { name: 'ens3', kind: 'nic', mtu: 9000 }],
    ['touched bond member: master, down', { name: 'ens5', kind: 'nic', mtu: 9000, down: true, master: 'bond0' }],
    ['touched bond member: master', { name: 'ens6', kind: 'nic', mtu: 9000, master: 'bond0' }],
    ['touched NIC on OVS: ovs-system is no master', { name: 'ens7', kind: 'nic', mtu: 9000 }],
    ['owned VLAN: parent, id, master, MAC, purpose', { name: 'ens3.100', kind: 'vlan', mtu: 9000, master: 'web', mac: '0a:00:00:00:00:03', purpose: 'network/web', parent: 'ens3', vlanId: 100 }],
    ['owned bridge: MAC, MTU', { name: 'web', kind: 'bridge', mtu: 9000, mac: '52:54:00:aa:bb:01', purpose: 'network/web' }],
    ['owned tap: down, master, MAC', { name: TAP, kind: 'tap', mtu: 9000, down: true, master: 'web', mac: 'fe:54:00:00:00:01', purpose: 'vnic/tenant-a/vm1-nic0' }],
    ['owned bond: mode and the members the snapshot had', { name: 'bond0', kind: 'bond', mtu: 9000, mac: '0a:00:00:00:00:05', purpose: 'bond', bond: { mode: '802.3ad', members: ['ens5', 'ens6'] } }],
    ['owned by group only: no purpose', { name: 'old-nf', kind: 'bridge', mtu: 1500, mac: '52:54:00:aa:bb:99' }],
    ["touched foreign tap stays a tap (libvirt's), MAC not forced", { name: 'vnet7', kind: 'tap', mtu: 1500, master: 'web' }],
  ])('%s', (_what, want) => {
    expect(target.links.find((l) => l.name === want.name)).toStrictEqual(want);
  });

  it('keeps exactly the owned and touched devices, in snapshot order', () => {
    expect(target.links.map((l) => l.name)).toStrictEqual(['ens3', 'ens5', 'ens6', 'ens7', 'ens3.100', 'web', TAP, 'bond0', 'old-nf', 'vnet7']);
  });

  it('keeps the addresses of those devices and of the internal ports it restores; no networks, no problems', () => {
    expect(target.addresses).toStrictEqual([
      { device: 'ens3', cidr: '198.51.100.5/24' },
      { device: 'web', cidr: '192.0.2.11/24' },
      { device: INT, cidr: '203.0.113.11/24' },
    ]);
    expect(target.networks).toStrictEqual([]);
    expect(target.problems).toStrictEqual([]);
  });

  it('keeps the OVS ports owned by this instance or touched, with tag, trunks, bond, mtu and external ids', () => {
    expect(target.ovs).toStrictEqual({
      bridge: 'br-int',
      datapath: 'netdev',
      ports: [
        { name: 'bond1', type: 'bond', trunks: [100, 300], bondMembers: ['ens8', 'ens9'], bondMode: 'balance-tcp', lacp: 'active' },
        { name: 'ens7', type: 'system', trunks: [100, 200], mtu: 9000 },
        { name: INT, type: 'internal', trunks: [], tag: 100, mtu: 1500, network: 'web' },
        {
          name: TAP2,
          type: 'system',
          trunks: [],
          tag: 100,
          mtu: 1500,
          network: 'web',
          external: { 'iface-id': 'tenant-a/vm2-nic0', 'vm-id': 'vm2', 'attached-mac': '52:54:00:00:00:02' },
        },
      ],
    });
  });

  it('a change whose desired host names the integration bridge with no ports (desiredHost always names it): the owned ports come back, no foreign one', () => {
    const r = restoreTarget(SNAPSHOT, touched([['ens3', 'nic']], { bridge: 'br-int', ports: [] }), INSTANCE);
    expect(r.ovs?.ports.map((p) => p.name)).toStrictEqual(['bond1', INT, TAP2]);
    expect(r.addresses.map((a) => a.device)).toStrictEqual(['ens3', 'web', INT]);
    expect(diffHost(r, SNAPSHOT, { instance: INSTANCE })).toStrictEqual({ links: [], ports: [], addresses: [], problems: [] });
  });

  it.each<[string, DesiredHost, ObservedHost]>([
    ['the change did not touch OVS', touched([['ens3', 'nic']]), SNAPSHOT],
    ['the bridge did not exist before the change', touched([['ens3', 'nic']], { bridge: 'br-new', ports: [] }), SNAPSHOT],
    ['no OVS on the host', touched([['ens3', 'nic']], { bridge: 'br-int', ports: [] }), { ...SNAPSHOT, ovs: undefined }],
  ])('no OVS target when %s', (_what, t, snap) => {
    const r = restoreTarget(snap, t, INSTANCE);
    expect(r.ovs).toBeUndefined();
    // …and then no internal port address either.
    expect(r.addresses.map((a) => a.device)).toStrictEqual(['ens3', 'web']);
  });

  it('datapath: netdev kept, anything else is system', () => {
    const snap: ObservedHost = { links: [], addresses: [], ovs: { bridges: [{ name: 'br-int', uuid: 'b', datapath: '', ports: [] }] } };
    expect(restoreTarget(snap, touched([], { bridge: 'br-int', ports: [] }), INSTANCE).ovs).toStrictEqual({ bridge: 'br-int', datapath: 'system', ports: [] });
  });
});

describe('restoreTarget round trip: diffHost(restoreTarget(snapshot), snapshot) is empty', () => {
  it.each<[string, ObservedHost, DesiredHost]>([
    ['the full host', SNAPSHOT, TOUCHED],
    // (Every port netform could want: a patch port never is.)
    [
      'touching everything',
      SNAPSHOT,
      touched(
        SNAPSHOT.links.map((l) => [l.name, l.kind === 'tun' ? 'tap' : 'nic']),
        { bridge: 'br-int', ports: SNAPSHOT.ovs!.bridges[0]!.ports.map((p) => p.name).filter((n) => n !== 'patch-ext') },
      ),
    ],
    ['touching nothing', SNAPSHOT, touched([])],
    // The failed change wanted a bridge where the snapshot had someone else's: restored as it was, no problem.
    ['a foreign bridge the change wanted', { links: [ol('web', 'bridge'), ol('ens3', '', { master: 'web' })], addresses: [] }, touched([['web', 'bridge'], ['ens3', 'nic']])],
    ['an empty host', { links: [], addresses: [] }, touched([['ens3', 'nic']], { bridge: 'br-int', ports: [] })],
  ])('%s', (_what, snapshot, t) => {
    const d = diffHost(restoreTarget(snapshot, t, INSTANCE), snapshot, { instance: INSTANCE });
    expect(d).toStrictEqual({ links: [], ports: [], addresses: [], problems: [] });
    expect(isEmpty(d)).toBe(true);
  });

  it('what a failed change did is undone by the diff against the target', () => {
    // After the failed change: the tap gone, the bridge MTU lowered, the VLAN moved, a new owned device, an address added, a port retagged.
    const after: ObservedHost = structuredClone(SNAPSHOT);
    after.links = after.links.filter((l) => l.name !== TAP);
    after.links.find((l) => l.name === 'web')!.mtu = 1500;
    after.links.find((l) => l.name === 'ens3.100')!.vlanId = 200;
    after.links.push(owned('new-br', 'bridge', 'network/new'));
    after.addresses.push({ device: 'web', cidr: '192.0.2.99/24' });
    after.ovs!.bridges[0]!.ports.find((p) => p.name === TAP2)!.tag = 200;
    const d = diffHost(restoreTarget(SNAPSHOT, TOUCHED, INSTANCE), after, { instance: INSTANCE });
    expect(d.links.map((c) => `${c.op} ${c.name}: ${c.fields.join(', ')}`)).toStrictEqual([
      'replace ens3.100: vlan ens3.200→ens3.100',
      'modify web: mtu 1500→9000',
      `create ${TAP}: missing`,
      'delete new-br: not wanted',
    ]);
    expect(d.links.find((c) => c.name === TAP)!.want).toStrictEqual({ name: TAP, kind: 'tap', mtu: 9000, down: true, master: 'web', mac: 'fe:54:00:00:00:01', purpose: 'vnic/tenant-a/vm1-nic0' });
    expect(d.addresses).toStrictEqual([{ device: 'web', cidr: '192.0.2.99/24', op: 'remove' }]);
    expect(d.ports.map((c) => `${c.op} ${c.name}: ${c.fields.join(', ')}`)).toStrictEqual([`modify ${TAP2}: tag 200→100`]);
    expect(d.problems).toStrictEqual([]);
  });
});

describe('restoreTarget and one-member OVS bonds', () => {
  it('keeps a one-member bond a bond, so the round trip is empty', async () => {
    const { restoreTarget } = await import('./restore.ts');
    const { diffHost, isEmpty } = await import('./diff.ts');
    const snapshot = {
      links: [],
      addresses: [],
      ovs: {
        bridges: [
          {
            name: 'br-int',
            uuid: 'b',
            datapath: 'netdev',
            ports: [
              {
                uuid: 'p1',
                name: 'bond1',
                tag: undefined,
                trunks: [100],
                vlanMode: undefined,
                bondMode: 'active-backup',
                lacp: 'off',
                interfaces: [{ name: 'ens8', type: '', ofport: 3, error: undefined, mtuRequest: undefined, external: {} }],
                external: { 'netform-owner': 'netform' },
              },
            ],
          },
        ],
      },
    };
    const touched = { links: [], addresses: [], networks: [], problems: [], ovs: { bridge: 'br-int', datapath: 'netdev' as const, ports: [] } };
    const target = restoreTarget(snapshot, touched, 'netform');
    expect(target.ovs!.ports).toEqual([{ name: 'bond1', type: 'bond', trunks: [100], bondMembers: ['ens8'], bondMode: 'active-backup', lacp: 'off' }]);
    expect(isEmpty(diffHost(target, snapshot, { instance: 'netform' }))).toBe(true);
  });
});

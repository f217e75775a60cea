// planHost / addressLines / planOvs: a host diff → the exact `ip -batch` lines (order pinned: the
// kernel refuses many orders, and `ip -batch` stops at the first error) and the one OVSDB transaction.
import { describe, expect, it } from 'vitest';
import { diffHost, type HostDiff, type LinkChange, type PortChange } from './diff.ts';
import { ALIAS_PREFIX, NETFORM_GROUP, OVS_NETWORK_KEY, OVS_OWNER_KEY, type DesiredLink, type DesiredOvsPort, type ObservedLink, type ObservedOvsPort } from './model.ts';
import { addressLines, planHost, planOvs } from './plan.ts';

const INSTANCE = 'nf-test';
const OPTS = { instance: INSTANCE, bridge: 'br-int' };
const TAP = 'nfva83079d97b59';
const TAP2 = 'nfv679035cc71ba';
const INT = 'nfi-4b5e57f6eb2';

let ifindex = 10;
function ol(name: string, kind: string, o: Partial<ObservedLink> = {}): ObservedLink {
  return { name, ifindex: ifindex++, kind, mtu: 1500, up: true, operstate: 'UP', mac: '52:54:00:00:00:01', group: 0, ...o };
}
const owned = (name: string, kind: string, o: Partial<ObservedLink> = {}) => ol(name, kind, { group: NETFORM_GROUP, alias: `${ALIAS_PREFIX}x`, ...o });

const create = (want: DesiredLink): LinkChange => ({ name: want.name, op: 'create', want, fields: ['missing'] });
const replace = (want: DesiredLink, have: ObservedLink, why = 'kind'): LinkChange => ({ name: want.name, op: 'replace', want, have, fields: [why] });
const del = (have: ObservedLink): LinkChange => ({ name: have.name, op: 'delete', have, fields: ['not wanted'] });
const modify = (want: DesiredLink, have: ObservedLink, fields: string[]): LinkChange => ({ name: want.name, op: 'modify', want, have, fields });
const diff = (o: Partial<HostDiff>): HostDiff => ({ links: [], ports: [], addresses: [], problems: [], ...o });

const WEB: DesiredLink = { name: 'web', kind: 'bridge', mtu: 9000, purpose: 'network/web' };
const SUB: DesiredLink = { name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, master: 'web', mtu: 9000, purpose: 'network/web' };
const VM1: DesiredLink = { name: TAP, kind: 'tap', master: 'web', mtu: 9000, purpose: 'vnic/tenant-a/vm1-nic0' };
const VM2_DOWN: DesiredLink = { name: TAP2, kind: 'tap', master: 'web', mtu: 9000, purpose: 'vnic/tenant-a/vm2-nic0', down: true };

describe('planHost: ip lines', () => {
  it.each<{ name: string; diff: HostDiff; ip: string[] }>([
    { name: 'nothing to do', diff: diff({}), ip: [] },
    {
      name: 'a linux-bridge network from scratch: NIC MTU raised first, VLAN after it, taps via tuntap, group and alias on each, masters, then up parents-first',
      diff: diff({ links: [modify({ name: 'ens3', kind: 'nic', mtu: 9000 }, ol('ens3', ''), ['mtu 1500→9000']), create(SUB), create(VM1), create(VM2_DOWN), create(WEB)] }),
      ip: [
        'link set dev ens3 mtu 9000',
        'link add link ens3 name ens3.100 mtu 9000 group 28262 type vlan id 100',
        'link set dev ens3.100 alias netform:network/web',
        'link add name web mtu 9000 group 28262 type bridge',
        'link set dev web alias netform:network/web',
        `tuntap add dev ${TAP2} mode tap`,
        `link set dev ${TAP2} group 28262 mtu 9000`,
        `link set dev ${TAP2} alias netform:vnic/tenant-a/vm2-nic0`,
        `tuntap add dev ${TAP} mode tap`,
        `link set dev ${TAP} group 28262 mtu 9000`,
        `link set dev ${TAP} alias netform:vnic/tenant-a/vm1-nic0`,
        'link set dev ens3.100 master web',
        `link set dev ${TAP} master web`,
        `link set dev ${TAP2} master web`,
        'link set dev web mtu 9000',
        'link set dev ens3.100 up',
        'link set dev web up',
        `link set dev ${TAP2} down`,
        `link set dev ${TAP} up`,
      ],
    },
    {
      name: 'doomed devices: moved to the doomed group, removed by one `link del group`, replacements re-created',
      diff: diff({
        links: [
          del(owned('old-br', 'bridge')),
          replace(SUB, owned('ens3.100', 'vlan', { parent: 'ens3', vlanId: 200, master: 'web', mtu: 9000 }), 'vlan ens3.200→ens3.100'),
          del(owned(TAP2, 'tun')),
        ],
      }),
      ip: [
        'link set dev old-br group 28263',
        'link set dev ens3.100 group 28263',
        `link set dev ${TAP2} group 28263`,
        'link del group 28263',
        'link add link ens3 name ens3.100 mtu 9000 group 28262 type vlan id 100',
        'link set dev ens3.100 alias netform:network/web',
        'link set dev ens3.100 master web',
        'link set dev ens3.100 up',
      ],
    },
    {
      name: 'masters moved: released (nomaster) before set; a NIC is set down before it is enslaved and up after',
      diff: diff({
        links: [
          modify({ name: 'ens4', kind: 'nic', master: 'web' }, ol('ens4', '', { master: 'old-br' }), ['master old-br→web']),
          modify({ name: TAP, kind: 'tap', master: 'web' }, owned(TAP, 'tun'), ['master none→web']),
          modify({ name: 'ens5', kind: 'nic' }, ol('ens5', '', { master: 'old-br' }), ['master old-br→none']),
        ],
      }),
      ip: [
        'link set dev ens4 nomaster',
        'link set dev ens5 nomaster',
        'link set dev ens4 down',
        'link set dev ens4 master web',
        `link set dev ${TAP} master web`,
        'link set dev ens4 up',
        'link set dev ens5 up',
        `link set dev ${TAP} up`,
      ],
    },
    {
      name: 'a kernel bond from scratch: created with its options, its MTU before the VLAN on it, members down before `master`',
      diff: diff({
        links: [
          create({ name: 'bond0', kind: 'bond', bond: { mode: '802.3ad', members: ['ens3', 'ens4'], lacpRate: 'fast', miimonMs: 100 }, mtu: 9000, purpose: 'bond' }),
          create({ name: 'bond0.100', kind: 'vlan', parent: 'bond0', vlanId: 100, master: 'web', mtu: 9000, purpose: 'network/web' }),
          modify({ name: 'ens3', kind: 'nic', master: 'bond0', mtu: 9000 }, ol('ens3', ''), ['mtu 1500→9000', 'master none→bond0']),
          modify({ name: 'ens4', kind: 'nic', master: 'bond0', mtu: 9000 }, ol('ens4', ''), ['mtu 1500→9000', 'master none→bond0']),
          create(WEB),
        ],
      }),
      ip: [
        'link add name bond0 group 28262 type bond mode 802.3ad miimon 100 lacp_rate fast',
        'link set dev bond0 alias netform:bond',
        'link set dev ens3 mtu 9000',
        'link set dev ens4 mtu 9000',
        'link set dev bond0 mtu 9000',
        'link add link bond0 name bond0.100 mtu 9000 group 28262 type vlan id 100',
        'link set dev bond0.100 alias netform:network/web',
        'link add name web mtu 9000 group 28262 type bridge',
        'link set dev web alias netform:network/web',
        'link set dev ens3 down',
        'link set dev ens3 master bond0',
        'link set dev ens4 down',
        'link set dev ens4 master bond0',
        'link set dev bond0.100 master web',
        'link set dev web mtu 9000',
        'link set dev ens3 up',
        'link set dev ens4 up',
        'link set dev bond0 up',
        'link set dev bond0.100 up',
        'link set dev web up',
      ],
    },
    {
      name: 'a bond without options or MTU',
      diff: diff({ links: [create({ name: 'bond1', kind: 'bond', bond: { mode: 'active-backup', members: ['ens5'] }, purpose: 'bond' })] }),
      ip: ['link add name bond1 group 28262 type bond mode active-backup', 'link set dev bond1 alias netform:bond', 'link set dev bond1 up'],
    },
    {
      name: 'a new member of a bond that does not change: still set down before `master`',
      diff: diff({ links: [modify({ name: 'ens5', kind: 'nic', master: 'bond0' }, ol('ens5', ''), ['master none→bond0'])] }),
      ip: ['link set dev ens5 down', 'link set dev ens5 master bond0', 'link set dev ens5 up'],
    },
    {
      name: 'MTUs raised parent-first (whatever the diff order)',
      diff: diff({
        links: [
          modify({ ...VM1, mtu: 9000 }, owned(TAP, 'tun', { master: 'web' }), ['mtu 1500→9000']),
          modify(WEB, owned('web', 'bridge'), ['mtu 1500→9000']),
          modify(SUB, owned('ens3.100', 'vlan', { parent: 'ens3', vlanId: 100, master: 'web' }), ['mtu 1500→9000']),
          modify({ name: 'ens3', kind: 'nic', mtu: 9000 }, ol('ens3', ''), ['mtu 1500→9000']),
        ],
      }),
      ip: ['link set dev ens3 mtu 9000', 'link set dev ens3.100 mtu 9000', 'link set dev web mtu 9000', `link set dev ${TAP} mtu 9000`],
    },
    {
      name: 'MTUs lowered child-first (whatever the diff order)',
      diff: diff({
        links: [
          modify({ name: 'ens3', kind: 'nic', mtu: 1500 }, ol('ens3', '', { mtu: 9000 }), ['mtu 9000→1500']),
          modify({ ...SUB, mtu: 1500 }, owned('ens3.100', 'vlan', { parent: 'ens3', vlanId: 100, master: 'web', mtu: 9000 }), ['mtu 9000→1500']),
          modify({ ...WEB, mtu: 1500 }, owned('web', 'bridge', { mtu: 9000 }), ['mtu 9000→1500']),
          modify({ ...VM1, mtu: 1500 }, owned(TAP, 'tun', { master: 'web', mtu: 9000 }), ['mtu 9000→1500']),
        ],
      }),
      ip: [`link set dev ${TAP} mtu 1500`, 'link set dev web mtu 1500', 'link set dev ens3.100 mtu 1500', 'link set dev ens3 mtu 1500'],
    },
    {
      name: 'raising and lowering in one diff: raises before creations, lowerings after masters',
      diff: diff({
        links: [
          modify({ name: 'ens3', kind: 'nic', mtu: 9000 }, ol('ens3', ''), ['mtu 1500→9000']),
          modify({ name: 'ens3.200', kind: 'vlan', parent: 'ens3', vlanId: 200, master: 'db', mtu: 1400 }, owned('ens3.200', 'vlan', { master: 'db' }), ['mtu 1500→1400']),
          create(SUB),
        ],
      }),
      ip: [
        'link set dev ens3 mtu 9000',
        'link add link ens3 name ens3.100 mtu 9000 group 28262 type vlan id 100',
        'link set dev ens3.100 alias netform:network/web',
        'link set dev ens3.100 master web',
        'link set dev ens3.200 mtu 1400',
        'link set dev ens3.100 up',
      ],
    },
    {
      name: 're-created with their MACs (a rollback), an alias with spaces made safe',
      diff: diff({
        links: [
          create({ name: 'web', kind: 'bridge', mtu: 1500, mac: '52:54:00:aa:bb:01', purpose: 'network/web' }),
          create({ name: 'ens3.100', kind: 'vlan', parent: 'ens3', vlanId: 100, mac: '52:54:00:aa:bb:02', purpose: 'network/web' }),
          create({ name: TAP, kind: 'tap', mac: '52:54:00:aa:bb:03', purpose: 'vnic/tenant a/vm 1;rm -rf' }),
          create({ name: 'bond0', kind: 'bond', bond: { mode: 'balance-rr', members: [] }, mac: '52:54:00:aa:bb:04' }),
        ],
      }),
      ip: [
        'link add name bond0 address 52:54:00:aa:bb:04 group 28262 type bond mode balance-rr',
        'link set dev bond0 alias netform:device',
        'link add link ens3 name ens3.100 address 52:54:00:aa:bb:02 group 28262 type vlan id 100',
        'link set dev ens3.100 alias netform:network/web',
        'link add name web address 52:54:00:aa:bb:01 mtu 1500 group 28262 type bridge',
        'link set dev web alias netform:network/web',
        `tuntap add dev ${TAP} mode tap`,
        `link set dev ${TAP} group 28262 address 52:54:00:aa:bb:03`,
        `link set dev ${TAP} alias netform:vnic/tenant_a/vm_1_rm_-rf`,
        'link set dev web mtu 1500',
        `link set dev bond0 up`,
        'link set dev ens3.100 up',
        'link set dev web up',
        `link set dev ${TAP} up`,
      ],
    },
    {
      name: 'up and down only, parents first',
      diff: diff({
        links: [
          modify({ ...VM1, down: true }, owned(TAP, 'tun', { master: 'web', mtu: 9000 }), ['down']),
          modify(WEB, owned('web', 'bridge', { up: false, mtu: 9000 }), ['up']),
          modify({ name: 'ens3', kind: 'nic' }, ol('ens3', '', { up: false }), ['up']),
        ],
      }),
      ip: ['link set dev ens3 up', 'link set dev web up', `link set dev ${TAP} down`],
    },
    {
      name: 'address removals in the batch (additions are not)',
      diff: diff({
        addresses: [
          { device: 'web', cidr: '192.0.2.11/24', op: 'add' },
          { device: 'web', cidr: '192.0.2.99/24', op: 'remove' },
          { device: INT, cidr: '2001:db8::99/64', op: 'remove' },
        ],
      }),
      ip: ['address del 192.0.2.99/24 dev web', `address del 2001:db8::99/64 dev ${INT}`],
    },
  ])('$name', ({ diff: d, ip }) => {
    const plan = planHost(d, OPTS);
    expect(plan.ip).toStrictEqual(ip);
    expect(plan.ovs).toStrictEqual([]);
    // Every device netform creates is marked as its own: the group and an alias.
    for (const c of d.links.filter((x) => x.op === 'create' || x.op === 'replace')) {
      expect(plan.ip.some((l) => l.startsWith(`link `) && l.includes(` ${c.name} `) && l.includes(`group ${NETFORM_GROUP}`)), `${c.name} group`).toBe(true);
      expect(plan.ip).toContain(`link set dev ${c.name} alias ${ALIAS_PREFIX}${(c.want!.purpose ?? 'device').replace(/[^A-Za-z0-9_./:-]/g, '_')}`);
    }
  });

  it('a bond re-created for a new mode (from diffHost): VLAN on it re-created, members re-enslaved while down', () => {
    const want = {
      links: [
        { name: 'bond0', kind: 'bond', bond: { mode: '802.3ad', members: ['ens3', 'ens4'] }, mtu: 9000, purpose: 'bond' },
        { name: 'bond0.100', kind: 'vlan', parent: 'bond0', vlanId: 100, master: 'web', mtu: 9000, purpose: 'network/web' },
        { name: 'ens3', kind: 'nic', master: 'bond0', mtu: 9000 },
        { name: 'ens4', kind: 'nic', master: 'bond0', mtu: 9000 },
        { name: 'web', kind: 'bridge', mtu: 9000, purpose: 'network/web' },
      ] satisfies DesiredLink[],
      addresses: [],
      networks: [],
      problems: [],
    };
    const have = {
      links: [
        owned('bond0', 'bond', { bondMode: 'active-backup', mtu: 9000 }),
        owned('bond0.100', 'vlan', { parent: 'bond0', vlanId: 100, master: 'web', mtu: 9000 }),
        ol('ens3', '', { master: 'bond0', mtu: 9000 }),
        ol('ens4', '', { master: 'bond0', mtu: 9000 }),
        owned('web', 'bridge', { mtu: 9000 }),
      ],
      addresses: [],
    };
    expect(planHost(diffHost(want, have, { instance: INSTANCE }), OPTS).ip).toStrictEqual([
      'link set dev bond0 group 28263',
      'link set dev bond0.100 group 28263',
      'link del group 28263',
      'link set dev ens3 nomaster',
      'link set dev ens4 nomaster',
      'link add name bond0 group 28262 type bond mode 802.3ad',
      'link set dev bond0 alias netform:bond',
      'link set dev bond0 mtu 9000',
      'link add link bond0 name bond0.100 mtu 9000 group 28262 type vlan id 100',
      'link set dev bond0.100 alias netform:network/web',
      'link set dev ens3 down',
      'link set dev ens3 master bond0',
      'link set dev ens4 down',
      'link set dev ens4 master bond0',
      'link set dev bond0.100 master web',
      'link set dev ens3 up',
      'link set dev ens4 up',
      'link set dev bond0 up',
      'link set dev bond0.100 up',
    ]);
  });
});

describe('planHost: the MTU of a new bridge is pinned', () => {
  // A new bridge follows its smallest port's MTU until one is set on it explicitly.
  it('right after the masters step and before MTUs that shrink', () => {
    const ip = planHost(
      diff({
        links: [
          create(WEB),
          create(SUB),
          modify({ name: 'ens3.200', kind: 'vlan', parent: 'ens3', vlanId: 200, master: 'db', mtu: 1400 }, owned('ens3.200', 'vlan', { parent: 'ens3', vlanId: 200, master: 'db' }), ['mtu 1500→1400']),
        ],
      }),
      OPTS,
    ).ip;
    expect(ip).toStrictEqual([
      'link add link ens3 name ens3.100 mtu 9000 group 28262 type vlan id 100',
      'link set dev ens3.100 alias netform:network/web',
      'link add name web mtu 9000 group 28262 type bridge',
      'link set dev web alias netform:network/web',
      'link set dev ens3.100 master web',
      'link set dev web mtu 9000',
      'link set dev ens3.200 mtu 1400',
      'link set dev ens3.100 up',
      'link set dev web up',
    ]);
    expect(ip.indexOf('link set dev web mtu 9000')).toBe(ip.indexOf('link set dev ens3.100 master web') + 1);
    expect(ip.indexOf('link set dev web mtu 9000')).toBe(ip.indexOf('link set dev ens3.200 mtu 1400') - 1);
  });

  it('one line per new or re-created bridge with an MTU, in diff order; none for a bridge without one, a modified bridge or another kind', () => {
    const ip = planHost(
      diff({
        links: [
          create({ name: 'db', kind: 'bridge', mtu: 1500, purpose: 'network/db' }),
          replace({ name: 'storage', kind: 'bridge', mtu: 9000, purpose: 'network/storage' }, owned('storage', 'veth', { mtu: 9000 }), 'kind veth→bridge'),
          create({ name: 'nomtu', kind: 'bridge', purpose: 'network/nomtu' }),
          modify({ ...WEB, mtu: 1500 }, owned('web', 'bridge', { mtu: 9000 }), ['mtu 9000→1500']),
          create(VM1),
        ],
      }),
      OPTS,
    ).ip;
    expect(ip).toStrictEqual([
      'link set dev storage group 28263',
      'link del group 28263',
      'link add name db mtu 1500 group 28262 type bridge',
      'link set dev db alias netform:network/db',
      'link add name nomtu group 28262 type bridge',
      'link set dev nomtu alias netform:network/nomtu',
      'link add name storage mtu 9000 group 28262 type bridge',
      'link set dev storage alias netform:network/storage',
      `tuntap add dev ${TAP} mode tap`,
      `link set dev ${TAP} group 28262 mtu 9000`,
      `link set dev ${TAP} alias netform:vnic/tenant-a/vm1-nic0`,
      `link set dev ${TAP} master web`,
      'link set dev db mtu 1500',
      'link set dev storage mtu 9000',
      'link set dev web mtu 1500',
      'link set dev db up',
      'link set dev nomtu up',
      'link set dev storage up',
      `link set dev ${TAP} up`,
    ]);
  });
});

describe('addressLines', () => {
  it('only additions, in diff order', () => {
    const d = diff({
      addresses: [
        { device: 'web', cidr: '192.0.2.11/24', op: 'add' },
        { device: 'web', cidr: '192.0.2.99/24', op: 'remove' },
        { device: INT, cidr: '2001:db8::11/64', op: 'add' },
      ],
    });
    expect(addressLines(d)).toStrictEqual(['address add 192.0.2.11/24 dev web', `address add 2001:db8::11/64 dev ${INT}`]);
    expect(addressLines(diff({}))).toStrictEqual([]);
  });
});

describe('planHost: refuses what is not an interface name or an address', () => {
  const BAD_NAMES = ['bad\nname', 'has space', 'abcdefghijklmnop', '-leading', '', '.', 'a/b', 'x;reboot'];
  const roles: [string, (bad: string) => HostDiff][] = [
    ['created bridge', (bad) => diff({ links: [create({ ...WEB, name: bad })] })],
    ['created tap', (bad) => diff({ links: [create({ ...VM1, name: bad })] })],
    ['created bond', (bad) => diff({ links: [create({ name: bad, kind: 'bond', bond: { mode: 'balance-rr', members: [] } })] })],
    ['VLAN parent', (bad) => diff({ links: [create({ ...SUB, parent: bad })] })],
    ['deleted device', (bad) => diff({ links: [del(owned(bad, 'bridge'))] })],
    ['master', (bad) => diff({ links: [modify({ name: 'ens4', kind: 'nic', master: bad }, ol('ens4', ''), [`master none→${bad}`])] })],
    ['modified device', (bad) => diff({ links: [modify({ name: bad, kind: 'nic', mtu: 9000 }, ol(bad, ''), ['mtu 1500→9000'])] })],
    ['address device', (bad) => diff({ addresses: [{ device: bad, cidr: '192.0.2.1/24', op: 'remove' }] })],
  ];
  // (An empty master is no master at all.)
  const cases = roles.flatMap(([role, make]) => BAD_NAMES.filter((bad) => bad || role !== 'master').map((bad) => ({ role, bad, label: JSON.stringify(bad), make })));
  it.each(cases)('$role $label', ({ bad, make }) => {
    // A valid device first: nothing of the plan escapes, not even lines for the good one.
    const d = make(bad);
    d.links.unshift(create({ ...WEB, name: 'good' }));
    expect(() => planHost(d, OPTS)).toThrow(`refusing interface name ${JSON.stringify(bad)}`);
  });

  it.each(['192.0.2.1', '192.0.2.1/24 dev eth0', 'x/24', '192.0.2.1/24\naddress flush dev eth0', '', '/24', '192.0.2.1/1234'])('address %j', (cidr) => {
    expect(() => planHost(diff({ addresses: [{ device: 'web', cidr, op: 'remove' }] }), OPTS)).toThrow(`refusing address ${JSON.stringify(cidr)}`);
    expect(() => addressLines(diff({ addresses: [{ device: 'web', cidr, op: 'add' }] }))).toThrow(`refusing address ${JSON.stringify(cidr)}`);
  });

  it.each(['a', 'exactly-15-char', 'ens3.100', 'v_1', 'v100-fcc179a339'])('accepts %s', (name) => {
    expect(planHost(diff({ links: [create({ ...WEB, name })] }), OPTS).ip[0]).toBe(`link add name ${name} mtu 9000 group 28262 type bridge`);
  });

  it('refuses bad names in OVS ports too', () => {
    const p: DesiredOvsPort = { name: 'bad name', type: 'system', tag: 1 };
    expect(() => planHost(diff({ ports: [{ name: p.name, op: 'create', want: p, fields: ['missing'] }] }), OPTS)).toThrow('refusing interface name "bad name"');
    const bond: DesiredOvsPort = { name: 'bond0', type: 'bond', bondMembers: ['ens3', 'ens 4'] };
    expect(() => planOvs(diff({ ports: [{ name: 'bond0', op: 'create', want: bond, fields: ['missing'] }] }), INSTANCE, 'br-int')).toThrow('refusing interface name "ens 4"');
  });
});

// ---- OVSDB -----------------------------------------------------------------------------------------

const set = (xs: unknown[]) => ['set', xs];
const map = (xs: [string, string][]) => ['map', xs];
const named = (id: string) => ['named-uuid', id];
const BR_WHERE = [['name', '==', 'br-int']];

function oport(name: string, uuid: string, external: Record<string, string> = {}): ObservedOvsPort {
  return { uuid, name, tag: undefined, trunks: [], vlanMode: undefined, bondMode: undefined, lacp: undefined, interfaces: [{ name, type: '', ofport: 3, error: undefined, mtuRequest: undefined, external: {} }], external };
}
const pcreate = (want: DesiredOvsPort): PortChange => ({ name: want.name, op: 'create', want, fields: ['missing'] });

const VMPORT: DesiredOvsPort = { name: TAP, type: 'system', tag: 100, mtu: 1500, network: 'web', external: { 'vm-id': 'vm1', 'iface-id': 'tenant-a/vm1-nic0', 'attached-mac': '52:54:00:00:00:01' } };
const INTPORT: DesiredOvsPort = { name: INT, type: 'internal', tag: 100, mtu: 1500, network: 'web' };
const BOND: DesiredOvsPort = { name: 'bond0', type: 'bond', bondMembers: ['ens3', 'ens4'], bondMode: 'balance-tcp', lacp: 'active', trunks: [100, 200], mtu: 9000 };

const vmInterfaceRow = {
  name: TAP,
  type: '',
  mtu_request: 1500,
  external_ids: map([
    ['attached-mac', '52:54:00:00:00:01'],
    ['iface-id', 'tenant-a/vm1-nic0'],
    ['vm-id', 'vm1'],
  ]),
};
const vmPortRow = (iface: string) => ({
  name: TAP,
  interfaces: set([named(iface)]),
  external_ids: map([
    [OVS_NETWORK_KEY, 'web'],
    [OVS_OWNER_KEY, INSTANCE],
  ]),
  tag: 100,
  trunks: set([]),
});

describe('planOvs: one OVSDB transaction', () => {
  it.each<{ name: string; diff: HostDiff; ops: unknown[] }>([
    { name: 'nothing', diff: diff({}), ops: [] },
    {
      name: 'the bridge alone: Interface + Port + Bridge inserted, Open_vSwitch.bridges mutated',
      diff: diff({ createBridge: { name: 'br-int', datapath: 'netdev' } }),
      ops: [
        { op: 'insert', table: 'Interface', 'uuid-name': 'i0', row: { name: 'br-int', type: 'internal' } },
        { op: 'insert', table: 'Port', 'uuid-name': 'p1', row: { name: 'br-int', interfaces: named('i0') } },
        {
          op: 'insert',
          table: 'Bridge',
          'uuid-name': 'b2',
          row: { name: 'br-int', datapath_type: 'netdev', ports: set([named('p1')]), external_ids: map([[OVS_OWNER_KEY, INSTANCE]]) },
        },
        { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', set([named('b2')])]] },
      ],
    },
    {
      name: 'the bridge with its first ports: the ports go into the new Bridge row, no Bridge mutation',
      diff: diff({ createBridge: { name: 'br-new', datapath: 'system' }, ports: [pcreate(INTPORT), pcreate(VMPORT)] }),
      ops: [
        { op: 'insert', table: 'Interface', 'uuid-name': 'i0', row: { name: 'br-new', type: 'internal' } },
        { op: 'insert', table: 'Port', 'uuid-name': 'p1', row: { name: 'br-new', interfaces: named('i0') } },
        { op: 'insert', table: 'Interface', 'uuid-name': 'i2', row: { name: INT, type: 'internal', mtu_request: 1500, external_ids: map([]) } },
        {
          op: 'insert',
          table: 'Port',
          'uuid-name': 'p3',
          row: {
            name: INT,
            interfaces: set([named('i2')]),
            external_ids: map([
              [OVS_NETWORK_KEY, 'web'],
              [OVS_OWNER_KEY, INSTANCE],
            ]),
            tag: 100,
            trunks: set([]),
          },
        },
        { op: 'insert', table: 'Interface', 'uuid-name': 'i4', row: vmInterfaceRow },
        { op: 'insert', table: 'Port', 'uuid-name': 'p5', row: vmPortRow('i4') },
        {
          op: 'insert',
          table: 'Bridge',
          'uuid-name': 'b6',
          row: { name: 'br-new', datapath_type: 'system', ports: set([named('p1'), named('p3'), named('p5')]), external_ids: map([[OVS_OWNER_KEY, INSTANCE]]) },
        },
        { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', set([named('b6')])]] },
      ],
    },
    {
      name: 'ports created on the existing bridge: Interface(s) + Port with named uuids and external_ids, one Bridge.ports insert',
      diff: diff({ ports: [pcreate(VMPORT), pcreate(BOND), pcreate({ name: 'ens5', type: 'system', trunks: [300] })] }),
      ops: [
        { op: 'insert', table: 'Interface', 'uuid-name': 'i0', row: vmInterfaceRow },
        { op: 'insert', table: 'Port', 'uuid-name': 'p1', row: vmPortRow('i0') },
        { op: 'insert', table: 'Interface', 'uuid-name': 'i2', row: { name: 'ens3', type: '', mtu_request: 9000, external_ids: map([]) } },
        { op: 'insert', table: 'Interface', 'uuid-name': 'i3', row: { name: 'ens4', type: '', mtu_request: 9000, external_ids: map([]) } },
        {
          op: 'insert',
          table: 'Port',
          'uuid-name': 'p4',
          row: {
            name: 'bond0',
            interfaces: set([named('i2'), named('i3')]),
            external_ids: map([[OVS_OWNER_KEY, INSTANCE]]),
            tag: set([]),
            trunks: set([100, 200]),
            bond_mode: 'balance-tcp',
            lacp: 'active',
          },
        },
        { op: 'insert', table: 'Interface', 'uuid-name': 'i5', row: { name: 'ens5', type: '', external_ids: map([]) } },
        { op: 'insert', table: 'Port', 'uuid-name': 'p6', row: { name: 'ens5', interfaces: set([named('i5')]), external_ids: map([[OVS_OWNER_KEY, INSTANCE]]), tag: set([]), trunks: set([300]) } },
        { op: 'mutate', table: 'Bridge', where: BR_WHERE, mutations: [['ports', 'insert', set([named('p1'), named('p4'), named('p6')])]] },
      ],
    },
    {
      name: 'modified: Port updated by uuid (tag an empty set when none, external_ids kept plus the network, no netform-owner stamped), Interface mtu_request by name; bonds without mtu_request',
      diff: diff({
        ports: [
          { name: TAP, op: 'modify', want: VMPORT, have: oport(TAP, 'uuid-tap', { keep: 'me', [OVS_NETWORK_KEY]: 'db' }), fields: ['tag 200→100', 'network db→web'] },
          { name: 'ens5', op: 'modify', want: { name: 'ens5', type: 'system', trunks: [300, 301] }, have: oport('ens5', 'uuid-ens5'), fields: ['tag 7→none', 'trunks 300→300,301'] },
          { name: 'bond0', op: 'modify', want: { ...BOND, bondMode: undefined, lacp: undefined }, have: oport('bond0', 'uuid-bond'), fields: ['trunks none→100,200'] },
        ],
      }),
      ops: [
        {
          op: 'update',
          table: 'Port',
          where: [['_uuid', '==', ['uuid', 'uuid-tap']]],
          row: {
            tag: 100,
            trunks: set([]),
            external_ids: map([
              ['keep', 'me'],
              [OVS_NETWORK_KEY, 'web'],
            ]),
          },
        },
        { op: 'update', table: 'Interface', where: [['name', '==', TAP]], row: { mtu_request: 1500 } },
        // The tap's interface ids as desired (the observed interface had none).
        {
          op: 'update',
          table: 'Interface',
          where: [['name', '==', TAP]],
          row: {
            external_ids: map([
              ['attached-mac', '52:54:00:00:00:01'],
              ['iface-id', 'tenant-a/vm1-nic0'],
              ['vm-id', 'vm1'],
            ]),
          },
        },
        { op: 'update', table: 'Port', where: [['_uuid', '==', ['uuid', 'uuid-ens5']]], row: { tag: set([]), trunks: set([300, 301]), external_ids: map([]) } },
        {
          op: 'update',
          table: 'Port',
          where: [['_uuid', '==', ['uuid', 'uuid-bond']]],
          row: { tag: set([]), trunks: set([100, 200]), bond_mode: 'active-backup', lacp: 'off', external_ids: map([]) },
        },
      ],
    },
    {
      name: 'deleted: one Bridge.ports delete by uuid',
      diff: diff({
        ports: [
          { name: TAP, op: 'delete', have: oport(TAP, 'uuid-1'), fields: ['not wanted'] },
          { name: TAP2, op: 'delete', have: oport(TAP2, 'uuid-2'), fields: ['stale, not wanted'], stale: true },
        ],
      }),
      ops: [{ op: 'mutate', table: 'Bridge', where: BR_WHERE, mutations: [['ports', 'delete', set([['uuid', 'uuid-1'], ['uuid', 'uuid-2']])]] }],
    },
    {
      name: 'replaced: the new rows inserted, the old port deleted, then the new one inserted into Bridge.ports',
      diff: diff({ ports: [{ name: TAP, op: 'replace', want: VMPORT, have: oport(TAP, 'uuid-old'), fields: ['stale: no ofport'], stale: true }] }),
      ops: [
        { op: 'insert', table: 'Interface', 'uuid-name': 'i0', row: vmInterfaceRow },
        { op: 'insert', table: 'Port', 'uuid-name': 'p1', row: vmPortRow('i0') },
        { op: 'mutate', table: 'Bridge', where: BR_WHERE, mutations: [['ports', 'delete', set([['uuid', 'uuid-old']])]] },
        { op: 'mutate', table: 'Bridge', where: BR_WHERE, mutations: [['ports', 'insert', set([named('p1')])]] },
      ],
    },
  ])('$name', ({ diff: d, ops }) => {
    expect(planOvs(d, INSTANCE, 'br-int')).toStrictEqual(ops);
    expect(planHost(d, OPTS).ovs).toStrictEqual(ops);
  });

  it("modifying someone else's uplink keeps its external_ids as they are: no netform-owner, so never netform's to delete", () => {
    const uplink = oport('ens7', 'uuid-ens7', { 'ovn-bridge-mappings': 'physnet1', managed_by: 'ops' });
    const ops = planOvs(diff({ ports: [{ name: 'ens7', op: 'modify', want: { name: 'ens7', type: 'system', trunks: [100, 200] }, have: uplink, fields: ['trunks none→100,200'] }] }), INSTANCE, 'br-int');
    expect(ops).toStrictEqual([
      {
        op: 'update',
        table: 'Port',
        where: [['_uuid', '==', ['uuid', 'uuid-ens7']]],
        row: {
          tag: set([]),
          trunks: set([100, 200]),
          external_ids: map([
            ['managed_by', 'ops'],
            ['ovn-bridge-mappings', 'physnet1'],
          ]),
        },
      },
    ]);
    // Once modified, the port still is not netform's: wanted on no network any more, it is left alone.
    const after: ObservedOvsPort = { ...uplink, trunks: [100, 200], external: { managed_by: 'ops', 'ovn-bridge-mappings': 'physnet1' } };
    const d = diffHost(
      { links: [], addresses: [], networks: [], problems: [], ovs: { bridge: 'br-int', datapath: 'netdev', ports: [] } },
      { links: [], addresses: [], ovs: { bridges: [{ name: 'br-int', uuid: 'b', datapath: 'netdev', ports: [after] }] } },
      { instance: INSTANCE },
    );
    expect(d.ports).toStrictEqual([]);
  });

  it('modifying a port this instance owns keeps its netform-owner; a port carrying a network gets netform-network added or corrected', () => {
    const ops = planOvs(
      diff({
        ports: [
          { name: TAP, op: 'modify', want: VMPORT, have: oport(TAP, 'uuid-tap', { [OVS_OWNER_KEY]: INSTANCE, [OVS_NETWORK_KEY]: 'db' }), fields: ['network db→web'] },
          { name: TAP2, op: 'modify', want: { ...VMPORT, name: TAP2 }, have: oport(TAP2, 'uuid-tap2', { 'iface-note': 'x' }), fields: ['network none→web'] },
        ],
      }),
      INSTANCE,
      'br-int',
    );
    expect(ops.filter((o) => (o as { table: string }).table === 'Port')).toStrictEqual([
      {
        op: 'update',
        table: 'Port',
        where: [['_uuid', '==', ['uuid', 'uuid-tap']]],
        row: {
          tag: 100,
          trunks: set([]),
          external_ids: map([
            [OVS_NETWORK_KEY, 'web'],
            [OVS_OWNER_KEY, INSTANCE],
          ]),
        },
      },
      {
        op: 'update',
        table: 'Port',
        where: [['_uuid', '==', ['uuid', 'uuid-tap2']]],
        row: {
          tag: 100,
          trunks: set([]),
          external_ids: map([
            ['iface-note', 'x'],
            [OVS_NETWORK_KEY, 'web'],
          ]),
        },
      },
    ]);
  });

  it('the bridge named in the options is the one mutated', () => {
    const ops = planOvs(diff({ ports: [{ name: TAP, op: 'delete', have: oport(TAP, 'u'), fields: [] }] }), INSTANCE, 'br-tenant');
    expect(ops).toStrictEqual([{ op: 'mutate', table: 'Bridge', where: [['name', '==', 'br-tenant']], mutations: [['ports', 'delete', set([['uuid', 'u']])]] }]);
  });
});

// vNIC bandwidth limits and port mirroring, pure parts: the layout (desiredHost), what differs
// (diffHost), the commands (planOvs / planOpenFlow / planTc), the observation parsers, and the
// rollback target. The real kernel and OVS: test/host/vnic-qos.test.ts; decisions: ADR 13.
import { describe, expect, it } from 'vitest';
import type { HostModel, HostVnicModel } from '../host-driver.ts';
import { desiredHost } from './desired.ts';
import { diffHost, isEmpty, networkSync, tcFields, type HostDiff } from './diff.ts';
import {
  ALIAS_PREFIX,
  ifbName,
  METER_BASE,
  meterIds,
  mirrorName,
  NETFORM_GROUP,
  OVS_NETWORK_KEY,
  OVS_OWNER_KEY,
  vnicDeviceName,
  type DesiredHost,
  type ObservedHost,
  type ObservedLink,
  type ObservedOvsPort,
  type ObservedQos,
} from './model.ts';
import { parseOpenFlow, parseQos, parseTc } from './parse.ts';
import { planHost, planOpenFlow, planOvs, planTc } from './plan.ts';
import { restoreTarget } from './restore.ts';

const I = 'nf-test';
const OPTS = { ovsBridge: 'br-int', ovsDatapath: 'netdev' as const };
const T1 = vnicDeviceName('t/vm1');
const T2 = vnicDeviceName('t/vm2');
const T3 = vnicDeviceName('t/vm3');
const MIRROR = mirrorName('red');

function model(vnics: Partial<HostVnicModel>[], o: { mirrorPort?: string; lbMirror?: string } = {}): HostModel {
  return {
    name: 'h',
    syncPolicy: 'Auto',
    probes: [],
    defaultFabric: 'ovs',
    nics: [{ name: 'ens3' }, { name: 'ens4', fabric: 'linux-bridge' }],
    bonds: [],
    networks: [
      { name: 'lb', interface: 'ens4', mtu: 1500, ...(o.lbMirror ? { mirrorPort: o.lbMirror } : {}) },
      { name: 'red', interface: 'ens3', mtu: 1500, vlan: 100, ...(o.mirrorPort ? { mirrorPort: o.mirrorPort } : {}) },
    ],
    unplaced: [],
    vnics: vnics.map((v) => ({ key: 't/vm1', network: 'red', vmName: 'vm', plugged: true, linked: true, ...v })),
  };
}

let ifindex = 1;
const link = (name: string, kind: string, o: Partial<ObservedLink> = {}): ObservedLink => ({
  name,
  ifindex: ifindex++,
  kind,
  mtu: 1500,
  up: true,
  operstate: 'UP',
  mac: '52:54:00:00:00:01',
  group: 0,
  ...o,
});
const qosRow = (o: Partial<ObservedQos> = {}): ObservedQos => ({
  uuid: '11111111-1111-1111-1111-111111111111',
  type: 'linux-htb',
  maxRate: 10_000_000,
  external: { [OVS_OWNER_KEY]: I },
  queue: { uuid: '22222222-2222-2222-2222-222222222222', maxRate: 10_000_000 },
  queueUuids: ['22222222-2222-2222-2222-222222222222'],
  ...o,
});

/** The host exactly as `want` says (ports, their QoS, mirrors, meters), so a test can change one thing. */
function realized(want: DesiredHost, o: { qos?: Record<string, ObservedQos>; flows?: boolean } = {}): ObservedHost {
  const uuid = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;
  const ports: ObservedOvsPort[] = [...want.ovs!.ports, { name: 'mon0', type: 'system' as const }].map((p, n) => {
    const port: ObservedOvsPort = {
      uuid: uuid(n + 1),
      name: p.name,
      tag: 'tag' in p ? p.tag : undefined,
      trunks: ('trunks' in p ? p.trunks : undefined) ?? [],
      vlanMode: undefined,
      bondMode: undefined,
      lacp: undefined,
      interfaces: [{ name: p.name, type: '', ofport: n + 1, error: undefined, mtuRequest: 'mtu' in p ? p.mtu : undefined, external: ('external' in p ? p.external : undefined) ?? {} }],
      external: p.name === 'mon0' ? {} : { [OVS_OWNER_KEY]: I, ...('network' in p && p.network ? { [OVS_NETWORK_KEY]: p.network } : {}) },
    };
    const q = o.qos?.[p.name];
    if (q) port.qos = q;
    return port;
  });
  const meters = want.ovs!.ports.filter((p) => p.qos?.outbound).map((p) => ({ id: p.qos!.outbound!.meter, kbps: p.qos!.outbound!.kbps, burstKb: p.qos!.outbound!.burstKb! }));
  return {
    links: want.links.map((l) => link(l.name, l.kind === 'tap' ? 'tun' : l.kind === 'nic' ? '' : l.kind, { group: l.kind === 'nic' ? 0 : NETFORM_GROUP, alias: `${ALIAS_PREFIX}x`, ...(l.master ? { master: l.master } : {}) })).concat([link('mon0', 'veth')]),
    addresses: [],
    ovs: {
      bridges: [
        {
          name: 'br-int',
          uuid: uuid(99),
          datapath: 'netdev',
          ports,
          mirrors: (want.ovs!.mirrors ?? []).map((m, n) => ({ uuid: uuid(50 + n), name: m.name, external: { [OVS_OWNER_KEY]: I, [OVS_NETWORK_KEY]: m.network }, srcPorts: m.select, dstPorts: m.select, output: m.output })),
        },
      ],
      qos: Object.values(o.qos ?? {}),
      openflow: { meters, flows: o.flows === false ? [] : meters.map((m) => ({ inPort: want.ovs!.ports.find((p) => p.qos?.outbound?.meter === m.id)!.name, meter: m.id })) },
    },
  };
}

const summary = (d: HostDiff) => ({
  ports: d.ports.map((c) => `${c.op} ${c.name}: ${c.fields.join(', ')}`),
  mirrors: (d.mirrors ?? []).map((c) => `${c.op} ${c.name}: ${c.fields.join(', ')}`),
  openflow: d.openflow ? [...d.openflow.meters.map((m) => `${m.op} meter ${m.id - METER_BASE}`), ...d.openflow.flows.map((f) => `${f.op} flow ${f.port}`)] : [],
  qosGarbage: (d.qosGarbage ?? []).map((q) => q.uuid),
  tc: (d.tc ?? []).map((c) => `${c.device}: ${c.fields.join(', ')}`),
  problems: d.problems,
});

const LIMIT = { averageKbps: 10_000 };

describe('layout: limits and mirrors', () => {
  it('an OVS tap: inbound as the port QoS, outbound as a meter (burst 80 % of a second by default); mirrored taps of a network in one Mirror', () => {
    const d = desiredHost(model([{ qos: { inbound: LIMIT, outbound: { averageKbps: 2000, burstKb: 300 } }, mirrored: true }, { key: 't/vm2', qos: { outbound: LIMIT } }], { mirrorPort: 'mon0' }), OPTS);
    const ids = meterIds([T1, T2]);
    expect(d.ovs!.ports.find((p) => p.name === T1)!.qos).toEqual({ inbound: { kbps: 10_000 }, outbound: { kbps: 2000, burstKb: 300, meter: ids.get(T1) } });
    expect(d.ovs!.ports.find((p) => p.name === T2)!.qos).toEqual({ outbound: { kbps: 10_000, burstKb: 8000, meter: ids.get(T2) } });
    expect(d.ovs!.mirrors).toEqual([{ name: MIRROR, network: 'red', output: 'mon0', select: [T1] }]);
    expect(d.networks.find((n) => n.name === 'red')!.ovsPorts).toContain(MIRROR);
    expect(d.problems).toEqual([]);
  });

  it('meter ids: stable, in netform range, distinct even when hashes collide', () => {
    const names = Array.from({ length: 3000 }, (_, i) => `nfv${i}`);
    const ids = meterIds(names);
    expect(new Set(ids.values()).size).toBe(3000);
    for (const v of ids.values()) expect(v - METER_BASE).toBeGreaterThanOrEqual(0), expect(v - METER_BASE).toBeLessThanOrEqual(0xffff);
    expect(meterIds([...names].reverse())).toEqual(ids);
  });

  it('a linux-bridge tap: tbf for inbound, an ifb shaping the redirected outbound, mirrored to the mirror device', () => {
    const d = desiredHost(model([{ key: 't/vm3', network: 'lb', qos: { inbound: LIMIT, outbound: LIMIT }, mirrored: true }], { lbMirror: 'mon1' }), OPTS);
    const ifb = ifbName(T3);
    expect(d.links.find((l) => l.name === T3)!.tc).toEqual({ inbound: { kbps: 10_000 }, outbound: { kbps: 10_000, ifb }, mirrorTo: 'mon1' });
    expect(d.links.find((l) => l.name === ifb)).toMatchObject({ kind: 'ifb', tc: { inbound: { kbps: 10_000 } } });
    expect(d.networks.find((n) => n.name === 'lb')!.devices).toEqual(['lb', 'ens4', ifb, T3]);
  });

  it('a mirrored vNIC on a network without a mirror port is a problem', () => {
    expect(desiredHost(model([{ mirrored: true }]), OPTS).problems).toEqual(['network red: vNIC t/vm1 is mirrored but the network has no mirror port on this host']);
  });
});

describe('diff: OVS limits, mirrors, meters', () => {
  const m = model([{ qos: { inbound: LIMIT, outbound: LIMIT }, mirrored: true }, { key: 't/vm2' }], { mirrorPort: 'mon0' });
  const want = desiredHost(m, OPTS);
  const id1 = want.ovs!.ports.find((p) => p.name === T1)!.qos!.outbound!.meter - METER_BASE;
  const base = () => realized(want, { qos: { [T1]: qosRow() } });

  it('realized exactly: empty, every network in sync', () => {
    const d = diffHost(want, base(), { instance: I });
    expect(summary(d)).toEqual({ ports: [], mirrors: [], openflow: [], qosGarbage: [], tc: [], problems: [] });
    expect(isEmpty(d)).toBe(true);
  });

  it.each<{ name: string; have: (h: ObservedHost) => void; want: Partial<ReturnType<typeof summary>> }>([
    {
      name: 'QoS missing',
      have: (h) => {
        delete h.ovs!.bridges[0]!.ports.find((p) => p.name === T1)!.qos;
        h.ovs!.qos = [];
      },
      want: { ports: [`modify ${T1}: qos inbound none→10000kbps`] },
    },
    {
      name: 'QoS rate changed behind netform',
      have: (h) => (h.ovs!.bridges[0]!.ports.find((p) => p.name === T1)!.qos = qosRow({ maxRate: 99_000_000, queue: { uuid: 'q', maxRate: 99_000_000 } })),
      want: { ports: [`modify ${T1}: qos inbound 99000kbps→10000kbps`] },
    },
    {
      name: "someone else's QoS on the tap while a limit is wanted: replaced (their row is left alone)",
      have: (h) => (h.ovs!.bridges[0]!.ports.find((p) => p.name === T1)!.qos = qosRow({ external: {} })),
      want: { ports: [`modify ${T1}: qos inbound foreign→10000kbps`] },
    },
    {
      name: 'a QoS row of this instance that no port refers to is collected; another instance’s is not',
      have: (h) => {
        h.ovs!.qos!.push(qosRow({ uuid: 'dead-1' }), qosRow({ uuid: 'dead-2', external: { [OVS_OWNER_KEY]: 'other' } }));
      },
      want: { qosGarbage: ['dead-1'] },
    },
    {
      name: 'meter rate changed, flow gone',
      have: (h) => {
        h.ovs!.openflow!.meters[0]!.kbps = 5;
        h.ovs!.openflow!.flows = [];
      },
      want: { openflow: [`modify meter ${id1}`, `add flow ${T1}`] },
    },
    {
      name: "a stale meter and a flow of a port OVS no longer knows (shown by number) go; others' meter ids are not observed at all",
      have: (h) => {
        h.ovs!.openflow!.meters.push({ id: METER_BASE + 7, kbps: 1, burstKb: 1 });
        h.ovs!.openflow!.flows.push({ inPort: '42', meter: METER_BASE + 7 });
      },
      want: { openflow: ['delete meter 7', 'delete flow 42'] },
    },
    {
      name: 'mirror port changed and a tap added behind netform',
      have: (h) => {
        const mi = h.ovs!.bridges[0]!.mirrors![0]!;
        mi.srcPorts = [T1, T2];
        delete mi.output;
      },
      want: { mirrors: [`modify ${MIRROR}: select_src_port ${T1},${T2}→${T1}, output_port none→mon0`] },
    },
    {
      name: 'the tap port is re-created (stale): its meter flow is added again and the mirror rewritten to the new port',
      have: (h) => (h.ovs!.bridges[0]!.ports.find((p) => p.name === T1)!.interfaces[0]!.ofport = -1),
      want: { ports: [`replace ${T1}: stale: no ofport`], mirrors: [`modify ${MIRROR}: port ${T1} re-created`], openflow: [`add flow ${T1}`] },
    },
    {
      name: "a mirror of the same name that is not netform's is a problem",
      have: (h) => (h.ovs!.bridges[0]!.mirrors![0]!.external = {}),
      want: { problems: [`ovs mirror ${MIRROR} exists and is not netform's`] },
    },
    {
      name: 'OpenFlow could not be observed: a problem (nothing is applied blind)',
      have: (h) => {
        delete h.ovs!.openflow;
        h.ovs!.openflowError = 'ENOENT br-int.mgmt';
      },
      want: { problems: ["outbound limits need bridge br-int's OpenFlow socket: ENOENT br-int.mgmt"] },
    },
  ])('$name', ({ have, want: w }) => {
    const h = base();
    have(h);
    expect(summary(diffHost(want, h, { instance: I }))).toEqual({ ports: [], mirrors: [], openflow: [], qosGarbage: [], tc: [], problems: [], ...w });
  });

  it('limits and mirroring turned off: the QoS row, the meter, the flow and the Mirror go; the network says why it is out of sync', () => {
    const off = desiredHost(model([{}, { key: 't/vm2' }], { mirrorPort: 'mon0' }), OPTS);
    const d = diffHost(off, base(), { instance: I });
    expect(summary(d)).toEqual({
      ports: [`modify ${T1}: qos inbound 10000kbps→none`],
      mirrors: [`delete ${MIRROR}: not wanted`],
      openflow: [`delete meter ${id1}`, `delete flow ${T1}`],
      qosGarbage: [],
      tc: [],
      problems: [],
    });
    expect(networkSync(off, d).find((n) => n.name === 'red')!.difference).toBe(`ovs port ${T1}: qos inbound 10000kbps→none`);
    expect(networkSync(want, diffHost(want, realized(want), { instance: I })).find((n) => n.name === 'red')).toEqual({
      name: 'red',
      inSync: false,
      difference: `ovs port ${T1}: qos inbound none→10000kbps`,
    });
  });

  it('the mirror port must be a port of the bridge', () => {
    const w = desiredHost(model([{ mirrored: true }], { mirrorPort: 'nope0' }), OPTS);
    expect(diffHost(w, realized(w), { instance: I }).problems).toEqual(['mirror port nope0 of network red is not a port of bridge br-int']);
  });
});

describe('plan: OVSDB rows, OpenFlow commands', () => {
  const want = desiredHost(model([{ qos: { inbound: { averageKbps: 10_000, burstKb: 500 }, outbound: LIMIT }, mirrored: true }], { mirrorPort: 'mon0' }), OPTS);
  const meter = want.ovs!.ports[1]!.qos!.outbound!.meter;

  it('a new tap port with limits and a mirror: Queue + QoS inserted with the port, Mirror referring to the new port and the existing output port', () => {
    const h = realized(want);
    h.ovs!.bridges[0]!.ports = h.ovs!.bridges[0]!.ports.filter((p) => p.name !== T1);
    h.ovs!.bridges[0]!.mirrors = [];
    h.ovs!.openflow = { meters: [], flows: [] };
    const d = diffHost(want, h, { instance: I });
    const ops = planOvs(d, I, 'br-int') as Record<string, unknown>[];
    const owner = ['map', [[OVS_OWNER_KEY, I]]];
    expect(ops.filter((o) => o.table === 'Queue' || o.table === 'QoS' || o.table === 'Mirror')).toEqual([
      { op: 'insert', table: 'Queue', 'uuid-name': 'q2', row: { other_config: ['map', [['burst', '500000'], ['max-rate', '10000000']]], external_ids: owner } },
      { op: 'insert', table: 'QoS', 'uuid-name': 's3', row: { type: 'linux-htb', other_config: ['map', [['max-rate', '10000000']]], queues: ['map', [[0, ['named-uuid', 'q2']]]], external_ids: owner } },
      {
        op: 'insert',
        table: 'Mirror',
        'uuid-name': 'm4',
        row: {
          name: MIRROR,
          select_src_port: ['set', [['named-uuid', 'p1']]],
          select_dst_port: ['set', [['named-uuid', 'p1']]],
          output_port: ['uuid', h.ovs!.bridges[0]!.ports.find((p) => p.name === 'mon0')!.uuid],
          external_ids: ['map', [[OVS_NETWORK_KEY, 'red'], [OVS_OWNER_KEY, I]]],
        },
      },
    ]);
    expect(ops.find((o) => o.table === 'Port' && o.op === 'insert')).toMatchObject({ 'uuid-name': 'p1', row: { name: T1, qos: ['named-uuid', 's3'] } });
    expect(ops.at(-1)).toEqual({ op: 'mutate', table: 'Bridge', where: [['name', '==', 'br-int']], mutations: [['mirrors', 'insert', ['set', [['named-uuid', 'm4']]]]] });
    expect(planOpenFlow(d)).toEqual([
      ['add-meter', `meter=${meter},kbps,burst,band=type=drop,rate=10000,burst_size=8000`],
      ['add-flow', `cookie=0x6e66000000000000,priority=100,in_port="${T1}",actions=meter:${meter},NORMAL`],
    ]);
    expect(planHost(d, { instance: I, bridge: 'br-int' }).revalidate).toBe(true);
  });

  it('a changed limit: new QoS row, port pointed at it, the old row and its queue deleted; a deleted port takes its QoS row along', () => {
    const old = qosRow({ maxRate: 1000, queue: { uuid: 'q-old', maxRate: 1000 }, queueUuids: ['33333333-3333-3333-3333-333333333333'] });
    const d = diffHost(want, realized(want, { qos: { [T1]: old } }), { instance: I });
    const ops = planOvs(d, I, 'br-int') as Record<string, unknown>[];
    expect(ops.filter((o) => o.op === 'delete')).toEqual([
      { op: 'delete', table: 'QoS', where: [['_uuid', '==', ['uuid', old.uuid]]] },
      { op: 'delete', table: 'Queue', where: [['_uuid', '==', ['uuid', '33333333-3333-3333-3333-333333333333']]] },
    ]);
    expect(ops.find((o) => o.table === 'Port' && o.op === 'update')).toMatchObject({ row: { qos: ['named-uuid', 's1'] } });

    const gone = desiredHost(model([]), OPTS);
    const d2 = diffHost(gone, realized(want, { qos: { [T1]: qosRow() } }), { instance: I });
    const ops2 = planOvs(d2, I, 'br-int') as Record<string, unknown>[];
    expect(ops2.slice(0, 3)).toEqual([
      { op: 'update', table: 'Port', where: [['_uuid', '==', ['uuid', realized(want).ovs!.bridges[0]!.ports.find((p) => p.name === T1)!.uuid]]], row: { qos: ['set', []] } },
      { op: 'delete', table: 'QoS', where: [['_uuid', '==', ['uuid', qosRow().uuid]]] },
      { op: 'delete', table: 'Queue', where: [['_uuid', '==', ['uuid', qosRow().queue!.uuid]]] },
    ]);
  });

  it('OpenFlow order: flows that go, meters that go, meters added or changed, flows added', () => {
    const d: HostDiff = {
      links: [],
      ports: [],
      addresses: [],
      problems: [],
      openflow: {
        meters: [
          { op: 'add', id: METER_BASE + 1, kbps: 1, burstKb: 64 },
          { op: 'delete', id: METER_BASE + 2 },
          { op: 'modify', id: METER_BASE + 3, kbps: 3, burstKb: 64 },
        ],
        flows: [
          { op: 'add', port: 'nfvaaa', meter: METER_BASE + 1 },
          { op: 'delete', port: '17' },
        ],
      },
    };
    expect(planOpenFlow(d).map(([c, a]) => `${c} ${a}`)).toEqual([
      'del-flows cookie=0x6e66000000000000/0xffff000000000000,in_port=17',
      `del-meter meter=${METER_BASE + 2}`,
      `add-meter meter=${METER_BASE + 1},kbps,burst,band=type=drop,rate=1,burst_size=64`,
      `mod-meter meter=${METER_BASE + 3},kbps,burst,band=type=drop,rate=3,burst_size=64`,
      `add-flow cookie=0x6e66000000000000,priority=100,in_port="nfvaaa",actions=meter:${METER_BASE + 1},NORMAL`,
    ]);
  });

  it.each([
    ['a port name that is not an interface name', { flows: [{ op: 'add' as const, port: 'x",actions=drop', meter: METER_BASE }], meters: [] }, /refusing interface name/],
    ['a meter id outside netform’s range', { flows: [], meters: [{ op: 'delete' as const, id: 5 }] }, /refusing meter id 5/],
    ['a rate that is not a whole number', { flows: [], meters: [{ op: 'add' as const, id: METER_BASE, kbps: 1.5, burstKb: 1 }] }, /refusing rate/],
  ])('refuses %s', (_n, openflow, err) => {
    expect(() => planOpenFlow({ links: [], ports: [], addresses: [], problems: [], openflow })).toThrow(err);
  });
});

describe('linux-bridge: tc diff and plan', () => {
  const ifb = ifbName(T3);
  const want = desiredHost(model([{ key: 't/vm3', network: 'lb', qos: { inbound: LIMIT, outbound: LIMIT }, mirrored: true }], { lbMirror: 'mon1' }), OPTS);
  const tcOf = (l: string) => want.links.find((x) => x.name === l)!.tc;

  it('tcFields: what differs, in words', () => {
    expect(tcFields(tcOf(T3), { tbf: { rateBps: 1_250_000, burstBytes: 125_000 }, clsact: true, ingress: [`mirror:mon1`, `redirect:${ifb}`], egress: ['mirror:mon1'] })).toEqual([]);
    expect(tcFields(tcOf(T3), { clsact: false, ingress: [], egress: [] })).toEqual([
      'root none→tbf 10000kbit/125000b',
      `ingress none→mirror:mon1+redirect:${ifb}`,
      'egress none→mirror:mon1',
    ]);
    expect(tcFields(undefined, { tbf: { rateBps: 1, burstBytes: 1 }, clsact: true, ingress: ['mirror:mon1'], egress: [] })).toEqual(['root tbf 0.008kbit/1b→none', 'ingress mirror:mon1→none']);
  });

  it('a new tap with limits and mirroring: ifb created, then tc on the tap and the ifb', () => {
    const h: ObservedHost = { links: [link('ens4', ''), link('lb', 'bridge', { group: NETFORM_GROUP }), link('mon1', 'veth')], addresses: [] };
    const d = diffHost(want, h, { instance: I });
    expect(d.tc!.map((c) => c.device)).toEqual([ifb, T3]);
    const p = planHost(d, { instance: I, bridge: 'br-int' });
    expect(p.ip).toContain(`link add name ${ifb} mtu 1500 group ${NETFORM_GROUP} type ifb`);
    expect(p.tc).toEqual([
      `qdisc replace dev ${ifb} root tbf rate 10000kbit burst 125000 latency 50ms`,
      `qdisc replace dev ${T3} root tbf rate 10000kbit burst 125000 latency 50ms`,
      `qdisc add dev ${T3} clsact`,
      `filter add dev ${T3} ingress protocol all pref 1 bpf bytecode "1,6 0 0 4294967295," action mirred egress mirror dev mon1 action mirred egress redirect dev ${ifb}`,
      `filter add dev ${T3} egress protocol all pref 1 bpf bytecode "1,6 0 0 4294967295," action mirred egress mirror dev mon1`,
    ]);
  });

  it('limits and mirroring turned off: the tbf and the clsact (with its filters) go, the ifb is deleted', () => {
    const off = desiredHost(model([{ key: 't/vm3', network: 'lb' }], { lbMirror: 'mon1' }), OPTS);
    const h: ObservedHost = {
      links: [
        link('ens4', '', { master: 'lb' }),
        link('lb', 'bridge', { group: NETFORM_GROUP }),
        link('mon1', 'veth'),
        link(T3, 'tun', { group: NETFORM_GROUP, master: 'lb', tc: { tbf: { rateBps: 1_250_000, burstBytes: 125_000 }, clsact: true, ingress: [`redirect:${ifb}`], egress: [] } }),
        link(ifb, 'ifb', { group: NETFORM_GROUP, tc: { tbf: { rateBps: 1_250_000, burstBytes: 125_000 }, clsact: false, ingress: [], egress: [] } }),
      ],
      addresses: [],
    };
    const d = diffHost(off, h, { instance: I });
    expect(d.links.map((c) => `${c.op} ${c.name}`)).toEqual([`delete ${ifb}`]);
    expect(planTc(d)).toEqual([`qdisc del dev ${T3} root`, `qdisc del dev ${T3} clsact`]);
  });
});

describe('parsers', () => {
  it('parseOpenFlow: netform’s meters (by id range) and flows (by cookie), names or numbers as in_port', () => {
    const meters = `OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):
meter=1852178433 kbps burst bands=
type=drop rate=10000 burst_size=8000
meter=7 kbps burst bands=
type=drop rate=5 burst_size=5
`;
    const flows = `OFPST_FLOW reply (OF1.3) (xid=0x2):
 cookie=0x6e66000000000000, duration=0.025s, table=0, n_packets=0, n_bytes=0, priority=100,in_port=nfv2fe20fd9fb1b actions=meter:1852178433,NORMAL
 cookie=0x6e66000000000000, duration=1s, table=0, n_packets=0, n_bytes=0, priority=100,in_port=12 actions=meter:1852178434,NORMAL
 cookie=0x0, duration=478.600s, table=0, n_packets=1, n_bytes=2, priority=0 actions=NORMAL
`;
    expect(parseOpenFlow(meters, flows)).toEqual({
      meters: [{ id: 1852178433, kbps: 10000, burstKb: 8000 }],
      flows: [
        { inPort: '12', meter: 1852178434 },
        { inPort: 'nfv2fe20fd9fb1b', meter: 1852178433 },
      ],
    });
  });

  it('parseTc: tbf root, clsact filters as mirror:/redirect: actions; a default root is nothing', () => {
    const qd = JSON.stringify([
      { kind: 'tbf', handle: '8001:', root: true, refcnt: 3, options: { rate: 1250000, burst: 125000, lat: 50000 } },
      { kind: 'clsact', handle: 'ffff:', parent: 'ffff:fff1', options: {} },
    ]);
    const ing = JSON.stringify([
      { protocol: 'all', pref: 1, kind: 'u32', chain: 0 },
      {
        protocol: 'all',
        pref: 1,
        kind: 'u32',
        options: {
          fh: '800::800',
          actions: [
            { order: 1, kind: 'mirred', mirred_action: 'mirror', direction: 'egress', to_dev: 'mon0' },
            { order: 2, kind: 'mirred', mirred_action: 'redirect', direction: 'egress', to_dev: 'ifq3' },
          ],
        },
      },
    ]);
    expect(parseTc(qd, ing, '[]')).toEqual({ tbf: { rateBps: 1250000, burstBytes: 125000 }, clsact: true, ingress: ['mirror:mon0', 'redirect:ifq3'], egress: [] });
    expect(parseTc(JSON.stringify([{ kind: 'noqueue', root: true }]), '', '')).toEqual({ clsact: false, ingress: [], egress: [] });
    expect(parseTc(JSON.stringify([{ kind: 'htb', root: true }]), '', '')).toEqual({ foreignRoot: 'htb', clsact: false, ingress: [], egress: [] });
  });

  it('parseQos: queue 0 resolved, rates as numbers', () => {
    const rows = parseQos(
      [{ _uuid: ['uuid', 'a'], type: 'linux-htb', other_config: ['map', [['max-rate', '10000000']]], queues: ['map', [[0, ['uuid', 'b']]]], external_ids: ['map', [[OVS_OWNER_KEY, I]]] }],
      [{ _uuid: ['uuid', 'b'], other_config: ['map', [['max-rate', '10000000'], ['burst', '500000']]] }],
    );
    expect(rows.get('a')).toEqual({ uuid: 'a', type: 'linux-htb', maxRate: 10000000, external: { [OVS_OWNER_KEY]: I }, queueUuids: ['b'], queue: { uuid: 'b', maxRate: 10000000, burst: 500000 } });
  });
});

describe('rollback target', () => {
  it('keeps the limits, meters and mirrors the snapshot had, so a rollback puts them back', () => {
    const want = desiredHost(model([{ qos: { inbound: LIMIT, outbound: LIMIT }, mirrored: true }], { mirrorPort: 'mon0' }), OPTS);
    const snap = realized(want, { qos: { [T1]: qosRow() } });
    const target = restoreTarget(snap, want, I);
    expect(target.ovs!.ports.find((p) => p.name === T1)!.qos).toEqual(want.ovs!.ports.find((p) => p.name === T1)!.qos);
    expect(target.ovs!.mirrors).toEqual(want.ovs!.mirrors);
    expect(isEmpty(diffHost(target, snap, { instance: I }))).toBe(true);
  });
});

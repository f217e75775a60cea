import { describe, expect, it } from 'vitest';
import { CHANGING, FAILING, renderPlan, sortPlan, summarizePlan, type PlanAction, type PlanItem } from './plan.ts';

// A fixed plan, deliberately out of order.
const ITEMS: PlanItem[] = [
  {
    object: 'Network/web',
    target: 'neutron:os',
    resource: 'subnet',
    action: 'replace',
    externalId: 's-1',
    changes: [{ path: 'subnets[app].cidr', from: '10.0.0.0/24', to: '10.0.1.0/24', immutable: true }],
  },
  {
    object: 'Network/web',
    target: 'neutron:os',
    resource: 'network',
    action: 'update',
    externalId: 'n-1',
    changes: [
      { path: 'mtu', from: 1500, to: 9000 },
      { path: 'description', to: 'web tier' },
      { path: 'qos', from: { maxRateKbps: 1000 }, to: undefined },
      { path: 'subnets[app].gateway', from: '10.0.0.1', to: null },
    ],
  },
  { object: 'Network/app', target: 'ucsm:fi', resource: 'vlan', action: 'create' },
  { object: 'Network/app', target: 'neutron:os', resource: 'network', action: 'noop', externalId: 'n-2' },
  { object: 'Network/app', target: 'netform', resource: 'vlan', action: 'allocate', message: 'VLAN 101 from VlanPool/pool' },
  { object: 'Network/old', target: 'neutron:os', resource: 'network', action: 'delete', externalId: 'n-9' },
  {
    object: 'Network/db',
    target: 'neutron:os',
    resource: 'network',
    action: 'blocked',
    externalId: 'n-3',
    changes: [{ path: 'vlan', from: 100, to: 200, immutable: true }],
    message: 'vlan cannot change in place',
  },
  { object: 'Network/old', target: 'netform', resource: 'vlan', action: 'release' },
  { object: 'VnicAttachment/default/vm1', target: 'netform', resource: 'vnic', action: 'wait', message: 'Network/web is not Ready' },
  { object: 'Network/legacy', target: 'neutron:os', resource: 'network', action: 'orphan', externalId: 'n-7' },
  { object: 'Network/ext', target: 'neutron:os', resource: 'network', action: 'drift', externalId: 'n-5', changes: [{ path: 'shared', from: true, to: false }] },
  { object: 'Network/ext2', target: 'neutron:os', resource: 'network', action: 'missing' },
  { object: 'Network/zzz', target: 'ucsm:fi', resource: 'vlan', action: 'unknown', message: 'connection refused' },
  { object: 'Network/same', target: 'neutron:os', resource: 'network', action: 'noop', changes: [{ path: 'mtu', from: 1, to: 2 }] },
];

const RENDERED = [
  '+ Network/app  netform vlan  (allocate) — VLAN 101 from VlanPool/pool',
  '+ Network/app  ucsm:fi vlan  (create)',
  '! Network/db  neutron:os network n-3  (blocked) — vlan cannot change in place',
  '    vlan: 100 → 200  [cannot change in place]',
  '≠ Network/ext  neutron:os network n-5  (drift)',
  '    shared: true → false',
  '? Network/ext2  neutron:os network  (missing)',
  '○ Network/legacy  neutron:os network n-7  (orphan)',
  '− Network/old  netform vlan  (release)',
  '− Network/old  neutron:os network n-9  (delete)',
  '~ Network/web  neutron:os network n-1  (update)',
  '    mtu: 1500 → 9000',
  '    description: (unset) → "web tier"',
  '    qos: {"maxRateKbps":1000} → (unset)',
  '    subnets[app].gateway: "10.0.0.1" → null',
  '± Network/web  neutron:os subnet s-1  (replace)',
  '    subnets[app].cidr: "10.0.0.0/24" → "10.0.1.0/24"  [cannot change in place]',
  '? Network/zzz  ucsm:fi vlan  (unknown) — connection refused',
  '… VnicAttachment/default/vm1  netform vnic  (wait) — Network/web is not Ready',
].join('\n');

function rotations<T>(xs: readonly T[]): T[][] {
  return xs.map((_, i) => [...xs.slice(i), ...xs.slice(0, i)]);
}

describe('renderPlan', () => {
  it('renders the fixed plan exactly (signs, ids, messages, field changes; no-ops left out; sorted)', () => {
    expect(renderPlan(ITEMS)).toBe(RENDERED);
  });

  it.each([
    { name: 'reversed', items: [...ITEMS].reverse() },
    ...rotations(ITEMS).map((items, i) => ({ name: `rotated by ${i}`, items })),
  ])('is independent of input order: $name', ({ items }) => {
    expect(renderPlan(items)).toBe(RENDERED);
  });

  it('does not modify its input', () => {
    const copy = structuredClone(ITEMS);
    renderPlan(ITEMS);
    expect(ITEMS).toEqual(copy);
  });

  it.each([
    { name: 'empty plan', items: [] as PlanItem[], want: '' },
    { name: 'only no-ops', items: [{ object: 'Network/a', target: 'neutron:os', resource: 'network', action: 'noop' }] as PlanItem[], want: '' },
    {
      name: 'one create',
      items: [{ object: 'Network/a', target: 'neutron:os', resource: 'network', action: 'create' }] as PlanItem[],
      want: '+ Network/a  neutron:os network  (create)',
    },
    {
      name: 'mutable and immutable changes under one update',
      items: [
        {
          object: 'Network/a',
          target: 'neutron:os',
          resource: 'network',
          action: 'update',
          changes: [
            { path: 'name', from: 'a', to: 'b', immutable: false },
            { path: 'segment', from: 1, to: 2, immutable: true },
          ],
        },
      ] as PlanItem[],
      want: ['~ Network/a  neutron:os network  (update)', '    name: "a" → "b"', '    segment: 1 → 2  [cannot change in place]'].join('\n'),
    },
  ])('$name', ({ items, want }) => {
    expect(renderPlan(items)).toBe(want);
  });
});

describe('sortPlan', () => {
  it('orders by object, then target, then resource', () => {
    const keys = sortPlan(ITEMS).map((i) => `${i.object}|${i.target}|${i.resource}`);
    expect(keys).toEqual([
      'Network/app|netform|vlan',
      'Network/app|neutron:os|network',
      'Network/app|ucsm:fi|vlan',
      'Network/db|neutron:os|network',
      'Network/ext|neutron:os|network',
      'Network/ext2|neutron:os|network',
      'Network/legacy|neutron:os|network',
      'Network/old|netform|vlan',
      'Network/old|neutron:os|network',
      'Network/same|neutron:os|network',
      'Network/web|neutron:os|network',
      'Network/web|neutron:os|subnet',
      'Network/zzz|ucsm:fi|vlan',
      'VnicAttachment/default/vm1|netform|vnic',
    ]);
  });
});

describe('summarizePlan', () => {
  it('counts the fixed plan', () => {
    // create: create + allocate; delete: delete + release;
    // other: blocked, drift, missing, orphan, unknown, wait; no-ops not counted.
    expect(summarizePlan(ITEMS)).toEqual({ create: 2, update: 1, replace: 1, delete: 2, other: 6 });
  });

  const ACTIONS = {
    create: 'create',
    allocate: 'create',
    update: 'update',
    replace: 'replace',
    delete: 'delete',
    release: 'delete',
    orphan: 'other',
    blocked: 'other',
    drift: 'other',
    missing: 'other',
    wait: 'other',
    unknown: 'other',
    unreported: 'other',
    noop: undefined,
  } satisfies Record<PlanAction, 'create' | 'update' | 'replace' | 'delete' | 'other' | undefined>;

  it.each(Object.entries(ACTIONS).map(([action, bucket]) => ({ action: action as PlanAction, bucket })))(
    '$action counts as $bucket',
    ({ action, bucket }) => {
      const s = summarizePlan([
        { object: 'Network/a', target: 'neutron:os', resource: 'network', action },
        { object: 'Network/b', target: 'neutron:os', resource: 'network', action },
      ]);
      const want = { create: 0, update: 0, replace: 0, delete: 0, other: 0 };
      if (bucket) want[bucket] = 2;
      expect(s).toEqual(want);
    },
  );
});

describe('CHANGING and FAILING', () => {
  // changing: the action changes a backend or netform's local state (a VLAN allocation, a
  // backend object let go by deletionPolicy Orphan).
  // failing: the plan could not be made, or cannot be carried out as it stands.
  const CLASS = {
    create: { changing: true, failing: false },
    update: { changing: true, failing: false },
    replace: { changing: true, failing: false },
    delete: { changing: true, failing: false },
    allocate: { changing: true, failing: false },
    release: { changing: true, failing: false },
    blocked: { changing: false, failing: true },
    unknown: { changing: false, failing: true },
    noop: { changing: false, failing: false },
    orphan: { changing: true, failing: false },
    drift: { changing: false, failing: false },
    missing: { changing: false, failing: false },
    wait: { changing: false, failing: false },
    // A host with no agent report: listed, failing only under --require-host-reports (the CLI's call).
    unreported: { changing: false, failing: false },
  } satisfies Record<PlanAction, { changing: boolean; failing: boolean }>;

  it.each(Object.entries(CLASS).map(([action, c]) => ({ action: action as PlanAction, ...c })))(
    '$action: changing=$changing failing=$failing',
    ({ action, changing, failing }) => {
      expect(CHANGING.has(action)).toBe(changing);
      expect(FAILING.has(action)).toBe(failing);
    },
  );

  it('contain only known actions and are disjoint', () => {
    expect([...CHANGING].sort()).toEqual(['allocate', 'create', 'delete', 'orphan', 'release', 'replace', 'update']);
    expect([...FAILING].sort()).toEqual(['blocked', 'unknown']);
    for (const a of CHANGING) expect(FAILING.has(a)).toBe(false);
  });
});

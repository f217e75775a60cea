import { describe, expect, it } from 'vitest';
import type { FieldChange } from '../../drivers/driver.ts';
import { decide, type Decision, type DecisionInput } from './decide.ts';

type Obs = 'absent' | 'owned' | 'foreign';
type Chg = 'none' | 'mutable' | 'immutable' | 'mixed';

const CHANGES: Record<Chg, FieldChange[]> = {
  none: [],
  mutable: [{ path: 'mtu', from: 1500, to: 9000 }],
  immutable: [{ path: 'vlan', from: 100, to: 200, immutable: true }],
  mixed: [
    { path: 'mtu', from: 1500, to: 9000 },
    { path: 'vlan', from: 100, to: 200, immutable: true },
  ],
};

interface Row {
  deleting: boolean;
  obs: Obs;
  imported: boolean;
  mp: 'Managed' | 'ObserveOnly';
  dp: 'Delete' | 'Orphan';
  chg: Chg;
  allowReplace: boolean;
}

function input(r: Row): DecisionInput {
  const i: DecisionInput = {
    deleting: r.deleting,
    imported: r.imported,
    changes: CHANGES[r.chg],
    managementPolicy: r.mp,
    deletionPolicy: r.dp,
    allowReplace: r.allowReplace,
  };
  if (r.obs !== 'absent') i.observed = { owned: r.obs === 'owned' };
  return i;
}

const row = (r: Partial<Row>): Row => ({
  deleting: false,
  obs: 'owned',
  imported: false,
  mp: 'Managed',
  dp: 'Delete',
  chg: 'none',
  allowReplace: false,
  ...r,
});

// The decision table, one row per path through it. Columns left at their defaults above:
// not deleting, observed + owned, not imported, Managed, Delete, no changes, allowReplace false.
const TABLE: { r: Row; want: Decision }[] = [
  // ── deleting ──────────────────────────────────────────────────────────────
  { r: row({ deleting: true, obs: 'absent' }), want: { action: 'orphan', why: 'gone' } },
  { r: row({ deleting: true, obs: 'absent', dp: 'Orphan' }), want: { action: 'orphan', why: 'gone' } },
  { r: row({ deleting: true, obs: 'absent', mp: 'ObserveOnly' }), want: { action: 'orphan', why: 'gone' } },
  { r: row({ deleting: true, obs: 'absent', imported: true }), want: { action: 'orphan', why: 'gone' } },
  { r: row({ deleting: true, obs: 'owned' }), want: { action: 'delete' } },
  { r: row({ deleting: true, obs: 'owned', chg: 'immutable' }), want: { action: 'delete' } },
  { r: row({ deleting: true, obs: 'owned', imported: true }), want: { action: 'delete' } },
  { r: row({ deleting: true, obs: 'foreign', imported: true }), want: { action: 'delete' } },
  { r: row({ deleting: true, obs: 'foreign' }), want: { action: 'orphan', why: 'not-owned' } },
  { r: row({ deleting: true, obs: 'foreign', allowReplace: true, chg: 'mutable' }), want: { action: 'orphan', why: 'not-owned' } },
  { r: row({ deleting: true, obs: 'owned', dp: 'Orphan' }), want: { action: 'orphan', why: 'policy' } },
  { r: row({ deleting: true, obs: 'foreign', dp: 'Orphan' }), want: { action: 'orphan', why: 'policy' } },
  { r: row({ deleting: true, obs: 'foreign', imported: true, dp: 'Orphan' }), want: { action: 'orphan', why: 'policy' } },
  { r: row({ deleting: true, obs: 'owned', mp: 'ObserveOnly' }), want: { action: 'orphan', why: 'policy' } },
  { r: row({ deleting: true, obs: 'foreign', imported: true, mp: 'ObserveOnly' }), want: { action: 'orphan', why: 'policy' } },
  { r: row({ deleting: true, obs: 'foreign', mp: 'ObserveOnly' }), want: { action: 'orphan', why: 'policy' } },
  // ── ObserveOnly ───────────────────────────────────────────────────────────
  { r: row({ mp: 'ObserveOnly', obs: 'absent' }), want: { action: 'missing' } },
  { r: row({ mp: 'ObserveOnly', obs: 'absent', imported: true }), want: { action: 'missing' } },
  { r: row({ mp: 'ObserveOnly', obs: 'owned' }), want: { action: 'noop' } },
  { r: row({ mp: 'ObserveOnly', obs: 'foreign', imported: true }), want: { action: 'noop' } },
  { r: row({ mp: 'ObserveOnly', obs: 'owned', chg: 'mutable' }), want: { action: 'drift' } },
  { r: row({ mp: 'ObserveOnly', obs: 'owned', chg: 'immutable' }), want: { action: 'drift' } },
  { r: row({ mp: 'ObserveOnly', obs: 'owned', chg: 'immutable', allowReplace: true }), want: { action: 'drift' } },
  { r: row({ mp: 'ObserveOnly', obs: 'foreign', chg: 'mutable' }), want: { action: 'drift' } },
  { r: row({ mp: 'ObserveOnly', obs: 'foreign', imported: true, chg: 'mixed', allowReplace: true }), want: { action: 'drift' } },
  // ── Managed, not deleting ────────────────────────────────────────────────
  { r: row({ obs: 'absent' }), want: { action: 'create' } },
  { r: row({ obs: 'absent', imported: true }), want: { action: 'missing' } },
  { r: row({ obs: 'absent', dp: 'Orphan', allowReplace: true }), want: { action: 'create' } },
  { r: row({ obs: 'owned' }), want: { action: 'noop' } },
  { r: row({ obs: 'foreign' }), want: { action: 'noop' } },
  { r: row({ obs: 'foreign', imported: true }), want: { action: 'noop' } },
  { r: row({ obs: 'owned', chg: 'mutable' }), want: { action: 'update' } },
  { r: row({ obs: 'owned', chg: 'mutable', allowReplace: true }), want: { action: 'update' } },
  { r: row({ obs: 'foreign', imported: true, chg: 'mutable' }), want: { action: 'update' } },
  { r: row({ obs: 'owned', chg: 'immutable' }), want: { action: 'blocked', why: 'immutable' } },
  { r: row({ obs: 'owned', chg: 'mixed' }), want: { action: 'blocked', why: 'immutable' } },
  { r: row({ obs: 'foreign', imported: true, chg: 'immutable' }), want: { action: 'blocked', why: 'immutable' } },
  { r: row({ obs: 'owned', chg: 'immutable', allowReplace: true }), want: { action: 'replace' } },
  { r: row({ obs: 'owned', chg: 'mixed', allowReplace: true }), want: { action: 'replace' } },
  { r: row({ obs: 'foreign', imported: true, chg: 'immutable', allowReplace: true }), want: { action: 'replace' } },
  { r: row({ obs: 'foreign', chg: 'mutable' }), want: { action: 'blocked', why: 'not-owned' } },
  { r: row({ obs: 'foreign', chg: 'immutable' }), want: { action: 'blocked', why: 'not-owned' } },
  { r: row({ obs: 'foreign', chg: 'immutable', allowReplace: true }), want: { action: 'blocked', why: 'not-owned' } },
  { r: row({ obs: 'foreign', chg: 'mixed', allowReplace: true }), want: { action: 'blocked', why: 'not-owned' } },
];

const label = (r: Row) =>
  `${r.deleting ? 'deleting' : 'live'} obs=${r.obs}${r.imported ? ' imported' : ''} ${r.mp}/${r.dp} changes=${r.chg}${r.allowReplace ? ' allowReplace' : ''}`;

describe('decide: decision table', () => {
  it.each(TABLE.map((t) => ({ ...t, name: label(t.r) })))('$name → $want.action', ({ r, want }) => {
    expect(decide(input(r))).toEqual(want);
  });
});

// Every combination of the inputs, checked against the rules the table is made of.
const ALL: Row[] = [];
for (const deleting of [false, true])
  for (const obs of ['absent', 'owned', 'foreign'] as const)
    for (const imported of [false, true])
      for (const mp of ['Managed', 'ObserveOnly'] as const)
        for (const dp of ['Delete', 'Orphan'] as const)
          for (const chg of ['none', 'mutable', 'immutable', 'mixed'] as const)
            for (const allowReplace of [false, true]) ALL.push({ deleting, obs, imported, mp, dp, chg, allowReplace });

describe('decide: properties over all combinations', () => {
  it('covers every combination', () => {
    expect(ALL).toHaveLength(2 * 3 * 2 * 2 * 2 * 4 * 2);
  });

  it('ObserveOnly never writes to the backend', () => {
    for (const r of ALL.filter((r) => r.mp === 'ObserveOnly')) {
      expect(['create', 'update', 'replace', 'delete', 'blocked'], label(r)).not.toContain(decide(input(r)).action);
    }
  });

  it('deleting only ever deletes or orphans', () => {
    for (const r of ALL.filter((r) => r.deleting)) expect(['delete', 'orphan'], label(r)).toContain(decide(input(r)).action);
  });

  it('deletionPolicy Orphan never deletes', () => {
    for (const r of ALL.filter((r) => r.dp === 'Orphan')) expect(decide(input(r)).action, label(r)).not.toBe('delete');
  });

  it('an object netform neither owns nor imported is never deleted, updated or replaced', () => {
    for (const r of ALL.filter((r) => r.obs === 'foreign' && !r.imported)) {
      expect(['delete', 'update', 'replace'], label(r)).not.toContain(decide(input(r)).action);
    }
  });

  it('replace only with allowReplace and an immutable change', () => {
    for (const r of ALL) {
      if (decide(input(r)).action === 'replace') {
        expect(r.allowReplace, label(r)).toBe(true);
        expect(['immutable', 'mixed'], label(r)).toContain(r.chg);
      }
    }
  });

  it('when not deleting, deletionPolicy does not matter', () => {
    for (const r of ALL.filter((r) => !r.deleting && r.dp === 'Delete')) {
      expect(decide(input({ ...r, dp: 'Orphan' })), label(r)).toEqual(decide(input(r)));
    }
  });

  it('allowReplace only matters for immutable changes when managed and not deleting', () => {
    for (const r of ALL.filter((r) => !r.allowReplace)) {
      const a = decide(input(r));
      const b = decide(input({ ...r, allowReplace: true }));
      if (!r.deleting && r.mp === 'Managed' && (r.obs === 'owned' || (r.obs === 'foreign' && r.imported)) && (r.chg === 'immutable' || r.chg === 'mixed')) {
        expect(a, label(r)).toEqual({ action: 'blocked', why: 'immutable' });
        expect(b, label(r)).toEqual({ action: 'replace' });
      } else {
        expect(b, label(r)).toEqual(a);
      }
    }
  });

  it('no changes on an existing object is a noop unless deleting', () => {
    for (const r of ALL.filter((r) => !r.deleting && r.obs !== 'absent' && r.chg === 'none')) {
      expect(decide(input(r)), label(r)).toEqual({ action: 'noop' });
    }
  });
});

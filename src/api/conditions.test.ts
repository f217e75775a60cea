import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyOutcome, getCondition, isReady, isStalled, REASONS, type Outcome, wholeSeconds } from './conditions.ts';
import type { Condition } from './kinds.ts';

const T0 = new Date('2024-01-01T00:00:00.000Z');
const T1 = new Date('2024-01-01T00:05:00.000Z');
// Conditions carry whole seconds (metav1.Time), as Kubernetes writes them.
const S0 = '2024-01-01T00:00:00Z';
const S1 = '2024-01-01T00:05:00Z';

const READY: Outcome = {
  ready: { status: 'True', reason: 'Available', message: 'in sync on 1 provider' },
  synced: { status: 'True', reason: 'ReconcileSuccess' },
};
const CREATING: Outcome = {
  ready: { status: 'False', reason: 'Creating', message: 'creating on neutron' },
  synced: { status: 'False', reason: 'ReconcileError', message: 'timeout' },
  progressing: true,
};
const STALLED: Outcome = {
  ready: { status: 'False', reason: 'Unavailable', message: 'refused' },
  synced: { status: 'False', reason: 'BackendRejected', message: 'VlanIdInUse' },
  stalled: true,
};

const byType = (cs: Condition[]) => Object.fromEntries(cs.map((c) => [c.type, c]));

describe('applyOutcome', () => {
  it.each([
    {
      name: 'ready',
      outcome: READY,
      want: [
        { type: 'Ready', status: 'True', reason: 'Available', message: 'in sync on 1 provider', observedGeneration: 3, lastTransitionTime: S0 },
        { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', observedGeneration: 3, lastTransitionTime: S0 },
        { type: 'Reconciling', status: 'False', reason: 'Available', observedGeneration: 3, lastTransitionTime: S0 },
        { type: 'Stalled', status: 'False', reason: 'ReconcileSuccess', observedGeneration: 3, lastTransitionTime: S0 },
      ],
    },
    {
      name: 'progressing',
      outcome: CREATING,
      want: [
        { type: 'Ready', status: 'False', reason: 'Creating', message: 'creating on neutron', observedGeneration: 3, lastTransitionTime: S0 },
        { type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'timeout', observedGeneration: 3, lastTransitionTime: S0 },
        { type: 'Reconciling', status: 'True', reason: 'Creating', message: 'creating on neutron', observedGeneration: 3, lastTransitionTime: S0 },
        { type: 'Stalled', status: 'False', reason: 'ReconcileError', observedGeneration: 3, lastTransitionTime: S0 },
      ],
    },
    {
      name: 'stalled',
      outcome: STALLED,
      want: [
        { type: 'Ready', status: 'False', reason: 'Unavailable', message: 'refused', observedGeneration: 3, lastTransitionTime: S0 },
        { type: 'Synced', status: 'False', reason: 'BackendRejected', message: 'VlanIdInUse', observedGeneration: 3, lastTransitionTime: S0 },
        { type: 'Reconciling', status: 'False', reason: 'Unavailable', observedGeneration: 3, lastTransitionTime: S0 },
        { type: 'Stalled', status: 'True', reason: 'BackendRejected', message: 'VlanIdInUse', observedGeneration: 3, lastTransitionTime: S0 },
      ],
    },
  ])('from nothing: always Ready/Synced/Reconciling/Stalled with observedGeneration ($name)', ({ outcome, want }) => {
    expect(applyOutcome(undefined, outcome, 3, T0)).toEqual(want);
    expect(applyOutcome([], outcome, 3, T0)).toEqual(want);
  });

  it.each([
    { name: 'nothing special', progressing: undefined, stalled: undefined, reconciling: 'False', stall: 'False' },
    { name: 'progressing false', progressing: false, stalled: false, reconciling: 'False', stall: 'False' },
    { name: 'progressing only', progressing: true, stalled: undefined, reconciling: 'True', stall: 'False' },
    { name: 'stalled only', progressing: undefined, stalled: true, reconciling: 'False', stall: 'True' },
    { name: 'both asked: Stalled wins', progressing: true, stalled: true, reconciling: 'False', stall: 'True' },
  ])('Reconciling/Stalled True only when the outcome says so: $name', ({ progressing, stalled, reconciling, stall }) => {
    const o: Outcome = { ...STALLED, progressing, stalled };
    const c = byType(applyOutcome(undefined, o, 1, T0));
    expect(c.Reconciling!.status).toBe(reconciling);
    expect(c.Stalled!.status).toBe(stall);
    // The message is only carried when the condition is True.
    expect(c.Reconciling!.message).toBe(reconciling === 'True' ? 'refused' : undefined);
    expect(c.Stalled!.message).toBe(stall === 'True' ? 'VlanIdInUse' : undefined);
  });

  it.each([
    { name: 'same outcome again', first: READY, second: READY, moved: [] as string[] },
    { name: 'ready → creating', first: READY, second: CREATING, moved: ['Ready', 'Synced', 'Reconciling'] },
    { name: 'creating → stalled', first: CREATING, second: STALLED, moved: ['Reconciling', 'Stalled'] },
    { name: 'stalled → ready', first: STALLED, second: READY, moved: ['Ready', 'Synced', 'Stalled'] },
    {
      name: 'reason and message change, status does not',
      first: READY,
      second: { ...READY, ready: { status: 'True', reason: 'Available', message: 'in sync on 2 providers' } } satisfies Outcome,
      moved: [] as string[],
    },
  ])('lastTransitionTime moves only for conditions whose status changed: $name', ({ first, second, moved }) => {
    const before = applyOutcome(undefined, first, 1, T0);
    const after = applyOutcome(before, second, 2, T1);
    for (const c of after) {
      expect(c.lastTransitionTime, c.type).toBe(moved.includes(c.type) ? S1 : S0);
      expect(c.observedGeneration, c.type).toBe(2);
    }
    expect(after.map((c) => c.type)).toEqual(['Ready', 'Synced', 'Reconciling', 'Stalled']);
    // Apart from the stamps, the result is what the outcome says.
    const fresh = applyOutcome(undefined, second, 2, T1);
    expect(after.map(({ lastTransitionTime: _, ...c }) => c)).toEqual(fresh.map(({ lastTransitionTime: _, ...c }) => c));
  });

  it('an existing condition without lastTransitionTime gets the current time', () => {
    const existing: Condition[] = [{ type: 'Ready', status: 'True', reason: 'Available' }];
    expect(byType(applyOutcome(existing, READY, 1, T1)).Ready!.lastTransitionTime).toBe(S1);
  });

  it('keeps other condition types as they are, after the four', () => {
    const custom: Condition = { type: 'HostAgentConnected', status: 'True', reason: 'Whatever', lastTransitionTime: '2020-01-01T00:00:00Z', observedGeneration: 1 };
    const existing = [custom, ...applyOutcome(undefined, READY, 1, T0)];
    const out = applyOutcome(existing, CREATING, 2, T1);
    expect(out.map((c) => c.type)).toEqual(['Ready', 'Synced', 'Reconciling', 'Stalled', 'HostAgentConnected']);
    expect(out[4]).toEqual(custom);
  });

  it('does not modify the existing conditions', () => {
    const existing = applyOutcome(undefined, READY, 1, T0);
    const copy = structuredClone(existing);
    applyOutcome(existing, STALLED, 2, T1);
    expect(existing).toEqual(copy);
  });
});

describe('isReady / isStalled / getCondition', () => {
  const ready = applyOutcome(undefined, READY, 4, T0);
  const notReady = applyOutcome(undefined, STALLED, 4, T0);

  it.each([
    { name: 'no status', status: undefined, generation: undefined, want: false },
    { name: 'no conditions', status: { observedGeneration: 4 }, generation: 4, want: false },
    { name: 'Ready True, no generation asked', status: { conditions: ready, observedGeneration: 4 }, generation: undefined, want: true },
    { name: 'Ready True, current generation', status: { conditions: ready, observedGeneration: 4 }, generation: 4, want: true },
    { name: 'Ready True, stale generation', status: { conditions: ready, observedGeneration: 3 }, generation: 4, want: false },
    { name: 'Ready True, newer than asked', status: { conditions: ready, observedGeneration: 5 }, generation: 4, want: false },
    { name: 'Ready True, observedGeneration missing', status: { conditions: ready }, generation: 4, want: false },
    { name: 'Ready False', status: { conditions: notReady, observedGeneration: 4 }, generation: 4, want: false },
    { name: 'Ready Unknown', status: { conditions: [{ type: 'Ready', status: 'Unknown' as const }], observedGeneration: 4 }, generation: 4, want: false },
  ])('isReady: $name → $want', ({ status, generation, want }) => {
    expect(isReady(status, generation)).toBe(want);
  });

  it.each([
    { name: 'stalled', status: { conditions: notReady }, want: true },
    { name: 'ready', status: { conditions: ready }, want: false },
    { name: 'no status', status: undefined, want: false },
  ])('isStalled: $name → $want', ({ status, want }) => {
    expect(isStalled(status)).toBe(want);
  });

  it('getCondition finds by type', () => {
    expect(getCondition(notReady, 'Synced')).toMatchObject({ status: 'False', reason: 'BackendRejected' });
    expect(getCondition(undefined, 'Ready')).toBeUndefined();
    expect(getCondition([], 'Ready')).toBeUndefined();
  });
});

describe('REASONS is closed', () => {
  const SRC = fileURLToPath(new URL('..', import.meta.url));

  // Condition reasons are set by controllers. Under src/adapters/ (and in *events* modules) a `reason`
  // is something else: why a watch restarted, an API Status reason, a Kubernetes Event reason.
  function sources(dir: string): string[] {
    const out: string[] = [];
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (relative(SRC, p) !== 'adapters') out.push(...sources(p));
        continue;
      }
      if (/events?\.ts$/.test(e.name)) continue;
      if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
    return out;
  }

  /** Every string literal in the expression after `reason:` (plain or in a ternary), with where it was found. */
  function reasonLiterals(text: string): string[] {
    const found: string[] = [];
    // `reason: 'X'`, `reason: cond ? 'X' : 'Y'`, `(reason: 'X', …)`; the expression ends at , } ) ; or a newline.
    // Index accesses in types (`Outcome['ready']['reason']`) and the empty string (a display
    // fallback, `c?.reason ?? ''`) are not reasons.
    for (const m of text.matchAll(/\breason\??\s*:\s*([^,;}\n]*)/g)) {
      const expr = m[1]!.replace(/\[\s*(['"])[^'"]*\1\s*\]/g, '');
      for (const lit of expr.matchAll(/'([^'\\]*)'|"([^"\\]*)"/g)) {
        const r = lit[1] ?? lit[2]!;
        if (r !== '') found.push(r);
      }
    }
    return found;
  }

  it('the scanner finds reasons in plain and ternary form', () => {
    expect(reasonLiterals(`x = { reason: 'A', y: 1 }; z = { status: 'F', reason: d ? 'B' : c ? "C" : 'D', message }`)).toEqual(['A', 'B', 'C', 'D']);
    expect(reasonLiterals(`reason?: string; reason: err.reason`)).toEqual([]);
    expect(reasonLiterals(`{ reason: (r?.reason as Outcome['ready']['reason']) ?? 'Waiting', x }`)).toEqual(['Waiting']);
    expect(reasonLiterals(`const ready = (reason: 'Available', version?: string) => 1`)).toEqual(['Available']);
    expect(reasonLiterals(`{ reason: c?.reason ?? '', message: '' }`)).toEqual([]);
  });

  it('every reason literal in src/**/*.ts is a key of REASONS', () => {
    const used = new Map<string, string[]>();
    for (const file of sources(SRC)) {
      for (const r of reasonLiterals(readFileSync(file, 'utf8'))) {
        const at = used.get(r) ?? [];
        at.push(relative(SRC, file));
        used.set(r, at);
      }
    }
    const unknown = [...used].filter(([r]) => !Object.hasOwn(REASONS, r)).map(([r, files]) => `${r} (${[...new Set(files)].join(', ')})`);
    expect(unknown).toEqual([]);
    // The scan is not vacuous: it sees reasons from several modules, including ternaries.
    for (const r of ['Available', 'ReconcileSuccess', 'ReplaceRequired', 'InvalidSpec', 'DeletionBlocked', 'Creating', 'Updating', 'BackendRejected']) {
      expect([...used.keys()], r).toContain(r);
    }
  });

  it('every reason says what to do', () => {
    for (const [r, text] of Object.entries(REASONS)) {
      expect(r).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(text.length, r).toBeGreaterThan(10);
    }
  });
});

describe('wholeSeconds', () => {
  it('writes RFC 3339 in whole seconds, dropping the milliseconds (not rounding)', () => {
    expect(wholeSeconds(new Date('2026-12-05T15:39:07.999Z'))).toBe('2026-12-05T15:39:07Z');
    expect(wholeSeconds(new Date('2026-12-05T15:39:07.000Z'))).toBe('2026-12-05T15:39:07Z');
  });
});

// kstatus — the library Flux health checks and `kstatus`-based waits use — reading netform's
// conditions for real: objects in the shapes the controllers write (src/api/conditions.ts'
// applyOutcome with the controllers' outcomes) go through sigs.k8s.io/cli-utils' status.Compute
// (test/harness/kstatus, built from the Go module proxy and cached outside the repository).
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureKstatus, kstatus, type KstatusResult } from '../harness/kstatus/kstatus.ts';
import { STATUS_CASES } from './status-cases.ts';

let bin: string;
let results: KstatusResult[];

describe('kstatus on netform conditions', () => {
  beforeAll(async () => {
    bin = await ensureKstatus();
    // all cases in one run, as a List would be
    results = await kstatus(bin, STATUS_CASES.map((c) => c.object));
  }, 15 * 60_000);

  it('answers for every object, in order', () => {
    expect(results.map((r) => r.name)).toEqual(STATUS_CASES.map((c) => (c.object.metadata as { name: string }).name));
  });

  it.each(STATUS_CASES.map((c, i) => ({ ...c, i })))('$name', (c) => {
    const r = results[c.i]!;
    expect(r.status).toBe(c.kstatus.status);
    if (typeof c.kstatus.message === 'string') expect(r.message).toBe(c.kstatus.message);
    else expect(r.message).toMatch(c.kstatus.message);
  });

  it('reads a List and a single object the same way as an array', async () => {
    const picked = [1, 6, 15].map((i) => STATUS_CASES[i]!.object);
    const fromList = await kstatus(bin, { apiVersion: 'v1', kind: 'List', items: picked });
    const one = await Promise.all(picked.map((o) => kstatus(bin, o)));
    expect(fromList).toEqual(one.map((r) => r[0]));
    expect(fromList).toEqual([1, 6, 15].map((i) => results[i]));
  });

  it('Stalled=True is reported with its reason as kstatus Stalled condition', () => {
    const i = STATUS_CASES.findIndex((c) => c.name.startsWith('a replace that needs'));
    expect(results[i]!.conditions).toEqual([
      { type: 'Stalled', status: 'True', reason: 'ReplaceRequired', message: 'vlan.id 20 -> 21 needs a replace' },
    ]);
  });
});

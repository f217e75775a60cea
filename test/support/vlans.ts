// VLAN ids on the one Neutron that all files of the `neutron` project share. Test files run in
// parallel workers, and two that drew the same VLAN of a physical network at random saw Neutron refuse
// the second ("The VLAN … is in use"). A file now reserves its VLANs here first: one directory per
// physical network and VLAN, made with mkdir (atomic across processes), under a directory the project's
// global setup makes for this run and removes at its end.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    vlanLockDir: string;
  }
}

function tryLock(dir: string, physnet: string, vlan: number): boolean {
  try {
    mkdirSync(join(dir, `${physnet}-${vlan}`));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Reserves `count` consecutive VLANs of `physnet` within [lo, hi] that no other test file of this run
 *  holds, starting at a random multiple of `count` from lo; returns the first. Throws when the range is full. */
export function reserveVlans(physnet: string, count: number, lo: number, hi: number, dir: string = inject('vlanLockDir')): number {
  if (!/^[a-z0-9]+$/.test(physnet) || count < 1 || hi - lo + 1 < count) throw new Error(`reserveVlans: bad request ${physnet} ${count} in ${lo}..${hi}`);
  const starts = Array.from({ length: Math.floor((hi - lo + 1) / count) }, (_, i) => lo + i * count);
  // Random order, so two runs of one file (a re-run in the same Neutron) rarely meet either.
  for (let i = starts.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [starts[i], starts[j]] = [starts[j]!, starts[i]!];
  }
  for (const start of starts) {
    const held: number[] = [];
    for (let v = start; v < start + count && tryLock(dir, physnet, v); v++) held.push(v);
    if (held.length === count) return start;
    for (const v of held) rmSync(join(dir, `${physnet}-${v}`), { recursive: true, force: true });
  }
  throw new Error(`reserveVlans: no ${count} free consecutive VLANs of ${physnet} in ${lo}..${hi}`);
}

/** A source of single VLANs of `physnet` within [lo, hi], each reserved on first use. */
export function vlanSource(physnet: string, lo: number, hi: number, dir?: string): () => number {
  return () => reserveVlans(physnet, 1, lo, hi, dir);
}

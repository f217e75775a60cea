// Giving memory back after a large pass (issue 15, ADR 29).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => unknown;
let gc: Gc | undefined;

/**
 * One full, compacting garbage collection that also returns V8's free and pooled pages to the system
 * (the "last resort" flavour: what V8 runs before it gives up on memory). After a pass that made or
 * changed thousands of objects, V8 keeps the heap it grew for that pass's garbage (about 60 MB over
 * the live heap at 60,000 objects) until its memory reducer happens to run; this gives it back at
 * once. A pause of about 100–200 ms at that size: called when a large pass has settled, not per edit.
 */
export function compactHeap(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
  }
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

// Making a directory read-only for a test, as root (where chmod stops nothing) or not.
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Makes `dir` read-only for this process and its children: a read-only bind mount of it onto itself as
 * root (chmod does not stop root), chmod 0555 otherwise. Returns the undo, or undefined when this
 * machine cannot (the directory stays writable).
 */
export function makeReadOnly(dir: string): (() => void) | undefined {
  let undo: () => void;
  if (process.getuid?.() === 0) {
    if (spawnSync('mount', ['--bind', '-o', 'ro', dir, dir]).status !== 0) return undefined;
    undo = () => void spawnSync('umount', [dir]);
  } else {
    chmodSync(dir, 0o555);
    undo = () => chmodSync(dir, 0o700);
  }
  try {
    writeFileSync(join(dir, '.rw-check'), ''); // still writable: this environment cannot do it
  } catch {
    return undo;
  }
  rmSync(join(dir, '.rw-check'), { force: true });
  undo();
  return undefined;
}

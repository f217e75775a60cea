/**
 * Crash-test helper: `node test/support/state-writer.ts <stateDir>`.
 *
 * Opens a StateDir and rewrites the same few records in a tight loop (all keys in parallel each
 * round) with growing payloads, until killed. After the first round it prints "ready"; after every
 * put() resolves it prints `ack <key> <seq>` (stdout to a pipe is synchronous on POSIX, so an
 * acknowledged line reaches the parent even if we are SIGKILLed right after).
 *
 * Each record is self-checking: `size` is the payload length and `sha256` its digest, so the test
 * can tell a complete record from a torn one.
 */
import { createHash } from 'node:crypto';
import { StateDir } from '../../src/adapters/files/state-dir.ts';

export const WRITER_KEYS = [
  'Network/net-a',
  'Network/net-b',
  'Network/net-c',
  'Subnet/tenant-a/sub-1',
  'Subnet/tenant-b/sub-1',
  'VnicAttachment/tenant-a/vm1-nic0',
  'VnicAttachment/tenant-a/vm1-nic1',
  'VnicAttachment/tenant-b/vm2-nic0',
] as const;

export function makeRecord(key: string, seq: number): Record<string, unknown> & { key: string } {
  // Grows 16 KiB per round, wrapping at 2 MiB so the loop keeps writing sizeable files (a large
  // write keeps a non-atomic writer's truncate-then-write window open long enough to be caught).
  const size = 64 + ((seq * 16 * 1024) % (2 * 1024 * 1024));
  const payload = String.fromCharCode(97 + (seq % 26)).repeat(size);
  return {
    key,
    seq,
    size,
    sha256: createHash('sha256').update(payload).digest('hex'),
    payload,
  };
}

async function main(dir: string): Promise<void> {
  const state = new StateDir(dir);
  await state.open();
  for (let seq = 0; ; seq++) {
    await Promise.all(
      WRITER_KEYS.map(async (key) => {
        await state.put(makeRecord(key, seq));
        process.stdout.write(`ack ${key} ${seq}\n`);
      }),
    );
    if (seq === 0) process.stdout.write('ready\n');
  }
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: state-writer.ts <stateDir>\n');
    process.exit(2);
  }
  main(dir).catch((err: unknown) => {
    process.stderr.write(`state-writer: ${String(err)}\n`);
    process.exit(1);
  });
}

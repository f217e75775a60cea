// Start the UCSM emulator from the command line, for manual use and benchmarks:
//
//   node test/ucsm-emulator/cli.ts [--port 0] [--host 127.0.0.1] [--user admin:password]…
//        [--refresh-period 600] [--idle-expiry 600] [--version '4.2(3d)'] [--delete-missing ok|error-102]
//        [--delay-ms 0]
//
// Prints the base URL (POST <url>/nuova) on stdout as its first line and runs
// until SIGINT/SIGTERM.

import { parseArgs } from 'node:util';
import { startEmulator } from './emulator.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    user: { type: 'string', multiple: true },
    'refresh-period': { type: 'string' },
    'idle-expiry': { type: 'string' },
    version: { type: 'string' },
    'delete-missing': { type: 'string' },
    'delay-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: node test/ucsm-emulator/cli.ts [--port N] [--host H] [--user NAME:PASSWORD]... [--refresh-period S]\n' +
      '       [--idle-expiry S] [--version V] [--delete-missing ok|error-102] [--delay-ms MS]\n',
  );
  process.exit(0);
}

const num = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`invalid ${what}: ${v}\n`);
    process.exit(2);
  }
  return n;
};

let users: Record<string, string> | undefined;
for (const u of values.user ?? []) {
  const i = u.indexOf(':');
  if (i <= 0) {
    process.stderr.write(`invalid --user ${u} (expected NAME:PASSWORD)\n`);
    process.exit(2);
  }
  (users ??= {})[u.slice(0, i)] = u.slice(i + 1);
}

const deleteMissing = values['delete-missing'];
if (deleteMissing !== undefined && deleteMissing !== 'ok' && deleteMissing !== 'error-102') {
  process.stderr.write(`invalid --delete-missing ${deleteMissing}\n`);
  process.exit(2);
}

const refreshPeriodS = num(values['refresh-period'], '--refresh-period');
const idleExpiryS = num(values['idle-expiry'], '--idle-expiry');
const emu = await startEmulator({
  port: num(values.port, '--port') ?? 0,
  host: values.host ?? '127.0.0.1',
  ...(users ? { users } : {}),
  ...(refreshPeriodS !== undefined ? { refreshPeriodS } : {}),
  ...(idleExpiryS !== undefined ? { idleExpiryS } : {}),
  ...(values.version ? { version: values.version } : {}),
  ...(deleteMissing ? { deleteMissing } : {}),
});
emu.faults.delayMs = num(values['delay-ms'], '--delay-ms') ?? 0;
process.stdout.write(`${emu.url}\n`);

const stop = (): void => {
  void emu.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

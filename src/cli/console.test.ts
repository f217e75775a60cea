// The console's wiring: --ui addresses, the token file, the vendor allow-list, refusing a public bind
// without a token, and a busy address (fatal when given, not when it is the default).
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleFeed } from '../console/feed.ts';
import { checkUi, DEFAULT_VENDOR, parseUi, readUiToken, startConsole, vendorPackages } from './console.ts';

const log = pino({ level: 'silent' });
const feed = () => new ConsoleFeed({ mode: 'file', source: () => undefined });
const dir = () => mkdtempSync(join(tmpdir(), 'netform-ui-'));
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('console wiring', () => {
  it('parses --ui', () => {
    expect(parseUi('off')).toBeUndefined();
    expect(parseUi('8642')).toEqual({ host: '127.0.0.1', port: 8642 });
    expect(parseUi(':9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseUi('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseUi('[::1]:8642')).toEqual({ host: '::1', port: 8642 });
    expect(() => parseUi('localhost')).toThrow(/--ui must be/);
    expect(() => parseUi('1.2.3.4:70000')).toThrow(/--ui must be/);
  });

  it('reads the token from a file only its owner may read', () => {
    const d = dir();
    const f = join(d, 'token');
    writeFileSync(f, 'abcdefghijklmnopqrstuvwxyz012345\n', { mode: 0o600 });
    expect(readUiToken(f)).toBe('abcdefghijklmnopqrstuvwxyz012345');
    chmodSync(f, 0o644);
    expect(() => readUiToken(f)).toThrow(/may be read by others \(mode 644\)/);
    const short = join(d, 'short');
    writeFileSync(short, 'abc\n', { mode: 0o600 });
    expect(() => readUiToken(short)).toThrow(/at least 16/);
    expect(() => readUiToken(join(d, 'missing'))).toThrow(/ENOENT/);
  });

  it('the vendor allow-list: console/vendor.json when the app has one, else the default', () => {
    const d = dir();
    expect(vendorPackages(d)).toEqual(DEFAULT_VENDOR);
    mkdirSync(join(d, 'console'));
    writeFileSync(join(d, 'console', 'vendor.json'), '["elkjs", "uplot"]');
    expect(vendorPackages(d)).toEqual(['elkjs', 'uplot']);
    writeFileSync(join(d, 'console', 'vendor.json'), '{"elkjs": 1}');
    expect(() => vendorPackages(d)).toThrow(/JSON array/);
  });

  it('refuses a non-loopback address without a token, with a clear error; starts with one', async () => {
    await expect(startConsole({ ui: '0.0.0.0:0', feed: feed(), log })).rejects.toThrow(/not a loopback address: give it a token \(--ui-token-file PATH\)/);
    expect(() => checkUi({ ui: '0.0.0.0:8642' })).toThrow(/not a loopback address: give it a token \(--ui-token-file PATH\)/);
    expect(() => checkUi({ ui: '[::]:8642' })).toThrow(/not a loopback address/);
    expect(() => checkUi({})).not.toThrow();
    expect(() => checkUi({ ui: 'off' })).not.toThrow();
    const f = join(dir(), 'token');
    writeFileSync(f, 'abcdefghijklmnopqrstuvwxyz012345\n', { mode: 0o600 });
    expect(() => checkUi({ ui: '0.0.0.0:8642', uiTokenFile: f })).not.toThrow();
    const s = await startConsole({ ui: '0.0.0.0:0', uiTokenFile: f, feed: feed(), log, approve: async () => ({ outcome: 'approved', message: '' }) });
    expect(s).toBeDefined();
    expect(s!.canApprove).toBe(true);
    closers.push(() => s!.close());
    expect(await startConsole({ ui: 'off', feed: feed(), log })).toBeUndefined();
  });

  it('a busy address fails the command when given; the default one, when busy, means no console', async () => {
    const blocker = await new Promise<Server>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve(srv));
    });
    closers.push(() => new Promise((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    await expect(startConsole({ ui: `127.0.0.1:${port}`, feed: feed(), log })).rejects.toThrow(/EADDRINUSE/);
    // The default address: taken by this test, or by another netform; either way no console, no error.
    const holder = await new Promise<Server | undefined>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(8642, '127.0.0.1', () => resolve(srv));
    });
    if (holder) closers.push(() => new Promise((r) => holder.close(() => r())));
    expect(await startConsole({ feed: feed(), log })).toBeUndefined();
  });
});

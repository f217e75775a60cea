// Wiring of the console (`--ui [host:]port`, `--ui-token-file PATH`) for `run` and `controller`: the
// address, the token (read from a file only it may read; never from the command line, never logged),
// which node_modules packages the browser app may load, and the server started on the feed.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConsoleServer, isLoopback, type ApproveFn } from '../adapters/http/console.ts';
import type { ConsoleFeed } from '../console/feed.ts';

export const DEFAULT_UI = '127.0.0.1:8642';

/** The checkout: console/ and node_modules/ are below it. */
export const CONSOLE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The packages /vendor/ serves when there is no console/vendor.json (the browser app's own list, a
 *  JSON array of package names): none — without the app's list there is no app to serve them to. */
export const DEFAULT_VENDOR: readonly string[] = [];

/** `off`, `[host:]port` (host default 127.0.0.1), `[v6addr]:port`. */
export function parseUi(s: string): { host: string; port: number } | undefined {
  if (s === 'off') return undefined;
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`--ui must be [host:]port or off, not "${s}"`);
  let host = m[1] ?? '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host || '127.0.0.1', port };
}

/** The token from its file: the first line, trimmed. A file others may read is refused, as a
 *  credentials file is. */
export function readUiToken(path: string): string {
  const st = statSync(path);
  if (!st.isFile()) throw new Error(`--ui-token-file ${path} is not a file`);
  if ((st.mode & 0o077) !== 0) throw new Error(`--ui-token-file ${path} may be read by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
  const token = readFileSync(path, 'utf8').split('\n')[0]!.trim();
  if (token.length < 16) throw new Error(`--ui-token-file ${path}: the token must be at least 16 characters`);
  return token;
}

/** Checks the flags before anything is opened: the address, the token file, and no address beyond
 *  loopback without a token. */
export function checkUi(o: UiFlags): void {
  const addr = parseUi(o.ui ?? DEFAULT_UI);
  if (o.uiTokenFile) readUiToken(o.uiTokenFile);
  if (addr && !isLoopback(addr.host) && !o.uiTokenFile) {
    throw new Error(`--ui ${o.ui}: the console would listen on ${addr.host}, which is not a loopback address: give it a token (--ui-token-file PATH), or bind it to 127.0.0.1`);
  }
}

export function vendorPackages(root = CONSOLE_ROOT): string[] {
  const f = join(root, 'console', 'vendor.json');
  if (!existsSync(f)) return [...DEFAULT_VENDOR];
  const list = JSON.parse(readFileSync(f, 'utf8')) as unknown;
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) throw new Error(`${f} must be a JSON array of package names`);
  return list as string[];
}

export interface UiFlags {
  ui?: string;
  uiTokenFile?: string;
}

/**
 * Starts the console when `--ui` is not `off`, and logs its URL. An address given explicitly that
 * cannot be bound fails the command; the default one, when busy (another netform), only warns.
 */
export async function startConsole(o: UiFlags & { feed: ConsoleFeed; approve?: ApproveFn; log: Logger; root?: string }): Promise<ConsoleServer | undefined> {
  // `ui` undefined: the default address, which another netform may hold (then this one runs without).
  const addr = parseUi(o.ui ?? DEFAULT_UI);
  if (!addr) return undefined;
  const token = o.uiTokenFile ? readUiToken(o.uiTokenFile) : undefined;
  const root = o.root ?? CONSOLE_ROOT;
  const server = new ConsoleServer({
    source: o.feed,
    root,
    vendor: vendorPackages(root),
    log: o.log,
    ...(token ? { token, approve: o.approve } : {}),
  });
  try {
    const { url } = await server.listen(addr.host, addr.port);
    o.log.info({ url, auth: token ? 'bearer token' : 'none (loopback, read-only)', approve: server.canApprove }, `console at ${url}`);
    return server;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (o.ui === undefined && (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL')) {
      // Not a warning: the console is optional, and tests run many netforms side by side.
      o.log.info({ address: DEFAULT_UI, err: (err as Error).message }, 'console not started: its default address is taken (give --ui [host:]port, or --ui off)');
      return undefined;
    }
    throw err;
  }
}

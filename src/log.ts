// The root pino logger. Secrets are redacted by path wherever they might appear; JSON lines on
// stderr, or pretty lines when stderr is a terminal.
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';

/** Field names whose values are never logged, at any depth pino-redact reaches. */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'credentials',
  'authorization',
  'applicationCredentialSecret',
  'cookie',
  'outCookie',
  'inPassword',
  '*.password',
  '*.token',
  '*.secret',
  '*.credentials',
  '*.authorization',
  '*.Authorization',
  '*.applicationCredentialSecret',
  '*.cookie',
  '*.outCookie',
  '*.inPassword',
  '*["x-auth-token"]',
  '*["X-Auth-Token"]',
  '*.*.password',
  '*.*.token',
  '*.*.secret',
  '*.*.credentials',
  '*.*.applicationCredentialSecret',
  '*.*["x-auth-token"]',
  '*.*["X-Auth-Token"]',
];

export interface LogOptions {
  level?: LevelWithSilent;
  /** Human-readable output (default: when stderr is a TTY). */
  pretty?: boolean;
  /** Where to write (default stderr). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const base = {
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    base: undefined,
  };
  const usePretty = opts.pretty ?? (process.stderr.isTTY === true && !opts.destination);
  if (usePretty) {
    // Loaded only for a terminal: a service's JSON logs never load pino-pretty.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino(base, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
  }
  return pino(base, (opts.destination ?? pino.destination({ dest: 2, sync: true })) as pino.DestinationStream);
}

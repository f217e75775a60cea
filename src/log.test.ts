import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let buf = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      buf += String(chunk);
      cb();
    },
  });
  return { stream, lines: () => buf.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it.each([
    ['top-level password', { password: 'hunter2' }],
    ['nested credentials', { provider: { credentials: { username: 'u', password: 'hunter2' } } }],
    ['a token in a config', { config: { token: 'hunter2' } }],
    ['an auth header', { headers: { 'X-Auth-Token': 'hunter2' } }],
    ['an application credential secret', { req: { auth: { applicationCredentialSecret: 'hunter2' } } }],
    ['a UCSM cookie', { session: { outCookie: 'hunter2' } }],
  ])('redacts %s', (_name, fields) => {
    const c = capture();
    createLogger({ destination: c.stream, pretty: false }).info(fields, 'msg');
    const text = JSON.stringify(c.lines());
    expect(text).not.toContain('hunter2');
    expect(text).toContain('[REDACTED]');
  });

  it('keeps ordinary fields', () => {
    const c = capture();
    createLogger({ destination: c.stream, pretty: false }).info({ object: 'Network/web', vlan: 101 }, 'reconciled');
    expect(c.lines()[0]).toMatchObject({ object: 'Network/web', vlan: 101, msg: 'reconciled' });
  });
});

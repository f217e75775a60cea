// A Provider whose credentials the backend refuses says CredentialsError (what the user must fix),
// not BackendRejected: Keystone's 401 on POST /v3/auth/tokens, UCS Manager's aaaLogin fault 551.
// Through the engine with the production drivers, against a loopback Keystone stand-in and the UCSM
// emulator (test/ucsm-emulator).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type UcsmEmulator } from '../../../test/ucsm-emulator/emulator.ts';
import { BackendError, terminal } from '../../api/errors.ts';
import { builtinDrivers } from '../../drivers/registry.ts';
import { admit } from '../../state/admit.ts';
import { MemoryRecords } from '../../state/records.ts';
import { Engine } from '../runtime/engine.ts';
import { FileCredentialSource } from '../../adapters/files/credentials.ts';
import { credentialsRefused } from './provider.kind.ts';
import { KIND_DEFINITIONS } from '../index.ts';

const dir = mkdtempSync(join(tmpdir(), 'netform-provider-creds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function synced(provider: string, credentials: string): Promise<{ status: string; reason?: string; message?: string }> {
  const creds = join(dir, `${Math.random().toString(36).slice(2)}-creds.yaml`);
  writeFileSync(creds, credentials, { mode: 0o600 });
  const records = new MemoryRecords();
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry: builtinDrivers(), credentials: new FileCredentialSource(), log: pino({ level: 'silent' }), resyncMs: 60_000, waitMs: 200 });
  stops.push(() => e.stop());
  e.sync(admit([{ path: 'p.yaml', text: provider.replace('CREDS', creds) }]));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const c = records.get('Provider/p')?.status.conditions?.find((x) => x.type === 'Synced');
    if (c && c.status !== 'Unknown' && c.reason !== 'ReconcileError') return c;
    if (Date.now() > deadline) throw new Error(`no verdict: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A Keystone stand-in answering every token request with `status`. */
async function keystone(status: number): Promise<string> {
  const srv: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: status, title: status === 401 ? 'Unauthorized' : 'Bad Request', message: 'nope' } }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  stops.push(() => new Promise((r) => srv.close(r)));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v3`;
}

const neutronProvider = (authUrl: string) => `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: p}
spec:
  type: neutron
  endpoint: "http://127.0.0.1:9"
  credentials: {file: CREDS}
  neutron: {auth: keystone, authUrl: "${authUrl}"}`;

const ucsmProvider = (e: UcsmEmulator) => `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: p}
spec:
  type: ucsm
  endpoint: "${e.url}"
  credentials: {file: CREDS}`;

describe('refused credentials', () => {
  it('Keystone 401 on auth: Synced False CredentialsError (it was BackendRejected)', async () => {
    const c = await synced(neutronProvider(await keystone(401)), 'username: netform\npassword: wrong-password-1\nprojectName: p\n');
    expect(c).toMatchObject({ status: 'False', reason: 'CredentialsError', message: expect.stringContaining('Keystone refused the credentials (HTTP 401)') });
  });

  it('Keystone 400 on auth is still the backend refusing the request: BackendRejected', async () => {
    const c = await synced(neutronProvider(await keystone(400)), 'username: netform\npassword: wrong-password-1\nprojectName: p\n');
    expect(c).toMatchObject({ status: 'False', reason: 'BackendRejected', message: 'Keystone answered HTTP 400' });
  });

  it('UCSM aaaLogin 551: Synced False CredentialsError; the right password makes it Ready', async () => {
    const emu = await startEmulator({ users: { admin: 'right-password-1' } });
    stops.push(() => emu.close());
    const c = await synced(ucsmProvider(emu), 'username: admin\npassword: wrong-password-1\n');
    expect(c).toMatchObject({ status: 'False', reason: 'CredentialsError', message: expect.stringContaining('UCSM refused the credentials (551 Authentication failed)') });
    expect(await synced(ucsmProvider(emu), 'username: admin\npassword: right-password-1\n')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
  });

  it('credentialsRefused: only Terminal errors with the refused-credentials codes', () => {
    expect(credentialsRefused(terminal('Keystone refused the credentials (HTTP 401)', 'Unauthorized'))).toBe(true);
    expect(credentialsRefused(new BackendError('Terminal', 'UCSM refused the credentials', { code: '551' }))).toBe(true);
    expect(credentialsRefused(new BackendError('Transient', 'x', { code: '551' }))).toBe(false);
    expect(credentialsRefused(terminal('VLAN in use', 'VlanIdInUse'))).toBe(false);
    expect(credentialsRefused(terminal('GET /v2.0/networks: HTTP 401', 'HTTP401'))).toBe(false);
    expect(credentialsRefused(new Error('Unauthorized'))).toBe(false);
  });
});

// netform against a real Neutron behind a real Keystone (Debian's keystone 22 and neutron 21, both on
// loopback: test/harness/keystone.ts, neutron.sh with NEUTRON_AUTH=keystone). Keystone issues 1 h
// tokens; for the expiry test a second front end on the same database and keys issues 20 s tokens
// (keystonemiddleware would log in before every request if all tokens were that short). netform
// reaches Keystone through a counting proxy, so every token request it makes is seen; Neutron's
// keystonemiddleware talks to Keystone directly.
// Checks of what exists read Neutron with an admin token, never through netform.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../src/api/errors.ts';
import { Engine } from '../../src/controllers/runtime/engine.ts';
import { FileCredentialSource } from '../../src/adapters/files/credentials.ts';
import type { Credentials } from '../../src/drivers/driver.ts';
import { NeutronClient } from '../../src/drivers/neutron/client.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { admit } from '../../src/state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../../src/state/records.ts';
import { countingProxy, startKeystone, type CountingProxy, type PasswordLogin, type RunningKeystone } from '../harness/keystone.ts';
import { startNeutron, type RunningNeutron } from '../harness/neutron-server.ts';
import { waitFor } from '../support/cli.ts';
import { artifactLogger, canary, registerSecret, writeArtifact } from '../support/secrets.ts';
import { KIND_DEFINITIONS } from '../../src/controllers/index.ts';

const TOKEN_SECONDS = 20;
/** netform's password: a random canary, so that finding it anywhere means it leaked from this run (the
 *  run's secrets scan looks for it in everything captured: test/support/secrets.ts). */
const SECRET = canary('keystone-netform');
const SERVICE_PASSWORD = canary('keystone-neutron-service');

let ks: RunningKeystone;
let neutron: RunningNeutron;
let netform: { userId: string; projectId: string; login: PasswordLogin };
let work: string;
/** The front end issuing TOKEN_SECONDS tokens. */
let shortTokens: { url: string };

beforeAll(async () => {
  let t0 = Date.now();
  ks = await startKeystone();
  registerSecret(ks.admin.password, 'keystone-admin');
  const ksSeconds = (Date.now() - t0) / 1000;
  // keystonemiddleware's service user, and netform's user: admin, because provider:* attributes are admin-only.
  await ks.createUser({ name: 'neutron', password: SERVICE_PASSWORD, project: 'service', role: 'admin' });
  netform = await ks.createUser({ name: 'netform', password: SECRET, project: 'netform', role: 'admin' });
  t0 = Date.now();
  neutron = await startNeutron({ keystone: { url: ks.url, servicePassword: SERVICE_PASSWORD } });
  const neutronSeconds = (Date.now() - t0) / 1000;
  t0 = Date.now();
  shortTokens = await ks.frontend(TOKEN_SECONDS);
  process.stderr.write(
    `[keystone] Keystone on ${ks.url} (ready in ${ksSeconds.toFixed(1)} s), Neutron behind it on ${neutron.url} (ready in ${neutronSeconds.toFixed(1)} s), ` +
      `${TOKEN_SECONDS} s tokens from ${shortTokens.url} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
  );
  work = mkdtempSync(join(tmpdir(), 'netform-keystone-test-'));
});

afterAll(async () => {
  await neutron?.stop();
  await ks?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---- helpers --------------------------------------------------------------------------------------

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function proxy(target = ks.url): Promise<CountingProxy> {
  const p = await countingProxy(target);
  cleanups.push(() => p.close());
  return p;
}

/** Neutron as the Keystone admin, bypassing netform. */
async function admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const { token } = await ks.token();
  const res = await fetch(neutron.url + path, {
    method,
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

interface RawNetwork {
  id: string;
  name: string;
  project_id: string;
  tags: string[];
  subnets: string[];
  'provider:segmentation_id': number;
}
const networksNamed = async (name: string) => (await admin<{ networks: RawNetwork[] }>('GET', `/v2.0/networks?name=${encodeURIComponent(name)}`)).body.networks;

/** A pino logger writing everything (trace, no redaction) to a file the test reads back, in the run's
 *  artifacts directory (scanned for every registered secret at the end of the run). */
function capturedLog(name: string): { log: Logger; text: () => string } {
  return artifactLogger(`keystone-${name}`, { level: 'trace' });
}

function client(authUrl: string, credentials: Credentials, log: Logger = pino({ level: 'silent' })): NeutronClient {
  const c = new NeutronClient({ endpoint: neutron.url, auth: { kind: 'keystone', authUrl, credentials }, tls: { insecureSkipVerify: false }, timeoutMs: 30_000, maxConcurrency: 4, log });
  cleanups.push(() => c.close());
  return c;
}

const neutronLog = () => readFileSync(join(neutron.dir, 'log', 'neutron-server.log'), 'utf8');
const count401 = () => (neutronLog().match(/"GET \/v2\.0\/networks[^"]*" status: 401/g) ?? []).length;

function engine(log: Logger): { e: Engine; records: MemoryRecords } {
  const records = new MemoryRecords();
  const registry = new DriverRegistry().register('neutron', (c, d) => new NeutronDriver(c, d.log, { snapshotTtlMs: 100 }));
  const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry, credentials: new FileCredentialSource(), log, resyncMs: 60_000, waitMs: 200 });
  cleanups.push(() => e.stop());
  return { e, records };
}

/** A Provider through Keystone (credentials in a 0600 file) and, optionally, a network on it. */
function manifests(name: string, authUrl: string, credentials: Record<string, string>, network?: { name: string; vlan: number; cidr: string }): Record<string, string> {
  const creds = join(work, `${name}-credentials.yaml`);
  writeFileSync(creds, JSON.stringify(credentials), { mode: 0o600 });
  const docs: Record<string, string> = {
    'p.yaml': `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: ${name}}
spec:
  type: neutron
  endpoint: "${neutron.url}"
  credentials: {file: "${creds}"}
  neutron: {auth: keystone, authUrl: "${authUrl}"}`,
  };
  if (network) {
    docs['n.yaml'] = `apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: ${network.name}}
spec:
  physicalNetwork: physnet1
  vlan: {id: ${network.vlan}}
  subnets: [{name: a, cidr: ${network.cidr}}]
  providerRefs: [{name: ${name}}]`;
  }
  return docs;
}

const load = (e: Engine, docs: Record<string, string>) => e.sync(admit(Object.entries(docs).map(([path, text]) => ({ path, text }))));
const ready = (e: Engine, key: string) => e.states().find((s) => s.key === key)?.state === 'ready';
const cond = (r: ObjectRecord | undefined, type: string) => r?.status.conditions?.find((c) => c.type === type);

/** Converges one network through the engine, checks it in Neutron as the admin, deletes it. */
async function convergeAndDelete(provider: string, credentials: Record<string, string>, vlan: number, cidr: string) {
  const p = await proxy();
  const cap = capturedLog(provider);
  const { e, records } = engine(cap.log);
  const name = `ks-${provider}`;
  load(e, manifests(provider, p.url, credentials, { name, vlan, cidr }));
  await waitFor('the network to be Ready', () => ready(e, `Network/${name}`), 90_000);
  const [net, ...more] = await networksNamed(name);
  expect(more).toEqual([]);
  expect(net).toMatchObject({ 'provider:segmentation_id': vlan, project_id: netform.projectId }); // created as netform's user, in its project
  expect(net!.tags).toEqual(expect.arrayContaining(['netform', 'nf-inst:netform']));
  expect(net!.subnets).toHaveLength(1);
  expect(cond(records.get(`Provider/${provider}`), 'Ready')?.status).toBe('True');

  load(e, manifests(provider, p.url, credentials));
  await waitFor('the network to go', () => !records.get(`Network/${name}`), 90_000);
  expect(await networksNamed(name)).toEqual([]);
  // All of it on one token (they last an hour).
  expect(p.tokenRequests.map((t) => t.status)).toEqual([201]);
  writeArtifact('status', `keystone-${provider}.json`, JSON.stringify(records.list(), null, 1));
  return { log: cap.text(), records, tokenRequests: p.tokenRequests };
}

// ---- tests ----------------------------------------------------------------------------------------

describe('Neutron behind a real Keystone', () => {
  it('refuses a request without a token (the harness is not noauth)', async () => {
    const res = await fetch(`${neutron.url}/v2.0/networks`);
    expect(res.status).toBe(401);
    await res.text();
  });

  it('password: the engine with the real driver converges a network and deletes it; the password is in no log or status', async () => {
    const out = await convergeAndDelete('pw', { username: 'netform', password: SECRET, projectName: 'netform' }, 2201, '192.0.2.0/24');
    expect(out.log).toContain('neutron call'); // the trace log did capture the client's calls
    expect(out.log).not.toContain(SECRET);
    expect(JSON.stringify(out.records.list())).not.toContain(SECRET);
  });

  it('application credential (id + secret): the same convergence, on the project the credential belongs to', async () => {
    const ac = await ks.createApplicationCredential(netform.login, `netform-${randomBytes(3).toString('hex')}`);
    registerSecret(ac.secret, 'keystone-app-credential');
    const out = await convergeAndDelete('ac', { applicationCredentialId: ac.id, applicationCredentialSecret: ac.secret }, 2202, '198.51.100.0/24');
    expect(out.log).not.toContain(ac.secret);
    expect(JSON.stringify(out.records.list())).not.toContain(ac.secret);
  });

  it(`token expiry: with ${TOKEN_SECONDS} s tokens, a client working for longer renews each one before it expires, not per request`, async () => {
    const p = await proxy(shortTokens.url);
    const c = client(p.url, { username: 'netform', password: SECRET, projectName: 'netform' });
    const t0 = Date.now();
    let requests = 0;
    while (Date.now() - t0 < (TOKEN_SECONDS + 7) * 1000) {
      await c.request('GET', '/v2.0/networks', { query: { name: 'nothing-here' } });
      requests++;
      await new Promise((r) => setTimeout(r, 500));
    }
    const elapsed = Date.now() - t0;
    // Renewed in the last quarter of each token's life (about 15 s in) — not once per request, which
    // is what a fixed 60 s renewal margin did with 20 s tokens. (Keystone's times are whole seconds.)
    expect(requests).toBeGreaterThan(10);
    expect(p.tokenRequests.length).toBeGreaterThanOrEqual(2);
    expect(p.tokenRequests.every((t) => t.status === 201)).toBe(true);
    const renewEvery = (TOKEN_SECONDS * 1000 * 3) / 4;
    expect(p.tokenRequests.length).toBeLessThanOrEqual(Math.floor(elapsed / (renewEvery - 1500)) + 1);
    for (let i = 1; i < p.tokenRequests.length; i++) {
      const gap = p.tokenRequests[i]!.at - p.tokenRequests[i - 1]!.at;
      expect(gap).toBeGreaterThan(renewEvery - 1500);
      expect(gap).toBeLessThan(TOKEN_SECONDS * 1000);
    }
    const [first, second] = p.tokenRequests;
    // The first token is really dead now (Neutron's Keystone refuses it), and the client kept working past its end.
    expect(await ks.validateToken(first!.token!)).toBe(404);
    expect(await ks.validateToken(second!.token!)).toBe(200);
    expect(Date.now() - first!.at).toBeGreaterThan(TOKEN_SECONDS * 1000);
    expect(c.calls.GET).toBe(requests);
  });

  it('a token revoked mid-run: the next request gets a 401, re-authenticates once and succeeds', async () => {
    const p = await proxy();
    const c = client(p.url, { username: 'netform', password: SECRET, projectName: 'netform' });
    await c.request('GET', '/v2.0/networks', { query: { name: 'nothing-here' } });
    expect(p.tokenRequests).toHaveLength(1);
    const revoked = p.tokenRequests[0]!.token!;
    await ks.revokeToken(revoked);
    expect(await ks.validateToken(revoked)).toBe(404);

    const before = count401();
    await expect(c.request('GET', '/v2.0/networks', { query: { name: 'nothing-here' } })).resolves.toEqual({ networks: [] });
    expect(p.tokenRequests.map((t) => t.status)).toEqual([201, 201]);
    expect(p.tokenRequests[1]!.token).not.toBe(revoked);
    await waitFor('Neutron to log the 401', () => count401() === before + 1, 5_000); // exactly one refused request
    expect(c.calls.GET).toBe(3); // the first, the refused one, its retry

    await c.request('GET', '/v2.0/networks', { query: { name: 'nothing-here' } });
    expect(p.tokenRequests).toHaveLength(2); // the new token is kept
  });

  it('a wrong password: a clear credentials error, one Keystone request per attempt, no retry storm, the password nowhere', async () => {
    const wrong = canary('keystone-wrong');
    const p = await proxy();
    const cap = capturedLog('wrong-client');
    const c = client(p.url, { username: 'netform', password: wrong, projectName: 'netform' }, cap.log);
    const errors: BackendError[] = [];
    for (let i = 0; i < 3; i++) {
      const err = await c.request('GET', '/v2.0/networks').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BackendError);
      errors.push(err as BackendError);
    }
    for (const e of errors) {
      expect(e).toMatchObject({ errorClass: 'Terminal', code: 'Unauthorized', message: 'Keystone refused the credentials (HTTP 401)' });
    }
    expect(p.tokenRequests.map((t) => t.status)).toEqual([401, 401, 401]); // one per attempt, no retry inside the client
    expect(c.calls.GET).toBe(0); // Neutron never called without a token

    // The engine: the Provider reports it and stalls; Keystone is not hammered meanwhile.
    const ep = await proxy();
    const ecap = capturedLog('wrong-engine');
    const { e, records } = engine(ecap.log);
    load(e, manifests('wrong', ep.url, { username: 'netform', password: wrong, projectName: 'netform' }, { name: 'ks-wrong', vlan: 2203, cidr: '203.0.113.0/24' }));
    const synced = await waitFor('the Provider to report the refusal', () => {
      const s = cond(records.get('Provider/wrong'), 'Synced');
      return s?.status === 'False' ? s : undefined;
    }, 30_000);
    // Refused credentials are for the user to fix: CredentialsError, not BackendRejected.
    expect(synced).toMatchObject({ reason: 'CredentialsError', message: expect.stringContaining('Keystone refused the credentials (HTTP 401)') });
    expect(cond(records.get('Provider/wrong'), 'Stalled')?.status).toBe('True');
    await new Promise((r) => setTimeout(r, 8_000));
    expect(ep.tokenRequests.length).toBeGreaterThanOrEqual(1);
    expect(ep.tokenRequests.length).toBeLessThanOrEqual(2); // the probe (and at most one more), then quiet until the resync
    expect(ep.tokenRequests.every((t) => t.status === 401)).toBe(true);
    expect(ready(e, 'Network/ks-wrong')).toBe(false);
    expect(await networksNamed('ks-wrong')).toEqual([]);

    const everything = [
      cap.text(),
      ecap.text(),
      JSON.stringify(records.list()),
      JSON.stringify(e.states()),
      ...errors.map((x) => inspect(x, { depth: 10 })),
      ...errors.map((x) => JSON.stringify(x)),
      ks.log(),
      neutronLog(),
    ];
    writeArtifact('status', 'keystone-wrong.json', JSON.stringify({ records: records.list(), states: e.states(), errors: errors.map((x) => inspect(x, { depth: 10 })) }, null, 1));
    for (const text of everything) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(SECRET);
    }
  });
});

// The UCSM client against the emulator (test/ucsm-emulator): login and cookie reuse, bad credentials,
// a new login on 552, refresh before the refresh period ends (old cookie dead), configConfMos and its
// error codes, network faults, logout, counters.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorOptions, type UcsmEmulator } from '../../../test/ucsm-emulator/emulator.ts';
import { BackendError } from '../../api/errors.ts';
import { classifyUcsm, UcsmClient, type UcsmClientOptions } from './client.ts';
import { names, profileMo, vlanMo, type UcsmOptions } from './mapping.ts';
import { faultOf, parseXml } from './xml.ts';

const PASSWORD = 'Pa55-w0rd&<secret>';
const T0 = Date.UTC(2031, 4, 6, 7, 8, 9);

interface Env {
  emu: UcsmEmulator;
  clock: { now: number };
  logs: string[];
  client(over?: Partial<UcsmClientOptions>): UcsmClient;
}

const emulators: UcsmEmulator[] = [];
const clients: UcsmClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(emulators.splice(0).map((e) => e.close()));
});

/** An emulator and clients that share one clock (milliseconds), moved by the test. */
async function env(opts: EmulatorOptions = {}): Promise<Env> {
  const clock = { now: T0 };
  const emu = await startEmulator({ users: { admin: PASSWORD }, now: () => clock.now, ...opts });
  emulators.push(emu);
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logs.push(s) });
  return {
    emu,
    clock,
    logs,
    client(over = {}) {
      const c = new UcsmClient({
        endpoint: emu.url,
        username: 'admin',
        password: PASSWORD,
        tls: { insecureSkipVerify: false },
        timeoutMs: 5_000,
        log,
        now: () => clock.now,
        ...over,
      });
      clients.push(c);
      return c;
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BackendError);
    return e as BackendError;
  }
  throw new Error('expected a rejection');
}

/** Posts a raw configResolveDn with the given cookie; the answer's fault, if any. */
async function rawResolve(emu: UcsmEmulator, cookie: string) {
  return faultOf(parseXml(await emu.post(`<configResolveDn cookie="${cookie}" dn="sys" inHierarchical="false" />`)));
}

const o: UcsmOptions = { vlanNamePrefix: 'nf-', portProfilePrefix: 'nf-pp-', hosts: [], vnics: ['eth0', 'eth1'], maxPorts: 64 };
const owner = { instance: 'lab', kind: 'Network' as const, name: 'app' };

describe('classifyUcsm', () => {
  it.each([
    ['102', 'NotFound'],
    ['103', 'Conflict'],
    ['552', 'Transient'],
    ['551', 'Terminal'],
    ['105', 'Terminal'],
    ['150', 'Terminal'],
    ['555', 'Terminal'],
    ['ERR-xml-parse-error', 'Terminal'],
  ])('%s → %s', (code, cls) => {
    expect(classifyUcsm(code)).toBe(cls);
  });
});

describe('session', () => {
  it('logs in once and reuses the cookie', async () => {
    const { emu, client } = await env();
    const c = client();
    const sys = await c.resolveDn('sys', false);
    expect(sys).toEqual({ classId: 'topSystem', attrs: expect.objectContaining({ dn: 'sys', name: 'ucsm-emulator', address: '127.0.0.1' }), children: [] });
    const switches = await c.resolveClass('networkElement', undefined, false);
    expect(switches.map((m) => m.attrs.dn)).toEqual(['sys/switch-A', 'sys/switch-B']);
    expect(await c.resolveDn('sys/nothing-here', false)).toBeUndefined();
    expect(emu.counts).toEqual({ aaaLogin: 1, configResolveDn: 2, configResolveClass: 1 });
    expect(c.cookie).toMatch(new RegExp(`^${Math.floor(T0 / 1000)}/[0-9a-f-]{36}$`));
    expect(emu.sessions()).toEqual([c.cookie]);
    expect(c.version).toBe('4.2(3d)');
  });

  it('concurrent first calls share one login', async () => {
    const { emu, client } = await env();
    const c = client();
    const got = await Promise.all([1, 2, 3, 4, 5].map(() => c.resolveDn('sys', false)));
    expect(got.map((m) => m?.attrs.dn)).toEqual(['sys', 'sys', 'sys', 'sys', 'sys']);
    expect(emu.counts).toEqual({ aaaLogin: 1, configResolveDn: 5 });
  });

  it('a wrong password is Terminal 551 and the password appears in no error or log', async () => {
    const wrong = 'Wr0ng-&-Secret!';
    const { emu, client, logs } = await env();
    const c = client({ password: wrong });
    for (let i = 1; i <= 2; i++) {
      const e = await rejection(c.resolveDn('sys', false));
      expect(e.errorClass).toBe('Terminal');
      expect(e.code).toBe('551');
      expect(e.message).toBe('UCSM refused the credentials (551 Authentication failed)');
      for (const text of [e.message, e.stack ?? '', inspect(e, { depth: 5 }), JSON.stringify(e), ...logs]) {
        expect(text).not.toContain(wrong);
        expect(text).not.toContain(PASSWORD);
      }
      expect(emu.counts).toEqual({ aaaLogin: i }); // each call tries again; no method sent without a session
    }
    expect(c.cookie).toBeUndefined();
    expect(emu.sessions()).toEqual([]);
  });

  it('a 552 after the sessions expired gets one new login and the call succeeds', async () => {
    const { emu, client } = await env();
    const c = client();
    await c.resolveDn('sys', false);
    const old = c.cookie!;
    emu.faults.expireAllSessions();
    const sys = await c.resolveDn('sys', false);
    expect(sys?.attrs.dn).toBe('sys');
    expect(emu.counts).toEqual({ aaaLogin: 2, configResolveDn: 3 }); // first, the 552, the retry
    expect(c.cookie).not.toBe(old);
    expect(emu.sessions()).toEqual([c.cookie]);
  });

  it('concurrent calls hitting 552 share the one new login', async () => {
    const { emu, client } = await env();
    const c = client();
    await c.resolveDn('sys', false);
    emu.faults.expireAllSessions();
    const got = await Promise.all([1, 2, 3, 4].map(() => c.resolveDn('sys', false)));
    expect(got.map((m) => m?.attrs.dn)).toEqual(['sys', 'sys', 'sys', 'sys']);
    expect(emu.counts.aaaLogin).toBe(2);
    expect(emu.sessions()).toEqual([c.cookie]);
  });

  it('a 552 that persists after the new login is Transient with code 552', async () => {
    const { emu, client } = await env();
    const c = client();
    await c.resolveDn('sys', false);
    emu.faults.failEvery(1, { code: '552', descr: 'Authorization required', invocationResult: 'service-unavailable' });
    const e = await rejection(c.confMos([vlanMo(names(o, 'app'), 100, 'created')]));
    expect(e.errorClass).toBe('Transient');
    expect(e.code).toBe('552');
    expect(e.message).toBe('configConfMos: UCSM error 552: Authorization required');
    expect(emu.counts).toEqual({ aaaLogin: 2, configResolveDn: 1, configConfMos: 2 });
    expect(emu.get('fabric/lan/net-nf-app')).toBeUndefined();
  });

  it.each([
    { periodS: 600, quietS: 539, dueS: 541 },
    { periodS: 300, quietS: 239, dueS: 241 },
    { periodS: 120, quietS: 59, dueS: 61 }, // the floor of 60 s
    { periodS: 90, quietS: 59, dueS: 61 },
  ])('refresh period $periodS s: no refresh at $quietS s, aaaRefresh at $dueS s; the old cookie is dead', async ({ periodS, quietS, dueS }) => {
    const { emu, client, clock } = await env({ refreshPeriodS: periodS, idleExpiryS: 3600 });
    const c = client();
    await c.resolveDn('sys', false);
    const first = c.cookie!;

    clock.now = T0 + quietS * 1000;
    await c.resolveDn('sys', false);
    expect(emu.counts.aaaRefresh).toBeUndefined();
    expect(c.cookie).toBe(first);

    clock.now = T0 + dueS * 1000;
    const sys = await c.resolveDn('sys', false);
    expect(sys?.attrs.dn).toBe('sys');
    expect(emu.counts).toEqual({ aaaLogin: 1, aaaRefresh: 1, configResolveDn: 3 });
    const second = c.cookie!;
    expect(second).not.toBe(first);
    expect(second.split('/')[0]).toBe(String(Math.floor((T0 + dueS * 1000) / 1000)));
    expect(emu.sessions()).toEqual([second]);
    expect(await rawResolve(emu, first)).toEqual({ code: '552', descr: 'Authorization required', invocationResult: 'service-unavailable' });
    expect(await rawResolve(emu, second)).toBeUndefined();

    // The new cookie's period starts at the refresh.
    clock.now = T0 + (dueS + quietS) * 1000;
    await c.resolveDn('sys', false);
    expect(emu.counts.aaaRefresh).toBe(1);
    clock.now = T0 + (dueS + dueS) * 1000;
    await c.resolveDn('sys', false);
    expect(emu.counts.aaaRefresh).toBe(2);
    expect(emu.counts.aaaLogin).toBe(1);
    expect(c.cookie).not.toBe(second);
  });

  it('a refresh refused (session gone) falls back to a new login', async () => {
    const { emu, client, clock } = await env();
    const c = client();
    await c.resolveDn('sys', false);
    const first = c.cookie!;
    emu.faults.expireAllSessions();
    clock.now = T0 + 541_000;
    expect((await c.resolveDn('sys', false))?.attrs.dn).toBe('sys');
    expect(emu.counts).toEqual({ aaaLogin: 2, aaaRefresh: 1, configResolveDn: 2 });
    expect(c.cookie).not.toBe(first);
    expect(emu.sessions()).toEqual([c.cookie]);
  });
});

describe('configConfMos', () => {
  const n = names(o, 'app');

  it('returns the MOs as UCSM holds them, with status', async () => {
    const { emu, client } = await env();
    const c = client();
    const back = await c.confMos([vlanMo(n, 100, 'created'), profileMo(n, owner, o, { name: 'app', physicalNetwork: 'p', vlan: 100, mtu: 1500, shared: false, adminStateUp: true, portSecurity: true, portMirroring: false, subnets: [] }, 'created')]);
    expect(back.map((m) => [m.classId, m.attrs.dn, m.attrs.status])).toEqual([
      ['fabricVlan', 'fabric/lan/net-nf-app', 'created'],
      ['vnicProfile', 'fabric/lan/profiles/vnic-nf-pp-app', 'created'],
    ]);
    expect(back[0]!.attrs).toMatchObject({ id: '100', name: 'nf-app', sharing: 'none', switchId: 'dual', defaultNet: 'no' });
    expect(back[1]!.attrs).toMatchObject({ name: 'nf-pp-app', maxPorts: '64', descr: expect.stringMatching(/^netform lab [0-9a-f]{20}$/) });
    expect(emu.get('fabric/lan/net-nf-app')?.attrs.id).toBe('100');
    expect(emu.get('fabric/lan/profiles/vnic-nf-pp-app/if-nf-app')?.attrs.defaultNet).toBe('yes');
    expect(emu.children('fabric/lan/profiles/vnic-nf-pp-app').map((m) => m.classId).sort()).toEqual(['vmVnicProfCl', 'vnicEtherIf']);

    // Upsert and renumber: created,modified on an existing object answers "modified".
    const again = await c.confMos([vlanMo(n, 101, 'created,modified')]);
    expect(again.map((m) => [m.attrs.dn, m.attrs.status, m.attrs.id])).toEqual([['fabric/lan/net-nf-app', 'modified', '101']]);

    // Read back through the query methods.
    const byDn = await c.resolveDns(['fabric/lan/net-nf-app', 'fabric/lan/net-nf-missing'], false);
    expect([...byDn.keys()]).toEqual(['fabric/lan/net-nf-app']);
    const ours = await c.resolveClass('fabricVlan', { op: 'wcard', classId: 'fabricVlan', property: 'name', value: '^nf-' }, false);
    expect(ours.map((m) => m.attrs.dn)).toEqual(['fabric/lan/net-nf-app']);
    const hier = await c.resolveDn('fabric/lan/profiles/vnic-nf-pp-app', true);
    expect(hier!.children.map((ch) => ch.attrs.dn).sort()).toEqual([`fabric/lan/profiles/vnic-nf-pp-app/cl-${n.client}`, 'fabric/lan/profiles/vnic-nf-pp-app/if-nf-app']);

    const gone = await c.confMos([{ classId: 'fabricVlan', attrs: { name: 'nf-app', status: 'deleted', dn: 'fabric/lan/net-nf-app' }, children: [] }]);
    expect(gone.map((m) => [m.attrs.dn, m.attrs.status])).toEqual([['fabric/lan/net-nf-app', 'deleted']]);
  });

  it('103: create of an existing object with status created → Conflict with UCSM’s text', async () => {
    const { emu, client } = await env();
    const c = client();
    await c.confMos([vlanMo(n, 100, 'created')]);
    const e = await rejection(c.confMos([vlanMo(n, 100, 'created')]));
    expect(e.errorClass).toBe('Conflict');
    expect(e.code).toBe('103');
    expect(e.message).toBe("configConfMos: UCSM error 103: can't create; object already exists.");
    expect(emu.counts).toEqual({ aaaLogin: 1, configConfMos: 2 });
  });

  it('102: modify of a missing object → NotFound', async () => {
    const { emu, client } = await env();
    const c = client();
    const e = await rejection(c.confMos([vlanMo(names(o, 'ghost'), 100, 'modified')]));
    expect(e.errorClass).toBe('NotFound');
    expect(e.code).toBe('102');
    expect(e.message).toBe('configConfMos: UCSM error 102: configured object (fabric/lan/net-nf-ghost) not found');
    expect(emu.get('fabric/lan/net-nf-ghost')).toBeUndefined();
  });

  it.each([
    { vlan: 4094, msg: "configConfMos: UCSM error 150: invalid value '4094' for property 'id' of class fabricVlan (fabric/lan/net-nf-app); expected " },
    { vlan: 3915, msg: 'configConfMos: UCSM error 150: VLAN fabric/lan/net-nf-app: id 3915 is in the reserved VLAN range 3915-4042' },
  ])('validation error (VLAN $vlan) → Terminal, nothing written', async ({ vlan, msg }) => {
    const { emu, client } = await env();
    const c = client();
    const e = await rejection(c.confMos([vlanMo(n, vlan, 'created')]));
    expect(e.errorClass).toBe('Terminal');
    expect(e.code).toBe('150');
    expect(e.message.startsWith(msg)).toBe(true);
    expect(emu.get('fabric/lan/net-nf-app')).toBeUndefined();
  });

  it('105: a class UCSM cannot create → Terminal', async () => {
    const { client } = await env();
    const e = await rejection(client().confMos([{ classId: 'storageVirtualDrive', attrs: { dn: 'sys/vd-1', status: 'created' }, children: [] }]));
    expect(e.errorClass).toBe('Terminal');
    expect(e.code).toBe('105');
    expect(e.message).toBe('configConfMos: UCSM error 105: Cannot create non-creatable object of class:storageVirtualDrive under topSystem');
  });
});

describe('transport', () => {
  it('a dropped connection → Transient; the session survives', async () => {
    const { emu, client } = await env();
    const c = client();
    await c.resolveDn('sys', false);
    emu.faults.dropNext(1);
    const e = await rejection(c.resolveDn('sys', false));
    expect(e.errorClass).toBe('Transient');
    expect(e.message.startsWith('UCSM configResolveDn: ')).toBe(true);
    expect(emu.dropped).toBe(1);
    expect((await c.resolveDn('sys', false))?.attrs.dn).toBe('sys');
    expect(emu.counts).toEqual({ aaaLogin: 1, configResolveDn: 3 });
  });

  it('a dropped login → Transient', async () => {
    const { emu, client } = await env();
    emu.faults.dropNext(1);
    const e = await rejection(client().resolveDn('sys', false));
    expect(e.errorClass).toBe('Transient');
    expect(e.message.startsWith('UCSM aaaLogin: ')).toBe(true);
    expect(e.message).not.toContain(PASSWORD);
  });

  it('HTTP to a closed port → Transient ECONNREFUSED', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const c = new UcsmClient({ endpoint: `http://127.0.0.1:${port}/`, username: 'admin', password: PASSWORD, tls: { insecureSkipVerify: false }, timeoutMs: 5_000, log: pino({ level: 'silent' }) });
    clients.push(c);
    const e = await rejection(c.resolveDn('sys', false));
    expect(e.errorClass).toBe('Transient');
    expect(e.code).toBe('ECONNREFUSED');
    expect(e.message.startsWith('UCSM aaaLogin: ')).toBe(true);
    expect(e.message).not.toContain(PASSWORD);
    expect(c.counts).toEqual({ aaaLogin: 1 });
  });

  it('no answer within the timeout → Transient', async () => {
    const { emu, client } = await env();
    const c = client({ timeoutMs: 150 });
    await c.resolveDn('sys', false);
    emu.faults.delayMs = 1_000;
    const e = await rejection(c.resolveDn('sys', false));
    expect(e.errorClass).toBe('Transient');
    expect(e.message).toBe('UCSM configResolveDn: no answer within 150 ms');
  });

  it('an HTTP 404 (wrong endpoint path) → Terminal', async () => {
    const { emu, client } = await env();
    const e = await rejection(client({ endpoint: `${emu.url}/wrong` }).resolveDn('sys', false));
    expect(e.errorClass).toBe('Terminal');
    expect(e.message).toBe('UCSM aaaLogin: HTTP 404');
  });
});

describe('logout and counters', () => {
  it('close sends aaaLogout; a second close is harmless', async () => {
    const { emu, client, logs } = await env();
    const c = client();
    await c.resolveDn('sys', false);
    expect(emu.sessions()).toHaveLength(1);
    await c.close();
    expect(emu.counts).toEqual({ aaaLogin: 1, configResolveDn: 1, aaaLogout: 1 });
    expect(emu.sessions()).toEqual([]);
    expect(c.cookie).toBeUndefined();
    await expect(c.close()).resolves.toBeUndefined();
    expect(emu.counts.aaaLogout).toBe(1);
    expect(logs.filter((l) => l.includes('logout failed'))).toEqual([]);
  });

  it('two concurrent closes: one aaaLogout, both resolve', async () => {
    const { emu, client } = await env();
    const c = client();
    await c.resolveDn('sys', false);
    await expect(Promise.all([c.close(), c.close()])).resolves.toEqual([undefined, undefined]);
    expect(emu.counts.aaaLogout).toBe(1);
    expect(emu.sessions()).toEqual([]);
  });

  it('logout of an expired session (555) is quiet; close without a session sends nothing', async () => {
    const { emu, client, logs } = await env();
    const c = client();
    await c.resolveDn('sys', false);
    emu.faults.expireAllSessions();
    await c.close();
    expect(emu.counts.aaaLogout).toBe(1);
    expect(logs.filter((l) => l.includes('logout failed'))).toEqual([]);

    const idle = client();
    await idle.close();
    expect(emu.counts.aaaLogout).toBe(1);
  });

  it('counts and total match the emulator’s counters', async () => {
    const { emu, client, clock } = await env();
    const c = client();
    await c.resolveDn('sys', false);
    await c.resolveClass('fabricVlan', undefined, false);
    await c.resolveDns(['sys'], false);
    await c.confMos([vlanMo(names(o, 'app'), 100, 'created')]);
    await rejection(c.confMos([vlanMo(names(o, 'app'), 100, 'created')])); // 103
    emu.faults.expireAllSessions();
    await c.resolveDn('sys', false); // 552 → login → retry
    clock.now = T0 + 541_000;
    await c.resolveDn('sys', false); // refresh
    emu.faults.dropNext(1);
    await rejection(c.resolveDn('sys', false));
    await c.logout();
    const want = { aaaLogin: 2, configResolveDn: 5, configResolveClass: 1, configResolveDns: 1, configConfMos: 2, aaaRefresh: 1, aaaLogout: 1 };
    expect(c.counts).toEqual(want);
    expect(emu.counts).toEqual(want);
    expect(c.total).toBe(13);
    expect(emu.total).toBe(13);
  });
});

// Security groups as nftables rules on the real kernel (sandbox tier): a "host" namespace with a Linux
// bridge, three VM namespaces (web, app, db) cabled to it by veth pairs whose host ends are the bridge
// ports ("taps"), the tables of renderFirewall applied with `nft -f -`. What the rules do is proven with
// real connections (nc listeners in the VMs, nc / ping clients), every check seen both allowed and
// denied: before any table, through several re-renders (an unrelated change keeps an established flow,
// removing its rule stops it), with a stateless port, and after removeFirewallScript.
// Design and mark layout: src/drivers/host/firewall.ts.
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIREWALL_TABLE, parseFirewallDigest, removeFirewallScript, renderFirewall, type FirewallPort, type FirewallRule } from '../../src/drivers/host/firewall.ts';
import { ensureCommands } from '../harness/apt.ts';

const sfx = randomBytes(2).toString('hex');
const HOST = `nffw-${sfx}-host`;
const VMS = ['web', 'app', 'db'] as const;
type Vm = (typeof VMS)[number];
const ns = (vm: Vm) => `nffw-${sfx}-${vm}`;
const tap = (vm: Vm) => `fw${sfx}${vm}`; // the VM's bridge port on the host
const ADDR: Record<Vm, string> = { web: '10.77.0.1', app: '10.77.0.2', db: '10.77.0.3' };
const ADDR6: Record<Vm, string> = { web: '2001:db8:77::1', app: '2001:db8:77::2', db: '2001:db8:77::3' };
const children: ChildProcessWithoutNullStreams[] = [];
const made: string[] = [];

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 10_000 });
}

/** Runs a command, resolving to its exit code (never rejecting). */
function exitCode(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: 'ignore' });
    p.on('error', () => resolve(-1));
    p.on('exit', (code) => resolve(code ?? -1));
  });
}

/** A TCP connection from `from` to `to`:port completes within a second (nc -z); over IPv6 with `v6`. */
async function connects(from: Vm, to: Vm, port: number, v6 = false): Promise<boolean> {
  return (await exitCode('ip', ['netns', 'exec', ns(from), 'nc', '-z', '-w', '1', (v6 ? ADDR6 : ADDR)[to], String(port)])) === 0;
}

async function pings(from: Vm, to: Vm): Promise<boolean> {
  return (await exitCode('ip', ['netns', 'exec', ns(from), 'ping', '-c', '1', '-W', '1', ADDR[to]])) === 0;
}

/** Applies an nft script in the host namespace, as the agent will: `nft -f -`, the script on stdin. */
function nft(script: string): void {
  run('ip', ['netns', 'exec', HOST, 'nft', '-f', '-'], script);
}

function apply(ports: FirewallPort[]): string {
  const { script, digest } = renderFirewall(ports);
  nft(script);
  return digest;
}

function netformTables(): string[] {
  const out = JSON.parse(run('ip', ['netns', 'exec', HOST, 'nft', '-j', 'list', 'tables'])) as { nftables: { table?: { family: string; name: string } }[] };
  return out.nftables.flatMap((o) => (o.table?.name === FIREWALL_TABLE ? [o.table.family] : [])).sort();
}

function observedDigest(): string | undefined {
  return parseFirewallDigest(run('ip', ['netns', 'exec', HOST, 'nft', '-j', 'list', 'counters']));
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(25);
  }
  return cond();
}

// ---- the security groups of the scenario --------------------------------------------------------------

const egressAll: FirewallRule = { direction: 'egress', ethertype: 'IPv4' };
const egressAll6: FirewallRule = { direction: 'egress', ethertype: 'IPv6' };
const webToApp: FirewallRule = { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8080 };
const webToApp6: FirewallRule = { direction: 'ingress', ethertype: 'IPv6', protocol: 'tcp', portRangeMin: 8080 };
const appToDb: FirewallRule = { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 5432, remote: [ADDR.app] };
const pingIn: FirewallRule = { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portRangeMin: 8 };

interface Scenario {
  appPing?: boolean;
  dbAllowsApp?: boolean;
  webStateless?: boolean;
  webIngressFromApp?: boolean;
}

function ports(s: Scenario): FirewallPort[] {
  return [
    {
      device: tap('web'),
      ...(s.webStateless ? { stateful: false } : {}),
      rules: [egressAll, egressAll6, ...(s.webIngressFromApp ? [{ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', remote: [`${ADDR.app}/32`] } as FirewallRule] : [])],
    },
    // App sends no IPv6 of its own (no IPv6 egress rule): its IPv6 replies and neighbour advertisements pass anyway.
    { device: tap('app'), rules: [egressAll, webToApp, webToApp6, ...(s.appPing ? [pingIn] : [])] },
    { device: tap('db'), rules: [egressAll, ...(s.dbAllowsApp === false ? [] : [appToDb])] },
  ];
}

// ---- the long-lived app→db connection -----------------------------------------------------------------

let received = '';
let stream: ChildProcessWithoutNullStreams;

beforeAll(async () => {
  ensureCommands({ nft: 'nftables', nc: 'netcat-openbsd', ping: 'iputils-ping' });
  const ip = (args: string[]) => run('ip', args);
  ip(['netns', 'add', HOST]);
  made.push(HOST);
  run('ip', ['netns', 'exec', HOST, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1']);
  ip(['-n', HOST, 'link', 'add', 'br0', 'type', 'bridge']);
  ip(['-n', HOST, 'link', 'set', 'br0', 'up']);
  for (const vm of VMS) {
    ip(['netns', 'add', ns(vm)]);
    made.push(ns(vm));
    ip(['-n', HOST, 'link', 'add', tap(vm), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(vm)]);
    ip(['-n', HOST, 'link', 'set', tap(vm), 'master', 'br0', 'up']);
    ip(['-n', ns(vm), 'addr', 'add', `${ADDR[vm]}/24`, 'dev', 'eth0']);
    ip(['-n', ns(vm), 'addr', 'add', `${ADDR6[vm]}/64`, 'dev', 'eth0', 'nodad']);
    ip(['-n', ns(vm), 'link', 'set', 'eth0', 'up']);
    ip(['-n', ns(vm), 'link', 'set', 'lo', 'up']);
  }
  // Listeners: app on 8080, db on 5432 (-k: one connection after another; the long-lived one stays).
  const listen = (vm: Vm, port: number, v6 = false) => {
    const p = spawn('ip', ['netns', 'exec', ns(vm), 'nc', ...(v6 ? ['-6'] : []), '-l', '-k', String(port)]);
    children.push(p);
    return p;
  };
  listen('app', 8080);
  listen('app', 8080, true);
  listen('db', 5432, true);
  listen('db', 5432).stdout.on('data', (b: Buffer) => (received += b.toString()));
  // Ready when each listener (IPv4 and IPv6) is in the kernel's table.
  const listening = (vm: Vm, port: number) => run('ip', ['netns', 'exec', ns(vm), 'ss', '-Hltn', `sport = :${port}`]).trim().split('\n').filter(Boolean).length;
  expect(await until(() => listening('app', 8080) === 2 && listening('db', 5432) === 2, 5000)).toBe(true);
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  await sleep(50);
  for (const n of made.reverse()) await exitCode('ip', ['netns', 'del', n]);
});

describe('security groups as nftables rules on a Linux bridge (real kernel)', () => {
  it('without netform tables everything flows (the checks below can succeed)', async () => {
    const [webApp, webDb, appDb, ping, webApp6, webDb6] = await Promise.all([
      connects('web', 'app', 8080),
      connects('web', 'db', 5432),
      connects('app', 'db', 5432),
      pings('web', 'app'),
      connects('web', 'app', 8080, true),
      connects('web', 'db', 5432, true),
    ]);
    expect({ webApp, webDb, appDb, ping, webApp6, webDb6 }).toEqual({ webApp: true, webDb: true, appDb: true, ping: true, webApp6: true, webDb6: true });
    expect(netformTables()).toEqual([]);
  });

  it('the rules: web→app tcp/8080 and app→db tcp/5432 pass; web→db and ping, with no rule, do not', async () => {
    const digest = apply(ports({}));
    expect(netformTables()).toEqual(['bridge', 'inet']);
    expect(observedDigest()).toBe(digest);
    // Flush the neighbour caches: IPv6 neighbour discovery has to pass the tables too.
    for (const vm of VMS) run('ip', ['-n', ns(vm), 'neigh', 'flush', 'all']);
    const [webApp, webDb, appDb, ping, dbApp, webApp6, webDb6] = await Promise.all([
      connects('web', 'app', 8080),
      connects('web', 'db', 5432),
      connects('app', 'db', 5432),
      pings('web', 'app'),
      connects('db', 'app', 8080), // app allows 8080 from anywhere: db's egress allows it too
      connects('web', 'app', 8080, true),
      connects('web', 'db', 5432, true),
    ]);
    expect({ webApp, webDb, appDb, ping, dbApp, webApp6, webDb6 }).toEqual({ webApp: true, webDb: false, appDb: true, ping: false, dbApp: true, webApp6: true, webDb6: false });
    // Web has no ingress rule at all: its connections work because their replies pass (stateful).

    stream = spawn('ip', ['netns', 'exec', ns('app'), 'nc', ADDR.db, '5432']);
    children.push(stream);
    stream.stdin.write('line-1\n');
    expect(await until(() => received.includes('line-1\n'), 3000)).toBe(true);
  });

  it('an unrelated rule change (ping to app) is applied in place: the established app→db flow goes on', async () => {
    const digest = apply(ports({ appPing: true }));
    expect(observedDigest()).toBe(digest);
    expect(await pings('web', 'app')).toBe(true); // the change took effect…
    stream.stdin.write('line-2\n');
    expect(await until(() => received.includes('line-2\n'), 3000)).toBe(true); // …and the flow survived it
    expect(await connects('web', 'db', 5432)).toBe(false);
  });

  it('removing the app→db rule stops the established flow and new connections; web→app still works', async () => {
    const before = observedDigest();
    const digest = apply(ports({ appPing: true, dbAllowsApp: false }));
    expect(digest).not.toBe(before);
    expect(observedDigest()).toBe(digest);
    stream.stdin.write('line-3\n');
    const [arrived, appDb, webApp] = await Promise.all([until(() => received.includes('line-3'), 1500), connects('app', 'db', 5432), connects('web', 'app', 8080)]);
    expect({ arrived, appDb, webApp }).toEqual({ arrived: false, appDb: false, webApp: true });
    expect(received).toBe('line-1\nline-2\n');
  });

  it('a stateless port takes no reply on trust: web→app needs a rule letting app answer', async () => {
    apply(ports({ appPing: true, dbAllowsApp: false, webStateless: true }));
    expect(await connects('web', 'app', 8080)).toBe(false);
    const digest = apply(ports({ appPing: true, dbAllowsApp: false, webStateless: true, webIngressFromApp: true }));
    expect(observedDigest()).toBe(digest);
    expect(await connects('web', 'app', 8080)).toBe(true);
  });

  it('removeFirewallScript leaves no netform table and traffic flows unfiltered again (twice: safe when absent)', async () => {
    nft(removeFirewallScript());
    nft(removeFirewallScript());
    expect(netformTables()).toEqual([]);
    expect(observedDigest()).toBeUndefined();
    const [webApp, webDb, appDb, ping] = await Promise.all([connects('web', 'app', 8080), connects('web', 'db', 5432), connects('app', 'db', 5432), pings('web', 'db')]);
    expect({ webApp, webDb, appDb, ping }).toEqual({ webApp: true, webDb: true, appDb: true, ping: true });
  });
});

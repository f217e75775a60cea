// Traffic between hostsim VMs, measured: iperf3 throughput and tcpdump captures, each run inside the
// VM's or a monitor's namespace with argument arrays (no shell), bounded by timeouts. The tools are
// installed with apt-get when missing (test/harness/apt.ts), as .ci/run's install-tools.sh does up front.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureCommands } from '../apt.ts';

/** iperf3, tcpdump and ethtool (the VM stand-ins' checksum offload must be off, see `offloadOff`). */
export function ensureTrafficTools(): void {
  ensureCommands({ iperf3: 'iperf3', tcpdump: 'tcpdump', ethtool: 'ethtool' });
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ip netns exec ns …argv`; resolves with its exit, killing it after `timeoutMs`. `onStderr` sees stderr as it comes. */
function inNs(ns: string, argv: string[], timeoutMs: number, onStderr?: (text: string) => void): { done: Promise<Exit>; pid: number | undefined; kill: () => void } {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Exit>((resolve) => {
    child.on('error', (e) => resolve({ code: -1, stdout, stderr: stderr + String(e) }));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { done, pid: child.pid, kill: () => child.kill('SIGTERM') };
}

/**
 * The VM stand-ins are veth ends: the kernel leaves TCP checksums to "the hardware", and Open vSwitch's
 * userspace datapath (which reads the host end with AF_PACKET) forwards them unfilled, so the receiver
 * drops every segment. A real VM's virtio NIC fills them in; here checksum offload is turned off.
 */
export async function offloadOff(ns: string, dev = 'eth0'): Promise<void> {
  const r = await inNs(ns, ['ethtool', '-K', dev, 'tx', 'off'], 10_000).done;
  if (r.code !== 0) throw new Error(`ethtool -K ${dev} tx off in ${ns}: ${r.stderr.trim()}`);
}

let nextPort = 5201 + Math.floor(Math.random() * 500);

/**
 * TCP throughput from `client` to the server's `address` (or back from it with `reverse`), as the
 * receiving side counted it, in bit/s: an iperf3 server (one test, then it exits) in `serverNs`, the
 * client in `clientNs` for `seconds`.
 */
export async function throughput(clientNs: string, serverNs: string, address: string, o: { seconds?: number; reverse?: boolean } = {}): Promise<number> {
  const seconds = o.seconds ?? 8;
  const port = String(nextPort++);
  const server = inNs(serverNs, ['iperf3', '-s', '-1', '-p', port], (seconds + 60) * 1000);
  try {
    // The server listens within a moment; the client retries until it does.
    let last: Exit | undefined;
    for (let i = 0; i < 20; i++) {
      last = await inNs(clientNs, ['iperf3', '-c', address, '-p', port, '-t', String(seconds), '-J', ...(o.reverse ? ['-R'] : [])], (seconds + 30) * 1000).done;
      const j = (() => {
        try {
          return JSON.parse(last.stdout) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
        } catch {
          return {};
        }
      })();
      const bps = j.end?.sum_received?.bits_per_second;
      if (last.code === 0 && bps !== undefined) return bps;
      // Not listening yet: try again. Anything else (a reset control connection) is tried once more too.
      if (!/unable to connect|Connection refused|control/i.test(`${j.error ?? ''} ${last.stderr}`) || i >= 10) break;
      await sleep(100);
    }
    throw new Error(`iperf3 ${clientNs} → ${address}:${port} failed (${last?.code}): ${(last?.stdout ?? '').slice(0, 400)} ${last?.stderr ?? ''}`);
  } finally {
    server.kill();
    await server.done;
  }
}

/**
 * Captures on `dev` in `ns` with tcpdump (`filter` as separate words) while `traffic` runs; returns
 * the packets printed (one line each). Stops after `count` packets or `seconds`, whichever is first.
 */
export async function capture(ns: string, dev: string, filter: string[], traffic: () => Promise<unknown>, o: { count?: number; seconds?: number } = {}): Promise<string[]> {
  const seconds = o.seconds ?? 5;
  let listening: () => void = () => {};
  const ready = new Promise<void>((r) => (listening = r));
  const t = inNs(ns, ['tcpdump', '-n', '-l', '-i', dev, '-c', String(o.count ?? 3), ...filter], seconds * 1000, (err) => {
    if (/listening on/.test(err)) listening();
  });
  await Promise.race([ready, t.done, sleep(5000)]);
  await traffic();
  const r = await t.done;
  return r.stdout.split('\n').filter((l) => l.trim());
}

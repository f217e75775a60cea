// Running iproute2: reads with `ip -json`, writes with one `ip -batch -` per change set. Arguments
// are arrays (never a shell string); a namespace name is validated before use.
import { spawn } from 'node:child_process';

export class IpError extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.name = 'IpError';
    this.stderr = stderr;
  }
}

const NETNS = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Runs `ip` (in `netns` when given) with `args`, feeding `stdin`; resolves with stdout. */
export function ip(netns: string | undefined, args: string[], stdin?: string): Promise<string> {
  return run('ip', netns, args, stdin);
}

/** Runs `tc` (in `netns` when given) with `args`, feeding `stdin`; resolves with stdout. */
export function tc(netns: string | undefined, args: string[], stdin?: string): Promise<string> {
  return run('tc', netns, args, stdin);
}

/** Runs a `tc -batch` script; it stops at the first failing line. */
export async function tcBatch(netns: string | undefined, lines: readonly string[]): Promise<void> {
  if (!lines.length) return;
  for (const l of lines) if (/[\n\r]/.test(l)) throw new Error('refusing a batch line with a line break');
  await tc(netns, ['-batch', '-'], `${lines.join('\n')}\n`);
}

/** Runs an Open vSwitch tool that reaches its daemon by socket path (`ovs-ofctl`, `ovs-appctl`); resolves with stdout. */
export function command(cmd: 'ovs-ofctl' | 'ovs-appctl', args: string[]): Promise<string> {
  return run(cmd, undefined, args);
}

/** Runs `nft` or `sysctl` in `netns` (`ip netns exec`; undefined: the agent's own); resolves with stdout. */
export function inNetns(netns: string | undefined, cmd: 'nft' | 'sysctl', args: string[], stdin?: string): Promise<string> {
  if (netns === undefined) return run(cmd, undefined, args, stdin);
  if (!NETNS.test(netns)) return Promise.reject(new Error(`refusing network namespace name ${JSON.stringify(netns)}`));
  return run('ip', undefined, ['netns', 'exec', netns, cmd, ...args], stdin);
}

function run(cmd: 'ip' | 'tc' | 'ovs-ofctl' | 'ovs-appctl' | 'nft' | 'sysctl', netns: string | undefined, args: string[], stdin?: string): Promise<string> {
  if (netns !== undefined && !NETNS.test(netns)) return Promise.reject(new Error(`refusing network namespace name ${JSON.stringify(netns)}`));
  const argv = netns ? ['-n', netns, ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new IpError(`${cmd} ${argv.slice(0, 4).join(' ')}…: ${err.trim() || `exit ${code}`}`, err));
    });
    // A command that does not read its input may exit before we finish writing it.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
}

/** Runs a batch; `ip -batch` stops at the first failing line and says which. */
export async function ipBatch(netns: string | undefined, lines: readonly string[]): Promise<void> {
  if (!lines.length) return;
  for (const l of lines) if (/[\n\r]/.test(l)) throw new Error('refusing a batch line with a line break');
  await ip(netns, ['-batch', '-'], `${lines.join('\n')}\n`);
}

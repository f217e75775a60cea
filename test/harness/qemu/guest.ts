/**
 * Run a shell script inside a full Debian kernel (QEMU, TCG) whose root filesystem is the host's `/`,
 * shared read-only over virtio-9p. Used for the host-agent paths the sandbox kernel cannot run
 * (8021q VLANs, bonding, dummy NICs, the OVS kernel datapath).
 *
 * Guest view: host `/` read-only at the same paths; tmpfs on /tmp, /run, /var (so the host's /tmp is
 * HIDDEN); the job share at /run/job; the kernel's module tree + guest init at /run/netform.
 * Modules 8021q bonding dummy openvswitch bridge veth tun are already loaded (no bond0/dummy0 exist)
 * and `modprobe` in PATH works for anything else in the kernel package.
 *
 * The build (test/harness/qemu/build.sh) runs at most once per process and is cached under
 * ${NETFORM_CACHE:-$HOME/.cache/netform}/qemu/<kernel-version>/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GuestRunOptions {
  /** Working directory of the script inside the guest (default: process.cwd()). Must not be under /tmp, /run or /var. */
  cwd?: string;
  /** Wall-clock limit for boot + script + power-off (default 120 s). */
  timeoutMs?: number;
  /** Extra environment for the script. */
  env?: Record<string, string>;
}

export interface GuestRunResult {
  /** Exit code of the script inside the guest. */
  code: number;
  /** The script's stdout and stderr, interleaved. */
  output: string;
  /** Wall time of the whole QEMU run (boot + script + power-off). */
  seconds: number;
  /** Kernel release that was booted, e.g. "6.1.0-56-amd64". */
  kernel: string;
}

export interface GuestBuild {
  dir: string;
  kver: string;
  kernel: string;
  initrd: string;
  share: string;
  bios: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILD_SH = join(HERE, 'build.sh');
const QEMU = 'qemu-system-x86_64';
/** Paths the guest covers with tmpfs or its own shares: a cwd there would not be the host's. */
const HIDDEN_IN_GUEST = ['/tmp', '/run', '/var', '/proc', '/sys', '/dev'];

let buildPromise: Promise<GuestBuild> | undefined;

function parseEnvFile(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

async function runBuild(): Promise<GuestBuild> {
  const out = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn('bash', [BUILD_SH], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(`build.sh exited ${code}: ${stderr.trim().split('\n').slice(-15).join('\n')}`));
    });
  });
  const dir = out.trim().split('\n').pop()?.trim() ?? '';
  if (!dir.startsWith('/')) throw new Error(`build.sh printed no cache path (got ${JSON.stringify(out.slice(-200))})`);
  const env = parseEnvFile(await readFile(join(dir, 'guest.env'), 'utf8'));
  const get = (k: string): string => {
    const v = env.get(k);
    if (!v) throw new Error(`${join(dir, 'guest.env')} lacks ${k}`);
    return v;
  };
  return { dir, kver: get('KVER'), kernel: get('KERNEL'), initrd: get('INITRD'), share: get('SHARE'), bios: get('BIOS') };
}

/** Build (or reuse) the kernel + initramfs; at most one build.sh run per process. */
export function ensureGuestBuild(): Promise<GuestBuild> {
  buildPromise ??= runBuild().then(async (b) => {
    await pruneJobs(join(dirname(b.dir), 'jobs'));
    return b;
  });
  return buildPromise;
}

/** Remove job directories older than a day (failed runs keep theirs for inspection). */
async function pruneJobs(jobsDir: string): Promise<void> {
  const cutoff = Date.now() - 24 * 3600_000;
  const names = await readdir(jobsDir).catch(() => [] as string[]);
  for (const n of names) {
    const p = join(jobsDir, n);
    const st = await stat(p).catch(() => undefined);
    if (st && st.mtimeMs < cutoff) await rm(p, { recursive: true, force: true }).catch(() => undefined);
  }
}

function onPath(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/** Whether runInGuest can work here; `reason` says why not (print it when skipping). */
export async function guestAvailable(): Promise<{ ok: boolean; reason?: string }> {
  if (process.env.NETFORM_QEMU === '0') return { ok: false, reason: 'disabled by NETFORM_QEMU=0' };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { ok: false, reason: `needs linux/x64 (this is ${process.platform}/${process.arch})` };
  }
  if (isHidden(process.cwd()) && !sharable(process.cwd())) {
    return { ok: false, reason: `cwd ${process.cwd()} would be hidden in the guest (tmpfs on ${HIDDEN_IN_GUEST.join(', ')})` };
  }
  const isRoot = process.getuid?.() === 0;
  if (!onPath(QEMU) && !isRoot) return { ok: false, reason: `${QEMU} not installed and not root (cannot apt-get install it)` };
  try {
    const b = await ensureGuestBuild();
    if (!onPath(QEMU)) return { ok: false, reason: `${QEMU} still missing after build.sh` };
    for (const f of [b.kernel, b.initrd, b.bios]) if (!existsSync(f)) return { ok: false, reason: `missing ${f}` };
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `guest build failed: ${(err as Error).message}` };
  }
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function isHidden(path: string): boolean {
  return HIDDEN_IN_GUEST.some((p) => path === p || path.startsWith(p + '/'));
}

/** A working directory under the guest's /tmp or /var tmpfs is shared into the guest on its own. */
function sharable(path: string): boolean {
  return ['/tmp', '/var'].some((p) => path.startsWith(p + '/'));
}

function qemuArgs(b: GuestBuild, jobDir: string, cwdShare?: string): string[] {
  const ninep = (id: string, path: string, tag: string, ro: boolean): string[] => [
    '-fsdev',
    `local,id=${id},path=${path},security_model=none,multidevs=remap${ro ? ',readonly=on' : ''}`,
    '-device',
    `virtio-9p-pci,fsdev=${id},mount_tag=${tag}`,
  ];
  return [
    '-accel', 'tcg', '-cpu', 'max', '-smp', '2', '-m', '1024',
    '-nodefaults', '-nographic', '-serial', 'mon:stdio', '-vga', 'none', '-nic', 'none', '-no-reboot',
    '-bios', b.bios,
    '-kernel', b.kernel,
    '-initrd', b.initrd,
    '-append', `console=ttyS0 quiet panic=-1 ${process.env.NETFORM_QEMU_APPEND ?? ''}`.trim(),
    ...ninep('r', '/', 'root', true),
    ...ninep('j', jobDir, 'job', false),
    ...ninep('n', b.share, 'netform', true),
    ...(cwdShare ? ninep('c', cwdShare, 'cwd', true) : []),
  ];
}

function tail(text: string, lines: number): string {
  return text.replaceAll('\r', '').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Boot the guest, run `script` inside it (with /bin/sh, or its own `#!` interpreter), power off. Resolves with the script's exit code
 * and output; rejects when the guest never reported an exit code (timeout, boot failure) — the error
 * carries the console tail. Set NETFORM_QEMU_KEEP=1 to keep the job directory.
 */
export async function runInGuest(script: string, opts: GuestRunOptions = {}): Promise<GuestRunResult> {
  const b = await ensureGuestBuild();
  const cwd = resolve(opts.cwd ?? process.cwd());
  const shareCwd = isHidden(cwd) && sharable(cwd);
  if (isHidden(cwd) && !shareCwd) {
    throw new Error(`runInGuest: cwd ${cwd} is hidden in the guest (tmpfs/pseudo-fs on ${HIDDEN_IN_GUEST.join(', ')})`);
  }
  const timeoutMs = opts.timeoutMs ?? 120_000;

  const jobsDir = join(dirname(b.dir), 'jobs');
  const id = `${Date.now().toString(36)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const jobDir = join(jobsDir, id);
  await mkdir(jobDir, { recursive: true });
  await writeFile(join(jobDir, 'cmd'), script.endsWith('\n') ? script : script + '\n', { mode: 0o755 });
  await writeFile(join(jobDir, 'cwd'), cwd + '\n');
  if (shareCwd) await writeFile(join(jobDir, 'cwd-share'), cwd + '\n');
  const envLines: string[] = [];
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`runInGuest: invalid env name ${JSON.stringify(k)}`);
    envLines.push(`export ${k}=${shQuote(v)}`);
  }
  await writeFile(join(jobDir, 'env'), envLines.join('\n') + '\n');

  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  const started = performance.now();
  const consoleLog = createWriteStream(join(jobDir, 'console.log'));
  let consoleText = '';
  let timedOut = false;
  const qemuExit = await new Promise<number | null>((resolvePromise, reject) => {
    const child = spawn('timeout', ['-k', '5', String(secs), QEMU, ...qemuArgs(b, jobDir, shareCwd ? cwd : undefined)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (d: Buffer): void => {
      consoleLog.write(d);
      consoleText = (consoleText + d.toString()).slice(-65_536);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // Backstop in case `timeout` itself is stuck.
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 15_000);
    child.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(guard);
      if (code === 124 || code === 137 || code === null) timedOut = true;
      resolvePromise(code);
    });
  });
  await new Promise<void>((r) => consoleLog.end(r));
  const seconds = Math.round((performance.now() - started) / 10) / 100;

  const rcText = await readFile(join(jobDir, 'rc'), 'utf8').catch(() => undefined);
  const output = await readFile(join(jobDir, 'out'), 'utf8').catch(() => '');
  const code = rcText === undefined ? NaN : Number.parseInt(rcText.trim(), 10);
  if (!Number.isInteger(code)) {
    const why = timedOut ? `timed out after ${secs} s` : `qemu exited ${qemuExit}`;
    throw new Error(
      `runInGuest: guest reported no exit code (${why}, ${seconds} s; job dir kept: ${jobDir})\n` +
        `--- console tail ---\n${tail(consoleText, 40)}\n--- output tail ---\n${tail(output, 40)}`,
    );
  }
  if (process.env.NETFORM_QEMU_KEEP !== '1') await rm(jobDir, { recursive: true, force: true });
  return { code, output, seconds, kernel: b.kver };
}

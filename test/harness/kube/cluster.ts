// A real kube-apiserver + etcd test plane (envtest-style) for netform's cluster mode.
//
// startKube() makes sure test/harness/kube/build.sh has built the binaries (cached outside the
// repository), generates a CA, a serving cert, an admin client cert (O=system:masters), a static
// bearer token and a service-account key pair with openssl, starts etcd and kube-apiserver on
// free loopback ports, waits for /readyz and the `default` namespace, and writes a kubeconfig.
// There is no controller-manager, scheduler or kubelet: no GC, no namespace finalization, no
// default ServiceAccounts, Pods stay Pending. Logs (etcd.log, kube-apiserver.log) stay in `dir`.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const KUBE_BUILD_SH = fileURLToPath(new URL('./build.sh', import.meta.url));
export const KUBECTL = process.env.KUBECTL ?? (existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : 'kubectl');

export function cacheDir(): string {
  return process.env.NETFORM_CACHE ?? join(homedir(), '.cache', 'netform');
}

export interface KubeBinaries {
  dir: string;
  apiserver: string;
  etcd: string;
  /** e.g. "v1.34.10" and "3.6.4", from the binaries' own --version. */
  versions: { kubernetes: string; etcd: string };
  /** How long ensureKubeBinaries() took (a cold build, or just the version check). */
  ms: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubeCluster {
  /** Path of the kubeconfig (client-certificate user `admin`, context `netform-test`). */
  kubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** A static bearer token for a system:masters user (the --token-auth-file). */
  token?: string;
  /** etcd's client URL (http://127.0.0.1:<port>): what the apiserver stores, read as it is stored. */
  etcd: string;
  /** PEM of the cluster CA (serving and client certs), for TS clients. */
  caPem: string;
  /** Directory with certs, kubeconfig, etcd data and the log files. */
  dir: string;
  versions: { kubernetes: string; etcd: string };
  /** Milliseconds from spawning etcd to the apiserver being ready (excludes the build). */
  startupMs: number;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** Stops kube-apiserver only and starts it again on the same port against the same etcd. */
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs build.sh (idempotent: a cold build takes minutes, a warm one only prints versions). */
export async function ensureKubeBinaries(): Promise<KubeBinaries> {
  const t0 = Date.now();
  const logDir = join(cacheDir(), 'logs');
  mkdirSync(logDir, { recursive: true });
  const log = join(logDir, 'kube-build.log');
  const fd = openSync(log, 'a'); // append: several test processes may build/check at once
  let stdout = '';
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn('bash', [KUBE_BUILD_SH], { stdio: ['ignore', 'pipe', fd] });
    p.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.on('error', reject);
    p.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  }).finally(() => closeSync(fd));
  if (code !== 0) {
    throw new Error(`test/harness/kube/build.sh failed (exit ${code}); see ${log}:\n${tail(log, 40)}`);
  }
  const { stdout: dirOut } = await run('bash', [KUBE_BUILD_SH, '--print-dir']);
  const dir = dirOut.trim();
  const kubernetes = /Kubernetes (v\S+)/.exec(stdout)?.[1];
  const etcd = /etcd Version: (\S+)/.exec(stdout)?.[1];
  if (!kubernetes || !etcd) throw new Error(`cannot parse versions from build.sh output:\n${stdout}`);
  return { dir, apiserver: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd'), versions: { kubernetes, etcd }, ms: Date.now() - t0 };
}

/** A TCP port on 127.0.0.1 that was free a moment ago; `avoid` keeps earlier picks out. */
async function freePort(avoid: Set<number>): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    // 2379/2380: Debian's etcd.service may own them; never hand them out
    if (!avoid.has(port) && port !== 2379 && port !== 2380) {
      avoid.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port');
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- processes -------------------------------------------------------------------------------

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  /** Resolves when the process has exited and been reaped (node reaps its children itself). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  done: boolean;
}

// Last-resort cleanup if the test process exits without stop(): SIGKILL whatever is still running.
const live = new Set<Proc>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        if (!p.done && p.child.pid) process.kill(p.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

const SETPRIV = '/usr/bin/setpriv';

function startProc(name: string, bin: string, args: string[], log: string): Proc {
  installExitHook();
  const fd = openSync(log, 'a');
  writeFileSync(fd, `\n==== ${new Date().toISOString()} ${bin} ${args.join(' ')}\n`);
  // setpriv execs the binary (same pid) with PR_SET_PDEATHSIG: if the test process is SIGKILLed
  // (a vitest timeout, a crash), the kernel kills etcd and kube-apiserver too instead of orphaning them.
  const child = existsSync(SETPRIV)
    ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', bin, ...args], { stdio: ['ignore', fd, fd] })
    : spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd); // the child has its own copy
  const proc: Proc = {
    name,
    child,
    log,
    done: false,
    exited: new Promise((resolve) => {
      // 'exit' fires after waitpid(): no zombie is left behind; 'error' covers a failed spawn
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: -1, signal: null }));
    }),
  };
  void proc.exited.then(() => {
    proc.done = true;
    live.delete(proc);
  });
  live.add(proc);
  return proc;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is reaped. Kills by pid only. */
async function stopProc(p: Proc, graceMs = 10_000): Promise<void> {
  if (p.done || !p.child.pid) return;
  const pid = p.child.pid;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already exited (reaped) */
  }
  const t = setTimeout(() => {
    try {
      if (!p.done) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await p.exited;
  clearTimeout(t);
}

function exitedError(p: Proc, what: string): Error {
  return new Error(`${p.name} exited (code ${p.child.exitCode}, signal ${p.child.signalCode}) while ${what}; ${p.log}:\n${tail(p.log, 30)}`);
}

// --- certificates ----------------------------------------------------------------------------

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
  }
}

/** ca.{crt,key}, apiserver.{crt,key} (127.0.0.1, localhost), admin.{crt,key} (O=system:masters), sa.{key,pub}, tokens.csv. */
async function makeCerts(pki: string): Promise<{ token: string }> {
  mkdirSync(pki, { recursive: true });
  const ec = ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(pki, [...ec, '-x509', '-days', '3650', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=netform-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  writeFileSync(join(pki, 'srv.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1\n' +
    'extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  writeFileSync(join(pki, 'cli.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  await openssl(pki, [...ec, '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver']);
  await openssl(pki, ['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '365', '-extfile', 'srv.ext', '-out', 'apiserver.crt']);
  await openssl(pki, [...ec, '-keyout', 'admin.key', '-out', 'admin.csr', '-subj', '/O=system:masters/CN=admin']);
  await openssl(pki, ['x509', '-req', '-in', 'admin.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '365', '-extfile', 'cli.ext', '-out', 'admin.crt']);
  await openssl(pki, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key']);
  await openssl(pki, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
  const token = randomBytes(32).toString('hex');
  writeFileSync(join(pki, 'tokens.csv'), `${token},admin-token,admin-token-uid,system:masters\n`, { mode: 0o600 });
  return { token };
}

// --- HTTP ------------------------------------------------------------------------------------

interface Tls {
  ca: string;
  cert: string;
  key: string;
}

function httpsGet(url: string, tls: Tls, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(what: string, proc: Proc, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (proc.done) throw exitedError(proc, `waiting for ${what}`);
    try {
      if (await probe()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${last}); ${proc.log}:\n${tail(proc.log, 30)}`);
    await sleep(200);
  }
}

/**
 * Cleans up after planes whose test process died without stop(): their etcd data (~120 MB each,
 * the WAL is preallocated) goes at once, the rest (certs, logs) after a day. A directory that a
 * running process names on its command line, or whose etcd data changed recently, is left alone.
 */
function pruneRuns(base: string): void {
  let cmdlines: string[] = [];
  try {
    cmdlines = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); // empty for zombies
        } catch {
          return '';
        }
      });
  } catch {
    return; // no /proc: leave everything
  }
  const now = Date.now();
  for (const name of readdirSync(base)) {
    if (!name.startsWith('run-')) continue;
    const d = join(base, name);
    try {
      if (cmdlines.some((c) => c.includes(`${d}/`))) continue;
      const data = join(d, 'etcd-data');
      const recent = (p: string) => existsSync(p) && now - statSync(p).mtimeMs < 10 * 60_000;
      if (recent(d) || recent(data) || recent(join(d, 'pki'))) continue;
      if (now - statSync(d).mtimeMs > 24 * 3600_000) rmSync(d, { recursive: true, force: true });
      else rmSync(data, { recursive: true, force: true });
    } catch {
      /* raced with another cleaner */
    }
  }
}

// --- the plane -------------------------------------------------------------------------------

export async function startKube(opts: { dir?: string } = {}): Promise<KubeCluster> {
  const bins = await ensureKubeBinaries();
  const ownDir = !opts.dir;
  let dir: string;
  if (opts.dir) {
    dir = opts.dir;
    mkdirSync(dir, { recursive: true });
  } else {
    const base = join(cacheDir(), 'kube-run');
    mkdirSync(base, { recursive: true });
    pruneRuns(base);
    dir = mkdtempSync(join(base, 'run-'));
  }
  const pki = join(dir, 'pki');
  const { token } = await makeCerts(pki);
  const tls: Tls = {
    ca: readFileSync(join(pki, 'ca.crt'), 'utf8'),
    cert: readFileSync(join(pki, 'admin.crt'), 'utf8'),
    key: readFileSync(join(pki, 'admin.key'), 'utf8'),
  };
  const etcdData = join(dir, 'etcd-data');
  const etcdLog = join(dir, 'etcd.log');
  const apiLog = join(dir, 'kube-apiserver.log');

  const t0 = Date.now();
  const used = new Set<number>();
  // Ports are picked free but could be taken between the probe and the bind: retry a few times.
  let etcd: Proc | undefined;
  let etcdPort = 0;
  for (let attempt = 1; ; attempt++) {
    etcdPort = await freePort(used);
    const peerPort = await freePort(used);
    rmSync(etcdData, { recursive: true, force: true });
    const client = `http://127.0.0.1:${etcdPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    etcd = startProc('etcd', bins.etcd, [
      '--name', 'netform-test', '--data-dir', etcdData,
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `netform-test=${peer}`, '--initial-cluster-state', 'new',
      '--unsafe-no-fsync', '--log-level', 'warn',
    ], etcdLog);
    const e = etcd;
    try {
      await waitFor('etcd /health', e, 60_000, async () => {
        const r = await fetch(`${client}/health`);
        return r.ok && (await r.text()).includes('"health":"true"');
      });
      break;
    } catch (err) {
      await stopProc(e);
      if (attempt >= 3) throw err;
    }
  }

  let apiPort = 0;
  const server = () => `https://127.0.0.1:${apiPort}`;
  const apiArgs = () => [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
    // the `kubernetes` Endpoints may not hold a loopback IP ("may not be in the loopback range"): don't write them
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${join(pki, 'apiserver.crt')}`, `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
    `--cert-dir=${pki}`,
    `--client-ca-file=${join(pki, 'ca.crt')}`,
    `--token-auth-file=${join(pki, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    `--service-account-issuer=https://127.0.0.1:${apiPort}`,
    `--service-account-key-file=${join(pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    '--profiling=false',
    '-v=1',
  ];
  let api: Proc | undefined;
  const waitReady = async (p: Proc) => {
    await waitFor('kube-apiserver /readyz', p, 120_000, async () => (await httpsGet(`${server()}/readyz`, tls)).status === 200);
    await waitFor('namespace default', p, 60_000, async () =>
      (await httpsGet(`${server()}/api/v1/namespaces/default`, tls)).status === 200);
  };
  try {
    for (let attempt = 1; ; attempt++) {
      apiPort = await freePort(used);
      api = startProc('kube-apiserver', bins.apiserver, apiArgs(), apiLog);
      try {
        await waitReady(api);
        break;
      } catch (err) {
        await stopProc(api);
        const bindFailure = /address already in use/.test(tail(apiLog, 30));
        if (!bindFailure || attempt >= 3) throw err;
      }
    }
  } catch (err) {
    await stopProc(etcd);
    throw err;
  }
  const startupMs = Date.now() - t0;

  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: netform-test',
    '  cluster:',
    `    server: ${server()}`,
    `    certificate-authority-data: ${b64(tls.ca)}`,
    'users:',
    '- name: admin',
    '  user:',
    `    client-certificate-data: ${b64(tls.cert)}`,
    `    client-key-data: ${b64(tls.key)}`,
    '- name: admin-token',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: netform-test',
    '  context: {cluster: netform-test, user: admin}',
    '- name: netform-test-token',
    '  context: {cluster: netform-test, user: admin-token}',
    'current-context: netform-test',
    '',
  ].join('\n'), { mode: 0o600 });

  let stopped = false;
  const kubectl = (args: string[], input?: string): Promise<KubectlResult> =>
    new Promise((resolve, reject) => {
      const p = spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
      p.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      p.on('close', (code, sig) => {
        clearTimeout(timer);
        resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr });
      });
      p.stdin.on('error', () => {}); // kubectl may exit before reading everything
      p.stdin.end(input ?? '');
    });

  return {
    kubeconfig,
    server: server(),
    token,
    etcd: `http://127.0.0.1:${etcdPort}`,
    caPem: tls.ca,
    dir,
    versions: bins.versions,
    startupMs,
    kubectl,
    async restartApiserver() {
      if (stopped) throw new Error('cluster is stopped');
      if (api) await stopProc(api);
      // Same port and etcd; Go listens with SO_REUSEADDR, so the port is immediately reusable.
      api = startProc('kube-apiserver', bins.apiserver, apiArgs(), apiLog);
      await waitReady(api);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (api) await stopProc(api);
      if (etcd) await stopProc(etcd);
      // keep certs, kubeconfig and logs; the etcd WAL preallocates 64 MB, so drop the data of our own dirs
      if (ownDir) rmSync(etcdData, { recursive: true, force: true });
    },
  };
}

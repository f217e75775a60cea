// The real `netform` command (bin/netform.mjs, no test driver) on the examples, bad input,
// credentials handling, and the Node-version shim.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBackend } from '../support/fake-backend.ts';
import { ROOT, runCli, tempDir } from '../support/cli.ts';
import { canary, snapshotDir } from '../support/secrets.ts';

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

describe('netform validate', () => {
  it('accepts every example, all together', async () => {
    const r = await runCli(['validate', 'examples'], { real: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^valid: \d+ objects admitted from \d+ files$/m);
  });

  const dirs = readdirSync(join(ROOT, 'examples')).filter((d) => statSync(join(ROOT, 'examples', d)).isDirectory());
  it.each(dirs)('examples/%s is valid on its own and documented', async (d) => {
    expect(existsSync(join(ROOT, 'examples', d, 'README.md'))).toBe(true);
    const r = await runCli(['validate', `examples/${d}`], { real: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('rejects bad input with file, line, document, field and reason, and exits 1', async () => {
    const dir = tempDir('validate');
    writeFileSync(
      join(dir, 'bad.yaml'),
      `apiVersion: netform.io/v1alpha1
kind: VlanPool
metadata: {name: p}
spec: {ranges: [{physicalNetwork: physnet1, min: 10, max: 20}], reserved: [{min: 15}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: n
spec:
  physicalNetwork: physnet1
  vlan: {id: 15}
  mtu: 100000
`,
    );
    const r = await runCli(['validate', dir], { real: true });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      `${join(dir, 'bad.yaml')}:13:3: document 2 (Network/n): spec.mtu: must be <= 9216`,
      // The version is still served, with a warning once per file (for the documents admitted).
      `warning: ${join(dir, 'bad.yaml')}:1: 1 document in netform.io/v1alpha1: netform.io/v1alpha1 is deprecated: use netform.io/v1beta1 (\`netform convert\` rewrites manifests)`,
    ]);
    // Fix the schema error: the semantic one (a reserved VLAN) shows up.
    writeFileSync(join(dir, 'bad.yaml'), readFileSync(join(dir, 'bad.yaml'), 'utf8').replace('mtu: 100000', 'mtu: 9000'));
    const r2 = await runCli(['validate', dir, '-o', 'json'], { real: true });
    expect(r2.code).toBe(1);
    const j = JSON.parse(r2.stdout) as { valid: boolean; objects: string[]; errors: { line: number; field: string; message: string; documentIndex: number }[] };
    expect(j.valid).toBe(false);
    expect(j.objects).toEqual(['VlanPool/p']);
    expect(j.errors).toMatchObject([{ line: 12, documentIndex: 1, field: 'spec.vlan.id', message: 'VLAN 15 on physnet1 is reserved by VlanPool "p"' }]);
  });
});

describe('netform apply / plan / status on the embedded default', () => {
  it('converges examples/quickstart, keeps the VLANs across runs, and plans nothing more', async () => {
    const state = join(tempDir('quickstart'), 'state');
    const plan0 = await runCli(['plan', '--dir', 'examples/quickstart', '--state', state], { real: true });
    expect(plan0.code).toBe(2);
    expect(plan0.stdout).toContain('+ Network/db  netform vlan  (allocate) — VLAN 101 from VlanPool tenant-vlans');
    expect(plan0.stdout).toContain('+ Network/web  netform vlan  (allocate) — VLAN 102 from VlanPool tenant-vlans');
    expect(existsSync(state)).toBe(false); // plan never writes

    // The demo host is a network namespace of this test's own (not the quick start's default name).
    const demo = ['--demo', `nfqs-${process.pid}`, '--log-level', 'warn'];
    const r = await runCli(['apply', '--dir', 'examples/quickstart', '--state', state, ...demo], { real: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const again = await runCli(['apply', '--dir', 'examples/quickstart', '--state', state, ...demo], { real: true });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Host\/demo\s+True\s+True\s+0\/3 out of sync/);
    expect(again.stdout).toMatch(/VnicAttachment\/shop\/web1-nic1\s+True\s+True\s+56:6f:00:00:01:01/);
    const status = await runCli(['status', '--state', state], { real: true });
    expect(status.stdout).toMatch(/Network\/db\s+True\s+True\s+VLAN 101/);
    expect(status.stdout).toMatch(/Network\/web\s+True\s+True\s+VLAN 102/);
    expect(status.stdout).toMatch(/VlanPool\/tenant-vlans\s+True\s+True\s+2 allocated, 87 free/);
    const plan = await runCli(['plan', '--dir', 'examples/quickstart', '--state', state], { real: true });
    expect(plan.code).toBe(0);
  });

  it('an unreachable provider is Unavailable with the reason, retried with backoff, and apply exits 1 at its timeout', async () => {
    const dir = tempDir('unreachable');
    // A loopback port nothing listens on.
    const port = await new Promise<number>((res) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
    writeFileSync(join(dir, 'creds.yaml'), `username: u\npassword: ${canary('e2e-cli-unreachable')}\n`, { mode: 0o600 });
    writeFileSync(
      join(dir, 'p.yaml'),
      `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: ucs}\nspec: {type: ucsm, endpoint: "http://127.0.0.1:${port}", credentials: {file: creds.yaml}}\n`,
    );
    const state = join(dir, 'state');
    const r = await runCli(['apply', '--dir', dir, '--state', state, '--timeout', '3'], { real: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('apply: not converged after 3s');
    const s = await runCli(['status', '--state', state, '-o', 'json'], { real: true });
    const cond = (JSON.parse(s.stdout) as { status: { conditions: { type: string; status: string; reason: string; message?: string }[] } }[])[0]!.status.conditions;
    expect(cond.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Unavailable' });
    expect(cond.find((c) => c.type === 'Synced')).toMatchObject({ status: 'False', reason: 'ReconcileError' });
    expect(cond.find((c) => c.type === 'Synced')!.message).toMatch(/ECONNREFUSED|connect/);
    expect(cond.find((c) => c.type === 'Reconciling')?.status).toBe('True');
  });
});

describe('credentials', () => {
  const backend = new FakeBackend();
  beforeAll(() => backend.start());
  afterAll(() => backend.stop());
  const SECRET = canary('e2e-cli'); // registered: the run's secrets scan looks for it too

  function provider(dir: string, mode: number): void {
    writeFileSync(join(dir, 'creds.yaml'), `username: netform\npassword: ${SECRET}\n`);
    chmodSync(join(dir, 'creds.yaml'), mode);
    writeFileSync(
      join(dir, 'p.yaml'),
      `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: lab}\nspec: {type: ucsm, endpoint: "${backend.url}", credentials: {file: creds.yaml}}\n`,
    );
  }

  it('a credentials file readable by others is refused with a reason naming the file; the secret appears nowhere', async () => {
    const dir = tempDir('creds-open');
    provider(dir, 0o644);
    const state = join(dir, 'state');
    const r = await runCli(['apply', '--dir', dir, '--state', state, '--timeout', '5', '--log-level', 'debug']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`credentials file ${join(dir, 'creds.yaml')} is readable by group or others (mode 644); run chmod 600 on it`);
    const s = await runCli(['status', '--state', state, '-o', 'json']);
    expect(s.stdout).toContain('"reason": "CredentialsError"');
    snapshotDir(state, 'e2e-cli-creds-open');
    for (const text of [r.stdout, r.stderr, s.stdout, ...allFiles(state).map((f) => readFileSync(f, 'utf8'))]) expect(text).not.toContain(SECRET);
  });

  it('a 0600 credentials file is used, and the secret still appears nowhere', async () => {
    const dir = tempDir('creds-ok');
    provider(dir, 0o600);
    const state = join(dir, 'state');
    const r = await runCli(['apply', '--dir', dir, '--state', state, '--log-level', 'trace']);
    expect(r.code).toBe(0);
    snapshotDir(state, 'e2e-cli-creds-ok');
    for (const text of [r.stdout, r.stderr, ...allFiles(state).map((f) => readFileSync(f, 'utf8'))]) expect(text).not.toContain(SECRET);
  });
});

describe('the Node version shim', () => {
  const systemNode = '/usr/bin/node';
  const major = existsSync(systemNode) ? Number(execFileSync(systemNode, ['-p', 'process.versions.node.split(".")[0]']).toString()) : 0;
  it.runIf(major > 0 && major < 24)(`bin/netform.mjs started by the system Node (v${major}) hands over to the Node that npm ci installed`, () => {
    const out = execFileSync(systemNode, ['bin/netform.mjs', 'validate', 'examples/quickstart'], { cwd: ROOT }).toString();
    expect(out).toContain('valid: 13 objects admitted from 7 files');
    const version = execFileSync(systemNode, ['bin/netform.mjs', '--version'], { cwd: ROOT }).toString().trim();
    expect(version).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
});

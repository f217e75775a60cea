// Root vitest globalSetup (runs once per `vitest run`, whatever projects run): provides this run's
// artifacts directory (NETFORM_TEST_ARTIFACTS, inherited by the workers and the CLI children they
// start), and in teardown scans everything captured there for every credential the tests registered
// (test/support/secrets.ts). A hit fails the run: the teardown throws, vitest exits non-zero.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS_ENV, REGISTRY_DIR, readRegistry, report, scan } from '../support/secrets.ts';

export default function setup(): () => void {
  const runId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = process.env[ARTIFACTS_ENV] || join(tmpdir(), `netform-test-artifacts-${runId}`);
  process.env[ARTIFACTS_ENV] = dir;
  mkdirSync(join(dir, REGISTRY_DIR), { recursive: true });
  return () => {
    const secrets = readRegistry(dir);
    const r = scan(dir, secrets);
    process.stderr.write(report(dir, r) + '\n');
    if (r.hits.length) throw new Error(`secrets scan: ${r.hits.length} hits of registered credentials in what netform wrote (see above)`);
  };
}

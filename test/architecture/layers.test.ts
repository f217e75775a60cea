// The layer rules (.dependency-cruiser.cjs, run by `npm test` over src/) really catch what they
// forbid: fixture trees with one violating import each fail with the rule's name; a clean tree passes.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');

/** A tree of modules: path → the relative imports it makes. */
type Tree = Record<string, string[]>;

const CLEAN: Tree = {
  'src/api/kinds.ts': [],
  'src/state/store.ts': ['../api/kinds.ts'],
  'src/drivers/driver.ts': ['../api/kinds.ts'],
  'src/drivers/neutron/driver.ts': ['../driver.ts', '../../api/kinds.ts'],
  'src/drivers/ucsm/driver.ts': ['../driver.ts'],
  'src/controllers/runtime/engine.ts': ['../../drivers/driver.ts', '../../state/store.ts'],
  'src/adapters/files/directory.ts': ['../../state/store.ts', '../../drivers/driver.ts'],
  'src/adapters/kube/client.ts': ['../../api/kinds.ts'],
  'src/config.ts': [],
  'src/cli/main.ts': ['../config.ts', '../adapters/files/directory.ts', '../controllers/runtime/engine.ts', '../drivers/neutron/driver.ts'],
};

async function violations(extra: Tree): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'netform-layers-'));
  for (const [path, imports] of Object.entries({ ...CLEAN, ...extra })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    const body = imports.map((i, n) => `import * as m${n} from '${i}';\nvoid m${n};`).join('\n');
    writeFileSync(join(dir, path), `${body}\nexport const x = 1;\n`);
  }
  const r = await promisify(execFile)(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'json'], { cwd: dir, maxBuffer: 16 << 20 }).catch(
    (e: { stdout: string }) => ({ stdout: e.stdout }),
  );
  const out = JSON.parse(r.stdout) as { summary: { violations: { rule: { name: string }; from: string; to: string }[]; totalCruised: number } };
  expect(out.summary.totalCruised).toBeGreaterThanOrEqual(Object.keys(CLEAN).length);
  return [...new Set(out.summary.violations.map((v) => v.rule.name))].sort();
}

describe('layer rules', () => {
  it('a tree that keeps the layers passes', async () => {
    expect(await violations({})).toEqual([]);
  });

  it.each<[string, Tree, string[]]>([
    ['state imports the CLI', { 'src/state/store.ts': ['../cli/main.ts'] }, ['core-never-imports-adapters-or-cli', 'no-cycles', 'only-cli-imports-cli', 'state-imports-only-api']],
    ['a controller imports an adapter', { 'src/controllers/runtime/engine.ts': ['../../adapters/files/directory.ts'] }, ['core-never-imports-adapters-or-cli']],
    ['api imports state', { 'src/api/kinds.ts': ['../state/store.ts'] }, ['api-is-the-base', 'no-cycles']],
    ['one backend imports another', { 'src/drivers/ucsm/driver.ts': ['../neutron/driver.ts'] }, ['backends-are-independent']],
    ['a driver imports a controller', { 'src/drivers/ucsm/driver.ts': ['../../controllers/runtime/engine.ts'] }, ['drivers-never-import-controllers']],
    ['a controller imports a backend folder', { 'src/controllers/runtime/engine.ts': ['../../drivers/neutron/driver.ts'] }, ['controllers-use-driver-contracts']],
    ['a driver imports state', { 'src/drivers/neutron/driver.ts': ['../../state/store.ts'] }, ['drivers-never-import-state']],
    ['an adapter imports a backend', { 'src/adapters/files/directory.ts': ['../../drivers/neutron/driver.ts'] }, ['adapters-never-import-backends-or-controllers']],
    ['an adapter imports a controller', { 'src/adapters/kube/client.ts': ['../../controllers/runtime/engine.ts'] }, ['adapters-never-import-backends-or-controllers']],
    ['the kube adapter imports a file adapter', { 'src/adapters/kube/client.ts': ['../files/directory.ts'] }, ['adapters-are-independent']],
    ['a controller reads the config', { 'src/controllers/runtime/engine.ts': ['../../config.ts'] }, ['only-cli-reads-config']],
  ])('%s: refused', async (_what, extra, rules) => {
    expect(await violations(extra)).toEqual(rules);
  });

  it('the real src/ keeps them', async () => {
    const r = await promisify(execFile)(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'json'], { cwd: ROOT, maxBuffer: 64 << 20 });
    const out = JSON.parse(r.stdout) as { summary: { violations: unknown[]; totalCruised: number } };
    expect(out.summary.totalCruised).toBeGreaterThan(50);
    expect(out.summary.violations).toEqual([]);
  });
});

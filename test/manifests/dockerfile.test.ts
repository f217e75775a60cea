// What can be checked about the Dockerfile without a container engine (none runs on the
// development machines): its COPY sources exist and are not excluded by .dockerignore, the programs
// the code spawns come from packages it installs, and `npm ci --omit=dev --ignore-scripts` leaves
// every module the runtime imports in place.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Instructions with continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const of = (op: string) => instructions.filter((l) => l.toUpperCase().startsWith(`${op} `)).map((l) => l.slice(op.length + 1).trim());

/** The programs each spawned command comes from in the image (Debian package, or the base image). */
const PROVIDED_BY: Record<string, string> = { ip: 'iproute2', ping: 'iputils-ping', grep: 'base image' };

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}
/** The files that run in the image: bin/ and src/ without tests. */
const runtimeFiles = [...walk(join(ROOT, 'bin')), ...walk(join(ROOT, 'src'))].filter(
  (f) => /\.(ts|mjs|js)$/.test(f) && !/\.test\.ts$/.test(f),
);

describe('Dockerfile', () => {
  it('builds on node:24-slim and starts `node bin/netform.mjs` as a non-root user by default', () => {
    expect(of('FROM')).toEqual(['node:24-slim']);
    expect(of('ENTRYPOINT')).toEqual(['["node", "bin/netform.mjs"]']);
    expect(of('USER')).toEqual(['node']);
    expect(of('RUN').join('\n')).toMatch(/npm ci --omit=dev/);
  });

  it('copies only what exists and what .dockerignore lets through', () => {
    const sources = of('COPY').flatMap((args) => args.split(/\s+/).slice(0, -1)).filter((a) => !a.startsWith('--'));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) {
      expect(existsSync(join(ROOT, s)), `COPY source ${s}`).toBe(true);
      expect(dockerignore, `.dockerignore excludes ${s}`).not.toContain(s.replace(/\/$/, ''));
    }
    // bin/netform.mjs imports ../src/cli/main.ts; the validators read crds/; main.ts reads package.json;
    // the console server serves console/
    for (const needed of ['bin', 'src', 'crds', 'console', 'package.json', 'package-lock.json']) expect(sources).toContain(needed);
    for (const excluded of ['node_modules', '.git']) expect(dockerignore).toContain(excluded);
  });

  it('installs a package for every program the code spawns', () => {
    const installed = of('RUN')
      .join(' ')
      .match(/apt-get install ([^&]*)/)?.[1]
      ?.split(/\s+/)
      .filter((w) => w && !w.startsWith('-'));
    expect(installed).toBeDefined();
    const spawned = new Set<string>();
    for (const f of runtimeFiles) {
      const text = readFileSync(f, 'utf8');
      // the first argument of spawn()/execFile(): every string literal in it is a program name
      for (const m of text.matchAll(/\b(?:spawn|execFile|execFileSync|spawnSync)\(\s*([^,]+),/g)) {
        for (const lit of m[1]!.matchAll(/'([^']+)'|"([^"]+)"/g)) spawned.add(lit[1] ?? lit[2]!);
      }
    }
    expect([...spawned].sort()).toEqual(expect.arrayContaining(['ip', 'ping']));
    for (const program of spawned) {
      const from = PROVIDED_BY[program];
      expect(from, `the code runs "${program}": add its Debian package to the Dockerfile and to PROVIDED_BY`).toBeDefined();
      if (from !== 'base image') expect(installed, `Dockerfile installs ${from} for ${program}`).toContain(from);
    }
  });

  it('needs nothing from devDependencies at run time', () => {
    const builtins = new Set(builtinModules);
    const missing: string[] = [];
    for (const f of runtimeFiles) {
      const text = readFileSync(f, 'utf8');
      // `import type` is erased by type stripping; every other import or dynamic import is loaded
      for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1] ?? m[2] ?? m[3]!;
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!(name in pkg.dependencies)) missing.push(`${relative(ROOT, f)}: ${spec}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('installs with --ignore-scripts safely: no production dependency has an install script', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; devOptional?: boolean; hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([name, p]) => name && p.hasInstallScript && !p.dev)
      .map(([name]) => name);
    expect(withScripts).toEqual([]);
    expect(of('RUN').join('\n')).toMatch(/npm ci [^\n]*--ignore-scripts/);
  });
});

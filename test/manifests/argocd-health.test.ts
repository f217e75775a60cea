// The Argo CD health check (manifests/argocd/health.lua) run by real Lua interpreters in a sandbox
// shaped like Argo CD's (test/manifests/argocd-sandbox.lua: global `obj`, base and table libraries
// only, no string library, the returned table is the health), on objects in the shapes netform's
// controllers write. Lua 5.1 is what Argo CD's gopher-lua implements; 5.4 catches the opposite
// mistakes. The argocd-cm patches must carry exactly this script for every kind.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCommands } from '../harness/apt.ts';
import { HEALTH_LUA, kinds, PER_KIND_PATCH, renderPerKind, renderWildcard, WILDCARD_PATCH } from './argocd-render.ts';
import { STATUS_CASES } from './status-cases.ts';

const SANDBOX = fileURLToPath(new URL('./argocd-sandbox.lua', import.meta.url));
const INTERPRETERS = ['lua5.1', 'lua5.4'];
const VALID = new Set(['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown']);

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** A JSON value as a Lua table constructor (what gopher-lua's decodeValue builds from the object). */
function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a JSON number: ${v}`);
    return Number.isInteger(v) ? String(v) : v.toExponential();
  }
  if (typeof v === 'string') {
    let out = '"';
    for (const byte of Buffer.from(v, 'utf8')) {
      out += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\${byte}`;
    }
    return `${out}"`;
  }
  if (Array.isArray(v)) return `{${v.map(toLua).join(', ')}}`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `[${toLua(k)}] = ${toLua(x)}`)
      .join(', ')}}`;
  }
  throw new Error(`cannot encode ${typeof v}`);
}

function health(lua: string, script: string, obj: unknown): { status: string; message: string } {
  const r = spawnSync(lua, [SANDBOX, script], { input: toLua(obj), encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${lua} ${script} exited ${r.status}: ${r.stderr}`);
  const [status, message, rest] = r.stdout.split('\0');
  expect(rest).toBe('');
  return { status: status!, message: message! };
}

// This file installs the interpreters it runs on when they are missing (a fresh machine, `npm test` alone).
beforeAll(() => ensureCommands({ 'lua5.1': 'lua5.1', 'lua5.4': 'lua5.4' }), 600_000);

describe('Argo CD health check (manifests/argocd/health.lua)', () => {
  it('has Lua 5.1 and 5.4 interpreters to run on (test/harness/install-tools.sh installs them)', () => {
    for (const lua of INTERPRETERS) expect(which(lua), `${lua} is not installed`).toBe(true);
  });

  it('covers every kind in crds/', () => {
    const covered = new Set(STATUS_CASES.map((c) => c.object.kind));
    expect([...covered].sort()).toEqual([...kinds()].sort());
  });

  describe.each(INTERPRETERS)('on %s', (lua) => {
    it.each(STATUS_CASES)('$name', (c) => {
      const h = health(lua, HEALTH_LUA, c.object);
      expect(VALID.has(h.status)).toBe(true);
      expect(h.status).toBe(c.argo.status);
      if (typeof c.argo.message === 'string') expect(h.message).toBe(c.argo.message);
      else expect(h.message).toMatch(c.argo.message);
    });

    it('falls back to the reason when a condition has no message', () => {
      const obj = {
        apiVersion: 'netform.io/v1alpha1',
        kind: 'Network',
        metadata: { name: 'x', generation: 1 },
        status: {
          observedGeneration: 1,
          conditions: [
            { type: 'Ready', status: 'False', reason: 'Unavailable' },
            { type: 'Stalled', status: 'True', reason: 'InvalidSpec' },
          ],
        },
      };
      expect(health(lua, HEALTH_LUA, obj)).toEqual({ status: 'Degraded', message: 'InvalidSpec' });
    });

    it('passes non-ASCII messages through unchanged', () => {
      const msg = 'Netzwerk „mgmt“ – VLAN 20 ✓';
      const obj = {
        kind: 'Network',
        metadata: { name: 'x', generation: 1 },
        status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Available', message: msg }] },
      };
      expect(health(lua, HEALTH_LUA, obj)).toEqual({ status: 'Healthy', message: msg });
    });
  });

  it('the sandbox really withholds the string library (a script using it fails)', () => {
    const probe = fileURLToPath(new URL('./fixtures/uses-string.lua', import.meta.url));
    for (const lua of INTERPRETERS) {
      const r = spawnSync(lua, [SANDBOX, probe], { input: '{}', encoding: 'utf8' });
      expect(r.status, `${lua}: ${r.stdout}`).toBe(1);
      expect(r.stderr).toMatch(/string|index|nil/);
    }
  });

  describe('argocd-cm patches', () => {
    const lua = readFileSync(HEALTH_LUA, 'utf8');

    it('are up to date with health.lua and crds/ (else: npx node test/manifests/argocd-render.ts --write)', () => {
      expect(readFileSync(PER_KIND_PATCH, 'utf8')).toBe(renderPerKind(lua, kinds()));
      expect(readFileSync(WILDCARD_PATCH, 'utf8')).toBe(renderWildcard(lua));
    });

    it('carry the script byte for byte under one key per kind, keys Argo CD accepts in a ConfigMap', () => {
      const cm = load(readFileSync(PER_KIND_PATCH, 'utf8')) as { kind: string; metadata: { name: string }; data: Record<string, string> };
      expect(cm.kind).toBe('ConfigMap');
      expect(cm.metadata.name).toBe('argocd-cm');
      expect(Object.keys(cm.data).sort()).toEqual(kinds().map((k) => `resource.customizations.health.netform.io_${k}`).sort());
      for (const [key, script] of Object.entries(cm.data)) {
        expect(key).toMatch(/^[-._a-zA-Z0-9]+$/); // the apiserver's ConfigMap key rule
        expect(script).toBe(lua);
      }
    });

    it('the wildcard form carries it under netform.io/* in resource.customizations', () => {
      const cm = load(readFileSync(WILDCARD_PATCH, 'utf8')) as { data: Record<string, string> };
      expect(Object.keys(cm.data)).toEqual(['resource.customizations']);
      const customizations = load(cm.data['resource.customizations']!) as Record<string, Record<string, string>>;
      expect(Object.keys(customizations)).toEqual(['netform.io/*']);
      expect(customizations['netform.io/*']!['health.lua']).toBe(lua);
    });

    it('the script parses as a chunk on both interpreters', () => {
      for (const l of INTERPRETERS) {
        const check = l === 'lua5.1' ? `assert(loadstring(io.read("*a")))` : `assert(load(io.read("a")))`;
        execFileSync(l, ['-e', check], { input: lua });
      }
    });
  });
});

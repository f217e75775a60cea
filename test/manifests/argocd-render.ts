// Renders the argocd-cm patches in manifests/argocd/ from manifests/argocd/health.lua and the kinds
// in crds/, so the Lua exists once. argocd-health.test.ts fails when the files are stale;
// regenerate them with:  npx node test/manifests/argocd-render.ts --write
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCrds } from '../../src/api/crds.ts';

export const ARGOCD_DIR = fileURLToPath(new URL('../../manifests/argocd/', import.meta.url));
export const HEALTH_LUA = `${ARGOCD_DIR}health.lua`;
/** One `resource.customizations.health.<group>_<kind>` key per kind: merges into any argocd-cm. */
export const PER_KIND_PATCH = `${ARGOCD_DIR}argocd-cm-health.yaml`;
/** The wildcard form (`netform.io/*`), only possible in the single `resource.customizations` key. */
export const WILDCARD_PATCH = `${ARGOCD_DIR}argocd-cm-health-wildcard.yaml`;

const indent = (text: string, n: number) =>
  text
    .split('\n')
    .map((l) => (l ? ' '.repeat(n) + l : l))
    .join('\n');

function header(what: string): string {
  return [
    `# GENERATED from health.lua by test/manifests/argocd-render.ts; do not edit (run \`npx node test/manifests/argocd-render.ts --write\`).`,
    what,
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: argocd-cm',
    '  namespace: argocd',
    'data:',
  ].join('\n');
}

export function renderPerKind(lua: string, kinds: readonly string[]): string {
  if (!lua.endsWith('\n') || lua.endsWith('\n\n')) throw new Error('health.lua must end with exactly one newline');
  const what = [
    '# Argo CD health checks for every netform.io kind, one key per kind so that a strategic-merge',
    '# patch adds them to an existing argocd-cm without touching other keys:',
    '#   kubectl -n argocd patch configmap argocd-cm --patch-file manifests/argocd/argocd-cm-health.yaml',
  ].join('\n');
  const keys = [...kinds].sort().map((k) => `  resource.customizations.health.netform.io_${k}: |\n${indent(lua, 4)}`);
  return `${header(what)}\n${keys.join('')}`;
}

export function renderWildcard(lua: string): string {
  const what = [
    '# The same check once for all netform.io kinds (`netform.io/*`). Argo CD supports wildcards only in',
    '# the single `resource.customizations` key, and a patch REPLACES that whole key: merge it by hand',
    '# if your argocd-cm already has one. Prefer argocd-cm-health.yaml otherwise.',
  ].join('\n');
  return `${header(what)}\n  resource.customizations: |\n    netform.io/*:\n      health.lua: |\n${indent(lua, 8)}`;
}

export function kinds(): string[] {
  return loadCrds().map((c) => c.kind);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const lua = readFileSync(HEALTH_LUA, 'utf8');
  const files = { [PER_KIND_PATCH]: renderPerKind(lua, kinds()), [WILDCARD_PATCH]: renderWildcard(lua) };
  for (const [file, text] of Object.entries(files)) {
    if (process.argv.includes('--write')) writeFileSync(file, text);
    else if (readFileSync(file, 'utf8') !== text) {
      console.error(`${file} is stale: run npx node test/manifests/argocd-render.ts --write`);
      process.exitCode = 1;
    }
  }
}

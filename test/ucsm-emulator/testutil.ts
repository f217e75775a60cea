// Helpers shared by the emulator's tests: parse responses, compare shapes.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type El, parseXml } from './xml.ts';

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ucsm');

export function fixture(name: string): string {
  return readFileSync(join(FIXTURE_DIR, name), 'utf8');
}

export const xml = (text: string): El => parseXml(text);

/** Attribute names, sorted. */
export const names = (e: El): string[] => Object.keys(e.attrs).sort();

/** The first child element with that name (throws when missing). */
export function child(e: El, name: string): El {
  const c = e.children.find((x) => x.name === name);
  if (!c) throw new Error(`no <${name}> in <${e.name}>: ${JSON.stringify(e)}`);
  return c;
}

/** Element names as a nested outline, e.g. `configConfMos(outConfigs(pair(mgmtController)))`. */
export function outline(e: El): string {
  return e.children.length === 0 ? e.name : `${e.name}(${e.children.map(outline).join(',')})`;
}

export const COOKIE_RE = /^\d{9,}\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const ERROR_ATTRS = ['errorCode', 'invocationResult', 'errorDescr'] as const;

/** Pick some attributes of an element. */
export function pick(e: El, keys: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(keys.map((k) => [k, e.attrs[k]]));
}

/** A configConfMos request with one pair per MO XML (each MO must carry its dn). */
export function confMos(cookie: string, mos: string[], hier = false): string {
  const pairs = mos.map((mo) => {
    const dn = /\sdn="([^"]+)"/.exec(mo)?.[1];
    if (!dn) throw new Error(`no dn in ${mo}`);
    return `<pair key="${dn}">${mo}</pair>`;
  });
  return `<configConfMos cookie="${cookie}" inHierarchical="${hier}"><inConfigs>${pairs.join('')}</inConfigs></configConfMos>`;
}

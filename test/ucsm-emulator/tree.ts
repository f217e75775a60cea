// The emulator's MO tree: objects by DN, a child index and a class index, and
// an undo journal so a configConfMo(s) request is all-or-nothing (changes are
// applied one by one, and rolled back when any later step fails).

import { type ClassSchema, type Mo, type TreeView, SCHEMAS, lastRn, namingFromRn, parentDn } from './schema.ts';

const clone = (mo: Mo): Mo => ({ classId: mo.classId, dn: mo.dn, attrs: { ...mo.attrs } });

export class MoTree implements TreeView {
  readonly #mos = new Map<string, Mo>();
  readonly #kids = new Map<string, Set<string>>();
  readonly #classes = new Map<string, Set<string>>();
  #journal: Map<string, Mo | undefined> | undefined;

  get size(): number {
    return this.#mos.size;
  }

  get(dn: string): Mo | undefined {
    return this.#mos.get(dn);
  }

  childrenOf(dn: string): Mo[] {
    const kids = this.#kids.get(dn);
    if (!kids) return [];
    return [...kids].map((k) => this.#mos.get(k)).filter((m): m is Mo => m !== undefined);
  }

  byClass(classId: string): Mo[] {
    const dns = this.#classes.get(classId);
    if (!dns) return [];
    return [...dns].map((k) => this.#mos.get(k)).filter((m): m is Mo => m !== undefined);
  }

  all(): Mo[] {
    return [...this.#mos.values()];
  }

  /** Store (create or replace) one MO; the naming properties are filled in from the rn. */
  set(mo: Mo): void {
    const schema: ClassSchema | undefined = SCHEMAS[mo.classId];
    const attrs = { ...mo.attrs };
    if (schema) {
      const naming = namingFromRn(schema, lastRn(mo.dn));
      if (naming) for (const [k, v] of Object.entries(naming)) attrs[k] ??= v;
    }
    delete attrs['dn'];
    delete attrs['rn'];
    delete attrs['status'];
    this.#record(mo.dn);
    this.#raw_set({ classId: mo.classId, dn: mo.dn, attrs });
  }

  /** Remove an MO and its whole subtree; returns the removed MOs (subtree first, then the MO). */
  delete(dn: string): Mo[] {
    const removed: Mo[] = [];
    const walk = (d: string): void => {
      for (const k of [...(this.#kids.get(d) ?? [])]) walk(k);
      const mo = this.#mos.get(d);
      if (mo) {
        this.#record(d);
        this.#raw_delete(d);
        removed.push(mo);
      }
    };
    walk(dn);
    return removed;
  }

  begin(): void {
    this.#journal = new Map();
  }

  commit(): void {
    this.#journal = undefined;
  }

  rollback(): void {
    const j = this.#journal;
    this.#journal = undefined;
    if (!j) return;
    for (const [dn, prev] of [...j.entries()].reverse()) {
      if (prev) this.#raw_set(prev);
      else this.#raw_delete(dn);
    }
  }

  #record(dn: string): void {
    if (!this.#journal || this.#journal.has(dn)) return;
    const prev = this.#mos.get(dn);
    this.#journal.set(dn, prev ? clone(prev) : undefined);
  }

  #raw_set(mo: Mo): void {
    const prev = this.#mos.get(mo.dn);
    if (prev && prev.classId !== mo.classId) this.#classes.get(prev.classId)?.delete(mo.dn);
    this.#mos.set(mo.dn, mo);
    const p = parentDn(mo.dn);
    let kids = this.#kids.get(p);
    if (!kids) this.#kids.set(p, (kids = new Set()));
    kids.add(mo.dn);
    let cls = this.#classes.get(mo.classId);
    if (!cls) this.#classes.set(mo.classId, (cls = new Set()));
    cls.add(mo.dn);
  }

  #raw_delete(dn: string): void {
    const mo = this.#mos.get(dn);
    if (!mo) return;
    this.#mos.delete(dn);
    this.#kids.get(parentDn(dn))?.delete(dn);
    this.#classes.get(mo.classId)?.delete(dn);
  }
}

/**
 * All attributes of an MO as the emulator returns it: defaults for attributes
 * never set, the stored (client-set) ones, and computed read-only ones, plus `dn`.
 * Attributes stored explicitly (e.g. seeded out of band) win over computed ones.
 */
export function fullAttrs(tree: TreeView, mo: Mo): Record<string, string> {
  const schema = SCHEMAS[mo.classId];
  const eff: Record<string, string> = { ...(schema?.defaults ?? {}), ...mo.attrs };
  if (schema?.derive) {
    for (const [k, v] of Object.entries(schema.derive(eff, mo.dn, tree))) {
      if (!(k in mo.attrs)) eff[k] = v;
    }
  }
  eff['dn'] = mo.dn;
  return eff;
}

/** Attributes sorted by name, as real UCSM responses list them (fixtures 10, 17, 18). */
export function sortedAttrs(attrs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(attrs).sort()) out[k] = attrs[k]!;
  return out;
}

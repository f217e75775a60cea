// A bounded table for sharing equal values between many objects (memory at scale, issue 15).
/**
 * A bounded table of shared values: what was met among about the last `size` distinct values is
 * found again (two generations; a hit in the older one moves to the newer). Records repeat the same
 * kinds, condition types, reasons, messages and timestamps of a pass; a table that kept every value
 * met (200,000 strings) cost more in its own hash table than it saved. Values are never evicted
 * while referenced elsewhere, only forgotten by the table.
 */
export class Shared<T> {
  #now = new Map<string, T>();
  #before = new Map<string, T>();
  readonly #size: number;
  constructor(size: number) {
    this.#size = size;
  }
  get(key: string, make: () => T): T {
    let v = this.#now.get(key);
    if (v !== undefined) return v;
    v = this.#before.get(key) ?? make();
    if (this.#now.size >= this.#size) {
      this.#before = this.#now;
      this.#now = new Map();
    }
    // A table of strings keyed by themselves keeps the value as the key too: the key given may be a
    // slice of a larger text (a parsed file) that the value, a copy, no longer keeps alive.
    this.#now.set(typeof v === 'string' && v === key ? v : key, v);
    return v;
  }
}


// Rx/Tx history per host interface, kept across view events (and across visits to the host's page)
// for the sparklines. One sample per view generation, the last SAMPLES of them.

/** @typedef {import('../types.js').ConsoleView} ConsoleView */
/** @typedef {{ rx: number | null, tx: number | null }} Sample */

export const SAMPLES = 60;

export class Samples {
  /** @type {Map<string, Sample[]>} */
  #series = new Map();
  /** @type {string | undefined} */
  #last;

  /**
   * Takes one sample of every interface of every host (once per generation).
   * @param {ConsoleView} view
   */
  record(view) {
    if (view.generatedAt === this.#last) return;
    this.#last = view.generatedAt;
    const seen = new Set();
    for (const host of view.hosts ?? []) {
      for (const i of host.interfaces ?? []) {
        const k = `${host.name}\u0000${i.name}`;
        seen.add(k);
        let s = this.#series.get(k);
        if (!s) this.#series.set(k, (s = []));
        s.push({ rx: i.rxMbps ?? null, tx: i.txMbps ?? null });
        if (s.length > SAMPLES) s.splice(0, s.length - SAMPLES);
      }
    }
    for (const k of this.#series.keys()) if (!seen.has(k)) this.#series.delete(k);
  }

  /**
   * @param {string} host
   * @param {string} iface
   * @returns {Sample[]}
   */
  of(host, iface) {
    return this.#series.get(`${host}\u0000${iface}`) ?? [];
  }
}

// A counting semaphore: at most `size` holders at once, served in arrival order. Several engines of
// one process share one (a sharded controller's engines, one per held shard: ADR 25), so the
// process's `--concurrency` bounds its reconciles whatever number of shards it holds.
export class Slots {
  readonly size: number;
  #held = 0;
  readonly #waiting: { grant: () => void }[] = [];

  constructor(size: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`Slots: size must be an integer >= 1, not ${size}`);
    this.size = size;
  }

  /** Holders now. */
  get held(): number {
    return this.#held;
  }

  /** Waits for a slot; resolves to its release (call it once). Rejects with the signal's reason if it
   *  aborts first (no slot is taken then). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const release = () => {
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const next = this.#waiting.shift();
        if (next) next.grant();
        else this.#held--;
      };
    };
    if (this.#held < this.size) {
      this.#held++;
      return Promise.resolve(release());
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release());
        },
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }
}

// One job: mutual exclusion per key, in process. The daemon is one process, so
// this is all the locking a chunk scope needs: a backup and a collection of the
// same volume's chunks in the same container never overlap (a collection could
// otherwise delete a chunk a running backup has just decided not to upload).
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  isLocked(key: string): boolean {
    return this.#tails.has(key);
  }
}

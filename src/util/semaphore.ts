// One job: at most `n` holders at once, waiters served in arrival order.
export class Semaphore {
  #free: number;
  readonly #waiters: Array<() => void> = [];

  constructor(n: number) {
    this.#free = Math.max(1, Math.floor(n));
  }

  /** Waits for a permit; the returned function gives it back (calling it twice gives back one). */
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiters.push(r));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#free++;
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

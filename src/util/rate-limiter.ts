// One job: a token bucket in bytes per second, shared by the tasks of one job,
// so a backup or restore can be kept from starving the tenants' own I/O.
import { setTimeout as sleep } from 'node:timers/promises';

export class RateLimiter {
  readonly #bytesPerSecond: number;
  #available: number;
  #last = performance.now();
  // Requests are served in order, so a big chunk is not starved by small ones.
  #queue: Promise<void> = Promise.resolve();

  /** mbps: MB/s (10^6 bytes); the bucket holds one second's worth. */
  constructor(mbps: number) {
    this.#bytesPerSecond = mbps * 1e6;
    this.#available = this.#bytesPerSecond;
  }

  take(bytes: number, signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#wait(bytes, signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #wait(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const t = performance.now();
      this.#available = Math.min(this.#bytesPerSecond, this.#available + ((t - this.#last) / 1000) * this.#bytesPerSecond);
      this.#last = t;
      // A request larger than the bucket goes once the bucket is full, leaving it in debt.
      if (this.#available >= Math.min(bytes, this.#bytesPerSecond)) {
        this.#available -= bytes;
        return;
      }
      const need = Math.min(bytes, this.#bytesPerSecond) - this.#available;
      await sleep(Math.max(1, (need / this.#bytesPerSecond) * 1000), undefined, signal ? { signal } : undefined);
    }
  }
}

export function limiterFor(mbps: number): RateLimiter | undefined {
  return mbps > 0 ? new RateLimiter(mbps) : undefined;
}

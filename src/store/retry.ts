// One job: retry any ObjectStore's calls on transient failures (restic's
// RetryBackend), so stores only classify errors and never loop themselves.
//
// Policy: exponential backoff with equal jitter — before retry k (k = 1, 2, …)
// wait s/2 + random(0, s/2), s = min(maxDelayMs, baseDelayMs·2^(k−1)) — bounded by `attempts` calls
// and by `maxElapsedMs` (no wait that would end past it starts). Only errors
// isRetryable() accepts are retried. A not-found always passes through unchanged,
// and so does a permanent error on the first attempt. Otherwise, on giving up, the
// last error is wrapped in a StoreError that says how many attempts over how long
// (its cause is the last error; its code and status are copied).
//
// Retrying is safe because the contract makes every call idempotent; note a
// retried delete whose first try deleted the object (reply lost) resolves false.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  StoreError,
  isNotFound,
  type GetOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoreProvider,
} from './object-store.js';
import { untilAborted } from '../util/abort.js';

export interface RetryInfo {
  op: string;
  container: string;
  /** the object name (the prefix for list, '' for ensureContainer) */
  name: string;
  /** the attempt that just failed, from 1 */
  attempt: number;
  /** how long it waits before the next attempt */
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxElapsedMs?: number;
  onRetry?: (info: RetryInfo) => void;
  /** waits ms; tests inject a fake. An abort stops the wait whether or not sleep honours the signal. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** the clock for maxElapsedMs, in ms (tests inject one that the fake sleep advances) */
  now?: () => number;
  /** the jitter source, in [0, 1) */
  random?: () => number;
}

type Policy = Required<Omit<RetryOptions, 'onRetry'>> & Pick<RetryOptions, 'onRetry'>;

/** Network failures below the HTTP layer (Node sockets and undici): the request may not have arrived. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * Whether another attempt may succeed. A StoreError's own `retryable` decides
 * (the store classified it); otherwise a network error code anywhere in the cause
 * chain (fetch wraps socket errors: TypeError('fetch failed', { cause })).
 */
export function isRetryable(err: unknown): boolean {
  let e = err;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    if (e instanceof StoreError) return e.retryable;
    if ((e as { name?: unknown }).name === 'AbortError') return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export class RetryStore implements ObjectStore {
  readonly describe: string;
  readonly #inner: ObjectStore;
  readonly #policy: Policy;

  constructor(inner: ObjectStore, opts: RetryOptions = {}) {
    this.#inner = inner;
    this.describe = inner.describe;
    this.#policy = {
      attempts: opts.attempts ?? 6,
      baseDelayMs: opts.baseDelayMs ?? 200,
      maxDelayMs: opts.maxDelayMs ?? 10_000,
      maxElapsedMs: opts.maxElapsedMs ?? 120_000,
      onRetry: opts.onRetry,
      // an abort clears the timer; untilAborted (in Tries) rejects with the signal's reason
      sleep: opts.sleep ?? ((ms, signal) => sleep(ms, undefined, { signal })),
      now: opts.now ?? (() => performance.now()),
      random: opts.random ?? Math.random,
    };
    if (!(this.#policy.attempts >= 1)) throw new RangeError(`RetryStore: attempts must be at least 1, not ${opts.attempts}`);
  }

  ensureContainer(container: string, opts?: GetOptions): Promise<void> {
    return this.#run('ensureContainer', container, '', opts?.signal, () => this.#inner.ensureContainer(container, opts));
  }

  put(container: string, name: string, body: Buffer, opts?: PutOptions): Promise<void> {
    return this.#run('put', container, name, opts?.signal, () => this.#inner.put(container, name, body, opts));
  }

  get(container: string, name: string, opts?: GetOptions): Promise<Buffer[]> {
    return this.#run('get', container, name, opts?.signal, () => this.#inner.get(container, name, opts));
  }

  flush(opts?: GetOptions): Promise<void> {
    return this.#run('flush', '', '', opts?.signal, () => this.#inner.flush(opts));
  }

  head(container: string, name: string, opts?: GetOptions): Promise<ObjectInfo | null> {
    return this.#run('head', container, name, opts?.signal, () => this.#inner.head(container, name, opts));
  }

  delete(container: string, name: string, opts?: GetOptions): Promise<boolean> {
    return this.#run('delete', container, name, opts?.signal, () => this.#inner.delete(container, name, opts));
  }

  /**
   * The listing is retried as a whole only when it fails before yielding anything.
   * Once objects have reached the caller, a retry would repeat them (or need a
   * resume point the contract lacks), so a later error propagates as it is.
   */
  async *list(container: string, prefix: string, opts?: GetOptions): AsyncGenerator<ObjectInfo> {
    const tries = new Tries(this.#policy, 'list', container, prefix, opts?.signal);
    for (;;) {
      opts?.signal?.throwIfAborted();
      let yielded = false;
      try {
        for await (const info of this.#inner.list(container, prefix, opts)) {
          yielded = true;
          yield info;
        }
        return;
      } catch (err) {
        if (yielded) throw err;
        await tries.failed(err);
      }
    }
  }

  async #run<T>(op: string, container: string, name: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    const tries = new Tries(this.#policy, op, container, name, signal);
    for (;;) {
      signal?.throwIfAborted();
      try {
        return await call();
      } catch (err) {
        await tries.failed(err);
      }
    }
  }
}

/** One call's attempts: decides after each failure whether to wait and retry or to throw. */
class Tries {
  readonly policy: Policy;
  readonly op: string;
  readonly container: string;
  readonly name: string;
  readonly signal: AbortSignal | undefined;
  readonly #start: number;
  #attempt = 0;

  constructor(policy: Policy, op: string, container: string, name: string, signal: AbortSignal | undefined) {
    this.policy = policy;
    this.op = op;
    this.container = container;
    this.name = name;
    this.signal = signal;
    this.#start = policy.now();
  }

  /** Resolves after the backoff wait when another attempt should be made; otherwise throws. */
  async failed(err: unknown): Promise<void> {
    const p = this.policy;
    this.#attempt++;
    this.signal?.throwIfAborted(); // the failure may be the abort itself
    if (isNotFound(err)) throw err;
    if (!isRetryable(err)) throw this.#attempt === 1 ? err : this.#giveUp(err);
    if (this.#attempt >= p.attempts) throw this.#giveUp(err);
    // "Equal jitter": half the exponential step is fixed, half random. Full jitter
    // can spend all attempts within a second by bad luck; a proxy restart takes
    // several, so the retry window must have a floor.
    const step = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (this.#attempt - 1));
    const delayMs = Math.floor(step / 2 + p.random() * (step / 2));
    if (p.now() - this.#start + delayMs > p.maxElapsedMs) throw this.#giveUp(err);
    p.onRetry?.({ op: this.op, container: this.container, name: this.name, attempt: this.#attempt, delayMs, error: err });
    await untilAborted(p.sleep(delayMs, this.signal), this.signal);
  }

  #giveUp(last: unknown): StoreError {
    const secs = ((this.policy.now() - this.#start) / 1000).toFixed(1);
    const e = last as { message?: unknown; status?: unknown; code?: unknown } | null;
    const what = this.op === 'ensureContainer' ? this.container : `${this.container}/${this.name}${this.op === 'list' ? '*' : ''}`;
    return new StoreError(`${this.op} ${what} failed after ${this.#attempt} attempts in ${secs}s: ${typeof e?.message === 'string' ? e.message : String(last)}`, {
      cause: last,
      retryable: false,
      status: typeof e?.status === 'number' ? e.status : undefined,
      code: typeof e?.code === 'string' ? e.code : 'EIO',
    });
  }
}

/** A StoreProvider whose stores retry (RetryStore around each tenant's store). */
export class RetryStoreProvider implements StoreProvider {
  readonly kind: StoreProvider['kind'];
  readonly #inner: StoreProvider;
  readonly #opts: RetryOptions;

  constructor(inner: StoreProvider, opts: RetryOptions = {}) {
    this.#inner = inner;
    this.#opts = opts;
    this.kind = inner.kind;
  }

  forTenant(tenantId: string, token?: string): ObjectStore {
    return new RetryStore(this.#inner.forTenant(tenantId, token), this.#opts);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

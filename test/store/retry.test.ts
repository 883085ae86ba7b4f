// The retry policy: which errors are retried, how long it waits (equal jitter,
// growing bounds), when it gives up, and that an abort stops it at once. The
// store underneath is a real fs store; a thin double in front of it fails the
// next calls with chosen errors, since the policy, not the failure, is tested.
import t, { type Test } from 'tap';
import { FsStoreProvider } from '../../src/store/fs.js';
import { NotFoundError, StoreError, isNotFound, type GetOptions, type ObjectInfo, type ObjectStore, type PutOptions, type StoreProvider } from '../../src/store/object-store.js';
import { RetryStore, RetryStoreProvider, isRetryable, type RetryInfo, type RetryOptions } from '../../src/store/retry.js';
import { tempDir } from '../helpers/tmp.js';
import { storeConformance } from './suite.js';

/** A real store whose next calls of an op throw queued errors first. */
class Flaky implements ObjectStore {
  readonly calls: Record<string, number> = {};
  readonly #inner: ObjectStore;
  readonly #queued: Record<string, unknown[]> = {};
  /** errors thrown by list after it yielded its first object */
  readonly listAfterFirst: unknown[] = [];

  constructor(inner: ObjectStore) {
    this.#inner = inner;
  }

  get describe(): string {
    return this.#inner.describe;
  }

  failNext(op: string, ...errors: unknown[]): void {
    (this.#queued[op] ??= []).push(...errors);
  }

  #enter(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const queue = this.#queued[op] ?? [];
    if (queue.length > 0) throw queue.shift();
  }

  async ensureContainer(c: string, o?: GetOptions): Promise<void> {
    this.#enter('ensureContainer');
    return this.#inner.ensureContainer(c, o);
  }
  async put(c: string, n: string, b: Buffer, o?: PutOptions): Promise<void> {
    this.#enter('put');
    return this.#inner.put(c, n, b, o);
  }
  async get(c: string, n: string, o?: GetOptions): Promise<Buffer[]> {
    this.#enter('get');
    return this.#inner.get(c, n, o);
  }
  async flush(o?: GetOptions): Promise<void> {
    return this.#inner.flush(o);
  }

  async head(c: string, n: string, o?: GetOptions): Promise<ObjectInfo | null> {
    this.#enter('head');
    return this.#inner.head(c, n, o);
  }
  async delete(c: string, n: string, o?: GetOptions): Promise<boolean> {
    this.#enter('delete');
    return this.#inner.delete(c, n, o);
  }
  async *list(c: string, p: string, o?: GetOptions): AsyncGenerator<ObjectInfo> {
    this.#enter('list');
    let first = true;
    for await (const info of this.#inner.list(c, p, o)) {
      yield info;
      if (first && this.listAfterFirst.length > 0) throw this.listAfterFirst.shift();
      first = false;
    }
  }
}

/** A RetryStore over a Flaky fs store, with a fake clock that only the fake sleep advances. */
async function setup(t: Test, opts: RetryOptions = {}) {
  const fs = new FsStoreProvider({ root: tempDir(t, 'volbackd-retry-') });
  const flaky = new Flaky(fs.forTenant('t'));
  await flaky.ensureContainer('c');
  let now = 0;
  const delays: number[] = [];
  const retries: RetryInfo[] = [];
  const store = new RetryStore(flaky, {
    now: () => now,
    sleep: async (ms) => {
      delays.push(ms);
      now += ms;
    },
    onRetry: (info) => retries.push(info),
    ...opts,
  });
  return { flaky, store, delays, retries };
}

const transient = (what = 'disk hiccup'): StoreError => new StoreError(what, { retryable: true, code: 'EIO' });
const network = (code: string): Error => Object.assign(new Error(`socket: ${code}`), { code });
const NETWORK = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED'];

/** The error p rejects with; fails the test when p resolves. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => Promise.reject(new Error('resolved, but a rejection was expected')),
    (err: unknown) => err,
  );
}

t.test('isRetryable: a StoreError decides for itself; network codes anywhere in the cause chain retry', async (t) => {
  for (const code of NETWORK) t.ok(isRetryable(network(code)), code);
  t.ok(isRetryable(new TypeError('fetch failed', { cause: network('ECONNRESET') })), 'fetch wrapping a reset');
  t.ok(isRetryable(transient()), 'retryable StoreError');
  t.notOk(isRetryable(new StoreError('full', { retryable: false, code: 'ENOSPC' })), 'permanent StoreError');
  t.notOk(isRetryable(new StoreError('refused', { retryable: false, code: 'HTTP_401', cause: network('ECONNRESET') })), 'a StoreError’s verdict wins over its cause');
  t.notOk(isRetryable(new NotFoundError('gone')), 'not found');
  t.notOk(isRetryable(Object.assign(new Error('x'), { code: 'ENOENT' })), 'other codes');
  t.notOk(isRetryable(new DOMException('aborted', 'AbortError')), 'an abort');
  for (const v of [new Error('plain'), null, undefined, 'ECONNRESET', 42]) t.notOk(isRetryable(v), `${String(v)}`);
});

t.test('retryable errors are retried until the call succeeds', async (t) => {
  const { flaky, store, delays, retries } = await setup(t);
  flaky.failNext('put', transient(), transient());
  await store.put('c', 'x', Buffer.from('body'));
  t.equal(flaky.calls.put, 3);
  t.equal(delays.length, 2);
  t.same(
    retries.map(({ op, container, name, attempt }) => ({ op, container, name, attempt })),
    [
      { op: 'put', container: 'c', name: 'x', attempt: 1 },
      { op: 'put', container: 'c', name: 'x', attempt: 2 },
    ],
  );
  t.same(retries.map((r) => r.delayMs), delays, 'onRetry reports the waits');
  t.equal(Buffer.concat(await store.get('c', 'x')).toString(), 'body', 'the object was stored');

  for (const code of NETWORK) {
    flaky.failNext('get', network(code));
    t.equal(Buffer.concat(await store.get('c', 'x')).toString(), 'body', `get after ${code}`);
  }
  t.equal(flaky.calls.get, 1 + 2 * NETWORK.length);
});

t.test('a permanent error fails at once, unchanged', async (t) => {
  const { flaky, store, delays } = await setup(t);
  const full = new StoreError('put x: ENOSPC: no space left on device', { retryable: false, code: 'ENOSPC' });
  flaky.failNext('put', full);
  t.equal(await failure(store.put('c', 'x', Buffer.from('x'))), full);
  t.equal(flaky.calls.put, 1);
  t.same(delays, []);
});

t.test('not found is never retried and stays not found', async (t) => {
  const { flaky, store, delays } = await setup(t);
  const err = await failure(store.get('c', 'missing'));
  t.ok(err instanceof NotFoundError && isNotFound(err));
  t.equal(await store.head('c', 'missing'), null);
  t.equal(await store.delete('c', 'missing'), false);
  // Even after a transient failure, a not-found passes through as it is.
  const gone = new NotFoundError('get y: gone');
  flaky.failNext('get', transient(), gone);
  t.equal(await failure(store.get('c', 'y')), gone);
  t.same([flaky.calls.get, flaky.calls.head, flaky.calls.delete, delays.length], [3, 1, 1, 1]);
});

t.test('the attempt count bounds the retries; the final error says so and keeps code, status and cause', async (t) => {
  const { flaky, store, delays } = await setup(t, { attempts: 4 });
  const errors = Array.from({ length: 10 }, (_, i) => new StoreError(`HTTP 503 #${i}`, { retryable: true, status: 503, code: 'HTTP_503' }));
  flaky.failNext('put', ...errors);
  const err = await failure(store.put('c', 'x', Buffer.from('x')));
  t.match(err, { name: 'StoreError', retryable: false, status: 503, code: 'HTTP_503', message: /^put c\/x failed after 4 attempts in \d+\.\ds: HTTP 503 #3$/ });
  t.equal((err as Error).cause, errors[3], 'the cause is the last error');
  t.same([flaky.calls.put, delays.length], [4, 3]);

  // A permanent error after retries is also reported with the attempts made.
  flaky.failNext('head', transient(), new StoreError('forbidden', { retryable: false, status: 403, code: 'HTTP_403' }));
  t.match(await failure(store.head('c', 'x')), { code: 'HTTP_403', status: 403, message: /^head c\/x failed after 2 attempts in .*: forbidden$/ });
});

t.test('the elapsed time bounds the retries: no wait that would end past maxElapsedMs starts', async (t) => {
  const maxElapsedMs = 30_000;
  const { flaky, store, delays } = await setup(t, { attempts: 100, baseDelayMs: 1000, maxDelayMs: 10_000, maxElapsedMs, random: () => 0.999 });
  flaky.failNext('get', ...Array.from({ length: 100 }, () => transient()));
  const err = await failure(store.get('c', 'x'));
  t.same(delays, [999, 1999, 3998, 7996, 9995], 'doubling up to the cap, until the next wait would pass 30 s');
  t.match(err, { retryable: false, message: /^get c\/x failed after 6 attempts in 25\.0s: disk hiccup$/ });
  t.equal(flaky.calls.get, 6);
});

t.test('delays are equal jitter: between half and all of a step that doubles up to maxDelayMs', async (t) => {
  const base = 100;
  const max = 3000;
  const bound = (k: number): number => Math.min(max, base * 2 ** (k - 1));
  const runs: number[][] = [];
  for (let run = 0; run < 50; run++) {
    const { flaky, store, delays } = await setup(t, { attempts: 10, baseDelayMs: base, maxDelayMs: max, maxElapsedMs: Infinity });
    flaky.failNext('head', ...Array.from({ length: 10 }, () => transient()));
    await failure(store.head('c', 'x'));
    t.equal(delays.length, 9);
    runs.push(delays);
  }
  const outside = runs.flatMap((d) => d.filter((ms, i) => !(ms >= Math.floor(bound(i + 1) / 2) && ms < bound(i + 1) && Number.isInteger(ms))));
  t.same(outside, [], 'every delay k is in [0, min(max, base·2^(k−1)))');
  const means = Array.from({ length: 6 }, (_, k) => runs.reduce((sum, d) => sum + d[k]!, 0) / runs.length);
  t.ok(
    means.every((m, k) => k === 0 || m > means[k - 1]!),
    `the mean delay grows while under the cap: ${means.map(Math.round).join(', ')}`,
  );
  t.ok(runs.flat().some((ms) => ms < bound(9) / 2), 'jitter spreads delays below the bound');
});

t.test('an abort stops at once and rejects with the abort reason', async (t) => {
  await t.test('during a real backoff wait', async (t) => {
    const ctl = new AbortController();
    const reason = new Error('job cancelled');
    const { flaky, store } = await setup(t, { sleep: undefined, baseDelayMs: 60_000, random: () => 0.999, onRetry: () => setTimeout(() => ctl.abort(reason), 20) });
    flaky.failNext('put', transient());
    const started = performance.now();
    t.equal(await failure(store.put('c', 'x', Buffer.from('x'), { signal: ctl.signal })), reason);
    t.ok(performance.now() - started < 5000, 'did not wait out the minute');
    t.equal(flaky.calls.put, 1);
  });
  await t.test('even when the injected sleep ignores the signal', async (t) => {
    const ctl = new AbortController();
    const { flaky, store } = await setup(t, { sleep: () => new Promise<void>(() => {}), onRetry: () => queueMicrotask(() => ctl.abort('stop')) });
    flaky.failNext('get', transient());
    t.equal(await failure(store.get('c', 'x', { signal: ctl.signal })), 'stop');
  });
  await t.test('before the first attempt', async (t) => {
    const { flaky, store } = await setup(t);
    t.equal(await failure(store.head('c', 'x', { signal: AbortSignal.abort('early') })), 'early');
    t.equal(flaky.calls.head, undefined, 'the store was not called');
  });
});

t.test('list is retried as a whole only when it fails before yielding anything', async (t) => {
  const { flaky, store } = await setup(t);
  for (const n of ['a', 'b', 'c']) await store.put('c', n, Buffer.from(n));
  const names = async (): Promise<string[]> => {
    const out: string[] = [];
    for await (const info of store.list('c', '')) out.push(info.name);
    return out;
  };
  flaky.failNext('list', transient(), network('ECONNRESET'));
  t.same(await names(), ['a', 'b', 'c'], 'retried before yielding');
  t.equal(flaky.calls.list, 3);

  const late = transient('connection lost mid-listing');
  flaky.listAfterFirst.push(late);
  const seen: string[] = [];
  const err = await failure(
    (async () => {
      for await (const info of store.list('c', '')) seen.push(info.name);
    })(),
  );
  t.equal(err, late, 'an error after the first object propagates as it is');
  t.same(seen, ['a']);
  t.equal(flaky.calls.list, 4, 'and is not retried');
});

t.test('RetryStoreProvider hands out retrying stores of the inner provider', async (t) => {
  const fs = new FsStoreProvider({ root: tempDir(t, 'volbackd-retry-') });
  // The inner provider's stores are Flaky fs stores, so a retry by the handed-out store can be seen.
  const flaky: Flaky[] = [];
  let closed = 0;
  const inner: StoreProvider = {
    kind: fs.kind,
    forTenant: (id) => {
      const f = new Flaky(fs.forTenant(id));
      flaky.push(f);
      return f;
    },
    close: async () => {
      closed++;
      await fs.close();
    },
  };
  const retries: RetryInfo[] = [];
  const provider = new RetryStoreProvider(inner, { onRetry: (i) => retries.push(i), sleep: async () => {} });
  t.equal(provider.kind, 'fs');
  const store = provider.forTenant('t');
  t.ok(store instanceof RetryStore);
  t.equal(store.describe, inner.forTenant('t').describe);
  await store.ensureContainer('c');
  await store.put('c', 'x', Buffer.from('x'));
  t.equal(Buffer.concat(await inner.forTenant('t').get('c', 'x')).toString(), 'x');
  t.same(retries, []);
  // The provider's options reach the store: a transient failure is retried, and reported to its onRetry.
  flaky[0]!.failNext('put', transient());
  await store.put('c', 'y', Buffer.from('y'));
  t.same(
    retries.map(({ op, name, attempt }) => ({ op, name, attempt })),
    [{ op: 'put', name: 'y', attempt: 1 }],
  );
  t.equal(flaky[0]!.calls.put, 3, 'x once, y twice');
  await provider.close();
  t.equal(closed, 1, 'close() closes the inner provider');
});

void storeConformance(t, 'retry over fs', async (t) => new RetryStoreProvider(new FsStoreProvider({ root: tempDir(t, 'volbackd-retry-') })).forTenant('conformance'));

// RateLimiter: a token bucket holding one second's worth. These are correctness
// checks with generous tolerances, not speed assertions: after the initial burst
// (the full bucket) bytes flow at the set rate, a request larger than the bucket
// leaves a debt, requests are served in order, and an abort rejects the waiter.
import t from 'tap';
import { RateLimiter, limiterFor } from '../../src/util/rate-limiter.js';

const since = (t0: number): number => (performance.now() - t0) / 1000;

t.test('the first second’s worth goes at once (the bucket starts full)', async (t) => {
  const rl = new RateLimiter(8); // 8 MB/s, bucket 8 MB
  const t0 = performance.now();
  await rl.take(4e6);
  await rl.take(4e6);
  t.ok(since(t0) < 0.2, `8 MB from a full 8 MB bucket is immediate (${since(t0).toFixed(3)} s)`);
});

t.test('after the burst, 4 MB at 8 MB/s takes about half a second', async (t) => {
  const rl = new RateLimiter(8);
  await rl.take(8e6); // empties the bucket
  const t0 = performance.now();
  for (let i = 0; i < 4; i++) await rl.take(1e6);
  const s = since(t0);
  t.ok(s >= 0.4, `at least ~0.5 s (took ${s.toFixed(3)} s)`);
  t.ok(s < 2, `but not absurdly long (took ${s.toFixed(3)} s)`);
});

t.test('a steady flow over about a second stays within the rate', async (t) => {
  const rl = new RateLimiter(4); // 4 MB/s
  await rl.take(4e6);
  const t0 = performance.now();
  let bytes = 0;
  while (since(t0) < 1) {
    await rl.take(250_000);
    bytes += 250_000;
  }
  const rate = bytes / since(t0);
  t.ok(rate <= 4e6 * 1.25, `rate ${(rate / 1e6).toFixed(2)} MB/s is not above 4 MB/s (+ tolerance)`);
  t.ok(rate >= 4e6 * 0.5, `rate ${(rate / 1e6).toFixed(2)} MB/s is not far below it either`);
});

t.test('a request larger than the bucket goes once it is full and leaves a debt', async (t) => {
  const rl = new RateLimiter(100); // bucket 1e8
  const t0 = performance.now();
  await rl.take(1.5e8);
  t.ok(since(t0) < 0.2, 'a full bucket lets a bigger request through');
  const t1 = performance.now();
  await rl.take(1e7); // needs the debt of 5e7 plus 1e7: ~0.6 s
  const s = since(t1);
  t.ok(s >= 0.5, `the next request waits for the debt (${s.toFixed(3)} s)`);
  t.ok(s < 2.5, `not absurdly long (${s.toFixed(3)} s)`);
});

t.test('requests are served in order: a big one is not starved by small ones', async (t) => {
  const rl = new RateLimiter(10);
  await rl.take(10e6);
  const order: string[] = [];
  await Promise.all([
    rl.take(3e6).then(() => order.push('big')),
    rl.take(1e5).then(() => order.push('small1')),
    rl.take(1e5).then(() => order.push('small2')),
  ]);
  t.same(order, ['big', 'small1', 'small2']);
});

t.test('an abort rejects a waiting request, and the limiter keeps working', async (t) => {
  const rl = new RateLimiter(1); // 1 MB/s
  await rl.take(1e6);
  const ac = new AbortController();
  const waiting = rl.take(1e6, ac.signal); // would wait ~1 s
  setTimeout(() => ac.abort(new Error('cancelled')), 50);
  const t0 = performance.now();
  await t.rejects(waiting, { name: 'AbortError' });
  t.ok(since(t0) < 0.5, 'rejected promptly, not after the wait');
  const t1 = performance.now();
  await rl.take(1000);
  t.ok(since(t1) < 0.5, 'the aborted request consumed nothing and the queue is not stuck');
});

t.test('a request queued behind an aborted one still goes', async (t) => {
  const rl = new RateLimiter(2);
  await rl.take(2e6);
  const ac = new AbortController();
  const a = rl.take(1e6, ac.signal);
  const b = rl.take(1e5);
  ac.abort(new Error('x'));
  await t.rejects(a);
  await t.resolves(b);
});

t.test('limiterFor gives no limiter for 0', async (t) => {
  t.equal(limiterFor(0), undefined);
  t.type(limiterFor(5), RateLimiter);
});

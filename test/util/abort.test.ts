import t from 'tap';
import { untilAborted } from '../../src/util/abort.js';

t.test('without a signal: the promise itself', async (t) => {
  const p = Promise.resolve(1);
  t.equal(untilAborted(p, undefined), p);
});

t.test('settles like the promise while the signal stays quiet', async (t) => {
  const ac = new AbortController();
  t.equal(await untilAborted(Promise.resolve(7), ac.signal), 7);
  await t.rejects(untilAborted(Promise.reject(new Error('boom')), ac.signal), { message: 'boom' });
});

t.test('an abort rejects at once with its reason; the shared promise goes on for the others', async (t) => {
  const ac = new AbortController();
  let finish!: (v: string) => void;
  const shared = new Promise<string>((r) => (finish = r));
  const mine = untilAborted(shared, ac.signal);
  ac.abort(new Error('job cancelled'));
  await t.rejects(mine, { message: 'job cancelled' });
  finish('token');
  t.equal(await untilAborted(shared, new AbortController().signal), 'token', 'another waiter still gets the value');
});

t.test('an already aborted signal rejects without waiting', async (t) => {
  const ac = new AbortController();
  ac.abort(new Error('too late'));
  await t.rejects(untilAborted(new Promise(() => {}), ac.signal), { message: 'too late' });
});

t.test('a promise that rejects after an early abort is not left unhandled', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));
  const ac = new AbortController();
  ac.abort(new Error('gave up'));
  let fail!: (e: Error) => void;
  const shared = new Promise<never>((_r, rej) => (fail = rej));
  await t.rejects(untilAborted(shared, ac.signal), { message: 'gave up' });
  fail(new Error('renewal failed'));
  await new Promise((r) => setTimeout(r, 20));
  t.same(unhandled, [], 'no unhandled rejection');
});

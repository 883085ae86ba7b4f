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

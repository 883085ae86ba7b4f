import t from 'tap';
import { Semaphore } from '../../src/util/semaphore.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('at most n holders; waiters served in arrival order', async (t) => {
  const s = new Semaphore(2);
  const order: number[] = [];
  let running = 0;
  let peak = 0;
  await Promise.all(
    [0, 1, 2, 3, 4].map((i) =>
      s.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await tick();
        running--;
      }),
    ),
  );
  t.equal(peak, 2);
  t.same(order, [0, 1, 2, 3, 4]);
});

t.test('acquire hands a permit to the next waiter on release; a second release gives nothing back', async (t) => {
  const s = new Semaphore(1);
  const release = await s.acquire();
  let second = false;
  const waiting = s.acquire().then((r) => {
    second = true;
    return r;
  });
  await tick();
  t.notOk(second, 'the second waits while the first holds');
  release();
  release(); // no effect: one permit was taken, one given back
  const release2 = await waiting;
  t.ok(second);
  let third = false;
  void s.acquire().then(() => (third = true));
  await tick();
  t.notOk(third, 'the double release did not create a permit');
  release2();
  await tick();
  t.ok(third);
});

t.test('a failing holder gives its permit back', async (t) => {
  const s = new Semaphore(1);
  await t.rejects(s.run(async () => Promise.reject(new Error('boom'))), { message: 'boom' });
  t.equal(await s.run(async () => 'next'), 'next');
});

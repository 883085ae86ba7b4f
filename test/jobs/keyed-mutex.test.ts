// KeyedMutex: runs on one key never overlap and go in call order; different keys
// run at once; an error releases the lock; a released key is forgotten.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedMutex } from '../../src/jobs/keyed-mutex.js';

t.test('runs on the same key are serialised, in call order', async (t) => {
  const m = new KeyedMutex();
  const events: string[] = [];
  let inside = 0;
  let max = 0;
  const run = (name: string, ms: number) =>
    m.run('scope', async () => {
      inside++;
      max = Math.max(max, inside);
      events.push(`start ${name}`);
      await sleep(ms);
      events.push(`end ${name}`);
      inside--;
      return name;
    });
  const results = await Promise.all([run('a', 30), run('b', 5), run('c', 15)]);
  t.same(results, ['a', 'b', 'c'], 'each caller gets its own result');
  t.equal(max, 1, 'never two at once');
  t.same(events, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

t.test('runs on different keys go at the same time', async (t) => {
  const m = new KeyedMutex();
  let inside = 0;
  let max = 0;
  const run = (key: string) =>
    m.run(key, async () => {
      inside++;
      max = Math.max(max, inside);
      await sleep(30);
      inside--;
    });
  const t0 = performance.now();
  await Promise.all([run('x'), run('y'), run('z')]);
  t.equal(max, 3, 'all three inside at once');
  t.ok(performance.now() - t0 < 80, 'in about the time of one');
});

t.test('an error releases the lock and reaches the caller', async (t) => {
  const m = new KeyedMutex();
  const failing = m.run('k', async () => {
    await sleep(5);
    throw new Error('boom');
  });
  const next = m.run('k', async () => 'ran');
  await t.rejects(failing, /boom/);
  t.equal(await next, 'ran', 'the next run on the key still goes');
  t.equal(await m.run('k', async () => 'again'), 'again');
  t.equal(m.isLocked('k'), false);
});

t.test('a synchronous throw inside fn releases the lock too', async (t) => {
  const m = new KeyedMutex();
  await t.rejects(
    m.run('k', () => {
      throw new Error('sync');
    }),
    /sync/,
  );
  t.equal(m.isLocked('k'), false);
  t.equal(await m.run('k', async () => 1), 1);
});

t.test('isLocked is true while a run holds or waits for the key, and false after', async (t) => {
  const m = new KeyedMutex();
  t.equal(m.isLocked('k'), false);
  let release!: () => void;
  const held = m.run('k', () => new Promise<void>((r) => (release = r)));
  const waiting = m.run('k', async () => undefined);
  await sleep(1);
  t.equal(m.isLocked('k'), true);
  t.equal(m.isLocked('other'), false);
  release();
  await held;
  t.equal(m.isLocked('k'), true, 'still locked: the second run holds it now');
  await waiting;
  t.equal(m.isLocked('k'), false, 'forgotten once the last run is done');
});

t.test('a run queued behind a failed one does not start before the failed one settles', async (t) => {
  const m = new KeyedMutex();
  const events: string[] = [];
  const a = m.run('k', async () => {
    events.push('a start');
    await sleep(20);
    events.push('a fails');
    throw new Error('a');
  });
  const b = m.run('k', async () => {
    events.push('b start');
  });
  await Promise.allSettled([a, b]);
  t.same(events, ['a start', 'a fails', 'b start']);
});

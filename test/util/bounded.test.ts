// runBounded: at most `limit` calls in flight, started in index order; the first
// error stops new starts and is rethrown once the started calls settle; an outer
// abort stops it too.
import t from 'tap';
import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBounded } from '../../src/util/bounded.js';

t.test('runs every index once, in start order, with at most limit in flight', async (t) => {
  let inFlight = 0;
  let max = 0;
  const started: number[] = [];
  const done = new Set<number>();
  await runBounded(20, 3, async (i) => {
    started.push(i);
    inFlight++;
    max = Math.max(max, inFlight);
    await sleep(5 + ((i * 7) % 11)); // uneven durations
    inFlight--;
    done.add(i);
  });
  t.equal(max, 3, 'exactly limit at once at the peak');
  t.same(started, Array.from({ length: 20 }, (_, i) => i), 'started in index order');
  t.equal(done.size, 20);
});

t.test('a limit above the count runs everything at once; zero items do nothing', async (t) => {
  let inFlight = 0;
  let max = 0;
  await runBounded(4, 100, async () => {
    inFlight++;
    max = Math.max(max, inFlight);
    await sleep(10);
    inFlight--;
  });
  t.equal(max, 4);
  let calls = 0;
  await runBounded(0, 4, async () => {
    calls++;
  });
  t.equal(calls, 0);
});

t.test('a limit below 1 still makes progress one at a time', async (t) => {
  const seen: number[] = [];
  await runBounded(3, 0, async (i) => {
    seen.push(i);
  });
  t.same(seen, [0, 1, 2]);
});

t.test('the first error stops new starts, aborts the shared signal, and is thrown after in-flight calls settle', async (t) => {
  const started: number[] = [];
  const settled: number[] = [];
  const signals: AbortSignal[] = [];
  const first = new Error('first');
  const p = runBounded(50, 4, async (i, signal) => {
    started.push(i);
    signals.push(signal);
    try {
      if (i === 5) {
        await sleep(5);
        throw first;
      }
      if (i === 6) {
        await sleep(15);
        throw new Error('second'); // after the first: not the one thrown
      }
      await sleep(30);
    } finally {
      settled.push(i);
    }
  });
  await t.rejects(p, first, 'the first error is rethrown');
  t.ok(started.length < 50, `no new starts after the error (${started.length} started)`);
  t.same([...settled].sort((a, b) => a - b), [...started].sort((a, b) => a - b), 'every started call settled before the throw');
  t.ok(signals.every((s) => s.aborted), 'the shared signal was aborted');
  t.equal(signals[0]!.reason, first, 'with the first error as reason');
});

t.test('an error in the last call is still thrown', async (t) => {
  await t.rejects(
    runBounded(3, 2, async (i) => {
      if (i === 2) throw new Error('last');
    }),
    /last/,
  );
});

t.test('an outer abort stops new starts and rejects with its reason', async (t) => {
  const ac = new AbortController();
  const started: number[] = [];
  let sawAbort = false;
  const p = runBounded(
    100,
    2,
    async (i, signal) => {
      started.push(i);
      if (i === 3) ac.abort(new Error('stop'));
      await sleep(5);
      if (signal.aborted) sawAbort = true;
    },
    ac.signal,
  );
  await t.rejects(p, /stop/);
  t.ok(started.length <= 5, `no new starts after the abort (${started.length} started)`);
  t.ok(sawAbort, 'in-flight calls see the abort on their signal');
});

t.test('an outer signal already aborted rejects without a call', async (t) => {
  const ac = new AbortController();
  ac.abort(new Error('already'));
  let calls = 0;
  await t.rejects(
    runBounded(5, 2, async () => {
      calls++;
    }, ac.signal),
    /already/,
  );
  t.equal(calls, 0);
});

t.test('the outer abort listener is removed when done', async (t) => {
  const ac = new AbortController();
  const during: number[] = [];
  await runBounded(3, 2, async () => {
    during.push(getEventListeners(ac.signal, 'abort').length);
  }, ac.signal);
  t.same(during, [1, 1, 1], 'one listener on the outer signal while calls run');
  t.equal(getEventListeners(ac.signal, 'abort').length, 0, 'none once done');
  await t.rejects(runBounded(3, 2, async () => Promise.reject(new Error('boom')), ac.signal), /boom/);
  t.equal(getEventListeners(ac.signal, 'abort').length, 0, 'none after a failure either');
  ac.abort(new Error('late'));
  t.pass('aborting after completion throws nowhere');
});

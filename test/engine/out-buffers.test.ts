import t from 'tap';
import { OutBufferPool } from '../../src/engine/out-buffers.js';

t.test('a given-back buffer is taken again, by size; shared memory', async (t) => {
  const pool = new OutBufferPool();
  const a = pool.take(4096);
  t.equal(a.length, 4096);
  t.ok(a.buffer instanceof SharedArrayBuffer, 'an I/O thread can be handed it without a copy');
  pool.give(a);
  t.equal(pool.idle, 1);
  t.equal(pool.take(8192).length, 8192, 'another size is not served from it');
  t.equal(pool.take(4096), a, 'the same buffer again');
  t.equal(pool.idle, 0);
  pool.trim();
});

t.test('trim lets every idle buffer go', async (t) => {
  const pool = new OutBufferPool();
  const bufs = [pool.take(512), pool.take(512), pool.take(1024)];
  for (const b of bufs) pool.give(b);
  t.equal(pool.idle, 3);
  pool.trim();
  t.equal(pool.idle, 0);
  t.notOk(bufs.includes(pool.take(512)), 'a new buffer after the trim');
});

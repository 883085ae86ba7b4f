// ChunkStages: a chunk read and processed natively into an output buffer from the
// pool; a failure leaves no permit, read buffer or output buffer held.
import t from 'tap';
import { openDevice, outBufferSize } from '../../src/native/index.js';
import { ChunkStages } from '../../src/engine/chunk-stages.js';
import { OutBufferPool } from '../../src/engine/out-buffers.js';
import { textBytes, xxhsum128 } from '../helpers/data.js';
import { CHUNK, noBufferLent, storeEnv, writeImage } from './fixtures/engine.js';

t.test('a chunk comes back processed in a buffer from the pool, which give() takes back', async (t) => {
  const env = await storeEnv(t);
  const image = Buffer.concat([textBytes(CHUNK, 1), Buffer.alloc(CHUNK)]);
  const dev = await openDevice(writeImage(env, 'v.img', image));
  t.teardown(() => dev.close());
  const pool = new OutBufferPool();
  const stages = new ChunkStages({ chunkSize: CHUNK, readConcurrency: 1, compressConcurrency: 1, pool });
  const { r, out } = await stages.process(dev, 0, CHUNK);
  t.equal(r.digest, xxhsum128(image.subarray(0, CHUNK)));
  t.equal(r.encoding, 'lz4');
  t.equal(out.length, outBufferSize(CHUNK), 'sized for a whole chunk');
  stages.give(out);
  t.equal(pool.idle, 1);
  const zero = await stages.process(dev, CHUNK, CHUNK);
  t.equal(zero.r.zero, true);
  t.equal(zero.out, out, 'the given-back buffer is used again');
  stages.give(zero.out);
  noBufferLent(t);
});

t.test('a failed read gives its permits back', async (t) => {
  const env = await storeEnv(t);
  const dev = await openDevice(writeImage(env, 'v.img', textBytes(CHUNK, 2)));
  t.teardown(() => dev.close());
  const pool = new OutBufferPool();
  const stages = new ChunkStages({ chunkSize: CHUNK, readConcurrency: 1, compressConcurrency: 1, pool });
  await t.rejects(stages.process(dev, CHUNK, CHUNK), RangeError, 'past the end');
  const { out } = await stages.process(dev, 0, CHUNK); // would wait forever for a leaked permit
  stages.give(out);
  t.equal(pool.idle, 1, 'no output buffer was taken for the failed read');
  noBufferLent(t);
});

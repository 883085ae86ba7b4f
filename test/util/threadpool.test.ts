// threadPoolSize: the libuv pool volbackd asks for (docs/architecture.md).
import t from 'tap';
import { availableParallelism } from 'node:os';
import { threadPoolSize } from '../../src/util/threadpool.js';

t.test('4 x cores + 4, at least 8, at most 64', async (t) => {
  t.equal(threadPoolSize(1), 8);
  t.equal(threadPoolSize(2), 12);
  t.equal(threadPoolSize(15), 64);
  t.equal(threadPoolSize(16), 64);
  t.equal(threadPoolSize(), threadPoolSize(availableParallelism()), "this machine's cores by default");
});

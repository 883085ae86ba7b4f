// One job: the conformance suite every ObjectStore runs (restic's backend/test
// suite): it checks only the contract in src/store/object-store.ts, so the fs
// store, the retry wrapper and the Swift store (against a real Swift) all pass
// the same tests. Store-specific checks belong in each store's own test file.
//
// Each test works in its own fresh container, so one real account can be shared;
// `make` returns a store and registers its own cleanup on the given test.
import { createHash, randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { StoreError, isNotFound, type ObjectInfo, type ObjectStore } from '../../src/store/object-store.js';
import { runBounded } from '../../src/util/bounded.js';

const MiB = 1 << 20;

export async function storeConformance(t: Test, name: string, make: (t: Test) => Promise<ObjectStore>): Promise<void> {
  /** A fresh store and an existing, empty container of a random name. */
  const setup = async (t: Test): Promise<{ store: ObjectStore; c: string }> => {
    const store = await make(t);
    const c = `conformance-${randomBytes(6).toString('hex')}`;
    await store.ensureContainer(c);
    return { store, c };
  };

  await t.test(`${name}: ObjectStore conformance`, async (t) => {
    t.test('put then get returns the body, for empty, small and 5 MiB bodies', async (t) => {
      const { store, c } = await setup(t);
      for (const [key, body] of [
        ['empty', Buffer.alloc(0)],
        ['small', Buffer.from('hello, volume')],
        ['dir/five-mib', randomBytes(5 * MiB)],
      ] as const) {
        await store.put(c, key, body);
        const segments = await store.get(c, key);
        t.ok(segments.every((s) => Buffer.isBuffer(s)), `${key}: segments are Buffers`);
        t.ok(Buffer.concat(segments).equals(body), `${key}: segments concatenate to the body`);
        const info = await store.head(c, key);
        t.equal(info?.name, key, `${key}: head names the object`);
        t.equal(info?.bytes, body.length, `${key}: head gives the size`);
        t.ok(info?.lastModified instanceof Date && !Number.isNaN(info.lastModified.getTime()), `${key}: head gives a date`);
      }
    });

    t.test('put overwrites: get and head then give the new object', async (t) => {
      const { store, c } = await setup(t);
      await store.put(c, 'x', Buffer.from('the old, longer object'));
      await store.put(c, 'x', Buffer.from('new'));
      t.equal(Buffer.concat(await store.get(c, 'x')).toString(), 'new');
      t.equal((await store.head(c, 'x'))?.bytes, 3);
    });

    t.test('readers during overwrites see the old or the new object, never a mix', async (t) => {
      const { store, c } = await setup(t);
      const a = Buffer.alloc(256 * 1024, 'a');
      const b = Buffer.alloc(128 * 1024 + 7, 'b');
      await store.put(c, 'flip', a);
      let writing = true;
      const writer = (async () => {
        try {
          for (let i = 0; i < 20; i++) await store.put(c, 'flip', i % 2 ? a : b);
        } finally {
          writing = false;
        }
      })();
      writer.catch(() => {}); // awaited below, after the reads
      let reads = 0;
      let mixed = 0;
      while (writing) {
        const got = Buffer.concat(await store.get(c, 'flip'));
        if (!got.equals(a) && !got.equals(b)) mixed++;
        reads++;
      }
      await writer;
      t.equal(mixed, 0, `none of ${reads} reads saw a partial or mixed object`);
    });

    t.test('a missing object: get rejects as not found, head gives null, delete gives false', async (t) => {
      const { store, c } = await setup(t);
      const missing = `no-such-container-${randomBytes(6).toString('hex')}`;
      for (const [container, key] of [
        [c, 'nope'],
        [c, 'a/b/nope'],
        [missing, 'nope'],
      ] as const) {
        t.ok(isNotFound(await failure(store.get(container, key))), `get ${container}/${key}`);
        t.equal(await store.head(container, key), null, `head ${container}/${key}`);
        t.equal(await store.delete(container, key), false, `delete ${container}/${key}`);
      }
    });

    t.test('put into a missing container is refused as not found', async (t) => {
      const store = await make(t);
      const missing = `no-such-container-${randomBytes(6).toString('hex')}`;
      t.ok(isNotFound(await failure(store.put(missing, 'x', Buffer.from('x')))));
    });

    t.test('delete twice: true, then false, and the object is gone', async (t) => {
      const { store, c } = await setup(t);
      await store.put(c, 'd/x', Buffer.from('x'));
      await store.put(c, 'd/y', Buffer.from('y'));
      t.equal(await store.delete(c, 'd/x'), true);
      t.equal(await store.delete(c, 'd/x'), false);
      t.equal(await store.head(c, 'd/x'), null);
      t.ok(isNotFound(await failure(store.get(c, 'd/x'))));
      t.same(await names(store.list(c, '')), ['d/y'], 'the other object stays');
    });

    t.test('a deferred put is visible at once; flush resolves, also with nothing to flush', async (t) => {
      const { store, c } = await setup(t);
      await store.flush();
      await store.put(c, 'deferred/a', Buffer.from('a'), { deferSync: true });
      await store.put(c, 'deferred/b', Buffer.from('bb'), { deferSync: true });
      t.equal(Buffer.concat(await store.get(c, 'deferred/a')).toString(), 'a', 'readable before the flush');
      await store.flush();
      await store.flush();
      t.same(await names(store.list(c, 'deferred/')), ['deferred/a', 'deferred/b']);
    });

    t.test('ensureContainer twice succeeds and keeps the objects', async (t) => {
      const { store, c } = await setup(t);
      await store.put(c, 'kept', Buffer.from('k'));
      await store.ensureContainer(c);
      t.equal(Buffer.concat(await store.get(c, 'kept')).toString(), 'k');
    });

    t.test('list by prefix gives names with "/" in byte order, with their sizes', async (t) => {
      const { store, c } = await setup(t);
      // Chosen to catch orders other than UTF-8 byte order: '.' < '/' < '0' < 'y'
      // (so 'a/x.y' < 'a/x/y' < 'a/xy' and 'a.b' < 'a/…' < 'a0'), U+FF01 < U+1F600
      // (UTF-16 order says otherwise). No name is also another's pseudo-directory
      // ('a/x' with 'a/x/y'): Swift allows it, but the fs store cannot hold both.
      const all = ['a0', 'a.b', 'a/x.y', 'a/x/y', 'a/xy', 'b/c/d', 'b/c/e/f', 'é', '😀', '！', 'z'];
      for (const [i, key] of all.entries()) await store.put(c, key, Buffer.alloc(i, 1));
      const byteOrder = (xs: string[]): string[] => [...xs].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      for (const prefix of ['', 'a', 'a/', 'a/x', 'a/x/', 'b/c/', 'b/c/e', 'é', 'zz', 'nothing/here/']) {
        const got = await infos(store.list(c, prefix));
        t.same(
          got.map((i) => i.name),
          byteOrder(all.filter((n) => n.startsWith(prefix))),
          `prefix ${JSON.stringify(prefix)}`,
        );
        t.same(
          got.map((i) => i.bytes),
          got.map((i) => all.indexOf(i.name)),
          `prefix ${JSON.stringify(prefix)}: sizes`,
        );
      }
    });

    t.test('list pages through more than 1000 objects', async (t) => {
      const { store, c } = await setup(t);
      const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      await runBounded(keys.length, 16, (i) => store.put(c, keys[i]!, Buffer.from([i & 255])));
      await store.put(c, 'other', Buffer.from('o'));
      t.same(await names(store.list(c, 'many/')), keys, 'every object once, in order');
      t.same(await names(store.list(c, 'many/10')), keys.slice(1000), 'a narrower prefix');
      t.equal((await names(store.list(c, ''))).length, 1101, 'the whole container');
    });

    t.test('list of a prefix that matches nothing, or of a missing container, yields nothing', async (t) => {
      const { store, c } = await setup(t);
      await store.put(c, 'x/y', Buffer.from('y'));
      t.same(await names(store.list(c, 'y')), []);
      t.same(await names(store.list(c, 'x/y/')), []);
      t.same(await names(store.list(`no-such-container-${randomBytes(6).toString('hex')}`, '')), []);
    });

    t.test('put with the right md5 stores; with a wrong md5 it is refused, for good, and stores nothing', async (t) => {
      const { store, c } = await setup(t);
      const body = randomBytes(1000);
      const md5 = createHash('md5').update(body).digest('hex');
      await store.put(c, 'right', body, { md5 });
      t.ok(Buffer.concat(await store.get(c, 'right')).equals(body));

      const wrong = createHash('md5').update('something else').digest('hex');
      t.ok(refused(await failure(store.put(c, 'wrong', body, { md5: wrong }))), 'a wrong md5 is refused, for good');
      t.equal(await store.head(c, 'wrong'), null, 'no object');
      t.ok(refused(await failure(store.put(c, 'right', randomBytes(1000), { md5: wrong }))), 'also over an existing object');
      t.ok(Buffer.concat(await store.get(c, 'right')).equals(body), 'a refused overwrite keeps the old object');
    });

    t.test('invalid container names are refused, for good', async (t) => {
      const { store, c } = await setup(t);
      for (const bad of ['', 'a/b', `${c}/x`, 'x'.repeat(257), 'é'.repeat(129)]) {
        const label = `${JSON.stringify(bad.slice(0, 20))} (${Buffer.byteLength(bad)} bytes)`;
        t.ok(refused(await failure(store.ensureContainer(bad))), `ensureContainer ${label}`);
        t.ok(refused(await failure(store.put(bad, 'x', Buffer.from('x')))), `put ${label}`);
      }
      t.same(await names(store.list(c, '')), [], 'nothing was written into the valid container');
    });
  });
}

/** Refused for good: a StoreError that is neither retryable nor a not-found. */
function refused(err: unknown): boolean {
  return err instanceof StoreError && !err.retryable && !isNotFound(err);
}

async function infos(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of it) out.push(info);
  return out;
}

async function names(it: AsyncIterable<ObjectInfo>): Promise<string[]> {
  return (await infos(it)).map((i) => i.name);
}

/** The error p rejects with; fails the test when p resolves. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => Promise.reject(new Error('resolved, but a rejection was expected')),
    (err: unknown) => err,
  );
}

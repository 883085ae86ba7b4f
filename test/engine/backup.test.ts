// backupVolume against the real filesystem store: what the manifest records, what
// is stored (and what is not: zero chunks, known chunks, repeats, holes), and how
// it fails (abort, store errors) without leaking a buffer or leaving a manifest.
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync, openSync, writeSync, closeSync, truncateSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkKey, chunkPrefix, manifestKey, manifestPrefix } from '../../src/engine/keys.js';
import { parse } from '../../src/engine/manifest.js';
import { dataRanges } from '../../src/native/index.js';
import { RateLimiter } from '../../src/util/rate-limiter.js';
import { loopUnavailable, withLoop } from '../helpers/loop.js';
import { StoreError, isNotFound, type ObjectStore } from '../../src/store/object-store.js';
import { lz4CliDecode, randomData, textBytes, xxhsum128 } from '../helpers/data.js';
import {
  CHUNK,
  CONTAINER,
  MiB,
  SIZE,
  ZERO_CHUNKS,
  backup,
  chunkOf,
  listNames,
  newIds,
  noBufferLent,
  standardBackup,
  standardImage,
  storeEnv,
  writeImage,
} from './fixtures/engine.js';

function md5Of(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** The chunk's bytes from a stored object: raw when exactly as long as the chunk, else an LZ4 frame. */
function decodeObject(stored: Buffer, length: number): Buffer {
  return stored.length === length ? stored : lz4CliDecode(stored);
}

t.test('the manifest records null for zero chunks and the xxhsum -H2 digest of every other chunk', async (t) => {
  const env = await storeEnv(t);
  const { image, ids, result: r } = await standardBackup(env);
  t.equal(image.length, SIZE);
  const m = r.manifest;

  t.equal(m.volume.size_bytes, SIZE);
  t.equal(m.volume.size_gb, 1);
  t.equal(m.chunk_size, CHUNK);
  t.equal(m.chunk_count, 10);
  for (let i = 0; i < 10; i++) {
    const chunk = chunkOf(image, i);
    if (ZERO_CHUNKS.includes(i)) t.equal(m.chunks[i], null, `chunk ${i} is zero`);
    else t.equal(m.chunks[i], xxhsum128(chunk), `chunk ${i} is xxhsum -H2 of its ${chunk.length} bytes`);
  }
  t.equal(m.chunks[4], m.chunks[0], 'a repeated chunk has the same digest');
  t.same(r.digests, new Set(m.chunks.filter((c) => c !== null)), 'digests are every non-zero entry');
  t.match(m.backup, { uuid: ids.backupUuid, tenant_id: 'tenant1', container: CONTAINER, completed_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ });
  t.match(m.volume, { uuid: ids.volumeUuid, id: '1', display_name: 'v' });

  t.same(r.stats, {
    chunks: 10,
    zeroChunks: 3,
    holeChunks: 0,
    knownChunks: 1, // chunk 4 repeats chunk 0
    uploadedChunks: 6,
    bytesRead: SIZE,
    storedBytes: r.stats.storedBytes,
    seconds: r.stats.seconds,
  });
  t.equal(r.objectCount, r.stats.uploadedChunks + 1, 'object_count = uploaded chunks + the manifest');
  t.same(m.stored, { objects: r.objectCount, bytes: r.stats.storedBytes });
  noBufferLent(t);
});

t.test('stored chunk objects decode to the chunk bytes and are named by their digest', async (t) => {
  const env = await storeEnv(t);
  const { image, ids, result: r } = await standardBackup(env);
  const names = await listNames(env.store, chunkPrefix(ids.volumeUuid));
  t.same(names.sort(), [...r.digests].map((d) => chunkKey(ids.volumeUuid, d)).sort(), 'one object per distinct non-zero digest');
  let stored = 0;
  let raw = 0;
  for (let i = 0; i < 10; i++) {
    const d = r.manifest.chunks[i];
    if (d === null || d === undefined) continue;
    const bytes = readFileSync(env.objectPath(chunkKey(ids.volumeUuid, d)));
    const chunk = chunkOf(image, i);
    t.ok(decodeObject(bytes, chunk.length).equals(chunk), `chunk ${i} decodes to its bytes`);
    if (i !== 4) stored += bytes.length;
    if (bytes.length === chunk.length) raw++;
  }
  t.equal(stored, r.stats.storedBytes, 'storedBytes is the sum of the new objects');
  t.equal(raw, 2, 'the two random chunks are stored raw, the text ones as frames');

  const manifestBytes = readFileSync(env.objectPath(manifestKey(ids.volumeUuid, ids.backupUuid)));
  t.same(await parse(manifestBytes), r.manifest, 'the stored manifest is the returned one');
  t.same(await listNames(env.store, manifestPrefix(ids.volumeUuid)), [manifestKey(ids.volumeUuid, ids.backupUuid)]);
  noBufferLent(t);
});

t.test('a chunk that repeats within one backup is stored once', async (t) => {
  const env = await storeEnv(t);
  const block = textBytes(CHUNK, 9);
  const image = Buffer.concat([block, block, block, randomData(CHUNK), block]);
  const path = writeImage(env, 'rep.img', image);
  const ids = newIds();
  const r = await backup(env, path, ids, { maxInFlight: 8 });
  t.equal(new Set(r.manifest.chunks).size, 2);
  t.equal(r.stats.uploadedChunks, 2, 'the repeated block is uploaded once, even with all chunks in flight at once');
  t.equal(r.stats.knownChunks, 3);
  t.equal((await listNames(env.store, chunkPrefix(ids.volumeUuid))).length, 2);
  noBufferLent(t);
});

t.test("a second backup with the first's digests as known uploads only the changed chunk", async (t) => {
  const env = await storeEnv(t);
  const { path, ids, result: first } = await standardBackup(env);

  // Change chunk 3 in place.
  const changed = textBytes(CHUNK, 77);
  const fd = openSync(path, 'r+');
  writeSync(fd, changed, 0, CHUNK, 3 * CHUNK);
  closeSync(fd);

  const ids2 = { volumeUuid: ids.volumeUuid, backupUuid: newIds().backupUuid };
  const second = await backup(env, path, ids2, { known: first.digests });
  t.equal(second.stats.uploadedChunks, 1, 'one new chunk');
  t.equal(second.stats.knownChunks, 6, 'the six unchanged non-zero chunks are known');
  t.equal(second.objectCount, 2, 'the new chunk and the manifest');
  t.equal(second.manifest.chunks[3], xxhsum128(changed));
  for (let i = 0; i < 10; i++) if (i !== 3) t.equal(second.manifest.chunks[i], first.manifest.chunks[i], `chunk ${i} unchanged`);
  const names = await listNames(env.store, chunkPrefix(ids.volumeUuid));
  t.equal(names.length, first.digests.size + 1, 'the old chunks stay, one new');
  t.equal((await listNames(env.store, manifestPrefix(ids.volumeUuid))).length, 2);
  noBufferLent(t);
});

t.test('chunks inside holes of dataRanges are null and never read', async (t) => {
  const env = await storeEnv(t);
  const image = standardImage();
  const path = writeImage(env, 'v.img', image);
  const ids = newIds();
  // The file has data everywhere, but the ranges say chunks 1 and 3 are holes: had
  // they been read, their entries would be digests.
  const ranges: Array<[number, number]> = [
    [0, CHUNK],
    [2 * CHUNK, 3 * CHUNK],
    [4 * CHUNK, SIZE],
  ];
  const r = await backup(env, path, ids, { dataRanges: ranges });
  t.equal(r.manifest.chunks[1], null, 'chunk 1 (random data on disk) is a hole');
  t.equal(r.manifest.chunks[3], null, 'chunk 3 (text on disk) is a hole');
  t.equal(r.manifest.chunks[0], xxhsum128(chunkOf(image, 0)), 'chunk 0 is read');
  t.equal(r.stats.holeChunks, 2);
  t.equal(r.stats.bytesRead, SIZE - 2 * CHUNK, 'holes are not read');
  noBufferLent(t);
});

t.test('a chunk that a data range only touches at one byte is read; one that ranges end at is not', async (t) => {
  const env = await storeEnv(t);
  const image = standardImage();
  const path = writeImage(env, 'v.img', image);
  const r = await backup(env, path, newIds(), {
    dataRanges: [
      [CHUNK - 4096, CHUNK], // ends where chunk 1 starts
      [2 * CHUNK - 1, 2 * CHUNK], // the last byte of chunk 1
      [6 * CHUNK, 6 * CHUNK + 1], // the first byte of chunk 6
    ],
  });
  t.equal(r.manifest.chunks[0], xxhsum128(chunkOf(image, 0)), 'chunk 0 overlaps the first range');
  t.equal(r.manifest.chunks[1], xxhsum128(chunkOf(image, 1)), 'chunk 1 holds one byte of data');
  t.equal(r.manifest.chunks[6], xxhsum128(chunkOf(image, 6)), 'chunk 6 holds one byte of data');
  for (const i of [3, 4, 7, 9]) t.equal(r.manifest.chunks[i], null, `chunk ${i} is a hole`);
  t.equal(r.stats.holeChunks, 7);
  noBufferLent(t);
});

t.test('empty dataRanges back up a volume without reading a byte', async (t) => {
  const env = await storeEnv(t);
  const path = writeImage(env, 'v.img', standardImage());
  const ids = newIds();
  const r = await backup(env, path, ids, { dataRanges: [] });
  t.same(r.manifest.chunks, new Array(10).fill(null));
  t.equal(r.stats.bytesRead, 0);
  t.equal(r.objectCount, 1, 'only the manifest');
  t.same(await listNames(env.store, chunkPrefix(ids.volumeUuid)), []);
  noBufferLent(t);
});

t.test('a plain file whose size is not a multiple of 512 backs up, tail included', async (t) => {
  const env = await storeEnv(t);
  const image = Buffer.concat([textBytes(2 * MiB, 5), Buffer.alloc(MiB), randomData(2 * MiB), textBytes(1234, 6)]);
  const path = writeImage(env, 'odd.img', image);
  const r = await backup(env, path, newIds());
  t.equal(r.manifest.volume.size_bytes, 5 * MiB + 1234);
  t.equal(r.manifest.chunk_count, 6);
  t.same(r.manifest.chunks, [0, 1, 2, 3, 4, 5].map((i) => (i === 2 ? null : xxhsum128(chunkOf(image, i)))));
  t.equal(r.stats.bytesRead, image.length);
  noBufferLent(t);
});

t.test('with md5 the store gets each chunk MD5 and accepts the upload', async (t) => {
  const env = await storeEnv(t);
  const path = writeImage(env, 'v.img', standardImage());
  // The real store, noting the MD5 each put was given.
  const given = new Map<string, string | undefined>();
  const noting: ObjectStore = Object.create(env.store, {
    flush: { value: (o?: Parameters<ObjectStore['flush']>[0]) => env.store.flush(o) },
    put: {
      value: (...args: Parameters<ObjectStore['put']>) => {
        given.set(args[1], args[3]?.md5);
        return env.store.put(...args);
      },
    },
  });
  const ids = newIds();
  const r = await backup(env, path, ids, { store: noting, md5: true });
  t.equal(r.stats.uploadedChunks, 6, 'the fs store verified and accepted every chunk');
  for (const d of r.digests) {
    const name = chunkKey(ids.volumeUuid, d);
    t.equal(given.get(name), md5Of(readFileSync(env.objectPath(name))), `chunk ${d} was put with the MD5 of its stored bytes`);
  }
  noBufferLent(t);
});

t.test('at most maxInFlight chunks are uploaded at once', async (t) => {
  const env = await storeEnv(t);
  const image = Buffer.concat(Array.from({ length: 12 }, (_, i) => textBytes(CHUNK, 100 + i)));
  const path = writeImage(env, 'v.img', image);
  let now = 0;
  let max = 0;
  // A pass-through to the real store that holds each put a little, to see overlap.
  const slow: ObjectStore = Object.create(env.store, {
    flush: { value: (o?: Parameters<ObjectStore['flush']>[0]) => env.store.flush(o) },
    put: {
      value: async (...args: Parameters<ObjectStore['put']>) => {
        now++;
        max = Math.max(max, now);
        try {
          await sleep(20);
          return await env.store.put(...args);
        } finally {
          now--;
        }
      },
    },
  });
  const r = await backup(env, path, newIds(), { store: slow, maxInFlight: 3 });
  t.equal(r.stats.uploadedChunks, 12);
  t.ok(max <= 3 + 1, `at most 3 chunk puts (+ the manifest, which comes after) at once; saw ${max}`);
  t.ok(max >= 2, 'chunks do overlap');
  noBufferLent(t);
});

t.test('a loop device backs up to the same entries as its backing file', { skip: loopUnavailable() ?? false }, async (t) => {
  const env = await storeEnv(t);
  const { path, result: fromFile } = await standardBackup(env);
  const loop = await withLoop(t, path, { readOnly: true });
  const fromLoop = await backup(env, loop.device, newIds());
  t.same(fromLoop.manifest.chunks, fromFile.manifest.chunks);
  t.equal(fromLoop.manifest.volume.size_bytes, SIZE);
  noBufferLent(t);
});

t.test("a sparse file's real allocation map skips its holes", async (t) => {
  const env = await storeEnv(t);
  const path = writeImage(env, 'sparse.img', Buffer.alloc(0));
  truncateSync(path, 16 * MiB);
  const data = textBytes(CHUNK, 42);
  const fd = openSync(path, 'r+');
  writeSync(fd, data, 0, CHUNK, 5 * CHUNK);
  closeSync(fd);
  const ranges = await dataRanges(path, 0, 16 * MiB);
  const r = await backup(env, path, newIds(), { dataRanges: ranges });
  t.equal(r.stats.holeChunks, 15);
  t.equal(r.stats.bytesRead, CHUNK, 'only the allocated chunk is read');
  t.same(r.manifest.chunks, Array.from({ length: 16 }, (_, i) => (i === 5 ? xxhsum128(data) : null)));
  noBufferLent(t);
});

t.test('a read limiter paces the reads and the backup still completes', async (t) => {
  const env = await storeEnv(t);
  const path = writeImage(env, 'v.img', standardImage());
  // 4 MB/s with a 4 MB bucket: the 9.45 MB volume needs at least 1.36 s after the burst.
  const limiter = new RateLimiter(4);
  const t0 = performance.now();
  const r = await backup(env, path, newIds(), { readLimiter: limiter });
  const s = (performance.now() - t0) / 1000;
  t.equal(r.stats.bytesRead, SIZE);
  t.ok(s >= 1, `the reads waited for the limiter (${s.toFixed(2)} s)`);
  noBufferLent(t);
});

t.test('an empty volume is refused', async (t) => {
  const env = await storeEnv(t);
  const path = writeImage(env, 'empty.img', Buffer.alloc(0));
  await t.rejects(backup(env, path, newIds()), /is empty/);
  noBufferLent(t);
});

t.test('an already aborted signal rejects before anything is stored', async (t) => {
  const env = await storeEnv(t);
  const path = writeImage(env, 'v.img', standardImage());
  const ids = newIds();
  const ac = new AbortController();
  ac.abort(new Error('stop now'));
  await t.rejects(backup(env, path, ids, { signal: ac.signal }), /stop now/);
  t.same(await listNames(env.store, `volbackd/${ids.volumeUuid}/`), [], 'nothing stored');
  noBufferLent(t);
});

t.test('aborting mid-backup rejects, stores no manifest and returns every buffer', async (t) => {
  const env = await storeEnv(t);
  const image = Buffer.concat(Array.from({ length: 16 }, (_, i) => textBytes(CHUNK, 200 + i)));
  const path = writeImage(env, 'v.img', image);
  const ids = newIds();
  const ac = new AbortController();
  const started: string[] = [];
  const p = backup(env, path, ids, {
    signal: ac.signal,
    maxInFlight: 2,
    onUpload: (d) => {
      started.push(d);
      if (started.length === 3) ac.abort(new Error('shutting down'));
    },
  });
  await t.rejects(p, /shutting down|abort/i);
  t.ok(started.length < 16, `stopped early (${started.length} uploads started)`);
  t.same(await listNames(env.store, manifestPrefix(ids.volumeUuid)), [], 'no manifest: the backup does not exist');
  noBufferLent(t);
});

t.test('a put into a missing container rejects with not-found', async (t) => {
  const env = await storeEnv(t);
  const path = writeImage(env, 'v.img', standardImage());
  const err = await backup(env, path, newIds(), { container: 'no-such-container' }).catch((e: unknown) => e);
  t.ok(isNotFound(err), 'the put into a missing container fails with not-found');
  noBufferLent(t);
});

t.test('a store failure mid-backup stops the other chunks, rejects with that error and stores no manifest', async (t) => {
  const env = await storeEnv(t);
  const image = Buffer.concat(Array.from({ length: 16 }, (_, i) => textBytes(CHUNK, 300 + i)));
  const path = writeImage(env, 'v.img', image);
  const ids = newIds();
  let puts = 0;
  const failure = new StoreError('put: EIO (injected)', { retryable: false, code: 'EIO' });
  // The real store, except that its third put fails.
  const flaky: ObjectStore = Object.create(env.store, {
    put: {
      value: async (...args: Parameters<ObjectStore['put']>) => {
        if (++puts === 3) throw failure;
        return env.store.put(...args);
      },
    },
  });
  await t.rejects(backup(env, path, ids, { store: flaky, maxInFlight: 2 }), failure);
  t.ok(puts < 16, `no new chunk started after the failure (${puts} puts)`);
  t.same(await listNames(env.store, manifestPrefix(ids.volumeUuid)), [], 'no manifest');
  noBufferLent(t);
});

t.test('a device that cannot be opened rejects', async (t) => {
  const env = await storeEnv(t);
  await t.rejects(backup(env, `${env.dir}/missing.img`, newIds()), { code: 'ENOENT' });
  noBufferLent(t);
});

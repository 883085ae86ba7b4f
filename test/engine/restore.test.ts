// restoreBackup and fetchManifest against the real filesystem store: identical
// bytes onto files and loop devices, zero chunks over garbage, and every refusal
// (missing or damaged chunk, damaged manifest, small target, abort) without
// writing a damaged chunk or leaking a buffer.
import t from 'tap';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkKey, manifestKey } from '../../src/engine/keys.js';
import { ManifestError } from '../../src/engine/manifest.js';
import { RestoreError, fetchManifest, restoreBackup, type RestoreInput } from '../../src/engine/restore.js';
import { randomData, sha256, textBytes } from '../helpers/data.js';
import { loopUnavailable, withLoop } from '../helpers/loop.js';
import {
  CHUNK,
  CONTAINER,
  MiB,
  SIZE,
  ZERO_CHUNKS,
  backup,
  chunkOf,
  codeInChain,
  newIds,
  noBufferLent,
  standardBackup,
  storeEnv,
  writeImage,
  type Env,
  type VolumeIds,
} from './fixtures/engine.js';

function restoreInput(env: Env, ids: VolumeIds, devicePath: string, over: Partial<RestoreInput> = {}): RestoreInput {
  return {
    store: env.store,
    container: CONTAINER,
    volumeUuid: ids.volumeUuid,
    backupUuid: ids.backupUuid,
    devicePath,
    freshTarget: true,
    maxInFlight: 4,
    ...over,
  };
}

/** A sparse file of `size` bytes (reads as zeros). */
function sparseFile(env: Env, name: string, size: number): string {
  const path = join(env.dir, name);
  writeFileSync(path, '');
  truncateSync(path, size);
  return path;
}

/** The standard image, backed up; returns the image, its ids and the manifest. */
async function backedUp(env: Env) {
  const { image, ids, result } = await standardBackup(env, 'src.img');
  return { image, ids, manifest: result.manifest };
}

t.test('fetchManifest returns the parsed manifest of the backup', async (t) => {
  const env = await storeEnv(t);
  const { ids, manifest } = await backedUp(env);
  t.same(await fetchManifest(env.store, CONTAINER, ids.volumeUuid, ids.backupUuid), manifest);
});

t.test('restore onto a fresh sparse file gives identical bytes', async (t) => {
  const env = await storeEnv(t);
  const { image, ids } = await backedUp(env);
  const dst = sparseFile(env, 'dst.img', SIZE);
  const stats = await restoreBackup(restoreInput(env, ids, dst));
  t.equal(sha256(readFileSync(dst)), sha256(image));
  t.same(stats, { chunks: 10, zeroChunks: 3, writtenChunks: 7, bytesFetched: stats.bytesFetched, zeroMethod: null });
  t.ok(stats.bytesFetched > 0 && stats.bytesFetched < SIZE, 'fetched the stored (compressed) bytes');
  noBufferLent(t);
});

t.test('restore of a file whose size is not a multiple of 512 gives identical bytes', async (t) => {
  const env = await storeEnv(t);
  const image = Buffer.concat([textBytes(2 * MiB, 5), Buffer.alloc(MiB), randomData(2 * MiB), textBytes(1234, 6)]);
  const src = writeImage(env, 'odd.img', image);
  const ids = newIds();
  await backup(env, src, ids);
  const dst = sparseFile(env, 'dst.img', image.length);
  await restoreBackup(restoreInput(env, ids, dst));
  const back = readFileSync(dst);
  t.equal(back.length, image.length, 'the target keeps its size');
  t.equal(sha256(back), sha256(image));
  noBufferLent(t);
});

t.test('a backup with chunks larger than an LZ4 block (8 MiB) restores identically', async (t) => {
  const env = await storeEnv(t);
  const image = Buffer.concat([textBytes(9 * MiB, 8), Buffer.alloc(8 * MiB), randomData(3 * MiB), textBytes(777, 9)]);
  const src = writeImage(env, 'big-chunks.img', image);
  const ids = newIds();
  const r = await backup(env, src, ids, { chunkSize: 8 * MiB });
  t.equal(r.manifest.chunk_size, 8 * MiB);
  t.equal(r.manifest.chunk_count, 3);
  const dst = sparseFile(env, 'dst.img', image.length);
  await restoreBackup(restoreInput(env, ids, dst));
  t.equal(sha256(readFileSync(dst)), sha256(image));
  noBufferLent(t);
});

t.test('restore onto a larger target writes the backup and leaves the rest alone', async (t) => {
  const env = await storeEnv(t);
  const { image, ids } = await backedUp(env);
  const tail = randomData(MiB);
  const dst = writeImage(env, 'big.img', Buffer.concat([randomData(SIZE), tail]));
  await restoreBackup(restoreInput(env, ids, dst, { freshTarget: false }));
  const back = readFileSync(dst);
  t.ok(back.subarray(0, SIZE).equals(image), 'the backup is restored');
  t.ok(back.subarray(SIZE).equals(tail), 'bytes past the backup are untouched');
  noBufferLent(t);
});

t.test('restore onto a loop device gives identical bytes', { skip: loopUnavailable() ?? false }, async (t) => {
  const env = await storeEnv(t);
  const { image, ids } = await backedUp(env);
  const backing = writeImage(env, 'loop.img', randomData(SIZE)); // garbage the restore must replace
  const loop = await withLoop(t, backing);
  const stats = await restoreBackup(restoreInput(env, ids, loop.device, { freshTarget: false }));
  t.equal(stats.zeroMethod, 'blkzeroout', 'zero chunks are zeroed on the device');
  t.equal(sha256(readFileSync(backing)), sha256(image), 'the backing file holds the backup');
  noBufferLent(t);
});

t.test('restore with freshTarget=false zeroes the zero chunks over garbage', async (t) => {
  const env = await storeEnv(t);
  const { image, ids } = await backedUp(env);
  const dst = writeImage(env, 'garbage.img', randomData(SIZE));
  const stats = await restoreBackup(restoreInput(env, ids, dst, { freshTarget: false }));
  t.ok(stats.zeroMethod !== null, `zeroed with ${stats.zeroMethod}`);
  const back = readFileSync(dst);
  for (const i of ZERO_CHUNKS) t.ok(chunkOf(back, i).every((b) => b === 0), `chunk ${i} reads as zeros`);
  t.equal(sha256(back), sha256(image));
  noBufferLent(t);
});

t.test('restore with freshTarget=true skips the zero chunks', async (t) => {
  const env = await storeEnv(t);
  const { image, ids } = await backedUp(env);
  const garbage = randomData(SIZE);
  const dst = writeImage(env, 'garbage.img', garbage);
  const stats = await restoreBackup(restoreInput(env, ids, dst, { freshTarget: true }));
  t.equal(stats.zeroMethod, null);
  const back = readFileSync(dst);
  for (const i of ZERO_CHUNKS) t.ok(chunkOf(back, i).equals(chunkOf(garbage, i)), `chunk ${i} is not touched`);
  for (let i = 0; i < 10; i++) if (!ZERO_CHUNKS.includes(i)) t.ok(chunkOf(back, i).equals(chunkOf(image, i)), `chunk ${i} restored`);
  noBufferLent(t);
});

t.test('a missing chunk object is a RestoreError naming the digest and the offset', async (t) => {
  const env = await storeEnv(t);
  const { ids, manifest } = await backedUp(env);
  const digest = manifest.chunks[3]!;
  await env.store.delete(CONTAINER, chunkKey(ids.volumeUuid, digest));
  const dst = sparseFile(env, 'dst.img', SIZE);
  const err = await restoreBackup(restoreInput(env, ids, dst)).catch((e: unknown) => e);
  t.type(err, RestoreError);
  t.match((err as Error).message, digest, 'names the digest');
  t.match((err as Error).message, `offset ${3 * CHUNK}`, 'names the offset');
  t.match((err as Error).message, 'chunk 3');
  noBufferLent(t);
});

for (const [what, index] of [
  ['a raw (random) chunk', 1],
  ['an LZ4 (text) chunk', 3],
] as const) {
  t.test(`a corrupted chunk object (${what}) fails with ERR_CHUNK_DIGEST or ERR_CHUNK_FRAME and is not written`, async (t) => {
    const env = await storeEnv(t);
    const { ids, manifest } = await backedUp(env);
    const digest = manifest.chunks[index]!;
    const objectPath = env.objectPath(chunkKey(ids.volumeUuid, digest));
    const stored = readFileSync(objectPath);
    t.equal(stored.length === CHUNK, index === 1, `the object is ${index === 1 ? 'raw' : 'a frame'}`);
    const bad = Buffer.from(stored);
    const at = Math.floor(bad.length / 2);
    bad[at] = bad[at]! ^ 0x40;
    writeFileSync(objectPath, bad);

    const fill = Buffer.alloc(SIZE, 0xab);
    const dst = writeImage(env, 'dst.img', fill);
    const err = await restoreBackup(restoreInput(env, ids, dst, { maxInFlight: 1 })).catch((e: unknown) => e);
    t.type(err, RestoreError);
    t.match(codeInChain(err), /^ERR_CHUNK_(DIGEST|FRAME)$/, `code ${codeInChain(err)} in the cause chain`);
    t.match((err as Error).message, `offset ${index * CHUNK}`);
    const back = readFileSync(dst);
    t.ok(chunkOf(back, index).equals(chunkOf(fill, index)), "the damaged chunk's range is untouched");
    noBufferLent(t);
  });
}

t.test('a damaged manifest is a ManifestError and the target is not touched', async (t) => {
  const env = await storeEnv(t);
  const { ids } = await backedUp(env);
  const path = env.objectPath(manifestKey(ids.volumeUuid, ids.backupUuid));
  const bytes = readFileSync(path);
  bytes[100] = bytes[100]! ^ 0x01;
  writeFileSync(path, bytes);
  const fill = Buffer.alloc(SIZE, 0xcd);
  const dst = writeImage(env, 'dst.img', fill);
  await t.rejects(restoreBackup(restoreInput(env, ids, dst)), ManifestError);
  await t.rejects(fetchManifest(env.store, CONTAINER, ids.volumeUuid, ids.backupUuid), ManifestError);
  t.ok(readFileSync(dst).equals(fill), 'not a byte written');
  noBufferLent(t);
});

t.test('a missing manifest is a RestoreError naming its key', async (t) => {
  const env = await storeEnv(t);
  const ids = newIds();
  const dst = sparseFile(env, 'dst.img', SIZE);
  await t.rejects(restoreBackup(restoreInput(env, ids, dst)), { name: 'RestoreError', message: manifestKey(ids.volumeUuid, ids.backupUuid) });
});

t.test('a manifest stored under another backup uuid is refused', async (t) => {
  const env = await storeEnv(t);
  const { ids } = await backedUp(env);
  const other = newIds(ids.volumeUuid);
  writeFileSync(env.objectPath(manifestKey(ids.volumeUuid, other.backupUuid)), readFileSync(env.objectPath(manifestKey(ids.volumeUuid, ids.backupUuid))));
  await t.rejects(fetchManifest(env.store, CONTAINER, other.volumeUuid, other.backupUuid), { name: 'RestoreError', message: /describes backup/ });
});

t.test('a target smaller than the backup is a RestoreError', async (t) => {
  const env = await storeEnv(t);
  const { ids } = await backedUp(env);
  const dst = sparseFile(env, 'small.img', SIZE - 4096);
  await t.rejects(restoreBackup(restoreInput(env, ids, dst)), { name: 'RestoreError', message: `has ${SIZE - 4096} bytes, the backup needs ${SIZE}` });
  noBufferLent(t);
});

t.test('an aborted signal stops the restore', async (t) => {
  const env = await storeEnv(t);
  const { ids } = await backedUp(env);
  const dst = sparseFile(env, 'dst.img', SIZE);
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  await t.rejects(restoreBackup(restoreInput(env, ids, dst, { signal: ac.signal })));

  // Aborted while chunks are in flight.
  const ac2 = new AbortController();
  const p = restoreBackup(restoreInput(env, ids, dst, { signal: ac2.signal, maxInFlight: 1 }));
  setImmediate(() => ac2.abort(new Error('shutting down')));
  await t.rejects(p);
  noBufferLent(t);
});

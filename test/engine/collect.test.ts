// collectChunks and sweepScope against the real filesystem store: only chunks no
// live or foreign manifest references are deleted, a manifest that cannot be read
// stops everything, and both are idempotent.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { collectChunks, sweepScope, type Scope } from '../../src/engine/collect.js';
import { chunkKey, chunkPrefix, manifestKey } from '../../src/engine/keys.js';
import { ManifestBuilder, serialize } from '../../src/engine/manifest.js';
import type { ObjectStore } from '../../src/store/object-store.js';
import { CONTAINER, TENANT, listNames, storeEnv, type Env } from './fixtures/engine.js';

const D = (n: number): string => n.toString(16).padStart(32, 'a');

/** Stores a chunk object (its content does not matter to collection). */
async function putChunk(env: Env, vol: string, digest: string): Promise<void> {
  await env.store.put(CONTAINER, chunkKey(vol, digest), Buffer.from(`chunk ${digest}`));
}

/** Stores a sound manifest of backup `uuid` referencing `digests` (plus a zero chunk). */
async function putManifest(env: Env, vol: string, uuid: string, digests: string[]): Promise<void> {
  const b = new ManifestBuilder((digests.length + 1) * 4096, 4096);
  digests.forEach((d, i) => b.set(i, d));
  b.set(digests.length, null);
  const m = b.finish({
    backup: {
      uuid,
      id: '9',
      tenant_id: TENANT,
      container: CONTAINER,
      display_name: null,
      display_description: null,
      created_at: '2026-01-01T00:00:00Z',
      completed_at: '2026-01-01T00:00:01Z',
    },
    volume: { uuid: vol, id: '1', display_name: null, size_gb: 1 },
    stored: { objects: digests.length + 1, bytes: 1 },
  });
  await env.store.put(CONTAINER, manifestKey(vol, uuid), await serialize(m));
}

async function chunkNames(env: Env, vol: string): Promise<string[]> {
  return (await listNames(env.store, chunkPrefix(vol))).map((n) => n.slice(chunkPrefix(vol).length)).sort();
}

/** A pass-through to the real store that records deletions, in order. */
function recording(store: ObjectStore, deleted: string[]): ObjectStore {
  return {
    describe: store.describe,
    ensureContainer: (c, o) => store.ensureContainer(c, o),
    put: (c, n, b, o) => store.put(c, n, b, o),
    flush: (o) => store.flush(o),
    get: (c, n, o) => store.get(c, n, o),
    head: (c, n, o) => store.head(c, n, o),
    delete: async (c, n, o) => {
      deleted.push(n);
      return store.delete(c, n, o);
    },
    list: (c, p, o) => store.list(c, p, o),
  };
}

function scope(env: Env, vol: string, live: string[], liveBackups: string[] = [], store: ObjectStore = env.store): Scope {
  return { store, container: CONTAINER, volumeUuid: vol, live: new Set(live), liveBackups: new Set(liveBackups), concurrency: 4 };
}

t.test('collectChunks deletes only the candidates no live backup references', async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  for (const n of [1, 2, 3, 4]) await putChunk(env, vol, D(n));
  const stats = await collectChunks(scope(env, vol, [D(2)]), [D(1), D(2), D(3)], null);
  t.same(stats, { deleted: 2, kept: 1, foreignManifests: 0 });
  t.same(await chunkNames(env, vol), [D(2), D(4)], 'the live one and the non-candidate stay');
});

t.test("collectChunks deletes the named backup's manifest first, then its unreferenced chunks", async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  const doomed = randomUUID();
  for (const n of [1, 2, 3]) await putChunk(env, vol, D(n));
  await putManifest(env, vol, doomed, [D(1), D(2), D(3)]);
  const deleted: string[] = [];
  const stats = await collectChunks(scope(env, vol, [D(3)], [], recording(env.store, deleted)), [D(1), D(2), D(3)], doomed);
  t.same(stats, { deleted: 2, kept: 1, foreignManifests: 0 }, "the named backup's own manifest is not foreign");
  t.equal(deleted[0], manifestKey(vol, doomed), 'the manifest is deleted before any chunk');
  t.same(deleted.slice(1).sort(), [chunkKey(vol, D(1)), chunkKey(vol, D(2))]);
  t.same(await listNames(env.store, `volbackd/${vol}/backups/`), []);
  t.same(await chunkNames(env, vol), [D(3)]);
});

t.test("a foreign manifest (not in liveBackups) keeps its chunks", async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  for (const n of [1, 2, 3]) await putChunk(env, vol, D(n));
  await putManifest(env, vol, randomUUID(), [D(2)]);
  const stats = await collectChunks(scope(env, vol, []), [D(1), D(2), D(3)], null);
  t.same(stats, { deleted: 2, kept: 1, foreignManifests: 1 });
  t.same(await chunkNames(env, vol), [D(2)]);
});

t.test("a live backup's manifest is not read: its digests come from the catalog", async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  const liveUuid = randomUUID();
  for (const n of [1, 2]) await putChunk(env, vol, D(n));
  // Damaged on the store, but the catalog knows it: collection goes on.
  await env.store.put(CONTAINER, manifestKey(vol, liveUuid), Buffer.from('{"damaged":true}'));
  const stats = await collectChunks(scope(env, vol, [D(1)], [liveUuid]), [D(1), D(2)], null);
  t.same(stats, { deleted: 1, kept: 1, foreignManifests: 0 });
  t.same(await chunkNames(env, vol), [D(1)]);
});

t.test('a damaged foreign manifest makes collectChunks throw and delete nothing', async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  const named = randomUUID();
  const foreign = randomUUID();
  for (const n of [1, 2]) await putChunk(env, vol, D(n));
  await putManifest(env, vol, named, [D(1), D(2)]);
  await putManifest(env, vol, foreign, [D(2)]);
  const path = env.objectPath(manifestKey(vol, foreign));
  writeFileSync(path, '{"format":"volbackd-manifest","truncated');
  const deleted: string[] = [];
  await t.rejects(collectChunks(scope(env, vol, [], [], recording(env.store, deleted)), [D(1), D(2)], named), {
    message: new RegExp(`manifest ${manifestKey(vol, foreign)} cannot be read, so nothing is deleted`),
  });
  t.same(deleted, [], 'no delete was even attempted');
  t.same(await chunkNames(env, vol), [D(1), D(2)]);
  t.same((await listNames(env.store, `volbackd/${vol}/backups/`)).length, 2, "the named backup's manifest is still there");
});

t.test('a damaged foreign manifest makes sweepScope throw and delete nothing', async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  for (const n of [1, 2, 3]) await putChunk(env, vol, D(n));
  await env.store.put(CONTAINER, manifestKey(vol, randomUUID()), Buffer.from('not a manifest'));
  const deleted: string[] = [];
  await t.rejects(sweepScope(scope(env, vol, [], [], recording(env.store, deleted))), /cannot be read, so nothing is deleted/);
  t.same(deleted, []);
  t.same(await chunkNames(env, vol), [D(1), D(2), D(3)]);
});

t.test('sweepScope deletes unreferenced chunks and keeps live and foreign ones', async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  const otherVol = randomUUID();
  for (const n of [1, 2, 3, 4, 5]) await putChunk(env, vol, D(n));
  await putChunk(env, otherVol, D(9));
  await putManifest(env, vol, randomUUID(), [D(3)]);
  // Not a chunk name: left alone.
  await env.store.put(CONTAINER, `${chunkPrefix(vol)}README`, Buffer.from('x'));
  const stats = await sweepScope(scope(env, vol, [D(1), D(2)]));
  t.same(stats, { deleted: 2, kept: 3, foreignManifests: 1 });
  t.same(await chunkNames(env, vol), ['README', D(1), D(2), D(3)].sort());
  t.same(await chunkNames(env, otherVol), [D(9)], "another volume's chunks are not in the scope");
});

t.test('collectChunks is idempotent', async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  const doomed = randomUUID();
  for (const n of [1, 2, 3]) await putChunk(env, vol, D(n));
  await putManifest(env, vol, doomed, [D(1), D(2)]);
  const s = scope(env, vol, [D(2)]);
  t.same(await collectChunks(s, [D(1), D(2)], doomed), { deleted: 1, kept: 1, foreignManifests: 0 });
  await t.resolves(collectChunks(s, [D(1), D(2)], doomed), 'a second run finds everything gone and does not fail');
  t.same(await chunkNames(env, vol), [D(2), D(3)]);
});

t.test('sweepScope is idempotent', async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  for (const n of [1, 2, 3]) await putChunk(env, vol, D(n));
  const s = scope(env, vol, [D(3)]);
  t.same(await sweepScope(s), { deleted: 2, kept: 1, foreignManifests: 0 });
  t.same(await sweepScope(s), { deleted: 0, kept: 1, foreignManifests: 0 });
  t.same(await chunkNames(env, vol), [D(3)]);
});

t.test('an empty scope collects nothing without error', async (t) => {
  const env = await storeEnv(t);
  const vol = randomUUID();
  t.same(await sweepScope(scope(env, vol, [])), { deleted: 0, kept: 0, foreignManifests: 0 });
  t.same(await collectChunks(scope(env, vol, []), [], randomUUID()), { deleted: 0, kept: 0, foreignManifests: 0 });
});

// One job: remove chunk objects no backup needs any more, without ever removing
// one a stored manifest references.
//
//   collectChunks: a deleted backup's manifest, then its chunks that no other
//     backup references (or the chunks a failed backup uploaded)
//   sweepScope: every chunk under the volume's prefix that no live backup
//     references (what an unfinished backup left behind)
//
// Both first read every manifest on the store in the scope that the catalog does
// not list as live (another host's, or one left by a crash) and keep its chunks
// too; a manifest that cannot be read stops the collection (Longhorn's rule:
// delete nothing when in doubt). The caller holds the scope's lock, so no backup
// of the scope runs meanwhile.
import type { ObjectStore } from '../store/object-store.js';
import { isNotFound } from '../store/object-store.js';
import { runBounded } from '../util/bounded.js';
import { backupOfManifestKey, chunkKey, chunkPrefix, digestOfChunkKey, manifestKey, manifestPrefix } from './keys.js';
import { parse } from './manifest.js';

export interface Scope {
  store: ObjectStore;
  container: string;
  volumeUuid: string;
  /** uuids of the catalog's live backups in this scope (their digests are in `live`) */
  liveBackups: Set<string>;
  /** digests the catalog's live backups reference */
  live: Set<string>;
  concurrency: number;
  signal?: AbortSignal;
}

export interface CollectStats {
  deleted: number;
  kept: number;
  foreignManifests: number;
}

/** The scope's signal as a store call's options. */
function signalOf(s: Scope): { signal?: AbortSignal } {
  return s.signal ? { signal: s.signal } : {};
}

/** Adds the digests of manifests the catalog does not know to `keep`. */
async function keepForeign(s: Scope, ignoreBackup: string | null, keep: Set<string>): Promise<number> {
  let n = 0;
  for await (const obj of s.store.list(s.container, manifestPrefix(s.volumeUuid), signalOf(s))) {
    const uuid = backupOfManifestKey(s.volumeUuid, obj.name);
    if (uuid === null || uuid === ignoreBackup || s.liveBackups.has(uuid)) continue;
    let body: Buffer[];
    try {
      body = await s.store.get(s.container, obj.name, signalOf(s));
    } catch (err) {
      if (isNotFound(err)) continue; // deleted meanwhile
      throw err;
    }
    try {
      for (const d of (await parse(body)).chunks) if (d) keep.add(d);
    } catch (cause) {
      throw new Error(`collect chunks of volume ${s.volumeUuid}: manifest ${obj.name} cannot be read, so nothing is deleted: ${(cause as Error).message}`, { cause });
    }
    n++;
  }
  return n;
}

/** Deletes the objects; returns how many existed (a repeated run deletes none). */
async function deleteAll(s: Scope, names: string[]): Promise<number> {
  let deleted = 0;
  await runBounded(
    names.length,
    s.concurrency,
    async (i, signal) => {
      if (await s.store.delete(s.container, names[i]!, { signal })) deleted++;
    },
    s.signal,
  );
  return deleted;
}

/**
 * Deletes `candidates` (digests) except those a live or foreign manifest
 * references; when `manifestOf` is given, that backup's manifest is deleted first
 * (from then on the backup does not exist on the store, so a crash leaves at most
 * unreferenced chunks, collected when the work resumes).
 */
export async function collectChunks(s: Scope, candidates: Iterable<string>, manifestOf: string | null): Promise<CollectStats> {
  const keep = new Set(s.live);
  const foreign = await keepForeign(s, manifestOf, keep);
  if (manifestOf !== null) await s.store.delete(s.container, manifestKey(s.volumeUuid, manifestOf), signalOf(s));
  const all = [...candidates];
  const doomed = all.filter((d) => !keep.has(d));
  const deleted = await deleteAll(s, doomed.map((d) => chunkKey(s.volumeUuid, d)));
  return { deleted, kept: all.length - doomed.length, foreignManifests: foreign };
}

export async function sweepScope(s: Scope): Promise<CollectStats> {
  const keep = new Set(s.live);
  const foreign = await keepForeign(s, null, keep);
  const doomed: string[] = [];
  let kept = 0;
  for await (const obj of s.store.list(s.container, chunkPrefix(s.volumeUuid), signalOf(s))) {
    const d = digestOfChunkKey(s.volumeUuid, obj.name);
    if (d === null) continue;
    if (keep.has(d)) kept++;
    else doomed.push(obj.name);
  }
  return { deleted: await deleteAll(s, doomed), kept, foreignManifests: foreign };
}

// One job: restore a backup onto a volume.
//
//   manifest = parse(get backups/<uuid>.json)          a damaged manifest stops here
//   open the target (O_DIRECT, exclusive for block devices); it must be large enough
//   for each chunk i, at most maxInFlight at once, first error aborts all:
//     null (zero)  -> collected into ranges, zeroed at the end (skipped on a fresh volume)
//     digest       -> get chunks/<digest> as segments; decode + verify + pwrite in one
//                     native worker (a mismatch writes nothing)
//   zero the collected ranges; fdatasync; only then is the volume declared available
//
// Object encoding: a chunk object exactly as long as the chunk is raw bytes; any
// other length is an LZ4 frame (the backup stores raw only when a frame is not smaller).
import { openDevice } from '../native/index.js';
import { isNotFound, type ObjectStore } from '../store/object-store.js';
import { runBounded } from '../util/bounded.js';
import type { RateLimiter } from '../util/rate-limiter.js';
import { chunkKey, manifestKey } from './keys.js';
import { chunkRange, parse, type Manifest } from './manifest.js';

export interface RestoreInput {
  store: ObjectStore;
  container: string;
  volumeUuid: string;
  backupUuid: string;
  devicePath: string;
  /** the target was created for this restore and reads as zeros: zero chunks are skipped */
  freshTarget: boolean;
  maxInFlight: number;
  writeLimiter?: RateLimiter;
  signal?: AbortSignal;
}

export interface RestoreStats {
  chunks: number;
  zeroChunks: number;
  writtenChunks: number;
  bytesFetched: number;
  zeroMethod: string | null;
}

export class RestoreError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'RestoreError';
  }
}

export async function fetchManifest(store: ObjectStore, container: string, volumeUuid: string, backupUuid: string, signal?: AbortSignal): Promise<Manifest> {
  const key = manifestKey(volumeUuid, backupUuid);
  let body: Buffer[];
  try {
    body = await store.get(container, key, signal ? { signal } : {});
  } catch (cause) {
    if (isNotFound(cause)) throw new RestoreError(`manifest ${key} is missing from container ${container}`, { cause });
    throw cause;
  }
  const m = await parse(body);
  if (m.backup.uuid !== backupUuid || m.volume.uuid !== volumeUuid) {
    throw new RestoreError(`manifest ${key} describes backup ${m.backup.uuid} of volume ${m.volume.uuid}`);
  }
  return m;
}

/** Merges zero chunk indices into byte ranges, so a long run is one zeroRange call. */
function zeroRanges(m: Manifest): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  m.chunks.forEach((c, i) => {
    if (c !== null) return;
    const { offset, length } = chunkRange(m, i);
    const last = out[out.length - 1];
    if (last && last[1] === offset) last[1] = offset + length;
    else out.push([offset, offset + length]);
  });
  return out;
}

export async function restoreBackup(input: RestoreInput): Promise<RestoreStats> {
  const m = await fetchManifest(input.store, input.container, input.volumeUuid, input.backupUuid, input.signal);
  const dev = await openDevice(input.devicePath, { write: true });
  try {
    if (dev.size < m.volume.size_bytes) {
      throw new RestoreError(`volume ${input.devicePath} has ${dev.size} bytes, the backup needs ${m.volume.size_bytes}`);
    }
    const stats: RestoreStats = { chunks: m.chunk_count, zeroChunks: 0, writtenChunks: 0, bytesFetched: 0, zeroMethod: null };
    await runBounded(
      m.chunk_count,
      input.maxInFlight,
      async (i, signal) => {
        const digest = m.chunks[i];
        if (digest === null || digest === undefined) {
          stats.zeroChunks++;
          return;
        }
        const { offset, length } = chunkRange(m, i);
        const key = chunkKey(m.volume.uuid, digest);
        let segments: Buffer[];
        try {
          segments = await input.store.get(input.container, key, { signal });
        } catch (cause) {
          if (isNotFound(cause)) throw new RestoreError(`chunk ${digest} (chunk ${i} at offset ${offset}) is missing from container ${input.container}`, { cause });
          throw cause;
        }
        const bytes = segments.reduce((n, s) => n + s.length, 0);
        stats.bytesFetched += bytes;
        await input.writeLimiter?.take(length, signal);
        try {
          await dev.writeChunk(offset, length, segments, bytes === length ? 'raw' : 'lz4', digest);
        } catch (cause) {
          throw new RestoreError(`restore chunk ${i} at offset ${offset}: ${(cause as Error).message}`, { cause });
        }
        stats.writtenChunks++;
      },
      input.signal,
    );
    if (!input.freshTarget) {
      for (const [start, end] of zeroRanges(m)) {
        stats.zeroMethod = (await dev.zeroRange(start, end - start)).method;
      }
    }
    await dev.sync();
    return stats;
  } finally {
    await dev.close();
  }
}

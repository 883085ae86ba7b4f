// One job: back a volume up into a store — chunks first, the manifest last.
//
//   open the volume (O_DIRECT); known = digests the volume's live backups stored
//   for each chunk i, at most maxInFlight at once, first error aborts all:
//     unallocated (a hole)             -> entry null, nothing read
//     read (O_DIRECT, one native worker), then zero check + XXH3-128 (another)
//       all zero                       -> entry null
//       digest known (or claimed by an earlier chunk of this run) -> entry digest, nothing else
//       new                            -> LZ4 frame (raw if not smaller), same worker; put chunks/<digest>
//   flush the store (chunks durable)
//   put backups/<uuid>.json            <- the commit point on the store
//
// The bytes never pass through JS: the native worker fills an `out` buffer from a
// fixed pool, the store sends it, the buffer goes back to the pool.
import { DigestSet, openDevice } from '../native/index.js';
import type { ObjectStore } from '../store/object-store.js';
import { runBounded } from '../util/bounded.js';
import { isoSeconds } from '../util/time.js';
import type { RateLimiter } from '../util/rate-limiter.js';
import { chunkKey, manifestKey } from './keys.js';
import { ChunkStages } from './chunk-stages.js';
import { ManifestBuilder, serialize, type Manifest, type ManifestBackup, type ManifestVolume } from './manifest.js';

export interface BackupInput {
  store: ObjectStore;
  container: string;
  devicePath: string;
  chunkSize: number;
  maxInFlight: number;
  /**
   * O_DIRECT reads in flight at once: enough to keep the disk busy while chunks
   * already read are compressed
   */
  readConcurrency: number;
  /** chunks compressed at once: one per core keeps every core busy and no more */
  compressConcurrency: number;
  /** digests already stored for this volume in this container */
  known: Iterable<string>;
  /** allocated extents of the volume, or null when unknown (read everything) */
  dataRanges: Array<[number, number]> | null;
  /** send each chunk's MD5 so the store can refuse a damaged upload */
  md5: boolean;
  /** the manifest's backup block; completed_at is set when the manifest is built */
  backup: Omit<ManifestBackup, 'completed_at'>;
  volume: Omit<ManifestVolume, 'size_bytes' | 'size_gb'>;
  readLimiter?: RateLimiter;
  signal?: AbortSignal;
  /** called with each new chunk's digest before its upload starts (cleanup after a failure) */
  onUpload?: (digest: string) => void;
}

export interface BackupStats {
  chunks: number;
  zeroChunks: number;
  holeChunks: number;
  knownChunks: number;
  uploadedChunks: number;
  bytesRead: number;
  storedBytes: number;
  /** where the time went: chunks (read, compress, put), flush, manifest */
  seconds: { chunks: number; flush: number; manifest: number };
}

export interface BackupResult {
  manifest: Manifest;
  /** every non-zero digest the manifest references */
  digests: Set<string>;
  stats: BackupStats;
  /** objects this backup stored: new chunks plus the manifest */
  objectCount: number;
}

/** True when [start, end) overlaps none of the sorted extents. */
function isHole(ranges: Array<[number, number]>, start: number, end: number): boolean {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]![1] <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo === ranges.length || ranges[lo]![0] >= end;
}

export async function backupVolume(input: BackupInput): Promise<BackupResult> {
  const dev = await openDevice(input.devicePath);
  try {
    const size = dev.size;
    if (size === 0) throw new Error(`volume ${input.devicePath} is empty`);
    const builder = new ManifestBuilder(size, input.chunkSize);
    const known = new DigestSet();
    known.addMany([...input.known]);
    const stats: BackupStats = {
      chunks: builder.count,
      zeroChunks: 0,
      holeChunks: 0,
      knownChunks: 0,
      uploadedChunks: 0,
      bytesRead: 0,
      storedBytes: 0,
      seconds: { chunks: 0, flush: 0, manifest: 0 },
    };
    let t0 = performance.now();
    const lap = (): number => {
      const t = performance.now();
      const s = Math.round(t - t0) / 1000;
      t0 = t;
      return s;
    };
    const digests = new Set<string>();
    const stages = new ChunkStages({
      chunkSize: input.chunkSize,
      readConcurrency: Math.min(input.readConcurrency, input.maxInFlight),
      compressConcurrency: input.compressConcurrency,
    });

    await runBounded(
      builder.count,
      input.maxInFlight,
      async (i, signal) => {
        const offset = i * input.chunkSize;
        const length = Math.min(input.chunkSize, size - offset);
        if (input.dataRanges && isHole(input.dataRanges, offset, offset + length)) {
          builder.set(i, null);
          stats.holeChunks++;
          return;
        }
        await input.readLimiter?.take(length, signal);
        const { r, out } = await stages.process(dev, offset, length, { md5: input.md5, known, claim: true });
        try {
          stats.bytesRead += length;
          if (r.zero) {
            builder.set(i, null);
            stats.zeroChunks++;
            return;
          }
          const digest = r.digest!;
          digests.add(digest);
          if (!r.known) {
            input.onUpload?.(digest);
            // Durable at the flush below, before the manifest: one barrier, not one per chunk.
            await input.store.put(input.container, chunkKey(input.volume.uuid, digest), out.subarray(0, r.size), {
              ...(r.md5 ? { md5: r.md5 } : {}),
              deferSync: true,
              signal,
            });
            stats.uploadedChunks++;
            stats.storedBytes += r.size;
          } else {
            stats.knownChunks++;
          }
          builder.set(i, digest);
        } finally {
          stages.give(out);
        }
      },
      input.signal,
    );

    const objectCount = stats.uploadedChunks + 1; // the new chunks and the manifest
    const manifest = builder.finish({
      backup: { ...input.backup, completed_at: isoSeconds() },
      volume: { ...input.volume, size_gb: Math.ceil(size / 2 ** 30) },
      stored: { objects: objectCount, bytes: stats.storedBytes },
    });
    stats.seconds.chunks = lap();
    await input.store.flush(input.signal ? { signal: input.signal } : {});
    stats.seconds.flush = lap();
    const body = await serialize(manifest);
    await input.store.put(input.container, manifestKey(input.volume.uuid, input.backup.uuid), body, {
      contentType: 'application/json',
      ...(input.signal ? { signal: input.signal } : {}),
    });
    stats.seconds.manifest = lap();
    return { manifest, digests, stats, objectCount };
  } finally {
    await dev.close();
  }
}

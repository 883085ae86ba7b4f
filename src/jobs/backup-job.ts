// One job: run a backup job — lock the chunk scope, back up, commit; on failure
// take back what the run stored and mark the backup error with the reason.
//
// Commit order (the invariant): chunks, then the manifest, then the catalog says
// available. A crash before the manifest leaves only unreferenced chunks, which
// start-up collects; a crash after it is rolled forward at start-up.
import { availableParallelism } from 'node:os';
import type { BackupRow, JobRow } from '../catalog/types.js';
import { backupVolume } from '../engine/backup.js';
import { collectChunks, sweepScope } from '../engine/collect.js';
import type { ObjectStore } from '../store/object-store.js';
import { describeError } from '../util/log.js';
import { limiterFor } from '../util/rate-limiter.js';
import { collectScope, scopeKey, scopeOf, storeFor, type JobContext } from './context.js';

export async function runBackupJob(ctx: JobContext, job: JobRow): Promise<void> {
  const backup = ctx.catalog.backups.byId(job.backup_id!);
  if (!backup || backup.status !== 'creating') return; // settled meanwhile
  const volume = ctx.catalog.volumes.byId(backup.volume_id)!;
  const scope = scopeOf(backup);
  const log = ctx.log.child({ job: job.id, backup: backup.id, volume: volume.id });
  const readLimiter = limiterFor(ctx.config.limits.max_read_mbps);

  await ctx.locks.run(scopeKey(scope), async () => {
    const uploaded = new Set<string>();
    let store: ObjectStore | null = null;
    try {
      store = storeFor(ctx, backup.tenant_id, job);
      await store.ensureContainer(backup.container, { signal: ctx.signal });
      await sweepEarlierLeftovers(ctx, store, backup);
      const result = await backupVolume({
        store,
        container: backup.container,
        devicePath: ctx.volumes.devicePath(volume),
        chunkSize: backup.chunk_size,
        maxInFlight: ctx.config.backup.max_in_flight,
        readConcurrency: ctx.config.backup.read_concurrency,
        compressConcurrency: availableParallelism(),
        known: ctx.catalog.backups.liveDigests(scope),
        dataRanges: await ctx.volumes.allocation(volume),
        md5: ctx.stores.kind === 'swift',
        backup: {
          uuid: backup.uuid,
          id: String(backup.id),
          tenant_id: backup.tenant_id,
          container: backup.container,
          display_name: backup.display_name,
          display_description: backup.display_description,
          created_at: backup.created_at,
        },
        volume: { uuid: volume.uuid, id: String(volume.id), display_name: volume.display_name },
        ...(readLimiter ? { readLimiter } : {}),
        signal: ctx.signal,
        onUpload: (d) => uploaded.add(d),
      });
      if (!ctx.catalog.commitBackup(backup.id, { digests: result.digests, object_count: result.objectCount, stored_bytes: result.stats.storedBytes })) {
        throw new Error(`backup ${backup.id} was settled while it ran`);
      }
      log.info({ stats: result.stats, objects: result.objectCount, eventLoop: ctx.eventLoop?.() }, 'backup available');
    } catch (err) {
      // Shutting down: leave the status as it is; start-up settles it like a crash.
      if (ctx.signal.aborted) throw err;
      const reason = describeError(err);
      log.warn({ err: reason }, 'backup failed');
      let gcPending = store === null;
      if (store) {
        try {
          // Take back what this run stored (never a chunk another backup references).
          await collectChunks(
            collectScope(ctx, backup, store),
            uploaded,
            backup.uuid, // its manifest, if the put got that far, goes first
          );
        } catch (cleanup) {
          gcPending = true; // the next backup of the scope, or start-up, sweeps it
          log.warn({ err: describeError(cleanup) }, 'cleanup of the failed backup postponed');
        }
      }
      ctx.catalog.failBackup(backup.id, reason, gcPending);
      throw err;
    }
  });
}

/**
 * Earlier failed backups of this scope whose chunks could not be collected then
 * (the store was down, a user's token had expired) are swept now, with this job's
 * working credentials, before the new backup reads its known set.
 */
async function sweepEarlierLeftovers(ctx: JobContext, store: ObjectStore, current: BackupRow): Promise<void> {
  const pending = ctx.catalog.backups
    .gcPending()
    .filter((b) => b.id !== current.id && b.tenant_id === current.tenant_id && b.container === current.container && b.volume_uuid === current.volume_uuid);
  if (pending.length === 0) return;
  const stats = await sweepScope(collectScope(ctx, current, store, ctx.signal));
  for (const b of pending) ctx.catalog.gcDone(b.id);
  ctx.log.info({ backup: current.id, swept: pending.map((b) => b.id), ...stats }, 'chunks of earlier failed backups collected');
}

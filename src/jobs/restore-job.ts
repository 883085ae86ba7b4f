// One job: run a restore job — create the target when it is new, restore, and
// settle: volume available, or error_restoring with the backup's fail_reason set.
import type { JobRow } from '../catalog/types.js';
import { restoreBackup } from '../engine/restore.js';
import { describeError } from '../util/log.js';
import { limiterFor } from '../util/rate-limiter.js';
import { storeFor, type JobContext } from './context.js';

export async function runRestoreJob(ctx: JobContext, job: JobRow): Promise<void> {
  const backup = ctx.catalog.backups.byId(job.backup_id!);
  const volume = ctx.catalog.volumes.byId(job.volume_id!);
  if (!backup || !volume || backup.status !== 'restoring' || volume.status !== 'restoring-backup') return;
  const log = ctx.log.child({ job: job.id, backup: backup.id, volume: volume.id });
  try {
    if (job.fresh_target) await ctx.volumes.create(volume);
    const limiter = limiterFor(ctx.config.limits.max_write_mbps);
    const stats = await restoreBackup({
      store: storeFor(ctx, backup.tenant_id, job),
      container: backup.container,
      volumeUuid: backup.volume_uuid,
      backupUuid: backup.uuid,
      devicePath: ctx.volumes.devicePath(volume),
      freshTarget: job.fresh_target === 1,
      maxInFlight: ctx.config.restore.max_in_flight,
      ...(limiter ? { writeLimiter: limiter } : {}),
      signal: ctx.signal,
    });
    ctx.catalog.finishRestore(backup.id, volume.id);
    log.info({ stats }, 'restore finished, volume available');
  } catch (err) {
    // Shutting down: leave the status as it is; start-up settles it like a crash.
    if (ctx.signal.aborted) throw err;
    const reason = describeError(err);
    ctx.catalog.failRestore(backup.id, volume.id, reason);
    log.warn({ err: reason }, 'restore failed, volume error_restoring');
    throw err;
  }
}

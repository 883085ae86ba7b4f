// One job: run a backup deletion — under the scope's lock, delete the manifest
// and the chunks no other backup references, then the catalog rows. Every step is
// idempotent, so a deletion interrupted by a crash is simply run again.
import type { JobRow } from '../catalog/types.js';
import { collectChunks, sweepScope } from '../engine/collect.js';
import { describeError } from '../util/log.js';
import { collectScope, scopeKey, scopeOf, storeFor, type JobContext } from './context.js';

export async function runDeleteBackupJob(ctx: JobContext, job: JobRow): Promise<void> {
  const backup = ctx.catalog.backups.byId(job.backup_id!);
  if (!backup || backup.status !== 'deleting') return;
  const scope = scopeOf(backup);
  const log = ctx.log.child({ job: job.id, backup: backup.id });
  await ctx.locks.run(scopeKey(scope), async () => {
    try {
      const s = collectScope(ctx, backup, storeFor(ctx, backup.tenant_id, job), ctx.signal);
      const stats = await collectChunks(s, ctx.catalog.backups.digestsOf(backup.id), backup.uuid);
      // A backup that failed without cleaning up may have left chunks no list names.
      const swept = backup.gc_pending ? await sweepScope(s) : null;
      ctx.catalog.backupDeleted(backup.id);
      log.info({ stats, swept }, 'backup deleted');
    } catch (err) {
      // Shutting down: leave the status as it is; start-up settles it like a crash.
      if (ctx.signal.aborted) throw err;
      const reason = describeError(err);
      // Like Cinder: a failed deletion leaves the backup in error; deleting it again retries.
      ctx.catalog.db.transaction(() => {
        ctx.catalog.backups.move(backup.id, ['deleting'], 'error');
        ctx.catalog.backups.set(backup.id, { fail_reason: `delete failed: ${reason}` });
      })();
      log.warn({ err: reason }, 'backup deletion failed');
      throw err;
    }
  });
}

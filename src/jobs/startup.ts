// One job: settle, at start, what a crash or stop interrupted (Cinder's rules):
//   restoring backup  -> available; its volume -> error_restoring
//   creating backup   -> available if its manifest is on the store and sound (the
//                        crash came after the commit point), else error with a
//                        fail_reason and its chunks collected
//   deleting backup, creating or deleting volume -> queued again
import type { BackupRow } from '../catalog/types.js';
import { parse } from '../engine/manifest.js';
import { manifestKey } from '../engine/keys.js';
import { sweepScope } from '../engine/collect.js';
import { describeError } from '../util/log.js';
import { liveOf, scopeKey, scopeOf, storeFor, type JobContext } from './context.js';

const REASON = 'interrupted by a restart of volbackd';

async function rollForwardOrFail(ctx: JobContext, b: BackupRow): Promise<void> {
  const store = storeFor(ctx, b.tenant_id);
  try {
    const body = await store.get(b.container, manifestKey(b.volume_uuid, b.uuid));
    const m = await parse(body);
    const digests = new Set(m.chunks.filter((c): c is string => c !== null));
    ctx.catalog.commitBackup(b.id, { digests, object_count: m.stored.objects, stored_bytes: m.stored.bytes });
    ctx.log.info({ backup: b.id }, 'backup was committed before the restart: available');
  } catch {
    // No sound manifest: the backup never reached its commit point.
    ctx.catalog.failBackup(b.id, `backup ${REASON}`, true);
    ctx.log.warn({ backup: b.id }, 'unfinished backup settled to error');
  }
}

/** Settles the catalog; runs before the API listens. */
export async function settleAtStart(ctx: JobContext): Promise<void> {
  const { creating, requeued } = ctx.catalog.settleInterrupted(REASON);
  for (const job of requeued) ctx.log.info({ job: job.id, kind: job.kind }, 'interrupted job queued again');
  for (const b of creating) await rollForwardOrFail(ctx, b);
}

/** Collects chunks unfinished backups left on the store; runs in the background. */
export async function collectLeftovers(ctx: JobContext): Promise<void> {
  const seen = new Set<string>();
  for (const b of ctx.catalog.backups.gcPending()) {
    const scope = scopeOf(b);
    const key = scopeKey(scope);
    if (seen.has(key)) {
      ctx.catalog.gcDone(b.id);
      continue;
    }
    try {
      const stats = await ctx.locks.run(key, async () => {
        const { live, liveBackups } = liveOf(ctx, scope);
        const store = storeFor(ctx, b.tenant_id);
        return sweepScope({ store, container: b.container, volumeUuid: b.volume_uuid, live, liveBackups, concurrency: 8, signal: ctx.signal });
      });
      seen.add(key);
      ctx.catalog.gcDone(b.id);
      ctx.log.info({ backup: b.id, ...stats }, 'chunks of an unfinished backup collected');
    } catch (err) {
      ctx.log.warn({ backup: b.id, err: describeError(err) }, 'collection postponed to the next start');
    }
  }
}

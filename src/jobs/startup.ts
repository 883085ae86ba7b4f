// One job: settle, at start, what a crash or stop interrupted (Cinder's rules):
//   restoring backup  -> available; its volume -> error_restoring
//   creating backup   -> available if its manifest is on the store and sound (the
//                        crash came after the commit point), else error with a
//                        fail_reason and its chunks collected
//   deleting backup, creating or deleting volume -> queued again
// A creating backup whose manifest cannot be looked for (the store is down) is
// not guessed at: it stays creating and is settled in the background once the
// store answers — marking a committed backup error would be a lie.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupRow } from '../catalog/types.js';
import { sweepScope } from '../engine/collect.js';
import { manifestKey } from '../engine/keys.js';
import { ManifestError, parse } from '../engine/manifest.js';
import { isNotFound } from '../store/object-store.js';
import { describeError } from '../util/log.js';
import { collectScope, scopeKey, scopeOf, storeFor, type JobContext } from './context.js';

const REASON = 'interrupted by a restart of volbackd';

/** True when settled; false when the store could not be asked. */
async function rollForwardOrFail(ctx: JobContext, b: BackupRow): Promise<boolean> {
  let body: Buffer[] | null;
  try {
    body = await storeFor(ctx, b.tenant_id).get(b.container, manifestKey(b.volume_uuid, b.uuid), { signal: ctx.signal });
  } catch (err) {
    if (!isNotFound(err)) {
      ctx.log.warn({ backup: b.id, err: describeError(err) }, 'cannot look for the manifest of an interrupted backup yet');
      return false;
    }
    body = null;
  }
  try {
    if (body === null) throw new ManifestError('is not stored');
    const m = await parse(body);
    const digests = new Set(m.chunks.filter((c): c is string => c !== null));
    ctx.catalog.commitBackup(b.id, { digests, object_count: m.stored.objects, stored_bytes: m.stored.bytes });
    ctx.log.info({ backup: b.id }, 'backup was committed before the restart: available');
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    // No sound manifest: the backup never reached its commit point.
    ctx.catalog.failBackup(b.id, `backup ${REASON}`, true);
    ctx.log.warn({ backup: b.id, manifest: err.message }, 'unfinished backup settled to error');
  }
  return true;
}

/** Settles the catalog before the API listens; returns backups left to settle later. */
export async function settleAtStart(ctx: JobContext): Promise<BackupRow[]> {
  const { creating, requeued } = ctx.catalog.settleInterrupted(REASON);
  for (const job of requeued) ctx.log.info({ job: job.id, kind: job.kind }, 'interrupted job queued again');
  const later: BackupRow[] = [];
  for (const b of creating) if (!(await rollForwardOrFail(ctx, b))) later.push(b);
  return later;
}

/** Keeps trying to settle backups whose store was down at start. */
export async function settleLater(ctx: JobContext, backups: BackupRow[], intervalMs = 30_000): Promise<void> {
  let left = backups;
  while (left.length > 0 && !ctx.signal.aborted) {
    await sleep(intervalMs, undefined, { signal: ctx.signal }).catch(() => undefined);
    if (ctx.signal.aborted) return;
    const next: BackupRow[] = [];
    for (const b of left) if (!(await rollForwardOrFail(ctx, b))) next.push(b);
    left = next;
  }
  if (backups.length > 0) await collectLeftovers(ctx);
}

/** Collects chunks unfinished backups left on the store; runs in the background. */
export async function collectLeftovers(ctx: JobContext): Promise<void> {
  const seen = new Set<string>();
  for (const b of ctx.catalog.backups.gcPending()) {
    const key = scopeKey(scopeOf(b));
    if (seen.has(key)) {
      ctx.catalog.gcDone(b.id);
      continue;
    }
    try {
      const stats = await ctx.locks.run(key, () => sweepScope(collectScope(ctx, b, storeFor(ctx, b.tenant_id), ctx.signal)));
      seen.add(key);
      ctx.catalog.gcDone(b.id);
      ctx.log.info({ backup: b.id, ...stats }, 'chunks of an unfinished backup collected');
    } catch (err) {
      ctx.log.warn({ backup: b.id, err: describeError(err) }, 'collection postponed to the next start');
    }
  }
}


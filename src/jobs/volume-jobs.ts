// One job: create and delete volumes' storage (sparse image + loop device).
import type { JobRow } from '../catalog/types.js';
import { describeError } from '../util/log.js';
import type { JobContext } from './context.js';

export async function runCreateVolumeJob(ctx: JobContext, job: JobRow): Promise<void> {
  const v = ctx.catalog.volumes.byId(job.volume_id!);
  if (!v || v.status !== 'creating') return;
  try {
    await ctx.volumes.create(v);
    ctx.catalog.volumeReady(v.id);
    ctx.log.info({ job: job.id, volume: v.id, device: ctx.volumes.devicePath(v) }, 'volume available');
  } catch (err) {
    ctx.catalog.volumeFailed(v.id);
    ctx.log.warn({ job: job.id, volume: v.id, err: describeError(err) }, 'volume creation failed');
    throw err;
  }
}

export async function runDeleteVolumeJob(ctx: JobContext, job: JobRow): Promise<void> {
  const v = ctx.catalog.volumes.byId(job.volume_id!);
  if (!v || v.status !== 'deleting') return;
  await ctx.volumes.remove(v);
  ctx.catalog.volumeDeleted(v.id);
  ctx.log.info({ job: job.id, volume: v.id }, 'volume deleted');
}

// What every job handler gets: the services below the jobs layer.
import type { Catalog } from '../catalog/index.js';
import type { BackupRow, ChunkScope, JobRow } from '../catalog/types.js';
import type { Config } from '../config.js';
import type { ObjectStore, StoreProvider } from '../store/object-store.js';
import type { Log } from '../util/log.js';
import type { VolumeManager } from '../volumes/volume-manager.js';
import type { KeyedMutex } from './keyed-mutex.js';

export interface JobContext {
  catalog: Catalog;
  volumes: VolumeManager;
  stores: StoreProvider;
  config: Config;
  log: Log;
  /** chunk-scope locks: backups and collections of one scope never overlap */
  locks: KeyedMutex;
  /** callers' tokens for jobs that write with the user's own credentials (never persisted) */
  tokens: Map<number, string>;
  signal: AbortSignal;
  /** the JS thread's responsiveness since the last call (p50/p99/max delay in ms), for job logs */
  eventLoop?: () => { p50: number; p99: number; max: number };
}

export function scopeOf(b: Pick<BackupRow, 'tenant_id' | 'container' | 'volume_uuid'>): ChunkScope {
  return { tenant_id: b.tenant_id, container: b.container, volume_uuid: b.volume_uuid };
}

export function scopeKey(s: ChunkScope): string {
  return JSON.stringify([s.tenant_id, s.container, s.volume_uuid]);
}

export function storeFor(ctx: JobContext, tenantId: string, job?: JobRow): ObjectStore {
  return ctx.stores.forTenant(tenantId, job ? ctx.tokens.get(job.id) : undefined);
}

/** The live backups of a scope, as the collector needs them. */
export function liveOf(ctx: JobContext, s: ChunkScope): { live: Set<string>; liveBackups: Set<string> } {
  const live = ctx.catalog.backups.liveDigests(s);
  const liveBackups = new Set(
    ctx.catalog.backups
      .list(s.tenant_id)
      .filter((b) => b.container === s.container && b.volume_uuid === s.volume_uuid && (b.status === 'available' || b.status === 'restoring'))
      .map((b) => b.uuid),
  );
  return { live, liveBackups };
}

// What every job handler gets: the services below the jobs layer.
import type { Catalog } from '../catalog/index.js';
import type { BackupRow, ChunkScope, JobRow } from '../catalog/types.js';
import type { Config } from '../config.js';
import type { Scope } from '../engine/collect.js';
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

/** Deletions a collection runs at once. */
const COLLECT_CONCURRENCY = 8;

/**
 * What the collector needs for the scope of backup `b`: the catalog's live
 * backups of the scope (their uuids and digests) as they are now, and the store.
 */
export function collectScope(ctx: JobContext, b: Pick<BackupRow, 'tenant_id' | 'container' | 'volume_uuid'>, store: ObjectStore, signal?: AbortSignal): Scope {
  const live = ctx.catalog.backups.liveDigests(scopeOf(b));
  const liveBackups = new Set(
    ctx.catalog.backups
      .list(b.tenant_id)
      .filter((x) => x.container === b.container && x.volume_uuid === b.volume_uuid && (x.status === 'available' || x.status === 'restoring'))
      .map((x) => x.uuid),
  );
  return { store, container: b.container, volumeUuid: b.volume_uuid, live, liveBackups, concurrency: COLLECT_CONCURRENCY, ...(signal ? { signal } : {}) };
}

// The catalog: one SQLite file holding volumes, backups, chunk references and
// jobs. Every status change is one of the named transactions below; each checks
// the current status inside the transaction, so two concurrent requests can never
// both win (ten simultaneous backups of one volume: one succeeds, nine get 400).
//
// Backup:  creating -> available -> restoring -> available -> deleting -> (gone); error on failure
// Volume:  creating -> available -> backing-up / restoring-backup -> available | error_restoring
import { errors } from '../errors.js';
import { openDb, type Db } from './db.js';
import { BackupTable } from './backups.js';
import { JobTable } from './jobs.js';
import { VolumeTable } from './volumes.js';
import { now, type BackupRow, type JobRow, type VolumeRow } from './types.js';

export * from './types.js';

export interface NewVolumeRequest {
  uuid: string;
  image_path: string;
  display_name: string | null;
  display_description: string | null;
  size_gb: number;
  quota_gb: number;
}

export interface BackupRequest {
  uuid: string;
  container: string;
  display_name: string | null;
  display_description: string | null;
  chunk_size: number;
}

export type RestoreTarget = { volume_id: number } | { new_volume: Omit<NewVolumeRequest, 'size_gb'> };

const GiB = 2 ** 30;
export const DELETABLE_VOLUME = ['available', 'error', 'error_restoring'] as const;

export class Catalog {
  readonly volumes: VolumeTable;
  readonly backups: BackupTable;
  readonly jobs: JobTable;

  constructor(readonly db: Db) {
    this.volumes = new VolumeTable(db);
    this.backups = new BackupTable(db);
    this.jobs = new JobTable(db);
  }

  static open(path: string): Catalog {
    return new Catalog(openDb(path));
  }

  close(): void {
    this.db.close();
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ---- volumes

  requestVolume(tenantId: string, r: NewVolumeRequest): { volume: VolumeRow; job: JobRow } {
    return this.tx(() => {
      if (this.volumes.usedGb(tenantId) + r.size_gb > r.quota_gb) throw errors.quotaExceeded(r.size_gb);
      const volume = this.volumes.insert({
        uuid: r.uuid,
        tenant_id: tenantId,
        display_name: r.display_name,
        display_description: r.display_description,
        size_gb: r.size_gb,
        size_bytes: r.size_gb * GiB,
        status: 'creating',
        device: null,
        image_path: r.image_path,
        managed: 1,
      });
      return { volume, job: this.jobs.insert('create-volume', { volume_id: volume.id }) };
    });
  }

  adoptVolume(tenantId: string, a: { uuid: string; device: string; display_name: string | null; display_description: string | null; size_bytes: number }): VolumeRow {
    return this.tx(() =>
      this.volumes.insert({
        uuid: a.uuid,
        tenant_id: tenantId,
        display_name: a.display_name,
        display_description: a.display_description,
        size_gb: Math.ceil(a.size_bytes / GiB),
        size_bytes: a.size_bytes,
        status: 'available',
        device: a.device,
        image_path: null,
        managed: 0,
      }),
    );
  }

  volumeReady(id: number): boolean {
    return this.tx(() => this.volumes.move(id, ['creating'], 'available'));
  }

  volumeFailed(id: number): boolean {
    return this.tx(() => this.volumes.move(id, ['creating'], 'error'));
  }

  requestVolumeDelete(tenantId: string, id: number): JobRow {
    return this.tx(() => {
      if (!this.volumes.get(tenantId, id)) throw errors.volumeNotFound(String(id));
      if (!this.volumes.move(id, DELETABLE_VOLUME, 'deleting')) throw errors.volumeNotDeletable();
      return this.jobs.insert('delete-volume', { volume_id: id });
    });
  }

  volumeDeleted(id: number): boolean {
    return this.tx(() => this.volumes.move(id, ['deleting'], 'deleted'));
  }

  // ---- backups

  requestBackup(tenantId: string, volumeId: number, r: BackupRequest): { backup: BackupRow; job: JobRow } {
    return this.tx(() => {
      const volume = this.volumes.get(tenantId, volumeId);
      if (!volume) throw errors.volumeNotFound(String(volumeId));
      if (!this.volumes.move(volumeId, ['available'], 'backing-up')) throw errors.volumeNotAvailableForBackup();
      const backup = this.backups.insert({
        uuid: r.uuid,
        tenant_id: tenantId,
        volume_id: volumeId,
        volume_uuid: volume.uuid,
        container: r.container,
        display_name: r.display_name,
        display_description: r.display_description,
        size_gb: volume.size_gb,
        size_bytes: volume.size_bytes,
        chunk_size: r.chunk_size,
      });
      return { backup, job: this.jobs.insert('backup', { backup_id: backup.id, volume_id: volumeId }) };
    });
  }

  /** The commit point's catalog half: the manifest is stored, the backup becomes available. */
  commitBackup(id: number, r: { digests: Iterable<string>; object_count: number; stored_bytes: number }): boolean {
    return this.tx(() => {
      const b = this.backups.byId(id);
      if (!b || !this.backups.move(id, ['creating'], 'available')) return false;
      this.backups.addChunkRefs(id, r.digests);
      this.backups.set(id, { object_count: r.object_count, stored_bytes: r.stored_bytes, completed_at: now(), gc_pending: 0, fail_reason: null });
      this.volumes.move(b.volume_id, ['backing-up'], 'available');
      return true;
    });
  }

  failBackup(id: number, reason: string, gcPending: boolean): boolean {
    return this.tx(() => {
      const b = this.backups.byId(id);
      if (!b || !this.backups.move(id, ['creating'], 'error')) return false;
      this.backups.set(id, { fail_reason: reason, gc_pending: gcPending ? 1 : 0, completed_at: now() });
      this.volumes.move(b.volume_id, ['backing-up'], 'available');
      return true;
    });
  }

  gcDone(id: number): void {
    this.tx(() => this.backups.set(id, { gc_pending: 0 }));
  }

  requestRestore(tenantId: string, backupId: number, target: RestoreTarget): { backup: BackupRow; volume: VolumeRow; job: JobRow } {
    return this.tx(() => {
      const backup = this.backups.get(tenantId, backupId);
      if (!backup) throw errors.backupNotFound(String(backupId));
      if (backup.status !== 'available') throw errors.backupNotAvailable();
      let volume: VolumeRow;
      let fresh = false;
      if ('volume_id' in target) {
        const v = this.volumes.get(tenantId, target.volume_id);
        if (!v) throw errors.volumeNotFound(String(target.volume_id));
        if (v.status !== 'available') throw errors.volumeNotAvailableForRestore();
        if (v.size_bytes < backup.size_bytes) throw errors.volumeTooSmall();
        this.volumes.move(v.id, ['available'], 'restoring-backup');
        volume = this.volumes.byId(v.id)!;
      } else {
        const n = target.new_volume;
        if (this.volumes.usedGb(tenantId) + backup.size_gb > n.quota_gb) throw errors.quotaExceeded(backup.size_gb);
        volume = this.volumes.insert({
          uuid: n.uuid,
          tenant_id: tenantId,
          display_name: n.display_name,
          display_description: n.display_description,
          size_gb: backup.size_gb,
          size_bytes: Math.max(backup.size_gb * GiB, backup.size_bytes),
          status: 'restoring-backup',
          device: null,
          image_path: n.image_path,
          managed: 1,
        });
        fresh = true;
      }
      this.backups.move(backupId, ['available'], 'restoring');
      const job = this.jobs.insert('restore', { backup_id: backupId, volume_id: volume.id, fresh_target: fresh });
      return { backup: this.backups.byId(backupId)!, volume, job };
    });
  }

  finishRestore(backupId: number, volumeId: number): void {
    this.tx(() => {
      this.backups.move(backupId, ['restoring'], 'available');
      this.backups.set(backupId, { fail_reason: null });
      this.volumes.move(volumeId, ['restoring-backup'], 'available');
    });
  }

  failRestore(backupId: number, volumeId: number, reason: string): void {
    this.tx(() => {
      this.backups.move(backupId, ['restoring'], 'available');
      this.backups.set(backupId, { fail_reason: reason });
      this.volumes.move(volumeId, ['restoring-backup'], 'error_restoring');
    });
  }

  requestBackupDelete(tenantId: string, id: number): JobRow {
    return this.tx(() => {
      if (!this.backups.get(tenantId, id)) throw errors.backupNotFound(String(id));
      if (!this.backups.move(id, ['available', 'error'], 'deleting')) throw errors.backupNotDeletable();
      return this.jobs.insert('delete-backup', { backup_id: id });
    });
  }

  backupDeleted(id: number): void {
    this.tx(() => this.backups.remove(id));
  }

  // ---- start-up

  /**
   * Settles what a crash interrupted, the way Cinder does: restores end with the
   * backup available and the volume error_restoring; deletes and volume creations
   * are queued again; backups that were being created are returned for the caller
   * to check against the store (a stored manifest means the backup is committed),
   * and their jobs are closed.
   */
  settleInterrupted(reason: string): { creating: BackupRow[]; requeued: JobRow[] } {
    return this.tx(() => {
      const requeued: JobRow[] = [];
      for (const job of this.jobs.running()) {
        if (job.kind === 'backup' || job.kind === 'restore') this.jobs.finish(job.id, reason);
        else {
          this.jobs.requeue(job.id);
          requeued.push(job);
        }
      }
      for (const job of this.jobs.queued()) {
        // Backups and restores that never started are settled with their rows below.
        if (job.kind === 'backup' || job.kind === 'restore') this.jobs.finish(job.id, reason);
      }
      for (const b of this.backups.withStatus('restoring')) {
        this.backups.move(b.id, ['restoring'], 'available');
        this.backups.set(b.id, { fail_reason: `restore ${reason}` });
      }
      for (const v of this.volumes.withStatus('restoring-backup')) {
        this.volumes.move(v.id, ['restoring-backup'], 'error_restoring');
      }
      return { creating: this.backups.withStatus('creating'), requeued };
    });
  }
}

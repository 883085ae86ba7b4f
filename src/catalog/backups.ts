// One job: the backups and backup_chunks tables' queries. Status changes go
// through the named transitions in index.ts.
import { moveStatus, prepared, type Db } from './db.js';
import { now, type BackupRow, type BackupStatus, type ChunkScope } from './types.js';

export type NewBackup = Pick<
  BackupRow,
  'uuid' | 'tenant_id' | 'volume_id' | 'volume_uuid' | 'container' | 'display_name' | 'display_description' | 'size_gb' | 'size_bytes' | 'chunk_size'
>;

// Backups whose chunk references are live: committed, and not being deleted.
const LIVE = `('available', 'restoring')`;

export class BackupTable {
  constructor(private readonly db: Db) {}

  get(tenantId: string, id: number): BackupRow | undefined {
    return prepared(this.db, 'SELECT * FROM backups WHERE id = ? AND tenant_id = ?').get(id, tenantId) as BackupRow | undefined;
  }

  byId(id: number): BackupRow | undefined {
    return prepared(this.db, 'SELECT * FROM backups WHERE id = ?').get(id) as BackupRow | undefined;
  }

  list(tenantId: string): BackupRow[] {
    return prepared(this.db, 'SELECT * FROM backups WHERE tenant_id = ? ORDER BY id').all(tenantId) as BackupRow[];
  }

  withStatus(status: BackupStatus): BackupRow[] {
    return prepared(this.db, 'SELECT * FROM backups WHERE status = ? ORDER BY id').all(status) as BackupRow[];
  }

  /** Unfinished backups whose chunks may still be on the store. */
  gcPending(): BackupRow[] {
    return prepared(this.db, `SELECT * FROM backups WHERE gc_pending = 1 ORDER BY id`).all() as BackupRow[];
  }

  insert(b: NewBackup): BackupRow {
    const t = now();
    const info = prepared(this.db, 
        `INSERT INTO backups (uuid, tenant_id, volume_id, volume_uuid, container, display_name, display_description, status, size_gb, size_bytes, chunk_size, created_at, updated_at)
         VALUES (@uuid, @tenant_id, @volume_id, @volume_uuid, @container, @display_name, @display_description, 'creating', @size_gb, @size_bytes, @chunk_size, @t, @t)`,
      )
      .run({ ...b, t });
    return this.byId(Number(info.lastInsertRowid))!;
  }

  move(id: number, from: readonly BackupStatus[], to: BackupStatus): boolean {
    return moveStatus(this.db, 'backups', id, from, to);
  }

  set(id: number, fields: Partial<Pick<BackupRow, 'fail_reason' | 'object_count' | 'stored_bytes' | 'gc_pending' | 'completed_at'>>): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${k} = @${k}`).join(', ');
    prepared(this.db, `UPDATE backups SET ${sets}, updated_at = @updated_at WHERE id = @id`).run({ ...fields, updated_at: now(), id });
  }

  remove(id: number): void {
    prepared(this.db, 'DELETE FROM backup_chunks WHERE backup_id = ?').run(id);
    prepared(this.db, 'DELETE FROM backups WHERE id = ?').run(id);
  }

  addChunkRefs(backupId: number, digests: Iterable<string>): void {
    const ins = prepared(this.db, 'INSERT OR IGNORE INTO backup_chunks (backup_id, digest) VALUES (?, ?)');
    for (const d of digests) ins.run(backupId, d);
  }

  /** Digests referenced by the live backups of a scope: what a new backup need not upload. */
  liveDigests(scope: ChunkScope, exceptBackupId = -1): Set<string> {
    const rows = prepared(this.db, 
        `SELECT DISTINCT c.digest FROM backup_chunks c JOIN backups b ON b.id = c.backup_id
         WHERE b.tenant_id = ? AND b.container = ? AND b.volume_uuid = ? AND b.status IN ${LIVE} AND b.id != ?`,
      )
      .pluck()
      .all(scope.tenant_id, scope.container, scope.volume_uuid, exceptBackupId) as string[];
    return new Set(rows);
  }

  digestsOf(backupId: number): string[] {
    return prepared(this.db, 'SELECT digest FROM backup_chunks WHERE backup_id = ? ORDER BY digest').pluck().all(backupId) as string[];
  }

  /** Digests of `backupId` that no other live backup of its scope references. */
  exclusiveDigests(backup: BackupRow): string[] {
    return prepared(this.db, 
        `SELECT c.digest FROM backup_chunks c WHERE c.backup_id = @id AND NOT EXISTS (
           SELECT 1 FROM backup_chunks o JOIN backups b ON b.id = o.backup_id
           WHERE o.digest = c.digest AND b.id != @id AND b.tenant_id = @tenant AND b.container = @container
             AND b.volume_uuid = @volume AND b.status IN ${LIVE})
         ORDER BY c.digest`,
      )
      .pluck()
      .all({ id: backup.id, tenant: backup.tenant_id, container: backup.container, volume: backup.volume_uuid }) as string[];
  }
}

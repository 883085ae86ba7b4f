// One job: the volumes table's queries. Status changes go through the named
// transitions in index.ts.
import { moveStatus, prepared, type Db } from './db.js';
import { now, type VolumeRow, type VolumeStatus } from './types.js';

export type NewVolume = Omit<VolumeRow, 'id' | 'created_at' | 'updated_at'>;

export class VolumeTable {
  constructor(private readonly db: Db) {}

  /** A tenant's volume; deleted volumes and other tenants' volumes do not exist. */
  get(tenantId: string, id: number): VolumeRow | undefined {
    return prepared(this.db, `SELECT * FROM volumes WHERE id = ? AND tenant_id = ? AND status != 'deleted'`).get(id, tenantId) as VolumeRow | undefined;
  }

  byId(id: number): VolumeRow | undefined {
    return prepared(this.db, 'SELECT * FROM volumes WHERE id = ?').get(id) as VolumeRow | undefined;
  }

  list(tenantId: string): VolumeRow[] {
    return prepared(this.db, `SELECT * FROM volumes WHERE tenant_id = ? AND status != 'deleted' ORDER BY id`).all(tenantId) as VolumeRow[];
  }

  withStatus(status: VolumeStatus): VolumeRow[] {
    return prepared(this.db, 'SELECT * FROM volumes WHERE status = ? ORDER BY id').all(status) as VolumeRow[];
  }

  /** Every volume the daemon must have attached at run time. */
  live(): VolumeRow[] {
    return prepared(this.db, `SELECT * FROM volumes WHERE status NOT IN ('deleted', 'creating') ORDER BY id`).all() as VolumeRow[];
  }

  usedGb(tenantId: string): number {
    const r = prepared(this.db, `SELECT COALESCE(SUM(size_gb), 0) AS gb FROM volumes WHERE tenant_id = ? AND status != 'deleted'`).get(tenantId) as { gb: number };
    return r.gb;
  }

  insert(v: NewVolume): VolumeRow {
    const t = now();
    const info = prepared(this.db, 
        `INSERT INTO volumes (uuid, tenant_id, display_name, display_description, size_gb, size_bytes, status, device, image_path, managed, created_at, updated_at)
         VALUES (@uuid, @tenant_id, @display_name, @display_description, @size_gb, @size_bytes, @status, @device, @image_path, @managed, @t, @t)`,
      )
      .run({ ...v, t });
    return this.byId(Number(info.lastInsertRowid))!;
  }

  /** Moves a volume from one of `from` to `to`; false when it was in another status. */
  move(id: number, from: readonly VolumeStatus[], to: VolumeStatus): boolean {
    return moveStatus(this.db, 'volumes', id, from, to);
  }
}

// One job: the jobs table — the persisted queue of backup, restore and delete work.
import { prepared, type Db } from './db.js';
import { now, type JobKind, type JobRow } from './types.js';

export class JobTable {
  constructor(private readonly db: Db) {}

  insert(kind: JobKind, ids: { volume_id?: number | null; backup_id?: number | null; fresh_target?: boolean }): JobRow {
    const info = prepared(this.db, `INSERT INTO jobs (kind, volume_id, backup_id, fresh_target, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?)`)
      .run(kind, ids.volume_id ?? null, ids.backup_id ?? null, ids.fresh_target ? 1 : 0, now());
    return this.byId(Number(info.lastInsertRowid))!;
  }

  byId(id: number): JobRow | undefined {
    return prepared(this.db, 'SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  }

  queued(): JobRow[] {
    return prepared(this.db, `SELECT * FROM jobs WHERE status = 'queued' ORDER BY id`).all() as JobRow[];
  }

  running(): JobRow[] {
    return prepared(this.db, `SELECT * FROM jobs WHERE status = 'running' ORDER BY id`).all() as JobRow[];
  }

  recent(limit: number): JobRow[] {
    return prepared(this.db, 'SELECT * FROM jobs ORDER BY id DESC LIMIT ?').all(limit) as JobRow[];
  }

  start(id: number): boolean {
    return prepared(this.db, `UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'`).run(now(), id).changes === 1;
  }

  finish(id: number, error: string | null): void {
    prepared(this.db, `UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?`).run(error === null ? 'done' : 'failed', error, now(), id);
  }

  requeue(id: number): void {
    prepared(this.db, `UPDATE jobs SET status = 'queued', started_at = NULL WHERE id = ?`).run(id);
  }
}

// One job: open the catalog's SQLite file the way a crash-safe catalog needs it
// (WAL, full sync, a busy timeout) and bring its schema up to date.
import Database from 'better-sqlite3';
import { now } from './types.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export function openDb(path: string): Db {
  const db = new Database(path);
  try {
    // Refuse a newer catalog before changing anything in it (journal mode included).
    const version = schemaVersion(db);
    if (version > MIGRATIONS.length) {
      throw new Error(`catalog schema version ${version} is newer than this volbackd (${MIGRATIONS.length}): refusing to touch it`);
    }
    // WAL: readers never block the writer. synchronous=FULL: a transaction that
    // returned is on disk, so a status the API has shown survives a power cut.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db): void {
  const current = schemaVersion(db);
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

const cache = new WeakMap<Db, Map<string, Database.Statement>>();

/** A prepared statement, prepared once per database and SQL text (preparing costs more than running). */
export function prepared(db: Db, sql: string): Database.Statement {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare(sql)));
  return s;
}

/**
 * Moves row `id` of `table` from one of `from` to `to` (and stamps updated_at);
 * false when it was in another status. The check is in the UPDATE itself, so
 * inside a transaction two callers can never both win.
 */
export function moveStatus<S extends string>(db: Db, table: 'volumes' | 'backups', id: number, from: readonly S[], to: S): boolean {
  const marks = from.map(() => '?').join(', ');
  return prepared(db, `UPDATE ${table} SET status = ?, updated_at = ? WHERE id = ? AND status IN (${marks})`).run(to, now(), id, ...from).changes === 1;
}

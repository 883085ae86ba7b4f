// One job: open the catalog's SQLite file the way a crash-safe catalog needs it
// (WAL, full sync, a busy timeout) and bring its schema up to date.
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export function openDb(path: string): Db {
  const db = new Database(path);
  // WAL: readers never block the writer. synchronous=FULL: a transaction that
  // returned is on disk, so a status the API has shown survives a power cut.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db): void {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(`catalog schema version ${current} is newer than this volbackd (${MIGRATIONS.length}): refusing to touch it`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

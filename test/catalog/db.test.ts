// openDb: the pragmas a crash-safe catalog needs, migrations and user_version,
// reopening, refusing a newer schema, and committed work surviving a reopen.
import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, schemaVersion } from '../../src/catalog/db.js';
import { MIGRATIONS } from '../../src/catalog/migrations.js';
import { Catalog } from '../../src/catalog/index.js';
import { tempDir } from '../helpers/tmp.js';
import { backupRequest, volume } from './fixtures/catalog.js';

t.test('a new catalog is migrated to the latest user_version with every table', async (t) => {
  const path = join(tempDir(t), 'c.db');
  const db = openDb(path);
  t.teardown(() => db.close());
  t.equal(schemaVersion(db), MIGRATIONS.length);
  t.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all();
  t.same(tables, ['backup_chunks', 'backups', 'jobs', 'volumes']);
});

t.test('the catalog runs in WAL mode with full sync, a busy timeout and foreign keys', async (t) => {
  const path = join(tempDir(t), 'c.db');
  const db = openDb(path);
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'synchronous = FULL');
  t.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  t.equal(db.pragma('foreign_keys', { simple: true }), 1);
  db.prepare(`INSERT INTO jobs (kind, status, created_at) VALUES ('backup', 'queued', 'x')`).run();
  t.ok(existsSync(`${path}-wal`), 'writes go to the -wal file');
});

t.test('reopening a migrated catalog is fine and keeps its rows', async (t) => {
  const path = join(tempDir(t), 'c.db');
  const first = Catalog.open(path);
  const v = volume(first, 't1');
  first.close();
  const again = Catalog.open(path);
  t.teardown(() => again.close());
  t.equal(schemaVersion(again.db), MIGRATIONS.length);
  t.same(again.volumes.byId(v.id), v);
});

t.test('a catalog with a newer user_version is refused and left untouched', async (t) => {
  const path = join(tempDir(t), 'c.db');
  const raw = new Database(path);
  raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  raw.close();
  t.throws(() => openDb(path), { message: `catalog schema version ${MIGRATIONS.length + 1} is newer than this volbackd (${MIGRATIONS.length}): refusing to touch it` });
  const check = new Database(path);
  t.teardown(() => check.close());
  t.equal(check.pragma('user_version', { simple: true }), MIGRATIONS.length + 1);
  t.same(check.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all(), [], 'no table was created');
});

t.test('an older catalog is migrated from its version on', async (t) => {
  const path = join(tempDir(t), 'c.db');
  const raw = new Database(path);
  raw.exec(MIGRATIONS[0]!);
  raw.pragma('user_version = 1');
  raw.prepare(`INSERT INTO jobs (kind, status, created_at) VALUES ('backup', 'queued', 'x')`).run();
  raw.close();
  const db = openDb(path);
  t.teardown(() => db.close());
  t.equal(schemaVersion(db), MIGRATIONS.length);
  t.equal(db.prepare('SELECT COUNT(*) FROM jobs').pluck().get(), 1, 'migration 1 was not run again');
});

t.test("a transaction's effect survives closing and reopening", async (t) => {
  const path = join(tempDir(t), 'c.db');
  const c1 = Catalog.open(path);
  const v = volume(c1, 't1');
  const { backup, job } = c1.requestBackup('t1', v.id, backupRequest());
  c1.close();
  const c2 = Catalog.open(path);
  t.teardown(() => c2.close());
  t.equal(c2.backups.byId(backup.id)?.status, 'creating');
  t.equal(c2.volumes.byId(v.id)?.status, 'backing-up');
  t.equal(c2.jobs.byId(job.id)?.status, 'queued');
});

t.test('a failed transition leaves nothing behind (the transaction rolls back)', async (t) => {
  const path = join(tempDir(t), 'c.db');
  const c = Catalog.open(path);
  t.teardown(() => c.close());
  const before = c.db.prepare('SELECT COUNT(*) FROM volumes').pluck().get();
  t.throws(() => c.requestVolume('t1', { uuid: 'u', image_path: '/x', display_name: null, display_description: null, size_gb: 11, quota_gb: 10 }));
  t.equal(c.db.prepare('SELECT COUNT(*) FROM volumes').pluck().get(), before);
  t.same(c.jobs.queued(), []);
  // The quota check above refuses before writing anything; this one fails after a
  // write (the volume is already backing-up when the backup's duplicate uuid is refused).
  const v = volume(c, 't1');
  const taken = backupRequest();
  c.requestBackup('t1', v.id, taken);
  c.db.prepare(`UPDATE volumes SET status = 'available' WHERE id = ?`).run(v.id);
  t.throws(() => c.requestBackup('t1', v.id, backupRequest({ uuid: taken.uuid })), /UNIQUE/);
  t.equal(c.volumes.byId(v.id)?.status, 'available', 'the volume move was rolled back');
  t.equal(c.backups.list('t1').length, 1);
  t.equal(c.jobs.queued().length, 1, 'only the first request queued a job');
});

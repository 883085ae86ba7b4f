// The persisted job queue: insert, start once, finish done or failed, requeue.
import t from 'tap';
import { openCatalog } from './fixtures/catalog.js';

t.test('a new job is queued with its ids', async (t) => {
  const { catalog } = openCatalog(t);
  const j = catalog.jobs.insert('restore', { volume_id: 3, backup_id: 4, fresh_target: true });
  t.match(j, { kind: 'restore', volume_id: 3, backup_id: 4, fresh_target: 1, status: 'queued', error: null, started_at: null, finished_at: null });
  const k = catalog.jobs.insert('delete-volume', { volume_id: 5 });
  t.match(k, { backup_id: null, fresh_target: 0 });
  t.same(catalog.jobs.queued().map((x) => x.id), [j.id, k.id], 'in insertion order');
});

t.test('start runs a queued job once', async (t) => {
  const { catalog } = openCatalog(t);
  const j = catalog.jobs.insert('backup', { backup_id: 1, volume_id: 1 });
  t.equal(catalog.jobs.start(j.id), true);
  t.equal(catalog.jobs.start(j.id), false, 'a running job does not start again');
  t.match(catalog.jobs.byId(j.id), { status: 'running', started_at: /Z$/ });
  t.same(catalog.jobs.running().map((x) => x.id), [j.id]);
  t.same(catalog.jobs.queued(), []);
});

t.test('finish records done, or failed with the error', async (t) => {
  const { catalog } = openCatalog(t);
  const a = catalog.jobs.insert('backup', {});
  const b = catalog.jobs.insert('backup', {});
  catalog.jobs.start(a.id);
  catalog.jobs.start(b.id);
  catalog.jobs.finish(a.id, null);
  catalog.jobs.finish(b.id, 'boom');
  t.match(catalog.jobs.byId(a.id), { status: 'done', error: null, finished_at: /Z$/ });
  t.match(catalog.jobs.byId(b.id), { status: 'failed', error: 'boom' });
  t.equal(catalog.jobs.start(a.id), false, 'a finished job does not start again');
});

t.test('requeue puts a running job back in the queue', async (t) => {
  const { catalog } = openCatalog(t);
  const j = catalog.jobs.insert('delete-backup', { backup_id: 9 });
  catalog.jobs.start(j.id);
  catalog.jobs.requeue(j.id);
  t.match(catalog.jobs.byId(j.id), { status: 'queued', started_at: null });
  t.equal(catalog.jobs.start(j.id), true);
});

t.test('recent lists the newest jobs first', async (t) => {
  const { catalog } = openCatalog(t);
  const ids = [1, 2, 3].map(() => catalog.jobs.insert('backup', {}).id);
  t.same(catalog.jobs.recent(2).map((j) => j.id), [ids[2], ids[1]]);
});

// The catalog's named transitions, each on a real SQLite file: what each one
// checks (and in which order), what it changes, and that a refused one changes
// nothing. Start-up settling of interrupted work.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Catalog } from '../../src/catalog/index.js';
import { ApiError } from '../../src/errors.js';
import { D, GiB, backupRequest, committedBackup, openCatalog, volume } from './fixtures/catalog.js';

const newVolume = (over: Partial<{ size_gb: number; quota_gb: number }> = {}) => ({
  uuid: randomUUID(),
  image_path: '/var/lib/volbackd/volumes/x.img',
  display_name: 'v',
  display_description: null,
  size_gb: 1,
  quota_gb: 10,
  ...over,
});

const apiError = (status: number, message: string) => ({ name: 'ApiError', status, message });

t.test('requestVolume creates a managed volume in creating, with a create-volume job', async (t) => {
  const { catalog } = openCatalog(t);
  const { volume: v, job } = catalog.requestVolume('t1', newVolume({ size_gb: 3 }));
  t.match(v, { tenant_id: 't1', status: 'creating', size_gb: 3, size_bytes: 3 * GiB, managed: 1, device: null, image_path: '/var/lib/volbackd/volumes/x.img' });
  t.match(job, { kind: 'create-volume', volume_id: v.id, status: 'queued', backup_id: null });
});

t.test('requestVolume refuses to pass the quota, counting only the tenant’s undeleted volumes', async (t) => {
  const { catalog } = openCatalog(t);
  catalog.requestVolume('t1', newVolume({ size_gb: 6 }));
  t.throws(() => catalog.requestVolume('t1', newVolume({ size_gb: 5 })), apiError(400, 'Volume quota exceeded. You cannot create a volume of size 5G'));
  t.doesNotThrow(() => catalog.requestVolume('t1', newVolume({ size_gb: 4 })), 'exactly up to the quota is fine');
  t.doesNotThrow(() => catalog.requestVolume('t2', newVolume({ size_gb: 10 })), "another tenant's volumes do not count");
  // A deleted volume frees its share.
  const a = catalog.volumes.list('t1')[0]!;
  catalog.volumeReady(a.id);
  catalog.requestVolumeDelete('t1', a.id);
  catalog.volumeDeleted(a.id);
  t.doesNotThrow(() => catalog.requestVolume('t1', newVolume({ size_gb: 6 })));
  t.equal(catalog.volumes.usedGb('t1'), 10);
});

t.test('adoptVolume records an available, unmanaged volume with size_gb rounded up', async (t) => {
  const { catalog } = openCatalog(t);
  for (const [bytes, gb] of [
    [GiB, 1],
    [GiB + 1, 2],
    [1, 1],
    [10 * GiB - 512, 10],
  ] as const) {
    const v = catalog.adoptVolume('t1', { uuid: randomUUID(), device: '/dev/sdz', display_name: null, display_description: null, size_bytes: bytes });
    t.match(v, { status: 'available', managed: 0, device: '/dev/sdz', image_path: null, size_bytes: bytes, size_gb: gb }, `${bytes} bytes is ${gb} GB`);
  }
});

t.test('volumeReady and volumeFailed move only a creating volume', async (t) => {
  const { catalog } = openCatalog(t);
  const a = catalog.requestVolume('t1', newVolume()).volume;
  const b = catalog.requestVolume('t1', newVolume()).volume;
  t.equal(catalog.volumeReady(a.id), true);
  t.equal(catalog.volumes.byId(a.id)!.status, 'available');
  t.equal(catalog.volumeFailed(a.id), false, 'an available volume does not fail');
  t.equal(catalog.volumeFailed(b.id), true);
  t.equal(catalog.volumes.byId(b.id)!.status, 'error');
  t.equal(catalog.volumeReady(b.id), false);
});

t.test('requestVolumeDelete: 404 for unknown or foreign volumes, 400 unless available, error or error_restoring', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  t.throws(() => catalog.requestVolumeDelete('t1', 999), apiError(404, 'Volume 999 could not be found.'));
  t.throws(() => catalog.requestVolumeDelete('t2', v.id), apiError(404, `Volume ${v.id} could not be found.`));
  catalog.requestBackup('t1', v.id, backupRequest());
  t.throws(() => catalog.requestVolumeDelete('t1', v.id), { status: 400, code: 'VOLBACKD_ERR_VOLUME_NOT_DELETABLE' }, 'not while backing up');
  for (const status of ['available', 'error', 'error_restoring'] as const) {
    const w = volume(catalog, 't1');
    catalog.db.prepare('UPDATE volumes SET status = ? WHERE id = ?').run(status, w.id);
    const job = catalog.requestVolumeDelete('t1', w.id);
    t.match(job, { kind: 'delete-volume', volume_id: w.id, status: 'queued' }, `from ${status}`);
    t.equal(catalog.volumes.byId(w.id)!.status, 'deleting');
    t.equal(catalog.volumeDeleted(w.id), true);
    t.equal(catalog.volumes.get('t1', w.id), undefined, 'a deleted volume no longer exists for the tenant');
  }
});

t.test('requestBackup: 404 for an unknown, foreign or deleted volume', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  t.throws(() => catalog.requestBackup('t1', 12345, backupRequest()), apiError(404, 'Volume 12345 could not be found.'));
  t.throws(() => catalog.requestBackup('t2', v.id, backupRequest()), apiError(404, `Volume ${v.id} could not be found.`));
  catalog.requestVolumeDelete('t1', v.id);
  catalog.volumeDeleted(v.id);
  t.throws(() => catalog.requestBackup('t1', v.id, backupRequest()), apiError(404, `Volume ${v.id} could not be found.`));
  t.same(catalog.backups.list('t1'), []);
});

t.test('requestBackup: 400 when the volume is not available', async (t) => {
  const { catalog } = openCatalog(t);
  for (const status of ['creating', 'backing-up', 'restoring-backup', 'error_restoring', 'error', 'deleting'] as const) {
    const v = volume(catalog, 't1');
    catalog.db.prepare('UPDATE volumes SET status = ? WHERE id = ?').run(status, v.id);
    t.throws(() => catalog.requestBackup('t1', v.id, backupRequest()), apiError(400, 'Invalid volume: Volume to be backed up must be available'), status);
    t.equal(catalog.volumes.byId(v.id)!.status, status, 'unchanged');
  }
  t.same(catalog.backups.list('t1'), []);
  t.same(catalog.jobs.queued(), []);
});

t.test('requestBackup makes a creating backup of the volume, the volume backing-up, and a backup job', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1', 3 * GiB + 5);
  const req = backupRequest({ container: 'c1', display_name: 'nightly', display_description: 'd', chunk_size: 1 << 20 });
  const { backup, job } = catalog.requestBackup('t1', v.id, req);
  t.match(backup, {
    uuid: req.uuid,
    tenant_id: 't1',
    volume_id: v.id,
    volume_uuid: v.uuid,
    container: 'c1',
    display_name: 'nightly',
    display_description: 'd',
    status: 'creating',
    size_gb: 4,
    size_bytes: 3 * GiB + 5,
    chunk_size: 1 << 20,
    object_count: 0,
    gc_pending: 0,
    completed_at: null,
  });
  t.equal(catalog.volumes.byId(v.id)!.status, 'backing-up');
  t.match(job, { kind: 'backup', backup_id: backup.id, volume_id: v.id, status: 'queued' });
});

t.test('of ten backup requests for one volume made at once, exactly one wins', async (t) => {
  const { catalog, path } = openCatalog(t);
  const v = volume(catalog, 't1');
  const results = Array.from({ length: 10 }, () => {
    try {
      return catalog.requestBackup('t1', v.id, backupRequest());
    } catch (err) {
      return err;
    }
  });
  const wins = results.filter((r) => !(r instanceof Error));
  const losses = results.filter((r) => r instanceof Error);
  t.equal(wins.length, 1);
  t.equal(losses.length, 9);
  for (const e of losses) t.match(e, { constructor: ApiError, status: 400, code: 'VOLBACKD_ERR_VOLUME_NOT_AVAILABLE', message: 'Invalid volume: Volume to be backed up must be available' });
  t.equal(catalog.backups.list('t1').length, 1);
  t.equal(catalog.jobs.queued().length, 1);

  // The same through ten connections to the one file.
  const w = volume(catalog, 't1');
  const conns = Array.from({ length: 10 }, () => Catalog.open(path));
  t.teardown(() => conns.forEach((c) => c.close()));
  const outcomes = await Promise.allSettled(conns.map(async (c) => c.requestBackup('t1', w.id, backupRequest())));
  t.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, 'one connection wins');
  t.equal(outcomes.filter((o) => o.status === 'rejected' && (o.reason as ApiError).status === 400).length, 9, 'nine get 400');
});

t.test('commitBackup records the chunk references and stats, and frees the volume', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  const { backup } = catalog.requestBackup('t1', v.id, backupRequest());
  t.equal(catalog.commitBackup(backup.id, { digests: new Set([D(2), D(1), D(3)]), object_count: 4, stored_bytes: 999 }), true);
  const b = catalog.backups.byId(backup.id)!;
  t.match(b, { status: 'available', object_count: 4, stored_bytes: 999, gc_pending: 0, fail_reason: null, completed_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ });
  t.same(catalog.backups.digestsOf(backup.id), [D(1), D(2), D(3)]);
  t.equal(catalog.volumes.byId(v.id)!.status, 'available');
  t.equal(catalog.commitBackup(backup.id, { digests: [D(9)], object_count: 1, stored_bytes: 1 }), false, 'a second commit is refused');
  t.same(catalog.backups.digestsOf(backup.id), [D(1), D(2), D(3)], 'and adds no references');
  t.equal(catalog.commitBackup(4242, { digests: [], object_count: 1, stored_bytes: 1 }), false, 'an unknown backup');
});

t.test('failBackup marks a creating backup error with its reason and frees the volume', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  const { backup } = catalog.requestBackup('t1', v.id, backupRequest());
  t.equal(catalog.failBackup(backup.id, 'EIO: i/o error', true), true);
  t.match(catalog.backups.byId(backup.id), { status: 'error', fail_reason: 'EIO: i/o error', gc_pending: 1, completed_at: /Z$/ });
  t.equal(catalog.volumes.byId(v.id)!.status, 'available');
  t.same(catalog.backups.gcPending().map((b) => b.id), [backup.id]);
  catalog.gcDone(backup.id);
  t.same(catalog.backups.gcPending(), []);
  t.equal(catalog.failBackup(backup.id, 'again', false), false, 'only a creating backup fails');
  const ok = committedBackup(catalog, v, [D(1)]);
  t.equal(catalog.failBackup(ok.id, 'late', false), false, 'an available backup does not fail');
  t.equal(catalog.backups.byId(ok.id)!.status, 'available');
});

t.test('requestRestore checks, in order: backup 404, backup not available, volume 404, volume not available, too small, quota', async (t) => {
  const { catalog } = openCatalog(t);
  const src = volume(catalog, 't1', 2 * GiB);
  const good = committedBackup(catalog, src, [D(1)]);
  const { backup: creating } = catalog.requestBackup('t1', src.id, backupRequest()); // src is backing-up now
  const small = volume(catalog, 't1', GiB);
  catalog.db.prepare(`UPDATE volumes SET status = 'error' WHERE id = ?`).run(small.id);

  t.throws(() => catalog.requestRestore('t1', 777, { volume_id: 888 }), apiError(404, 'Backup 777 could not be found.'), 'backup 404 before volume 404');
  t.throws(() => catalog.requestRestore('t2', good.id, { volume_id: small.id }), apiError(404, `Backup ${good.id} could not be found.`), "another tenant's backup");
  t.throws(() => catalog.requestRestore('t1', creating.id, { volume_id: 888 }), apiError(400, 'Invalid backup: Backup status must be available'), 'backup not available before volume 404');
  t.throws(() => catalog.requestRestore('t1', good.id, { volume_id: 888 }), apiError(404, 'Volume 888 could not be found.'));
  t.throws(() => catalog.requestRestore('t1', good.id, { volume_id: small.id }), apiError(400, 'Invalid volume: Volume to be restored to must be available'), 'not available before too small');
  catalog.db.prepare(`UPDATE volumes SET status = 'available' WHERE id = ?`).run(small.id);
  t.throws(() => catalog.requestRestore('t1', good.id, { volume_id: small.id }), apiError(400, 'Invalid volume: Volume to be restored to is smaller than the backup to be restored'));
  const quota = { uuid: randomUUID(), image_path: '/x.img', display_name: null, display_description: null, quota_gb: 4 }; // 2 + 1 used
  t.throws(() => catalog.requestRestore('t1', good.id, { new_volume: quota }), apiError(400, 'Volume quota exceeded. You cannot create a volume of size 2G'));

  t.equal(catalog.backups.byId(good.id)!.status, 'available', 'refusals change nothing');
  t.equal(catalog.volumes.byId(small.id)!.status, 'available');
  t.equal(catalog.volumes.list('t1').length, 2);
});

t.test('requestRestore onto an existing volume marks both and queues a restore job (not fresh)', async (t) => {
  const { catalog } = openCatalog(t);
  const src = volume(catalog, 't1', GiB);
  const b = committedBackup(catalog, src, [D(1)]);
  const dst = volume(catalog, 't1', GiB);
  const r = catalog.requestRestore('t1', b.id, { volume_id: dst.id });
  t.equal(r.backup.status, 'restoring');
  t.equal(r.volume.id, dst.id);
  t.equal(r.volume.status, 'restoring-backup');
  t.match(r.job, { kind: 'restore', backup_id: b.id, volume_id: dst.id, fresh_target: 0, status: 'queued' });
  t.throws(() => catalog.requestRestore('t1', b.id, { volume_id: src.id }), { status: 400, message: /Backup status must be available/ }, 'a restoring backup cannot be restored again');
});

t.test('requestRestore to a new volume creates it in restoring-backup, at least as large as the backup', async (t) => {
  const { catalog } = openCatalog(t);
  const src = volume(catalog, 't1', 2 * GiB + 4096); // size_gb 3
  const b = committedBackup(catalog, src, [D(1)]);
  const uuid = randomUUID();
  const r = catalog.requestRestore('t1', b.id, { new_volume: { uuid, image_path: '/img/new.img', display_name: 'restored', display_description: null, quota_gb: 100 } });
  t.match(r.volume, { uuid, tenant_id: 't1', status: 'restoring-backup', managed: 1, image_path: '/img/new.img', size_gb: 3, display_name: 'restored' });
  t.ok(r.volume.size_bytes >= b.size_bytes, 'large enough for the backup');
  t.equal(r.volume.size_bytes, 3 * GiB);
  t.match(r.job, { kind: 'restore', volume_id: r.volume.id, backup_id: b.id, fresh_target: 1 });
});

t.test('finishRestore makes the backup and the volume available again', async (t) => {
  const { catalog } = openCatalog(t);
  const src = volume(catalog, 't1');
  const b = committedBackup(catalog, src, [D(1)]);
  catalog.backups.set(b.id, { fail_reason: 'an old restore failed' });
  const { volume: v } = catalog.requestRestore('t1', b.id, { volume_id: src.id });
  catalog.finishRestore(b.id, v.id);
  t.match(catalog.backups.byId(b.id), { status: 'available', fail_reason: null });
  t.equal(catalog.volumes.byId(v.id)!.status, 'available');
});

t.test('failRestore makes the backup available with the reason and the volume error_restoring', async (t) => {
  const { catalog } = openCatalog(t);
  const src = volume(catalog, 't1');
  const b = committedBackup(catalog, src, [D(1)]);
  const { volume: v } = catalog.requestRestore('t1', b.id, { volume_id: src.id });
  catalog.failRestore(b.id, v.id, 'chunk missing');
  t.match(catalog.backups.byId(b.id), { status: 'available', fail_reason: 'chunk missing' });
  t.equal(catalog.volumes.byId(v.id)!.status, 'error_restoring');
});

t.test('requestBackupDelete accepts available and error backups only', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  const ok = committedBackup(catalog, v, [D(1)]);
  const job = catalog.requestBackupDelete('t1', ok.id);
  t.match(job, { kind: 'delete-backup', backup_id: ok.id, status: 'queued' });
  t.equal(catalog.backups.byId(ok.id)!.status, 'deleting');
  t.throws(() => catalog.requestBackupDelete('t1', ok.id), apiError(400, 'Invalid backup: Backup status must be available or error'), 'deleting');

  const { backup: failed } = catalog.requestBackup('t1', v.id, backupRequest());
  catalog.failBackup(failed.id, 'x', false);
  t.doesNotThrow(() => catalog.requestBackupDelete('t1', failed.id), 'error');

  const { backup: creating } = catalog.requestBackup('t1', v.id, backupRequest());
  t.throws(() => catalog.requestBackupDelete('t1', creating.id), { name: 'ApiError', status: 400 }, 'creating');
  catalog.commitBackup(creating.id, { digests: [], object_count: 1, stored_bytes: 1 });
  catalog.requestRestore('t1', creating.id, { volume_id: v.id });
  t.throws(() => catalog.requestBackupDelete('t1', creating.id), { name: 'ApiError', status: 400 }, 'restoring');

  t.throws(() => catalog.requestBackupDelete('t1', 9999), apiError(404, 'Backup 9999 could not be found.'));
  t.throws(() => catalog.requestBackupDelete('t2', ok.id), { name: 'ApiError', status: 404 }, "another tenant's backup");
});

t.test('backupDeleted removes the backup and its chunk references', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  const b = committedBackup(catalog, v, [D(1), D(2)]);
  catalog.requestBackupDelete('t1', b.id);
  catalog.backupDeleted(b.id);
  t.equal(catalog.backups.byId(b.id), undefined);
  t.same(catalog.backups.digestsOf(b.id), []);
  t.equal(catalog.db.prepare('SELECT COUNT(*) FROM backup_chunks').pluck().get(), 0);
});

t.test('settleInterrupted fails running backups and restores, requeues deletes, and returns creating backups', async (t) => {
  const { catalog } = openCatalog(t);
  const REASON = 'interrupted by a restart of volbackd';

  // A backup in progress.
  const v1 = volume(catalog, 't1');
  const { backup: creating, job: backupJob } = catalog.requestBackup('t1', v1.id, backupRequest());
  catalog.jobs.start(backupJob.id);
  // A restore in progress.
  const v2 = volume(catalog, 't1');
  const b2 = committedBackup(catalog, v2, [D(1)]);
  const { volume: target, job: restoreJob } = catalog.requestRestore('t1', b2.id, { volume_id: v2.id });
  catalog.jobs.start(restoreJob.id);
  // A backup deletion in progress.
  const b3 = committedBackup(catalog, volume(catalog, 't1'), [D(2)]);
  const deleteJob = catalog.requestBackupDelete('t1', b3.id);
  catalog.jobs.start(deleteJob.id);
  // A volume creation in progress, and a volume deletion not started yet.
  const { job: createJob } = catalog.requestVolume('t1', newVolume());
  catalog.jobs.start(createJob.id);
  const doomedVolume = volume(catalog, 't1');
  const volumeDeleteJob = catalog.requestVolumeDelete('t1', doomedVolume.id);
  // A backup requested but never started.
  const v4 = volume(catalog, 't1');
  const { backup: queuedBackup, job: queuedBackupJob } = catalog.requestBackup('t1', v4.id, backupRequest());

  const { creating: back, requeued } = catalog.settleInterrupted(REASON);

  t.same(back.map((b) => b.id).sort(), [creating.id, queuedBackup.id].sort(), 'creating backups are returned for the caller to check');
  t.match(catalog.jobs.byId(backupJob.id), { status: 'failed', error: REASON });
  t.match(catalog.jobs.byId(restoreJob.id), { status: 'failed', error: REASON });
  t.match(catalog.jobs.byId(queuedBackupJob.id), { status: 'failed', error: REASON }, 'a never-started backup job is closed too');
  t.match(catalog.jobs.byId(deleteJob.id), { status: 'queued', started_at: null }, 'the deletion is queued again');
  t.match(catalog.jobs.byId(createJob.id), { status: 'queued', started_at: null }, 'the volume creation is queued again');
  t.match(catalog.jobs.byId(volumeDeleteJob.id), { status: 'queued' }, 'a queued volume deletion stays queued');
  t.same(requeued.map((j) => j.id).sort(), [deleteJob.id, createJob.id].sort());
  t.match(catalog.backups.byId(b2.id), { status: 'available', fail_reason: `restore ${REASON}` }, 'the restored backup is available again');
  t.equal(catalog.volumes.byId(target.id)!.status, 'error_restoring', 'the restore target is error_restoring');
  t.equal(catalog.backups.byId(b3.id)!.status, 'deleting', 'the deleting backup stays deleting');
  t.equal(catalog.backups.byId(creating.id)!.status, 'creating', 'creating backups are left to the caller');
});

t.test('settleInterrupted on a quiet catalog changes nothing', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  const b = committedBackup(catalog, v, [D(1)]);
  t.same(catalog.settleInterrupted('x'), { creating: [], requeued: [] });
  t.equal(catalog.backups.byId(b.id)!.status, 'available');
  t.equal(catalog.volumes.byId(v.id)!.status, 'available');
});

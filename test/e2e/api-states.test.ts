// End to end: the 400s that depend on a status — a backup that is creating or
// restoring, a volume that is backing-up or restoring-backup — and the volume
// quota. The daemon's reads and writes are throttled (limits.max_*_mbps) so that
// a backup or restore of 16 MiB takes a few seconds and its states can be seen
// for certain; each group checks the status before and after its requests.
import t from 'tap';
import { loopUnavailable } from '../helpers/loop.js';
import { badRequest, daemon, deviceOf, exact, isBadRequest, MSG, writeAt } from './fixtures/lib.js';

const skip = loopUnavailable();

t.test('status-dependent 400s and the quota', { skip: skip ?? false }, async (t) => {
  const env = await daemon(t, { toml: '[limits]\nmax_read_mbps = 4\nmax_write_mbps = 4\n[volumes]\nquota_gb = 3' });
  const { t1, t2 } = env;

  const a = await t1.createVolume(1, 'a'); // 16 MiB of data: a slow backup and restore
  const b = await t1.createVolume(1, 'b'); // empty: a quick backup
  writeAt(await deviceOf(env, 't1', a), 0, 16 << 20);
  const bEmpty = await t1.backup(b, { display_name: 'empty' });

  const backupStatus = async (id: string) => (await t1.call('GET', t1.backups(`/${id}`))).body.backup.status as string;
  const volumeStatus = async (id: string) => (await t1.call('GET', t1.volumes(`/${id}`))).body.volume.status as string;

  let bA = '';
  await t.test('while a backup is creating', async (t) => {
    const r = await t1.call('POST', t1.backups(), { backup: { volume_id: a, display_name: 'slow' } });
    t.equal(r.status, 200);
    bA = r.body.backup.id;
    t.equal(await backupStatus(bA), 'creating', 'observed: the backup is creating');
    t.equal(await volumeStatus(a), 'backing-up', 'observed: the volume is backing-up');

    exact(t, await t1.call('DELETE', t1.backups(`/${bA}`)), 400, badRequest(MSG.backupNotDeletable), 'delete a creating backup');
    exact(t, await t1.call('POST', t1.backups(`/${bA}/restore`), { restore: { volume_id: b } }), 400, badRequest(MSG.backupNotAvailable), 'restore a creating backup');
    exact(t, await t1.call('POST', t1.backups(`/${bA}/restore`), { restore: {} }), 400, badRequest(MSG.backupNotAvailable), 'restore a creating backup to a new volume');
    exact(t, await t1.call('POST', t1.backups(), { backup: { volume_id: a } }), 400, badRequest(MSG.volNotAvailableForBackup), 'back up a backing-up volume');
    exact(
      t,
      await t1.call('POST', t1.backups(`/${bEmpty.id}/restore`), { restore: { volume_id: a } }),
      400,
      badRequest(MSG.volNotAvailableForRestore),
      'restore onto a backing-up volume',
    );
    isBadRequest(t, await t1.call('DELETE', t1.volumes(`/${a}`)), 'delete a backing-up volume');

    t.equal(await backupStatus(bA), 'creating', 'observed: still creating after the requests');
    const done = await t1.waitBackup(bA, (s) => s !== 'creating');
    t.equal(done.status, 'available', 'the backup completes');
    t.equal(done.object_count, 5, '4 chunks of 4 MiB + the manifest');
    t.equal(await volumeStatus(a), 'available', 'the volume is available again, not deleted');
    t.equal(await backupStatus(bEmpty.id), 'available', 'the other backup is untouched');
  });

  await t.test('while a restore is running', async (t) => {
    const r = await t1.call('POST', t1.backups(`/${bA}/restore`), { restore: { volume_id: b } });
    exact(t, r, 200, { restore: { backup_id: bA, volume_id: b } }, 'restore accepted');
    t.equal(await backupStatus(bA), 'restoring', 'observed: the backup is restoring');
    t.equal(await volumeStatus(b), 'restoring-backup', 'observed: the volume is restoring-backup');

    exact(t, await t1.call('DELETE', t1.backups(`/${bA}`)), 400, badRequest(MSG.backupNotDeletable), 'delete a restoring backup');
    exact(t, await t1.call('POST', t1.backups(`/${bA}/restore`), { restore: { volume_id: a } }), 400, badRequest(MSG.backupNotAvailable), 'restore a restoring backup');
    exact(
      t,
      await t1.call('POST', t1.backups(`/${bEmpty.id}/restore`), { restore: { volume_id: b } }),
      400,
      badRequest(MSG.volNotAvailableForRestore),
      'restore onto a restoring volume',
    );
    exact(t, await t1.call('POST', t1.backups(), { backup: { volume_id: b } }), 400, badRequest(MSG.volNotAvailableForBackup), 'back up a restoring volume');
    isBadRequest(t, await t1.call('DELETE', t1.volumes(`/${b}`)), 'delete a restoring volume');

    t.equal(await backupStatus(bA), 'restoring', 'observed: still restoring after the requests');
    t.equal((await t1.waitVolume(b, (s) => s !== 'restoring-backup')).status, 'available', 'the restore completes');
    t.equal((await t1.waitBackup(bA, (s) => s !== 'restoring')).status, 'available');
    t.equal(await volumeStatus(b), 'available', 'the volume was not deleted');

    // Now both are deletable: the 400s above were about the status only.
    const del = await t1.call('DELETE', t1.backups(`/${bEmpty.id}`));
    t.equal(del.status, 202, 'an available backup can be deleted');
  });

  await t.test('the volume quota (quota_gb = 3)', async (t) => {
    const q = await t2.createVolume(2, 'q');
    exact(t, await t2.call('POST', t2.volumes(), { volume: { size: 2 } }), 400, badRequest(MSG.quota(2)), 'create a 2 GB volume past the quota');
    const bq = await t2.backup(q);
    t.equal(bq.size, 2);
    const before = (await t2.call('GET', t2.volumes())).body.volumes;
    exact(t, await t2.call('POST', t2.backups(`/${bq.id}/restore`), { restore: {} }), 400, badRequest(MSG.quota(2)), 'restore to a new volume past the quota');
    t.strictSame((await t2.call('GET', t2.volumes())).body.volumes, before, 'no volume was created');
    t.equal((await t2.call('GET', t2.backups(`/${bq.id}`))).body.backup.status, 'available', 'the backup is still available');
    // within the quota it works: 2 + 1 <= 3
    const one = await t2.call('POST', t2.volumes(), { volume: { size: 1 } });
    t.equal(one.status, 200, 'a 1 GB volume still fits');
    exact(t, await t2.call('POST', t2.volumes(), { volume: { size: 1 } }), 400, badRequest(MSG.quota(1)), 'and then nothing more');
  });

  await t.test('ten simultaneous 1 GB creates under quota_gb = 3: exactly three 200s', async (t) => {
    const adm = env.admin; // the admin tenant's own volumes: nothing used yet
    const replies = await Promise.all(Array.from({ length: 10 }, () => adm.call('POST', adm.volumes(), { volume: { size: 1 } })));
    t.equal(replies.filter((r) => r.status === 200).length, 3, 'three 200s');
    for (const r of replies.filter((x) => x.status !== 200)) exact(t, r, 400, badRequest(MSG.quota(1)), 'over the quota');
    for (const r of replies.filter((x) => x.status === 200)) await adm.waitVolume(r.body.volume.id, (s) => s !== 'creating');
    t.equal((await adm.call('GET', adm.volumes())).body.volumes.length, 3, 'three volumes exist');
  });
});

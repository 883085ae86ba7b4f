// End to end, with real loop devices: the bytes. Backup -> restore to the same
// volume and to a new one gives identical bytes (sha256 of the whole device); a
// second backup of a slightly changed volume stores only the changed chunk;
// deleting the first backup leaves the second restorable; a digest-corrupted chunk
// on the store fails the restore with error_restoring and a fail_reason.
// (Hashing 1 GiB takes ~2 s here, so the device is hashed only where it counts.)
import t from 'tap';
import { loopUnavailable } from '../helpers/loop.js';
import { badRequest, corruptObject, daemon, deviceOf, exact, hashDevice, MiB, MSG, notFoundBackup, volumeObjects, waitGone, writeAt } from './fixtures/lib.js';

const skip = loopUnavailable();

t.test('backup and restore keep the bytes', { skip: skip ?? false }, async (t) => {
  const env = await daemon(t);
  const { t1 } = env;
  const container = 'data-e2e';
  const chunkFiles = async (): Promise<string[]> => (await volumeObjects(env, 't1', container)).chunks;
  const manifests = async (): Promise<string[]> => (await volumeObjects(env, 't1', container)).manifests;

  const v = await t1.createVolume(1, 'data');
  const dev = await deviceOf(env, 't1', v);
  t.match(dev, /^\/dev\/loop\d+$/, 'the volume is a loop device');

  // Data in chunks 2 and 3 (10..16 MiB), 175 (700..704 MiB) and 255 (the last MiB).
  writeAt(dev, 10, 6 * MiB);
  writeAt(dev, 700, 4 * MiB);
  writeAt(dev, 1023, 1 * MiB);
  const h0 = hashDevice(dev);

  const b1 = await t1.backup(v, { container, display_name: 'first' });
  t.equal(b1.object_count, 5, 'first backup: 4 non-zero chunks + the manifest');
  t.equal((await chunkFiles()).length, 4, 'four chunk objects on the store');

  await t.test('restore to the same volume after it was overwritten: identical bytes', async (t) => {
    writeAt(dev, 10, 4 * MiB); // over data
    writeAt(dev, 300, 4 * MiB); // over what was zeros
    writeAt(dev, 1023, 1 * MiB);
    const r = await t1.call('POST', t1.backups(`/${b1.id}/restore`), { restore: { volume_id: v } });
    exact(t, r, 200, { restore: { backup_id: b1.id, volume_id: v } });
    const vol = await t1.waitVolume(v, (s) => s !== 'restoring-backup');
    t.equal(vol.status, 'available');
    t.equal(hashDevice(dev), h0, 'sha256 of the device equals the one at backup time');
    t.equal((await t1.waitBackup(b1.id, (s) => s !== 'restoring')).status, 'available');
  });

  await t.test('restore to a new volume: identical bytes', async (t) => {
    const r = await t1.call('POST', t1.backups(`/${b1.id}/restore`), { restore: {} });
    t.equal(r.status, 200);
    const nv = r.body.restore.volume_id as string;
    t.not(nv, v, 'a new volume');
    const vol = await t1.waitVolume(nv, (s) => s !== 'restoring-backup');
    t.equal(vol.status, 'available');
    t.equal(vol.size, 1);
    const ndev = await deviceOf(env, 't1', nv);
    t.not(ndev, dev, 'its own device');
    t.equal(hashDevice(ndev), h0, 'sha256 of the new device equals the original');
    await t1.waitBackup(b1.id, (s) => s === 'available');
    t.equal((await t1.call('DELETE', t1.volumes(`/${nv}`))).status, 202);
  });

  let b2id = '';
  let h1 = '';
  let changedDigest = '';
  await t.test('a second backup after changing one 4 MiB chunk stores only that chunk', async (t) => {
    const before = new Set(await chunkFiles());
    writeAt(dev, 700, 4 * MiB); // chunk 175, chunk-aligned
    h1 = hashDevice(dev);
    const b2 = await t1.backup(v, { container, display_name: 'second' });
    b2id = b2.id;
    t.equal(b2.object_count, 2, 'one changed chunk + the manifest');
    const added = (await chunkFiles()).filter((f) => !before.has(f));
    t.equal(added.length, 1, 'exactly one new chunk object on the store');
    changedDigest = added[0] ?? '';
    t.equal((await manifests()).length, 2, 'two manifests');
  });

  await t.test('deleting the first backup leaves the second restorable with identical bytes', async (t) => {
    const del = await t1.call('DELETE', t1.backups(`/${b1.id}`));
    t.equal(del.status, 202);
    t.equal(del.text, '');
    await waitGone(t1, b1.id);
    exact(t, await t1.call('GET', t1.backups(`/${b1.id}`)), 404, notFoundBackup(b1.id));
    t.equal((await chunkFiles()).length, 4, "the first backup's own chunk is gone, the shared ones stay");
    t.ok((await chunkFiles()).includes(changedDigest), "the second backup's new chunk stays");
    t.equal((await manifests()).length, 1, 'one manifest left');
    t.equal((await t1.call('GET', t1.backups(`/${b2id}`))).body.backup.status, 'available');

    writeAt(dev, 0, 8 * MiB);
    writeAt(dev, 700, 4 * MiB);
    const r = await t1.call('POST', t1.backups(`/${b2id}/restore`), { restore: { volume_id: v } });
    exact(t, r, 200, { restore: { backup_id: b2id, volume_id: v } });
    t.equal((await t1.waitVolume(v, (s) => s !== 'restoring-backup')).status, 'available');
    t.equal(hashDevice(dev), h1, 'sha256 equals the one at the second backup');
    await t1.waitBackup(b2id, (s) => s === 'available');
  });

  await t.test('a digest-corrupted chunk fails the restore: error_restoring, backup available, fail_reason', async (t) => {
    const { uuid } = await volumeObjects(env, 't1', container);
    const size = await corruptObject(env, 't1', container, `volbackd/${uuid}/chunks/${changedDigest}`, 12345);
    t.equal(size, 4 * MiB, 'random data is stored raw');

    const target = await t1.createVolume(1, 'corrupt-target');
    const r = await t1.call('POST', t1.backups(`/${b2id}/restore`), { restore: { volume_id: target } });
    exact(t, r, 200, { restore: { backup_id: b2id, volume_id: target } });
    const vol = await t1.waitVolume(target, (s) => s !== 'restoring-backup');
    t.equal(vol.status, 'error_restoring', 'the volume ends in error_restoring');
    const b = await t1.waitBackup(b2id, (s) => s !== 'restoring');
    t.equal(b.status, 'available', 'the backup stays available');
    t.type(b.fail_reason, 'string', 'fail_reason is set');
    t.ok(
      typeof b.fail_reason === 'string' && (b.fail_reason.includes(changedDigest) || /chunk 175\b/.test(b.fail_reason)),
      `fail_reason names the chunk (${changedDigest} / chunk 175): ${b.fail_reason}`,
    );
    exact(
      t,
      await t1.call('POST', t1.backups(`/${b2id}/restore`), { restore: { volume_id: target } }),
      400,
      badRequest(MSG.volNotAvailableForRestore),
      'an error_restoring volume is not a restore target',
    );
    exact(t, await t1.call('POST', t1.backups(), { backup: { volume_id: target } }), 400, badRequest(MSG.volNotAvailableForBackup), 'an error_restoring volume cannot be backed up');
    const del = await t1.call('DELETE', t1.volumes(`/${target}`));
    t.equal(del.status, 202, 'an error_restoring volume can be deleted');
    await t1.waitVolume(target, (s) => s === 'gone');
  });
});

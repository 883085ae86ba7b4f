// End to end, through HTTP against a real daemon: the backups resource of the
// HP Volume Backup API — list, detail, show, create, delete, restore — with the
// spec's bodies and status codes, its 404s and 400s, and the concurrent-create race.
import t from 'tap';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { badRequest, daemon, exact, isJson, MSG, notFoundBackup, notFoundVolume, objectNames, TIMESTAMP, waitGone } from './fixtures/lib.js';

const BACKUP_FIELDS = ['container', 'created_at', 'display_description', 'display_name', 'fail_reason', 'id', 'object_count', 'size', 'status', 'volume_id'];
const CREATED_FIELDS = ['container', 'created_at', 'display_description', 'display_name', 'id', 'status', 'volume_id'];

t.test('backups API', async (t) => {
  const env = await daemon(t);
  const { t1 } = env;

  // One backup that stays available for the 404 / restore tests below.
  const vKeep = await t1.createVolume(1, 'keep');
  const keep = await t1.backup(vKeep, { display_name: 'keep' });

  await t.test('create answers 200 with the backup in "creating"; show, detail and list agree', async (t) => {
    const v = await t1.createVolume(1, 'create-full');
    const r = await t1.call('POST', t1.backups(), {
      backup: { display_name: 'backup-001', display_description: 'Nightly Backup 03-Sep-2012', volume_id: v, container: 'nightlybackups' },
    });
    t.equal(r.status, 200, 'create is 200');
    isJson(t, r);
    t.strictSame(Object.keys(r.body), ['backup']);
    const c = r.body.backup;
    t.strictSame(Object.keys(c).sort(), CREATED_FIELDS, 'the create response holds the spec fields');
    t.match(c.id, /^[1-9][0-9]*$/, 'id is a string of an integer');
    t.match(c.created_at, TIMESTAMP, 'created_at like 2012-09-03T22:00:00Z');
    t.strictSame(
      c,
      {
        id: c.id,
        display_name: 'backup-001',
        display_description: 'Nightly Backup 03-Sep-2012',
        volume_id: v,
        container: 'nightlybackups',
        status: 'creating',
        created_at: c.created_at,
      },
      'create body',
    );

    await t1.waitBackup(c.id, (s) => s !== 'creating');
    const expected = {
      id: c.id,
      display_name: 'backup-001',
      display_description: 'Nightly Backup 03-Sep-2012',
      volume_id: v,
      container: 'nightlybackups',
      status: 'available',
      fail_reason: null,
      created_at: c.created_at,
      size: 1,
      object_count: 1, // an empty (all-hole) volume: only the manifest is stored
    };

    const show = await t1.call('GET', t1.backups(`/${c.id}`));
    exact(t, show, 200, { backup: expected }, 'show');
    t.strictSame(Object.keys(show.body.backup).sort(), BACKUP_FIELDS, 'show holds every field');

    const detail = await t1.call('GET', t1.backups('/detail'));
    t.equal(detail.status, 200, 'detail is 200');
    isJson(t, detail);
    t.strictSame(Object.keys(detail.body), ['backups']);
    const inDetail = detail.body.backups.filter((b: { id: string }) => b.id === c.id);
    t.strictSame(inDetail, [expected], 'detail lists the backup with every field');
    for (const b of detail.body.backups) t.strictSame(Object.keys(b).sort(), BACKUP_FIELDS, `detail entry ${b.id} holds every field`);

    const list = await t1.call('GET', t1.backups());
    t.equal(list.status, 200, 'list is 200');
    isJson(t, list);
    t.strictSame(Object.keys(list.body), ['backups']);
    for (const b of list.body.backups) t.strictSame(Object.keys(b).sort(), ['id', 'status'], `list entry ${b.id} holds only id and status`);
    t.strictSame(
      list.body.backups.filter((b: { id: string }) => b.id === c.id),
      [{ id: c.id, status: 'available' }],
      'list shows the backup with its status',
    );
    t.strictSame(
      list.body.backups.map((b: { id: string }) => b.id),
      detail.body.backups.map((b: { id: string }) => b.id),
      'list and detail name the same backups',
    );

    const vol = await t1.call('GET', t1.volumes(`/${v}`));
    t.equal(vol.body.volume.status, 'available', 'the volume is available again after the backup');
    t.ok((await objectNames(env, 't1', 'nightlybackups')).length > 0, 'the named container was created on the store');
  });

  await t.test('create with an integer volume_id, no name, no description, no container', async (t) => {
    const v = await t1.createVolume(1, 'create-min');
    const r = await t1.call('POST', t1.backups(), { backup: { volume_id: Number(v) } });
    t.equal(r.status, 200);
    const c = r.body.backup;
    t.strictSame(
      c,
      { id: c.id, display_name: null, display_description: null, volume_id: v, container: 'volumebackups', status: 'creating', created_at: c.created_at },
      'defaults: container "volumebackups", null name and description, volume_id as a string',
    );
    const b = await t1.waitBackup(c.id, (s) => s !== 'creating');
    t.equal(b.status, 'available');
    t.equal(b.container, 'volumebackups');
    t.equal(b.size, 1);
    t.ok((await objectNames(env, 't1', 'volumebackups')).length > 0, 'the default container was created');
  });

  await t.test('size is the volume size in GB', async (t) => {
    const v = await t1.createVolume(3, 'three');
    const b = await t1.backup(v);
    t.equal(b.size, 3);
    t.equal(b.volume_id, v);
  });

  await t.test('delete answers 202 with no body; the backup then disappears', async (t) => {
    const v = await t1.createVolume(1, 'del');
    const b = await t1.backup(v);
    const r = await t1.call('DELETE', t1.backups(`/${b.id}`));
    t.equal(r.status, 202, 'delete is 202');
    t.equal(r.text, '', 'no body');
    await waitGone(t1, b.id);
    exact(t, await t1.call('GET', t1.backups(`/${b.id}`)), 404, notFoundBackup(b.id), 'show after delete');
    const list = await t1.call('GET', t1.backups());
    t.notOk(
      list.body.backups.some((x: { id: string }) => x.id === b.id),
      'not in the list',
    );
    const detail = await t1.call('GET', t1.backups('/detail'));
    t.notOk(
      detail.body.backups.some((x: { id: string }) => x.id === b.id),
      'not in the detail list',
    );
    exact(t, await t1.call('DELETE', t1.backups(`/${b.id}`)), 404, notFoundBackup(b.id), 'delete again');
    exact(t, await t1.call('POST', t1.backups(`/${b.id}/restore`), { restore: {} }), 404, notFoundBackup(b.id), 'restore after delete');
    const next = await t1.call('POST', t1.backups(), { backup: { volume_id: v } });
    t.equal(next.status, 200);
    t.ok(Number(next.body.backup.id) > Number(b.id), 'a deleted backup id is not given out again');
    await t1.waitBackup(next.body.backup.id, (s) => s !== 'creating');
  });

  await t.test('a backup outlives its volume: restorable to a new volume after the volume is deleted', async (t) => {
    const v = await t1.createVolume(1, 'short-lived');
    const b = await t1.backup(v);
    t.equal((await t1.call('DELETE', t1.volumes(`/${v}`))).status, 202);
    await t1.waitVolume(v, (s) => s === 'gone');
    const still = await t1.call('GET', t1.backups(`/${b.id}`));
    t.equal(still.status, 200);
    t.match(still.body.backup, { status: 'available', volume_id: v }, 'the backup still names its (deleted) volume');
    exact(t, await t1.call('POST', t1.backups(`/${b.id}/restore`), { restore: { volume_id: v } }), 404, notFoundVolume(v), 'restore to the deleted volume');
    const r = await t1.call('POST', t1.backups(`/${b.id}/restore`), { restore: {} });
    t.equal(r.status, 200, 'restore to a new volume');
    t.equal((await t1.waitVolume(r.body.restore.volume_id, (s) => s !== 'restoring-backup')).status, 'available');
    await t1.waitBackup(b.id, (s) => s === 'available');
  });

  await t.test('restore to an existing volume: 200 {"restore": {"backup_id", "volume_id"}}', async (t) => {
    const target = await t1.createVolume(1, 'target');
    const r = await t1.call('POST', t1.backups(`/${keep.id}/restore`), { restore: { volume_id: target } });
    exact(t, r, 200, { restore: { backup_id: keep.id, volume_id: target } }, 'restore response');
    const v = await t1.waitVolume(target, (s) => s !== 'restoring-backup');
    t.equal(v.status, 'available', 'the target volume is available after the restore');
    const b = await t1.waitBackup(keep.id, (s) => s !== 'restoring');
    t.equal(b.status, 'available', 'the backup is available again');
    t.equal(b.fail_reason, null);

    // volume_id as an integer
    const r2 = await t1.call('POST', t1.backups(`/${keep.id}/restore`), { restore: { volume_id: Number(target) } });
    exact(t, r2, 200, { restore: { backup_id: keep.id, volume_id: target } }, 'restore with an integer volume_id');
    t.equal((await t1.waitVolume(target, (s) => s !== 'restoring-backup')).status, 'available');
    await t1.waitBackup(keep.id, (s) => s === 'available');
  });

  await t.test('restore without volume_id creates a new volume of the backup size and names it', async (t) => {
    const before = (await t1.call('GET', t1.volumes())).body.volumes.map((v: { id: string }) => v.id);
    const r = await t1.call('POST', t1.backups(`/${keep.id}/restore`), { restore: {} });
    t.equal(r.status, 200);
    isJson(t, r);
    t.strictSame(Object.keys(r.body), ['restore']);
    t.strictSame(Object.keys(r.body.restore).sort(), ['backup_id', 'volume_id']);
    t.equal(r.body.restore.backup_id, keep.id);
    const nv = r.body.restore.volume_id;
    t.match(nv, /^[1-9][0-9]*$/, 'the new volume id is a string of an integer');
    t.notOk(before.includes(nv), 'a volume that did not exist before');
    const v = await t1.waitVolume(nv, (s) => s !== 'restoring-backup');
    t.equal(v.status, 'available');
    t.equal(v.size, 1, 'of the backup size');
    await t1.waitBackup(keep.id, (s) => s === 'available');

    // "volume_id": null means the same
    const r2 = await t1.call('POST', t1.backups(`/${keep.id}/restore`), { restore: { volume_id: null } });
    t.equal(r2.status, 200, 'volume_id null: a new volume too');
    t.not(r2.body.restore.volume_id, nv);
    t.equal((await t1.waitVolume(r2.body.restore.volume_id, (s) => s !== 'restoring-backup')).status, 'available');
    await t1.waitBackup(keep.id, (s) => s === 'available');
  });

  await t.test('404 bodies for unknown backups and volumes', async (t) => {
    exact(t, await t1.call('GET', t1.backups('/999')), 404, notFoundBackup(999), 'show 999');
    exact(t, await t1.call('DELETE', t1.backups('/999')), 404, notFoundBackup(999), 'delete 999');
    exact(t, await t1.call('POST', t1.backups('/999/restore'), { restore: { volume_id: vKeep } }), 404, notFoundBackup(999), 'restore 999');
    exact(t, await t1.call('POST', t1.backups('/999/restore'), { restore: {} }), 404, notFoundBackup(999), 'restore 999 to a new volume');
    exact(t, await t1.call('POST', t1.backups(), { backup: { volume_id: '999' } }), 404, notFoundVolume(999), 'create for volume "999"');
    exact(t, await t1.call('POST', t1.backups(), { backup: { volume_id: 999 } }), 404, notFoundVolume(999), 'create for volume 999');
    exact(t, await t1.call('POST', t1.backups(`/${keep.id}/restore`), { restore: { volume_id: '999' } }), 404, notFoundVolume(999), 'restore to volume 999');
    exact(t, await t1.call('POST', t1.backups(`/${keep.id}/restore`), { restore: { volume_id: 999 } }), 404, notFoundVolume(999), 'restore to volume 999 (integer)');
    // Non-integer path ids name nothing: 404 with the id as given.
    exact(t, await t1.call('GET', t1.backups('/abc')), 404, notFoundBackup('abc'), 'show abc');
    exact(t, await t1.call('DELETE', t1.backups('/0')), 404, notFoundBackup('0'), 'delete 0');
    // The id in the message is the id the client sent, even past 2^53.
    exact(t, await t1.call('GET', t1.backups('/9999999999999999')), 404, notFoundBackup('9999999999999999'), 'show 9999999999999999');
    exact(
      t,
      await t1.call('POST', t1.backups(), { backup: { volume_id: '9999999999999999' } }),
      404,
      notFoundVolume('9999999999999999'),
      'create for volume "9999999999999999": the message names the id sent',
    );
    exact(
      t,
      await t1.call('POST', t1.backups(`/${keep.id}/restore`), { restore: { volume_id: '9999999999999999' } }),
      404,
      notFoundVolume('9999999999999999'),
      'restore to volume "9999999999999999": the message names the id sent',
    );
    // nothing changed
    t.equal((await t1.call('GET', t1.backups(`/${keep.id}`))).body.backup.status, 'available');
  });

  await t.test('restore onto a smaller volume: 400', async (t) => {
    const big = await t1.createVolume(2, 'two');
    const small = await t1.createVolume(1, 'one');
    const b = await t1.backup(big);
    t.equal(b.size, 2);
    exact(t, await t1.call('POST', t1.backups(`/${b.id}/restore`), { restore: { volume_id: small } }), 400, badRequest(MSG.volTooSmall), 'restore 2 GB onto 1 GB');
    t.equal((await t1.call('GET', t1.volumes(`/${small}`))).body.volume.status, 'available', 'the small volume is untouched');
    t.equal((await t1.call('GET', t1.backups(`/${b.id}`))).body.backup.status, 'available', 'the backup is untouched');
    // the other way round is fine
    const r = await t1.call('POST', t1.backups(`/${keep.id}/restore`), { restore: { volume_id: big } });
    exact(t, r, 200, { restore: { backup_id: keep.id, volume_id: big } }, 'restore 1 GB onto 2 GB');
    t.equal((await t1.waitVolume(big, (s) => s !== 'restoring-backup')).status, 'available');
    await t1.waitBackup(keep.id, (s) => s === 'available');
  });

  await t.test('ten simultaneous creates for one volume: exactly one 200 and nine 400s', async (t) => {
    const v = await t1.createVolume(1, 'race');
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => t1.call('POST', t1.backups(), { backup: { volume_id: v, display_name: `race-${i}` } })));
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 400);
    t.equal(ok.length, 1, 'one 200');
    t.equal(refused.length, 9, 'nine 400s');
    for (const r of refused) exact(t, r, 400, badRequest(MSG.volNotAvailableForBackup), 'the loser');
    const b = await t1.waitBackup(ok[0]!.body.backup.id, (s) => s !== 'creating');
    t.equal(b.status, 'available');
    const mine = (await t1.call('GET', t1.backups('/detail'))).body.backups.filter((x: { volume_id: string }) => x.volume_id === v);
    t.equal(mine.length, 1, 'exactly one backup of the volume exists');
    t.equal((await t1.call('GET', t1.volumes(`/${v}`))).body.volume.status, 'available');
  });

  await t.test('a backup that fails ends in "error" with a fail_reason, and can be deleted', async (t) => {
    // An adopted image file that disappears before its backup: the backup cannot read it.
    const dir = tempDir(t, 'volbackd-gone-');
    const img = join(dir, 'gone.img');
    writeFileSync(img, Buffer.alloc(1 << 20, 1));
    const a = await env.admin.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 't1', device: img, display_name: 'gone' } });
    t.equal(a.status, 200, `adopt (got ${a.text})`);
    const v = a.body.volume.id as string;
    rmSync(img);
    const r = await t1.call('POST', t1.backups(), { backup: { volume_id: v, display_name: 'doomed' } });
    t.equal(r.status, 200, 'accepted: the failure comes later');
    const b = await t1.waitBackup(r.body.backup.id, (s) => s !== 'creating');
    t.equal(b.status, 'error', 'status "error"');
    t.type(b.fail_reason, 'string', 'fail_reason says why');
    t.ok(b.fail_reason?.length > 0);
    t.strictSame(Object.keys(b).sort(), BACKUP_FIELDS);
    t.equal((await t1.call('GET', t1.volumes(`/${v}`))).body.volume.status, 'available', 'the volume is available again');
    exact(t, await t1.call('POST', t1.backups(`/${b.id}/restore`), { restore: {} }), 400, badRequest(MSG.backupNotAvailable), 'an errored backup cannot be restored');
    const del = await t1.call('DELETE', t1.backups(`/${b.id}`));
    t.equal(del.status, 202, 'an errored backup can be deleted');
    t.equal(del.text, '');
    await waitGone(t1, b.id);
    t.equal((await t1.call('DELETE', t1.volumes(`/${v}`))).status, 202);
    await t1.waitVolume(v, (s) => s === 'gone');
  });

  await t.test('ten simultaneous restores of one backup: exactly one 200, nine 400s', async (t) => {
    const vs = await Promise.all(Array.from({ length: 2 }, (_, i) => t1.createVolume(1, `rr-${i}`)));
    const count = async () => ((await t1.call('GET', t1.volumes())).body.volumes as unknown[]).length;
    const before = await count();
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => t1.call('POST', t1.backups(`/${keep.id}/restore`), { restore: i % 2 ? { volume_id: vs[i % 2] } : {} })),
    );
    const ok = replies.filter((r) => r.status === 200);
    t.equal(ok.length, 1, 'one 200');
    for (const r of replies.filter((x) => x.status !== 200)) exact(t, r, 400, badRequest(MSG.backupNotAvailable), 'the loser');
    await t1.waitVolume(ok[0]!.body.restore.volume_id, (s) => s !== 'restoring-backup');
    await t1.waitBackup(keep.id, (s) => s === 'available');
    const winnerMadeOne = !vs.includes(ok[0]!.body.restore.volume_id) ? 1 : 0;
    t.equal(await count(), before + winnerMadeOne, 'the losers created no volume');
  });

  await t.test('ten simultaneous restores of different backups onto one volume: exactly one 200', async (t) => {
    const srcs = await Promise.all(Array.from({ length: 10 }, (_, i) => t1.createVolume(1, `src-${i}`)));
    const bs = await Promise.all(srcs.map((v) => t1.backup(v)));
    const target = await t1.createVolume(1, 'one-target');
    const replies = await Promise.all(bs.map((b) => t1.call('POST', t1.backups(`/${b.id}/restore`), { restore: { volume_id: target } })));
    t.equal(replies.filter((r) => r.status === 200).length, 1, 'one 200');
    for (const r of replies.filter((x) => x.status !== 200)) exact(t, r, 400, badRequest(MSG.volNotAvailableForRestore), 'the loser');
    t.equal((await t1.waitVolume(target, (s) => s !== 'restoring-backup')).status, 'available');
    for (const b of bs) await t1.waitBackup(b.id, (s) => s === 'available');
    // and ten simultaneous deletes of one backup: one 202, the others 400 (deleting) or 404 (gone)
    const dels = await Promise.all(Array.from({ length: 10 }, () => t1.call('DELETE', t1.backups(`/${bs[0]!.id}`))));
    t.equal(dels.filter((r) => r.status === 202).length, 1, 'one delete is 202');
    for (const r of dels.filter((x) => x.status !== 202)) {
      if (r.status === 404) exact(t, r, 404, notFoundBackup(bs[0]!.id), 'a late delete');
      else exact(t, r, 400, badRequest(MSG.backupNotDeletable), 'a concurrent delete');
    }
    await waitGone(t1, bs[0]!.id);
    await Promise.all(srcs.map((v) => t1.call('DELETE', t1.volumes(`/${v}`))));
  });

  await t.test('the spec curl examples: -d sends application/x-www-form-urlencoded', async (t) => {
    const v = await t1.createVolume(1, 'curl');
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const body = JSON.stringify({ backup: { display_name: 'backup-001', display_description: 'Nightly Backup 03-Sep-2012', volume_id: v, container: 'nightlybackups' } });
    const r = await t1.call('POST', t1.backups(), body, form);
    t.equal(r.status, 200, `create with -d (got ${r.text})`);
    isJson(t, r);
    t.equal(r.body?.backup?.status, 'creating');
    const b = await t1.waitBackup(r.body.backup.id, (s) => s !== 'creating');
    t.equal(b.status, 'available');
    const rr = await t1.call('POST', t1.backups(`/${b.id}/restore`), JSON.stringify({ restore: { volume_id: v } }), form);
    exact(t, rr, 200, { restore: { backup_id: b.id, volume_id: v } }, 'restore with -d');
    await t1.waitVolume(v, (s) => s !== 'restoring-backup');
    await t1.waitBackup(b.id, (s) => s === 'available');
  });
});

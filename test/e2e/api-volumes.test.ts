// End to end: the volumes resource of the parent Block Storage API
// (/v1.1/{tenant}/os-volumes) and the admin adoption of existing devices
// (/v1.1/admin/volumes). Admin tokens see each volume's "device"; tenants do not.
import t from 'tap';
import { closeSync, openSync, ftruncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loopUnavailable, withLoop } from '../helpers/loop.js';
import { tempDir } from '../helpers/tmp.js';
import { badRequest, daemon, exact, fault, GiB, isBadRequest, isJson, MSG, notFoundVolume, TIMESTAMP, until } from './fixtures/lib.js';

const skip = loopUnavailable();

const SUMMARY_FIELDS = ['display_name', 'id', 'size', 'status'];

t.test('volumes API', { skip: skip ?? false }, async (t) => {
  const env = await daemon(t);
  const { t1, adminT1, admin } = env;

  await t.test('create: 200 with status "creating", then "available"; list, detail and show agree', async (t) => {
    const r = await t1.call('POST', t1.volumes(), { volume: { size: 1, display_name: 'vol-a', display_description: 'first volume' } });
    t.equal(r.status, 200, 'create is 200');
    isJson(t, r);
    t.strictSame(Object.keys(r.body), ['volume']);
    const v = r.body.volume;
    t.match(v.id, /^[1-9][0-9]*$/, 'id is a string of an integer');
    t.match(v, { status: 'creating', size: 1, display_name: 'vol-a', display_description: 'first volume' }, 'create body');
    t.match(v.created_at, TIMESTAMP, 'created_at like 2012-09-03T22:00:00Z');
    t.notOk('device' in v, 'no "device" for a tenant token');

    const ready = await t1.waitVolume(v.id, (s) => s !== 'creating');
    t.equal(ready.status, 'available', 'then available');

    const show = await t1.call('GET', t1.volumes(`/${v.id}`));
    t.equal(show.status, 200);
    isJson(t, show);
    t.strictSame(show.body.volume, { ...v, status: 'available' }, 'show: the created volume, now available');
    t.notOk('device' in show.body.volume, 'no "device" in show for a tenant token');

    const list = await t1.call('GET', t1.volumes());
    t.equal(list.status, 200);
    isJson(t, list);
    t.strictSame(Object.keys(list.body), ['volumes']);
    for (const x of list.body.volumes) t.strictSame(Object.keys(x).sort(), SUMMARY_FIELDS, `list entry ${x.id}: the summary fields`);
    t.strictSame(
      list.body.volumes.filter((x: { id: string }) => x.id === v.id),
      [{ id: v.id, status: 'available', size: 1, display_name: 'vol-a' }],
      'list',
    );

    const detail = await t1.call('GET', t1.volumes('/detail'));
    t.equal(detail.status, 200);
    isJson(t, detail);
    t.strictSame(
      detail.body.volumes.filter((x: { id: string }) => x.id === v.id),
      [show.body.volume],
      'detail holds what show shows',
    );
    for (const x of detail.body.volumes) t.notOk('device' in x, `detail entry ${x.id}: no "device" for a tenant token`);
  });

  await t.test('admin tokens see "device" (the loop device of a created volume)', async (t) => {
    const id = await t1.createVolume(1, 'vol-dev');
    const r = await adminT1.call('GET', adminT1.volumes(`/${id}`));
    t.equal(r.status, 200);
    t.match(r.body.volume.device, /^\/dev\/loop[0-9]+$/, 'device is a loop device');
    const detail = await adminT1.call('GET', adminT1.volumes('/detail'));
    for (const x of detail.body.volumes) t.type(x.device, 'string', `admin detail entry ${x.id} has a device`);
    const mine = await t1.call('GET', t1.volumes(`/${id}`));
    t.notOk('device' in mine.body.volume, 'the tenant does not see it');
    const c = await adminT1.call('POST', adminT1.volumes(), { volume: { size: 1 } });
    t.equal(c.status, 200, 'an admin may create a volume for a tenant');
    t.ok('device' in c.body.volume, 'with "device" in the answer');
    await t1.waitVolume(c.body.volume.id, (s) => s === 'available');
    t.equal((await t1.call('DELETE', t1.volumes(`/${c.body.volume.id}`))).status, 202);
  });

  await t.test('delete: 202 with no body, then the volume is gone', async (t) => {
    const id = await t1.createVolume(1, 'vol-del');
    const r = await t1.call('DELETE', t1.volumes(`/${id}`));
    t.equal(r.status, 202, 'delete is 202');
    t.equal(r.text, '', 'no body');
    await t1.waitVolume(id, (s) => s === 'gone');
    exact(t, await t1.call('GET', t1.volumes(`/${id}`)), 404, notFoundVolume(id), 'show after delete');
    t.notOk(
      (await t1.call('GET', t1.volumes())).body.volumes.some((x: { id: string }) => x.id === id),
      'not in the list',
    );
    exact(t, await t1.call('DELETE', t1.volumes(`/${id}`)), 404, notFoundVolume(id), 'delete again');
    exact(t, await t1.call('POST', t1.backups(), { backup: { volume_id: id } }), 404, notFoundVolume(id), 'back up a deleted volume');
  });

  await t.test('unknown volumes: 404', async (t) => {
    exact(t, await t1.call('GET', t1.volumes('/999')), 404, notFoundVolume(999), 'show 999');
    exact(t, await t1.call('DELETE', t1.volumes('/999')), 404, notFoundVolume(999), 'delete 999');
    exact(t, await t1.call('GET', t1.volumes('/abc')), 404, notFoundVolume('abc'), 'show abc');
  });

  await t.test('size validation: 400', async (t) => {
    for (const size of [0, -1, 'x', '', 1.5, null, true, [], {}, 2000, 1 << 21, 1e300]) {
      isBadRequest(t, await t1.call('POST', t1.volumes(), { volume: { size } }), `size ${JSON.stringify(size)}`);
    }
    isBadRequest(t, await t1.call('POST', t1.volumes(), { volume: {} }), 'no size');
    isBadRequest(t, await t1.call('POST', t1.volumes(), { volume: { size: 1, display_name: 'n'.repeat(256) } }), 'a 256-character name');
    isBadRequest(t, await t1.call('POST', t1.volumes(), { volume: { size: 1, display_description: 'd'.repeat(256) } }), 'a 256-character description');
    isBadRequest(t, await t1.call('POST', t1.volumes(), { volume: { size: 1, display_name: 7 } }), 'a number as name');
    exact(t, await t1.call('POST', t1.volumes(), {}), 400, badRequest(MSG.badBody), 'no "volume" key');
    exact(t, await t1.call('POST', t1.volumes(), { volume: 1 }), 400, badRequest(MSG.badBody), '"volume" not an object');
    exact(t, await t1.call('POST', t1.volumes(), []), 400, badRequest(MSG.badBody), 'an array body');
    exact(t, await t1.call('POST', t1.volumes(), '{"volume": {'), 400, badRequest(MSG.badBody), 'malformed JSON');
    const vols = (await t1.call('GET', t1.volumes())).body.volumes;
    t.notOk(
      vols.some((x: { status: string }) => x.status === 'creating' || x.status === 'error'),
      'no refused request left a volume behind',
    );
  });

  await t.test('quota (default quota_gb = 1000): 400', async (t) => {
    exact(t, await t1.call('POST', t1.volumes(), { volume: { size: 1024 } }), 400, badRequest(MSG.quota(1024)), 'a 1024 GB volume');
  });

  await t.test('admin adopts an image file and a loop device', async (t) => {
    const dir = tempDir(t, 'volbackd-adopt-');
    // 1.5 GiB sparse: the API shows 2 GB
    const img = join(dir, 'adopt.img');
    const fd = openSync(img, 'w');
    ftruncateSync(fd, 1.5 * GiB);
    closeSync(fd);
    const loop = await withLoop(t, img);

    const r = await admin.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 't1', device: loop.device, display_name: 'adopted-loop' } });
    t.equal(r.status, 200, `adopt a loop device (got ${r.text})`);
    isJson(t, r);
    const v = r.body.volume;
    t.match(v, { status: 'available', size: 2, display_name: 'adopted-loop', device: loop.device }, 'size rounded up to GB, device shown');
    t.match(v.id, /^[1-9][0-9]*$/);

    const mine = await t1.call('GET', t1.volumes(`/${v.id}`));
    t.equal(mine.status, 200, "it is t1's volume");
    t.match(mine.body.volume, { status: 'available', size: 2, display_name: 'adopted-loop' });
    t.notOk('device' in mine.body.volume, 'no "device" for the tenant');
    const seen = await adminT1.call('GET', adminT1.volumes(`/${v.id}`));
    t.equal(seen.body.volume.device, loop.device, 'the admin sees the device');
    exact(t, await env.t2.call('GET', env.t2.volumes(`/${v.id}`)), 404, notFoundVolume(v.id), 'not a volume of t2');

    // a backup of the adopted device works
    const b = await t1.backup(v.id);
    t.equal(b.size, 2, 'the backup size is the volume size in GB');

    // an image file directly
    const img2 = join(dir, 'adopt2.img');
    writeFileSync(img2, Buffer.alloc(1 << 20, 7));
    const r2 = await admin.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 't1', device: img2, display_name: 'adopted-file' } });
    t.equal(r2.status, 200, `adopt an image file (got ${r2.text})`);
    t.match(r2.body.volume, { status: 'available', size: 1, device: img2 }, '1 MiB rounds up to 1 GB');
    const b2 = await t1.backup(r2.body.volume.id);
    t.equal(b2.status, 'available');
    t.equal(b2.object_count, 2, 'one chunk + the manifest');

    // forget the adopted volumes before the loop device goes away
    t.equal((await t1.call('DELETE', t1.volumes(`/${v.id}`))).status, 202);
    t.equal((await t1.call('DELETE', t1.volumes(`/${r2.body.volume.id}`))).status, 202);
    await t1.waitVolume(v.id, (s) => s === 'gone');
    await t1.waitVolume(r2.body.volume.id, (s) => s === 'gone');
  });

  await t.test('admin adoption: refusals', async (t) => {
    for (const token of [env.t1, env.t2]) {
      fault(
        t,
        await token.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 't1', device: '/dev/null' } }),
        403,
        'forbidden',
        `a ${token.tenant} token`,
      );
    }
    isBadRequest(t, await admin.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 't1', device: '/nonexistent/x.img' } }), 'a missing device');
    isBadRequest(t, await admin.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 't1', device: 'relative.img' } }), 'a relative path');
    isBadRequest(t, await admin.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 'a/b', device: '/dev/null' } }), 'a bad tenant id');
    isBadRequest(t, await admin.call('POST', '/v1.1/admin/volumes', { volume: { device: '/dev/null' } }), 'no tenant');
    isBadRequest(t, await admin.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 't1', device: '/dev/null' } }), '/dev/null is not a volume');
    const dir = tempDir(t, 'volbackd-adopt-');
    const empty = join(dir, 'empty.img');
    writeFileSync(empty, '');
    isBadRequest(t, await admin.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 't1', device: empty } }), 'an empty file');
    exact(t, await admin.call('POST', '/v1.1/admin/volumes', {}), 400, badRequest(MSG.badBody), 'no "volume" key');
  });

  // Last: let the daemon settle every deletion above.
  await until(
    'no volume left deleting',
    async () => (await t1.call('GET', t1.volumes())).body.volumes,
    (vs: Array<{ status: string }>) => vs.every((v) => v.status !== 'deleting'),
  );
});

// End to end: who may call what. X-Auth-Token on every request (header names are
// case-insensitive); 401 for a missing or unknown token; 403 for a token of another
// tenant than the path's; other tenants' volumes and backups are 404 on one's own
// path, exactly as if absent.
import t from 'tap';
import { asReply, daemon, exact, fault, notFoundBackup, notFoundVolume, raw, TOKENS } from './fixtures/lib.js';

t.test('auth and tenant isolation', async (t) => {
  const env = await daemon(t);
  const { t1, t2 } = env;
  const v1 = await t1.createVolume(1, 't1-vol');
  const b1 = await t1.backup(v1, { display_name: 't1-backup' });
  const v2 = await t2.createVolume(1, 't2-vol');
  const b2 = await t2.backup(v2, { display_name: 't2-backup' });

  // Every operation of both resources, on t1's path.
  const ops: Array<[string, string, unknown?]> = [
    ['GET', t1.backups()],
    ['GET', t1.backups('/detail')],
    ['GET', t1.backups(`/${b1.id}`)],
    ['POST', t1.backups(), { backup: { volume_id: v1 } }],
    ['DELETE', t1.backups(`/${b1.id}`)],
    ['POST', t1.backups(`/${b1.id}/restore`), { restore: { volume_id: v1 } }],
    ['POST', t1.backups(`/${b1.id}/restore`), { restore: {} }],
    ['GET', t1.volumes()],
    ['GET', t1.volumes('/detail')],
    ['GET', t1.volumes(`/${v1}`)],
    ['POST', t1.volumes(), { volume: { size: 1 } }],
    ['DELETE', t1.volumes(`/${v1}`)],
  ];

  await t.test('no X-Auth-Token: 401 {"unauthorized": {...}}', async (t) => {
    const anon = t1.as(null);
    for (const [m, p, body] of ops) fault(t, await anon.call(m, p, body), 401, 'unauthorized', `${m} ${p}`);
    fault(t, await anon.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: 't1', device: '/dev/null' } }), 401, 'unauthorized', 'admin adopt');
    const r = asReply(await raw(env.d.url, { method: 'GET', path: t1.backups(), headers: { 'X-Auth-Token': '' } }));
    fault(t, r, 401, 'unauthorized', 'an empty X-Auth-Token');
  });

  await t.test('an unknown token: 401', async (t) => {
    const stranger = t1.as('no-such-token-at-all');
    for (const [m, p, body] of ops) fault(t, await stranger.call(m, p, body), 401, 'unauthorized', `${m} ${p}`);
    fault(t, await t1.as(TOKENS.t1 + 'x').call('GET', t1.backups()), 401, 'unauthorized', 'a token with one more character');
    fault(t, await t1.as(TOKENS.t1.toUpperCase()).call('GET', t1.backups()), 401, 'unauthorized', 'a token in another case');
  });

  await t.test('the header name is case-insensitive', async (t) => {
    for (const name of ['X-Auth-Token', 'x-auth-token', 'X-AUTH-TOKEN', 'x-AuTh-ToKeN']) {
      const r = await raw(env.d.url, { method: 'GET', path: t1.backups(), headers: { [name]: TOKENS.t1 } });
      t.equal(r.status, 200, `${name}: 200`);
      t.ok(
        Array.isArray(r.body?.backups) && r.body.backups.some((x: { id: string }) => x.id === b1.id),
        `${name}: t1's list`,
      );
    }
    const r = await raw(env.d.url, {
      method: 'POST',
      path: t1.backups(`/${b1.id}/restore`),
      headers: { 'X-AUTH-TOKEN': TOKENS.t1, 'content-type': 'application/json' },
      body: JSON.stringify({ restore: { volume_id: v1 } }),
    });
    exact(t, asReply(r), 200, { restore: { backup_id: b1.id, volume_id: v1 } }, 'a restore with X-AUTH-TOKEN');
    await t1.waitVolume(v1, (s) => s === 'available');
    await t1.waitBackup(b1.id, (s) => s === 'available');
  });

  await t.test("a t2 token on t1's path: 403 {\"forbidden\": {...}}", async (t) => {
    const intruder = t1.as(TOKENS.t2); // t1's paths, t2's token
    for (const [m, p, body] of ops) fault(t, await intruder.call(m, p, body), 403, 'forbidden', `${m} ${p}`);
    // unknown ids too: the tenant check comes first
    fault(t, await intruder.call('GET', t1.backups('/999')), 403, 'forbidden', 'GET an unknown backup');
    fault(t, await intruder.call('POST', '/v1.1/t1/hp-volume-backups', '{bad json'), 403, 'forbidden', 'a malformed body');
    // nothing happened to t1's things
    const b = (await t1.call('GET', t1.backups(`/${b1.id}`))).body.backup;
    t.equal(b.status, 'available', "t1's backup is untouched");
    t.equal((await t1.call('GET', t1.volumes(`/${v1}`))).body.volume.status, 'available', "t1's volume is untouched");
    t.equal((await t1.call('GET', t1.backups())).body.backups.length, 1, 't1 still has exactly one backup');
  });

  await t.test("t1's backups and volumes are 404 for t2 on t2's own path, like absent ids", async (t) => {
    exact(t, await t2.call('GET', t2.backups(`/${b1.id}`)), 404, notFoundBackup(b1.id), "show t1's backup");
    exact(t, await t2.call('DELETE', t2.backups(`/${b1.id}`)), 404, notFoundBackup(b1.id), "delete t1's backup");
    exact(t, await t2.call('POST', t2.backups(`/${b1.id}/restore`), { restore: { volume_id: v2 } }), 404, notFoundBackup(b1.id), "restore t1's backup");
    exact(t, await t2.call('POST', t2.backups(`/${b1.id}/restore`), { restore: {} }), 404, notFoundBackup(b1.id), "restore t1's backup to a new volume");
    exact(t, await t2.call('GET', t2.volumes(`/${v1}`)), 404, notFoundVolume(v1), "show t1's volume");
    exact(t, await t2.call('DELETE', t2.volumes(`/${v1}`)), 404, notFoundVolume(v1), "delete t1's volume");
    exact(t, await t2.call('POST', t2.backups(), { backup: { volume_id: v1 } }), 404, notFoundVolume(v1), "back up t1's volume");
    exact(t, await t2.call('POST', t2.backups(`/${b2.id}/restore`), { restore: { volume_id: v1 } }), 404, notFoundVolume(v1), "restore onto t1's volume");

    // The same bodies as for ids that exist nowhere.
    const absent = 999;
    const a = await t2.call('GET', t2.backups(`/${absent}`));
    const o = await t2.call('GET', t2.backups(`/${b1.id}`));
    t.equal(o.status, a.status, 'same status as an absent backup');
    t.equal(
      o.text.replace(`Backup ${b1.id} `, 'Backup X '),
      a.text.replace(`Backup ${absent} `, 'Backup X '),
      'same body as an absent backup, but for the id',
    );

    const list = await t2.call('GET', t2.backups());
    t.strictSame(list.body, { backups: [{ id: b2.id, status: 'available' }] }, "t2's list holds only t2's backup");
    const detail = await t2.call('GET', t2.backups('/detail'));
    t.strictSame(
      detail.body.backups.map((x: { id: string }) => x.id),
      [b2.id],
      "t2's detail list holds only t2's backup",
    );
    const vols = await t2.call('GET', t2.volumes());
    t.strictSame(
      vols.body.volumes.map((x: { id: string }) => x.id),
      [v2],
      "t2's volume list holds only t2's volume",
    );
    const t1list = await t1.call('GET', t1.backups());
    t.strictSame(t1list.body, { backups: [{ id: b1.id, status: 'available' }] }, "t1's list holds only t1's backup");
    t.equal((await t1.call('GET', t1.volumes(`/${v1}`))).body.volume.status, 'available', "t1's volume was not deleted");
  });

  await t.test('admin endpoints need an admin token', async (t) => {
    const body = { volume: { tenant_id: 't1', device: '/dev/null', display_name: 'x' } };
    fault(t, await t1.call('POST', '/v1.1/admin/volumes', body), 403, 'forbidden', 'a tenant token adopting a volume');
    fault(t, await t2.call('POST', '/v1.1/admin/volumes', body), 403, 'forbidden', 'a tenant token adopting a volume (t2)');
    fault(t, await t1.call('GET', '/v1.1/admin/hp-volume-backups'), 403, 'forbidden', "a tenant token on the admin tenant's path");
  });
});

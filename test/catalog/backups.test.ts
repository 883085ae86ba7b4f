// The backups table: which chunk references are live (what a new backup may skip
// and what a collection must keep), per scope (tenant, container, volume).
import t from 'tap';
import type { ChunkScope } from '../../src/catalog/index.js';
import { D, backupRequest, committedBackup, openCatalog, volume } from './fixtures/catalog.js';

t.test('liveDigests: the references of available and restoring backups of the scope', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  const scope: ChunkScope = { tenant_id: 't1', container: 'volumebackups', volume_uuid: v.uuid };
  const a = committedBackup(catalog, v, [D(1), D(2)]);
  const b = committedBackup(catalog, v, [D(2), D(3)]);
  t.same(catalog.backups.liveDigests(scope), new Set([D(1), D(2), D(3)]));
  t.same(catalog.backups.liveDigests(scope, a.id), new Set([D(2), D(3)]), 'except one backup');

  catalog.requestRestore('t1', b.id, { volume_id: v.id });
  t.same(catalog.backups.liveDigests(scope), new Set([D(1), D(2), D(3)]), 'a restoring backup is live');
});

t.test('liveDigests: deleting, creating and error backups do not count', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  const scope: ChunkScope = { tenant_id: 't1', container: 'volumebackups', volume_uuid: v.uuid };
  const deleting = committedBackup(catalog, v, [D(1)]);
  catalog.requestBackupDelete('t1', deleting.id);
  const errored = committedBackup(catalog, v, [D(2)]);
  catalog.backups.move(errored.id, ['available'], 'error');
  const { backup: creating } = catalog.requestBackup('t1', v.id, backupRequest());
  catalog.backups.addChunkRefs(creating.id, [D(3)]);
  t.same(catalog.backups.liveDigests(scope), new Set());
  const live = committedBackup(catalog, volume(catalog, 't1'), [D(4)]);
  t.same(catalog.backups.liveDigests(scope), new Set(), "another volume's backup is another scope");
  t.same(catalog.backups.liveDigests({ ...scope, volume_uuid: live.volume_uuid }), new Set([D(4)]));
});

t.test('liveDigests: the scope is tenant, container and volume', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  committedBackup(catalog, v, [D(1)], { container: 'c1' });
  committedBackup(catalog, v, [D(2)], { container: 'c2' });
  t.same(catalog.backups.liveDigests({ tenant_id: 't1', container: 'c1', volume_uuid: v.uuid }), new Set([D(1)]));
  t.same(catalog.backups.liveDigests({ tenant_id: 't1', container: 'c2', volume_uuid: v.uuid }), new Set([D(2)]));
  t.same(catalog.backups.liveDigests({ tenant_id: 't2', container: 'c1', volume_uuid: v.uuid }), new Set(), 'another tenant');
});

t.test("exclusiveDigests: a backup's digests no other live backup of its scope references", async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  const a = committedBackup(catalog, v, [D(1), D(2), D(3), D(4), D(5)]);
  committedBackup(catalog, v, [D(2)]); // live: keeps 2
  const deleting = committedBackup(catalog, v, [D(3)]);
  catalog.requestBackupDelete('t1', deleting.id); // not live: does not keep 3
  committedBackup(catalog, v, [D(4)], { container: 'elsewhere' }); // another container: does not keep 4
  const restoring = committedBackup(catalog, v, [D(5)]);
  catalog.requestRestore('t1', restoring.id, { volume_id: v.id }); // restoring is live: keeps 5
  t.same(catalog.backups.exclusiveDigests(catalog.backups.byId(a.id)!), [D(1), D(3), D(4)]);
});

t.test('addChunkRefs ignores repeats; digestsOf lists them sorted', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  const { backup } = catalog.requestBackup('t1', v.id, backupRequest());
  catalog.backups.addChunkRefs(backup.id, [D(3), D(1), D(3)]);
  catalog.backups.addChunkRefs(backup.id, [D(1), D(2)]);
  t.same(catalog.backups.digestsOf(backup.id), [D(1), D(2), D(3)]);
});

t.test('get hides other tenants’ backups; list is per tenant', async (t) => {
  const { catalog } = openCatalog(t);
  const b1 = committedBackup(catalog, volume(catalog, 't1'), []);
  const b2 = committedBackup(catalog, volume(catalog, 't2'), []);
  t.equal(catalog.backups.get('t2', b1.id), undefined);
  t.equal(catalog.backups.get('t1', b1.id)?.id, b1.id);
  t.same(catalog.backups.list('t1').map((b) => b.id), [b1.id]);
  t.same(catalog.backups.list('t2').map((b) => b.id), [b2.id]);
});

t.test('move changes status only from the given ones; set changes fields and updated_at', async (t) => {
  const { catalog } = openCatalog(t);
  const b = committedBackup(catalog, volume(catalog, 't1'), []);
  t.equal(catalog.backups.move(b.id, ['creating'], 'error'), false);
  t.equal(catalog.backups.byId(b.id)!.status, 'available');
  t.equal(catalog.backups.move(b.id, ['creating', 'available'], 'deleting'), true);
  catalog.backups.set(b.id, { fail_reason: 'r', stored_bytes: 7 });
  t.match(catalog.backups.byId(b.id), { status: 'deleting', fail_reason: 'r', stored_bytes: 7 });
  catalog.backups.set(b.id, {});
  t.equal(catalog.backups.byId(b.id)!.fail_reason, 'r', 'an empty set is a no-op');
});

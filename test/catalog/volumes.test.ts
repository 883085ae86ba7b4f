// The volumes table: tenancy and deleted rows, quota usage, what must be attached
// at start, and status moves guarded by the current status.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { GiB, openCatalog, volume } from './fixtures/catalog.js';

t.test('get hides deleted volumes and other tenants’ volumes', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  t.equal(catalog.volumes.get('t1', v.id)?.id, v.id);
  t.equal(catalog.volumes.get('t2', v.id), undefined);
  catalog.volumes.move(v.id, ['available'], 'deleted');
  t.equal(catalog.volumes.get('t1', v.id), undefined);
  t.equal(catalog.volumes.byId(v.id)?.status, 'deleted', 'byId still sees it');
  t.same(catalog.volumes.list('t1'), []);
});

t.test('usedGb sums the size_gb of a tenant’s undeleted volumes', async (t) => {
  const { catalog } = openCatalog(t);
  t.equal(catalog.volumes.usedGb('t1'), 0);
  volume(catalog, 't1', 2 * GiB);
  const gone = volume(catalog, 't1', 5 * GiB);
  volume(catalog, 't1', GiB + 1); // 2 GB
  volume(catalog, 't2', 7 * GiB);
  catalog.volumes.move(gone.id, ['available'], 'deleted');
  t.equal(catalog.volumes.usedGb('t1'), 4);
  t.equal(catalog.volumes.usedGb('t2'), 7);
});

t.test('live lists every volume that is neither deleted nor still being created', async (t) => {
  const { catalog } = openCatalog(t);
  const a = volume(catalog, 't1');
  const b = volume(catalog, 't2');
  const deleted = volume(catalog, 't1');
  catalog.volumes.move(deleted.id, ['available'], 'deleted');
  catalog.requestVolume('t1', { uuid: randomUUID(), image_path: '/x', display_name: null, display_description: null, size_gb: 1, quota_gb: 100 });
  const err = volume(catalog, 't1');
  catalog.volumes.move(err.id, ['available'], 'error_restoring');
  t.same(catalog.volumes.live().map((v) => v.id), [a.id, b.id, err.id]);
});

t.test('move changes the status only from one of the given statuses', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  t.equal(catalog.volumes.move(v.id, ['creating', 'error'], 'available'), false);
  t.equal(catalog.volumes.move(v.id, ['creating', 'available'], 'backing-up'), true);
  t.equal(catalog.volumes.byId(v.id)!.status, 'backing-up');
  t.equal(catalog.volumes.move(12345, ['available'], 'error'), false, 'an unknown id');
});

t.test('uuids are unique', async (t) => {
  const { catalog } = openCatalog(t);
  const v = volume(catalog, 't1');
  t.throws(() => catalog.adoptVolume('t1', { uuid: v.uuid, device: '/dev/x', display_name: null, display_description: null, size_bytes: GiB }), /UNIQUE/);
});

// VolumeManager on real files and loop devices: sparse images of the right size,
// loop devices backed by them (as root), allocation maps, removal that detaches
// and deletes managed volumes but never touches adopted ones; backingFileOf.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync, closeSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { VolumeRow } from '../../src/catalog/types.js';
import { VolumeError, VolumeManager, backingFileOf, inspectDevice } from '../../src/volumes/volume-manager.js';
import { loopUnavailable, withLoop } from '../helpers/loop.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1 << 20;
const noLoops = loopUnavailable();

let nextId = 1;
function row(over: Partial<VolumeRow>): VolumeRow {
  return {
    id: nextId++,
    uuid: randomUUID(),
    tenant_id: 't1',
    display_name: null,
    display_description: null,
    size_gb: 1,
    size_bytes: 64 * MiB,
    status: 'creating',
    device: null,
    image_path: null,
    managed: 1,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...over,
  };
}

async function manager(t: Test, loop: 'auto' | 'always' | 'never'): Promise<{ vm: VolumeManager; dir: string }> {
  const dir = join(tempDir(t, 'volbackd-volumes-'), 'volumes');
  const vm = new VolumeManager({ dir, loop });
  await vm.init();
  t.teardown(() => vm.close());
  return { vm, dir };
}

function managed(vm: VolumeManager, sizeBytes = 64 * MiB): VolumeRow {
  const uuid = randomUUID();
  return row({ uuid, image_path: vm.imagePathFor(uuid), size_bytes: sizeBytes });
}

/** The loop devices currently backed by `file`. */
function loopsBackedBy(file: string): string[] {
  const out = execFileSync('losetup', ['-j', file, '-O', 'NAME', '-n']).toString().trim();
  return out ? out.split('\n').map((s) => s.trim()) : [];
}

t.test('imagePathFor names the image under volumes.dir', async (t) => {
  const { vm, dir } = await manager(t, 'never');
  t.equal(vm.imagePathFor('abc'), join(dir, 'volume-abc.img'));
  t.equal(statSync(dir).mode & 0o777, 0o700, 'init made the directory 0700');
});

t.test('create makes a sparse file of the right size (loop = never)', async (t) => {
  const { vm } = await manager(t, 'never');
  t.equal(vm.useLoop, false);
  const v = managed(vm, 64 * MiB + 4096);
  await vm.create(v);
  const st = statSync(v.image_path!);
  t.equal(st.size, 64 * MiB + 4096);
  t.ok(st.blocks * 512 < MiB, `sparse: ${st.blocks * 512} bytes allocated`);
  t.equal(vm.devicePath(v), v.image_path, 'without loops the image is the device');
  await vm.create(v);
  t.equal(statSync(v.image_path!).size, 64 * MiB + 4096, 'create again (a resumed job) is fine');
});

t.test('create keeps data already in the image when resumed', async (t) => {
  const { vm } = await manager(t, 'never');
  const v = managed(vm, 8 * MiB);
  await vm.create(v);
  const fd = openSync(v.image_path!, 'r+');
  writeSync(fd, Buffer.from('hello'), 0, 5, MiB);
  closeSync(fd);
  await vm.create(v);
  t.equal(readFileSync(v.image_path!).subarray(MiB, MiB + 5).toString(), 'hello');
});

t.test('create refuses a volume volbackd does not manage', async (t) => {
  const { vm } = await manager(t, 'never');
  await t.rejects(vm.create(row({ managed: 0, device: '/dev/sdz' })), VolumeError);
  await t.rejects(vm.create(row({ managed: 1, image_path: null })), VolumeError);
});

t.test('with loops: create attaches a loop device backed by the image; remove detaches and deletes', { skip: noLoops ?? false }, async (t) => {
  const { vm } = await manager(t, 'always');
  t.equal(vm.useLoop, true);
  const v = managed(vm, 32 * MiB);
  await vm.create(v);
  const dev = vm.devicePath(v);
  t.match(dev, /^\/dev\/loop\d+$/);
  t.equal(backingFileOf(dev), v.image_path, 'the loop device is backed by the image');
  t.same(loopsBackedBy(v.image_path!), [dev]);
  t.same(await inspectDevice(dev), { size: 32 * MiB, kind: 'block' });
  await vm.attach(v);
  t.same(loopsBackedBy(v.image_path!), [dev], 'attach again does not add a second device');

  await vm.remove(v);
  t.notOk(existsSync(v.image_path!), 'the image is deleted');
  t.equal(backingFileOf(dev) === v.image_path, false, 'the device is no longer backed by it');
  t.equal(vm.devicePath(v), v.image_path, 'the volume has no loop device any more');
});

t.test('allocation returns the data extents of a managed image', async (t) => {
  const { vm } = await manager(t, noLoops ? 'never' : 'always');
  const v = managed(vm, 64 * MiB);
  await vm.create(v);
  t.same(await vm.allocation(v), [], 'a new image has no data');
  const fd = openSync(v.image_path!, 'r+');
  writeSync(fd, Buffer.alloc(2 * MiB, 7), 0, 2 * MiB, 8 * MiB);
  writeSync(fd, Buffer.alloc(MiB, 9), 0, MiB, 40 * MiB);
  closeSync(fd);
  t.same(await vm.allocation(v), [
    [8 * MiB, 10 * MiB],
    [40 * MiB, 41 * MiB],
  ]);
});

t.test('allocation of an adopted loop device goes through its backing file', { skip: noLoops ?? false }, async (t) => {
  const dir = tempDir(t);
  const backing = join(dir, 'adopted.img');
  writeFileSync(backing, '');
  truncateSync(backing, 16 * MiB);
  const fd = openSync(backing, 'r+');
  writeSync(fd, Buffer.alloc(MiB, 1), 0, MiB, 4 * MiB);
  closeSync(fd);
  const loop = await withLoop(t, backing);
  const { vm } = await manager(t, 'never');
  const v = row({ managed: 0, device: loop.device, size_bytes: 16 * MiB, status: 'available' });
  t.same(await vm.allocation(v), [[4 * MiB, 5 * MiB]]);
  t.equal(vm.devicePath(v), loop.device);
});

t.test('allocation is null when the device has no backing file', async (t) => {
  const { vm } = await manager(t, 'never');
  t.equal(await vm.allocation(row({ managed: 0, device: '/dev/null' })), null);
  t.equal(await vm.allocation(row({ managed: 0, device: '/nonexistent/disk' })), null);
});

t.test('remove never deletes an adopted volume', async (t) => {
  const { vm } = await manager(t, 'never');
  const dir = tempDir(t);
  const file = join(dir, 'operator.img');
  writeFileSync(file, Buffer.alloc(MiB, 3));
  await vm.remove(row({ managed: 0, device: file, status: 'deleting' }));
  t.ok(existsSync(file), 'the operator’s file is still there');
  await vm.remove(row({ managed: 0, device: file, image_path: file, status: 'deleting' }));
  t.ok(existsSync(file), 'even when the row names it as image_path');
  t.equal(readFileSync(file).length, MiB);
});

t.test('remove of a managed volume without loops deletes its image, and is idempotent', async (t) => {
  const { vm } = await manager(t, 'never');
  const v = managed(vm, MiB);
  await vm.create(v);
  await vm.remove(v);
  t.notOk(existsSync(v.image_path!));
  await t.resolves(vm.remove(v), 'removing again is fine');
});

t.test('attachAll attaches the images that exist and skips missing ones', { skip: noLoops ?? false }, async (t) => {
  const warnings: object[] = [];
  const dir = join(tempDir(t, 'volbackd-volumes-'), 'volumes');
  const vm = new VolumeManager({ dir, loop: 'always', log: { info: () => undefined, warn: (o) => warnings.push(o) } });
  await vm.init();
  t.teardown(() => vm.close());
  const present = managed(vm, 4 * MiB);
  writeFileSync(present.image_path!, '');
  truncateSync(present.image_path!, 4 * MiB);
  const missing = managed(vm, 4 * MiB);
  const adopted = row({ managed: 0, device: '/dev/null' });
  await vm.attachAll([present, missing, adopted]);
  t.match(vm.devicePath(present), /^\/dev\/loop\d+$/);
  t.equal(vm.devicePath(missing), missing.image_path);
  t.equal(warnings.length, 1, 'the missing image is reported');
  await vm.close();
  t.same(loopsBackedBy(present.image_path!), [], 'close detaches everything');
});

t.test("loop = 'always' without loop devices is refused", { skip: noLoops === null ? 'loop devices are usable here' : false }, async (t) => {
  t.throws(() => new VolumeManager({ dir: '/tmp/x', loop: 'always' }), VolumeError);
});

t.test('backingFileOf: a regular file is its own backing file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'f.img');
  writeFileSync(file, 'x');
  t.equal(backingFileOf(file), file);
});

t.test('backingFileOf: /dev/null and missing paths have none', async (t) => {
  t.equal(backingFileOf('/dev/null'), null);
  t.equal(backingFileOf('/nonexistent/x'), null);
  t.equal(backingFileOf('/tmp'), null, 'a directory');
});

t.test('backingFileOf: a loop device names its backing file', { skip: noLoops ?? false }, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'l.img');
  writeFileSync(file, '');
  truncateSync(file, 8 * MiB);
  const loop = await withLoop(t, file);
  t.equal(backingFileOf(loop.device), file);
});

t.test('backingFileOf: a loop device with an offset has none (its blocks are not the file’s)', { skip: noLoops ?? false }, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'o.img');
  writeFileSync(file, '');
  truncateSync(file, 8 * MiB);
  const dev = execFileSync('losetup', ['--find', '--show', '--offset', '4096', file]).toString().trim();
  t.teardown(() => execFileSync('losetup', ['-d', dev]));
  t.equal(backingFileOf(dev), null);
});

t.test('allocation of a loop device whose backing file was deleted and replaced is not read from the new file', { skip: noLoops ?? false }, async (t) => {
  // The kernel keeps the deleted file open and shows "<path> (deleted)"; a new file
  // at that path is not what the device reads. Its (empty) allocation map would
  // mark every chunk a hole, and the backup would record data as zeros.
  const dir = tempDir(t);
  const path = join(dir, 'rotated.img');
  writeFileSync(path, Buffer.alloc(4 * MiB, 0x5a)); // data everywhere
  const loop = await withLoop(t, path);
  execFileSync('rm', [path]);
  writeFileSync(path, '');
  truncateSync(path, 4 * MiB); // a new, empty sparse file with the old name
  const { vm } = await manager(t, 'never');
  const v = row({ managed: 0, device: loop.device, size_bytes: 4 * MiB, status: 'available' });
  const ranges = await vm.allocation(v);
  t.ok(ranges === null || ranges.length > 0, `the device's data is not declared a hole (got ${JSON.stringify(ranges)})`);
  t.not(backingFileOf(loop.device), path, 'backingFileOf does not name the new file');
});

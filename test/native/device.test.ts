import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { attachLoop, dataRanges, detachLoop, openDevice } from '../../src/native/index.js';
import { tempDir } from '../helpers/tmp.js';
import { loopUnavailable, withLoop } from '../helpers/loop.js';
import { tsLoaderArgs } from '../helpers/spawn-ts.js';

const MiB = 1 << 20;

t.test('a file system without O_DIRECT (procfs) is refused clearly, not silently buffered', async (t) => {
  await t.rejects(openDevice('/proc/self/status'), {
    code: 'EINVAL',
    syscall: 'open',
    path: '/proc/self/status',
    message: /EINVAL: invalid argument, open '\/proc\/self\/status' \(the file system does not support O_DIRECT\)/,
  });
  const dev = await openDevice('/proc/self/status', { allowBuffered: true });
  t.equal(dev.info.direct, false, 'buffered only when the caller asks for it');
  await dev.close();
});

t.test('errors name the code, syscall and path like Node fs errors', async (t) => {
  await t.rejects(openDevice('/nonexistent/volume.img'), { code: 'ENOENT', errno: -2, syscall: 'stat', path: '/nonexistent/volume.img' });
  await t.rejects(openDevice('/dev/null'), { code: 'EINVAL', message: /not a block device or a regular file/ });
  const err = (await openDevice('/nonexistent/x').catch((e: Error) => e)) as Error;
  t.match(err.stack, /device\.test\.ts/, "the stack shows the caller's line");
});

t.test('a closed device refuses work; close waits for nothing in flight', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.img'), Buffer.alloc(MiB, 1));
  const dev = await openDevice(join(dir, 'a.img'));
  await dev.close();
  await t.rejects(dev.readChunk(0, 4096), /closed/);
  await dev.close(); // twice is fine
});

t.test('dataRanges lists the allocated extents of a sparse file', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 's.img');
  writeFileSync(path, '');
  truncateSync(path, 64 * MiB);
  execFileSync('dd', [`of=${path}`, 'bs=1M', 'seek=8', 'count=2', 'conv=notrunc', 'if=/dev/urandom'], { stdio: 'ignore' });
  execFileSync('dd', [`of=${path}`, 'bs=1M', 'seek=40', 'count=1', 'conv=notrunc', 'if=/dev/urandom'], { stdio: 'ignore' });
  t.same(await dataRanges(path, 0, 64 * MiB), [
    [8 * MiB, 10 * MiB],
    [40 * MiB, 41 * MiB],
  ]);
  t.same(await dataRanges(path, 9 * MiB, 40 * MiB), [[9 * MiB, 10 * MiB]], 'clipped to the asked range');
});

t.test('loop devices', { skip: loopUnavailable() ?? false }, async (t) => {
  t.test('attach with direct I/O reports the size; detach frees the device', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'l.img');
    writeFileSync(path, '');
    truncateSync(path, 16 * MiB);
    const loop = await attachLoop(path, { directIo: true });
    let detached = false;
    t.teardown(() => (detached ? undefined : detachLoop(loop)));
    t.match(loop.device, /^\/dev\/loop\d+$/);
    t.equal(loop.directIo, true);
    t.equal(readFileSync(`/sys/block/loop${loop.number}/loop/backing_file`, 'utf8').trim(), path);
    const dev = await openDevice(loop.device);
    t.equal(dev.size, 16 * MiB);
    await dev.close();
    await detachLoop(loop);
    detached = true;
    t.notOk(existsSync(`/sys/block/loop${loop.number}/loop/backing_file`), 'detached');
  });

  t.test('concurrent attaches each get their own device (EBUSY is retried)', async (t) => {
    const dir = tempDir(t);
    const paths = Array.from({ length: 6 }, (_, i) => join(dir, `c${i}.img`));
    for (const p of paths) {
      writeFileSync(p, '');
      truncateSync(p, MiB);
    }
    const loops = await Promise.all(paths.map((p) => withLoop(t, p)));
    t.equal(new Set(loops.map((l) => l.device)).size, loops.length, 'no device handed out twice');
  });

  t.test('autoclear: a process killed with SIGKILL leaves no loop device behind', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'k.img');
    writeFileSync(path, '');
    truncateSync(path, MiB);
    const native = new URL('../../src/native/index.ts', import.meta.url).pathname;
    const script = `
      const { attachLoop } = await import(${JSON.stringify(native)});
      const l = await attachLoop(${JSON.stringify(path)}, { autoclear: true });
      console.log(l.number);
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, [...tsLoaderArgs(), '--input-type=module', '-e', script], { encoding: 'utf8' });
    t.equal(r.signal, 'SIGKILL');
    const n = Number(r.stdout.trim());
    t.ok(Number.isInteger(n), `the child attached loop${n}`);
    const backing = `/sys/block/loop${n}/loop/backing_file`;
    const stillAttached = existsSync(backing) && readFileSync(backing, 'utf8').trim() === path;
    t.notOk(stillAttached, 'the kernel detached it when the process died');
  });
});

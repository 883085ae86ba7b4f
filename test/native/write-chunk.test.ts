import t from 'tap';
import { readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { openDevice, outBufferSize, type BlockDevice } from '../../src/native/index.js';
import { tempDir } from '../helpers/tmp.js';
import { loopUnavailable, withLoop } from '../helpers/loop.js';
import { randomData, sha256, textBytes } from '../helpers/data.js';

const MiB = 1 << 20;

/** Backs `src` up chunk by chunk into memory and restores it onto `dst`. */
async function roundTrip(src: BlockDevice, dst: BlockDevice, chunk: number): Promise<void> {
  for (let off = 0; off < src.size; off += chunk) {
    const len = Math.min(chunk, src.size - off);
    const out = Buffer.alloc(outBufferSize(len));
    const r = await src.readChunk(off, len, { compress: true, out });
    if (r.zero) {
      await dst.zeroRange(off, len);
      continue;
    }
    const body = out.subarray(0, r.size);
    // Split the body the way a network response arrives: in several segments.
    const segments = [body.subarray(0, 1000), body.subarray(1000, 70000), body.subarray(70000)];
    await dst.writeChunk(off, len, segments, r.encoding!, r.digest!);
  }
  await dst.sync();
}

function mixedImage(size: number): Buffer {
  const parts = [textBytes(Math.floor(size * 0.4)), Buffer.alloc(Math.floor(size * 0.3)), randomData(size)];
  return Buffer.concat(parts).subarray(0, size);
}

t.test('file to file round trip of an odd size (not a multiple of the chunk or of 512)', async (t) => {
  const dir = tempDir(t);
  const size = 5 * MiB + 123;
  const image = mixedImage(size);
  writeFileSync(join(dir, 'src.img'), image);
  writeFileSync(join(dir, 'dst.img'), randomData(size)); // garbage that must be overwritten
  const src = await openDevice(join(dir, 'src.img'));
  const dst = await openDevice(join(dir, 'dst.img'), { write: true });
  t.teardown(async () => {
    await src.close();
    await dst.close();
  });
  await roundTrip(src, dst, 2 * MiB);
  t.equal(sha256(readFileSync(join(dir, 'dst.img'))), sha256(image));
  t.equal(readFileSync(join(dir, 'dst.img')).length, size, 'the target keeps its size');
});

t.test('round trip through real loop devices, 512 and 4096-byte sectors', { skip: loopUnavailable() ?? false }, async (t) => {
  for (const blockSize of [512, 4096] as const) {
    await t.test(`${blockSize}-byte sectors`, async (t) => {
      const dir = tempDir(t);
      const size = 9 * MiB + 4096 * 3; // not a multiple of the 4 MiB chunk
      const image = mixedImage(size);
      writeFileSync(join(dir, 'src.img'), image);
      writeFileSync(join(dir, 'dst.img'), randomData(size));
      const srcLoop = await withLoop(t, join(dir, 'src.img'), { blockSize, readOnly: true });
      const dstLoop = await withLoop(t, join(dir, 'dst.img'), { blockSize });
      t.equal(srcLoop.directIo, true, 'the loop device does direct I/O');
      const src = await openDevice(srcLoop.device);
      const dst = await openDevice(dstLoop.device, { write: true });
      t.teardown(async () => {
        await src.close();
        await dst.close();
      });
      t.equal(src.info.kind, 'block');
      t.equal(src.size, size);
      t.equal(src.info.alignment, blockSize, 'alignment is the sector size');
      await roundTrip(src, dst, 4 * MiB);
      await dst.close();
      t.equal(sha256(readFileSync(join(dir, 'dst.img'))), sha256(image), 'restored bytes are identical');
    });
  }
});

t.test('an odd-sized file restored onto a 4K-sector loop device: the tail is read-modify-written', { skip: loopUnavailable() ?? false }, async (t) => {
  const dir = tempDir(t);
  const size = 3 * MiB + 1000;
  const image = mixedImage(size);
  writeFileSync(join(dir, 'src.img'), image);
  const before = randomData(4 * MiB);
  writeFileSync(join(dir, 'dst.img'), before);
  const dstLoop = await withLoop(t, join(dir, 'dst.img'), { blockSize: 4096 });
  const src = await openDevice(join(dir, 'src.img'));
  const dst = await openDevice(dstLoop.device, { write: true });
  t.teardown(async () => {
    await src.close();
    await dst.close();
  });
  await roundTrip(src, dst, MiB);
  await dst.close();
  const after = readFileSync(join(dir, 'dst.img'));
  t.ok(after.subarray(0, size).equals(image), 'the backup lands at the start');
  t.ok(after.subarray(size).equals(before.subarray(size)), 'bytes after the tail are untouched');
});

t.test('a corrupted frame or a wrong digest is refused and nothing is written', async (t) => {
  const dir = tempDir(t);
  const image = textBytes(MiB, 9);
  writeFileSync(join(dir, 'src.img'), image);
  const original = randomData(MiB);
  writeFileSync(join(dir, 'dst.img'), original);
  const src = await openDevice(join(dir, 'src.img'));
  const dst = await openDevice(join(dir, 'dst.img'), { write: true });
  t.teardown(async () => {
    await src.close();
    await dst.close();
  });
  const out = Buffer.alloc(outBufferSize(MiB));
  const r = await src.readChunk(0, MiB, { compress: true, out });
  t.equal(r.encoding, 'lz4');
  const frame = Buffer.from(out.subarray(0, r.size));

  const flipped = Buffer.from(frame);
  flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
  await t.rejects(dst.writeChunk(0, MiB, flipped, 'lz4', r.digest!), { code: /ERR_CHUNK_(DIGEST|FRAME)/ }, 'a flipped byte');
  await t.rejects(dst.writeChunk(0, MiB, frame.subarray(0, frame.length - 10), 'lz4', r.digest!), { code: 'ERR_CHUNK_FRAME' }, 'a truncated frame');
  await t.rejects(dst.writeChunk(0, MiB, Buffer.concat([frame, Buffer.from('x')]), 'lz4', r.digest!), { code: 'ERR_CHUNK_FRAME' }, 'trailing bytes');
  await t.rejects(dst.writeChunk(0, MiB, frame, 'lz4', 'ffffffffffffffffffffffffffffffff'), { code: 'ERR_CHUNK_DIGEST', path: join(dir, 'dst.img') }, 'a wrong digest');
  await t.rejects(dst.writeChunk(0, MiB, image.subarray(1), 'raw', r.digest!), { code: 'ERR_CHUNK_LENGTH' }, 'a short raw chunk');
  await t.rejects(dst.writeChunk(0, MiB, frame, 'lz4', r.digest!.replace(/^./, 'z')), TypeError, 'a malformed digest');
  await dst.sync();
  t.ok(readFileSync(join(dir, 'dst.img')).equals(original), 'the target is untouched');

  await dst.writeChunk(0, MiB, frame, 'lz4', r.digest!);
  t.ok(readFileSync(join(dir, 'dst.img')).equals(image), 'the good frame is written');
});

t.test('zeroRange zeros a file (punch-hole) and a loop device (BLKZEROOUT)', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'f.img'), randomData(3 * MiB));
  const f = await openDevice(join(dir, 'f.img'), { write: true });
  t.same(await f.zeroRange(MiB, MiB), { method: 'punch-hole' });
  await f.close();
  const data = readFileSync(join(dir, 'f.img'));
  t.ok(data.subarray(MiB, 2 * MiB).every((b) => b === 0), 'the range reads back as zeros');
  t.ok(data.subarray(0, MiB).some((b) => b !== 0) && data.subarray(2 * MiB).some((b) => b !== 0), 'the rest is kept');

  const why = loopUnavailable();
  if (why) {
    t.comment(`loop part skipped: ${why}`);
    return;
  }
  writeFileSync(join(dir, 'l.img'), randomData(3 * MiB));
  const loop = await withLoop(t, join(dir, 'l.img'));
  const l = await openDevice(loop.device, { write: true });
  t.teardown(() => l.close());
  t.same(await l.zeroRange(MiB, MiB), { method: 'blkzeroout' });
  await l.sync();
  await l.close();
  t.ok(readFileSync(join(dir, 'l.img')).subarray(MiB, 2 * MiB).every((b) => b === 0));
});

t.test('the last chunk of a file is written through the buffered tail path', async (t) => {
  const dir = tempDir(t);
  const size = MiB + 77;
  const image = textBytes(size, 5);
  writeFileSync(join(dir, 'src.img'), image);
  writeFileSync(join(dir, 'dst.img'), '');
  truncateSync(join(dir, 'dst.img'), size);
  const src = await openDevice(join(dir, 'src.img'));
  const dst = await openDevice(join(dir, 'dst.img'), { write: true });
  t.teardown(async () => {
    await src.close();
    await dst.close();
  });
  await roundTrip(src, dst, MiB);
  t.ok(readFileSync(join(dir, 'dst.img')).equals(image));
});

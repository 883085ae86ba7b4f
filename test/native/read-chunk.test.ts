import t from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decompressFrameSync } from 'lz4-napi';
import { DigestSet, openDevice, outBufferSize } from '../../src/native/index.js';
import { tempDir } from '../helpers/tmp.js';
import { lz4CliDecode, randomData, textBytes, xxhsum128 } from '../helpers/data.js';

const MiB = 1 << 20;

t.test('digests match xxhsum -H2 and frames decode with lz4 -d and lz4-napi, for an odd-sized file', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'odd.img');
  // 2 MiB text, 1 MiB random, 1 MiB zero, then 123 bytes of text: size is neither a
  // multiple of the chunk size nor of the 512-byte alignment.
  const image = Buffer.concat([textBytes(2 * MiB), randomData(MiB), Buffer.alloc(MiB), textBytes(123, 7)]);
  writeFileSync(path, image);
  const dev = await openDevice(path);
  t.teardown(() => dev.close());
  t.equal(dev.size, image.length);
  t.equal(dev.info.direct, true, 'opened with O_DIRECT');

  const chunk = MiB;
  const out = Buffer.alloc(outBufferSize(chunk));
  const seen: string[] = [];
  for (let off = 0; off < image.length; off += chunk) {
    const len = Math.min(chunk, image.length - off);
    const raw = image.subarray(off, off + len);
    const r = await dev.readChunk(off, len, { compress: true, md5: true, out });
    if (raw.every((b) => b === 0)) {
      t.same(r, { zero: true, digest: null, known: false, encoding: null, size: 0, md5: null }, `chunk at ${off} is zero`);
      continue;
    }
    t.equal(r.digest, xxhsum128(raw), `digest of chunk at ${off} is xxhsum -H2's`);
    const stored = out.subarray(0, r.size);
    t.equal(r.md5, createHash('md5').update(stored).digest('hex'), 'md5 is of the stored bytes');
    if (r.encoding === 'lz4') {
      t.ok(r.size < len, 'an lz4 chunk is smaller than the raw bytes');
      t.ok(lz4CliDecode(stored).equals(raw), 'lz4 -d decodes the frame');
      t.ok(decompressFrameSync(stored).equals(raw), 'lz4-napi decodes the frame');
    } else {
      t.equal(r.encoding, 'raw');
      t.equal(r.size, len, 'a raw chunk is stored as is');
      t.ok(stored.equals(raw));
    }
    seen.push(r.encoding!);
  }
  t.ok(seen.includes('lz4') && seen.includes('raw'), 'text compresses, random data is stored raw');
});

t.test('zero detection: a single non-zero byte at the end makes a data chunk', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'z.img');
  const buf = Buffer.alloc(2 * MiB);
  buf[2 * MiB - 1] = 1;
  writeFileSync(path, buf);
  const dev = await openDevice(path);
  t.teardown(() => dev.close());
  t.equal((await dev.readChunk(0, MiB)).zero, true);
  const r = await dev.readChunk(MiB, MiB);
  t.equal(r.zero, false);
  t.equal(r.digest, xxhsum128(buf.subarray(MiB)));
  t.equal(r.encoding, null, 'digest only when compression is not asked for');
});

t.test('a known digest is not compressed; claim dedupes within a run', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'k.img');
  const block = textBytes(MiB, 3);
  writeFileSync(path, Buffer.concat([block, block, textBytes(MiB, 4)]));
  const dev = await openDevice(path);
  t.teardown(() => dev.close());
  const out = Buffer.alloc(outBufferSize(MiB));
  const known = new DigestSet();
  const first = await dev.readChunk(0, MiB, { compress: true, known, claim: true, out });
  t.equal(first.known, false);
  t.equal(first.encoding, 'lz4');
  t.ok(known.has(first.digest!), 'claim added the new digest');
  const again = await dev.readChunk(MiB, MiB, { compress: true, known, claim: true, out });
  t.same([again.known, again.encoding, again.size], [true, null, 0], 'the repeat costs a digest only');
  const other = await dev.readChunk(2 * MiB, MiB, { compress: true, known, out });
  t.equal(other.known, false);
  t.equal(known.size, 1, 'without claim the set is not changed');
});

t.test('arguments are validated before any I/O', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'v.img');
  writeFileSync(path, Buffer.alloc(MiB));
  const dev = await openDevice(path);
  t.teardown(() => dev.close());
  await t.rejects(dev.readChunk(100, 512), /not a multiple/);
  await t.rejects(dev.readChunk(0, 2 * MiB), /passes the end/);
  await t.rejects(dev.readChunk(0, MiB, { compress: true, out: Buffer.alloc(10) }), /at least/);
  await t.rejects(dev.readChunk(-1, 1), /non-negative/);
  // A closed device refuses any read ("closed"): bad arguments are refused before that.
  await dev.close();
  await t.rejects(dev.readChunk(0, MiB, { compress: true, out: Buffer.alloc(10) }), /at least/, 'out is checked before the read');
  await t.rejects(dev.readChunk(0, MiB, { known: {} as DigestSet }), /DigestSet/, 'known is checked before the read');
  await t.rejects(dev.readChunk(0, MiB), /closed/, 'good arguments reach the device');
});

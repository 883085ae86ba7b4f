// The manifest format: the builder, serialize/parse, the self-checksum as the
// xxhsum CLI computes it, and every way parse refuses a document.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import {
  COMPRESSION,
  FORMAT,
  HASH,
  ManifestBuilder,
  ManifestError,
  VERSION,
  chunkCount,
  chunkRange,
  parse,
  serialize,
  type Manifest,
  type ManifestBackup,
} from '../../src/engine/manifest.js';

const MiB = 1 << 20;
const D = (n: number): string => n.toString(16).padStart(32, '0');

const backupMeta = (over: Partial<ManifestBackup> = {}): ManifestBackup => ({
  uuid: '0be8aa73-6e2a-459c-91f2-d63764111f0e',
  id: '1',
  tenant_id: 'demo',
  container: 'volumebackups',
  display_name: 'b1',
  display_description: null,
  created_at: '2026-11-27T07:49:50Z',
  completed_at: '2026-11-27T07:49:52Z',
  ...over,
});

const volumeMeta = { uuid: 'e77d21a2-4466-4b66-8be5-86ed28b5328d', id: '1', display_name: null, size_gb: 1 };

/** A manifest of `size` bytes in `chunkSize` chunks: even entries are digests, odd ones zero. */
function build(size = 10 * MiB + 4096, chunkSize = 4 * MiB, over: Partial<ManifestBackup> = {}, volumeName: string | null = null): Manifest {
  const b = new ManifestBuilder(size, chunkSize);
  for (let i = 0; i < b.count; i++) b.set(i, i % 2 === 0 ? D(i + 1) : null);
  return b.finish({ backup: backupMeta(over), volume: { ...volumeMeta, display_name: volumeName }, stored: { objects: 3, bytes: 12345 } });
}

/** XXH64 (seed 0) as the xxhsum CLI prints it. */
function xxhsum64(data: Buffer | string): string {
  return execFileSync('xxhsum', ['-H1', '-'], { input: data }).toString().split(/\s+/)[0]!;
}

/** A document with the checksum the format defines, computed by the CLI (independently of serialize). */
function seal(doc: unknown): Buffer {
  const body = JSON.stringify(doc);
  return Buffer.from(`${body.slice(0, -1)},"checksum":"xxh64:${xxhsum64(body)}"}`);
}

/** The document's JSON without its checksum, as an object to tamper with. */
function bodyOf(bytes: Buffer): Record<string, any> {
  const text = bytes.toString('utf8');
  return JSON.parse(text.slice(0, -37) + '}');
}

t.test('chunkCount is ceil(size / chunkSize)', async (t) => {
  t.equal(chunkCount(4 * MiB, 4 * MiB), 1);
  t.equal(chunkCount(4 * MiB + 1, 4 * MiB), 2);
  t.equal(chunkCount(1, 4 * MiB), 1);
  t.equal(chunkCount(12 * MiB, 4 * MiB), 3);
});

t.test('the builder takes entries by index in any order', async (t) => {
  const b = new ManifestBuilder(5 * 4096 + 100, 4096);
  t.equal(b.count, 6);
  for (const i of [5, 0, 3, 1, 4, 2]) b.set(i, i === 3 ? null : D(i));
  const m = b.finish({ backup: backupMeta(), volume: volumeMeta, stored: { objects: 6, bytes: 1 } });
  t.same(m.chunks, [D(0), D(1), D(2), null, D(4), D(5)]);
  t.equal(m.chunk_count, 6);
  t.equal(m.volume.size_bytes, 5 * 4096 + 100);
  t.equal(m.chunk_size, 4096);
  t.equal(m.format, FORMAT);
  t.equal(m.version, VERSION);
  t.equal(m.hash, HASH);
  t.equal(m.compression, COMPRESSION);
});

t.test('finish refuses a missing entry and names it', async (t) => {
  const b = new ManifestBuilder(3 * 4096, 4096);
  b.set(0, D(1));
  b.set(2, null);
  t.throws(() => b.finish({ backup: backupMeta(), volume: volumeMeta, stored: { objects: 1, bytes: 1 } }), { name: 'ManifestError', message: /chunk 1 has no entry/ });
  b.set(1, null);
  t.doesNotThrow(() => b.finish({ backup: backupMeta(), volume: volumeMeta, stored: { objects: 1, bytes: 1 } }));
});

t.test('set refuses an index out of range and an entry that is not a digest', async (t) => {
  const b = new ManifestBuilder(2 * 4096, 4096);
  t.throws(() => b.set(2, D(1)), RangeError);
  t.throws(() => b.set(-1, D(1)), RangeError);
  t.throws(() => b.set(0.5, D(1)), RangeError);
  t.throws(() => b.set(0, 'ABCDEF' + D(1).slice(6)), ManifestError, 'uppercase hex');
  t.throws(() => b.set(0, D(1).slice(1)), ManifestError, '31 digits');
  t.throws(() => b.set(0, ''), ManifestError);
});

t.test('serialize then parse round-trips', async (t) => {
  const m = build();
  const bytes = await serialize(m);
  const back = await parse(bytes);
  t.same(back, m);
  t.notOk('checksum' in back, 'the parsed manifest has no checksum member');
  t.same(await parse([bytes.subarray(0, 10), bytes.subarray(10, 500), bytes.subarray(500)]), m, 'parse takes segments');
  t.same(await serialize(back), bytes, 'serializing the parsed manifest gives the same bytes');
});

t.test('the document is one line, checksum last, member order as documented', async (t) => {
  const text = (await serialize(build())).toString('utf8');
  t.notMatch(text, /\n/);
  t.match(text, /^\{"format":"volbackd-manifest","version":1,"backup":\{"uuid":/);
  t.match(text, /,"chunk_size":4194304,"hash":"xxh3-128","compression":"lz4-frame","chunk_count":3,"chunks":\[/);
  t.match(text, /,"stored":\{"objects":3,"bytes":12345\},"checksum":"xxh64:[0-9a-f]{16}"\}$/);
  t.equal(text.length - text.lastIndexOf(',"checksum"'), 37, 'the trailer is 37 bytes');
});

t.test('the checksum is xxhsum -H1 of the document without its 37-byte trailer, plus "}"', async (t) => {
  for (const size of [1, 4096, 10 * MiB + 4096, 64 * MiB]) {
    const bytes = await serialize(build(size));
    const sum = /"checksum":"xxh64:([0-9a-f]{16})"\}$/.exec(bytes.toString())![1];
    const cut = Buffer.concat([bytes.subarray(0, bytes.length - 37), Buffer.from('}')]);
    t.equal(sum, xxhsum64(cut), `size ${size}`);
  }
});

t.test('unicode display names round-trip and the checksum is over their UTF-8 bytes', async (t) => {
  const name = 'sauvegarde de l’été ✓ 備份 🚀 "quoted" \\ back\u0000slash';
  const m = build(9 * MiB, 4 * MiB, { display_name: name, display_description: 'Ünïcödé — ok' }, 'тома 😀');
  const bytes = await serialize(m);
  const back = await parse(bytes);
  t.equal(back.backup.display_name, name);
  t.equal(back.backup.display_description, 'Ünïcödé — ok');
  t.equal(back.volume.display_name, 'тома 😀');
  t.ok(bytes.length > bytes.toString('utf8').length, 'the document holds multi-byte characters');
  const sum = /"checksum":"xxh64:([0-9a-f]{16})"\}$/.exec(bytes.toString())![1];
  t.equal(sum, xxhsum64(Buffer.concat([bytes.subarray(0, bytes.length - 37), Buffer.from('}')])));
});

t.test('parse accepts a document sealed by the CLI (the format, not the implementation)', async (t) => {
  const doc = bodyOf(await serialize(build()));
  const back = await parse(seal(doc));
  t.same(back.chunks, doc.chunks);
});

t.test('parse rejects a wrong format name', async (t) => {
  const doc = bodyOf(await serialize(build()));
  doc.format = 'volbackd-manifesto';
  await t.rejects(parse(seal(doc)), { name: 'ManifestError', message: /format "volbackd-manifesto" is not volbackd-manifest/ });
});

t.test('parse rejects a wrong version', async (t) => {
  for (const v of [2, 0, '1', null]) {
    const doc = bodyOf(await serialize(build()));
    doc.version = v;
    await t.rejects(parse(seal(doc)), { name: 'ManifestError', message: /version .* is not supported/ }, `version ${JSON.stringify(v)}`);
  }
});

t.test('parse rejects another hash or compression', async (t) => {
  const doc = bodyOf(await serialize(build()));
  doc.hash = 'sha256';
  await t.rejects(parse(seal(doc)), ManifestError);
  const doc2 = bodyOf(await serialize(build()));
  doc2.compression = 'zstd';
  await t.rejects(parse(seal(doc2)), ManifestError);
});

t.test('parse rejects a flipped byte anywhere (checksum)', async (t) => {
  const bytes = await serialize(build(9 * MiB, 4 * MiB, {}, 'vol ✓'));
  let refused = 0;
  for (let i = 0; i < bytes.length; i++) {
    const bad = Buffer.from(bytes);
    bad[i] = bad[i]! ^ 0x01;
    try {
      await parse(bad);
    } catch (err) {
      if (err instanceof ManifestError) refused++;
      else t.fail(`byte ${i}: not a ManifestError: ${String(err)}`);
      continue;
    }
    t.fail(`a flip of byte ${i} (${JSON.stringify(String.fromCharCode(bytes[i]!))}) was accepted`);
  }
  t.equal(refused, bytes.length, 'every single-bit flip is refused');
  const bad = Buffer.from(bytes);
  bad[30] = bad[30]! ^ 0x02;
  await t.rejects(parse(bad), { message: /checksum mismatch/ }, 'a flip in the body is a checksum mismatch');
});

t.test('parse rejects a truncated document', async (t) => {
  const bytes = await serialize(build());
  for (const n of [0, 1, 100, bytes.length - 37, bytes.length - 2, bytes.length - 1]) {
    await t.rejects(parse(bytes.subarray(0, n)), ManifestError, `first ${n} bytes`);
  }
  await t.rejects(parse(Buffer.concat([bytes, Buffer.from('\n')])), ManifestError, 'a trailing newline is not the format');
  await t.rejects(parse(Buffer.from('{"checksum":"xxh64:0000000000000000"}')), ManifestError, 'a bare trailer');
});

t.test('parse rejects an entry count other than ceil(size / chunk_size)', async (t) => {
  const base = bodyOf(await serialize(build(10 * MiB + 4096, 4 * MiB)));
  t.equal(base.chunks.length, 3);

  const fewer = structuredClone(base);
  fewer.chunks.pop();
  fewer.chunk_count = 2;
  await t.rejects(parse(seal(fewer)), { name: 'ManifestError', message: /has 2 chunk entries .* expected ceil\(10489856 \/ 4194304\) = 3/ }, 'one entry short');

  const more = structuredClone(base);
  more.chunks.push(null);
  more.chunk_count = 4;
  await t.rejects(parse(seal(more)), ManifestError, 'one entry too many');

  const countOnly = structuredClone(base);
  countOnly.chunk_count = 4;
  await t.rejects(parse(seal(countOnly)), ManifestError, 'chunk_count disagrees with the list');

  const size = structuredClone(base);
  size.volume.size_bytes = 12 * MiB + 1;
  await t.rejects(parse(seal(size)), ManifestError, 'size_bytes needs a fourth chunk');

  const notList = structuredClone(base);
  notList.chunks = { 0: null };
  await t.rejects(parse(seal(notList)), ManifestError, 'chunks is not a list');

  const noSize = structuredClone(base);
  delete noSize.volume.size_bytes;
  await t.rejects(parse(seal(noSize)), ManifestError, 'no size_bytes');

  const zeroSize = structuredClone(base);
  zeroSize.volume.size_bytes = 0;
  zeroSize.chunks = [];
  zeroSize.chunk_count = 0;
  await t.rejects(parse(seal(zeroSize)), ManifestError, 'size 0');
});

t.test('parse rejects a chunk entry that is neither a 32-hex digest nor null', async (t) => {
  const base = bodyOf(await serialize(build(10 * MiB + 4096, 4 * MiB)));
  for (const bad of ['ABCDEF' + D(1).slice(6), D(1).slice(1), D(1) + '0', 'g'.repeat(32), 0, false, {}, [], '']) {
    const doc = structuredClone(base);
    doc.chunks[1] = bad;
    await t.rejects(parse(seal(doc)), { name: 'ManifestError', message: /chunk 1 is neither a digest nor null/ }, `entry ${JSON.stringify(bad)}`);
  }
});

t.test('parse rejects a chunk_size that is not a positive multiple of 4096', async (t) => {
  const base = bodyOf(await serialize(build(8192, 4096)));
  for (const cs of [4095, 4097, 6144, 0, -4096, 4096.5, '4096', null]) {
    const doc = structuredClone(base);
    doc.chunk_size = cs;
    await t.rejects(parse(seal(doc)), { name: 'ManifestError', message: /chunk_size is not a positive multiple of 4096/ }, `chunk_size ${JSON.stringify(cs)}`);
  }
  const ok = structuredClone(base);
  ok.chunk_size = 8192;
  ok.chunks = [ok.chunks[0]];
  ok.chunk_count = 1;
  t.equal((await parse(seal(ok))).chunk_size, 8192, '8192 is fine');
});

t.test('parse rejects a document without backup.uuid or volume.uuid', async (t) => {
  const base = bodyOf(await serialize(build()));
  const a = structuredClone(base);
  delete a.backup.uuid;
  await t.rejects(parse(seal(a)), ManifestError);
  const b = structuredClone(base);
  b.volume.uuid = 7;
  await t.rejects(parse(seal(b)), ManifestError);
});

t.test('parse rejects sealed bytes that are not JSON', async (t) => {
  const body = '{"format":"volbackd-manifest",}';
  const bytes = Buffer.from(`${body.slice(0, -1)},"checksum":"xxh64:${xxhsum64(body)}"}`);
  await t.rejects(parse(bytes), { name: 'ManifestError', message: /not valid JSON/ });
});

t.test('chunkRange covers whole chunks and the short last one', async (t) => {
  const m = build(10 * MiB + 4096, 4 * MiB);
  t.same(chunkRange(m, 0), { offset: 0, length: 4 * MiB });
  t.same(chunkRange(m, 1), { offset: 4 * MiB, length: 4 * MiB });
  t.same(chunkRange(m, 2), { offset: 8 * MiB, length: 2 * MiB + 4096 }, 'the last chunk is short');
  const odd = build(3 * 4096 + 511, 4096);
  t.same(chunkRange(odd, 3), { offset: 3 * 4096, length: 511 }, 'a last chunk of 511 bytes');
  const exact = build(8 * MiB, 4 * MiB);
  t.same(chunkRange(exact, 1), { offset: 4 * MiB, length: 4 * MiB }, 'an exact multiple has no short chunk');
});

// Object names: the on-store layout, refusals of anything that is not a lowercase
// uuid or digest, and the inverse functions the collectors use.
import t from 'tap';
import {
  backupOfManifestKey,
  chunkKey,
  chunkPrefix,
  digestOfChunkKey,
  manifestKey,
  manifestPrefix,
} from '../../src/engine/keys.js';

const VOL = 'e77d21a2-4466-4b66-8be5-86ed28b5328d';
const BK = '0be8aa73-6e2a-459c-91f2-d63764111f0e';
const DIG = '176e05ea5906981c22d8beb5d39f5254';

t.test('keys follow the documented layout', async (t) => {
  t.equal(chunkPrefix(VOL), `volbackd/${VOL}/chunks/`);
  t.equal(chunkKey(VOL, DIG), `volbackd/${VOL}/chunks/${DIG}`);
  t.equal(manifestPrefix(VOL), `volbackd/${VOL}/backups/`);
  t.equal(manifestKey(VOL, BK), `volbackd/${VOL}/backups/${BK}.json`);
});

t.test('a volume uuid that is not a lowercase uuid is refused', async (t) => {
  for (const bad of [VOL.toUpperCase(), VOL.slice(1), `${VOL}x`, '../x', '', 'e77d21a24466-4b66-8be5-86ed28b5328d', `${VOL}/..`, VOL.replace(/-/g, '')]) {
    t.throws(() => chunkPrefix(bad), { message: /volume uuid .* is not a lowercase UUID/ }, `chunkPrefix(${JSON.stringify(bad)})`);
    t.throws(() => chunkKey(bad, DIG), Error, `chunkKey(${JSON.stringify(bad)})`);
    t.throws(() => manifestPrefix(bad), Error, `manifestPrefix(${JSON.stringify(bad)})`);
    t.throws(() => manifestKey(bad, BK), Error, `manifestKey(${JSON.stringify(bad)})`);
  }
});

t.test('a backup uuid that is not a lowercase uuid is refused', async (t) => {
  for (const bad of [BK.toUpperCase(), '1', '', `${BK}.json`, `../${BK}`]) {
    t.throws(() => manifestKey(VOL, bad), { message: /backup uuid .* is not a lowercase UUID/ }, JSON.stringify(bad));
  }
});

t.test('a digest that is not 32 lowercase hex digits is refused', async (t) => {
  for (const bad of [DIG.toUpperCase(), DIG.slice(1), `${DIG}0`, '', 'z'.repeat(32), `../${DIG.slice(3)}`, `${DIG.slice(0, 31)}\n`]) {
    t.throws(() => chunkKey(VOL, bad), { message: /chunk digest .* is not 32 lowercase hex digits/ }, JSON.stringify(bad));
  }
});

t.test('digestOfChunkKey inverts chunkKey and names nothing else', async (t) => {
  t.equal(digestOfChunkKey(VOL, chunkKey(VOL, DIG)), DIG);
  const other = 'b77d21a2-4466-4b66-8be5-86ed28b5328d';
  t.equal(digestOfChunkKey(VOL, chunkKey(other, DIG)), null, "another volume's chunk");
  t.equal(digestOfChunkKey(VOL, manifestKey(VOL, BK)), null, 'a manifest');
  t.equal(digestOfChunkKey(VOL, `${chunkPrefix(VOL)}${DIG}.tmp`), null, 'a suffix');
  t.equal(digestOfChunkKey(VOL, `${chunkPrefix(VOL)}${DIG.toUpperCase()}`), null, 'uppercase');
  t.equal(digestOfChunkKey(VOL, `${chunkPrefix(VOL)}sub/${DIG}`), null, 'a deeper name');
  t.equal(digestOfChunkKey(VOL, chunkPrefix(VOL)), null, 'the prefix itself');
});

t.test('backupOfManifestKey inverts manifestKey and names nothing else', async (t) => {
  t.equal(backupOfManifestKey(VOL, manifestKey(VOL, BK)), BK);
  t.equal(backupOfManifestKey(VOL, `${manifestPrefix(VOL)}${BK}`), null, 'no .json');
  t.equal(backupOfManifestKey(VOL, `${manifestPrefix(VOL)}${BK}.json.tmp`), null, 'a suffix after .json');
  t.equal(backupOfManifestKey(VOL, `${manifestPrefix(VOL)}${BK.toUpperCase()}.json`), null, 'uppercase');
  t.equal(backupOfManifestKey(VOL, `${manifestPrefix(VOL)}notes.json`), null, 'not a uuid');
  t.equal(backupOfManifestKey(VOL, chunkKey(VOL, DIG)), null, 'a chunk');
  t.equal(backupOfManifestKey(VOL, manifestKey('b77d21a2-4466-4b66-8be5-86ed28b5328d', BK)), null, "another volume's manifest");
});

// npm run bench:core -- [--size-mib N] [--json] [--in-flight N] [--reads N] [--dir DIR]
//
// The native core against this machine's ceilings, in one run:
//   1. a deterministic realistic volume (ext4, half full of text, binaries and
//      random data, the rest zero), dropped from the page cache and attached to a
//      loop device with direct I/O;
//   2. ceilings: `dd iflag=direct bs=4M` read of that device; single-thread `lz4 -1`;
//   3. the core: parallel read + zero check + XXH3-128 + LZ4 of every chunk
//      (holes included: this measures the core, not hole skipping), then
//      decode + verify + O_DIRECT write of every chunk into a second loop device.
// Chunks are kept in memory between the two phases: no store is involved.
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { threadPoolSize } from '../src/util/threadpool.js';

const USAGE = 'usage: npm run bench:core -- [--size-mib N] [--json] [--in-flight N] [--reads N] [--chunk-mib N] [--dir DIR]';

async function main(): Promise<void> {
  // Before anything touches the libuv pool: sized as the daemon sizes it.
  process.env.UV_THREADPOOL_SIZE ??= String(threadPoolSize());
  const u = await import('./lib/bench-util.js');
  const { makeVolume } = await import('./lib/make-volume.js');
  const native = await import('../src/native/index.js');
  const { runBounded } = await import('../src/util/bounded.js');
  const { ChunkStages } = await import('../src/engine/chunk-stages.js');

  const f = u.parseFlags(process.argv.slice(2), { 'size-mib': 'value', json: 'flag', 'in-flight': 'value', reads: 'value', 'chunk-mib': 'value', dir: 'value' }, USAGE);
  const sizeMiB = Number(f['size-mib'] ?? 1024);
  const inFlight = Number(f['in-flight'] ?? 12);
  const cores = availableParallelism();
  const readsAtOnce = Number(f.reads ?? cores + 2);
  const chunk = Number(f['chunk-mib'] ?? 4) * u.MiB;
  const dir = mkdtempSync(join(String(f.dir ?? '/var/tmp'), 'volbackd-bench-core-'));
  const say = (s: string): void => {
    if (!f.json) process.stderr.write(s + '\n');
  };
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    say(`making a ${sizeMiB} MiB volume image in ${dir} ...`);
    const img = join(dir, 'volume.img');
    const vol = await makeVolume({ path: img, sizeMiB, seed: 1 });
    const size = vol.sizeBytes;

    const lz4 = await u.lz4Cli(img, size);
    const dropped = u.dropCaches();
    const src = await u.directLoop(img, true);
    cleanups.unshift(() => native.detachLoop(src));
    const ddRead = u.ddDirectRead(src.device, size);

    // Backup half of the core.
    u.dropCaches();
    const dev = await native.openDevice(src.device);
    const count = Math.ceil(size / chunk);
    const stored: Array<{ body: Buffer; encoding: 'lz4' | 'raw'; digest: string } | null> = new Array(count).fill(null);
    let zero = 0;
    let storedBytes = 0;
    let dataBytes = 0;
    // The daemon's own two stages (engine/chunk-stages.ts): reads (cores + 2 at
    // once) and compression (one per core), so the disk and the cores are busy at
    // the same time.
    const stages = new ChunkStages({ chunkSize: chunk, readConcurrency: readsAtOnce, compressConcurrency: cores });
    let t0 = process.hrtime.bigint();
    await runBounded(count, inFlight, async (i) => {
      const offset = i * chunk;
      const length = Math.min(chunk, size - offset);
      const { r, out } = await stages.process(dev, offset, length);
      if (r.zero) {
        zero++;
        stages.give(out);
        return;
      }
      // Keep the stored bytes for the restore half (a store would have sent them).
      stored[i] = { body: out.subarray(0, r.size), encoding: r.encoding!, digest: r.digest! };
      storedBytes += r.size;
      dataBytes += length;
    });
    const backupSeconds = u.seconds(t0);
    await dev.close();

    // Restore half: a fresh sparse target, zero chunks skipped as on a new volume.
    const dstImg = join(dir, 'target.img');
    u.sparseFile(dstImg, size);
    const dst = await u.directLoop(dstImg);
    cleanups.unshift(() => native.detachLoop(dst));
    const out = await native.openDevice(dst.device, { write: true });
    t0 = process.hrtime.bigint();
    await runBounded(count, inFlight, async (i) => {
      const s = stored[i];
      if (!s) return;
      const offset = i * chunk;
      await out.writeChunk(offset, Math.min(chunk, size - offset), s.body, s.encoding, s.digest);
    });
    await out.sync();
    const restoreSeconds = u.seconds(t0);
    await out.close();

    const result = {
      size_mib: sizeMiB,
      chunk_mib: chunk / u.MiB,
      in_flight: inFlight,
      reads: readsAtOnce,
      threadpool: Number(process.env.UV_THREADPOOL_SIZE),
      cores,
      caches_dropped: dropped,
      dd_direct_read_mbps: ddRead,
      lz4_cli_mbps: lz4.mbps,
      core_backup_mbps: u.mbps(size, backupSeconds),
      core_restore_mbps: u.mbps(size, restoreSeconds),
      zero_chunk_fraction: Math.round((zero / count) * 1000) / 1000,
      compression_ratio: Math.round((dataBytes / Math.max(1, storedBytes)) * 100) / 100,
      lz4_cli_ratio: Math.round((size / lz4.compressedBytes) * 100) / 100,
      backup_vs_dd_read: 0,
      backup_vs_lz4_cli: 0,
    };
    result.backup_vs_dd_read = Math.round((result.core_backup_mbps / ddRead) * 100) / 100;
    result.backup_vs_lz4_cli = Math.round((result.core_backup_mbps / lz4.mbps) * 100) / 100;
    if (f.json) process.stdout.write(JSON.stringify(result) + '\n');
    else {
      u.printTable(`volbackd native core, ${sizeMiB} MiB realistic volume, ${result.cores} cores (MB = 10^6 bytes)`, [
        ['dd iflag=direct read', `${ddRead} MB/s`],
        ['lz4 -1 CLI, one thread', `${lz4.mbps} MB/s`],
        ['core backup (read+hash+lz4)', `${result.core_backup_mbps} MB/s  = ${result.backup_vs_dd_read} x dd read (target >= 0.9)`],
        ['core restore (decode+verify+write)', `${result.core_restore_mbps} MB/s`],
        ['zero chunks', `${Math.round(result.zero_chunk_fraction * 100)} %`],
        ['compression ratio (non-zero chunks)', `${result.compression_ratio}`],
        ['page cache dropped', dropped ? 'yes' : 'NO (not root): figures are flattered'],
      ]);
    }
  } finally {
    for (const c of cleanups) await c();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-core: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

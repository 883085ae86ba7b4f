// npm run bench -- --store fs|swift [--size-mib N] [--changed-percent P] [--store-options "K = V; ..."] [--json] [--dir DIR] [--keep]
//
// The operators' benchmark: volbackd through its HTTP API, side by side with this
// machine's own ceilings and with restic, on the same data in the same run.
//   1. a deterministic realistic volume (ext4, half full of text, binaries and random
//      data), attached to a loop device with direct I/O, caches dropped;
//   2. ceilings: dd iflag=direct read and oflag=direct write; for swift, raw
//      parallel PUT and GET of as many uncompressed 4 MiB objects as the volume has
//      chunks, at the best of a few concurrencies;
//   3. a real daemon (and for swift a real Swift, scripts/swift-aio): full backup,
//      incremental backup after P% of the 4 MiB regions changed, restore to a new
//      volume, sha256 of the restored device; the daemon's peak RSS and the p99 of 20
//      concurrent API clients during the full backup;
//   4. restic (when installed), same data, same kind of store: full, incremental, restore.
// Throughput is the volume's logical bytes per second, MB = 10^6 bytes.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { detachLoop } from '../src/native/index.js';
import { ddDirectRead, ddDirectWrite, directLoop, dropCaches, MiB, mbps, parseFlags, printTable, seconds, sparseFile } from './lib/bench-util.js';
import { ADMIN_TOKEN, TENANT, measureLatency, percentile, startBenchDaemon, type BenchDaemon } from './lib/bench-daemon.js';
import { changeRegions, makeVolume } from './lib/make-volume.js';

const USAGE =
  'usage: npm run bench -- --store fs|swift [--size-mib N] [--changed-percent P] [--api-clients N] [--api-think-ms MS] [--no-restic] [--store-options "KEY = VALUE; ..."] [--json] [--dir DIR] [--keep]';
const SWIFT_AIO = new URL('../../scripts/swift-aio', import.meta.url).pathname;

interface SwiftInfo {
  dir: string;
  authUrl: string;
  prefix: string;
  user: string;
  key: string;
}

function log(quiet: boolean, s: string): void {
  if (!quiet) process.stderr.write(`bench: ${s}\n`);
}

function sha256Device(dev: string, bytes: number): string {
  // dd with direct I/O: the hash of what is on the disk, not in a cache.
  const out = execFileSync('sh', ['-c', `dd if=${dev} bs=4M iflag=direct count=${Math.ceil(bytes / (4 * MiB))} status=none | head -c ${bytes} | sha256sum`]);
  return out.toString().split(/\s+/)[0]!;
}

function duBytes(dir: string): number {
  let n = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) n += statSync(p).size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return n;
}

async function swiftToken(s: SwiftInfo): Promise<string> {
  const r = await request(s.authUrl, { headers: { 'x-auth-user': s.user, 'x-auth-key': s.key } });
  await r.body.dump();
  return String(r.headers['x-auth-token']);
}

async function containerBytes(s: SwiftInfo, account: string, container: string): Promise<number> {
  const r = await request(`${s.prefix}${account}/${container}`, { method: 'HEAD', headers: { 'x-auth-token': await swiftToken(s) } });
  await r.body.dump();
  return Number(r.headers['x-container-bytes-used'] ?? 0);
}

/** Raw Swift: PUT then GET `count` uncompressed 4 MiB objects at a concurrency; MB/s of each. */
async function rawSwift(s: SwiftInfo, count: number, concurrency: number, data: Buffer[]): Promise<{ put: number; get: number }> {
  const token = await swiftToken(s);
  const base = `${s.prefix}admin/raw-${concurrency}`;
  const r = await request(base, { method: 'PUT', headers: { 'x-auth-token': token } });
  await r.body.dump();
  const each = async (fn: (i: number) => Promise<void>): Promise<number> => {
    let next = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) await fn(next++);
      }),
    );
    return mbps(count * 4 * MiB, seconds(t0));
  };
  const put = await each(async (i) => {
    const res = await request(`${base}/o${i}`, { method: 'PUT', body: data[i % data.length]!, headers: { 'x-auth-token': token, 'content-length': String(4 * MiB) } });
    await res.body.dump();
    if (res.statusCode !== 201) throw new Error(`raw PUT: ${res.statusCode}`);
  });
  const get = await each(async (i) => {
    const res = await request(`${base}/o${i}`, { headers: { 'x-auth-token': token } });
    for await (const _ of res.body) void _; // receive every byte, keep none
    if (res.statusCode !== 200) throw new Error(`raw GET: ${res.statusCode}`);
  });
  return { put, get };
}

function startSwift(dir: string, quiet: boolean): SwiftInfo {
  log(quiet, `starting a Swift in ${dir} ...`);
  const out = execFileSync(SWIFT_AIO, ['start', dir], { env: { ...process.env, SWIFT_AIO_PORT: process.env.SWIFT_AIO_PORT ?? '18180', SWIFT_AIO_BACKEND_PORT: '18110', SWIFT_AIO_MEMCACHED_PORT: '18119' }, stdio: ['ignore', 'pipe', quiet ? 'ignore' : 'inherit'] }).toString();
  const env = Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { dir, authUrl: env.SWIFT_AUTH_URL!, prefix: env.SWIFT_STORAGE_URL_PREFIX!, user: env.SWIFT_ADMIN_USER!, key: env.SWIFT_ADMIN_KEY! };
}

interface ResticResult {
  full: number;
  incremental: number;
  restore: number;
}

function restic(work: string, img: string, size: number, sw: SwiftInfo | null, change: () => Promise<void>, quiet: boolean): Promise<ResticResult | null> {
  if (spawnSync('restic', ['version']).status !== 0) return Promise.resolve(null);
  const env: NodeJS.ProcessEnv = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: join(work, 'restic-cache') };
  let repo = join(work, 'restic-repo');
  if (sw) {
    repo = 'swift:restic-bench:/';
    Object.assign(env, { ST_AUTH: sw.authUrl, ST_USER: sw.user, ST_KEY: sw.key });
  }
  const run = (args: string[]): number => {
    dropCaches();
    const t0 = process.hrtime.bigint();
    const r = spawnSync('restic', ['-r', repo, '--quiet', ...args], { env, stdio: ['ignore', 'ignore', quiet ? 'ignore' : 'inherit'] });
    if (r.status !== 0) throw new Error(`restic ${args[0]} failed (${r.status})`);
    return seconds(t0);
  };
  return (async () => {
    log(quiet, 'restic: init (repository version 2: compressed), full backup ...');
    spawnSync('restic', ['-r', repo, 'init', '--repository-version', '2'], { env, stdio: 'ignore' });
    const full = mbps(size, run(['backup', img]));
    await change();
    log(quiet, 'restic: incremental backup ...');
    const incremental = mbps(size, run(['backup', img]));
    log(quiet, 'restic: restore ...');
    const target = join(work, 'restic-restore');
    const restore = mbps(size, run(['restore', 'latest', '--target', target]));
    rmSync(target, { recursive: true, force: true });
    return { full, incremental, restore };
  })();
}

async function main(): Promise<void> {
  const f = parseFlags(
    process.argv.slice(2),
    { store: 'value', 'size-mib': 'value', 'changed-percent': 'value', 'api-clients': 'value', 'api-think-ms': 'value', 'no-restic': 'flag', 'store-options': 'value', json: 'flag', dir: 'value', keep: 'flag' },
    USAGE,
  );
  const apiClients = Number(f['api-clients'] ?? 20);
  const thinkMs = Number(f['api-think-ms'] ?? 50);
  const store = String(f.store ?? 'fs');
  if (store !== 'fs' && store !== 'swift') throw new Error(`--store must be fs or swift\n${USAGE}`);
  const sizeMiB = Number(f['size-mib'] ?? 2048);
  const changed = Number(f['changed-percent'] ?? 1);
  const quiet = Boolean(f.json);
  const work = mkdtempSync(join(String(f.dir ?? '/var/tmp'), 'volbackd-bench-'));
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  if (!f.keep) cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  let daemon: BenchDaemon | null = null;
  try {
    log(quiet, `making a ${sizeMiB} MiB volume image in ${work} ...`);
    const img = join(work, 'volume.img');
    const { sizeBytes: size } = await makeVolume({ path: img, sizeMiB, seed: 1 });
    dropCaches();
    const src = await directLoop(img);
    cleanups.unshift(() => detachLoop(src));

    log(quiet, 'ceilings: dd direct read and write ...');
    const ddRead = ddDirectRead(src.device, size);
    const scratch = join(work, 'scratch.img');
    sparseFile(scratch, size);
    const scratchLoop = await directLoop(scratch);
    const ddWrite = ddDirectWrite(scratchLoop.device, size);
    await detachLoop(scratchLoop);
    rmSync(scratch);

    let sw: SwiftInfo | null = null;
    let raw = { put: 0, get: 0, concurrency: 0 };
    if (store === 'swift') {
      sw = startSwift(join(work, 'swift'), quiet);
      cleanups.unshift(() => spawnSync(SWIFT_AIO, ['stop', sw!.dir], { stdio: 'ignore' }));
      const count = Math.ceil(size / (4 * MiB));
      const data = Array.from({ length: 16 }, (_, i) => Buffer.alloc(4 * MiB, i + 1));
      for (const c of [4, 8, 16]) {
        log(quiet, `ceilings: raw Swift PUT/GET of ${count} x 4 MiB at concurrency ${c} ...`);
        const r = await rawSwift(sw, count, c, data);
        if (r.put > raw.put) raw = { ...r, concurrency: c };
      }
    }

    const dataDir = join(work, 'daemon');
    mkdirSync(dataDir);
    const storeToml = sw
      ? ['[store]', 'type = "swift"', `storage_url_prefix = "${sw.prefix}"`, `auth_url = "${sw.authUrl}"`, `user = "${sw.user}"`, `key = "${sw.key}"`].join('\n')
      : '[store]';
    // Extra [store] keys, to compare settings on the same data in the same run (e.g. http_workers = 0).
    const storeOptions = String(f['store-options'] ?? '').split(';').map((kv) => kv.trim()).filter(Boolean);
    daemon = await startBenchDaemon(dataDir, [storeToml, ...storeOptions].join('\n'));
    const d = daemon;
    const adopted = await d.call('POST', '/v1.1/admin/volumes', { volume: { tenant_id: TENANT, device: src.device, display_name: 'bench' } }, ADMIN_TOKEN);
    if (adopted.status !== 200) throw new Error(`adopt: ${adopted.status} ${JSON.stringify(adopted.body)}`);
    const volId = adopted.body.volume.id as string;

    const backup = async (container = 'volumebackups'): Promise<{ seconds: number; id: string }> => {
      dropCaches();
      const t0 = process.hrtime.bigint();
      const r = await d.call('POST', `/v1.1/${TENANT}/hp-volume-backups`, { backup: { volume_id: volId, container } });
      if (r.status !== 200) throw new Error(`backup: ${r.status} ${JSON.stringify(r.body)}`);
      const b = await d.waitBackup(r.body.backup.id);
      if (b.status !== 'available') throw new Error(`backup ended ${b.status}: ${b.fail_reason}`);
      return { seconds: seconds(t0), id: b.id };
    };
    const storedBytes = async (): Promise<number> =>
      sw ? containerBytes(sw, TENANT, 'volumebackups') : duBytes(join(dataDir, 'objects', `AUTH_${TENANT}`, 'volumebackups'));

    log(quiet, 'volbackd: full backup ...');
    const rssBefore = d.rssMiB();
    const full = await backup();
    const fullStats = d.lastBackupStats();
    const storedFull = await storedBytes();

    // A second full backup, into another container (nothing to dedupe against),
    // while API clients poll: the API's latency and the daemon's memory under load.
    log(quiet, `volbackd: full backup under API load (${apiClients} clients pausing ${thinkMs} ms between requests) ...`);
    const loadedRun = backup('volumebackups-loaded');
    const latencies = await measureLatency(d, apiClients, thinkMs, loadedRun);
    const loaded = await loadedRun;
    const fullEventLoop = d.lastEventLoop();
    const peakRss = d.peakRssMiB();

    const change = async (seed: number): Promise<void> => {
      await changeRegions(img, { percent: changed, seed });
      execFileSync('sync');
    };
    log(quiet, `volbackd: incremental backup after changing ${changed}% of the regions ...`);
    await change(2);
    const srcSum = sha256Device(src.device, size);
    const incr = await backup();
    const incrStats = d.lastBackupStats();
    const storedIncr = (await storedBytes()) - storedFull;

    log(quiet, 'volbackd: restore to a new volume ...');
    dropCaches();
    let t0 = process.hrtime.bigint();
    const rr = await d.call('POST', `/v1.1/${TENANT}/hp-volume-backups/${incr.id}/restore`, { restore: {} });
    if (rr.status !== 200) throw new Error(`restore: ${rr.status} ${JSON.stringify(rr.body)}`);
    const target = await d.waitVolume(rr.body.restore.volume_id);
    const restoreSeconds = seconds(t0);
    if (target.status !== 'available') throw new Error(`restore ended ${target.status}`);
    const targetDev = (await d.call('GET', `/v1.1/${TENANT}/os-volumes/${target.id}`, undefined, ADMIN_TOKEN)).body.volume.device as string;
    log(quiet, 'verifying the restored bytes (sha256 of both devices) ...');
    const verified = sha256Device(targetDev, size) === srcSum;
    await d.stop();
    daemon = null;

    const rest = f['no-restic'] ? null : await restic(work, img, size, sw, () => change(3), quiet);

    const r = {
      store,
      size_mib: sizeMiB,
      changed_percent: changed,
      dd_direct_read_mbps: ddRead,
      dd_direct_write_mbps: ddWrite,
      swift_put_mbps: raw.put || null,
      swift_get_mbps: raw.get || null,
      swift_raw_concurrency: raw.concurrency || null,
      full_backup_mbps: mbps(size, full.seconds),
      full_backup_under_api_load_mbps: mbps(size, loaded.seconds),
      incremental_backup_mbps: mbps(size, incr.seconds),
      restore_mbps: mbps(size, restoreSeconds),
      stored_bytes_full: storedFull,
      stored_bytes_incremental: storedIncr,
      peak_rss_mib: Math.round(peakRss),
      rss_before_backup_mib: Math.round(rssBefore),
      api_p99_ms: Math.round(percentile(latencies, 99) * 10) / 10,
      api_requests: latencies.length,
      api_clients: apiClients,
      api_think_ms: thinkMs,
      restic_full_mbps: rest?.full ?? null,
      restic_incremental_mbps: rest?.incremental ?? null,
      restic_restore_mbps: rest?.restore ?? null,
      verified,
      full_backup_engine: fullStats,
      incremental_backup_engine: incrStats,
      loaded_backup_event_loop_ms: fullEventLoop,
    };
    if (f.json) process.stdout.write(JSON.stringify(r) + '\n');
    else {
      const x = (a: number | null, b: number | null, what: string): string => (a && b ? `  = ${Math.round((a / b) * 100) / 100} x ${what}` : '');
      printTable(`volbackd benchmark: ${store} store, ${sizeMiB} MiB realistic volume, ${changed}% changed (MB = 10^6 bytes)`, [
        ['dd iflag=direct read', `${ddRead} MB/s`],
        ['dd oflag=direct write', `${ddWrite} MB/s`],
        ...(sw ? ([['raw Swift PUT / GET', `${raw.put} / ${raw.get} MB/s (concurrency ${raw.concurrency})`]] as Array<[string, string]>) : []),
        ['full backup', `${r.full_backup_mbps} MB/s${x(r.full_backup_mbps, sw ? raw.put : ddRead, sw ? 'raw PUT' : 'dd read')}${x(r.full_backup_mbps, r.restic_full_mbps, 'restic')}`],
        ['incremental backup', `${r.incremental_backup_mbps} MB/s${x(r.incremental_backup_mbps, ddRead, 'dd read')}${x(r.incremental_backup_mbps, r.restic_incremental_mbps, 'restic')}`],
        ['restore (new volume)', `${r.restore_mbps} MB/s${x(r.restore_mbps, sw ? raw.get : ddWrite, sw ? 'raw GET' : 'dd write')}${x(r.restore_mbps, r.restic_restore_mbps, 'restic')}`],
        ['stored bytes full / incremental', `${storedFull} / ${storedIncr}`],
        ['peak RSS of the daemon', `${r.peak_rss_mib} MiB`],
        ['full backup under API load', `${r.full_backup_under_api_load_mbps} MB/s`],
        ['API p99 during that backup', `${r.api_p99_ms} ms over ${r.api_requests} requests (${apiClients} clients, ${thinkMs} ms pauses)`],
        ['restic full / incremental / restore', rest ? `${rest.full} / ${rest.incremental} / ${rest.restore} MB/s` : f['no-restic'] ? 'not run (--no-restic)' : 'not installed'],
        ['restored bytes identical', verified ? 'yes' : 'NO'],
      ]);
    }
    if (!verified) process.exitCode = 1;
  } finally {
    await daemon?.stop();
    for (const c of cleanups) await c();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

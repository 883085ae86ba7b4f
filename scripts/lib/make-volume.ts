/**
 * Deterministic "realistic volume image" generator for benchmarks and tests.
 *
 * makeVolume() builds a sparse file holding an ext4 file system that is about
 * `fillFraction` full of a mix of
 *   - text (English-like prose, C-like source code, syslog-like logs),
 *   - "binaries" (executable-like code/symbol tables and database-like pages),
 *   - random (incompressible) data,
 * roughly one third each, in files of a few KiB to tens of MiB spread over a
 * handful of directories. Everything is derived from `seed`: the same seed and
 * size give a byte-identical image (given the same e2fsprogs version).
 *
 * The file system is built without mounting: the files are staged in a
 * temporary directory and `mke2fs -d` copies them into the image. mke2fs only
 * writes the blocks it uses, so the free space stays as holes in the image
 * file. Everything that would make mke2fs output vary between runs is pinned:
 * the UUID and directory hash seed (derived from the seed), the clock
 * (E2FSPROGS_FAKE_TIME), the mke2fs.conf defaults (a private MKE2FS_CONFIG),
 * the directory order (LC_ALL=C for mke2fs' alphasort) and the inode times and
 * owners (`mke2fs -d` copies ctime/atime/uid/gid from the staged files, so
 * they are rewritten afterwards with `debugfs -w ... sif`).
 *
 * Only Node built-ins are used; needs mke2fs and debugfs (e2fsprogs).
 *
 * See docs/benchmark-volume.md.
 */
import { createCipheriv, createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access, chmod, mkdir, mkdtemp, open, rm, stat, utimes, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export interface MakeVolumeOptions {
  /** Image file to create (overwritten if it exists). */
  path: string;
  /** Image size in MiB (the file is exactly sizeMiB * 1 MiB bytes). */
  sizeMiB: number;
  /** Seed for all content and file system identifiers. Default 1. */
  seed?: number;
  /** Fraction of the image size to fill with file data. Default 0.5. */
  fillFraction?: number;
  /**
   * Directory in which a private staging directory is created (and removed
   * afterwards, also on error). Default: the directory of `path`.
   */
  tmpDir?: string;
}

export interface MakeVolumeResult {
  /** Absolute path of the image. */
  path: string;
  /** Size of the image file in bytes (sizeMiB * 1 MiB). */
  sizeBytes: number;
  /** Total bytes of file content stored in the file system. */
  dataBytes: number;
}

export interface ChangeRegionsOptions {
  /** Percentage (0..100) of the regions to change; at least one region is changed. */
  percent: number;
  /** Region size in bytes. Default 4 MiB. */
  regionBytes?: number;
  /** Seed choosing the regions and the new bytes. Use a new seed for every round. */
  seed: number;
}

/** Bytes overwritten at the start of each region chosen by changeRegions(). */
export const CHANGE_BYTES = 64 * 1024;

/** Fixed time (2024-01-01T00:00:00Z) used for the fs clock and all inode times. */
export const FIXED_EPOCH = 1704067200;

const MiB = 1024 * 1024;
const KiB = 1024;

/**
 * Create `path` as a sparse file of exactly sizeMiB MiB containing an ext4 file
 * system whose files total about fillFraction of the size.
 */
export async function makeVolume(opts: MakeVolumeOptions): Promise<MakeVolumeResult> {
  const sizeMiB = opts.sizeMiB;
  const seed = opts.seed ?? 1;
  const fill = opts.fillFraction ?? 0.5;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 16) throw new RangeError(`sizeMiB must be an integer >= 16 (got ${sizeMiB})`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer (got ${seed})`);
  if (!(fill >= 0 && fill <= 0.85)) throw new RangeError(`fillFraction must be within [0, 0.85] (got ${fill})`);

  const imagePath = resolve(opts.path);
  const sizeBytes = sizeMiB * MiB;
  const [mke2fs, debugfs] = await Promise.all([findTool("mke2fs"), findTool("debugfs")]);

  const parent = resolve(opts.tmpDir ?? dirname(imagePath));
  const work = await mkdtemp(join(parent, ".make-volume-"));
  let ok = false;
  let imageCreated = false;
  const t0 = Date.now();
  const debug = process.env.MAKE_VOLUME_DEBUG ? (msg: string) => process.stderr.write(`make-volume: ${((Date.now() - t0) / 1000).toFixed(2)}s ${msg}\n`) : () => {};
  try {
    const stage = join(work, "root");
    await mkdir(stage);
    const plan = planFiles(seed, Math.floor(sizeBytes * fill));
    let dataBytes = 0;
    for (const f of plan) {
      const full = join(stage, f.path);
      await mkdir(dirname(full), { recursive: true });
      await writeFileContent(full, f, seed);
      dataBytes += f.size;
    }
    await fixStagedModes(stage, plan);
    debug(`staged ${plan.length} files, ${dataBytes} bytes`);

    // Fresh sparse image of the exact size.
    imageCreated = true;
    const fh = await open(imagePath, "w", 0o644);
    try {
      await fh.truncate(sizeBytes);
    } finally {
      await fh.close();
    }

    const confPath = join(work, "mke2fs.conf");
    await writeFile(confPath, MKE2FS_CONF);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LC_ALL: "C",
      LANG: "C",
      TZ: "UTC",
      MKE2FS_CONFIG: confPath,
      E2FSPROGS_FAKE_TIME: String(FIXED_EPOCH),
    };
    delete env.MKE2FS_SYNC;
    delete env.MKE2FS_DEVICE_SECTSIZE;
    delete env.MKE2FS_DEVICE_PHYS_SECTSIZE;
    delete env.MKE2FS_FIRST_META_BG;

    const uuid = uuidFrom(seed, "fs-uuid");
    const hashSeed = uuidFrom(seed, "hash-seed");
    await run(mke2fs, [
      "-q", "-F",
      "-t", "ext4",
      "-T", "default",
      "-b", "4096",
      "-I", "256",
      "-i", "16384",
      "-m", "0",
      "-L", "volbench",
      "-U", uuid,
      "-E", `hash_seed=${hashSeed},root_owner=0:0,lazy_itable_init=1,lazy_journal_init=1,nodiscard`,
      "-d", stage,
      imagePath,
    ], env);
    debug("mke2fs done");

    // mke2fs -d copies atime/ctime/uid/gid of the staged files; pin them.
    const cmds: string[] = [];
    const inodes = ["/", "/lost+found", ...stagedPaths(plan).map((p) => "/" + p)];
    for (const p of inodes) {
      for (const field of ["atime", "mtime", "ctime", "crtime"]) cmds.push(`sif "${p}" ${field} @${FIXED_EPOCH}`);
      cmds.push(`sif "${p}" uid 0`, `sif "${p}" gid 0`);
    }
    const cmdPath = join(work, "debugfs.cmd");
    await writeFile(cmdPath, cmds.join("\n") + "\n");
    const out = await run(debugfs, ["-w", "-f", cmdPath, imagePath], env);
    const errs = out.stderr.split("\n").filter((l) => l.trim() !== "" && !/^debugfs \d/.test(l));
    if (errs.length > 0) throw new Error(`debugfs failed: ${errs.slice(0, 5).join("; ")}`);

    debug("debugfs done");
    const st = await stat(imagePath);
    if (st.size !== sizeBytes) throw new Error(`image has size ${st.size}, expected ${sizeBytes}`);
    ok = true;
    return { path: imagePath, sizeBytes, dataBytes };
  } finally {
    await rm(work, { recursive: true, force: true });
    if (!ok && imageCreated) await rm(imagePath, { force: true });
  }
}

/**
 * Overwrite the first CHANGE_BYTES (64 KiB) of `percent`% of the
 * regionBytes-aligned regions of the file at `path` (at least one region) with
 * new seeded random bytes. The regions and bytes depend only on the seed and
 * file size, so the same seed rewrites the same bytes: use a different seed for
 * each incremental round. Does not keep the file system consistent.
 * Returns the changed region indices in ascending order.
 */
export async function changeRegions(path: string, opts: ChangeRegionsOptions): Promise<number[]> {
  const regionBytes = opts.regionBytes ?? 4 * MiB;
  const { percent, seed } = opts;
  if (!Number.isSafeInteger(regionBytes) || regionBytes <= 0) throw new RangeError(`bad regionBytes ${regionBytes}`);
  if (!(percent >= 0)) throw new RangeError(`bad percent ${percent}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer (got ${seed})`);
  const fh = await open(path, "r+");
  try {
    const { size } = await fh.stat();
    const regions = Math.ceil(size / regionBytes);
    if (regions === 0) return [];
    const count = Math.min(regions, Math.max(1, Math.round((regions * Math.min(percent, 100)) / 100)));
    // Partial Fisher-Yates over region indices.
    const rng = rngFrom(seed, "change-regions");
    const idx = new Map<number, number>();
    const pick: number[] = [];
    for (let i = 0; i < count; i++) {
      const j = i + rng.below(regions - i);
      const vi = idx.get(i) ?? i;
      const vj = idx.get(j) ?? j;
      idx.set(j, vi);
      idx.set(i, vj);
      pick.push(vj);
    }
    pick.sort((a, b) => a - b);
    for (const r of pick) {
      const off = r * regionBytes;
      const n = Math.min(CHANGE_BYTES, regionBytes, size - off);
      const bytes = randomStream(seed, `change-region:${r}`).update(Buffer.alloc(n));
      await fh.write(bytes, 0, n, off);
    }
    return pick;
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------
// Seeding and PRNG
// ---------------------------------------------------------------------------

function digest(seed: number, label: string): Buffer {
  return createHash("sha256").update(`volbackd-make-volume\0${seed}\0${label}`).digest();
}

function uuidFrom(seed: number, label: string): string {
  const b = digest(seed, label).subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** AES-128-CTR keystream: fast, deterministic, incompressible. */
function randomStream(seed: number, label: string) {
  const d = digest(seed, label);
  return createCipheriv("aes-128-ctr", d.subarray(0, 16), d.subarray(16, 32));
}

/** xoshiro128** — small, fast 32-bit PRNG using only integer ops (deterministic everywhere). */
class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(words: [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = words;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }
  next(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }
  /** Uniform integer in [0, n), n <= 2^21 (exact, no floating point rounding). */
  below(n: number): number {
    return Math.floor((this.next() * n) / 4294967296);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }
  /** Skewed towards small values (density ~ -ln x): for Zipf-like word choice. */
  skewed(n: number): number {
    const x = this.next();
    const u = x & 0xffff;
    const v = x >>> 16;
    return Math.floor((u * v * n) / 4294967296);
  }
  chance(percent: number): boolean {
    return this.below(100) < percent;
  }
  pick<T>(arr: readonly T[]): T {
    return arr[this.below(arr.length)]!;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function rngFrom(seed: number, label: string): Rng {
  const d = digest(seed, label);
  return new Rng([d.readUInt32LE(0), d.readUInt32LE(4), d.readUInt32LE(8), d.readUInt32LE(12)]);
}

// ---------------------------------------------------------------------------
// File plan
// ---------------------------------------------------------------------------

/** Content kinds: prose/code/log are "text", exe/db are "binaries". */
export type ContentKind = "prose" | "code" | "log" | "exe" | "db" | "random";
type Kind = ContentKind;

interface PlannedFile {
  path: string; // relative, '/'-separated
  size: number;
  kind: Kind;
  index: number; // global index (content seed label)
  mode: number;
}

interface Flavor {
  kind: Kind;
  dir: string;
  name: (n: string) => string;
  mode: number;
}

const FLAVORS: Record<"text" | "binary" | "random", Flavor[]> = {
  text: [
    { kind: "prose", dir: "home/alice/docs", name: (n) => `notes-${n}.txt`, mode: 0o644 },
    { kind: "prose", dir: "home/bob/mail", name: (n) => `msg-${n}.eml`, mode: 0o600 },
    { kind: "code", dir: "home/alice/src/volkit", name: (n) => `module_${n}.c`, mode: 0o644 },
    { kind: "code", dir: "usr/src/linux-lite/drivers", name: (n) => `drv_${n}.c`, mode: 0o644 },
    { kind: "log", dir: "var/log", name: (n) => `syslog.${n}`, mode: 0o640 },
    { kind: "log", dir: "var/log/app", name: (n) => `service-${n}.log`, mode: 0o640 },
  ],
  binary: [
    { kind: "exe", dir: "usr/bin", name: (n) => `tool${n}`, mode: 0o755 },
    { kind: "exe", dir: "usr/lib/x86_64-linux-gnu", name: (n) => `libvk${n}.so.1`, mode: 0o644 },
    { kind: "db", dir: "var/lib/db", name: (n) => `table-${n}.db`, mode: 0o640 },
    { kind: "db", dir: "home/bob/.cache/index", name: (n) => `idx-${n}.sqlite`, mode: 0o600 },
  ],
  random: [
    { kind: "random", dir: "data/blobs", name: (n) => `blob-${n}.bin`, mode: 0o644 },
    { kind: "random", dir: "home/alice/media", name: (n) => `IMG_${n}.jpg`, mode: 0o644 },
    { kind: "random", dir: "var/cache/pkg", name: (n) => `pkg-${n}.tar.gz`, mode: 0o644 },
  ],
};

function planFiles(seed: number, dataTarget: number): PlannedFile[] {
  const rng = rngFrom(seed, "plan");
  const files: PlannedFile[] = [];
  const counters = new Map<string, number>();
  const kindBytes = new Map<Kind, number>();
  const classes = ["text", "binary", "random"] as const;
  let remainingTotal = dataTarget;
  for (let ci = 0; ci < classes.length; ci++) {
    const cls = classes[ci]!;
    let remaining = ci === classes.length - 1 ? remainingTotal : Math.floor(dataTarget / 3);
    remainingTotal -= remaining;
    const maxFile = Math.min(48 * MiB, Math.max(64 * KiB, Math.floor(remaining / 4)));
    let maxDoublings = 0;
    while (4 * KiB * 2 ** (maxDoublings + 1) <= maxFile) maxDoublings++;
    while (remaining > 0) {
      // Log-uniform size between 4 KiB and maxFile, not aligned to blocks.
      let size = 4 * KiB;
      const steps = rng.below(maxDoublings + 1);
      size = size * 2 ** steps;
      size += rng.below(Math.min(size, 1 << 21)) * Math.max(1, Math.floor(size / (1 << 21)));
      size = Math.min(size, maxFile);
      if (size > remaining || remaining - size < 4 * KiB) size = remaining;
      // Balance the kinds within the class (e.g. prose/code/log), random flavor (directory).
      const flavors = FLAVORS[cls];
      let kind = flavors[0]!.kind;
      for (const fl of flavors) if ((kindBytes.get(fl.kind) ?? 0) < (kindBytes.get(kind) ?? 0)) kind = fl.kind;
      const choices = flavors.filter((fl) => fl.kind === kind);
      const flavor = rng.pick(choices);
      kindBytes.set(kind, (kindBytes.get(kind) ?? 0) + size);
      const key = flavor.dir + "/" + flavor.name("");
      const n = (counters.get(key) ?? 0) + 1;
      counters.set(key, n);
      files.push({
        path: `${flavor.dir}/${flavor.name(String(n).padStart(4, "0"))}`,
        size,
        kind: flavor.kind,
        index: files.length,
        mode: flavor.mode,
      });
      remaining -= size;
    }
  }
  return files;
}

/** All staged paths (directories and files), relative. */
function stagedPaths(plan: PlannedFile[]): string[] {
  const set = new Set<string>();
  for (const f of plan) {
    const parts = f.path.split("/");
    for (let i = 1; i <= parts.length; i++) set.add(parts.slice(0, i).join("/"));
  }
  return [...set].sort();
}

async function fixStagedModes(stage: string, plan: PlannedFile[]): Promise<void> {
  const modes = new Map(plan.map((f) => [f.path, f.mode]));
  const paths = stagedPaths(plan);
  // Deepest first so directory mtimes are not disturbed afterwards.
  for (const p of [...paths].reverse()) {
    const full = join(stage, p);
    await chmod(full, modes.get(p) ?? 0o755);
    await utimes(full, FIXED_EPOCH, FIXED_EPOCH);
  }
  await chmod(stage, 0o755);
  await utimes(stage, FIXED_EPOCH, FIXED_EPOCH);
}

// ---------------------------------------------------------------------------
// Content generation
// ---------------------------------------------------------------------------

const CHUNK = 4 * MiB;
const SLACK = 512 * KiB; // max size of one generated unit

/**
 * A generator appends whole units to buf from `pos` until pos >= limit and
 * returns the new pos. `base` is the file offset of buf[0] (for alignment).
 */
type Gen = (buf: Buffer, pos: number, limit: number, base: number) => number;

async function writeFileContent(file: string, f: PlannedFile, seed: number): Promise<void> {
  const fh = await open(file, "w", 0o600);
  try {
    if (f.kind === "random") {
      await writeRandom(fh, f.size, seed, f.index);
    } else {
      const chunks = new ChunkStream(f.kind, seed, f.index);
      for (let off = 0; off < f.size; ) {
        const n = Math.min(CHUNK, f.size - off);
        await fh.write(chunks.next(n), 0, n, off);
        off += n;
      }
    }
  } finally {
    await fh.close();
  }
}

/** Cuts a generator's output into chunks. */
class ChunkStream {
  private readonly gen: Gen;
  private readonly buf = Buffer.alloc(CHUNK + SLACK);
  private carry = 0; // bytes of the next chunk already at the front of buf
  private off = 0; // file offset of buf[0]
  private consumed = 0; // length of the chunk last returned (still at the front of buf)

  constructor(kind: Exclude<ContentKind, "random">, seed: number, index: number) {
    this.gen = makeGen(kind, rngFrom(seed, `file:${index}`));
  }

  /** The next n (<= CHUNK) bytes; valid until the next call. */
  next(n: number): Buffer {
    const { buf } = this;
    if (this.consumed > 0) {
      buf.copyWithin(0, this.consumed, this.consumed + this.carry);
      this.off += this.consumed;
    }
    const pos = this.carry >= n ? this.carry : this.gen(buf, this.carry, n, this.off);
    if (pos > buf.length) throw new Error("make-volume: generator unit larger than SLACK");
    this.consumed = n;
    this.carry = pos - n;
    return buf.subarray(0, n);
  }
}

async function writeRandom(fh: FileHandle, size: number, seed: number, index: number): Promise<void> {
  const cipher = randomStream(seed, `file:${index}`);
  const zeros = Buffer.alloc(CHUNK);
  let written = 0;
  while (written < size) {
    const n = Math.min(CHUNK, size - written);
    const out = cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
    await fh.write(out, 0, n, written);
    written += n;
  }
}

function makeGen(kind: Exclude<ContentKind, "random">, rng: Rng): Gen {
  switch (kind) {
    case "prose":
      return proseGen(rng);
    case "code":
      return codeGen(rng);
    case "log":
      return logGen(rng);
    case "exe":
      return exeGen(rng);
    case "db":
      return dbGen(rng);
  }
}

// --- vocabulary ------------------------------------------------------------

const WORDS = (
  "the of and to a in is it you that he was for on are with as I his they be at one have this from or had by " +
  "word but what some we can out other were all there when up use your how said an each she which do their time " +
  "if will way about many then them write would like so these her long make thing see him two has look more day " +
  "could go come did number sound no most people my over know water than call first who may down side been now " +
  "find any new work part take get place made live where after back little only round man year came show every " +
  "good me give our under name very through just form sentence great think say help low line differ turn cause " +
  "much mean before move right boy old too same tell does set three want air well also play small end put home " +
  "read hand port large spell add even land here must big high such follow act why ask men change went light " +
  "kind off need house picture try us again animal point mother world near build self earth father head stand " +
  "own page should country found answer school grow study still learn plant cover food sun four between state " +
  "keep eye never last let thought city tree cross farm hard start might story saw far sea draw left late run " +
  "while press close night real life few north open seem together next white children begin got walk example " +
  "ease paper group always music those both mark often letter until mile river car feet care second book carry " +
  "took science eat room friend began idea fish mountain stop once base hear horse cut sure watch color face " +
  "wood main enough plain girl usual young ready above ever red list though feel talk bird soon body dog family " +
  "direct pose leave song measure door product black short numeral class wind question happen complete ship area " +
  "half rock order fire south problem piece told knew pass since top whole king space heard best hour better " +
  "true during hundred five remember step early hold west ground interest reach fast verb sing listen six table " +
  "travel less morning ten simple several vowel toward war lay against pattern slow center love person money " +
  "serve appear road map rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry " +
  "dark machine note wait plan figure star box noun field rest correct able pound done beauty drive stood " +
  "contain front teach week final gave green oh quick develop ocean warm free minute strong special mind behind " +
  "clear tail produce fact street inch multiply nothing course stay wheel full force blue object decide surface " +
  "deep moon island foot system busy test record boat common gold possible plane stead dry wonder laugh thousand " +
  "ago ran check game shape equate hot miss brought heat snow tire bring yes distant fill east paint language " +
  "among volume backup storage block snapshot restore container object chunk region digest cluster node replica"
).split(" ");

const NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Oscar",
  "Peggy", "Trent", "Victor", "Walter", "London", "Paris", "Swift", "OpenStack", "Linux", "Monday", "Friday"];

const C_TYPES = ["int", "unsigned int", "size_t", "uint32_t", "uint64_t", "char *", "const char *", "void *", "bool",
  "struct buffer *", "struct volume *", "struct chunk_desc *", "ssize_t", "off_t", "long"];
const C_NAMES = ["buf", "len", "ret", "err", "vol", "chunk", "idx", "count", "offset", "size", "flags", "ctx", "node",
  "entry", "hdr", "pos", "data", "key", "value", "region", "digest", "next", "prev", "head", "tail", "req", "resp",
  "state", "cfg", "opts", "lock", "map", "block", "sector", "page", "tmp", "i", "j", "n", "p", "q", "fd"];
const C_VERBS = ["read", "write", "alloc", "free", "init", "reset", "find", "insert", "remove", "update", "check",
  "parse", "encode", "decode", "flush", "lookup", "hash", "copy", "compare", "validate", "submit", "complete",
  "open", "close", "get", "put", "set", "clear", "scan", "merge"];
const C_CONSTS = ["NULL", "0", "1", "-1", "EINVAL", "ENOMEM", "EIO", "EAGAIN", "BLOCK_SIZE", "CHUNK_SIZE",
  "MAX_RETRIES", "PAGE_SIZE", "true", "false", "0x1000", "16", "64", "4096", "FLAG_DIRTY", "STATE_READY"];

const LOG_HOSTS = ["stor-01", "stor-02", "stor-03", "proxy-a", "proxy-b"];
const LOG_PROCS = ["volbackd", "kernel", "sshd", "cron", "systemd", "swift-proxy", "iscsid", "multipathd", "nginx"];
const LOG_LEVELS = ["INFO", "INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARN", "ERROR", "NOTICE"];
const LOG_TEMPLATES = [
  "backup job {id} for volume {uuid} started (chunks={n}, size={n}MiB)",
  "uploaded chunk {hex} to container {word}-{word} in {n}ms",
  "chunk {hex} already present, skipping upload",
  "restore of backup {id} progress {n}% ({n} of {n} chunks)",
  "Accepted publickey for {name} from 10.{oct}.{oct}.{oct} port {port} ssh2",
  "pam_unix(sshd:session): session opened for user {name} by (uid=0)",
  "connection from 10.{oct}.{oct}.{oct}:{port} closed after {n} requests",
  "GET /v1/AUTH_{hex}/{word}/{hex} HTTP/1.1 {status} {n} \"-\" \"python-swiftclient\"",
  "PUT /v1/AUTH_{hex}/{word}/{hex} HTTP/1.1 {status} {n}",
  "(root) CMD (run-parts /etc/cron.{word})",
  "Started Session {n} of user {name}.",
  "sd {n}:0:0:{n}: [sd{letter}] {n} 512-byte logical blocks",
  "retrying request to {word} after error: {word} {word} (attempt {n})",
  "compaction of {word} finished: {n} records, {n} bytes freed",
  "heartbeat ok latency={n}ms queue={n} inflight={n}",
];
const HTTP_STATUS = ["200", "200", "200", "201", "204", "404", "409", "503"];

// --- helpers -------------------------------------------------------------------

const WORD_BUFS = WORDS.map((w) => Buffer.from(w, "latin1"));

function word(rng: Rng): string {
  return WORDS[rng.skewed(WORDS.length)]!;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function hex(rng: Rng, digits: number): string {
  let s = "";
  while (s.length < digits) s += rng.next().toString(16).padStart(8, "0");
  return s.slice(0, digits);
}

function smallNumber(rng: Rng): number {
  // Mostly small, sometimes large.
  const r = rng.below(10);
  if (r < 5) return rng.below(100);
  if (r < 8) return rng.below(10000);
  return rng.below(1 << 20);
}

/** Copy a small buffer (faster than Buffer#set for a few bytes). */
function put(buf: Buffer, pos: number, src: Buffer): number {
  const n = src.length;
  for (let k = 0; k < n; k++) buf[pos + k] = src[k]!;
  return pos + n;
}

function latin1(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

// Text generators render a per-file pool of phrases / statements / messages once
// and then assemble the file mostly from the pool (plus some fresh material):
// fast, and the pool size sets the amount of repetition and so the
// compressibility, like real text where words and phrases recur.

// --- prose -----------------------------------------------------------------

function proseGen(rng: Rng): Gen {
  const pool: Buffer[] = [];
  for (let i = 0; i < 2048; i++) {
    const n = rng.range(1, 4);
    const ws: string[] = [];
    for (let w = 0; w < n; w++) {
      if (rng.chance(5)) ws.push(rng.pick(NAMES));
      else if (rng.chance(2)) ws.push(String(smallNumber(rng)));
      else ws.push(word(rng));
    }
    let s = ws.join(" ");
    if (rng.chance(8)) s += ",";
    pool.push(latin1(s));
  }
  const SP = 0x20;
  const NL = 0x0a;
  return (buf, pos, limit) => {
    while (pos < limit) {
      // One paragraph, wrapped at 72 columns.
      const sentences = rng.range(2, 8);
      let col = 0;
      for (let s = 0; s < sentences; s++) {
        const pieces = rng.range(2, 7);
        for (let p = 0; p < pieces; p++) {
          const piece = rng.chance(90) ? pool[rng.skewed(pool.length)]! : WORD_BUFS[rng.below(WORD_BUFS.length)]!;
          if (col > 0) {
            if (col + 1 + piece.length > 72) {
              buf[pos++] = NL;
              col = 0;
            } else {
              buf[pos++] = SP;
              col++;
            }
          }
          const start = pos;
          pos = put(buf, pos, piece);
          if (p === 0) {
            const c = buf[start]!;
            if (c >= 0x61 && c <= 0x7a) buf[start] = c - 0x20;
          }
          if (p === pieces - 1) {
            if (buf[pos - 1] === 0x2c) pos--;
            buf[pos++] = rng.chance(85) ? 0x2e : rng.chance(50) ? 0x3f : 0x21;
          }
          col += pos - start;
        }
      }
      buf[pos++] = NL;
      buf[pos++] = NL;
    }
    return pos;
  };
}

// --- source code -------------------------------------------------------------

function ident(rng: Rng): string {
  const r = rng.below(4);
  if (r === 0) return rng.pick(C_NAMES);
  if (r === 1) return `${rng.pick(C_NAMES)}_${rng.pick(C_NAMES)}`;
  if (r === 2) return `${rng.pick(C_VERBS)}_${word(rng)}`;
  return `${word(rng)}_${rng.pick(C_NAMES)}`;
}

function expr(rng: Rng): string {
  const r = rng.below(6);
  if (r === 0) return rng.pick(C_CONSTS);
  if (r === 1) return `${ident(rng)}->${rng.pick(C_NAMES)}`;
  if (r === 2) return `${ident(rng)} + ${rng.pick(C_CONSTS)}`;
  if (r === 3) return `${rng.pick(C_VERBS)}_${word(rng)}(${ident(rng)}, ${rng.pick(C_NAMES)})`;
  if (r === 4) return `sizeof(*${rng.pick(C_NAMES)})`;
  return ident(rng);
}

function statement(rng: Rng, indent: string, depth: number, out: string[]): void {
  const r = rng.below(depth > 2 ? 7 : 10);
  switch (r) {
    case 0:
    case 1:
      out.push(`${indent}${ident(rng)} = ${expr(rng)};`);
      break;
    case 2:
      out.push(`${indent}${rng.pick(C_VERBS)}_${word(rng)}(${ident(rng)}, ${expr(rng)});`);
      break;
    case 3:
      out.push(`${indent}if (${rng.pick(C_NAMES)} < 0)`, `${indent}\treturn -${rng.pick(["EINVAL", "EIO", "ENOMEM"])};`);
      break;
    case 4:
      out.push(`${indent}${rng.pick(C_NAMES)} += ${expr(rng)};`);
      break;
    case 5:
      out.push(`${indent}/* ${word(rng)} ${word(rng)} ${word(rng)} ${word(rng)} */`);
      break;
    case 6:
      out.push(`${indent}pr_debug("${word(rng)} ${word(rng)} %d\\n", ${rng.pick(C_NAMES)});`);
      break;
    case 7: {
      out.push(`${indent}if (${expr(rng)} ${rng.pick(["==", "!=", ">", "<"])} ${rng.pick(C_CONSTS)}) {`);
      const n = rng.range(1, 4);
      for (let i = 0; i < n; i++) statement(rng, indent + "\t", depth + 1, out);
      out.push(`${indent}}`);
      break;
    }
    case 8: {
      const v = rng.pick(["i", "j", "n"]);
      out.push(`${indent}for (${v} = 0; ${v} < ${expr(rng)}; ${v}++) {`);
      const n = rng.range(1, 4);
      for (let i = 0; i < n; i++) statement(rng, indent + "\t", depth + 1, out);
      out.push(`${indent}}`);
      break;
    }
    default: {
      out.push(`${indent}while (${ident(rng)} != NULL) {`);
      const n = rng.range(1, 3);
      for (let i = 0; i < n; i++) statement(rng, indent + "\t", depth + 1, out);
      out.push(`${indent}}`);
    }
  }
}

function codeGen(rng: Rng): Gen {
  const pool: Buffer[] = [];
  for (let i = 0; i < 2048; i++) {
    const lines: string[] = [];
    statement(rng, "\t", 1, lines);
    pool.push(latin1(lines.join("\n") + "\n"));
  }
  let first = true;
  return (buf, pos, limit) => {
    if (first) {
      first = false;
      const hdr = [
        "// SPDX-License-Identifier: GPL-2.0",
        "/*",
        ` * ${word(rng)} ${word(rng)} ${word(rng)} support`,
        " *",
        ` * Copyright (C) 20${rng.range(10, 23)} ${rng.pick(NAMES)} ${rng.pick(NAMES)}`,
        " */",
        "#include <linux/kernel.h>",
        "#include <linux/module.h>",
        "#include <linux/slab.h>",
        `#include "${word(rng)}.h"`,
        "",
        "",
      ];
      pos += buf.write(hdr.join("\n"), pos, "latin1");
    }
    while (pos < limit) {
      let head = "";
      if (rng.chance(30)) {
        head += `/**\n * ${rng.pick(C_VERBS)}_${word(rng)}() - ${word(rng)} the ${word(rng)} ${word(rng)}\n`;
        head += ` * @${rng.pick(C_NAMES)}: ${word(rng)} ${word(rng)}\n */\n`;
      }
      const ret = rng.pick(C_TYPES);
      const nargs = rng.range(0, 3);
      const args: string[] = [];
      for (let i = 0; i < nargs; i++) args.push(`${rng.pick(C_TYPES)} ${rng.pick(C_NAMES)}`);
      head += `${rng.chance(60) ? "static " : ""}${ret} ${rng.pick(C_VERBS)}_${word(rng)}_${rng.pick(C_NAMES)}(${args.length ? args.join(", ") : "void"})\n{\n`;
      const nlocals = rng.range(0, 3);
      for (let i = 0; i < nlocals; i++) head += `\t${rng.pick(C_TYPES)} ${rng.pick(C_NAMES)} = ${rng.pick(C_CONSTS)};\n`;
      if (nlocals) head += "\n";
      pos += buf.write(head, pos, "latin1");
      const nstmt = rng.range(2, 10);
      for (let i = 0; i < nstmt; i++) {
        if (rng.chance(92)) {
          pos = put(buf, pos, pool[rng.skewed(pool.length)]!);
        } else {
          const lines: string[] = [];
          statement(rng, "\t", 1, lines);
          pos += buf.write(lines.join("\n") + "\n", pos, "latin1");
        }
      }
      const tail = `\treturn ${ret.endsWith("*") ? rng.pick(["NULL", rng.pick(C_NAMES)]) : rng.pick(["0", "ret", "err", "count"])};\n}\n\n`;
      pos += buf.write(tail, pos, "latin1");
    }
    return pos;
  };
}

// --- logs --------------------------------------------------------------------

function logMessage(rng: Rng): string {
  const tmpl = LOG_TEMPLATES[rng.skewed(LOG_TEMPLATES.length)]!;
  return tmpl.replace(/\{(\w+)\}/g, (_m, k: string) => {
    switch (k) {
      case "id": return String(100000 + rng.below(900000));
      case "uuid": return `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${hex(rng, 4)}-${hex(rng, 12)}`;
      case "n": return String(smallNumber(rng));
      case "oct": return String(rng.below(256));
      case "port": return String(1024 + rng.below(64000));
      case "hex": return hex(rng, 16);
      case "word": return word(rng);
      case "name": return rng.pick(NAMES).toLowerCase();
      case "status": return rng.pick(HTTP_STATUS);
      case "letter": return String.fromCharCode(97 + rng.below(8));
      default: return k;
    }
  });
}

function logGen(rng: Rng): Gen {
  const pool: Buffer[] = [];
  for (let i = 0; i < 2048; i++) pool.push(latin1(logMessage(rng) + "\n"));
  let ms = Date.UTC(2023, rng.below(12), 1 + rng.below(28)) + rng.below(86400) * 1000;
  const host = rng.pick(LOG_HOSTS);
  const procHdr = (name: string) => latin1(` ${host} ${name}[${1000 + rng.below(30000)}]: `);
  const procs = LOG_PROCS.map(procHdr);
  const levels = LOG_LEVELS.map((l) => latin1(l + " "));
  let minute = -1;
  let minutePrefix: Buffer = Buffer.alloc(0); // "YYYY-MM-DDTHH:MM:"
  return (buf, pos, limit) => {
    while (pos < limit) {
      ms += rng.skewed(4000) + 1;
      const m = Math.floor(ms / 60000);
      if (m !== minute) {
        minute = m;
        minutePrefix = latin1(new Date(m * 60000).toISOString().slice(0, 17));
      }
      pos = put(buf, pos, minutePrefix);
      const msInMinute = ms - m * 60000; // "SS.mmmZ"
      const sec = Math.floor(msInMinute / 1000);
      const milli = msInMinute - sec * 1000;
      buf[pos] = 0x30 + Math.floor(sec / 10);
      buf[pos + 1] = 0x30 + (sec % 10);
      buf[pos + 2] = 0x2e;
      buf[pos + 3] = 0x30 + Math.floor(milli / 100);
      buf[pos + 4] = 0x30 + (Math.floor(milli / 10) % 10);
      buf[pos + 5] = 0x30 + (milli % 10);
      buf[pos + 6] = 0x5a;
      pos += 7;
      const p = rng.skewed(LOG_PROCS.length);
      if (rng.chance(1)) procs[p] = procHdr(LOG_PROCS[p]!);
      pos = put(buf, pos, procs[p]!);
      pos = put(buf, pos, levels[rng.skewed(levels.length)]!);
      if (rng.chance(85)) pos = put(buf, pos, pool[rng.below(pool.length)]!);
      else pos += buf.write(logMessage(rng) + "\n", pos, "latin1");
    }
    return pos;
  };
}

// --- executable-like binaries ----------------------------------------------------

// Pseudo x86-64 instruction templates. -1: random byte, -2: register/modrm-ish byte,
// -3: small displacement (multiple of 8), -4: 0x00 or 0xff (sign extension).
const INSNS: number[][] = [
  [0x55], [0x5d], [0xc3], [0x53], [0x5b], [0x41, 0x54], [0x41, 0x5c], [0x41, 0x55], [0x41, 0x5d],
  [0x48, 0x89, -2], [0x48, 0x8b, -2], [0x89, -2], [0x8b, -2], [0x31, 0xc0], [0x31, 0xd2],
  [0x48, 0x89, 0xe5], [0x48, 0x83, 0xec, -3], [0x48, 0x83, 0xc4, -3],
  [0x48, 0x8b, 0x45, -3], [0x48, 0x89, 0x45, -3], [0x8b, 0x45, -3], [0x89, 0x45, -3],
  [0x48, 0x8b, 0x7d, -3], [0x48, 0x8d, 0x45, -3], [0xc7, 0x45, -3, -1, 0x00, 0x00, 0x00],
  [0xe8, -1, -1, -4, -4], [0xe9, -1, -1, 0x00, 0x00], [0x74, -1], [0x75, -1], [0xeb, -1],
  [0x0f, 0x84, -1, -1, 0x00, 0x00], [0x0f, 0x85, -1, -1, 0x00, 0x00],
  [0x48, 0x8d, 0x3d, -1, -1, -1, 0x00], [0x48, 0x8d, 0x35, -1, -1, -1, 0x00],
  [0x48, 0x85, 0xc0], [0x85, 0xc0], [0x48, 0x39, -2], [0x83, 0xf8, -1], [0x48, 0x83, 0xf8, -1],
  [0x0f, 0x1f, 0x44, 0x00, 0x00], [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00], [0x90],
  [0xb8, -1, 0x00, 0x00, 0x00], [0xba, -1, -1, 0x00, 0x00], [0x48, 0xc7, 0xc0, -4, -4, -4, -4],
  [0xff, 0x15, -1, -1, -1, 0x00], [0xf3, 0x0f, 0x1e, 0xfa],
];

const REGBYTES = [0xc7, 0xc6, 0xd7, 0xe7, 0xf8, 0xc2, 0xd0, 0xde, 0xef, 0xc3];

function emitCode(rng: Rng, buf: Buffer, pos: number, nInsns: number): number {
  for (let i = 0; i < nInsns; i++) {
    const t = INSNS[rng.skewed(INSNS.length)]!;
    for (let k = 0; k < t.length; k++) {
      const v = t[k]!;
      let b: number;
      if (v >= 0) b = v;
      else if (v === -1) b = rng.next() & 0xff;
      else if (v === -2) b = REGBYTES[rng.below(REGBYTES.length)]!;
      else if (v === -3) b = (rng.below(16) * 8) & 0xff;
      else b = rng.chance(70) ? 0x00 : 0xff;
      buf[pos++] = b;
    }
  }
  return pos;
}

function alignPadAbs(buf: Buffer, pos: number, base: number, align: number, byte: number): number {
  while ((base + pos) % align !== 0) buf[pos++] = byte;
  return pos;
}

function exeGen(rng: Rng): Gen {
  // Pool of "basic blocks" that functions are assembled from (compilers repeat
  // prologues, epilogues and idioms a lot).
  const scratch = Buffer.alloc(4096);
  const blocks: Buffer[] = [];
  for (let i = 0; i < 1024; i++) blocks.push(Buffer.from(scratch.subarray(0, emitCode(rng, scratch, 0, rng.range(3, 24)))));
  const strings: Buffer[] = [];
  for (let i = 0; i < 512; i++) {
    const s = rng.chance(30)
      ? `${rng.pick(C_VERBS)}_${word(rng)}_${rng.pick(C_NAMES)}`
      : `${capitalize(word(rng))} ${word(rng)} ${word(rng)}: %s (%d)\n`;
    strings.push(latin1(s + "\0"));
  }
  let first = true;
  let addr = 0x401000 + rng.below(64) * 0x1000;
  let strOff = 0;
  return (buf, pos, limit, base) => {
    if (first) {
      first = false;
      pos = put(buf, pos, Buffer.from("7f454c4602010100000000000000000003003e0001000000", "hex"));
      while (base + pos < 64) buf[pos++] = 0;
      // Program headers: a few 56-byte entries of small integers.
      for (let i = 0; i < 8; i++) {
        buf.writeUInt32LE(rng.pick([1, 1, 1, 2, 3, 4, 6, 0x6474e550, 0x6474e551]), pos);
        buf.writeUInt32LE(rng.below(8), pos + 4);
        buf.writeBigUInt64LE(BigInt(i * 0x1000), pos + 8);
        buf.writeBigUInt64LE(BigInt(addr + i * 0x1000), pos + 16);
        buf.writeBigUInt64LE(BigInt(addr + i * 0x1000), pos + 24);
        buf.writeBigUInt64LE(BigInt(rng.below(1 << 20)), pos + 32);
        buf.writeBigUInt64LE(BigInt(rng.below(1 << 20)), pos + 40);
        buf.writeBigUInt64LE(0x1000n, pos + 48);
        pos += 56;
      }
    }
    while (pos < limit) {
      const r = rng.below(100);
      if (r < 75) {
        // A function: blocks from the pool, some fresh code, ret, padding to 16.
        const n = rng.range(1, 8);
        for (let i = 0; i < n; i++) {
          if (rng.chance(75)) pos = put(buf, pos, blocks[rng.below(blocks.length)]!);
          else pos = emitCode(rng, buf, pos, rng.range(3, 16));
        }
        buf[pos++] = 0xc3;
        pos = alignPadAbs(buf, pos, base, 16, rng.chance(50) ? 0xcc : 0x90);
      } else if (r < 85) {
        // Read-only strings.
        const n = rng.range(4, 40);
        for (let i = 0; i < n; i++) pos = put(buf, pos, strings[rng.skewed(strings.length)]!);
      } else if (r < 94) {
        // Symbol table: Elf64_Sym (24 bytes) records.
        const n = rng.range(8, 64);
        for (let i = 0; i < n; i++) {
          strOff += rng.range(8, 40);
          buf.writeUInt32LE(strOff, pos);
          buf[pos + 4] = rng.pick([0x12, 0x12, 0x11, 0x22, 0x02]);
          buf[pos + 5] = 0;
          buf.writeUInt16LE(rng.pick([12, 13, 14, 24, 25]), pos + 6);
          addr = (addr + (rng.range(16, 4096) & ~15)) >>> 0;
          buf.writeUInt32LE(addr, pos + 8);
          buf.writeUInt32LE(0, pos + 12);
          buf.writeUInt32LE(rng.skewed(4096), pos + 16);
          buf.writeUInt32LE(0, pos + 20);
          pos += 24;
        }
      } else if (r < 98) {
        // Relocation / GOT-like table: 8-byte addresses with common high bits.
        const n = rng.range(16, 128);
        for (let i = 0; i < n; i++) {
          buf.writeUInt32LE((addr + rng.below(1 << 16) * 8) >>> 0, pos);
          buf.writeUInt32LE(0, pos + 4);
          pos += 8;
        }
      } else {
        // Section boundary: zero padding to a page.
        pos = alignPadAbs(buf, pos, base, 4096, 0);
      }
    }
    return pos;
  };
}

// --- database-like pages --------------------------------------------------------

function dbGen(rng: Rng): Gen {
  const PAGE = 4096;
  const texts: Buffer[] = [];
  for (let i = 0; i < 1024; i++) texts.push(latin1(rng.chance(60) ? `${word(rng)} ${word(rng)}` : rng.pick(NAMES)));
  let pageNo = 0;
  let rowId = 1 + rng.below(100000);
  let ts = 1_650_000_000 + rng.below(50_000_000);
  const nCols = rng.range(2, 5);
  const tableId = rng.range(1, 200);
  return (buf, pos, limit) => {
    while (pos < limit) {
      const start = pos;
      const end = start + PAGE;
      // Page header.
      buf[pos] = 0x56; // "VKPG"
      buf[pos + 1] = 0x4b;
      buf[pos + 2] = 0x50;
      buf[pos + 3] = 0x47;
      buf.writeUInt32LE(pageNo++, pos + 4);
      buf.writeUInt16LE(tableId, pos + 8);
      pos += 16;
      // Fill 55..95% of the page with records; the rest stays zero.
      const fillTo = start + Math.floor((PAGE * rng.range(55, 95)) / 100);
      let records = 0;
      while (true) {
        const text = texts[rng.skewed(texts.length)]!;
        const recLen = (24 + nCols * 4 + 8 + 1 + text.length + 7) & ~7;
        if (pos + recLen > fillTo) break;
        buf.writeUInt16LE(recLen, pos);
        buf.writeUInt16LE(0x8001, pos + 2); // flags
        buf.writeUInt32LE(rowId++, pos + 4);
        buf.writeUInt32LE(0, pos + 8);
        ts += rng.skewed(600);
        buf.writeUInt32LE(ts, pos + 12);
        buf.writeUInt32LE(rng.skewed(1000), pos + 16);
        buf.writeUInt32LE(rng.chance(80) ? 0 : rng.below(1 << 16), pos + 20);
        let p = pos + 24;
        for (let c = 0; c < nCols; c++) {
          buf.writeUInt32LE(rng.chance(50) ? rng.below(16) : rng.skewed(100000), p);
          p += 4;
        }
        // 8 random bytes (a hash / GUID-ish field).
        buf.writeUInt32LE(rng.next(), p);
        buf.writeUInt32LE(rng.next(), p + 4);
        p += 8;
        buf[p++] = text.length;
        p = put(buf, p, text);
        while (p < pos + recLen) buf[p++] = 0;
        pos += recLen;
        records++;
      }
      buf.writeUInt16LE(records, start + 10);
      buf.writeUInt32LE(pos - start, start + 12);
      buf.fill(0, pos, end);
      pos = end;
    }
    return pos;
  };
}

// ---------------------------------------------------------------------------
// External tools
// ---------------------------------------------------------------------------

const MKE2FS_CONF = `[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
	reserved_ratio = 0
	lazy_itable_init = 1
	default_features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize

[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
		inode_size = 256
	}
	default = {
		blocksize = 4096
		inode_size = 256
		inode_ratio = 16384
	}
`;

async function findTool(name: string): Promise<string> {
  const dirs = [...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/sbin", "/sbin", "/usr/local/sbin"];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      await access(p, fsConstants.X_OK);
      return p;
    } catch {
      // try next
    }
  }
  throw new Error(`${name} not found (install e2fsprogs)`);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { env, maxBuffer: 64 * MiB }, (err, stdout, stderr) => {
      if (err) {
        const how = err.code !== undefined ? `exit code ${err.code}` : err.signal ? `signal ${err.signal}` : err.message;
        reject(new Error(`${cmd} ${args.join(" ")} failed (${how}): ${stderr.trim()}`));
      } else {
        resolvePromise({ stdout, stderr });
      }
    });
  });
}

// The one module that loads blockio.node (sharp's lib/sharp.js + lib/is.js): it
// loads the addon once with a useful error, validates arguments so the C++ side
// can trust them, keeps the caller's stack on native errors, and gives types.
// Every function that touches volume bytes runs on the libuv pool and returns a
// promise; nothing here reads or copies chunk data on the JS thread.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DeviceInfo {
  path: string;
  kind: 'block' | 'file';
  direct: boolean;
  writable: boolean;
  size: number;
  /** offsets and lengths of O_DIRECT I/O must be multiples of this */
  alignment: number;
  memAlignment: number;
  logicalBlockSize: number;
}

export interface ReadChunkOptions {
  /** compress a new chunk into `out` (LZ4 frame, or raw when that is not smaller) */
  compress?: boolean;
  /** also compute the MD5 of the stored bytes (Swift's ETag) */
  md5?: boolean;
  /** chunks already stored: a digest found here is not compressed */
  known?: DigestSet;
  /** add a new digest to `known`, so a repeat within the same run is known */
  claim?: boolean;
  /** where the stored bytes go; at least lz4FrameBound(length) bytes */
  out?: Buffer;
}

export interface ChunkRead {
  zero: boolean;
  /** XXH3-128, lowercase hex, as `xxhsum -H2` prints it; null for a zero chunk */
  digest: string | null;
  known: boolean;
  /** how `out` holds the chunk, null when nothing was stored there */
  encoding: 'lz4' | 'raw' | null;
  /** bytes written to `out` */
  size: number;
  md5: string | null;
}

export type ChunkEncoding = 'lz4' | 'raw';

export interface OpenOptions {
  write?: boolean;
  direct?: boolean;
  allowBuffered?: boolean;
}

export interface LoopAttachment {
  device: string;
  number: number;
  directIo: boolean;
  /** with autoclear: the fd that keeps the device attached; detachLoop closes it */
  holdFd: number | null;
}

export interface LoopOptions {
  directIo?: boolean;
  readOnly?: boolean;
  autoclear?: boolean;
  blockSize?: 512 | 1024 | 2048 | 4096;
}

/** A chunk's bytes, read and held in native memory until processChunk (JS sees only the length). */
export interface ChunkData {
  readonly length: number;
  /** returns the memory at once (an error path that will not process it) */
  release(): void;
}

interface RawDevice {
  info(): DeviceInfo;
  readInto(offset: number, length: number): Promise<ChunkData>;
  writeChunk(offset: number, length: number, segments: Buffer | Buffer[], encoding: ChunkEncoding, digest: string): Promise<void>;
  zeroRange(offset: number, length: number): Promise<{ method: string }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** A thread-safe set of chunk digests that read workers consult (native). */
export interface DigestSet {
  add(digest: string): boolean;
  addMany(digests: string[]): number;
  has(digest: string): boolean;
  delete(digest: string): boolean;
  readonly size: number;
}

interface Addon {
  DigestSet: new () => DigestSet;
  ChunkData: abstract new () => ChunkData;
  processChunk(data: ChunkData, opts: ReadChunkOptions): Promise<ChunkRead>;
  openDevice(path: string, opts: OpenOptions): Promise<RawDevice>;
  dataRanges(path: string, start: number, end: number): Promise<Array<[number, number]>>;
  syncFs(path: string): Promise<void>;
  writeNewFile(path: string, body: Buffer, sync: boolean): Promise<void>;
  md5(segments: Buffer[]): Promise<string>;
  attachLoop(path: string, opts: LoopOptions): Promise<LoopAttachment>;
  detachLoop(device: string, holdFd: number | null): Promise<void>;
  lz4FrameBound(length: number): number;
  bufferPoolStats(): { lent: number; idle: number; idleBytes: number; allocations: number };
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the volbackd package root (binding.gyp) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

function load(): Addon {
  const path = join(packageRoot(), 'build', 'Release', 'blockio.node');
  try {
    return createRequire(import.meta.url)(path) as Addon;
  } catch (cause) {
    throw new Error(
      `cannot load the native addon ${path}: ${(cause as Error).message}\n` +
        'Possible solutions:\n' +
        '- build it: ./scripts/bootstrap (or npm ci, which runs node-gyp)\n' +
        '- install the system libraries it links: apt-get install liblz4-1 libxxhash0',
      { cause },
    );
  }
}

const addon = load();

// Methods are async so that invalid arguments reject like I/O errors do, and
// callers need one error path, not two.
// Native errors are created on the JS thread when the worker completes, so their
// stack is empty of the caller: graft the stack captured at the call site.
async function keepStack<T>(p: Promise<T>, here: Error): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof Error) err.stack = `${err.name}: ${err.message}\n${here.stack?.split('\n').slice(1).join('\n') ?? ''}`;
    throw err;
  }
}

function invalid(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${String(value)}`);
}

function checkOffset(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(name, 'a non-negative safe integer', v);
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '') throw invalid('path', 'a non-empty string', path);
}

function checkRange(dev: DeviceInfo, offset: number, length: number): void {
  checkOffset('offset', offset);
  checkOffset('length', length);
  if (length === 0 || length > 1 << 30) throw new RangeError(`length ${length} must be 1 byte to 1 GiB`);
  if (dev.direct && offset % dev.alignment !== 0) {
    throw new RangeError(`offset ${offset} is not a multiple of ${dev.path}'s direct I/O alignment ${dev.alignment}`);
  }
  if (offset + length > dev.size) {
    throw new RangeError(`range ${offset}+${length} passes the end of ${dev.path} (${dev.size} bytes)`);
  }
}

function checkChunkOptions(length: number, opts: ReadChunkOptions): void {
  if (opts.compress) {
    const need = outBufferSize(length);
    if (!Buffer.isBuffer(opts.out) || opts.out.length < need) throw invalid('out', `a Buffer of at least ${need} bytes`, opts.out);
  }
  if (opts.known !== undefined && !(opts.known instanceof addon.DigestSet)) throw invalid('known', 'a DigestSet', opts.known);
}

const DIGEST = /^[0-9a-f]{32}$/;

export const DigestSet: new () => DigestSet = addon.DigestSet;

/** An open volume: block device, loop device or image file. */
export class BlockDevice {
  readonly info: DeviceInfo;
  #raw: RawDevice;

  constructor(raw: RawDevice) {
    this.#raw = raw;
    this.info = raw.info();
  }

  get path(): string {
    return this.info.path;
  }
  get size(): number {
    return this.info.size;
  }

  /** Reads, zero-checks, hashes and (optionally) compresses one chunk: readInto, then processChunk. */
  async readChunk(offset: number, length: number, opts: ReadChunkOptions = {}): Promise<ChunkRead> {
    checkRange(this.info, offset, length);
    checkChunkOptions(length, opts);
    const data = await this.readInto(offset, length);
    try {
      return await processChunk(data, opts);
    } finally {
      data.release(); // a no-op once processChunk has taken the bytes
    }
  }

  /**
   * Stage one of the two-stage read: only the read, into native memory. With
   * processChunk as stage two, reads keep the disk busy while other threads
   * compress, instead of every worker alternating between the two.
   */
  async readInto(offset: number, length: number): Promise<ChunkData> {
    checkRange(this.info, offset, length);
    return keepStack(this.#raw.readInto(offset, length), new Error());
  }

  /** Decodes, verifies (digest) and writes one chunk; nothing is written on a mismatch. */
  async writeChunk(offset: number, length: number, body: Buffer | Buffer[], encoding: ChunkEncoding, digest: string): Promise<void> {
    checkRange(this.info, offset, length);
    if (encoding !== 'lz4' && encoding !== 'raw') throw invalid('encoding', "'lz4' or 'raw'", encoding);
    if (typeof digest !== 'string' || !DIGEST.test(digest)) throw invalid('digest', '32 lowercase hex digits', digest);
    const segments = Array.isArray(body) ? body : [body];
    if (!segments.every((b) => Buffer.isBuffer(b))) throw invalid('body', 'a Buffer or an array of Buffers', body);
    return keepStack(this.#raw.writeChunk(offset, length, segments, encoding, digest), new Error());
  }

  /** Makes the range read back as zeros: BLKZEROOUT, punch-hole, or written zeros. */
  async zeroRange(offset: number, length: number): Promise<{ method: string }> {
    checkOffset('offset', offset);
    checkOffset('length', length);
    if (offset + length > this.info.size) throw new RangeError(`range ${offset}+${length} passes the end of ${this.path}`);
    return keepStack(this.#raw.zeroRange(offset, length), new Error());
  }

  async sync(): Promise<void> {
    return keepStack(this.#raw.sync(), new Error());
  }

  async close(): Promise<void> {
    return keepStack(this.#raw.close(), new Error());
  }
}

/** Stage two: zero check, digest, known check, compression (and MD5) of a readInto's bytes; frees them. */
export async function processChunk(data: ChunkData, opts: ReadChunkOptions = {}): Promise<ChunkRead> {
  if (!(data instanceof addon.ChunkData)) throw invalid('data', 'a ChunkData from readInto()', data);
  checkChunkOptions(data.length, opts);
  return keepStack(addon.processChunk(data, opts), new Error());
}

/** Opens a volume for O_DIRECT I/O; a file system that refuses O_DIRECT is an error unless allowBuffered. */
export async function openDevice(path: string, opts: OpenOptions = {}): Promise<BlockDevice> {
  checkPath(path);
  return new BlockDevice(await keepStack(addon.openDevice(path, opts), new Error()));
}

/** Allocated extents of a regular file in [start, end), as [start, end) pairs. */
export async function dataRanges(path: string, start: number, end: number): Promise<Array<[number, number]>> {
  checkOffset('start', start);
  checkOffset('end', end);
  return keepStack(addon.dataRanges(path, start, end), new Error());
}

/**
 * Creates `path` (it must not exist), writes `body`, then fdatasync()s it, or with
 * sync=false only starts its writeback; one pool hop. A partly written file is removed.
 */
export async function writeNewFile(path: string, body: Buffer, sync: boolean): Promise<void> {
  checkPath(path);
  if (!Buffer.isBuffer(body)) throw invalid('body', 'a Buffer', body);
  return keepStack(addon.writeNewFile(path, body, sync === true), new Error());
}

/** MD5 (lowercase hex) of the segments' bytes in order, computed on the pool (a received object body). */
export async function md5(segments: Buffer[]): Promise<string> {
  if (!Array.isArray(segments) || !segments.every((b) => Buffer.isBuffer(b))) throw invalid('segments', 'an array of Buffers', segments);
  return keepStack(addon.md5(segments), new Error());
}

/** syncfs(2): makes everything written to the file system holding `path` durable. */
export async function syncFs(path: string): Promise<void> {
  checkPath(path);
  return keepStack(addon.syncFs(path), new Error());
}

export async function attachLoop(path: string, opts: LoopOptions = {}): Promise<LoopAttachment> {
  checkPath(path);
  return keepStack(addon.attachLoop(path, opts), new Error());
}

export async function detachLoop(loop: Pick<LoopAttachment, 'device' | 'holdFd'>): Promise<void> {
  return keepStack(addon.detachLoop(loop.device, loop.holdFd), new Error());
}

/** Capacity an `out` buffer needs for a chunk of `length` bytes. */
export function outBufferSize(length: number): number {
  return Math.max(addon.lz4FrameBound(length), length);
}

export function bufferPoolStats(): ReturnType<Addon['bufferPoolStats']> {
  return addon.bufferPoolStats();
}

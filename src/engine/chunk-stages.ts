// One job: a backup chunk through the two native stages, each with its own limit:
// the O_DIRECT read into native memory (threads waiting on the disk), then zero
// check, XXH3-128, known check and LZ4 into an output buffer (threads on the
// cores). One worker doing both would have every thread alternate, and the disk
// and the cores take turns being idle. The bytes never pass through JS.
import { processChunk, outBufferSize, type BlockDevice, type ChunkData, type ChunkRead, type ReadChunkOptions } from '../native/index.js';
import { Semaphore } from '../util/semaphore.js';
import { outBuffers, type OutBufferPool } from './out-buffers.js';

export interface ChunkStagesOptions {
  /** every output buffer is sized for a chunk this long (the last, shorter one too) */
  chunkSize: number;
  /** chunks reading, or read and waiting for a core, at once */
  readConcurrency: number;
  /** chunks compressed at once */
  compressConcurrency: number;
  /** where output buffers come from; the process's pool unless given */
  pool?: OutBufferPool;
}

export class ChunkStages {
  readonly #reads: Semaphore;
  readonly #cpu: Semaphore;
  readonly #outSize: number;
  readonly #pool: OutBufferPool;

  constructor(opts: ChunkStagesOptions) {
    this.#reads = new Semaphore(opts.readConcurrency);
    this.#cpu = new Semaphore(opts.compressConcurrency);
    this.#outSize = outBufferSize(opts.chunkSize);
    this.#pool = opts.pool ?? outBuffers;
  }

  /**
   * Reads and processes one chunk. Resolves with the result and the output buffer
   * that holds the stored bytes, which the caller gives back (give()) once it has
   * sent them; on failure nothing is left held.
   *
   * A read permit is held from the read until compression starts (or a failure):
   * at most readConcurrency chunks are reading or waiting for a core, so read
   * buffers stay bounded however far the disk outruns the cores. The output buffer
   * is taken when compression starts, so a task holds one only while compressing
   * or uploading; it is shared memory, so a store may hand the bytes to an I/O
   * worker thread without copying them (the Swift store can).
   */
  async process(dev: BlockDevice, offset: number, length: number, opts: Omit<ReadChunkOptions, 'compress' | 'out'> = {}): Promise<{ r: ChunkRead; out: Buffer }> {
    const releaseRead = await this.#reads.acquire();
    let data: ChunkData | undefined;
    let releaseCpu: (() => void) | undefined;
    let out: Buffer | undefined;
    try {
      data = await dev.readInto(offset, length);
      releaseCpu = await this.#cpu.acquire();
      releaseRead();
      out = this.#pool.take(this.#outSize);
      return { r: await processChunk(data, { ...opts, compress: true, out }), out };
    } catch (err) {
      if (out) this.#pool.give(out);
      throw err;
    } finally {
      releaseCpu?.();
      data?.release(); // a no-op once processChunk has taken the bytes
      releaseRead(); // a no-op once compression started
    }
  }

  /** Gives an output buffer from process() back to the pool. */
  give(out: Buffer): void {
    this.#pool.give(out);
  }
}

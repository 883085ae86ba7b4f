// One job: the backup engine's output buffers (one per chunk task compressing or
// uploading: chunk size + LZ4 bound, in shared memory), kept across backups.
//
// Allocated per backup, a backup's buffers were freed only when V8 got round to
// collecting them — the next backup allocated its own meanwhile, so peak RSS
// grew with the number of backups run close together rather than staying at one
// set per running backup. Kept here, a backup takes what the last one gave back.
// Buffers idle for IDLE_MS are let go (to the GC), so an idle daemon shrinks.
const IDLE_MS = 30_000;
/** idle buffers kept at most, per size (max_in_flight is at most 256) */
const MAX_IDLE = 256;

export class OutBufferPool {
  readonly #idle = new Map<number, Buffer[]>();
  #timer: NodeJS.Timeout | undefined;

  /** A buffer of exactly `size` bytes (contents undefined). */
  take(size: number): Buffer {
    return this.#idle.get(size)?.pop() ?? Buffer.from(new SharedArrayBuffer(size));
  }

  /** Gives a buffer from take() back for the next task or backup. */
  give(buf: Buffer): void {
    let list = this.#idle.get(buf.length);
    if (!list) this.#idle.set(buf.length, (list = []));
    if (list.length < MAX_IDLE) list.push(buf);
    this.#timer?.refresh();
    this.#timer ??= setTimeout(() => this.trim(), IDLE_MS).unref();
  }

  /** Lets every idle buffer go. */
  trim(): void {
    this.#idle.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Idle buffers held (for tests). */
  get idle(): number {
    let n = 0;
    for (const list of this.#idle.values()) n += list.length;
    return n;
  }
}

/** The process's pool: every backup's output buffers. */
export const outBuffers = new OutBufferPool();

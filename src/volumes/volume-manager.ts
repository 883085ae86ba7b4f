// One job: the volumes' block devices. Volumes the daemon creates are sparse
// image files under volumes.dir, attached to loop devices (direct I/O, autoclear:
// the kernel detaches them if the daemon dies, and the daemon re-attaches them at
// start) when it runs as root and loop devices work, else used as files. Adopted
// volumes are the operator's devices or files: used as they are, never removed.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { attachLoop, dataRanges, detachLoop, openDevice, type LoopAttachment } from '../native/index.js';
import type { VolumeRow } from '../catalog/types.js';

export interface VolumeManagerOptions {
  dir: string;
  loop: 'auto' | 'always' | 'never';
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export class VolumeError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'VolumeError';
  }
}

function loopsUsable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    accessSync('/dev/loop-control', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export class VolumeManager {
  readonly useLoop: boolean;
  readonly #dir: string;
  readonly #loops = new Map<number, LoopAttachment>();
  readonly #log: VolumeManagerOptions['log'];

  constructor(opts: VolumeManagerOptions) {
    this.#dir = opts.dir;
    this.#log = opts.log;
    const usable = loopsUsable();
    if (opts.loop === 'always' && !usable) throw new VolumeError('volumes.loop = "always" but loop devices are not usable here (root and /dev/loop-control needed)');
    this.useLoop = opts.loop !== 'never' && usable;
  }

  async init(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
  }

  imagePathFor(uuid: string): string {
    return join(this.#dir, `volume-${uuid}.img`);
  }

  /** Creates a managed volume's sparse image (idempotent for a resumed job) and attaches it. */
  async create(v: VolumeRow): Promise<void> {
    if (!v.managed || !v.image_path) throw new VolumeError(`volume ${v.id} is not managed by volbackd`);
    const fh = await open(v.image_path, 'a');
    try {
      const st = await fh.stat();
      if (st.size !== v.size_bytes) await fh.truncate(v.size_bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const dir = await open(this.#dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    await this.attach(v);
  }

  /** Attaches a managed volume's image to a loop device when loops are in use. */
  async attach(v: VolumeRow): Promise<void> {
    if (!this.useLoop || !v.managed || !v.image_path || this.#loops.has(v.id)) return;
    const loop = await attachLoop(v.image_path, { directIo: true, autoclear: true });
    this.#loops.set(v.id, loop);
    this.#log?.info({ volume: v.id, device: loop.device, directIo: loop.directIo }, 'volume attached');
  }

  async attachAll(volumes: VolumeRow[]): Promise<void> {
    for (const v of volumes) {
      if (!v.managed || !v.image_path) continue;
      try {
        await stat(v.image_path);
      } catch (cause) {
        this.#log?.warn({ volume: v.id, image: v.image_path, err: (cause as Error).message }, 'volume image missing');
        continue;
      }
      await this.attach(v);
    }
  }

  /** The path the daemon reads and writes for this volume. */
  devicePath(v: VolumeRow): string {
    if (!v.managed) return v.device!;
    return this.#loops.get(v.id)?.device ?? v.image_path!;
  }

  /**
   * The volume's allocated extents, or null when unknown. Holes read as zeros, so
   * chunks inside them are zero chunks without being read: for image files
   * directly, for loop devices through their backing file.
   */
  async allocation(v: VolumeRow): Promise<Array<[number, number]> | null> {
    const file = v.managed ? v.image_path : backingFileOf(v.device!);
    if (!file) return null;
    try {
      return await dataRanges(file, 0, v.size_bytes);
    } catch {
      return null;
    }
  }

  /** Detaches and deletes a managed volume's image; forgets an adopted one. */
  async remove(v: VolumeRow): Promise<void> {
    const loop = this.#loops.get(v.id);
    if (loop) {
      await detachLoop(loop);
      this.#loops.delete(v.id);
    }
    if (v.managed && v.image_path) await rm(v.image_path, { force: true });
  }

  async close(): Promise<void> {
    for (const [id, loop] of this.#loops) {
      await detachLoop(loop).catch((err: Error) => this.#log?.warn({ volume: id, err: err.message }, 'detach failed'));
    }
    this.#loops.clear();
  }
}

/** For a regular file: itself; for a loop device with no offset: its backing file; else null. */
export function backingFileOf(device: string): string | null {
  try {
    const st = statSync(device);
    if (st.isFile()) return device;
    const m = /^\/dev\/loop(\d+)$/.exec(device);
    if (!st.isBlockDevice() || !m) return null;
    const sys = `/sys/block/loop${m[1]}/loop`;
    if (readFileSync(`${sys}/offset`, 'utf8').trim() !== '0') return null;
    const backing = readFileSync(`${sys}/backing_file`, 'utf8').trim();
    // The kernel prints the open file's current path (d_path), so it follows
    // renames; a deleted file is marked, and whatever now has its old name is
    // another file whose holes say nothing about the device.
    if (backing === '' || backing.endsWith(' (deleted)')) return null;
    return backing;
  } catch {
    return null;
  }
}

/** What an adopted device is: its size, checked by opening it for direct reads. */
export async function inspectDevice(path: string): Promise<{ size: number; kind: 'block' | 'file' }> {
  const dev = await openDevice(path);
  try {
    return { size: dev.size, kind: dev.info.kind };
  } finally {
    await dev.close();
  }
}

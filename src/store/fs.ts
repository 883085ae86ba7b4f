// One job: the file-system object store (restic's local backend), the embedded
// default. A tenant's account is the directory <root>/AUTH_<tenant>; object
// <container>/<name> is the file <root>/AUTH_<tenant>/<container>/<name>, and the
// '/' in names become subdirectories (so, unlike Swift, an object "a" and an
// object "a/b" cannot both exist: that put is refused with EISDIR/ENOTDIR; and
// an object name segment longer than the file system's NAME_MAX fails with
// ENAMETOOLONG; container names of Swift's full 256 bytes are mapped, see #cdir).
//
// Writes are atomic and durable: temp file next to the target, write, check the
// size, fsync, close, rename over the target, fsync the directory; the temp is
// removed on any error. Names are validated first so nothing escapes the root.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, opendir, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { md5, syncFs, writeNewFile } from '../native/index.js';
import {
  NotFoundError,
  StoreError,
  type GetOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoreProvider,
} from './object-store.js';
import { MAX_CONTAINER_BYTES, MAX_OBJECT_BYTES, badText, show } from './names.js';

/** Temp files: ".<target>.tmp-<16 hex>". Object names may not look like one, so list can skip them. */
const TEMP_NAME = /^\..*\.tmp-[0-9a-f]{16}$/s;
/** Transient errnos: worth another try. Every other errno (ENOSPC, EROFS, EACCES, …) is permanent. */
const RETRYABLE = new Set(['EIO', 'EAGAIN', 'EMFILE', 'ENFILE', 'EBUSY']);
/** Read paths: a missing file, a path through a file, or a pseudo-directory all mean "no such object". */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);
/** Objects stat()ed at once while listing: one page. */
const LIST_PAGE = 128;

export class FsStoreProvider implements StoreProvider {
  readonly kind = 'fs' as const;
  readonly root: string;

  constructor(opts: { root: string }) {
    this.root = resolve(opts.root);
  }

  forTenant(tenantId: string): ObjectStore {
    const why = badText(tenantId) ?? (tenantId.includes('/') ? "contains '/'" : badSegment(tenantId));
    if (why) throw new StoreError(`open fs store for tenant ${show(tenantId)}: invalid tenant id: ${why}`, { retryable: false, code: 'EINVAL' });
    return new FsStore(join(this.root, `AUTH_${tenantId}`));
  }

  async close(): Promise<void> {}
}

class FsStore implements ObjectStore {
  readonly describe: string;
  readonly #dir: string;
  #unsynced = false;

  constructor(dir: string) {
    this.#dir = dir;
    this.describe = `fs ${dir}`;
  }

  async ensureContainer(container: string, opts: GetOptions = {}): Promise<void> {
    const where = `create container ${show(container)} (${this.describe})`;
    this.#checkContainer(where, container);
    try {
      opts.signal?.throwIfAborted();
      await mkdirs(this.#cdir(container));
    } catch (err) {
      throw fsError(where, err, false);
    }
  }

  async put(container: string, name: string, body: Buffer, opts: PutOptions = {}): Promise<void> {
    const where = this.#where('put', container, name);
    this.#checkObject(where, container, name);
    if (opts.md5 !== undefined) {
      // Refuse a damaged body like Swift refuses a wrong ETag; hashed on the pool
      // (native md5), like the Swift store's GET check: never on the JS thread.
      const actual = await md5([body]);
      if (actual !== opts.md5.toLowerCase()) {
        throw new StoreError(`${where}: body MD5 ${actual} does not match the expected ${opts.md5}`, { retryable: false, status: 422, code: 'EBADMSG' });
      }
    }
    const cdir = this.#cdir(container);
    const target = join(cdir, name);
    const dir = dirname(target);
    const temp = join(dir, tempName(basename(target)));
    try {
      opts.signal?.throwIfAborted();
      // Create, write every byte, fdatasync (or with deferSync only start the
      // writeback, so the final flush finds little left to do), close: one native
      // pool hop; a failed write removes its temp file.
      await writeTemp(where, cdir, dir, temp, body, !opts.deferSync);
      opts.signal?.throwIfAborted();
      await renameOver(where, name, temp, target);
      if (opts.deferSync) this.#unsynced = true;
      else await syncDir(dir);
    } catch (err) {
      await unlink(temp).catch(() => {}); // gone already when the rename happened
      throw fsError(where, err, false);
    }
  }

  async get(container: string, name: string, opts: GetOptions = {}): Promise<Buffer[]> {
    const where = this.#where('get', container, name);
    this.#checkObject(where, container, name);
    try {
      // fs.promises reads on the thread pool; one segment, never concatenated again.
      return [await readFile(join(this.#cdir(container), name), opts.signal ? { signal: opts.signal } : {})];
    } catch (err) {
      throw fsError(where, err, true);
    }
  }

  /**
   * Deferred puts skipped their fsyncs: one syncfs(2) of the file system makes
   * them (file data, renames and new directories) durable at once — far cheaper
   * than an fsync per object and its directory, and exactly as safe before a
   * commit point.
   */
  async flush(opts: GetOptions = {}): Promise<void> {
    if (!this.#unsynced) return;
    opts.signal?.throwIfAborted();
    this.#unsynced = false;
    try {
      await syncFs(this.#dir);
    } catch (err) {
      this.#unsynced = true;
      throw fsError(`flush ${this.describe}`, err, false);
    }
  }

  async head(container: string, name: string, opts: GetOptions = {}): Promise<ObjectInfo | null> {
    const where = this.#where('head', container, name);
    this.#checkObject(where, container, name);
    try {
      opts.signal?.throwIfAborted();
      const st = await stat(join(this.#cdir(container), name));
      return st.isFile() ? { name, bytes: st.size, lastModified: st.mtime } : null;
    } catch (err) {
      if (ABSENT.has(errno(err) ?? '')) return null;
      throw fsError(where, err, true);
    }
  }

  async delete(container: string, name: string, opts: GetOptions = {}): Promise<boolean> {
    const where = this.#where('delete', container, name);
    this.#checkObject(where, container, name);
    const cdir = this.#cdir(container);
    let dir = dirname(join(cdir, name));
    try {
      opts.signal?.throwIfAborted();
      await unlink(join(cdir, name));
    } catch (err) {
      if (ABSENT.has(errno(err) ?? '')) return false;
      throw fsError(where, err, true);
    }
    try {
      // Remove pseudo-directories left empty, so the name can become an object
      // again (as in Swift). A concurrent put into one is safe: see createTemp.
      while (dir !== cdir && (await rmdir(dir).then(() => true, () => false))) dir = dirname(dir);
      await syncDir(dir);
    } catch (err) {
      throw fsError(where, err, false);
    }
    return true;
  }

  /**
   * A sorted walk of the container: only directories that can hold names with
   * the prefix are read, one at a time, so memory is bounded by the largest
   * matching directory (names only), not by the whole listing; stat() runs a
   * page at a time. Directories sort as "<name>/" so the walk's order is the
   * byte order of the full names.
   */
  async *list(container: string, prefix: string, opts: GetOptions = {}): AsyncGenerator<ObjectInfo> {
    const where = `list ${show(prefix)}* in container ${show(container)} (${this.describe})`;
    this.#checkContainer(where, container);
    const cut = prefix.lastIndexOf('/') + 1;
    const dirPart = prefix.slice(0, cut); // "" or "a/b/"
    // A prefix whose directory part no valid name has matches nothing (and must not walk outside).
    if (badText(prefix) || (dirPart && dirPart.slice(0, -1).split('/').some((s) => badSegment(s)))) return;
    try {
      yield* this.#walk(join(this.#cdir(container), dirPart), dirPart, prefix.slice(cut), opts.signal);
    } catch (err) {
      throw fsError(where, err, false);
    }
  }

  async *#walk(dir: string, namePrefix: string, entryPrefix: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo> {
    const entries: { key: string; isDir: boolean }[] = [];
    try {
      for await (const e of await opendir(dir, { bufferSize: 256 })) {
        if (!e.name.startsWith(entryPrefix) || TEMP_NAME.test(e.name)) continue;
        if (e.isDirectory()) entries.push({ key: `${e.name}/`, isDir: true });
        else if (e.isFile()) entries.push({ key: e.name, isDir: false });
      }
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return; // missing container or pseudo-directory
      throw err;
    }
    entries.sort((a, b) => compareUtf8(a.key, b.key));
    for (let i = 0; i < entries.length; ) {
      signal?.throwIfAborted();
      const e = entries[i]!;
      if (e.isDir) {
        yield* this.#walk(join(dir, e.key), namePrefix + e.key, '', signal);
        i++;
        continue;
      }
      let end = i;
      while (end < entries.length && end - i < LIST_PAGE && !entries[end]!.isDir) end++;
      const page = await Promise.all(
        entries.slice(i, end).map(async ({ key }): Promise<ObjectInfo | null> => {
          const st = await stat(join(dir, key)).catch((err: unknown) => {
            if (errno(err) === 'ENOENT') return null; // deleted since readdir
            throw err;
          });
          return st?.isFile() ? { name: namePrefix + key, bytes: st.size, lastModified: st.mtime } : null;
        }),
      );
      for (const info of page) if (info) yield info;
      i = end;
    }
  }

  /**
   * The container's directory. Swift allows 256-byte container names, file systems
   * 255-byte file names: a name longer than 255 bytes maps to its first 200 bytes,
   * "~" and 32 hex digits of its SHA-256 (so distinct names stay distinct).
   */
  #cdir(container: string): string {
    if (Buffer.byteLength(container) <= 255) return join(this.#dir, container);
    let head = '';
    for (const ch of container) {
      if (Buffer.byteLength(head + ch) > 200) break;
      head += ch;
    }
    return join(this.#dir, `${head}~${createHash('sha256').update(container).digest('hex').slice(0, 32)}`);
  }

  #where(op: string, container: string, name: string): string {
    return `${op} ${show(name)} in container ${show(container)} (${this.describe})`;
  }

  #checkContainer(where: string, container: string): void {
    let why = badText(container);
    if (!why && container.includes('/')) why = "contains '/'";
    if (!why && Buffer.byteLength(container) > MAX_CONTAINER_BYTES) why = `longer than ${MAX_CONTAINER_BYTES} bytes`;
    why ??= badSegment(container);
    if (why) throw new StoreError(`${where}: invalid container name: ${why}`, { retryable: false, code: 'EINVAL' });
  }

  #checkObject(where: string, container: string, name: string): void {
    this.#checkContainer(where, container);
    let why = badText(name);
    if (!why && Buffer.byteLength(name) > MAX_OBJECT_BYTES) why = `longer than ${MAX_OBJECT_BYTES} bytes`;
    if (!why && name.startsWith('/')) why = "starts with '/'";
    if (!why) for (const s of name.split('/')) if ((why = badSegment(s))) break;
    if (why) throw new StoreError(`${where}: invalid object name: ${why}`, { retryable: false, code: 'EINVAL' });
  }
}

/** Writes the temp file, creating the object's pseudo-directories when missing. */
async function writeTemp(where: string, cdir: string, dir: string, temp: string, body: Buffer, sync: boolean): Promise<void> {
  for (let tries = 1; ; tries++) {
    try {
      return await writeNewFile(temp, body, sync);
    } catch (err) {
      // ENOENT again after mkdirs: a delete removed the directory meanwhile; go again.
      if (errno(err) !== 'ENOENT' || tries === 4) throw err;
    }
    // Swift answers 404 to a put into a missing container; so does this store.
    const exists = await stat(cdir).then(() => true, (err: unknown) => (errno(err) === 'ENOENT' ? false : Promise.reject(err)));
    if (!exists) throw new NotFoundError(`${where}: the container does not exist`);
    await mkdirs(dir);
  }
}

/** rename(2) over the target; a leftover empty directory in the way is removed. */
async function renameOver(where: string, name: string, temp: string, target: string): Promise<void> {
  try {
    await rename(temp, target);
  } catch (err) {
    const code = errno(err);
    if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    if (!(await rmdir(target).then(() => true, () => false))) {
      throw new StoreError(`${where}: objects named ${show(name)}/… exist, and the fs store cannot hold an object and a pseudo-directory of one name`, {
        retryable: false,
        code: 'EISDIR',
        cause: err,
      });
    }
    await rename(temp, target);
  }
}

/** mkdir -p, then fsync the parent of every directory it created so they survive a crash. */
async function mkdirs(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  for (let d = dir; d !== dirname(first); ) {
    d = dirname(d);
    await syncDir(d);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some file systems cannot fsync a directory; restic ignores that too.
    if (!['EINVAL', 'ENOTSUP', 'EOPNOTSUPP'].includes(errno(err) ?? '')) throw err;
  } finally {
    await fh.close();
  }
}

/** Translates an fs error into the store's errors; leaves others (aborts, StoreErrors, bugs) as they are. */
function fsError(where: string, err: unknown, reading: boolean): unknown {
  const code = errno(err);
  if (code === undefined || err instanceof StoreError || (err as Error).name === 'AbortError') return err;
  let message = `${where}: ${(err as Error).message}`;
  if (!reading && code === 'ENOTDIR') message += ' (an object has the name of one of its pseudo-directories; the fs store cannot hold both)';
  if (reading && ABSENT.has(code)) return new NotFoundError(message, err);
  // A put that still sees ENOENT raced a delete removing directories: try again.
  const retryable = RETRYABLE.has(code) || (!reading && code === 'ENOENT');
  return new StoreError(message, { retryable, code, cause: err });
}

function errno(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Why s cannot be one path segment, or undefined. */
function badSegment(s: string): string | undefined {
  if (s === '') return 'empty path segment';
  if (s === '.' || s === '..') return `'${s}' path segment`;
  if (TEMP_NAME.test(s)) return 'looks like a temp file';
  return undefined;
}

/** ".<target>.tmp-<random>", the target cut to 64 bytes so the temp name stays under NAME_MAX. */
function tempName(target: string): string {
  let short = '';
  for (const ch of target) {
    if (Buffer.byteLength(short + ch) > 64) break;
    short += ch;
  }
  return `.${short}.tmp-${randomBytes(8).toString('hex')}`;
}

/**
 * UTF-8 byte order (= code point order) of two strings. Plain `<` compares UTF-16
 * units, which puts U+E000–U+FFFF after astral characters; shift units so they sort
 * by code point (surrogates up, U+E000–U+FFFF down).
 */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

function fixup(u: number): number {
  if (u >= 0xd800 && u <= 0xdfff) return u + 0x2000;
  return u >= 0xe000 ? u - 0x800 : u;
}

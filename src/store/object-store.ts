// The object store contract (restic's backend.go): the engine talks to this and
// never knows whether Swift or the local file system is behind it.
//
// A store is bound to one account (a tenant's Swift account, or its directory
// under the file store). Objects live in containers; names may contain '/'.
// Every method may be retried by the caller: implementations must be idempotent
// (a retried put of the same name and body leaves one whole object).

export interface ObjectInfo {
  name: string;
  bytes: number;
  /** when the object was last written (Swift: last_modified; fs: mtime) */
  lastModified: Date;
  /** MD5 hex of the body when the store knows it (Swift), else undefined */
  etag?: string;
}

export interface PutOptions {
  /** MD5 hex of body: sent as ETag so the store refuses a damaged upload */
  md5?: string;
  /**
   * The object need not be durable when put() resolves, only after the next
   * flush(): for many objects written before one commit point (a backup's chunks
   * before its manifest), one barrier instead of one per object.
   */
  deferSync?: boolean;
  contentType?: string;
  signal?: AbortSignal;
}

export interface GetOptions {
  signal?: AbortSignal;
}

export interface ObjectStore {
  /** A short description for logs and errors: "swift http://127.0.0.1:8080/v1/AUTH_test" or "fs /var/lib/…/AUTH_test". */
  readonly describe: string;

  /** Creates the container when missing; succeeds when it already exists. */
  ensureContainer(container: string, opts?: GetOptions): Promise<void>;

  /**
   * Stores body under name, atomically: readers see the old object or the whole
   * new one, never a part. Resolves once the object is durable (unless
   * opts.deferSync: then after the next flush()).
   * Rejects with an error for which isNotFound() is true when the container does
   * not exist (Swift answers 404; no store creates containers implicitly).
   */
  put(container: string, name: string, body: Buffer, opts?: PutOptions): Promise<void>;

  /**
   * The whole object as the segments it arrived in (not concatenated: the native
   * core decodes from segments, so the JS thread never copies chunk bytes).
   * Rejects with an error for which isNotFound() is true when it does not exist.
   */
  get(container: string, name: string, opts?: GetOptions): Promise<Buffer[]>;

  /**
   * Makes every object put (with deferSync) before this call durable. Stores whose
   * every put is durable when it resolves (Swift) do nothing.
   */
  flush(opts?: GetOptions): Promise<void>;

  /** The object's info, or null when it does not exist. */
  head(container: string, name: string, opts?: GetOptions): Promise<ObjectInfo | null>;

  /** Deletes the object; resolves false when it did not exist (not an error). */
  delete(container: string, name: string, opts?: GetOptions): Promise<boolean>;

  /**
   * Every object whose name starts with prefix, in name order, fetched page by
   * page (like ls, not find: no directory semantics). A missing container lists
   * nothing.
   */
  list(container: string, prefix: string, opts?: GetOptions): AsyncIterable<ObjectInfo>;
}

/** Hands out the store of one tenant's account. */
export interface StoreProvider {
  readonly kind: 'fs' | 'swift';
  /**
   * The store for a tenant. `token` is the caller's own token when the auth
   * provider lets users' tokens write to their accounts (Swift), else unused.
   */
  forTenant(tenantId: string, token?: string): ObjectStore;
  close(): Promise<void>;
}

/** Base of the errors stores raise. `retryable` tells the retry layer what to do. */
export class StoreError extends Error {
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly code: string;
  constructor(message: string, opts: { retryable: boolean; status?: number; code: string; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'StoreError';
    this.retryable = opts.retryable;
    this.status = opts.status;
    this.code = opts.code;
  }
}

export class NotFoundError extends StoreError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: false, status: 404, code: 'ENOENT', cause });
    this.name = 'NotFoundError';
  }
}

/** True when err says the object (or container) does not exist; unwraps causes. */
export function isNotFound(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof NotFoundError) return true;
  }
  return false;
}

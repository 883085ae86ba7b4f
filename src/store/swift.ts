// One job: the OpenStack Swift object store (restic's swift backend). Each
// ObjectStore call becomes one Swift request (list: one per page of names); this
// file only translates calls and classifies answers — retries are RetryStore's.
//
//   ensureContainer  PUT    <account>/<container>            201 new, 202 existing
//   put              PUT    <account>/<container>/<name>     201; ETag: <md5> → Swift answers 422 to a damaged body
//   get              GET    …/<name>                         200; segments as received, byte count checked
//   head             HEAD   …/<name>                         200 → info, 404 → null
//   delete           DELETE …/<name>                         204 → true, 404 → false
//   list             GET    <account>/<container>?format=json&prefix=&marker=&limit=  until a short page
//
// The account is <storage_url_prefix><tenant> (…/v1/AUTH_ + tenant). Requests carry
// either the caller's own token (auth.provider = "swift": used as it is; a 401 is
// final, code EAUTH) or the provider's service credential (a reseller-admin-level
// user: on a 401 the token is dropped and the request is sent once more with a
// fresh one).
//
// Answers: 404 → NotFoundError; 408, 429, 5xx and connection errors → retryable
// StoreError; other 4xx → permanent StoreError with Swift's status and the start
// of its body; 422 on put → code EBADMSG. Every response body is read or dumped
// so undici can reuse the connection.
//
// With `workers` > 0 the requests go out from worker threads (swift-http-pool.ts,
// each with its own keep-alive undici Agent and its share of the `concurrency`
// connections per origin), so the JS thread neither writes nor reads bodies nor
// runs undici for them; it keeps the tokens, names and answers' meaning. By
// default, or given its own `dispatcher` (tests), the store sends from the JS thread.
// Authentication (TokenManager) uses the provider's `dispatcher` on the JS thread.
//
// The JS thread never hashes or copies chunk bytes: put posts the body to a
// worker as a view of shared memory (the engine's chunk buffers), get returns the
// body the worker gathered into shared memory (on the JS thread: the received
// segments). get checks the length and (with native md5, on the pool) the ETag;
// the engine then checks each chunk against its digest name.
import { Agent, type Dispatcher } from 'undici';
import { md5 } from '../native/index.js';
import type { SwiftStoreConfig } from '../config.js';
import {
  NotFoundError,
  StoreError,
  type GetOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoreProvider,
} from './object-store.js';
import { TokenManager, header, networkError, snippetOf, statusError, type SwiftCredentials } from './swift-auth.js';
import { DispatcherHttp, type SwiftHttp, type SwiftHttpMethod, type SwiftHttpResponse } from './swift-http.js';
import { SwiftHttpPool, WorkerLostError } from './swift-http-pool.js';
import { MAX_CONTAINER_BYTES, MAX_OBJECT_BYTES, badText, show } from './names.js';

/** Swift's largest (and default) listing page. */
const LIST_LIMIT = 1000;

export interface SwiftStoreOptions {
  /** the tenant id is appended: http://127.0.0.1:8080/v1/AUTH_ + tenant */
  storageUrlPrefix: string;
  /** the service credential; without one, forTenant() needs the caller's token */
  credentials?: SwiftCredentials;
  /** connections per origin (parallel requests to the proxy); default 16 */
  concurrency?: number;
  /** headers and body (idle) timeout per request, seconds; default 60 */
  timeoutSeconds?: number;
  /** names per listing request (Swift's maximum, 1000, by default; tests use less) */
  listPageSize?: number;
  /**
   * worker threads sending the store's requests, the connections split among
   * them; at most `concurrency`; 0 (the default): send from the JS thread
   */
  workers?: number;
  /** send every request through this dispatcher, from the JS thread, instead of own Agents and workers (not closed by close()) */
  dispatcher?: Dispatcher;
}

// Measured on 2 cores with a co-located Swift, sending from the JS thread was
// faster (docs/performance.md); more cores and a remote Swift may favour workers.
const DEFAULT_WORKERS = 0;

interface Shared {
  http: SwiftHttp;
  timeoutMs: number;
  listPageSize: number;
}

type RequestOptions = {
  signal: AbortSignal | undefined;
  headers?: Record<string, string>;
  body?: Buffer;
  /** keep a 2xx answer's body (else it is dumped) */
  read?: 'all';
};

type Credential = { kind: 'user'; token: string } | { kind: 'service'; tokens: TokenManager };

/** Hands out SwiftStores for tenants' accounts; all share one connection pool per origin. */
export class SwiftStoreProvider implements StoreProvider {
  readonly kind = 'swift' as const;
  readonly storageUrlPrefix: string;
  /** the JS thread's dispatcher: the token manager's (SwiftTokenAuth may share it); the stores' too when given or with workers: 0 */
  readonly dispatcher: Dispatcher;
  /** the service credential's tokens, when one is configured */
  readonly tokens: TokenManager | undefined;
  readonly #own: Agent | undefined;
  readonly #shared: Shared;

  constructor(opts: SwiftStoreOptions) {
    let prefix: URL;
    try {
      prefix = new URL(opts.storageUrlPrefix);
    } catch (cause) {
      throw new StoreError(`swift store: storage_url_prefix ${JSON.stringify(opts.storageUrlPrefix)} is not a URL`, { retryable: false, code: 'EINVAL', cause });
    }
    if (prefix.protocol !== 'http:' && prefix.protocol !== 'https:') {
      throw new StoreError(`swift store: storage_url_prefix ${opts.storageUrlPrefix} is not an http(s) URL`, { retryable: false, code: 'EINVAL' });
    }
    this.storageUrlPrefix = opts.storageUrlPrefix;
    const timeoutMs = (opts.timeoutSeconds ?? 60) * 1000;
    const listPageSize = opts.listPageSize ?? LIST_LIMIT;
    if (!(listPageSize >= 1 && listPageSize <= LIST_LIMIT)) {
      throw new RangeError(`swift store: listPageSize must be 1..${LIST_LIMIT}, not ${opts.listPageSize}`);
    }
    const concurrency = opts.concurrency ?? 16;
    const workers = Math.min(opts.workers ?? DEFAULT_WORKERS, concurrency);
    if (!(workers >= 0)) throw new RangeError(`swift store: workers must be 0 or more, not ${opts.workers}`);
    let http: SwiftHttp;
    if (opts.dispatcher) {
      this.dispatcher = opts.dispatcher;
      http = new DispatcherHttp(opts.dispatcher);
    } else {
      this.#own = new Agent({
        connections: concurrency,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connectTimeout: Math.min(timeoutMs, 10_000),
      });
      this.dispatcher = this.#own;
      http = workers > 0 ? new SwiftHttpPool({ workers, connections: concurrency, timeoutMs }) : new DispatcherHttp(this.#own);
    }
    this.#shared = { http, timeoutMs, listPageSize };
    this.tokens = opts.credentials ? new TokenManager(opts.credentials, { dispatcher: this.dispatcher, timeoutMs }) : undefined;
  }

  /** From the [store] table; the service credential only when auth_url, user and key are all set. */
  static fromConfig(cfg: SwiftStoreConfig, opts: Pick<SwiftStoreOptions, 'dispatcher' | 'listPageSize'> = {}): SwiftStoreProvider {
    const credentials: SwiftCredentials | undefined =
      cfg.auth_url && cfg.user && cfg.key
        ? {
            authUrl: cfg.auth_url,
            version: cfg.auth_version,
            user: cfg.user,
            key: cfg.key,
            userDomain: cfg.user_domain,
            project: cfg.project,
            projectDomain: cfg.project_domain,
          }
        : undefined;
    return new SwiftStoreProvider({
      storageUrlPrefix: cfg.storage_url_prefix,
      credentials,
      concurrency: cfg.concurrency,
      workers: cfg.http_workers,
      timeoutSeconds: cfg.timeout_seconds,
      ...opts,
    });
  }

  /**
   * The store of <storage_url_prefix><tenantId>. With `token` (the caller's own
   * Swift token) requests use it as it is; without, the service credential.
   */
  forTenant(tenantId: string, token?: string): SwiftStore {
    const where = `open swift store for tenant ${show(tenantId)}`;
    const bad = tenantId === '' ? 'empty' : tenantId.includes('/') ? "contains '/'" : badText(tenantId);
    if (bad) throw new StoreError(`${where}: invalid tenant id: ${bad}`, { retryable: false, code: 'EINVAL' });
    let cred: Credential;
    if (token !== undefined && token !== '') cred = { kind: 'user', token };
    else if (this.tokens) cred = { kind: 'service', tokens: this.tokens };
    else throw new StoreError(`${where}: no token given and no service credential configured ([store] auth_url, user, key)`, { retryable: false, code: 'EAUTH' });
    return new SwiftStore(this.storageUrlPrefix + encodeURIComponent(tenantId), cred, this.#shared);
  }

  async close(): Promise<void> {
    await this.#shared.http.close();
    await this.#own?.close();
  }
}

/** One Swift account. Made by SwiftStoreProvider.forTenant(). */
export class SwiftStore implements ObjectStore {
  readonly describe: string;
  readonly #origin: string;
  /** the account's path, e.g. /v1/AUTH_test */
  readonly #path: string;
  readonly #cred: Credential;
  readonly #shared: Shared;

  constructor(accountUrl: string, cred: Credential, shared: Shared) {
    const u = new URL(accountUrl);
    this.describe = `swift ${accountUrl}`;
    this.#origin = u.origin;
    this.#path = u.pathname.replace(/\/+$/, '');
    this.#cred = cred;
    this.#shared = shared;
  }

  async ensureContainer(container: string, opts: GetOptions = {}): Promise<void> {
    const where = `create container ${show(container)} (${this.describe})`;
    const path = this.#containerPath(where, container);
    const res = await this.#request(where, 'PUT', path, { signal: opts.signal, headers: { 'content-length': '0' } });
    // 201 Created, or 202 Accepted when it exists already (with a small HTML body).
    if (res.statusCode === 201 || res.statusCode === 202 || res.statusCode === 204) return;
    throw failure(where, res);
  }

  async put(container: string, name: string, body: Buffer, opts: PutOptions = {}): Promise<void> {
    const where = this.#where('put', container, name);
    const path = this.#objectPath(where, container, name);
    const md5 = opts.md5?.toLowerCase(); // Swift compares the ETag case-sensitively with its lower-case hex
    const headers: Record<string, string> = {
      'content-length': String(body.length),
      'content-type': opts.contentType ?? 'application/octet-stream',
    };
    if (md5 !== undefined) headers.etag = md5;
    const res = await this.#request(where, 'PUT', path, { signal: opts.signal, headers, body });
    if (res.statusCode === 201) {
      const got = etagOf(res);
      if (md5 !== undefined && got !== undefined && got !== md5) {
        throw new StoreError(`${where}: Swift stored the object with ETag ${got}, not the MD5 sent (${md5})`, { retryable: false, code: 'EBADMSG' });
      }
      return;
    }
    if (res.statusCode === 404) throw await this.#putNotFound(where, container, opts.signal);
    throw failure(where, res, res.statusCode === 422 ? `Swift refused the body: its MD5 is not the ETag sent, ${md5 ?? '(none)'}` : undefined);
  }

  async get(container: string, name: string, opts: GetOptions = {}): Promise<Buffer[]> {
    const where = this.#where('get', container, name);
    const path = this.#objectPath(where, container, name);
    // The body as the worker gathered it (one buffer of shared memory), or on the
    // JS thread the segments undici handed over: never copied here.
    const res = await this.#request(where, 'GET', path, { signal: opts.signal, read: 'all' });
    if (res.statusCode !== 200) throw failure(where, res);
    const length = header(res, 'content-length');
    if (length !== undefined && Number(length) !== res.received) {
      throw new StoreError(`${where}: received ${res.received} of ${length} bytes`, { retryable: true, code: 'EIO' });
    }
    const body = res.body.length ? res.body : [Buffer.alloc(0)];
    // The ETag of a plain object is the MD5 of its body: checked on the pool
    // (native md5), never on the JS thread. A large-object manifest's ETag is
    // quoted and is not the body's MD5: not checked (we never write those).
    const etag = header(res, 'etag');
    if (etag !== undefined && /^[0-9a-f]{32}$/i.test(etag)) {
      const got = await md5(body);
      if (got !== etag.toLowerCase()) {
        throw new StoreError(`${where}: the body's MD5 ${got} is not its ETag ${etag}: damaged in transit`, { retryable: true, code: 'EBADMSG' });
      }
    }
    return body;
  }

  /** Swift answers a PUT once the object is on disk: nothing to flush. */
  async flush(): Promise<void> {}

  async head(container: string, name: string, opts: GetOptions = {}): Promise<ObjectInfo | null> {
    const where = this.#where('head', container, name);
    const path = this.#objectPath(where, container, name);
    const res = await this.#request(where, 'HEAD', path, { signal: opts.signal });
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw failure(where, res);
    // X-Timestamp (float seconds) is exact; Last-Modified is rounded up to the second.
    const ts = Number(header(res, 'x-timestamp'));
    const lastModified = Number.isFinite(ts) && ts > 0 ? new Date(Math.round(ts * 1000)) : new Date(header(res, 'last-modified') ?? NaN);
    const info: ObjectInfo = { name, bytes: Number(header(res, 'content-length') ?? NaN), lastModified };
    const etag = etagOf(res);
    if (etag !== undefined) info.etag = etag;
    return info;
  }

  async delete(container: string, name: string, opts: GetOptions = {}): Promise<boolean> {
    const where = this.#where('delete', container, name);
    const path = this.#objectPath(where, container, name);
    const res = await this.#request(where, 'DELETE', path, { signal: opts.signal });
    if (res.statusCode === 404) return false;
    if (res.statusCode >= 200 && res.statusCode <= 299) return true;
    throw failure(where, res);
  }

  async *list(container: string, prefix: string, opts: GetOptions = {}): AsyncGenerator<ObjectInfo> {
    const where = `list ${show(prefix)}* in container ${show(container)} (${this.describe})`;
    const path = this.#containerPath(where, container);
    if (badText(prefix)) return; // no valid name starts with it
    const limit = this.#shared.listPageSize;
    let marker = '';
    for (;;) {
      const query = `?format=json&limit=${limit}&prefix=${encodeURIComponent(prefix)}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`;
      const res = await this.#request(where, 'GET', path + query, { signal: opts.signal, read: 'all' });
      // a missing container lists nothing; 204 is an empty plain-text listing
      if (res.statusCode === 404 || res.statusCode === 204) return;
      if (res.statusCode !== 200) throw failure(where, res);
      let page: unknown;
      try {
        page = JSON.parse((res.body.length === 1 ? res.body[0]! : Buffer.concat(res.body)).toString('utf8'));
      } catch (err) {
        throw new StoreError(`${where}: the listing is not JSON: ${(err as Error).message}`, { retryable: true, code: 'EPROTO', cause: err });
      }
      if (!Array.isArray(page)) throw new StoreError(`${where}: the listing is not a JSON array`, { retryable: true, code: 'EPROTO' });
      for (const entry of page as SwiftListEntry[]) {
        if (typeof entry?.name !== 'string') continue; // a "subdir" entry (only with delimiter=)
        const info: ObjectInfo = { name: entry.name, bytes: Number(entry.bytes), lastModified: swiftTime(entry.last_modified) };
        if (typeof entry.hash === 'string') info.etag = entry.hash;
        yield info;
      }
      if (page.length < limit) return;
      marker = (page[page.length - 1] as SwiftListEntry).name ?? (page[page.length - 1] as SwiftListEntry).subdir ?? '';
      if (!marker) return;
    }
  }

  /**
   * Sends one request with the right token. Service credential: a 401 drops the
   * token and the request goes once more with a fresh one. User token: a 401 is final.
   */
  async #request(where: string, method: SwiftHttpMethod, path: string, opts: RequestOptions): Promise<SwiftHttpResponse> {
    const cred = this.#cred;
    if (cred.kind === 'user') {
      const res = await this.#send(where, method, path, cred.token, opts);
      if (res.statusCode === 401) {
        throw httpError(where, res, "the caller's token was refused: it expired or was revoked, and a user's token cannot be renewed");
      }
      return res;
    }
    let token = await serviceToken(where, cred.tokens, opts.signal);
    let res = await this.#send(where, method, path, token, opts);
    if (res.statusCode !== 401) return res;
    cred.tokens.invalidate(token);
    token = await serviceToken(where, cred.tokens, opts.signal);
    res = await this.#send(where, method, path, token, opts);
    if (res.statusCode === 401) throw httpError(where, res, 'a fresh token of the service credential was refused too');
    return res;
  }

  /** One exchange (swift-http.ts: the answer's body read or dumped); failures below HTTP as StoreErrors. */
  async #send(where: string, method: SwiftHttpMethod, path: string, token: string, opts: RequestOptions): Promise<SwiftHttpResponse> {
    try {
      return await this.#shared.http.send(
        {
          origin: this.#origin,
          path,
          method,
          headers: { ...opts.headers, 'x-auth-token': token },
          body: opts.body ?? null,
          timeoutMs: this.#shared.timeoutMs,
          read: opts.read ?? 'dump',
        },
        opts.signal,
      );
    } catch (err) {
      if (err instanceof WorkerLostError) throw new StoreError(`${where}: ${err.message}`, { retryable: true, code: err.code, cause: err });
      throw networkError(where, err, opts.signal);
    }
  }

  #where(op: string, container: string, name: string): string {
    return `${op} ${show(name)} in container ${show(container)} (${this.describe})`;
  }

  /**
   * What a put's 404 means. Swift's proxy answers an object PUT (and a container
   * HEAD) with 404 both when the container is missing and when it cannot learn
   * the account's or container's info — their servers down, or not up yet after a
   * restart. The container's and then the account's own answers tell the two
   * apart: the container there → a passing fault; the account there (or
   * refusing us) but not the container → really missing; the account not
   * answering (5xx, or a network error thrown from here) → retryable.
   * The container is never re-created behind the job's back: older backups'
   * chunks it held would be gone while a new backup still counted on them.
   */
  async #putNotFound(where: string, container: string, signal: AbortSignal | undefined): Promise<StoreError> {
    const c = await this.#request(where, 'HEAD', this.#containerPath(where, container), { signal });
    if (c.statusCode === 404) {
      const a = await this.#request(where, 'HEAD', this.#path, { signal });
      if (a.statusCode < 500) return new NotFoundError(`${where}: 404 Not Found: the container does not exist`);
    }
    return new StoreError(`${where}: 404 Not Found, but Swift could not say whether the container exists (its HEAD: ${c.statusCode}); its servers may be starting`, {
      retryable: true,
      status: 404,
      code: 'EAGAIN',
    });
  }

  /** The container's path, or a permanent EINVAL for a name Swift would read as something else. */
  #containerPath(where: string, container: string): string {
    let why = badText(container);
    if (!why && container === '') why = 'empty';
    if (!why && container.includes('/')) why = "contains '/'";
    if (!why && (container === '.' || container === '..')) why = `'${container}'`; // a URL path would resolve it
    if (!why && Buffer.byteLength(container) > MAX_CONTAINER_BYTES) why = `longer than ${MAX_CONTAINER_BYTES} bytes`;
    if (why) throw new StoreError(`${where}: invalid container name: ${why}`, { retryable: false, code: 'EINVAL' });
    return `${this.#path}/${encodeURIComponent(container)}`;
  }

  /**
   * The object's path: each '/'-separated part of the name encoded, the slashes
   * kept; "." and ".." parts as %2E so nothing on the way resolves them as dot
   * segments (Swift decodes them back).
   */
  #objectPath(where: string, container: string, name: string): string {
    const cpath = this.#containerPath(where, container);
    let why = badText(name);
    if (!why && name === '') why = 'empty';
    if (!why && Buffer.byteLength(name) > MAX_OBJECT_BYTES) why = `longer than ${MAX_OBJECT_BYTES} bytes`;
    if (why) throw new StoreError(`${where}: invalid object name: ${why}`, { retryable: false, code: 'EINVAL' });
    return `${cpath}/${name.split('/').map(encodeSegment).join('/')}`;
  }
}

interface SwiftListEntry {
  name?: string;
  subdir?: string;
  bytes?: number;
  hash?: string;
  last_modified?: string;
}

/** A valid token of the service credential; its failure as a StoreError naming the call. */
async function serviceToken(where: string, tokens: TokenManager, signal: AbortSignal | undefined): Promise<string> {
  try {
    return (await tokens.token(signal)).token;
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    throw new StoreError(`${where}: ${err.message}`, { retryable: err.retryable, status: err.status, code: err.code, cause: err });
  }
}

/** A non-success answer as the store's error: 404 → NotFoundError, else a StoreError with the status and the body's start. */
function failure(where: string, res: SwiftHttpResponse, extra?: string): StoreError {
  if (res.statusCode === 404) return new NotFoundError(`${where}: 404 Not Found`);
  return httpError(where, res, extra);
}

/** A non-2xx answer as a StoreError: "<where>: 403 Forbidden: <the body's text>". */
function httpError(where: string, res: SwiftHttpResponse, extra?: string): StoreError {
  return statusError(where, res.statusCode, snippetOf(res.body), extra);
}

/** The response's ETag without quotes (Swift quotes those of large-object manifests), lower case. */
function etagOf(res: SwiftHttpResponse): string | undefined {
  const v = header(res, 'etag');
  return v === undefined ? undefined : v.replace(/^"(.*)"$/, '$1').toLowerCase();
}

/** Swift listing times are UTC without a zone and with microseconds: "2026-11-27T07:54:05.174870". */
function swiftTime(v: unknown): Date {
  if (typeof v !== 'string') return new Date(NaN);
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,3})?\d*(Z|[+-]\d\d:?\d\d)?$/.exec(v);
  return m ? new Date(`${m[1]}${m[2] ?? ''}${m[3] ?? 'Z'}`) : new Date(v);
}

function encodeSegment(s: string): string {
  return s === '.' ? '%2E' : s === '..' ? '%2E%2E' : encodeURIComponent(s);
}

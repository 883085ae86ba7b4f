// One job: turn a Swift service credential into a token and a storage URL, and
// keep one valid token for the Swift store.
//
//   Swift v1 (tempauth, swauth):  GET auth_url with X-Auth-User / X-Auth-Key
//     → X-Auth-Token, X-Storage-Url, X-Auth-Token-Expires (seconds left)
//   Keystone v3 password auth:    POST <auth_url>/auth/tokens, user (name, domain)
//     and password, scoped to a project (name, domain)
//     → X-Subject-Token header; body token.expires_at, token.issued_at and the
//       catalog, whose object-store service's public endpoint is the storage URL
//
// TokenManager caches the token and renews it before it expires: once less than
// max(60 s, 10 % of its lifetime) remains (at most half its lifetime), a renewal
// starts in the background while callers keep the still-valid token; callers
// wait only when there is no valid token. One renewal is in flight at a time.
// invalidate(token) after a 401 drops that token (only if it is still the
// current one, so a burst of 401s costs one re-authentication).
//
// Errors are StoreErrors: "swift auth at <url> for user <u>: 401 Unauthorized".
// 401/403 (and other 4xx) are permanent; connection errors, 408, 429 and 5xx
// are retryable.
import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import { StoreError } from './object-store.js';
import { errorStart } from './swift-http.js';
import { untilAborted } from '../util/abort.js';

export interface SwiftCredentials {
  /** v1: the auth endpoint (http://host:8080/auth/v1.0); v3: the identity API root (http://host:5000/v3) */
  authUrl: string;
  version: '1' | '3';
  /** v1: "account:user"; v3: the user's name */
  user: string;
  /** v1: the key; v3: the password */
  key: string;
  /** v3: the user's domain name (default "Default") */
  userDomain?: string;
  /** v3: the project (name) the token is scoped to; required for v3 */
  project?: string;
  /** v3: the project's domain name (default "Default") */
  projectDomain?: string;
}

export interface SwiftToken {
  token: string;
  /** the credential's own account URL (v1 X-Storage-Url; v3 the catalog's public object-store endpoint) */
  storageUrl: string;
  /** when it was obtained and when it expires, in ms since the epoch (local clock) */
  issuedAt: number;
  expiresAt: number;
}

export interface AuthRequestOptions {
  /** the undici dispatcher (Agent/Pool) to send the request with */
  dispatcher: Dispatcher;
  signal?: AbortSignal;
  /** headers and body timeout, ms (default 60 s) */
  timeoutMs?: number;
  /** the clock, ms since the epoch (default Date.now) */
  now?: () => number;
}

/** Assumed lifetime when the server does not say (v1 without X-Auth-Token-Expires). */
const DEFAULT_LIFETIME_MS = 3600_000;
/** Wait this long after a failed background renewal before trying again. */
const RENEW_RETRY_MS = 5_000;
const SNIPPET = 200;

/** Network failures below HTTP: another attempt may work. */
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** HTTP statuses worth another attempt. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Authenticates once. Rejects with a StoreError (code EAUTH for refused credentials). */
export async function swiftAuthenticate(creds: SwiftCredentials, opts: AuthRequestOptions): Promise<SwiftToken> {
  return creds.version === '3' ? keystoneV3(creds, opts) : swiftV1(creds, opts);
}

async function swiftV1(creds: SwiftCredentials, opts: AuthRequestOptions): Promise<SwiftToken> {
  const where = `swift auth at ${creds.authUrl} for user ${creds.user}`;
  const now = opts.now ?? Date.now;
  const res = await send(where, creds.authUrl, opts, {
    method: 'GET',
    headers: { 'x-auth-user': creds.user, 'x-auth-key': creds.key },
  });
  if (res.statusCode < 200 || res.statusCode > 299) throw await httpError(where, res);
  await res.body.dump();
  const token = header(res, 'x-auth-token') ?? header(res, 'x-storage-token');
  const storageUrl = header(res, 'x-storage-url');
  if (!token || !storageUrl) {
    throw new StoreError(`${where}: the answer (${res.statusCode}) has no ${token ? 'X-Storage-Url' : 'X-Auth-Token'} header`, { retryable: false, code: 'EPROTO' });
  }
  const issuedAt = now();
  const seconds = Number(header(res, 'x-auth-token-expires'));
  const lifetime = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_LIFETIME_MS;
  return { token, storageUrl, issuedAt, expiresAt: issuedAt + lifetime };
}

interface KeystoneBody {
  token?: {
    expires_at?: unknown;
    issued_at?: unknown;
    catalog?: Array<{ type?: unknown; endpoints?: Array<{ interface?: unknown; url?: unknown }> }>;
  };
}

async function keystoneV3(creds: SwiftCredentials, opts: AuthRequestOptions): Promise<SwiftToken> {
  const url = `${creds.authUrl.replace(/\/+$/, '')}/auth/tokens`;
  const where = `keystone auth at ${url} for user ${creds.user} (project ${creds.project ?? '?'})`;
  if (!creds.project) throw new StoreError(`${where}: no project to scope the token to`, { retryable: false, code: 'EINVAL' });
  const now = opts.now ?? Date.now;
  const body = JSON.stringify({
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: creds.user, domain: { name: creds.userDomain || 'Default' }, password: creds.key } },
      },
      scope: { project: { name: creds.project, domain: { name: creds.projectDomain || 'Default' } } },
    },
  });
  const res = await send(where, url, opts, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body });
  if (res.statusCode < 200 || res.statusCode > 299) throw await httpError(where, res);
  const issuedAt = now();
  let doc: KeystoneBody;
  try {
    doc = (await res.body.json()) as KeystoneBody;
  } catch (cause) {
    throw new StoreError(`${where}: the answer is not JSON: ${(cause as Error).message}`, { retryable: false, code: 'EPROTO', cause });
  }
  const token = header(res, 'x-subject-token');
  if (!token) throw new StoreError(`${where}: the answer (${res.statusCode}) has no X-Subject-Token header`, { retryable: false, code: 'EPROTO' });
  const expires = parseTime(doc.token?.expires_at);
  if (expires === undefined) throw new StoreError(`${where}: the answer has no valid token.expires_at`, { retryable: false, code: 'EPROTO' });
  // Lifetime from the server's own two times, so a skewed local clock does not matter.
  const issued = parseTime(doc.token?.issued_at);
  const lifetime = issued !== undefined && issued < expires ? expires - issued : expires - issuedAt;
  const storageUrl = doc.token?.catalog
    ?.find((s) => s.type === 'object-store')
    ?.endpoints?.find((e) => e.interface === 'public' && typeof e.url === 'string')?.url as string | undefined;
  if (!storageUrl) {
    throw new StoreError(`${where}: the token's catalog has no public object-store endpoint`, { retryable: false, code: 'EPROTO' });
  }
  return { token, storageUrl, issuedAt, expiresAt: issuedAt + lifetime };
}

/** Keystone times: ISO 8601, often with microseconds ("2026-11-27T08:00:00.000000Z"). */
function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Keeps one valid token for a credential. token() resolves with a token that has
 * not expired; invalidate() drops a token the server refused.
 */
export class TokenManager {
  readonly credentials: SwiftCredentials;
  readonly #opts: Required<Pick<AuthRequestOptions, 'dispatcher' | 'timeoutMs' | 'now'>>;
  #current: SwiftToken | undefined;
  #renewing: Promise<SwiftToken> | undefined;
  #renewFailedAt = -Infinity;
  /** requests made so far (for logs and tests) */
  authentications = 0;

  constructor(credentials: SwiftCredentials, opts: Omit<AuthRequestOptions, 'signal'>) {
    this.credentials = credentials;
    this.#opts = { dispatcher: opts.dispatcher, timeoutMs: opts.timeoutMs ?? 60_000, now: opts.now ?? Date.now };
  }

  /** The cached token, if any (it may be expired). */
  get current(): SwiftToken | undefined {
    return this.#current;
  }

  /** A token that has not expired: the cached one, or a fresh one. */
  async token(signal?: AbortSignal): Promise<SwiftToken> {
    signal?.throwIfAborted();
    const now = this.#opts.now();
    const cur = this.#current;
    if (cur && now < cur.expiresAt) {
      if (now >= renewAt(cur) && !this.#renewing && now - this.#renewFailedAt >= RENEW_RETRY_MS) {
        // Renew ahead in the background; a failure is seen by whoever needs the next token.
        this.#renew().catch(() => {
          this.#renewFailedAt = this.#opts.now();
        });
      }
      return cur;
    }
    return untilAborted(this.#renewing ?? this.#renew(), signal);
  }

  /** Drops `token` when it is the cached one (the server answered 401), so the next token() authenticates. */
  invalidate(token: string): void {
    if (this.#current?.token === token) this.#current = undefined;
  }

  #renew(): Promise<SwiftToken> {
    // One request for everybody: not tied to any caller's signal (only to the timeout).
    const p = (async () => {
      try {
        this.authentications++;
        const tok = await swiftAuthenticate(this.credentials, this.#opts);
        this.#current = tok;
        return tok;
      } finally {
        this.#renewing = undefined;
      }
    })();
    this.#renewing = p;
    return p;
  }
}

/** When to start renewing: max(60 s, 10 % of the lifetime) before expiry, but not in the first half. */
function renewAt(t: SwiftToken): number {
  const life = t.expiresAt - t.issuedAt;
  return t.expiresAt - Math.min(life / 2, Math.max(60_000, life / 10));
}

// ---------------------------------------------------------------- HTTP helpers
// send/httpError/bodySnippet: requests sent here and by auth/swift-tokens.ts;
// the rest also classify the Swift store's answers (swift.ts, swift-http-worker.ts).

/** One request through the dispatcher; network errors become StoreErrors naming `where`. */
export async function send(
  where: string,
  url: string,
  opts: { dispatcher: Dispatcher; signal?: AbortSignal; timeoutMs?: number },
  req: { method: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string | Buffer },
): Promise<Dispatcher.ResponseData> {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new StoreError(`${where}: invalid URL ${url}`, { retryable: false, code: 'EINVAL', cause });
  }
  try {
    return await opts.dispatcher.request({
      origin: u.origin,
      path: u.pathname + u.search,
      method: req.method,
      headers: req.headers ?? {},
      body: req.body ?? null,
      signal: opts.signal ?? null,
      headersTimeout: opts.timeoutMs ?? null,
      bodyTimeout: opts.timeoutMs ?? null,
      // keep the connection after a HEAD (undici closes it by default; Swift sends no HEAD body)
      ...(req.method === 'HEAD' ? { reset: false } : {}),
    });
  } catch (err) {
    throw networkError(where, err, opts.signal);
  }
}

/** A failure below HTTP as a StoreError (retryable when transient); aborts pass through unchanged. */
export function networkError(where: string, err: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted || err instanceof StoreError || (err as { name?: unknown })?.name === 'AbortError') return err;
  const code = errorCode(err);
  if (code === undefined) return err; // not an I/O error: a bug, keep it as it is
  return new StoreError(`${where}: ${errorMessage(err)}`, { retryable: NETWORK_ERRORS.has(code), code, cause: err });
}

/** The error's code, or its cause's (undici and fetch wrap socket errors). */
export function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The error's message (an AggregateError without one: its errors' messages). */
export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && !err.message) return err.errors.map((e) => (e as Error).message).join('; ');
  return err instanceof Error ? err.message : String(err);
}

/** Codes for the statuses callers tell apart; others are HTTP<status>. */
const STATUS_ERRNO: Record<number, string> = { 401: 'EAUTH', 403: 'EACCES', 422: 'EBADMSG' };

/** A non-2xx answer as a StoreError: "<where>: 403 Forbidden: <the first 200 characters of the body>". */
export async function httpError(where: string, res: Dispatcher.ResponseData, extra?: string): Promise<StoreError> {
  return statusError(where, res.statusCode, await bodySnippet(res), extra);
}

/** httpError for an answer whose body is already read: `snippet` is snippetOf() its start. */
export function statusError(where: string, status: number, snippet: string, extra?: string): StoreError {
  const message = `${where}: ${status} ${STATUS_CODES[status] ?? 'Unknown'}${snippet ? `: ${snippet}` : ''}${extra ? ` (${extra})` : ''}`;
  return new StoreError(message, { retryable: retryableStatus(status), status, code: STATUS_ERRNO[status] ?? `HTTP${status}` });
}

/**
 * Reads an error body as the Swift store's requests do (swift-http.ts errorStart:
 * up to 64 KiB, a longer one is cut off, which closes the connection) and returns
 * its text without HTML tags, whitespace collapsed, cut to 200 characters.
 */
export async function bodySnippet(res: Dispatcher.ResponseData): Promise<string> {
  return snippetOf((await errorStart(res.body as AsyncIterable<Buffer>)).body);
}

/** An error body's start as text: without HTML tags, whitespace collapsed, cut to 200 characters. */
export function snippetOf(parts: Buffer[]): string {
  const text = Buffer.concat(parts).toString('utf8');
  const plain = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain.length > SNIPPET ? `${plain.slice(0, SNIPPET - 1)}…` : plain;
}

/** A response header as one string. */
export function header(res: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}


// One job: the "swift" auth provider — a caller's X-Auth-Token is valid for a
// tenant when Swift accepts it on that tenant's own account:
//
//   HEAD <storage_url_prefix><tenant> with X-Auth-Token: <token>
//     2xx → principal { tenantId: tenant, admin: false, token }
//     401 → null                       (the API answers 401)
//     403 → throw ForbiddenError       (a valid token of another account; the API answers 403)
//     404 → throw ForbiddenError       (no such account for this token; nothing may be written)
//     connection error, 5xx, other → throw StoreError (retryable for connection
//                                    errors and 5xx; the API answers 500/503, never 401)
//
// Answers (including null and forbidden) are cached per (token, tenant) for
// auth.cache_seconds (default 5), at most `maxEntries` of them (the oldest go
// first); concurrent checks of one pair share one request. Operators' admin
// tokens from the static tokens file are looked up first, so /v1.1/admin works
// without Swift; requests that name no tenant accept only those.
import { STATUS_CODES } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import type { Config } from '../config.js';
import { bodySnippet, httpError, send } from '../store/swift-auth.js';
import type { AuthProvider, Principal } from './provider.js';
import type { StaticTokenAuth } from './static-tokens.js';

/**
 * The token is valid, but not for the tenant the request names (Swift answered
 * 403, or 404: no account). The API maps it to 403 Forbidden.
 */
export class ForbiddenError extends Error {
  readonly status = 403;
  readonly code = 'EFORBIDDEN';
  readonly tenantId: string;
  constructor(tenantId: string, message: string) {
    super(message);
    this.name = 'ForbiddenError';
    this.tenantId = tenantId;
  }
}

export interface SwiftTokenAuthOptions {
  /** the tenant id is appended: http://127.0.0.1:8080/v1/AUTH_ + tenant */
  storageUrlPrefix: string;
  /** how long an answer is reused, seconds (0: never); default 5 */
  cacheSeconds?: number;
  /** at most this many cached answers; default 10 000 */
  maxEntries?: number;
  /** operators' tokens (tokens_file): their admin entries are accepted without asking Swift */
  admins?: StaticTokenAuth;
  /** share the Swift store's dispatcher; without one an own Agent is made (closed by close()) */
  dispatcher?: Dispatcher;
  /** per-request timeout, seconds; default 10 */
  timeoutSeconds?: number;
  /** the clock for the cache, ms (tests) */
  now?: () => number;
}

type Answer = { kind: 'ok'; principal: Principal } | { kind: 'unknown' } | { kind: 'forbidden'; message: string };

export class SwiftTokenAuth implements AuthProvider {
  readonly kind = 'swift' as const;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #admins: StaticTokenAuth | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #own: Agent | undefined;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  /** (tenant, token) → answer; Map order is insertion order, so the first entries are the oldest */
  readonly #cache = new Map<string, { answer: Answer; until: number }>();
  readonly #inFlight = new Map<string, Promise<Answer>>();
  /** HEAD requests sent to Swift so far (for logs and tests) */
  checks = 0;

  constructor(opts: SwiftTokenAuthOptions) {
    this.#prefix = opts.storageUrlPrefix;
    this.#ttlMs = (opts.cacheSeconds ?? 5) * 1000;
    this.#max = opts.maxEntries ?? 10_000;
    this.#admins = opts.admins;
    this.#timeoutMs = (opts.timeoutSeconds ?? 10) * 1000;
    this.#now = opts.now ?? (() => performance.now());
    if (opts.dispatcher) {
      this.#dispatcher = opts.dispatcher;
    } else {
      this.#own = new Agent({ connections: 8, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs });
      this.#dispatcher = this.#own;
    }
  }

  static fromConfig(cfg: Config, opts: Pick<SwiftTokenAuthOptions, 'admins' | 'dispatcher'> = {}): SwiftTokenAuth {
    return new SwiftTokenAuth({
      storageUrlPrefix: cfg.store.storage_url_prefix,
      cacheSeconds: cfg.auth.cache_seconds,
      timeoutSeconds: Math.min(cfg.store.timeout_seconds, 30),
      ...opts,
    });
  }

  /**
   * The principal for token on tenantId's account; null when Swift does not know
   * the token (or no tenant is named and it is no operator's admin token).
   * Throws ForbiddenError when the token is valid but not for this tenant, and a
   * StoreError when Swift cannot be asked.
   */
  async authenticate(token: string, tenantId: string | null): Promise<Principal | null> {
    const op = this.#admins?.lookup(token);
    if (op?.admin) return { tenantId: op.tenant, admin: true, token };
    if (tenantId === null || tenantId === '' || token === '') return null;
    const key = `${tenantId}\n${token}`;
    const now = this.#now();
    const hit = this.#cache.get(key);
    let answer: Answer;
    if (hit && now < hit.until) {
      answer = hit.answer;
    } else {
      let p = this.#inFlight.get(key);
      if (!p) {
        p = this.#check(key, token, tenantId).finally(() => this.#inFlight.delete(key));
        this.#inFlight.set(key, p);
      }
      answer = await p;
    }
    if (answer.kind === 'ok') return answer.principal;
    if (answer.kind === 'forbidden') throw new ForbiddenError(tenantId, answer.message);
    return null;
  }

  async close(): Promise<void> {
    await this.#own?.close();
  }

  async #check(key: string, token: string, tenantId: string): Promise<Answer> {
    const url = this.#prefix + encodeURIComponent(tenantId);
    const where = `check a token for tenant ${JSON.stringify(tenantId)} at ${url}`;
    this.checks++;
    const res = await send(where, url, { dispatcher: this.#dispatcher, timeoutMs: this.#timeoutMs }, { method: 'HEAD', headers: { 'x-auth-token': token } });
    let answer: Answer;
    const s = res.statusCode;
    if (s >= 200 && s <= 299) {
      answer = { kind: 'ok', principal: { tenantId, admin: false, token } };
    } else if (s === 401) {
      answer = { kind: 'unknown' };
    } else if (s === 403 || s === 404) {
      const why = s === 403 ? 'Swift refused the token on this account' : 'Swift has no such account for this token';
      answer = { kind: 'forbidden', message: `${where}: ${s} ${STATUS_CODES[s]}: ${why}` };
    } else {
      throw await httpError(where, res); // 5xx and the unexpected: not an answer about the token, not cached
    }
    await bodySnippet(res); // HEAD: nothing to read, but let undici reuse the connection
    this.#remember(key, answer);
    return answer;
  }

  #remember(key: string, answer: Answer): void {
    if (this.#ttlMs <= 0) return;
    this.#cache.delete(key); // re-insert at the end: the newest
    this.#cache.set(key, { answer, until: this.#now() + this.#ttlMs });
    // Over the bound: drop the oldest (all live equally long, so expired ones go first).
    for (const k of this.#cache.keys()) {
      if (this.#cache.size <= this.#max) break;
      this.#cache.delete(k);
    }
  }
}

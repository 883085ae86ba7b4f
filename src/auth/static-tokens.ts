// One job: the static auth provider — a JSON tokens file mapping each token to
// {"tenant": "...", "admin": true|false}. With no file, start-up generates one
// (mode 0600) holding an admin token and a token for tenant "demo", printed once.
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeSync, fsyncSync, closeSync, renameSync, existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config.js';
import type { AuthProvider, Principal } from './provider.js';

export interface TokenEntry {
  tenant: string;
  admin: boolean;
}

const TENANT = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseTokens(text: string, path: string): Map<string, TokenEntry> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Not the parser's message: V8 quotes the input around the error, which may be a token.
    throw new ConfigError(`config: auth.tokens_file ${path} is not valid JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(`config: auth.tokens_file ${path} must hold a JSON object of token -> {tenant, admin}`);
  const out = new Map<string, TokenEntry>();
  let n = 0;
  for (const [token, v] of Object.entries(doc)) {
    n++;
    // Name entries by position, never print a token.
    const where = `auth.tokens_file ${path}, entry ${n}`;
    if (token.length < 8) throw new ConfigError(`config: ${where}: a token must be at least 8 characters`);
    const e = v as { tenant?: unknown; admin?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.tenant !== 'string' || !TENANT.test(e.tenant)) {
      throw new ConfigError(`config: ${where}: "tenant" must be 1-64 characters of A-Z a-z 0-9 _ . -`);
    }
    if (e.admin !== undefined && typeof e.admin !== 'boolean') throw new ConfigError(`config: ${where}: "admin" must be true or false`);
    out.set(token, { tenant: e.tenant, admin: e.admin === true });
  }
  return out;
}

/** Writes a fresh tokens file when none exists; returns the generated tokens (or null). */
export function ensureTokensFile(path: string): Record<string, TokenEntry> | null {
  if (existsSync(path)) return null;
  const tokens: Record<string, TokenEntry> = {
    [randomBytes(24).toString('hex')]: { tenant: 'admin', admin: true },
    [randomBytes(24).toString('hex')]: { tenant: 'demo', admin: false },
  };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${randomBytes(8).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(tokens, null, 2) + '\n');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw err;
  }
  return tokens;
}

export class StaticTokenAuth implements AuthProvider {
  readonly kind = 'static' as const;
  readonly #tokens: Map<string, TokenEntry>;

  constructor(tokens: Map<string, TokenEntry>) {
    this.#tokens = tokens;
  }

  static fromFile(path: string): StaticTokenAuth {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new ConfigError(`config: cannot read auth.tokens_file ${path}: ${(cause as Error).message}`, { cause });
    }
    return new StaticTokenAuth(parseTokens(text, path));
  }

  /** An admin token from the file, if any (operators' tools, tests). */
  lookup(token: string): TokenEntry | undefined {
    return this.#tokens.get(token);
  }

  async authenticate(token: string): Promise<Principal | null> {
    const e = this.#tokens.get(token);
    return e ? { tenantId: e.tenant, admin: e.admin, token } : null;
  }
}

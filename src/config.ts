// One job: the daemon's configuration — TOML file, command-line overrides,
// defaults — validated completely before anything starts. A config error names
// the key and stops start-up: the daemon never runs half-configured.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';

export interface SwiftStoreConfig {
  /** the tenant id is appended: http://127.0.0.1:8080/v1/AUTH_ + tenant */
  storage_url_prefix: string;
  /** service credential: v1 (tempauth/swauth) or Keystone v3 */
  auth_url: string;
  auth_version: '1' | '3';
  user: string;
  key: string;
  /** Keystone v3 only */
  user_domain: string;
  project: string;
  project_domain: string;
  /** parallel requests to the proxy (the connection pool size) */
  concurrency: number;
  /** threads sending the requests (0: the JS thread itself) */
  http_workers: number;
  retry_attempts: number;
  retry_max_seconds: number;
  timeout_seconds: number;
}

export interface Config {
  listen: { host: string; port: number };
  data_dir: string;
  log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** niceness of the JS thread, which serves the API (pool threads run 19 above it) */
  api_nice: number;
  auth: { provider: 'static' | 'swift'; tokens_file: string; cache_seconds: number };
  store: { type: 'fs' | 'swift'; path: string } & SwiftStoreConfig;
  backup: { chunk_size_mib: number; default_container: string; max_in_flight: number; read_concurrency: number };
  restore: { max_in_flight: number };
  jobs: { concurrency: number };
  volumes: { dir: string; loop: 'auto' | 'always' | 'never'; quota_gb: number; max_size_gb: number };
  limits: { max_read_mbps: number; max_write_mbps: number };
}

export class ConfigError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'ConfigError';
  }
}

type Kind = 'string' | 'integer' | 'number' | 'enum';
interface KeySpec {
  kind: Kind;
  values?: readonly string[];
  min?: number;
  max?: number;
}

const str: KeySpec = { kind: 'string' };
const int = (min: number, max: number): KeySpec => ({ kind: 'integer', min, max });
const num = (min: number, max: number): KeySpec => ({ kind: 'number', min, max });
const oneOf = (...values: string[]): KeySpec => ({ kind: 'enum', values });

// Every key the file may hold; anything else is an error (a typo must not be
// silently ignored on a storage server).
const SCHEMA: Record<string, KeySpec | Record<string, KeySpec>> = {
  listen: str,
  data_dir: str,
  log_level: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  api_nice: int(-20, 19),
  auth: { provider: oneOf('static', 'swift'), tokens_file: str, cache_seconds: num(0, 3600) },
  store: {
    type: oneOf('fs', 'swift'),
    path: str,
    storage_url_prefix: str,
    auth_url: str,
    auth_version: oneOf('1', '3'),
    user: str,
    key: str,
    user_domain: str,
    project: str,
    project_domain: str,
    concurrency: int(1, 256),
    http_workers: int(0, 16),
    retry_attempts: int(1, 100),
    retry_max_seconds: num(0, 86400),
    timeout_seconds: num(1, 3600),
  },
  backup: { chunk_size_mib: int(1, 64), default_container: str, max_in_flight: int(1, 256), read_concurrency: int(0, 256) },
  restore: { max_in_flight: int(1, 256) },
  jobs: { concurrency: int(1, 64) },
  volumes: { dir: str, loop: oneOf('auto', 'always', 'never'), quota_gb: int(0, 1 << 30), max_size_gb: int(1, 1 << 20) },
  limits: { max_read_mbps: num(0, 1e6), max_write_mbps: num(0, 1e6) },
};

export interface ConfigOverrides {
  configFile?: string;
  listen?: string;
  dataDir?: string;
}

function checkValue(key: string, spec: KeySpec, v: unknown): string | number {
  switch (spec.kind) {
    case 'string':
      if (typeof v !== 'string' || v === '') throw new ConfigError(`config: ${key} must be a non-empty string`);
      return v;
    case 'enum':
      if (typeof v !== 'string' || !spec.values!.includes(v)) {
        throw new ConfigError(`config: ${key} must be one of ${spec.values!.map((x) => JSON.stringify(x)).join(', ')}`);
      }
      return v;
    case 'integer':
    case 'number': {
      // TOML integers arrive as number (or bigint when huge).
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n) || (spec.kind === 'integer' && !Number.isInteger(n))) {
        throw new ConfigError(`config: ${key} must be ${spec.kind === 'integer' ? 'an integer' : 'a number'}`);
      }
      if (n < spec.min! || n > spec.max!) throw new ConfigError(`config: ${key} must be between ${spec.min} and ${spec.max}`);
      return n;
    }
    default:
      throw new ConfigError(`config: unknown key ${key}`);
  }
}

function validate(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    // Own keys only: "constructor" or "toString" must not find Object.prototype's.
    const spec = Object.hasOwn(SCHEMA, key) ? SCHEMA[key] : undefined;
    if (!spec) throw new ConfigError(`config: unknown key ${key}`);
    if (typeof (spec as KeySpec).kind === 'string') {
      out[key] = checkValue(key, spec as KeySpec, value);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`config: ${key} must be a table ([${key}])`);
    const table: Record<string, unknown> = {};
    for (const [sub, v] of Object.entries(value)) {
      const s = Object.hasOwn(spec, sub) ? (spec as Record<string, KeySpec>)[sub] : undefined;
      if (!s) throw new ConfigError(`config: unknown key ${key}.${sub}`);
      table[sub] = checkValue(`${key}.${sub}`, s, v);
    }
    out[key] = table;
  }
  return out;
}

export function parseListen(value: string, key = 'listen'): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`config: ${key} must be HOST:PORT (got ${JSON.stringify(value)})`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`config: cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (cause) {
    const where = cause instanceof TomlError ? ` at line ${cause.line}, column ${cause.column}` : '';
    throw new ConfigError(`config: ${path} is not valid TOML${where}: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
}

/** Loads and validates the configuration; throws ConfigError naming the bad key. */
export function loadConfig(o: ConfigOverrides = {}, cwd = process.cwd()): Config {
  const file = o.configFile ? validate(readConfigFile(resolve(cwd, o.configFile))) : {};
  // Relative paths in a config file are relative to that file, on the command line to the cwd.
  const fileBase = o.configFile ? dirname(resolve(cwd, o.configFile)) : cwd;
  const t = (name: string): Record<string, unknown> => (file[name] as Record<string, unknown> | undefined) ?? {};
  const path = (v: unknown, base: string, fallback: string): string =>
    typeof v === 'string' ? (isAbsolute(v) ? v : resolve(base, v)) : fallback;

  const dataDir = o.dataDir ? resolve(cwd, o.dataDir) : path(file.data_dir, fileBase, resolve(cwd, 'var'));
  const listen = o.listen ? parseListen(o.listen, '--listen') : parseListen((file.listen as string | undefined) ?? '127.0.0.1:8776');
  const auth = t('auth');
  const store = t('store');
  const backup = t('backup');
  const volumes = t('volumes');

  const cfg: Config = {
    listen,
    data_dir: dataDir,
    log_level: (file.log_level as Config['log_level'] | undefined) ?? 'info',
    api_nice: (file.api_nice as number | undefined) ?? -5,
    auth: {
      provider: (auth.provider as 'static' | 'swift' | undefined) ?? 'static',
      tokens_file: path(auth.tokens_file, fileBase, resolve(dataDir, 'tokens.json')),
      cache_seconds: (auth.cache_seconds as number | undefined) ?? 5,
    },
    store: {
      type: (store.type as 'fs' | 'swift' | undefined) ?? 'fs',
      path: path(store.path, fileBase, resolve(dataDir, 'objects')),
      storage_url_prefix: (store.storage_url_prefix as string | undefined) ?? '',
      auth_url: (store.auth_url as string | undefined) ?? '',
      auth_version: (store.auth_version as '1' | '3' | undefined) ?? '1',
      user: (store.user as string | undefined) ?? '',
      key: (store.key as string | undefined) ?? '',
      user_domain: (store.user_domain as string | undefined) ?? 'Default',
      project: (store.project as string | undefined) ?? '',
      project_domain: (store.project_domain as string | undefined) ?? 'Default',
      concurrency: (store.concurrency as number | undefined) ?? 16,
      http_workers: (store.http_workers as number | undefined) ?? 0,
      retry_attempts: (store.retry_attempts as number | undefined) ?? 10,
      retry_max_seconds: (store.retry_max_seconds as number | undefined) ?? 120,
      timeout_seconds: (store.timeout_seconds as number | undefined) ?? 60,
    },
    backup: {
      chunk_size_mib: (backup.chunk_size_mib as number | undefined) ?? 4,
      default_container: (backup.default_container as string | undefined) ?? 'volumebackups',
      max_in_flight: (backup.max_in_flight as number | undefined) ?? 24,
      // 0 = automatic: a read per core plus two, so the disk always has work while
      // every core compresses (measured: docs/performance.md).
      read_concurrency: (backup.read_concurrency as number | undefined) || availableParallelism() + 2,
    },
    restore: { max_in_flight: (t('restore').max_in_flight as number | undefined) ?? 16 },
    jobs: { concurrency: (t('jobs').concurrency as number | undefined) ?? 2 },
    volumes: {
      dir: path(volumes.dir, fileBase, resolve(dataDir, 'volumes')),
      loop: (volumes.loop as 'auto' | 'always' | 'never' | undefined) ?? 'auto',
      quota_gb: (volumes.quota_gb as number | undefined) ?? 1000,
      max_size_gb: (volumes.max_size_gb as number | undefined) ?? 1024,
    },
    limits: {
      max_read_mbps: (t('limits').max_read_mbps as number | undefined) ?? 0,
      max_write_mbps: (t('limits').max_write_mbps as number | undefined) ?? 0,
    },
  };
  checkCrossKeys(cfg);
  return cfg;
}

// Keys that only make sense together.
function checkCrossKeys(cfg: Config): void {
  if (cfg.store.type === 'swift' && !cfg.store.storage_url_prefix) {
    throw new ConfigError('config: store.storage_url_prefix is required when store.type = "swift"');
  }
  if (cfg.auth.provider === 'swift' && cfg.store.type !== 'swift') {
    throw new ConfigError('config: auth.provider = "swift" needs store.type = "swift" (tokens are checked against the Swift account)');
  }
  if (cfg.store.type === 'swift' && cfg.auth.provider === 'static' && !(cfg.store.auth_url && cfg.store.user && cfg.store.key)) {
    throw new ConfigError('config: store.auth_url, store.user and store.key (a service credential) are required for auth.provider = "static" with store.type = "swift"');
  }
  if (cfg.store.auth_version === '3' && cfg.store.auth_url && !cfg.store.project) {
    throw new ConfigError('config: store.project is required when store.auth_version = "3"');
  }
}

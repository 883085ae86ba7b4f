// A real volbackd process for end-to-end tests: its own data directory, config
// and tokens, a free port, stdout parsed for its JSON log. Stopped (and its loop
// devices detached by autoclear) when the test ends, pass or fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';
import { FsStoreProvider } from '../../src/store/fs.js';
import type { ObjectStore } from '../../src/store/object-store.js';
import { SwiftStoreProvider } from '../../src/store/swift.js';
import { swiftEnv, type SwiftEnv } from './swift.js';
import { tempDir } from './tmp.js';
import { tsLoaderArgs } from './spawn-ts.js';

export const TOKENS = {
  admin: 'admin-token-0123456789',
  t1: 'tenant1-token-0123456789',
  t2: 'tenant2-token-0123456789',
} as const;

export type StoreKind = 'fs' | 'swift';

/**
 * The store end-to-end tests run against: VOLBACKD_E2E_STORE=swift runs them
 * against a real Swift (test/e2e-swift/ sets it and imports the same test files).
 */
function e2eStore(): StoreKind {
  return process.env.VOLBACKD_E2E_STORE === 'swift' ? 'swift' : 'fs';
}

export interface DaemonHandle {
  url: string;
  store: StoreKind;
  /** the Swift the daemon writes to, when store is swift */
  swift: SwiftEnv | null;
  /** a tenant's account on the daemon's store, for tests to look at (and damage) objects */
  objects(tenant: string): ObjectStore;
  dataDir: string;
  configPath: string;
  proc: ChildProcess;
  /** every JSON log line so far */
  logs: Array<Record<string, unknown>>;
  /** resolves with the first log line matching pred (waiting up to timeoutMs) */
  waitLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface DaemonOptions {
  /** extra TOML appended to the config */
  toml?: string;
  /** reuse a data directory (restart after a kill) */
  dataDir?: string;
  /** default: e2eStore() */
  store?: StoreKind;
  /** a particular Swift (e.g. a private one a test restarts); default: the shared one */
  swift?: SwiftEnv;
  /** the Swift store's retry bounds (default SWIFT_TEST_RETRY); ignored with storeToml */
  swiftRetry?: SwiftRetry;
  /** replaces the whole [store] and [auth] tables (auth.provider = "swift" tests; swiftStoreToml() builds the [store]) */
  storeToml?: (ctx: { tokensFile: string; swift: SwiftEnv | null }) => string;
  env?: Record<string, string>;
}

export interface SwiftRetry {
  attempts: number;
  maxSeconds: number;
}

/**
 * Small retry bounds: a test that stops Swift for good should not wait minutes.
 * (equal jitter: 8 attempts wait at least 12.7 s, enough for a Swift restart)
 */
const SWIFT_TEST_RETRY: SwiftRetry = { attempts: 8, maxSeconds: 40 };

/** The [store] table of a daemon writing to swift with its reseller-admin credential; retry bounds only when given. */
export function swiftStoreToml(swift: SwiftEnv, retry?: SwiftRetry): string {
  return [
    '[store]',
    'type = "swift"',
    `storage_url_prefix = "${swift.storageUrlPrefix}"`,
    `auth_url = "${swift.authUrl}"`,
    `user = "${swift.admin.user}"`,
    `key = "${swift.admin.key}"`,
    ...(retry ? [`retry_attempts = ${retry.attempts}`, `retry_max_seconds = ${retry.maxSeconds}`] : []),
  ].join('\n');
}

const entry = new URL('../../src/bin/volbackd.ts', import.meta.url).pathname;

export async function startDaemon(t: Test, opts: DaemonOptions = {}): Promise<DaemonHandle> {
  const store = opts.store ?? e2eStore();
  const swift = store === 'swift' ? (opts.swift ?? (await swiftEnv(t))) : null;
  if (store === 'swift' && !swift) throw new Error('the Swift packages are not installed: run ./scripts/bootstrap');
  const dataDir = opts.dataDir ?? tempDir(t, 'volbackd-e2e-');
  const tokensFile = join(dataDir, 'test-tokens.json');
  writeFileSync(
    tokensFile,
    JSON.stringify({
      [TOKENS.admin]: { tenant: 'admin', admin: true },
      [TOKENS.t1]: { tenant: 't1', admin: false },
      [TOKENS.t2]: { tenant: 't2', admin: false },
    }),
    { mode: 0o600 },
  );
  const configPath = join(dataDir, 'volbackd.toml');
  writeFileSync(
    configPath,
    [
      `listen = "127.0.0.1:0"`,
      `data_dir = "${dataDir}"`,
      `log_level = "debug"`,
      opts.storeToml?.({ tokensFile, swift }) ??
        ['[auth]', `tokens_file = "${tokensFile}"`, ...(swift ? [swiftStoreToml(swift, opts.swiftRetry ?? SWIFT_TEST_RETRY)] : [])].join('\n'),
      opts.toml ?? '',
    ].join('\n') + '\n',
  );
  const proc = spawn(process.execPath, [...tsLoaderArgs(), entry, '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  // If this test process exits before its teardown runs, do not leave the daemon
  // (and the loop devices it holds) behind.
  const killOnExit = (): void => void proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  proc.once('exit', () => process.removeListener('exit', killOnExit));
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let l: Record<string, unknown>;
    try {
      l = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    logs.push(l);
    for (const w of [...waiters]) {
      if (w.pred(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));

  const waitLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
      const w = { pred, resolve: (l: Record<string, unknown>) => (clearTimeout(timer), resolve(l)) };
      waiters.push(w);
      void exited.then(() => {
        if (waiters.includes(w)) {
          clearTimeout(timer);
          reject(new Error(`volbackd exited (code ${proc.exitCode}, signal ${proc.signalCode}); stderr: ${stderr.slice(-2000)}`));
        }
      });
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  t.teardown(() => stop());

  const listening = await waitLog((l) => l.msg === 'volbackd listening', 60_000);
  const inspector = swift
    ? new SwiftStoreProvider({ storageUrlPrefix: swift.storageUrlPrefix, credentials: { authUrl: swift.authUrl, version: '1', user: swift.admin.user, key: swift.admin.key } })
    : new FsStoreProvider({ root: join(dataDir, 'objects') });
  t.teardown(() => inspector.close());
  return {
    url: String(listening.address),
    store,
    swift,
    objects: (tenant) => inspector.forTenant(tenant),
    dataDir,
    configPath,
    proc,
    logs,
    waitLog,
    stop,
  };
}

// A real OpenStack Swift for tests (scripts/swift-aio). swiftEnv(t) finds one,
// in this order:
//   1. $VOLBACKD_TEST_SWIFT_DIR, when `swift-aio status` says it runs there;
//   2. the shared instance in SHARED_SWIFT_DIR (/var/tmp/volbackd-test-swift),
//      started by test/setup/swift-start.ts (tap's `before`), when it runs;
//   3. otherwise an instance of its own in a temporary directory, on free
//      ports, started once per test process and stopped when the process's
//      tests end (tap's root teardown, and a synchronous stop at exit).
// swiftEnv(t, { private: true }) always starts an own instance, stopped and
// removed in t's teardown: for tests that stop and start Swift (others may be
// using the shared one at the same time).
// It resolves null only when the Swift packages are not installed (swiftMissing()
// says why; tests skip with that reason).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';

const run = promisify(execFile);
export const SWIFT_AIO = new URL('../../scripts/swift-aio', import.meta.url).pathname;
export const SHARED_SWIFT_DIR = '/var/tmp/volbackd-test-swift';
/** The file in the shared directory by which test/setup/swift-stop.ts knows swift-start.ts started it. */
export const STARTED_MARKER = 'started-by-tap-before';
const PACKAGES = ['swift', 'swift-proxy', 'swift-account', 'swift-container', 'swift-object', 'memcached', 'curl'];

export interface SwiftUser {
  /** "account:user" for v1 auth */
  user: string;
  key: string;
  /** the tenant id: the account is AUTH_<account> */
  account: string;
  storageUrl: string;
}

export interface SwiftEnv {
  dir: string;
  port: number;
  authUrl: string;
  /** …/v1/AUTH_ (the tenant id is appended) */
  storageUrlPrefix: string;
  /** test:tester (AUTH_test), test2:tester2 (AUTH_test2), admin:admin (reseller admin) */
  test: SwiftUser;
  test2: SwiftUser;
  admin: SwiftUser;
  /** whether this process started it (only then may a test stop and start it) */
  owned: boolean;
  /**
   * Whether its data is thrown away after the run (an own instance, or the shared
   * one that swift-start.ts started and wipes on its next start): tests then need
   * not remove what they wrote. False for an instance someone else keeps running.
   */
  scratch: boolean;
  /** a fresh v1 token of the user */
  token(user: SwiftUser): Promise<string>;
  /** stops it (an owned instance only); keepMemcached keeps the tokens valid across a restart */
  stop(opts?: { keepMemcached?: boolean }): Promise<void>;
  start(): Promise<void>;
  /** deletes every object in the container of the account, then the container (as the reseller admin) */
  removeContainer(account: string, container: string): Promise<void>;
}

/** Why no Swift can run here, or null. */
export function swiftMissing(): string | null {
  const missing = PACKAGES.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return r.status !== 0 || r.stdout.trim() !== 'install ok installed';
  });
  return missing.length ? `Swift is not installed (missing ${missing.join(', ')}; run scripts/bootstrap)` : null;
}

let perProcess: Promise<SwiftEnv> | undefined;

export async function swiftEnv(t: Test, opts: { private?: boolean } = {}): Promise<SwiftEnv | null> {
  if (swiftMissing()) return null;
  if (opts.private) {
    const env = await startOwn();
    t.teardown(() => env.dispose());
    return env;
  }
  perProcess ??= (async () => {
    for (const dir of [process.env.VOLBACKD_TEST_SWIFT_DIR, SHARED_SWIFT_DIR]) {
      if (dir && (await running(dir))) return makeEnv(dir, false, dir === SHARED_SWIFT_DIR && existsSync(join(dir, STARTED_MARKER)));
    }
    const env = await startOwn();
    // Stopped when this process's tests end: the root test's teardown. (Imported
    // here, not at the top, so the setup scripts can use this module without
    // becoming TAP tests themselves.)
    const { default: tap } = await import('tap');
    tap.teardown(() => env.dispose());
    return env;
  })();
  return perProcess;
}

/** Whether all of the instance's processes run. */
export async function running(dir: string): Promise<boolean> {
  if (!existsSync(join(dir, 'aio.env'))) return false;
  return run(SWIFT_AIO, ['status', dir]).then(
    () => true,
    () => false,
  );
}

/** Starts an instance in a fresh temporary directory on free ports (tries again on a port clash). */
async function startOwn(): Promise<SwiftEnv & { dispose(): Promise<void> }> {
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join('/var/tmp', 'volbackd-swift-'));
    const ports = await freePorts();
    try {
      await run(SWIFT_AIO, ['start', dir], {
        env: {
          ...process.env,
          SWIFT_AIO_PORT: String(ports.proxy),
          SWIFT_AIO_BACKEND_PORT: String(ports.backend),
          SWIFT_AIO_MEMCACHED_PORT: String(ports.memcached),
        },
      });
    } catch (err) {
      stopSync(dir);
      rmSync(dir, { recursive: true, force: true });
      if (attempt < 3 && /already in use/.test(String((err as { stderr?: unknown }).stderr))) continue;
      throw new Error(`swift-aio start ${dir} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
    }
    const env = await makeEnv(dir, true, true);
    // If the process dies before its teardown runs, still stop the servers.
    const onExit = (): void => stopSync(dir);
    process.once('exit', onExit);
    let disposed = false;
    return Object.assign(env, {
      async dispose(): Promise<void> {
        if (disposed) return;
        disposed = true;
        process.removeListener('exit', onExit);
        await run(SWIFT_AIO, ['stop', dir]).catch(() => stopSync(dir));
        rmSync(dir, { recursive: true, force: true });
      },
    });
  }
}

function stopSync(dir: string): void {
  spawnSync(SWIFT_AIO, ['stop', dir], { stdio: 'ignore' });
}

async function makeEnv(dir: string, owned: boolean, scratch: boolean): Promise<SwiftEnv> {
  const { stdout } = await run(SWIFT_AIO, ['env', dir]);
  const v: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) v[m[1]!] = m[2]!;
  }
  const need = (k: string): string => {
    const x = v[k];
    if (x === undefined) throw new Error(`swift-aio env ${dir}: no ${k}`);
    return x;
  };
  const prefix = need('SWIFT_STORAGE_URL_PREFIX');
  const mk = (u: string, k: string, a: string): SwiftUser => ({ user: need(u), key: need(k), account: need(a), storageUrl: prefix + need(a) });
  const authUrl = need('SWIFT_AUTH_URL');
  const env: SwiftEnv = {
    dir,
    port: Number(need('SWIFT_PORT')),
    authUrl,
    storageUrlPrefix: prefix,
    test: mk('SWIFT_USER_1', 'SWIFT_KEY_1', 'SWIFT_ACCOUNT_1'),
    test2: mk('SWIFT_USER_2', 'SWIFT_KEY_2', 'SWIFT_ACCOUNT_2'),
    admin: mk('SWIFT_ADMIN_USER', 'SWIFT_ADMIN_KEY', 'SWIFT_ADMIN_ACCOUNT'),
    owned,
    scratch,
    token: (u) => v1Token(authUrl, u),
    async stop(o = {}) {
      if (!owned) throw new Error(`will not stop the Swift in ${dir}: this process did not start it (use swiftEnv(t, { private: true }))`);
      await run(SWIFT_AIO, ['stop', dir], { env: { ...process.env, SWIFT_AIO_KEEP_MEMCACHED: o.keepMemcached ? '1' : '0' } });
    },
    async start() {
      if (!owned) throw new Error(`will not start the Swift in ${dir}: this process did not start it`);
      await run(SWIFT_AIO, ['start', dir]);
    },
    async removeContainer(account, container) {
      await removeContainer(env, account, container);
    },
  };
  return env;
}

/** A v1 (tempauth) token for user. */
async function v1Token(authUrl: string, u: SwiftUser): Promise<string> {
  const res = await fetch(authUrl, { headers: { 'x-auth-user': u.user, 'x-auth-key': u.key } });
  await res.arrayBuffer();
  const token = res.headers.get('x-auth-token');
  if (!res.ok || !token) throw new Error(`v1 auth for ${u.user} at ${authUrl}: ${res.status}`);
  return token;
}

/** Bulk-deletes the container's objects (Swift's bulk middleware), then the container; a missing one is fine. */
async function removeContainer(env: SwiftEnv, account: string, container: string): Promise<void> {
  if (!account || !container || container.includes('/')) throw new Error(`removeContainer: invalid account ${account} or container ${container}`);
  const token = await env.token(env.admin);
  const base = env.storageUrlPrefix + account;
  const c = encodeURIComponent(container);
  for (;;) {
    const res = await fetch(`${base}/${c}?format=json&limit=10000`, { headers: { 'x-auth-token': token } });
    if (res.status === 404 || res.status === 204) return void (await res.arrayBuffer());
    const names = ((await res.json()) as Array<{ name: string }>).map((o) => o.name);
    if (names.length === 0) break;
    const body = names.map((n) => `/${c}/${n.split('/').map(encodeURIComponent).join('/')}`).join('\n');
    const del = await fetch(`${base}?bulk-delete`, {
      method: 'POST',
      headers: { 'x-auth-token': token, 'content-type': 'text/plain', accept: 'application/json' },
      body,
    });
    const report = (await del.json()) as { 'Response Status'?: string; Errors?: unknown[] };
    if (!del.ok || !String(report['Response Status']).startsWith('200')) throw new Error(`bulk delete in ${base}/${c}: ${JSON.stringify(report)}`);
  }
  const res = await fetch(`${base}/${c}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
  await res.arrayBuffer();
  if (res.status !== 204 && res.status !== 404) throw new Error(`delete container ${base}/${c}: ${res.status}`);
}

/** Free ports for a new instance: proxy, memcached, and three consecutive backend ports. */
export async function freePorts(): Promise<{ proxy: number; backend: number; memcached: number }> {
  const proxy = await freePort();
  const memcached = await freePort();
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * 12000);
    const ok = await Promise.all([base, base + 1, base + 2].map((p) => portFree(p)));
    if (ok.every(Boolean) && ![base, base + 1, base + 2].some((p) => p === proxy || p === memcached)) {
      return { proxy, backend: base, memcached };
    }
  }
  throw new Error('no three consecutive free ports found');
}

/** A port nothing listens on (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// The Swift store against a real Swift 2.30 (scripts/swift-aio, via
// test/helpers/swift.ts): the conformance suite with the service credential
// (admin:admin, a reseller admin, writing into AUTH_test) and with a user's own
// token (test:tester into AUTH_test); then what only Swift shows — its own 422
// for a wrong MD5, 403 for another account's token, 401 → EAUTH, paged listings,
// re-authentication after Swift forgot the token, a restart during a series of
// puts under RetryStore, and a Swift that stays down. Answers a real Swift does
// not give on demand (503, 429, a cut-off body, a wrong ETag) come from a small
// local stand-in server at the end.
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { StoreError, isNotFound, type ObjectInfo, type ObjectStore } from '../../src/store/object-store.js';
import { RetryStore } from '../../src/store/retry.js';
import { SwiftStoreProvider, type SwiftStoreOptions } from '../../src/store/swift.js';
import { runBounded } from '../../src/util/bounded.js';
import { freePort, swiftEnv, swiftMissing, type SwiftEnv } from '../helpers/swift.js';
import { storeConformance } from './suite.js';

/** An Agent that records every request it sends. */
class CountingAgent extends Agent {
  readonly requests: Array<{ method: string; path: string; origin: string }> = [];
  override dispatch(opts: Agent.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.requests.push({ method: opts.method, path: opts.path, origin: String(opts.origin) });
    return super.dispatch(opts, handler);
  }
}

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

/** A provider writing with the reseller admin's service credential (closed at t's end). */
function serviceProvider(t: Test, env: SwiftEnv, extra: Partial<SwiftStoreOptions> = {}): SwiftStoreProvider {
  const p = new SwiftStoreProvider({
    storageUrlPrefix: env.storageUrlPrefix,
    credentials: { authUrl: env.authUrl, version: '1', user: env.admin.user, key: env.admin.key },
    concurrency: 8,
    timeoutSeconds: 30,
    ...extra,
  });
  t.teardown(() => p.close());
  return p;
}

/** A provider with no service credential: stores need the caller's token. */
function userProvider(t: Test, env: { storageUrlPrefix: string }, extra: Partial<SwiftStoreOptions> = {}): SwiftStoreProvider {
  const p = new SwiftStoreProvider({ storageUrlPrefix: env.storageUrlPrefix, concurrency: 8, timeoutSeconds: 30, ...extra });
  t.teardown(() => p.close());
  return p;
}

/**
 * The store, with every container it creates removed when t ends — only on a
 * Swift that outlives the run (a scratch one is wiped anyway, and removing the
 * suite's 1100 objects costs as long as writing them).
 */
function cleaned(t: Test, env: SwiftEnv, account: string, store: ObjectStore): ObjectStore {
  if (env.scratch) return store;
  const made = new Set<string>();
  t.teardown(async () => {
    for (const c of made) await env.removeContainer(account, c);
  });
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'ensureContainer') {
        return async (c: string, o?: { signal?: AbortSignal }) => {
          await target.ensureContainer(c, o);
          made.add(c); // only real containers: never '' (that would name the account)
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function names(it: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const out: string[] = [];
  for await (const info of it) out.push(info.name);
  return out;
}

/** The error p rejects with; fails the test when p resolves. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => Promise.reject(new Error('resolved, but a rejection was expected')),
    (err: unknown) => err,
  );
}

/** A raw request as the reseller admin: what is really in Swift, not what the store says. */
async function adminRaw(env: SwiftEnv, method: string, path: string): Promise<Response> {
  const res = await fetch(env.storageUrlPrefix + path, { method, headers: { 'x-auth-token': await env.token(env.admin) } });
  await res.arrayBuffer();
  return res;
}

const env = await swiftEnv(t);
if (!env) {
  t.test('against a real Swift', { skip: swiftMissing() ?? 'no Swift' }, async () => {});
} else {
  const userToken = await env.token(env.test);

  await storeConformance(t, 'swift store (service credential admin:admin → AUTH_test)', async (t) =>
    cleaned(t, env, env.test.account, serviceProvider(t, env).forTenant(env.test.account)),
  );
  // This one sends from worker threads (store.http_workers), the other from the JS thread (the default).
  await storeConformance(t, "swift store (test:tester's own token → AUTH_test, 2 HTTP worker threads)", async (t) =>
    cleaned(t, env, env.test.account, userProvider(t, env, { workers: 2 }).forTenant(env.test.account, userToken)),
  );

  t.test('objects land in the tenant’s account under their names, slashes kept and the rest encoded', async (t) => {
    const store = cleaned(t, env, env.test.account, serviceProvider(t, env).forTenant(env.test.account));
    t.equal(store.describe, `swift ${env.storageUrlPrefix}${env.test.account}`);
    const c = `names-${randomBytes(4).toString('hex')}`;
    await store.ensureContainer(c);
    const tricky = ['volbackd/v1/chunks/ab12', 'sp ace/per%cent/q?uery#frag+plus', 'é/😀/！', 'a//double', '.hidden/..dots', 'x/./y/../z', '..'];
    for (const [i, name] of tricky.entries()) await store.put(c, name, Buffer.from(`body ${i}`));
    t.same(await names(store.list(c, '')), [...tricky].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))), 'listed under exactly their names');
    // The user sees the same objects with the ordinary Swift API, at the path swift-client would use.
    const res = await fetch(`${env.test.storageUrl}/${c}/sp%20ace/per%25cent/q%3Fuery%23frag%2Bplus`, { headers: { 'x-auth-token': userToken } });
    t.equal(res.status, 200);
    t.equal(await res.text(), 'body 1');
    for (const [i, name] of tricky.entries()) t.equal(Buffer.concat(await store.get(c, name)).toString(), `body ${i}`, name);
  });

  t.test('Swift itself refuses a wrong md5 (422 → EBADMSG, permanent) and stores nothing; an upper-case md5 is fine', async (t) => {
    const store = cleaned(t, env, env.test.account, serviceProvider(t, env).forTenant(env.test.account));
    const c = `md5-${randomBytes(4).toString('hex')}`;
    await store.ensureContainer(c);
    const body = randomBytes(4096);
    // The store does not hash on the JS thread: only Swift can have noticed.
    const err = await failure(store.put(c, 'chunks/bad', body, { md5: md5('another body') }));
    t.match(err, { name: 'StoreError', status: 422, code: 'EBADMSG', retryable: false });
    t.match((err as Error).message, /^put chunks\/bad in container md5-\w+ \(swift http:\/\/127\.0\.0\.1:\d+\/v1\/AUTH_test\): 422 Unprocessable Entity: .*Swift refused the body/);
    t.equal((await adminRaw(env, 'HEAD', `${env.test.account}/${c}/chunks/bad`)).status, 404, 'no object in Swift');
    await store.put(c, 'chunks/good', body, { md5: md5(body).toUpperCase() });
    const info = await store.head(c, 'chunks/good');
    t.equal(info?.etag, md5(body), 'head gives the ETag');
    t.equal(info?.bytes, body.length);
  });

  t.test('head and list give the exact time of the write (X-Timestamp / last_modified as UTC)', async (t) => {
    const store = cleaned(t, env, env.test.account, serviceProvider(t, env).forTenant(env.test.account));
    const c = `time-${randomBytes(4).toString('hex')}`;
    await store.ensureContainer(c);
    const before = Date.now();
    await store.put(c, 'x', Buffer.from('x'));
    const after = Date.now();
    const head = await store.head(c, 'x');
    const [listed] = await (async () => {
      const out: ObjectInfo[] = [];
      for await (const i of store.list(c, '')) out.push(i);
      return out;
    })();
    t.ok(head && head.lastModified.getTime() >= before - 1000 && head.lastModified.getTime() <= after + 1000, `head ${head?.lastModified.toISOString()}`);
    t.ok(listed && Math.abs(listed.lastModified.getTime() - head!.lastModified.getTime()) <= 1, `list ${listed?.lastModified.toISOString()} = head`);
    t.equal(listed?.etag, md5('x'));
  });

  t.test('a token of another account cannot touch this tenant: 403, permanent, nothing written', async (t) => {
    const admin = cleaned(t, env, env.test.account, serviceProvider(t, env).forTenant(env.test.account));
    const c = `isolation-${randomBytes(4).toString('hex')}`;
    await admin.ensureContainer(c);
    await admin.put(c, 'mine', Buffer.from('of test'));
    const intruder = userProvider(t, env).forTenant(env.test.account, await env.token(env.test2));
    for (const [what, call] of [
      ['put', () => intruder.put(c, 'x', Buffer.from('x'))],
      ['ensureContainer', () => intruder.ensureContainer(`${c}-new`)],
      ['get', () => intruder.get(c, 'mine')],
      ['delete', () => intruder.delete(c, 'mine')],
      ['list', () => names(intruder.list(c, ''))],
    ] as const) {
      const err = await failure(call());
      t.match(err, { name: 'StoreError', status: 403, code: 'EACCES', retryable: false }, what);
      t.match((err as Error).message, /403 Forbidden/, `${what}: the message has Swift's status`);
    }
    t.same(await names(admin.list(c, '')), ['mine'], 'nothing written, nothing deleted (checked by the admin)');
    t.equal((await adminRaw(env, 'HEAD', `${env.test.account}/${c}-new`)).status, 404, 'no container created');
  });

  t.test('a token Swift refuses (expired, revoked, garbage) is EAUTH: 401, permanent, saying so', async (t) => {
    const store = userProvider(t, env).forTenant(env.test.account, 'AUTH_tk00000000000000000000000000000000');
    for (const [what, call] of [
      ['put', () => store.put('c', 'x', Buffer.from('x'))],
      ['get', () => store.get('c', 'x')],
      ['head', () => store.head('c', 'x')],
      ['list', () => names(store.list('c', ''))],
      ['ensureContainer', () => store.ensureContainer('c')],
    ] as const) {
      const err = await failure(call());
      t.match(err, { name: 'StoreError', status: 401, code: 'EAUTH', retryable: false }, what);
      t.match((err as Error).message, /401 Unauthorized.*the caller's token was refused/, `${what}: the message says why`);
    }
  });

  t.test('a wrong service credential fails at once with a clear message', async (t) => {
    const p = new SwiftStoreProvider({
      storageUrlPrefix: env.storageUrlPrefix,
      credentials: { authUrl: env.authUrl, version: '1', user: 'admin:admin', key: 'wrong' },
    });
    t.teardown(() => p.close());
    const err = await failure(p.forTenant(env.test.account).head('c', 'x'));
    t.match(err, { name: 'StoreError', status: 401, code: 'EAUTH', retryable: false });
    t.match((err as Error).message, new RegExp(`^head x in container c \\(swift .*\\): swift auth at ${env.authUrl} for user admin:admin: 401 Unauthorized`));
  });

  t.test('listing pages: one request per page, a short page ends it, the marker continues after odd names', async (t) => {
    const agent = new CountingAgent();
    t.teardown(() => agent.close());
    const store = cleaned(t, env, env.test.account, serviceProvider(t, env, { dispatcher: agent, listPageSize: 7 }).forTenant(env.test.account));
    const c = `pages-${randomBytes(4).toString('hex')}`;
    await store.ensureContainer(c);
    const odd = Array.from({ length: 30 }, (_, i) => `p/${String(i).padStart(2, '0')}${['', ' x', '/é', '&m=1', '+'][i % 5]}`);
    const exact = Array.from({ length: 28 }, (_, i) => `q/${String(i).padStart(2, '0')}`);
    await runBounded(odd.length + exact.length, 8, (i) => store.put(c, i < odd.length ? odd[i]! : exact[i - odd.length]!, Buffer.from([i])));
    const listings = (): number => agent.requests.filter((r) => r.method === 'GET' && r.path.includes('?format=json')).length;
    const byteOrder = (xs: string[]): string[] => [...xs].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

    let before = listings();
    t.same(await names(store.list(c, 'p/')), byteOrder(odd));
    t.equal(listings() - before, 5, '30 names in pages of 7: 7+7+7+7+2');
    before = listings();
    t.same(await names(store.list(c, 'q/')), exact);
    t.equal(listings() - before, 5, '28 names: four full pages and an empty one');
    t.equal((await names(store.list(c, ''))).length, 58, 'the whole container');
  });

  t.test('the service token is fetched once and shared by every tenant’s store, also by concurrent first calls', async (t) => {
    const agent = new CountingAgent();
    t.teardown(() => agent.close());
    const p = serviceProvider(t, env, { dispatcher: agent });
    const stores = [env.test.account, env.test2.account].map((a) => p.forTenant(a));
    await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 2]!.head('nope', `x${i}`)));
    t.equal(p.tokens?.authentications, 1);
    t.equal(agent.requests.filter((r) => r.path.startsWith('/auth/')).length, 1, 'one auth request');
    t.equal(agent.requests.length, 21);
  });

  t.test('sequential calls of every kind reuse keep-alive connections to the proxy (HEAD too)', async (t) => {
    let connects = 0;
    const connector = buildConnector({});
    const agent = new Agent({ connections: 4, connect: (o, cb) => (connects++, connector(o, cb)) });
    t.teardown(() => agent.close());
    const store = cleaned(t, env, env.test.account, serviceProvider(t, env, { dispatcher: agent }).forTenant(env.test.account));
    const c = `keepalive-${randomBytes(4).toString('hex')}`;
    await store.ensureContainer(c);
    for (let i = 0; i < 5; i++) {
      await store.put(c, `o${i}`, Buffer.from('x'));
      await store.head(c, `o${i}`);
      await store.head(c, 'missing');
      await store.get(c, `o${i}`);
      await names(store.list(c, ''));
      await store.delete(c, `o${i}`);
      await store.delete(c, `o${i}`);
    }
    // undici checks an idle socket for a pending close before reusing it (a
    // setImmediate); a request sent right then may get a second connection.
    t.ok(connects <= 2, `auth and 36 requests over ${connects} connection(s), not one each`);
  });

  t.test('a Swift that restarts or stops (an own instance, so other tests are not disturbed)', async (t) => {
    const own = (await swiftEnv(t, { private: true }))!; // installed: swiftEnv(t) above found it

    t.test('the service credential authenticates again after Swift forgot its token (401 → new token → success)', async (t) => {
      const p = serviceProvider(t, own);
      const store = p.forTenant(own.test.account);
      await store.ensureContainer('reauth');
      await store.put('reauth', 'before', Buffer.from('1'));
      const first = p.tokens!.current!.token;
      t.equal(p.tokens!.authentications, 1);
      // Without SWIFT_AIO_KEEP_MEMCACHED, memcached restarts too: tempauth's tokens are gone.
      await own.stop();
      await own.start();
      const stale = await fetch(`${own.test.storageUrl}/reauth`, { method: 'HEAD', headers: { 'x-auth-token': first } });
      t.equal(stale.status, 401, 'Swift now refuses the old token');
      await store.put('reauth', 'after', Buffer.from('2'));
      t.equal(p.tokens!.authentications, 2, 'one new authentication');
      t.not(p.tokens!.current!.token, first);
      t.same(await names(store.list('reauth', '')), ['after', 'before']);
    });

    t.test('a restart in the middle of a series of puts: RetryStore completes every put', async (t) => {
      const p = serviceProvider(t, own);
      const retries: string[] = [];
      const store = new RetryStore(p.forTenant(own.test.account), {
        attempts: 40,
        baseDelayMs: 100,
        maxDelayMs: 1000,
        maxElapsedMs: 60_000,
        onRetry: (i) => retries.push(`${i.op} ${i.name}: ${(i.error as Error).message}`),
      });
      await store.ensureContainer('restart');
      const keys = Array.from({ length: 80 }, (_, i) => `chunks/${String(i).padStart(3, '0')}`);
      const bodies = keys.map(() => randomBytes(64 * 1024));
      let done = 0;
      let restart: Promise<void> | undefined;
      await runBounded(keys.length, 4, async (i) => {
        await store.put('restart', keys[i]!, bodies[i]!, { md5: md5(bodies[i]!) });
        if (++done === 10) restart = own.stop().then(() => own.start());
      });
      await restart;
      t.ok(retries.length > 0, `the restart was noticed: ${retries.length} retries, e.g. ${retries[0]}`);
      // Every put that resolved is there (HEAD and GET ask the object server). The
      // container listing may miss some: an object server that cannot reach the
      // stopping container server queues the listing update for swift-object-updater,
      // which swift-aio does not run.
      const missing: string[] = [];
      for (const [i, key] of keys.entries()) {
        const info = await store.head('restart', key);
        if (info?.bytes !== bodies[i]!.length || info.etag !== md5(bodies[i]!)) missing.push(key);
      }
      t.same(missing, [], 'every object is there, whole');
      for (const i of [0, 10, 40, 79]) t.ok(Buffer.concat(await store.get('restart', keys[i]!)).equals(bodies[i]!), `${keys[i]} reads back`);
    });

    t.test('Swift stopped for good: RetryStore gives up within its bounds, naming ECONNREFUSED', async (t) => {
      const p = serviceProvider(t, own);
      const inner = p.forTenant(own.test.account);
      await inner.ensureContainer('down');
      await own.stop();
      const store = new RetryStore(inner, { attempts: 5, baseDelayMs: 50, maxDelayMs: 400, maxElapsedMs: 3000 });
      const t0 = performance.now();
      const err = await failure(store.put('down', 'x', Buffer.from('x')));
      const secs = (performance.now() - t0) / 1000;
      t.ok(secs < 4, `gave up after ${secs.toFixed(2)}s`);
      t.match(err, { name: 'StoreError', code: 'ECONNREFUSED', retryable: false });
      t.match((err as Error).message, /^put down\/x failed after \d attempts in [\d.]+s: put x in container down \(swift .*\): connect ECONNREFUSED/);
      t.ok((err as Error).cause instanceof StoreError && ((err as Error).cause as StoreError).retryable, 'the cause was retryable');
    });
  });
}

// ------------------------------------------------------------------ stand-in

/** A local HTTP server answering with `handle`; its "storage URL prefix". */
async function standIn(t: Test, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ storageUrlPrefix: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { storageUrlPrefix: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/AUTH_`, server };
}

t.test('answers a real Swift gives only when it is unwell (a stand-in server)', async (t) => {
  t.test('408, 429 and 5xx are retryable; other 4xx are permanent and carry the status and the body’s text', async (t) => {
    const status = new Map<string, number>();
    const server = await standIn(t, (req, res) => {
      const s = status.get(req.url!.split('/').pop()!) ?? 500;
      res.writeHead(s, { 'content-type': 'text/html' }).end(`<html><h1>Status ${s}</h1><p>${'why '.repeat(100)}</p></html>`);
    });
    const store = userProvider(t, server).forTenant('x', 'tok');
    for (const [s, retryable] of [
      [408, true],
      [429, true],
      [500, true],
      [503, true],
      [400, false],
      [409, false],
      [412, false],
    ] as const) {
      status.set(`o${s}`, s);
      const err = await failure(store.put('c', `o${s}`, Buffer.from('x')));
      t.match(err, { name: 'StoreError', status: s, retryable }, `${s}`);
      const m = (err as Error).message;
      t.ok(m.startsWith(`put o${s} in container c (swift ${server.storageUrlPrefix}x): ${s} `), m.slice(0, 80));
      t.ok(m.includes(`Status ${s} why why`), 'the body’s text, without tags');
      t.ok(m.length < 300, 'cut to about 200 characters');
    }
  });

  t.test('a cut-off body is a retryable error, not a short object', async (t) => {
    const server = await standIn(t, (_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const err = await failure(userProvider(t, server).forTenant('x', 'tok').get('c', 'o'));
    t.match(err, { name: 'StoreError', retryable: true });
    t.notOk(isNotFound(err));
  });

  t.test('a put answered with another ETag than the md5 sent is refused (EBADMSG)', async (t) => {
    const server = await standIn(t, (_req, res) => res.writeHead(201, { etag: '"0123456789abcdef0123456789abcdef"' }).end());
    const body = Buffer.from('x');
    const err = await failure(userProvider(t, server).forTenant('x', 'tok').put('c', 'o', body, { md5: md5(body) }));
    t.match(err, { name: 'StoreError', code: 'EBADMSG', retryable: false });
  });

  t.test('a get whose body does not match its ETag is refused as damaged in transit (retryable)', async (t) => {
    const body = Buffer.from('the bytes Swift stored');
    const damaged = Buffer.from(body);
    damaged[3] = damaged[3]! ^ 1;
    const server = await standIn(t, (_req, res) => res.writeHead(200, { etag: md5(body), 'content-length': String(damaged.length) }).end(damaged));
    const err = await failure(userProvider(t, server).forTenant('x', 'tok').get('c', 'o'));
    t.match(err, { name: 'StoreError', code: 'EBADMSG', retryable: true });
    t.match((err as Error).message, /damaged in transit/);
    const good = await standIn(t, (_req, res) => res.writeHead(200, { etag: md5(body), 'content-length': String(body.length) }).end(body));
    t.same(Buffer.concat(await userProvider(t, good).forTenant('x', 'tok').get('c', 'o')), body, 'a matching body is returned');
  });

  t.test('nothing listens: a retryable ECONNREFUSED naming the call', async (t) => {
    const url = `http://127.0.0.1:${await freePort()}/v1/AUTH_`;
    const err = await failure(userProvider(t, { storageUrlPrefix: url }).forTenant('x', 'tok').head('c', 'o'));
    t.match(err, { name: 'StoreError', code: 'ECONNREFUSED', retryable: true });
    t.match((err as Error).message, `head o in container c (swift ${url}x): connect ECONNREFUSED`);
  });

  t.test('error and empty bodies are read to the end, so one keep-alive connection serves every request', async (t) => {
    let connections = 0;
    const server = await standIn(t, (req, res) => {
      const name = req.url!.split('/').pop();
      if (name === 'missing') return void res.writeHead(404).end('<html><h1>Not Found</h1></html>');
      if (name === 'bad') return void res.writeHead(400).end('x'.repeat(10_000));
      res.writeHead(req.method === 'PUT' ? 201 : 204).end();
    });
    server.server.on('connection', () => connections++);
    const store = userProvider(t, server, { concurrency: 1 }).forTenant('x', 'tok');
    for (let i = 0; i < 5; i++) {
      t.equal(await store.head('c', 'missing'), null);
      t.ok(isNotFound(await failure(store.get('c', 'missing'))));
      t.match(await failure(store.put('c', 'bad', Buffer.from('x'))), { status: 400 });
      await store.put('c', 'ok', Buffer.from('x'));
      t.equal(await store.delete('c', 'ok'), true);
    }
    t.equal(connections, 1, '25 requests, one connection');
  });

  t.test("a put's 404 is a missing container only when the account answers and the container does not", async (t) => {
    // Swift's proxy answers 404 to an object PUT also while it cannot reach the
    // account or container servers (a restart): then it must be retried.
    for (const [container, account, want] of [
      [204, 204, { retryable: true, code: 'EAGAIN' }],
      [404, 503, { retryable: true, code: 'EAGAIN' }],
      [503, 204, { retryable: true, code: 'EAGAIN' }],
      [404, 204, { retryable: false, code: 'ENOENT' }],
      [404, 403, { retryable: false, code: 'ENOENT' }],
    ] as const) {
      const seen: string[] = [];
      const server = await standIn(t, (req, res) => {
        const depth = new URL(req.url!, 'http://x').pathname.split('/').length; // /v1/AUTH_x/c/o: 5
        seen.push(`${req.method} ${depth}`);
        res.writeHead(depth === 5 ? 404 : depth === 4 ? container : account).end();
      });
      const err = await failure(userProvider(t, server).forTenant('x', 'tok').put('c', 'o', Buffer.from('x')));
      t.match(err, want, `container ${container}, account ${account}`);
      t.equal(isNotFound(err), !want.retryable, 'isNotFound only when it is missing');
      t.same(seen, container === 404 ? ['PUT 5', 'HEAD 4', 'HEAD 3'] : ['PUT 5', 'HEAD 4'], 'what was asked');
    }
  });

  t.test('an abort ends the request with the abort reason (not a StoreError, so nothing retries it)', async (t) => {
    const server = await standIn(t, () => {}); // never answers
    const store = userProvider(t, server).forTenant('x', 'tok');
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('job cancelled')), 50);
    const err = await failure(new RetryStore(store).put('c', 'o', Buffer.from('x'), { signal: ac.signal }));
    t.match(err, { message: 'job cancelled' });
    t.notOk(err instanceof StoreError);
  });

  t.test('no answer within timeout_seconds: a retryable timeout', async (t) => {
    const server = await standIn(t, () => {}); // never answers
    const store = userProvider(t, server, { timeoutSeconds: 0.2 }).forTenant('x', 'tok');
    const t0 = performance.now();
    const err = await failure(store.head('c', 'o'));
    t.match(err, { name: 'StoreError', code: 'UND_ERR_HEADERS_TIMEOUT', retryable: true });
    t.ok(performance.now() - t0 < 2000);
  });

  t.test('invalid names and tenants are refused before any request', async (t) => {
    let requests = 0;
    const server = await standIn(t, (_req, res) => {
      requests++;
      res.end();
    });
    const p = userProvider(t, server);
    const store = p.forTenant('x', 'tok');
    for (const [c, n] of [
      ['', 'o'],
      ['a/b', 'o'],
      ['.', 'o'],
      ['..', 'o'],
      ['x'.repeat(257), 'o'],
      ['c', ''],
      ['c', 'x'.repeat(1025)],
      ['c', 'a\0b'],
      ['c', '\ud800'],
    ] as const) {
      t.match(await failure(store.put(c, n, Buffer.from('x'))), { code: 'EINVAL', retryable: false }, `${JSON.stringify(c.slice(0, 10))}/${JSON.stringify(n.slice(0, 10))}`);
    }
    for (const tenant of ['', 'a/b', '\ud800']) t.throws(() => p.forTenant(tenant, 'tok'), { code: 'EINVAL' });
    t.throws(() => p.forTenant('x'), { code: 'EAUTH', message: /no service credential/ }, 'no token and no service credential');
    t.equal(requests, 0);
  });
});

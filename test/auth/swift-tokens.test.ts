// The "swift" auth provider against a real Swift (tempauth tokens of test:tester,
// test2:tester2 and the reseller admin): a token is good for a tenant when Swift
// accepts it on that tenant's account. Requests to Swift are counted through a
// recording undici dispatcher to see the cache work.
import t, { type Test } from 'tap';
import { Agent, type Dispatcher } from 'undici';
import { ForbiddenError, SwiftTokenAuth, type SwiftTokenAuthOptions } from '../../src/auth/swift-tokens.js';
import { StaticTokenAuth } from '../../src/auth/static-tokens.js';
import { StoreError } from '../../src/store/object-store.js';
import { freePort, swiftEnv, swiftMissing } from '../helpers/swift.js';

class CountingAgent extends Agent {
  readonly requests: Array<{ method: string; path: string }> = [];
  override dispatch(opts: Agent.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.requests.push({ method: opts.method, path: opts.path });
    return super.dispatch(opts, handler);
  }
}

const OPERATOR = 'operator-admin-token-0123456789';
const admins = new StaticTokenAuth(
  new Map([
    [OPERATOR, { tenant: 'admin', admin: true }],
    ['static-user-token-0123456789', { tenant: 'test', admin: false }],
  ]),
);

function provider(t: Test, prefix: string, opts: Partial<SwiftTokenAuthOptions> = {}): { auth: SwiftTokenAuth; agent: CountingAgent } {
  const agent = new CountingAgent();
  const auth = new SwiftTokenAuth({ storageUrlPrefix: prefix, dispatcher: agent, admins, ...opts });
  t.teardown(async () => {
    await auth.close();
    if (!agent.closed) await agent.close();
  });
  return { auth, agent };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => Promise.reject(new Error('resolved, but a rejection was expected')),
    (err: unknown) => err,
  );
}

t.test('Swift unreachable: authenticate throws a retryable error naming the cause (never null), and caches nothing', async (t) => {
  const { auth } = provider(t, `http://127.0.0.1:${await freePort()}/v1/AUTH_`);
  for (let i = 0; i < 2; i++) {
    const err = await failure(auth.authenticate('AUTH_tkwhatever', 'test'));
    t.ok(err instanceof StoreError);
    t.match(err, { code: 'ECONNREFUSED', retryable: true, message: /^check a token for tenant "test" at http:\/\/127\.0\.0\.1:\d+\/v1\/AUTH_test: connect ECONNREFUSED/ });
  }
  t.equal(auth.checks, 2);
  t.same(await auth.authenticate(OPERATOR, null), { tenantId: 'admin', admin: true, token: OPERATOR }, 'operators’ admin tokens still work');
});

const env = await swiftEnv(t);
t.test('against a real Swift (tempauth)', { skip: env ? false : (swiftMissing() ?? 'no Swift') }, async (t) => {
  const e = env!;
  const tok1 = await e.token(e.test);
  const tok2 = await e.token(e.test2);
  const tokAdmin = await e.token(e.admin);

  t.test('a user’s token on its own tenant → that tenant’s principal', async (t) => {
    const { auth, agent } = provider(t, e.storageUrlPrefix);
    t.same(await auth.authenticate(tok1, 'test'), { tenantId: 'test', admin: false, token: tok1 });
    t.same(agent.requests, [{ method: 'HEAD', path: '/v1/AUTH_test' }], 'one HEAD on the account');
  });

  t.test('another account’s token → ForbiddenError (403), for a missing account too', async (t) => {
    const { auth } = provider(t, e.storageUrlPrefix);
    const err = await failure(auth.authenticate(tok2, 'test'));
    t.ok(err instanceof ForbiddenError);
    t.match(err, { status: 403, code: 'EFORBIDDEN', tenantId: 'test', message: /AUTH_test: 403 Forbidden: Swift refused the token on this account/ });
    t.ok(await failure(auth.authenticate(tok1, 'no-such-account')) instanceof ForbiddenError, 'tempauth says 403 for an account that is not the user’s');
  });

  t.test('a garbage or empty token → null (401)', async (t) => {
    const { auth } = provider(t, e.storageUrlPrefix);
    t.equal(await auth.authenticate('AUTH_tk00000000000000000000000000000000', 'test'), null);
    t.equal(await auth.authenticate('', 'test'), null);
  });

  t.test('the reseller admin’s Swift token is good for any tenant, as a plain (non-admin) principal', async (t) => {
    const { auth } = provider(t, e.storageUrlPrefix);
    t.same(await auth.authenticate(tokAdmin, 'test2'), { tenantId: 'test2', admin: false, token: tokAdmin });
  });

  t.test('operators’ admin tokens from the tokens file work without Swift; a request naming no tenant accepts only those', async (t) => {
    const { auth, agent } = provider(t, e.storageUrlPrefix);
    t.same(await auth.authenticate(OPERATOR, null), { tenantId: 'admin', admin: true, token: OPERATOR });
    t.same(await auth.authenticate(OPERATOR, 'test'), { tenantId: 'admin', admin: true, token: OPERATOR });
    t.equal(await auth.authenticate(tok1, null), null, 'a Swift token on the admin endpoints');
    t.equal(agent.requests.length, 0, 'Swift was not asked');
    // Non-admin entries of the file are not honoured: Swift decides for users.
    t.equal(await auth.authenticate('static-user-token-0123456789', 'test'), null);
    t.equal(agent.requests.length, 1);
  });

  t.test('answers are cached per (token, tenant) for cache_seconds: good, unknown and forbidden alike', async (t) => {
    let now = 0;
    const { auth, agent } = provider(t, e.storageUrlPrefix, { cacheSeconds: 5, now: () => now });
    const garbage = 'AUTH_tk11111111111111111111111111111111';
    for (let i = 0; i < 3; i++) {
      t.ok(await auth.authenticate(tok1, 'test'));
      t.equal(await auth.authenticate(garbage, 'test'), null);
      t.ok(await failure(auth.authenticate(tok2, 'test')) instanceof ForbiddenError);
      now += 1000;
    }
    t.equal(agent.requests.length, 3, 'one request per (token, tenant) within 5 s');
    t.ok(await auth.authenticate(tok1, 'test'), 'after 3 s: still cached');
    t.equal(agent.requests.length, 3);
    t.ok(await failure(auth.authenticate(tok1, 'test2')) instanceof ForbiddenError, 'the same token for another tenant is another entry');
    t.equal(agent.requests.length, 4);
    now += 2001; // 5 s after the first answers
    t.ok(await auth.authenticate(tok1, 'test'));
    t.equal(agent.requests.length, 5, 'expired: asked again');
  });

  t.test('concurrent checks share one request; a cached answer needs no Swift at all', async (t) => {
    const { auth, agent } = provider(t, e.storageUrlPrefix, { cacheSeconds: 60 });
    const results = await Promise.all(Array.from({ length: 10 }, () => auth.authenticate(tok1, 'test')));
    t.ok(results.every((r) => r?.tenantId === 'test'));
    t.equal(agent.requests.length, 1, 'ten concurrent checks, one request');
    // Cut the way to Swift: the dispatcher is closed, every request would fail.
    await agent.close();
    t.same(await auth.authenticate(tok1, 'test'), { tenantId: 'test', admin: false, token: tok1 }, 'the cached answer');
    t.ok(await failure(auth.authenticate(tok2, 'test2')) instanceof Error, 'an uncached pair does need Swift');
    t.equal(agent.requests.length, 2);
  });

  t.test('cache_seconds = 0 asks Swift every time', async (t) => {
    const { auth, agent } = provider(t, e.storageUrlPrefix, { cacheSeconds: 0 });
    await auth.authenticate(tok1, 'test');
    await auth.authenticate(tok1, 'test');
    t.equal(agent.requests.length, 2);
  });

  t.test('the cache is bounded: the oldest entries go first', async (t) => {
    const { auth, agent } = provider(t, e.storageUrlPrefix, { cacheSeconds: 60, maxEntries: 3 });
    const tokens = Array.from({ length: 5 }, (_, i) => `AUTH_tk${String(i).repeat(32)}`);
    for (const tok of tokens) t.equal(await auth.authenticate(tok, 'test'), null);
    t.equal(agent.requests.length, 5);
    await auth.authenticate(tokens[4]!, 'test');
    await auth.authenticate(tokens[2]!, 'test');
    t.equal(agent.requests.length, 5, 'the three newest are cached');
    await auth.authenticate(tokens[0]!, 'test');
    t.equal(agent.requests.length, 6, 'the oldest was dropped');
  });
});

// Swift auth clients and the TokenManager. v1 runs against the real Swift of
// test/helpers/swift.ts (tempauth). Keystone v3 runs against a small local
// stand-in server: no Keystone runs here (the test machine has Swift with
// tempauth only), so the stand-in speaks the v3 Identity API's /auth/tokens
// format as documented — POST with a password-method body and a project scope;
// 201 with the token in X-Subject-Token, token.expires_at/issued_at and a catalog
// whose object-store service lists public/internal/admin endpoints — and checks
// the request it receives. The TokenManager's timing is tested with a fake clock.
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent } from 'undici';
import { StoreError } from '../../src/store/object-store.js';
import { TokenManager, swiftAuthenticate, type SwiftCredentials } from '../../src/store/swift-auth.js';
import { freePort, swiftEnv, swiftMissing } from '../helpers/swift.js';

function agent(t: Test): Agent {
  const a = new Agent({ connections: 4 });
  t.teardown(() => a.close());
  return a;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => Promise.reject(new Error('resolved, but a rejection was expected')),
    (err: unknown) => err,
  );
}

/** A stand-in Keystone: handle(req, body) answers; returns its /v3 URL and the requests it saw. */
async function keystone(
  t: Test,
  handle: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<{ authUrl: string; seen: Array<{ method: string; url: string; body: unknown }> }> {
  const seen: Array<{ method: string; url: string; body: unknown }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        // not JSON: keep the text
      }
      seen.push({ method: req.method!, url: req.url!, body: parsed });
      handle(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { authUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}/v3`, seen };
}

/** A v3 token response as Keystone sends it. */
function tokenResponse(res: ServerResponse, token: string, lifetimeS: number, catalog?: unknown): void {
  const issued = new Date();
  const expires = new Date(issued.getTime() + lifetimeS * 1000);
  const iso = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'); // microseconds, like Keystone
  res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': token });
  res.end(
    JSON.stringify({
      token: {
        methods: ['password'],
        user: { id: 'u1', name: 'backup', domain: { id: 'default', name: 'Default' }, password_expires_at: null },
        audit_ids: ['x'],
        expires_at: iso(expires),
        issued_at: iso(issued),
        project: { id: 'p1', name: 'service', domain: { id: 'default', name: 'Default' } },
        roles: [{ id: 'r1', name: 'admin' }],
        catalog: catalog ?? [
          { type: 'identity', name: 'keystone', id: 'i', endpoints: [{ interface: 'public', region: 'r', url: 'http://k:5000/v3', id: 'e0' }] },
          {
            type: 'object-store',
            name: 'swift',
            id: 's',
            endpoints: [
              { interface: 'internal', region: 'r', region_id: 'r', url: 'http://internal:8080/v1/AUTH_p1', id: 'e1' },
              { interface: 'public', region: 'r', region_id: 'r', url: 'https://swift.example:443/v1/AUTH_p1', id: 'e2' },
              { interface: 'admin', region: 'r', region_id: 'r', url: 'http://admin:8080/v1', id: 'e3' },
            ],
          },
        ],
      },
    }),
  );
}

const v3 = (authUrl: string, extra: Partial<SwiftCredentials> = {}): SwiftCredentials => ({
  authUrl,
  version: '3',
  user: 'backup',
  key: 's3cret',
  userDomain: 'Users',
  project: 'service',
  projectDomain: 'Projects',
  ...extra,
});

t.test('Keystone v3 password auth (a stand-in Keystone)', async (t) => {
  t.test('sends the password and the project scope; takes X-Subject-Token, the lifetime and the public object-store endpoint', async (t) => {
    const ks = await keystone(t, (_req, _body, res) => tokenResponse(res, 'gAAAA-v3-token', 3600));
    const before = Date.now();
    const tok = await swiftAuthenticate(v3(`${ks.authUrl}/`), { dispatcher: agent(t) });
    t.equal(tok.token, 'gAAAA-v3-token');
    t.equal(tok.storageUrl, 'https://swift.example:443/v1/AUTH_p1', 'the public endpoint, not internal or admin');
    t.ok(Math.abs(tok.expiresAt - tok.issuedAt - 3600_000) < 5, 'lifetime = expires_at − issued_at');
    t.ok(tok.issuedAt >= before && tok.issuedAt <= Date.now());
    t.equal(ks.seen.length, 1);
    t.match(ks.seen[0], { method: 'POST', url: '/v3/auth/tokens' });
    t.same(ks.seen[0]!.body, {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'backup', domain: { name: 'Users' }, password: 's3cret' } } },
        scope: { project: { name: 'service', domain: { name: 'Projects' } } },
      },
    });
  });

  t.test('a skewed server clock does not matter: the lifetime comes from issued_at and expires_at', async (t) => {
    const ks = await keystone(t, (_req, _body, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': 'tok' });
      res.end(
        JSON.stringify({
          token: {
            issued_at: '2001-01-01T00:00:00.000000Z',
            expires_at: '2001-01-01T02:00:00.000000Z',
            catalog: [{ type: 'object-store', endpoints: [{ interface: 'public', url: 'http://s/v1/AUTH_p' }] }],
          },
        }),
      );
    });
    const tok = await swiftAuthenticate(v3(ks.authUrl), { dispatcher: agent(t), now: () => 5_000_000 });
    t.equal(tok.issuedAt, 5_000_000);
    t.equal(tok.expiresAt, 5_000_000 + 2 * 3600_000);
  });

  t.test('refused credentials: EAUTH, permanent, naming the URL, user and project and Keystone’s message', async (t) => {
    const ks = await keystone(t, (_req, _body, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } }));
    });
    const err = await failure(swiftAuthenticate(v3(ks.authUrl), { dispatcher: agent(t) }));
    t.match(err, { name: 'StoreError', status: 401, code: 'EAUTH', retryable: false });
    t.match((err as Error).message, `keystone auth at ${ks.authUrl}/auth/tokens for user backup (project service): 401 Unauthorized: {"error"`);
    t.match((err as Error).message, 'requires authentication');
  });

  t.test('503 is retryable; a catalog without object-store or an answer without a token is a permanent EPROTO', async (t) => {
    let mode = '503';
    const ks = await keystone(t, (_req, _body, res) => {
      if (mode === '503') return void res.writeHead(503).end('Service Unavailable');
      if (mode === 'nocatalog') return tokenResponse(res, 'tok', 60, [{ type: 'identity', endpoints: [] }]);
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ token: { expires_at: '2099-01-01T00:00:00Z' } }));
    });
    const a = agent(t);
    t.match(await failure(swiftAuthenticate(v3(ks.authUrl), { dispatcher: a })), { status: 503, retryable: true });
    mode = 'nocatalog';
    t.match(await failure(swiftAuthenticate(v3(ks.authUrl), { dispatcher: a })), { code: 'EPROTO', retryable: false, message: /no public object-store endpoint/ });
    mode = 'notoken';
    t.match(await failure(swiftAuthenticate(v3(ks.authUrl), { dispatcher: a })), { code: 'EPROTO', retryable: false, message: /no X-Subject-Token/ });
  });

  t.test('no project: refused before any request', async (t) => {
    const ks = await keystone(t, (_req, _body, res) => tokenResponse(res, 'tok', 60));
    t.match(await failure(swiftAuthenticate(v3(ks.authUrl, { project: '' }), { dispatcher: agent(t) })), { code: 'EINVAL' });
    t.equal(ks.seen.length, 0);
  });
});

t.test('TokenManager (a stand-in Keystone and a fake clock)', async (t) => {
  /** A stand-in that issues tok-1, tok-2, … with the given lifetime, after `delayMs`. */
  const issuing = async (t: Test, lifetimeS: number, delayMs = 0) => {
    let n = 0;
    let fail = false;
    const ks = await keystone(t, (_req, _body, res) => {
      setTimeout(() => (fail ? res.writeHead(500).end('down') : tokenResponse(res, `tok-${++n}`, lifetimeS)), delayMs);
    });
    return { ks, setFail: (f: boolean) => (fail = f) };
  };

  t.test('concurrent first calls share one request; later calls use the cached token', async (t) => {
    const { ks } = await issuing(t, 3600, 50);
    const tm = new TokenManager(v3(ks.authUrl), { dispatcher: agent(t) });
    const got = await Promise.all(Array.from({ length: 10 }, () => tm.token()));
    t.same(new Set(got.map((g) => g.token)), new Set(['tok-1']));
    t.equal((await tm.token()).token, 'tok-1');
    t.equal(ks.seen.length, 1);
    t.equal(tm.authentications, 1);
  });

  t.test('renews ahead of expiry in the background, keeping the valid token meanwhile; waits only once expired', async (t) => {
    const { ks, setFail } = await issuing(t, 1000);
    let now = 1_000_000;
    const tm = new TokenManager(v3(ks.authUrl), { dispatcher: agent(t), now: () => now });
    const first = await tm.token();
    t.equal(first.expiresAt - first.issuedAt, 1000_000);
    now += 850_000; // 150 s left: more than max(60 s, 10 %) → no renewal yet
    t.equal((await tm.token()).token, 'tok-1');
    t.equal(ks.seen.length, 1);
    now += 60_000; // 90 s left: renew in the background
    t.equal((await tm.token()).token, 'tok-1', 'the still-valid token, at once');
    await new Promise((r) => setTimeout(r, 100));
    t.equal(ks.seen.length, 2, 'one renewal request');
    t.equal((await tm.token()).token, 'tok-2', 'then the new one');

    // A failed background renewal keeps the valid token; tried again after 5 s.
    setFail(true);
    now = tm.current!.expiresAt - 30_000;
    t.equal((await tm.token()).token, 'tok-2');
    await new Promise((r) => setTimeout(r, 100));
    t.equal((await tm.token()).token, 'tok-2', 'still the valid token after the failure');
    t.equal(ks.seen.length, 3, 'no second attempt within 5 s');
    // Expired: the caller waits for the renewal and sees its failure.
    now = tm.current!.expiresAt + 1;
    t.match(await failure(tm.token()), { name: 'StoreError', status: 500, retryable: true });
    setFail(false);
    t.equal((await tm.token()).token, 'tok-3');
  });

  t.test('invalidate drops only the current token: a burst of 401s costs one authentication', async (t) => {
    const { ks } = await issuing(t, 3600, 30);
    const tm = new TokenManager(v3(ks.authUrl), { dispatcher: agent(t) });
    const old = (await tm.token()).token;
    tm.invalidate(old);
    const renewed = await Promise.all(
      Array.from({ length: 5 }, async () => {
        tm.invalidate(old); // each of five requests saw a 401 with the old token
        return (await tm.token()).token;
      }),
    );
    t.same(new Set(renewed), new Set(['tok-2']));
    tm.invalidate('tok-1'); // late 401 for the old token: ignored
    t.equal((await tm.token()).token, 'tok-2');
    t.equal(ks.seen.length, 2);
  });

  t.test('an aborted caller stops waiting; the shared renewal goes on for the others', async (t) => {
    const { ks } = await issuing(t, 3600, 200);
    const tm = new TokenManager(v3(ks.authUrl), { dispatcher: agent(t) });
    const ac = new AbortController();
    const aborted = tm.token(ac.signal);
    const patient = tm.token();
    ac.abort(new Error('job cancelled'));
    t.match(await failure(aborted), { message: 'job cancelled' });
    t.equal((await patient).token, 'tok-1');
    t.equal(ks.seen.length, 1);
  });
});

t.test('nothing listens at the auth URL: a retryable ECONNREFUSED naming the auth call', async (t) => {
  const url = `http://127.0.0.1:${await freePort()}/auth/v1.0`;
  const err = await failure(swiftAuthenticate({ authUrl: url, version: '1', user: 'a:b', key: 'k' }, { dispatcher: agent(t) }));
  t.ok(err instanceof StoreError);
  t.match(err, { code: 'ECONNREFUSED', retryable: true });
  t.match((err as Error).message, `swift auth at ${url} for user a:b: connect ECONNREFUSED`);
});

const env = await swiftEnv(t);
t.test('Swift v1 auth against a real tempauth', { skip: env ? false : (swiftMissing() ?? 'no Swift') }, async (t) => {
  const e = env!;
  t.test('gives the token, the user’s storage URL and the lifetime from X-Auth-Token-Expires', async (t) => {
    const before = Date.now();
    const tok = await swiftAuthenticate({ authUrl: e.authUrl, version: '1', user: e.test.user, key: e.test.key }, { dispatcher: agent(t) });
    t.match(tok.token, /^AUTH_tk/);
    t.equal(tok.storageUrl, e.test.storageUrl);
    const life = tok.expiresAt - tok.issuedAt;
    t.ok(life > 3600_000 && life <= 86400_000, `lifetime ${life / 1000}s (tempauth: a day at most)`);
    t.ok(tok.issuedAt >= before);
    const res = await fetch(e.test.storageUrl, { method: 'HEAD', headers: { 'x-auth-token': tok.token } });
    t.ok(res.ok, `Swift accepts it (${res.status}: 204, or 200 for an account not yet created)`);
  });

  t.test('a wrong key: EAUTH, permanent, "swift auth at URL for user U: 401 Unauthorized"', async (t) => {
    const err = await failure(swiftAuthenticate({ authUrl: e.authUrl, version: '1', user: e.test.user, key: 'wrong' }, { dispatcher: agent(t) }));
    t.match(err, { name: 'StoreError', status: 401, code: 'EAUTH', retryable: false });
    t.match((err as Error).message, new RegExp(`^swift auth at ${e.authUrl} for user test:tester: 401 Unauthorized`));
  });
});

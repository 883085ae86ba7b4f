// The Swift store's HTTP worker threads (src/store/swift-http-pool.ts and
// swift-http-worker.ts) against a local server: bodies cross in shared memory,
// an error answer comes back as the start of its body, the connections are split
// among the workers, an abort cancels the worker's request, a dead worker fails
// its calls retryably and is replaced, and a pool — idle or closed — does not
// hold the process open.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SwiftHttpPool, WorkerLostError } from '../../src/store/swift-http-pool.js';
import { SwiftStoreProvider } from '../../src/store/swift.js';
import type { SwiftHttpRequest } from '../../src/store/swift-http.js';
import { tsLoaderArgs } from '../helpers/spawn-ts.js';
import { tempDir } from '../helpers/tmp.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** A local server calling `handle` with each request's whole body; its origin and stats. */
async function serve(t: Test, handle: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void) {
  const stats = { connections: 0, open: 0, maxOpen: 0, requests: 0 };
  const server = createServer((req, res) => {
    stats.requests++;
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => handle(req, Buffer.concat(parts), res));
  });
  server.on('connection', (socket) => {
    stats.connections++;
    stats.maxOpen = Math.max(stats.maxOpen, ++stats.open);
    socket.on('close', () => stats.open--);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, stats };
}

/**
 * A server that keeps each PUT's body (answering its MD5 as ETag) and gives it
 * back to a GET of the same path, with Content-Length and ETag — or, for
 * "<path>?chunked", chunked in two writes.
 */
async function objectServer(t: Test) {
  const stored = new Map<string, Buffer>();
  return serve(t, (req, body, res) => {
    if (req.method === 'PUT') {
      stored.set(req.url!, body);
      return void res.writeHead(201, { etag: md5(body) }).end();
    }
    const b = stored.get(req.url!.replace('?chunked', ''))!;
    if (req.url!.endsWith('?chunked')) {
      res.writeHead(200); // no Content-Length: chunked
      res.write(b.subarray(0, 1000));
      setTimeout(() => res.end(b.subarray(1000)), 10);
    } else {
      res.writeHead(200, { 'content-length': b.length, etag: md5(b) }).end(b);
    }
  });
}

function pool(t: Test, workers: number, connections: number): SwiftHttpPool {
  const p = new SwiftHttpPool({ workers, connections, timeoutMs: 10_000 });
  t.teardown(() => p.close());
  return p;
}

const request = (origin: string, method: SwiftHttpRequest['method'], path: string, more: Partial<SwiftHttpRequest> = {}): SwiftHttpRequest => ({
  origin,
  path,
  method,
  headers: {},
  body: null,
  timeoutMs: 10_000,
  read: 'dump',
  ...more,
});

t.test('a body on shared memory goes out as it is; a kept answer body comes back in shared memory', async (t) => {
  const { origin } = await objectServer(t);
  const p = pool(t, 2, 4);
  const shared = Buffer.from(new SharedArrayBuffer(1 << 20));
  randomFillSync(shared);
  const view = shared.subarray(100, 100 + 700_000); // a chunk is a view of a larger output buffer
  const put = await p.send(request(origin, 'PUT', '/c/o', { headers: { 'content-length': String(view.length) }, body: view }));
  t.equal(put.statusCode, 201);
  t.equal(put.headers.etag, md5(view), 'the server got exactly the view');
  t.same(put.body, [], 'a dumped body');

  for (const path of ['/c/o', '/c/o?chunked']) {
    const got = await p.send(request(origin, 'GET', path, { read: 'all' }));
    t.equal(got.statusCode, 200);
    t.equal(got.body.length, 1, `${path}: one segment`);
    t.ok(Buffer.isBuffer(got.body[0]) && got.body[0].buffer instanceof SharedArrayBuffer, `${path}: a Buffer over a SharedArrayBuffer`);
    t.equal(got.received, view.length);
    t.ok(got.body[0]!.equals(view), `${path}: the bytes`);
  }

  const small = Buffer.from('{"a manifest":true}'); // an ordinary Buffer, a slice of Node's pool
  const res = await p.send(request(origin, 'PUT', '/c/m', { headers: { 'content-length': String(small.length) }, body: small }));
  t.equal(res.headers.etag, md5(small), 'an unshared body is copied across, exactly');
});

t.test('an error answer comes back as the start of its body, and the next request works', async (t) => {
  const { origin } = await serve(t, (req, _body, res) => {
    if (req.url === '/big') return void res.writeHead(500).end('<h1>broken</h1>'.padEnd(200_000, '.'));
    if (req.url === '/missing') return void res.writeHead(404).end('<html>Not Found</html>');
    res.writeHead(204).end();
  });
  const p = pool(t, 1, 1);
  const missing = await p.send(request(origin, 'GET', '/missing', { read: 'all' }));
  t.equal(missing.statusCode, 404);
  t.equal(Buffer.concat(missing.body).toString(), '<html>Not Found</html>');
  const big = await p.send(request(origin, 'GET', '/big', { read: 'all' }));
  t.equal(big.statusCode, 500);
  t.equal(Buffer.concat(big.body).length, 4096, 'its first 4 KiB kept');
  t.ok(Buffer.concat(big.body).toString().startsWith('<h1>broken</h1>...'));
  t.ok(big.received <= 200_000 && big.received > 65536, `stopped reading after ~64 KiB (${big.received})`);
  t.equal((await p.send(request(origin, 'DELETE', '/x'))).statusCode, 204);
});

t.test('the connections are split among the workers; requests go to the least busy for its connections', async (t) => {
  const { origin, stats } = await serve(t, (_req, _body, res) => void setTimeout(() => res.writeHead(204).end(), 100));
  const p = pool(t, 2, 3); // 2 + 1 connections
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => p.send(request(origin, 'HEAD', `/o${i}`))));
  t.same(
    answers.map((a) => a.statusCode),
    Array(12).fill(204),
  );
  t.equal(stats.maxOpen, 3, 'three connections at once');
  t.equal(stats.connections, 3, 'kept alive: no more were opened');
  t.equal(p.workers.filter(Boolean).length, 2, 'both workers ran');
});

t.test('an abort cancels the request in the worker and rejects with the reason', async (t) => {
  let arrived!: () => void;
  const arrival = new Promise<void>((r) => (arrived = r));
  let closed!: () => void;
  const closing = new Promise<void>((r) => (closed = r));
  const { origin } = await serve(t, (req) => {
    req.socket.on('close', () => closed());
    arrived(); // and never answers
  });
  const p = pool(t, 1, 1);
  const ac = new AbortController();
  const call = p.send(request(origin, 'PUT', '/c/o', { headers: { 'content-length': '3' }, body: Buffer.from('abc') }), ac.signal);
  await arrival;
  const reason = new Error('job cancelled');
  ac.abort(reason);
  t.equal(await call.catch((e: unknown) => e), reason);
  await closing;
  t.pass('the worker closed the request’s connection');
  await t.rejects(p.send(request(origin, 'GET', '/x'), ac.signal), reason, 'an aborted signal: nothing sent');
});

t.test('a worker that dies fails its calls retryably and is replaced by the next call', async (t) => {
  let arrived!: () => void;
  const arrival = new Promise<void>((r) => (arrived = r));
  const { origin } = await serve(t, (req, _body, res) => {
    if (req.url === '/hang') return arrived();
    res.writeHead(204).end();
  });
  const p = pool(t, 1, 1);
  const call = p.send(request(origin, 'GET', '/hang', { read: 'all' }));
  await arrival;
  const first = p.workers[0]!;
  await first.terminate(); // as if it crashed
  const err = await call.catch((e: unknown) => e);
  t.ok(err instanceof WorkerLostError, 'WorkerLostError');
  t.match(err, { name: 'WorkerLostError', code: 'EWORKER', retryable: true });
  t.equal((await p.send(request(origin, 'HEAD', '/ok'))).statusCode, 204, 'the next call works');
  t.ok(p.workers[0] && p.workers[0] !== first, 'on a new worker');
});

t.test('a closed pool’s idle worker is adopted by the next pool, with the new pool’s connections', async (t) => {
  const { origin, stats } = await serve(t, (_req, _body, res) => void setTimeout(() => res.writeHead(204).end(), 50));
  const first = new SwiftHttpPool({ workers: 1, connections: 1, timeoutMs: 10_000 });
  await first.send(request(origin, 'HEAD', '/a'));
  const worker = first.workers[0];
  await first.close();
  const second = pool(t, 1, 4);
  await Promise.all(Array.from({ length: 8 }, (_, i) => second.send(request(origin, 'HEAD', `/b${i}`))));
  t.equal(second.workers[0], worker, 'the same thread');
  t.equal(stats.maxOpen, 4, 'four connections: the new Agent');
});

t.test('the Swift store gets bodies in shared memory from its workers; with workers: 0 it sends itself', async (t) => {
  const { origin } = await objectServer(t);
  const shared = Buffer.from(new SharedArrayBuffer(300_000));
  randomFillSync(shared);
  for (const workers of [2, 0]) {
    const p = new SwiftStoreProvider({ storageUrlPrefix: `${origin}/v1/AUTH_`, concurrency: 4, workers });
    t.teardown(() => p.close());
    const store = p.forTenant('t', 'token');
    const body = shared.subarray(1000, 251_000);
    await store.put('c', `o${workers}`, body, { md5: md5(body) });
    const got = await store.get('c', `o${workers}`);
    t.ok(Buffer.concat(got).equals(body), `workers: ${workers}: the bytes`);
    if (workers) t.ok(got.length === 1 && got[0]!.buffer instanceof SharedArrayBuffer, 'one segment in shared memory');
    else t.ok(got.every((b) => !(b.buffer instanceof SharedArrayBuffer)), 'the segments undici handed over');
  }
});

t.test('calls after close() are refused', async (t) => {
  const p = new SwiftHttpPool({ workers: 1, connections: 1, timeoutMs: 1000 });
  await p.close();
  await t.rejects(p.send(request('http://127.0.0.1:9', 'HEAD', '/')), { code: 'ECLOSED', retryable: false });
});

t.test('a pool does not hold the process open: idle, nor closed (its workers parked)', async (t) => {
  const dir = tempDir(t);
  const pool = pathToFileURL(new URL('../../src/store/swift-http-pool.ts', import.meta.url).pathname).href;
  for (const close of [false, true]) {
    const script = join(dir, `child-${close}.mjs`);
    writeFileSync(
      script,
      `import { createServer } from 'node:http';
import { SwiftHttpPool } from ${JSON.stringify(pool)};
const server = createServer((req, res) => res.writeHead(204).end());
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const p = new SwiftHttpPool({ workers: 2, connections: 2, timeoutMs: 5000 });
const origin = 'http://127.0.0.1:' + server.address().port;
const req = { origin, path: '/', method: 'HEAD', headers: {}, body: null, timeoutMs: 5000, read: 'dump' };
await Promise.all([p.send(req), p.send(req)]);
${close ? 'await p.close();' : ''}
server.closeAllConnections();
server.close();
console.log('done');
`,
    );
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [...tsLoaderArgs(), script], { encoding: 'utf8', timeout: 30_000 });
    const secs = (performance.now() - t0) / 1000;
    t.equal(r.signal, null, `${close ? 'closed' : 'idle'}: not killed by the timeout (${secs.toFixed(1)} s)${r.stderr ? `: ${r.stderr}` : ''}`);
    t.equal(r.status, 0);
    t.equal(r.stdout.trim(), 'done');
    t.ok(secs < 9, `exited on its own, not after the parked workers' idle timeout (${secs.toFixed(1)} s)`);
  }
});

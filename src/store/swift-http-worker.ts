// One job: a Swift HTTP worker thread (started by swift-http-pool.ts). It owns
// an undici Agent (keep-alive, its share of the connections) and runs the
// requests the main thread posts (swift-http.ts exchange()): sends the body (a
// view of the caller's shared memory, or a copy), reads the answer — a kept body
// into one SharedArrayBuffer — and posts status, headers and body back. A cancel
// aborts the request; every request is answered exactly once, the cancelled
// ones too (so the main thread knows the body buffer is no longer read).
// Parked (its pool closed), it destroys its Agent; a new owner configures a new one.
// It keeps the niceness of the thread that started it (Linux threads inherit
// it): the JS thread's api_nice. Measured with a co-located Swift on 2 cores,
// niced 5 steps further it lost the cores to Swift's own processes and backup
// throughput halved (docs/performance.md).
import { parentPort, workerData } from 'node:worker_threads';
import { Agent } from 'undici';
import type { FromWorker, ToWorker, WireError, WorkerConfig } from './swift-http-pool.js';
import { exchange, type SwiftHttpRequest } from './swift-http.js';
import { errorCode, errorMessage } from './swift-auth.js';

const port = parentPort!;
let agent: Agent | undefined = newAgent(workerData as WorkerConfig);
const running = new Map<number, AbortController>();

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'request':
      return void serve(msg.id, msg.req);
    case 'cancel':
      return void running.get(msg.id)?.abort(new DOMException('cancelled by the main thread', 'AbortError'));
    case 'configure':
      drop(agent);
      agent = newAgent(msg.config);
      return;
    case 'park':
      drop(agent);
      agent = undefined;
      return;
  }
});

/** Destroys an Agent: its requests fail (and are answered), its connections close. */
function drop(a: Agent | undefined): void {
  a?.destroy().catch(() => {});
}

function newAgent(config: WorkerConfig): Agent {
  return new Agent({
    connections: config.connections,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    connectTimeout: Math.min(config.timeoutMs, 10_000),
  });
}

async function serve(id: number, req: SwiftHttpRequest): Promise<void> {
  const ac = new AbortController();
  running.set(id, ac);
  let answer: FromWorker;
  try {
    if (!agent) throw new Error('the Swift HTTP worker is parked');
    const res = await exchange(agent, req, ac.signal, 'shared');
    // Shared bodies go as they are; an error text (a small unshared Buffer, maybe
    // a slice of Node's pool) is copied down to its own bytes first.
    res.body = res.body.map((b) => (b.buffer instanceof SharedArrayBuffer ? b : Buffer.from(new Uint8Array(b).buffer)));
    answer = { type: 'response', id, res };
  } catch (err) {
    answer = { type: 'error', id, error: wire(err) };
  } finally {
    running.delete(id);
  }
  port.postMessage(answer);
}

function wire(err: unknown): WireError {
  const name = (err as { name?: unknown })?.name;
  return { name: typeof name === 'string' ? name : 'Error', message: errorMessage(err), code: errorCode(err) };
}

// One job: the main thread's side of the Swift store's HTTP worker threads.
// send() hands a request to the least busy of N workers (ties in turn) and
// settles with its answer; each worker (swift-http-worker.ts) has its own undici
// Agent with its share of the connections, so the JS thread never writes or
// reads a body, nor runs undici's request machinery.
//
// Bodies cross without copies: a request body on a SharedArrayBuffer (the backup
// engine's chunk buffers) is posted as a view of the same memory; a response
// body arrives in one SharedArrayBuffer the worker filled. Other request bodies
// (manifests, tests) are copied by postMessage — only the view's bytes.
//
// An abort posts a cancel; the call rejects with the signal's reason once the
// worker has let go of the request (so a caller may reuse a shared body buffer
// as soon as put() settles). A worker that dies fails its calls with a retryable
// StoreError (WorkerLostError) and is replaced by the next call. Workers are
// started on first use and hold the process open only while they have calls.
// close() parks them — their Agent destroyed, unref'd — for the next pool to
// adopt (a start costs ~50 ms, ~1 s under the tests' TypeScript loader); a parked
// worker is terminated after PARK_MS idle, or at once beyond PARK_MAX of them.
//
// Worker file: swift-http-worker.js next to this module when it runs compiled
// (dist/); under the tests, which run the TypeScript sources through a loader
// given in execArgv (--import), the .ts file with the same execArgv.
import { Worker } from 'node:worker_threads';
import { StoreError } from './object-store.js';
import type { SwiftHttp, SwiftHttpRequest, SwiftHttpResponse } from './swift-http.js';

// ---------------------------------------------------------------- messages (the worker imports these types)

export interface WorkerConfig {
  /** keep-alive connections per origin in this worker */
  connections: number;
  /** headers and body timeout, ms */
  timeoutMs: number;
}

export type ToWorker =
  | { type: 'request'; id: number; req: SwiftHttpRequest }
  | { type: 'cancel'; id: number }
  /** a new owner: a new Agent with this config */
  | { type: 'configure'; config: WorkerConfig }
  /** parked: the Agent destroyed (its requests fail, its connections close) */
  | { type: 'park' };

/** An error as plain data: what the store's classification needs (networkError: code and message). */
export interface WireError {
  name: string;
  message: string;
  code: string | undefined;
}

export type FromWorker = { type: 'response'; id: number; res: SwiftHttpResponse } | { type: 'error'; id: number; error: WireError };

// ---------------------------------------------------------------- pool

export interface SwiftHttpPoolOptions {
  /** worker threads (at least 1) */
  workers: number;
  /** connections per origin, split across the workers (each gets at least 1) */
  connections: number;
  timeoutMs: number;
}

/** A worker died (crashed, or was terminated) with calls in flight: retryable. */
export class WorkerLostError extends StoreError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, code: 'EWORKER', cause });
    this.name = 'WorkerLostError';
  }
}

interface Call {
  resolve: (res: SwiftHttpResponse) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Slot {
  worker: Worker;
  calls: Map<number, Call>;
  /** why it died, once it has */
  error?: unknown;
  /** this pool's listeners on the worker (taken off when it is parked) */
  listeners: Array<[event: string, fn: Listener]>;
}

type Listener = Parameters<Worker['off']>[1];

const HERE = import.meta.url;
const FROM_SOURCE = HERE.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './swift-http-worker.ts' : './swift-http-worker.js', HERE);

const PARK_MS = 10_000;
const PARK_MAX = 4;
const parked: Array<{ worker: Worker; timer: NodeJS.Timeout; onExit: () => void }> = [];
/** Request ids, unique in the process (a parked worker may still answer its old owner's requests). */
let ids = 0;

export class SwiftHttpPool implements SwiftHttp {
  readonly #slots: Array<Slot | undefined>;
  readonly #config: WorkerConfig[];
  #turn = 0;
  #closed = false;

  constructor(opts: SwiftHttpPoolOptions) {
    const n = Math.max(1, Math.floor(opts.workers));
    const conns = Math.max(n, Math.floor(opts.connections));
    this.#slots = new Array<Slot | undefined>(n).fill(undefined);
    // conns split as evenly as possible: the first (conns mod n) get one more.
    this.#config = Array.from({ length: n }, (_, i) => ({ connections: Math.floor(conns / n) + (i < conns % n ? 1 : 0), timeoutMs: opts.timeoutMs }));
  }

  /** The running workers (for tests and diagnostics); undefined where none runs yet. */
  get workers(): ReadonlyArray<Worker | undefined> {
    return this.#slots.map((s) => s?.worker);
  }

  send(req: SwiftHttpRequest, signal?: AbortSignal): Promise<SwiftHttpResponse> {
    if (this.#closed) return Promise.reject(new StoreError('the Swift store is closed', { retryable: false, code: 'ECLOSED' }));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const index = this.#pick();
    let slot: Slot;
    try {
      slot = this.#slots[index] ?? this.#start(index);
    } catch (cause) {
      return Promise.reject(new StoreError(`cannot start a Swift HTTP worker thread: ${(cause as Error).message}`, { retryable: false, code: 'EWORKER', cause }));
    }
    const id = ++ids;
    return new Promise<SwiftHttpResponse>((resolve, reject) => {
      const call: Call = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        call.onAbort = () => slot.worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      slot.calls.set(id, call);
      if (slot.calls.size === 1) slot.worker.ref();
      const body = req.body && postable(req.body);
      slot.worker.postMessage({ type: 'request', id, req: body === req.body ? req : { ...req, body } } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const running = this.#slots.filter((s): s is Slot => s !== undefined);
    this.#slots.fill(undefined);
    const closed = new StoreError('the Swift store was closed', { retryable: false, code: 'ECLOSED' });
    const stopping: Array<Promise<number>> = [];
    for (const slot of running) {
      for (const [event, fn] of slot.listeners) slot.worker.off(event, fn);
      for (const [id, call] of [...slot.calls]) {
        this.#settled(slot, id, call);
        call.reject(call.signal?.aborted ? call.signal.reason : closed);
      }
      if (slot.error === undefined && parked.length < PARK_MAX) park(slot.worker);
      else stopping.push(slot.worker.terminate());
    }
    await Promise.all(stopping);
  }

  /** The slot with the fewest calls in flight per connection (an empty slot has none); ties go round. */
  #pick(): number {
    const n = this.#slots.length;
    const load = (i: number): number => (this.#slots[i]?.calls.size ?? 0) / this.#config[i]!.connections;
    let best = this.#turn % n;
    for (let k = 1; k < n; k++) {
      const i = (this.#turn + k) % n;
      if (load(i) < load(best)) best = i;
    }
    this.#turn = best + 1;
    return best;
  }

  /** A parked worker, given this slot's config, or a new one. */
  #start(index: number): Slot {
    const config = this.#config[index]!;
    let worker = unpark();
    if (worker) {
      worker.postMessage({ type: 'configure', config } satisfies ToWorker);
    } else {
      worker = new Worker(WORKER_URL, {
        name: 'swift-http',
        workerData: config,
        // the TypeScript loader (an --import) must be there for the .ts file too
        ...(FROM_SOURCE ? { execArgv: process.execArgv } : {}),
      });
    }
    const slot: Slot = { worker, calls: new Map(), listeners: [] };
    const on = (event: string, fn: Listener): void => {
      worker.on(event, fn);
      slot.listeners.push([event, fn]);
    };
    on('message', (msg: FromWorker) => this.#answer(slot, msg));
    on('error', (err: unknown) => (slot.error ??= err));
    on('messageerror', (err: unknown) => {
      slot.error ??= err; // an answer lost: fail them all rather than leave one hanging
      void worker.terminate();
    });
    on('exit', (code: number) => this.#lost(slot, code));
    worker.unref(); // ref'd only while it has calls
    this.#slots[index] = slot;
    return slot;
  }

  #answer(slot: Slot, msg: FromWorker): void {
    const call = slot.calls.get(msg.id);
    if (!call) return;
    this.#settled(slot, msg.id, call);
    if (call.signal?.aborted) return call.reject(call.signal.reason);
    if (msg.type === 'error') return call.reject(Object.assign(new Error(msg.error.message), { name: msg.error.name, code: msg.error.code }));
    const res = msg.res;
    // Uint8Arrays after the crossing; Buffers over the same memory, no copy.
    res.body = res.body.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength));
    call.resolve(res);
  }

  /** The worker exited: its calls fail (retryably, unless closed), its slot is free for a new one. */
  #lost(slot: Slot, code: number): void {
    const index = this.#slots.indexOf(slot);
    if (index >= 0) this.#slots[index] = undefined;
    // (slot.error crossed from the worker as a plain Error, or is a messageerror: never a StoreError)
    const why = new WorkerLostError(`the Swift HTTP worker thread exited (code ${code})${slot.error ? `: ${(slot.error as Error).message}` : ''}`, slot.error);
    for (const [id, call] of [...slot.calls]) {
      this.#settled(slot, id, call);
      call.reject(call.signal?.aborted ? call.signal.reason : why);
    }
  }

  #settled(slot: Slot, id: number, call: Call): void {
    slot.calls.delete(id);
    if (slot.calls.size === 0) slot.worker.unref();
    if (call.onAbort) call.signal!.removeEventListener('abort', call.onAbort);
  }
}

/** Parks an idle worker: its Agent destroyed, terminated after PARK_MS unless adopted. */
function park(worker: Worker): void {
  worker.postMessage({ type: 'park' } satisfies ToWorker);
  worker.unref();
  const entry = {
    worker,
    timer: setTimeout(() => void worker.terminate(), PARK_MS).unref(),
    onExit: () => {
      clearTimeout(entry.timer);
      const i = parked.indexOf(entry);
      if (i >= 0) parked.splice(i, 1);
    },
  };
  worker.on('exit', entry.onExit);
  worker.on('error', entry.onExit); // (an 'exit' follows) an 'error' without a listener would throw
  parked.push(entry);
}

/** The most recently parked worker, no longer parked. */
function unpark(): Worker | undefined {
  const entry = parked.pop();
  if (!entry) return undefined;
  clearTimeout(entry.timer);
  entry.worker.off('exit', entry.onExit);
  entry.worker.off('error', entry.onExit);
  return entry.worker;
}

/**
 * What to post for a request body: a view of shared memory as it is (shared, not
 * copied); otherwise a view covering its whole ArrayBuffer (postMessage copies the
 * whole ArrayBuffer, so a view of a part of a larger one is copied down first).
 */
function postable(body: Uint8Array): Uint8Array {
  if (body.buffer instanceof SharedArrayBuffer) return body;
  return body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : new Uint8Array(body);
}

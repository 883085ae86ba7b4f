// One job: one HTTP exchange with Swift over an undici dispatcher — send the
// request, read the answer's body the way the request asks, and hand back the
// status, headers and body as plain data that can cross a thread boundary. The
// Swift store's worker threads run it (swift-http-worker.ts, pooled by
// swift-http-pool.ts); the main thread runs it itself (DispatcherHttp) when the
// store is given a dispatcher of its own (tests) or no worker threads.
//
// The answer's body:
//   2xx, read 'dump'   read and dropped (so undici reuses the connection)
//   2xx, read 'all'    kept whole: into one SharedArrayBuffer of Content-Length
//                      bytes (`into: 'shared'`, in a worker: posted to the main
//                      thread without a copy; without a Content-Length gathered and
//                      moved into one at the end), or as the segments undici hands
//                      over (`into: 'segments'`, on the main thread: no copy at all)
//   other statuses     an error text: up to 64 KiB read (a longer body is cut off,
//                      which closes the connection), the first 4 KiB kept
// `received` counts every byte read, also those not kept, so the caller can check
// it against Content-Length. Errors (network, timeouts, aborts) are thrown as
// undici raises them; the caller classifies them.
import { constants } from 'node:buffer';
import type { Dispatcher } from 'undici';

export type SwiftHttpMethod = 'GET' | 'PUT' | 'HEAD' | 'DELETE' | 'POST';

export interface SwiftHttpRequest {
  /** http://host:port */
  origin: string;
  /** path and query, encoded */
  path: string;
  method: SwiftHttpMethod;
  headers: Record<string, string>;
  body: Uint8Array | null;
  /** headers and body (idle) timeout, ms */
  timeoutMs: number;
  /** what to do with a 2xx answer's body */
  read: 'dump' | 'all';
}

export type SwiftHttpHeaders = Record<string, string | string[] | undefined>;

export interface SwiftHttpResponse {
  statusCode: number;
  headers: SwiftHttpHeaders;
  /** 2xx read 'all': the whole body; other statuses: the start of the error body; else none */
  body: Buffer[];
  /** bytes of the body received, kept or not */
  received: number;
}

/** Sends Swift requests: on worker threads (SwiftHttpPool) or on this thread (DispatcherHttp). */
export interface SwiftHttp {
  /** Rejects (with signal.reason) when the signal aborts before the answer is complete. */
  send(req: SwiftHttpRequest, signal?: AbortSignal): Promise<SwiftHttpResponse>;
  close(): Promise<void>;
}

/** Error bodies: keep this much of the start, stop reading after that much. */
const ERROR_KEEP = 4096;
const ERROR_READ = 65536;

/** One exchange through `dispatcher`. */
export async function exchange(
  dispatcher: Dispatcher,
  req: SwiftHttpRequest,
  signal: AbortSignal | undefined,
  into: 'shared' | 'segments',
): Promise<SwiftHttpResponse> {
  const res = await dispatcher.request({
    origin: req.origin,
    path: req.path,
    method: req.method,
    headers: req.headers,
    body: req.body,
    signal: signal ?? null,
    headersTimeout: req.timeoutMs,
    bodyTimeout: req.timeoutMs,
    // undici closes the connection after a HEAD unless told otherwise (for
    // servers that send a body anyway), and then kept opening a new connection
    // per request; Swift sends none, so keep it alive.
    ...(req.method === 'HEAD' ? { reset: false } : {}),
  });
  const answer = { statusCode: res.statusCode, headers: res.headers as SwiftHttpHeaders };
  if (res.statusCode < 200 || res.statusCode > 299) return { ...answer, ...(await errorStart(res.body)) };
  if (req.read === 'dump') {
    await res.body.dump();
    return { ...answer, body: [], received: 0 };
  }
  const body = res.body as AsyncIterable<Buffer>;
  if (into === 'segments') return { ...answer, ...(await segments(body)) };
  return { ...answer, ...(await shared(body, contentLength(res.headers['content-length']))) };
}

/** The segments as received: not concatenated. */
async function segments(body: AsyncIterable<Buffer>): Promise<{ body: Buffer[]; received: number }> {
  const parts: Buffer[] = [];
  let received = 0;
  for await (const chunk of body) {
    parts.push(chunk);
    received += chunk.length;
  }
  return { body: parts, received };
}

/** The body in one SharedArrayBuffer: filled as it arrives when its length is known. */
async function shared(body: AsyncIterable<Buffer>, length: number | undefined): Promise<{ body: Buffer[]; received: number }> {
  if (length === undefined) {
    const got = await segments(body);
    const out = Buffer.from(new SharedArrayBuffer(got.received));
    let at = 0;
    for (const part of got.body) at += part.copy(out, at);
    return { body: [out], received: got.received };
  }
  const out = Buffer.from(new SharedArrayBuffer(length));
  let received = 0;
  for await (const chunk of body) {
    // More than announced: counted, not kept (the caller refuses the length).
    if (received < length) chunk.copy(out, received, 0, Math.min(chunk.length, length - received));
    received += chunk.length;
  }
  return { body: [out], received };
}

/**
 * The start of an error body (also for swift-auth.ts's own requests); a broken
 * one is as good as none (the status says enough).
 */
export async function errorStart(body: AsyncIterable<Buffer>): Promise<{ body: Buffer[]; received: number }> {
  const parts: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of body) {
      if (received < ERROR_KEEP) parts.push(chunk);
      received += chunk.length;
      if (received > ERROR_READ) break;
    }
  } catch {
    // ignored: see above
  }
  return { body: parts.length ? [Buffer.concat(parts).subarray(0, ERROR_KEEP)] : [], received };
}

function contentLength(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= constants.MAX_LENGTH ? n : undefined;
}

/** Exchanges on this thread, through a dispatcher its owner closes (close() leaves it open). */
export class DispatcherHttp implements SwiftHttp {
  readonly #dispatcher: Dispatcher;

  constructor(dispatcher: Dispatcher) {
    this.#dispatcher = dispatcher;
  }

  send(req: SwiftHttpRequest, signal?: AbortSignal): Promise<SwiftHttpResponse> {
    return exchange(this.#dispatcher, req, signal, 'segments');
  }

  async close(): Promise<void> {}
}

// One job: every answer that is not a success has the spec's error shape:
// {"badRequest": {"message": ..., "code": 400}}, {"itemNotFound": ...},
// {"cloudServersFault": ...}. Also: bodies are JSON whatever their Content-Type
// (the spec's own curl examples send -d without one), within a size limit.
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError } from '../auth/swift-tokens.js';
import { ApiError, errors } from '../errors.js';
import { StoreError } from '../store/object-store.js';

export const BODY_LIMIT = 64 * 1024;

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  parentSchema?: { description?: string };
}

/** Turns a schema validation failure into the spec's 400. */
function validationError(list: AjvError[]): ApiError {
  // A body that is not an object, or lacks its top-level key ("backup", "restore",
  // "volume"), is the spec's "Incorrect request body format."
  const outer = list[list.length - 1]!;
  if (outer.instancePath === '') return errors.badBody();
  if (outer.instancePath.split('/').length === 2 && outer.keyword === 'type') return errors.badBody();
  if (outer.keyword === 'required') return errors.invalidInput(`${String(outer.params.missingProperty)} is required`);
  const described = [...list].reverse().find((e) => e.parentSchema?.description);
  return errors.invalidInput(described?.parentSchema?.description ?? `${outer.instancePath.slice(1).replace(/\//g, '.')} is not valid`);
}

function toApiError(err: FastifyError & { validation?: AjvError[] }): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof ForbiddenError) return errors.forbidden();
  if (err instanceof StoreError) return errors.unavailable();
  if (err.validation) return validationError(err.validation);
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_BAD_URL':
      return errors.badBody();
    default:
      // Other client errors fastify raises (a malformed request) are 400s; anything else is ours.
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return errors.badBody();
      return null;
  }
}

export function sendError(reply: FastifyReply, e: ApiError): FastifyReply {
  return reply.code(e.status).type('application/json; charset=utf-8').send(JSON.stringify(e.body()));
}

/**
 * Requests node's HTTP parser refuses (bad framing, bad header bytes, an unknown
 * method) never reach fastify: answer them here, in the spec's shape, and close.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errors.badBody().body());
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function installErrorHandling(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req: FastifyRequest, body: string | Buffer, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(errors.badBody(), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const api = toApiError(err);
    if (api) {
      req.log.info({ code: api.code, status: api.status }, api.message);
      return sendError(reply, api);
    }
    req.log.error({ err }, 'internal error');
    return sendError(reply, errors.internal(err));
  });

  app.setNotFoundHandler((_req, reply) => sendError(reply, errors.routeNotFound()));
}

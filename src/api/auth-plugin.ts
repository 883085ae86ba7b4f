// One job: who is calling. Every request under /v1.1 needs X-Auth-Token; a
// missing or unknown token is 401; a token of another tenant than the path names
// is 403 (admin tokens may act for any tenant); the principal rides on the request.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';

export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const header = req.headers['x-auth-token'];
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw errors.unauthorized();
    const params = (req.params ?? {}) as { tenant_id?: string };
    const tenant = params.tenant_id ?? null;
    const principal = await app.svc.auth.authenticate(token, tenant === 'admin' ? null : tenant);
    if (!principal) throw errors.unauthorized();
    req.principal = principal;
    if (tenant !== null && tenant !== principal.tenantId && !principal.admin) throw errors.forbidden();
  });
}

/** The tenant a request acts for (the path's), after the auth hook has run. */
export function tenantOf(req: FastifyRequest): string {
  return (req.params as { tenant_id: string }).tenant_id;
}

/** Ids are positive safe integers; anything else names nothing (404, like an absent id). */
export function parseId(raw: string): number | null {
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

// One job: assemble the HTTP API — error shape, auth, and one plugin per resource.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { adminPlugin } from './admin.js';
import { installAuth } from './auth-plugin.js';
import { backupsPlugin } from './backups.js';
import { BODY_LIMIT, clientErrorHandler, installErrorHandling } from './errors-plugin.js';
import type { Services } from './services.js';
import { volumesPlugin } from './volumes.js';

export interface AppOptions {
  /** pino options, or false for none */
  logger: boolean | object;
  /** an existing pino logger to use instead */
  loggerInstance?: FastifyBaseLogger;
}

export async function buildApp(svc: Services, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: opts.logger }),
    // One log line per request (onResponse below) instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true } },
    return503OnClosing: true,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('svc', svc);
  installErrorHandling(app);
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, tenant: req.principal?.tenantId }, 'request');
  });

  await app.register(
    async (v11) => {
      installAuth(v11);
      await v11.register(adminPlugin, { prefix: '/admin' });
      await v11.register(backupsPlugin, { prefix: '/:tenant_id/hp-volume-backups' });
      await v11.register(volumesPlugin, { prefix: '/:tenant_id/os-volumes' });
    },
    { prefix: '/v1.1' },
  );
  return app;
}

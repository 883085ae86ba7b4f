// The services the API plugins use, decorated once on the root instance (fastify
// plugins see their parents' decorators), and the principal on each request.
import 'fastify';
import type { Catalog } from '../catalog/index.js';
import type { Config } from '../config.js';
import type { AuthProvider, Principal } from '../auth/provider.js';
import type { JobRunner } from '../jobs/runner.js';
import type { VolumeManager } from '../volumes/volume-manager.js';

export interface Services {
  config: Config;
  catalog: Catalog;
  volumes: VolumeManager;
  jobs: JobRunner;
  auth: AuthProvider;
  /** job id -> the caller's token, for stores that write with users' own credentials */
  tokens: Map<number, string>;
}

declare module 'fastify' {
  interface FastifyInstance {
    svc: Services;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

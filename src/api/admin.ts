// Operators' endpoints under /v1.1/admin, for admin tokens only: adopt an existing
// block device or image file as a tenant's volume; look at recent jobs.
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../errors.js';
import { inspectDevice } from '../volumes/volume-manager.js';
import { AdoptVolumeBody, VolumeDetail } from './schemas.js';
import { volumeDetail } from './views.js';

export const adminPlugin: FastifyPluginAsyncTypebox = async (app) => {
  const { catalog, volumes } = app.svc;

  app.addHook('onRequest', async (req) => {
    if (!req.principal?.admin) throw errors.adminOnly();
  });

  app.post('/volumes', { schema: { body: AdoptVolumeBody, response: { 200: Type.Object({ volume: VolumeDetail }) } } }, async (req) => {
    const { tenant_id, device, display_name, display_description } = req.body.volume;
    let info: { size: number };
    try {
      info = await inspectDevice(device);
    } catch (cause) {
      throw errors.invalidInput(`device ${device} cannot be used: ${(cause as Error).message}`);
    }
    if (info.size === 0) throw errors.invalidInput(`device ${device} is empty`);
    const v = catalog.adoptVolume(tenant_id, {
      uuid: randomUUID(),
      device,
      display_name: display_name ?? null,
      display_description: display_description ?? null,
      size_bytes: info.size,
    });
    req.log.info({ volume: v.id, tenant: tenant_id, device, size: info.size }, 'volume adopted');
    return { volume: volumeDetail(v, volumes.devicePath(v)) };
  });

  app.get('/jobs', async () => ({ jobs: catalog.jobs.recent(100) }));
};

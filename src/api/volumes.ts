// The volumes resource of the parent Block Storage API, /v1.1/{tenant_id}/os-volumes:
// list, detail, show, create, delete. Admin tokens also see each volume's device.
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { VolumeRow } from '../catalog/types.js';
import { errors } from '../errors.js';
import { parseId, tenantOf } from './auth-plugin.js';
import { CreateVolumeBody, TenantParams, VolumeDetail, VolumeParams, VolumeSummary } from './schemas.js';
import { volumeDetail, volumeSummary } from './views.js';

export const volumesPlugin: FastifyPluginAsyncTypebox = async (app) => {
  const { catalog, config, volumes, jobs } = app.svc;
  const detail = (req: FastifyRequest, v: VolumeRow) => volumeDetail(v, req.principal?.admin ? volumes.devicePath(v) : null);

  app.get('/', { schema: { params: TenantParams, response: { 200: Type.Object({ volumes: Type.Array(VolumeSummary) }) } } }, async (req) => ({
    volumes: catalog.volumes.list(tenantOf(req)).map(volumeSummary),
  }));

  app.get('/detail', { schema: { params: TenantParams, response: { 200: Type.Object({ volumes: Type.Array(VolumeDetail) }) } } }, async (req) => ({
    volumes: catalog.volumes.list(tenantOf(req)).map((v) => detail(req, v)),
  }));

  app.get('/:volume_id', { schema: { params: VolumeParams, response: { 200: Type.Object({ volume: VolumeDetail }) } } }, async (req) => {
    const id = parseId(req.params.volume_id);
    const v = id === null ? undefined : catalog.volumes.get(tenantOf(req), id);
    if (!v) throw errors.volumeNotFound(req.params.volume_id);
    return { volume: detail(req, v) };
  });

  app.post('/', { schema: { params: TenantParams, body: CreateVolumeBody, response: { 200: Type.Object({ volume: VolumeDetail }) } } }, async (req) => {
    const { size, display_name, display_description } = req.body.volume;
    const gb = Number(size);
    if (gb > config.volumes.max_size_gb) throw errors.volumeSizeTooLarge(config.volumes.max_size_gb);
    const uuid = randomUUID();
    const { volume, job } = catalog.requestVolume(tenantOf(req), {
      uuid,
      image_path: volumes.imagePathFor(uuid),
      display_name: display_name ?? null,
      display_description: display_description ?? null,
      size_gb: gb,
      quota_gb: config.volumes.quota_gb,
    });
    req.log.info({ volume: volume.id, job: job.id, size_gb: gb }, 'volume creating');
    jobs.kick();
    return { volume: detail(req, volume) };
  });

  app.delete('/:volume_id', { schema: { params: VolumeParams } }, async (req, reply) => {
    const id = parseId(req.params.volume_id);
    if (id === null) throw errors.volumeNotFound(req.params.volume_id);
    const job = catalog.requestVolumeDelete(tenantOf(req), id);
    req.log.info({ volume: id, job: job.id }, 'volume deleting');
    jobs.kick();
    return reply.code(202).send();
  });
};

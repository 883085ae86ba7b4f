// The backups resource: /v1.1/{tenant_id}/hp-volume-backups — list, detail, show,
// create, delete, restore — exactly as the spec says.
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../errors.js';
import { parseId, tenantOf } from './auth-plugin.js';
import { CONTAINER_MAX_BYTES, CONTAINER_RULE, BackupCreated, BackupDetail, BackupParams, BackupSummary, CreateBackupBody, RestoreBody, RestoreResponse, TenantParams } from './schemas.js';
import { backupCreated, backupDetail, backupSummary } from './views.js';

export const backupsPlugin: FastifyPluginAsyncTypebox = async (app) => {
  const { catalog, config, volumes, jobs, auth, tokens } = app.svc;

  /**
   * Remembers the caller's token for the job when the store writes with users'
   * own Swift tokens (operators' admin tokens are not Swift tokens: their jobs use
   * the service credential).
   */
  const queued = (jobId: number, principal: { token: string; admin: boolean } | null): void => {
    if (auth.kind === 'swift' && principal && !principal.admin) tokens.set(jobId, principal.token);
    jobs.kick();
  };

  app.get('/', { schema: { params: TenantParams, response: { 200: Type.Object({ backups: Type.Array(BackupSummary) }) } } }, async (req) => ({
    backups: catalog.backups.list(tenantOf(req)).map(backupSummary),
  }));

  app.get('/detail', { schema: { params: TenantParams, response: { 200: Type.Object({ backups: Type.Array(BackupDetail) }) } } }, async (req) => ({
    backups: catalog.backups.list(tenantOf(req)).map(backupDetail),
  }));

  app.get('/:backup_id', { schema: { params: BackupParams, response: { 200: Type.Object({ backup: BackupDetail }) } } }, async (req) => {
    const id = parseId(req.params.backup_id);
    const b = id === null ? undefined : catalog.backups.get(tenantOf(req), id);
    if (!b) throw errors.backupNotFound(req.params.backup_id);
    return { backup: backupDetail(b) };
  });

  app.post('/', { schema: { params: TenantParams, body: CreateBackupBody, response: { 200: Type.Object({ backup: BackupCreated }) } } }, async (req) => {
    const { volume_id, display_name, display_description, container } = req.body.backup;
    const name = container ?? config.backup.default_container;
    if (Buffer.byteLength(name) > CONTAINER_MAX_BYTES) throw errors.invalidInput(CONTAINER_RULE);
    const volumeId = parseId(String(volume_id));
    if (volumeId === null) throw errors.volumeNotFound(String(volume_id));
    const { backup, job } = catalog.requestBackup(tenantOf(req), volumeId, {
      uuid: randomUUID(),
      container: name,
      display_name: display_name ?? null,
      display_description: display_description ?? null,
      chunk_size: config.backup.chunk_size_mib * 2 ** 20,
    });
    req.log.info({ backup: backup.id, volume: backup.volume_id, job: job.id }, 'backup creating');
    queued(job.id, req.principal);
    return { backup: backupCreated(backup) };
  });

  app.delete('/:backup_id', { schema: { params: BackupParams } }, async (req, reply) => {
    const id = parseId(req.params.backup_id);
    if (id === null) throw errors.backupNotFound(req.params.backup_id);
    const job = catalog.requestBackupDelete(tenantOf(req), id);
    req.log.info({ backup: id, job: job.id }, 'backup deleting');
    queued(job.id, req.principal);
    return reply.code(202).send();
  });

  app.post('/:backup_id/restore', { schema: { params: BackupParams, body: RestoreBody, response: { 200: RestoreResponse } } }, async (req) => {
    const tenant = tenantOf(req);
    const id = parseId(req.params.backup_id);
    if (id === null) throw errors.backupNotFound(req.params.backup_id);
    // No volume_id (or null): restore to a new volume.
    const target = req.body.restore.volume_id ?? null;
    const targetId = target === null ? null : parseId(String(target));
    if (target !== null && targetId === null) throw errors.volumeNotFound(String(target));
    const uuid = randomUUID();
    const { backup, volume, job } = catalog.requestRestore(
      tenant,
      id,
      targetId === null
        ? {
            new_volume: {
              uuid,
              image_path: volumes.imagePathFor(uuid),
              display_name: `restore_backup_${id}`,
              display_description: null,
              quota_gb: config.volumes.quota_gb,
            },
          }
        : { volume_id: targetId },
    );
    req.log.info({ backup: backup.id, volume: volume.id, job: job.id }, 'backup restoring');
    queued(job.id, req.principal);
    return { restore: { backup_id: String(backup.id), volume_id: String(volume.id) } };
  });
};

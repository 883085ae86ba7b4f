// The catalog's rows, as SQLite returns them.
export type VolumeStatus = 'creating' | 'available' | 'backing-up' | 'restoring-backup' | 'error_restoring' | 'deleting' | 'error' | 'deleted';
export type BackupStatus = 'creating' | 'available' | 'restoring' | 'deleting' | 'error';
export type JobKind = 'create-volume' | 'delete-volume' | 'backup' | 'restore' | 'delete-backup';
export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface VolumeRow {
  id: number;
  uuid: string;
  tenant_id: string;
  display_name: string | null;
  display_description: string | null;
  size_gb: number;
  size_bytes: number;
  status: VolumeStatus;
  device: string | null;
  image_path: string | null;
  managed: 0 | 1;
  created_at: string;
  updated_at: string;
}

export interface BackupRow {
  id: number;
  uuid: string;
  tenant_id: string;
  volume_id: number;
  volume_uuid: string;
  container: string;
  display_name: string | null;
  display_description: string | null;
  status: BackupStatus;
  fail_reason: string | null;
  size_gb: number;
  size_bytes: number;
  chunk_size: number;
  object_count: number;
  stored_bytes: number;
  gc_pending: 0 | 1;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface JobRow {
  id: number;
  kind: JobKind;
  volume_id: number | null;
  backup_id: number | null;
  fresh_target: 0 | 1;
  status: JobStatus;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** The chunks of one volume in one container of one tenant: the unit of dedupe and GC. */
export interface ChunkScope {
  tenant_id: string;
  container: string;
  volume_uuid: string;
}

export { isoSeconds as now } from '../util/time.js';

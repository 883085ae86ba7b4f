// One job: what the API shows of catalog rows — the spec's fields, ids as strings.
import type { BackupRow, VolumeRow } from '../catalog/types.js';

export function backupSummary(b: BackupRow): { id: string; status: string } {
  return { id: String(b.id), status: b.status };
}

/** The create response: the spec lists no fail_reason, size or object_count there. */
export function backupCreated(b: BackupRow) {
  return {
    id: String(b.id),
    display_name: b.display_name,
    display_description: b.display_description,
    volume_id: String(b.volume_id),
    container: b.container,
    status: b.status,
    created_at: b.created_at,
  };
}

// Field order on the wire is the response schema's (schemas.ts), not this object's.
export function backupDetail(b: BackupRow) {
  return { ...backupCreated(b), fail_reason: b.fail_reason, size: b.size_gb, object_count: b.object_count };
}

export function volumeSummary(v: VolumeRow) {
  return { id: String(v.id), status: v.status, size: v.size_gb, display_name: v.display_name };
}

export function volumeDetail(v: VolumeRow, device: string | null) {
  return {
    ...volumeSummary(v),
    display_description: v.display_description,
    created_at: v.created_at,
    availability_zone: 'az-1',
    volume_type: null,
    snapshot_id: null,
    attachments: [],
    metadata: {},
    ...(device !== null ? { device } : {}),
  };
}

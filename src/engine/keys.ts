// The one place that builds object names (the on-store layout, docs/format.md):
//   volbackd/<volume_uuid>/chunks/<xxh3-128 hex>        LZ4 frame, or the raw bytes
//   volbackd/<volume_uuid>/backups/<backup_uuid>.json   the manifest
// No other file concatenates keys.
const ROOT = 'volbackd';
const DIGEST = /^[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkUuid(kind: string, uuid: string): void {
  if (!UUID.test(uuid)) throw new Error(`${kind} uuid ${JSON.stringify(uuid)} is not a lowercase UUID`);
}

export function chunkPrefix(volumeUuid: string): string {
  checkUuid('volume', volumeUuid);
  return `${ROOT}/${volumeUuid}/chunks/`;
}

export function chunkKey(volumeUuid: string, digest: string): string {
  if (!DIGEST.test(digest)) throw new Error(`chunk digest ${JSON.stringify(digest)} is not 32 lowercase hex digits`);
  return chunkPrefix(volumeUuid) + digest;
}

/** The digest named by a chunk object, or null for anything else under the prefix. */
export function digestOfChunkKey(volumeUuid: string, name: string): string | null {
  const prefix = chunkPrefix(volumeUuid);
  if (!name.startsWith(prefix)) return null;
  const d = name.slice(prefix.length);
  return DIGEST.test(d) ? d : null;
}

export function manifestPrefix(volumeUuid: string): string {
  checkUuid('volume', volumeUuid);
  return `${ROOT}/${volumeUuid}/backups/`;
}

export function manifestKey(volumeUuid: string, backupUuid: string): string {
  checkUuid('backup', backupUuid);
  return `${manifestPrefix(volumeUuid)}${backupUuid}.json`;
}

/** The backup uuid named by a manifest object, or null for anything else. */
export function backupOfManifestKey(volumeUuid: string, name: string): string | null {
  const prefix = manifestPrefix(volumeUuid);
  if (!name.startsWith(prefix) || !name.endsWith('.json')) return null;
  const u = name.slice(prefix.length, -'.json'.length);
  return UUID.test(u) ? u : null;
}

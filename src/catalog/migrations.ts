// The catalog's schema, as an append-only list of migrations. Migration N moves
// the database from user_version N-1 to N; a shipped migration is never edited.
export const MIGRATIONS: readonly string[] = [
  // 1: volumes, backups, the chunks each committed backup references, jobs
  `
  CREATE TABLE volumes (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                TEXT NOT NULL UNIQUE,
    tenant_id           TEXT NOT NULL,
    display_name        TEXT,
    display_description TEXT,
    size_gb             INTEGER NOT NULL,
    size_bytes          INTEGER NOT NULL,
    status              TEXT NOT NULL,
    -- adopted volumes: the block device or image file given by the operator
    device              TEXT,
    -- volumes the daemon created: their sparse image file (attached to a loop device at run time)
    image_path          TEXT,
    managed             INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
  );
  CREATE INDEX volumes_tenant ON volumes(tenant_id, status);

  CREATE TABLE backups (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                TEXT NOT NULL UNIQUE,
    tenant_id           TEXT NOT NULL,
    volume_id           INTEGER NOT NULL,
    volume_uuid         TEXT NOT NULL,
    container           TEXT NOT NULL,
    display_name        TEXT,
    display_description TEXT,
    status              TEXT NOT NULL,
    fail_reason         TEXT,
    size_gb             INTEGER NOT NULL,
    size_bytes          INTEGER NOT NULL,
    chunk_size          INTEGER NOT NULL,
    object_count        INTEGER NOT NULL DEFAULT 0,
    stored_bytes        INTEGER NOT NULL DEFAULT 0,
    -- 1 when chunks of this unfinished backup may still be on the store
    gc_pending          INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    completed_at        TEXT
  );
  CREATE INDEX backups_tenant ON backups(tenant_id);
  CREATE INDEX backups_scope ON backups(tenant_id, container, volume_uuid, status);

  -- Rows exist only for committed backups (written in the commit transaction).
  CREATE TABLE backup_chunks (
    backup_id INTEGER NOT NULL,
    digest    TEXT NOT NULL,
    PRIMARY KEY (backup_id, digest)
  ) WITHOUT ROWID;
  CREATE INDEX backup_chunks_digest ON backup_chunks(digest);

  CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    volume_id   INTEGER,
    backup_id   INTEGER,
    -- restore: the target volume was created for this restore (all zeros)
    fresh_target INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    error       TEXT,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
  );
  CREATE INDEX jobs_status ON jobs(status, id);
  `,
];

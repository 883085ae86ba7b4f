// Request and response schemas (TypeBox), one place. A schema's `description` is
// the message a client gets when its value is refused ("Invalid input received:
// <description>"); see errors-plugin.ts. Limits are documented in docs/api.md.
import { Type, type Static } from '@sinclair/typebox';

export const NAME_MAX = 255;
export const DESCRIPTION_MAX = 255;
export const CONTAINER_MAX_BYTES = 256;

// Strings of any length of digits are accepted: an id too large to exist is
// simply not found (404 naming it as given), like any other absent id.
const Id = (name: string) =>
  Type.Union([Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), Type.String({ pattern: '^[1-9][0-9]{0,63}$' })], {
    description: `${name} must be a positive integer or a string of one`,
  });

const Text = (name: string, max: number) =>
  Type.Union([Type.String({ maxLength: max }), Type.Null()], { description: `${name} must be a string of at most ${max} characters, or null` });

// Swift's rules (1-256 bytes of UTF-8, no "/", no NUL), and not "." or "..",
// which no URL or file system can name. maxLength counts characters, so the
// handler checks the byte length too (and the configured default) with this message.
export const CONTAINER_RULE = `container must be 1 to ${CONTAINER_MAX_BYTES} bytes without "/" or NUL, not "." or "..", or null for the default`;
const Container = Type.Union([Type.String({ minLength: 1, maxLength: CONTAINER_MAX_BYTES, pattern: '^(?!\\.{1,2}$)[^/\\u0000]+$' }), Type.Null()], {
  description: CONTAINER_RULE,
});

const Size = Type.Union([Type.Integer({ minimum: 1, maximum: 1 << 20 }), Type.String({ pattern: '^[1-9][0-9]{0,6}$' })], {
  description: 'size must be a positive integer number of GB',
});

// The optional display fields every create body takes.
const Names = {
  display_name: Type.Optional(Text('display_name', NAME_MAX)),
  display_description: Type.Optional(Text('display_description', DESCRIPTION_MAX)),
};

export const CreateBackupBody = Type.Object(
  {
    backup: Type.Object({
      volume_id: Id('volume_id'),
      ...Names,
      container: Type.Optional(Container),
    }),
  },
);
export type CreateBackupBody = Static<typeof CreateBackupBody>;

export const RestoreBody = Type.Object({
  restore: Type.Object({
    volume_id: Type.Optional(Type.Union([Id('volume_id'), Type.Null()], { description: 'volume_id must be a positive integer or a string of one, or null' })),
  }),
});
export type RestoreBody = Static<typeof RestoreBody>;

export const CreateVolumeBody = Type.Object({
  volume: Type.Object({
    size: Size,
    ...Names,
  }),
});
export type CreateVolumeBody = Static<typeof CreateVolumeBody>;

export const AdoptVolumeBody = Type.Object({
  volume: Type.Object({
    tenant_id: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'tenant_id must be 1-64 characters of A-Z a-z 0-9 _ . -' }),
    device: Type.String({ pattern: '^/[^\\u0000]{0,4095}$', description: 'device must be an absolute path' }),
    ...Names,
  }),
});
export type AdoptVolumeBody = Static<typeof AdoptVolumeBody>;

export const TenantParams = Type.Object({ tenant_id: Type.String() });
export const BackupParams = Type.Object({ tenant_id: Type.String(), backup_id: Type.String() });
export const VolumeParams = Type.Object({ tenant_id: Type.String(), volume_id: Type.String() });

// ---- responses: fast-json-stringify writes exactly these fields

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const BackupSummary = Type.Object({ id: Type.String(), status: Type.String() });
export const BackupDetail = Type.Object({
  id: Type.String(),
  display_name: Nullable(Type.String()),
  display_description: Nullable(Type.String()),
  volume_id: Type.String(),
  container: Type.String(),
  status: Type.String(),
  fail_reason: Nullable(Type.String()),
  created_at: Type.String(),
  size: Type.Integer(),
  object_count: Type.Integer(),
});
/** The create response: the spec lists no fail_reason, size or object_count there. */
export const BackupCreated = Type.Omit(BackupDetail, ['fail_reason', 'size', 'object_count']);
export const RestoreResponse = Type.Object({ restore: Type.Object({ backup_id: Type.String(), volume_id: Type.String() }) });

export const VolumeDetail = Type.Object({
  id: Type.String(),
  status: Type.String(),
  size: Type.Integer(),
  display_name: Nullable(Type.String()),
  display_description: Nullable(Type.String()),
  created_at: Type.String(),
  availability_zone: Type.String(),
  volume_type: Type.Null(),
  snapshot_id: Type.Null(),
  attachments: Type.Array(Type.Object({})),
  metadata: Type.Object({}),
  device: Type.Optional(Type.String()),
});
export const VolumeSummary = Type.Pick(VolumeDetail, ['id', 'status', 'size', 'display_name']);

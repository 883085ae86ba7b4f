// The manifest: the on-store format of one backup and its commit point (a backup
// exists once its manifest is stored). PLEASE DO NOT CHANGE THE MEANING OF A
// FIELD: add a new VERSION instead. Layout (docs/format.md has the full text):
//
//   {"format":"volbackd-manifest","version":1,
//    "backup":{"uuid","id","tenant_id","container","display_name","display_description","created_at","completed_at"},
//    "volume":{"uuid","id","display_name","size_gb","size_bytes"},
//    "chunk_size":4194304,"hash":"xxh3-128","compression":"lz4-frame",
//    "chunk_count":N,"chunks":["<32 hex>" | null, ...],        null = all-zero chunk, not stored
//    "stored":{"objects":n,"bytes":b},
//    "checksum":"xxh64:<16 hex>"}
//
// Chunk i covers bytes [i*chunk_size, min((i+1)*chunk_size, size_bytes)). The
// checksum is XXH64 (seed 0) of the document's exact bytes with the final
// `,"checksum":"xxh64:…"` member cut out, i.e. of the text that ends `…}}` + `}`;
// `xxhsum -H1` computes the same. A damaged manifest is refused, never half-used.
import xxhash from 'xxhash-wasm';

export const FORMAT = 'volbackd-manifest';
export const VERSION = 1;
export const HASH = 'xxh3-128';
export const COMPRESSION = 'lz4-frame';

export interface ManifestBackup {
  uuid: string;
  id: string;
  tenant_id: string;
  container: string;
  display_name: string | null;
  display_description: string | null;
  created_at: string;
  completed_at: string;
}

export interface ManifestVolume {
  uuid: string;
  id: string;
  display_name: string | null;
  size_bytes: number;
  size_gb: number;
}

export interface Manifest {
  format: typeof FORMAT;
  version: typeof VERSION;
  backup: ManifestBackup;
  volume: ManifestVolume;
  chunk_size: number;
  hash: typeof HASH;
  compression: typeof COMPRESSION;
  chunk_count: number;
  chunks: Array<string | null>;
  stored: { objects: number; bytes: number };
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

const hasher = xxhash();
const DIGEST = /^[0-9a-f]{32}$/;
const TRAILER = /,"checksum":"xxh64:([0-9a-f]{16})"\}$/;

export function chunkCount(sizeBytes: number, chunkSize: number): number {
  return Math.ceil(sizeBytes / chunkSize);
}

/** Collects chunk entries by index, in any order (chunks finish out of order). */
export class ManifestBuilder {
  readonly #chunks: Array<string | null | undefined>;

  constructor(readonly sizeBytes: number, readonly chunkSize: number) {
    this.#chunks = new Array<string | null | undefined>(chunkCount(sizeBytes, chunkSize)).fill(undefined);
  }

  get count(): number {
    return this.#chunks.length;
  }

  set(index: number, digest: string | null): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.#chunks.length) throw new RangeError(`chunk index ${index} out of range 0..${this.#chunks.length - 1}`);
    if (digest !== null && !DIGEST.test(digest)) throw new ManifestError(`chunk ${index}: ${JSON.stringify(digest)} is not a digest`);
    this.#chunks[index] = digest;
  }

  /** The manifest; every entry must have been set. */
  finish(meta: { backup: ManifestBackup; volume: Omit<ManifestVolume, 'size_bytes'>; stored: Manifest['stored'] }): Manifest {
    const missing = this.#chunks.findIndex((c) => c === undefined);
    if (missing >= 0) throw new ManifestError(`chunk ${missing} has no entry`);
    const b = meta.backup;
    const v = meta.volume;
    // Members in the documented order, whatever order the caller's objects had.
    return {
      format: FORMAT,
      version: VERSION,
      backup: {
        uuid: b.uuid,
        id: b.id,
        tenant_id: b.tenant_id,
        container: b.container,
        display_name: b.display_name,
        display_description: b.display_description,
        created_at: b.created_at,
        completed_at: b.completed_at,
      },
      volume: { uuid: v.uuid, id: v.id, display_name: v.display_name, size_gb: v.size_gb, size_bytes: this.sizeBytes },
      chunk_size: this.chunkSize,
      hash: HASH,
      compression: COMPRESSION,
      chunk_count: this.#chunks.length,
      chunks: this.#chunks as Array<string | null>,
      stored: meta.stored,
    };
  }
}

/** The manifest's bytes, self-checksummed. */
export async function serialize(m: Manifest): Promise<Buffer> {
  const { h64ToString } = await hasher;
  const body = JSON.stringify(m);
  const sum = h64ToString(body);
  return Buffer.from(`${body.slice(0, -1)},"checksum":"xxh64:${sum}"}`);
}

function fail(what: string): never {
  throw new ManifestError(`manifest ${what}`);
}

/** Parses and checks a manifest; throws ManifestError on anything off. */
export async function parse(bytes: Buffer | Buffer[]): Promise<Manifest> {
  const { h64ToString } = await hasher;
  const text = (Array.isArray(bytes) ? Buffer.concat(bytes) : bytes).toString('utf8');
  const m = TRAILER.exec(text);
  if (!m) fail('has no checksum trailer (truncated or not a volbackd manifest)');
  const body = text.slice(0, m.index) + '}';
  if (h64ToString(body) !== m[1]) fail('checksum mismatch: the document is damaged');
  let doc: Manifest;
  try {
    doc = JSON.parse(body) as Manifest;
  } catch {
    fail('is not valid JSON');
  }
  if (doc.format !== FORMAT) fail(`format ${JSON.stringify(doc.format)} is not ${FORMAT}`);
  if (doc.version !== VERSION) fail(`version ${JSON.stringify(doc.version)} is not supported (this volbackd reads version ${VERSION})`);
  if (doc.hash !== HASH || doc.compression !== COMPRESSION) fail(`uses ${doc.hash}/${doc.compression}, expected ${HASH}/${COMPRESSION}`);
  const size = doc.volume?.size_bytes;
  if (!Number.isSafeInteger(size) || size <= 0) fail('volume.size_bytes is not a positive integer');
  if (!Number.isSafeInteger(doc.chunk_size) || doc.chunk_size <= 0 || doc.chunk_size % 4096 !== 0) fail('chunk_size is not a positive multiple of 4096');
  if (!Array.isArray(doc.chunks)) fail('chunks is not a list');
  const want = chunkCount(size, doc.chunk_size);
  if (doc.chunks.length !== want || doc.chunk_count !== want) {
    fail(`has ${doc.chunks.length} chunk entries (chunk_count ${doc.chunk_count}), expected ceil(${size} / ${doc.chunk_size}) = ${want}`);
  }
  doc.chunks.forEach((c, i) => {
    if (c !== null && (typeof c !== 'string' || !DIGEST.test(c))) fail(`chunk ${i} is neither a digest nor null`);
  });
  if (typeof doc.backup?.uuid !== 'string' || typeof doc.volume?.uuid !== 'string') fail('lacks backup.uuid or volume.uuid');
  return doc;
}

/** Byte range of chunk i. */
export function chunkRange(m: Pick<Manifest, 'chunk_size' | 'volume'>, i: number): { offset: number; length: number } {
  const offset = i * m.chunk_size;
  return { offset, length: Math.min(m.chunk_size, m.volume.size_bytes - offset) };
}

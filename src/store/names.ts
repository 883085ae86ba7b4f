// One job: what both stores (fs.ts, swift.ts) check of container and object
// names the same way — Swift's length limits and text that cannot be a name —
// and how a name is shown in messages.

/** Swift's limits (MAX_CONTAINER_NAME_LENGTH, MAX_OBJECT_NAME_LENGTH), in UTF-8 bytes. */
export const MAX_CONTAINER_BYTES = 256;
export const MAX_OBJECT_BYTES = 1024;

/** Not valid UTF-8 (so not sendable), and two such names could map to one file. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Why s cannot be used as (part of) a name, or undefined. */
export function badText(s: string): string | undefined {
  if (s.includes('\0')) return 'contains a NUL byte';
  if (LONE_SURROGATE.test(s)) return 'is not valid Unicode';
  return undefined;
}

/** A name for messages: escaped, and cut when long. */
export function show(s: string): string {
  const e = JSON.stringify(s).slice(1, -1);
  return e.length > 100 ? `${e.slice(0, 99)}…` : e;
}

// The logger shape the lower layers use: pino's (fastify's logger), without
// making them depend on fastify.
export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: object): Log;
}

export const silentLog: Log = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  child: () => silentLog,
};

/** An error's message with its causes, for fail_reason and logs. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  // At most 8 links, each error once: a cause chain may be a cycle.
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e) && seen.size < 8; e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const msg = e instanceof Error ? e.message : String(e);
    if (parts.length < 4 && !parts.some((p) => p.includes(msg))) parts.push(msg);
    if (!(e instanceof Error)) break;
  }
  return parts.join(': ') || 'unknown error';
}

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
  for (let e: unknown = err; e !== undefined && e !== null && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    const msg = e instanceof Error ? e.message : String(e);
    if (!parts.some((p) => p.includes(msg))) parts.push(msg);
    if (!(e instanceof Error)) break;
  }
  return parts.join(': ') || 'unknown error';
}

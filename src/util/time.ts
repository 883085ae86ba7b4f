/** Timestamps as the API and manifests show them: "2012-09-03T22:00:00Z" (UTC, whole seconds). */
export function isoSeconds(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

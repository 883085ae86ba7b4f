// One job: run fn(i) for i = 0..count-1 with at most `limit` calls in flight, in
// index order, stopping at the first error (restic's errgroup.WithContext): the
// shared signal is aborted so in-flight calls can give up, no new call starts,
// and the first error is thrown once every started call has settled (so nothing
// still uses a buffer when the caller frees it).
import { setMaxListeners } from 'node:events';

export async function runBounded(
  count: number,
  limit: number,
  fn: (i: number, signal: AbortSignal) => Promise<void>,
  outer?: AbortSignal,
): Promise<void> {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  // A limit below 1 (or not a number) still makes progress, one at a time.
  const width = Number.isFinite(limit) && limit >= 1 ? Math.floor(limit) : 1;
  const ctl = new AbortController();
  // Every call in flight (and every request it makes) listens on this one signal.
  setMaxListeners(0, ctl.signal);
  const onOuter = (): void => ctl.abort(outer!.reason);
  if (outer?.aborted) throw outer.reason;
  outer?.addEventListener('abort', onOuter, { once: true });
  let next = 0;
  let firstError: unknown;
  let failed = false;

  const worker = async (): Promise<void> => {
    while (!ctl.signal.aborted && next < count) {
      const i = next++;
      try {
        await fn(i, ctl.signal);
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
        }
        ctl.abort(err);
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(width, count)) }, worker));
  } finally {
    outer?.removeEventListener('abort', onOuter);
  }
  if (failed) throw firstError;
  if (ctl.signal.aborted) throw ctl.signal.reason;
}

// One job: waiting on a promise that others share (a token renewal, a backoff
// timer) while letting one caller give up on abort without cancelling it.

/** Settles like p, or rejects with the abort reason as soon as signal aborts (p goes on for others). */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    // p's outcome is handled before anything returns, so a p that rejects after
    // this caller gave up is not an unhandled rejection.
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

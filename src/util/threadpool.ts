// One job: how many libuv pool threads volbackd wants (UV_THREADPOOL_SIZE, which
// must be set before anything uses the pool). Reads and compression take at most
// 2 × cores + 2 of them (backup.read_concurrency, one compression per core); the
// rest leave room for the store's and the catalog's fs work at the same time.
import { availableParallelism } from 'node:os';

/** 4 × cores + 4, at least 8, at most 64. */
export function threadPoolSize(cores: number = availableParallelism()): number {
  return Math.min(64, Math.max(8, cores * 4 + 4));
}

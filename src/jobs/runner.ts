// One job: run queued jobs from the catalog, at most `concurrency` at once, in
// the order they were queued. The queue is the jobs table, so a job accepted by
// the API survives a crash (start-up settles or re-queues it).
import type { JobKind, JobRow } from '../catalog/types.js';
import { describeError } from '../util/log.js';
import { runBackupJob } from './backup-job.js';
import type { JobContext } from './context.js';
import { runDeleteBackupJob } from './delete-backup-job.js';
import { runRestoreJob } from './restore-job.js';
import { runCreateVolumeJob, runDeleteVolumeJob } from './volume-jobs.js';

const HANDLERS: Record<JobKind, (ctx: JobContext, job: JobRow) => Promise<void>> = {
  backup: runBackupJob,
  restore: runRestoreJob,
  'delete-backup': runDeleteBackupJob,
  'create-volume': runCreateVolumeJob,
  'delete-volume': runDeleteVolumeJob,
};

export class JobRunner {
  readonly #ctx: JobContext;
  readonly #concurrency: number;
  readonly #running = new Map<number, Promise<void>>();
  #stopped = false;
  #idleWaiters: Array<() => void> = [];

  constructor(ctx: JobContext, concurrency: number) {
    this.#ctx = ctx;
    this.#concurrency = concurrency;
  }

  get active(): number {
    return this.#running.size;
  }

  /** Starts queued jobs while there is room. Called after every enqueue and completion. */
  kick(): void {
    if (this.#stopped) return;
    for (const job of this.#ctx.catalog.jobs.queued()) {
      if (this.#running.size >= this.#concurrency) return;
      if (this.#running.has(job.id) || !this.#ctx.catalog.jobs.start(job.id)) continue;
      this.#running.set(job.id, this.#run(job));
    }
    if (this.#running.size === 0) this.#notifyIdle();
  }

  async #run(job: JobRow): Promise<void> {
    const log = this.#ctx.log.child({ job: job.id, kind: job.kind });
    log.info({ backup: job.backup_id, volume: job.volume_id }, 'job running');
    let error: string | null = null;
    try {
      await HANDLERS[job.kind](this.#ctx, job);
    } catch (err) {
      error = describeError(err);
    }
    if (this.#stopped && this.#ctx.signal.aborted) {
      // Shutting down: leave the job as running; start-up settles it like a crash.
      this.#running.delete(job.id);
      this.#notifyIdle();
      return;
    }
    this.#ctx.catalog.jobs.finish(job.id, error);
    this.#ctx.tokens.delete(job.id);
    log.info({ error }, error === null ? 'job done' : 'job failed');
    this.#running.delete(job.id);
    setImmediate(() => this.kick());
  }

  #notifyIdle(): void {
    if (this.#running.size > 0) return;
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Resolves when no job runs and none is queued (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.#running.size > 0 || (!this.#stopped && this.#ctx.catalog.jobs.queued().length > 0)) {
      await new Promise<void>((r) => {
        this.#idleWaiters.push(r);
        this.kick();
      });
    }
  }

  /** Stops starting jobs and waits for the running ones to end (they see ctx.signal aborted). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled([...this.#running.values()]);
  }
}

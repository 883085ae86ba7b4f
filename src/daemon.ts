// The composition root: builds every service from the configuration, settles
// what a crash left, then serves the API. Nothing else wires layers together.
import { setMaxListeners } from 'node:events';
import { mkdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { buildApp } from './api/app.js';
import type { Services } from './api/services.js';
import type { AuthProvider } from './auth/provider.js';
import { ensureTokensFile, StaticTokenAuth } from './auth/static-tokens.js';
import { Catalog } from './catalog/index.js';
import type { Config } from './config.js';
import { KeyedMutex } from './jobs/keyed-mutex.js';
import type { JobContext } from './jobs/context.js';
import { JobRunner } from './jobs/runner.js';
import { collectLeftovers, settleAtStart, settleLater } from './jobs/startup.js';
import { FsStoreProvider } from './store/fs.js';
import { SwiftStoreProvider } from './store/swift.js';
import { SwiftTokenAuth } from './auth/swift-tokens.js';
import type { StoreProvider } from './store/object-store.js';
import { RetryStoreProvider } from './store/retry.js';
import { describeError, type Log } from './util/log.js';
import { VolumeManager } from './volumes/volume-manager.js';

export interface Daemon {
  readonly url: string;
  readonly services: Services;
  readonly log: Logger;
  /** Stops serving, stops jobs (left for start-up to settle), detaches loop devices. */
  close(): Promise<void>;
}

export interface DaemonOptions {
  /** pino destination; default stdout */
  logStream?: pino.DestinationStream;
  /** called once with tokens generated on first start */
  onTokensGenerated?: (tokens: Record<string, { tenant: string; admin: boolean }>, path: string) => void;
}

function buildStores(cfg: Config, inner: StoreProvider, log: Log): StoreProvider {
  return new RetryStoreProvider(inner, {
    attempts: cfg.store.retry_attempts,
    maxElapsedMs: cfg.store.retry_max_seconds * 1000,
    onRetry: (i) => log.warn({ op: i.op, name: i.name, attempt: i.attempt, delayMs: Math.round(i.delayMs), err: describeError(i.error) }, 'store retry'),
  });
}

// Static: the tokens file is the whole truth. Swift: the tenant's own account
// judges a token; the tokens file still holds operators' admin tokens.
function buildAuth(cfg: Config, swift: SwiftStoreProvider | null, opts: DaemonOptions): AuthProvider {
  const generated = ensureTokensFile(cfg.auth.tokens_file);
  if (generated) opts.onTokensGenerated?.(generated, cfg.auth.tokens_file);
  const tokens = StaticTokenAuth.fromFile(cfg.auth.tokens_file);
  if (cfg.auth.provider === 'static') return tokens;
  return SwiftTokenAuth.fromConfig(cfg, { admins: tokens, ...(swift ? { dispatcher: swift.dispatcher } : {}) });
}

export async function startDaemon(cfg: Config, opts: DaemonOptions = {}): Promise<Daemon> {
  const log = pino({ level: cfg.log_level, base: { pid: process.pid } }, opts.logStream ?? process.stdout);
  mkdirSync(cfg.data_dir, { recursive: true, mode: 0o700 });
  const swift = cfg.store.type === 'swift' ? SwiftStoreProvider.fromConfig(cfg.store) : null;
  const auth = buildAuth(cfg, swift, opts);
  const stores = buildStores(cfg, swift ?? new FsStoreProvider({ root: cfg.store.path }), log);
  const catalog = Catalog.open(join(cfg.data_dir, 'catalog.sqlite'));
  const volumes = new VolumeManager({ dir: cfg.volumes.dir, loop: cfg.volumes.loop, log });
  await volumes.init();
  await volumes.attachAll(catalog.volumes.live());

  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // every running job's requests listen on it
  const tokens = new Map<number, string>();
  // How long the JS thread made callbacks wait: the number behind API latency
  // while chunk work saturates the cores (reported with each backup).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const eventLoop = (): { p50: number; p99: number; max: number } => {
    const ms = (ns: number): number => Math.round(ns / 1e5) / 10;
    const r = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
    loopDelay.reset();
    return r;
  };
  const ctx: JobContext = { catalog, volumes, stores, config: cfg, log, locks: new KeyedMutex(), tokens, signal: abort.signal, eventLoop };
  const jobs = new JobRunner(ctx, cfg.jobs.concurrency);
  const unsettled = await settleAtStart(ctx);

  const services: Services = { config: cfg, catalog, volumes, jobs, auth, tokens };
  const app = await buildApp(services, { logger: false, loggerInstance: log });
  const address = await app.listen({ host: cfg.listen.host, port: cfg.listen.port });
  log.info({ address, store: stores.kind, auth: auth.kind, loop: volumes.useLoop, data_dir: cfg.data_dir }, 'volbackd listening');

  jobs.kick();
  void collectLeftovers(ctx).catch((err) => log.warn({ err: describeError(err) }, 'collecting leftovers failed'));
  void settleLater(ctx, unsettled).catch((err) => log.warn({ err: describeError(err) }, 'settling interrupted backups failed'));

  let closed: Promise<void> | null = null;
  return {
    url: address,
    services,
    log,
    close() {
      closed ??= (async () => {
        loopDelay.disable();
        await app.close();
        abort.abort(new Error('volbackd is stopping'));
        await jobs.stop();
        await volumes.close();
        catalog.close();
        await stores.close();
        await auth.close?.();
        log.info({}, 'volbackd stopped');
        log.flush?.();
      })();
      return closed;
    },
  };
}

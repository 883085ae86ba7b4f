#!/usr/bin/env node
// volbackd [--config FILE] [--listen HOST:PORT] [--data-dir DIR]
//
// Sizes the libuv thread pool before anything uses it (O_DIRECT reads, hashing
// and compression all run there), then loads the daemon.
import { setPriority } from 'node:os';
import { parseArgs } from 'node:util';
import { threadPoolSize } from '../util/threadpool.js';

const USAGE = `usage: volbackd [--config FILE] [--listen HOST:PORT] [--data-dir DIR]

Serves the HP Cloud Volume Backup API. With no config: listens on 127.0.0.1:8776,
keeps data under ./var, stores backups under <data_dir>/objects, and generates
<data_dir>/tokens.json on first start.`;

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`volbackd: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  // Enough pool threads for reads, compression on every core, and fs work at once.
  process.env.UV_THREADPOOL_SIZE ??= String(threadPoolSize());

  const { loadConfig, ConfigError } = await import('../config.js');
  const { startDaemon } = await import('../daemon.js');
  let cfg;
  try {
    cfg = loadConfig({
      ...(args.config ? { configFile: args.config } : {}),
      ...(args.listen ? { listen: args.listen } : {}),
      ...(args['data-dir'] ? { dataDir: args['data-dir'] } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`volbackd: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // The JS thread answers the API: ahead of other work on the host (lowering a
  // niceness needs root; without it the thread stays where it is). Linux keeps
  // niceness per thread, so this moves only this thread; the pool threads, created
  // later, start from here and move themselves 19 lower (native/promise_worker.h).
  try {
    setPriority(cfg.api_nice);
  } catch {
    // not permitted: keep the inherited niceness
  }
  const daemon = await startDaemon(cfg, {
    onTokensGenerated: (tokens, path) => {
      process.stdout.write(`volbackd: generated API tokens in ${path} (shown once):\n`);
      for (const [token, e] of Object.entries(tokens)) {
        process.stdout.write(`  ${token}  tenant=${e.tenant}${e.admin ? ' admin' : ''}\n`);
      }
    },
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    daemon.log.info({ signal }, 'stopping');
    daemon.close().then(
      () => process.exit(0),
      (err) => {
        daemon.log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`volbackd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

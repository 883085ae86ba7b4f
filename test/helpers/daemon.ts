// A real volbackd process for end-to-end tests: its own data directory, config
// and tokens, a free port, stdout parsed for its JSON log. Stopped (and its loop
// devices detached by autoclear) when the test ends, pass or fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';
import { tempDir } from './tmp.js';
import { tsLoaderArgs } from './spawn-ts.js';

export const TOKENS = {
  admin: 'admin-token-0123456789',
  t1: 'tenant1-token-0123456789',
  t2: 'tenant2-token-0123456789',
} as const;

export interface DaemonHandle {
  url: string;
  dataDir: string;
  configPath: string;
  proc: ChildProcess;
  /** every JSON log line so far */
  logs: Array<Record<string, unknown>>;
  /** resolves with the first log line matching pred (waiting up to timeoutMs) */
  waitLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface DaemonOptions {
  /** extra TOML appended to the config */
  toml?: string;
  /** reuse a data directory (restart after a kill) */
  dataDir?: string;
  env?: Record<string, string>;
}

const entry = new URL('../../src/bin/volbackd.ts', import.meta.url).pathname;

export async function startDaemon(t: Test, opts: DaemonOptions = {}): Promise<DaemonHandle> {
  const dataDir = opts.dataDir ?? tempDir(t, 'volbackd-e2e-');
  const tokensFile = join(dataDir, 'test-tokens.json');
  writeFileSync(
    tokensFile,
    JSON.stringify({
      [TOKENS.admin]: { tenant: 'admin', admin: true },
      [TOKENS.t1]: { tenant: 't1', admin: false },
      [TOKENS.t2]: { tenant: 't2', admin: false },
    }),
    { mode: 0o600 },
  );
  const configPath = join(dataDir, 'volbackd.toml');
  writeFileSync(
    configPath,
    [`listen = "127.0.0.1:0"`, `data_dir = "${dataDir}"`, `log_level = "debug"`, '[auth]', `tokens_file = "${tokensFile}"`, opts.toml ?? ''].join('\n') + '\n',
  );
  const proc = spawn(process.execPath, [...tsLoaderArgs(), entry, '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let l: Record<string, unknown>;
    try {
      l = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    logs.push(l);
    for (const w of [...waiters]) {
      if (w.pred(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));

  const waitLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
      const w = { pred, resolve: (l: Record<string, unknown>) => (clearTimeout(timer), resolve(l)) };
      waiters.push(w);
      void exited.then(() => {
        if (waiters.includes(w)) {
          clearTimeout(timer);
          reject(new Error(`volbackd exited (code ${proc.exitCode}, signal ${proc.signalCode}); stderr: ${stderr.slice(-2000)}`));
        }
      });
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  t.teardown(() => stop());

  const listening = await waitLog((l) => l.msg === 'volbackd listening', 60_000);
  return { url: String(listening.address), dataDir, configPath, proc, logs, waitLog, stop };
}

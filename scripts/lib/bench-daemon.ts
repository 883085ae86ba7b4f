// The benchmark's daemon: a real volbackd process started from dist/, its HTTP
// API, its resident memory, and API latency measured by concurrent clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export const ADMIN_TOKEN = 'bench-admin-token-000000';
export const TENANT_TOKEN = 'bench-tenant-token-00000';
export const TENANT = 'bench';

export interface BenchDaemon {
  url: string;
  proc: ChildProcess;
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  waitBackup(id: string): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  waitVolume(id: string): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  rssMiB(): number;
  /** the engine's own account of the last backup (its "backup available" log line) */
  lastBackupStats(): Record<string, unknown> | null;
  lastEventLoop(): Record<string, unknown> | null;
  peakRssMiB(): number;
  stop(): Promise<void>;
}

export async function startBenchDaemon(dataDir: string, storeToml: string): Promise<BenchDaemon> {
  const tokens = join(dataDir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify({ [ADMIN_TOKEN]: { tenant: 'admin', admin: true }, [TENANT_TOKEN]: { tenant: TENANT, admin: false } }), { mode: 0o600 });
  const cfg = join(dataDir, 'volbackd.toml');
  writeFileSync(cfg, [`listen = "127.0.0.1:0"`, `data_dir = "${dataDir}"`, 'log_level = "info"', '[auth]', `tokens_file = "${tokens}"`, storeToml].join('\n') + '\n');
  const entry = new URL('../../src/bin/volbackd.js', import.meta.url).pathname;
  const proc = spawn(process.execPath, [entry, '--config', cfg], { stdio: ['ignore', 'pipe', 'inherit'] });
  // The log is read to the end (a full pipe would stall the daemon); its
  // "listening" line gives the address. Info level, as in production: the
  // per-request lines are part of what the API latency costs.
  let lastStats: Record<string, unknown> | null = null;
  let lastLoop: Record<string, unknown> | null = null;
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    const timer = setTimeout(() => reject(new Error('volbackd did not start within 60 s')), 60_000);
    rl.on('line', (line) => {
      try {
        const l = JSON.parse(line) as { msg?: string; address?: string; stats?: Record<string, unknown>; eventLoop?: Record<string, unknown> };
        if (l.msg === 'backup available' && l.stats) {
          lastStats = l.stats;
          lastLoop = l.eventLoop ?? null;
        }
        if (l.msg === 'volbackd listening' && l.address) {
          clearTimeout(timer);
          resolve(l.address);
        }
      } catch {
        // not JSON
      }
    });
    proc.once('exit', (code) => reject(new Error(`volbackd exited with ${code}`)));
  });

  const call = async (method: string, path: string, body?: unknown, token = TENANT_TOKEN) => {
    const res = await fetch(url + path, {
      method,
      headers: { 'X-Auth-Token': token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const poll = async (path: string, key: string, busy: string[]) => {
    for (;;) {
      const r = await call('GET', path);
      const s = r.body?.[key]?.status as string | undefined;
      if (r.status !== 200 || !s) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      if (!busy.includes(s)) return r.body[key];
      await sleep(20);
    }
  };
  const status = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  };
  return {
    url,
    proc,
    call,
    waitBackup: (id) => poll(`/v1.1/${TENANT}/hp-volume-backups/${id}`, 'backup', ['creating', 'restoring', 'deleting']),
    waitVolume: (id) => poll(`/v1.1/${TENANT}/os-volumes/${id}`, 'volume', ['creating', 'backing-up', 'restoring-backup', 'deleting']),
    rssMiB: () => status('VmRSS'),
    lastBackupStats: () => lastStats,
    lastEventLoop: () => lastLoop,
    peakRssMiB: () => status('VmHWM'),
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

/**
 * `clients` API clients until `done` resolves, each sending GET
 * …/hp-volume-backups/detail, waiting for the answer, then pausing `thinkMs` (a
 * tool polling for status; 0 = a tight loop); latencies in ms.
 */
export async function measureLatency(d: BenchDaemon, clients: number, thinkMs: number, done: Promise<unknown>): Promise<number[]> {
  let stop = false;
  void done.finally(() => (stop = true));
  const lat: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!stop) {
        const t0 = performance.now();
        await d.call('GET', `/v1.1/${TENANT}/hp-volume-backups/detail`);
        lat.push(performance.now() - t0);
        if (thinkMs > 0) await sleep(thinkMs);
      }
    }),
  );
  return lat;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

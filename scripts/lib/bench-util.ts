// Shared pieces of the benchmark scripts: the machine's own ceilings (dd with
// direct I/O, the lz4 CLI), page-cache dropping, loop devices with direct I/O,
// timing and output. Benchmarks print ratios against ceilings measured in the
// same run, never absolute promises.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { attachLoop, detachLoop, type LoopAttachment } from '../../src/native/index.js';

export const MB = 1e6;
export const MiB = 1 << 20;

export function mbps(bytes: number, seconds: number): number {
  return Math.round((bytes / MB / seconds) * 10) / 10;
}

export function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Writes dirty pages and drops the page cache, so the next read comes from the disk. */
export function dropCaches(): boolean {
  execFileSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false; // not root: figures may be flattered by the cache, and the report says so
  }
}

/** A loop device over `file` with direct I/O (so reads really hit the disk), detached on exit. */
export async function directLoop(file: string, readOnly = false): Promise<LoopAttachment> {
  const loop = await attachLoop(file, { directIo: true, autoclear: true, readOnly });
  if (!loop.directIo) {
    await detachLoop(loop);
    throw new Error(`loop device for ${file} could not enable direct I/O; figures would come from the page cache`);
  }
  return loop;
}

/** `dd iflag=direct bs=4M` read of the whole device: the disk's sequential read ceiling. */
export function ddDirectRead(device: string, bytes: number): number {
  const t0 = process.hrtime.bigint();
  execFileSync('dd', [`if=${device}`, 'of=/dev/null', 'bs=4M', 'iflag=direct', 'status=none']);
  return mbps(bytes, seconds(t0));
}

/** `dd oflag=direct bs=4M` write of `bytes` of zeros... from /dev/zero (the disk's write ceiling). */
export function ddDirectWrite(device: string, bytes: number): number {
  const t0 = process.hrtime.bigint();
  execFileSync('dd', ['if=/dev/zero', `of=${device}`, 'bs=4M', `count=${Math.floor(bytes / (4 * MiB))}`, 'oflag=direct', 'conv=fdatasync', 'status=none']);
  return mbps(Math.floor(bytes / (4 * MiB)) * 4 * MiB, seconds(t0));
}

/** Single-thread `lz4 -1` over the file's bytes, read from a warm page cache: the CLI's compression speed. */
export async function lz4Cli(file: string, bytes: number): Promise<{ mbps: number; compressedBytes: number }> {
  execFileSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'] }); // warm the cache: measure compression, not the disk
  const t0 = process.hrtime.bigint();
  const compressedBytes = await new Promise<number>((resolve, reject) => {
    const p = spawn('lz4', ['-1', '-c', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let n = 0;
    p.stdout.on('data', (b: Buffer) => (n += b.length));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(n) : reject(new Error(`lz4 exited ${code}`))));
  });
  return { mbps: mbps(bytes, seconds(t0)), compressedBytes };
}

/** A sparse file of `bytes`. */
export function sparseFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  closeSync(fd);
  execFileSync('truncate', ['-s', String(bytes), path]);
}

export function printTable(title: string, rows: Array<[string, string | number]>): void {
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`${title}\n`);
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(w)}  ${v}\n`);
}

export interface Flags {
  [name: string]: string | boolean;
}

/** --name value / --flag parsing with a list of known names (unknown ones are an error). */
export function parseFlags(argv: string[], known: Record<string, 'value' | 'flag'>, usage: string): Flags {
  const out: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.replace(/^--/, '');
    if (!a.startsWith('--') || !(name in known)) {
      process.stderr.write(`unknown argument ${a}\n${usage}\n`);
      process.exit(2);
    }
    if (known[name] === 'flag') out[name] = true;
    else {
      const v = argv[++i];
      if (v === undefined) {
        process.stderr.write(`${a} needs a value\n${usage}\n`);
        process.exit(2);
      }
      out[name] = v;
    }
  }
  return out;
}

// Test data with known shapes: compressible text, incompressible random bytes,
// zeros; and the system tools' view of bytes (xxhsum -H2, lz4 -d).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';

export function textBytes(n: number, seed = 0): Buffer {
  const words = ['volume', 'backup', 'chunk', 'swift', 'restore', 'digest', 'the', 'of', 'and', 'block', 'device', 'manifest'];
  const parts: string[] = [];
  let len = 0;
  let x = seed * 2654435761 + 1;
  while (len < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = words[x % words.length]! + (x % 7 === 0 ? '.\n' : ' ');
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

export function randomData(n: number): Buffer {
  return randomBytes(n);
}

/** XXH3-128 as the xxhsum CLI computes it. */
export function xxhsum128(data: Buffer): string {
  return execFileSync('xxhsum', ['-H2', '-'], { input: data }).toString().split(/\s+/)[0]!;
}

/** Decodes an LZ4 frame with the lz4 CLI. */
export function lz4CliDecode(frame: Buffer): Buffer {
  return execFileSync('lz4', ['-d', '-c'], { input: frame, maxBuffer: 1 << 30 });
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// Loop devices for tests: attached with autoclear (the kernel detaches a device
// when its last opener closes it, so even a test process killed by SIGKILL leaks
// nothing) and detached in teardown, which tap runs when the test fails too.
import { accessSync, constants } from 'node:fs';
import type { Test } from 'tap';
import { attachLoop, detachLoop, type LoopAttachment, type LoopOptions } from '../../src/native/index.js';

/** Why loop-device tests cannot run here, or null when they can. */
export function loopUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'loop devices need root';
  try {
    accessSync('/dev/loop-control', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/loop-control is not available';
  }
  return null;
}

export async function withLoop(t: Test, backing: string, opts: LoopOptions = {}): Promise<LoopAttachment> {
  const loop = await attachLoop(backing, { directIo: true, autoclear: true, ...opts });
  t.teardown(() => detachLoop(loop));
  return loop;
}

// tap's `after` script (.taprc: `after: test/setup/swift-stop.ts`): stops the
// shared Swift that swift-start.ts started (only if it did: the marker file),
// by pid through scripts/swift-aio stop. The data stays until the next start
// wipes it. Output goes to stderr: stdout is tap's.
import { existsSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SHARED_SWIFT_DIR, STARTED_MARKER, SWIFT_AIO } from '../helpers/swift.js';
import { register, withLock } from './shared-lock.js';

const run = promisify(execFile);

async function main(): Promise<number> {
  const dir = process.env.VOLBACKD_TEST_SWIFT_DIR || SHARED_SWIFT_DIR;
  const others = register(dir, false);
  if (others > 0) {
    console.error(`swift-stop: ${others} other test run(s) still use the Swift in ${dir}; left running`);
    return 0;
  }
  if (!existsSync(join(dir, STARTED_MARKER))) {
    console.error(`swift-stop: Swift in ${dir} was not started by swift-start; left as it is`);
    return 0;
  }
  try {
    await run(SWIFT_AIO, ['stop', dir]);
  } catch (err) {
    console.error(`swift-stop: scripts/swift-aio stop ${dir} failed:\n${(err as { stderr?: string }).stderr ?? String(err)}`);
    return 1;
  }
  rmSync(join(dir, STARTED_MARKER), { force: true });
  console.error(`swift-stop: stopped the Swift in ${dir}`);
  return 0;
}

process.exitCode = await withLock(process.env.VOLBACKD_TEST_SWIFT_DIR || SHARED_SWIFT_DIR, main);

// tap's `before` script (.taprc: `before: test/setup/swift-start.ts`): starts ONE
// Swift (scripts/swift-aio) that every test file then shares, in the fixed
// directory SHARED_SWIFT_DIR, or in $VOLBACKD_TEST_SWIFT_DIR when set.
//
// tap runs this as a separate node process before the test files and does not
// pass its environment on to them, so tests find the instance by its directory
// (test/helpers/swift.ts: swiftEnv()). Output goes to stderr: stdout is tap's.
//
// - Swift not installed: says so and exits 0 (the Swift tests skip).
// - Already running there: left as it is, and swift-stop.ts will not stop it.
// - Otherwise: the shared directory is wiped (old test data, old ports), Swift is
//   started on free ports, and a marker file tells swift-stop.ts to stop it.
// A failed start exits 1, which fails the test run (tap then skips `after`).
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SHARED_SWIFT_DIR, STARTED_MARKER, SWIFT_AIO, freePorts, running, swiftMissing } from '../helpers/swift.js';
import { register, withLock } from './shared-lock.js';

const run = promisify(execFile);

async function main(): Promise<number> {
  const dir = process.env.VOLBACKD_TEST_SWIFT_DIR || SHARED_SWIFT_DIR;
  const missing = swiftMissing();
  if (missing) {
    console.error(`swift-start: ${missing}; the Swift tests will skip`);
    return 0;
  }
  if (await running(dir)) {
    console.error(`swift-start: Swift already runs from ${dir}; using it as it is`);
    return 0;
  }
  if (dir === SHARED_SWIFT_DIR && existsSync(dir)) {
    // Partly running (a server died)? Stop what is left, by pid, before wiping.
    await run(SWIFT_AIO, ['stop', dir]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  const fresh = !existsSync(join(dir, 'aio.env'));
  const ports = await freePorts();
  const t0 = performance.now();
  try {
    await run(SWIFT_AIO, ['start', dir], {
      env: {
        ...process.env,
        // used only by a first start; a directory given by the user keeps its recorded ports
        ...(fresh ? { SWIFT_AIO_PORT: String(ports.proxy), SWIFT_AIO_BACKEND_PORT: String(ports.backend), SWIFT_AIO_MEMCACHED_PORT: String(ports.memcached) } : {}),
      },
    });
  } catch (err) {
    console.error(`swift-start: scripts/swift-aio start ${dir} failed:\n${(err as { stderr?: string }).stderr ?? String(err)}`);
    return 1;
  }
  writeFileSync(join(dir, STARTED_MARKER), `${process.pid}\n`);
  console.error(`swift-start: Swift runs from ${dir} (started in ${((performance.now() - t0) / 1000).toFixed(1)}s)`);
  return 0;
}

process.exitCode = await withLock(process.env.VOLBACKD_TEST_SWIFT_DIR || SHARED_SWIFT_DIR, async () => {
  register(process.env.VOLBACKD_TEST_SWIFT_DIR || SHARED_SWIFT_DIR, true);
  return main();
});

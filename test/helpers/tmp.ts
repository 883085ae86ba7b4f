// Temporary directories that are removed when the test ends, pass or fail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export function tempDir(t: Test, prefix = 'volbackd-test-'): string {
  // Under /var/tmp (disk, O_DIRECT-capable), not a tmpfs that may refuse O_DIRECT.
  const base = process.env.VOLBACKD_TEST_TMP ?? (process.platform === 'linux' ? '/var/tmp' : tmpdir());
  const dir = mkdtempSync(join(base, prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

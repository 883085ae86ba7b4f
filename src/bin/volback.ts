#!/usr/bin/env node
// volback — the volbackd command-line client (see src/cli/volback.ts).
import { run } from '../cli/volback.js';

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`volback: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);

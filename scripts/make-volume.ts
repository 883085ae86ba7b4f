/**
 * CLI: create a deterministic benchmark volume image (see scripts/lib/make-volume.ts).
 *
 *   node dist/scripts/make-volume.js --size-mib N [--seed S] [--fill F] [--tmp-dir DIR] OUT
 *   node dist/scripts/make-volume.js --change-percent P [--seed S] [--region-bytes B] OUT
 *
 * Prints one JSON line. The second form applies changeRegions() to an existing image.
 */
import { changeRegions, makeVolume } from "./lib/make-volume.js";

function usage(msg?: string): never {
  if (msg) process.stderr.write(`make-volume: ${msg}\n`);
  process.stderr.write(
    "usage: make-volume --size-mib N [--seed S] [--fill F] [--tmp-dir DIR] OUT\n" +
      "       make-volume --change-percent P [--seed S] [--region-bytes B] OUT\n",
  );
  process.exit(2);
}

function num(name: string, v: string | undefined): number {
  if (v === undefined) usage(`${name} needs a value`);
  const n = Number(v);
  if (!Number.isFinite(n)) usage(`bad ${name}: ${v}`);
  return n;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let sizeMiB: number | undefined;
  let seed = 1;
  let fill = 0.5;
  let tmpDir: string | undefined;
  let changePercent: number | undefined;
  let regionBytes: number | undefined;
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    switch (a) {
      case "--size-mib": sizeMiB = num(a, args[++i]); break;
      case "--seed": seed = num(a, args[++i]); break;
      case "--fill": fill = num(a, args[++i]); break;
      case "--tmp-dir": tmpDir = args[++i] ?? usage("--tmp-dir needs a value"); break;
      case "--change-percent": changePercent = num(a, args[++i]); break;
      case "--region-bytes": regionBytes = num(a, args[++i]); break;
      case "-h":
      case "--help": usage();
      default:
        if (a.startsWith("-") || out !== undefined) usage(`unexpected argument ${a}`);
        out = a;
    }
  }
  if (out === undefined) usage("missing OUT");
  const t0 = process.hrtime.bigint();
  let result: object;
  if (changePercent !== undefined) {
    const opts = regionBytes === undefined ? { percent: changePercent, seed } : { percent: changePercent, seed, regionBytes };
    const changed = await changeRegions(out, opts);
    result = { path: out, changedRegions: changed };
  } else {
    if (sizeMiB === undefined) usage("missing --size-mib");
    result = await makeVolume({ path: out, sizeMiB, seed, fillFraction: fill, ...(tmpDir ? { tmpDir } : {}) });
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ ...result, seconds: Math.round(seconds * 1000) / 1000 }) + "\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`make-volume: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

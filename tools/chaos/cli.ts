/**
 * `npm run chaos [-- --seeds N] [--seed S] [--batches N] [--verbose]`: the chaos suite.
 * Runs seeds 1..N (or the one seed given) on embedded engines started once, prints one
 * summary line per seed, and exits 1 on the first difference from the oracle.
 */
import { startEmbeddedEngines } from "../../lib/local/engines.js";
import { ChaosFailure, runChaos } from "./run.js";

function parse(argv: string[]): { seeds: number[]; batches: number; verbose: boolean; quiet: boolean; noFaults: boolean } {
  let count = 3;
  let first = 1;
  let one: number | undefined;
  let batches = 30;
  let verbose = false;
  let quiet = false;
  let noFaults = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) {
        process.stderr.write(`${a} needs a whole number\n`);
        process.exit(2);
      }
      return v;
    };
    if (a === "--seeds") count = value();
    else if (a === "--seed") one = value();
    else if (a === "--first-seed") first = value();
    else if (a === "--batches") batches = value();
    else if (a === "--verbose") verbose = true;
    else if (a === "--quiet") quiet = true;
    else if (a === "--no-faults") noFaults = true;
    else {
      process.stderr.write(
        `unknown argument ${a}\nusage: npm run chaos -- [--seeds N] [--seed S] [--first-seed S] [--batches N] [--verbose] [--quiet] [--no-faults]\n`,
      );
      process.exit(2);
    }
  }
  const seeds = one !== undefined ? [one] : Array.from({ length: count }, (_, i) => first + i);
  return { seeds, batches, verbose, quiet, noFaults };
}

const { seeds, batches, verbose, quiet, noFaults } = parse(process.argv.slice(2));
const t0 = Date.now();
const engines = await startEmbeddedEngines({});
let failed = 0;
try {
  for (const seed of seeds) {
    try {
      const r = await runChaos({
        seed,
        batches,
        engines,
        verbose,
        ...(noFaults ? { sdkFaultP: 0, duplicateP: 0, workerKills: 0, coordinatorKills: 0, delays: false } : {}),
        log: quiet ? undefined : (l) => process.stderr.write(l + "\n"),
      });
      process.stdout.write(`${r.line}\n`);
      if (!quiet) {
        const kinds = Object.entries(r.faultsByKind)
          .map(([k, n]) => `${k} ×${n}`)
          .join(", ");
        process.stderr.write(`  ${(r.durationMs / 1000).toFixed(1)} s, ${r.processesKilled} processes killed; ${kinds}\n`);
      }
    } catch (e) {
      failed++;
      process.stdout.write(`${e instanceof ChaosFailure ? e.message : ((e as Error).stack ?? String(e))}\n`);
      break;
    }
  }
} finally {
  await engines.stop();
}
process.stderr.write(`chaos: ${seeds.length} seed(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s${failed ? ", FAILED" : ""}\n`);
process.exit(failed ? 1 : 0);

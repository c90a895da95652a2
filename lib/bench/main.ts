/**
 * `npm run bench`: throughput, per-batch overhead and cost per million
 * records, side by side with baselines, measured in one run. Writes
 * benchmarks.json and benchmarks.md (default: docs/). `--quick` runs every
 * scenario small (a CI smoke test; figures are not meaningful) and writes
 * to a temporary folder unless `--out DIR` is given.
 */
import { cpus, totalmem, tmpdir, platform, release } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startEmbeddedEngines } from "../local/engines.js";
import { runMemoryScenario } from "./memory.js";
import { measureMinuteInvocations, runOverhead, runSustained, runThroughput } from "./distributed.js";
import { buildCost } from "./cost-report.js";
import { renderMarkdown, type BenchReport } from "./report.js";

export interface BenchOptions { quick: boolean; out: string; log?: (line: string) => void }

export const FULL = {
  memory: { records: 1_000_000, batchSize: 100_000, repeats: 3 },
  throughput: { records: 200_000, shards: 4, workers: [1, 2, 4], directRepeats: 3 },
  overhead: { batches: 20, workers: 2 },
  sustained: { ratePerSecond: 1000, seconds: 20, shards: 2, workers: 2 },
  sustainedLong: { ratePerSecond: 1000, seconds: 40, shards: 2, workers: 2, batchInterval: "10s" },
  minute: { repeats: 5 },
};
export const QUICK = {
  memory: { records: 40_000, batchSize: 10_000, repeats: 1 },
  throughput: { records: 4_000, shards: 4, workers: [1, 2], directRepeats: 1 },
  overhead: { batches: 3, workers: 1 },
  sustained: { ratePerSecond: 200, seconds: 3, shards: 1, workers: 1 },
  sustainedLong: { ratePerSecond: 200, seconds: 3, shards: 1, workers: 1, batchInterval: "2s" },
  minute: { repeats: 2 },
};

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const p = o.quick ? QUICK : FULL;
  const started = Date.now();
  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? "unknown", cores: cpu.length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version,
    os: `${platform()} ${release()}`,
  };
  log(`sparkless bench${o.quick ? " --quick" : ""} on ${machine.cores} × ${machine.cpu}, ${machine.memoryGb} GB, Node ${machine.node}`);
  log(`1. in-memory engine: word count over ${p.memory.records} records`);
  const memory = await runMemoryScenario({ ...p.memory, log });
  log("starting the embedded engines (kinesalite, DynamoDB Local, fauxqs)");
  const engines = await startEmbeddedEngines({});
  try {
    log(`2. distributed runtime: ${p.throughput.records} records in ${p.throughput.shards} shards`);
    const throughput = await runThroughput(engines, { ...p.throughput, log });
    log("3. per-batch overhead");
    const empty = await runOverhead(engines, { kind: "empty", ...p.overhead, log });
    const one = await runOverhead(engines, { kind: "one-record", ...p.overhead, log });
    log("4. cost: a sustained run and 1-minute coordinator invocations");
    const sustained = await runSustained(engines, { ...p.sustained, log });
    const sustainedLong = await runSustained(engines, { ...p.sustainedLong, log });
    const minute = await measureMinuteInvocations(engines, p.minute);
    const cost = buildCost({ throughput, empty, sustained, sustainedLong, minute });
    const report: BenchReport = {
      generatedAt: new Date().toISOString(), quick: o.quick, durationS: 0, machine,
      memory, throughput, overhead: { empty, oneRecord: one }, sustained, sustainedLong, minute, cost,
    };
    report.durationS = Math.round((Date.now() - started) / 1000);
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, "benchmarks.json"), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(o.out, "benchmarks.md"), renderMarkdown(report));
    log(`wrote ${join(o.out, "benchmarks.json")} and benchmarks.md in ${report.durationS} s`);
    return report;
  } finally {
    await engines.stop();
  }
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/").split("/").pop()!);
if (isMain) {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const outIndex = args.indexOf("--out");
  const out = outIndex >= 0 ? args[outIndex + 1]! : quick ? join(tmpdir(), "sparkless-bench-quick") : "docs";
  const report = await runBench({ quick, out });
  process.stdout.write(renderMarkdown(report).split("\n").filter((l) => l.startsWith("|")).slice(0, 40).join("\n") + "\n");
  process.exit(0);
}

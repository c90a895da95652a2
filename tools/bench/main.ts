/**
 * `npm run bench`: the stateful word count measured side by side in one
 * run: the in-memory engine against baselines, the distributed path on the
 * embedded engines (sustained rates, at rest, one large batch, large state,
 * a direct Kinesis consumer), and the cost a month those runs imply. Writes
 * benchmarks.json and benchmarks.md (default: docs/) and prints the targets.
 * `--quick` runs every scenario tiny (a CI smoke test; the figures are not
 * meaningful) and writes to a temporary folder unless `--out DIR` is given.
 * `--render FILE` derives and renders a written report again from the runs
 * it measured (after a change to the cost model or the markdown).
 */
import "../../lib/local/quiet.js";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startChild } from "./children.js";
import type { Endpoints } from "./cluster.js";
import {
  checkpointStoreChoice,
  checkpointStoreFromBytes,
  cpuModel,
  FIXED_CLOUDWATCH_MONTH,
  FLINK_MINIMUM_MONTH,
  kinesisCost,
  lambdaTriggerMonthly,
  measuredCell,
  minuteCell,
  modelCell,
  type CostCell,
  type ModelInputs,
  type Pipeline,
} from "./cost.js";
import {
  perBatch,
  runAtRest,
  runDirect,
  runLargeBatch,
  runMinuteInvocations,
  runSustained,
  type AtRestRun,
  type Producer,
  type SustainedRun,
} from "./distributed.js";
import { awsLatencyModel } from "./latency.js";
import { total } from "../../lib/observability/metering.js";
import { PRICES_DATE } from "../../lib/observability/prices.js";
import { renderMarkdown, targets, type BenchReport } from "./report.js";
import { runScale, SCALE_VARIANTS } from "./scale.js";

export interface BenchOptions {
  quick: boolean;
  out: string;
  log?: (line: string) => void;
}

/** Every size and duration of a run; `--quick` shrinks them all. */
export interface BenchPlan {
  /** `diagnosisRecords`: the size the breakdown and the profile run at, when the engine misses its target. */
  memory: { sizes: number[]; batchSize: number; repeats: number; defaultModeSizes: number[]; diagnosisRecords: number };
  /** The low and high measured rates (records/s), and the two intervals (ms) of the cost table. */
  rates: { low: number; high: number };
  intervals: { short: number; long: number };
  seconds: { rest: number; warmup: number; low: number; long: number; high: number; stateless: number; direct: number };
  shards: number;
  workers: number;
  minuteInvocations: number;
  largeBatchRecords: number;
  scale: { keys: number; dynamoKeys: number; active: number; warmBatches: number };
}

export const FULL: BenchPlan = {
  // The defaults are timed at the diagnosis size (in the breakdown): at 1M they take ~40 s of the ten minutes.
  memory: { sizes: [1_000_000, 3_000_000], batchSize: 100_000, repeats: 3, defaultModeSizes: [], diagnosisRecords: 300_000 },
  rates: { low: 1000, high: 10_000 },
  intervals: { short: 1000, long: 10_000 },
  // The stateful windows are whole multiples of the word count's 10 s checkpoint interval, so each holds
  // the checkpoints its length implies, whatever the phase (a 25 s window held 2 or 3).
  seconds: { rest: 15, warmup: 15, low: 30, long: 30, high: 30, stateless: 15, direct: 12 },
  shards: 2,
  workers: 2,
  minuteInvocations: 5,
  largeBatchRecords: 50_000,
  scale: { keys: 100_000, dynamoKeys: 2_000, active: 50, warmBatches: 20 },
};

export const QUICK: BenchPlan = {
  memory: { sizes: [20_000, 40_000], batchSize: 10_000, repeats: 1, defaultModeSizes: [20_000], diagnosisRecords: 20_000 },
  rates: { low: 200, high: 1000 },
  intervals: { short: 1000, long: 2000 },
  seconds: { rest: 3, warmup: 1, low: 4, long: 4, high: 4, stateless: 3, direct: 3 },
  shards: 2,
  workers: 1,
  minuteInvocations: 2,
  largeBatchRecords: 25_000,
  scale: { keys: 2_000, dynamoKeys: 200, active: 20, warmBatches: 3 },
};

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const p = o.quick ? QUICK : FULL;
  const started = Date.now();
  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${platform()} ${release()}`,
    loadAverage: loadavg(),
  };
  log(`sparkless bench${o.quick ? " --quick" : ""} on ${machine.cores} × ${machine.cpu}, ${machine.memoryGb} GB, Node ${machine.node}`);

  log(`1. in-memory engine: the stateful word count over ${p.memory.sizes.join(" and ")} records`);
  // In a child process, so this process's heap and code are the coordinator's alone in section 2.
  const memoryProcess = await startChild<{ pid: number }>("./memory-process.ts", {}, { name: "in-memory section" });
  let memory: BenchReport["memory"];
  try {
    memory = await memoryProcess.call<BenchReport["memory"]>("run", { plan: p.memory, diagnose: o.quick });
  } finally {
    await memoryProcess.stop();
  }

  const sections = await runDistributed(p, log);
  const report: BenchReport = { generatedAt: new Date().toISOString(), quick: o.quick, durationS: 0, machine, memory, ...sections };
  report.durationS = Math.round((Date.now() - started) / 1000);
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, "benchmarks.json"), JSON.stringify(report, null, 2) + "\n");
  writeFileSync(join(o.out, "benchmarks.md"), renderMarkdown(report));
  log(`wrote ${join(o.out, "benchmarks.json")} and benchmarks.md in ${report.durationS} s`);
  return report;
}

/** Sections 2 and 3: the distributed runs on the embedded engines, the scale runs, and the cost they imply. */
export async function runDistributed(p: BenchPlan, log: (line: string) => void): Promise<Pick<BenchReport, "distributed" | "scale" | "cost">> {
  log("2. the distributed path: starting the embedded engines (kinesalite, DynamoDB Local, fauxqs) and the producer");
  const engines = await startChild<Endpoints>("./engines-process.ts", {}, { name: "engines", timeoutMs: 180_000 });
  const producer: Producer = await startChild<{ pid: number }>("./producer-process.ts", {}, { name: "producer" });
  try {
    const e = engines.ready;
    const { low, high } = p.rates;
    const { short, long } = p.intervals;
    const rest: AtRestRun[] = [
      await runAtRest(e, { pipeline: "stateful", intervalMs: short, seconds: p.seconds.rest, log }),
      await runAtRest(e, { pipeline: "stateless", intervalMs: short, seconds: Math.max(3, p.seconds.rest / 2), log }),
    ];
    const sustained = (label: string, pipeline: Pipeline, rate: number, intervalMs: number, seconds: number, workers: number) =>
      runSustained(e, producer, {
        label,
        pipeline,
        ratePerSecond: rate,
        intervalMs,
        seconds,
        shards: p.shards,
        workers,
        warmupSeconds: p.seconds.warmup,
        log,
      });
    // Worker processes everywhere a batch may fan out ("auto" decides by the coordinator's measured rate).
    const stateful1k = await sustained(`stateful, ${low}/s, ${short / 1000} s`, "stateful", low, short, p.seconds.low, p.workers);
    const stateless1k = await sustained(`stateless, ${low}/s, ${short / 1000} s`, "stateless", low, short, p.seconds.stateless, p.workers);
    const statefulLong = await sustained(`stateful, ${low}/s, ${long / 1000} s`, "stateful", low, long, p.seconds.long, p.workers);
    const stateful10k = await sustained(`stateful, ${high}/s, ${short / 1000} s`, "stateful", high, short, p.seconds.high, p.workers);
    const minute = await runMinuteInvocations(e, { invocations: p.minuteInvocations, log });
    const large = await runLargeBatch(e, producer, { records: p.largeBatchRecords, shards: p.shards, workers: p.workers, log });
    const direct = [
      await runDirect(e, producer, { ratePerSecond: low, seconds: p.seconds.direct, shards: p.shards, intervalMs: short, log }),
      await runDirect(e, producer, { ratePerSecond: high, seconds: p.seconds.direct, shards: p.shards, intervalMs: short, log }),
    ];
    log("3. scale: large, sparse state");
    const scale = [];
    for (const v of SCALE_VARIANTS) {
      const keys = v.backend === "dynamodb" ? p.scale.dynamoKeys : p.scale.keys;
      scale.push(
        await runScale(e, producer, v, {
          keys,
          active: p.scale.active,
          warmBatches: p.scale.warmBatches,
          name: `scale-${v.pipeline}-${v.backend}`,
          log,
        }),
      );
    }

    return derive(p, { stateful1k, statefulLong, stateful10k, stateless1k, rest, minute, large, direct }, scale);
  } finally {
    await producer.stop();
    await engines.stop(15_000);
  }
}

/** What a run measured: the raw runs of sections 2 and 3, from which `derive` computes the rest. */
type Measured = Omit<BenchReport["distributed"], "requestsPerBatch" | "latencyModel">;

/** The figures computed from the measured runs: requests per batch, the AWS latency model, the cost. */
export function derive(p: BenchPlan, m: Measured, scale: BenchReport["scale"]): Pick<BenchReport, "distributed" | "scale" | "cost"> {
  const requestsPerBatch = [
    perBatch("empty batch", m.rest[0]!.window.counts, m.rest[0]!.window.batches, ""),
    perBatch(
      `${m.stateful1k.ratePerSecond.toLocaleString("en-US")}-record stateful batch`,
      m.stateful1k.window.counts,
      m.stateful1k.window.batches,
      "",
    ),
    perBatch(
      `${m.large.records.toLocaleString("en-US")}-record stateful batch`,
      m.large.counts,
      1,
      `one batch on a stepped clock, which ran ${m.large.mode} (${m.large.reason}); worker requests included.`,
    ),
  ];
  const runs: SustainedRun[] = [m.stateful1k, m.statefulLong, m.stateful10k, m.stateless1k];
  const cost = buildCost(p, runs, m.rest, m.minute, m.large, scale);
  const latencyModel = [m.stateful1k, m.stateful10k, m.statefulLong].map((s) => {
    const cell = cost.cells.find((c) => c.pipeline === s.pipeline && c.ratePerSecond === s.ratePerSecond && c.intervalMs === s.intervalMs)!;
    const b = Math.max(1, s.window.batches);
    return {
      run: s.label,
      intervalMs: s.intervalMs,
      measuredP50Ms: s.latency.p50Ms,
      measuredP99Ms: s.latency.p99Ms,
      model: awsLatencyModel(
        s.intervalMs,
        // On the record's path: the boundary's read, every shard at once, page after page on each (10,000
        // records a page). The read-ahead's calls come before the boundary, off the path.
        Math.max(1, Math.ceil(s.window.records / b / Math.max(1, s.shards) / 10_000)),
        total(s.window.counts, "requests", { service: "DynamoDB", purpose: "batch log", api: "PutItem" }) / b,
        cell.coordinator.msPerBatchAtMemory,
      ),
    };
  });
  return { distributed: { ...m, requestsPerBatch, latencyModel }, scale, cost };
}

/**
 * Re-derives and re-renders a report from the runs it measured (`--render FILE`): after a change to the
 * cost model or the rendering, without measuring again. The measured figures are kept as they were.
 */
export function rerender(path: string): BenchReport {
  const r = JSON.parse(readFileSync(path, "utf8")) as BenchReport;
  const { requestsPerBatch: _r, latencyModel: _l, ...measured } = r.distributed;
  const report: BenchReport = { ...r, renderedAt: new Date().toISOString(), ...derive(r.quick ? QUICK : FULL, measured, r.scale) };
  writeFileSync(path, JSON.stringify(report, null, 2) + "\n");
  writeFileSync(join(dirname(path), "benchmarks.md"), renderMarkdown(report));
  return report;
}

/** The cost section: every cell of the table (measured where a run measured it), baselines and the checkpoint store choice. */
function buildCost(
  p: BenchPlan,
  runs: SustainedRun[],
  rest: AtRestRun[],
  minute: BenchReport["distributed"]["minute"],
  large: BenchReport["distributed"]["large"],
  scale: BenchReport["scale"],
): BenchReport["cost"] {
  const ref = runs[0]!.producerCounts;
  const putUnitsPerRecord = ref.kinesisPutPayloadUnits / Math.max(1, ref.kinesisRecordsPut);
  const bytesPerRecord = total(ref, "bytes", { service: "Kinesis", api: "PutRecords" }) / Math.max(1, ref.kinesisRecordsPut);
  const inputs: ModelInputs = { sustained: runs, rest, large, bytesPerRecord, putUnitsPerRecord };
  const rates = [0, p.rates.low, p.rates.high, 100 * p.rates.low];
  const intervals = [p.intervals.short, p.intervals.long];
  const cells: CostCell[] = [];
  for (const pipeline of ["stateful", "stateless"] as const) {
    for (const rate of rates) {
      for (const intervalMs of intervals) {
        const k = kinesisCost(rate, bytesPerRecord, putUnitsPerRecord);
        const run =
          rate === 0
            ? rest.find((r) => r.pipeline === pipeline && r.intervalMs === intervalMs)
            : runs.find((r) => r.pipeline === pipeline && r.ratePerSecond === rate && r.intervalMs === intervalMs);
        if (run) {
          const source = rate === 0 ? `at-rest run, ${run.window.batches} empty batches` : `sustained run, ${run.window.seconds.toFixed(0)} s window`;
          cells.push(measuredCell({ pipeline, ratePerSecond: rate, intervalMs, window: run.window }, k, source));
        } else {
          cells.push(modelCell(inputs, pipeline, rate, intervalMs));
        }
      }
    }
  }
  cells.push(minuteCell(minute, kinesisCost(0, bytesPerRecord, putUnitsPerRecord)));
  // The checkpoint store, for each stateful run whose window held checkpoints, and for the large state.
  const upd = scale.find((s) => s.variant.pipeline === "update-state");
  const checkpointStores = [
    ...runs
      .filter((r) => r.pipeline === "stateful" && r.window.checkpoints > 0)
      .map((r) =>
        checkpointStoreChoice(
          `word count, ${r.ratePerSecond.toLocaleString("en-US")} records/s, ${r.intervalMs / 1000} s batches`,
          r.window,
          r.intervalMs,
          2,
        ),
      ),
    ...(upd
      ? [
          checkpointStoreFromBytes(
            `${upd.keys.toLocaleString("en-US")} keys, ${upd.activePerBatch} changed a batch (measured bytes)`,
            upd.fullCheckpointBytes,
            upd.deltaCheckpointBytes,
            1000,
          ),
        ]
      : []),
  ];
  return {
    pricesDate: PRICES_DATE,
    cells,
    rates,
    intervals,
    flinkMinimumMonthly: FLINK_MINIMUM_MONTH,
    lambdaTrigger: [p.rates.low, p.rates.high].map((r) => ({ ratePerSecond: r, monthly: lambdaTriggerMonthly(r) })),
    checkpointStores,
    fixedCloudwatchMonthly: FIXED_CLOUDWATCH_MONTH,
    bytesPerRecord,
    putUnitsPerRecord,
    cpuModel: (["stateful", "stateless"] as const).map((pipeline) => ({ pipeline, ...cpuModel(inputs, pipeline) })),
  };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const outIndex = args.indexOf("--out");
  const renderIndex = args.indexOf("--render");
  const out = outIndex >= 0 ? args[outIndex + 1]! : quick ? join(tmpdir(), "sparkless-bench-quick") : "docs";
  const report = renderIndex >= 0 ? rerender(args[renderIndex + 1]!) : await runBench({ quick, out });
  const list = targets(report);
  process.stdout.write(`\nTargets (${list.filter((t) => t.met).length} of ${list.length} met):\n`);
  for (const t of list)
    process.stdout.write(
      `  ${t.met ? "met   " : "MISSED"}  ${t.name}: ${Number.isFinite(t.value) ? +t.value.toFixed(3) : t.value} (target ${t.target})\n`,
    );
  process.exit(0);
}

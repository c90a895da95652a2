/**
 * The bench's report: its JSON shape (docs/benchmarks.json), the targets of
 * the issue "Pay per batch, not per key" checked against it (`targets`), and
 * its markdown rendering (docs/benchmarks.md). Nothing here measures: every
 * figure comes from the report, which comes from one run.
 */
import type { AtRestRun, DirectRun, LargeBatchRun, MinuteRun, PerBatch, SustainedRun } from "./distributed.js";
import { ALARMS, CUSTOM_METRICS, DASHBOARDS, type CheckpointStoreChoice, type CostCell, type CostLines } from "./cost.js";
import { AWS_LATENCY, type LatencyModel } from "./latency.js";
import { SPARKLESS, SPARKLESS_DEFAULT, type MemoryScenarioResult } from "./memory.js";
import { rows, total, type MeterCounts } from "../../lib/observability/metering.js";
import { PRICE_SOURCES, PRICES } from "../../lib/observability/prices.js";
import type { ProfileSummary } from "./profile.js";
import type { ScaleRun } from "./scale.js";

export interface BenchReport {
  generatedAt: string;
  /** Set when the derived figures were computed again from the same runs (`--render`). */
  renderedAt?: string;
  quick: boolean;
  durationS: number;
  machine: { cpu: string; cores: number; memoryGb: number; node: string; os: string; loadAverage: number[] };
  memory: MemoryScenarioResult & { profile?: ProfileSummary };
  distributed: {
    /** The roles of the runs the targets read. */
    stateful1k: SustainedRun;
    statefulLong: SustainedRun;
    stateful10k: SustainedRun;
    stateless1k: SustainedRun;
    rest: AtRestRun[];
    minute: MinuteRun;
    large: LargeBatchRun;
    direct: DirectRun[];
    requestsPerBatch: PerBatch[];
    latencyModel: { run: string; intervalMs: number; measuredP50Ms: number; measuredP99Ms: number; model: LatencyModel }[];
  };
  scale: ScaleRun[];
  cost: {
    pricesDate: string;
    cells: CostCell[];
    rates: number[];
    intervals: number[];
    flinkMinimumMonthly: number;
    lambdaTrigger: { ratePerSecond: number; monthly: CostLines }[];
    checkpointStores: CheckpointStoreChoice[];
    fixedCloudwatchMonthly: number;
    bytesPerRecord: number;
    putUnitsPerRecord: number;
    cpuModel: { pipeline: string; a: number; b: number; points: [number, number][] }[];
  };
}

export interface Target {
  name: string;
  value: number;
  target: string;
  met: boolean;
}

const contender = (r: BenchReport, i: number, name: string) => r.memory.sizes[i]?.contenders.find((c) => c.name === name);
export const cellOf = (r: BenchReport, pipeline: string, rate: number, intervalMs: number): CostCell | undefined =>
  r.cost.cells.find((c) => c.pipeline === pipeline && c.ratePerSecond === rate && c.intervalMs === intervalMs);

/** Every target of the issue, with the value measured in this report. */
export function targets(r: BenchReport): Target[] {
  const d = r.distributed;
  const out: Target[] = [];
  for (const [i, size] of r.memory.sizes.entries()) {
    const s = contender(r, i, SPARKLESS);
    out.push({
      name: `In-memory engine vs the hand loop, ${size.records.toLocaleString("en-US")} records (execution "in-process")`,
      value: s?.ratioToHandLoop ?? NaN,
      target: "≥ 0.7×",
      met: (s?.ratioToHandLoop ?? 0) >= 0.7,
    });
    const def = contender(r, i, SPARKLESS_DEFAULT);
    if (def)
      out.push({
        name: `In-memory engine vs the hand loop, ${size.records.toLocaleString("en-US")} records (defaults)`,
        value: def.ratioToHandLoop,
        target: "≥ 0.7×",
        met: def.ratioToHandLoop >= 0.7,
      });
  }
  const t10 = d.stateful10k;
  out.push({
    name: `Local: stateful word count at ${t10.ratePerSecond.toLocaleString("en-US")} records/s, ${t10.intervalMs / 1000} s batches, ${t10.shards} shards keeps up (processing p50, ms)`,
    value: t10.timeline.processingP50Ms,
    target: `< ${t10.intervalMs} ms, no growing lag, every record committed`,
    met: t10.keepsUp.met && t10.timeline.processingP50Ms < t10.intervalMs,
  });
  for (const run of [d.stateful1k, d.stateful10k]) {
    const limit = run.intervalMs / 2 + 300;
    out.push({
      name: `Local latency record → committed, p50, ${run.ratePerSecond.toLocaleString("en-US")} records/s, ${run.intervalMs / 1000} s batches (ms)`,
      value: run.latency.p50Ms,
      target: `≤ ${limit} ms (½ interval + 300 ms)`,
      met: run.latency.p50Ms <= limit,
    });
  }
  const empty = d.requestsPerBatch[0]!,
    oneK = d.requestsPerBatch[1]!;
  out.push({ name: "Non-Kinesis requests per empty batch", value: empty.nonKinesisRequests, target: "≤ 3", met: empty.nonKinesisRequests <= 3 });
  out.push({
    name: `Non-Kinesis requests per ${oneK.label} (amortized over the run)`,
    value: oneK.nonKinesisRequests,
    target: "≤ 10",
    met: oneK.nonKinesisRequests <= 10,
  });
  const u = r.scale.find((s) => s.variant.pipeline === "update-state");
  if (u) {
    const reads = u.perBatch.dynamoReadRequests + u.perBatch.rru;
    out.push({
      name: `updateStateByKey with ${u.keys.toLocaleString("en-US")} keys: DynamoDB reads per warm batch (requests + RRU)`,
      value: reads,
      target: "= 0",
      met: reads === 0,
    });
  }
  const c1 = cellOf(r, "stateful", d.stateful1k.ratePerSecond, d.stateful1k.intervalMs);
  out.push({
    name: `$/month, stateful, ${d.stateful1k.ratePerSecond.toLocaleString("en-US")} records/s, ${d.stateful1k.intervalMs / 1000} s batches, without Kinesis`,
    value: c1?.monthly.total ?? NaN,
    target: "≤ $25",
    met: (c1?.monthly.total ?? Infinity) <= 25,
  });
  const c10 = cellOf(r, "stateful", d.stateful10k.ratePerSecond, d.stateful10k.intervalMs);
  out.push({
    name: `$/month, stateful, ${d.stateful10k.ratePerSecond.toLocaleString("en-US")} records/s, ${d.stateful10k.intervalMs / 1000} s batches, without Kinesis, and keeps up`,
    value: c10?.monthly.total ?? NaN,
    target: "≤ $100 and keeps up",
    met: (c10?.monthly.total ?? Infinity) <= 100 && d.stateful10k.keepsUp.met,
  });
  const rest1 = cellOf(r, "stateful", 0, r.cost.intervals[0]!);
  out.push({
    name: "$/month at rest, 1 s batches (CloudWatch logs and metrics included; dashboard and alarms apart)",
    value: rest1?.monthly.total ?? NaN,
    target: "≤ $10",
    met: (rest1?.monthly.total ?? Infinity) <= 10,
  });
  const rest60 = cellOf(r, "stateful", 0, 60_000);
  out.push({
    name: "$/month at rest, 1-minute batches (CloudWatch logs and metrics included; dashboard and alarms apart)",
    value: rest60?.monthly.total ?? NaN,
    target: "≤ $1",
    met: (rest60?.monthly.total ?? Infinity) <= 1,
  });
  return out;
}

// ---- rendering --------------------------------------------------------------------------------

export const usd = (x: number): string =>
  !Number.isFinite(x) ? "–" : x >= 100 ? `$${Math.round(x).toLocaleString("en-US")}` : x >= 1 ? `$${x.toFixed(2)}` : `$${x.toFixed(3)}`;
const n = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const f1 = (x: number): string => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? n(x) : x.toFixed(Math.abs(x) >= 10 ? 1 : 2)) : "–");
const ms = (x: number): string => `${n(x)} ms`;
const rate = (x: number): string => (x === 0 ? "0 (at rest)" : `${x.toLocaleString("en-US")}/s`);
const secs = (intervalMs: number): string => (intervalMs >= 60_000 ? `${intervalMs / 60_000} min` : `${intervalMs / 1000} s`);

function targetValue(t: Target): string {
  if (t.target.startsWith("≥ 0.7×")) return `${t.value.toFixed(2)}×`;
  if (t.name.startsWith("$")) return usd(t.value);
  return f1(t.value);
}

function costCells(cs: CostLines): string {
  return `${usd(cs.dynamodb)} | ${usd(cs.s3)} | ${usd(cs.sqs)} | ${usd(cs.lambda)} | ${usd(cs.cloudwatch)} | **${usd(cs.total)}**`;
}

/** The requests-per-batch table: one row per service, purpose and API, one column per kind of batch. */
function perBatchTable(list: readonly PerBatch[]): string[] {
  const keys = new Map<string, { service: string; purpose: string; api: string }>();
  for (const p of list) for (const x of rows(p.counts)) keys.set(`${x.service}|${x.purpose}|${x.api}`, x);
  const out = [`| service | for | API | ${list.map((p) => p.label).join(" | ")} |`, `|---|---|---|${list.map(() => "---:|").join("")}`];
  for (const [k, x] of [...keys].sort()) {
    const cells = list.map((p) => {
      const c = p.counts.calls[x.service]?.[x.purpose]?.[x.api];
      if (!c || c.requests < 0.005) return "";
      const units = c.writeUnits > 0 ? ` (${f1(c.writeUnits)} WRU)` : c.readUnits > 0 ? ` (${f1(c.readUnits)} RRU)` : "";
      return `${f1(c.requests)}${units}`;
    });
    if (cells.every((c) => c === "")) continue;
    out.push(`| ${x.service} | ${x.purpose} | ${x.api} | ${cells.join(" | ")} |`);
    void k;
  }
  out.push(`| | | SQS empty receives (local pollers; not counted) | ${list.map((p) => f1(p.counts.sqsEmptyReceives)).join(" | ")} |`);
  out.push(`| **all but Kinesis** | | | ${list.map((p) => `**${f1(p.nonKinesisRequests)}**`).join(" | ")} |`);
  out.push(
    `| DynamoDB units | | WRU / RRU | ${list.map((p) => `${f1(total(p.counts, "writeUnits", { service: "DynamoDB" }))} / ${f1(total(p.counts, "readUnits", { service: "DynamoDB" }))}`).join(" | ")} |`,
  );
  return out;
}

const perSecond = (c: MeterCounts, seconds: number, service: string, field: "requests" | "writeUnits" | "readUnits" = "requests") =>
  total(c, field, { service }) / seconds;

export function renderMarkdown(r: BenchReport): string {
  const m = r.machine,
    d = r.distributed,
    c = r.cost;
  const o: string[] = [];
  const p = (...xs: string[]) => o.push(...xs);
  p("# Benchmarks", "");
  p(
    `Generated by \`npm run bench${r.quick ? " -- --quick" : ""}\` on ${r.generatedAt.slice(0, 10)} in ${r.durationS} s: every figure below was measured in that one run, side by side, ` +
      "except where a figure says it is a model. Benchmarks are a command, never timed assertions in tests (`test/bench/bench.test.ts` runs `--quick` and checks the report's structure only). " +
      "The raw figures are in [`benchmarks.json`](benchmarks.json); the code is in `tools/bench/`.",
    "",
  );
  if (r.renderedAt)
    p(
      `The derived figures (cost, models, requests per batch) were computed again from the same runs on ${r.renderedAt.slice(0, 10)} (\`npm run bench -- --render docs/benchmarks.json\`), after a change to the cost model; nothing was measured again.`,
      "",
    );
  if (r.quick) p("> **`--quick` run: every scenario tiny, the figures are not meaningful.**", "");
  p(
    `**Machine:** ${m.cores} cores of ${m.cpu}, ${m.memoryGb} GB, ${m.os}, Node ${m.node}; load average at the start ${m.loadAverage.map((x) => x.toFixed(1)).join(", ")} (the machine is shared). ` +
      "Section 1 runs in a child process of its own. In the distributed runs everything shares those cores: the bench process (the coordinator, and nothing else, so its CPU time is the coordinator's, as in a coordinator Lambda's process), the worker processes, " +
      "the producer process, kinesalite, DynamoDB Local (a JVM) and fauxqs (SQS and S3), the engines in a process of their own. Absolute times say little about AWS; counts of requests say exactly what AWS would bill.",
    "",
  );

  p("## Targets", "", "| | target | measured | |", "|---|---|---|---|");
  for (const t of targets(r)) p(`| ${t.name} | ${t.target} | ${targetValue(t)} | ${t.met ? "met" : "**missed**"} |`);
  p("");

  // ---- before and after
  const oneK = d.requestsPerBatch[1]!,
    empty = d.requestsPerBatch[0]!;
  const upd = r.scale.find((s) => s.variant.pipeline === "update-state");
  const inproc1 = contender(r, 0, SPARKLESS);
  p(
    "## Before and after",
    "",
    "The runtime before this change kept state per key in DynamoDB, and ran every batch's tasks through SQS, DynamoDB and worker functions. " +
      'Its figures are from the issue "Pay per batch, not per key" and the previous version of this page; the new ones are from this run.',
    "",
  );
  p("| figure | before | now |", "|---|---|---|");
  p(
    `| DynamoDB write units per 1,000-record stateful batch | ≈ 2,540 | ${f1(total(oneK.counts, "writeUnits", { service: "DynamoDB" }))} (amortized, checkpoints included) |`,
  );
  p(
    `| $/month, stateful word count, 1,000 records/s, 1 s batches, without Kinesis | ≈ $5,000 | ${usd(cellOf(r, "stateful", d.stateful1k.ratePerSecond, d.stateful1k.intervalMs)?.monthly.total ?? NaN)} |`,
  );
  p(
    `| $/month, stateless, 1,000 records/s, 1 s batches | $231 | ${usd(cellOf(r, "stateless", d.stateless1k.ratePerSecond, d.stateless1k.intervalMs)?.monthly.total ?? NaN)} |`,
  );
  p(
    `| requests per empty batch (DynamoDB + SQS) | ~41 + 6–9 | ${f1(total(empty.counts, "requests", { service: "DynamoDB" }))} + ${f1(total(empty.counts, "requests", { service: "SQS" }) - empty.counts.sqsEmptyReceives)} |`,
  );
  p(
    `| $/month at rest, 1 s batches | $48.74 (CloudWatch not counted) | ${usd(cellOf(r, "stateful", 0, c.intervals[0]!)?.monthly.total ?? NaN)} (CloudWatch logs and metrics counted) |`,
  );
  p(
    `| $/month at rest, 1-minute batches | $1.08 (CloudWatch not counted) | ${usd(cellOf(r, "stateful", 0, 60_000)?.monthly.total ?? NaN)} (CloudWatch logs and metrics counted) |`,
  );
  if (upd)
    p(
      `| ${upd.keys.toLocaleString("en-US")} keys of updateStateByKey state: time and reads of a batch | 3.2 s and ~2,000 RRU (an empty batch) | ${ms(upd.perBatch.wallMsP50)} and ${f1(upd.perBatch.rru)} RRU (${upd.activePerBatch} keys active) |`,
    );
  p(
    `| in-memory stateful word count vs the hand loop | 0.48–0.59× | ${inproc1 ? `${inproc1.ratioToHandLoop.toFixed(2)}×` : "–"} (in process; see section 1) |`,
    "",
  );

  // ---- 1. memory
  const mem = r.memory;
  p("## 1. In-memory engine against baselines", "");
  p(
    `The stateful word count (running totals with \`updateStateByKey\`, counts over the last ${mem.windowBatches} batches with \`reduceByKeyAndWindow\` and its inverse, sliding every batch) over generated lines of ${mem.wordsPerRecord} words ` +
      `(Zipf s = 1 over ${n(mem.vocabulary)} words), in batches of ${n(mem.sizes[0]?.batchSize ?? 0)} records. All contenders get the same arrays in the same process; generation is not timed; ` +
      `they run interleaved, ${mem.repeats} time(s) each, and the median is reported. Every contender ends with the hand loop's totals and window (checked).`,
    "",
  );
  p(
    "- **Hand loop**: per batch, count the words in a Map, add them to the totals, keep each batch's counts and slide the window by adding the new batch and subtracting the one that left (what the inverse function does).",
    "- **RxJS 7**: per batch `from(lines).pipe(mergeMap(split), filter, reduce(into a Map))`, then the same state update (no `groupBy`).",
    "- **Sparkless**: `runBatches` (the in-memory engine: the coordinator's code in one process) with the pipeline of `tools/bench/workload.ts`; the totals are collected every batch and the window too. " +
      'With `execution: "in-process"` every batch runs in the coordinator, as the baselines do (the targets read this row); the defaults (timed below in the breakdown) are the same on the in-memory engine, whose context runs every batch in process unless told otherwise: its workers would share the process, so fanning out would only add the messages\' encoding.',
    "",
  );
  for (const size of mem.sizes) {
    p(
      `### ${n(size.records)} records (${size.batches} batches)`,
      "",
      "| contender | median | records/s | ratio to the hand loop | runs (ms) |",
      "|---|---:|---:|---:|---|",
    );
    for (const x of size.contenders)
      p(`| ${x.name} | ${ms(x.medianMs)} | ${n(x.recordsPerSecond)} | ${x.ratioToHandLoop.toFixed(2)}× | ${x.runsMs.join(", ")} |`);
    p("");
  }
  if (mem.breakdown) {
    const b = mem.breakdown;
    p(
      "### Where the engine's time goes",
      "",
      `Each part of the pipeline alone through \`runBatches\` (in process) over ${n(b.records)} records, then the whole word count in process and with the defaults, against the hand loop's ${ms(b.handLoopMs)} for the whole stateful word count:`,
      "",
    );
    p("| part | time | hand loop / part |", "|---|---:|---:|");
    for (const x of b.rows) p(`| ${x.part} | ${ms(x.ms)} | ${x.ratioToHandLoop.toFixed(2)}× |`);
    p("");
  }
  if (mem.profile) {
    const pr = mem.profile;
    p(
      `V8's CPU profile of one Sparkless run over ${n(pr.records)} records (execution "${pr.execution}"), the profile \`node --cpu-prof\` writes, taken around the run only: ${ms(pr.totalMs)} sampled, of which the garbage collector ${ms(pr.garbageCollectorMs)} (${((pr.garbageCollectorMs / pr.totalMs) * 100).toFixed(0)}%). Self time by file:`,
      "",
    );
    p("| file | self time | share |", "|---|---:|---:|");
    for (const x of pr.byFile) p(`| ${x.where} | ${ms(x.ms)} | ${(x.share * 100).toFixed(0)}% |`);
    p(
      "",
      "By function (anonymous functions are the pipelined closures of the RDD chain):",
      "",
      "| function | self time | share |",
      "|---|---:|---:|",
    );
    for (const x of pr.byFunction) p(`| ${x.where} | ${ms(x.ms)} | ${(x.share * 100).toFixed(0)}% |`);
    p("");
  }
  if (mem.breakdown) {
    const parts = mem.breakdown.rows.filter((x) => x.kind === "part");
    const worst = [...parts].sort((a, b) => b.ms - a.ms)[0]!;
    const gc = mem.profile
      ? ` The garbage collector takes ${((mem.profile.garbageCollectorMs / mem.profile.totalMs) * 100).toFixed(0)}% of the profiled run.`
      : "";
    p(
      `What the figures say: the largest part is **${worst.part}** (${ms(worst.ms)}).${gc}` +
        " Per word, the hand loop splits the line and adds 1 to a Map entry. The engine runs the pipeline's functions as the DStream API has them: " +
        "the split, the filter, and the `map` that allocates a `[word, 1]` pair; then one key lookup that both shuffles share (the totals and the window read the words once), " +
        "the window's reduce function, and for the totals a count of the run of equal values `updateStateByKey` will receive (its function gets every value of a key, as in Spark, " +
        "so the pairs cannot be combined before its shuffle; the array is built once per key, not pushed per value). Per batch it then calls the update function for every key " +
        "of the state, slides the window for every key, and the bench counts both results. What is left of the gap is those function calls and pairs per word: " +
        "not weaker baselines, which would do less work.",
      "",
    );
  }

  // ---- 2. distributed
  const sustained = [d.stateful1k, d.statefulLong, d.stateful10k, d.stateless1k];
  p("## 2. The distributed path on the embedded engines", "");
  p(
    "Each run deploys the bench app (`tools/bench/bench-app.ts`, the workload's pipeline over a Kinesis stream, every result counted by a `foreachRDD`) on its own tables, queues and stream (`lib/local/runtime.ts` `prepareLocal`), " +
      "and runs the coordinator in the bench process: `runCoordinator` (`lib/runtime/coordinator.ts`) invoked in a loop as the one-minute schedule invokes it, each invocation looping 55 s with the handler's deadline. " +
      "Worker processes (`tools/bench/worker-process.ts`: the worker Lambda's code fed by the event source mapping's loop) run where a batch may fan out. A producer in its own process puts the records at a fixed rate " +
      "(PutRecords every 100 ms) and logs when it put each record and its sequence number. Every AWS request of the coordinator, the workers and the producer is counted by an SDK middleware (`tools/bench/metering.ts`), " +
      "with DynamoDB's consumed capacity as reported; the metered window is the producer's active period, after the app's first two batches and a warm-up at the same rate (15 s, at least two intervals; not metered): steady state, as a coordinator that has run for hours in one warm process, with no app creation and no JIT compiling.",
    "",
  );
  p("### Sustained runs", "");
  p(
    "| run | rate | interval | shards | records | batches (fanned out) | processing p50 / p99 | scheduling delay p50 / p99 | latency p50 / p99 | coordinator CPU per batch | keeps up |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  );
  for (const s of sustained) {
    const t = s.timeline;
    p(
      `| ${s.label} | ${rate(s.ratePerSecond)} | ${secs(s.intervalMs)} | ${s.shards} | ${n(s.recordsPut)} | ${t.nonEmptyBatches} (${t.fannedOut}) | ${ms(t.processingP50Ms)} / ${ms(t.processingP99Ms)} | ${ms(t.schedulingDelayP50Ms)} / ${ms(t.schedulingDelayP99Ms)} | ${ms(s.latency.p50Ms)} / ${ms(s.latency.p99Ms)} | ${ms(s.window.cpuMsPerBatch)} | ${s.keepsUp.met ? "yes" : `**no** (${[!s.keepsUp.processingUnderInterval && "processing ≥ interval", !s.keepsUp.lagNotGrowing && "lag grows", !s.keepsUp.allCommitted && `${n(s.latency.uncommitted)} records not committed`].filter(Boolean).join(", ")})`} |`,
    );
  }
  const behind = sustained.filter((s) => !s.keepsUp.met);
  for (const s of behind) {
    const t = s.timeline;
    const dc = d.direct.find((x) => x.ratePerSecond === s.ratePerSecond && x.intervalMs === s.intervalMs);
    p(
      "",
      `**${s.label} fell behind.** ` +
        (t.fannedOut > 0
          ? `${t.fannedOut} of its ${t.nonEmptyBatches} batches held more records than the coordinator may run itself (its measured rate × half an interval) and fanned out; a fanned-out batch took up to ${ms(t.processingP99Ms)}, so the next one held still more records and fanned out too: the lag grew ("auto" does not learn from fanned-out batches). `
          : "") +
        (dc && !dc.keepsUp
          ? `The direct consumer fell behind at the same rate too (latency p50 ${ms(dc.latency.p50Ms)}) while using ${ms(dc.cpuMs / dc.seconds)} of CPU a second: on this machine kinesalite, taking ${s.ratePerSecond.toLocaleString("en-US")} PutRecords records a second on the same shared cores, does not serve GetRecords fast enough for any consumer.`
          : ""),
    );
  }
  p(
    "",
    "Processing time: a batch's start to its completion; scheduling delay: its time to its start (fixing its blocks: reading the shards, writing the batch record). Keeps up: processing p50 below the interval, " +
      "the scheduling delay of the last third of the batches no more than half an interval above the first third's, and every record committed. Coordinator CPU: `process.cpuUsage()` of the bench process over the window, divided by its batches (user and system time; nothing else runs in that process).",
    "",
  );
  p(
    "Requests per second of each run's window, by service (Kinesis GetRecords are not billed on provisioned streams; SQS without the local pollers' empty receives):",
    "",
  );
  p(
    "| run | DynamoDB requests/s | WRU/s | RRU/s | S3 requests/s | SQS requests/s | Kinesis requests/s | checkpoints (KB each) | worker handler time |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const s of [...sustained, ...d.rest.map((x) => ({ ...x, label: `at rest, ${x.pipeline}, ${secs(x.intervalMs)} batches` }))]) {
    const w = s.window;
    const wk = w.counts.invocations.worker;
    p(
      `| ${s.label} | ${f1(perSecond(w.counts, w.seconds, "DynamoDB"))} | ${f1(perSecond(w.counts, w.seconds, "DynamoDB", "writeUnits"))} | ${f1(perSecond(w.counts, w.seconds, "DynamoDB", "readUnits"))} | ${f1(perSecond(w.counts, w.seconds, "S3"))} | ` +
        `${f1((total(w.counts, "requests", { service: "SQS" }) - w.counts.sqsEmptyReceives) / w.seconds)} | ${f1(perSecond(w.counts, w.seconds, "Kinesis"))} | ${w.checkpoints} (${w.checkpoints ? n(w.checkpointBytes / w.checkpoints / 1024) : "–"}) | ${wk ? `${ms(wk.wallMs)} in ${wk.count} invocations` : "none (no batch fanned out)"} |`,
    );
  }
  p("");

  p("### Requests per batch", "");
  p(
    "By service, purpose (which item or object: read from the request, as `lib/aws/` lays them out) and API. " +
      `Empty: the at-rest run's ${n(empty.batches)} batches. ${oneK.label}: the ${d.stateful1k.ratePerSecond.toLocaleString("en-US")} records/s run's ${oneK.batches} batches, checkpoints and lease renewals amortized over them. ` +
      `${d.requestsPerBatch[2]!.label}: ${d.requestsPerBatch[2]!.note} SQS ReceiveMessage counts include the empty receives of the local pollers (the row below them), which the totals leave out: ` +
      "on AWS the event source mapping's polling is priced apart, as an assumption.",
    "",
  );
  p(...perBatchTable(d.requestsPerBatch), "");

  p("### Latency: record → committed", "");
  p(
    "A record is committed when the batch holding it completes: its batch record is durable, and its state is in the coordinator's memory and recoverable exactly by replaying the batches after the last checkpoint. " +
      "Measured from the producer's put (the moment its PutRecords call was made) to the completion of the batch whose block of that shard holds the record's sequence number (the coordinator's `onBatchCompleted`; the same machine clock).",
    "",
  );
  p(
    "| run | measured p50 | measured p99 | AWS model p50 | AWS model p99 | calls per batch on the path (GetRecords, PutItem) | compute at Lambda's share |",
    "|---|---:|---:|---:|---:|---|---:|",
  );
  for (const l of d.latencyModel)
    p(
      `| ${l.run} | ${ms(l.measuredP50Ms)} | ${ms(l.measuredP99Ms)} | ${ms(l.model.p50Ms)} | ${ms(l.model.p99Ms)} | ${f1(l.model.getRecordsPerBatch)}, ${f1(l.model.putItemsPerBatch)} | ${ms(l.model.computeMs)} |`,
    );
  p(
    "",
    `The AWS model (a model, not a measurement): a record waits for the next boundary (half an interval at p50, 99% of one at p99) plus Kinesis's put-to-get delay (assumed ${AWS_LATENCY.putToGet.p50} ms p50, ${AWS_LATENCY.putToGet.p99} ms p99; AWS says "typically less than 1 second"), ` +
      `then the batch reads its shards, all at once, each to its tip (GetRecords pages one after another on a shard, 10,000 records a page; the read-ahead's calls are before the boundary; assumed ${AWS_LATENCY.getRecords.p50} ms p50, ${AWS_LATENCY.getRecords.p99} ms p99 each), writes its batch record (PutItem, ${AWS_LATENCY.putItem.p50} ms / ${AWS_LATENCY.putItem.p99} ms) and runs: the coordinator CPU measured here per batch, stretched to the chosen memory's share of a vCPU (×1.5 at p99). ` +
      "The calls per batch are the run's counts divided by its batches. Checkpoints are written after a batch completes, off the record's path.",
    "",
  );

  p("### At rest", "");
  for (const x of d.rest)
    p(
      `- ${x.pipeline}, ${secs(x.intervalMs)} batches, ${x.window.seconds.toFixed(0)} s with no input: ${x.window.batches} empty batches, ${x.window.checkpoints} checkpoints, coordinator CPU ${ms(x.window.cpuMsPerBatch)} per batch, ` +
        `${f1((perSecond(x.window.counts, x.window.seconds, "DynamoDB") * x.intervalMs) / 1000)} DynamoDB requests per batch.`,
    );
  const mi = d.minute;
  p(
    `- 1-minute batches: ${mi.invocations} coordinator invocations a minute apart on a manual clock, each with the handler's deadline (run the batch that is due, hand over, return): ` +
      `${ms(mi.wallMsMedian)} wall and ${ms(mi.cpuMsMedian)} CPU per invocation (median), ${f1(total(mi.counts, "requests", { service: "DynamoDB" }) / mi.invocations)} DynamoDB requests ` +
      `(${f1(total(mi.counts, "writeUnits", { service: "DynamoDB" }) / mi.invocations)} WRU, ${f1(total(mi.counts, "readUnits", { service: "DynamoDB" }) / mi.invocations)} RRU) per invocation: lease, resume, batch record, checkpoint, release.`,
    "",
  );

  const lg = d.large;
  p(
    "### One large batch",
    "",
    `${n(lg.records)} records put while the coordinator waited (stepped clock), then one batch took them: it ran **${lg.mode}** (${lg.reason}). ` +
      `Boundary to the coordinator waiting again: ${ms(lg.wallMs)}; coordinator CPU ${ms(lg.coordinatorCpuMs)}; worker handlers ${ms(lg.workerWallMs)} wall (${ms(lg.workerCpuMs)} CPU) in ${lg.workerInvocations} invocations. Its requests are the last column of the table above.`,
    "",
  );

  p("### Direct Kinesis consumer, side by side", "");
  p(
    "One process reading every shard with GetRecords (each at most 5 calls a second), adding each page's word counts to the totals at once, sliding the same window every interval, and checkpointing the keys changed since its last checkpoint as often as Sparkless does " +
      "(`lib/checkpoint/pages.ts` `packPages` + BatchWriteItem, then its shard positions with PutItem). Its latency is put → the page applied to its totals in memory (durable only at its next checkpoint).",
    "",
  );
  p(
    "| | rate | records | latency p50 / p99 | CPU per second | DynamoDB requests/s | WRU/s | Kinesis requests/s | keeps up |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
  );
  for (const x of d.direct) {
    const s = sustained.find((y) => y.pipeline === "stateful" && y.ratePerSecond === x.ratePerSecond && y.intervalMs === x.intervalMs);
    p(
      `| direct consumer | ${rate(x.ratePerSecond)} | ${n(x.recordsApplied)} of ${n(x.recordsPut)} | ${ms(x.latency.p50Ms)} / ${ms(x.latency.p99Ms)} | ${ms(x.cpuMs / x.seconds)} | ${f1(perSecond(x.counts, x.seconds, "DynamoDB"))} | ${f1(perSecond(x.counts, x.seconds, "DynamoDB", "writeUnits"))} | ${f1(perSecond(x.counts, x.seconds, "Kinesis"))} | ${x.keepsUp ? "yes" : "no"} |`,
    );
    if (s)
      p(
        `| Sparkless (${s.label}) | ${rate(s.ratePerSecond)} | ${n(s.timeline.records)} of ${n(s.recordsPut)} | ${ms(s.latency.p50Ms)} / ${ms(s.latency.p99Ms)} | ${ms(s.window.coordinatorCpuMs / s.window.seconds)} | ${f1(perSecond(s.window.counts, s.window.seconds, "DynamoDB"))} | ${f1(perSecond(s.window.counts, s.window.seconds, "DynamoDB", "writeUnits"))} | ${f1(perSecond(s.window.counts, s.window.seconds, "Kinesis"))} | ${s.keepsUp.met ? "yes" : "no"} |`,
      );
  }
  const dcLow = d.direct.find((x) => x.ratePerSecond === d.stateful1k.ratePerSecond);
  if (dcLow && dcLow.recordsApplied > 0) {
    p(
      "",
      `CPU: at ${rate(dcLow.ratePerSecond)} the direct consumer spent ${f1((dcLow.cpuMs / dcLow.seconds / dcLow.ratePerSecond) * 1000)} µs of CPU per record (GetRecords pages through the AWS SDK, decoding, counting, its checkpoints); ` +
        `Sparkless's coordinator spent ${f1((d.stateful1k.window.coordinatorCpuMs / d.stateful1k.window.seconds / d.stateful1k.ratePerSecond) * 1000)} µs per record for the same work through the engine, with its batch records.`,
    );
  }
  p("");

  p("### Scale: large, sparse state", "");
  p(
    "A running count per key; every key present from the start (`initialState`), a few keys with a record each batch; 1 s batches on a stepped clock, so each batch's requests are its own. Per warm batch, averaged over the batches after the first checkpoint (checkpoints every 10 batches included):",
    "",
  );
  p(
    "| state | keys | active keys a batch | DynamoDB reads (requests / RRU) | DynamoDB writes (requests / WRU) | S3 requests | time a batch p50 / p99 | first batch | checkpoints in the window |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const s of r.scale)
    p(
      `| ${s.variant.label} | ${n(s.keys)} | ${s.activePerBatch} | ${f1(s.perBatch.dynamoReadRequests)} / ${f1(s.perBatch.rru)} | ${f1(s.perBatch.dynamoWriteRequests)} / ${f1(s.perBatch.wru)} | ${f1(s.perBatch.s3Requests)} | ${ms(s.perBatch.wallMsP50)} / ${ms(s.perBatch.wallMsP99)} | ${ms(s.firstBatchMs)} | ${s.checkpoints} |`,
    );
  const dyn = r.scale.find((s) => s.variant.backend === "dynamodb");
  const memScale = r.scale.find((s) => s.variant.backend === "memory");
  if (dyn && memScale && dyn.keys !== memScale.keys) {
    p(
      "",
      `The per-key DynamoDB backend starts from ${n(dyn.keys)} keys, not ${n(memScale.keys)}: it writes the initial state key by key (one conditional PutItem each), which on DynamoDB Local here would take minutes of the bench's ten for ${n(memScale.keys)}. ` +
        "Its per-batch cost does not depend on the number of keys: it reads and writes only the keys with data (no timeout is set, so no scan).",
    );
  }
  p(
    "",
    "Time a batch: the boundary to the coordinator waiting for the next one (the stepped clock stands still, so this is wall time): reading the shard, the batch record, the state update, the checkpoint when due.",
    "",
  );

  // ---- 3. cost
  p("## 3. Cost", "");
  p(
    `$/month at us-east-1 list prices (${c.pricesDate}, below; free tiers ignored), counting every request: DynamoDB read and write units as metered (and storage of what the TTL keeps), S3 requests and storage, SQS requests (64 KB chunks), ` +
      "Lambda GB-s and requests, CloudWatch Logs (the EMF metric documents measured by running `lib/observability/metrics.ts`'s emitter on every completed batch with standard output captured, the handler's line and Lambda's START/END/REPORT lines per invocation) " +
      `and the custom metrics ($${PRICES.metricMonth.toFixed(2)} each a month: ${CUSTOM_METRICS.loaded} under load, ${CUSTOM_METRICS.rest} at rest, since empty batches write only their age). Kinesis is apart (its own columns), and excluded from the comparison with Flink on both sides.`,
    "",
  );
  p(
    "- **Coordinator**: below a 1-minute interval it loops 55 s of every minute at its memory, whatever the load; its memory is the smallest, in 64 MB steps up to 1769 MB (what an operator sets as the construct's `coordinatorMemorySize`: Lambda takes any size in 1 MB steps), from the construct's default for the interval up (192 MB up to 10 s, 512 MB up to 60 s), " +
      "whose share of a vCPU (memory/1769) runs the measured coordinator CPU per batch within 70% of the interval. The measured CPU is this machine's (one core of the CPU above), assumed equal to a Lambda vCPU.",
    "- **Workers**: the measured handler time of every invocation at 1024 MB, its CPU part stretched by 1769/1024 (1024 MB has 58% of a vCPU).",
    "- **SQS**: the event source mapping's idle polling of the task queue is an assumption (5 pollers, 20 s long polls: 657,000 requests a month, $0.26); the local pollers' empty receives are not priced.",
    "- **Measured** cells scale a run's metered window to a month; **model** cells add up the measured per-batch, per-checkpoint, per-second and per-record quantities by what drives them (`tools/bench/cost.ts`).",
    "",
  );
  p("### $/month, without Kinesis", "");
  p(`| pipeline | records/s | ${c.intervals.map((i) => `${secs(i)} batches`).join(" | ")} |`, `|---|---:|${c.intervals.map(() => "---:|").join("")}`);
  for (const pipeline of ["stateful", "stateless"]) {
    for (const rt of c.rates) {
      const cells = c.intervals.map((i) => {
        const x = cellOf(r, pipeline, rt, i);
        return x ? `${usd(x.monthly.total)} (${x.basis}${x.fanOut ? ", fans out" : ""}${x.coordinator.fits ? "" : ", **cannot keep up**"})` : "–";
      });
      p(`| ${pipeline} | ${rate(rt)}${rt === c.rates[c.rates.length - 1] ? " (model)" : ""} | ${cells.join(" | ")} |`);
    }
  }
  const restMinute = cellOf(r, "stateful", 0, 60_000);
  if (restMinute)
    p(
      `| stateful | 0 (at rest), 1-minute batches | ${usd(restMinute.monthly.total)} (measured) |${c.intervals
        .slice(1)
        .map(() => " |")
        .join("")}`,
    );
  if (restMinute) {
    const metrics = CUSTOM_METRICS.rest * PRICES.metricMonth;
    p(
      "",
      `At rest, the custom metrics are ${usd(metrics)} of every cell: empty batches write only LastCompletedBatchAge (its alarm treats no data as breaching), so CloudWatch bills one metric, not ${CUSTOM_METRICS.loaded}. ` +
        `With 1-minute batches everything else costs ${usd(restMinute.monthly.total - metrics)} a month.`,
    );
  }
  p(
    "",
    `The ${n(c.rates[c.rates.length - 1]!)} records/s row is a model from the measured per-record and per-batch costs: batches the coordinator cannot run itself at 1769 MB fan out at the cost per record of the ${n(d.large.records)}-record batch. ` +
      `Baselines: Amazon Managed Service for Apache Flink's minimum (2 KPUs) is **${usd(c.flinkMinimumMonthly)}** a month at any rate; a Lambda Kinesis trigger doing a DynamoDB update per record (modelled: 1 WRU a record, 100 records an invocation at 128 MB, 5 ms an update) costs ` +
      `${c.lambdaTrigger.map((x) => `${usd(x.monthly.total)} at ${rate(x.ratePerSecond)}`).join(", ")} and keeps no window.`,
    "",
  );
  p(
    "### Where each dollar goes",
    "",
    "| cell | basis | DynamoDB | S3 | SQS | Lambda | CloudWatch | total | coordinator memory | Kinesis apart (shards on AWS) |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
  );
  for (const x of c.cells)
    p(
      `| ${x.pipeline}, ${rate(x.ratePerSecond)}, ${secs(x.intervalMs)} | ${x.basis} | ${costCells(x.monthly)} | ${x.coordinator.memoryMb} MB | ${usd(x.kinesis.total)} (${x.kinesis.shards}) |`,
    );
  p("", "Coordinator memory, and why:", "");
  for (const x of c.cells.filter((y) => y.basis === "measured"))
    p(`- ${x.pipeline}, ${rate(x.ratePerSecond)}, ${secs(x.intervalMs)}: ${x.coordinator.reason}.`);
  p(
    "",
    `Listed apart from every cell: the dashboard (${DASHBOARDS} × $${PRICES.dashboardMonth.toFixed(2)}) and ${ALARMS} alarms (× $${PRICES.alarmMonth.toFixed(2)}): **${usd(c.fixedCloudwatchMonthly)}** a month. ` +
      `Kinesis: the shards AWS needs (1,000 records/s or 1 MB/s each; the local runs used fewer: kinesalite does not enforce shard limits) at $${PRICES.kinesisShardHour}/shard-hour, and ${f1(c.putUnitsPerRecord)} PUT payload unit per record (${n(c.bytesPerRecord)} bytes a record on average).`,
    "",
  );
  p("CPU model (coordinator CPU ms per batch = a + b × records per batch, through the measured points):", "");
  for (const x of c.cpuModel)
    p(
      `- ${x.pipeline}: a = ${f1(x.a)} ms, b = ${(x.b * 1000).toFixed(2)} ms per 1,000 records; points ${x.points.map(([rx, cy]) => `(${n(rx)}, ${f1(cy)} ms)`).join(", ")}`,
    );
  p("");
  p("### Checkpoint store: DynamoDB or S3", "");
  p(
    'Checkpoint pages go to the state table (WRU per KB of compressed pages) by default, or to S3 with `checkpointStore: "s3"` (one PUT per stream checkpoint whatever its size; the manifest stays on DynamoDB).',
    "",
  );
  p(
    "| state | checkpoints a month | compressed KB a checkpoint | streams | DynamoDB store $/month | S3 store $/month |",
    "|---|---:|---:|---:|---:|---:|",
  );
  for (const x of c.checkpointStores)
    p(
      `| ${x.label} | ${n(x.checkpointsPerMonth)} | ${f1(x.bytesPerCheckpoint / 1024)} | ${x.streamsPerCheckpoint} | ${usd(x.dynamodbMonthly)} (${x.dynamodbBasis}) | ${usd(x.s3Monthly)} (${x.s3Basis}) |`,
    );
  const s1 = cellOf(r, "stateful", d.stateful1k.ratePerSecond, d.stateful1k.intervalMs);
  const choice1 = c.checkpointStores.find((x) =>
    x.label.startsWith(`word count, ${d.stateful1k.ratePerSecond.toLocaleString("en-US")} records/s, ${d.stateful1k.intervalMs / 1000} s`),
  );
  if (s1 && choice1) {
    p(
      "",
      `With \`checkpointStore: "s3"\`, the stateful ${rate(d.stateful1k.ratePerSecond)} cell with ${secs(d.stateful1k.intervalMs)} batches would cost **${usd(s1.monthly.total - choice1.dynamodbMonthly + choice1.s3Monthly)}** a month instead of ${usd(s1.monthly.total)} (the measured cell with its checkpoint cost replaced by the S3 model).`,
    );
  }
  p(
    "",
    "Model: from the measured compressed bytes of the checkpoints. On S3, one PUT per stream checkpoint, objects kept 8 days, the manifest on DynamoDB; on DynamoDB, one WRU per KB of each page (350 KB at most) plus the manifest's, items kept 7 days. " +
      "For the large state, a full copy every 31 checkpoints (the checkpointer's default chain of 30 deltas) and the measured deltas between.",
    "",
  );
  p(
    "### Prices",
    "",
    `us-east-1, as listed on ${c.pricesDate} (copied from the pages below; the bench's machine has no network):`,
    "",
    "| item | price | source |",
    "|---|---|---|",
  );
  for (const x of PRICE_SOURCES) p(`| ${x.item} | ${x.price} | ${x.source} |`);
  p("");
  p(
    "## Reproduce",
    "",
    "```sh",
    "npm run bench            # about ten minutes; writes docs/benchmarks.json and docs/benchmarks.md",
    "npm run bench -- --quick # every scenario tiny (a smoke test), to a temporary folder unless --out DIR",
    "```",
    "",
  );
  return o.join("\n");
}

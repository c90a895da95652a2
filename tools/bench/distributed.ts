/**
 * The distributed runs on the embedded engines: the bench app deployed
 * (cluster.ts) and fed by the producer process at a fixed rate, and the
 * direct consumer baseline fed the same way.
 *
 * - `runSustained`: a steady input rate for a while; the metered window is
 *   the producer's active period (after the app's first batches: steady
 *   state, no app creation), then the run drains so every record's latency
 *   is known.
 * - `runAtRest`: no input, the window a number of empty batches.
 * - `runMinuteInvocations`: a 1-minute interval on a manual clock, each
 *   invocation running the batch that is due and returning, as the
 *   handler does.
 * - `runLargeBatch`: records produced while the coordinator waits, then one
 *   batch takes them all (on a stepped clock, so its requests are its own).
 * - `runDirect`: the direct consumer at a fixed rate.
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IllegalStateError } from "../../lib/core/errors.js";
import { ManualClock } from "../../lib/core/clock.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import type { BenchPipeline } from "./bench-app.js";
import type { Child } from "./children.js";
import { Deployment, SteppedClock, type Endpoints } from "./cluster.js";
import { DirectConsumer } from "./direct-consumer.js";
import { batchBlocks, latencies, readPutLog, timeline, type LatencyFigures, type Timeline } from "./latency.js";
import { requestsOf, scaleCounts, subtractCounts, type MeterCounts } from "../../lib/observability/metering.js";
import type { ProduceRequest, ProduceResult } from "./producer-process.js";
import { median } from "./stats.js";

export type Producer = Child<{ pid: number }>;

let runs = 0;
/** A fresh name per run: its own tables, queues, stream and items on the shared engines. */
const runName = (label: string) => `b${++runs}-${label}`.replace(/[^a-zA-Z0-9-]/g, "-").slice(0, 40);

/** Everything a run measured over its metered window. */
export interface Window {
  seconds: number;
  batches: number;
  nonEmptyBatches: number;
  records: number;
  checkpoints: number;
  checkpointBytes: number;
  checkpointPages: number;
  fullCheckpoints: number;
  /** Coordinator and workers (not the producer). */
  counts: MeterCounts;
  /** CPU time of this process (the coordinator) over the window: user and system together, and system alone. */
  coordinatorCpuMs: number;
  coordinatorSystemCpuMs: number;
  /** The coordinator's CPU per batch (every batch of the window, empty ones included). */
  cpuMsPerBatch: number;
  /** EMF bytes written in the window. */
  emfBytes: number;
  /** The handler's own log line, per invocation (averaged over the deployment's invocations). */
  handlerLogBytesPerInvocation: number;
}

export interface KeepsUp {
  processingUnderInterval: boolean;
  lagNotGrowing: boolean;
  allCommitted: boolean;
  met: boolean;
}

export interface SustainedRun {
  label: string;
  pipeline: BenchPipeline;
  ratePerSecond: number;
  intervalMs: number;
  shards: number;
  workers: number;
  checkpointStore: "dynamodb" | "s3";
  recordsPut: number;
  /** Records Kinesis refused at first and the producer sent again. */
  putRetried: number;
  window: Window;
  timeline: Timeline;
  latency: LatencyFigures;
  keepsUp: KeepsUp;
  /** The producer's own requests (PutRecords), for the Kinesis line. */
  producerCounts: MeterCounts;
  /** Records per coordinator CPU second, over the window's in-process batches (the rate "auto" measures). */
  inProcessRecordsPerCpuSecond: number;
}

interface Mark {
  at: number;
  cpu: NodeJS.CpuUsage;
  counts: MeterCounts;
  batches: number;
  checkpoints: number;
  emf: number;
}

async function mark(d: Deployment): Promise<Mark> {
  return {
    at: performance.now(),
    cpu: process.cpuUsage(),
    counts: await d.counts(),
    batches: d.batches.length,
    checkpoints: d.checkpoints.length,
    emf: d.metrics.bytes,
  };
}

function windowBetween(d: Deployment, a: Mark, b: Mark): Window {
  // The coordinator's CPU between the two marks (not up to now: a run drains and stops after its window).
  const cpu = { user: b.cpu.user - a.cpu.user, system: b.cpu.system - a.cpu.system };
  const batches = d.batches.slice(a.batches, b.batches);
  const checkpoints = d.checkpoints.slice(a.checkpoints, b.checkpoints);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    seconds: (b.at - a.at) / 1000,
    batches: batches.length,
    nonEmptyBatches: batches.filter((x) => (x.inputRecords ?? 0) > 0).length,
    records: batches.reduce((n, x) => n + (x.inputRecords ?? 0), 0),
    checkpoints: checkpoints.length,
    checkpointBytes: checkpoints.reduce((n, c) => n + c.bytes, 0),
    checkpointPages: checkpoints.reduce((n, c) => n + c.pages, 0),
    fullCheckpoints: checkpoints.reduce((n, c) => n + c.full, 0),
    counts: subtractCounts(b.counts, a.counts),
    coordinatorCpuMs: cpuMs,
    coordinatorSystemCpuMs: cpu.system / 1000,
    cpuMsPerBatch: batches.length ? cpuMs / batches.length : NaN,
    emfBytes: b.emf - a.emf,
    handlerLogBytesPerInvocation: d.invocations.length ? d.handlerLogBytes / d.invocations.length : NaN,
  };
}

/** The sum of inputRecords over the batches completed so far. */
const committed = (bs: readonly BatchRecord[]): number => bs.reduce((n, b) => n + (b.inputRecords ?? 0), 0);

export interface SustainedOptions {
  label: string;
  pipeline: BenchPipeline;
  ratePerSecond: number;
  intervalMs: number;
  seconds: number;
  shards: number;
  workers: number;
  checkpointStore?: "dynamodb" | "s3";
  /** Seconds of the same load before the measured window (at least two intervals' worth when set). */
  warmupSeconds: number;
  log: (line: string) => void;
}

/** A steady input rate through the deployed app, measured after a warm-up at the same rate. */
export async function runSustained(endpoints: Endpoints, producer: Producer, o: SustainedOptions): Promise<SustainedRun> {
  const name = runName(o.label);
  const d = await Deployment.start({
    endpoints,
    shards: o.shards,
    workers: o.workers,
    spec: {
      config: { name, batchInterval: `${o.intervalMs}ms`, ...(o.checkpointStore ? { checkpointStore: o.checkpointStore } : {}) },
      stream: `${name}-in`,
      pipeline: o.pipeline,
    },
  });
  const logPath = join(tmpdir(), `sparkless-bench-${name}-${process.pid}.jsonl`);
  try {
    d.startSchedule();
    // Steady state: the app created, its first batches run (its state and iterators warm).
    const warm = o.intervalMs >= 5000 ? 1 : 2;
    await d.waitForBatch(() => d.batches.length >= warm, 30_000 + 3 * o.intervalMs);
    if (o.warmupSeconds > 0) {
      // The same load before the window, not measured: a coordinator runs for hours in one warm
      // process, so its state holds the vocabulary and V8 has compiled its hot code. A fresh
      // process's first seconds under load are mostly compiling (on V8's background threads), so the
      // load ramps up: a tenth of the rate for a third of the warm-up, then the rate.
      const warmLog = `${logPath}.warmup`;
      const seconds = Math.max(o.warmupSeconds, (2 * o.intervalMs) / 1000);
      for (const [rate, s] of [
        [Math.max(1, Math.round(o.ratePerSecond / 10)), seconds / 3],
        [o.ratePerSecond, (2 * seconds) / 3],
      ] as const) {
        const request: ProduceRequest = {
          endpoint: endpoints.kinesis,
          stream: d.spec.stream,
          mode: "rate",
          ratePerSecond: rate,
          seconds: s,
          kind: "lines",
          seed: 1_000_000 + runs,
          logPath: warmLog,
        };
        const before = d.batches.length;
        const warmed = await producer.call<ProduceResult>("produce", request as unknown as Record<string, unknown>);
        await d.waitForBatch(() => committed(d.batches.slice(before)) >= warmed.sent, 20_000 + 3 * o.intervalMs).catch(() => undefined);
      }
      rmSync(warmLog, { force: true });
    }
    await producer.call("reset");
    const start = await mark(d);
    const request: ProduceRequest = {
      endpoint: endpoints.kinesis,
      stream: d.spec.stream,
      mode: "rate",
      ratePerSecond: o.ratePerSecond,
      seconds: o.seconds,
      kind: "lines",
      seed: runs,
      logPath,
    };
    const produced = await producer.call<ProduceResult>("produce", request as unknown as Record<string, unknown>);
    const end = await mark(d);
    const producerCounts = await producer.call<MeterCounts>("counts");
    // Drain: every record put is in a completed batch (or the run reports it uncommitted).
    await d.waitForBatch(() => committed(d.batches.slice(start.batches)) >= produced.sent, 20_000 + 3 * o.intervalMs).catch(() => undefined);
    await d.stopSchedule();
    const w = windowBetween(d, start, end);
    const t = timeline(d.batches.slice(start.batches));
    const lat = latencies(readPutLog(logPath), batchBlocks(d.batches)).figures;
    const inProcess = d.batches.slice(start.batches, end.batches).filter((b) => b.mode !== "fan-out" && (b.inputRecords ?? 0) > 0);
    const processedMs = inProcess.reduce((n, b) => n + (b.completedAt! - b.startedAt!), 0);
    const keepsUp: KeepsUp = {
      processingUnderInterval: t.processingP50Ms < o.intervalMs,
      lagNotGrowing: t.schedulingDelayLastThirdMs <= t.schedulingDelayFirstThirdMs + o.intervalMs / 2,
      allCommitted: lat.uncommitted === 0,
      met: false,
    };
    keepsUp.met = keepsUp.processingUnderInterval && keepsUp.lagNotGrowing && keepsUp.allCommitted;
    o.log(
      `  ${o.label}: ${produced.sent} records at ${o.ratePerSecond}/s, ${t.nonEmptyBatches} batches (${t.fannedOut} fanned out), processing p50 ${t.processingP50Ms} ms, ` +
        `latency p50 ${lat.p50Ms} ms p99 ${lat.p99Ms} ms, coordinator CPU ${w.cpuMsPerBatch.toFixed(1)} ms/batch, keeps up: ${keepsUp.met}`,
    );
    return {
      label: o.label,
      pipeline: o.pipeline,
      ratePerSecond: o.ratePerSecond,
      intervalMs: o.intervalMs,
      shards: o.shards,
      workers: o.workers,
      checkpointStore: o.checkpointStore ?? "dynamodb",
      recordsPut: produced.sent,
      putRetried: produced.retried,
      window: w,
      timeline: t,
      latency: lat,
      keepsUp,
      producerCounts,
      inProcessRecordsPerCpuSecond: processedMs > 0 ? inProcess.reduce((n, b) => n + b.inputRecords!, 0) / (processedMs / 1000) : NaN,
    };
  } finally {
    await d.stop();
    rmSync(logPath, { force: true });
  }
}

export interface AtRestRun {
  intervalMs: number;
  pipeline: BenchPipeline;
  window: Window;
  timeline: Timeline;
}

/** No input: the requests of empty batches. */
export async function runAtRest(
  endpoints: Endpoints,
  o: { pipeline: BenchPipeline; intervalMs: number; seconds: number; log: (l: string) => void },
): Promise<AtRestRun> {
  const name = runName(`rest-${o.pipeline}`);
  const d = await Deployment.start({
    endpoints,
    shards: 1,
    workers: 0,
    spec: { config: { name, batchInterval: `${o.intervalMs}ms` }, stream: `${name}-in`, pipeline: o.pipeline },
  });
  try {
    d.startSchedule();
    await d.waitForBatch(() => d.batches.length >= 2, 30_000);
    const start = await mark(d);
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const end = await mark(d);
    await d.stopSchedule();
    const w = windowBetween(d, start, end);
    o.log(
      `  at rest (${o.pipeline}, ${o.intervalMs} ms batches): ${w.batches} empty batches, ${w.checkpoints} checkpoints, coordinator CPU ${w.cpuMsPerBatch.toFixed(1)} ms/batch`,
    );
    return { intervalMs: o.intervalMs, pipeline: o.pipeline, window: w, timeline: timeline(d.batches.slice(start.batches, end.batches)) };
  } finally {
    await d.stop();
  }
}

export interface MinuteRun {
  invocations: number;
  /** Per invocation, each running the one batch that is due: median wall and CPU ms, and requests. */
  wallMsMedian: number;
  cpuMsMedian: number;
  counts: MeterCounts;
  emfBytes: number;
  handlerLogBytesPerInvocation: number;
}

/**
 * A 1-minute interval at rest: invocations on a manual clock one minute apart, each running the batch
 * due and returning (the handler's deadline at a schedule period or more). The first (creating the app)
 * is not counted.
 */
export async function runMinuteInvocations(endpoints: Endpoints, o: { invocations: number; log: (l: string) => void }): Promise<MinuteRun> {
  const name = runName("minute");
  const clock = new ManualClock(Math.floor(Date.now() / 60_000) * 60_000 + 1_000);
  const d = await Deployment.start({
    endpoints,
    shards: 1,
    workers: 0,
    clock,
    spec: { config: { name, batchInterval: "60s" }, stream: `${name}-in`, pipeline: "stateful" },
  });
  try {
    await d.invoke();
    const start = await mark(d);
    for (let i = 0; i < o.invocations; i++) {
      clock.advance(60_000);
      const r = await d.invoke();
      if (r.batches !== 1) throw new IllegalStateError(`A 1-minute invocation ran ${r.batches} batches, expected 1.`);
    }
    const end = await mark(d);
    const inv = d.invocations.slice(1);
    const w = windowBetween(d, start, end);
    o.log(
      `  1-minute invocations: ${inv.length}, median ${median(inv.map((x) => x.wallMs)).toFixed(0)} ms wall, ${median(inv.map((x) => x.cpuMs)).toFixed(0)} ms CPU`,
    );
    return {
      invocations: inv.length,
      wallMsMedian: median(inv.map((x) => x.wallMs)),
      cpuMsMedian: median(inv.map((x) => x.cpuMs)),
      counts: w.counts,
      emfBytes: w.emfBytes,
      handlerLogBytesPerInvocation: w.handlerLogBytesPerInvocation,
    };
  } finally {
    await d.stop();
  }
}

export interface LargeBatchRun {
  records: number;
  mode: "in-process" | "fan-out";
  /** Why it ran where it did. */
  reason: string;
  counts: MeterCounts;
  /** Wall time from the boundary to the coordinator waiting again (the batch, and its checkpoint if due; the stepped clock stands still, so the batch record's own times say nothing). */
  wallMs: number;
  coordinatorCpuMs: number;
  workerWallMs: number;
  workerCpuMs: number;
  workerInvocations: number;
}

/**
 * One batch of `records` records, on a stepped clock: a few empty batches first (the app and its state
 * warm), then the records put while the coordinator waits, then one step. Under "auto" the batch fans
 * out when it holds more records than the coordinator may run itself.
 */
export async function runLargeBatch(
  endpoints: Endpoints,
  producer: Producer,
  o: { records: number; shards: number; workers: number; log: (l: string) => void },
): Promise<LargeBatchRun> {
  const name = runName("large");
  const interval = 1000;
  const clock = new SteppedClock(Date.now());
  const d = await Deployment.start({
    endpoints,
    shards: o.shards,
    workers: o.workers,
    clock,
    spec: { config: { name, batchInterval: "1s" }, stream: `${name}-in`, pipeline: "stateful" },
  });
  try {
    let next = (Math.floor(clock.now() / interval) + 1) * interval;
    d.startSchedule();
    for (let i = 0; i < 3; i++) {
      await clock.stepTo(next);
      next += interval;
    }
    await producer.call<ProduceResult>("produce", {
      endpoint: endpoints.kinesis,
      stream: d.spec.stream,
      mode: "preload",
      records: o.records,
      kind: "lines",
      seed: 99,
    });
    const settle = () => new Promise((r) => setTimeout(r, 1500));
    await settle();
    const before = await d.counts();
    const wall = performance.now();
    const cpu = process.cpuUsage();
    await clock.stepTo(next);
    const wallMs = performance.now() - wall;
    const used = process.cpuUsage(cpu);
    await settle();
    const counts = subtractCounts(await d.counts(), before);
    const b = d.batches[d.batches.length - 1]!;
    if ((b.inputRecords ?? 0) !== o.records) throw new IllegalStateError(`The large batch held ${b.inputRecords} records, expected ${o.records}.`);
    const mode = b.mode === "fan-out" ? "fan-out" : "in-process";
    const w = counts.invocations.worker ?? { count: 0, wallMs: 0, cpuMs: 0 };
    o.log(
      `  ${o.records}-record batch: ${mode}, ${wallMs.toFixed(0)} ms, coordinator CPU ${((used.user + used.system) / 1000).toFixed(0)} ms, worker handlers ${w.wallMs.toFixed(0)} ms`,
    );
    return {
      records: o.records,
      mode,
      reason:
        mode === "fan-out"
          ? 'execution "auto": more records than the coordinator may run itself (before it has measured its own rate, 20,000)'
          : 'execution "auto": within the records the coordinator may run itself',
      counts,
      wallMs,
      coordinatorCpuMs: (used.user + used.system) / 1000,
      workerWallMs: w.wallMs,
      workerCpuMs: w.cpuMs,
      workerInvocations: w.count,
    };
  } finally {
    await d.stop();
  }
}

export interface DirectRun {
  ratePerSecond: number;
  intervalMs: number;
  shards: number;
  recordsPut: number;
  recordsApplied: number;
  seconds: number;
  counts: MeterCounts;
  cpuMs: number;
  checkpoints: number;
  checkpointBytes: number;
  latency: LatencyFigures;
  keepsUp: boolean;
}

/** The direct consumer at a steady rate; the window is the producer's active period, then it drains. */
export async function runDirect(
  endpoints: Endpoints,
  producer: Producer,
  o: { ratePerSecond: number; seconds: number; shards: number; intervalMs: number; log: (l: string) => void },
): Promise<DirectRun> {
  const name = runName(`direct-${o.ratePerSecond}`);
  const c = new DirectConsumer({ endpoints, name, stream: `${name}-in`, shards: o.shards, intervalMs: o.intervalMs });
  const logPath = join(tmpdir(), `sparkless-bench-${name}-${process.pid}.jsonl`);
  try {
    await c.prepare();
    c.start();
    await new Promise((r) => setTimeout(r, 1000));
    const cpu = process.cpuUsage();
    const before = c.counts();
    const t0 = performance.now();
    const produced = await producer.call<ProduceResult>("produce", {
      endpoint: endpoints.kinesis,
      stream: `${name}-in`,
      mode: "rate",
      ratePerSecond: o.ratePerSecond,
      seconds: o.seconds,
      kind: "lines",
      seed: runs,
      logPath,
    });
    const seconds = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu);
    const counts = subtractCounts(c.counts(), before);
    for (let i = 0; i < 100 && c.recordsApplied < produced.sent; i++) await new Promise((r) => setTimeout(r, 100));
    const lat = latencies(readPutLog(logPath), c.commits).figures;
    o.log(
      `  direct consumer at ${o.ratePerSecond}/s: ${c.recordsApplied} of ${produced.sent} records, latency p50 ${lat.p50Ms} ms p99 ${lat.p99Ms} ms, ${c.checkpoints} checkpoints`,
    );
    return {
      ratePerSecond: o.ratePerSecond,
      intervalMs: o.intervalMs,
      shards: o.shards,
      recordsPut: produced.sent,
      recordsApplied: c.recordsApplied,
      seconds,
      counts,
      cpuMs: (used.user + used.system) / 1000,
      checkpoints: c.checkpoints,
      checkpointBytes: c.checkpointBytes,
      latency: lat,
      keepsUp: lat.uncommitted === 0 && lat.p99Ms < 2 * o.intervalMs + 1000,
    };
  } finally {
    await c.close();
    rmSync(logPath, { force: true });
  }
}

/** One kind of batch's requests, per batch. */
export interface PerBatch {
  label: string;
  /** The batches the counts cover (amortized over them). */
  batches: number;
  counts: MeterCounts;
  /** DynamoDB, S3 and SQS requests per batch (SQS without the pollers' empty receives). */
  nonKinesisRequests: number;
  note: string;
}

export function perBatch(label: string, counts: MeterCounts, batches: number, note: string): PerBatch {
  const c = scaleCounts(counts, 1 / Math.max(1, batches));
  const nonKinesis = requestsOf(c, "DynamoDB") + requestsOf(c, "S3") + requestsOf(c, "SQS") - c.sqsEmptyReceives;
  return { label, batches, counts: c, nonKinesisRequests: nonKinesis, note };
}

/**
 * Dollars a month from the measured runs, at the prices of prices.ts.
 *
 * A **measured** cell scales one run's metered window to a month: every
 * request and unit it counted × (seconds in a month / seconds of the
 * window). A **model** cell (a rate or interval no run measured) adds up the
 * same measured quantities by what drives them:
 *
 * - the batch log: per non-empty batch (a run of empty batches is one record);
 * - the lease: per second (renewed every third of max(10 s, 3 intervals));
 * - checkpoints: per checkpoint (every max(10 s, interval)), from the run at
 *   the nearest rate (the state is bounded by the vocabulary, so 100k
 *   records/s checkpoints what 10k does);
 * - fan-out (task and result messages, claims, shuffle objects, worker
 *   time): per record, from the large fanned-out batch, for batches the
 *   coordinator cannot run itself;
 * - the coordinator's CPU per batch: a line through the measured runs'
 *   (records per batch, CPU ms per batch) points, which picks its memory.
 *
 * Modelled on top of any cell, and named: Lambda's memory and CPU share
 * (the coordinator loops 55 s of every minute at its memory; a worker's CPU
 * time stretches by 1769/1024 at 1024 MB), the SQS event source mapping's
 * idle polling, CloudWatch Logs retention and Lambda's own log lines.
 * Kinesis (shards and PUT units) is priced apart, for the shards AWS needs.
 */
import { linearFit } from "./stats.js";
import { mergeCounts, scaleCounts, selectPurposes, total, type MeterCounts } from "../../lib/observability/metering.js";
import { FULL_VCPU_MB, MINUTES_PER_MONTH, PRICES, SECONDS_PER_MONTH } from "../../lib/observability/prices.js";
import type { AtRestRun, LargeBatchRun, MinuteRun, SustainedRun, Window } from "./distributed.js";
import { LAMBDA_PLATFORM_BYTES_PER_INVOCATION } from "./log-bytes.js";
import { checkpointIntervalMs } from "./workload.js";

export interface CostLines {
  dynamodb: number;
  s3: number;
  sqs: number;
  lambda: number;
  cloudwatch: number;
  total: number;
}
export interface KinesisCost {
  shards: number;
  shardsMonthly: number;
  putUnitsMonthly: number;
  total: number;
}
export type Pipeline = "stateful" | "stateless";

/** The coordinator's memory for a CPU load, and why. */
export interface CoordinatorSizing {
  memoryMb: number;
  cpuMsPerBatch: number;
  /** The CPU per batch stretched to the function's share of a vCPU (memory / 1769). */
  msPerBatchAtMemory: number;
  fits: boolean;
  reason: string;
}

export interface CostCell {
  pipeline: Pipeline;
  ratePerSecond: number;
  intervalMs: number;
  basis: "measured" | "model";
  /** What the figures come from. */
  source: string;
  monthly: CostLines;
  kinesis: KinesisCost;
  coordinator: CoordinatorSizing;
  /** Batches sent to workers (the model: batches too large for the coordinator). */
  fanOut: boolean;
}

/** The construct's coordinator memory for an interval, before CPU is considered. */
export const defaultCoordinatorMb = (intervalMs: number): number => (intervalMs <= 10_000 ? 192 : intervalMs <= 60_000 ? 512 : 1024);
export const WORKER_MB = 1024;
/**
 * The memories the sizing tries: 64 MB steps up to a full vCPU, as an operator sets `coordinatorMemoryMb` to
 * the smallest that keeps up (Lambda takes any size from 128 MB to 10,240 MB, in 1 MB steps).
 */
const MEMORY_STEPS = [...Array.from({ length: 25 }, (_, i) => 192 + 64 * i), FULL_VCPU_MB];
/** A batch must fit in this share of its interval. */
const CPU_BUDGET = 0.7;
/** The coordinator loops 55 s of every minute below a 1-minute interval (cdk/defaults.ts COORDINATOR_LOOP_S). */
const LOOP_SECONDS_PER_MONTH = 55 * MINUTES_PER_MONTH;
/** The SQS event source mapping's idle polling (an assumption: 5 pollers, 20 s long polls). */
export const ESM_IDLE_RECEIVES_PER_MONTH = 5 * 3 * MINUTES_PER_MONTH;
/**
 * The custom metrics EMF creates (lib/observability/metrics.ts). Under load: InputRecords, QuarantinedRecords,
 * SchedulingDelay, ProcessingTime, TotalDelay, RequestsPerBatch, EstimatedMonthlyCost and LastCompletedBatchAge.
 * At rest only LastCompletedBatchAge: empty batches write no figures, and CloudWatch bills a metric by the
 * hours it receives data.
 */
export const CUSTOM_METRICS = { loaded: 8, rest: 1 } as const;
/** The construct's alarms for an app with one input stream and its two dead-letter queues (cdk/monitoring.ts). */
export const ALARMS = 9;
export const DASHBOARDS = 1;
/** How long DynamoDB items (batch log, manifests, pages) and S3 checkpoint objects live (TTL, lifecycle), in days. */
const DYNAMO_RETENTION_DAYS = 7;
const S3_CHECKPOINT_DAYS = 8;
const DAYS_PER_MONTH = 730 / 24;
const GB = 1e9;

export const FLINK_MINIMUM_MONTH = 2 * PRICES.flinkKpuHour * 730;
export const FIXED_CLOUDWATCH_MONTH = DASHBOARDS * PRICES.dashboardMonth + ALARMS * PRICES.alarmMonth;

const lines = (x: Omit<CostLines, "total">): CostLines => ({ ...x, total: x.dynamodb + x.s3 + x.sqs + x.lambda + x.cloudwatch });
export const addLines = (a: CostLines, b: CostLines): CostLines =>
  lines({
    dynamodb: a.dynamodb + b.dynamodb,
    s3: a.s3 + b.s3,
    sqs: a.sqs + b.sqs,
    lambda: a.lambda + b.lambda,
    cloudwatch: a.cloudwatch + b.cloudwatch,
  });

/** The smallest memory (from the interval's default up) whose CPU share runs a batch in 70% of the interval. */
export function sizeCoordinator(cpuMsPerBatch: number, intervalMs: number): CoordinatorSizing {
  const steps = MEMORY_STEPS.filter((m) => m >= defaultCoordinatorMb(intervalMs));
  for (const memoryMb of steps) {
    const ms = cpuMsPerBatch * (FULL_VCPU_MB / memoryMb);
    if (ms <= CPU_BUDGET * intervalMs) {
      return {
        memoryMb,
        cpuMsPerBatch,
        msPerBatchAtMemory: ms,
        fits: true,
        reason:
          memoryMb === steps[0]
            ? `${memoryMb} MB (the default): ${cpuMsPerBatch.toFixed(0)} ms CPU a batch takes ${ms.toFixed(0)} ms at ${(memoryMb / FULL_VCPU_MB).toFixed(2)} vCPU, within 70% of ${intervalMs} ms`
            : `${memoryMb} MB: ${cpuMsPerBatch.toFixed(0)} ms CPU a batch takes ${ms.toFixed(0)} ms at ${(memoryMb / FULL_VCPU_MB).toFixed(2)} vCPU, within 70% of ${intervalMs} ms (${steps[0]} MB would take ${((cpuMsPerBatch * FULL_VCPU_MB) / steps[0]!).toFixed(0)} ms)`,
      };
    }
  }
  return {
    memoryMb: 1769,
    cpuMsPerBatch,
    msPerBatchAtMemory: cpuMsPerBatch,
    fits: false,
    reason: `1769 MB (a full vCPU) and still ${cpuMsPerBatch.toFixed(0)} ms a batch, over 70% of ${intervalMs} ms: one coordinator cannot keep up`,
  };
}

// ---- pricing counts -------------------------------------------------------------------------

const PERSISTED = ["batch log", "checkpoint manifests", "checkpoint pages"];

function dynamoCost(c: MeterCounts, k: number): number {
  const units =
    (total(c, "readUnits", { service: "DynamoDB" }) * PRICES.dynamoPerMillionRru) / 1e6 +
    (total(c, "writeUnits", { service: "DynamoDB" }) * PRICES.dynamoPerMillionWru) / 1e6;
  // Stored: what the TTL'd items written in a month add up to while they live (1 WRU = 1 KB written).
  const kbPerMonth = PERSISTED.reduce((n, p) => n + total(c, "writeUnits", { service: "DynamoDB", purpose: p }), 0) * k;
  const storedGb = ((kbPerMonth * 1024) / GB) * (DYNAMO_RETENTION_DAYS / DAYS_PER_MONTH);
  return units * k + storedGb * PRICES.dynamoStorageGbMonth;
}

function s3Cost(c: MeterCounts, k: number): number {
  const puts = total(c, "requests", { service: "S3", api: "PutObject" });
  const gets = total(c, "requests", { service: "S3", api: "GetObject" });
  const checkpointGb =
    ((total(c, "bytes", { service: "S3", purpose: "checkpoint pages", api: "PutObject" }) * k) / GB) * (S3_CHECKPOINT_DAYS / DAYS_PER_MONTH);
  const shuffleGb =
    ((total(c, "bytes", { service: "S3", purpose: "shuffle", api: "PutObject" }) +
      total(c, "bytes", { service: "S3", purpose: "task inputs", api: "PutObject" })) *
      k) /
    GB /
    DAYS_PER_MONTH;
  return (
    ((puts * PRICES.s3PutPerThousand) / 1000 + (gets * PRICES.s3GetPerThousand) / 1000) * k + (checkpointGb + shuffleGb) * PRICES.s3StorageGbMonth
  );
}

/** SQS as billed, without the local pollers' empty receives (the event source mapping's idle polling is added as an assumption). */
function sqsCost(c: MeterCounts, k: number, idlePolling: boolean): number {
  const billed = total(c, "billed", { service: "SQS" }) - c.sqsEmptyReceives;
  return ((billed * k + (idlePolling ? ESM_IDLE_RECEIVES_PER_MONTH : 0)) * PRICES.sqsPerMillionRequests) / 1e6;
}

/** Workers' Lambda cost: each invocation's wall time, its CPU part stretched to 1024 MB's share of a vCPU. */
function workerCost(c: MeterCounts, k: number): { dollars: number; invocations: number } {
  const w = c.invocations.worker ?? { count: 0, wallMs: 0, cpuMs: 0 };
  const ms = Math.max(0, w.wallMs - w.cpuMs) + w.cpuMs * (FULL_VCPU_MB / WORKER_MB);
  const gbs = (ms / 1000) * (WORKER_MB / 1024) * k;
  return { dollars: gbs * PRICES.lambdaGbSecond + (w.count * k * PRICES.lambdaPerMillionRequests) / 1e6, invocations: w.count * k };
}

/** CloudWatch: log bytes (EMF documents, the handler's line and Lambda's lines per invocation) and the custom metrics. */
function cloudwatchCost(logBytesPerMonth: number, loaded: boolean): number {
  const gb = logBytesPerMonth / GB;
  return gb * (PRICES.logsIngestPerGb + PRICES.logsStorageGbMonth) + CUSTOM_METRICS[loaded ? "loaded" : "rest"] * PRICES.metricMonth;
}

/** Kinesis for `rate` records/s of `bytesPerRecord`, with the shards AWS needs (1,000 records/s and 1 MB/s each). */
export function kinesisCost(ratePerSecond: number, bytesPerRecord: number, putUnitsPerRecord: number, minShards = 1): KinesisCost {
  const shards = Math.max(minShards, Math.ceil(ratePerSecond / 1000), Math.ceil((ratePerSecond * bytesPerRecord) / 2 ** 20));
  const shardsMonthly = shards * PRICES.kinesisShardHour * 730;
  const putUnitsMonthly = (ratePerSecond * SECONDS_PER_MONTH * putUnitsPerRecord * PRICES.kinesisPerMillionPutUnits) / 1e6;
  return { shards, shardsMonthly, putUnitsMonthly, total: shardsMonthly + putUnitsMonthly };
}

/** Everything but the coordinator's time, from counts scaled by `k`, plus the coordinator at `sizing`. */
function price(
  c: MeterCounts,
  k: number,
  o: {
    intervalMs: number;
    sizing: CoordinatorSizing;
    emfBytesPerMonth: number;
    handlerBytesPerInvocation: number;
    coordinatorGbSecondsPerMonth?: number;
    loaded: boolean;
  },
): CostLines {
  const workers = workerCost(c, k);
  const coordinatorGbs = o.coordinatorGbSecondsPerMonth ?? LOOP_SECONDS_PER_MONTH * (o.sizing.memoryMb / 1024);
  const lambda = coordinatorGbs * PRICES.lambdaGbSecond + (MINUTES_PER_MONTH * PRICES.lambdaPerMillionRequests) / 1e6 + workers.dollars;
  const logBytes =
    o.emfBytesPerMonth +
    MINUTES_PER_MONTH * (o.handlerBytesPerInvocation + LAMBDA_PLATFORM_BYTES_PER_INVOCATION) +
    workers.invocations * LAMBDA_PLATFORM_BYTES_PER_INVOCATION;
  return lines({ dynamodb: dynamoCost(c, k), s3: s3Cost(c, k), sqs: sqsCost(c, k, true), lambda, cloudwatch: cloudwatchCost(logBytes, o.loaded) });
}

// ---- measured cells ---------------------------------------------------------------------------

/** A run's window scaled to a month. */
export function measuredCell(
  run: { pipeline: Pipeline; ratePerSecond: number; intervalMs: number; window: Window },
  kinesis: KinesisCost,
  source: string,
): CostCell {
  const w = run.window;
  const k = SECONDS_PER_MONTH / w.seconds;
  const sizing = sizeCoordinator(w.cpuMsPerBatch, run.intervalMs);
  const monthly = price(w.counts, k, {
    intervalMs: run.intervalMs,
    sizing,
    emfBytesPerMonth: w.emfBytes * k,
    handlerBytesPerInvocation: w.handlerLogBytesPerInvocation,
    loaded: run.ratePerSecond > 0,
  });
  return {
    pipeline: run.pipeline,
    ratePerSecond: run.ratePerSecond,
    intervalMs: run.intervalMs,
    basis: "measured",
    source,
    monthly,
    kinesis,
    coordinator: sizing,
    fanOut: total(w.counts, "requests", { service: "SQS" }) - w.counts.sqsEmptyReceives > 0,
  };
}

/** At rest with 1-minute batches: one invocation a minute, each running the batch due (its wall time billed at its memory). */
export function minuteCell(m: MinuteRun, kinesis: KinesisCost): CostCell {
  const k = MINUTES_PER_MONTH / m.invocations;
  const sizing = sizeCoordinator(m.cpuMsMedian, 60_000);
  const gbs = MINUTES_PER_MONTH * (m.wallMsMedian / 1000) * (sizing.memoryMb / 1024);
  const monthly = price(m.counts, k, {
    intervalMs: 60_000,
    sizing,
    emfBytesPerMonth: m.emfBytes * k,
    handlerBytesPerInvocation: m.handlerLogBytesPerInvocation,
    coordinatorGbSecondsPerMonth: gbs,
    loaded: false,
  });
  return {
    pipeline: "stateful",
    ratePerSecond: 0,
    intervalMs: 60_000,
    basis: "measured",
    source: `${m.invocations} invocations a minute apart (manual clock)`,
    monthly,
    kinesis,
    coordinator: sizing,
    fanOut: false,
  };
}

// ---- the model --------------------------------------------------------------------------------

export interface ModelInputs {
  sustained: readonly SustainedRun[];
  rest: readonly AtRestRun[];
  large: LargeBatchRun;
  bytesPerRecord: number;
  putUnitsPerRecord: number;
}

const perUnit = (c: MeterCounts, n: number): MeterCounts => scaleCounts(c, n > 0 ? 1 / n : 0);
const leasePeriodMs = (intervalMs: number) => Math.max(10_000, 3 * intervalMs) / 3;

/** The measured point nearest `rate` (by ratio) among runs of `pipeline`. */
function nearest<T extends { ratePerSecond: number }>(runs: readonly T[], rate: number): T | undefined {
  const score = (r: T) => Math.abs(Math.log((r.ratePerSecond + 1) / (rate + 1)));
  return [...runs].sort((a, b) => score(a) - score(b))[0];
}

/**
 * CPU ms per batch as a line through (records per batch, CPU per batch) of the runs of a pipeline that
 * kept up with every batch in the coordinator (a run that fell behind measures its backlog, not its rate).
 */
export function cpuModel(inputs: ModelInputs, pipeline: Pipeline): { a: number; b: number; points: [number, number][] } {
  const points: [number, number][] = [];
  for (const r of inputs.rest) if (r.pipeline === pipeline) points.push([0, r.window.cpuMsPerBatch]);
  for (const s of inputs.sustained) {
    if (s.pipeline !== pipeline || s.checkpointStore !== "dynamodb" || !s.keepsUp.met || s.timeline.fannedOut > 0) continue;
    points.push([s.window.records / Math.max(1, s.window.batches), s.window.cpuMsPerBatch]);
  }
  const fit = linearFit(points);
  return { a: Math.max(0, fit.a), b: Math.max(0, fit.b), points };
}

/** A cell no run measured, from the measured quantities by what drives them. */
export function modelCell(inputs: ModelInputs, pipeline: Pipeline, ratePerSecond: number, intervalMs: number): CostCell {
  const month = SECONDS_PER_MONTH;
  const batches = month / (intervalMs / 1000);
  const recordsPerBatch = (ratePerSecond * intervalMs) / 1000;
  const runs = inputs.sustained.filter((s) => s.pipeline === pipeline && s.checkpointStore === "dynamodb");
  const rest = inputs.rest.find((r) => r.pipeline === pipeline) ?? inputs.rest[0]!;
  const parts: MeterCounts[] = [];
  // The lease: per second, at this interval's renewal period.
  const lease = perUnit(selectPurposes(rest.window.counts, ["lease"]), rest.window.seconds);
  parts.push(scaleCounts(lease, (month * leasePeriodMs(rest.intervalMs)) / leasePeriodMs(intervalMs)));
  if (ratePerSecond > 0) {
    const ref = runs.find((r) => r.intervalMs === intervalMs) ?? nearest(runs, ratePerSecond)!;
    parts.push(scaleCounts(perUnit(selectPurposes(ref.window.counts, ["batch log"]), ref.window.nonEmptyBatches), batches));
  } else {
    // Empty batches: one record per run of them, written at each checkpoint (or every minute): per second as measured.
    parts.push(scaleCounts(perUnit(selectPurposes(rest.window.counts, ["batch log"]), rest.window.seconds), month));
  }
  if (pipeline === "stateful") {
    const ref = ratePerSecond === 0 ? rest : nearest(runs, ratePerSecond)!;
    const ckpts = ref.window.checkpoints;
    parts.push(
      scaleCounts(
        perUnit(selectPurposes(ref.window.counts, ["checkpoint manifests", "checkpoint pages"]), ckpts),
        month / (checkpointIntervalMs(intervalMs) / 1000),
      ),
    );
  }
  // CPU per batch, and whether the coordinator can run the batch itself.
  const cpu = cpuModel(inputs, pipeline);
  const inProcessCpu = cpu.a + cpu.b * recordsPerBatch;
  let sizing = sizeCoordinator(inProcessCpu, intervalMs);
  let fanOut = false;
  if (!sizing.fits) {
    // Too large for one coordinator: the input-only stages go to workers, at the cost per record of the large batch.
    fanOut = true;
    const l = inputs.large;
    const fanned = selectPurposes(l.counts, ["task queue", "result queue", "task claims", "shuffle", "task inputs", "app info"]);
    fanned.invocations = structuredClone(l.counts.invocations);
    parts.push(scaleCounts(perUnit(fanned, l.records), ratePerSecond * month));
    sizing = sizeCoordinator((l.coordinatorCpuMs / l.records) * recordsPerBatch, intervalMs);
  }
  const counts = mergeCounts(parts);
  const ref = runs.find((r) => r.intervalMs === intervalMs) ?? runs[0] ?? rest;
  const emfPerBatch = ref.window.emfBytes / Math.max(1, ref.window.batches);
  const monthly = price(counts, 1, {
    intervalMs,
    sizing,
    emfBytesPerMonth: emfPerBatch * batches,
    handlerBytesPerInvocation: ref.window.handlerLogBytesPerInvocation,
    loaded: ratePerSecond > 0,
  });
  const source =
    ratePerSecond === 0
      ? `model: the ${rest.intervalMs} ms at-rest run's requests per second (checkpoints every ${checkpointIntervalMs(intervalMs) / 1000} s)`
      : `model: per batch, per checkpoint and per second from the measured runs${fanOut ? `; fan-out per record from the ${inputs.large.records.toLocaleString("en-US")}-record batch` : ""}`;
  return {
    pipeline,
    ratePerSecond,
    intervalMs,
    basis: "model",
    source,
    monthly,
    fanOut,
    kinesis: kinesisCost(ratePerSecond, inputs.bytesPerRecord, inputs.putUnitsPerRecord),
    coordinator: sizing,
  };
}

// ---- baselines --------------------------------------------------------------------------------

/**
 * A Lambda Kinesis trigger updating a DynamoDB counter per record (modelled, as the old bench did):
 * 1 WRU per record (an UpdateItem ADD on an item under 1 KB), batches of 100 records per invocation at
 * 128 MB, 5 ms per UpdateItem in sequence (0.5 s an invocation). It keeps no window.
 */
export function lambdaTriggerMonthly(ratePerSecond: number): CostLines {
  const records = ratePerSecond * SECONDS_PER_MONTH;
  const dynamodb = (records * PRICES.dynamoPerMillionWru) / 1e6;
  const invocations = records / 100;
  const lambda = invocations * 0.5 * (128 / 1024) * PRICES.lambdaGbSecond + (invocations * PRICES.lambdaPerMillionRequests) / 1e6;
  return lines({ dynamodb, s3: 0, sqs: 0, lambda, cloudwatch: ((invocations * LAMBDA_PLATFORM_BYTES_PER_INVOCATION) / GB) * PRICES.logsIngestPerGb });
}

/** The checkpoint store choice: DynamoDB pages (WRU per KB) against one S3 PUT per stream checkpoint, per month. */
export interface CheckpointStoreChoice {
  label: string;
  checkpointsPerMonth: number;
  bytesPerCheckpoint: number;
  streamsPerCheckpoint: number;
  dynamodbMonthly: number;
  s3Monthly: number;
  /** "measured" when a run wrote to that store; otherwise modelled from the measured checkpoint bytes. */
  dynamodbBasis: "measured" | "model";
  s3Basis: "measured" | "model";
}

/**
 * From a run's window: DynamoDB as measured (its checkpoint requests per checkpoint), S3 as measured
 * when `s3Run` wrote there, otherwise modelled (one PUT per stream checkpoint at the measured bytes).
 */
export function checkpointStoreChoice(
  label: string,
  w: Window,
  intervalMs: number,
  streamsPerCheckpoint: number,
  s3Run?: Window,
): CheckpointStoreChoice {
  const perMonth = SECONDS_PER_MONTH / (checkpointIntervalMs(intervalMs) / 1000);
  const ck = Math.max(1, w.checkpoints);
  const perCheckpoint = scaleCounts(selectPurposes(w.counts, ["checkpoint pages", "checkpoint manifests"]), 1 / ck);
  const bytes = w.checkpointBytes / ck;
  let s3Monthly: number;
  if (s3Run) {
    const s3 = scaleCounts(selectPurposes(s3Run.counts, ["checkpoint pages", "checkpoint manifests"]), 1 / Math.max(1, s3Run.checkpoints));
    s3Monthly = dynamoCost(s3, perMonth) + s3Cost(s3, perMonth);
  } else {
    s3Monthly = s3Modelled(
      bytes,
      streamsPerCheckpoint,
      perMonth,
      dynamoCost(scaleCounts(selectPurposes(w.counts, ["checkpoint manifests"]), 1 / ck), perMonth),
    );
  }
  return {
    label,
    checkpointsPerMonth: perMonth,
    bytesPerCheckpoint: bytes,
    streamsPerCheckpoint,
    dynamodbMonthly: dynamoCost(perCheckpoint, perMonth),
    s3Monthly,
    dynamodbBasis: "measured",
    s3Basis: s3Run ? "measured" : "model",
  };
}

/** One PUT per stream checkpoint, the objects kept 8 days, plus the manifest on DynamoDB. */
function s3Modelled(bytesPerCheckpoint: number, streams: number, perMonth: number, manifestsMonthly: number): number {
  const storage = ((bytesPerCheckpoint * perMonth) / GB) * (S3_CHECKPOINT_DAYS / DAYS_PER_MONTH) * PRICES.s3StorageGbMonth;
  return manifestsMonthly + (streams * perMonth * PRICES.s3PutPerThousand) / 1000 + storage;
}

/**
 * For a state only its checkpoint bytes are known of (the scale scenario's 100,000 keys): a full copy
 * every `chain` + 1 checkpoints and deltas between, each page a DynamoDB item billed by the KB.
 */
export function checkpointStoreFromBytes(
  label: string,
  fullBytes: number,
  deltaBytes: number,
  intervalMs: number,
  chain = 30,
): CheckpointStoreChoice {
  const perMonth = SECONDS_PER_MONTH / (checkpointIntervalMs(intervalMs) / 1000);
  const bytes = (fullBytes + chain * deltaBytes) / (chain + 1);
  // Pages are at most 350 KB: one WRU per KB (rounded up per page), and the manifest's one.
  const pages = Math.max(1, Math.ceil(bytes / (350 * 1024)));
  const wru = Math.ceil(bytes / 1024) + pages + 1;
  const storedGb = ((bytes * perMonth) / GB) * (DYNAMO_RETENTION_DAYS / DAYS_PER_MONTH);
  const dynamodbMonthly = (wru * perMonth * PRICES.dynamoPerMillionWru) / 1e6 + storedGb * PRICES.dynamoStorageGbMonth;
  const s3Monthly = s3Modelled(bytes, 1, perMonth, (perMonth * PRICES.dynamoPerMillionWru) / 1e6);
  return {
    label,
    checkpointsPerMonth: perMonth,
    bytesPerCheckpoint: bytes,
    streamsPerCheckpoint: 1,
    dynamodbMonthly,
    s3Monthly,
    dynamodbBasis: "model",
    s3Basis: "model",
  };
}

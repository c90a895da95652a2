/**
 * Scenario 4: dollars from the measured counts of the other runs.
 */
import type { OverheadResult, SustainedResult, ThroughputResult, MinuteInvocations } from "./distributed.js";
import { ESM_IDLE_RECEIVES_PER_MONTH, COORDINATOR_LOOP_SECONDS_PER_MONTH, FLINK_MINIMUM_MONTH, add, costOf, lambdaTriggerCost, shardMonth, sizingFor, type CostLines } from "./cost.js";
import { requestsOf, sumValues, type MeterCounts } from "./metering.js";
import { PRICES, PRICES_DATE, SECONDS_PER_MONTH, HOURS_PER_MONTH } from "./prices.js";

export interface CostReport {
  pricesDate: string;
  /** Requests by service and API of the 4-worker throughput run, and per million records. */
  throughputRequests: { workers: number; records: number; counts: MeterCounts; perMillion: CostLines };
  /** The sustained runs scaled to a month at their rate (Sparkless only; the stream's shards apart): 1 s batches, and longer ones. */
  sustained: SustainedCost;
  sustainedLong: SustainedCost;
  atRest: {
    oneSecond: { monthly: CostLines; batchesPerMonth: number; perBatch: { requests: Record<string, number>; wru: number; rru: number; workerInvocations: number } };
    oneMinute: { monthly: CostLines; batchesPerMonth: number; coordinatorGeneratingMs: number; coordinatorIdleMs: number };
    shardMonthly: number;
  };
  baselines: {
    flinkMinimumMonthly: number;
    flinkPerMillionAtRate: number;
    lambdaTriggerPerMillion: CostLines;
    lambdaTriggerMonthlyAtRate: number;
    lambdaTriggerAtRest: number;
  };
}

export interface SustainedCost { ratePerSecond: number; intervalMs: number; monthly: CostLines; perMillion: CostLines; shards: number; shardsMonthly: number }

const lines = (x: number): CostLines => ({ kinesis: 0, sqs: 0, dynamodb: 0, lambda: x, total: x });
const sqsOnly = (requests: number): CostLines => { const d = (requests / 1e6) * PRICES.sqsPerMillionRequests; return { kinesis: 0, sqs: d, dynamodb: 0, lambda: 0, total: d }; };
const scaleLines = (c: CostLines, k: number): CostLines => ({ kinesis: c.kinesis * k, sqs: c.sqs * k, dynamodb: c.dynamodb * k, lambda: c.lambda * k, total: c.total * k });

/** A sustained run's metered window scaled to a month; the coordinator's schedule loop and the ESM's idle polls added. */
function sustainedCost(s: SustainedResult): SustainedCost {
  const minutesPerMonth = HOURS_PER_MONTH * 60;
  const sz = sizingFor(s.intervalMs);
  const window = s.wallMs / 1000;
  const variable = costOf(s.counts, sz, { scale: SECONDS_PER_MONTH / window, coordinatorSeconds: 0, dropEmptyReceives: true, lambdaInvocations: s.counts.invocations.worker?.count ?? 0 });
  const coordinator = lines(COORDINATOR_LOOP_SECONDS_PER_MONTH * (sz.coordinatorMemoryMb / 1024) * PRICES.lambdaGbSecond + (minutesPerMonth / 1e6) * PRICES.lambdaPerMillionRequests);
  const monthly = add(add(variable, coordinator), sqsOnly(ESM_IDLE_RECEIVES_PER_MONTH));
  const recordsPerMonth = s.ratePerSecond * SECONDS_PER_MONTH;
  return { ratePerSecond: s.ratePerSecond, intervalMs: s.intervalMs, monthly, perMillion: scaleLines(monthly, 1e6 / recordsPerMonth), shards: s.shards, shardsMonthly: shardMonth(s.shards) };
}

export function buildCost(r: { throughput: ThroughputResult; empty: OverheadResult; sustained: SustainedResult; sustainedLong: SustainedResult; minute: MinuteInvocations }): CostReport {
  const minutesPerMonth = HOURS_PER_MONTH * 60;
  // Per million records, from the run with the most workers: everything measured, plus one PUT payload unit per record put.
  const tp = r.throughput.fullPath[r.throughput.fullPath.length - 1]!;
  const tpCost = costOf(tp.counts, sizingFor(1000), { scale: 1e6 / tp.records });
  tpCost.kinesis += PRICES.kinesisPerMillionPutUnits;
  tpCost.total += PRICES.kinesisPerMillionPutUnits;

  const sustained = sustainedCost(r.sustained);
  const sustainedLong = sustainedCost(r.sustainedLong);
  const recordsPerMonth = r.sustained.ratePerSecond * SECONDS_PER_MONTH;
  const sz1 = sizingFor(1000);
  const coordinator = lines(COORDINATOR_LOOP_SECONDS_PER_MONTH * (sz1.coordinatorMemoryMb / 1024) * PRICES.lambdaGbSecond + (minutesPerMonth / 1e6) * PRICES.lambdaPerMillionRequests);

  // At rest, 1 s: the empty run's requests per batch, 2.6 million batches a month.
  const e = r.empty;
  const perBatchScale = 1 / e.batchesMetered;
  const batches1s = SECONDS_PER_MONTH;
  const idlePerInvocation = 1 / Math.max(1, r.minute.idleInvocations);
  const restVariable1s = costOf(e.counts, sz1, { scale: batches1s * perBatchScale, coordinatorSeconds: 0, dropEmptyReceives: true, lambdaInvocations: e.counts.invocations.worker?.count ?? 0 });
  const invocationOverhead1s = costOf(r.minute.idleCounts, sz1, { scale: minutesPerMonth * idlePerInvocation, coordinatorSeconds: 0, lambdaInvocations: 0 });
  const rest1s = add(add(add(restVariable1s, coordinator), invocationOverhead1s), sqsOnly(ESM_IDLE_RECEIVES_PER_MONTH));

  // At rest, 1 min: one batch and one invocation per minute; the invocation generates the due batch and returns.
  const sz60 = sizingFor(60_000);
  const restBatches60 = costOf(e.counts, sz60, { scale: minutesPerMonth * perBatchScale, coordinatorSeconds: 0, dropEmptyReceives: true, lambdaInvocations: e.counts.invocations.worker?.count ?? 0 });
  const coordinator60 = lines(minutesPerMonth * (r.minute.generatingMs / 1000) * (sz60.coordinatorMemoryMb / 1024) * PRICES.lambdaGbSecond + (minutesPerMonth / 1e6) * PRICES.lambdaPerMillionRequests);
  const invocationOverhead60 = costOf(r.minute.idleCounts, sz60, { scale: minutesPerMonth * idlePerInvocation, coordinatorSeconds: 0, lambdaInvocations: 0 });
  const rest60 = add(add(add(restBatches60, coordinator60), invocationOverhead60), sqsOnly(ESM_IDLE_RECEIVES_PER_MONTH));

  const perBatchRequests: Record<string, number> = {};
  for (const svc of Object.keys(e.counts.requests)) perBatchRequests[svc] = round2(requestsOf(e.counts, svc) * perBatchScale - (svc === "SQS" ? e.counts.sqsEmptyReceives * perBatchScale : 0));
  const trigger = lambdaTriggerCost(1e6);
  return {
    pricesDate: PRICES_DATE,
    throughputRequests: { workers: tp.workers, records: tp.records, counts: tp.counts, perMillion: tpCost },
    sustained,
    sustainedLong,
    atRest: {
      oneSecond: {
        monthly: rest1s, batchesPerMonth: batches1s,
        perBatch: { requests: perBatchRequests, wru: round2(sumValues(e.counts.writeUnits) * perBatchScale), rru: round2(sumValues(e.counts.readUnits) * perBatchScale), workerInvocations: round2((e.counts.invocations.worker?.count ?? 0) * perBatchScale) },
      },
      oneMinute: { monthly: rest60, batchesPerMonth: minutesPerMonth, coordinatorGeneratingMs: Math.round(r.minute.generatingMs), coordinatorIdleMs: Math.round(r.minute.idleMs) },
      shardMonthly: shardMonth(1),
    },
    baselines: {
      flinkMinimumMonthly: FLINK_MINIMUM_MONTH,
      flinkPerMillionAtRate: FLINK_MINIMUM_MONTH / (recordsPerMonth / 1e6),
      lambdaTriggerPerMillion: trigger,
      lambdaTriggerMonthlyAtRate: trigger.total * (recordsPerMonth / 1e6),
      lambdaTriggerAtRest: 0,
    },
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

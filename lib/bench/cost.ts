/**
 * Dollars from measured request counts (lib/bench/metering.ts) at the prices
 * of lib/bench/prices.ts. The only modelled items are named: Lambda memory
 * sizes (the construct's, cdk/defaults.ts), the coordinator's 55 s loop per
 * minute below a 1-minute interval, and the SQS event source mapping's idle
 * long polls, which a local poller cannot reproduce.
 */
import { PRICES, SECONDS_PER_MONTH } from "./prices.js";
import { requestsOf, sumValues, type MeterCounts } from "./metering.js";

export interface CostLines { kinesis: number; sqs: number; dynamodb: number; lambda: number; total: number }

export interface LambdaSizing { workerMemoryMb: number; coordinatorMemoryMb: number }

/** The construct's memory sizes for an interval (cdk/defaults.ts). */
export function sizingFor(intervalMs: number): LambdaSizing {
  return {
    coordinatorMemoryMb: intervalMs <= 10_000 ? 256 : intervalMs <= 60_000 ? 512 : 1024,
    workerMemoryMb: intervalMs <= 10_000 ? 1024 : intervalMs <= 60_000 ? 1769 : 3008,
  };
}

/** Lambda GB-s of the measured invocations (handler time only). */
export function lambdaGbSeconds(c: MeterCounts, sizing: LambdaSizing, coordinatorSeconds?: number): number {
  const w = c.invocations.worker ?? { count: 0, totalMs: 0 };
  const co = c.invocations.coordinator ?? { count: 0, totalMs: 0 };
  return (w.totalMs / 1000) * (sizing.workerMemoryMb / 1024) + (coordinatorSeconds ?? co.totalMs / 1000) * (sizing.coordinatorMemoryMb / 1024);
}

/**
 * The cost of the requests in `c`, scaled by `scale`. `coordinatorSeconds`
 * replaces the measured coordinator time (the schedule's loop); SQS empty
 * receives are dropped when `dropEmptyReceives` (the event source mapping's
 * polling is priced apart).
 */
export function costOf(c: MeterCounts, sizing: LambdaSizing, o: { scale?: number; coordinatorSeconds?: number; dropEmptyReceives?: boolean; lambdaInvocations?: number } = {}): CostLines {
  const k = o.scale ?? 1;
  const kinesis = (c.kinesisPutPayloadUnits / 1e6) * PRICES.kinesisPerMillionPutUnits * k;
  const sqsRequests = requestsOf(c, "SQS") - (o.dropEmptyReceives ? c.sqsEmptyReceives : 0);
  const sqs = (sqsRequests / 1e6) * PRICES.sqsPerMillionRequests * k;
  const dynamodb = ((sumValues(c.writeUnits) / 1e6) * PRICES.dynamoPerMillionWru + (sumValues(c.readUnits) / 1e6) * PRICES.dynamoPerMillionRru) * k;
  const invocations = o.lambdaInvocations ?? ((c.invocations.worker?.count ?? 0) + (c.invocations.coordinator?.count ?? 0));
  const lambda = (lambdaGbSeconds(c, sizing, o.coordinatorSeconds) * PRICES.lambdaGbSecond + (invocations / 1e6) * PRICES.lambdaPerMillionRequests) * k;
  return { kinesis, sqs, dynamodb, lambda, total: kinesis + sqs + dynamodb + lambda };
}

export const add = (a: CostLines, b: CostLines): CostLines => ({
  kinesis: a.kinesis + b.kinesis, sqs: a.sqs + b.sqs, dynamodb: a.dynamodb + b.dynamodb, lambda: a.lambda + b.lambda, total: a.total + b.total,
});

/** A provisioned shard for a month. */
export const shardMonth = (shards: number): number => shards * PRICES.kinesisShardHour * 730;

/**
 * The SQS event source mapping's idle polling (an assumption, not a count):
 * 5 pollers long-polling 20 s each, 15 ReceiveMessage requests a minute.
 */
export const ESM_IDLE_RECEIVES_PER_MONTH = 5 * 3 * 60 * 730;

/** The coordinator's loop below a 1-minute interval: 55 s of every minute (cdk/defaults.ts COORDINATOR_LOOP_S). */
export const COORDINATOR_LOOP_SECONDS_PER_MONTH = 55 * 60 * 730;

/** Managed Flink's minimum: 2 KPUs around the clock. */
export const FLINK_MINIMUM_MONTH = 2 * PRICES.flinkKpuHour * 730;

/**
 * A Lambda Kinesis trigger that updates a DynamoDB counter per record
 * (modelled): 1 WRU per record (an UpdateItem ADD on an item under 1 KB),
 * batches of 100 records per invocation at 128 MB, 5 ms per UpdateItem in
 * sequence (0.5 s an invocation). Kinesis polling by Lambda is not billed.
 */
export function lambdaTriggerCost(records: number): CostLines {
  const dynamodb = (records / 1e6) * PRICES.dynamoPerMillionWru;
  const invocations = records / 100;
  const lambda = invocations * 0.5 * (128 / 1024) * PRICES.lambdaGbSecond + (invocations / 1e6) * PRICES.lambdaPerMillionRequests;
  return { kinesis: 0, sqs: 0, dynamodb, lambda, total: dynamodb + lambda };
}

export const perSecondToMonth = (x: number): number => x * SECONDS_PER_MONTH;

/**
 * What a running pipeline costs, from the requests it counts itself (see
 * metering.ts): every batch record carries the requests the coordinator
 * made since the record before (`BatchRecord.requests`), by service, and
 * their price at the list prices of prices.ts, the ones `npm run bench`
 * uses. `sparkless status`, the dashboard and the `EstimatedMonthlyCost`
 * metric read them.
 *
 * The estimate counts what the app makes happen: DynamoDB units, SQS
 * requests (64 KB chunks), S3 requests, and the coordinator's Lambda time at
 * its configured memory. It leaves out Kinesis (shard-hours are the
 * stream's, whoever reads it), CloudWatch, and the requests of workers of
 * fanned-out batches, which run in other processes (the batch's `mode`
 * says when that happened).
 */
import { subtractCounts, total, type MeterCounts } from "./metering.js";
import { MINUTES_PER_MONTH, PRICES, SECONDS_PER_MONTH } from "./prices.js";

/** The message of the coordinator's log line with the requests per batch by service (the dashboard queries it). */
export const REQUESTS_LOG_MESSAGE = "requests per batch";

/** The requests behind one batch record (one batch, or a run of empty ones) and their price. */
export interface BatchRequests {
  /** Requests by service ("DynamoDB", "SQS", "S3", "Kinesis"); SQS counted as billed. */
  readonly byService: Readonly<Record<string, number>>;
  /** DynamoDB read and write request units, as the service reported them. */
  readonly readUnits: number;
  readonly writeUnits: number;
  /** The list price of these requests, in US dollars (Kinesis reads are free in provisioned mode). */
  readonly usd: number;
  /** How many batch intervals they cover: 1, or more after a run of empty batches. */
  readonly batches: number;
}

/** Prices a meter's counts: DynamoDB units, SQS billed requests, S3 PUT/LIST and GET requests. */
export function priceRequests(c: MeterCounts, batches = 1): BatchRequests {
  const byService: Record<string, number> = {};
  for (const service of Object.keys(c.calls)) byService[service] = total(c, service === "SQS" ? "billed" : "requests", { service });
  const readUnits = total(c, "readUnits", { service: "DynamoDB" });
  const writeUnits = total(c, "writeUnits", { service: "DynamoDB" });
  const s3All = total(c, "requests", { service: "S3" });
  const s3Gets = total(c, "requests", { service: "S3", api: "GetObject" }) + total(c, "requests", { service: "S3", api: "HeadObject" });
  const usd =
    (readUnits * PRICES.dynamoPerMillionRru + writeUnits * PRICES.dynamoPerMillionWru) / 1e6 +
    ((byService.SQS ?? 0) * PRICES.sqsPerMillionRequests) / 1e6 +
    ((s3All - s3Gets) * PRICES.s3PutPerThousand) / 1000 +
    (s3Gets * PRICES.s3GetPerThousand) / 1000;
  return { byService, readUnits, writeUnits, usd, batches };
}

/** The DynamoDB, SQS and S3 requests of one batch of those `r` covers (Kinesis apart: its reads are not billed per request). */
export function nonKinesisRequestsPerBatch(r: BatchRequests): number {
  let n = 0;
  for (const [service, k] of Object.entries(r.byService)) if (service !== "Kinesis") n += k;
  return n / r.batches;
}

/** The requests of one batch, by service, averaged over the batches `list` covers; undefined when it covers none. */
export function averagePerBatch(list: readonly BatchRequests[]): { batches: number; perBatch: Record<string, number> } | undefined {
  let batches = 0;
  const perBatch: Record<string, number> = {};
  for (const r of list) {
    batches += r.batches;
    for (const [service, n] of Object.entries(r.byService)) perBatch[service] = (perBatch[service] ?? 0) + n;
  }
  if (batches === 0) return undefined;
  for (const k of Object.keys(perBatch)) perBatch[k]! /= batches;
  return { batches, perBatch };
}

/** A meter's reading: what a process sent so far. */
export interface RequestMeter {
  snapshot(): MeterCounts;
}

/** Takes the requests made since the previous take, priced. */
export class RequestTally {
  private mark?: MeterCounts;
  constructor(private readonly meter: RequestMeter) {}
  /** `batches`: how many batch intervals passed since the previous take. */
  take(batches: number): BatchRequests {
    const now = this.meter.snapshot();
    const delta = this.mark ? subtractCounts(now, this.mark) : now;
    this.mark = now;
    return priceRequests(delta, Math.max(1, batches));
  }
}

/** Below this interval the coordinator loops through the minute (cdk/defaults.ts COORDINATOR_LOOP_S). */
const LOOP_SECONDS_PER_MINUTE = 55;

/**
 * $/month at the current rate: the average request price per batch over `batches`, times the batches
 * of a month, plus the coordinator's Lambda time at `coordinatorMb` (a loop of 55 s a minute below
 * 1-minute intervals; otherwise each batch's processing time) when its memory is known.
 */
export function estimateMonthlyCost(
  sample: readonly { requests?: BatchRequests; processingMs?: number }[],
  intervalMs: number,
  coordinatorMb?: number,
): { usd: number; requestsUsd: number; lambdaUsd: number; perBatch: Record<string, number> } | undefined {
  const priced = sample.filter((s): s is { requests: BatchRequests; processingMs?: number } => s.requests !== undefined);
  const average = averagePerBatch(priced.map((s) => s.requests));
  if (!average) return undefined;
  const { batches, perBatch } = average;
  let usd = 0;
  let processingMs = 0;
  let processed = 0;
  for (const s of priced) {
    usd += s.requests.usd;
    if (s.processingMs !== undefined) {
      processingMs += s.processingMs;
      processed++;
    }
  }
  const batchesPerMonth = (SECONDS_PER_MONTH * 1000) / intervalMs;
  const requestsUsd = (usd / batches) * batchesPerMonth;
  let lambdaUsd = 0;
  if (coordinatorMb) {
    const gb = coordinatorMb / 1024;
    lambdaUsd =
      intervalMs < 60_000
        ? gb * LOOP_SECONDS_PER_MINUTE * MINUTES_PER_MONTH * PRICES.lambdaGbSecond + (MINUTES_PER_MONTH * PRICES.lambdaPerMillionRequests) / 1e6
        : gb * ((processingMs / Math.max(1, processed) + 100) / 1000) * ((batchesPerMonth * processed) / batches) * PRICES.lambdaGbSecond +
          (batchesPerMonth * PRICES.lambdaPerMillionRequests) / 1e6;
  }
  return { usd: requestsUsd + lambdaUsd, requestsUsd, lambdaUsd, perBatch };
}

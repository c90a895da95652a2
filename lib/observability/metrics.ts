/**
 * Per-batch metrics, Spark's StreamingListener figures: input records,
 * scheduling delay (batch time until the batch started), processing time
 * (start until the batch completed), total delay (batch time until
 * completion) and quarantined records. `batchMetrics` computes them from a
 * batch record; `status`, the dashboard and the CloudWatch metrics all use
 * it, so they agree.
 *
 * In Lambda, the coordinator (which runs the batches) hands every completed
 * batch to `createBatchMetricsEmitter`, which writes the figures of many
 * batches as one CloudWatch embedded metric format document through
 * Powertools Metrics: namespace "Sparkless", dimension App.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { BatchRecord } from "../storage/interfaces.js";
import { estimateMonthlyCost, nonKinesisRequestsPerBatch, type BatchRequests } from "./cost.js";

/** How many recent batch records the cost estimate averages over. */
const COST_SAMPLE = 60;

export interface BatchMetrics {
  readonly time: number;
  readonly status: BatchRecord["status"];
  readonly inputRecords: number;
  readonly quarantinedRecords: number;
  /** Batch time until its tasks started; undefined while not started. */
  readonly schedulingDelay?: number;
  /** Start until completion (or failure); undefined while running. */
  readonly processingTime?: number;
  /** Batch time until completion (or failure). */
  readonly totalDelay?: number;
}

const counter = (r: BatchRecord, name: string): number => {
  const v = (r as unknown as Record<string, unknown>)[name];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
};

export function batchMetrics(r: BatchRecord): BatchMetrics {
  const started = r.startedAt;
  const finished = r.status === "completed" || r.status === "failed" ? r.completedAt : undefined;
  return {
    time: r.time,
    status: r.status,
    inputRecords: counter(r, "inputRecords"),
    quarantinedRecords: counter(r, "quarantinedRecords"),
    schedulingDelay: started !== undefined ? Math.max(0, started - r.time) : undefined,
    processingTime: started !== undefined && finished !== undefined ? Math.max(0, finished - started) : undefined,
    totalDelay: finished !== undefined ? Math.max(0, finished - r.time) : undefined,
  };
}

export const METRICS_NAMESPACE = "Sparkless";

export interface BatchMetricsEmitter {
  /**
   * Adds a completed batch's figures. They are written as one document once 99 batches are pending, or
   * when the oldest pending one was added `flushEveryMs` ago (checked as batches are added).
   */
  add(record: BatchRecord): void;
  /**
   * Writes what was added (one EMF document, each metric an array of a value per batch); the handler
   * calls it before it returns, with the newest completed batch's time, so the document has the age
   * of the results even when no batch was due in the invocation.
   */
  flush(newestCompletedTime?: number): void;
  /** Writes `BatchFailed` = 1 at once: a failed batch stops the app (the alarm pages someone). */
  failed(batchTime: number): void;
}

/**
 * Most batches in one document. CloudWatch takes at most 100 values per metric in an EMF document, and
 * Powertools publishes on its own as a metric reaches 100, which would split one batch's figures over
 * two documents: 99 keeps every batch whole.
 */
export const MAX_BATCHES_PER_DOCUMENT = 99;

/**
 * Per-batch CloudWatch metrics in embedded metric format, through Powertools Metrics (stdout). The
 * figures of up to 99 batches, or of 10 seconds, go in one document (EMF metrics hold arrays of
 * values), so a 1 s interval writes about 6 KB of log a minute rather than one document per batch:
 * log ingestion is billed by the byte.
 */
export function createBatchMetricsEmitter(
  app: string,
  options: {
    /** @default "Sparkless" */
    namespace?: string;
    /** Longest a batch's figures wait before they are written. @default 10000 */
    flushEveryMs?: number;
    /** The clock for `flushEveryMs`. @default Date.now */
    now?: () => number;
    /** The batch interval, for `EstimatedMonthlyCost` (not written without it). */
    intervalMs?: number;
    /** The coordinator's memory, for the Lambda part of the estimate. @default not counted */
    coordinatorMb?: number;
  } = {},
): BatchMetricsEmitter {
  const metrics = new Metrics({ namespace: options.namespace ?? METRICS_NAMESPACE, serviceName: "sparkless" });
  // The only dimension is App (Powertools adds "service" by default).
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ App: app });
  const every = options.flushEveryMs ?? 10_000;
  const now = options.now ?? Date.now;
  let pending = 0;
  let since = 0;
  let first: BatchRecord | undefined;
  let last: BatchRecord | undefined;
  // The newest completed batch added, empty or not, and when its age was last written.
  let newest: BatchRecord | undefined;
  let ageWrittenAt = now();
  const flush = (newestCompletedTime?: number) => {
    const newestTime = Math.max(newestCompletedTime ?? -Infinity, newest?.time ?? -Infinity, last?.time ?? -Infinity);
    newest = undefined;
    if (pending === 0) {
      if (newestTime === -Infinity) return;
      ageWrittenAt = now();
      metrics.addMetric("LastCompletedBatchAge", MetricUnit.Milliseconds, Math.max(0, now() - newestTime));
      metrics.publishStoredMetrics();
      return;
    }
    // Which batches the document holds (metadata: a property of the log line, not a metric).
    metrics.addMetadata("batches", String(pending));
    metrics.addMetadata("firstBatchTime", String(first!.time));
    metrics.addMetadata("lastBatchTime", String(last!.time));
    // How far results are behind the clock; its alarm treats no data as breaching, so batches that
    // stop (or a coordinator that stops running) alarm too.
    metrics.addMetric("LastCompletedBatchAge", MetricUnit.Milliseconds, Math.max(0, now() - newestTime));
    ageWrittenAt = now();
    metrics.publishStoredMetrics();
    pending = 0;
    first = last = undefined;
  };
  // The requests behind the batches written since the last cost figure (empty ones included).
  let costSample: { requests?: BatchRequests; processingMs?: number }[] = [];
  return {
    add(record) {
      const m = batchMetrics(record);
      if (record.requests) costSample.push({ requests: record.requests, processingMs: m.processingTime });
      // Empty batches report nothing but their age (in `flush`): CloudWatch bills a custom metric for every
      // hour it receives data, so an idle pipeline pays for one metric, not seven.
      if (m.inputRecords === 0 && m.quarantinedRecords === 0) {
        newest = record;
        // The age alone, every `flushEveryMs` while only empty batches run: its alarm sees a live coordinator.
        if (pending === 0 && now() - ageWrittenAt >= every) flush();
        return;
      }
      metrics.addMetric("InputRecords", MetricUnit.Count, m.inputRecords);
      metrics.addMetric("QuarantinedRecords", MetricUnit.Count, m.quarantinedRecords);
      if (m.schedulingDelay !== undefined) metrics.addMetric("SchedulingDelay", MetricUnit.Milliseconds, m.schedulingDelay);
      if (m.processingTime !== undefined) metrics.addMetric("ProcessingTime", MetricUnit.Milliseconds, m.processingTime);
      if (m.totalDelay !== undefined) metrics.addMetric("TotalDelay", MetricUnit.Milliseconds, m.totalDelay);
      if (record.requests) {
        metrics.addMetric("RequestsPerBatch", MetricUnit.Count, nonKinesisRequestsPerBatch(record.requests));
        const estimate = options.intervalMs ? estimateMonthlyCost(costSample, options.intervalMs, options.coordinatorMb) : undefined;
        costSample = costSample.slice(-COST_SAMPLE);
        if (estimate) metrics.addMetric("EstimatedMonthlyCost", MetricUnit.NoUnit, Math.round(estimate.usd * 100) / 100);
      }
      if (pending === 0) {
        first = record;
        since = now();
      }
      last = record;
      if (++pending >= MAX_BATCHES_PER_DOCUMENT || now() - since >= every) flush();
    },
    flush,
    failed(batchTime) {
      flush();
      metrics.addMetric("BatchFailed", MetricUnit.Count, 1);
      metrics.addMetadata("failedBatchTime", String(batchTime));
      metrics.publishStoredMetrics();
    },
  };
}

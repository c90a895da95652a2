/**
 * Per-batch metrics, Spark's StreamingListener figures: input records,
 * scheduling delay (batch time until its first task was sent), processing
 * time (first task sent until the batch completed), total delay (batch time
 * until completion) and quarantined records. `batchMetrics` computes them
 * from a batch record; `status`, the dashboard and the CloudWatch metrics
 * all use it, so they agree.
 *
 * In Lambda, `createBatchMetricsEmitter` writes one CloudWatch embedded
 * metric format document per completed batch through Powertools Metrics:
 * namespace "Sparkless", dimension App.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { BatchRecord } from "../storage/interfaces.js";

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
  /** Writes the batch's metrics (one EMF document), with the batch time as a property. */
  emit(record: BatchRecord): void;
}

/** Per-batch CloudWatch metrics in embedded metric format, through Powertools Metrics (stdout). */
export function createBatchMetricsEmitter(app: string, options: { namespace?: string } = {}): BatchMetricsEmitter {
  const metrics = new Metrics({ namespace: options.namespace ?? METRICS_NAMESPACE, serviceName: "sparkless" });
  // The only dimension is App (Powertools adds "service" by default).
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ App: app });
  return {
    emit(record) {
      const m = batchMetrics(record);
      metrics.addMetric("InputRecords", MetricUnit.Count, m.inputRecords);
      metrics.addMetric("QuarantinedRecords", MetricUnit.Count, m.quarantinedRecords);
      if (m.schedulingDelay !== undefined) metrics.addMetric("SchedulingDelay", MetricUnit.Milliseconds, m.schedulingDelay);
      if (m.processingTime !== undefined) metrics.addMetric("ProcessingTime", MetricUnit.Milliseconds, m.processingTime);
      if (m.totalDelay !== undefined) metrics.addMetric("TotalDelay", MetricUnit.Milliseconds, m.totalDelay);
      metrics.addMetadata("batchTime", String(record.time));
      metrics.addMetadata("status", record.status);
      metrics.publishStoredMetrics();
    },
  };
}

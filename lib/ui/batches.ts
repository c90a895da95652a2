/**
 * The batch log as operators read it: per-batch figures, totals and the
 * current lag (`summarizeBatches`), and the table `sparkless status` prints
 * (`renderStatus`, a pure function of the records and the time).
 */
import { batchMetrics, type BatchMetrics } from "../observability/metrics.js";
import type { BatchRecord } from "../storage/interfaces.js";

export interface BatchView extends BatchMetrics {
  readonly generatedAt: number;
  readonly startedAt?: number;
  readonly completedAt?: number;
  readonly stages: number;
  readonly error?: string;
  /** Input records per second of batch interval, when the interval is known. */
  readonly inputRate?: number;
}

export interface BatchTotals {
  readonly batches: number;
  readonly completed: number;
  readonly failed: number;
  readonly running: number;
  readonly generated: number;
  readonly inputRecords: number;
  readonly quarantinedRecords: number;
  /** Averages over the batches that have the figure. */
  readonly avgSchedulingDelay?: number;
  readonly avgProcessingTime?: number;
  readonly avgTotalDelay?: number;
  readonly maxTotalDelay?: number;
}

export interface BatchLag {
  /** Batches generated or running. */
  readonly waiting: number;
  /** The newest completed batch's time. */
  readonly lastCompletedTime?: number;
  /** How far results are behind the clock: now minus the newest completed batch's time. */
  readonly lagMs?: number;
  /** The oldest batch not finished yet. */
  readonly oldestWaitingTime?: number;
}

export interface BatchSummary {
  readonly batches: BatchView[];
  readonly totals: BatchTotals;
  readonly lag: BatchLag;
  readonly batchIntervalMs?: number;
}

const avg = (xs: (number | undefined)[]) => {
  const ys = xs.filter((x): x is number => x !== undefined);
  return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : undefined;
};

/** The batch interval, from the smallest gap between batch times, when not known. */
export function inferInterval(records: readonly BatchRecord[]): number | undefined {
  let best: number | undefined;
  for (let i = 1; i < records.length; i++) {
    const d = records[i]!.time - records[i - 1]!.time;
    if (d > 0 && (best === undefined || d < best)) best = d;
  }
  return best;
}

/** Figures for the newest `limit` batches (all when undefined), totals over those, and the lag over all. */
export function summarizeBatches(records: readonly BatchRecord[], options: { now: number; limit?: number; batchIntervalMs?: number }): BatchSummary {
  const sorted = [...records].sort((a, b) => a.time - b.time);
  const interval = options.batchIntervalMs ?? inferInterval(sorted);
  const shown = options.limit === undefined ? sorted : sorted.slice(Math.max(0, sorted.length - options.limit));
  const batches: BatchView[] = shown.map((r) => {
    const m = batchMetrics(r);
    return {
      ...m,
      generatedAt: r.generatedAt, startedAt: r.startedAt, completedAt: r.completedAt, stages: r.stages?.length ?? 0,
      ...(r.error ? { error: r.error } : {}),
      ...(interval ? { inputRate: m.inputRecords / (interval / 1000) } : {}),
    };
  });
  const count = (s: BatchRecord["status"]) => batches.filter((b) => b.status === s).length;
  const totals: BatchTotals = {
    batches: batches.length,
    completed: count("completed"), failed: count("failed"), running: count("running"), generated: count("generated"),
    inputRecords: batches.reduce((a, b) => a + b.inputRecords, 0),
    quarantinedRecords: batches.reduce((a, b) => a + b.quarantinedRecords, 0),
    avgSchedulingDelay: avg(batches.map((b) => b.schedulingDelay)),
    avgProcessingTime: avg(batches.map((b) => b.processingTime)),
    avgTotalDelay: avg(batches.map((b) => b.totalDelay)),
    maxTotalDelay: batches.reduce<number | undefined>((a, b) => (b.totalDelay === undefined ? a : Math.max(a ?? 0, b.totalDelay)), undefined),
  };
  const completed = sorted.filter((r) => r.status === "completed");
  const waiting = sorted.filter((r) => r.status === "generated" || r.status === "running");
  const last = completed[completed.length - 1];
  const lag: BatchLag = {
    waiting: waiting.length,
    ...(last ? { lastCompletedTime: last.time, lagMs: Math.max(0, options.now - last.time) } : {}),
    ...(waiting[0] ? { oldestWaitingTime: waiting[0].time } : {}),
  };
  return { batches, totals, lag, ...(interval ? { batchIntervalMs: interval } : {}) };
}

/** "350 ms", "1.25 s", "2m 05s"; "-" when unknown. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const p2 = (n: number) => String(n).padStart(2, "0");

/** A batch time as a clock time, with milliseconds when they are not zero. */
export function formatBatchTime(t: number, utc = false): string {
  const d = new Date(t);
  const [h, m, s, ms] = utc ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()] : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${p2(h)}:${p2(m)}:${p2(s)}${ms ? `.${String(ms).padStart(3, "0")}` : ""}`;
}

export interface RenderStatusOptions {
  /** The wall clock, for the lag. */
  now: number;
  /** The newest batches shown. @default 20 */
  limit?: number;
  batchIntervalMs?: number;
  /** Batch times in UTC rather than local time. */
  utc?: boolean;
  app?: string;
}

/** The `sparkless status` table: recent batches, totals, and the current lag. */
export function renderStatus(records: readonly BatchRecord[], options: RenderStatusOptions): string {
  const limit = options.limit ?? 20;
  const s = summarizeBatches(records, { now: options.now, limit, batchIntervalMs: options.batchIntervalMs });
  const head = options.app ? `Batches of ${options.app}` : "Batches";
  if (records.length === 0) return `${head}: none yet. A batch appears every batch interval once the coordinator runs.\n`;
  const header = ["Batch time", "Input records", "Scheduling delay", "Processing time", "Total delay", "Quarantined", "Status"];
  const rows = s.batches.map((b) => [
    formatBatchTime(b.time, options.utc), int(b.inputRecords), formatMs(b.schedulingDelay), formatMs(b.processingTime),
    formatMs(b.totalDelay), int(b.quarantinedRecords), b.status,
  ]);
  const t = s.totals;
  const statuses = (["completed", "running", "generated", "failed"] as const).filter((k) => t[k] > 0).map((k) => `${t[k]} ${k}`).join(", ");
  const totalRow = [`Total (${t.batches})`, int(t.inputRecords), `avg ${formatMs(t.avgSchedulingDelay)}`, `avg ${formatMs(t.avgProcessingTime)}`, `avg ${formatMs(t.avgTotalDelay)}`, int(t.quarantinedRecords), statuses];
  const all = [header, ...rows, totalRow];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const leftAligned = new Set([0, 6]);
  const fmt = (r: string[]) => r.map((cell, c) => (leftAligned.has(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const lines = [
    `${head}${records.length > rows.length ? ` (newest ${rows.length} of ${records.length})` : ""}`,
    fmt(header), rule, ...rows.map(fmt), rule, fmt(totalRow),
  ];
  const lag = s.lag;
  const lagText = lag.lagMs !== undefined
    ? `Lag: ${formatMs(lag.lagMs)} behind (newest completed batch ${formatBatchTime(lag.lastCompletedTime!, options.utc)}), ${lag.waiting} batch${lag.waiting === 1 ? "" : "es"} waiting`
    : `Lag: no batch completed yet, ${lag.waiting} batch${lag.waiting === 1 ? "" : "es"} waiting`;
  lines.push(lagText + (lag.oldestWaitingTime !== undefined ? ` (oldest ${formatBatchTime(lag.oldestWaitingTime, options.utc)})` : "") + ".");
  const failed = s.batches.filter((b) => b.status === "failed");
  for (const f of failed.slice(-3)) lines.push(`Batch ${formatBatchTime(f.time, options.utc)} failed: ${f.error ?? "(no error recorded)"}`);
  return lines.join("\n") + "\n";
}

/**
 * The batch log as operators read it: per-batch figures, totals and the
 * current lag (`summarizeBatches`), the rows of the batch table (`batchRows`:
 * a run of empty batches is one row), and the table `sparkless status` prints
 * (`renderStatus`, a pure function of the records and the time). The
 * dashboard's page draws the same rows from the same figures.
 *
 * The log stores a run of empty batches as one record (`emptyFrom`): the
 * figures here expand it back into one batch per interval, so charts and
 * totals count every batch, as Spark's Streaming tab does.
 */
import { estimateMonthlyCost, nonKinesisRequestsPerBatch } from "../observability/cost.js";
import { batchMetrics, type BatchMetrics } from "../observability/metrics.js";
import type { BatchRecord } from "../storage/interfaces.js";

export interface BatchView extends BatchMetrics {
  readonly generatedAt: number;
  readonly startedAt?: number;
  readonly completedAt?: number;
  /** Where the batch ran: "fan-out" when some of its stages ran on workers, else in the coordinator. */
  readonly mode: "in-process" | "fan-out";
  /** A completed batch without input, of a run the log keeps as one record (its figures are not kept). */
  readonly empty?: true;
  readonly error?: string;
  /** Input records per second of batch interval, when the interval is known. */
  readonly inputRate?: number;
  /** Non-Kinesis requests per batch (DynamoDB, SQS as billed, S3) behind this record, when the engine counted them. */
  readonly requests?: number;
}

/** What the batches cost, from the requests their records carry (lib/observability/cost.ts). */
export interface BatchCost {
  /** Batches the sample covers (a record after an empty run covers the run too). */
  readonly batches: number;
  /** Requests per batch, by service. */
  readonly perBatch: Readonly<Record<string, number>>;
  /** $/month at this rate: the requests, plus the coordinator's Lambda time when its memory is given. */
  readonly usdPerMonth: number;
  readonly requestsUsdPerMonth: number;
  readonly lambdaUsdPerMonth: number;
}

export interface BatchTotals {
  readonly batches: number;
  readonly completed: number;
  readonly failed: number;
  readonly running: number;
  /** Completed batches without input (counted in `completed` too). */
  readonly empty: number;
  /** Batches some of whose stages ran on workers. */
  readonly fannedOut: number;
  readonly inputRecords: number;
  readonly quarantinedRecords: number;
  /** Averages over the batches that have the figure. */
  readonly avgSchedulingDelay?: number;
  readonly avgProcessingTime?: number;
  readonly avgTotalDelay?: number;
  readonly maxTotalDelay?: number;
}

export interface BatchLag {
  /** Batches running. */
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
  /** Every batch in the records, each batch of an empty run counted. */
  readonly totalBatches: number;
  readonly batchIntervalMs?: number;
  /** The cost of the newest batches that carry request counts (AWS engines count them). */
  readonly cost?: BatchCost;
}

/** Non-Kinesis requests of a record's requests, per batch. */

/** The cost of the newest `sample` records that carry requests. */
export function costOf(
  records: readonly BatchRecord[],
  intervalMs: number | undefined,
  options: { coordinatorMb?: number; sample?: number } = {},
): BatchCost | undefined {
  if (!intervalMs) return undefined;
  const withRequests = records.filter((r) => r.requests).slice(-(options.sample ?? 100));
  const e = estimateMonthlyCost(
    withRequests.map((r) => ({ requests: r.requests, processingMs: batchMetrics(r).processingTime })),
    intervalMs,
    options.coordinatorMb,
  );
  if (!e) return undefined;
  return {
    batches: withRequests.reduce((n, r) => n + r.requests!.batches, 0),
    perBatch: e.perBatch,
    usdPerMonth: e.usd,
    requestsUsdPerMonth: e.requestsUsd,
    lambdaUsdPerMonth: e.lambdaUsd,
  };
}

const avg = (xs: (number | undefined)[]) => {
  const ys = xs.filter((x): x is number => x !== undefined);
  return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : undefined;
};

/** Most empty batches one stored run is expanded into (the newest ones). */
const MAX_EXPANDED = 10_000;

/** Every batch a record stands for: the empty run before it (`emptyFrom`), then itself. */
export function expandEmptyRuns(records: readonly BatchRecord[], intervalMs: number): BatchRecord[] {
  const out: BatchRecord[] = [];
  for (const r of records) {
    if (r.emptyFrom !== undefined) {
      const from = Math.max(r.emptyFrom, r.time - MAX_EXPANDED * intervalMs);
      for (let t = from; t < r.time; t += intervalMs) {
        out.push({ time: t, blocks: r.emptyBlocks ?? {}, status: "completed", generatedAt: r.generatedAt, inputRecords: 0, empty: true });
      }
    }
    out.push(r);
  }
  return out;
}

/**
 * The batch interval, when not known: the smallest gap between batch times, an empty run's start
 * (`emptyFrom`) included, since a run starts one interval after the record before it.
 */
export function inferInterval(records: readonly BatchRecord[]): number | undefined {
  let best: number | undefined;
  const consider = (d: number) => {
    if (d > 0 && (best === undefined || d < best)) best = d;
  };
  for (let i = 1; i < records.length; i++) {
    const r = records[i]!;
    const before = records[i - 1]!.time;
    consider(r.time - before);
    if (r.emptyFrom !== undefined) consider(r.emptyFrom - before);
  }
  return best;
}

/**
 * True for a batch of an empty run: one made up from a run's record, or the record that ends a run of
 * empty batches (written completed, with no input and no figures of its own).
 */
function isEmptyBatch(r: BatchRecord): boolean {
  return r.empty === true || (r.status === "completed" && (r.inputRecords ?? 0) === 0 && r.startedAt === undefined && !r.quarantinedRecords);
}

function view(r: BatchRecord, interval: number | undefined): BatchView {
  const m = batchMetrics(r);
  return {
    ...m,
    generatedAt: r.generatedAt,
    startedAt: r.startedAt,
    completedAt: r.completedAt,
    mode: r.mode ?? "in-process",
    ...(isEmptyBatch(r) ? { empty: true as const } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(interval ? { inputRate: m.inputRecords / (interval / 1000) } : {}),
    ...(r.requests ? { requests: nonKinesisRequestsPerBatch(r.requests) } : {}),
  };
}

/** Counts and averages over some batches. */
export function totalsOf(batches: readonly BatchView[]): BatchTotals {
  const count = (s: BatchRecord["status"]) => batches.filter((b) => b.status === s).length;
  return {
    batches: batches.length,
    completed: count("completed"),
    failed: count("failed"),
    running: count("running"),
    empty: batches.filter((b) => b.empty).length,
    fannedOut: batches.filter((b) => b.mode === "fan-out").length,
    inputRecords: batches.reduce((a, b) => a + b.inputRecords, 0),
    quarantinedRecords: batches.reduce((a, b) => a + b.quarantinedRecords, 0),
    avgSchedulingDelay: avg(batches.map((b) => b.schedulingDelay)),
    avgProcessingTime: avg(batches.map((b) => b.processingTime)),
    avgTotalDelay: avg(batches.map((b) => b.totalDelay)),
    maxTotalDelay: batches.reduce<number | undefined>((a, b) => (b.totalDelay === undefined ? a : Math.max(a ?? 0, b.totalDelay)), undefined),
  };
}

/**
 * Figures for the newest `limit` batches (all when undefined), totals over those, and the lag over all.
 * Empty runs are expanded when the interval is known (`batchIntervalMs`, the app's) or can be inferred.
 */
export function summarizeBatches(
  records: readonly BatchRecord[],
  options: { now: number; limit?: number; batchIntervalMs?: number; coordinatorMb?: number },
): BatchSummary {
  const stored = [...records].sort((a, b) => a.time - b.time);
  const interval = options.batchIntervalMs ?? inferInterval(stored);
  const sorted = interval ? expandEmptyRuns(stored, interval) : stored;
  const shown = options.limit === undefined ? sorted : sorted.slice(Math.max(0, sorted.length - options.limit));
  const batches = shown.map((r) => view(r, interval));
  const completed = sorted.filter((r) => r.status === "completed");
  const waiting = sorted.filter((r) => r.status === "running");
  const last = completed[completed.length - 1];
  const lag: BatchLag = {
    waiting: waiting.length,
    ...(last ? { lastCompletedTime: last.time, lagMs: Math.max(0, options.now - last.time) } : {}),
    ...(waiting[0] ? { oldestWaitingTime: waiting[0].time } : {}),
  };
  const cost = costOf(stored, interval, { coordinatorMb: options.coordinatorMb });
  return {
    batches,
    totals: totalsOf(batches),
    lag,
    totalBatches: sorted.length,
    ...(interval ? { batchIntervalMs: interval } : {}),
    ...(cost ? { cost } : {}),
  };
}

/** One row of the batch table: one batch, or a run of two or more consecutive empty batches. */
export interface BatchRow {
  /** The row's batches, oldest first. */
  readonly batches: readonly BatchView[];
  /** The first and last batch times (equal for a row of one batch). */
  readonly from: number;
  readonly to: number;
  /** A run of empty batches. */
  readonly emptyRun: boolean;
}

/** The rows of the batch table, oldest first: each run of consecutive empty batches is one row. */
export function batchRows(batches: readonly BatchView[]): BatchRow[] {
  const rows: BatchRow[] = [];
  let run: BatchView[] = [];
  const endRun = () => {
    if (run.length === 1) rows.push({ batches: run, from: run[0]!.time, to: run[0]!.time, emptyRun: false });
    else if (run.length > 1) rows.push({ batches: run, from: run[0]!.time, to: run[run.length - 1]!.time, emptyRun: true });
    run = [];
  };
  for (const b of batches) {
    if (b.empty) {
      run.push(b);
      continue;
    }
    endRun();
    rows.push({ batches: [b], from: b.time, to: b.time, emptyRun: false });
  }
  endRun();
  return rows;
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
  const [h, m, s, ms] = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${p2(h)}:${p2(m)}:${p2(s)}${ms ? `.${String(ms).padStart(3, "0")}` : ""}`;
}

/** How the table names a batch's mode. */
export function formatMode(mode: BatchView["mode"]): string {
  return mode === "fan-out" ? "fanned out" : "in process";
}

export interface RenderStatusOptions {
  /** The wall clock, for the lag. */
  now: number;
  /** The newest rows shown (a run of empty batches is one row). @default 20 */
  limit?: number;
  /** The app's batch interval (its AppInfo's), to expand empty runs. @default inferred from the records */
  batchIntervalMs?: number;
  /** Batch times in UTC rather than local time. */
  utc?: boolean;
  app?: string;
  /** The coordinator's memory, to add its Lambda time to the cost estimate. */
  coordinatorMb?: number;
}

const money = (usd: number) => `$${usd < 10 ? usd.toFixed(2) : int(usd)}`;

/** "Cost: per batch 3.1 DynamoDB, 0 SQS, ... requests; about $X a month at this rate (...)". */
export function formatCost(c: BatchCost): string {
  const services = Object.entries(c.perBatch)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s} ${n < 10 ? n.toFixed(1) : int(n)}`)
    .join(", ");
  const what =
    c.lambdaUsdPerMonth > 0
      ? `requests ${money(c.requestsUsdPerMonth)} + coordinator Lambda ${money(c.lambdaUsdPerMonth)}`
      : "requests only: add the coordinator's Lambda time with --coordinator-mb MB";
  return (
    `Cost: per batch ${services} requests (over the newest ${int(c.batches)} batches); ` +
    `about ${money(c.usdPerMonth)} a month at this rate (${what}; Kinesis and CloudWatch apart, priced as \`npm run bench\`).`
  );
}

/** The `sparkless status` table: recent batches (a run of empty batches in one row), totals, and the current lag. */
export function renderStatus(records: readonly BatchRecord[], options: RenderStatusOptions): string {
  const limit = options.limit ?? 20;
  const head = options.app ? `Batches of ${options.app}` : "Batches";
  if (records.length === 0) return `${head}: none yet. A batch appears every batch interval once the coordinator runs.\n`;
  const all = summarizeBatches(records, { now: options.now, batchIntervalMs: options.batchIntervalMs });
  const rowsAll = batchRows(all.batches);
  const shownRows = rowsAll.slice(Math.max(0, rowsAll.length - limit));
  const shown = shownRows.flatMap((r) => r.batches);
  const time = (t: number) => formatBatchTime(t, options.utc);
  const header = ["Batch time", "Input records", "Scheduling delay", "Processing time", "Total delay", "Quarantined", "Requests", "Mode", "Status"];
  const rows = shownRows.map((row) => {
    if (row.emptyRun)
      return [
        `${time(row.from)}–${time(row.to)}`,
        "0",
        "-",
        "-",
        "-",
        "0",
        "-",
        formatMode("in-process"),
        `completed (${row.batches.length} empty batches)`,
      ];
    const b = row.batches[0]!;
    const requests = b.requests === undefined ? "-" : b.requests < 10 ? b.requests.toFixed(1).replace(/\.0$/, "") : int(b.requests);
    return [
      time(b.time),
      int(b.inputRecords),
      formatMs(b.schedulingDelay),
      formatMs(b.processingTime),
      formatMs(b.totalDelay),
      int(b.quarantinedRecords),
      requests,
      formatMode(b.mode),
      b.status,
    ];
  });
  const t = totalsOf(shown);
  const statuses = (["completed", "running", "failed"] as const)
    .filter((k) => t[k] > 0)
    .map((k) => `${t[k]} ${k}${k === "completed" && t.empty ? ` (${t.empty} empty)` : ""}`)
    .join(", ");
  const totalRow = [
    `Total (${t.batches})`,
    int(t.inputRecords),
    `avg ${formatMs(t.avgSchedulingDelay)}`,
    `avg ${formatMs(t.avgProcessingTime)}`,
    `avg ${formatMs(t.avgTotalDelay)}`,
    int(t.quarantinedRecords),
    "",
    t.fannedOut ? `${t.fannedOut} fanned out` : "",
    statuses,
  ];
  const table = [header, ...rows, totalRow];
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const leftAligned = new Set([0, 7, 8]);
  const fmt = (r: string[]) =>
    r
      .map((cell, c) => (leftAligned.has(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const lines = [
    `${head}${all.totalBatches > shown.length ? ` (newest ${int(shown.length)} of ${int(all.totalBatches)} batches)` : ""}`,
    fmt(header),
    rule,
    ...rows.map(fmt),
    rule,
    fmt(totalRow),
  ];
  const lag = all.lag;
  const lagText =
    lag.lagMs !== undefined
      ? `Lag: ${formatMs(lag.lagMs)} behind (newest completed batch ${time(lag.lastCompletedTime!)}), ${lag.waiting} batch${lag.waiting === 1 ? "" : "es"} waiting`
      : `Lag: no batch completed yet, ${lag.waiting} batch${lag.waiting === 1 ? "" : "es"} waiting`;
  lines.push(lagText + (lag.oldestWaitingTime !== undefined ? ` (oldest ${time(lag.oldestWaitingTime)})` : "") + ".");
  const cost = costOf(
    [...records].sort((a, b) => a.time - b.time),
    all.batchIntervalMs,
    { coordinatorMb: options.coordinatorMb },
  );
  if (cost) lines.push(formatCost(cost));
  const failed = shown.filter((b) => b.status === "failed");
  for (const f of failed.slice(-3)) lines.push(`Batch ${time(f.time)} failed: ${f.error ?? "(no error recorded)"}`);
  return lines.join("\n") + "\n";
}

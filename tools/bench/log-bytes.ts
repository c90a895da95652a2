/**
 * What the app writes to CloudWatch Logs, measured by running the code that
 * writes it with standard output captured:
 *
 * - the per-batch metrics: lib/observability/metrics.ts's emitter, fed every
 *   completed batch and flushed at the end of every invocation, as the
 *   coordinator handler does (its EMF documents are log lines, billed by the
 *   byte, and create the custom metrics);
 * - the handler's own line per invocation (lib/runtime/handlers.ts logs the
 *   invocation's result at info level, as Powertools JSON in Lambda);
 * - Lambda's own START, END and REPORT lines per invocation, in the text
 *   format Lambda writes them (not produced by the app: their size is stated).
 */
import { createLogger } from "../../lib/observability/logger.js";
import { createBatchMetricsEmitter, type BatchMetricsEmitter } from "../../lib/observability/metrics.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";

/** Lambda's platform lines of one invocation, as written in the text log format (request id 36 characters). */
const REQUEST_ID = "8f5a2b1c-4d3e-4f60-9a7b-0c1d2e3f4a5b";
export const LAMBDA_PLATFORM_LINES = [
  `START RequestId: ${REQUEST_ID} Version: $LATEST`,
  `END RequestId: ${REQUEST_ID}`,
  `REPORT RequestId: ${REQUEST_ID}\tDuration: 55012.34 ms\tBilled Duration: 55013 ms\tMemory Size: 192 MB\tMax Memory Used: 131 MB\t`,
];
export const LAMBDA_PLATFORM_BYTES_PER_INVOCATION = LAMBDA_PLATFORM_LINES.reduce((n, l) => n + Buffer.byteLength(l + "\n"), 0);

/** Runs `fn` with standard output captured; returns what it wrote (nothing reaches the terminal). */
function captured(fn: () => void): string {
  const write = process.stdout.write;
  let out = "";
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

/** The metrics of one app's coordinator, with the bytes its EMF documents took. */
export class MetricsLog {
  private readonly emitter: BatchMetricsEmitter;
  bytes = 0;
  documents = 0;
  batches = 0;
  constructor(app: string, intervalMs: number) {
    // As the handler creates it: with the interval, so EstimatedMonthlyCost is in the documents measured.
    this.emitter = createBatchMetricsEmitter(app, { intervalMs, coordinatorMb: 192 });
  }
  private count(text: string): void {
    for (const line of text.split("\n")) {
      if (!line) continue;
      this.bytes += Buffer.byteLength(line + "\n");
      this.documents++;
    }
  }
  /** A completed batch, as the handler's onBatchCompleted adds it (a document is written every 10 s). */
  add(record: BatchRecord): void {
    this.batches++;
    this.count(captured(() => this.emitter.add(record)));
  }
  /** The end of an invocation: what is pending is written. */
  flush(): void {
    this.count(captured(() => this.emitter.flush()));
  }
}

/** Bytes of the coordinator handler's line at the end of an invocation, as Powertools writes it in Lambda. */
export function handlerLineBytes(app: string, result: Record<string, unknown>): number {
  const logger = createLogger({ app, format: "json", level: "info" });
  const out = captured(() => logger.info("coordinator done", result));
  return Buffer.byteLength(out);
}

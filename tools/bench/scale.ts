/**
 * The scale scenario: large, sparse state. A running count per key over
 * `keys` keys of state (all present from the start, through `initialState`)
 * with `active` keys receiving a record each batch, through the deployed app
 * on a stepped clock, so each batch's requests are its own:
 *
 * - updateStateByKey on the memory backend (the default),
 * - mapWithState on the memory backend,
 * - mapWithState on the per-key DynamoDB backend (`StateSpec.stateBackend("dynamodb")`).
 *
 * Per warm batch (after the first checkpoint): DynamoDB requests and units
 * (reads and writes apart, the checkpoints every 10 batches included), S3
 * requests, and wall time from the boundary to the coordinator waiting again.
 */
import type { BenchPipeline } from "./bench-app.js";
import { Deployment, SteppedClock, type Endpoints } from "./cluster.js";
import type { Producer } from "./distributed.js";
import { requestsOf, subtractCounts, total, type MeterCounts } from "../../lib/observability/metering.js";
import type { ProduceResult } from "./producer-process.js";
import { mean, median, percentile } from "./stats.js";

export interface ScaleVariant {
  readonly label: string;
  readonly pipeline: Extract<BenchPipeline, "update-state" | "map-with-state">;
  readonly backend: "memory" | "dynamodb";
}

export const SCALE_VARIANTS: readonly ScaleVariant[] = [
  { label: "updateStateByKey, memory backend", pipeline: "update-state", backend: "memory" },
  { label: "mapWithState, memory backend", pipeline: "map-with-state", backend: "memory" },
  { label: "mapWithState, DynamoDB backend", pipeline: "map-with-state", backend: "dynamodb" },
];

export interface ScaleRun {
  variant: ScaleVariant;
  keys: number;
  activePerBatch: number;
  warmBatches: number;
  /** The first batch: the initial state loaded (and, on the DynamoDB backend, written key by key). */
  firstBatchMs: number;
  perBatch: {
    dynamoReadRequests: number;
    dynamoWriteRequests: number;
    rru: number;
    wru: number;
    s3Requests: number;
    /** Wall time from the boundary to the coordinator waiting again, median and p99 over the warm batches. */
    wallMsP50: number;
    wallMsP99: number;
  };
  checkpoints: number;
  /** Compressed bytes of the first checkpoint (a full copy of the state) and of the window's checkpoints (deltas), on average. */
  fullCheckpointBytes: number;
  deltaCheckpointBytes: number;
  counts: MeterCounts;
}

const DYNAMO_READS = ["GetItem", "Query", "BatchGetItem", "Scan"];

export async function runScale(
  endpoints: Endpoints,
  producer: Producer,
  variant: ScaleVariant,
  o: { keys: number; active: number; warmBatches: number; name: string; log: (l: string) => void },
): Promise<ScaleRun> {
  const interval = 1000;
  const clock = new SteppedClock(Date.now());
  const d = await Deployment.start({
    endpoints,
    shards: 1,
    workers: 0,
    clock,
    spec: {
      config: { name: o.name, batchInterval: "1s" },
      stream: `${o.name}-in`,
      pipeline: variant.pipeline,
      initialKeys: o.keys,
      ...(variant.pipeline === "map-with-state" ? { stateBackend: variant.backend } : {}),
    },
  });
  try {
    let next = (Math.floor(clock.now() / interval) + 1) * interval;
    const step = async (): Promise<number> => {
      await producer.call<ProduceResult>("produce", {
        endpoint: endpoints.kinesis,
        stream: d.spec.stream,
        mode: "preload",
        records: o.active,
        kind: "keys",
        keySpace: o.keys,
        seed: next % 100_000,
      });
      const t = performance.now();
      await clock.stepTo(next);
      next += interval;
      return performance.now() - t;
    };
    d.startSchedule();
    const firstBatchMs = await step();
    // Warm: past the first checkpoint (the 10th batch), which reads the checkpoint index once per process.
    while (d.checkpoints.length === 0 && d.batches.length < 12) await step();
    await step();
    const checkpointsBefore = d.checkpoints.length;
    const before = await d.counts();
    const walls: number[] = [];
    for (let i = 0; i < o.warmBatches; i++) walls.push(await step());
    const counts = subtractCounts(await d.counts(), before);
    const per = (x: number) => x / o.warmBatches;
    const reads = DYNAMO_READS.reduce((n, api) => n + total(counts, "requests", { service: "DynamoDB", api }), 0);
    const run: ScaleRun = {
      variant,
      keys: o.keys,
      activePerBatch: o.active,
      warmBatches: o.warmBatches,
      firstBatchMs,
      perBatch: {
        dynamoReadRequests: per(reads),
        dynamoWriteRequests: per(requestsOf(counts, "DynamoDB") - reads),
        rru: per(total(counts, "readUnits", { service: "DynamoDB" })),
        wru: per(total(counts, "writeUnits", { service: "DynamoDB" })),
        s3Requests: per(requestsOf(counts, "S3")),
        wallMsP50: median(walls),
        wallMsP99: percentile(walls, 99),
      },
      checkpoints: d.checkpoints.length - checkpointsBefore,
      fullCheckpointBytes: d.checkpoints[0]?.bytes ?? 0,
      deltaCheckpointBytes: d.checkpoints.length > checkpointsBefore ? mean(d.checkpoints.slice(checkpointsBefore).map((c) => c.bytes)) : 0,
      counts,
    };
    o.log(
      `  ${variant.label}: ${o.keys} keys, ${o.active} active a batch: ${run.perBatch.rru.toFixed(1)} RRU and ${run.perBatch.wru.toFixed(1)} WRU a batch, ${run.perBatch.wallMsP50.toFixed(0)} ms a batch (first batch ${firstBatchMs.toFixed(0)} ms)`,
    );
    return run;
  } finally {
    await d.stop();
  }
}

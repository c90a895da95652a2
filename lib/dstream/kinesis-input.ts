/**
 * `ssc.kinesisStream(name, options)`: records of a Kinesis stream, decoded
 * (UTF-8 strings by default, JSON, the Sparkless codec, or a function).
 *
 * A record that cannot be decoded is quarantined with its stream, shard,
 * sequence number, batch time and error, counted in the batch's
 * `quarantinedRecords`, and the batch goes on. A user function that throws
 * on a record raises a `RecordProcessingError` naming the record's
 * coordinates; the planner quarantines the record and runs the task again
 * without it (see BatchPlan.runTask).
 */
import { decode as decodeCodec } from "../core/codec.js";
import { IllegalStateError, InvalidArgumentError, RecordProcessingError, describe } from "../core/errors.js";
import type { ReplayableSource } from "../storage/interfaces.js";
import type { DStreamSpec } from "./dstream.js";
import { updateRate, type RateEstimatorOptions, type RateEstimatorState } from "../scheduler/rate-estimator.js";
import type { EngineServices } from "../storage/interfaces.js";

/** A Kinesis record as the source hands it over (see lib/aws/kinesis.ts). */
export interface RawRecord {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  readonly shardId: string;
  readonly stream: string;
}

export type Decoder<T> = "utf8" | "json" | "codec" | ((record: RawRecord) => T);

export interface KinesisStreamOptions<T> {
  /** How a record's bytes become an element. @default "utf8" */
  decode?: Decoder<T>;
  /** Most records one shard contributes to a batch (Spark's maxRatePerPartition × interval). @default 100000 */
  maxRecordsPerShard?: number;
  /**
   * Adaptive backpressure (Spark's spark.streaming.backpressure.enabled): the
   * cap per shard follows the rate the app processed records at, so batches
   * finish within the interval; the rest stays in Kinesis. `true`, or the
   * estimator's options. @default false
   */
  backpressure?: boolean | (RateEstimatorOptions & { initialRate?: number });
}

/** What a Kinesis input remembers between batches: the shard positions and the backpressure estimator. */
interface KinesisInputState { kinesis?: unknown; rate?: RateEstimatorState; shards?: number }

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decoderFor<T>(d: Decoder<T>): (r: RawRecord) => T {
  if (typeof d === "function") return d;
  switch (d) {
    case "utf8": return (r) => utf8.decode(r.data) as T;
    case "json": return (r) => JSON.parse(utf8.decode(r.data)) as T;
    case "codec": return (r) => decodeCodec<T>(utf8.decode(r.data));
    default: throw new InvalidArgumentError(`Expected \`decode\` to be "utf8", "json", "codec" or a function, got \`${describe(d)}\`.`);
  }
}

export function kinesisInputSpec<T>(
  streamName: string, options: KinesisStreamOptions<T>, services: () => EngineServices, batchIntervalMs: () => number,
): DStreamSpec<T> {
  if (typeof streamName !== "string" || !/^[a-zA-Z0-9_.-]{1,128}$/.test(streamName)) {
    throw new InvalidArgumentError(`Expected a Kinesis stream name of 1 to 128 characters [a-zA-Z0-9_.-], got \`${describe(streamName)}\`.`);
  }
  const max = options.maxRecordsPerShard;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new InvalidArgumentError(`Expected \`maxRecordsPerShard\` to be a whole number >= 1, got \`${describe(max)}\`.`);
  }
  const decode = decoderFor(options.decode ?? "utf8");
  const source = (s: EngineServices): ReplayableSource => {
    const src = s.sources.get("kinesis") as ReplayableSource | undefined;
    if (!src?.allocate) {
      throw new IllegalStateError(`kinesisStream("${streamName}") needs an engine with Kinesis: run it with \`sparkless local\`, runBatches({ engine: "local" }) or on AWS.`);
    }
    return src;
  };
  return {
    kind: "kinesisStream",
    parents: [],
    input: { source: "kinesis", name: streamName },
    allocateBlocks: async (time, prev, context) => {
      const previous = prev as KinesisInputState | undefined;
      let rate = previous?.rate;
      let cap = max;
      if (options.backpressure) {
        const bp = options.backpressure === true ? {} : options.backpressure;
        const interval = batchIntervalMs();
        // Account for every batch completed since the last estimate, in time order, as Spark's listener would.
        for (const b of context.completed) {
          if (b.time <= (rate?.lastBatch ?? 0) || b.time >= time.milliseconds) continue;
          rate = updateRate(rate, {
            time: b.time, completedAt: b.completedAt, records: b.inputRecords,
            processingMs: b.completedAt - b.startedAt, schedulingDelayMs: b.startedAt - b.time,
          }, Math.max(1, interval), bp);
        }
        const perSecond = rate && rate.latestRate > 0 ? rate.latestRate : bp.initialRate;
        const shards = Math.max(1, previous?.shards ?? 1);
        if (perSecond !== undefined) cap = Math.max(1, Math.min(max ?? Infinity, Math.ceil((perSecond * Math.max(1, interval)) / 1000 / shards)));
      }
      const a = await source(services()).allocate(streamName, previous?.kinesis, { maxRecordsPerShard: cap, budget: context.budget });
      return { blocks: a.blocks, ...(a.records ? { records: a.records } : {}), state: { kinesis: a.state, ...(rate ? { rate } : {}), shards: a.blocks.length } satisfies KinesisInputState };
    },
    compute: async (time, planner, self) => {
      const blocks = await planner.blocksFor(self.id, time);
      return planner.leaf<T>(blocks.length, async (p, tc, emit) => {
        const block = blocks[p]!;
        const reader = tc.services.sources.get("kinesis");
        if (!reader) throw new IllegalStateError(`kinesisStream("${streamName}") needs an engine with Kinesis to read its blocks.`);
        const records = (await reader.read(block)) as RawRecord[];
        const excluded = tc.scope.excludedRecords;
        for (const r of records) {
          if (excluded?.has(`${r.stream}/${r.shardId}/${r.sequenceNumber}`)) continue;
          let value: T;
          try {
            value = decode(r);
          } catch (e) {
            await tc.quarantine({
              stream: r.stream, shard: r.shardId, sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey, operator: `${self.id} (decode)`,
              error: e instanceof Error ? e.message : String(e), data: r.data,
            });
            continue;
          }
          try {
            emit(value);
          } catch (e) {
            throw new RecordProcessingError(
              `A user function threw on the record ${r.stream}/${r.shardId}/${r.sequenceNumber} of batch ${tc.batchTime}: ${e instanceof Error ? e.message : String(e)}`,
              { stream: r.stream, shard: r.shardId, sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey, batchTime: tc.batchTime },
              { cause: e, operator: self.id, data: r.data },
            );
          }
        }
      }, undefined, `${self.id}@${time.milliseconds}`);
    },
  };
}

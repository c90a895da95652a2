/**
 * `ssc.kinesisStream(name, options)`: records of a Kinesis stream, de-aggregated and decoded (UTF-8
 * strings by default, JSON, the Sparkless codec, or a function).
 *
 * The coordinator fixes each batch's blocks through the engine's "kinesis" source (a ReplayableSource:
 * lib/aws/kinesis.ts), one block per shard; `compute` reads a block's records back and turns each into
 * elements:
 *
 * - **KPL aggregates** (`deaggregate`, on by default): a record written by the Kinesis Producer Library
 *   (or a compatible aggregator) becomes the user records it carries, in order, each with its own
 *   partition key and the aggregate's sequence number plus a sub-sequence number, its index in the
 *   aggregate (lib/sources/kinesis/kpl.ts). Other records pass through as they are.
 * - **A corrupt aggregate** (the KPL magic bytes, then a protobuf message or MD5 digest that does not
 *   check) cannot be split: it is quarantined whole with its coordinates and the CorruptRecordError,
 *   and the batch goes on.
 * - **A record that cannot be decoded** is quarantined with its stream, shard, sequence number (and
 *   sub-sequence number, inside an aggregate), batch time and error, counted in the batch's
 *   `quarantinedRecords`, and the batch goes on.
 * - **A user function that throws** on a record raises a `RecordProcessingError` naming the record's
 *   coordinates; the planner quarantines the record and runs the task again without it (see
 *   BatchPlan.runTask). Inside an aggregate the coordinates name the user record, so only it is set
 *   aside, with its own bytes and partition key: a replay puts back that user record alone. A record
 *   that is not an aggregate has no sub-sequence number, so its coordinates, its exclusion key
 *   (`recordKey`) and its quarantine entry are what they were before de-aggregation existed.
 *
 * The batch's `inputRecords` (and `maxRecordsPerShard`, and backpressure's rate) count Kinesis records,
 * as the source counted them when it fixed the blocks: an aggregate counts once, whatever it carries.
 */
import { decode as decodeCodec } from "../../core/codec.js";
import { CorruptRecordError, IllegalStateError, InvalidArgumentError, RecordProcessingError, describe, recordKey } from "../../core/errors.js";
import type { DStreamSpec } from "../../dstream/dstream.js";
import type { TaskContext } from "../../rdd/scope.js";
import { updateRate, type RateEstimatorOptions, type RateEstimatorState } from "../../scheduler/rate-estimator.js";
import type { EngineServices, ReplayableSource } from "../../storage/interfaces.js";
import { deaggregate, isAggregated } from "./kpl.js";

/**
 * A record as a decoder sees it: a Kinesis record as the source hands it over (see lib/aws/kinesis.ts),
 * or one user record of a KPL aggregate, with the user record's own bytes and keys.
 */
export interface RawRecord {
  readonly data: Uint8Array;
  /** The record's partition key; a user record's own (from the aggregate's key table). */
  readonly partitionKey: string;
  /** The Kinesis record's sequence number: every user record of an aggregate has the aggregate's. */
  readonly sequenceNumber: string;
  /** A user record of a KPL aggregate: its index in the aggregate, from 0. Absent for a record that is not an aggregate. */
  readonly subSequenceNumber?: number;
  /** A user record's explicit hash key, when its producer gave one. */
  readonly explicitHashKey?: string;
  readonly shardId: string;
  readonly stream: string;
}

export type Decoder<T> = "utf8" | "json" | "codec" | ((record: RawRecord) => T);

export interface KinesisStreamOptions<T> {
  /** How a record's bytes become an element. @default "utf8" */
  decode?: Decoder<T>;
  /**
   * Split KPL aggregates (records written by the Kinesis Producer Library, or a compatible
   * aggregator, which start with the bytes F3 89 9A C2) into the user records they carry, as the
   * KCL does: each user record is decoded on its own, with its own partition key and a
   * `subSequenceNumber`. A corrupt aggregate is quarantined whole. `false` hands every Kinesis
   * record's bytes to `decode` as they are, aggregates included.
   * @default true
   * @example
   * // The aggregates' bytes themselves, for a decoder of your own:
   * ssc.kinesisStream("events", { deaggregate: false, decode: (r) => r.data })
   */
  deaggregate?: boolean;
  /**
   * Between boundaries, read ahead (at most 2 more GetRecords a second per shard, and only once a batch
   * took 1,000 records or more from a shard), so fixing a batch's blocks at its boundary reads only the
   * records since: a shorter scheduling delay under load. What a batch holds is the same either way.
   * `false` reads each shard once per batch, at the boundary (for a stream whose 5 reads a second per
   * shard other consumers need).
   * @default true
   */
  readAhead?: boolean;
  /**
   * Most records one shard contributes to a batch (Spark's maxRatePerPartition × interval), counted
   * in Kinesis records: a KPL aggregate counts once, whatever number of user records it carries.
   * @default 100000
   */
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
interface KinesisInputState {
  kinesis?: unknown;
  rate?: RateEstimatorState;
  shards?: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decoderFor<T>(d: Decoder<T>): (r: RawRecord) => T {
  if (typeof d === "function") return d;
  switch (d) {
    case "utf8":
      return (r) => utf8.decode(r.data) as T;
    case "json":
      return (r) => JSON.parse(utf8.decode(r.data)) as T;
    case "codec":
      return (r) => decodeCodec<T>(utf8.decode(r.data));
    default:
      throw new InvalidArgumentError(`Expected \`decode\` to be "utf8", "json", "codec" or a function, got \`${describe(d)}\`.`);
  }
}

export function kinesisInputSpec<T>(
  streamName: string,
  options: KinesisStreamOptions<T>,
  services: () => EngineServices,
  batchIntervalMs: () => number,
): DStreamSpec<T> {
  if (typeof streamName !== "string" || !/^[a-zA-Z0-9_.-]{1,128}$/.test(streamName)) {
    throw new InvalidArgumentError(`Expected a Kinesis stream name of 1 to 128 characters [a-zA-Z0-9_.-], got \`${describe(streamName)}\`.`);
  }
  const max = options.maxRecordsPerShard;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new InvalidArgumentError(`Expected \`maxRecordsPerShard\` to be a whole number >= 1, got \`${describe(max)}\`.`);
  }
  if (options.deaggregate !== undefined && typeof options.deaggregate !== "boolean") {
    throw new InvalidArgumentError(`Expected \`deaggregate\` to be true or false, got \`${describe(options.deaggregate)}\`.`);
  }
  if (options.readAhead !== undefined && typeof options.readAhead !== "boolean") {
    throw new InvalidArgumentError(`Expected \`readAhead\` to be true or false, got \`${describe(options.readAhead)}\`.`);
  }
  const splitAggregates = options.deaggregate ?? true;
  const decode = decoderFor(options.decode ?? "utf8");
  const source = (s: EngineServices): ReplayableSource => {
    const src = s.sources.get("kinesis") as ReplayableSource | undefined;
    if (!src?.allocate) {
      throw new IllegalStateError(
        `kinesisStream("${streamName}") needs an engine with Kinesis: run it with \`sparkless local\`, runBatches({ engine: "local" }) or on AWS.`,
      );
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
          rate = updateRate(
            rate,
            {
              time: b.time,
              completedAt: b.completedAt,
              records: b.inputRecords,
              processingMs: b.completedAt - b.startedAt,
              schedulingDelayMs: b.startedAt - b.time,
            },
            Math.max(1, interval),
            bp,
          );
        }
        const perSecond = rate && rate.latestRate > 0 ? rate.latestRate : bp.initialRate;
        const shards = Math.max(1, previous?.shards ?? 1);
        if (perSecond !== undefined) cap = Math.max(1, Math.min(max ?? Infinity, Math.ceil((perSecond * Math.max(1, interval)) / 1000 / shards)));
      }
      const a = await source(services()).allocate(streamName, previous?.kinesis, { maxRecordsPerShard: cap, budget: context.budget });
      return {
        blocks: a.blocks,
        ...(a.records ? { records: a.records } : {}),
        state: { kinesis: a.state, ...(rate ? { rate } : {}), shards: a.blocks.length } satisfies KinesisInputState,
      };
    },
    ...(options.readAhead === false
      ? {}
      : {
          readAhead: async (prev: unknown) => {
            await source(services()).readAhead?.(streamName, (prev as KinesisInputState | undefined)?.kinesis);
          },
        }),
    compute: async (time, planner, self) => {
      const blocks = await planner.blocksFor(self.id, time);
      return planner.leaf<T>(
        blocks.length,
        async (p, tc, emit) => {
          const block = blocks[p]!;
          const reader = tc.services.sources.get("kinesis");
          if (!reader) throw new IllegalStateError(`kinesisStream("${streamName}") needs an engine with Kinesis to read its blocks.`);
          const records = (await reader.read(block)) as RawRecord[];
          const excluded = tc.scope.excludedRecords;
          /**
           * Decodes one (user) record and hands it on. Synchronous on the common path (a promise only
           * when the record goes to the quarantine), so a block of 10,000 records costs no 10,000 awaits.
           */
          const take = (r: RawRecord): Promise<void> | undefined => {
            if (
              excluded?.size &&
              excluded.has(
                recordKey({ stream: r.stream, shard: r.shardId, sequenceNumber: r.sequenceNumber, subSequenceNumber: r.subSequenceNumber }),
              )
            )
              return undefined;
            let value: T;
            try {
              value = decode(r);
            } catch (e) {
              return tc.quarantine({ ...where(r), operator: `${self.id} (decode)`, error: e instanceof Error ? e.message : String(e), data: r.data });
            }
            try {
              emit(value);
            } catch (e) {
              const sub = r.subSequenceNumber !== undefined ? ` (user record ${r.subSequenceNumber} of its KPL aggregate)` : "";
              throw new RecordProcessingError(
                `A user function threw on the record ${r.stream}/${r.shardId}/${r.sequenceNumber}${sub} of batch ${tc.batchTime}: ${e instanceof Error ? e.message : String(e)}`,
                coordinatesOf(r, tc.batchTime),
                { cause: e, operator: self.id, data: r.data },
              );
            }
            return undefined;
          };
          for (const r of records) {
            if (!splitAggregates || !isAggregated(r.data)) {
              const q = take(r);
              if (q) await q;
              continue;
            }
            const users = await split(r, tc, `${self.id} (decode)`);
            for (const u of users ?? []) {
              const q = take({
                data: u.data,
                partitionKey: u.partitionKey,
                sequenceNumber: r.sequenceNumber,
                subSequenceNumber: u.subSequenceNumber,
                ...(u.explicitHashKey !== undefined ? { explicitHashKey: u.explicitHashKey } : {}),
                shardId: r.shardId,
                stream: r.stream,
              });
              if (q) await q;
            }
          }
        },
        undefined,
        `${self.id}@${time.milliseconds}`,
      );
    },
  };
}

/** Where a (user) record came from, as a quarantine entry holds it. */
function where(r: RawRecord) {
  return {
    stream: r.stream,
    shard: r.shardId,
    sequenceNumber: r.sequenceNumber,
    ...(r.subSequenceNumber !== undefined ? { subSequenceNumber: r.subSequenceNumber } : {}),
    partitionKey: r.partitionKey,
    ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}),
  };
}

function coordinatesOf(r: RawRecord, batchTime: number) {
  return { ...where(r), batchTime };
}

/**
 * The user records of an aggregate; undefined when it is corrupt, after quarantining it whole with
 * its coordinates and the reason, since none of its user records can be trusted.
 */
async function split(r: RawRecord, tc: TaskContext, operator: string) {
  try {
    return deaggregate(r.data, { partitionKey: r.partitionKey });
  } catch (e) {
    const why =
      e instanceof CorruptRecordError
        ? `${e.name} (${e.reason}${e.offset !== undefined ? ` at byte ${e.offset}` : ""}): ${e.message}`
        : e instanceof Error
          ? `${e.name}: ${e.message}`
          : String(e);
    await tc.quarantine({ ...where(r), operator, error: `A KPL aggregate that cannot be split, quarantined whole: ${why}`, data: r.data });
    return undefined;
  }
}

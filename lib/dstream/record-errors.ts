/**
 * What happens when a user function throws on an input record: the
 * `onRecordError` policy, which every input stream has (its own option, else
 * its app's default, else "quarantine"), and the coordinates that name an
 * in-memory input's records so either policy can name them.
 *
 * An input reads its records and pushes each through the batch's pipelined
 * functions (map, filter, the map side of a shuffle...). When one throws, the
 * input raises a RecordProcessingError naming the record: a Kinesis record by
 * its stream, shard and sequence number; a record of an in-memory input
 * (queueStream, runBatches' test input) by `memory:<input id>` (or
 * `blob:<input id>`), its block and its index in the block. The planner then
 * applies the input's policy (BatchPlan.runTask):
 *
 * - "quarantine": the record is set aside whole with its coordinates, the
 *   operator and the error, counted in the batch's `quarantinedRecords`, and
 *   the task runs again without it; the batch goes on.
 * - "fail": the task fails with a RecordFailedError; like any failed task it
 *   is tried `maxTaskAttempts` times, then the batch fails with a
 *   TaskFailedError, reported to `awaitTermination` and `onBatchFailed`. A
 *   failed batch stops the app until `sparkless retry` (see docs/guarantees.md).
 *
 * The policies are kept beside the graph, by stream and by context, because
 * every process that builds an app (the coordinator, each worker) must apply
 * them the same way: they are set while the pipeline is built (by the
 * StreamingContext's options, `defineApp`'s config, each input's options) and
 * read by the planner when a record fails, in whichever process it fails.
 */
import { InvalidArgumentError, RecordProcessingError, describe, recordKey, type RecordCoordinates } from "../core/errors.js";
import type { Emit } from "../rdd/rdd.js";
import type { TaskContext } from "../rdd/scope.js";
import type { BlockDescriptor } from "../storage/interfaces.js";
import type { DStream } from "./dstream.js";

/** Set a record a user function throws on aside and go on ("quarantine"), or fail its batch ("fail"). */
export type RecordErrorPolicy = "quarantine" | "fail";

/** The policy of an app, a StreamingContext and runBatches when none is given. */
export const DEFAULT_RECORD_ERROR_POLICY: RecordErrorPolicy = "quarantine";

/** What every input stream accepts: `kinesisStream(name, options)`, `queueStream(..., options)`, runBatches' inputs. */
export interface InputOptions {
  /**
   * What to do with a record a user function throws on: set it aside and go on ("quarantine"), or
   * fail its batch ("fail"). Overrides the app's `onRecordError` for this input.
   * @default the app's (the StreamingContext's) `onRecordError`, itself "quarantine"
   */
  readonly onRecordError?: RecordErrorPolicy;
}

export function requireRecordErrorPolicy(value: unknown, name = "onRecordError"): RecordErrorPolicy {
  if (value !== "quarantine" && value !== "fail") {
    throw new InvalidArgumentError(
      `Expected \`${name}\` to be "quarantine" (set a record a function throws on aside, and go on) or "fail" (fail its batch), got \`${describe(value)}\`.`,
    );
  }
  return value;
}

/** Policies set on input streams (their own) and on contexts (their inputs' default). */
const policies = new WeakMap<object, RecordErrorPolicy>();

/**
 * Sets an input stream's own policy or, given a StreamingContext, the default of its inputs (read
 * when a record fails, so it applies to inputs created before it too). `undefined` changes nothing.
 */
export function setRecordErrorPolicy(target: object, policy: RecordErrorPolicy | undefined, name = "onRecordError"): void {
  if (policy === undefined) return;
  policies.set(target, requireRecordErrorPolicy(policy, name));
}

/** The policy of an input stream: its own, else its context's, else "quarantine". */
export function recordErrorPolicyOf(input: DStream<unknown>): RecordErrorPolicy {
  return policies.get(input) ?? defaultRecordErrorPolicy(input.ssc);
}

/** The default policy of a StreamingContext's inputs. */
export function defaultRecordErrorPolicy(ssc: object | undefined): RecordErrorPolicy {
  return (ssc && policies.get(ssc)) || DEFAULT_RECORD_ERROR_POLICY;
}

/**
 * Pushes the records of one block of an in-memory input into `emit`. Record `i` has the coordinates
 * `<source>:<input id>` / `<block>` / `i`: a record quarantined earlier in the batch is skipped, and a
 * user function that throws on one raises a RecordProcessingError naming it.
 */
export function emitBlockRecords<T>(
  records: readonly unknown[],
  block: BlockDescriptor,
  partition: number,
  tc: TaskContext,
  emit: Emit<T>,
  input: DStream<T>,
  decode?: (record: unknown) => T,
): void {
  const stream = `${block.source}:${input.id}`;
  const shard = String(block.id ?? block.key ?? partition);
  const at = (i: number): RecordCoordinates => ({ stream, shard, sequenceNumber: String(i), batchTime: tc.batchTime });
  const excluded = tc.scope.excludedRecords;
  for (let i = 0; i < records.length; i++) {
    if (excluded?.size && excluded.has(recordKey(at(i)))) continue;
    const r = records[i];
    try {
      emit(decode ? decode(r) : (r as T));
    } catch (e) {
      throw new RecordProcessingError(
        `A user function threw on the record ${recordKey(at(i))} (input ${input.id}, block ${shard}, index ${i}) of batch ${tc.batchTime}: ${e instanceof Error ? e.message : String(e)}`,
        at(i),
        { cause: e, operator: input.id, record: r },
      );
    }
  }
}

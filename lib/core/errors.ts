/**
 * The typed errors of Sparkless. One base class, `SparklessError`; each
 * subclass sets `name`, passes `cause` through and carries the context a
 * caller needs. Messages say what was wrong, what is allowed, and the fix.
 */
export class SparklessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad argument to an API call: a duration, a partition count, an option. */
export class InvalidArgumentError extends SparklessError {}

/** A DStream graph that Spark would refuse: window not a multiple of the slide, union of different slides, no outputs. */
export class InvalidGraphError extends SparklessError {}

/** An operation that the StreamingContext's lifecycle state does not allow. */
export class IllegalStateError extends SparklessError {}

/** `State.get()` on a key without state, and similar misuse of `State`. */
export class NoSuchElementError extends SparklessError {}

/** A task failed after all its attempts; the batch it belongs to has failed. */
export class TaskFailedError extends SparklessError {
  constructor(
    message: string,
    readonly batchTime: number,
    readonly stageId: string,
    readonly partition: number,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The graph planned a batch differently in two processes: a user function is not deterministic. */
export class NonDeterministicPlanError extends SparklessError {}

/** Data the engine needs for a batch was not found in storage (expired, or never written). */
export class MissingDataError extends SparklessError {}

export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  try {
    return String(JSON.stringify(value) ?? value);
  } catch {
    return String(value);
  }
}

export function requirePositiveInt(name: string, value: unknown, fix = ""): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`Expected \`${name}\` to be a whole number >= 1, got \`${describe(value)}\`.${fix ? " " + fix : ""}`);
  }
  return value;
}

export function requireFunction(name: string, value: unknown): void {
  if (typeof value !== "function") {
    throw new InvalidArgumentError(`Expected \`${name}\` to be a function, got \`${describe(value)}\`.`);
  }
}

/** A new version of an app whose graph cannot resume from the stored state and positions. */
export class IncompatibleUpgradeError extends SparklessError {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super(message);
  }
}

/** A record failed in a user function; carries where the record came from. */
export interface RecordCoordinates {
  stream?: string;
  shard?: string;
  sequenceNumber?: string;
  /**
   * The user record's index inside the KPL aggregate that carries it (lib/sources/kinesis/kpl.ts): all
   * user records of an aggregate share its sequence number. Absent for a record that is not an aggregate.
   */
  subSequenceNumber?: number;
  partitionKey?: string;
  /** A KPL user record's explicit hash key, when its producer gave one (it routed the record instead of the partition key). */
  explicitHashKey?: string;
  batchTime: number;
}

/**
 * The key that names one input record in a batch: `stream/shard/sequenceNumber`, and
 * `/subSequenceNumber` for a user record of a KPL aggregate. Inputs skip the records whose key is in
 * `excludedRecords` (lib/rdd/scope.ts), and a task counts each quarantined record once by it.
 */
export function recordKey(c: Pick<RecordCoordinates, "stream" | "shard" | "sequenceNumber" | "subSequenceNumber">): string {
  const base = `${c.stream}/${c.shard}/${c.sequenceNumber}`;
  return c.subSequenceNumber === undefined ? base : `${base}/${c.subSequenceNumber}`;
}

export class RecordProcessingError extends SparklessError {
  constructor(
    message: string,
    readonly coordinates: RecordCoordinates,
    options?: { cause?: unknown; operator?: string; data?: Uint8Array; record?: unknown },
  ) {
    super(message, options);
    this.operator = options?.operator;
    this.data = options?.data;
    this.record = options?.record;
  }
  /** The stream whose processing of the record failed. */
  readonly operator: string | undefined;
  /** The record's exact bytes (a Kinesis record's data), for the quarantine. */
  readonly data: Uint8Array | undefined;
  /** A record that is not bytes, for the quarantine. */
  readonly record: unknown;
}

/**
 * A user function threw on an input record whose input's `onRecordError` is "fail": the record's
 * task fails, and after `maxTaskAttempts` its batch, with a TaskFailedError whose cause is this error.
 * It names the record (its coordinates), the operator and, as `cause`, what the function threw.
 */
export class RecordFailedError extends RecordProcessingError {
  /** The error for a RecordProcessingError met under the "fail" policy. */
  static of(e: RecordProcessingError): RecordFailedError {
    const c = e.coordinates;
    const thrown = e.cause instanceof Error ? `${e.cause.name}: ${e.cause.message}` : String(e.cause ?? e.message);
    return new RecordFailedError(
      `Batch ${c.batchTime} fails on the record ${recordKey(c)} of ${e.operator ?? "an input"}: a user function threw ${thrown}. ` +
        `The input's onRecordError is "fail", so the batch fails, as a Spark job does. Fix the function and run the batch again ` +
        '(`sparkless retry`), or set onRecordError: "quarantine" to set such records aside and go on.',
      c,
      {
        cause: e.cause,
        ...(e.operator !== undefined ? { operator: e.operator } : {}),
        ...(e.data ? { data: e.data } : {}),
        ...(e.record !== undefined ? { record: e.record } : {}),
      },
    );
  }
}

/**
 * A quarantined record whose exact bytes cannot be given back: its entry was cut short by an older
 * version, a chunk of it is missing, or what is stored does not match the checksum written with it.
 * `sparkless quarantine replay` refuses such a record rather than put other bytes into the stream.
 */
export class QuarantineDataError extends MissingDataError {
  constructor(
    message: string,
    /** Where the record came from (its stream, shard and sequence number, when it has them). */
    readonly coordinates: RecordCoordinates,
    /** Why the bytes cannot be given back, in a few words ("cut short by an older version", ...). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What is wrong with a corrupt record, as a word a caller can switch on. */
export type CorruptRecordReason = "digest-mismatch" | "truncated" | "malformed" | "key-index-out-of-range";

/**
 * A record whose bytes announce a format and then break it: a KPL aggregate (it starts with the KPL
 * magic bytes) whose MD5 digest does not match its protobuf message, or whose message is cut short,
 * malformed, or points past its key tables (see lib/sources/kinesis/kpl.ts). Its user records cannot
 * be recovered; quarantine the Kinesis record whole.
 */
export class CorruptRecordError extends SparklessError {
  constructor(
    message: string,
    /** What is wrong: the digest, a message cut short, a malformed message, or a key index past its table. */
    readonly reason: CorruptRecordReason,
    /** The byte of the record's data where the problem was found, when there is one. */
    readonly offset: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

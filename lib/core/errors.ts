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
    throw new InvalidArgumentError(
      `Expected \`${name}\` to be a whole number >= 1, got \`${describe(value)}\`.${fix ? " " + fix : ""}`,
    );
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
  constructor(message: string, readonly problems: readonly string[]) {
    super(message);
  }
}

/** A record failed in a user function; carries where the record came from. */
export interface RecordCoordinates { stream?: string; shard?: string; sequenceNumber?: string; batchTime: number }
export class RecordProcessingError extends SparklessError {
  constructor(
    message: string,
    readonly coordinates: RecordCoordinates,
    options?: { cause?: unknown; operator?: string; record?: unknown },
  ) {
    super(message, options);
    this.operator = options?.operator;
    this.record = options?.record;
  }
  /** The stream whose processing of the record failed. */
  readonly operator: string | undefined;
  /** The raw record (base64 of its bytes for Kinesis), for the quarantine. */
  readonly record: unknown;
}

/**
 * The typed errors of the local runtime (`sparkless local`, the embedded
 * engines). Each derives from SparklessError, sets `name` from its class,
 * passes `cause` through and carries what a caller needs to act on it.
 */
import { SparklessError } from "../core/errors.js";

/** Which embedded engine: the service it stands in for. */
export type EngineName = "kinesis" | "dynamodb" | "sqs";

/** An embedded engine did not start, or did not answer in time. `output` holds its last lines. */
export class EngineStartError extends SparklessError {
  constructor(
    readonly engine: EngineName,
    message: string,
    readonly output: string = "",
    options?: { cause?: unknown },
  ) {
    super(`${engine}: ${message}${output ? `\n--- engine output (last lines) ---\n${output}` : ""}`, options);
  }
}

/** A local run could not set itself up or go on: a stream that never became ACTIVE, a missing variable. */
export class LocalRunError extends SparklessError {}

/** `--data-dir` names a folder another live run is using (two engines on one store would corrupt it). */
export class DataDirInUseError extends LocalRunError {
  constructor(
    message: string,
    readonly dir: string,
    readonly pid: number,
  ) {
    super(message);
  }
}

/** Every worker process keeps dying as soon as it starts: fanned-out batches would wait forever, so the run stops. */
export class WorkersFailedError extends LocalRunError {
  constructor(
    message: string,
    readonly exits: readonly { code: number | null; signal: NodeJS.Signals | null }[],
  ) {
    super(message);
  }
}

/**
 * The app module: the one file a user writes. It names the app, sets its
 * batch interval and builds its pipeline on a StreamingContext. The CLI, both
 * Lambda handlers and the CDK construct all take it, and every process
 * builds the same graph from it (stream ids come from creation order).
 *
 * ```ts
 * export default defineApp({ name: "wordcount", batchInterval: Seconds(2) }, (ssc) => {
 *   ssc.kinesisStream("words").flatMap((l) => l.split(" ")).map((w) => [w, 1]).updateStateByKey(sum).print();
 * });
 * ```
 *
 * Configuration can be overridden without a code change through the
 * `SPARKLESS_CONFIG` environment variable (JSON with the same fields).
 */
import { Duration, parseDuration } from "../core/duration.js";
import { InvalidArgumentError, describe, requirePositiveInt } from "../core/errors.js";
import { requireStateBackend, type StateBackend } from "../dstream/dstream.js";
import { DEFAULT_RECORD_ERROR_POLICY, requireRecordErrorPolicy, setRecordErrorPolicy, type RecordErrorPolicy } from "../dstream/record-errors.js";
import type { ExecutionOptions } from "../scheduler/job-generator.js";
import type { StreamingContext } from "../streaming/context.js";

export interface AppConfig {
  /** The app's name: namespaces its batches, state and queues. 1 to 48 characters of [a-zA-Z0-9-]. */
  name: string;
  /** The batch interval, a Duration or text like "2s". 100 ms to 15 minutes; at least 1 s on AWS. */
  batchInterval: Duration | string;
  /** Partitions of keyed operations when none is given. @default 2 */
  defaultParallelism?: number;
  /** Attempts per task before its batch fails. @default 4 */
  maxTaskAttempts?: number;
  /**
   * Where stateful operations keep their state unless they choose: "memory" (the coordinator's
   * memory, checkpointed every checkpoint interval) or "dynamodb" (one item per key). @default "memory"
   */
  stateBackend?: StateBackend;
  /** Where checkpoint pages go: "dynamodb" (the state table) or "s3" (the app's bucket). @default "dynamodb" */
  checkpointStore?: "dynamodb" | "s3";
  /** Where batches run: in the coordinator when they fit, or fanned out to worker functions (see ExecutionOptions). */
  execution?: ExecutionOptions;
  /**
   * What to do with an input record a user function throws on, for inputs that do not choose
   * (`kinesisStream(name, { onRecordError })`): "quarantine" sets it aside with its coordinates
   * (`sparkless quarantine` lists it) and the batch goes on; "fail" fails the batch, as a Spark job
   * fails, after `maxTaskAttempts`, and the failed batch stops the app until `sparkless retry`.
   * @default "quarantine"
   */
  onRecordError?: RecordErrorPolicy;
}

export interface ResolvedAppConfig {
  readonly name: string;
  readonly batchInterval: Duration;
  readonly defaultParallelism: number;
  readonly maxTaskAttempts: number;
  readonly stateBackend: StateBackend;
  readonly checkpointStore: "dynamodb" | "s3";
  readonly execution: ExecutionOptions;
  readonly onRecordError: RecordErrorPolicy;
}

export interface AppDefinition {
  readonly config: ResolvedAppConfig;
  build(ssc: StreamingContext): void;
}

export function resolveConfig(config: AppConfig, overrides: Partial<Record<keyof AppConfig, unknown>> = {}): ResolvedAppConfig {
  const merged = { ...config, ...overrides } as AppConfig;
  if (typeof merged.name !== "string" || !/^[a-zA-Z0-9-]{1,48}$/.test(merged.name)) {
    throw new InvalidArgumentError(`Expected the app \`name\` to be 1 to 48 characters of [a-zA-Z0-9-], got \`${describe(merged.name)}\`.`);
  }
  const interval = merged.batchInterval instanceof Duration ? merged.batchInterval : parseDuration(merged.batchInterval as string);
  if (interval.milliseconds < 100 || interval.milliseconds > 900_000) {
    throw new InvalidArgumentError(
      `Expected \`batchInterval\` to be between 100 ms and 15 minutes, got ${interval}. Use Seconds(n) with 1 <= n <= 900 on AWS.`,
    );
  }
  const store = merged.checkpointStore ?? "dynamodb";
  if (store !== "dynamodb" && store !== "s3")
    throw new InvalidArgumentError(`Expected \`checkpointStore\` to be "dynamodb" or "s3", got \`${describe(store)}\`.`);
  return {
    name: merged.name,
    batchInterval: interval,
    defaultParallelism: requirePositiveInt("defaultParallelism", merged.defaultParallelism ?? 2),
    maxTaskAttempts: requirePositiveInt("maxTaskAttempts", merged.maxTaskAttempts ?? 4),
    stateBackend: requireStateBackend(merged.stateBackend ?? "memory"),
    checkpointStore: store,
    execution: requireExecution(merged.execution ?? {}),
    onRecordError: requireRecordErrorPolicy(merged.onRecordError ?? DEFAULT_RECORD_ERROR_POLICY),
  };
}

function requireExecution(e: unknown): ExecutionOptions {
  const x = e as ExecutionOptions;
  if (typeof e !== "object" || e === null)
    throw new InvalidArgumentError(`Expected \`execution\` to be an object such as { mode: "auto" }, got \`${describe(e)}\`.`);
  if (x.mode !== undefined && !["auto", "in-process", "fan-out"].includes(x.mode)) {
    throw new InvalidArgumentError(`Expected \`execution.mode\` to be "auto", "in-process" or "fan-out", got \`${describe(x.mode)}\`.`);
  }
  if (x.maxInProcessRecords !== undefined) requirePositiveInt("execution.maxInProcessRecords", x.maxInProcessRecords);
  if (x.maxInProcessBytes !== undefined) requirePositiveInt("execution.maxInProcessBytes", x.maxInProcessBytes);
  return { ...x };
}

function envOverrides(): Partial<Record<keyof AppConfig, unknown>> {
  const raw = typeof process !== "undefined" ? process.env.SPARKLESS_CONFIG : undefined;
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Partial<Record<keyof AppConfig, unknown>>;
  } catch (e) {
    throw new InvalidArgumentError(
      `SPARKLESS_CONFIG is not valid JSON (${(e as Error).message}): got \`${raw.slice(0, 80)}\`. Set it to an object such as {"batchInterval":"2s"}.`,
    );
  }
}

export function defineApp(config: AppConfig, build: (ssc: StreamingContext) => void): AppDefinition {
  if (typeof build !== "function")
    throw new InvalidArgumentError(`Expected defineApp's second argument to be a function that builds the pipeline, got \`${describe(build)}\`.`);
  const resolved = resolveConfig(config, envOverrides());
  return {
    config: resolved,
    // The app's default policy is set on whichever context builds the app (the coordinator, each
    // worker, the local runtime), before its inputs exist, so every process applies the same one.
    build: (ssc) => {
      setRecordErrorPolicy(ssc, resolved.onRecordError);
      build(ssc);
    },
  };
}

/**
 * Loads an app module (its default export, or its `app` export): .ts, .mts, .js or .mjs, in a package of
 * either `type` (lib/app/load.ts). The errors say what to change.
 */
export async function loadApp(modulePath: string): Promise<AppDefinition> {
  const { importAppModule, secondCopyMessage } = await import("./load.js");
  const mod = (await importAppModule(modulePath)) as { default?: AppDefinition; app?: AppDefinition };
  const app = mod.default ?? mod.app;
  if (!app || typeof app.build !== "function" || !app.config) {
    throw new InvalidArgumentError(
      `${modulePath} does not export an app: its default export must be defineApp({ name, batchInterval }, (ssc) => { ... }).`,
    );
  }
  if (!(app.config.batchInterval instanceof Duration)) throw new InvalidArgumentError(secondCopyMessage(modulePath));
  return app;
}

/**
 * Starts the embedded engines together: Kinesis, DynamoDB and SQS (with S3)
 * on free ports of 127.0.0.1, in parallel, each ready only once it has
 * answered a real API call, under one watchdog (supervision.ts). In memory by
 * default; with `dataDir`, kept in that folder across runs (data-dir.ts).
 */
import { EngineStartError, type EngineName } from "../errors.js";
import { requireOptionalPackages } from "../optional.js";
import { DEFAULT_REGION } from "./client-config.js";
import { claimDataDir, type DataDirClaim } from "./data-dir.js";
import { startDynamoDbLocal } from "./dynamodb-local.js";
import { startFauxqs } from "./fauxqs.js";
import { startKinesalite } from "./kinesalite.js";
import { startKinesisMock } from "./kinesis-mock.js";
import { withPortRetry, type RunningEngine } from "./readiness.js";
import { Watchdog } from "./supervision.js";

export type { EngineName };
export type KinesisEngine = "kinesalite" | "kinesis-local";

export interface EngineEndpoints {
  kinesis: string;
  dynamodb: string;
  sqs: string;
  /** fauxqs serves S3 on its SQS endpoint (path-style). */
  s3: string;
  region: string;
}

export interface EmbeddedEngines extends EngineEndpoints {
  /** Milliseconds each engine took from launch until it answered a real API call. */
  readonly startupMs: Readonly<Partial<Record<EngineName, number>>>;
  /** Ids of the child processes (each the leader of its own process group), watchdog included. */
  readonly processIds: readonly number[];
  /** The data folder, when the engines keep their data (see StartEmbeddedEnginesOptions.dataDir). */
  readonly dataDir?: string;
  stop(): Promise<void>;
}

export interface StartEmbeddedEnginesOptions {
  log?: (line: string) => void;
  /** Start Kinesis. When false, `kinesis` is "". @default true */
  kinesis?: boolean;
  /** Start DynamoDB Local. When false, `dynamodb` is "". @default true */
  dynamodb?: boolean;
  /** Start SQS (and S3). When false, `sqs` and `s3` are "". @default true */
  sqs?: boolean;
  /** Which Kinesis engine (see docs/local-engines.md). @default "kinesalite" */
  kinesisEngine?: KinesisEngine;
  /** How long each engine may take to answer its first API call. @default 60000 */
  startTimeoutMs?: number;
  /** Region for the endpoints. @default "us-east-1" */
  region?: string;
  /**
   * Keep the engines' data in this folder, so that engines started again on it hold the same streams,
   * records, tables, items, buckets and objects: kinesalite in LevelDB (`DIR/kinesis`), DynamoDB Local
   * with `-dbPath DIR/dynamodb`, fauxqs' S3 in files (`DIR/s3`). SQS messages are not kept (see
   * fauxqs.ts). kinesis-mock cannot keep data: combining it with a data folder is refused.
   * @default undefined (everything in memory)
   */
  dataDir?: string;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: Math.round(performance.now() - t0) };
}

/**
 * Starts the engines in parallel on free ports of 127.0.0.1 and waits until each answers a real API call.
 * On failure, whatever did start is stopped and an EngineStartError is thrown.
 */
export async function startEmbeddedEngines(options: StartEmbeddedEnginesOptions = {}): Promise<EmbeddedEngines> {
  const log = options.log;
  const region = options.region ?? DEFAULT_REGION;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const kinesisEngine = options.kinesisEngine ?? "kinesalite";
  const wanted: Record<EngineName, boolean> = {
    kinesis: options.kinesis ?? true,
    dynamodb: options.dynamodb ?? true,
    sqs: options.sqs ?? true,
  };
  if (options.dataDir && wanted.kinesis && kinesisEngine === "kinesis-local") {
    throw new EngineStartError(
      "kinesis",
      'kinesis-mock (kinesisEngine: "kinesis-local") keeps its streams in memory only: use kinesalite with a data folder.',
    );
  }
  // Every missing engine package named at once, before anything starts.
  requireOptionalPackages(
    ...(wanted.kinesis ? [kinesisEngine === "kinesis-local" ? ("kinesis-local" as const) : ("kinesalite" as const)] : []),
    ...(wanted.dynamodb ? ["amplify-dynamodb-simulator" as const] : []),
    ...(wanted.sqs ? ["fauxqs" as const] : []),
  );
  const claim: DataDirClaim | undefined = options.dataDir ? await claimDataDir(options.dataDir) : undefined;
  const layout = claim?.layout;
  const needsChildren = wanted.kinesis || wanted.dynamodb;
  const watchdog = needsChildren ? new Watchdog() : undefined;

  const starters: Record<EngineName, (() => Promise<RunningEngine>) | undefined> = {
    kinesis: wanted.kinesis
      ? () =>
          withPortRetry(() =>
            kinesisEngine === "kinesis-local"
              ? startKinesisMock({ region, log, watchdog: watchdog!, timeoutMs })
              : startKinesalite({ region, log, watchdog: watchdog!, timeoutMs, ...(layout ? { dataDir: layout.kinesis } : {}) }),
          )
      : undefined,
    dynamodb: wanted.dynamodb
      ? () =>
          withPortRetry(() => startDynamoDbLocal({ region, log, watchdog: watchdog!, timeoutMs, ...(layout ? { dataDir: layout.dynamodb } : {}) }))
      : undefined,
    sqs: wanted.sqs ? () => startFauxqs({ region, timeoutMs, log, ...(layout ? { s3DataDir: layout.s3 } : {}) }) : undefined,
  };

  const t0 = performance.now();
  const names = (Object.keys(starters) as EngineName[]).filter((n) => starters[n] !== undefined);
  const results = await Promise.allSettled(names.map((n) => timed(starters[n]!)));

  const running: Partial<Record<EngineName, RunningEngine>> = {};
  const startupMs: Partial<Record<EngineName, number>> = {};
  const failures: unknown[] = [];
  results.forEach((result, i) => {
    const name = names[i]!;
    if (result.status === "fulfilled") {
      running[name] = result.value.value;
      startupMs[name] = result.value.ms;
    } else {
      failures.push(result.reason);
    }
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.allSettled(Object.values(running).map((engine) => engine.stop()));
    await watchdog?.close();
    claim?.release();
  };

  if (failures.length > 0) {
    await stop();
    throw failures[0];
  }
  if (claim && layout) {
    claim.recordEngines([
      ...(running.kinesis?.pid ? [{ pid: running.kinesis.pid, mark: layout.kinesis }] : []),
      ...(running.dynamodb?.pid ? [{ pid: running.dynamodb.pid, mark: layout.dynamodb }] : []),
    ]);
  }

  const total = Math.round(performance.now() - t0);
  log?.(
    `embedded engines ready in ${total} ms (${names
      .map((n) => `${n === "kinesis" ? kinesisEngine : n === "dynamodb" ? "DynamoDB Local" : "fauxqs"} ${startupMs[n]} ms`)
      .join(", ")})${layout ? `, data kept in ${layout.root}` : ""}`,
  );

  return {
    kinesis: running.kinesis?.endpoint ?? "",
    dynamodb: running.dynamodb?.endpoint ?? "",
    sqs: running.sqs?.endpoint ?? "",
    s3: running.sqs?.endpoint ?? "",
    region,
    startupMs,
    processIds: [
      ...Object.values(running).flatMap((engine) => (engine.pid === undefined ? [] : [engine.pid])),
      ...(watchdog?.child.pid === undefined ? [] : [watchdog.child.pid]),
    ],
    ...(layout ? { dataDir: layout.root } : {}),
    stop,
  };
}

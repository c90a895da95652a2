/**
 * The local world: the app's coordinator and workers over Kinesis, SQS and
 * DynamoDB on this machine, with no Docker and no AWS account, behaving as
 * the platform it stands in for.
 *
 * `prepareLocal` starts the embedded engines (or uses the endpoint given,
 * e.g. LocalStack) and creates the stream(s), queues and tables.
 * `runLocal` then runs the coordinator on the batch clock in this process,
 * as the schedule would, and a pool of worker processes fed from SQS, as the
 * event source mapping would; an optional producer feeds a text file.
 *
 *  - A worker that dies is replaced, as Lambda would (worker-pool.ts).
 *  - Nothing outlives the run: workers and engines exit when this process
 *    dies, even by SIGKILL (worker-loop.ts, engines/supervision.ts).
 *  - `dataDir` keeps the engines' data; a run started again on it resumes
 *    from the batch log exactly where the previous one stopped.
 *  - `untilIdleMs` stops the run once everything fed is processed and nothing
 *    new came for that long (until-idle.ts).
 *  - The run registers itself in `.sparkless/` for `sparkless status` and
 *    friends; a registration left by a killed run tells them it is gone.
 */
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { loadApp } from "../app/app.js";
import { kinesisStreamsOf } from "../app/inputs.js";
import { createAwsEngine, engineConfigToEnv, type AwsEngine, type AwsEngineConfig } from "../aws/engine.js";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { createTables } from "../aws/dynamodb/tables.js";
import { createQueues } from "../aws/sqs.js";
import { InvalidArgumentError } from "../core/errors.js";
import { explainAwsError } from "../observability/aws-errors.js";
import { createLogger } from "../observability/logger.js";
import { registerLocalRun } from "./registry.js";
import { runCoordinator } from "../runtime/coordinator.js";
import { startEmbeddedEngines, type EmbeddedEngines } from "./engines.js";
import { LOCAL_CREDENTIALS } from "./engines/client-config.js";
import { LocalRunError, type WorkersFailedError } from "./errors.js";
import { tsxImportArgs } from "./optional.js";
import { startProducer, type Producer } from "./producer.js";
import { IdleDetector } from "./until-idle.js";
import { WorkerPool } from "./worker-pool.js";
import { serveLocalUi } from "../ui/local.js";
import type { UiServer } from "../ui/server.js";

export { startProducer } from "./producer.js";
/** Where it always was for callers of `sparkless/local`; it belongs to the app layer (lib/app/inputs.ts). */
export { kinesisStreamsOf } from "../app/inputs.js";

export interface LocalEnvironment {
  readonly config: AwsEngineConfig;
  readonly engine: AwsEngine;
  readonly engines?: EmbeddedEngines;
  stop(): Promise<void>;
}

export interface PrepareOptions {
  app: string;
  /** One endpoint for every service (LocalStack); nothing is started. */
  endpoint?: string;
  /** Engines already started by this process (shared by several runs); nothing is started. */
  endpoints?: { kinesis: string; dynamodb: string; sqs: string; s3: string };
  /** Where checkpoint pages go. @default "dynamodb" */
  checkpointStore?: "dynamodb" | "s3";
  /** Keep the embedded engines' data in this folder (see StartEmbeddedEnginesOptions.dataDir). @default in memory */
  dataDir?: string;
  region?: string;
  /** Suffix for table and queue names, so several runs can share engines. @default "" */
  suffix?: string;
  visibilityTimeoutS?: number;
  maxReceiveCount?: number;
  log?: (line: string) => void;
}

export async function prepareLocal(options: PrepareOptions): Promise<LocalEnvironment> {
  const region = options.region ?? "us-east-1";
  const engines =
    options.endpoint || options.endpoints
      ? undefined
      : await startEmbeddedEngines({ log: options.log, ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
  const endpoints =
    options.endpoints ??
    (options.endpoint
      ? { kinesis: options.endpoint, dynamodb: options.endpoint, sqs: options.endpoint, s3: options.endpoint }
      : { kinesis: engines!.kinesis, dynamodb: engines!.dynamodb, sqs: engines!.sqs, s3: engines!.s3 });
  const base = `sparkless-${options.app}${options.suffix ?? ""}`;
  const tables = { meta: `${base}-meta`, state: `${base}-state` };
  const bucket = base
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 63);
  const bootstrap: AwsEngineConfig = {
    app: options.app,
    region,
    tables,
    bucket,
    taskQueueUrl: "pending",
    resultQueueUrl: "pending",
    endpoints,
    credentials: { ...LOCAL_CREDENTIALS },
    ...(options.checkpointStore ? { checkpointStore: options.checkpointStore } : {}),
  };
  const probe = createAwsEngine(bootstrap);
  try {
    await createTables(probe.clients.dynamodb, tables);
    const { tasksUrl, resultsUrl } = await createQueues(
      probe.clients.sqs,
      { tasks: `${base}-tasks`, dlq: `${base}-tasks-dlq`, results: `${base}-results` },
      {
        visibilityTimeoutS: options.visibilityTimeoutS ?? 30,
        maxReceiveCount: options.maxReceiveCount ?? 10,
      },
    );
    await createBucket(probe, bucket);
    const config: AwsEngineConfig = { ...bootstrap, taskQueueUrl: tasksUrl, resultQueueUrl: resultsUrl };
    const engine = createAwsEngine(config);
    return {
      config,
      engine,
      engines,
      async stop() {
        await engine.close?.();
        await engines?.stop();
      },
    };
  } catch (e) {
    await engines?.stop();
    throw e;
  } finally {
    await probe.close?.();
  }
}

async function createBucket(engine: AwsEngine, bucket: string): Promise<void> {
  try {
    await engine.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test((e as Error).name)) throw e;
  }
}

export async function ensureStream(kinesis: KinesisClient, name: string, shards: number): Promise<void> {
  try {
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  } catch (e) {
    if ((e as Error).name !== "ResourceInUseException") throw e;
  }
  for (let i = 0; i < 200; i++) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new LocalRunError(`Kinesis stream ${name} did not become ACTIVE within 10 s of its creation: check the Kinesis engine's output above.`);
}

/**
 * Fails fast, with the documented message, when nothing listens at `endpoint`: the SDK would retry a
 * refused connection for many seconds and then report a bare ECONNREFUSED.
 */
export async function checkEndpointAnswers(endpoint: string, command = "sparkless local"): Promise<void> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InvalidArgumentError(`Expected --endpoint to be a URL such as http://127.0.0.1:4566, got \`${endpoint}\`.`);
  }
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  await new Promise<void>((resolve, reject) => {
    const socket: Socket = connect({ host, port });
    socket.setTimeout(5_000);
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("timeout", () => {
      socket.destroy();
      reject(Object.assign(new LocalRunError(`connect ETIMEDOUT ${host}:${port}`), { code: "ETIMEDOUT" }));
    });
    socket.once("error", (e) => {
      socket.destroy();
      reject(e);
    });
  }).catch((e: unknown) => {
    throw explainAwsError(e, { endpoint, command });
  });
}

export interface LocalRunOptions {
  /** Path of the app module. */
  appPath: string;
  /** Overrides the app's batch interval, e.g. "1s". */
  batchInterval?: string;
  /** Worker processes, kept at this number (a dead one is replaced). @default 2 */
  workers?: number;
  /** Stop after this many completed batches (exit 0). */
  batches?: number;
  /** Stop after this long (ms). */
  durationMs?: number;
  /**
   * Stop once everything is processed and nothing new has arrived for this long (ms): see until-idle.ts
   * for the exact rule. With `feed`, the file is sent once instead of in a loop. @default run on
   */
  untilIdleMs?: number;
  /** Engines already running (LocalStack): nothing is started. */
  endpoint?: string;
  /**
   * Keep the embedded engines' data in this folder; a run started again on it resumes where the last
   * one stopped, even if that one was killed. Not with `endpoint`. @default in memory
   */
  dataDir?: string;
  /** Shards of each stream created. @default 2 */
  shards?: number;
  /** Feed a text file into the app's (first) stream. */
  feed?: { file: string; linesPerSecond?: number };
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Log level of this run and its worker processes (SPARKLESS_LOG_LEVEL). */
  logLevel?: string;
  /** The dashboard, on a free port unless given; false: none. */
  ui?: false | { port?: number };
}

export interface LocalRunResult {
  /** Batches completed by this run. */
  completed: number;
  /** Why the run stopped. */
  stoppedBy: "batches" | "duration" | "idle" | "signal";
  /** Worker processes that died and were replaced. */
  workerRestarts: number;
}

const quoteArg = (a: string) => (/^[\w./:=@%+-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);

export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const log = options.log ?? ((l: string) => process.stderr.write(l + "\n"));
  if (options.dataDir && options.endpoint) {
    throw new InvalidArgumentError(
      `--data-dir keeps the embedded engines' data, and with --endpoint (${options.endpoint}) no engine is embedded: drop one of the two.`,
    );
  }
  if (options.untilIdleMs !== undefined && !(Number.isFinite(options.untilIdleMs) && options.untilIdleMs > 0)) {
    throw new InvalidArgumentError(`Expected --until-idle to be a duration > 0 such as 5s, got \`${options.untilIdleMs} ms\`.`);
  }
  if (options.batchInterval)
    process.env.SPARKLESS_CONFIG = JSON.stringify({ ...JSON.parse(process.env.SPARKLESS_CONFIG ?? "{}"), batchInterval: options.batchInterval });
  if (options.logLevel) process.env.SPARKLESS_LOG_LEVEL = options.logLevel;
  const app = await loadApp(options.appPath);
  const logger = createLogger({ app: app.config.name, level: options.logLevel, write: log });
  const explain = (e: unknown) => (options.endpoint ? explainAwsError(e, { endpoint: options.endpoint, command: "sparkless local" }) : e);
  if (options.endpoint) await checkEndpointAnswers(options.endpoint);
  let env: LocalEnvironment;
  try {
    env = await prepareLocal({
      app: app.config.name,
      endpoint: options.endpoint,
      checkpointStore: app.config.checkpointStore,
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      log: (l) => {
        if (/ready|error|fail|kept in/i.test(l)) log(`  ${l}`);
      },
    });
  } catch (e) {
    throw explain(e);
  }
  let ui: UiServer | undefined;
  let producer: Producer | undefined;
  let pool: WorkerPool | undefined;
  let unregister = () => undefined as void;
  const stop = new AbortController();
  let stoppedBy: LocalRunResult["stoppedBy"] = "signal";
  const stopFor = (reason: LocalRunResult["stoppedBy"]) => {
    if (!stop.signal.aborted) {
      stoppedBy = reason;
      stop.abort();
    }
  };
  options.signal?.addEventListener("abort", () => stopFor("signal"), { once: true });
  if (options.signal?.aborted) stopFor("signal");
  let workersFailed: WorkersFailedError | undefined;
  const interrupt = new AbortController();
  try {
    const streams = kinesisStreamsOf(app);
    for (const s of streams) await ensureStream(env.engine.clients.kinesis, s, options.shards ?? 2);
    const e = env.config.endpoints!;
    // Output operations run in this process (the coordinator): sinks that build their own clients
    // (sparkless/sinks) find the engines where the worker processes find them.
    for (const [k, v] of Object.entries(engineConfigToEnv(env.config)))
      if (/^SPARKLESS_(KINESIS|DYNAMODB|SQS|S3)_ENDPOINT$/.test(k)) process.env[k] = v;
    log(`sparkless local: app "${app.config.name}", batch interval ${app.config.batchInterval}, streams ${streams.join(", ") || "(none)"}`);
    log(`  Kinesis  ${e.kinesis}\n  DynamoDB ${e.dynamodb}\n  SQS      ${e.sqs}`);
    log(`  feed it: AWS_ENDPOINT_URL=${e.kinesis} aws kinesis put-record --stream-name ${streams[0] ?? "NAME"} --partition-key k --data ...`);
    const endpoints = { kinesis: e.kinesis!, dynamodb: e.dynamodb!, sqs: e.sqs!, s3: e.s3! };
    if (options.ui !== false) {
      ui = await serveLocalUi({ app, batchLog: env.engine.batchLog, endpoints, port: options.ui?.port });
      log(`  dashboard ${ui.url}\n  then, in this directory: sparkless feed --stream ${streams[0] ?? "NAME"} FILE   and   sparkless status`);
    }
    // Registered even without a dashboard, with what `sparkless status` needs to say how to start it again.
    const restart = [
      "sparkless",
      "local",
      options.appPath,
      ...(options.dataDir ? ["--data-dir", options.dataDir] : []),
      ...(options.endpoint ? ["--endpoint", options.endpoint] : []),
    ]
      .map(quoteArg)
      .join(" ");
    unregister = registerLocalRun({
      app: app.config.name,
      pid: process.pid,
      endpoints,
      ...(ui ? { ui: ui.url } : {}),
      streams,
      startedAt: Date.now(),
      appPath: options.appPath,
      ...(env.engines?.dataDir ? { dataDir: env.engines.dataDir } : {}),
      restart,
    });

    const childEnv = { ...process.env, ...engineConfigToEnv(env.config), SPARKLESS_APP_PATH: options.appPath, SPARKLESS_EXIT_WITH_PARENT: "1" };
    // worker-process.ts beside this file under tsx, worker-process.js in the package's dist/.
    const workerMain = fileURLToPath(new URL(`./worker-process.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url));
    pool = new WorkerPool({
      size: options.workers ?? 2,
      logger,
      // stdin is a pipe from this process: the worker exits when it closes, i.e. when this process dies.
      spawn: () => {
        // An IPC channel too: the worker says on it when it is ready (WORKER_READY).
        const child = spawn(process.execPath, [...tsxImportArgs(), workerMain], { env: childEnv, stdio: ["pipe", "inherit", "inherit", "ipc"] });
        child.stdin?.on("error", () => undefined);
        (child.stdin as unknown as Socket | null)?.unref?.();
        return child;
      },
      // No worker will run a fanned-out task: interrupt the batch waiting for one, and stop with the reason.
      onGiveUp: (error) => {
        workersFailed = error;
        stopFor("signal");
        interrupt.abort();
      },
    });
    pool.start();

    const idle = options.untilIdleMs !== undefined ? new IdleDetector(options.untilIdleMs, Date.now()) : undefined;
    if (options.feed && streams[0]) {
      const stream = streams[0];
      producer = startProducer(env.engine.clients.kinesis, stream, options.feed.file, options.feed.linesPerSecond ?? 20, {
        loop: !idle,
        onAcked: (shardId, seq, at) => idle?.fed(stream, shardId, seq, at),
        onError: (error) => logger.warn(`the feed's PutRecords failed; its records are sent again: ${(error as Error).message}`),
      });
      if (idle) {
        idle.feederStarted();
        void producer.done.then((complete) => {
          idle.feederDone();
          if (complete) logger.info(`fed ${path.basename(options.feed!.file)} once: ${producer!.sent()} records acknowledged`);
        });
      }
    }

    // The schedule: a coordinator invocation a minute, each looping on the batch clock until its deadline.
    let completed = 0;
    let failure: Error | undefined;
    let waitingForLease = false;
    if (options.durationMs) setTimeout(() => stopFor("duration"), options.durationMs).unref();
    while (!stop.signal.aborted) {
      const r = await runCoordinator(app, env.engine, {
        deadline: Date.now() + 55_000,
        signal: stop.signal,
        abort: interrupt.signal,
        print: (l) => process.stdout.write(l + "\n"),
        onBatchCompleted: (record) => {
          completed++;
          if (completed >= (options.batches ?? Infinity)) stopFor("batches");
          if (!idle) return;
          idle.onBatchCompleted(record);
          const verdict = idle.check();
          if (verdict.idle) {
            logger.info(
              `idle: batch ${new Date(verdict.batchTime).toISOString()} found every shard read to its end, everything fed is in completed batches, and nothing arrived for ${verdict.quietMs} ms (--until-idle ${options.untilIdleMs} ms)`,
            );
            stopFor("idle");
          } else {
            logger.debug(`not idle yet: waiting for ${verdict.waitingFor}`);
          }
        },
      });
      if (r.failed) {
        failure = r.failed;
        log(`a batch failed: ${r.failed.message}`);
        break;
      }
      if (!r.leader) {
        if (!waitingForLease) {
          waitingForLease = true;
          // A run killed moments ago keeps the app's lease until it expires (3 batch intervals, at least 10 s).
          logger.warn(
            "another coordinator holds the app's lease (a run that was just killed keeps it until it expires, at least 10 s); waiting for it",
          );
        }
        await new Promise((res) => setTimeout(res, 1000));
      } else {
        waitingForLease = false;
      }
    }
    producer?.stop();
    if (workersFailed) throw workersFailed;
    if (failure) throw failure;
    return { completed, stoppedBy, workerRestarts: pool.deaths };
  } catch (e) {
    throw explain(e);
  } finally {
    producer?.stop();
    await pool?.stop();
    await ui?.close();
    unregister();
    await env.stop();
  }
}

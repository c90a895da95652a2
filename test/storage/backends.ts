/**
 * The two backends the storage contract suite runs on: the in-memory twins (lib/storage/memory.ts)
 * and the AWS adapters (lib/aws/) on the embedded engines (DynamoDB Local, fauxqs for SQS and S3).
 *
 * Every `make()` gives stores under a new app name, and every `queues()` new, empty queues, so no
 * test sees another's items. On AWS the engines start once (`setup`) and the app's tables, queues and
 * bucket are created once by `prepareLocal`; each app name then only namespaces its items in them.
 */
import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createQueues, SqsQueue } from "../../lib/aws/sqs.js";
import { createAwsEngine, type AwsEngine } from "../../lib/aws/engine.js";
import { ManualClock } from "../../lib/core/clock.js";
import { sleep } from "../support/engine.js";
import { startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { prepareLocal, type LocalEnvironment } from "../../lib/local/runtime.js";
import {
  MemoryBatchLog,
  MemoryBlobStore,
  MemoryCheckpointStore,
  MemoryClaims,
  MemoryLease,
  MemoryQuarantine,
  MemoryQueue,
  MemoryStateStore,
} from "../../lib/storage/memory.js";
import type {
  BatchLog,
  BlobStore,
  CheckpointStore,
  LeaseStore,
  QuarantineStore,
  ResultQueue,
  StateStore,
  TaskClaims,
  TaskMessage,
  TaskQueue,
  TaskResult,
} from "../../lib/storage/interfaces.js";

/** Where checkpoint pages go: in memory, or, on AWS, DynamoDB items (the default) or S3 objects. */
export type PageStoreName = "memory" | "dynamodb" | "s3";

export interface Stores {
  readonly app: string;
  readonly batchLog: BatchLog;
  readonly checkpoints: CheckpointStore;
  readonly state: StateStore;
  readonly quarantine: QuarantineStore;
  readonly lease: LeaseStore;
  readonly claims: TaskClaims;
  readonly blobs: BlobStore;
  /** On AWS, the meta table under the stores, for tests that reach past an interface (an entry left damaged). */
  readonly raw?: { readonly doc: DynamoDBDocumentClient; readonly metaTable: string };
}

export interface Queues {
  readonly tasks: TaskQueue;
  readonly results: ResultQueue;
  /**
   * Lets `ms` pass for the queues' visibility timeouts: advances the memory queues' manual clock (no
   * real wait), or sleeps on SQS, whose timeouts run on the engine's wall clock.
   */
  elapse(ms: number): Promise<void>;
}

export interface Backend {
  readonly name: string;
  /** The page stores the checkpoint page tests run against. */
  readonly pageStores: readonly PageStoreName[];
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** Fresh stores under a new app name; checkpoint pages in `pages` (the backend's first page store by default). */
  make(options?: { pages?: PageStoreName }): Promise<Stores>;
  /**
   * Fresh, empty task and result queues whose messages become visible again `visibilityTimeoutMs`
   * after a receive (whole seconds on SQS).
   */
  queues(visibilityTimeoutMs: number): Promise<Queues>;
}

export const memoryBackend: Backend = {
  name: "memory",
  pageStores: ["memory"],
  async setup() {},
  async teardown() {},
  async make() {
    return {
      app: "memory",
      batchLog: new MemoryBatchLog(),
      checkpoints: new MemoryCheckpointStore(),
      state: new MemoryStateStore(),
      quarantine: new MemoryQuarantine(),
      lease: new MemoryLease(),
      claims: new MemoryClaims(),
      blobs: new MemoryBlobStore(),
    };
  },
  async queues(visibilityTimeoutMs) {
    const clock = new ManualClock(1_000_000);
    return {
      tasks: new MemoryQueue<TaskMessage>({ visibilityTimeoutMs, clock }),
      results: new MemoryQueue<TaskResult>({ visibilityTimeoutMs, clock }),
      async elapse(ms) {
        clock.advance(ms);
      },
    };
  },
};

export function awsBackend(): Backend {
  let engines: EmbeddedEngines | undefined;
  let env: LocalEnvironment | undefined;
  // Names unique to this run, should the engines outlive it (they do not: they are started here).
  const run = `c${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
  let apps = 0;
  let queues = 0;
  return {
    name: "aws",
    pageStores: ["dynamodb", "s3"],
    async setup() {
      engines = await startEmbeddedEngines({ kinesis: false });
      env = await prepareLocal({
        app: run,
        endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs, s3: engines.s3 },
      });
    },
    async teardown() {
      await env?.stop();
      await engines?.stop();
    },
    async make(options = {}) {
      const app = `${run}-${++apps}`;
      const pages = options.pages ?? "dynamodb";
      // Every store of the engine the Lambda handlers build, on the shared tables and bucket, under this app's name.
      const engine: AwsEngine = createAwsEngine({ ...env!.config, app, checkpointStore: pages === "s3" ? "s3" : "dynamodb" }, env!.engine.clients);
      return {
        app,
        batchLog: engine.batchLog,
        checkpoints: engine.checkpoints,
        state: engine.state,
        quarantine: engine.quarantine,
        lease: engine.lease!,
        claims: engine.claims,
        blobs: engine.blobs,
        raw: { doc: engine.clients.doc, metaTable: env!.config.tables.meta },
      };
    },
    async queues(visibilityTimeoutMs) {
      const n = ++queues;
      const sqs = env!.engine.clients.sqs;
      const visibilityTimeoutS = Math.ceil(visibilityTimeoutMs / 1000);
      const { tasksUrl, resultsUrl } = await createQueues(
        sqs,
        { tasks: `${run}-${n}-tasks`, dlq: `${run}-${n}-dlq`, results: `${run}-${n}-results` },
        { visibilityTimeoutS, maxReceiveCount: 100 },
      );
      return {
        // The task queue's timeout is the queue's attribute, as on AWS; the result queue is created with 30 s, so it is set per receive.
        tasks: new SqsQueue<TaskMessage>(sqs, tasksUrl),
        results: new SqsQueue<TaskResult>(sqs, resultsUrl, { visibilityTimeoutS }),
        elapse: sleep,
      };
    },
  };
}

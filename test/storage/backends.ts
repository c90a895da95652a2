/**
 * The two backends the storage contract suite runs on: the in-memory twins, and the DynamoDB/SQS
 * adapters on embedded engines (DynamoDB Local, fauxqs). Every `make()` gives fresh, isolated stores
 * (a new app id on shared tables for AWS), so tests do not see each other's data.
 */
import { randomUUID } from "node:crypto";
import {
  createDynamoClients, createTables, DynamoBatchLog, DynamoBlockStore, DynamoQuarantine, DynamoShuffleStore,
  DynamoStateStore, type TableNames,
} from "../../lib/aws/dynamodb.js";
import { createQueues, createSqsClient, SqsTaskQueue } from "../../lib/aws/sqs.js";
import { awsClientConfig, startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import {
  MemoryBatchLog, MemoryBlockStore, MemoryQuarantine, MemoryShuffleStore, MemoryStateStore, MemoryTaskQueue,
} from "../../lib/storage/memory.js";
import type { BatchLog, BlockStore, QuarantineStore, ShuffleStore, StateStore, TaskQueue } from "../../lib/storage/interfaces.js";

export interface Stores {
  batchLog: BatchLog;
  shuffles: ShuffleStore;
  blocks: BlockStore;
  state: StateStore;
  quarantine: QuarantineStore;
  /** A fresh, empty queue whose messages become visible again `visibilityTimeoutMs` after a receive (whole seconds for SQS). */
  queue(visibilityTimeoutMs?: number): Promise<TaskQueue>;
}

export interface Backend {
  readonly name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  make(): Promise<Stores>;
}

export const memoryBackend: Backend = {
  name: "memory",
  async setup() {},
  async teardown() {},
  async make() {
    return {
      batchLog: new MemoryBatchLog(),
      shuffles: new MemoryShuffleStore(),
      blocks: new MemoryBlockStore(),
      state: new MemoryStateStore(),
      quarantine: new MemoryQuarantine(),
      queue: async (visibilityTimeoutMs = 30_000) => new MemoryTaskQueue(visibilityTimeoutMs),
    };
  },
};

export function awsBackend(): Backend {
  let engines: EmbeddedEngines | undefined;
  let dynamo: ReturnType<typeof createDynamoClients> | undefined;
  let sqs: ReturnType<typeof createSqsClient> | undefined;
  const run = `c${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
  const tables: TableNames = { meta: `${run}-meta`, data: `${run}-data`, state: `${run}-state` };
  let queues = 0;
  return {
    name: "aws",
    async setup() {
      engines = await startEmbeddedEngines({ kinesis: false });
      dynamo = createDynamoClients(awsClientConfig(engines.dynamodb, engines.region));
      sqs = createSqsClient(awsClientConfig(engines.sqs, engines.region));
      await createTables(dynamo.client, tables);
      await createTables(dynamo.client, tables); // idempotent
    },
    async teardown() {
      dynamo?.client.destroy();
      sqs?.destroy();
      await engines?.stop();
    },
    async make() {
      const { doc } = dynamo!;
      const app = `app-${randomUUID().slice(0, 8)}#x`; // a `#` in the app id must not break the key layout
      return {
        batchLog: new DynamoBatchLog(doc, tables.meta, app),
        shuffles: new DynamoShuffleStore(doc, tables.data, app),
        blocks: new DynamoBlockStore(doc, tables.data, app),
        state: new DynamoStateStore(doc, tables.state, app),
        quarantine: new DynamoQuarantine(doc, tables.meta, app),
        queue: async (visibilityTimeoutMs = 30_000) => {
          const n = ++queues;
          const visibilityTimeoutS = Math.ceil(visibilityTimeoutMs / 1000);
          const { tasksUrl } = await createQueues(sqs!, { tasks: `${run}-tasks-${n}`, dlq: `${run}-dlq-${n}` }, { visibilityTimeoutS, maxReceiveCount: 100 });
          return new SqsTaskQueue(sqs!, tasksUrl, { visibilityTimeoutS });
        },
      };
    },
  };
}

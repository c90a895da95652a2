/**
 * A local worker process: polls the task queue and hands each delivery to
 * the worker handler as Lambda's SQS event source mapping would (a batch of
 * up to 10 messages; the ones not reported in `batchItemFailures` are
 * deleted). Started by `sparkless local`; stops on SIGTERM.
 */
import "./quiet.js";
import { ReceiveMessageCommand, DeleteMessageBatchCommand, type Message } from "@aws-sdk/client-sqs";
import { loadApp } from "../app/app.js";
import { createAwsEngine, engineConfigFromEnv } from "../aws/engine.js";
import { Worker } from "../runtime/worker.js";

const appPath = process.env.SPARKLESS_APP_PATH;
if (!appPath) throw new Error("SPARKLESS_APP_PATH is not set: this process is started by `sparkless local`.");
const app = await loadApp(appPath);
const config = engineConfigFromEnv();
const engine = createAwsEngine(config);
const worker = new Worker(app, engine, {
  retryDelayMs: 200,
  taskLeaseMs: process.env.SPARKLESS_TASK_LEASE_MS ? Number(process.env.SPARKLESS_TASK_LEASE_MS) : undefined,
  log: (e) => { if (process.env.SPARKLESS_LOG_LEVEL === "debug" || e.level === "error") process.stderr.write(`[worker ${process.pid}] ${JSON.stringify(e)}\n`); },
});
let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
process.on("SIGINT", () => { /* the parent stops us */ });

while (!stopping) {
  let messages: Message[] = [];
  try {
    const res = await engine.clients.sqs.send(new ReceiveMessageCommand({
      QueueUrl: config.taskQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    }));
    messages = res.Messages ?? [];
  } catch (e) {
    if (stopping) break;
    process.stderr.write(`[worker ${process.pid}] receive failed: ${(e as Error).message}\n`);
    await new Promise((r) => setTimeout(r, 500));
    continue;
  }
  if (messages.length === 0) continue;
  const event = {
    Records: messages.map((m) => ({
      messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body ?? "",
      attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1" },
    })),
  };
  const { batchItemFailures } = await worker.handle(event);
  const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
  const done = event.Records.filter((r) => !failed.has(r.messageId));
  if (done.length) {
    await engine.clients.sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: config.taskQueueUrl, Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
    })).catch((e: Error) => process.stderr.write(`[worker ${process.pid}] delete failed: ${e.message}\n`));
  }
}
await engine.close?.();
process.exit(0);

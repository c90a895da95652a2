/**
 * A bench worker process: lib/local/worker-process.ts's loop (poll the task
 * queue, hand each delivery of ≤ 10 messages to the worker handler as
 * Lambda's SQS event source mapping would, delete the ones done), with the
 * request meter on its clients and each handler call timed as one Lambda
 * invocation. Prints "ready" once it polls; writes its counts to
 * SPARKLESS_METERING (JSON) every half second and on exit.
 */
import "../local/quiet.js";
import { ReceiveMessageCommand, DeleteMessageBatchCommand, type Message } from "@aws-sdk/client-sqs";
import { loadApp } from "../app/app.js";
import { createAwsEngine, createClients, engineConfigFromEnv } from "../aws/engine.js";
import { Worker } from "../runtime/worker.js";
import { Meter } from "./metering.js";

const appPath = process.env.SPARKLESS_APP_PATH;
const meterPath = process.env.SPARKLESS_METERING;
if (!appPath || !meterPath) throw new Error("SPARKLESS_APP_PATH and SPARKLESS_METERING must be set: this process is started by lib/bench.");
const app = await loadApp(appPath);
const config = engineConfigFromEnv();
const clients = createClients(config);
const meter = new Meter();
meter.attachAll(clients);
const engine = createAwsEngine(config, clients);
const worker = new Worker(app, engine, {
  retryDelayMs: 200,
  log: (e) => { if (e.level === "error") process.stderr.write(`[bench worker ${process.pid}] ${JSON.stringify(e)}\n`); },
});
let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
process.on("SIGINT", () => undefined);
// The bench holds our stdin: when it ends (the bench exited or died), so do we.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
const flush = setInterval(() => meter.writeTo(meterPath), 500);
process.stdout.write("ready\n");

while (!stopping) {
  let messages: Message[] = [];
  try {
    const res = await clients.sqs.send(new ReceiveMessageCommand({
      QueueUrl: config.taskQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    }));
    messages = res.Messages ?? [];
  } catch (e) {
    if (stopping) break;
    process.stderr.write(`[bench worker ${process.pid}] receive failed: ${(e as Error).message}\n`);
    await new Promise((r) => setTimeout(r, 200));
    continue;
  }
  if (messages.length === 0) continue;
  const event = {
    Records: messages.map((m) => ({
      messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body ?? "",
      attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1" },
    })),
  };
  const started = performance.now();
  const { batchItemFailures } = await worker.handle(event);
  meter.invocation("worker", performance.now() - started);
  const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
  const done = event.Records.filter((r) => !failed.has(r.messageId));
  if (done.length) {
    await clients.sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: config.taskQueueUrl, Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
    })).catch((e: Error) => process.stderr.write(`[bench worker ${process.pid}] delete failed: ${e.message}\n`));
  }
}
clearInterval(flush);
meter.writeTo(meterPath);
await engine.close?.();
process.exit(0);

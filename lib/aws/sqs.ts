/**
 * The task and result queues on SQS (lib/storage/interfaces.ts MessageQueue): at-least-once delivery,
 * visibility timeouts, ApproximateReceiveCount as the receive count, and, for tasks, a dead-letter
 * queue after `maxReceiveCount` receives. Bodies are the codec's JSON.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type SQSClientConfig,
} from "@aws-sdk/client-sqs";
import { sleep } from "../core/clock.js";
import { decode, encode } from "../core/codec.js";
import { IllegalStateError } from "../core/errors.js";
import type { MessageQueue, Received } from "../storage/interfaces.js";

const MAX_SEND_ATTEMPTS = 8;
/** SendMessageBatch requests in flight at once. */
const SEND_CONCURRENCY = 8;
/** SQS caps: 20 s long polling, 12 hours of visibility timeout. */
const MAX_WAIT_S = 20;
const MAX_VISIBILITY_S = 43_200;

function errorName(error: unknown): string {
  return (error as { name?: string } | null)?.name ?? "";
}

/** Errors that mean the receipt no longer names an in-flight message (acked, expired, or received again). */
function isStaleReceipt(error: unknown): boolean {
  const name = errorName(error);
  const message = (error as { message?: string } | null)?.message ?? "";
  return /ReceiptHandleIsInvalid|MessageNotInflight|InvalidParameterValue/i.test(name) || /receipt handle|not in flight|not inflight/i.test(message);
}

export function createSqsClient(config: SQSClientConfig): SQSClient {
  return new SQSClient(config);
}

export class SqsQueue<T> implements MessageQueue<T> {
  private readonly visibilityTimeoutS: number | undefined;
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    options: { visibilityTimeoutS?: number } = {},
  ) {
    this.visibilityTimeoutS = options.visibilityTimeoutS;
  }

  /** SendMessageBatch in groups of 10 (at most 256 KiB a request), resending the entries that failed. */
  async send(messages: T[]): Promise<void> {
    const groups: string[][] = [];
    let group: string[] = [];
    let bytes = 0;
    for (const m of messages) {
      const body = encode(m);
      const size = Buffer.byteLength(body, "utf8");
      if (group.length === 10 || (group.length > 0 && bytes + size > 250 * 1024)) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
      group.push(body);
      bytes += size;
    }
    if (group.length) groups.push(group);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let g = next++; g < groups.length; g = next++) await this.sendGroup(groups[g]!);
    };
    await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, groups.length) }, worker));
  }

  private async sendGroup(group: string[]): Promise<void> {
    let pending = group.map((body, i) => ({ Id: String(i), MessageBody: body }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(50 * 2 ** attempt, 2_000));
      const r = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }));
      const failed = r.Failed ?? [];
      if (failed.length === 0) return;
      const senderFault = failed.find((f) => f.SenderFault);
      if (senderFault || attempt + 1 >= MAX_SEND_ATTEMPTS) {
        const f = senderFault ?? failed[0]!;
        throw new IllegalStateError(
          `SQS SendMessageBatch to ${this.queueUrl} failed for ${failed.length} message(s): ${f.Code ?? ""} ${f.Message ?? ""}`.trim(),
        );
      }
      const ids = new Set(failed.map((f) => f.Id));
      pending = pending.filter((e) => ids.has(e.Id));
    }
  }

  async receive(options: { max: number; waitMs: number; signal?: AbortSignal }): Promise<Received<T>[]> {
    if (options.signal?.aborted || options.max <= 0) return [];
    try {
      const r = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: Math.max(1, Math.min(options.max, 10)),
          WaitTimeSeconds: Math.min(MAX_WAIT_S, Math.max(0, Math.ceil(options.waitMs / 1000))),
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          ...(this.visibilityTimeoutS !== undefined ? { VisibilityTimeout: this.visibilityTimeoutS } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      return (r.Messages ?? []).map((m) => ({
        body: decode<T>(m.Body ?? "null"),
        receipt: m.ReceiptHandle!,
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
      }));
    } catch (error) {
      // aborted while long polling: like the in-memory queue, return what arrived (nothing)
      if (options.signal?.aborted) return [];
      throw error;
    }
  }

  async ack(receipt: string): Promise<void> {
    try {
      await this.client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receipt }));
    } catch (error) {
      if (!isStaleReceipt(error)) throw error;
    }
  }

  /** Deletes in batches of 10; a stale receipt (the message came back to someone else) is ignored. */
  async ackMany(receipts: string[]): Promise<void> {
    for (let i = 0; i < receipts.length; i += 10) {
      const res = await this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: receipts.slice(i, i + 10).map((r, j) => ({ Id: String(j), ReceiptHandle: r })),
        }),
      );
      // Entries that failed for a reason other than a stale receipt are retried one by one.
      for (const f of res.Failed ?? []) {
        if (f.SenderFault && /ReceiptHandle/i.test(f.Code ?? "")) continue;
        await this.ack(receipts[i + Number(f.Id)]!);
      }
    }
  }

  /** Visible again after `delayMs`, rounded up to whole seconds (SQS's unit). A stale receipt is ignored. */
  async release(receipt: string, delayMs: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receipt,
          VisibilityTimeout: Math.min(MAX_VISIBILITY_S, Math.max(0, Math.ceil(delayMs / 1000))),
        }),
      );
    } catch (error) {
      if (!isStaleReceipt(error)) throw error;
    }
  }
}

/**
 * Creates (idempotently) the task queue with its dead-letter queue (a redrive policy after
 * `maxReceiveCount` receives), and the result queue the coordinator reads.
 */
export async function createQueues(
  client: SQSClient,
  names: { tasks: string; dlq: string; results: string },
  options: { visibilityTimeoutS: number; maxReceiveCount: number },
): Promise<{ tasksUrl: string; dlqUrl: string; resultsUrl: string }> {
  const dlq = await client.send(new CreateQueueCommand({ QueueName: names.dlq, Attributes: { MessageRetentionPeriod: "1209600" } }));
  const dlqUrl = dlq.QueueUrl!;
  const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }));
  const dlqArn = attrs.Attributes?.QueueArn;
  if (!dlqArn) throw new IllegalStateError(`SQS queue ${names.dlq} has no QueueArn`);
  const tasks = await client.send(
    new CreateQueueCommand({
      QueueName: names.tasks,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutS),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount }),
      },
    }),
  );
  const results = await client.send(new CreateQueueCommand({ QueueName: names.results, Attributes: { VisibilityTimeout: "30" } }));
  return { tasksUrl: tasks.QueueUrl!, dlqUrl, resultsUrl: results.QueueUrl! };
}

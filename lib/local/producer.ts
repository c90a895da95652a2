/**
 * `sparkless local --feed FILE`: puts the lines of a text file into a stream
 * at a steady rate. It loops over the file until stopped, or, with
 * `loop: false` (what --until-idle uses), sends it once and is done when
 * every line has been acknowledged. Records Kinesis refuses (a failed entry
 * of PutRecords, or a whole request that failed) are sent again, so a run
 * that stops when idle has really processed the whole file.
 */
import { readFileSync } from "node:fs";
import { PutRecordsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";

export interface ProducerOptions {
  /** Loop over the file until stopped; false: send it once. @default true */
  loop?: boolean;
  /** Each acknowledged record: its shard and sequence number, and when (epoch ms). */
  onAcked?: (shardId: string, sequenceNumber: string, at: number) => void;
  /** A request that failed (its records are sent again). */
  onError?: (error: unknown) => void;
}

export interface Producer {
  stop(): void;
  /** Records acknowledged so far. */
  sent(): number;
  /** Resolves true when every line was acknowledged (`loop: false`), false when stopped before. */
  readonly done: Promise<boolean>;
}

const TICK_MS = 200;

/** The lines of `file`, split at sentence ends and line breaks (a text reads as a stream of sentences). */
export function feedLines(file: string): string[] {
  return readFileSync(file, "utf8")
    .split(/(?<=[.!?;:])\s+|\n+/)
    .map((l) => l.trim())
    .filter(Boolean);
}

export function startProducer(kinesis: KinesisClient, stream: string, file: string, linesPerSecond: number, options: ProducerOptions = {}): Producer {
  const lines = feedLines(file);
  const loop = options.loop ?? true;
  let next = 0;
  let sent = 0;
  let inFlight = 0;
  let stopped = false;
  /** Lines to send again (refused), before new ones. */
  const retry: string[] = [];
  let finish!: (complete: boolean) => void;
  const done = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  const perTick = Math.max(1, Math.round((linesPerSecond * TICK_MS) / 1000));
  const end = (complete = false) => {
    stopped = true;
    clearInterval(timer);
    finish(complete);
  };
  const timer = setInterval(() => {
    if (stopped) return;
    // One request at a time: an engine slower than the feed rate slows the feed down, instead of piling
    // up requests that starve the app's own calls to it (against moto_server at 2,000 lines/s, 50 puts
    // in flight held the Kinesis client's sockets and batches stalled for minutes).
    if (inFlight > 0) return;
    const batch = retry.splice(0, perTick);
    while (batch.length < perTick && (loop || next < lines.length) && lines.length > 0) batch.push(lines[next++ % lines.length]!);
    if (batch.length === 0) {
      if (inFlight === 0) end(true);
      return;
    }
    inFlight++;
    void kinesis
      .send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: batch.map((l, i) => ({ Data: Buffer.from(l), PartitionKey: `k${(next + sent + i) % 64}` })),
        }),
      )
      .then(
        (res) => {
          const at = Date.now();
          (res.Records ?? []).forEach((r, i) => {
            if (r.SequenceNumber && r.ShardId && !r.ErrorCode) {
              sent++;
              options.onAcked?.(r.ShardId, r.SequenceNumber, at);
            } else {
              retry.push(batch[i]!);
            }
          });
        },
        (error: unknown) => {
          retry.push(...batch);
          options.onError?.(error);
        },
      )
      .finally(() => {
        inFlight--;
      });
  }, TICK_MS);
  return { stop: () => end(false), sent: () => sent, done };
}

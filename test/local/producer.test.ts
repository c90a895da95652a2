/**
 * `sparkless local --feed`'s producer against an engine slower than the feed rate: it keeps one
 * PutRecords in flight and waits, rather than sending a request every tick. A pile of requests held
 * the Kinesis client's sockets and moto_server's threads, and the app's own batches stalled behind them
 * for minutes (issue 10, the start-up stall).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startProducer } from "../../lib/local/producer.js";

/** A Kinesis client whose PutRecords answer only when the test says so. */
function slowKinesis() {
  const pending: { records: number; answer: () => void }[] = [];
  const client = {
    send: (command: PutRecordsCommand) =>
      new Promise((resolve) => {
        const records = command.input.Records ?? [];
        pending.push({
          records: records.length,
          answer: () =>
            resolve({ Records: records.map((_, i) => ({ ShardId: "shardId-000000000000", SequenceNumber: String(pending.length * 1000 + i) })) }),
        });
      }),
  };
  return { client: client as unknown as KinesisClient, pending };
}

describe("the --feed producer", () => {
  let dir: string;
  beforeEach(() => {
    vi.useFakeTimers();
    dir = mkdtempSync(path.join(os.tmpdir(), "sparkless-producer-"));
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps one PutRecords in flight against a slow engine, and goes on when it is answered", async () => {
    const file = path.join(dir, "lines.txt");
    writeFileSync(file, Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n"));
    const { client, pending } = slowKinesis();
    const producer = startProducer(client, "words", file, 50); // 10 lines per 200 ms tick
    await vi.advanceTimersByTimeAsync(5_000); // 25 ticks, the first request never answered
    expect(pending).toHaveLength(1);
    expect(pending[0]!.records).toBe(10);
    pending[0]!.answer();
    await vi.advanceTimersByTimeAsync(200);
    expect(producer.sent()).toBe(10);
    expect(pending).toHaveLength(2);
    producer.stop();
  });
});

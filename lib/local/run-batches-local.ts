/**
 * runBatches({ engine: "local" }): the same pipeline, batch for batch,
 * through the real path: Kinesis input, the coordinator's job generator,
 * its batch log and checkpoints in DynamoDB, and, for batches that fan out
 * (`execution: "fan-out"`), SQS task and result messages, the Lambda worker
 * handler and S3, on the embedded engines.
 *
 * Input batch i of stream j is put into Kinesis stream j, slice p into shard
 * p (so `inputPartitions` means the same thing as in memory), and batch i is
 * generated only once its records are in, so its contents match the
 * in-memory run exactly. The engines start once per process and are shared
 * by every run; each run gets its own stream, tables and queue.
 */
import { ListShardsCommand, PutRecordCommand } from "@aws-sdk/client-kinesis";
import { ManualClock } from "../core/clock.js";
import { encode } from "../core/codec.js";
import { sliceBounds } from "../rdd/rdd.js";
import { resolveConfig, type AppDefinition } from "../app/app.js";
import { runEventSourceMapping, Worker } from "../runtime/worker.js";
import { StreamingContext } from "../streaming/context.js";
import type { RunBatchesOptions } from "../testing/run-batches.js";
import type { DStream } from "../dstream/dstream.js";
import { startEmbeddedEngines, type EmbeddedEngines } from "./engines.js";
import { ensureStream, prepareLocal } from "./runtime.js";

let shared: Promise<EmbeddedEngines> | undefined;
let runs = 0;

/** The embedded engines of this process, started on first use and stopped when it exits. */
export function sharedEngines(): Promise<EmbeddedEngines> {
  shared ??= startEmbeddedEngines({});
  return shared;
}

export async function stopSharedEngines(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).stop();
}

export async function runBatchesLocal<T>(options: RunBatchesOptions<T>, numBatches: number, inputPartitions: number): Promise<T[][]> {
  const engines = await sharedEngines();
  const id = `rb${process.pid}x${++runs}`;
  const env = await prepareLocal({ app: id, endpoints: engines, visibilityTimeoutS: 10, maxReceiveCount: 10 });
  const kinesis = env.engine.clients.kinesis;
  const abort = new AbortController();
  const loops: Promise<void>[] = [];
  try {
    const streams = options.inputs.map((_, j) => `${id}-in${j}`);
    const hashKeys: string[][] = [];
    for (const s of streams) {
      await ensureStream(kinesis, s, inputPartitions);
      const shards = (await kinesis.send(new ListShardsCommand({ StreamName: s }))).Shards ?? [];
      hashKeys.push(shards.sort((a, b) => (a.ShardId! < b.ShardId! ? -1 : 1)).map((sh) => sh.HashKeyRange!.StartingHashKey!));
    }
    const out = new Map<number, T[]>();
    const app: AppDefinition = {
      config: resolveConfig({
        name: id,
        batchInterval: options.batchInterval,
        defaultParallelism: options.defaultParallelism,
        maxTaskAttempts: 1,
        ...(options.execution ? { execution: { mode: options.execution } } : {}),
      }),
      build: (ssc) => {
        const inputs = streams.map((s) => ssc.kinesisStream<unknown>(s, { decode: "codec" }));
        const result = options.pipeline(...(inputs as DStream<any>[]));
        result.foreachRDD(async (rdd, time) => {
          out.set(time.milliseconds, await rdd.collect());
        });
      },
    };
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({
      batchInterval: app.config.batchInterval,
      clock,
      engine: env.engine,
      appName: id,
      defaultParallelism: app.config.defaultParallelism,
      print: options.print,
      maxTaskAttempts: 1,
      retryDelayMs: 0,
      execution: app.config.execution,
    });
    app.build(ssc);
    const graph = ssc.prepare(0);
    await env.engine.batchLog.createApp({
      zeroTime: 0,
      batchIntervalMs: options.batchInterval.milliseconds,
      fingerprint: graph.fingerprint(),
      createdAt: 0,
    });
    const generator = ssc.newGenerator();
    // Workers as the event source mapping runs them: batches of up to 10 messages, the Lambda handler's code.
    const worker = new Worker(app, env.engine, { clock });
    for (let w = 0; w < 2; w++) loops.push(runEventSourceMapping(env.engine.tasks, worker, abort.signal));
    const interval = options.batchInterval.milliseconds;
    for (let i = 0; i < numBatches; i++) {
      for (let j = 0; j < streams.length; j++) {
        const data = options.inputs[j]![i] ?? [];
        for (let p = 0; p < inputPartitions; p++) {
          const [start, end] = sliceBounds(data.length, inputPartitions, p);
          let previous: string | undefined;
          for (let k = start; k < end; k++) {
            const res = await kinesis.send(
              new PutRecordCommand({
                StreamName: streams[j]!,
                Data: Buffer.from(encode(data[k])),
                PartitionKey: "p",
                ExplicitHashKey: hashKeys[j]![p]!,
                ...(previous ? { SequenceNumberForOrdering: previous } : {}),
              }),
            );
            previous = res.SequenceNumber;
          }
        }
      }
      const time = (i + 1) * interval;
      clock.setTime(time);
      await generator.runBatch(time, abort.signal);
    }
    return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  } finally {
    abort.abort();
    await Promise.allSettled(loops);
    await env.engine.close?.();
  }
}

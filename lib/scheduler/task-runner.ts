/**
 * A worker's side of fan-out: runs one task message and reports its result
 * to the coordinator. The worker plans the batch again from its record and
 * the stored results the coordinator named, checks its plan against the
 * stage the message names, claims the task, and keeps the claim alive while
 * the task runs.
 *
 * Order of writes, and why:
 *   claim → run → send the result → mark the claim done.
 * The result goes before the claim is marked done, so a worker that dies in
 * between leaves a claim that expires and a task that runs again, never a
 * task marked done whose result is lost.
 */
import type { Clock } from "../core/clock.js";
import { encode } from "../core/codec.js";
import { Time } from "../core/duration.js";
import { MissingDataError } from "../core/errors.js";
import { TaskContext } from "../rdd/scope.js";
import { accumulatorUpdates, BatchSharedVariables } from "../streaming/shared-variables.js";
import type {
  AccumulatorUpdate,
  BatchRecord,
  EngineServices,
  MessageQueue,
  Received,
  TaskKey,
  TaskMessage,
  TaskOutput,
  TaskQueue,
} from "../storage/interfaces.js";
import type { DStreamGraph } from "../streaming/graph.js";
import { BlockCache, TaskShuffles } from "./block-manager.js";
import { bucketsToBlob, INLINE_BYTES } from "./fan-out.js";
import { BatchPlan, decodeStored } from "./planner.js";

export interface TaskRunnerOptions {
  /** How long a claim lasts past each renewal. @default 6000 */
  claimLeaseMs?: number;
  /** Identifies this worker in claims and results. */
  owner: string;
  /** Map outputs larger than this go to a blob instead of the result message. @default 200 KiB */
  inlineBytes?: number;
}

export type TaskRunOutcome = "ran" | "failed" | "skipped" | "busy";

export class TaskRunner {
  private readonly records = new Map<number, Promise<BatchRecord | undefined>>();
  private readonly claimLeaseMs: number;
  private readonly inlineBytes: number;
  private runs = 0;

  constructor(
    private readonly graph: DStreamGraph,
    private readonly engine: EngineServices,
    private readonly clock: Clock,
    private readonly options: TaskRunnerOptions,
  ) {
    this.claimLeaseMs = options.claimLeaseMs ?? 6000;
    this.inlineBytes = options.inlineBytes ?? INLINE_BYTES;
  }

  private loadBatch(time: number): Promise<BatchRecord | undefined> {
    let p = this.records.get(time);
    if (!p) {
      p = this.engine.batchLog.getBatch(time);
      this.records.set(time, p);
      p.catch(() => this.records.delete(time));
      // Keep a handful: a worker sees the batches of the last few seconds.
      if (this.records.size > 32) this.records.delete(this.records.keys().next().value!);
    }
    return p;
  }

  /**
   * Runs one delivery of a task. "busy": another worker runs it now (try the message later);
   * "skipped": it is done already; "ran" / "failed": the result was reported.
   */
  async run(m: TaskMessage): Promise<TaskRunOutcome> {
    const action = m.action ? { action: m.action } : {};
    const key: TaskKey = { batchTime: m.batchTime, runId: m.runId, stage: m.stage, ...action, partition: m.partition };
    const owner = `${this.options.owner}-${++this.runs}`;
    const now = this.clock.now();
    const claim = await this.engine.claims.claim(key, owner, now + this.claimLeaseMs, now);
    if (claim === "done") return "skipped";
    if (claim === "busy") return "busy";
    // Renewed while the task runs: a claim that stops being renewed means this worker died.
    const renew = setInterval(
      () => {
        void this.engine.claims.renew(key, owner, this.clock.now() + this.claimLeaseMs).catch(() => undefined);
      },
      Math.max(50, Math.floor(this.claimLeaseMs / 3)),
    );
    const base = { batchTime: m.batchTime, runId: m.runId, stage: m.stage, ...action, partition: m.partition, attempt: m.attempt, worker: owner };
    try {
      let output: TaskOutput | undefined;
      let counters: Record<string, number>;
      let quarantined: string[];
      let accumulators: AccumulatorUpdate[];
      try {
        const record = await this.loadBatch(m.batchTime);
        if (!record) throw new MissingDataError(`Batch ${m.batchTime} has no record: its task cannot run.`);
        // Broadcasts the coordinator created while planning the batch are read from it, not made again here.
        const shared = new BatchSharedVariables(m.batchTime, "executor", m.runId, this.engine.blobs);
        let tc: TaskContext;
        ({ tc, output } = await shared.run(async () => {
          const plan = await BatchPlan.create(this.graph, new Time(m.batchTime), record.blocks, {
            services: {
              shuffles: new TaskShuffles(m.inputs ?? {}, this.engine.blobs),
              blocks: new BlockCache(),
              state: this.engine.state,
              quarantine: this.engine.quarantine,
              sources: this.engine.sources,
              // An output action's task writes where the output function writes (saveAsTextFile to s3://).
              ...(this.engine.objects ? { objects: this.engine.objects } : {}),
            },
            loadBatch: (t) => this.loadBatch(t),
            storedHints: decodeStored(m.stored),
          });
          plan.verifyStage(m.stage, m.stageId, m.numTasks, m.action !== undefined);
          await shared.load();
          const tc = new TaskContext(plan, `${m.stage}/${m.partition}`, {}, m.stage);
          // Run as the current task: accumulator updates of user functions go to its buffer.
          if (m.action) {
            await shared.preload(m.broadcasts ?? []);
            await tc.runAs(() => plan.runOutputAction(m.stage, m.action!, m.partition, m.numTasks, m.values ?? [], tc));
            return { tc, output: undefined };
          }
          const buckets = (await tc.runAs(() => plan.runTask(m.stage, m.partition, tc)))!;
          return { tc, output: await this.output(m, buckets) };
        }));
        counters = tc.counters;
        quarantined = [...tc.quarantined];
        accumulators = accumulatorUpdates(tc);
      } catch (e) {
        await this.engine.results.send([{ ...base, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }]);
        // Free the claim at once: the coordinator sends the task again.
        await this.engine.claims.renew(key, owner, 0).catch(() => undefined);
        return "failed";
      }
      // A worker that stalled past its lease still reports: a task's result is the same every time it runs.
      await this.engine.results.send([
        { ...base, ok: true, ...(output ? { output } : {}), counters, quarantined, ...(accumulators.length ? { accumulators } : {}) },
      ]);
      await this.engine.claims.finish(key, owner);
      return "ran";
    } finally {
      clearInterval(renew);
    }
  }

  /** The buckets inline when small, or one blob with byte offsets per bucket. */
  private async output(m: TaskMessage, buckets: unknown[][]): Promise<TaskOutput> {
    if (Buffer.byteLength(encode(buckets), "utf8") <= this.inlineBytes) return { buckets };
    const { body, offsets } = bucketsToBlob(buckets);
    const blob = `shuffle/${m.batchTime}/${m.runId}/${m.stage}-${m.partition}`;
    await this.engine.blobs.put(blob, body);
    return { blob, offsets };
  }
}

/**
 * Receives from a queue until stopped, up to 10 messages at a time, and deletes the ones `handle`
 * returns the receipts of; the others come back after their visibility timeout (or sooner, if
 * `handle` released them).
 */
export async function pollQueue<T>(
  queue: MessageQueue<T>,
  signal: AbortSignal,
  handle: (received: Received<T>[]) => Promise<string[]>,
  options: { waitMs?: number; onError?: (e: unknown) => void } = {},
): Promise<void> {
  while (!signal.aborted) {
    let received: Received<T>[];
    try {
      received = await queue.receive({ max: 10, waitMs: options.waitMs ?? 1000, signal });
    } catch (e) {
      if (signal.aborted) return;
      options.onError?.(e);
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    if (received.length === 0) continue;
    const done = await handle(received);
    if (done.length) await queue.ackMany(done).catch((e: unknown) => options.onError?.(e));
  }
}

/**
 * Feeds a TaskRunner from a task queue, the messages of one receive run concurrently: the workers of a
 * StreamingContext. A task another worker runs comes back after a second; a run that threw (the engine
 * failed, not the task) is left for the queue to deliver again.
 */
export function pollTasks(
  queue: TaskQueue,
  runner: Pick<TaskRunner, "run">,
  signal: AbortSignal,
  options: { waitMs?: number; onError?: (e: unknown) => void } = {},
): Promise<void> {
  return pollQueue(
    queue,
    signal,
    async (received) => {
      const done: string[] = [];
      await Promise.all(
        received.map(async (r) => {
          try {
            if ((await runner.run(r.body)) === "busy") await queue.release(r.receipt, 1000);
            else done.push(r.receipt);
          } catch (e) {
            options.onError?.(e);
          }
        }),
      );
      return done;
    },
    options,
  );
}

/**
 * Fan-out: how the coordinator runs a stage on workers when a batch is too
 * large for one process.
 *
 * Only stages that read nothing but input blocks and shuffle data can leave
 * the coordinator (their map output comes back to it); state, stored results
 * and output functions stay where the state lives. The per-partition actions
 * an output function calls leave it the same way, one task per partition
 * (output-actions.ts). The coordinator drives every
 * hand-off itself, so no worker ever sends work to another worker and no
 * invocation chain grows:
 *
 *   coordinator --tasks (SQS)--> workers --results (SQS)--> coordinator
 *
 * A task's shuffle input and a map task's output travel inline in the
 * messages when small, or as S3 objects (byte ranges of one object per map
 * task) when large, never through DynamoDB.
 *
 * Timeline of one task, and what happens when things go wrong:
 *   sent → a worker claims it (a lease renewed every claimLeaseMs/3 while it
 *   runs) → runs → sends its result → marks the claim done.
 * - A duplicate delivery finds the claim held (busy) or done, and does not run.
 * - A worker that dies stops renewing: the coordinator sees the claim expired
 *   within claimLeaseMs plus one check and sends the task again, at once.
 * - A task never claimed (a lost message) is sent again after
 *   resendUnclaimedMs, at least one worker timeout.
 * - A task whose function throws reports the failure; the coordinator sends it
 *   again, up to maxTaskAttempts, then fails the batch.
 * Results of another run of the batch (a previous coordinator) are ignored.
 */
import { IllegalStateError, TaskFailedError } from "../core/errors.js";
import type { Clock } from "../core/clock.js";
import { encode } from "../core/codec.js";
import { LeafRDD, type RDD, type ShuffleDependency } from "../rdd/rdd.js";
import { taskKeyId } from "../storage/memory.js";
import {
  taskStageKey,
  type EngineServices,
  type OutputActionRef,
  type ShuffleInput,
  type TaskKey,
  type TaskMessage,
  type TaskResult,
} from "../storage/interfaces.js";
import { shuffleInputKey, type MemoryShuffles } from "./block-manager.js";
import type { BatchPlan, Stage } from "./planner.js";
import { mergeAccumulatorUpdates } from "../streaming/shared-variables.js";
import type { TaskContext } from "../rdd/scope.js";

export interface FanOutOptions {
  /** How long a claim lasts past each renewal; a dead worker's task is free again after this. @default 6000 */
  claimLeaseMs?: number;
  /** A task no worker claimed is sent again after this (keep it at least one worker timeout). @default 60000 */
  resendUnclaimedMs?: number;
  /** Attempts per task before its batch fails. @default 4 */
  maxTaskAttempts?: number;
  /** Delay before a failed task is sent again, doubled on every attempt. @default 200 */
  retryDelayMs?: number;
  /** Messages larger than this carry their shuffle data in blobs instead. @default 200 KiB */
  inlineBytes?: number;
}

/** SQS allows 256 KiB a message by default; what stays inline stays well under it. */
export const INLINE_BYTES = 200 * 1024;

interface Outstanding {
  message: TaskMessage;
  sentAt: number;
  checkedAt: number;
}

export class FanOut {
  private readonly claimLeaseMs: number;
  private readonly resendUnclaimedMs: number;
  private readonly maxTaskAttempts: number;
  private readonly retryDelayMs: number;
  private readonly inlineBytes: number;

  constructor(
    private readonly engine: EngineServices,
    private readonly clock: Clock,
    options: FanOutOptions = {},
  ) {
    this.claimLeaseMs = options.claimLeaseMs ?? 6000;
    this.resendUnclaimedMs = options.resendUnclaimedMs ?? 60_000;
    this.maxTaskAttempts = options.maxTaskAttempts ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.inlineBytes = options.inlineBytes ?? INLINE_BYTES;
  }

  /** Runs one remote stage on workers; its map output lands in `shuffles`. */
  runStage(
    plan: BatchPlan,
    stage: Stage & { kind: "shuffle" },
    runId: string,
    shuffles: MemoryShuffles,
    signal?: AbortSignal,
  ): Promise<{ quarantined: string[] }> {
    return this.runTasks(plan, { stage, rdd: stage.dep.rdd }, runId, shuffles, signal, async (res) => {
      const out = res.output;
      if (!out)
        throw new TaskFailedError(
          `Task ${stage.id} partition ${res.partition} of batch ${plan.batchTime} returned no output.`,
          plan.batchTime,
          stage.id,
          res.partition,
          res.attempt,
        );
      if ("buckets" in out) await shuffles.write(plan.batchTime, stage.dep.shuffleId, res.partition, out.buckets);
      else shuffles.writeRemote(plan.batchTime, stage.dep.shuffleId, res.partition, out.blob, out.offsets);
      // The first accepted result per task: its accumulator updates count once, later copies never reach here.
      mergeAccumulatorUpdates(plan.graph, res.accumulators);
    });
  }

  /**
   * Runs a per-partition action of output stage `stage` on `rdd` on workers, one task per partition
   * (output-actions.ts), with what the function's replay reads: its broadcasts and earlier actions' values.
   */
  runAction(
    plan: BatchPlan,
    stage: Stage & { kind: "output" },
    rdd: RDD<unknown>,
    action: OutputActionRef,
    replay: { broadcasts: readonly string[]; values: readonly unknown[] },
    /** The output task's accumulator buffer: the tasks' updates count when the output task succeeds. */
    accumulators: TaskContext["accumulators"],
    runId: string,
    shuffles: MemoryShuffles,
    signal?: AbortSignal,
  ): Promise<{ quarantined: string[] }> {
    return this.runTasks(plan, { stage, rdd, action, ...replay }, runId, shuffles, signal, async (res) =>
      mergeAccumulatorUpdates(plan.graph, res.accumulators, accumulators),
    );
  }

  /** Sends one task per partition of `task.rdd` and waits until each has an accepted result. */
  private async runTasks(
    plan: BatchPlan,
    task: { stage: Stage; rdd: RDD<unknown>; action?: OutputActionRef; broadcasts?: readonly string[]; values?: readonly unknown[] },
    runId: string,
    shuffles: MemoryShuffles,
    signal: AbortSignal | undefined,
    accept: (res: TaskResult & { ok: true }) => Promise<void>,
  ): Promise<{ quarantined: string[] }> {
    const batchTime = plan.batchTime;
    const { stage, rdd, action, broadcasts, values } = task;
    const stored = plan.storedHints();
    const outstanding = new Map<number, Outstanding>();
    const quarantined: string[] = [];
    const delayed: { at: number; message: TaskMessage }[] = [];
    const send = async (messages: TaskMessage[]) => {
      const now = this.clock.now();
      for (const m of messages) outstanding.set(m.partition, { message: m, sentAt: now, checkedAt: now });
      await this.engine.tasks.send(messages);
    };
    const first: TaskMessage[] = [];
    for (let p = 0; p < rdd.numPartitions; p++) {
      const inputs: Record<string, ShuffleInput> = {};
      for (const { dep, partition } of taskReads(rdd, p).shuffles)
        inputs[shuffleInputKey(dep.shuffleId, partition)] = shuffles.inputFor(batchTime, dep.shuffleId, partition, dep.rdd.numPartitions);
      first.push(
        await this.fit({
          batchTime,
          runId,
          stage: stage.index,
          stageId: stage.id,
          numTasks: rdd.numPartitions,
          partition: p,
          attempt: 1,
          stored,
          ...(Object.keys(inputs).length ? { inputs } : {}),
          ...(action ? { action } : {}),
          ...(broadcasts?.length ? { broadcasts } : {}),
          ...(values?.length ? { values } : {}),
        }),
      );
    }
    await send(first);
    const key = (partition: number): TaskKey => ({ batchTime, runId, stage: stage.index, ...(action ? { action } : {}), partition });
    const stageKey = taskStageKey({ stage: stage.index, action });
    while (outstanding.size > 0) {
      if (signal?.aborted) throw signal.reason ?? new IllegalStateError(`Batch ${batchTime} was stopped before its tasks finished.`);
      const received = await this.engine.results.receive({ max: 10, waitMs: Math.min(1000, this.claimLeaseMs / 2), signal });
      const receipts: string[] = [];
      for (const r of received) {
        receipts.push(r.receipt);
        const res = r.body;
        // A result of another run, another stage or action, or a task already done: nothing to do.
        if (res.runId !== runId || res.batchTime !== batchTime || taskStageKey(res) !== stageKey) continue;
        const pending = outstanding.get(res.partition);
        if (!pending) continue;
        const retry = delayed.findIndex((d) => d.message.partition === res.partition);
        if (res.ok) {
          // A success (a duplicate delivery's, say) while a retry waits: the task is done, the retry dropped.
          if (retry >= 0) delayed.splice(retry, 1);
          await accept(res);
          quarantined.push(...res.quarantined);
          outstanding.delete(res.partition);
          continue;
        }
        if (retry >= 0) continue;
        const again = this.afterFailure(res, pending.message, stage, batchTime);
        if (again) delayed.push(again);
      }
      if (receipts.length) await this.engine.results.ackMany(receipts);
      const now = this.clock.now();
      const due = delayed.filter((d) => d.at <= now);
      if (due.length) {
        for (const d of due) delayed.splice(delayed.indexOf(d), 1);
        await send(due.map((d) => d.message));
      }
      await this.checkClaims(batchTime, stage, key, outstanding, send);
    }
    return { quarantined };
  }

  /** A failed attempt: its task again after a backoff, or (out of attempts) the batch fails; undefined for a stale report. */
  private afterFailure(
    res: TaskResult & { ok: false },
    sent: TaskMessage,
    stage: Stage,
    batchTime: number,
  ): { at: number; message: TaskMessage } | undefined {
    if (res.attempt < sent.attempt) return undefined; // a failure report of an attempt already replaced
    if (res.attempt >= this.maxTaskAttempts) {
      throw new TaskFailedError(
        `Task ${stage.id}${sent.action ? ` (action ${sent.action.index})` : ""} partition ${res.partition} of batch ${batchTime} failed ${res.attempt} time(s) on workers; the batch has failed: ${res.error}`,
        batchTime,
        stage.id,
        res.partition,
        res.attempt,
      );
    }
    return { at: this.clock.now() + this.retryDelayMs * 2 ** (res.attempt - 1), message: { ...sent, attempt: res.attempt + 1 } };
  }

  /**
   * Tasks outstanding longer than a claim lease: a claim that stopped being renewed means its worker
   * died (send the task again now); no claim after resendUnclaimedMs means the message was lost.
   */
  private async checkClaims(
    batchTime: number,
    stage: Stage,
    key: (partition: number) => TaskKey,
    outstanding: Map<number, Outstanding>,
    send: (m: TaskMessage[]) => Promise<void>,
  ): Promise<void> {
    const now = this.clock.now();
    const stale = [...outstanding.values()].filter((o) => now - o.checkedAt >= this.claimLeaseMs / 2 && now - o.sentAt >= this.claimLeaseMs);
    if (stale.length === 0) return;
    const claims = await this.engine.claims.inspect(stale.map((o) => key(o.message.partition)));
    const again: TaskMessage[] = [];
    for (const o of stale) {
      o.checkedAt = now;
      const c = claims.get(taskKeyId(key(o.message.partition)));
      const dead = c && !c.done && (c.until ?? 0) < now;
      const lost = !c && now - o.sentAt >= this.resendUnclaimedMs;
      if (dead || lost) again.push(dead ? { ...o.message, attempt: o.message.attempt + 1 } : o.message);
    }
    for (const m of again) {
      if (m.attempt > this.maxTaskAttempts) {
        throw new TaskFailedError(
          `Task ${stage.id} partition ${m.partition} of batch ${batchTime}: its worker stopped ${m.attempt - 1} time(s) (killed, out of memory or timed out); the batch has failed.`,
          batchTime,
          stage.id,
          m.partition,
          m.attempt - 1,
        );
      }
    }
    if (again.length) await send(again);
  }

  /** A message within the inline limit: its inline shuffle parts moved to a blob when it is too large. */
  private async fit(m: TaskMessage): Promise<TaskMessage> {
    if (!m.inputs || Buffer.byteLength(encode(m), "utf8") <= this.inlineBytes) return m;
    const key = `inputs/${m.batchTime}/${m.runId}/${taskStageKey(m)}-${m.partition}`;
    const parts: Buffer[] = [];
    let offset = 0;
    const inputs: Record<string, ShuffleInput> = {};
    for (const [id, input] of Object.entries(m.inputs)) {
      inputs[id] = {
        parts: input.parts.map((part) => {
          if (!Array.isArray(part)) return part;
          const bytes = Buffer.from(encode(part), "utf8");
          parts.push(bytes);
          const slice = { key, start: offset, end: offset + bytes.length };
          offset += bytes.length;
          return slice;
        }),
      };
    }
    await this.engine.blobs.put(key, Buffer.concat(parts));
    return { ...m, inputs };
  }
}

/**
 * What computing partition `p` of `rdd` reads, through its narrow dependencies: the shuffle partitions
 * (a union or a coalesce reads other partitions than `p`), and whether it reads the coordinator's
 * memory (stored results, state).
 */
export function taskReads(
  rdd: RDD<unknown>,
  p: number,
): { shuffles: { dep: ShuffleDependency<unknown, unknown, unknown>; partition: number }[]; memory: boolean } {
  const shuffles: { dep: ShuffleDependency<unknown, unknown, unknown>; partition: number }[] = [];
  const seen = new Set<string>();
  let memory = false;
  const walk = (r: RDD<unknown>, q: number) => {
    const at = `${r.id}/${q}`;
    if (seen.has(at)) return;
    seen.add(at);
    if (r instanceof LeafRDD && r.local) memory = true;
    for (const d of r.deps) {
      if (d.kind !== "shuffle") continue;
      const read = `${d.shuffleId}#${q}`;
      if (seen.has(read)) continue;
      seen.add(read);
      shuffles.push({ dep: d as ShuffleDependency<unknown, unknown, unknown>, partition: q });
    }
    for (const [parent, pq] of r.narrowParents(q)) walk(parent, pq);
  };
  walk(rdd, p);
  return { shuffles, memory };
}

/** A map task's buckets as one blob: the encoded buckets back to back, with offsets[r]..offsets[r + 1] for bucket r. */
export function bucketsToBlob(buckets: unknown[][]): { body: Buffer; offsets: number[] } {
  const parts = buckets.map((b) => Buffer.from(encode(b), "utf8"));
  const offsets = [0];
  for (const p of parts) offsets.push(offsets[offsets.length - 1]! + p.length);
  return { body: Buffer.concat(parts), offsets };
}

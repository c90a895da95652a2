/**
 * The batch scheduler: the coordinator's and the workers' shared logic.
 *
 * The coordinator calls `generateBatch(time)` at every batch boundary
 * (Spark's JobGenerator): it fixes the input blocks, plans the batch, and
 * writes the batch record **before** any task is sent (the write-ahead log).
 * Workers call `runTask(task)` for each queued task. Progress is a small set
 * of conditional transitions in the batch log:
 *
 *   generated --(startNext: oldest unfinished batch)--> running
 *   running   --(last task of the last stage)-------> completed
 *   running   --(a task out of attempts)------------> failed
 *
 * A task records its completion at most once (`completeTask`); the one call
 * that sees its stage complete sends the next stage, so a duplicate
 * delivery or a retried task never sends a stage twice. Batches run in time
 * order: the next batch starts when the previous one completes, and a slow
 * batch delays the next (scheduling delay) rather than skipping it.
 */
import { ManualClock, type Clock } from "../core/clock.js";
import { Time } from "../core/duration.js";
import { NonDeterministicPlanError, TaskFailedError } from "../core/errors.js";
import type { DStream } from "../dstream/dstream.js";
import { TaskContext } from "../rdd/scope.js";
import type { BatchRecord, EngineServices, TaskMessage } from "../storage/interfaces.js";
import type { DStreamGraph } from "../streaming/graph.js";
import { BatchPlan } from "./planner.js";
import { faultPoint, faultsEnabled } from "../testing/faults.js";

/** How many attempts of a task had failed when `runTask` threw `error` (undefined if unknown). */
export function failedAttemptsOf(error: unknown): number | undefined {
  const n = (error as { failedAttempts?: unknown } | null)?.failedAttempts;
  return typeof n === "number" ? n : undefined;
}

/** What became of one delivery of a task. */
export type TaskOutcome =
  | { readonly kind: "ran" }
  /** Nothing to do: the task completed already, or its batch is not running. */
  | { readonly kind: "skipped" }
  /** Another delivery of the same task is running it: retry this one later. */
  | { readonly kind: "busy"; readonly retryAfterMs: number };

export interface SchedulerOptions {
  /** How long a claim on a task lasts; keep it below the queue's visibility timeout. @default 30000 */
  taskLeaseMs?: number;
}

export interface SchedulerListener {
  onBatchGenerated?(record: BatchRecord): void;
  onBatchCompleted?(record: BatchRecord): void;
  onBatchFailed?(record: BatchRecord, error: TaskFailedError): void;
}

/** How many batch records are kept beyond what the graph needs, for status and the UI. */
const HISTORY_BATCHES = 1000;

export class BatchScheduler {
  private readonly plans = new Map<number, Promise<BatchPlan>>();
  private readonly listeners = new Set<SchedulerListener>();
  /** A hint only: batches before this are known complete. Correctness comes from the batch log. */
  private completedBefore = 0;
  private readonly taskLeaseMs: number;
  private attempts = 0;
  private readonly processId = Math.random().toString(36).slice(2, 10);

  constructor(readonly graph: DStreamGraph, readonly services: EngineServices, readonly clock: Clock, options: SchedulerOptions = {}) {
    this.taskLeaseMs = options.taskLeaseMs ?? 30_000;
  }

  addListener(l: SchedulerListener): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }

  private loadBatch = (time: number) => this.services.batchLog.getBatch(time);

  /** Fixes, plans and records batch `time`, then starts it if it is next. Idempotent per time. */
  async generateBatch(time: Time): Promise<BatchRecord> {
    const existing = await this.services.batchLog.getBatch(time.milliseconds);
    if (existing) {
      this.lastInput = { time: existing.time, state: existing.inputState ?? {} };
      return existing;
    }
    const blocks: BatchRecord["blocks"] = {};
    const inputState: Record<string, unknown> = {};
    const previous = await this.previousInputState(time.milliseconds);
    let inputRecords = 0;
    for (const input of this.graph.inputs) {
      const allocated = await input.spec.allocateBlocks!(time, previous[input.id], { wallClock: !(this.clock instanceof ManualClock) });
      const bs = Array.isArray(allocated) ? allocated : allocated.blocks;
      if (!Array.isArray(allocated)) inputState[input.id] = allocated.state;
      blocks[input.id] = bs;
      for (const b of bs) if (typeof b.count === "number") inputRecords += b.count;
    }
    const plan = await BatchPlan.create(this.graph, time, blocks, this.services, this.loadBatch);
    const record: BatchRecord = {
      time: time.milliseconds,
      blocks,
      stages: plan.summary(),
      materialized: plan.materialized,
      inputState,
      zeroTime: this.graph.zeroTime.milliseconds,
      fingerprint: this.graph.fingerprint(),
      status: "generated",
      generatedAt: this.clock.now(),
      inputRecords,
    };
    // The write-ahead log: the batch's blocks are durable before any task of it can run.
    await faultPoint("coordinator.before-batch-record");
    const created = await this.services.batchLog.createBatch(record);
    await faultPoint("coordinator.after-batch-record");
    // The stored record is the truth for where the next batch starts. `created` is false when another
    // coordinator wrote it, or when our own put took effect but its response was lost and the SDK's
    // retry found the record: the next batch must then start from the stored positions, not from the
    // positions after the batch before (which would read this batch's records a second time).
    const stored = created ? record : ((await this.services.batchLog.getBatch(record.time)) ?? record);
    this.lastInput = { time: stored.time, state: stored.inputState ?? {} };
    if (created) {
      this.plans.set(record.time, Promise.resolve(plan));
      for (const l of this.listeners) l.onBatchGenerated?.(record);
    }
    await this.startNext();
    return (await this.services.batchLog.getBatch(record.time))!;
  }

  private lastInput: { time: number; state: Record<string, unknown> } | undefined;

  /**
   * A time before which every batch is complete, without reading the whole history: batches complete
   * in time order, so the unfinished ones are the newest. A fresh process looks back from the latest
   * batch in growing windows until it sees a completed one.
   */
  private async unfinishedFrom(): Promise<number> {
    if (this.completedBefore > 0) return this.completedBefore;
    const latest = await this.services.batchLog.latestBatch();
    if (!latest) return 0;
    for (let window = 16 * this.graph.batchDuration.milliseconds; ; window *= 4) {
      const from = Math.max(0, latest.time - window);
      const batches = await this.services.batchLog.listBatches({ fromTime: from });
      const lastDone = batches.filter((b) => b.status === "completed").pop();
      if (lastDone) return (this.completedBefore = lastDone.time);
      if (from === 0) return 0;
    }
  }

  /** The input positions after the latest batch before `time`: from memory, or from the batch log after a restart. */
  private async previousInputState(time: number): Promise<Record<string, unknown>> {
    // Only the batch just before `time`: any other cached positions could be stale.
    if (this.lastInput && this.lastInput.time === time - this.graph.batchDuration.milliseconds) return this.lastInput.state;
    return (await this.services.batchLog.latestBatch(time))?.inputState ?? {};
  }

  /** Starts the oldest unfinished batch if it is waiting and nothing before it is unfinished. */
  async startNext(): Promise<void> {
    const batches = await this.services.batchLog.listBatches({ fromTime: await this.unfinishedFrom() });
    const next = batches.find((b) => b.status !== "completed");
    if (!next || next.status !== "generated") return;
    this.completedBefore = next.time;
    if (!(await this.services.batchLog.updateBatch(next.time, "generated", { status: "running", startedAt: this.clock.now() }))) return;
    await this.sendFrom({ ...next, status: "running" }, 0);
  }

  private planFor(record: BatchRecord): Promise<BatchPlan> {
    let p = this.plans.get(record.time);
    if (!p) {
      p = BatchPlan.create(this.graph, new Time(record.time), record.blocks, this.services, this.loadBatch).then((plan) => {
        plan.verify(record);
        return plan;
      });
      p.catch(() => this.plans.delete(record.time));
      this.plans.set(record.time, p);
    }
    return p;
  }

  /** Sends the tasks of the first stage at or after `index` that has any; completes the batch if none is left. */
  private async sendFrom(record: BatchRecord, index: number): Promise<void> {
    for (let i = index; i < record.stages.length; i++) {
      const n = record.stages[i]!.numTasks;
      if (n === 0) continue;
      // Progress first, then the messages: recovery resends what a crash between the two left unsent.
      if (!(await this.services.batchLog.updateBatch(record.time, "running", { currentStage: i, stageSentAt: this.clock.now() }))) return;
      await faultPoint("coordinator.before-task-send");
      await this.sendTasks(record.time, i, Array.from({ length: n }, (_, p) => p));
      return;
    }
    await this.complete(record);
  }

  private async sendTasks(batchTime: number, stage: number, partitions: number[]): Promise<void> {
    // One message at a time when faults are injected, so a crash can fall between two sends.
    if (faultsEnabled()) {
      for (const partition of partitions) {
        await this.services.queue.send([{ batchTime, stage, partition }]);
        await faultPoint("coordinator.between-task-sends");
      }
      return;
    }
    await this.services.queue.send(partitions.map((partition) => ({ batchTime, stage, partition })));
  }

  /**
   * Recovery of a running batch that stopped making progress: a coordinator or
   * worker died between recording progress and sending messages, or a message
   * was lost. Resends the tasks of the current stage that are not complete, or
   * hands the stage off if all are. Safe to run at any time: a resent task that
   * is running or done is dropped by its claim.
   */
  async recoverStalled(stallMs: number): Promise<number> {
    const batches = await this.services.batchLog.listBatches({ fromTime: await this.unfinishedFrom() });
    const running = batches.find((b) => b.status === "running");
    if (!running) return 0;
    const since = running.stageSentAt ?? running.startedAt ?? running.generatedAt;
    if (this.clock.now() - since < stallMs) return 0;
    return this.resendIncomplete(running);
  }

  private async resendIncomplete(record: BatchRecord): Promise<number> {
    const stage = record.currentStage ?? 0;
    const summary = record.stages[stage];
    if (!summary) { await this.sendFrom(record, 0); return 0; }
    const done = new Set(await this.services.batchLog.completedTasks(record.time, stage));
    const missing = Array.from({ length: summary.numTasks }, (_, p) => p).filter((p) => !done.has(p));
    if (missing.length === 0) {
      await this.sendFrom(record, stage + 1);
      return 0;
    }
    await this.services.batchLog.updateBatch(record.time, "running", { stageSentAt: this.clock.now() });
    await this.sendTasks(record.time, stage, missing);
    return missing.length;
  }

  /** Runs a failed batch again from where it failed (`sparkless retry`): completed tasks are kept. */
  async retryFailed(time: number): Promise<boolean> {
    const record = await this.services.batchLog.getBatch(time);
    if (!record || record.status !== "failed") return false;
    const retries = (record.retries ?? 0) + 1;
    if (!(await this.services.batchLog.updateBatch(time, "failed", { status: "running", error: undefined, completedAt: undefined, retries }))) return false;
    await this.resendIncomplete({ ...record, status: "running", retries });
    return true;
  }

  private async complete(record: BatchRecord): Promise<void> {
    const completedAt = this.clock.now();
    // Distinct quarantined records: one bad record read by two stages is one entry.
    const quarantined = await this.services.quarantine.count(record.time);
    const patch: Partial<BatchRecord> = quarantined > 0 ? { status: "completed", completedAt, quarantinedRecords: quarantined } : { status: "completed", completedAt };
    if (!(await this.services.batchLog.updateBatch(record.time, "running", patch))) return;
    const done = (await this.services.batchLog.getBatch(record.time))!;
    await this.cleanup(record.time);
    for (const l of this.listeners) l.onBatchCompleted?.(done);
    await this.startNext();
  }

  /**
   * Runs one delivery of a task. Throws on failure; the caller decides
   * between a retry and `failTask`.
   *
   * Timeline of two deliveries A and B of one task:
   *   A claims (lease) → B finds it busy, comes back later → A runs, completes
   *   → B comes back, finds it done, and is dropped.
   * If A dies without releasing, its lease runs out and the next delivery runs
   * the task again; every write a task makes is idempotent, so that is safe.
   */
  async runTask(task: TaskMessage): Promise<TaskOutcome> {
    const { batchTime, stage, partition } = task;
    const log = this.services.batchLog;
    const record = await log.getBatch(batchTime);
    // A task of a batch that is no longer running (completed, failed, or cleaned up) is a late duplicate.
    if (!record || record.status !== "running") return { kind: "skipped" };
    const summary = record.stages[stage];
    if (!summary || partition >= summary.numTasks) {
      throw new NonDeterministicPlanError(`Task ${stage}/${partition} of batch ${batchTime} does not exist in its batch record.`);
    }
    const owner = `${this.processId}-${++this.attempts}`;
    const now = this.clock.now();
    const claim = await log.claimTask(batchTime, stage, partition, owner, now + this.taskLeaseMs, now);
    if (claim === "done") return { kind: "skipped" };
    if (claim === "busy") return { kind: "busy", retryAfterMs: Math.min(1000, this.taskLeaseMs) };
    try {
      const plan = await this.planFor(record);
      const tc = new TaskContext(plan, `${stage}/${partition}`, {}, stage);
      await plan.runTask(stage, partition, tc);
      const c = await log.completeTask(batchTime, stage, partition);
      if (!c.first) return { kind: "ran" };
      if (Object.keys(tc.counters).length) await log.addCounters(batchTime, tc.counters);
      await faultPoint("worker.after-complete");
      if (c.completed === summary.numTasks) await this.sendFrom(record, stage + 1);
      return { kind: "ran" };
    } catch (e) {
      const failed = await log.releaseTask(batchTime, stage, partition, owner).catch(() => undefined);
      // The worker fails the batch by failed attempts, not by deliveries (a redelivery after a kill or a busy claim is no failure).
      if (failed !== undefined && e !== null && typeof e === "object") Object.defineProperty(e, "failedAttempts", { value: failed, configurable: true });
      throw e;
    }
  }

  /** Marks the task's batch failed after its last attempt. */
  async failTask(task: TaskMessage, error: unknown, attempts: number): Promise<void> {
    const record = await this.services.batchLog.getBatch(task.batchTime);
    const stageId = record?.stages[task.stage]?.id ?? String(task.stage);
    const message = error instanceof Error ? error.message : String(error);
    const failure = new TaskFailedError(
      `Task ${stageId} partition ${task.partition} of batch ${task.batchTime} failed ${attempts} time(s); the batch has failed: ${message}`,
      task.batchTime, stageId, task.partition, attempts, { cause: error },
    );
    if (await this.services.batchLog.updateBatch(task.batchTime, "running", { status: "failed", error: failure.message, completedAt: this.clock.now() })) {
      const failed = (await this.services.batchLog.getBatch(task.batchTime))!;
      for (const l of this.listeners) l.onBatchFailed?.(failed, failure);
    }
  }

  /** Drops what no later batch can read: this batch's shuffles, results older than each stream remembers. */
  private async cleanup(time: number): Promise<void> {
    this.plans.delete(time);
    await this.services.shuffles.deleteBatch(time);
    for (const s of this.graph.reachable) {
      const stream = s as DStream<unknown>;
      if (stream.isPersisted && !stream.spec.readStored) {
        await this.services.blocks.deleteBefore(stream.id, time - stream.rememberDuration!.milliseconds);
      }
    }
    const keep = this.graph.maxRemember().milliseconds + HISTORY_BATCHES * this.graph.batchDuration.milliseconds;
    await this.services.batchLog.deleteBatchesBefore(time - keep);
  }
}

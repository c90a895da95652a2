/**
 * Per-partition actions inside an output operation, on the workers.
 *
 * An output operation's function (`foreachRDD`'s, saveAsTextFiles') is
 * driver code: it runs once per batch, in the coordinator, as Spark runs it
 * on the driver. The actions it calls that work per partition
 * (`foreachPartition`, `foreach`, `saveAsTextFile`) are Spark's jobs of one
 * task per partition. In a fanned-out batch they run that way here: one task per
 * partition, sent to the workers like a stage's tasks, each computing its
 * partition and calling the action's function with it.
 *
 * A JavaScript function cannot be sent to another process, so a worker gets
 * the action's function the way it gets the pipeline: it plans the batch
 * from the app module, then calls the output function with the batch's RDD
 * again. The `index`-th per-partition action the function calls is the
 * task's: the worker computes the task's partition, calls the action's
 * function with it, and stops the output function there (OutputReached).
 * Earlier per-partition actions are skipped (the coordinator ran them), and
 * so are saveAsTextFile's driver-side steps (its `_SUCCESS` marker).
 *
 * That replay must reach the same action: the function's code before it
 * may branch on the values of earlier actions (`if (!(await rdd.isEmpty()))`,
 * `const n = await rdd.count()`). The coordinator records each value an
 * action returns in the function, in order, and sends them with the task; the
 * replay's actions return those values instead of computing them. That holds
 * while the order of the function's actions cannot depend on timing or on
 * what a worker cannot see: so an action goes to the workers only while the
 * function has called its actions one at a time, every value was a primitive
 * (not the array of `collect` or `take`, nor a `StatCounter`) and it read no
 * accumulator's driver value. From the first action that breaks this on, its
 * actions run in the coordinator, as in a batch that runs in process. An
 * action also stays here when its RDD reads what only the coordinator holds
 * (state, stored results) or a shuffle the batch did not plan (one made
 * inside the function), and `saveAsTextFile` to a local directory does.
 *
 * What the output function does outside actions before a per-partition
 * action runs again in each of its tasks: keep it free of side effects, as
 * the functions given to `transform` must be.
 *
 * Failures: a task's attempts and dead workers are handled as for any stage
 * (fan-out.ts). If the output function fails and runs again, its actions are
 * sent under a new run of it (OutputActionRef.run), so the claims of the
 * last run never hold them back; output operations are at-least-once, as in
 * Spark.
 */
import { IllegalStateError, NonDeterministicPlanError } from "../core/errors.js";
import type { RDD } from "../rdd/rdd.js";
import { currentTaskContext, type OutputActions } from "../rdd/scope.js";
import type { OutputActionRef } from "../storage/interfaces.js";
import { taskReads } from "./fan-out.js";

/**
 * Runs one per-partition action's tasks on the workers, with the values earlier actions returned, and
 * returns when each has succeeded; `signal` abandons them (the function failed, or runs again).
 */
export type DispatchAction = (rdd: RDD<unknown>, action: OutputActionRef, values: readonly unknown[], signal: AbortSignal) => Promise<void>;

/** Whether every partition of `rdd` can be computed by a worker: it reads no coordinator memory and only planned shuffles. */
export function computableOnWorkers(rdd: RDD<unknown>): boolean {
  if (rdd.numPartitions === 0) return false;
  for (let p = 0; p < rdd.numPartitions; p++) {
    const r = taskReads(rdd, p);
    if (r.memory || r.shuffles.some((s) => !rdd.scope.isPlannedShuffle(s.dep))) return false;
  }
  return true;
}

/** A value a worker's replay can be given back exactly (the codec keeps NaN, -0, bigint): a primitive. */
const replayable = (v: unknown): boolean => v === null || (typeof v !== "object" && typeof v !== "function" && typeof v !== "symbol");

/**
 * The coordinator's side, in a fanned-out batch: each per-partition action it can send, it sends.
 * Replay needs the function's actions in one order, whatever their timing: so only while the
 * function calls them one at a time (no action starts while another runs), and only while every
 * value it was given back is a primitive and it read no accumulator's driver value. From the first
 * action that breaks this on, its actions run here.
 */
export class DriverOutputActions implements OutputActions {
  readonly replaying = false;
  readonly run: number;
  private next = 0;
  /** The values the function's actions returned, in order, while each could be replayed. */
  private readonly values: unknown[] = [];
  private replayable = true;
  /** Actions running now. */
  private active = 0;
  private readonly abandon = new AbortController();

  constructor(
    private readonly dispatch: DispatchAction,
    private readonly nextRun: () => number,
  ) {
    this.run = nextRun();
  }

  async perPartition(rdd: RDD<unknown>, _runPartition: unknown, runHere: () => Promise<void>, mayLeave: boolean): Promise<void> {
    const index = this.next++;
    this.enter();
    try {
      if (!this.replayable || !mayLeave || !computableOnWorkers(rdd)) await runHere();
      else await this.dispatch(rdd, { index, run: this.run }, [...this.values], this.abandon.signal);
    } finally {
      this.active--;
    }
  }
  async value<R>(compute: () => Promise<R>): Promise<R> {
    this.enter();
    let v: R;
    try {
      v = await compute();
    } catch (e) {
      this.replayable = false;
      throw e;
    } finally {
      this.active--;
    }
    if (this.replayable && replayable(v)) this.values.push(v);
    else this.replayable = false;
    return v;
  }
  driverRead(): void {
    this.replayable = false;
  }
  restart(): OutputActions {
    this.abandon.abort(new IllegalStateError(`Run ${this.run} of an output function ended: the tasks of its per-partition actions are abandoned.`));
    return new DriverOutputActions(this.dispatch, this.nextRun);
  }

  /** An action starts: one that starts while another runs makes the order timing-dependent. */
  private enter(): void {
    if (this.active > 0) this.replayable = false;
    this.active++;
  }
}

/** Thrown in a worker to stop the output function once its task's action has run. */
export class OutputReached extends Error {
  constructor() {
    super("The output function reached this task's action; the rest of it is the coordinator's.");
    this.name = "OutputReached";
  }
}

/**
 * A worker's side: the output function runs again to its task's action, which runs the task's
 * partition only; the actions before it return the coordinator's values, and any action called once
 * it started waits for it, then stops the function too.
 */
export class ReplayOutputActions implements OutputActions {
  readonly replaying = true;
  private next = 0;
  private nextValue = 0;
  /** The task's partition, once its action started. */
  private started: Promise<void> | undefined;
  /** Set once the task's partition ran. */
  reached = false;

  constructor(
    private readonly stageId: string,
    private readonly action: OutputActionRef,
    private readonly partition: number,
    private readonly numTasks: number,
    private readonly values: readonly unknown[],
  ) {}

  get run(): number {
    return this.action.run;
  }

  async perPartition(rdd: RDD<unknown>, runPartition: (p: number) => Promise<void>): Promise<void> {
    // Checked before any await: a call made at once with the task's action (Promise.all) sees it started.
    if (this.started) return this.stopAfter(this.started);
    const index = this.next++;
    if (index < this.action.index) return;
    if (index > this.action.index || rdd.numPartitions !== this.numTasks || this.nextValue !== this.values.length) {
      throw this.differs(`its action ${index} on ${rdd.numPartitions} partition(s), after ${this.nextValue} action(s) that return a value`);
    }
    // The output function's own updates of accumulators were the coordinator's to count: only the
    // action's function, on this task's partition, adds to the task's.
    currentTaskContext()?.accumulators.restore(new Map());
    this.started = runPartition(this.partition).then(() => {
      this.reached = true;
    });
    await this.started;
    throw new OutputReached();
  }
  async value<R>(): Promise<R> {
    if (this.started) return this.stopAfter(this.started);
    const i = this.nextValue++;
    if (i >= this.values.length) throw this.differs(`${i + 1} action(s) that return a value first`);
    return this.values[i] as R;
  }
  driverRead(): void {}
  restart(): OutputActions {
    return new ReplayOutputActions(this.stageId, this.action, this.partition, this.numTasks, this.values);
  }

  /** Once the task's action started, nothing else of the function runs here. */
  private async stopAfter(started: Promise<void>): Promise<never> {
    await started.catch(() => undefined);
    throw new OutputReached();
  }

  private differs(what: string): NonDeterministicPlanError {
    return new NonDeterministicPlanError(
      `Output ${this.stageId} called ${what} here, but the coordinator sent its per-partition action ${this.action.index} on ${this.numTasks} partition(s), after ${this.values.length} action(s) that return a value, to the workers. An output function must call the same actions every time it runs with the same batch: no randomness, clock reads or environment-dependent branches before them.`,
    );
  }
}

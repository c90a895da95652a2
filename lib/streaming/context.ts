/**
 * StreamingContext: the entry point, with Spark's lifecycle.
 *
 * It owns the DStream graph, the engine (storage and transport), the clock,
 * and, once started, the in-process runtime: a generator that creates a
 * batch at every interval boundary and a pool of task runners fed from the
 * task queue. That is the same coordinator/worker split the Lambda
 * handlers use, run in one process.
 *
 * Lifecycle, as Spark's: INITIALIZED → start() → ACTIVE → stop() → STOPPED.
 * Streams and outputs can be added only while INITIALIZED; one context is
 * active at a time; a stopped context cannot be restarted.
 */
import { SystemClock, type Clock } from "../core/clock.js";
import { Duration, Time } from "../core/duration.js";
import { IllegalStateError, IncompatibleUpgradeError, InvalidArgumentError, SparklessError, TaskFailedError, describe, requirePositiveInt } from "../core/errors.js";
import { DStream, transformStreams, unionStreams, type StreamingContextLike } from "../dstream/dstream.js";
import { queueInputSpec, testInputSpec } from "../dstream/input.js";
import { kinesisInputSpec, type KinesisStreamOptions } from "../dstream/kinesis-input.js";
import type { RDD } from "../rdd/rdd.js";
import { BatchScheduler, failedAttemptsOf, type SchedulerListener } from "../scheduler/scheduler.js";
import type { BatchRecord, EngineServices } from "../storage/interfaces.js";
import { MemoryEngineServices } from "../storage/memory.js";
import { DStreamGraph, upgradeProblems, type DurableOperation } from "./graph.js";

/** Refuses to resume from `latest` when the new graph cannot read its stored data. */
export function checkUpgrade(latest: BatchRecord, fingerprint: readonly DurableOperation[]): void {
  if (!latest.fingerprint) return;
  const problems = upgradeProblems(latest.fingerprint, fingerprint);
  if (problems.length) {
    throw new IncompatibleUpgradeError(
      `This version of the app cannot resume from the data of batch ${latest.time}: ${problems.join("; ")}. ` +
        `Keep the old operations (name them with setName to pin their ids), or start over: delete the app's batches and state (\`sparkless reset --app NAME\`, or new table names).`,
      problems,
    );
  }
}

export type StreamingContextState = "INITIALIZED" | "ACTIVE" | "STOPPED";

/** Storage and transport, plus an optional way to release them. */
export interface Engine extends EngineServices {
  close?(): Promise<void>;
}

export interface StreamingContextOptions {
  /** The batch interval. Must be > 0. */
  batchInterval: Duration;
  /** The application's name, used in logs and as the storage namespace. @default "sparkless" */
  appName?: string;
  /** The clock batches are scheduled by. @default SystemClock */
  clock?: Clock;
  /** Storage and transport. @default a new in-memory engine */
  engine?: Engine;
  /** Partitions of keyed operations when none is given (Spark's spark.default.parallelism). @default 2 */
  defaultParallelism?: number;
  /** Task runners in this process. @default 2 */
  workers?: number;
  /** Attempts per task before its batch fails (Spark's spark.task.maxFailures). @default 4 */
  maxTaskAttempts?: number;
  /** Delay before a failed task is retried, doubled on every attempt. @default 50 */
  retryDelayMs?: number;
  /** Where print() writes. @default a line to standard output */
  print?: (line: string) => void;
}

export interface StopOptions {
  /** Also close the engine (the in-memory stores, or the engine's connections). @default true */
  stopEngine?: boolean;
  /** Wait for every generated batch to complete first. @default false */
  stopGracefully?: boolean;
}

export interface StreamingListener {
  onBatchCompleted?(record: BatchRecord): void;
  onBatchFailed?(record: BatchRecord, error: TaskFailedError): void;
}

export class StreamingContext implements StreamingContextLike {
  private static active: StreamingContext | undefined;

  readonly graph: DStreamGraph;
  readonly engine: Engine;
  readonly clock: Clock;
  readonly appName: string;
  readonly defaultParallelism: number;
  private readonly options: Required<Pick<StreamingContextOptions, "workers" | "maxTaskAttempts" | "retryDelayMs">>;
  private readonly printer: (line: string) => void;
  private state: StreamingContextState = "INITIALIZED";
  private abort = new AbortController();
  private generatorAbort = new AbortController();
  private loops: Promise<void>[] = [];
  private _scheduler: BatchScheduler | undefined;
  private failure: unknown;
  private readonly terminated: Promise<void>;
  private resolveTerminated!: () => void;
  private rejectTerminated!: (e: unknown) => void;
  private readonly listeners = new Set<StreamingListener>();
  private checkpointDir: string | undefined;

  constructor(batchInterval: Duration, options?: Omit<StreamingContextOptions, "batchInterval">);
  constructor(options: StreamingContextOptions);
  constructor(a: Duration | StreamingContextOptions, b: Omit<StreamingContextOptions, "batchInterval"> = {}) {
    const opts: StreamingContextOptions = a instanceof Duration ? { ...b, batchInterval: a } : a;
    if (!(opts?.batchInterval instanceof Duration) || opts.batchInterval.milliseconds <= 0) {
      throw new InvalidArgumentError(
        `Expected \`batchInterval\` to be a Duration > 0, got \`${describe(opts?.batchInterval?.toString?.() ?? opts?.batchInterval)}\`. Use Seconds(n), Milliseconds(n) or Minutes(n).`,
      );
    }
    this.appName = opts.appName ?? "sparkless";
    this.clock = opts.clock ?? new SystemClock();
    this.engine = opts.engine ?? new MemoryEngineServices();
    this.defaultParallelism = requirePositiveInt("defaultParallelism", opts.defaultParallelism ?? 2);
    this.options = {
      workers: requirePositiveInt("workers", opts.workers ?? 2),
      maxTaskAttempts: requirePositiveInt("maxTaskAttempts", opts.maxTaskAttempts ?? 4),
      retryDelayMs: opts.retryDelayMs ?? 50,
    };
    this.printer = opts.print ?? ((line) => process.stdout.write(line + "\n"));
    this.graph = new DStreamGraph(opts.batchInterval, this.defaultParallelism);
    this.terminated = new Promise<void>((res, rej) => { this.resolveTerminated = res; this.rejectTerminated = rej; });
    this.terminated.catch(() => undefined);
  }

  get batchDuration(): Duration { return this.graph.batchDuration; }
  /** The scheduler driving this context, once started. */
  get scheduler(): BatchScheduler | undefined { return this._scheduler; }
  getState(): StreamingContextState { return this.state; }

  // ---- StreamingContextLike ----------------------------------------------------------------

  registerStream(stream: DStream<unknown>): string {
    if (this.state === "ACTIVE") {
      throw new IllegalStateError("Adding new inputs, transformations, and output operations after starting a context is not supported. Build the whole pipeline before start().");
    }
    if (this.state === "STOPPED") {
      throw new IllegalStateError("Adding new inputs, transformations, and output operations after stopping a context is not supported. Create a new StreamingContext.");
    }
    const id = this.graph.add(stream, stream.kind);
    if (stream.spec.allocateBlocks) this.graph.inputs.push(stream);
    return id;
  }
  registerOutput(stream: DStream<unknown>): void { this.graph.outputs.push(stream); }
  renameStream(stream: DStream<unknown>, name: string): string {
    if (this.state !== "INITIALIZED") throw new IllegalStateError("Streams can be named only before start().");
    return this.graph.rename(stream, name);
  }
  printLine(line: string): void { this.printer(line); }

  // ---- inputs and graph-wide operations ----------------------------------------------------

  /** Spark's queueStream: each batch takes the next collection from `queue` (or all queued ones). */
  queueStream<T>(queue: T[][], oneAtATime = true, defaultBatch?: T[]): DStream<T> {
    if (!Array.isArray(queue)) throw new InvalidArgumentError(`Expected \`queue\` to be an array of arrays, got \`${describe(queue)}\`.`);
    return new DStream<T>(this, queueInputSpec(queue, oneAtATime, defaultBatch, () => this.engine));
  }
  /** @internal The input of runBatches: one array per batch. */
  testInputStream<T>(batches: readonly (readonly T[])[], numPartitions: number): DStream<T> {
    return new DStream<T>(this, testInputSpec(batches, numPartitions, () => this.engine, () => this.batchDuration.milliseconds, () => this.graph.zeroTime));
  }
  /** Records of a Kinesis stream, as UTF-8 strings unless `decode` says otherwise. */
  kinesisStream<T = string>(streamName: string, options: KinesisStreamOptions<T> = {}): DStream<T> {
    return new DStream<T>(this, kinesisInputSpec<T>(streamName, options, () => this.engine, () => this.batchDuration.milliseconds));
  }
  union<T>(streams: DStream<T>[]): DStream<T> { return unionStreams(this, streams); }
  transform<T>(streams: DStream<any>[], f: (rdds: RDD<unknown>[], time: Time) => RDD<T>): DStream<T> {
    return transformStreams(this, streams, f);
  }
  /** Keeps every stream's results at least this long (Spark's remember). */
  remember(duration: Duration): void {
    if (this.state !== "INITIALIZED") throw new IllegalStateError("remember() must be called before start().");
    this.graph.remember(duration);
  }
  /**
   * Spark's checkpoint directory. Sparkless keeps state and metadata in its
   * engine's stores (DynamoDB on AWS), so this only records the location.
   */
  checkpoint(directory: string): void { this.checkpointDir = directory; }
  get checkpointDirectory(): string | undefined { return this.checkpointDir; }

  addStreamingListener(listener: StreamingListener): void { this.listeners.add(listener); }
  removeStreamingListener(listener: StreamingListener): void { this.listeners.delete(listener); }

  // ---- lifecycle -----------------------------------------------------------------------------

  static getActive(): StreamingContext | undefined { return StreamingContext.active; }

  /**
   * Spark's getOrCreate: `create()` builds the context and its pipeline; if
   * the engine already holds batches of this app (a restart), the context
   * resumes from them: same zero time, input positions and state, batches
   * left unfinished are completed first. A graph that cannot resume from the
   * stored data is refused with an IncompatibleUpgradeError.
   */
  static async getOrCreate(create: () => StreamingContext): Promise<StreamingContext> {
    const ssc = create();
    const latest = await ssc.engine.batchLog.latestBatch();
    if (latest) {
      checkUpgrade(latest, ssc.graph.fingerprint());
      ssc.recovery = latest;
    }
    return ssc;
  }
  private recovery: BatchRecord | undefined;
  /** True when getOrCreate found earlier batches and start() resumes from them. */
  get recovered(): boolean { return this.recovery !== undefined; }
  static getActiveOrCreate(create: () => StreamingContext): StreamingContext { return StreamingContext.active ?? create(); }

  /**
   * Fixes the graph at `zeroTime` and returns its scheduler without starting
   * any loop: the Lambda handlers drive it (the coordinator generates
   * batches, workers run tasks). Every process of an app uses the zero time
   * recorded with its batches.
   */
  prepare(zeroTime: number, options: { taskLeaseMs?: number } = {}): BatchScheduler {
    if (this._scheduler) return this._scheduler;
    if (this.state !== "INITIALIZED") throw new IllegalStateError(`prepare() needs a new context; this one is ${this.state}.`);
    this.graph.validate();
    this.graph.start(new Time(zeroTime));
    this._scheduler = new BatchScheduler(this.graph, this.engine, this.clock, options);
    this._scheduler.addListener(this.schedulerListener);
    return this._scheduler;
  }

  /** Starts generating batches. Throws if the graph is invalid, the context is stopped, or another is active. */
  start(): void {
    if (this.state === "ACTIVE") return;
    if (this.state === "STOPPED") throw new IllegalStateError("StreamingContext has already been stopped: a stopped context cannot be restarted. Create a new StreamingContext.");
    const other = StreamingContext.active;
    if (other && other !== this) {
      throw new IllegalStateError(`Only one StreamingContext may be active at a time; "${other.appName}" is active. Stop it first with ssc.stop().`);
    }
    this.graph.validate();
    const interval = this.batchDuration.milliseconds;
    const recovery = this.recovery;
    const startTime = recovery ? recovery.time + interval : (Math.floor(this.clock.now() / interval) + 1) * interval;
    this.graph.start(new Time(recovery?.zeroTime ?? startTime - interval));
    const scheduler = new BatchScheduler(this.graph, this.engine, this.clock);
    scheduler.addListener(this.schedulerListener);
    this._scheduler = scheduler;
    this.state = "ACTIVE";
    StreamingContext.active = this;
    this.loops.push(this.generatorLoop(scheduler, startTime, this.generatorAbort.signal, recovery !== undefined));
    for (let i = 0; i < this.options.workers; i++) this.loops.push(this.workerLoop(scheduler, this.abort.signal));
  }

  private readonly schedulerListener: SchedulerListener = {
    onBatchCompleted: (r) => { for (const l of this.listeners) l.onBatchCompleted?.(r); },
    onBatchFailed: (r, e) => {
      for (const l of this.listeners) l.onBatchFailed?.(r, e);
      this.fail(e);
    },
  };

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error;
    this.rejectTerminated(error);
  }

  private async generatorLoop(scheduler: BatchScheduler, startTime: number, signal: AbortSignal, resume: boolean): Promise<void> {
    const interval = this.batchDuration.milliseconds;
    try {
      if (resume) {
        // Batches the previous run left unfinished go first: started, or their missing tasks resent.
        await scheduler.startNext();
        await scheduler.recoverStalled(0);
      } else {
        const earlier = await this.engine.batchLog.listBatches({ fromTime: startTime });
        if (earlier.length) {
          throw new IllegalStateError(
            `The engine already holds batches up to ${earlier[earlier.length - 1]!.time} ms from an earlier run. Use StreamingContext.getOrCreate(() => ssc) to resume them, or give this context a new engine.`,
          );
        }
      }
      for (let t = startTime; !signal.aborted; t += interval) {
        await this.clock.waitUntil(t, signal);
        await scheduler.generateBatch(new Time(t));
      }
    } catch (e) {
      if (!signal.aborted) this.fail(e);
    }
  }

  private async workerLoop(scheduler: BatchScheduler, signal: AbortSignal): Promise<void> {
    const queue = this.engine.queue;
    while (!signal.aborted) {
      let received;
      try {
        received = await queue.receive({ max: 1, waitMs: 1000, signal });
      } catch (e) {
        if (!signal.aborted) this.fail(e);
        return;
      }
      for (const m of received) {
        try {
          const outcome = await scheduler.runTask(m.task);
          if (outcome.kind === "busy") await queue.release(m.receipt, outcome.retryAfterMs);
          else await queue.ack(m.receipt);
        } catch (e) {
          const failures = failedAttemptsOf(e) ?? m.receiveCount;
          if (failures >= this.options.maxTaskAttempts) {
            await scheduler.failTask(m.task, e, failures).catch((err) => this.fail(err));
            await queue.ack(m.receipt);
          } else {
            await queue.release(m.receipt, this.options.retryDelayMs * 2 ** (m.receiveCount - 1));
          }
        }
      }
    }
  }

  /** Resolves when the context stops; rejects with the error if a batch fails. */
  awaitTermination(timeoutMs?: number): Promise<void> {
    if (timeoutMs === undefined) return this.terminated;
    return this.awaitTerminationOrTimeout(timeoutMs).then(() => undefined);
  }
  /** Resolves true if the context stopped within `timeoutMs`, false otherwise; rejects if a batch fails. */
  awaitTerminationOrTimeout(timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.terminated.then(() => { clearTimeout(timer); resolve(true); }, (e) => { clearTimeout(timer); reject(e); });
    });
  }

  /** Resolves with the batch record once batch `time` completes; rejects if it fails or the context fails. */
  waitForBatch(time: number): Promise<BatchRecord> {
    return new Promise<BatchRecord>((resolve, reject) => {
      const listener: StreamingListener = {
        onBatchCompleted: (r) => { if (r.time === time) { this.listeners.delete(listener); resolve(r); } },
        onBatchFailed: (r, e) => { if (r.time <= time) { this.listeners.delete(listener); reject(e); } },
      };
      this.listeners.add(listener);
      this.terminated.catch((e) => { this.listeners.delete(listener); reject(e); });
      void this.engine.batchLog.getBatch(time).then((r) => {
        if (r?.status === "completed") { this.listeners.delete(listener); resolve(r); }
        else if (r?.status === "failed") { this.listeners.delete(listener); reject(new SparklessError(`Batch ${time} failed: ${r.error}`)); }
      });
    });
  }

  /**
   * Stops the context: no new batches, task runners finish their current task.
   * `stop(false)` or `{ stopEngine: false }` keeps the engine for another context.
   */
  async stop(stopEngine: boolean | StopOptions = true, stopGracefully = false): Promise<void> {
    const opts: StopOptions = typeof stopEngine === "object" ? stopEngine : { stopEngine, stopGracefully };
    if (this.state === "STOPPED") return;
    const wasActive = this.state === "ACTIVE";
    this.state = "STOPPED";
    const reason = new SparklessError("StreamingContext stopped");
    this.generatorAbort.abort(reason);
    if (wasActive && opts.stopGracefully && !this.failure) await this.drain();
    this.abort.abort(reason);
    await Promise.allSettled(this.loops);
    if (StreamingContext.active === this) StreamingContext.active = undefined;
    if (opts.stopEngine ?? true) await this.engine.close?.();
    this.resolveTerminated();
  }

  /** Waits until every generated batch has completed (or one failed). */
  private async drain(): Promise<void> {
    for (;;) {
      const batches = await this.engine.batchLog.listBatches();
      const open = batches.filter((b) => b.status === "generated" || b.status === "running");
      if (open.length === 0 || batches.some((b) => b.status === "failed")) return;
      await this.waitForBatch(open[open.length - 1]!.time).catch(() => undefined);
    }
  }
}

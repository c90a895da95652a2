/**
 * StreamingContext: the entry point, with Spark's lifecycle.
 *
 * It owns the DStream graph, the engine (storage and transport) and the
 * clock, and, once started, runs the app in this process with the very
 * code the Lambda functions run: the coordinator's loop (the batch clock,
 * the job generator, checkpoints) and, for batches that fan out, a pool of
 * workers fed from the engine's task queue.
 *
 * Lifecycle, as Spark's: INITIALIZED → start() → ACTIVE → stop() → STOPPED.
 * Streams and outputs can be added only while INITIALIZED; one context is
 * active at a time; a stopped context cannot be restarted.
 */
import { randomUUID } from "node:crypto";
import { SystemClock, type Clock } from "../core/clock.js";
import { Duration, Time } from "../core/duration.js";
import { IllegalStateError, IncompatibleUpgradeError, InvalidArgumentError, SparklessError, describe, requirePositiveInt } from "../core/errors.js";
import type { CheckpointerOptions } from "../checkpoint/checkpointer.js";
import { DStream, requireStateBackend, transformStreams, unionStreams, type StateBackend, type StreamingContextLike } from "../dstream/dstream.js";
import { queueInputSpec, testInputSpec } from "../sources/memory/input.js";
import { kinesisInputSpec, type KinesisStreamOptions } from "../sources/kinesis/input.js";
import { textFileStreamSpec, type TextFileStreamOptions } from "../sources/s3/text-file-stream.js";
import { setRecordErrorPolicy, type InputOptions, type RecordErrorPolicy } from "../dstream/record-errors.js";
import type { RDD } from "../rdd/rdd.js";
import { runCoordinatorLoop } from "../scheduler/coordinator-loop.js";
import type { FanOutOptions } from "../scheduler/fan-out.js";
import { JobGenerator, type ExecutionOptions, type GeneratorListener } from "../scheduler/job-generator.js";
import { pollTasks, TaskRunner } from "../scheduler/task-runner.js";
import type { AppInfo, BatchRecord, EngineServices } from "../storage/interfaces.js";
import { MemoryEngineServices } from "../storage/memory.js";
import { DStreamGraph, upgradeProblems, type DurableOperation } from "./graph.js";
import type { StreamingListener } from "./listener.js";
import { SparkContext } from "./shared-variables.js";

/** Refuses to resume an app whose stored data this graph (or batch interval) cannot read. */
export function checkUpgrade(info: AppInfo, fingerprint: readonly DurableOperation[], batchIntervalMs: number): void {
  const problems = upgradeProblems(info.fingerprint, fingerprint);
  if (info.batchIntervalMs !== batchIntervalMs) {
    problems.unshift(`the batch interval was ${info.batchIntervalMs} ms and is now ${batchIntervalMs} ms (batch times and state would not line up)`);
  }
  if (problems.length) {
    throw new IncompatibleUpgradeError(
      `This version of the app cannot resume from its stored batches and state: ${problems.join("; ")}. ` +
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
  /** Workers in this process, for stages of batches that fan out. @default 2 */
  workers?: number;
  /** Attempts per task before its batch fails (Spark's spark.task.maxFailures). @default 4 */
  maxTaskAttempts?: number;
  /** Delay before a failed task is retried, doubled on every attempt. @default 50 */
  retryDelayMs?: number;
  /** Where print() writes. @default a line to standard output */
  print?: (line: string) => void;
  /**
   * Where batches run: in the coordinator, or fanned out to workers (see ExecutionOptions). @default { mode: "auto" }, or
   * "in-process" on the in-memory engine made for this context (its workers would share this process, so fanning out
   * only adds the messages' encoding)
   */
  execution?: ExecutionOptions;
  /** The state backend of stateful operations that do not choose one. @default "memory" */
  stateBackend?: StateBackend;
  /**
   * What to do with an input record a user function throws on, for inputs that do not choose
   * (`InputOptions.onRecordError`): "quarantine" sets it aside (with its coordinates, counted in the
   * batch's `quarantinedRecords`) and the batch goes on; "fail" fails the batch, as in Spark, after
   * `maxTaskAttempts`, and a failed batch stops the app (see lib/dstream/record-errors.ts).
   * @default "quarantine"
   */
  onRecordError?: RecordErrorPolicy;
  /**
   * Checkpoints: `interval` replaces Spark's default interval (the smallest multiple of a stream's slide
   * that is at least 10 s) for every stream without its own `checkpoint(interval)`; the rest says how
   * deltas chain between full copies.
   */
  checkpoint?: CheckpointerOptions & { interval?: Duration };
  /** Claims, resends and inline limits of fanned-out stages. */
  fanOut?: FanOutOptions;
}

export interface StopOptions {
  /** Also close the engine (the in-memory stores, or the engine's connections). @default true */
  stopEngine?: boolean;
  /** Finish the batch running now, write the log and checkpoint the state first. @default false */
  stopGracefully?: boolean;
}

export type { StreamingListener } from "./listener.js";

export class StreamingContext implements StreamingContextLike {
  private static active: StreamingContext | undefined;

  readonly graph: DStreamGraph;
  readonly engine: Engine;
  /** The engine is the in-memory one made for this context. */
  private readonly ownEngine: boolean;
  readonly clock: Clock;
  readonly appName: string;
  readonly defaultParallelism: number;
  readonly defaultStateBackend: StateBackend;
  private readonly options: Required<Pick<StreamingContextOptions, "workers" | "maxTaskAttempts" | "retryDelayMs">> & StreamingContextOptions;
  private readonly printer: (line: string) => void;
  private state: StreamingContextState = "INITIALIZED";
  /** Stops the batch clock between batches. */
  private readonly stopping = new AbortController();
  /** Stops the in-process workers, and a batch waiting on them. */
  private readonly aborting = new AbortController();
  /** The coordinator's loop, and the workers' loops. */
  private coordinating: Promise<void> | undefined;
  private loops: Promise<void>[] = [];
  private _generator: JobGenerator | undefined;
  private failure: unknown;
  private readonly terminated: Promise<void>;
  private resolveTerminated!: () => void;
  private rejectTerminated!: (e: unknown) => void;
  private readonly listeners = new Set<StreamingListener>();
  private readonly completedTimes = new Set<number>();
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
    this.engine = opts.engine ?? new MemoryEngineServices({ clock: this.clock });
    this.ownEngine = !opts.engine;
    this.defaultParallelism = requirePositiveInt("defaultParallelism", opts.defaultParallelism ?? 2);
    this.defaultStateBackend = requireStateBackend(opts.stateBackend ?? "memory");
    setRecordErrorPolicy(this, opts.onRecordError);
    this.options = {
      ...opts,
      workers: requirePositiveInt("workers", opts.workers ?? 2),
      maxTaskAttempts: requirePositiveInt("maxTaskAttempts", opts.maxTaskAttempts ?? 4),
      retryDelayMs: opts.retryDelayMs ?? 50,
    };
    this.printer = opts.print ?? ((line) => process.stdout.write(line + "\n"));
    this.graph = new DStreamGraph(opts.batchInterval, this.defaultParallelism);
    this.graph.checkpointAtLeast = opts.checkpoint?.interval;
    this.sparkContext = new SparkContext(this.graph);
    this.terminated = new Promise<void>((res, rej) => {
      this.resolveTerminated = res;
      this.rejectTerminated = rej;
    });
    this.terminated.catch(() => undefined);
  }

  /**
   * Spark's `ssc.sparkContext`, for shared variables: `broadcast(value)`, `longAccumulator(name)`,
   * `doubleAccumulator(name)`, `collectionAccumulator(name)`, `register(acc, name)` (see
   * lib/streaming/shared-variables.ts).
   */
  readonly sparkContext: SparkContext;

  get batchDuration(): Duration {
    return this.graph.batchDuration;
  }
  /** The job generator running this context's batches, once started. */
  get generator(): JobGenerator | undefined {
    return this._generator;
  }
  getState(): StreamingContextState {
    return this.state;
  }

  // ---- StreamingContextLike ----------------------------------------------------------------

  registerStream(stream: DStream<unknown>): string {
    if (this.state === "ACTIVE") {
      throw new IllegalStateError(
        "Adding new inputs, transformations, and output operations after starting a context is not supported. Build the whole pipeline before start().",
      );
    }
    if (this.state === "STOPPED") {
      throw new IllegalStateError(
        "Adding new inputs, transformations, and output operations after stopping a context is not supported. Create a new StreamingContext.",
      );
    }
    const id = this.graph.add(stream, stream.kind);
    if (stream.spec.allocateBlocks) this.graph.inputs.push(stream);
    return id;
  }
  registerOutput(stream: DStream<unknown>): void {
    this.graph.outputs.push(stream);
  }
  renameStream(stream: DStream<unknown>, name: string): string {
    if (this.state !== "INITIALIZED") throw new IllegalStateError("Streams can be named only before start().");
    return this.graph.rename(stream, name);
  }
  printLine(line: string): void {
    this.printer(line);
  }
  /** Once started (or stopped), streams can no longer be configured. */
  get started(): boolean {
    return this.state !== "INITIALIZED";
  }

  // ---- inputs and graph-wide operations ----------------------------------------------------

  /**
   * Spark's queueStream: each batch takes the next collection from `queue` (or all queued ones).
   * `options.onRecordError` overrides the context's policy for this input.
   */
  queueStream<T>(queue: T[][], oneAtATime = true, defaultBatch?: T[], options: InputOptions = {}): DStream<T> {
    if (!Array.isArray(queue)) throw new InvalidArgumentError(`Expected \`queue\` to be an array of arrays, got \`${describe(queue)}\`.`);
    const stream = new DStream<T>(
      this,
      queueInputSpec(queue, oneAtATime, defaultBatch, () => this.engine),
    );
    setRecordErrorPolicy(stream, options.onRecordError);
    return stream;
  }
  /** @internal The input of runBatches: one array per batch. */
  testInputStream<T>(batches: readonly (readonly T[])[], numPartitions: number): DStream<T> {
    return new DStream<T>(
      this,
      testInputSpec(
        batches,
        numPartitions,
        () => this.engine,
        () => this.batchDuration.milliseconds,
        () => this.graph.zeroTime,
      ),
    );
  }
  /**
   * Records of a Kinesis stream, as UTF-8 strings unless `decode` says otherwise. `onRecordError`
   * overrides the context's policy for this input.
   */
  kinesisStream<T = string>(streamName: string, options: KinesisStreamOptions<T> & InputOptions = {}): DStream<T> {
    const stream = new DStream<T>(
      this,
      kinesisInputSpec<T>(
        streamName,
        options,
        () => this.engine,
        () => this.batchDuration.milliseconds,
      ),
    );
    setRecordErrorPolicy(stream, options.onRecordError);
    return stream;
  }
  /**
   * Spark's textFileStream: the lines of the objects that appear directly under an S3 prefix
   * (`"s3://bucket/prefix/"`), each object read once, in the first batch after it appears. Options are
   * Spark's fileStream arguments: `newFilesOnly`, `filter`, `minRememberDuration`; and `maxFilesPerBatch`;
   * `onRecordError` overrides the context's policy for this input.
   */
  textFileStream(directory: string, options: TextFileStreamOptions & InputOptions = {}): DStream<string> {
    const stream = new DStream<string>(
      this,
      textFileStreamSpec(
        directory,
        options,
        () => this.engine,
        () => this.batchDuration.milliseconds,
      ),
    );
    setRecordErrorPolicy(stream, options.onRecordError);
    return stream;
  }
  /** Spark's union of streams with one slide: `union([a, b])` (Scala's Seq) or `union(a, b, c)` (PySpark's varargs). */
  union<T>(streams: DStream<T>[]): DStream<T>;
  union<T>(...streams: DStream<T>[]): DStream<T>;
  union<T>(...args: (DStream<T> | DStream<T>[])[]): DStream<T> {
    const streams = args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as DStream<T>[]);
    for (const s of streams) {
      if (!(s instanceof DStream))
        throw new InvalidArgumentError(`Expected ssc.union's arguments to be DStreams (or one array of DStreams), got \`${describe(s)}\`.`);
    }
    return unionStreams(this, streams);
  }
  transform<T>(streams: DStream<any>[], f: (rdds: RDD<unknown>[], time: Time) => RDD<T>): DStream<T> {
    return transformStreams(this, streams, f);
  }
  /** Keeps every stream's results at least this long (Spark's remember). */
  remember(duration: Duration): void {
    if (this.state !== "INITIALIZED") throw new IllegalStateError("remember() must be called before start().");
    this.graph.remember(duration);
  }
  /**
   * Spark's checkpoint directory. Sparkless keeps checkpoints and its log in the engine's stores
   * (DynamoDB on AWS), so this only records the location.
   */
  checkpoint(directory: string): void {
    this.checkpointDir = directory;
  }
  get checkpointDirectory(): string | undefined {
    return this.checkpointDir;
  }

  addStreamingListener(listener: StreamingListener): void {
    this.listeners.add(listener);
  }
  removeStreamingListener(listener: StreamingListener): void {
    this.listeners.delete(listener);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  static getActive(): StreamingContext | undefined {
    return StreamingContext.active;
  }

  /**
   * Spark's getOrCreate: `create()` builds the context and its pipeline; if
   * the engine already holds this app (a restart), the context resumes it:
   * same zero time, input positions and state (from the latest checkpoint and
   * the batches after it), the batch left running run again. A graph that
   * cannot resume from the stored data is refused with an IncompatibleUpgradeError.
   */
  static async getOrCreate(create: () => StreamingContext): Promise<StreamingContext> {
    const ssc = create();
    const info = await ssc.engine.batchLog.getApp();
    if (info) {
      checkUpgrade(info, ssc.graph.fingerprint(), ssc.batchDuration.milliseconds);
      ssc.recovery = info;
    }
    return ssc;
  }
  private recovery: AppInfo | undefined;
  /** True when getOrCreate found an earlier run of the app and start() resumes it. */
  get recovered(): boolean {
    return this.recovery !== undefined;
  }
  static getActiveOrCreate(create: () => StreamingContext): StreamingContext {
    return StreamingContext.active ?? create();
  }

  /**
   * Fixes the graph at `zeroTime` without starting anything: the Lambda handlers and workers run it.
   * Every process of an app uses the zero time stored with the app.
   */
  prepare(zeroTime: number): DStreamGraph {
    if (this.graph.started) return this.graph;
    if (this.state !== "INITIALIZED") throw new IllegalStateError(`prepare() needs a new context; this one is ${this.state}.`);
    this.graph.validate();
    this.graph.start(new Time(zeroTime));
    return this.graph;
  }

  /** The execution options, with "in-process" as the default on this context's own in-memory engine. */
  private executionOptions(): ExecutionOptions | undefined {
    if (this.options.execution?.mode || !this.ownEngine) return this.options.execution;
    return { ...this.options.execution, mode: "in-process" };
  }

  /** The job generator for this context's graph (prepared), with the context's options. */
  newGenerator(writer?: string): JobGenerator {
    const g = new JobGenerator(this.graph, this.engine, this.clock, {
      writer,
      execution: this.executionOptions(),
      maxTaskAttempts: this.options.maxTaskAttempts,
      retryDelayMs: this.options.retryDelayMs,
      checkpoint: this.options.checkpoint,
      fanOut: { maxTaskAttempts: this.options.maxTaskAttempts, ...this.options.fanOut },
    });
    g.addListener(this.generatorListener);
    return g;
  }

  /** Starts the batch clock. Throws if the graph is invalid, the context is stopped, or another is active. */
  start(): void {
    if (this.state === "ACTIVE") return;
    if (this.state === "STOPPED")
      throw new IllegalStateError("StreamingContext has already been stopped: a stopped context cannot be restarted. Create a new StreamingContext.");
    const other = StreamingContext.active;
    if (other && other !== this) {
      throw new IllegalStateError(`Only one StreamingContext may be active at a time; "${other.appName}" is active. Stop it first with ssc.stop().`);
    }
    this.graph.validate();
    this.state = "ACTIVE";
    StreamingContext.active = this;
    this.post("onStreamingStarted", (l) => l.onStreamingStarted?.({ time: this.clock.now() }));
    // A new app's zero time is the boundary before now: its first batch is the next boundary.
    const interval = this.batchDuration.milliseconds;
    this.coordinating = this.run(Math.floor(this.clock.now() / interval) * interval);
  }

  /** The app in this process: the coordinator's loop, and workers for fanned-out stages. */
  private async run(newZeroTime: number): Promise<void> {
    try {
      const interval = this.batchDuration.milliseconds;
      let info = this.recovery ?? (await this.engine.batchLog.getApp());
      if (info && !this.recovery) {
        const latest = await this.engine.batchLog.latestBatch();
        if (latest && latest.time >= newZeroTime + interval) {
          throw new IllegalStateError(
            `The engine already holds batches up to ${latest.time} ms from an earlier run of this app. Use StreamingContext.getOrCreate(() => ssc) to resume it, or give this context a new engine.`,
          );
        }
        // An earlier run that ended before this one starts (a context stopped with stop(false)): this is a
        // new run of the app on the same engine, and nothing of the earlier run is read again.
        info = { zeroTime: newZeroTime, batchIntervalMs: interval, fingerprint: this.graph.fingerprint(), createdAt: this.clock.now() };
        await this.engine.batchLog.updateApp(info);
      }
      if (!info) {
        info = await this.engine.batchLog.createApp({
          zeroTime: newZeroTime,
          batchIntervalMs: interval,
          fingerprint: this.graph.fingerprint(),
          createdAt: this.clock.now(),
        });
      }
      this.graph.start(new Time(info.zeroTime));
      const generator = this.newGenerator();
      this._generator = generator;
      const runner = new TaskRunner(this.graph, this.engine, this.clock, {
        owner: `w-${randomUUID().slice(0, 8)}`,
        claimLeaseMs: this.options.fanOut?.claimLeaseMs,
      });
      for (let i = 0; i < this.options.workers; i++) this.loops.push(pollTasks(this.engine.tasks, runner, this.aborting.signal));
      const result = await runCoordinatorLoop(generator, this.clock, this.engine.lease, {
        owner: `ssc-${generator.writer}`,
        signal: this.stopping.signal,
        abort: this.aborting.signal,
      });
      if (result.failed) this.fail(result.failed);
      else if (result.lost) this.fail(result.lost);
      else if (!result.leader && !this.stopping.signal.aborted) {
        this.fail(
          new IllegalStateError(`Another coordinator holds the lease of app "${this.appName}": this context did not run. Stop the other one first.`),
        );
      }
    } catch (e) {
      if (!this.aborting.signal.aborted) this.fail(e);
    }
  }

  private readonly generatorListener: GeneratorListener = {
    onBatchSubmitted: (batchInfo) => this.post("onBatchSubmitted", (l) => l.onBatchSubmitted?.({ batchInfo })),
    onBatchStarted: (batchInfo) => this.post("onBatchStarted", (l) => l.onBatchStarted?.({ batchInfo })),
    onOutputOperationStarted: (outputOperationInfo) =>
      this.post("onOutputOperationStarted", (l) => l.onOutputOperationStarted?.({ outputOperationInfo })),
    onOutputOperationCompleted: (outputOperationInfo) =>
      this.post("onOutputOperationCompleted", (l) => l.onOutputOperationCompleted?.({ outputOperationInfo })),
    onBatchCompleted: (r, batchInfo) => {
      this.completedTimes.add(r.time);
      const event = { ...r, batchInfo };
      this.post("onBatchCompleted", (l) => l.onBatchCompleted?.(event));
    },
    onBatchFailed: (r, e) => {
      for (const l of this.listeners) l.onBatchFailed?.(r, e);
      this.fail(e);
    },
  };

  /** Calls every listener; one that throws is reported and skipped, as Spark's listener bus does. */
  private post(event: string, call: (l: StreamingListener) => void): void {
    for (const l of [...this.listeners]) {
      try {
        call(l);
      } catch (e) {
        process.emitWarning(
          `A StreamingListener threw in ${event}; the app goes on: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
          "SparklessListenerWarning",
        );
      }
    }
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error;
    this.rejectTerminated(error);
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
      this.terminated.then(
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /** Resolves with the batch record once batch `time` completes; rejects if it fails or the context fails. */
  waitForBatch(time: number): Promise<BatchRecord> {
    return new Promise<BatchRecord>((resolve, reject) => {
      const listener: StreamingListener = {
        onBatchCompleted: ({ batchInfo: _, ...r }) => {
          if (r.time === time) {
            this.listeners.delete(listener);
            resolve(r);
          }
        },
        onBatchFailed: (r, e) => {
          if (r.time <= time) {
            this.listeners.delete(listener);
            reject(e);
          }
        },
      };
      this.listeners.add(listener);
      this.terminated.catch((e) => {
        this.listeners.delete(listener);
        reject(e);
      });
      void this.engine.batchLog.getBatch(time).then(
        (r) => {
          if (r?.status === "completed" || this.completedTimes.has(time)) {
            this.listeners.delete(listener);
            resolve(r!);
          } else if (r?.status === "failed") {
            this.listeners.delete(listener);
            reject(new SparklessError(`Batch ${time} failed: ${r.error}`));
          }
        },
        () => undefined,
      );
    });
  }

  /**
   * Stops the context: no new batches. The batch running now finishes, the log is written and the
   * state checkpointed, so a later context resumes exactly here. `stop(false)` or
   * `{ stopEngine: false }` keeps the engine for another context.
   */
  async stop(stopEngine: boolean | StopOptions = true, stopGracefully = false): Promise<void> {
    const opts: StopOptions = typeof stopEngine === "object" ? stopEngine : { stopEngine, stopGracefully };
    if (this.state === "STOPPED") return;
    this.state = "STOPPED";
    const reason = new SparklessError("StreamingContext stopped");
    this.stopping.abort(reason);
    // The coordinator's loop first (its batch may wait on the workers), then the workers.
    await this.coordinating?.catch(() => undefined);
    this.aborting.abort(reason);
    await Promise.allSettled(this.loops);
    if (StreamingContext.active === this) StreamingContext.active = undefined;
    if (opts.stopEngine ?? true) await this.engine.close?.();
    this.resolveTerminated();
  }
}

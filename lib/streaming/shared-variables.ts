/**
 * Shared variables, as Spark's: broadcast variables (a read-only value every
 * task can read) and accumulators (values tasks only add to, read on the
 * driver). `ssc.sparkContext` creates them; this module owns their ids, where
 * a broadcast's value comes from in each process, and how a task's
 * accumulator updates reach the driver exactly once.
 *
 * **Ids and processes.** Every process of an app builds the graph from the
 * same app module, and plans each batch again from its record (see the
 * planner), so a shared variable created at the same point gets the same id
 * everywhere: those created while the graph is built are numbered in creation
 * order ("1", "2", ...); those created while a batch is planned (inside
 * `transform`) within the batch ("<batchTime>.1", ...); those created by an
 * output function (`foreachRDD`'s) within its run
 * ("<batchTime>.o<stage>.<run>.1", ...), so a worker that runs it again to a
 * per-partition action (lib/scheduler/output-actions.ts) names them as the
 * coordinator did, and a rerun's broadcast is written apart from the last's.
 *
 * **Broadcasts.** A broadcast created while the graph is built is *not*
 * shipped: every process computes it from the app module, as it builds the
 * graph itself, so it must be deterministic like the rest of the module
 * (built from constants, or from data every process reads alike). One created
 * while the coordinator plans a batch (a `transform` function refreshing a
 * lookup table, say) holds data of that moment: when the batch fans out, the
 * coordinator writes its value once to the blob store (S3), under the
 * batch's run (`inputs/<batchTime>/<runId>/broadcast-<id>`, expired with the
 * other task inputs after a day), and a worker that plans the batch again
 * reads the coordinator's value there, once per process, instead of its own.
 * One created inside `foreachRDD` is read in the coordinator, and by the
 * tasks of a per-partition action the function sends to the workers: the
 * coordinator writes it the same way before it sends them, and a worker that
 * runs the function again gives it the coordinator's value when it creates it
 * (`preload`). In process, every task reads the value itself (do not
 * modify it). Every value must be data the codec (lib/core/codec.ts) can
 * store: `broadcast` checks it at once and names what is not.
 *
 * **Accumulators.** An update made inside a task goes to the task's own copy
 * (TaskContext.accumulators); the driver merges the copies of a task when it
 * accepts the task's result: in process when the task completes, fanned out
 * when the first result of the task arrives (TaskResult.accumulators). A
 * failed attempt, a rerun without a poison record and a duplicate delivery
 * therefore add nothing, as Spark guarantees for actions. Driver code (the
 * body of `foreachRDD`, and actions it runs, whose partitions run in its task)
 * counts once per successful output operation; reading `value` there gives
 * the driver's value plus what the output operation added so far. The values
 * live in the coordinator's memory: a coordinator that restarts starts them
 * from zero, as a restarted Spark driver does, and batches it recomputes from
 * their lineage add their updates again.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { decode, encode } from "../core/codec.js";
import { IllegalStateError, InvalidArgumentError, MissingDataError, SparklessError, describe } from "../core/errors.js";
import { currentTaskContext, type BufferedAccumulator, type TaskContext } from "../rdd/scope.js";
import type { AccumulatorUpdate, BlobStore } from "../storage/interfaces.js";

// ---- the batch a process is planning or running -------------------------------------------

/**
 * The shared variables of one batch in one process: created while the coordinator ("driver") or a
 * worker ("executor") plans the batch or runs it. The job generator and the task runner run a batch
 * inside one (`run`).
 */
export class BatchSharedVariables {
  private created = 0;
  /** Broadcasts created in this batch, and whether they were created while the batch was planned. */
  private readonly broadcasts: {
    readonly broadcast: Broadcast<unknown>;
    readonly encoded?: string;
    readonly planning: boolean;
    published?: boolean;
  }[] = [];
  /** Accumulators the driver created in this batch, by id. */
  readonly accumulators = new Map<string, AccumulatorV2<unknown, unknown>>();
  private planning = true;

  constructor(
    readonly batchTime: number,
    readonly role: "driver" | "executor",
    /** The run of the batch (the coordinator's runId): broadcast blobs are per run. */
    readonly runId: string,
    private readonly blobs: BlobStore | undefined,
  ) {}

  /** The output function running now (its stage and run), and how many shared variables it created so far. */
  private output: { stage: number; run: number; created: number } | undefined;
  /** Executor: the coordinator's values of broadcasts an output function creates, read before it runs again here. */
  private readonly preloaded = new Map<string, unknown>();

  run<R>(f: () => Promise<R>): Promise<R> {
    return batchScope.run(this, f);
  }
  nextId(): string {
    // Numbered within the output function's run, so a worker that runs it again (to a per-partition
    // action, lib/scheduler/output-actions.ts) names them as the coordinator did, whatever ran before.
    if (this.output) return `${this.outputPrefix()}${++this.output.created}`;
    return `${this.batchTime}.${++this.created}`;
  }
  /** Run `run` of output stage `stage`'s function starts: what it creates is numbered from 1, apart from other runs' (a rerun's broadcast is another blob). */
  startOutput(stage: number, run: number): void {
    this.output = { stage, run, created: 0 };
  }
  private outputPrefix(): string {
    return `${this.batchTime}.o${this.output!.stage}.${this.output!.run}.`;
  }
  /** Planning is over: what is created from now on (inside foreachRDD) is never read by a worker. */
  planned(): void {
    this.planning = false;
  }

  /** @internal */
  addBroadcast(b: Broadcast<unknown>, encoded: string | undefined): void {
    if (this.role === "executor" && this.preloaded.has(b.id)) b.setValue(this.preloaded.get(b.id));
    this.broadcasts.push({ broadcast: b, encoded, planning: this.planning });
  }

  /** The blob of a broadcast created at batch time. */
  key(id: string): string {
    return `inputs/${this.batchTime}/${this.runId}/broadcast-${id}`;
  }

  /**
   * Driver: writes the broadcasts created while planning, once, before a stage fans out (workers read
   * them); with `output`, also those the running output function created, before its per-partition
   * action fans out. Returns the ids of the output function's broadcasts, which its tasks preload.
   */
  async publish(output = false): Promise<string[]> {
    const ids: string[] = [];
    const running = output && this.output ? this.outputPrefix() : undefined;
    for (const b of this.broadcasts) {
      const mine = running !== undefined && b.broadcast.id.startsWith(running);
      if (mine) ids.push(b.broadcast.id);
      if (b.published || !(b.planning || mine) || b.encoded === undefined) continue;
      if (!this.blobs)
        throw new MissingDataError(`${b.broadcast} must reach the workers, but this engine has no blob store. Give the engine one (S3 on AWS).`);
      await this.blobs.put(this.key(b.broadcast.id), Buffer.from(b.encoded, "utf8"));
      b.published = true;
    }
    return ids;
  }

  /** Executor: reads the coordinator's values of an output function's broadcasts `ids`, given to them when it creates them here. */
  async preload(ids: readonly string[]): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        this.preloaded.set(id, await this.read(id, `Broadcast(${id})`));
      }),
    );
  }

  /** Executor: reads the coordinator's value of every broadcast created while planning (once per process). */
  async load(): Promise<void> {
    await Promise.all(
      this.broadcasts.map(async ({ broadcast }) => {
        broadcast.setValue(await this.read(broadcast.id, String(broadcast)));
      }),
    );
  }

  /** The coordinator's value of broadcast `id` of this run, read once per process. */
  private async read(id: string, name: string): Promise<unknown> {
    const key = this.key(id);
    let p = loadedBroadcasts.get(key);
    if (!p) {
      const blobs = this.blobs;
      if (!blobs)
        throw new MissingDataError(`${name} was created by the coordinator at batch time, and this worker has no blob store to read it from.`);
      p = blobs.get(key).then((bytes) => decode(Buffer.from(bytes).toString("utf8")));
      loadedBroadcasts.set(key, p);
      p.catch(() => loadedBroadcasts.delete(key));
      // A worker sees the broadcasts of the last few batches.
      if (loadedBroadcasts.size > MAX_LOADED_BROADCASTS) loadedBroadcasts.delete(loadedBroadcasts.keys().next().value!);
    }
    try {
      return await p;
    } catch (e) {
      throw new MissingDataError(
        `${name} of batch ${this.batchTime} could not be read from ${key}: ${e instanceof Error ? e.message : String(e)}. The coordinator writes it before it sends the batch's tasks; a task of an old run may find it expired.`,
        { cause: e },
      );
    }
  }
}

const batchScope = new AsyncLocalStorage<BatchSharedVariables>();
/** Workers keep the broadcasts they read, per process, by blob key. */
const loadedBroadcasts = new Map<string, Promise<unknown>>();
const MAX_LOADED_BROADCASTS = 64;

/** The batch this code runs for, if any. */
export function currentBatchSharedVariables(): BatchSharedVariables | undefined {
  return batchScope.getStore();
}

// ---- broadcast variables ------------------------------------------------------------------

/**
 * Spark's Broadcast: a read-only value for every task. `value` reads it; `unpersist()` drops the
 * copies workers of this process keep (read again on next use); `destroy()` drops it for good.
 */
export class Broadcast<T> {
  private _value: T | undefined;
  private destroyed = false;

  /** @internal Created by SparkContext.broadcast. */
  constructor(
    readonly id: string,
    value: { readonly value: T },
  ) {
    this._value = value.value;
  }

  get value(): T {
    if (this.destroyed) {
      throw new IllegalStateError(
        `Attempted to use ${this} after it was destroyed. Create a new broadcast for a new value, and destroy() one only once no task reads it.`,
      );
    }
    return this._value as T;
  }
  /** @internal A worker's copy of the coordinator's value. */
  setValue(value: unknown): void {
    this._value = value as T;
  }
  /** Drops the copies this process's workers read (they read it again when a task needs it). */
  unpersist(_blocking = false): void {
    for (const k of loadedBroadcasts.keys()) if (k.endsWith(`/broadcast-${this.id}`)) loadedBroadcasts.delete(k);
  }
  /** Drops the value for good: reading it afterwards throws, as in Spark. */
  destroy(_blocking = false): void {
    this.unpersist();
    this.destroyed = true;
    this._value = undefined;
  }
  toString(): string {
    return `Broadcast(${this.id})`;
  }
}

/** The codec's form of a value to share, or an error naming what cannot be stored and what to do. */
function encodeShared(value: unknown, what: string): string {
  try {
    return encode(value);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new InvalidArgumentError(
      `${what} cannot be shared: ${reason} Its value must be data the codec stores (JSON values, undefined, NaN, ±Infinity, -0, bigint, Date, Map, Set, typed arrays, and objects, class instances travelling as their own fields). Keep functions and symbols out of it.`,
      { cause: e },
    );
  }
}

// ---- accumulators -------------------------------------------------------------------------

/**
 * Spark's AccumulatorV2: a value tasks add to and the driver reads. Inside a task, `add` updates the
 * task's own copy, and `value` reads it (Spark's executor side); the driver merges the copies of
 * every accepted task. Subclasses implement the value's arithmetic, and their state must be data.
 */
export abstract class AccumulatorV2<IN, OUT> implements BufferedAccumulator {
  private _id: string | undefined;
  private _name: string | undefined;

  /** The value as the caller sees it: a task's copy in a task, the driver's value elsewhere. */
  get value(): OUT {
    return this.view().currentValue();
  }
  /** Whether the value is the zero value (nothing added since creation or `reset()`). */
  isZero(): boolean {
    return this.view().zeroValue();
  }

  add(v: IN): void {
    const tc = currentTaskContext();
    if (tc) {
      this.taskCopy(tc).addValue(v);
      return;
    }
    // A worker planning a batch replays the driver's code: the driver counted it already.
    if (batchScope.getStore()?.role === "executor") return;
    this.addValue(v);
  }
  /** Resets the value to zero (inside a task: the task's copy). */
  reset(): void {
    const tc = currentTaskContext();
    if (tc) this.taskCopy(tc).resetValue();
    else if (batchScope.getStore()?.role !== "executor") this.resetValue();
  }
  /** Merges another accumulator of the same kind into this one (the driver's merge of a task's copy). */
  merge(other: AccumulatorV2<IN, OUT>): void {
    if (!(other instanceof this.constructor)) {
      throw new InvalidArgumentError(`Cannot merge ${this.constructor.name} with ${describe(other)}: accumulators merge only with their own kind.`);
    }
    this.mergeValue(other as this);
  }
  copy(): this {
    const c = this.copyAndReset();
    c.mergeValue(this);
    return c;
  }
  copyAndReset(): this {
    const c = this.newZero();
    c._id = this._id;
    c._name = this._name;
    return c;
  }
  /** @internal BufferedAccumulator */
  mergeFrom(other: BufferedAccumulator): void {
    this.mergeValue(other as this);
  }

  get id(): string {
    if (this._id === undefined) {
      throw new IllegalStateError(
        `${this.constructor.name}${this._name ? ` "${this._name}"` : ""} is not registered, so task updates could not reach it. Create it with ssc.sparkContext.longAccumulator(name) (or doubleAccumulator, collectionAccumulator), or register it with ssc.sparkContext.register(acc, name).`,
      );
    }
    return this._id;
  }
  get name(): string | undefined {
    return this._name;
  }
  get isRegistered(): boolean {
    return this._id !== undefined;
  }
  /** @internal */
  register(id: string, name: string | undefined): void {
    if (this._id !== undefined) throw new IllegalStateError(`${this} is already registered. Register an accumulator once.`);
    this._id = id;
    this._name = name;
  }

  /** @internal What a task sends the driver: the copy's state, as data. */
  toUpdate(): unknown {
    return this.state();
  }
  /** @internal The driver's side of toUpdate: a zero copy holding the task's state. */
  fromUpdate(update: unknown): this {
    const c = this.copyAndReset();
    c.setState(update);
    return c;
  }

  toString(): string {
    return `${this.constructor.name}(id: ${this._id ?? "unregistered"}, name: ${this._name ?? "none"}, value: ${describe(this.value)})`;
  }

  protected abstract newZero(): this;
  protected abstract addValue(v: IN): void;
  protected abstract mergeValue(other: this): void;
  protected abstract resetValue(): void;
  protected abstract currentValue(): OUT;
  protected abstract zeroValue(): boolean;
  protected abstract state(): unknown;
  protected abstract setState(state: unknown): void;

  private taskCopy(tc: TaskContext): this {
    return tc.accumulators.partial(this);
  }

  /** Which object a read sees: outside tasks this one; in a task its copy; in an output task (driver code) this one plus the copy. */
  protected view(): this {
    const tc = currentTaskContext();
    if (!tc || this._id === undefined) return this;
    const mine = tc.accumulators.peek(this);
    if (!tc.accumulators.driverSide) return mine ?? this.copyAndReset();
    // The driver's value: a worker replaying this output function could not see it.
    tc.outputActions?.driverRead();
    if (!mine) return this;
    const merged = this.copy();
    merged.mergeValue(mine);
    return merged;
  }
}

abstract class NumericAccumulator extends AccumulatorV2<number, number> {
  protected _sum = 0;
  protected _count = 0;
  /** The sum of the values added. */
  get sum(): number {
    return this.view()._sum;
  }
  /** How many values were added. */
  get count(): number {
    return this.view()._count;
  }
  /** The mean of the values added (NaN when none was, as Spark's 0.0 / 0). */
  get avg(): number {
    const v = this.view();
    return v._sum / v._count;
  }
  protected addValue(v: number): void {
    this._sum += v;
    this._count++;
  }
  protected mergeValue(o: this): void {
    this._sum += o._sum;
    this._count += o._count;
  }
  protected resetValue(): void {
    this._sum = 0;
    this._count = 0;
  }
  protected currentValue(): number {
    return this._sum;
  }
  protected zeroValue(): boolean {
    return this._sum === 0 && this._count === 0;
  }
  protected state(): unknown {
    return { sum: this._sum, count: this._count };
  }
  protected setState(s: unknown): void {
    const x = s as { sum: number; count: number };
    this._sum = x.sum;
    this._count = x.count;
  }
}

/** Spark's LongAccumulator: sums whole numbers; `sum`, `count`, `avg`. */
export class LongAccumulator extends NumericAccumulator {
  override add(v: number): void {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) {
      throw new InvalidArgumentError(
        `Expected a whole number to add to ${this.name ? `longAccumulator "${this.name}"` : "a longAccumulator"}, got \`${describe(v)}\`. Use doubleAccumulator for fractions.`,
      );
    }
    super.add(v);
  }
  protected newZero(): this {
    return new LongAccumulator() as this;
  }
}

/** Spark's DoubleAccumulator: sums numbers; `sum`, `count`, `avg`. */
export class DoubleAccumulator extends NumericAccumulator {
  override add(v: number): void {
    if (typeof v !== "number")
      throw new InvalidArgumentError(
        `Expected a number to add to ${this.name ? `doubleAccumulator "${this.name}"` : "a doubleAccumulator"}, got \`${describe(v)}\`.`,
      );
    super.add(v);
  }
  protected newZero(): this {
    return new DoubleAccumulator() as this;
  }
}

/**
 * Spark's CollectionAccumulator: collects the values added. `value` is a copy of the list: a task's
 * values stay in order, tasks in the order the driver accepted them.
 */
export class CollectionAccumulator<T> extends AccumulatorV2<T, T[]> {
  private items: T[] = [];
  protected newZero(): this {
    return new CollectionAccumulator<T>() as this;
  }
  protected addValue(v: T): void {
    this.items.push(v);
  }
  protected mergeValue(o: this): void {
    for (const x of o.items) this.items.push(x);
  }
  protected resetValue(): void {
    this.items = [];
  }
  protected currentValue(): T[] {
    return [...this.items];
  }
  protected zeroValue(): boolean {
    return this.items.length === 0;
  }
  protected state(): unknown {
    return this.items;
  }
  protected setState(s: unknown): void {
    this.items = [...(s as T[])];
  }
}

// ---- the driver's side --------------------------------------------------------------------

const contexts = new WeakMap<object, SparkContext>();

/**
 * The part of Spark's SparkContext that creates shared variables: `ssc.sparkContext`. One per
 * StreamingContext (per DStream graph), in every process of the app.
 */
export class SparkContext {
  private created = 0;
  /** Accumulators created while the graph was built (or outside any batch), by id. */
  private readonly registry = new Map<string, AccumulatorV2<unknown, unknown>>();

  constructor(graph: object) {
    contexts.set(graph, this);
  }

  /** Spark's broadcast: a read-only value every task of the app can read (see the module's notes). */
  broadcast<T>(value: T): Broadcast<T> {
    const scope = batchScope.getStore();
    const id = scope ? scope.nextId() : String(++this.created);
    if (typeof value === "function") {
      throw new InvalidArgumentError(
        `Broadcast(${id}) cannot be shared: got a function, and functions are not data. Broadcast the data it reads instead.`,
      );
    }
    // Checked now, in every process, so an app behaves the same in process and fanned out.
    const encoded = encodeShared(value, `Broadcast(${id})'s value`);
    const b = new Broadcast<T>(id, { value });
    // A worker planning the batch again keeps its own value for the planning code only: the
    // coordinator's replaces it (TaskRunner: BatchSharedVariables.load) before the task runs.
    scope?.addBroadcast(b as Broadcast<unknown>, scope.role === "executor" ? undefined : encoded);
    return b;
  }

  longAccumulator(name?: string): LongAccumulator {
    return this.register(new LongAccumulator(), name);
  }
  doubleAccumulator(name?: string): DoubleAccumulator {
    return this.register(new DoubleAccumulator(), name);
  }
  collectionAccumulator<T>(name?: string): CollectionAccumulator<T> {
    return this.register(new CollectionAccumulator<T>(), name);
  }

  /** Registers an accumulator (a subclass of AccumulatorV2) so that task updates reach it. */
  register<A extends AccumulatorV2<any, any>>(acc: A, name?: string): A {
    if (!(acc instanceof AccumulatorV2)) throw new InvalidArgumentError(`Expected an AccumulatorV2 to register, got \`${describe(acc)}\`.`);
    if (name !== undefined && typeof name !== "string")
      throw new InvalidArgumentError(`Expected an accumulator's name to be a string, got \`${describe(name)}\`.`);
    const scope = batchScope.getStore();
    const id = scope ? scope.nextId() : String(++this.created);
    acc.register(id, name);
    // A worker's copy is never merged into: its updates travel to the driver's, by id.
    if (scope?.role === "executor") return acc;
    if (scope) scope.accumulators.set(id, acc);
    else this.registry.set(id, acc);
    return acc;
  }

  /** @internal The driver's accumulator `id`, of the running batch or of the graph. */
  accumulator(id: string): AccumulatorV2<unknown, unknown> | undefined {
    return batchScope.getStore()?.accumulators.get(id) ?? this.registry.get(id);
  }
}

/** The SparkContext of a graph, if one was created for it. */
export function sparkContextOf(graph: object): SparkContext | undefined {
  return contexts.get(graph);
}

/** In process: a completed task's updates, merged into the driver's accumulators. */
export function mergeTaskAccumulators(tc: TaskContext): void {
  for (const { accumulator, partial } of tc.accumulators.entries()) accumulator.mergeFrom(partial);
}

/** A worker: the updates its task made, as data for its TaskResult. */
export function accumulatorUpdates(tc: TaskContext): AccumulatorUpdate[] {
  const out: AccumulatorUpdate[] = [];
  for (const { partial } of tc.accumulators.entries()) {
    const acc = partial as AccumulatorV2<unknown, unknown>;
    const update = acc.toUpdate();
    // Checked here, so a value that cannot travel fails the task with its name, not the result message.
    encodeShared(update, `The update of ${acc.constructor.name} ${acc.id}${acc.name ? ` ("${acc.name}")` : ""}`);
    out.push({ id: acc.id, update });
  }
  return out;
}

/**
 * Fanned out: the updates of a task's first accepted result, merged into the driver's accumulators of
 * `graph`. An update for an accumulator the driver does not hold (one only a worker created) is dropped.
 */
/**
 * Merges a worker task's updates into the driver's values, or, given `into`, into a task's buffer: those
 * of a per-partition action's tasks go to the output task that sent them, so they count once, when that
 * task succeeds.
 */
export function mergeAccumulatorUpdates(graph: object, updates: readonly AccumulatorUpdate[] | undefined, into?: TaskContext["accumulators"]): void {
  if (!updates?.length) return;
  const sc = contexts.get(graph);
  for (const u of updates) {
    const acc = sc?.accumulator(u.id) ?? batchScope.getStore()?.accumulators.get(u.id);
    if (!acc) continue;
    try {
      (into ? into.partial(acc) : acc).mergeFrom(acc.fromUpdate(u.update));
    } catch (e) {
      throw new SparklessError(`A task's update of ${acc} could not be merged: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
}

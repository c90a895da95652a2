/**
 * The DStream graph: every stream of a context, its inputs and outputs,
 * the zero time, and how long each stream's results are remembered.
 * Spark's DStreamGraph. Stream ids are assigned in creation order, so the
 * same app module builds the same ids in every process.
 */
import { Duration, Time } from "../core/duration.js";
import { IllegalStateError, InvalidGraphError } from "../core/errors.js";
import type { DStream } from "../dstream/dstream.js";
import type { PlannableGraph } from "../scheduler/planner.js";

/** An operation whose stored data a restarted app needs (see DStreamGraph.fingerprint). */
export interface DurableOperation {
  readonly id: string;
  readonly kind: string;
  readonly partitions?: number;
  readonly input?: string;
}

/**
 * Whether a graph can resume from the data of an older one: every durable
 * operation of the old graph must be in the new one with the same id, kind,
 * partitions and input. New operations are fine; they start empty.
 */
export function upgradeProblems(previous: readonly DurableOperation[], next: readonly DurableOperation[]): string[] {
  const byId = new Map(next.map((o) => [o.id, o]));
  const problems: string[] = [];
  for (const old of previous) {
    const now = byId.get(old.id);
    const describeOp = (o: DurableOperation) =>
      `${o.kind}${o.partitions ? ` with ${o.partitions} partitions` : ""}${o.input ? ` reading "${o.input}"` : ""}`;
    if (!now) {
      const sameKind = next.filter((o) => o.kind === old.kind && !previous.some((p) => p.id === o.id)).map((o) => o.id);
      problems.push(
        `"${old.id}" (${describeOp(old)}) is gone${sameKind.length ? `; the new graph has ${sameKind.map((i) => `"${i}"`).join(", ")} instead: call .setName("${old.id}") on it to keep its data` : ""}`,
      );
    } else if (now.kind !== old.kind || now.partitions !== old.partitions || now.input !== old.input) {
      problems.push(`"${old.id}" was ${describeOp(old)} and is now ${describeOp(now)}`);
    }
  }
  return problems;
}

/**
 * Spark's default data checkpoint interval: the smallest multiple of the slide that is at least 10 s
 * (mapWithState: 10 slides). `atLeast` replaces the 10 s (and mapWithState's rule) for the whole app.
 */
export function checkpointIntervalOf(s: DStream<unknown>, atLeast?: Duration): Duration {
  if (s.checkpointDuration) return s.checkpointDuration;
  if (s.spec.checkpointSlides && !atLeast) return s.slideDuration.times(s.spec.checkpointSlides);
  const min = atLeast?.milliseconds ?? 10_000;
  return s.slideDuration.times(Math.max(1, Math.ceil(min / s.slideDuration.milliseconds)));
}

export class DStreamGraph implements PlannableGraph {
  readonly streams: DStream<unknown>[] = [];
  readonly inputs: DStream<unknown>[] = [];
  readonly outputs: DStream<unknown>[] = [];
  private _zeroTime: Time | undefined;
  private _reachable = new Set<DStream<unknown>>();
  private minRemember: Duration | undefined;

  constructor(
    readonly batchDuration: Duration,
    readonly defaultParallelism: number,
  ) {}

  get zeroTime(): Time {
    if (!this._zeroTime) throw new IllegalStateError("The graph has not been started: no zero time yet.");
    return this._zeroTime;
  }
  get started(): boolean {
    return this._zeroTime !== undefined;
  }
  get reachable(): ReadonlySet<DStream<unknown>> {
    return this._reachable;
  }

  add(stream: DStream<unknown>, kind: string): string {
    const id = `${kind}-${this.streams.length + 1}`;
    this.streams.push(stream);
    return id;
  }

  remember(duration: Duration): void {
    this.minRemember = duration;
  }

  /** Gives a stream a chosen id (DStream.setName); ids must stay unique. */
  rename(stream: DStream<unknown>, id: string): string {
    const other = this.streams.find((s) => s !== stream && s.id === id);
    if (other) throw new InvalidGraphError(`The name "${id}" is already used by ${other}. Give each stream its own name.`);
    return id;
  }

  /**
   * What a restarted app must find again to resume: its inputs (their
   * positions), and every stream whose stored results later batches read
   * (state, incremental windows, window inputs), with their partition counts.
   */
  fingerprint(): DurableOperation[] {
    const out: DurableOperation[] = [];
    for (const s of this.streams) {
      if (s.spec.allocateBlocks) out.push({ id: s.id, kind: s.kind, ...(s.spec.input ? { input: s.spec.input.name } : {}) });
      else if (s.isPersisted && (s.spec.mustPersist || this.streams.some((c) => c.parents.includes(s) && c.spec.parentLookback))) {
        out.push({ id: s.id, kind: s.kind, ...(s.partitioner ? { partitions: s.partitioner.numPartitions } : {}) });
      }
    }
    return out;
  }

  /** Spark's checks at start: outputs exist, windows and checkpoints fit their slides. */
  validate(): void {
    if (this.outputs.length === 0) {
      throw new InvalidGraphError(
        "No output operations registered, so nothing to execute. Add an output operation such as print(), foreachRDD() or saveAsTextFiles() before start().",
      );
    }
    for (const s of this.streams) {
      if (s.checkpointDuration && s.checkpointDuration.less(s.slideDuration)) {
        throw new InvalidGraphError(
          `The checkpoint interval for ${s} has been set to ${s.checkpointDuration} which is lower than its slide time (${s.slideDuration}). Please set it to at least ${s.slideDuration}.`,
        );
      }
      if (s.checkpointDuration && !s.checkpointDuration.isMultipleOf(s.slideDuration)) {
        throw new InvalidGraphError(
          `The checkpoint interval for ${s} has been set to ${s.checkpointDuration} which is not a multiple of its slide time (${s.slideDuration}). Please set it to a multiple of ${s.slideDuration}.`,
        );
      }
    }
  }

  /**
   * Fixes the zero time, every stream's remember duration (how long its results stay in memory:
   * its slide, or what its children read back, or `remember()`; Spark's DStream.remember) and the
   * checkpoint interval of every stream that must be checkpointed.
   */
  start(zeroTime: Time): void {
    this._zeroTime = zeroTime;
    const reach = new Set<DStream<unknown>>();
    const visit = (s: DStream<unknown>) => {
      if (reach.has(s)) return;
      reach.add(s);
      s.parents.forEach(visit);
    };
    this.outputs.forEach(visit);
    this._reachable = reach;
    for (const s of this.streams) {
      s.zeroTime = zeroTime;
      s.rememberDuration = this.minRemember ? s.slideDuration.max(this.minRemember) : s.slideDuration;
    }
    // Children run after parents in creation order, so walking it backwards pushes each
    // stream's needs (its own remember plus how far back it reads) into its parents.
    for (let i = this.streams.length - 1; i >= 0; i--) {
      const s = this.streams[i]!;
      const needed = s.rememberDuration!.plus(s.spec.parentLookback ?? new Duration(0));
      for (const p of s.parents) p.rememberDuration = p.rememberDuration!.max(needed);
    }
    this._checkpointed = this.streams.filter(
      (s) => reach.has(s) && !s.spec.durableState && (s.spec.mustPersist || s.checkpointDuration !== undefined),
    );
    for (const s of this._checkpointed) s.checkpointInterval = checkpointIntervalOf(s, this.checkpointAtLeast);
  }

  private _checkpointed: DStream<unknown>[] = [];
  /** The app's default checkpoint interval, when not Spark's (see checkpointIntervalOf). */
  checkpointAtLeast: Duration | undefined;
  /** The streams whose results are checkpointed (state, incremental windows, `checkpoint()`), once started. */
  get checkpointed(): readonly DStream<unknown>[] {
    return this._checkpointed;
  }

  /** The longest any stream remembers; batch records are kept at least this long. */
  maxRemember(): Duration {
    return this.streams.reduce((d, s) => d.max(s.rememberDuration ?? d), this.batchDuration);
  }
}

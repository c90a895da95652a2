/**
 * `sparkless local --until-idle D`: when a run has processed everything and
 * nothing new has come for D. Decided from the batch records the coordinator
 * completes (the batch log), not from a sleep:
 *
 *  1. **Everything fed is processed.** The feeder (`--feed`) has had every
 *     record acknowledged, and for every shard it wrote to, a completed batch
 *     of every input reading that stream has a block ending at or after the
 *     highest sequence number it was given (`endAt` >= it). Blocks are fixed
 *     by sequence number, so this is exact.
 *  2. **Nothing else is waiting.** The newest completed batch is empty: when
 *     the coordinator fixed it, it read every readable shard from where the
 *     batch before ended to the shard's end and found nothing. Batches run in
 *     order, so every record that was in the stream by then is in a
 *     completed batch, whoever put it (`sparkless feed`, the AWS CLI).
 *  3. **For D.** Between the latest evidence that something arrived (the
 *     newest batch with input was fixed, the feeder's last acknowledgement,
 *     or the run's start) and the time that empty batch was fixed, D or more
 *     passed, on the injected clock: nothing arrived in between, or a
 *     batch fixed in between would have had it.
 *
 * A record put after the last batch read its shard stays in the stream; with
 * --data-dir the next run processes it (its position is in the batch log).
 */
import type { BatchRecord, BlockDescriptor } from "../storage/interfaces.js";

const cmpSeq = (a: string, b: string) => {
  const x = BigInt(a),
    y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

interface KinesisBlockView extends BlockDescriptor {
  stream?: string;
  shardId?: string;
  endAt?: string;
}

export type IdleVerdict =
  { readonly idle: true; readonly batchTime: number; readonly quietMs: number } | { readonly idle: false; readonly waitingFor: string };

export class IdleDetector {
  /** Highest acknowledged sequence number per stream and shard, from the feeder. */
  private readonly fedTo = new Map<string, Map<string, string>>();
  /** Highest completed block end per input and shard. */
  private readonly covered = new Map<string, Map<string, string>>();
  /** The inputs reading each stream, as seen in completed batches' blocks. */
  private readonly readers = new Map<string, Set<string>>();
  private feeding = 0;
  private fedRecords = 0;
  private lastArrivalEvidence: number;
  private newest: { time: number; generatedAt: number; empty: boolean } | undefined;

  /**
   * @param idleMs D: how long nothing may arrive before the run stops; > 0.
   * @param startedAt when this run started (clock time): nothing before it is known.
   */
  constructor(
    readonly idleMs: number,
    startedAt: number,
  ) {
    this.lastArrivalEvidence = startedAt;
  }

  /** A feeder started: the run is not idle until `feederDone()`. */
  feederStarted(): void {
    this.feeding++;
  }
  feederDone(): void {
    this.feeding = Math.max(0, this.feeding - 1);
  }

  /** The feeder's record `sequenceNumber` in `stream`/`shardId` was acknowledged at `at`. */
  fed(stream: string, shardId: string, sequenceNumber: string, at: number): void {
    let shards = this.fedTo.get(stream);
    if (!shards) this.fedTo.set(stream, (shards = new Map()));
    const had = shards.get(shardId);
    if (had === undefined || cmpSeq(sequenceNumber, had) > 0) shards.set(shardId, sequenceNumber);
    this.fedRecords++;
    this.lastArrivalEvidence = Math.max(this.lastArrivalEvidence, at);
  }

  /** A batch completed (the coordinator's onBatchCompleted, in batch order). */
  onBatchCompleted(record: BatchRecord): void {
    let empty = (record.inputRecords ?? 0) === 0;
    for (const [inputId, blocks] of Object.entries(record.blocks)) {
      for (const b of blocks as KinesisBlockView[]) {
        if ((b.count ?? 0) > 0) empty = false;
        if (b.stream === undefined || b.shardId === undefined) continue;
        let readers = this.readers.get(b.stream);
        if (!readers) this.readers.set(b.stream, (readers = new Set()));
        readers.add(inputId);
        if (b.endAt === undefined) continue;
        let shards = this.covered.get(inputId);
        if (!shards) this.covered.set(inputId, (shards = new Map()));
        const had = shards.get(b.shardId);
        if (had === undefined || cmpSeq(b.endAt, had) > 0) shards.set(b.shardId, b.endAt);
      }
    }
    if (!empty) this.lastArrivalEvidence = Math.max(this.lastArrivalEvidence, record.generatedAt);
    this.newest = { time: record.time, generatedAt: record.generatedAt, empty };
  }

  /** Whether the run is done, or what it still waits for. */
  check(): IdleVerdict {
    if (this.feeding > 0) return { idle: false, waitingFor: "the feeder to have every record acknowledged" };
    for (const [stream, shards] of this.fedTo) {
      const readers = this.readers.get(stream);
      if (!readers || readers.size === 0) return { idle: false, waitingFor: `a completed batch reading stream ${stream}` };
      for (const [shardId, seq] of shards) {
        for (const input of readers) {
          const end = this.covered.get(input)?.get(shardId);
          if (end === undefined || cmpSeq(end, seq) < 0) {
            return { idle: false, waitingFor: `a completed batch of ${input} covering ${stream}/${shardId} up to ${seq}` };
          }
        }
      }
    }
    const n = this.newest;
    if (!n) return { idle: false, waitingFor: "a first completed batch" };
    if (!n.empty) return { idle: false, waitingFor: "an empty batch (one that found every shard read to its end)" };
    const quietMs = n.generatedAt - this.lastArrivalEvidence;
    if (quietMs < this.idleMs) return { idle: false, waitingFor: `${this.idleMs} ms without input (${Math.max(0, quietMs)} ms so far)` };
    return { idle: true, batchTime: n.time, quietMs };
  }

  /** Records acknowledged to the feeder so far. */
  get fedCount(): number {
    return this.fedRecords;
  }
}

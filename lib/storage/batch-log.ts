/**
 * How batch records read, shared by every BatchLog implementation: a record
 * completed by the `previous` note of the record after it reads as completed,
 * and a time inside an empty run reads as a made-up record of an empty,
 * completed batch. Kept apart from the stores so the DynamoDB log and its
 * in-memory twin cannot drift.
 */
import type { BatchRecord } from "./interfaces.js";

/** Applies to each record the completion note of the record after it (`next` follows the last one). */
export function withCompletions(records: readonly BatchRecord[], next?: BatchRecord): BatchRecord[] {
  return records.map((r, i) => {
    const after = i + 1 < records.length ? records[i + 1] : next;
    const note = after?.previous;
    if (r.status !== "running" || !note || note.time !== r.time) return r;
    return {
      ...r,
      status: "completed",
      completedAt: note.completedAt,
      startedAt: r.startedAt ?? note.startedAt,
      ...(note.quarantinedRecords ? { quarantinedRecords: note.quarantinedRecords } : {}),
      ...(note.requests ? { requests: note.requests } : {}),
    };
  });
}

/**
 * The record of batch `time` given the first stored record at or after it:
 * that record itself, or the empty batch it stands for, or undefined.
 */
export function recordAt(time: number, firstAtOrAfter: BatchRecord | undefined): BatchRecord | undefined {
  const r = firstAtOrAfter;
  if (!r) return undefined;
  if (r.time === time) return r;
  if (r.emptyFrom === undefined || r.emptyFrom > time || time > r.time) return undefined;
  return {
    time,
    blocks: r.emptyBlocks ?? {},
    status: "completed",
    generatedAt: r.generatedAt,
    completedAt: r.generatedAt,
    inputRecords: 0,
    empty: true,
    ...(r.writer ? { writer: r.writer } : {}),
  };
}

/** How many batches a record stands for: itself, plus the empty run before it. */
export function batchesIn(record: BatchRecord, intervalMs: number): number {
  return record.emptyFrom === undefined ? 1 : 1 + Math.round((record.time - record.emptyFrom) / intervalMs);
}

/**
 * What every quarantine store does the same way, so the in-memory twin and DynamoDB agree: how many
 * of a record's first bytes a listing carries, how much of an error's text is kept (an error, not a
 * record: a record itself is never cut), and the error a read that cannot give the bytes back raises.
 */
import { QuarantineDataError } from "../core/errors.js";
import type { QuarantineEntry } from "./interfaces.js";

/** Bytes of a record's start that `QuarantineStore.list` returns with its entry, for a preview. */
export const QUARANTINE_HEAD_BYTES = 256;

/** Longest error text kept with a quarantined record. */
export const QUARANTINE_MAX_ERROR_CHARS = 8000;

/** The error text as it is kept: whole up to QUARANTINE_MAX_ERROR_CHARS, else its start and a note. */
export function keptError(error: string): string {
  if (error.length <= QUARANTINE_MAX_ERROR_CHARS) return error;
  return `${error.slice(0, QUARANTINE_MAX_ERROR_CHARS)} [error text cut at ${QUARANTINE_MAX_ERROR_CHARS} of ${error.length} characters]`;
}

/** The error of a read that cannot give an entry's exact bytes back: which record, why, and what to do. */
export function refused(
  entry: Pick<QuarantineEntry, "batchTime" | "stream" | "shard" | "sequenceNumber" | "subSequenceNumber">,
  reason: string,
  detail: string,
  fix = "Recover it from its source, and leave it out of a replay (--batch picks the other batches' records).",
): QuarantineDataError {
  const sub = entry.subSequenceNumber !== undefined ? ` (user record ${entry.subSequenceNumber} of a KPL aggregate)` : "";
  const where = entry.stream !== undefined ? `${entry.stream}/${entry.shard ?? "-"}/${entry.sequenceNumber ?? "-"}${sub}` : "without coordinates";
  return new QuarantineDataError(
    `The quarantined record ${where} of batch ${entry.batchTime} cannot be given back exactly: ${detail}.${fix ? ` ${fix}` : ""}`,
    {
      stream: entry.stream,
      shard: entry.shard,
      sequenceNumber: entry.sequenceNumber,
      ...(entry.subSequenceNumber !== undefined ? { subSequenceNumber: entry.subSequenceNumber } : {}),
      batchTime: entry.batchTime,
    },
    reason,
  );
}

/**
 * Recovery commands: `sparkless quarantine` (list and replay records kept
 * aside), `sparkless retry` (mark a failed batch running again, so the
 * coordinator's next start runs it from its recorded input) and `sparkless
 * reset` (delete an app's items in its meta and state tables, to start over
 * after an incompatible upgrade). They work on the tables alone: no app
 * module is needed, and nothing is run here.
 */
import { parseArgs } from "node:util";
import { DynamoDBClient, ScanCommand, BatchWriteItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { KinesisClient, type KinesisClientConfig } from "@aws-sdk/client-kinesis";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { loadApp } from "../app/app.js";
import { DynamoBatchLog } from "../aws/dynamodb/batch-log.js";
import { DynamoQuarantine } from "../aws/dynamodb/quarantine.js";
import { QuarantineDataError } from "../core/errors.js";
import { formatElement } from "../core/format.js";
import { OperatorError } from "../observability/aws-errors.js";
import { resolveTarget, tableNames, UsageError, type CliIo } from "./target.js";
import { feed, formatBytes } from "../producer/feed.js";
import type { QuarantineEntry, QuarantineStore } from "../storage/interfaces.js";

const COMMON = `  --app NAME           the app (or give its module path)
  --endpoint URL       engines at URL (a sparkless local, LocalStack); also AWS_ENDPOINT_URL
  --region R           AWS region (default AWS_REGION or us-east-1)
  --meta-table T       the meta table (default sparkless-APP-meta; the CDK stack outputs its name)
  --aws                talk to AWS even when a sparkless local runs here`;

export const QUARANTINE_HELP = `sparkless quarantine: records that could not be processed, kept with their coordinates

Usage:
  sparkless quarantine [list] [app.ts | --app NAME] [--batch MS] [--limit N] [--json]
  sparkless quarantine replay [app.ts | --app NAME] [--batch MS] [--stream NAME]

list shows each record's batch time, its stream's name, shard and sequence number (and, for a user
record of a KPL aggregate, its sub-sequence number), why it was set aside, its size and a preview of
its first bytes (text as it is, other bytes escaped as \\xNN).

Every record is kept whole, up to Kinesis' 10 MiB. replay puts each record's exact bytes back into
its stream (or --stream) with its partition key, where a later batch processes it: fix the decoder or
the function first. A user record of a KPL aggregate goes back alone, as a plain record with its own
bytes and partition key; a corrupt aggregate, kept whole, goes back whole. It reads and checks every record before sending any: if one cannot be given back
byte for byte (an entry an older version cut short, a part of it missing), it puts nothing back and
says which and why; --batch then replays the other batches' records.

Options:
${COMMON}

Examples:
  sparkless quarantine --app wordcount
  sparkless quarantine replay --app wordcount --batch 1795290000000
`;

export const RETRY_HELP = `sparkless retry: run a failed batch again, once its cause is fixed

Usage:
  sparkless retry [app.ts | --app NAME] [--batch MS]

A failed batch stops the app (\`sparkless local\` exits). retry marks it running again: the
coordinator's next invocation runs it from its recorded input, outputs included, and later batches
follow. On AWS that is within a minute; against engines that keep their data (LocalStack), the next
\`sparkless local --endpoint URL\`. Deploy the fix first. Without --batch, the latest batch is retried
if it failed.

Options:
${COMMON}

Examples:
  sparkless retry examples/wordcount-app.ts
  sparkless retry --app clicks --aws --meta-table Prod-MetaTable
`;

export const RESET_HELP = `sparkless reset: delete an app's batches, progress and state (irreversible)

Usage:
  sparkless reset --app NAME --yes

Deletes every item of the app in its meta table (batch records, the app's info, checkpoint manifests,
lease, claims, quarantined records) and its state table (checkpoint pages, per-key state). Use it to
start over after an upgrade that cannot resume from the stored state (IncompatibleUpgradeError). Stop
the app first (on AWS, disable the coordinator's schedule). The next run starts as a new app, from the
streams' oldest records. Checkpoints kept in S3 (checkpointStore "s3") are left to expire: no manifest
names them any more.

Options:
${COMMON}
  --state-table T      the state table (default sparkless-APP-state; the CDK stack outputs its name)
  --yes                really delete
`;

const COMMON_OPTIONS = {
  app: { type: "string" },
  endpoint: { type: "string" },
  region: { type: "string" },
  "meta-table": { type: "string" },
  "state-table": { type: "string" },
  aws: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

async function targetOf(values: Record<string, unknown>, modulePath: string | undefined, io: CliIo) {
  const module = modulePath ? await loadApp(modulePath) : undefined;
  const appName = (values.app as string | undefined) ?? module?.config.name;
  const target = resolveTarget({
    endpoint: values.endpoint as string | undefined,
    region: values.region as string | undefined,
    app: appName,
    aws: values.aws as boolean | undefined,
    cwd: io.cwd,
    env: io.env,
  });
  const app = appName ?? target.app;
  if (!app) throw new UsageError("which app? pass --app NAME or the app module, or run the command where `sparkless local` runs.");
  const tables = tableNames(
    app,
    { metaTable: values["meta-table"] as string | undefined, stateTable: values["state-table"] as string | undefined },
    io.env,
  );
  return { module, app, target, tables };
}

/** A replay refused before anything was put back: some records cannot be given back exactly. */
export class ReplayRefusedError extends OperatorError {
  constructor(
    message: string,
    readonly refused: readonly QuarantineDataError[],
  ) {
    super(message, { cause: refused[0] });
  }
}

/** Most bytes a replay holds in memory between checking the records and sending them; past it, they are read again. */
const REPLAY_MEMORY_BYTES = 64 * 1024 * 1024;

export async function quarantineCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...COMMON_OPTIONS, batch: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" }, stream: { type: "string" } },
  });
  if (values.help) {
    io.stdout.write(QUARANTINE_HELP);
    return 0;
  }
  const action = positionals[0] === "replay" || positionals[0] === "list" ? positionals.shift()! : "list";
  const { app, target, tables } = await targetOf(values, positionals[0], io);
  const dynamodb = new DynamoDBClient(target.clientConfig("dynamodb"));
  try {
    const quarantine = new DynamoQuarantine(DynamoDBDocumentClient.from(dynamodb), tables.meta, app);
    let entries = await quarantine.list();
    if (values.batch) entries = entries.filter((r) => r.batchTime === Number(values.batch));
    if (values.limit) entries = entries.slice(0, Number(values.limit));
    if (action === "list") {
      if (values.json) {
        const json = entries.map(({ head, ...e }) => ({ ...e, ...(head ? { preview: previewBytes(head, e.size) } : {}) }));
        io.stdout.write(JSON.stringify(json, null, 2) + "\n");
        return 0;
      }
      if (entries.length === 0) {
        io.stdout.write(`no quarantined records for ${app}\n`);
        return 0;
      }
      for (const e of entries) io.stdout.write(describeEntry(e));
      io.stdout.write(`${entries.length} record(s)\n`);
      return 0;
    }
    return await replay(quarantine, entries, values.stream, target.clientConfig("kinesis"), io);
  } finally {
    dynamodb.destroy();
  }
}

/**
 * Puts each record's exact bytes back into its stream (or `streamOverride`), with its partition key.
 * Every record is read and checked first: if one cannot be given back exactly, nothing is put back.
 */
async function replay(
  quarantine: QuarantineStore,
  entries: readonly QuarantineEntry[],
  streamOverride: string | undefined,
  kinesisConfig: KinesisClientConfig,
  io: CliIo,
): Promise<number> {
  const withBytes = entries.filter((e) => e.size !== undefined || e.unrecoverable);
  const notBytes = entries.length - withBytes.length;
  const noStream = withBytes.filter((e) => !(streamOverride ?? e.stream));
  const toSend = withBytes.filter((e) => streamOverride ?? e.stream);
  const refused: QuarantineDataError[] = [];
  const held = new Map<string, Uint8Array>();
  let heldBytes = 0;
  for (const e of toSend) {
    try {
      const bytes = await quarantine.read(e);
      if (heldBytes + bytes.byteLength <= REPLAY_MEMORY_BYTES) {
        held.set(e.id, bytes);
        heldBytes += bytes.byteLength;
      }
    } catch (err) {
      if (!(err instanceof QuarantineDataError)) throw err;
      refused.push(err);
    }
  }
  if (refused.length) {
    throw new ReplayRefusedError(
      `refusing to replay: ${refused.length} of ${toSend.length} record(s) cannot be put back byte for byte, and nothing was put back.\n` +
        refused
          .slice(0, 5)
          .map((r) => `  ${r.message}`)
          .join("\n") +
        (refused.length > 5 ? `\n  ... and ${refused.length - 5} more` : "") +
        "\nReplay the other batches' records with --batch MS (`sparkless quarantine` lists them).",
      refused,
    );
  }
  const byStream = new Map<string, QuarantineEntry[]>();
  for (const e of toSend) {
    const s = (streamOverride ?? e.stream)!;
    byStream.set(s, [...(byStream.get(s) ?? []), e]);
  }
  let replayed = 0;
  const kinesis = new KinesisClient(kinesisConfig);
  try {
    for (const [stream, es] of byStream) {
      // The original partition key routes the record as it was routed; entries of older versions have none. A user
      // record of a KPL aggregate was kept with its own bytes, key and explicit hash key (if its producer gave one,
      // it chose the shard), so it goes back alone, as a plain record, to the shard its producer chose.
      const keys = es.map(
        (e) => e.partitionKey ?? `${e.shard ?? "-"}/${e.sequenceNumber ?? "-"}${e.subSequenceNumber !== undefined ? `/${e.subSequenceNumber}` : ""}`,
      );
      const records = (async function* () {
        for (const e of es) yield held.get(e.id) ?? (await quarantine.read(e));
      })();
      const result = await feed({
        client: kinesis,
        stream,
        records,
        strict: true,
        signal: io.signal,
        partitionKey: { kind: "each", key: (position) => keys[position - 1]! },
        explicitHashKey: (position) => es[position - 1]!.explicitHashKey,
      });
      replayed += result.sent;
    }
  } finally {
    kinesis.destroy();
  }
  const notes = [
    notBytes ? `${notBytes} of in-memory inputs have no bytes to put back` : "",
    noStream.length ? `${noStream.length} have no stream: pass --stream NAME` : "",
  ].filter(Boolean);
  io.stdout.write(`replayed ${replayed} of ${entries.length} record(s)${notes.length ? ` (${notes.join("; ")})` : ""}\n`);
  return replayed === entries.length ? 0 : 1;
}

/** One entry of `sparkless quarantine list`: where the record came from, why it was set aside, and what it holds. */
function describeEntry(e: QuarantineEntry): string {
  const where =
    e.stream !== undefined
      ? `stream ${e.stream}  shard ${e.shard ?? "-"}  sequence ${e.sequenceNumber ?? "-"}` +
        (e.subSequenceNumber !== undefined ? `  sub-sequence ${e.subSequenceNumber} (a user record of a KPL aggregate)` : "") +
        (e.explicitHashKey !== undefined ? `  explicit hash key ${e.explicitHashKey}` : "")
      : "(no stream: a record of an in-memory input)";
  const decoding = e.operator.endsWith(" (decode)");
  const stage = decoding
    ? `could not be decoded (operator ${e.operator.slice(0, -" (decode)".length)})`
    : `a function threw on it (operator ${e.operator})`;
  let record: string;
  if (e.unrecoverable) record = `NOT KEPT WHOLE: ${e.unrecoverable}; replay refuses it`;
  else if (e.size !== undefined) record = `${sizeText(e.size)}  ${previewBytes(e.head ?? new Uint8Array(), e.size)}`;
  else record = `value ${bounded(formatElement(e.record), PREVIEW_CHARS)}`;
  return `${new Date(e.batchTime).toISOString()}  ${where}\n` + `    ${stage}: ${bounded(e.error, 300)}\n` + `    record: ${record}\n`;
}

const PREVIEW_CHARS = 60;
const bounded = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);
const sizeText = (n: number) => (n < 1024 ? `${n} B` : `${formatBytes(n)} (${n.toLocaleString("en-US")} bytes)`);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A record's first bytes as one printable, quoted line of at most about `maxChars` characters:
 * valid UTF-8 text as it is, quotes and backslashes escaped, \n \r \t, other control and invisible
 * characters as \u{...}, bytes that are not UTF-8 as \xNN; "…" when the record goes on.
 */
export function previewBytes(bytes: Uint8Array, size = bytes.byteLength, maxChars = PREVIEW_CHARS): string {
  let out = "";
  let i = 0;
  while (i < bytes.length && out.length < maxChars) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let ch: string | undefined;
    if (len === 1) ch = String.fromCharCode(b);
    else if (len > 1 && i + len <= bytes.length) {
      try {
        ch = strictUtf8.decode(bytes.subarray(i, i + len));
      } catch {
        ch = undefined;
      }
    }
    if (ch === undefined) {
      out += `\\x${b.toString(16).padStart(2, "0")}`;
      i++;
      continue;
    }
    out += escapeChar(ch);
    i += len;
  }
  return `"${out}"${i < size ? "…" : ""}`;
}

function escapeChar(ch: string): string {
  switch (ch) {
    case '"':
      return '\\"';
    case "\\":
      return "\\\\";
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
  }
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, "0")}`;
  return /[\p{C}\p{Zl}\p{Zp}]/u.test(ch) ? `\\u{${cp.toString(16)}}` : ch;
}

export async function retryCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, batch: { type: "string" } } });
  if (values.help) {
    io.stdout.write(RETRY_HELP);
    return 0;
  }
  const { app, target, tables } = await targetOf(values, positionals[0], io);
  const dynamodb = new DynamoDBClient(target.clientConfig("dynamodb"));
  try {
    const log = new DynamoBatchLog(DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }), tables.meta, app);
    const time = values.batch ? Number(values.batch) : (await log.latestBatch())?.time;
    const record = time === undefined ? undefined : await log.getBatch(time);
    if (!record || record.status !== "failed") {
      if (!values.batch) {
        io.stdout.write(`no failed batch for ${app}\n`);
        return 0;
      }
      throw new UsageError(`batch ${time} of ${app} is ${record ? record.status : "not in the batch log"}: only a failed batch can be retried.`);
    }
    const ok = await log.updateBatch(record.time, "failed", {
      status: "running",
      error: undefined,
      completedAt: undefined,
      retries: (record.retries ?? 0) + 1,
    });
    io.stdout.write(
      ok
        ? `batch ${record.time} will run again (retry ${(record.retries ?? 0) + 1}); watch it with \`sparkless status\`\n`
        : `batch ${record.time} could not be retried (its status changed)\n`,
    );
    return ok ? 0 : 1;
  } finally {
    dynamodb.destroy();
  }
}

export async function resetCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, yes: { type: "boolean" } } });
  if (values.help) {
    io.stdout.write(RESET_HELP);
    return 0;
  }
  const { app, target, tables } = await targetOf(values, positionals[0], io);
  if (!values.yes) throw new UsageError(`reset deletes every batch, position and state of ${app}: add --yes to confirm.`);
  const dynamodb = new DynamoDBClient(target.clientConfig("dynamodb"));
  let deleted = 0;
  try {
    // Every key of an app starts with its (URI-encoded) name and "#".
    const prefix = `${encodeURIComponent(app)}#`;
    for (const table of [tables.meta, tables.state]) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await dynamodb.send(
          new ScanCommand({
            TableName: table,
            ProjectionExpression: "pk, sk",
            FilterExpression: "begins_with(pk, :p)",
            ExpressionAttributeValues: { ":p": { S: prefix } },
            ExclusiveStartKey: start,
          }),
        );
        const keys = page.Items ?? [];
        for (let i = 0; i < keys.length; i += 25) {
          let requests = keys.slice(i, i + 25).map((k) => ({ DeleteRequest: { Key: { pk: k.pk!, sk: k.sk! } } }));
          for (let attempt = 0; requests.length && attempt < 10; attempt++) {
            const r = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
            requests = (r.UnprocessedItems?.[table] ?? []) as typeof requests;
            if (requests.length) await new Promise((res) => setTimeout(res, 50 * 2 ** attempt));
          }
        }
        deleted += keys.length;
        start = page.LastEvaluatedKey;
      } while (start);
    }
  } finally {
    dynamodb.destroy();
  }
  io.stdout.write(`deleted ${deleted} item(s) of ${app}\n`);
  return 0;
}

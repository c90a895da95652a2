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
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { loadApp } from "../app/app.js";
import { DynamoBatchLog } from "../aws/dynamodb/batch-log.js";
import { DynamoQuarantine } from "../aws/dynamodb/quarantine.js";
import { resolveTarget, tableNames, UsageError, type CliIo } from "../observability/target.js";

const COMMON = `  --app NAME           the app (or give its module path)
  --endpoint URL       engines at URL (a sparkless local, LocalStack); also AWS_ENDPOINT_URL
  --region R           AWS region (default AWS_REGION or us-east-1)
  --meta-table T       the meta table (default sparkless-APP-meta; the CDK stack outputs its name)
  --aws                talk to AWS even when a sparkless local runs here`;

export const QUARANTINE_HELP = `sparkless quarantine: records that could not be processed, kept with their coordinates

Usage:
  sparkless quarantine [list] [app.ts | --app NAME] [--batch MS] [--limit N] [--json]
  sparkless quarantine replay [app.ts | --app NAME] [--batch MS] [--stream NAME]

replay puts each record's original bytes back into its stream (or --stream), where a later batch
processes it: fix the decoder or the function first.

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
  app: { type: "string" }, endpoint: { type: "string" }, region: { type: "string" }, "meta-table": { type: "string" },
  "state-table": { type: "string" }, aws: { type: "boolean" }, help: { type: "boolean", short: "h" },
} as const;

async function targetOf(values: Record<string, unknown>, modulePath: string | undefined, io: CliIo) {
  const module = modulePath ? await loadApp(modulePath) : undefined;
  const appName = (values.app as string | undefined) ?? module?.config.name;
  const target = resolveTarget({ endpoint: values.endpoint as string | undefined, region: values.region as string | undefined, app: appName, aws: values.aws as boolean | undefined, cwd: io.cwd, env: io.env });
  const app = appName ?? target.app;
  if (!app) throw new UsageError("which app? pass --app NAME or the app module, or run the command where `sparkless local` runs.");
  const tables = tableNames(app, { metaTable: values["meta-table"] as string | undefined, stateTable: values["state-table"] as string | undefined }, io.env);
  return { module, app, target, tables };
}

export async function quarantineCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { ...COMMON_OPTIONS, batch: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" }, stream: { type: "string" } },
  });
  if (values.help) { io.stdout.write(QUARANTINE_HELP); return 0; }
  const action = positionals[0] === "replay" || positionals[0] === "list" ? positionals.shift()! : "list";
  const { app, target, tables } = await targetOf(values, positionals[0], io);
  const dynamodb = new DynamoDBClient(target.clientConfig("dynamodb"));
  try {
    const quarantine = new DynamoQuarantine(DynamoDBDocumentClient.from(dynamodb), tables.meta, app);
    let records = await quarantine.list();
    if (values.batch) records = records.filter((r) => r.batchTime === Number(values.batch));
    if (values.limit) records = records.slice(0, Number(values.limit));
    if (action === "list") {
      if (values.json) { io.stdout.write(JSON.stringify(records, null, 2) + "\n"); return 0; }
      if (records.length === 0) { io.stdout.write(`no quarantined records for ${app}\n`); return 0; }
      for (const r of records) {
        io.stdout.write(`${new Date(r.batchTime).toISOString()}  ${r.stream ?? "-"}/${r.shard ?? "-"}/${r.sequenceNumber ?? "-"}  ${r.operator}\n    ${r.error}\n`);
      }
      io.stdout.write(`${records.length} record(s)\n`);
      return 0;
    }
    const kinesis = new KinesisClient(target.clientConfig("kinesis"));
    try {
      let replayed = 0;
      const byStream = new Map<string, typeof records>();
      for (const r of records) {
        if (typeof r.record !== "string" || !(values.stream ?? r.stream)) continue;
        const s = (values.stream ?? r.stream)!;
        byStream.set(s, [...(byStream.get(s) ?? []), r]);
      }
      for (const [stream, rs] of byStream) {
        for (let i = 0; i < rs.length; i += 500) {
          const chunk = rs.slice(i, i + 500);
          const res = await kinesis.send(new PutRecordsCommand({
            StreamName: stream,
            Records: chunk.map((r) => ({ Data: Buffer.from(r.record as string, "base64"), PartitionKey: `${r.shard}/${r.sequenceNumber}` })),
          }));
          replayed += chunk.length - (res.FailedRecordCount ?? 0);
        }
      }
      io.stdout.write(`replayed ${replayed} of ${records.length} record(s)\n`);
      return replayed === records.length ? 0 : 1;
    } finally {
      kinesis.destroy();
    }
  } finally {
    dynamodb.destroy();
  }
}

export async function retryCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, batch: { type: "string" } } });
  if (values.help) { io.stdout.write(RETRY_HELP); return 0; }
  const { app, target, tables } = await targetOf(values, positionals[0], io);
  const dynamodb = new DynamoDBClient(target.clientConfig("dynamodb"));
  try {
    const log = new DynamoBatchLog(DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }), tables.meta, app);
    const time = values.batch ? Number(values.batch) : (await log.latestBatch())?.time;
    const record = time === undefined ? undefined : await log.getBatch(time);
    if (!record || record.status !== "failed") {
      if (!values.batch) { io.stdout.write(`no failed batch for ${app}\n`); return 0; }
      throw new UsageError(`batch ${time} of ${app} is ${record ? record.status : "not in the batch log"}: only a failed batch can be retried.`);
    }
    const ok = await log.updateBatch(record.time, "failed", { status: "running", error: undefined, completedAt: undefined, retries: (record.retries ?? 0) + 1 });
    io.stdout.write(ok ? `batch ${record.time} will run again (retry ${(record.retries ?? 0) + 1}); watch it with \`sparkless status\`\n` : `batch ${record.time} could not be retried (its status changed)\n`);
    return ok ? 0 : 1;
  } finally {
    dynamodb.destroy();
  }
}

export async function resetCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, yes: { type: "boolean" } } });
  if (values.help) { io.stdout.write(RESET_HELP); return 0; }
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
        const page = await dynamodb.send(new ScanCommand({
          TableName: table, ProjectionExpression: "pk, sk", FilterExpression: "begins_with(pk, :p)",
          ExpressionAttributeValues: { ":p": { S: prefix } }, ExclusiveStartKey: start,
        }));
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

/**
 * Recovery commands: `sparkless quarantine` (list and replay records kept
 * aside), `sparkless retry` (run a failed batch again once the cause is
 * fixed) and `sparkless reset` (delete an app's batches and state, to start
 * over after an incompatible upgrade).
 */
import { parseArgs } from "node:util";
import { DynamoDBClient, ScanCommand, BatchWriteItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { loadApp } from "../app/app.js";
import { DynamoQuarantine } from "../aws/dynamodb.js";
import { createAwsEngine } from "../aws/engine.js";
import { StreamingContext } from "../streaming/context.js";
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
  sparkless retry app.ts [--batch MS] [--queue-url URL]

Completed tasks of the batch are kept; its remaining tasks are sent again, and later batches follow.
Without --batch, the oldest failed batch is retried.

Options:
${COMMON}
  --queue-url URL      the task queue (default: the queue named sparkless-APP-tasks)

Examples:
  sparkless retry examples/wordcount-app.ts
  sparkless retry app.ts --batch 1795290000000 --aws --meta-table Prod-MetaTable --queue-url https://sqs...
`;

export const RESET_HELP = `sparkless reset: delete an app's batches, progress and state (irreversible)

Usage:
  sparkless reset --app NAME --yes

Use it to start over after an upgrade that cannot resume from the stored state (IncompatibleUpgradeError).
The next run starts from the streams' oldest records.

Options:
${COMMON}
  --yes                really delete
`;

const COMMON_OPTIONS = {
  app: { type: "string" }, endpoint: { type: "string" }, region: { type: "string" }, "meta-table": { type: "string" },
  "data-table": { type: "string" }, "state-table": { type: "string" }, aws: { type: "boolean" }, help: { type: "boolean", short: "h" },
} as const;

async function targetOf(values: Record<string, unknown>, modulePath: string | undefined, io: CliIo) {
  const module = modulePath ? await loadApp(modulePath) : undefined;
  const appName = (values.app as string | undefined) ?? module?.config.name;
  const target = resolveTarget({ endpoint: values.endpoint as string | undefined, region: values.region as string | undefined, app: appName, aws: values.aws as boolean | undefined, cwd: io.cwd, env: io.env });
  const app = appName ?? target.app;
  if (!app) throw new UsageError("which app? pass --app NAME or the app module, or run the command where `sparkless local` runs.");
  const tables = tableNames(app, { metaTable: values["meta-table"] as string | undefined, dataTable: values["data-table"] as string | undefined, stateTable: values["state-table"] as string | undefined }, io.env);
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
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, batch: { type: "string" }, "queue-url": { type: "string" } } });
  if (values.help) { io.stdout.write(RETRY_HELP); return 0; }
  if (!positionals[0]) throw new UsageError("retry needs the app module (its pipeline plans the batch): sparkless retry app.ts.");
  const { module, app, target, tables } = await targetOf(values, positionals[0], io);
  let queueUrl = values["queue-url"];
  if (!queueUrl) {
    const sqs = new SQSClient(target.clientConfig("sqs"));
    try { queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: `sparkless-${app}-tasks` }))).QueueUrl!; } finally { sqs.destroy(); }
  }
  const engine = createAwsEngine({
    app, region: target.region, tables, taskQueueUrl: queueUrl, endpoints: target.endpoints,
    ...(target.kind !== "aws" && !io.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: "sparklesslocal", secretAccessKey: "sparklesslocal" } } : {}),
  });
  try {
    const batches = await engine.batchLog.listBatches();
    const failed = batches.filter((b) => b.status === "failed");
    const time = values.batch ? Number(values.batch) : failed[0]?.time;
    if (time === undefined) { io.stdout.write(`no failed batch for ${app}\n`); return 0; }
    const record = batches.find((b) => b.time === time);
    if (!record || record.status !== "failed") throw new UsageError(`batch ${time} of ${app} is ${record ? record.status : "not in the batch log"}: only a failed batch can be retried.`);
    const ssc = new StreamingContext({ batchInterval: module!.config.batchInterval, engine, appName: app, defaultParallelism: module!.config.defaultParallelism, print: () => undefined });
    module!.build(ssc);
    const scheduler = ssc.prepare(record.zeroTime ?? 0);
    const ok = await scheduler.retryFailed(time);
    io.stdout.write(ok ? `batch ${time} sent again (attempt ${(record.retries ?? 0) + 2}); watch it with \`sparkless status\`\n` : `batch ${time} could not be retried (its status changed)\n`);
    return ok ? 0 : 1;
  } finally {
    await engine.close?.();
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
    for (const table of [tables.meta, tables.data, tables.state]) {
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

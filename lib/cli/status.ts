/**
 * `sparkless status`: the recent batches of an app as a table, with totals
 * and the current lag, read from its batch log (the meta table) on the local
 * engines, LocalStack or AWS.
 */
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { loadApp, type AppDefinition } from "../app/app.js";
import { DynamoBatchLog } from "../aws/dynamodb/batch-log.js";
import { explainAwsError } from "../observability/aws-errors.js";
import { positiveNumber, resolveTarget, tableNames, UsageError, type CliIo, type Target } from "./target.js";
import { renderStatus, summarizeBatches } from "../ui/batches.js";

export const STATUS_HELP = `sparkless status: the recent batches of an app, as a table

Usage:
  sparkless status [APP.ts | --app NAME] [options]

For each batch: its time, input records, scheduling delay (batch time until it started), processing
time, total delay (batch time until done), quarantined records, mode (in process: the coordinator ran
it; fanned out: workers ran some of its stages) and status. A run of empty batches is one row ("N empty
batches"). Then totals and the current lag (how far the newest completed batch is behind the clock,
and batches waiting). Then what the batches cost: requests per batch by service, counted by the
coordinator itself, and the $/month at that rate, priced as \`npm run bench\` prices them.

Where it reads: --endpoint URL (DynamoDB's, or LocalStack's), else AWS_ENDPOINT_URL, else the
\`sparkless local\` running in this directory, else AWS. Tables are named sparkless-APP-meta etc.,
as \`sparkless local\` creates them; --meta-table (or SPARKLESS_META_TABLE) overrides. If the
\`sparkless local\` of this directory was killed, it says so, with the command that starts it again.

Options:
  --app NAME           the app's name (default: the app module's, or the local run's)
  --endpoint URL       DynamoDB endpoint (\`sparkless local\` prints it)
  --region R           AWS region (default AWS_REGION or us-east-1)
  --meta-table NAME    the app's meta table
  --limit N            newest N rows (default 20); with --json, newest N batches
  --watch              redraw every second until Ctrl-C (--interval S to change)
  --interval S         seconds between redraws with --watch (default 1)
  --coordinator-mb MB  add the coordinator's Lambda time at this memory to the cost estimate
  --json               the figures as JSON instead of a table
  --utc                batch times in UTC
  --aws                ignore local runs: read from AWS
  -h, --help           this help

Examples:
  sparkless status                                   # the sparkless local running here
  sparkless status --watch
  sparkless status examples/wordcount-app.ts --limit 50
  sparkless status --app wordcount --endpoint http://127.0.0.1:8000
  AWS_PROFILE=prod sparkless status --aws --app clicks --meta-table Clicks-MetaTable --json
`;

export interface AppTarget {
  target: Target;
  app: string;
  module?: AppDefinition;
  metaTable: string;
  batchLog: DynamoBatchLog;
  close(): void;
}

/** Finds the app and its batch log from --app / a module path / the local run, and the endpoint options. */
export async function openBatchLog(
  values: { app?: string; endpoint?: string; region?: string; aws?: boolean; "meta-table"?: string },
  modulePath: string | undefined,
  io: CliIo,
): Promise<AppTarget> {
  const module = modulePath ? await loadApp(modulePath) : undefined;
  const appName = values.app ?? module?.config.name;
  const target = resolveTarget({ endpoint: values.endpoint, region: values.region, app: appName, aws: values.aws, cwd: io.cwd, env: io.env });
  const app = appName ?? target.app;
  if (!app)
    throw new UsageError("which app? pass --app NAME or the app module (sparkless status app.ts), or start `sparkless local` in this directory.");
  const metaTable = tableNames(app, { metaTable: values["meta-table"] }, io.env).meta;
  const dynamodb = new DynamoDBClient(target.clientConfig("dynamodb"));
  const doc = DynamoDBDocumentClient.from(dynamodb);
  return { target, app, module, metaTable, batchLog: new DynamoBatchLog(doc, metaTable, app), close: () => dynamodb.destroy() };
}

export async function statusCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      app: { type: "string" },
      endpoint: { type: "string" },
      region: { type: "string" },
      "meta-table": { type: "string" },
      limit: { type: "string" },
      watch: { type: "boolean" },
      interval: { type: "string" },
      json: { type: "boolean" },
      utc: { type: "boolean" },
      aws: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      "coordinator-mb": { type: "string" },
    },
  });
  if (values.help) {
    io.stdout.write(STATUS_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`one app at a time: got ${positionals.join(", ")}.`);
  const limit = positiveNumber("limit", values.limit, true) ?? 20;
  const intervalS = positiveNumber("interval", values.interval) ?? 1;
  const coordinatorMb = positiveNumber("coordinator-mb", values["coordinator-mb"], true);
  const t = await openBatchLog(values, positionals[0], io);
  // The interval the app's batches ran at (its AppInfo), to expand runs of empty batches: else the
  // module's, else inferred from the batch times.
  let batchIntervalMs: number | undefined;
  const read = async () => {
    try {
      batchIntervalMs ??= (await t.batchLog.getApp())?.batchIntervalMs;
      return await t.batchLog.listBatches();
    } catch (e) {
      throw explainAwsError(e, { endpoint: t.target.endpoints.dynamodb, table: t.metaTable, command: "sparkless status" });
    }
  };
  const draw = async () => {
    const records = await read();
    const now = Date.now();
    const interval = batchIntervalMs ?? t.module?.config.batchInterval.milliseconds;
    if (values.json)
      return (
        JSON.stringify({ app: t.app, now, ...summarizeBatches(records, { now, limit, batchIntervalMs: interval, coordinatorMb }) }, null, 2) + "\n"
      );
    return renderStatus(records, {
      now,
      limit,
      batchIntervalMs: interval,
      utc: values.utc,
      app: `${t.app} (${t.target.description})`,
      coordinatorMb,
    });
  };
  try {
    if (!values.watch) {
      io.stdout.write(await draw());
      return 0;
    }
    const tty = !!io.stdout.isTTY;
    while (!io.signal?.aborted) {
      const text = await draw();
      io.stdout.write(tty ? `\x1b[H\x1b[2J${text}` : `${text}\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalS * 1000);
        io.signal?.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
    return 0;
  } finally {
    t.close();
  }
}

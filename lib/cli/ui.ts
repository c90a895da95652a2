/**
 * `sparkless ui`: the live dashboard (input rate, scheduling delay and
 * processing time over time, the batch table, the DAG of the app's DStream
 * graph) for an app running anywhere: local engines, LocalStack or AWS.
 * `sparkless local` serves the same page for its own run.
 */
import { parseArgs } from "node:util";
import { explainAwsError } from "../observability/aws-errors.js";
import { positiveNumber, UsageError, type CliIo } from "./target.js";
import { describeApp } from "../ui/graph.js";
import { startUiServer } from "../ui/server.js";
import { openBatchLog } from "./status.js";

export const UI_HELP = `sparkless ui: a live dashboard of an app's batches, in the browser

Usage:
  sparkless ui [APP.ts | --app NAME] [options]

Serves a page (no external resources) with the input rate, scheduling delay and processing time
of every batch as charts, the batch table, and the DAG of the app's DStream graph (drawn when the
app module is given). It reads the app's batch log as \`sparkless status\` does; \`sparkless local\`
serves the same page for its own run and prints its URL.

Options:
  --port N             port to listen on (default: a free one)
  --host H             address to listen on (default 127.0.0.1)
  --app NAME           the app's name (default: the app module's, or the local run's)
  --endpoint URL       DynamoDB endpoint (\`sparkless local\` prints it; LocalStack: http://localhost:4566)
  --region R           AWS region
  --meta-table NAME    the app's meta table (default sparkless-APP-meta)
  --refresh S          seconds between the page's updates (default 1)
  --aws                ignore local runs: read from AWS
  -h, --help           this help

Examples:
  sparkless ui examples/wordcount-app.ts             # the sparkless local running here, with its DAG
  sparkless ui --app wordcount --endpoint http://127.0.0.1:8000 --port 4040
  AWS_PROFILE=prod sparkless ui --aws app.ts --meta-table Clicks-MetaTable
`;

export async function uiCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      app: { type: "string" },
      endpoint: { type: "string" },
      region: { type: "string" },
      "meta-table": { type: "string" },
      refresh: { type: "string" },
      aws: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout.write(UI_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`one app at a time: got ${positionals.join(", ")}.`);
  const port = values.port === "0" ? 0 : positiveNumber("port", values.port, true);
  const refreshS = positiveNumber("refresh", values.refresh) ?? 1;
  const t = await openBatchLog(values, positionals[0], io);
  // Fail now, with the fix, rather than in the page.
  try {
    await t.batchLog.listBatches({ limit: 1 });
  } catch (e) {
    t.close();
    throw explainAwsError(e, { endpoint: t.target.endpoints.dynamodb, table: t.metaTable });
  }
  const server = await startUiServer(
    {
      app: t.app,
      batchLog: t.batchLog,
      batchIntervalMs: t.module?.config.batchInterval.milliseconds,
      graph: t.module ? describeApp(t.module) : undefined,
      endpoint: t.target.endpoints.dynamodb,
      table: t.metaTable,
    },
    { port, host: values.host, refreshMs: refreshS * 1000 },
  );
  io.stdout.write(
    `sparkless ui: app ${t.app} on ${t.target.description}\n  dashboard ${server.url}\n${t.module ? "" : "  (pass the app module to draw its DAG)\n"}Ctrl-C stops it.\n`,
  );
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) return resolve();
    io.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  await server.close();
  t.close();
  return 0;
}

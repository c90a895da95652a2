/**
 * The `sparkless` command line.
 *
 *   sparkless local <app.ts> [--batch-interval 2s] [--workers N] [--batches N | --duration 60s | --until-idle 5s]
 *                            [--endpoint URL | --data-dir DIR] [--shards N] [--feed FILE] [--feed-rate LINES_PER_S]
 *   sparkless feed --stream NAME [FILE | -]      (lib/cli/feed.ts)
 *   sparkless status [APP.ts | --app NAME]       (lib/cli/status.ts)
 *   sparkless ui [APP.ts | --app NAME]           (lib/cli/ui.ts)
 *   sparkless quarantine | retry | reset         (lib/cli/ops.ts)
 *   --log-level debug|info|warn|error|silent     for every command
 */
import { parseArgs } from "node:util";
import { parseDuration } from "../core/duration.js";
import { SparklessError } from "../core/errors.js";
import { LocalRunError } from "../local/errors.js";
import { missingLocalRunPackages } from "../local/optional.js";
import { runLocal } from "../local/runtime.js";
import { OperatorError } from "../observability/aws-errors.js";
import { parseLogLevel } from "../observability/logger.js";
import { processIo, UsageError } from "./target.js";
import { feedCommand, FEED_HELP } from "./feed.js";
import { statusCommand, STATUS_HELP } from "./status.js";
import { uiCommand, UI_HELP } from "./ui.js";
import { quarantineCommand, QUARANTINE_HELP, resetCommand, RESET_HELP, retryCommand, RETRY_HELP } from "./ops.js";

const HELP = `sparkless: Spark Streaming's DStream API on AWS serverless

Usage:
  sparkless local <app.ts> [options]   run an app on embedded Kinesis, DynamoDB, SQS and S3 (or --endpoint)
  sparkless feed --stream NAME [FILE]  send lines (or JSON records with --json) to a Kinesis stream
  sparkless status [app.ts]            the recent batches as a table, with totals and the lag
  sparkless ui [app.ts]                a live dashboard of the batches in the browser
  sparkless quarantine [list|replay]   records kept aside with their coordinates; put them back
  sparkless retry [app.ts]             run a failed batch again once its cause is fixed
  sparkless reset --app NAME --yes     delete an app's batches and state, to start over
  sparkless COMMAND --help             a command's options and examples

Options for every command:
  --log-level L        debug, info (default), warn, error or silent; also SPARKLESS_LOG_LEVEL

Options for local:
  --batch-interval D   override the app's batch interval (e.g. 1s, 500ms)
  --workers N          worker processes (default 2)
  --batches N          stop after N completed batches and exit 0
  --duration D         stop after D (e.g. 60s)
  --until-idle D       stop and exit 0 once every record is processed and nothing new arrived for D
                       (e.g. 5s): completed batches cover every record fed, and the newest batch found
                       every shard read to its end; with --feed, FILE is sent once instead of in a loop
  --data-dir DIR       keep the embedded engines' data (streams, tables, S3 objects) in DIR; started
                       again on the same DIR, even after a kill, the app resumes exactly where it stopped
  --endpoint URL       use engines already running there (LocalStack); also AWS_ENDPOINT_URL
  --shards N           shards of each stream created (default 2)
  --feed FILE          feed the lines of FILE into the app's first stream
  --feed-rate N        lines per second for --feed (default 20)
  A worker process that dies is replaced, as Lambda would; workers and engines never outlive the run.

Examples:
  sparkless local examples/wordcount-app.ts --feed examples/data/alice.txt
  sparkless local app.ts --batches 5
  sparkless local app.ts --data-dir .sparkless/data --feed events.txt --until-idle 5s
  sparkless feed --stream words examples/data/alice.txt
  sparkless status --watch
  AWS_ENDPOINT_URL=http://localhost:4566 sparkless local app.ts
`;

/** Takes `--log-level L` (anywhere) out of the arguments and sets SPARKLESS_LOG_LEVEL, which worker processes inherit. */
function takeLogLevel(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--log-level" || a.startsWith("--log-level=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (!v) throw new UsageError("--log-level needs a level: debug, info, warn, error or silent.");
      process.env.SPARKLESS_LOG_LEVEL = parseLogLevel(v);
    } else out.push(a);
  }
  return out;
}

const COMMANDS: Record<string, { run: typeof feedCommand; help: string }> = {
  feed: { run: feedCommand, help: FEED_HELP },
  status: { run: statusCommand, help: STATUS_HELP },
  ui: { run: uiCommand, help: UI_HELP },
  quarantine: { run: quarantineCommand, help: QUARANTINE_HELP },
  retry: { run: retryCommand, help: RETRY_HELP },
  reset: { run: resetCommand, help: RESET_HELP },
};

async function operatorCommand(name: string, args: string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await COMMANDS[name]!.run(args, processIo(controller.signal));
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    if (e instanceof UsageError || code.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`sparkless ${name}: ${(e as Error).message}\nRun \`sparkless ${name} --help\` for the options and examples.\n`);
      return 2;
    }
    if (e instanceof OperatorError) {
      process.stderr.write(`sparkless ${name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = takeLogLevel(argv);
  if (!command || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(command === "help" && rest[0] && Object.hasOwn(COMMANDS, rest[0]) ? COMMANDS[rest[0]]!.help : HELP);
    return command ? 0 : 1;
  }
  if (Object.hasOwn(COMMANDS, command)) return operatorCommand(command, rest);
  if (command !== "local") {
    process.stderr.write(`sparkless: unknown command "${command}". Run \`sparkless --help\` for the commands.\n`);
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      "batch-interval": { type: "string" },
      workers: { type: "string" },
      batches: { type: "string" },
      duration: { type: "string" },
      endpoint: { type: "string" },
      shards: { type: "string" },
      feed: { type: "string" },
      "feed-rate": { type: "string" },
      help: { type: "boolean", short: "h" },
      "data-dir": { type: "string" },
      "until-idle": { type: "string" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const appPath = positionals[0];
  if (!appPath) {
    process.stderr.write("sparkless local: missing the app module, e.g. `sparkless local examples/wordcount-app.ts`.\n");
    return 2;
  }
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new SparklessError(`Expected --${name} to be a whole number >= 1, got \`${v}\`.`);
    return n;
  };
  const endpoint = values.endpoint ?? process.env.AWS_ENDPOINT_URL;
  if (values["data-dir"] !== undefined && endpoint) {
    process.stderr.write(
      `sparkless local: --data-dir keeps the embedded engines' data, and with ${values.endpoint ? "--endpoint" : "AWS_ENDPOINT_URL"} (${endpoint}) no engine is embedded: drop one of the two.\n`,
    );
    return 2;
  }
  const untilIdle = values["until-idle"] !== undefined ? parseDuration(values["until-idle"]).milliseconds : undefined;
  if (untilIdle !== undefined && untilIdle <= 0)
    throw new SparklessError(`Expected --until-idle to be a duration > 0 such as 5s, got \`${values["until-idle"]}\`.`);
  // Before anything starts: every missing engine (and tsx for a .ts app) named once, with the one command.
  const missing = missingLocalRunPackages({ appPath, endpoint });
  if (missing) {
    process.stderr.write(`sparkless local: ${missing.message}\n`);
    return 1;
  }
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write("\nstopping...\n");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let result: Awaited<ReturnType<typeof runLocal>>;
  try {
    result = await runLocal({
      appPath,
      batchInterval: values["batch-interval"],
      workers: int("workers", values.workers),
      batches: int("batches", values.batches),
      durationMs: values.duration ? parseDuration(values.duration).milliseconds : undefined,
      untilIdleMs: untilIdle,
      endpoint,
      dataDir: values["data-dir"],
      shards: int("shards", values.shards),
      feed: values.feed ? { file: values.feed, linesPerSecond: int("feed-rate", values["feed-rate"]) } : undefined,
      signal: controller.signal,
      logLevel: process.env.SPARKLESS_LOG_LEVEL,
    });
  } catch (e) {
    // Errors an operator fixes (nothing answers at --endpoint, a data folder in use) read as the command's own.
    if (e instanceof OperatorError || e instanceof LocalRunError) {
      process.stderr.write(`sparkless local: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const why = { batches: "", duration: " (--duration elapsed)", idle: " (idle: every record processed)", signal: "" }[result.stoppedBy];
  process.stderr.write(`sparkless local: ${result.completed} batches completed${why}.\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`sparkless: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
    process.exit(1);
  },
);

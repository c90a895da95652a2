/**
 * Where the operator commands (`feed`, `status`, `ui`) find an app: the
 * endpoints of its engines, its region, credentials and table names.
 *
 *  1. `--endpoint URL` (or AWS_ENDPOINT_URL): one endpoint (LocalStack) or
 *     the one service's endpoint `sparkless local` printed.
 *  2. A running `sparkless local` in this directory: it registers itself in
 *     `.sparkless/local-APP.json` (endpoints of Kinesis, DynamoDB and SQS and
 *     the dashboard's URL), removed when it stops. A file left by a run that
 *     was killed (its pid is gone) is not a target: the commands say the run
 *     is gone and how to start it again (LocalRunGoneError), rather than
 *     fall through to AWS or ask which app.
 *  3. AWS, with the default credential chain.
 *
 * Tables follow `sparkless local`'s convention, `sparkless-APP-meta|state`,
 * unless given with --meta-table etc. (or SPARKLESS_META_TABLE).
 */
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { OperatorError } from "../observability/aws-errors.js";
import { SparklessError } from "../core/errors.js";
import { localRuns, registeredRuns, type LocalRegistration } from "../local/registry.js";

export { localRuns, registeredRuns, registerLocalRun, registrationDir, type LocalRegistration } from "../local/registry.js";

/** Every registered `sparkless local` run of the directory is dead: says so, and how to start it again. */
export class LocalRunGoneError extends OperatorError {
  constructor(
    message: string,
    readonly runs: readonly LocalRegistration[],
  ) {
    super(message);
  }
}

const LOCAL_CREDENTIALS = { accessKeyId: "sparklesslocal", secretAccessKey: "sparklesslocal" };

/** What to tell about runs that were registered here and died without unregistering (killed, or crashed). */
export function goneMessage(runs: readonly LocalRegistration[]): string {
  const newest = [...runs].sort((a, b) => b.startedAt - a.startedAt);
  const lines = newest.map((r) => {
    const again = r.restart ?? `sparkless local ${r.appPath ?? "APP.ts"}`;
    const data = r.dataDir
      ? `its engines kept their data in ${r.dataDir}, so it resumes where it stopped`
      : "its engines kept their data in memory, so its batches and state went with it (add --data-dir DIR to keep them next time)";
    return `the local run of ${r.app} (pid ${r.pid}, started ${new Date(r.startedAt).toISOString()}) is no longer running; start it again with \`${again}\` (${data}).`;
  });
  return `${lines.join("\n")}\nOr pass --endpoint URL for other engines, or --aws to read AWS.`;
}

export interface TargetOptions {
  endpoint?: string;
  region?: string;
  app?: string;
  /** Skip the local-run discovery: talk to AWS. */
  aws?: boolean;
  /** For `feed`: the stream (used to pick a local run by its streams). */
  stream?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface Target {
  /** "endpoint": --endpoint/AWS_ENDPOINT_URL; "local": a registered sparkless local; "aws". */
  readonly kind: "endpoint" | "local" | "aws";
  readonly app?: string;
  readonly region: string;
  readonly endpoints: { kinesis?: string; dynamodb?: string; sqs?: string };
  readonly local?: LocalRegistration;
  /** Human description, e.g. "sparkless local (pid 123)". */
  readonly description: string;
  /** Client configuration for one service. */
  clientConfig(service: "kinesis" | "dynamodb" | "sqs"): Record<string, unknown>;
}

export function resolveTarget(options: TargetOptions = {}): Target {
  const env = options.env ?? process.env;
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL;
  const hasEnvCredentials = !!env.AWS_ACCESS_KEY_ID;
  const make = (kind: Target["kind"], endpoints: Target["endpoints"], description: string, app?: string, local?: LocalRegistration): Target => ({
    kind,
    app,
    region,
    endpoints,
    local,
    description,
    clientConfig(service) {
      const ep = endpoints[service];
      return {
        region,
        ...(ep ? { endpoint: ep } : {}),
        // Local engines accept any key; DynamoDB Local only letters and digits.
        ...(kind !== "aws" && !hasEnvCredentials ? { credentials: LOCAL_CREDENTIALS } : {}),
        // HTTP/1.1: the Kinesis client's HTTP/2 default fails against local engines.
        requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 30_000 }),
        maxAttempts: kind === "aws" ? 3 : 2,
      };
    },
  });
  if (endpoint) {
    if (!/^https?:\/\//.test(endpoint)) throw new OperatorError(`--endpoint must be a URL such as http://127.0.0.1:4566, got "${endpoint}".`);
    return make("endpoint", { kinesis: endpoint, dynamodb: endpoint, sqs: endpoint }, endpoint, options.app);
  }
  if (!options.aws) {
    let runs = localRuns(options.cwd);
    if (options.app) runs = runs.filter((r) => r.app === options.app);
    else if (options.stream && runs.length > 1) {
      const withStream = runs.filter((r) => r.streams.includes(options.stream!));
      if (withStream.length) runs = withStream;
    }
    if (runs.length > 1) {
      throw new OperatorError(
        `several \`sparkless local\` runs are registered here (${runs.map((r) => r.app).join(", ")}): pass --app NAME, or --endpoint URL.`,
      );
    }
    const run = runs[0];
    if (run) return make("local", run.endpoints, `sparkless local (app ${run.app}, pid ${run.pid})`, run.app, run);
    // Nothing alive here (for this app): a run registered here that died is what the user meant.
    const gone = registeredRuns(options.cwd)
      .filter((r) => !r.alive && (!options.app || r.run.app === options.app))
      .map((r) => r.run);
    if (gone.length > 0) throw new LocalRunGoneError(goneMessage(gone), gone);
  }
  return make("aws", {}, `AWS (${region})`, options.app);
}

export interface TableOptions {
  metaTable?: string;
  stateTable?: string;
}

export function tableNames(app: string, options: TableOptions = {}, env: NodeJS.ProcessEnv = process.env) {
  const base = `sparkless-${app}`;
  return {
    meta: options.metaTable ?? env.SPARKLESS_META_TABLE ?? `${base}-meta`,
    state: options.stateTable ?? env.SPARKLESS_STATE_TABLE ?? `${base}-state`,
  };
}

/** What a command reads and writes; tests pass their own. */
export interface CliIo {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stdin: import("node:stream").Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Stops long-running commands (Ctrl-C). */
  signal?: AbortSignal;
}

export function processIo(signal?: AbortSignal): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), signal };
}

/** Thrown for a bad command line; the CLI prints it with a pointer to --help and exits 2. */
export class UsageError extends SparklessError {}

export function positiveNumber(name: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new UsageError(`--${name} must be a ${integer ? "whole " : ""}number > 0, got "${v}".`);
  return n;
}
